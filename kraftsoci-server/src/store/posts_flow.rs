//! Storage of the consent-gated post flow (generate → preview → click → queue) and of the
//! sandbox publisher's containers.
//!
//! Every write that must happen together happens in one transaction here: the Publish click
//! saves the post (optimistic `updated_at` check), appends the consent receipt and inserts the
//! publish job at once, so no job exists without its consent and no consent without its job.
//! Implemented once for both engines in `flow_queries.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::MediaKey;
use kraftsoci_core::{ConnectionId, IgUserId, PostId, PostSnapshot, StoreError, UserId};

/// The name of the conflict reported when a worker holds a post's publish job.
pub const JOB_RUNNING: &str = "publish_jobs_running";

/// A post's image as stored: the media-store key and its checked dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// Where the bytes are.
    pub key: MediaKey,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// What the server keeps about a post besides its [`PostSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostMedia {
    /// The topic the owner asked for.
    pub topic: Option<String>,
    /// The generated image, if any.
    pub image: Option<StoredImage>,
    /// Whether the post was generated in sandbox mode.
    pub sandbox: bool,
}

/// A post to save if it is still at `expected_updated_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostUpdate {
    /// The new state.
    pub post: PostSnapshot,
    /// The `updated_at` it was read at.
    pub expected_updated_at: DateTime<Utc>,
}

/// The publish job a click queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    /// The connection to publish through.
    pub connection: ConnectionId,
    /// Not before this time (the schedule, or the click's time).
    pub run_after: DateTime<Utc>,
    /// Now.
    pub at: DateTime<Utc>,
}

/// What queuing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// A new job row.
    Created,
    /// The existing job was re-queued or rescheduled.
    Updated,
    /// The existing job already said this.
    Unchanged,
}

/// A post's publish job, as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub state: String,
    /// Not before this time.
    pub run_after: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: u32,
}

/// The consent-gated post flow.
#[async_trait]
pub trait PostFlowStore: Send + Sync {
    /// Inserts a freshly generated post with its topic, image and sandbox flag.
    async fn insert_generated_post(
        &self,
        post: &PostSnapshot,
        media: &PostMedia,
    ) -> Result<(), StoreError>;

    /// The topic, image and sandbox flag of the owner's posts among `ids` (missing ones are
    /// left out).
    async fn post_media(
        &self,
        owner: UserId,
        ids: &[PostId],
    ) -> Result<Vec<(PostId, PostMedia)>, StoreError>;

    /// The publish job of one of the owner's posts.
    async fn publish_job(&self, owner: UserId, post: PostId)
    -> Result<Option<JobView>, StoreError>;

    /// The Publish click, in one transaction: saves the approved post (optimistic check), records
    /// its consent receipt, and inserts or re-queues its publish job (`post_id` is unique: a
    /// second click finds the job).
    ///
    /// [`StoreError::Stale`] when the post changed since it was read,
    /// [`StoreError::Conflict`] ([`JOB_RUNNING`]) when a worker holds the job.
    async fn approve_and_queue(
        &self,
        update: &PostUpdate,
        job: &JobRequest,
    ) -> Result<Queued, StoreError>;

    /// Makes sure an approved, unchanged post has its job (a repeated click): inserts it when
    /// missing, re-queues it when it ended, leaves a queued or running one alone.
    async fn ensure_queued(
        &self,
        owner: UserId,
        post: PostId,
        job: &JobRequest,
    ) -> Result<Queued, StoreError>;

    /// Saves a post whose approval is void (an edit, a withdrawal) and drops its publish job in
    /// the same transaction.
    ///
    /// [`StoreError::Stale`] when the post changed, [`StoreError::Conflict`] ([`JOB_RUNNING`])
    /// when a worker holds the job (its lease has not run out at `now`).
    async fn save_and_unqueue(
        &self,
        update: &PostUpdate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Deletes one of the owner's posts (P16) unless it is being published: its row, receipts,
    /// job and journal go; the caller deletes the image bytes.
    ///
    /// [`StoreError::NotFound`], or [`StoreError::Conflict`] ([`JOB_RUNNING`]) while it is
    /// `publishing` or a worker holds its job.
    async fn delete_post_checked(
        &self,
        owner: UserId,
        post: PostId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The owner's posts waiting in `needs_reconnect` for `ig_user_id`.
    async fn posts_awaiting_reconnect(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Vec<PostSnapshot>, StoreError>;

    /// The owner's posts approved for `ig_user_id` that have not started publishing
    /// (`approved` or `needs_reconnect`).
    async fn posts_queued_for(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Vec<PostSnapshot>, StoreError>;

    /// How much of `ig_user_id`'s daily publishing quota is spoken for around a publishing
    /// time, besides `excluding`: posts published or queued to run between `since` and
    /// `until`, and posts publishing now.
    async fn publishing_load(
        &self,
        ig_user_id: &IgUserId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        excluding: PostId,
    ) -> Result<u32, StoreError>;
}

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
