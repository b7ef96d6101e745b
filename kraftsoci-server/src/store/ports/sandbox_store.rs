//! The sandbox publisher's local stand-in for Instagram: its containers, created, finished and
//! published like Meta's, so the whole flow runs without an app review.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{IgUserId, StoreError};

/// A sandbox container's state, mirroring Meta's `status_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxStatus {
    /// Just created; the first status read sees this once.
    InProgress,
    /// Ready for publishing.
    Finished,
    /// Published.
    Published,
}

impl SandboxStatus {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Finished => "finished",
            Self::Published => "published",
        }
    }

    /// Parses [`SandboxStatus::as_str`]'s output.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "in_progress" => Some(Self::InProgress),
            "finished" => Some(Self::Finished),
            "published" => Some(Self::Published),
            _ => None,
        }
    }
}

/// A container of the sandbox publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxContainer {
    /// The container id (`sandbox-container-…`).
    pub id: String,
    /// The sandbox account.
    pub ig_user_id: IgUserId,
    /// The media kind (`image`, `carousel`…).
    pub kind: String,
    /// The caption sent.
    pub caption: Option<String>,
    /// The alt text sent.
    pub alt_text: Option<String>,
    /// How many media items.
    pub items: u32,
    /// Where it stands.
    pub status: SandboxStatus,
    /// The media id once published (`sandbox-…`).
    pub media_id: Option<String>,
    /// The permalink once published.
    pub permalink: Option<String>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When published.
    pub published_at: Option<DateTime<Utc>>,
}

/// The sandbox publisher's local stand-in for Instagram.
#[async_trait]
pub trait SandboxStore: Send + Sync {
    /// Records a new container (status `in_progress`).
    async fn insert_sandbox_container(
        &self,
        container: &SandboxContainer,
    ) -> Result<(), StoreError>;

    /// A container of `ig_user_id`.
    async fn sandbox_container(
        &self,
        ig_user_id: &IgUserId,
        id: &str,
    ) -> Result<Option<SandboxContainer>, StoreError>;

    /// Moves a container from `from` to `to`; `false` when it was not in `from`.
    async fn advance_sandbox_container(
        &self,
        id: &str,
        from: SandboxStatus,
        to: SandboxStatus,
    ) -> Result<bool, StoreError>;

    /// Publishes a `finished` container; `false` when it was not `finished` (so a second
    /// publish of one container never happens).
    async fn publish_sandbox_container(
        &self,
        id: &str,
        media_id: &str,
        permalink: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Containers of `ig_user_id` published since `since`.
    async fn sandbox_published_since(
        &self,
        ig_user_id: &IgUserId,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError>;

    /// The published container with this media id.
    async fn sandbox_publication(
        &self,
        media_id: &str,
    ) -> Result<Option<SandboxContainer>, StoreError>;
}
