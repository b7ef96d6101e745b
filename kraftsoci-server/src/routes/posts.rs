//! `/v1/posts/*`: the consent-gated flow (P09, P32). Generate a post, preview it, edit it, and
//! publish it only with the owner's explicit click, which echoes the hash of the content shown.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use kraftsoci_core::{
    AltText, Caption, ConnectionId, ContentHash, Hashtag, PostId, PostStatus, Topic,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody, Fields};
use crate::http::{AuthUser, ClientInfo, Json, Path, Query};
use crate::posts::{Click, EditRequest, PostView};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/posts", post(generate).get(list))
        .route("/v1/posts/{id}", get(preview).patch(edit).delete(remove))
        .route("/v1/posts/{id}/publish", post(publish))
        .route("/v1/posts/{id}/withdraw", post(withdraw))
        .route("/v1/posts/{id}/consent", get(consent))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(
    paths(generate, list, preview, edit, publish, withdraw, remove, consent),
    components(schemas(PostStatusName))
)]
pub struct Doc;

/// What to write about.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"topic": "Our new sourdough, out of the oven at 7 every morning", "with_image": true}))]
pub struct GenerateBody {
    /// The topic: 3–500 characters once surrounding white space is trimmed, no control
    /// characters but tabs and line breaks.
    #[schema(schema_with = super::document::lines::<3, 500>)]
    topic: String,
    /// Whether to generate an image too (default true; Instagram needs one to publish).
    #[serde(default = "yes")]
    with_image: bool,
}

fn yes() -> bool {
    true
}

/// A post's status, as the API names it: the enum is core's list of statuses
/// ([`PostStatus::ALL`]), so a status added there is documented here.
pub struct PostStatusName;

impl utoipa::PartialSchema for PostStatusName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(PostStatus::ALL.iter().map(|s| s.as_str())))
            .description(Some(
                "`ready` (generated, not approved), `approved` (the owner clicked Publish), \
                 `publishing`, `published`, `failed` (publishing failed; edit and approve again), \
                 `withdrawn`, `needs_reconnect` (the Instagram connection must be renewed), and \
                 any other status core adds.",
            ))
            .examples([serde_json::json!("ready")])
            .into()
    }
}

impl ToSchema for PostStatusName {
    fn name() -> std::borrow::Cow<'static, str> {
        "PostStatus".into()
    }
}

/// A hashtag as an edit may give it: with or without `#`, then 1–100 letters, digits or
/// underscores, not all digits.
pub struct HashtagName;

impl utoipa::PartialSchema for HashtagName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .min_length(Some(1))
            .max_length(Some(101))
            .pattern(Some(r"^#?[0-9]*[^\W\d]\w*$"))
            .examples([serde_json::json!("sourdough")])
            .into()
    }
}

impl ToSchema for HashtagName {}

/// The current consent, in brief (the full receipt is at `/v1/posts/{id}/consent`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentSummary {
    /// When the owner clicked Publish.
    approved_at: DateTime<Utc>,
    /// The hash of the content approved (including the account).
    content_hash: String,
    /// The Instagram account approved.
    ig_user_id: String,
    /// The time chosen, when scheduled.
    scheduled_for: Option<DateTime<Utc>>,
}

/// Why publishing failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailureView {
    /// A stable code.
    code: String,
    /// A sentence for the owner.
    message: String,
    /// Whether approving again may succeed.
    retryable: bool,
}

/// The image's size.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    /// Width in pixels.
    width: u32,
    /// Height in pixels.
    height: u32,
}

/// The publish job of an approved post.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummary {
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    state: String,
    /// Not before this time.
    run_after: DateTime<Utc>,
    /// Attempts so far.
    attempts: u32,
}

/// A post: the preview the owner approves.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostDto {
    /// The id.
    #[schema(format = Uuid)]
    id: String,
    /// Where the post stands.
    #[schema(value_type = PostStatusName)]
    status: &'static str,
    /// The topic asked for.
    topic: Option<String>,
    /// The caption body.
    caption: String,
    /// Hashtags, without `#`, in order.
    hashtags: Vec<String>,
    /// The caption with hashtags exactly as Instagram would receive it.
    text: String,
    /// Alt text for the image.
    alt_text: Option<String>,
    /// A signed, expiring link to the image (no credentials needed), or `null`.
    image_url: Option<String>,
    /// The image's size.
    image: Option<ImageView>,
    /// What a Publish click must echo: SHA-256 of the content as it is now (caption,
    /// hashtags, alt text, image, account).
    content_hash: String,
    /// The connected account the post targets (`id` of `/v1/instagram/accounts`).
    instagram_account_id: Option<String>,
    /// The Instagram user id the post targets.
    ig_user_id: Option<String>,
    /// The current consent, if approved.
    consent: Option<ConsentSummary>,
    /// The approved publishing time, when scheduled.
    scheduled_for: Option<DateTime<Utc>>,
    /// The publish job, while approved or publishing.
    job: Option<JobSummary>,
    /// When it went live.
    published_at: Option<DateTime<Utc>>,
    /// Instagram's media id.
    instagram_media_id: Option<String>,
    /// The post on Instagram (or the sandbox).
    permalink: Option<String>,
    /// Why publishing failed.
    failure: Option<FailureView>,
    /// Whether this is a sandbox post (offline generator, nothing reaches Instagram).
    sandbox: bool,
    /// When generated.
    created_at: DateTime<Utc>,
    /// When last changed.
    updated_at: DateTime<Utc>,
}

impl PostDto {
    fn from_view(state: &AppState, view: PostView) -> Self {
        let PostView {
            post,
            media,
            target_connection,
            job,
        } = view;
        let content_hash = post.content.hash().to_hex();
        let text = post
            .content
            .post_text()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|_| post.content.caption.as_str().to_owned());
        let sandbox = media.sandbox || post.content.target.as_ref().is_some_and(|t| t.is_sandbox());
        Self {
            id: post.id.to_string(),
            status: post.status.as_str(),
            topic: media.topic,
            caption: post.content.caption.as_str().to_owned(),
            hashtags: post
                .content
                .hashtags
                .iter()
                .map(|h| h.as_str().to_owned())
                .collect(),
            text,
            alt_text: post
                .content
                .alt_text
                .as_ref()
                .map(|a| a.as_str().to_owned()),
            image_url: media.image.as_ref().map(|i| {
                state
                    .media_links
                    .sign(&i.key, state.config.media_preview_ttl)
            }),
            image: media.image.as_ref().map(|i| ImageView {
                width: i.width,
                height: i.height,
            }),
            content_hash,
            instagram_account_id: target_connection.map(|c| c.to_string()),
            ig_user_id: post.content.target.as_ref().map(|t| t.to_string()),
            scheduled_for: post.consent.as_ref().and_then(|c| c.scheduled_for()),
            consent: post.consent.as_ref().map(|c| ConsentSummary {
                approved_at: c.approved_at(),
                content_hash: c.content_hash().to_hex(),
                ig_user_id: c.target().to_string(),
                scheduled_for: c.scheduled_for(),
            }),
            job: job.map(|j| JobSummary {
                state: j.state,
                run_after: j.run_after,
                attempts: j.attempts,
            }),
            published_at: post.published_at,
            instagram_media_id: post.instagram_media_id,
            permalink: post.permalink,
            failure: post.failure.map(|f| FailureView {
                code: f.code,
                message: f.message,
                retryable: f.retryable,
            }),
            sandbox,
            created_at: post.created_at,
            updated_at: post.updated_at,
        }
    }
}

/// A page of posts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPageDto {
    /// The posts.
    posts: Vec<PostDto>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// Listing parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// From a previous page's `next_cursor`.
    cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Only posts in this status.
    #[param(value_type = Option<PostStatusName>)]
    status: Option<String>,
}

/// An edit; absent fields stay, `null` clears `alt_text` or `instagram_account_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"caption": "Warm sourdough, every morning at 7.", "hashtags": ["bakery", "#sourdough"], "alt_text": "A loaf of sourdough on a wooden board"}))]
pub struct EditBody {
    /// New caption: at most 2,200 characters as Instagram counts them (emoji count as two), at
    /// most 30 hashtags and 20 @mentions with the hashtags below, no control characters but
    /// tabs and line breaks; surrounding white space is trimmed. It may be empty.
    #[schema(schema_with = super::document::nullable_lines::<0, 2200>)]
    caption: Option<String>,
    /// New hashtags, with or without `#`: letters, digits and underscores, not all digits,
    /// 1–100 characters each.
    #[schema(value_type = Option<Vec<HashtagName>>, max_items = 30)]
    hashtags: Option<Vec<String>>,
    /// New alt text (1–1,000 characters once trimmed); `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = super::document::nullable_lines::<1, 1000>)]
    alt_text: Option<Option<String>>,
    /// The connected account to publish to (`id` of `/v1/instagram/accounts`); `null` clears
    /// it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<uuid::Uuid>)]
    instagram_account_id: Option<Option<String>>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The Publish click.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"content_hash": "9f2c4b1de0a7c3f5b8e6d4a2c1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a392", "instagram_account_id": "0195f3a4-7c1e-7d2a-9b8e-3f4a5b6c7d8e"}))]
pub struct PublishBody {
    /// The `content_hash` of the preview the owner saw (64 hex digits).
    #[schema(schema_with = super::document::sha256_hex)]
    content_hash: String,
    /// The connected account to publish to (`id` of `/v1/instagram/accounts`).
    #[schema(value_type = uuid::Uuid)]
    instagram_account_id: String,
    /// Publish at this time (RFC 3339, in the future) instead of now.
    scheduled_for: Option<DateTime<Utc>>,
}

impl EditBody {
    /// The edit as domain values: every field's problems are reported at once (422).
    fn parse(self) -> Result<EditRequest, ApiError> {
        let mut fields = Fields::default();
        let caption = self
            .caption
            .as_deref()
            .and_then(|c| fields.check(Caption::parse(c)));
        let hashtags = self.hashtags.as_ref().and_then(|tags| {
            fields.check(
                tags.iter()
                    .map(|t| Hashtag::parse(t))
                    .collect::<Result<Vec<_>, _>>(),
            )
        });
        let alt_text = match &self.alt_text {
            Some(Some(alt)) => fields.check(AltText::parse(alt)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let connection = match &self.instagram_account_id {
            Some(Some(raw)) => match raw.trim().parse::<ConnectionId>() {
                Ok(id) => Some(Some(id)),
                Err(_) => {
                    fields.add("instagram_account_id", "is not a connected account's id");
                    None
                }
            },
            Some(None) => Some(None),
            None => None,
        };
        fields.finish()?;
        Ok(EditRequest {
            caption,
            hashtags,
            alt_text,
            connection,
        })
    }
}

impl PublishBody {
    /// The click as domain values, as of `now`: every field's problems are reported at once
    /// (422).
    fn parse(self, client: ClientInfo, now: DateTime<Utc>) -> Result<Click, ApiError> {
        let content_hash = ContentHash::parse(&self.content_hash);
        let connection = self.instagram_account_id.trim().parse::<ConnectionId>();
        let mut fields = Fields::default();
        if let Err(error) = &content_hash {
            fields.add(error.field(), error.reason());
        }
        if connection.is_err() {
            fields.add("instagram_account_id", "is not a connected account's id");
        }
        if self.scheduled_for.is_some_and(|at| at <= now) {
            fields.add("scheduled_for", "must be in the future");
        }
        let (Ok(content_hash), Ok(connection)) = (content_hash, connection) else {
            return Err(ApiError::Validation(fields.into_map()));
        };
        fields.finish()?;
        Ok(Click {
            content_hash,
            connection,
            scheduled_for: self.scheduled_for,
            ip: client.ip_string(),
            user_agent: client.user_agent,
        })
    }
}

/// The consent receipt of the current approval (P09).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentDto {
    /// The post.
    post_id: String,
    /// Who clicked.
    user_id: String,
    /// The hash of the approved content.
    content_hash: String,
    /// The Instagram account approved.
    ig_user_id: String,
    /// When.
    approved_at: DateTime<Utc>,
    /// From which address.
    ip: Option<String>,
    /// With which browser.
    user_agent: Option<String>,
    /// For when, if scheduled.
    scheduled_for: Option<DateTime<Utc>>,
}

/// Generates a post (caption, hashtags, alt text and image) in status `ready`. Nothing is
/// published.
#[utoipa::path(post, path = "/v1/posts", tag = "posts", security(("bearer" = [])),
    request_body = GenerateBody,
    responses(
        (status = 201, body = PostDto),
        (status = 401, body = ErrorBody),
        (status = 402, description = "`quota_exceeded`", body = ErrorBody),
        (status = 403, description = "`processing_restricted`", body = ErrorBody),
        (status = 422, description = "`profile_required`, `content_flagged`, `content_refused`, invalid topic", body = ErrorBody),
        (status = 502, description = "`generator_unavailable`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn generate(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<GenerateBody>,
) -> Result<(StatusCode, Json<PostDto>), ApiError> {
    let topic = Topic::parse(&body.topic)?;
    let view = state
        .posts
        .generate(user.id, topic, body.with_image)
        .await?;
    Ok((StatusCode::CREATED, Json(PostDto::from_view(&state, view))))
}

/// The caller's posts, newest first.
#[utoipa::path(get, path = "/v1/posts", tag = "posts", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = PostPageDto),
        (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<PostPageDto>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(PostStatus::parse)
        .transpose()
        .map_err(|_| ApiError::bad_request("invalid_query", "Unknown post status."))?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "The limit must be between 1 and 100.",
        ));
    }
    let page = state
        .stores
        .posts
        .list_posts(user.id, status, query.cursor, limit)
        .await
        .map_err(|error| match error {
            kraftsoci_core::StoreError::InvalidInput(_) => {
                ApiError::bad_request("invalid_cursor", "The cursor is not valid.")
            }
            other => other.into(),
        })?;
    let views = state.posts.views(user.id, page.posts).await?;
    Ok(Json(PostPageDto {
        posts: views
            .into_iter()
            .map(|v| PostDto::from_view(&state, v))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The preview: everything the owner approves, and where the post stands.
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses((status = 200, body = PostDto), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn preview(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<PostId>,
) -> Result<Json<PostDto>, ApiError> {
    let view = state.posts.view(user.id, id).await?;
    Ok(Json(PostDto::from_view(&state, view)))
}

/// Edits caption, hashtags, alt text or account. An approval is void: the post returns to
/// `ready` with a new `content_hash`.
#[utoipa::path(patch, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")), request_body = EditBody,
    responses(
        (status = 200, body = PostDto),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`publishing_started`, `publishing_in_progress`, `conflict`", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn edit(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<PostId>,
    Json(body): Json<EditBody>,
) -> Result<Json<PostDto>, ApiError> {
    let view = state.posts.edit(user.id, id, body.parse()?).await?;
    Ok(Json(PostDto::from_view(&state, view)))
}

/// **The Publish click.** Records the consent receipt for exactly the content whose hash is
/// echoed (user, time, address, user agent, account, schedule) and queues the post. Repeating
/// it is harmless.
#[utoipa::path(post, path = "/v1/posts/{id}/publish", tag = "posts", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")), request_body = PublishBody,
    responses(
        (status = 202, description = "Approved and queued", body = PostDto),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`processing_restricted`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`content_changed`, `target_changed`, `connection_needs_reconnect`, `publishing_limit_reached`, `publishing_started`", body = ErrorBody),
        (status = 422, description = "invalid fields, `image_required`, `image_invalid`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn publish(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Path(id): Path<PostId>,
    Json(body): Json<PublishBody>,
) -> Result<(StatusCode, Json<PostDto>), ApiError> {
    let click = body.parse(client, state.clock.now())?;
    let view = state.posts.publish(user.id, id, click).await?;
    Ok((StatusCode::ACCEPTED, Json(PostDto::from_view(&state, view))))
}

/// Withdraws an approval that has not started publishing: back to `ready`.
#[utoipa::path(post, path = "/v1/posts/{id}/withdraw", tag = "posts", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses(
        (status = 200, body = PostDto),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_state`, `publishing_started`, `publishing_in_progress`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn withdraw(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<PostId>,
) -> Result<Json<PostDto>, ApiError> {
    let view = state.posts.withdraw(user.id, id).await?;
    Ok(Json(PostDto::from_view(&state, view)))
}

/// Deletes our copy of a post (row and image bytes, P16); a post already on Instagram stays
/// there.
#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`publishing_in_progress`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<PostId>,
) -> Result<StatusCode, ApiError> {
    state.posts.delete(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The consent receipt of the post's current approval.
#[utoipa::path(get, path = "/v1/posts/{id}/consent", tag = "posts", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses(
        (status = 200, body = ConsentDto),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such post, or it has no current approval", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn consent(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<PostId>,
) -> Result<Json<ConsentDto>, ApiError> {
    let post = state.stores.posts.post(user.id, id).await?;
    let receipt = post.consent.ok_or(ApiError::NotFound)?;
    Ok(Json(ConsentDto {
        post_id: receipt.post().to_string(),
        user_id: receipt.user().to_string(),
        content_hash: receipt.content_hash().to_hex(),
        ig_user_id: receipt.target().to_string(),
        approved_at: receipt.approved_at(),
        ip: receipt.ip().map(str::to_owned),
        user_agent: receipt.user_agent().map(str::to_owned),
        scheduled_for: receipt.scheduled_for(),
    }))
}
