//! The social publisher port: what the publish orchestration needs from Instagram.
//!
//! `kraftsoci-meta` implements it against the Graph API; the server's sandbox mode implements it
//! locally. No vendor type crosses this boundary.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
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

/// A media container id, as Meta returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContainerId(pub String);

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A container's state (`status_code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerStatus {
    /// Still processing: poll again later.
    InProgress,
    /// Ready for `media_publish`.
    Finished,
    /// Already published: never publish it again.
    Published,
    /// Processing failed.
    Error {
        /// Meta's reason (the `status` text), for the owner.
        reason: String,
    },
    /// Not published within 24 h: a new container is needed.
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
    /// The adapter resolved an ambiguous answer by checking the container: it is published,
    /// but the media id was not returned.
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
    /// A temporary failure that is safe to retry (for the calls that are safe to retry).
    Transient,
    /// The media was refused; not retryable as is.
    InvalidMedia {
        /// Why.
        reason: String,
    },
    /// The Instagram account is restricted: the owner must act in Instagram.
    AccountRestricted,
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

/// Instagram publishing, as the orchestration needs it. Object-safe; held as
/// `Arc<dyn SocialPublisher>`.
///
/// Contract for implementers: `create_container` may be retried freely (the worst outcome is an
/// orphan container). `publish` must **never** be retried blindly: after an ambiguous failure it
/// checks the container and reports [`PublishResult::AlreadyPublished`] or
/// [`PublishErrorKind::OutcomeUnknown`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SocialPublisher: Send + Sync {
    /// Creates a media container (for a carousel: the children, each polled to `FINISHED`,
    /// then the parent).
    async fn create_container(
        &self,
        account: &PublishAccount,
        spec: &ContainerSpec,
    ) -> Result<ContainerId, PublishError>;

    /// Reads a container's status.
    async fn container_status(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError>;

    /// Publishes a `FINISHED` container.
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

    /// Reads a published media's permalink (best effort).
    async fn permalink(
        &self,
        account: &PublishAccount,
        media_id: &str,
    ) -> Result<Option<String>, PublishError>;
}
