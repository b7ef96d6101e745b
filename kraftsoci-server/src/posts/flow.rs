//! The consent-gated post flow (P09, P11, P16, P29, P32): generate, preview, edit, the Publish
//! click, withdraw and delete.
//!
//! Nothing here publishes. The click records the owner's consent for the exact content shown
//! (core's [`Post::approve`] checks the echoed content hash) and queues a publish job in the
//! same transaction; the worker alone talks to Instagram, and only through core's
//! `begin_publishing`, which refuses any post whose consent does not match its content.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    Connection, ConnectionStatus, EntitlementError, GenerationError, GenerationRequest,
    JOB_RUNNING, JobRequest, JobView, MediaKey, PostMedia, PostUpdate, QuotaKind, QuotaReservation,
    StoredImage,
};
use kraftsoci_core::{
    AltText, Approval, ApproveOutcome, Caption, CheckedJpeg, ConnectionId, ContentHash, Edit,
    Hashtag, IgUserId, LifecycleError, MediaKind, Post, PostContent, PostId, PostSnapshot,
    PostStatus, Processing, StoreError, Topic, UserId,
};

use crate::error::{ApiError, FieldErrors, Fields};
use crate::state::AppState;

/// How many times a click is retried when a concurrent change won the optimistic check.
const MAX_CLICK_ATTEMPTS: u32 = 3;

/// Instagram's rolling publishing window.
const DAY: chrono::Duration = chrono::Duration::hours(24);

/// A post as the API shows it: the snapshot plus what the server keeps beside it.
#[derive(Debug, Clone)]
pub struct PostView {
    /// The post.
    pub post: PostSnapshot,
    /// Topic, image and sandbox flag.
    pub media: PostMedia,
    /// The connection the post targets, when it still exists.
    pub target_connection: Option<ConnectionId>,
    /// Its publish job.
    pub job: Option<JobView>,
}

/// A Publish click as received.
#[derive(Debug, Clone)]
pub struct Click {
    /// The hash the client was shown (unparsed).
    pub content_hash: String,
    /// The chosen connection (unparsed).
    pub instagram_account_id: String,
    /// Publish at this time instead of now.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The client's address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
}

/// An edit as received; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct EditRequest {
    /// New caption.
    pub caption: Option<String>,
    /// New hashtags.
    pub hashtags: Option<Vec<String>>,
    /// New alt text, or `Some(None)` to remove it.
    pub alt_text: Option<Option<String>>,
    /// New target connection, or `Some(None)` to clear it.
    pub instagram_account_id: Option<Option<String>>,
}

/// 409 `publishing_in_progress`.
pub fn publishing_in_progress() -> ApiError {
    ApiError::conflict(
        "publishing_in_progress",
        "This post is being published right now; wait until it finishes.",
    )
}

fn publishing_started() -> ApiError {
    ApiError::conflict(
        "publishing_started",
        "Publishing has started or finished; this post can no longer change.",
    )
}

fn restricted() -> ApiError {
    ApiError::Forbidden {
        code: "processing_restricted",
        message: "You have restricted this processing in your account settings.".into(),
    }
}

fn unprocessable(code: &'static str, message: &'static str) -> ApiError {
    ApiError::Unprocessable {
        code,
        message: message.into(),
        fields: FieldErrors::new(),
    }
}

fn lifecycle(error: LifecycleError) -> ApiError {
    match error {
        LifecycleError::ContentChanged => ApiError::conflict(
            "content_changed",
            "The post changed since it was shown; review it and click Publish again.",
        ),
        LifecycleError::TargetChanged => ApiError::conflict(
            "target_changed",
            "The post targets another Instagram account; change its account first.",
        ),
        LifecycleError::NotAllowed {
            status: PostStatus::Publishing | PostStatus::Published,
            ..
        } => publishing_started(),
        LifecycleError::NotAllowed {
            status: PostStatus::NeedsReconnect,
            ..
        } => ApiError::conflict(
            "reconnect_required",
            "This post waits for its Instagram account to be reconnected.",
        ),
        LifecycleError::NotAllowed { status, .. } => ApiError::conflict(
            "invalid_state",
            format!("This is not possible while the post is {status}."),
        ),
        LifecycleError::Restricted(_) => restricted(),
        LifecycleError::InvalidContent(parse) => parse.into(),
        LifecycleError::NotOwner | LifecycleError::NotYetDue(_) => ApiError::NotFound,
    }
}

fn store_conflict(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict { constraint } if constraint == JOB_RUNNING => {
            publishing_in_progress()
        }
        StoreError::Stale => ApiError::conflict(
            "conflict",
            "The post changed meanwhile; reload it and try again.",
        ),
        other => other.into(),
    }
}

fn entitlement(error: EntitlementError) -> ApiError {
    match error {
        EntitlementError::QuotaExceeded { kind, limit } => ApiError::PaymentRequired {
            code: "quota_exceeded",
            message: format!(
                "Your plan's monthly {kind} quota of {limit} is used up; upgrade or wait for the \
                 next period."
            )
            .into(),
        },
        EntitlementError::NoAccess { status } => ApiError::PaymentRequired {
            code: "subscription_inactive",
            message: format!("Your subscription does not allow generating posts ({status}).")
                .into(),
        },
        EntitlementError::Unavailable(reason) => {
            ApiError::Unavailable(anyhow::anyhow!("entitlements unavailable: {reason}"))
        }
    }
}

fn generation(error: GenerationError) -> ApiError {
    match error {
        GenerationError::Flagged { .. } => unprocessable(
            "content_flagged",
            "The topic or the generated post was flagged by moderation; try another topic.",
        ),
        GenerationError::Refused(_) => unprocessable(
            "content_refused",
            "The AI declined to write about this topic; try another topic.",
        ),
        other => ApiError::bad_gateway(
            "generator_unavailable",
            "The post could not be generated right now; try again in a moment.",
            anyhow::Error::new(other),
        ),
    }
}

/// The owner's connection `id`, or a 422 naming the field (another user's id looks the same
/// as one that does not exist).
async fn owned_connection(
    state: &AppState,
    owner: UserId,
    id: ConnectionId,
) -> Result<Connection, ApiError> {
    match state.stores.connections.connection(owner, id).await {
        Ok(connection) => Ok(connection),
        Err(StoreError::NotFound) => Err(ApiError::invalid_field(
            "instagram_account_id",
            "is not one of your connected accounts",
        )),
        Err(other) => Err(other.into()),
    }
}

/// Builds the views of `posts` (one query for connections, one lookup per post for media and
/// job).
pub async fn views(
    state: &AppState,
    owner: UserId,
    posts: Vec<PostSnapshot>,
) -> Result<Vec<PostView>, ApiError> {
    let connections: HashMap<IgUserId, ConnectionId> = state
        .stores
        .connections
        .connections(owner)
        .await?
        .into_iter()
        .map(|c| (c.ig_user_id, c.id))
        .collect();
    let ids: Vec<PostId> = posts.iter().map(|p| p.id).collect();
    let mut media: HashMap<PostId, PostMedia> = state
        .stores
        .posts
        .post_media(owner, &ids)
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(posts.len());
    for post in posts {
        let job = match post.status {
            PostStatus::Approved | PostStatus::Publishing => {
                state.stores.posts.publish_job(owner, post.id).await?
            }
            _ => None,
        };
        out.push(PostView {
            target_connection: post
                .content
                .target
                .as_ref()
                .and_then(|t| connections.get(t).copied()),
            media: media.remove(&post.id).unwrap_or(PostMedia {
                topic: None,
                image: None,
                sandbox: false,
            }),
            job,
            post,
        });
    }
    Ok(out)
}

/// One of the owner's posts, as a view.
///
/// # Errors
/// 404 when it is not the owner's.
pub async fn view(state: &AppState, owner: UserId, id: PostId) -> Result<PostView, ApiError> {
    let post = state.stores.posts.post(owner, id).await?;
    views(state, owner, vec![post])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

async fn load(state: &AppState, owner: UserId, id: PostId) -> Result<Post, ApiError> {
    let snapshot = state.stores.posts.post(owner, id).await?;
    Post::restore(snapshot).map_err(ApiError::internal)
}

/// Held quota, given back unless committed.
struct Holds<'a> {
    state: &'a AppState,
    reservations: Vec<QuotaReservation>,
}

impl Holds<'_> {
    async fn release(self) {
        for reservation in &self.reservations {
            if let Err(error) = self.state.entitlements.release(reservation).await {
                tracing::warn!(%error, kind = %reservation.kind, "releasing a quota reservation failed");
            }
        }
    }

    async fn commit(self) {
        for reservation in &self.reservations {
            if let Err(error) = self.state.entitlements.commit(reservation).await {
                tracing::warn!(%error, kind = %reservation.kind, "committing a quota reservation failed");
            }
        }
    }
}

/// Generates a post for `topic`: restrictions and quota first, then text and image from the
/// generators (which see only the business profile and the topic, P11), the image checked and
/// stored, the post saved in `ready`.
///
/// # Errors
/// 403 `processing_restricted`, 422 `profile_required` / field errors / `content_flagged` /
/// `content_refused`, 402 `quota_exceeded`, 502 `generator_unavailable`.
pub async fn generate(
    state: &AppState,
    owner: UserId,
    topic: &str,
    with_image: bool,
) -> Result<PostView, ApiError> {
    let account = state.stores.accounts.account(owner).await?;
    account
        .restrictions
        .allow(Processing::Generation)
        .map_err(|_| restricted())?;
    let topic = Topic::parse(topic)?;
    let profile = state.stores.profiles.profile(owner).await?.ok_or_else(|| {
        unprocessable(
            "profile_required",
            "Describe your business in your profile before generating posts.",
        )
    })?;

    let mut holds = Holds {
        state,
        reservations: Vec::new(),
    };
    let mut kinds = vec![QuotaKind::Posts];
    if with_image {
        kinds.push(QuotaKind::Images);
    }
    for kind in kinds {
        match state.entitlements.reserve(owner, kind, 1).await {
            Ok(reservation) => holds.reservations.push(reservation),
            Err(error) => {
                holds.release().await;
                return Err(entitlement(error));
            }
        }
    }

    let request = GenerationRequest { profile, topic };
    match produce(state, owner, &request, with_image).await {
        Ok(view) => {
            holds.commit().await;
            Ok(view)
        }
        Err(error) => {
            holds.release().await;
            Err(error)
        }
    }
}

async fn produce(
    state: &AppState,
    owner: UserId,
    request: &GenerationRequest,
    with_image: bool,
) -> Result<PostView, ApiError> {
    let text = state
        .generator
        .generate_text(request)
        .await
        .map_err(generation)?;
    let image = if with_image {
        let image = state
            .images
            .generate_image(request, &text.image_prompt)
            .await
            .map_err(generation)?;
        // Checked again here: whatever a generator returns, the preview only ever shows an
        // image Instagram accepts.
        let checked = CheckedJpeg::check(&image.jpeg).map_err(|error| {
            ApiError::bad_gateway(
                "generator_unavailable",
                "The generated image was unusable; try again.",
                anyhow::Error::new(error),
            )
        })?;
        Some((image.jpeg, checked))
    } else {
        None
    };

    let connections = state.stores.connections.connections(owner).await?;
    let mut active = connections
        .iter()
        .filter(|c| c.status == ConnectionStatus::Active);
    let target = match (active.next(), active.next()) {
        (Some(only), None) => Some(only.ig_user_id.clone()),
        _ => None,
    };
    let content = PostContent {
        caption: text.caption,
        hashtags: text.hashtags,
        alt_text: Some(text.alt_text),
        media_kind: MediaKind::Image,
        media: image.iter().map(|(_, checked)| checked.digest()).collect(),
        target,
    };
    let now = state.clock.now();
    let post = Post::generated(owner, content, now)?;
    let stored = match image {
        Some((jpeg, checked)) => {
            let key =
                MediaKey::new(owner, &format!("{}.jpg", post.id())).map_err(ApiError::internal)?;
            state
                .media
                .put(&key, jpeg, "image/jpeg")
                .await
                .map_err(|e| ApiError::Unavailable(anyhow::Error::new(e)))?;
            Some(StoredImage {
                key,
                width: checked.width(),
                height: checked.height(),
            })
        }
        None => None,
    };
    let media = PostMedia {
        topic: Some(request.topic.to_string()),
        image: stored,
        sandbox: state.config.sandbox,
    };
    if let Err(error) = state
        .stores
        .posts
        .insert_post(post.snapshot(), &media)
        .await
    {
        if let Some(image) = &media.image
            && let Err(cleanup) = state.media.delete(&image.key).await
        {
            tracing::warn!(error = %cleanup, "could not remove the image of an unsaved post");
        }
        return Err(error.into());
    }
    tracing::info!(post = %post.id(), with_image = media.image.is_some(), "post generated");
    view(state, owner, post.id()).await
}

/// Applies an edit: an approval is void (the post returns to `ready`, its job is dropped) and
/// the content hash changes.
///
/// # Errors
/// 404, 422 for invalid fields, 409 once publishing started or on a concurrent change.
pub async fn edit(
    state: &AppState,
    owner: UserId,
    id: PostId,
    request: EditRequest,
) -> Result<PostView, ApiError> {
    let mut fields = Fields::default();
    let caption = request
        .caption
        .as_deref()
        .and_then(|c| fields.check(Caption::parse(c)));
    let hashtags = request.hashtags.as_ref().and_then(|tags| {
        fields.check(
            tags.iter()
                .map(|t| Hashtag::parse(t))
                .collect::<Result<Vec<_>, _>>(),
        )
    });
    let alt_text = match &request.alt_text {
        Some(Some(alt)) => fields.check(AltText::parse(alt)).map(Some),
        Some(None) => Some(None),
        None => None,
    };
    let connection = match &request.instagram_account_id {
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
    let target = match connection {
        Some(Some(id)) => Some(Some(owned_connection(state, owner, id).await?.ig_user_id)),
        Some(None) => Some(None),
        None => None,
    };

    let mut post = load(state, owner, id).await?;
    let expected_updated_at = post.snapshot().updated_at;
    post.edit(
        Edit {
            caption,
            hashtags,
            alt_text,
            target,
        },
        next_instant(state, expected_updated_at),
    )
    .map_err(lifecycle)?;
    state
        .stores
        .posts
        .save_and_unqueue(
            &PostUpdate {
                post: post.into_snapshot(),
                expected_updated_at,
            },
            state.clock.now(),
        )
        .await
        .map_err(store_conflict)?;
    view(state, owner, id).await
}

/// The time a change is recorded at: the clock's, but strictly after the post's last change,
/// so that every change moves `updated_at` (the optimistic check relies on it).
fn next_instant(state: &AppState, last: DateTime<Utc>) -> DateTime<Utc> {
    let now = state.clock.now();
    if now > last {
        now
    } else {
        last + chrono::Duration::microseconds(1)
    }
}

/// The Publish click (P09).
///
/// # Errors
/// 404; 422 for a malformed hash or account, a post without an image, content or an image
/// Instagram would refuse; 403 `processing_restricted`; 409 `content_changed`,
/// `target_changed`, `connection_needs_reconnect`, `publishing_limit_reached`,
/// `publishing_started`.
pub async fn publish(
    state: &AppState,
    owner: UserId,
    id: PostId,
    click: Click,
) -> Result<PostView, ApiError> {
    let shown_hash = ContentHash::parse(&click.content_hash);
    let connection_id = click.instagram_account_id.trim().parse::<ConnectionId>();
    let now = state.clock.now();
    let mut fields = Fields::default();
    if let Err(error) = &shown_hash {
        fields.add(error.field(), error.reason());
    }
    if connection_id.is_err() {
        fields.add("instagram_account_id", "is not a connected account's id");
    }
    if click.scheduled_for.is_some_and(|at| at <= now) {
        fields.add("scheduled_for", "must be in the future");
    }
    let (Ok(shown_hash), Ok(connection_id)) = (shown_hash, connection_id) else {
        return Err(ApiError::Validation(fields.into_map()));
    };
    fields.finish()?;

    let account = state.stores.accounts.account(owner).await?;
    account
        .restrictions
        .allow(Processing::Publishing)
        .map_err(|_| restricted())?;
    let connection = owned_connection(state, owner, connection_id).await?;
    if connection.status != ConnectionStatus::Active {
        return Err(ApiError::conflict(
            "connection_needs_reconnect",
            "Reconnect this Instagram account before publishing to it.",
        ));
    }

    for _ in 0..MAX_CLICK_ATTEMPTS {
        let mut post = load(state, owner, id).await?;
        let expected_updated_at = post.snapshot().updated_at;
        let at = next_instant(state, expected_updated_at);
        let outcome = post
            .approve(Approval {
                user: owner,
                shown_hash,
                target: connection.ig_user_id.clone(),
                at,
                ip: click.ip.clone(),
                user_agent: click.user_agent.clone(),
                scheduled_for: click.scheduled_for,
            })
            .map_err(lifecycle)?;
        let job = JobRequest {
            connection: connection.id,
            run_after: click.scheduled_for.unwrap_or(now),
            at: now,
        };
        if outcome == ApproveOutcome::Unchanged {
            // The same click again: nothing new to consent to; make sure it is queued.
            state
                .stores
                .posts
                .ensure_queued(owner, id, &job)
                .await
                .map_err(store_conflict)?;
            return view(state, owner, id).await;
        }
        preflight(state, &post, &connection, job.run_after).await?;
        match state
            .stores
            .posts
            .approve_and_queue(
                &PostUpdate {
                    post: post.snapshot().clone(),
                    expected_updated_at,
                },
                &job,
            )
            .await
        {
            Ok(queued) => {
                tracing::info!(
                    post = %id,
                    ?queued,
                    scheduled = click.scheduled_for.is_some(),
                    "publish click recorded"
                );
                return view(state, owner, id).await;
            }
            // A concurrent click or edit won: read the post again and decide anew.
            Err(StoreError::Stale) => continue,
            Err(other) => return Err(store_conflict(other)),
        }
    }
    Err(ApiError::conflict(
        "conflict",
        "The post kept changing; reload it and try again.",
    ))
}

/// What must hold before a post is queued: Instagram's text limits, an image Instagram
/// accepts, and room in the account's daily publishing quota.
async fn preflight(
    state: &AppState,
    post: &Post,
    connection: &Connection,
    run_after: DateTime<Utc>,
) -> Result<(), ApiError> {
    post.content().post_text()?;
    let media = state
        .stores
        .posts
        .post_media(post.owner(), &[post.id()])
        .await?
        .pop()
        .map(|(_, media)| media);
    let image = media.and_then(|m| m.image).ok_or_else(|| {
        unprocessable(
            "image_required",
            "Instagram needs an image; generate a post with an image to publish it.",
        )
    })?;
    let stored = state
        .media
        .get(&image.key)
        .await
        .map_err(|e| ApiError::Unavailable(anyhow::Error::new(e)))?
        .ok_or_else(|| {
            unprocessable(
                "image_missing",
                "The post's image is gone; generate it again.",
            )
        })?;
    let checked = CheckedJpeg::check(&stored.bytes).map_err(|error| ApiError::Unprocessable {
        code: "image_invalid",
        message: error.to_string().into(),
        fields: FieldErrors::new(),
    })?;
    if !post.content().media.contains(&checked.digest()) {
        return Err(unprocessable(
            "image_changed",
            "The stored image is not the one this post was generated with.",
        ));
    }
    let load = state
        .stores
        .posts
        .publishing_load(
            &connection.ig_user_id,
            run_after - DAY,
            run_after + DAY,
            post.id(),
        )
        .await?;
    if load >= state.config.daily_publish_limit {
        return Err(ApiError::conflict(
            "publishing_limit_reached",
            format!(
                "This Instagram account already has {load} posts published or queued within 24 \
                 hours of that time (the limit is {}); choose another time.",
                state.config.daily_publish_limit
            ),
        ));
    }
    Ok(())
}

/// Withdraws an approval that has not started publishing: the post is back in `ready`, its
/// consent void, its job gone (a scheduled post can be withdrawn until its time comes).
///
/// # Errors
/// 404; 409 when it is not approved or publishing started.
pub async fn withdraw(state: &AppState, owner: UserId, id: PostId) -> Result<PostView, ApiError> {
    let mut post = load(state, owner, id).await?;
    let expected_updated_at = post.snapshot().updated_at;
    let at = next_instant(state, expected_updated_at);
    post.withdraw(at).map_err(lifecycle)?;
    post.reopen(at).map_err(lifecycle)?;
    state
        .stores
        .posts
        .save_and_unqueue(
            &PostUpdate {
                post: post.into_snapshot(),
                expected_updated_at,
            },
            state.clock.now(),
        )
        .await
        .map_err(store_conflict)?;
    tracing::info!(post = %id, "approval withdrawn");
    view(state, owner, id).await
}

/// Deletes our copy of a post (P16): the image bytes, then the row with its receipts and job.
/// A post already on Instagram stays there.
///
/// # Errors
/// 404; 409 `publishing_in_progress` while it is being published.
pub async fn delete(state: &AppState, owner: UserId, id: PostId) -> Result<(), ApiError> {
    let post = state.stores.posts.post(owner, id).await?;
    let held = state
        .stores
        .posts
        .publish_job(owner, id)
        .await?
        .is_some_and(|job| job.state == "running");
    if post.status == PostStatus::Publishing || held {
        return Err(publishing_in_progress());
    }
    let media = state.stores.posts.post_media(owner, &[id]).await?.pop();
    if let Some((
        _,
        PostMedia {
            image: Some(image), ..
        },
    )) = media
    {
        state
            .media
            .delete(&image.key)
            .await
            .map_err(|e| ApiError::Unavailable(anyhow::Error::new(e)))?;
    }
    state
        .stores
        .posts
        .delete_post(owner, id, state.clock.now())
        .await
        .map_err(store_conflict)?;
    tracing::info!(post = %id, "post deleted");
    Ok(())
}
