//! The publish queue (`publish_jobs`) as the publish worker uses it, and its fenced writes of
//! the orchestration's recovery points (`publish_journal`).
//!
//! ## Claims, leases and fencing
//!
//! A worker *claims* due jobs, up to as many as it has free slots, in one short transaction:
//! the jobs' rows are locked (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent workers skip
//! them instead of waiting; SQLite: an immediate transaction, SQLite's single writer) and
//! stamped with a fresh [`JobLease::claim`] token and a `lease_until`. A job whose lease has run
//! out is claimable again, which is how a dead worker's job is taken over. The jobs of one
//! claim share its token: a lease is the pair (job, token), and every fence checks both.
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
//! The claim is the one statement whose SQL differs between the engines (see
//! `store/dialect.rs`).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{Connection, JournalEntry, PostMedia, PostUpdate};
use kraftsoci_core::{ConnectionId, PostId, PostSnapshot, StoreError, UserId};

use super::NewEvent;
use uuid::Uuid;

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

/// The proof that a worker holds a job: the job and the claim token written into its
/// `locked_by`. Every fenced write names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    /// The job.
    pub job: JobId,
    /// The token of this claim (`{worker id}/{random}`), unique per claim; the jobs claimed
    /// together in one round trip share it.
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

/// A claimed job's post as [`PublishQueue::job_post`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPost {
    /// The post, with its consent receipt.
    pub post: PostSnapshot,
    /// Its topic, image and sandbox flag; [`StoreError::Corrupt`] when the stored image does
    /// not parse.
    pub media: Result<PostMedia, StoreError>,
    /// Its last recovery point; [`StoreError::Corrupt`] when the stored step does not parse.
    pub journal: Result<Option<JournalEntry>, StoreError>,
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
    /// A recovery point of the job's post to record with the rest (the worker holds back the
    /// steps whose loss a later run recovers from the previous one, and writes them here
    /// instead of in a transaction of their own).
    pub journal: Option<JournalEntry>,
    /// The owner's notification of the outcome (published, failed, needs reconnect),
    /// recorded in the same transaction — once per event key, like
    /// [`NotifyStore::record_event`](crate::store::NotifyStore::record_event) — so a crash
    /// can never commit the outcome without it.
    pub notice: Option<NewEvent>,
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

/// The publish queue and the fenced writes of its workers. Jobs are queued and dropped by
/// [`PostStore`](kraftsoci_core::ports::PostStore) (the click, an edit, a withdrawal).
#[async_trait]
pub trait PublishQueue: Send + Sync {
    /// Claims the earliest due job (`run_after <= now`, not leased or its lease run out) for
    /// `claim` until `lease_until`, counting the attempt. `None` when nothing is due.
    async fn claim_publish_job(
        &self,
        claim: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        Ok(self
            .claim_publish_jobs(claim, now, lease_until, 1)
            .await?
            .pop())
    }

    /// Claims up to `limit` due jobs, earliest first, in one statement, all for `claim` until
    /// `lease_until`, each counting an attempt; empty when nothing is due.
    async fn claim_publish_jobs(
        &self,
        claim: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError>;

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

    /// Applies a settlement in one transaction, only while `lease` still holds the job; its
    /// [`Settlement::journal`] entry is recorded for the job's post in the same transaction.
    async fn settle_publish_job(
        &self,
        lease: &JobLease,
        settlement: &Settlement,
    ) -> Result<Settled, StoreError>;

    /// What a claimed job's run reads of its post before anything else, in one statement:
    /// the post with its consent receipt, its image and its last recovery point.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the owner has no such post; [`StoreError::Corrupt`]
    /// when the post's row does not parse (a bad image or journal entry is reported in
    /// [`JobPost`] instead, as reading it alone would).
    async fn job_post(&self, owner: UserId, post: PostId) -> Result<JobPost, StoreError>;

    /// The owner's connection `id` with its sealed token (`None` once the token was removed),
    /// in one statement; `None` when the owner has no such connection.
    async fn job_connection(
        &self,
        owner: UserId,
        id: ConnectionId,
    ) -> Result<Option<(Connection, Option<Vec<u8>>)>, StoreError>;

    /// The post's job, if any.
    async fn publish_job_record(
        &self,
        post: PostId,
    ) -> Result<Option<PublishJobRecord>, StoreError>;
}
