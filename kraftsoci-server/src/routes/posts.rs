//! `/v1/posts/*`: the consent-gated flow (P09, P32). Generate a post, preview it, edit it, and
//! publish it only with the owner's explicit click, which echoes the hash of the content shown.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use futures::Stream;
use kraftsoci_core::{
    AltText, ApiKeyId, Caption, ConnectionId, ContentHash, GenerationStep, Hashtag, PostId,
    PostSnapshot, PostStatus, Topic, UserId,
};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody, Fields};
use crate::http::{
    ApiCaller, ClientInfo, DeferredCaller, Json, Path, PostsPublish, PostsRead, PostsWrite, Query,
    SizedJson,
};
use crate::posts::{Click, EditRequest, Parts, PostView};
use crate::state::AppState;
use crate::store::IdempotencyRecord;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/posts", post(generate).get(list))
        .route("/v1/posts/{id}", get(preview).patch(edit).delete(remove))
        .route("/v1/posts/{id}/publish", post(publish))
        .route("/v1/posts/{id}/withdraw", post(withdraw))
        .route("/v1/posts/{id}/consent", get(consent))
        .route("/v1/posts/{id}/events", get(events))
        .route("/v1/posts/{id}/regenerate", post(regenerate))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(
    paths(
        generate, list, preview, edit, publish, withdraw, remove, consent, events, regenerate
    ),
    components(schemas(PostStatusName, StepEvent))
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
                "`generating` (being written and drawn in the background), `generation_failed` \
                 (see `failure`; regenerate to try again), `ready` (generated, not approved), \
                 `approved` (the owner clicked Publish), \
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
    /// `generating`, `generation_failed`, `ready`, `approved`, `publishing`, `published`,
    /// `failed`, `withdrawn` or `needs_reconnect`. While `generating`, the content is empty
    /// (or, when regenerating, the previous one) and `generation_step` says how far it got.
    #[schema(value_type = PostStatusName)]
    status: &'static str,
    /// The last step of the post's generation: `queued`, `writing`, `moderating`, `drawing`,
    /// `ready` or `failed` (`null` for posts generated before generation ran as a job). The
    /// same steps stream from `GET /v1/posts/{id}/events`.
    #[schema(example = "ready")]
    generation_step: Option<&'static str>,
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
    /// Why publishing failed, or (in `generation_failed`) why generation failed.
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
        // What is derived from the content first; then its strings move into the answer
        // rather than being copied (a list page builds twenty of these).
        let content_hash = post.content.hash().to_hex();
        let text = post.content.post_text().map(String::from);
        let sandbox = media.sandbox || post.content.target.as_ref().is_some_and(|t| t.is_sandbox());
        let image_url = media.image.as_ref().map(|i| {
            state
                .media_links
                .sign(&i.key, state.config.media_preview_ttl)
        });
        let image = media.image.as_ref().map(|i| ImageView {
            width: i.width,
            height: i.height,
        });
        let ig_user_id = post.content.target.as_ref().map(|t| t.to_string());
        let consent = post.consent.as_ref().map(|c| ConsentSummary {
            approved_at: c.approved_at(),
            content_hash: c.content_hash().to_hex(),
            ig_user_id: c.target().to_string(),
            scheduled_for: c.scheduled_for(),
        });
        let scheduled_for = post.consent.as_ref().and_then(|c| c.scheduled_for());
        let content = post.content;
        let caption = String::from(content.caption);
        Self {
            id: post.id.to_string(),
            status: post.status.as_str(),
            generation_step: post.generation_step.map(|s| s.as_str()),
            topic: media.topic,
            // A stored combination that no longer composes (limits changed) shows the caption.
            text: text.unwrap_or_else(|_| caption.clone()),
            caption,
            hashtags: content.hashtags.into_iter().map(String::from).collect(),
            alt_text: content.alt_text.map(String::from),
            image_url,
            image,
            content_hash,
            instagram_account_id: target_connection.map(|c| c.to_string()),
            ig_user_id,
            scheduled_for,
            consent,
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
#[into_params(parameter_in = Query)]
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
    fn parse(
        self,
        client: ClientInfo,
        api_key: Option<ApiKeyId>,
        now: DateTime<Utc>,
    ) -> Result<Click, ApiError> {
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
            api_key,
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
    /// The personal API key the click came from (a program acting for the owner); `null`
    /// when the owner clicked while signed in.
    api_key_id: Option<String>,
}

/// The longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// How often the events stream reads the stored step. Polling the stored step works across
/// processes on both engines (the worker may run elsewhere) and keeps a slow client away
/// from the worker, which only ever writes to the database.
const EVENTS_POLL: Duration = Duration::from_millis(250);

/// How long one events stream lasts at most; a client reconnects to follow a post longer.
const EVENTS_MAX: Duration = Duration::from_secs(600);

/// The `Idempotency-Key` header, checked: 1–255 visible ASCII characters.
fn idempotency_key(
    headers: &HeaderMap,
    body: &GenerateBody,
) -> Result<Option<IdempotencyRecord>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty()
                && k.len() <= MAX_IDEMPOTENCY_KEY
                && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
            )
        })?;
    // The request as the server understands it: a repeat with the same meaning is the same
    // request, whatever its JSON spacing.
    let mut hash = Sha256::new();
    hash.update(body.topic.trim().as_bytes());
    hash.update([0, u8::from(body.with_image)]);
    Ok(Some(IdempotencyRecord {
        key: key.to_owned(),
        request_hash: hex::encode(hash.finalize()),
    }))
}

/// Starts generating a post (caption, hashtags, alt text and image) and answers at once with
/// the post in status `generating`; follow it on `GET /v1/posts/{id}/events` or by polling
/// the post until it is `ready` (or `generation_failed`, with the reason in `failure`).
/// The quota is reserved now and released if generation fails. Nothing is published.
///
/// With an `Idempotency-Key` header, repeating the request within 24 hours answers the same
/// post (and uses the quota once), even when the repeats are concurrent; the same key with a
/// different body is refused.
#[utoipa::path(post, path = "/v1/posts", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:write"])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
        description = "1–255 visible ASCII characters; the same key within 24 hours answers the same post")),
    request_body = GenerateBody,
    responses(
        (status = 202, description = "Accepted: the post, in `generating` (or the post an earlier request with the same `Idempotency-Key` created)", body = PostDto,
            headers(("Location" = String, description = "The post's URL"))),
        (status = 400, description = "`invalid_idempotency_key`", body = ErrorBody),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody),
        (status = 402, description = "`quota_exceeded`, `subscription_inactive`", body = ErrorBody),
        (status = 403, description = "`processing_restricted`, `api_key_scope_missing`", body = ErrorBody),
        (status = 422, description = "`profile_required`, `idempotency_key_reused`, invalid topic", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn generate(
    State(state): State<AppState>,
    user: ApiCaller<PostsWrite>,
    headers: HeaderMap,
    Json(body): Json<GenerateBody>,
) -> Result<(StatusCode, HeaderMap, Json<PostDto>), ApiError> {
    let key = idempotency_key(&headers, &body)?;
    let topic = Topic::parse(&body.topic)?;
    let (view, _created) = state
        .posts
        .generate(user.id, topic, body.with_image, key)
        .await?;
    let mut answer = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/posts/{}", view.post.id)) {
        answer.insert(header::LOCATION, location);
    }
    Ok((
        StatusCode::ACCEPTED,
        answer,
        Json(PostDto::from_view(&state, view)),
    ))
}

/// Which parts to generate again.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"caption": true, "image": false}))]
pub struct RegenerateBody {
    /// A new caption, hashtags and alt text.
    #[serde(default)]
    caption: bool,
    /// A new image.
    #[serde(default)]
    image: bool,
}

/// Generates the caption (with hashtags and alt text), the image, or both again, keeping the
/// other part: the post goes back through `generating` (follow it as after `POST /v1/posts`).
/// Any approval is void, because the content hash changes; an approved post is withdrawn
/// first. The quota counts as for a new post: one post for a caption, one image for an image.
#[utoipa::path(post, path = "/v1/posts/{id}/regenerate", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:write"])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")), request_body = RegenerateBody,
    responses(
        (status = 202, description = "Accepted: the post, in `generating`", body = PostDto),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody),
        (status = 402, description = "`quota_exceeded`, `subscription_inactive`", body = ErrorBody),
        (status = 403, description = "`processing_restricted`, `api_key_scope_missing`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_state` (generating, approved or waiting for a reconnect: withdraw first), `publishing_started`, `conflict`", body = ErrorBody),
        (status = 422, description = "neither `caption` nor `image` asked for, `profile_required`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn regenerate(
    State(state): State<AppState>,
    user: ApiCaller<PostsWrite>,
    Path(id): Path<PostId>,
    Json(body): Json<RegenerateBody>,
) -> Result<(StatusCode, Json<PostDto>), ApiError> {
    if !body.caption && !body.image {
        return Err(ApiError::invalid_field(
            "caption",
            "ask for a new caption, a new image, or both",
        ));
    }
    let parts = Parts {
        caption: body.caption,
        image: body.image,
    };
    let view = state.posts.regenerate(user.id, id, parts).await?;
    Ok((StatusCode::ACCEPTED, Json(PostDto::from_view(&state, view))))
}

/// One message of the `GET /v1/posts/{id}/events` stream as Server-Sent Events frame it:
/// `event: step` and a `data` line holding a [`StepEvent`] as JSON.
pub struct StepMessage;

impl utoipa::PartialSchema for StepMessage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .property(
                "event",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["step"])),
            )
            .required("event")
            .property(
                "data",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .content_media_type("application/json")
                    .description(Some("A `StepEvent` (see its schema), as JSON")),
            )
            .required("data")
            .into()
    }
}

impl ToSchema for StepMessage {
    fn name() -> std::borrow::Cow<'static, str> {
        "StepMessage".into()
    }
}

/// One event of `GET /v1/posts/{id}/events` (`event: step`, this as `data`).
#[derive(Debug, Serialize, ToSchema)]
pub struct StepEvent {
    /// The post.
    post_id: String,
    /// `queued`, `writing`, `moderating`, `drawing`, then `ready` or `failed`.
    #[schema(example = "writing")]
    step: &'static str,
    /// The post's status.
    #[schema(example = "generating")]
    status: &'static str,
    /// Why generation failed (with `failed`).
    failure: Option<FailureView>,
}

/// The step a post is at, for the stream: a post generated before steps were stored, or one
/// that has moved on (edited, approved, published), reads as done.
fn step_of(post: &PostSnapshot) -> GenerationStep {
    match (post.status, post.generation_step) {
        (PostStatus::Generating, Some(step)) if !step.is_final() => step,
        (PostStatus::Generating, _) => GenerationStep::Queued,
        (PostStatus::GenerationFailed, _) => GenerationStep::Failed,
        _ => GenerationStep::Ready,
    }
}

fn step_event(post: &PostSnapshot, step: GenerationStep) -> Event {
    let data = StepEvent {
        post_id: post.id.to_string(),
        step: step.as_str(),
        status: post.status.as_str(),
        failure: (step == GenerationStep::Failed)
            .then_some(post.failure.as_ref())
            .flatten()
            .map(|f| FailureView {
                code: f.code.clone(),
                message: f.message.clone(),
                retryable: f.retryable,
            }),
    };
    Event::default()
        .event("step")
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event("step"))
}

/// Where one events stream stands.
struct Follow {
    state: AppState,
    owner: UserId,
    post: PostId,
    last: Option<GenerationStep>,
    done: bool,
    until: tokio::time::Instant,
}

async fn next_step(mut follow: Follow) -> Option<(Result<Event, Infallible>, Follow)> {
    if follow.done {
        return None;
    }
    loop {
        let post = match follow
            .state
            .stores
            .posts
            .post(follow.owner, follow.post)
            .await
        {
            Ok(post) => post,
            Err(error) => {
                // Deleted meanwhile, or storage failed: end the stream; the client reads the
                // post to learn more.
                tracing::debug!(post = %follow.post, %error, "events stream ends");
                return None;
            }
        };
        let step = step_of(&post);
        if follow.last != Some(step) {
            follow.last = Some(step);
            follow.done = step.is_final();
            return Some((Ok(step_event(&post, step)), follow));
        }
        if tokio::time::Instant::now() >= follow.until {
            return None;
        }
        tokio::time::sleep(EVENTS_POLL).await;
    }
}

/// **Live progress** of a post's generation, as Server-Sent Events (`text/event-stream`).
///
/// Each event is `event: step` with a JSON `data` line (`StepEvent`): the current step when
/// the stream opens, then each new one — `queued`, `writing`, `moderating`, `drawing`, and
/// finally `ready` or `failed` (with `failure`), after which the stream ends. A post that is
/// not generating answers its final step at once. Comment lines (`: keep-alive`) keep proxies
/// from closing an idle stream; a stream lasts at most 10 minutes. Works whichever process
/// runs the generation worker. Browsers' `EventSource` reconnects when a stream ends: close it
/// on the final step.
///
/// ```text
/// event: step
/// data: {"post_id":"…","step":"writing","status":"generating","failure":null}
///
/// event: step
/// data: {"post_id":"…","step":"ready","status":"ready","failure":null}
/// ```
#[utoipa::path(get, path = "/v1/posts/{id}/events", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:read"])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses(
        (status = 200, description = "A stream of `step` events; each `data` is a `StepEvent` as JSON", content_type = "text/event-stream", body = StepMessage),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody), (status = 403, description = "`api_key_scope_missing`", body = ErrorBody),
        (status = 404, description = "No such post, or not the caller's", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn events(
    State(state): State<AppState>,
    user: ApiCaller<PostsRead>,
    Path(id): Path<PostId>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Another user's post is a 404 like a missing one, before any stream starts.
    state.stores.posts.post(user.id, id).await?;
    Ok(step_stream(state, user.id, id))
}

/// The events stream of the owner's post `id` (the caller checked that it is theirs); the
/// web app's progress page uses it too, with the session cookie.
pub(crate) fn step_stream(
    state: AppState,
    owner: UserId,
    id: PostId,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let follow = Follow {
        state,
        owner,
        post: id,
        last: None,
        done: false,
        until: tokio::time::Instant::now() + EVENTS_MAX,
    };
    Sse::new(futures::stream::unfold(follow, next_step)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    )
}

/// The caller's posts, newest first.
#[utoipa::path(get, path = "/v1/posts", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:read"])),
    params(ListQuery),
    responses(
        (status = 200, body = PostPageDto),
        (status = 400, description = "`invalid_query`, `invalid_cursor`", body = ErrorBody),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody), (status = 403, description = "`api_key_scope_missing`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    caller: DeferredCaller<PostsRead>,
    query: Result<Query<ListQuery>, ApiError>,
) -> Result<SizedJson<PostPageDto>, ApiError> {
    // Parsed here, judged after the caller is admitted (see below).
    let parsed = query.and_then(|Query(query)| {
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
        Ok((status, limit, query.cursor))
    });
    let invalid_cursor = |error| match error {
        kraftsoci_core::StoreError::InvalidInput(_) => {
            ApiError::bad_request("invalid_cursor", "The cursor is not valid.")
        }
        other => other.into(),
    };
    let page = match caller {
        // A key was checked by the extractor; its page is one more statement.
        DeferredCaller::Key(key) => {
            let (status, limit, cursor) = parsed?;
            state
                .stores
                .posts
                .list_posts_with_details(key.id, status, cursor, limit)
                .await
                .map_err(invalid_cursor)?
        }
        // An access token: the session check and the page are one statement, and nothing
        // of the page is shown before the session is admitted. A malformed query is
        // answered after the session check, as for every other route (401 first).
        DeferredCaller::Session(pending) => {
            let (status, limit, cursor) = match parsed {
                Ok(parsed) => parsed,
                Err(malformed) => {
                    pending.check(&state).await?;
                    return Err(malformed);
                }
            };
            let read = state
                .stores
                .auth
                .access_posts(
                    pending.user(),
                    pending.session(),
                    state.clock.now(),
                    status,
                    cursor,
                    limit,
                )
                .await;
            let (access, page) = match read {
                Ok(read) => (Ok(read.access), Some(read.page)),
                Err(error) => (Err(error), None),
            };
            pending.admit(access)?;
            // `admit` refused every case without a page.
            page.ok_or_else(ApiError::unauthorized)?
                .map_err(invalid_cursor)?
        }
    };
    let capacity = PAGE_BYTES_PER_POST * page.posts.len() + 64;
    Ok(SizedJson::new(
        PostPageDto {
            posts: page
                .posts
                .into_iter()
                .map(|listed| PostDto::from_view(&state, PostView::from(listed)))
                .collect(),
            next_cursor: page.next_cursor,
        },
        capacity,
    ))
}

/// About what one post takes in a page's JSON (a post with a caption of a few sentences,
/// hashtags, alt text, a signed image link and its timestamps is 0.9–1.2 KiB).
const PAGE_BYTES_PER_POST: usize = 1152;

/// The preview: everything the owner approves, and where the post stands.
#[utoipa::path(get, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:read"])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses((status = 200, body = PostDto), (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody), (status = 403, description = "`api_key_scope_missing`", body = ErrorBody), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn preview(
    State(state): State<AppState>,
    user: ApiCaller<PostsRead>,
    Path(id): Path<PostId>,
) -> Result<Json<PostDto>, ApiError> {
    let view = state.posts.view(user.id, id).await?;
    Ok(Json(PostDto::from_view(&state, view)))
}

/// Edits caption, hashtags, alt text or account. An approval is void: the post returns to
/// `ready` with a new `content_hash`.
#[utoipa::path(patch, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:write"])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")), request_body = EditBody,
    responses(
        (status = 200, body = PostDto),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody), (status = 403, description = "`api_key_scope_missing`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`publishing_started`, `publishing_in_progress`, `conflict`", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn edit(
    State(state): State<AppState>,
    user: ApiCaller<PostsWrite>,
    Path(id): Path<PostId>,
    Json(body): Json<EditBody>,
) -> Result<Json<PostDto>, ApiError> {
    let view = state.posts.edit(user.id, id, body.parse()?).await?;
    Ok(Json(PostDto::from_view(&state, view)))
}

/// **The Publish click.** Records the consent receipt for exactly the content whose hash is
/// echoed (user, time, address, user agent, account, schedule) and queues the post. Repeating
/// it is harmless.
#[utoipa::path(post, path = "/v1/posts/{id}/publish", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:publish"])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")), request_body = PublishBody,
    responses(
        (status = 202, description = "Approved and queued", body = PostDto),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody),
        (status = 403, description = "`processing_restricted`, `api_key_scope_missing`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`content_changed`, `target_changed`, `connection_needs_reconnect`, `publishing_limit_reached`, `publishing_started`", body = ErrorBody),
        (status = 422, description = "invalid fields, `image_required`, `image_invalid`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn publish(
    State(state): State<AppState>,
    user: ApiCaller<PostsPublish>,
    client: ClientInfo,
    Path(id): Path<PostId>,
    Json(body): Json<PublishBody>,
) -> Result<(StatusCode, Json<PostDto>), ApiError> {
    let click = body.parse(client, user.api_key(), state.clock.now())?;
    let view = state.posts.publish(user.id, id, click).await?;
    Ok((StatusCode::ACCEPTED, Json(PostDto::from_view(&state, view))))
}

/// Withdraws an approval that has not started publishing: back to `ready`.
#[utoipa::path(post, path = "/v1/posts/{id}/withdraw", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:publish"])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses(
        (status = 200, body = PostDto),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody), (status = 403, description = "`api_key_scope_missing`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`invalid_state`, `publishing_started`, `publishing_in_progress`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn withdraw(
    State(state): State<AppState>,
    user: ApiCaller<PostsPublish>,
    Path(id): Path<PostId>,
) -> Result<Json<PostDto>, ApiError> {
    let view = state.posts.withdraw(user.id, id).await?;
    Ok(Json(PostDto::from_view(&state, view)))
}

/// Deletes our copy of a post (row and image bytes, P16); a post already on Instagram stays
/// there.
#[utoipa::path(delete, path = "/v1/posts/{id}", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:write"])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody), (status = 403, description = "`api_key_scope_missing`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`publishing_in_progress`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn remove(
    State(state): State<AppState>,
    user: ApiCaller<PostsWrite>,
    Path(id): Path<PostId>,
) -> Result<StatusCode, ApiError> {
    state.posts.delete(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The consent receipt of the post's current approval.
#[utoipa::path(get, path = "/v1/posts/{id}/consent", tag = "posts", security(("bearer" = []), ("api_key" = ["posts:read"])),
    params(("id" = uuid::Uuid, Path, description = "The post's id")),
    responses(
        (status = 200, body = ConsentDto),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody), (status = 403, description = "`api_key_scope_missing`", body = ErrorBody),
        (status = 404, description = "No such post, or it has no current approval", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn consent(
    State(state): State<AppState>,
    user: ApiCaller<PostsRead>,
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
        api_key_id: receipt.api_key().map(|key| key.to_string()),
    }))
}
