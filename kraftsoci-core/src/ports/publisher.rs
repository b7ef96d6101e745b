//! The social publisher port: what the publish orchestration needs from Instagram.
//!
//! `kraftsoci-meta` implements it against the Graph API; the server's sandbox mode implements it
//! locally. No vendor type crosses this boundary.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::{IgUserId, MediaKind};

/// The account to publish as: the Instagram user id and the (decrypted) token for it.
///
/// `Debug` never prints the token.
#[derive(Clone)]
pub struct PublishAccount {
    /// The Instagram business account.
    pub ig_user_id: IgUserId,
    /// The Page or user access token (P10: only ever sent to Meta).
    pub access_token: SecretString,
}

impl fmt::Debug for PublishAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishAccount")
            .field("ig_user_id", &self.ig_user_id)
            .field("access_token", &"[REDACTED]")
            .finish()
    }
}

/// One media item, at a URL Meta's fetcher can read without credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaSource {
    /// A public (signed, expiring) URL.
    pub url: String,
    /// Whether the item is a video (else a JPEG image).
    pub is_video: bool,
}

/// What to put in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    /// How the post is published.
    pub kind: MediaKind,
    /// The caption with hashtags (none for stories).
    pub caption: Option<String>,
    /// Alt text for an image.
    pub alt_text: Option<String>,
    /// The items: one for an image, reel or story; 2–10 for a carousel.
    pub items: Vec<MediaSource>,
}

/// A media container id, as Meta returns it: opaque to everything but the publisher that
/// made it (which checks it before putting it in a URL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContainerId(String);

impl ContainerId {
    /// Wraps an id a publisher returned or a journal recorded.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A container's state (`status_code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ContainerStatus {
    /// Still processing: poll again later.
    InProgress,
    /// Ready for `media_publish`.
    Finished,
    /// Already published: never publish it again.
    Published,
    /// Processing failed; this container can never go live.
    Error {
        /// Meta's reason (the `status` text), for the owner.
        reason: String,
        /// The failure the reason names, classified as for a failed call: a
        /// [`PublishErrorKind::MediaFetchFailed`] or [`PublishErrorKind::Transient`] container is
        /// worth creating again, an [`PublishErrorKind::InvalidMedia`] one is not.
        kind: PublishErrorKind,
    },
    /// Not published within 24 h: a new container is needed. It can never go live.
    Expired,
}

/// What `publish` returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PublishResult {
    /// Published; the media id is known.
    Published {
        /// Instagram's media id.
        media_id: String,
    },
    /// The platform says the post is already live (Graph 506 "duplicate", or a container that is
    /// already published) without returning a media id. The orchestration verifies it by the
    /// container's status and recovers the media id with [`SocialPublisher::find_media`].
    AlreadyPublished,
}

/// The account's publishing quota over Meta's rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishingQuota {
    /// Posts published in the window.
    pub used: u32,
    /// The cap Meta reports (`config.quota_total`).
    pub total: u32,
    /// The window length.
    pub window: Duration,
}

impl PublishingQuota {
    /// Whether another publish fits.
    pub fn is_spent(&self) -> bool {
        self.used >= self.total
    }
}

/// How a caller should react to a publisher failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PublishErrorKind {
    /// The token is expired or revoked: the owner must reconnect (Graph 190/102). Never retry.
    ReconnectNeeded,
    /// A permission is missing: the owner must grant it again.
    PermissionMissing {
        /// The permission, when known.
        permission: Option<String>,
    },
    /// Throttled; retry after the given time when known.
    RateLimited {
        /// How long to wait.
        retry_after: Option<Duration>,
    },
    /// The publishing quota is spent; retry when the window allows.
    PublishLimit {
        /// How long to wait, when known.
        retry_after: Option<Duration>,
    },
    /// The container is not ready yet: poll, then publish.
    NotReady,
    /// A temporary failure that is safe to retry (for the calls that are safe to retry). After
    /// `publish` it is ambiguous: the request may have reached Meta.
    Transient,
    /// Meta could not download the media from its URL (the URL did not answer, timed out, or
    /// answered with an error). Transient: the media host may be restarting. Retried with
    /// back-off for a bounded time ([`crate::PublishPolicy::media_fetch_retry_for`]).
    MediaFetchFailed {
        /// Why, in words an owner can read.
        reason: String,
    },
    /// The media was refused; not retryable as is.
    InvalidMedia {
        /// Why.
        reason: String,
    },
    /// The Instagram account is restricted: the owner must act in Instagram.
    AccountRestricted,
    /// `media_publish` was blocked as restricted or spam-like activity (Graph 4/2207051). Posts
    /// have gone live despite this answer, so it is never believed at once: the container
    /// decides, and only a container still unpublished after the reconcile grace makes it a
    /// failure.
    ActivityRestricted,
    /// The request was malformed (a bug or bad input), not retryable.
    Invalid,
    /// A publish may or may not have happened and could not be resolved now.
    OutcomeUnknown,
    /// Anything else.
    Unknown,
}

/// A publisher failure: the kind a caller acts on, and a message safe to log (never a token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PublishError {
    /// The classification.
    pub kind: PublishErrorKind,
    /// What happened, with upstream codes and trace ids where useful.
    pub message: String,
}

impl PublishError {
    /// A new error.
    pub fn new(kind: PublishErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// One media item of the account as the platform lists it (`GET /{ig-user-id}/media`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedMedia {
    /// Instagram's media id.
    pub id: String,
    /// When it was published (the platform's clock).
    pub timestamp: DateTime<Utc>,
    /// Its caption, when it has one.
    pub caption: Option<String>,
    /// Its permalink, when the platform returned one.
    pub permalink: Option<String>,
}

/// The media a published container became, once found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundMedia {
    /// Instagram's media id.
    pub media_id: String,
    /// Its permalink, when the platform returned one.
    pub permalink: Option<String>,
}

/// What [`SocialPublisher::find_media`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaLookup {
    /// Exactly one media item fits.
    Found(FoundMedia),
    /// Nothing fits (yet: the platform's listing can lag behind a publish).
    NotFound,
    /// More than one item fits equally well; none is chosen, because a wrong media id is worse
    /// than none.
    Ambiguous {
        /// How many fit.
        candidates: usize,
    },
}

/// Which published media a container became: Meta links a container to nothing once it is
/// published, so the media is recognised by its caption and its publish time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaQuery {
    /// The published container (adapters that keep the link, like the sandbox, use it).
    pub container: ContainerId,
    /// How it was published (stories are listed apart from feed media).
    pub kind: MediaKind,
    /// The caption exactly as it was sent; `None` for a story.
    pub caption: Option<String>,
    /// The earliest instant it can have gone live: when the first `media_publish` for the
    /// container was sent.
    pub published_after: DateTime<Utc>,
    /// The latest instant: when the container was seen published.
    pub published_before: DateTime<Utc>,
}

impl MediaQuery {
    /// How far the platform's clock may be from ours: a listed timestamp this much outside the
    /// window still counts.
    pub const CLOCK_SKEW: Duration = Duration::from_secs(120);

    /// Whether a listed item is older than anything this query can match (a listing sorted
    /// newest first can stop there).
    pub fn is_before_window(&self, item: &ListedMedia) -> bool {
        item.timestamp < self.window().0
    }

    /// The window a listed timestamp must fall in, skew included.
    fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let skew = chrono::Duration::from_std(Self::CLOCK_SKEW).unwrap_or(chrono::Duration::zero());
        (
            self.published_after
                .checked_sub_signed(skew)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            self.published_before
                .checked_add_signed(skew)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    /// Picks the one listed item that is this post: its timestamp lies in the window (give or
    /// take [`MediaQuery::CLOCK_SKEW`]) and its caption equals the sent caption once
    /// whitespace is normalised (Instagram trims and may rewrite line breaks). A story, which
    /// has no caption, is recognised by time alone.
    ///
    /// Never "the first item": zero fits is [`MediaLookup::NotFound`], more than one is
    /// [`MediaLookup::Ambiguous`] (for example the owner posted the same caption by hand within
    /// the window).
    pub fn pick(&self, listed: &[ListedMedia]) -> MediaLookup {
        let (from, to) = self.window();
        let wanted = self.caption.as_deref().map(normalized);
        let fits = |item: &&ListedMedia| {
            (from..=to).contains(&item.timestamp)
                && wanted.as_ref().is_none_or(|caption| {
                    item.caption.as_deref().map(normalized).as_ref() == Some(caption)
                })
        };
        // A listing can repeat an item across pages: count distinct ids.
        let mut ids: Vec<&ListedMedia> = Vec::new();
        for item in listed.iter().filter(fits) {
            if !ids.iter().any(|seen| seen.id == item.id) {
                ids.push(item);
            }
        }
        match ids.as_slice() {
            [] => MediaLookup::NotFound,
            [one] => MediaLookup::Found(FoundMedia {
                media_id: one.id.clone(),
                permalink: one.permalink.clone().filter(|p| !p.is_empty()),
            }),
            many => MediaLookup::Ambiguous {
                candidates: many.len(),
            },
        }
    }
}

/// A caption with every run of whitespace made one space and both ends trimmed.
fn normalized(caption: &str) -> String {
    caption.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Instagram publishing, as the orchestration needs it. Object-safe; held as
/// `Arc<dyn SocialPublisher>`.
///
/// Every method is **one** request (or, for a carousel's `create_container`, the children
/// and the parent) whose answer the adapter only classifies. Polling, retries, the quota and
/// reconciliation are the orchestration's ([`crate::PublishOrchestrator`]); an adapter that
/// retried or read the container itself would widen the window between the journal's
/// "publish sent" and the real request, and spend Graph calls twice.
///
/// Contract for `publish`: send `media_publish` exactly once and never retry it. Only an
/// explicit refusal (`NotReady`, `PublishLimit`, `RateLimited`, `ReconnectNeeded`,
/// `PermissionMissing`, `InvalidMedia`, `AccountRestricted`, `Invalid`) may be reported as an
/// error that means "not published"; every answer that leaves the outcome open (timeout, 5xx,
/// an unreadable success, a transport failure after sending) is
/// [`PublishErrorKind::OutcomeUnknown`] (or `Transient`/`Unknown`, which the orchestration
/// treats the same way), and Meta's 4/2207051 is [`PublishErrorKind::ActivityRestricted`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SocialPublisher: Send + Sync {
    /// Creates a media container, once (for a carousel: the children, each polled to
    /// `FINISHED`, then the parent). A failure is not retried here.
    async fn create_container(
        &self,
        account: &PublishAccount,
        spec: &ContainerSpec,
    ) -> Result<ContainerId, PublishError>;

    /// Reads a container's status, once.
    async fn container_status(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError>;

    /// Sends `media_publish` for a container, exactly once, and classifies the answer.
    async fn publish(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<PublishResult, PublishError>;

    /// Reads the publishing quota.
    async fn publishing_quota(
        &self,
        account: &PublishAccount,
    ) -> Result<PublishingQuota, PublishError>;

    /// Reads a published media's permalink.
    async fn permalink(
        &self,
        account: &PublishAccount,
        media_id: &str,
    ) -> Result<Option<String>, PublishError>;

    /// Finds the media a `PUBLISHED` container became (its id and permalink), matching with
    /// [`MediaQuery::pick`] when the platform keeps no link from container to media.
    async fn find_media(
        &self,
        account: &PublishAccount,
        query: &MediaQuery,
    ) -> Result<MediaLookup, PublishError>;
}
