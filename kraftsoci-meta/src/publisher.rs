//! [`GraphPublisher`]: core's [`SocialPublisher`] port on the Graph API.

use async_trait::async_trait;
use kraftsoci_core::MediaKind;
use kraftsoci_core::ports::{
    ContainerId, ContainerSpec, ContainerStatus, MediaLookup, MediaQuery, MediaSource,
    PublishAccount, PublishError, PublishErrorKind, PublishResult, PublishingQuota,
    SocialPublisher,
};

use crate::classify;
use crate::client::{MetaClient, checked_id};
use crate::error::{ErrorKind, MetaError};
use crate::publish::{
    CarouselItem, CarouselPost, Failure, ImagePost, MediaSpec, ReelPost, StoryMedia, StoryPost,
    publish_failure,
};

/// The Instagram publisher the orchestration uses, held as `Arc<dyn SocialPublisher>`.
///
/// Each method is one Graph request whose answer it only classifies: `publish` is exactly one
/// `media_publish` — no status read, no quota read, no retry before or after it — so that
/// nothing stands between the orchestration's "publish sent" recovery point and the request.
/// Polling, the quota, retries and reconciliation are `kraftsoci_core::PublishOrchestrator`'s.
/// ([`MetaClient::publish`] keeps an all-in-one path for callers that do not use core.)
///
/// The one exception is a carousel: its children are not visible to core, so
/// `create_container` creates them, polls each to `FINISHED`, then creates the parent.
///
/// Media reach Meta by URL (core's `MediaSource`); resumable uploads of a local video
/// ([`MetaClient::publish_video_file`]) are a client feature outside the port.
///
/// Wired into core's orchestration, as a worker does for each approved post:
///
/// ```no_run
/// use std::sync::Arc;
///
/// use kraftsoci_core::ports::{MediaSource, PublishAccount, PublishJournal, SocialPublisher};
/// use kraftsoci_core::{
///     PublishOrchestrator, PublishOutcome, PublishPermit, PublishPolicy, QuotaBook, SystemClock,
/// };
/// use kraftsoci_meta::{GraphPublisher, MetaClient, MetaConfig};
/// use secrecy::SecretString;
///
/// # async fn publish(
/// #     permit: PublishPermit,
/// #     account: PublishAccount,
/// #     journal: Arc<dyn PublishJournal>,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// let client = MetaClient::new(
///     MetaConfig::token_only().with_app_secret(SecretString::from("app-secret")),
/// )?;
/// let publisher: Arc<dyn SocialPublisher> = Arc::new(GraphPublisher::new(client));
/// let orchestrator =
///     PublishOrchestrator::new(publisher, journal, Arc::new(SystemClock), PublishPolicy::default())
///         // One book per worker: each account's quota is read once per max age.
///         .with_quotas(Arc::new(QuotaBook::default()));
/// // A public, signed URL Meta's servers can fetch, one per media digest of the post.
/// let media = [MediaSource {
///     url: "https://media.example/signed/simit.jpg".into(),
///     is_video: false,
/// }];
/// // `permit` comes from `Post::begin_publishing`: the owner clicked Publish on this content.
/// match orchestrator.run(&permit, &account, &media).await? {
///     PublishOutcome::Published { media_id, permalink, .. } => {
///         println!("live: {media_id:?} {permalink:?}")
///     }
///     // The journal holds the progress: run the same permit again then; nothing posts twice.
///     PublishOutcome::Deferred { until, reason } => println!("again at {until}: {reason:?}"),
///     PublishOutcome::NeedsReconnect { message } => println!("reconnect: {message}"),
///     PublishOutcome::Failed(failure) => println!("failed: {failure:?}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct GraphPublisher {
    client: MetaClient,
}

impl GraphPublisher {
    /// Wraps a client.
    pub fn new(client: MetaClient) -> Self {
        Self { client }
    }

    /// The client, for calls outside the port.
    pub fn client(&self) -> &MetaClient {
        &self.client
    }
}

/// Where in the flow a failure happened; the same kind can call for different reactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Create,
    Status,
    Publish,
    Other,
}

#[async_trait]
impl SocialPublisher for GraphPublisher {
    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str(), kind = spec.kind.as_str()))]
    async fn create_container(
        &self,
        account: &PublishAccount,
        spec: &ContainerSpec,
    ) -> Result<ContainerId, PublishError> {
        let media = media_spec(spec).map_err(|e| to_publish_error(&e, Stage::Create))?;
        self.client
            .create_container_once(account, &media)
            .await
            .map_err(|e| to_publish_error(&e, Stage::Create))
    }

    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str(), %container))]
    async fn container_status(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError> {
        self.client
            .container_status(&account.access_token, container)
            .await
            .map_err(|e| to_publish_error(&e, Stage::Status))
    }

    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str(), %container))]
    async fn publish(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<PublishResult, PublishError> {
        checked_id("container id", container.as_str())
            .map_err(|e| to_publish_error(&e, Stage::Publish))?;
        match self.client.media_publish(account, container).await {
            Ok(media_id) => Ok(PublishResult::Published { media_id }),
            Err(error) => {
                tracing::warn!(%container, %error, fbtrace_id = ?error.fbtrace_id(), "media_publish failed");
                publish_answer(&error)
            }
        }
    }

    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str()))]
    async fn publishing_quota(
        &self,
        account: &PublishAccount,
    ) -> Result<PublishingQuota, PublishError> {
        self.client
            .publishing_quota(account)
            .await
            .map_err(|e| to_publish_error(&e, Stage::Other))
    }

    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str(), media_id))]
    async fn permalink(
        &self,
        account: &PublishAccount,
        media_id: &str,
    ) -> Result<Option<String>, PublishError> {
        self.client
            .permalink(&account.access_token, media_id)
            .await
            .map_err(|e| to_publish_error(&e, Stage::Other))
    }

    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str(), container = %query.container))]
    async fn find_media(
        &self,
        account: &PublishAccount,
        query: &MediaQuery,
    ) -> Result<MediaLookup, PublishError> {
        self.client
            .find_media(account, query)
            .await
            .map_err(|e| to_publish_error(&e, Stage::Other))
    }
}

/// Classifies the answer to one `media_publish`: Meta's "duplicate" is a claim that the post
/// is live; an answer that leaves the outcome open is [`PublishErrorKind::OutcomeUnknown`]
/// (or, for 4/2207051, [`PublishErrorKind::ActivityRestricted`]); a definite refusal keeps
/// its kind.
fn publish_answer(error: &MetaError) -> Result<PublishResult, PublishError> {
    match publish_failure(error) {
        Failure::Duplicate => Ok(PublishResult::AlreadyPublished),
        Failure::Ambiguous => {
            let may_be_live = error
                .graph()
                .and_then(|graph| classify::lookup(graph.code?, graph.subcode))
                .is_some_and(|rule| rule.publish_may_have_happened);
            let kind = if may_be_live {
                PublishErrorKind::ActivityRestricted
            } else {
                PublishErrorKind::OutcomeUnknown
            };
            Err(PublishError::new(kind, chain(error)))
        }
        Failure::NotReady | Failure::Definite => Err(to_publish_error(error, Stage::Publish)),
    }
}

/// Translates core's container spec into this crate's [`MediaSpec`].
///
/// A carousel's single alt text describes its first image (the cover). A story's caption is
/// dropped: Instagram stories have none.
fn media_spec(spec: &ContainerSpec) -> Result<MediaSpec, MetaError> {
    let single = || match spec.items.as_slice() {
        [item] => Ok(item),
        items => Err(MetaError::InvalidInput(format!(
            "a {} needs exactly one item, not {}",
            spec.kind.as_str(),
            items.len()
        ))),
    };
    match spec.kind {
        MediaKind::Image => {
            let item = single()?;
            if item.is_video {
                return Err(MetaError::InvalidInput(
                    "an image post cannot be a video; publish it as a reel".into(),
                ));
            }
            Ok(MediaSpec::Image(ImagePost {
                image_url: item.url.clone(),
                caption: spec.caption.clone(),
                alt_text: spec.alt_text.clone(),
                ..ImagePost::default()
            }))
        }
        MediaKind::Reel => {
            let item = single()?;
            if !item.is_video {
                return Err(MetaError::InvalidInput("a reel needs a video".into()));
            }
            Ok(MediaSpec::Reel(ReelPost {
                video_url: item.url.clone(),
                caption: spec.caption.clone(),
                share_to_feed: Some(true),
                ..ReelPost::default()
            }))
        }
        MediaKind::Story => {
            let item = single()?;
            let media = if item.is_video {
                StoryMedia::Video {
                    video_url: item.url.clone(),
                }
            } else {
                StoryMedia::Image {
                    image_url: item.url.clone(),
                }
            };
            Ok(MediaSpec::Story(StoryPost {
                media,
                user_tags: Vec::new(),
            }))
        }
        MediaKind::Carousel => {
            let mut alt_text = spec.alt_text.clone();
            let items = spec
                .items
                .iter()
                .map(|MediaSource { url, is_video }| {
                    if *is_video {
                        CarouselItem::Video {
                            video_url: url.clone(),
                        }
                    } else {
                        CarouselItem::Image {
                            image_url: url.clone(),
                            alt_text: alt_text.take(),
                            user_tags: Vec::new(),
                        }
                    }
                })
                .collect();
            Ok(MediaSpec::Carousel(CarouselPost {
                items,
                caption: spec.caption.clone(),
                ..CarouselPost::default()
            }))
        }
        // A kind a later core adds: refused before any call, never guessed at.
        other => Err(MetaError::InvalidInput(format!(
            "this version of kraftsoci-meta cannot publish a {}",
            other.as_str()
        ))),
    }
}

/// Maps a client failure into core's vocabulary, with a message safe to log (codes, meaning
/// and `fbtrace_id`; never a token).
fn to_publish_error(error: &MetaError, stage: Stage) -> PublishError {
    PublishError::new(core_kind(error.kind(), stage), chain(error))
}

/// Core's kind for this crate's kind, at a stage of the flow.
pub(crate) fn core_kind(kind: ErrorKind, stage: Stage) -> PublishErrorKind {
    match kind {
        ErrorKind::ReconnectNeeded { .. } => PublishErrorKind::ReconnectNeeded,
        ErrorKind::PermissionMissing { permission } => {
            PublishErrorKind::PermissionMissing { permission }
        }
        ErrorKind::RateLimited { retry_after } => PublishErrorKind::RateLimited { retry_after },
        ErrorKind::PublishLimit { retry_after } => PublishErrorKind::PublishLimit { retry_after },
        ErrorKind::NotReady => PublishErrorKind::NotReady,
        // Core has no "recreate" kind. Creating again is what a retry of create_container
        // does; after publish, polling the container reveals EXPIRED/ERROR, which makes the
        // orchestration create a new one.
        ErrorKind::RecreateContainer => match stage {
            Stage::Publish => PublishErrorKind::NotReady,
            Stage::Create | Stage::Status | Stage::Other => PublishErrorKind::Transient,
        },
        ErrorKind::Transient => PublishErrorKind::Transient,
        ErrorKind::MediaFetchFailed { reason } => PublishErrorKind::MediaFetchFailed { reason },
        ErrorKind::InvalidMedia { reason } => PublishErrorKind::InvalidMedia { reason },
        ErrorKind::AccountRestricted => PublishErrorKind::AccountRestricted,
        ErrorKind::InvalidRequest => PublishErrorKind::Invalid,
        ErrorKind::OutcomeUnknown => PublishErrorKind::OutcomeUnknown,
        ErrorKind::Duplicate | ErrorKind::Unknown => PublishErrorKind::Unknown,
    }
}

/// The error and its causes on one line.
fn chain(error: &MetaError) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kraftsoci_core::ports::PublishingQuota;

    use super::*;

    fn source(url: &str, is_video: bool) -> MediaSource {
        MediaSource {
            url: url.into(),
            is_video,
        }
    }

    #[test]
    fn an_image_spec_becomes_an_image_post_with_caption_and_alt_text() {
        let spec = ContainerSpec {
            kind: MediaKind::Image,
            caption: Some("Hello #bakery".into()),
            alt_text: Some("Bread".into()),
            items: vec![source("https://x.example/a.jpg", false)],
        };
        let MediaSpec::Image(post) = media_spec(&spec).unwrap() else {
            panic!("expected an image");
        };
        assert_eq!(post.caption.as_deref(), Some("Hello #bakery"));
        assert_eq!(post.alt_text.as_deref(), Some("Bread"));
    }

    #[test]
    fn a_carousel_spec_puts_the_alt_text_on_its_first_image_only() {
        let spec = ContainerSpec {
            kind: MediaKind::Carousel,
            caption: Some("Three".into()),
            alt_text: Some("Cover".into()),
            items: vec![
                source("https://x.example/v.mp4", true),
                source("https://x.example/a.jpg", false),
                source("https://x.example/b.jpg", false),
            ],
        };
        let MediaSpec::Carousel(post) = media_spec(&spec).unwrap() else {
            panic!("expected a carousel");
        };
        let alts: Vec<Option<&str>> = post
            .items
            .iter()
            .filter_map(|i| match i {
                CarouselItem::Image { alt_text, .. } => Some(alt_text.as_deref()),
                CarouselItem::Video { .. } => None,
            })
            .collect();
        assert_eq!(alts, vec![Some("Cover"), None]);
    }

    #[test]
    fn single_item_kinds_refuse_the_wrong_number_or_type_of_items() {
        let two = ContainerSpec {
            kind: MediaKind::Image,
            caption: None,
            alt_text: None,
            items: vec![source("https://x.example/a.jpg", false); 2],
        };
        assert!(media_spec(&two).is_err());
        let reel_image = ContainerSpec {
            kind: MediaKind::Reel,
            caption: None,
            alt_text: None,
            items: vec![source("https://x.example/a.jpg", false)],
        };
        assert!(media_spec(&reel_image).is_err());
    }

    #[test]
    fn a_story_drops_the_caption() {
        let spec = ContainerSpec {
            kind: MediaKind::Story,
            caption: Some("ignored".into()),
            alt_text: None,
            items: vec![source("https://x.example/v.mp4", true)],
        };
        assert!(matches!(
            media_spec(&spec).unwrap(),
            MediaSpec::Story(StoryPost {
                media: StoryMedia::Video { .. },
                ..
            })
        ));
    }

    #[test]
    fn errors_map_to_core_kinds_with_the_recreate_kind_depending_on_the_stage() {
        let expired = MetaError::ContainerExpired {
            container: ContainerId::new("c1"),
        };
        assert_eq!(
            to_publish_error(&expired, Stage::Publish).kind,
            PublishErrorKind::NotReady
        );
        assert_eq!(
            to_publish_error(&expired, Stage::Create).kind,
            PublishErrorKind::Transient
        );
        let spent = MetaError::QuotaSpent {
            quota: PublishingQuota {
                used: 50,
                total: 50,
                window: Duration::from_secs(86400),
            },
        };
        let mapped = to_publish_error(&spent, Stage::Publish);
        assert_eq!(
            mapped.kind,
            PublishErrorKind::PublishLimit { retry_after: None }
        );
        assert_eq!(mapped.message, "publishing quota spent (50 of 50)");
    }

    #[test]
    fn the_message_carries_the_cause_chain() {
        let error = MetaError::OutcomeUnknown {
            container: ContainerId::new("c1"),
            cause: Box::new(MetaError::Timeout {
                call: "media_publish",
            }),
        };
        let mapped = to_publish_error(&error, Stage::Publish);
        assert_eq!(mapped.kind, PublishErrorKind::OutcomeUnknown);
        assert_eq!(
            mapped.message,
            "the outcome of publishing container c1 is unknown: media_publish timed out"
        );
    }
}
