//! Persisted publish progress: the recovery points of the publish orchestration.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ContainerId;
use crate::{PostId, PublishFailure, StoreError};

/// The last recovery point a publish reached. Written *before* each external call that has an
/// effect and *after* each call returns, so that a crash at any point resumes from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum PublishStep {
    /// A container was created and its id saved.
    ContainerCreated {
        /// The container.
        container: ContainerId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The container reached `FINISHED`.
    ContainerReady {
        /// The container.
        container: ContainerId,
        /// When.
        at: DateTime<Utc>,
    },
    /// `media_publish` is about to be sent: recorded immediately before the one request. From
    /// here on the container is reconciled before anything else: its status decides whether
    /// the post is live, and it is published again only once the reconcile grace has passed
    /// with the container still unpublished.
    PublishSent {
        /// The container.
        container: ContainerId,
        /// When this (the latest) request was sent.
        at: DateTime<Utc>,
        /// How many `media_publish` requests this container has been sent, this one included.
        #[serde(default = "one")]
        sends: u32,
        /// When the first of them was sent (`None` in entries written before it was kept: then
        /// `at`). The post cannot have gone live before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_at: Option<DateTime<Utc>>,
        /// The refusal that stands if the container turns out still unpublished after the
        /// grace: Meta answered with an error known to come with live posts (4/2207051).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refused: Option<PublishFailure>,
    },
    /// Instagram has the post.
    Published {
        /// The container.
        container: ContainerId,
        /// The media id; `None` while it is being recovered from the account's media.
        media_id: Option<String>,
        /// The permalink, once read.
        permalink: Option<String>,
        /// When the post was known to be live.
        at: DateTime<Utc>,
        /// The earliest instant it can have gone live (the first `media_publish`), which bounds
        /// the media lookup.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<DateTime<Utc>>,
    },
}

fn one() -> u32 {
    1
}

impl PublishStep {
    /// The container this step is about.
    pub fn container(&self) -> &ContainerId {
        match self {
            Self::ContainerCreated { container, .. }
            | Self::ContainerReady { container, .. }
            | Self::PublishSent { container, .. }
            | Self::Published { container, .. } => container,
        }
    }

    /// When the step was reached.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::ContainerCreated { at, .. }
            | Self::ContainerReady { at, .. }
            | Self::PublishSent { at, .. }
            | Self::Published { at, .. } => *at,
        }
    }
}

/// A post's recovery point, tied to the approval it serves.
///
/// `approved_at` is the consent receipt's time: an entry left over from an earlier approval
/// (one that ended in a failure) is not resumed, so a new approval starts with a new container
/// — but not before an earlier `media_publish` still within its reconcile grace has stopped
/// mattering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The consent receipt's `approved_at`.
    pub approved_at: DateTime<Utc>,
    /// The step reached.
    pub step: PublishStep,
}

/// Stores each post's current [`JournalEntry`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PublishJournal: Send + Sync {
    /// The post's last recovery point, if any.
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError>;

    /// Durably records a recovery point (must be committed when this returns).
    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError>;

    /// Forgets the post's progress (a new approval starts from scratch).
    async fn clear(&self, post: PostId) -> Result<(), StoreError>;
}
