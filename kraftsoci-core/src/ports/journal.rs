//! Persisted publish progress: the recovery points of the publish orchestration.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ContainerId;
use crate::{PostId, StoreError};

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
    /// `media_publish` is about to be (or was) sent. From here on the container is never
    /// published again: only reconciled.
    PublishSent {
        /// The container.
        container: ContainerId,
        /// When.
        at: DateTime<Utc>,
    },
    /// Instagram has the post.
    Published {
        /// The container.
        container: ContainerId,
        /// The media id, unless the publish was confirmed by reconciliation.
        media_id: Option<String>,
        /// The permalink, once read.
        permalink: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
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
}

/// Stores each post's current [`PublishStep`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PublishJournal: Send + Sync {
    /// The post's last recovery point, if any.
    async fn load(&self, post: PostId) -> Result<Option<PublishStep>, StoreError>;

    /// Durably records a recovery point (must be committed when this returns).
    async fn record(&self, post: PostId, step: &PublishStep) -> Result<(), StoreError>;

    /// Forgets the post's progress (a new approval starts from scratch).
    async fn clear(&self, post: PostId) -> Result<(), StoreError>;
}
