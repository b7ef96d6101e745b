//! Storage of the publish queue (`publish_jobs`) and of the orchestration's recovery points
//! (`publish_journal`), as the publish worker uses them.
//!
//! ## Claims, leases and fencing
//!
//! A worker *claims* a due job: in one short transaction the job's row is locked (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`, so concurrent workers skip it instead of waiting; SQLite: an
//! immediate transaction, SQLite's single writer) and stamped with a fresh [`JobLease::claim`]
//! token and a `lease_until`. A job whose lease has run out is claimable again, which is how a
//! dead worker's job is taken over.
//!
//! Every later write of the holder is *fenced* by its claim token: it first runs
//! `UPDATE publish_jobs … WHERE id = $job AND locked_by = $claim` in the same transaction, which
//! both checks that the claim still stands and locks the row until the write commits. A worker
//! whose lease was taken over therefore cannot record a recovery point (so cannot reach
//! `media_publish`) nor settle the job: its write is refused ([`Settled::LeaseLost`],
//! [`StoreError::Stale`]). Together with the orchestration's rule of recording `PublishSent`
//! before calling `media_publish`, this keeps two workers from ever publishing one approval
//! twice, even when a lease expires under a slow worker.
//!
//! The SQL is written once in `jobs_queries.rs` (compiled for both engines like `queries.rs`);
//! the two statements that differ live in [`JobsDialect`].

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::JournalEntry;
use kraftsoci_core::{ConnectionId, PostId, StoreError, UserId};
use uuid::Uuid;

use super::posts_flow::PostUpdate;

/// A publish job's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId(pub Uuid);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a queued job is waiting (`publish_jobs.wait_reason`); `None` on a job that is simply due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitReason {
    /// The owner chose a later time.
    Scheduled,
    /// The owner restricted publishing (P29); re-checked periodically.
    Restricted,
    /// The Instagram connection must be renewed; re-checked periodically.
    Reconnect,
    /// The account's publishing quota is spent.
    Quota,
    /// Meta throttled the app or account.
    RateLimited,
    /// The container is still processing.
    NotReady,
    /// A temporary failure (counted against the worker's bound).
    Transient,
    /// `media_publish` was sent and its outcome is not known yet.
    OutcomeUnknown,
    /// The post changed while the worker held it, or storage failed; retried soon.
    Conflict,
}

impl WaitReason {
    /// Every reason, for tests.
    pub const ALL: [WaitReason; 9] = [
        Self::Scheduled,
        Self::Restricted,
        Self::Reconnect,
        Self::Quota,
        Self::RateLimited,
        Self::NotReady,
        Self::Transient,
        Self::OutcomeUnknown,
        Self::Conflict,
    ];

    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Restricted => "restricted",
            Self::Reconnect => "reconnect",
            Self::Quota => "quota",
            Self::RateLimited => "rate_limited",
            Self::NotReady => "not_ready",
            Self::Transient => "transient",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::Conflict => "conflict",
        }
    }

    /// Parses [`WaitReason::as_str`]'s output.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to queue: the post's publish request (one job per post).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPublishJob {
    /// The post.
    pub post: PostId,
    /// Its owner.
    pub owner: UserId,
    /// The connection to publish with, when known.
    pub connection: Option<ConnectionId>,
    /// Not before this instant (the scheduled time, or now).
    pub run_after: DateTime<Utc>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// The proof that a worker holds a job: the job and the claim token written into its
/// `locked_by`. Every fenced write names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    /// The job.
    pub job: JobId,
    /// The token of this claim (`{worker id}/{random}`), unique per claim.
    pub claim: String,
}

/// A job as a worker claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The lease that fences this worker's writes.
    pub lease: JobLease,
    /// The post to publish.
    pub post: PostId,
    /// Its owner.
    pub owner: UserId,
    /// The connection the click named (unset when it was deleted since).
    pub connection: Option<ConnectionId>,
    /// How many times the job was claimed, this claim included.
    pub attempts: u32,
    /// How many transient deferrals it had so far (bounded by the worker).
    pub transient_deferrals: u32,
    /// When the lease runs out unless renewed.
    pub lease_until: DateTime<Utc>,
}

/// A job as stored, for inspection (tests, operations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishJobRecord {
    /// The id.
    pub id: JobId,
    /// The post.
    pub post: PostId,
    /// `queued`, `running`, `failed` (given up on, see `last_error`) or `cancelled`.
    pub state: String,
    /// Not before this instant.
    pub run_after: DateTime<Utc>,
    /// Claims so far.
    pub attempts: u32,
    /// Transient deferrals so far.
    pub transient_deferrals: u32,
    /// The current claim token, while held.
    pub locked_by: Option<String>,
    /// The lease's end, while held.
    pub lease_until: Option<DateTime<Utc>>,
    /// Why it waits.
    pub wait_reason: Option<WaitReason>,
    /// The last problem, for operators (never a token).
    pub last_error: Option<String>,
}

/// What happens to the job itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobChange {
    /// Keep holding it (e.g. after saving the post as `publishing`).
    Keep,
    /// It is finished (published, failed, or nothing left to do): the row is deleted, so a new
    /// approval of the same post can queue a fresh job.
    Done,
    /// Release it to run again after `run_after`.
    Requeue {
        /// Not before this instant.
        run_after: DateTime<Utc>,
        /// Why it waits.
        wait: Option<WaitReason>,
        /// Whether this counts as one more transient deferral.
        transient: bool,
        /// A note for operators (never a token).
        note: Option<String>,
    },
    /// Give up on it (it cannot be processed, e.g. corrupt data): kept as `failed` with the
    /// reason, for an operator.
    Abandon {
        /// Why.
        error: String,
    },
}

/// Everything one settlement writes, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The post's new state, if it changed.
    pub post: Option<PostUpdate>,
    /// A connection Meta refused the token of: marked `needs_reconnect` (P15).
    pub reconnect: Option<ConnectionId>,
    /// The job's fate.
    pub job: JobChange,
    /// When.
    pub now: DateTime<Utc>,
}

/// What a settlement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Written.
    Applied,
    /// Nothing was written: another worker holds the job now.
    LeaseLost,
    /// Nothing was written: the post changed since it was read.
    PostChanged,
}

/// The publish queue and the fenced writes of its workers. Implemented by both stores.
#[async_trait]
pub trait PublishQueue: Send + Sync {
    /// Queues a publish job for a post. Idempotent per post: a job that exists and is not held
    /// by a worker is re-queued with these values; a held one is left alone.
    async fn enqueue_publish_job(&self, job: &NewPublishJob) -> Result<(), StoreError>;

    /// Claims the earliest due job (`run_after <= now`, not leased or its lease run out) for
    /// `claim` until `lease_until`, counting the attempt. `None` when nothing is due.
    async fn claim_publish_job(
        &self,
        claim: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedJob>, StoreError>;

    /// Extends a lease the claim still holds; `false` when the job was taken over or is gone.
    async fn renew_publish_lease(
        &self,
        lease: &JobLease,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records a recovery point for `post`, only while `lease` still holds the job (committed
    /// when this returns).
    ///
    /// # Errors
    /// [`StoreError::Stale`] when the lease was lost: nothing was written.
    async fn record_publish_step(
        &self,
        lease: &JobLease,
        post: PostId,
        entry: &JournalEntry,
    ) -> Result<(), StoreError>;

    /// Applies a settlement in one transaction, only while `lease` still holds the job.
    async fn settle_publish_job(
        &self,
        lease: &JobLease,
        settlement: &Settlement,
    ) -> Result<Settled, StoreError>;

    /// The media-store key of the post's image, if it has one.
    async fn post_image_key(
        &self,
        owner: UserId,
        post: PostId,
    ) -> Result<Option<String>, StoreError>;

    /// Makes the owner's waiting jobs due now (after a reconnect or a lifted restriction), only
    /// those waiting for `reason` when given. Returns how many were woken.
    async fn wake_publish_jobs(
        &self,
        owner: UserId,
        reason: Option<WaitReason>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// The post's job, if any.
    async fn publish_job_record(
        &self,
        post: PostId,
    ) -> Result<Option<PublishJobRecord>, StoreError>;
}

/// The statements whose SQL differs between the engines.
pub(crate) trait JobsDialect {
    /// Opens a transaction that will write. SQLite takes its write lock up front (`BEGIN
    /// IMMEDIATE`), so a transaction that reads before it writes waits for other writers
    /// instead of failing with `SQLITE_BUSY` when it upgrades.
    const BEGIN_WRITE: &'static str;
    /// The claim: one statement that picks, locks and stamps the earliest due job. Binds:
    /// `$1` claim token, `$2` now, `$3` lease end.
    const CLAIM: &'static str;
}

macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE publish_jobs SET state = 'running', locked_by = $1, lease_until = $3, \
             attempts = attempts + 1, updated_at = $2 \
             WHERE id = (SELECT id FROM publish_jobs \
             WHERE state IN ('queued', 'running') AND run_after <= $2 \
             AND (lease_until IS NULL OR lease_until <= $2) \
             ORDER BY run_after, id LIMIT 1",
            $lock,
            ") RETURNING id, post_id, owner_id, connection_id, attempts, transient_deferrals, \
             lease_until"
        )
    };
}

impl JobsDialect for sqlx::Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    // SKIP LOCKED: a row another worker is claiming (or writing under its lease) is skipped,
    // not waited for, so concurrent workers each take a different job.
    const CLAIM: &'static str = claim_sql!(" FOR UPDATE SKIP LOCKED");
}

impl JobsDialect for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const CLAIM: &'static str = claim_sql!("");
}
