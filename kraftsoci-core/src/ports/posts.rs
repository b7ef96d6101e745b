//! Posts: the post, its consent receipts (immutable history), its image and its publish job,
//! stored as one aggregate so that what must change together changes in one transaction.
//!
//! The Publish click saves the approved post (optimistic `updated_at` check), appends the
//! consent receipt and queues the publish job at once, so no job exists without its consent
//! and no consent without its job. An edit or a withdrawal saves the post and drops its job
//! at once. The publish worker's own writes (claims, recovery points, outcomes) go through the
//! server's queue, fenced by its claim.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MediaKey;
use crate::{ConnectionId, IgUserId, PostId, PostSnapshot, PostStatus, StoreError, UserId};

/// The name of the conflict reported when a worker holds a post's publish job (or the post is
/// `publishing`): the post cannot change now.
pub const JOB_RUNNING: &str = "publish_jobs_running";

/// A page of posts, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPage {
    /// The posts.
    pub posts: Vec<PostSnapshot>,
    /// The cursor for the next page.
    pub next_cursor: Option<String>,
}

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

/// What is kept about a post besides its [`PostSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostMedia {
    /// The topic the owner asked for.
    pub topic: Option<String>,
    /// The generated image, if any.
    pub image: Option<StoredImage>,
    /// Whether the post was generated in sandbox mode.
    pub sandbox: bool,
}

/// A post to save if it is still at `expected_updated_at` (optimistic concurrency).
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
    /// `queued`, `running`, `failed` or `cancelled`.
    pub state: String,
    /// Not before this time.
    pub run_after: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: u32,
}

/// A post as a list shows it: with its media, the connection it targets and its publish job
/// (approved and publishing posts only), all read by the list's one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPost {
    /// The post.
    pub post: PostSnapshot,
    /// Topic, image and sandbox flag.
    pub media: PostMedia,
    /// The owner's connection to the account the post targets, when it exists.
    pub target_connection: Option<ConnectionId>,
    /// The publish job, while the post is approved or publishing.
    pub job: Option<JobView>,
}

/// A page of [`ListedPost`]s, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPage {
    /// The posts.
    pub posts: Vec<ListedPost>,
    /// The cursor for the next page.
    pub next_cursor: Option<String>,
}

/// Posts with their consent receipts, images and publish jobs.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PostStore: Send + Sync {
    /// Inserts a new post with its topic, image and sandbox flag (and its consent receipt, if
    /// it has one).
    async fn insert_post(&self, post: &PostSnapshot, media: &PostMedia) -> Result<(), StoreError>;

    /// One of the user's posts.
    async fn post(&self, owner: UserId, id: PostId) -> Result<PostSnapshot, StoreError>;

    /// The user's posts, newest first, `limit` (1 to 100) at a time.
    /// [`StoreError::InvalidInput`] for a cursor this store did not produce.
    async fn list_posts(
        &self,
        owner: UserId,
        status: Option<PostStatus>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<PostPage, StoreError>;

    /// [`PostStore::list_posts`] with what a list page shows of each post (media, target
    /// connection, publish job), in one statement whatever the page size; the same cursors.
    async fn list_posts_with_details(
        &self,
        owner: UserId,
        status: Option<PostStatus>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<ListedPage, StoreError>;

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

    /// The publish jobs of the owner's posts among `posts` (posts without one are left out).
    /// A list page asks once for all its posts; stores answer in one statement, the default
    /// asks post by post.
    async fn publish_jobs(
        &self,
        owner: UserId,
        posts: &[PostId],
    ) -> Result<Vec<(PostId, JobView)>, StoreError> {
        let mut out = Vec::with_capacity(posts.len());
        for post in posts {
            if let Some(job) = self.publish_job(owner, *post).await? {
                out.push((*post, job));
            }
        }
        Ok(out)
    }

    /// The Publish click, in one transaction: saves the approved post (optimistic check),
    /// records its consent receipt, and inserts or re-queues its publish job (one per post: a
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
    async fn delete_post(
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
