//! Content publishing: containers (image, carousel, reel, story), their status, the quota, and
//! `media_publish` guarded against double posts.
//!
//! `media_publish` has no idempotency key, so it is never retried blindly. After a timeout, a
//! 5xx, an unclassified answer or 4/2207051 (reported live although it failed), the container is
//! read first: `PUBLISHED` means the post is done.

use std::time::Duration;

use kraftsoci_core::ports::{
    ContainerId, ContainerStatus, PublishAccount, PublishResult, PublishingQuota,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::classify::{self, Observed};
use crate::client::{GraphRequest, MetaClient, checked_id};
use crate::error::{ErrorKind, MetaError};
use crate::poll::{Readiness, backoff_delay};
use crate::usage::Usage;

/// Meta's caption limit, in characters.
pub const MAX_CAPTION_CHARS: usize = 2200;
/// Meta's alt text limit, in characters.
pub const MAX_ALT_TEXT_CHARS: usize = 1000;
/// At most this many collaborators per post.
pub const MAX_COLLABORATORS: usize = 3;
/// A carousel holds at least this many items…
pub const MIN_CAROUSEL_ITEMS: usize = 2;
/// …and at most this many.
pub const MAX_CAROUSEL_ITEMS: usize = 10;

/// A person tagged in an image or story.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UserTag {
    /// The Instagram username, without `@`.
    pub username: String,
    /// Distance from the left edge, 0.0–1.0 (required on feed images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    /// Distance from the top edge, 0.0–1.0 (required on feed images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
}

impl UserTag {
    /// A tag at a position on the image, measured from the top-left corner.
    pub fn at(username: impl Into<String>, x: f64, y: f64) -> Self {
        Self {
            username: username.into(),
            x: Some(x),
            y: Some(y),
        }
    }

    /// A tag without a position (stories).
    pub fn mention(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            x: None,
            y: None,
        }
    }
}

/// One feed image.
///
/// The fields are checked against Meta's documented limits when the container is created
/// (before any call): a bad value is a [`MetaError::InvalidInput`] and sends nothing.
///
/// ```
/// use kraftsoci_meta::{ImagePost, UserTag};
///
/// let post = ImagePost::new("https://cdn.example/simit.jpg")
///     .with_caption("Fresh simit, straight from the oven #simit")
///     .with_alt_text("Sesame bread rings on a tray")
///     .with_user_tags([UserTag::at("the.baker", 0.5, 0.8)])
///     .with_collaborators(["corner_tea_house"]);
/// assert_eq!(post.user_tags.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ImagePost {
    /// A public JPEG URL Meta's servers can fetch without credentials or redirects.
    pub image_url: String,
    /// The caption, with hashtags.
    pub caption: Option<String>,
    /// Alt text (at most 1000 characters).
    pub alt_text: Option<String>,
    /// People tagged on the image (each with a position).
    pub user_tags: Vec<UserTag>,
    /// A Page id that has location data.
    pub location_id: Option<String>,
    /// Up to 3 collaborator usernames.
    pub collaborators: Vec<String>,
}

impl ImagePost {
    /// An image post without caption.
    pub fn new(image_url: impl Into<String>) -> Self {
        Self {
            image_url: image_url.into(),
            ..Self::default()
        }
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Sets the alt text.
    pub fn with_alt_text(mut self, alt_text: impl Into<String>) -> Self {
        self.alt_text = Some(alt_text.into());
        self
    }

    /// Sets the people tagged on the image (each with a position).
    pub fn with_user_tags(mut self, tags: impl IntoIterator<Item = UserTag>) -> Self {
        self.user_tags = tags.into_iter().collect();
        self
    }

    /// Sets the location (a Page id that has location data).
    pub fn with_location_id(mut self, location_id: impl Into<String>) -> Self {
        self.location_id = Some(location_id.into());
        self
    }

    /// Sets up to 3 collaborator usernames.
    pub fn with_collaborators<S: Into<String>>(
        mut self,
        usernames: impl IntoIterator<Item = S>,
    ) -> Self {
        self.collaborators = usernames.into_iter().map(Into::into).collect();
        self
    }
}

/// One item of a carousel (never with a caption: only the carousel has one).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CarouselItem {
    /// A JPEG image.
    Image {
        /// A public URL.
        image_url: String,
        /// Alt text.
        alt_text: Option<String>,
        /// People tagged on this image.
        user_tags: Vec<UserTag>,
    },
    /// A video.
    Video {
        /// A public URL.
        video_url: String,
    },
}

impl CarouselItem {
    /// An image item without alt text or tags.
    pub fn image(image_url: impl Into<String>) -> Self {
        Self::Image {
            image_url: image_url.into(),
            alt_text: None,
            user_tags: Vec::new(),
        }
    }

    /// A video item.
    pub fn video(video_url: impl Into<String>) -> Self {
        Self::Video {
            video_url: video_url.into(),
        }
    }
}

/// A carousel of 2–10 images or videos.
///
/// ```
/// use kraftsoci_meta::{CarouselItem, CarouselPost};
///
/// let post = CarouselPost::new([
///     CarouselItem::image("https://cdn.example/1.jpg"),
///     CarouselItem::video("https://cdn.example/2.mp4"),
/// ])
/// .with_caption("Two ways to eat simit");
/// assert_eq!(post.items.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct CarouselPost {
    /// The items, in order; all are cropped to the first item's aspect ratio.
    pub items: Vec<CarouselItem>,
    /// The caption.
    pub caption: Option<String>,
    /// A Page id that has location data.
    pub location_id: Option<String>,
    /// Up to 3 collaborator usernames.
    pub collaborators: Vec<String>,
}

impl CarouselPost {
    /// A carousel of these items, without caption.
    pub fn new(items: impl IntoIterator<Item = CarouselItem>) -> Self {
        Self {
            items: items.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Sets the location (a Page id that has location data).
    pub fn with_location_id(mut self, location_id: impl Into<String>) -> Self {
        self.location_id = Some(location_id.into());
        self
    }

    /// Sets up to 3 collaborator usernames.
    pub fn with_collaborators<S: Into<String>>(
        mut self,
        usernames: impl IntoIterator<Item = S>,
    ) -> Self {
        self.collaborators = usernames.into_iter().map(Into::into).collect();
        self
    }
}

/// A reel whose video Meta fetches from a public URL (`video_url`). To upload the bytes
/// instead, see [`crate::ReelUpload`].
///
/// ```
/// use std::time::Duration;
///
/// use kraftsoci_meta::ReelPost;
///
/// let reel = ReelPost::new("https://cdn.example/oven.mp4")
///     .with_caption("Morning bake #simit")
///     .with_thumb_offset(Duration::from_millis(2500))
///     .with_share_to_feed(true);
/// assert_eq!(reel.share_to_feed, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ReelPost {
    /// A public MOV/MP4 URL.
    pub video_url: String,
    /// The caption.
    pub caption: Option<String>,
    /// A cover image URL (wins over `thumb_offset`).
    pub cover_url: Option<String>,
    /// Where in the video the cover frame is taken.
    pub thumb_offset: Option<Duration>,
    /// Whether the reel also appears in the feed.
    pub share_to_feed: Option<bool>,
    /// A Page id that has location data.
    pub location_id: Option<String>,
    /// Up to 3 collaborator usernames.
    pub collaborators: Vec<String>,
    /// The name of the reel's audio.
    pub audio_name: Option<String>,
}

impl ReelPost {
    /// A reel of the video at `video_url`, without caption.
    pub fn new(video_url: impl Into<String>) -> Self {
        Self {
            video_url: video_url.into(),
            ..Self::default()
        }
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Sets a cover image URL (wins over the thumb offset).
    pub fn with_cover_url(mut self, cover_url: impl Into<String>) -> Self {
        self.cover_url = Some(cover_url.into());
        self
    }

    /// Sets where in the video the cover frame is taken.
    pub fn with_thumb_offset(mut self, offset: Duration) -> Self {
        self.thumb_offset = Some(offset);
        self
    }

    /// Sets whether the reel also appears in the feed.
    pub fn with_share_to_feed(mut self, share: bool) -> Self {
        self.share_to_feed = Some(share);
        self
    }

    /// Sets the location (a Page id that has location data).
    pub fn with_location_id(mut self, location_id: impl Into<String>) -> Self {
        self.location_id = Some(location_id.into());
        self
    }

    /// Sets up to 3 collaborator usernames.
    pub fn with_collaborators<S: Into<String>>(
        mut self,
        usernames: impl IntoIterator<Item = S>,
    ) -> Self {
        self.collaborators = usernames.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the name of the reel's audio.
    pub fn with_audio_name(mut self, name: impl Into<String>) -> Self {
        self.audio_name = Some(name.into());
        self
    }
}

/// What a story shows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StoryMedia {
    /// A JPEG image.
    Image {
        /// A public URL.
        image_url: String,
    },
    /// A video (3–60 s).
    Video {
        /// A public URL.
        video_url: String,
    },
}

/// A story (no caption, no collaborators) whose media Meta fetches from a public URL. To
/// upload a video story's bytes instead, see [`crate::StoryUpload`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoryPost {
    /// The image or video.
    pub media: StoryMedia,
    /// People tagged in the story.
    pub user_tags: Vec<UserTag>,
}

impl StoryPost {
    /// A story of the JPEG at `image_url`.
    pub fn image(image_url: impl Into<String>) -> Self {
        Self {
            media: StoryMedia::Image {
                image_url: image_url.into(),
            },
            user_tags: Vec::new(),
        }
    }

    /// A story of the video at `video_url` (3–60 s).
    pub fn video(video_url: impl Into<String>) -> Self {
        Self {
            media: StoryMedia::Video {
                video_url: video_url.into(),
            },
            user_tags: Vec::new(),
        }
    }

    /// Sets the people tagged in the story (positions are optional).
    pub fn with_user_tags(mut self, tags: impl IntoIterator<Item = UserTag>) -> Self {
        self.user_tags = tags.into_iter().collect();
        self
    }
}

/// Anything that can be published from public URLs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaSpec {
    /// One feed image.
    Image(ImagePost),
    /// A carousel.
    Carousel(CarouselPost),
    /// A reel.
    Reel(ReelPost),
    /// A story.
    Story(StoryPost),
}

/// The outcome of [`MetaClient::publish`] and [`MetaClient::publish_video_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The container that was published.
    pub container: ContainerId,
    /// The media id, or [`PublishResult::AlreadyPublished`] when an ambiguous answer was resolved
    /// by reading the container.
    pub result: PublishResult,
    /// The post's permalink; `None` when the best-effort read failed (the post is live anyway).
    pub permalink: Option<String>,
}

pub(crate) type Params = Vec<(&'static str, String)>;

#[derive(Deserialize)]
pub(crate) struct IdResponse {
    #[serde(default)]
    id: Option<Value>,
    /// The upload address of a resumable container.
    #[serde(default)]
    pub(crate) uri: Option<String>,
}

#[derive(Deserialize)]
struct StatusResponse {
    status_code: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct QuotaResponse {
    #[serde(default)]
    data: Vec<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct PermalinkResponse {
    permalink: Option<String>,
}

impl MetaClient {
    /// Creates the container of a post, ready to be polled and published. For a carousel the
    /// children are created first (without captions) and each is polled to `FINISHED` before
    /// the parent is created.
    ///
    /// Transient failures are retried up to `publish.create_attempts` times (the worst outcome
    /// of a retry is an orphan container, which expires unpublished).
    ///
    /// # Errors
    /// [`MetaError::InvalidInput`] when the spec breaks Meta's documented limits (checked
    /// before any call); otherwise the classified Graph or polling failure.
    pub async fn create_container(
        &self,
        account: &PublishAccount,
        spec: &MediaSpec,
    ) -> Result<ContainerId, MetaError> {
        let attempts = self.config().publish_policy().create_attempts().max(1);
        self.create_container_with(account, spec, attempts).await
    }

    /// [`MetaClient::create_container`] with one attempt per request: the `SocialPublisher`
    /// adapter's, whose caller (the orchestration) owns the retry policy.
    pub(crate) async fn create_container_once(
        &self,
        account: &PublishAccount,
        spec: &MediaSpec,
    ) -> Result<ContainerId, MetaError> {
        self.create_container_with(account, spec, 1).await
    }

    async fn create_container_with(
        &self,
        account: &PublishAccount,
        spec: &MediaSpec,
        attempts: u32,
    ) -> Result<ContainerId, MetaError> {
        let params = match spec {
            MediaSpec::Image(post) => image_params(post)?,
            MediaSpec::Reel(post) => reel_params(post)?,
            MediaSpec::Story(post) => story_params(post)?,
            MediaSpec::Carousel(post) => {
                let mut params = carousel_params(post)?;
                let children = self.create_children(account, &post.items, attempts).await?;
                let ids: Vec<&str> = children.iter().map(ContainerId::as_str).collect();
                params.push(("children", ids.join(",")));
                params
            }
        };
        self.create_one(account, params, attempts).await
    }

    async fn create_children(
        &self,
        account: &PublishAccount,
        items: &[CarouselItem],
        attempts: u32,
    ) -> Result<Vec<ContainerId>, MetaError> {
        let mut children = Vec::with_capacity(items.len());
        for item in items {
            children.push(
                self.create_one(account, carousel_item_params(item)?, attempts)
                    .await?,
            );
        }
        // Meta processes the children in parallel; a parent built on an unfinished child fails.
        for child in &children {
            if self.wait_until_ready(&account.access_token, child).await? == Readiness::Published {
                return Err(MetaError::UnexpectedResponse {
                    call: "container status",
                    detail: format!("carousel item {child} is already published"),
                });
            }
        }
        Ok(children)
    }

    async fn create_one(
        &self,
        account: &PublishAccount,
        params: Params,
        attempts: u32,
    ) -> Result<ContainerId, MetaError> {
        let (container, _) = self.create_one_with_uri(account, params, attempts).await?;
        Ok(container)
    }

    /// Creates one container, retrying transient failures; also returns the upload address
    /// Meta names for a resumable container.
    pub(crate) async fn create_one_with_uri(
        &self,
        account: &PublishAccount,
        params: Params,
        attempts: u32,
    ) -> Result<(ContainerId, Option<String>), MetaError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = GraphRequest::post(
                "create container",
                vec![account.ig_user_id.as_str(), "media"],
            )
            .token(&account.access_token);
            request.form.clone_from(&params);
            match self.send::<IdResponse>(request).await {
                Ok(mut response) => {
                    let uri = response.uri.take();
                    let id = id_of("create container", response)?;
                    return Ok((ContainerId::new(id), uri));
                }
                Err(error) if attempt < attempts && create_is_retryable(&error) => {
                    let delay = backoff_delay(
                        &self.config().poll_policy(),
                        attempt - 1,
                        &mut rand::thread_rng(),
                    );
                    tracing::warn!(%error, attempt, "creating the container failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Reads a container's `status_code` (and `status` text on `ERROR`).
    ///
    /// # Errors
    /// The classified Graph failure; [`MetaError::UnexpectedResponse`] for a status code Meta
    /// does not document.
    pub async fn container_status(
        &self,
        token: &SecretString,
        container: &ContainerId,
    ) -> Result<ContainerStatus, MetaError> {
        let id = checked_id("container id", container.as_str())?;
        let request = GraphRequest::get("container status", vec![id])
            .token(token)
            .query("fields", "status_code,status");
        let response: StatusResponse = self.send(request).await?;
        parse_status(container, response.status_code, response.status)
    }
}

/// A container's `status_code` (and `status` text on `ERROR`), as read.
pub(crate) fn parse_status(
    container: &ContainerId,
    status_code: Option<String>,
    status: Option<String>,
) -> Result<ContainerStatus, MetaError> {
    let code = status_code.unwrap_or_default();
    match code.as_str() {
        "IN_PROGRESS" => Ok(ContainerStatus::InProgress),
        "FINISHED" => Ok(ContainerStatus::Finished),
        "PUBLISHED" => Ok(ContainerStatus::Published),
        "EXPIRED" => Ok(ContainerStatus::Expired),
        "ERROR" => {
            let reason = status
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "processing failed without a reason".to_owned());
            let kind = crate::publisher::core_kind(
                container_failed(container, &reason).kind(),
                crate::publisher::Stage::Status,
            );
            Ok(ContainerStatus::Error { reason, kind })
        }
        other => Err(MetaError::UnexpectedResponse {
            call: "container status",
            detail: format!("undocumented status_code {:?}", truncate(other, 32)),
        }),
    }
}

impl MetaClient {
    /// Reads the publishing quota over Meta's rolling window (`content_publishing_limit`).
    /// The cap is Meta's `config.quota_total` (it has been 25, 50 and 100 over time); only when
    /// Meta leaves it out is `publish.fallback_quota_total` assumed.
    ///
    /// # Errors
    /// The classified Graph failure; [`MetaError::UnexpectedResponse`] when the answer has no
    /// `quota_usage`.
    pub async fn publishing_quota(
        &self,
        account: &PublishAccount,
    ) -> Result<PublishingQuota, MetaError> {
        let request = GraphRequest::get(
            "content publishing limit",
            vec![account.ig_user_id.as_str(), "content_publishing_limit"],
        )
        .token(&account.access_token)
        .query("fields", "config,quota_usage");
        let response: QuotaResponse = self.send(request).await?;
        let missing = || MetaError::UnexpectedResponse {
            call: "content publishing limit",
            detail: "no quota_usage in the answer".to_owned(),
        };
        let entry = response.data.first().ok_or_else(missing)?;
        let used = count(entry.get("quota_usage")).ok_or_else(missing)?;
        let config = entry.get("config").and_then(Value::as_object);
        let total = config
            .and_then(|c| count(c.get("quota_total")))
            .unwrap_or(self.config().publish_policy().fallback_quota_total());
        let window = config
            .and_then(|c| count(c.get("quota_duration")))
            .filter(|seconds| *seconds > 0)
            .map_or(Duration::from_secs(24 * 3600), |s| {
                Duration::from_secs(u64::from(s))
            });
        Ok(PublishingQuota {
            used,
            total,
            window,
        })
    }

    /// Publishes a container, never twice.
    ///
    /// 1. The container is read (polled while `IN_PROGRESS`): `PUBLISHED` returns
    ///    [`PublishResult::AlreadyPublished`] without calling `media_publish`.
    /// 2. The quota is read; when spent, `media_publish` is not called.
    /// 3. `media_publish`. "Not ready" (9007/2207027) is answered by polling and publishing
    ///    again (no duplicate risk). A duplicate (506) counts as published. After an ambiguous
    ///    failure (timeout, 5xx, unclassified, 4/2207051) the container is read again and
    ///    `media_publish` is **not** called again.
    ///
    /// # Errors
    /// [`MetaError::QuotaSpent`]; [`MetaError::PublishNotApplied`] when the container shows the
    /// failed call had no effect (publishing the same container again is safe);
    /// [`MetaError::OutcomeUnknown`] when the outcome cannot be told; otherwise the classified
    /// failure.
    pub async fn publish_container(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<PublishResult, MetaError> {
        checked_id("container id", container.as_str())?;
        let token = &account.access_token;
        if self.wait_until_ready(token, container).await? == Readiness::Published {
            tracing::info!(%container, "container is already published; not publishing again");
            return Ok(PublishResult::AlreadyPublished);
        }
        if self.config().publish_policy().check_quota() {
            self.ensure_quota(account).await?;
        }
        let mut not_ready_left = self.config().publish_policy().not_ready_retries();
        loop {
            let error = match self.media_publish(account, container).await {
                Ok(media_id) => return Ok(PublishResult::Published { media_id }),
                Err(error) => error,
            };
            match publish_failure(&error) {
                Failure::Duplicate => {
                    tracing::warn!(%container, %error, "meta reports a duplicate; the post is live");
                    return Ok(PublishResult::AlreadyPublished);
                }
                Failure::NotReady if not_ready_left > 0 => {
                    not_ready_left -= 1;
                    tracing::info!(%container, "media not ready; polling before publishing again");
                    if self.wait_until_ready(token, container).await? == Readiness::Published {
                        return Ok(PublishResult::AlreadyPublished);
                    }
                }
                Failure::Ambiguous => return self.reconcile(account, container, error).await,
                Failure::NotReady | Failure::Definite => return Err(error),
            }
        }
    }

    /// Sends `media_publish` once. Never retried: its outcome after a timeout or a 5xx is only
    /// known from the container.
    pub(crate) async fn media_publish(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<String, MetaError> {
        let request = GraphRequest::post(
            "media_publish",
            vec![account.ig_user_id.as_str(), "media_publish"],
        )
        .token(&account.access_token)
        .form("creation_id", container.as_str().to_owned())
        .timeout(self.config().publish_timeout());
        let response: IdResponse = self.send(request).await?;
        id_of("media_publish", response)
    }

    async fn ensure_quota(&self, account: &PublishAccount) -> Result<(), MetaError> {
        match self.publishing_quota(account).await {
            Ok(quota) if quota.is_spent() => Err(MetaError::QuotaSpent { quota }),
            Ok(_) => Ok(()),
            // Publishing would fail the same way; not calling is cheaper and definite.
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::ReconnectNeeded { .. } | ErrorKind::RateLimited { .. }
                ) =>
            {
                Err(error)
            }
            Err(error) => {
                // Reading the quota may need business_management while publishing does not;
                // Meta enforces the quota at media_publish anyway (9/2207042).
                tracing::warn!(%error, "could not read the publishing quota; publishing anyway");
                Ok(())
            }
        }
    }

    /// Resolves an ambiguous `media_publish` failure by reading the container.
    async fn reconcile(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
        cause: MetaError,
    ) -> Result<PublishResult, MetaError> {
        let policy = self.config().publish_policy();
        tracing::warn!(%container, error = %cause, fbtrace_id = ?cause.fbtrace_id(),
            "media_publish failed ambiguously; reading the container instead of publishing again");
        tokio::time::sleep(policy.reconcile_delay).await;
        for attempt in 0..policy.reconcile_attempts.max(1) {
            if attempt > 0 {
                let delay = backoff_delay(
                    &self.config().poll_policy(),
                    attempt - 1,
                    &mut rand::thread_rng(),
                );
                tokio::time::sleep(delay).await;
            }
            match self
                .container_status(&account.access_token, container)
                .await
            {
                Ok(ContainerStatus::Published) => {
                    tracing::info!(%container, "the failed media_publish did publish the post");
                    return Ok(PublishResult::AlreadyPublished);
                }
                Ok(ContainerStatus::Finished) => return Err(still_unpublished(container, cause)),
                Ok(ContainerStatus::InProgress) => break,
                Ok(ContainerStatus::Expired) => {
                    return Err(MetaError::ContainerExpired {
                        container: container.clone(),
                    });
                }
                Ok(ContainerStatus::Error { reason, .. }) => {
                    return Err(container_failed(container, &reason));
                }
                // A status this version does not know: as unsure as "in progress".
                Ok(_) => break,
                Err(error) if error.kind() == ErrorKind::Transient => {
                    tracing::warn!(%container, %error, "reading the container failed; trying again");
                }
                Err(error) => {
                    tracing::warn!(%container, %error, "reading the container failed");
                    break;
                }
            }
        }
        Err(MetaError::OutcomeUnknown {
            container: container.clone(),
            cause: Box::new(cause),
        })
    }

    /// Reads a published media's permalink.
    ///
    /// # Errors
    /// The classified Graph failure. Callers treat this read as best effort: a failure never
    /// means the post failed.
    pub async fn permalink(
        &self,
        token: &SecretString,
        media_id: &str,
    ) -> Result<Option<String>, MetaError> {
        let id = checked_id("media id", media_id)?;
        let request = GraphRequest::get("permalink", vec![id])
            .token(token)
            .query("fields", "permalink");
        let response: PermalinkResponse = self.send(request).await?;
        Ok(response.permalink.filter(|p| !p.is_empty()))
    }

    /// The whole flow for one post: create the container, wait for it, publish it once (see
    /// [`MetaClient::publish_container`]) and read the permalink as best effort. A container
    /// found `EXPIRED` before publishing is recreated once.
    ///
    /// Callers that persist progress (container id before publishing, media id before any
    /// follow-up read) should drive the steps themselves, as the `SocialPublisher` adapter lets
    /// them.
    ///
    /// ```no_run
    /// use kraftsoci_core::IgUserId;
    /// use kraftsoci_core::ports::{PublishAccount, PublishResult};
    /// use kraftsoci_meta::{ErrorKind, ImagePost, MediaSpec, MetaClient, MetaConfig};
    /// use secrecy::SecretString;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = MetaClient::new(
    ///     MetaConfig::token_only().with_app_secret(SecretString::from("app-secret")),
    /// )?;
    /// let account = PublishAccount {
    ///     ig_user_id: IgUserId::parse("17841405822304914")?,
    ///     access_token: SecretString::from("EAAG…page token…"),
    /// };
    /// let post = ImagePost::new("https://cdn.example/simit.jpg")
    ///     .with_caption("Fresh simit, straight from the oven #simit")
    ///     .with_alt_text("Sesame bread rings on a tray");
    /// match client.publish(&account, &MediaSpec::Image(post)).await {
    ///     Ok(published) => match published.result {
    ///         PublishResult::Published { media_id } => {
    ///             println!("live as {media_id} at {:?}", published.permalink)
    ///         }
    ///         // An ambiguous answer resolved by reading the container: live, id unknown.
    ///         PublishResult::AlreadyPublished => println!("live"),
    ///     },
    ///     Err(error) => match error.kind() {
    ///         ErrorKind::ReconnectNeeded { .. } => println!("ask the owner to log in again"),
    ///         // Never publish again before the container says it is still unpublished.
    ///         ErrorKind::OutcomeUnknown => println!("check the container later: {error}"),
    ///         _ => println!("not published: {error}"),
    ///     },
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Any failure of the steps; never a failure of the permalink read.
    pub async fn publish(
        &self,
        account: &PublishAccount,
        spec: &MediaSpec,
    ) -> Result<Published, MetaError> {
        let mut recreated = false;
        let (container, result) = loop {
            let container = self.create_container(account, spec).await?;
            match self.publish_container(account, &container).await {
                Ok(result) => break (container, result),
                Err(MetaError::ContainerExpired { .. }) if !recreated => {
                    tracing::info!(%container, "container expired before publishing; recreating it");
                    recreated = true;
                }
                Err(error) => return Err(error),
            }
        };
        Ok(self.published(account, container, result).await)
    }

    /// The outcome of a publish, with the permalink read as best effort (the post is live
    /// whatever that read answers).
    pub(crate) async fn published(
        &self,
        account: &PublishAccount,
        container: ContainerId,
        result: PublishResult,
    ) -> Published {
        let permalink = match &result {
            PublishResult::Published { media_id } => {
                match self.permalink(&account.access_token, media_id).await {
                    Ok(permalink) => permalink,
                    Err(error) => {
                        tracing::warn!(media_id, %error, "the post is live; reading its permalink failed");
                        None
                    }
                }
            }
            PublishResult::AlreadyPublished => None,
        };
        Published {
            container,
            result,
            permalink,
        }
    }
}

/// How a `media_publish` failure must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Meta says the post already exists.
    Duplicate,
    /// Not ready: poll, then publish again (no duplicate risk).
    NotReady,
    /// The post may be live: read the container, never publish again blindly.
    Ambiguous,
    /// Meta refused before publishing.
    Definite,
}

/// Classifies a failed `media_publish`, the one place both publish paths (the all-in-one
/// [`MetaClient::publish_container`] and the `SocialPublisher` adapter) take it from.
pub(crate) fn publish_failure(error: &MetaError) -> Failure {
    match error {
        MetaError::Timeout { .. } | MetaError::UnexpectedResponse { .. } => Failure::Ambiguous,
        // A connection that never opened carried nothing; any other transport failure may have
        // happened after Meta received the request.
        MetaError::Transport { source, .. } if source.is_connect() => Failure::Definite,
        MetaError::Transport { .. } => Failure::Ambiguous,
        MetaError::Graph(graph) => {
            let flagged = graph
                .code
                .and_then(|code| classify::lookup(code, graph.subcode))
                .is_some_and(|rule| rule.publish_may_have_happened);
            match &graph.kind {
                ErrorKind::Duplicate => Failure::Duplicate,
                _ if graph.http_status >= 500 || flagged => Failure::Ambiguous,
                ErrorKind::NotReady => Failure::NotReady,
                ErrorKind::Transient | ErrorKind::Unknown => Failure::Ambiguous,
                _ => Failure::Definite,
            }
        }
        _ => Failure::Definite,
    }
}

/// The answer when the container is still `FINISHED` after an ambiguous failure.
fn still_unpublished(container: &ContainerId, cause: MetaError) -> MetaError {
    match &cause {
        // Meta answered: its work on this call is over, so publishing again is not blind.
        MetaError::Graph(graph)
            if graph.http_status >= 500 || graph.kind == ErrorKind::Transient =>
        {
            MetaError::PublishNotApplied {
                container: container.clone(),
                cause: Box::new(cause),
            }
        }
        // A definite refusal that is known to come with live posts (4/2207051): the container
        // shows it was a refusal after all.
        MetaError::Graph(_) => cause,
        // No answer: Meta may still be working on the call and flip the container later.
        _ => MetaError::OutcomeUnknown {
            container: container.clone(),
            cause: Box::new(cause),
        },
    }
}

/// The error for a container in `ERROR`, classified by the subcode in its status text.
pub(crate) fn container_failed(container: &ContainerId, status: &str) -> MetaError {
    let status = truncate(status, 500);
    let (reason, kind) = match classify::lookup_in_text(&status) {
        Some(rule) => {
            let observed = Observed {
                code: None,
                subcode: rule.subcode,
                http_status: 200,
                is_transient: None,
                message: Some(&status),
                usage: &Usage::default(),
            };
            let kind = classify::kind_of(rule.class, Some(rule.meaning), &observed);
            (format!("{} ({status})", rule.meaning), kind)
        }
        None => (
            status.clone(),
            ErrorKind::InvalidMedia {
                reason: status.clone(),
            },
        ),
    };
    MetaError::ContainerFailed {
        container: container.clone(),
        reason,
        kind,
    }
}

fn create_is_retryable(error: &MetaError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Transient | ErrorKind::MediaFetchFailed { .. }
    )
}

fn id_of(call: &'static str, response: IdResponse) -> Result<String, MetaError> {
    let id = match response.id {
        Some(Value::String(id)) => id,
        // IDs are documented as strings; a number is tolerated without losing digits.
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match checked_id("id", &id) {
        Ok(_) => Ok(id),
        Err(_) => Err(MetaError::UnexpectedResponse {
            call,
            detail: "no usable id in the answer".to_owned(),
        }),
    }
}

/// A non-negative count sent as a number or a numeric string.
fn count(value: Option<&Value>) -> Option<u32> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

// ----- parameters and their checks -----

fn invalid(message: impl Into<String>) -> MetaError {
    MetaError::InvalidInput(message.into())
}

fn check_url(what: &str, value: &str) -> Result<String, MetaError> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(value.to_owned())
        }
        _ => Err(invalid(format!("{what} must be a public http(s) url"))),
    }
}

fn push_caption(params: &mut Params, caption: Option<&String>) -> Result<(), MetaError> {
    if let Some(caption) = caption {
        if caption.chars().count() > MAX_CAPTION_CHARS {
            return Err(invalid(format!(
                "caption is longer than {MAX_CAPTION_CHARS} characters"
            )));
        }
        params.push(("caption", caption.clone()));
    }
    Ok(())
}

fn push_alt_text(params: &mut Params, alt_text: Option<&String>) -> Result<(), MetaError> {
    if let Some(alt_text) = alt_text {
        if alt_text.chars().count() > MAX_ALT_TEXT_CHARS {
            return Err(invalid(format!(
                "alt text is longer than {MAX_ALT_TEXT_CHARS} characters"
            )));
        }
        params.push(("alt_text", alt_text.clone()));
    }
    Ok(())
}

fn push_location(params: &mut Params, location: Option<&String>) -> Result<(), MetaError> {
    if let Some(location) = location {
        params.push((
            "location_id",
            checked_id("location id", location)?.to_owned(),
        ));
    }
    Ok(())
}

fn push_collaborators(params: &mut Params, collaborators: &[String]) -> Result<(), MetaError> {
    if collaborators.is_empty() {
        return Ok(());
    }
    if collaborators.len() > MAX_COLLABORATORS {
        return Err(invalid(format!(
            "at most {MAX_COLLABORATORS} collaborators are allowed"
        )));
    }
    let names = collaborators
        .iter()
        .map(|name| check_username(name))
        .collect::<Result<Vec<_>, _>>()?;
    params.push(("collaborators", json_text(&names)?));
    Ok(())
}

fn check_username(name: &str) -> Result<String, MetaError> {
    let name = name.trim().trim_start_matches('@');
    let valid = !name.is_empty()
        && name.len() <= 30
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(invalid(
            "usernames are 1-30 letters, digits, dots or underscores",
        ))
    }
}

pub(crate) fn push_user_tags(
    params: &mut Params,
    tags: &[UserTag],
    position_required: bool,
) -> Result<(), MetaError> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut checked = Vec::with_capacity(tags.len());
    for tag in tags {
        let username = check_username(&tag.username)?;
        for coordinate in [tag.x, tag.y].into_iter().flatten() {
            if !(coordinate.is_finite() && (0.0..=1.0).contains(&coordinate)) {
                return Err(invalid("user tag positions are between 0.0 and 1.0"));
            }
        }
        if tag.x.is_some() != tag.y.is_some() || (position_required && tag.x.is_none()) {
            return Err(invalid("user tags on images need both x and y"));
        }
        checked.push(UserTag {
            username,
            x: tag.x,
            y: tag.y,
        });
    }
    params.push(("user_tags", json_text(&checked)?));
    Ok(())
}

fn json_text<T: Serialize>(value: &T) -> Result<String, MetaError> {
    serde_json::to_string(value).map_err(|e| invalid(format!("cannot encode parameter: {e}")))
}

fn image_params(post: &ImagePost) -> Result<Params, MetaError> {
    let mut params = vec![("image_url", check_url("image_url", &post.image_url)?)];
    push_caption(&mut params, post.caption.as_ref())?;
    push_alt_text(&mut params, post.alt_text.as_ref())?;
    push_user_tags(&mut params, &post.user_tags, true)?;
    push_location(&mut params, post.location_id.as_ref())?;
    push_collaborators(&mut params, &post.collaborators)?;
    Ok(params)
}

fn carousel_params(post: &CarouselPost) -> Result<Params, MetaError> {
    let n = post.items.len();
    if !(MIN_CAROUSEL_ITEMS..=MAX_CAROUSEL_ITEMS).contains(&n) {
        return Err(invalid(format!(
            "a carousel needs {MIN_CAROUSEL_ITEMS} to {MAX_CAROUSEL_ITEMS} items, not {n}"
        )));
    }
    // Check every child before creating any, so bad input creates no orphan containers.
    for item in &post.items {
        carousel_item_params(item)?;
    }
    let mut params = vec![("media_type", "CAROUSEL".to_owned())];
    push_caption(&mut params, post.caption.as_ref())?;
    push_location(&mut params, post.location_id.as_ref())?;
    push_collaborators(&mut params, &post.collaborators)?;
    Ok(params)
}

fn carousel_item_params(item: &CarouselItem) -> Result<Params, MetaError> {
    let mut params = vec![("is_carousel_item", "true".to_owned())];
    match item {
        CarouselItem::Image {
            image_url,
            alt_text,
            user_tags,
        } => {
            params.push(("image_url", check_url("image_url", image_url)?));
            push_alt_text(&mut params, alt_text.as_ref())?;
            push_user_tags(&mut params, user_tags, true)?;
        }
        CarouselItem::Video { video_url } => {
            // VIDEO is deprecated for feed posts but still the type of carousel video items.
            params.push(("media_type", "VIDEO".to_owned()));
            params.push(("video_url", check_url("video_url", video_url)?));
        }
    }
    Ok(params)
}

fn reel_params(post: &ReelPost) -> Result<Params, MetaError> {
    let mut params = vec![
        ("media_type", "REELS".to_owned()),
        ("video_url", check_url("video_url", &post.video_url)?),
    ];
    push_reel_options(
        &mut params,
        &ReelOptions {
            caption: post.caption.as_ref(),
            cover_url: post.cover_url.as_ref(),
            thumb_offset: post.thumb_offset,
            share_to_feed: post.share_to_feed,
            audio_name: post.audio_name.as_ref(),
            location_id: post.location_id.as_ref(),
            collaborators: &post.collaborators,
        },
    )?;
    Ok(params)
}

/// The options of a reel, whichever way its video reaches Meta.
pub(crate) struct ReelOptions<'a> {
    pub(crate) caption: Option<&'a String>,
    pub(crate) cover_url: Option<&'a String>,
    pub(crate) thumb_offset: Option<Duration>,
    pub(crate) share_to_feed: Option<bool>,
    pub(crate) audio_name: Option<&'a String>,
    pub(crate) location_id: Option<&'a String>,
    pub(crate) collaborators: &'a [String],
}

pub(crate) fn push_reel_options(
    params: &mut Params,
    options: &ReelOptions<'_>,
) -> Result<(), MetaError> {
    push_caption(params, options.caption)?;
    if let Some(cover) = options.cover_url {
        params.push(("cover_url", check_url("cover_url", cover)?));
    }
    if let Some(offset) = options.thumb_offset {
        params.push(("thumb_offset", offset.as_millis().to_string()));
    }
    if let Some(share) = options.share_to_feed {
        params.push(("share_to_feed", share.to_string()));
    }
    if let Some(audio) = options.audio_name {
        params.push(("audio_name", audio.clone()));
    }
    push_location(params, options.location_id)?;
    push_collaborators(params, options.collaborators)?;
    Ok(())
}

fn story_params(post: &StoryPost) -> Result<Params, MetaError> {
    let mut params = vec![("media_type", "STORIES".to_owned())];
    match &post.media {
        StoryMedia::Image { image_url } => {
            params.push(("image_url", check_url("image_url", image_url)?));
        }
        StoryMedia::Video { video_url } => {
            params.push(("video_url", check_url("video_url", video_url)?));
        }
    }
    push_user_tags(&mut params, &post.user_tags, false)?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
        params
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn an_image_with_every_option_sends_every_documented_parameter() {
        let post = ImagePost {
            image_url: "https://cdn.example/a.jpg".into(),
            caption: Some("Fresh #simit & tea ☕\nsecond line".into()),
            alt_text: Some("Bread rings".into()),
            user_tags: vec![UserTag::at("@baker.one", 0.5, 0.8)],
            location_id: Some("110843418940484".into()),
            collaborators: vec!["friend_shop".into()],
        };
        let params = image_params(&post).unwrap();
        assert_eq!(
            value(&params, "caption"),
            Some("Fresh #simit & tea ☕\nsecond line")
        );
        assert_eq!(
            value(&params, "user_tags"),
            Some(r#"[{"username":"baker.one","x":0.5,"y":0.8}]"#)
        );
        assert_eq!(value(&params, "collaborators"), Some(r#"["friend_shop"]"#));
        assert_eq!(value(&params, "location_id"), Some("110843418940484"));
        assert_eq!(value(&params, "media_type"), None);
    }

    #[test]
    fn image_tags_need_a_position_inside_the_image() {
        let mut post = ImagePost::new("https://cdn.example/a.jpg");
        post.user_tags = vec![UserTag::mention("someone")];
        assert!(image_params(&post).is_err());
        post.user_tags = vec![UserTag::at("someone", 1.2, 0.1)];
        assert!(image_params(&post).is_err());
        post.user_tags = vec![UserTag::at("someone", f64::NAN, 0.1)];
        assert!(image_params(&post).is_err());
    }

    #[test]
    fn limits_are_checked_before_anything_is_sent() {
        let long = "a".repeat(MAX_CAPTION_CHARS + 1);
        assert!(
            image_params(&ImagePost::new("https://x.example/a.jpg").with_caption(long)).is_err()
        );
        assert!(image_params(&ImagePost::new("ftp://x.example/a.jpg")).is_err());
        assert!(image_params(&ImagePost::new("not a url")).is_err());
        let mut post = ImagePost::new("https://x.example/a.jpg");
        post.collaborators = vec!["a".into(), "b".into(), "c".into(), "d".into()];
        assert!(image_params(&post).is_err());
        let one = CarouselPost {
            items: vec![CarouselItem::Video {
                video_url: "https://x.example/v.mp4".into(),
            }],
            ..CarouselPost::default()
        };
        assert!(carousel_params(&one).is_err());
    }

    #[test]
    fn carousel_children_never_carry_a_caption() {
        let params = carousel_item_params(&CarouselItem::Image {
            image_url: "https://x.example/a.jpg".into(),
            alt_text: None,
            user_tags: vec![],
        })
        .unwrap();
        assert_eq!(value(&params, "is_carousel_item"), Some("true"));
        assert_eq!(value(&params, "caption"), None);
    }

    #[test]
    fn reels_send_the_thumb_offset_in_milliseconds() {
        let params = reel_params(&ReelPost {
            video_url: "https://x.example/v.mp4".into(),
            thumb_offset: Some(Duration::from_millis(2500)),
            share_to_feed: Some(true),
            ..ReelPost::default()
        })
        .unwrap();
        assert_eq!(value(&params, "media_type"), Some("REELS"));
        assert_eq!(value(&params, "thumb_offset"), Some("2500"));
        assert_eq!(value(&params, "share_to_feed"), Some("true"));
    }

    #[test]
    fn an_error_status_with_a_known_subcode_gets_its_meaning_and_kind() {
        let error = container_failed(&ContainerId::new("c1"), "Error: 2207026");
        assert_eq!(
            error.kind(),
            ErrorKind::InvalidMedia {
                reason: "unsupported video format (MOV or MP4 only)".into()
            }
        );
        let error = container_failed(&ContainerId::new("c1"), "Something odd");
        assert_eq!(
            error.kind(),
            ErrorKind::InvalidMedia {
                reason: "Something odd".into()
            }
        );
    }

    #[test]
    fn ids_are_read_as_strings_and_missing_ids_are_unexpected() {
        let ok = IdResponse {
            id: Some(Value::String("17895695668004550".into())),
            uri: None,
        };
        assert_eq!(id_of("x", ok).unwrap(), "17895695668004550");
        let number = IdResponse {
            id: Some(serde_json::json!(17895695668004550_u64)),
            uri: None,
        };
        assert_eq!(id_of("x", number).unwrap(), "17895695668004550");
        assert!(
            id_of(
                "x",
                IdResponse {
                    id: None,
                    uri: None
                }
            )
            .is_err()
        );
    }
}
