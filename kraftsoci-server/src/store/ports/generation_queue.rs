//! The generation queue (`generation_jobs`) and the idempotency keys of `POST /v1/posts`
//! (`idempotency_keys`).
//!
//! A post is created in `generating` together with its job (and its idempotency key) in one
//! transaction, so there is never a generating post without a job. Workers claim jobs with a
//! lease exactly like the publish queue (see [`PublishQueue`](super::PublishQueue)): every
//! write of the holder — each progress step, the final content or failure — is fenced by its
//! claim token, so a worker whose lease ran out (it was killed, or stalled past the lease)
//! writes nothing more, and the worker that took the job over produces the one result.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{PostMedia, PostUpdate, QuotaReservation, StoredImage};
use kraftsoci_core::{GenerationStep, PostId, PostSnapshot, StoreError, UserId};
use uuid::Uuid;

/// What a generation job is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationSpec {
    /// The topic to write about.
    pub topic: String,
    /// Write the caption, hashtags and alt text (else keep them).
    pub caption: bool,
    /// Draw the image (else keep it).
    pub image: bool,
    /// The quota the request reserved: committed when the content is kept, released when
    /// generation fails.
    pub reservations: Vec<QuotaReservation>,
}

/// An `Idempotency-Key` as stored: the owner's key and the hash of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The header's value.
    pub key: String,
    /// SHA-256 (hex) of the request body it was first used with.
    pub request_hash: String,
}

/// What creating a generating post did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The post and its job were stored.
    New,
    /// The idempotency key was already used within its lifetime (possibly by a concurrent
    /// request): nothing was stored.
    Existing {
        /// The post the key created.
        post: PostId,
        /// Whether the earlier request had the same body.
        same_request: bool,
    },
}

/// A claim on a generation job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationLease {
    /// The job's id.
    pub job: Uuid,
    /// The claim token written into `locked_by`.
    pub claim: String,
}

/// A claimed generation job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedGeneration {
    /// The claim.
    pub lease: GenerationLease,
    /// The post being generated.
    pub post: PostId,
    /// Its owner.
    pub owner: UserId,
    /// What to do.
    pub spec: GenerationSpec,
    /// Claims so far, this one included (a job taken over after a crash has more than one).
    pub attempts: u32,
}

/// Storage of the generation queue.
#[async_trait]
pub trait GenerationQueue: Send + Sync {
    /// The post an idempotency key of `owner` created at or after `since`, with its request
    /// hash; `None` when the key is unused (or only used before `since`).
    async fn idempotent_post(
        &self,
        owner: UserId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<(PostId, String)>, StoreError>;

    /// Stores a new post in `generating`, its job (due at once) and, when given, its
    /// idempotency key — all or nothing. A key already used since `key_since` answers
    /// [`Created::Existing`] and stores nothing; an older use of the key is replaced.
    async fn create_generating(
        &self,
        post: &PostSnapshot,
        media: &PostMedia,
        spec: &GenerationSpec,
        key: Option<&IdempotencyRecord>,
        key_since: DateTime<Utc>,
    ) -> Result<Created, StoreError>;

    /// Saves a post sent back to `generating` (optimistic: [`StoreError::Stale`] when it
    /// changed since it was read) and queues its job, in one transaction. A post that already
    /// has a job is [`StoreError::Conflict`].
    async fn queue_regeneration(
        &self,
        update: &PostUpdate,
        spec: &GenerationSpec,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Claims the earliest due job whose lease (if any) has run out.
    async fn claim_generation_job(
        &self,
        claim: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedGeneration>, StoreError>;

    /// Extends the lease if the claim still holds the job; whether it does.
    async fn renew_generation_lease(
        &self,
        lease: &GenerationLease,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records the post's progress, fenced by the claim; whether the claim still held.
    async fn record_generation_step(
        &self,
        lease: &GenerationLease,
        post: PostId,
        step: GenerationStep,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Settles the job, fenced by the claim, in one transaction: saves the post (its new
    /// content and `ready`, or `generation_failed`), sets its image when a new one was drawn,
    /// and deletes the job. `false` when the claim was lost (nothing written).
    async fn settle_generation(
        &self,
        lease: &GenerationLease,
        update: &PostUpdate,
        image: Option<&StoredImage>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Puts a claimed job back in the queue until `run_after` with a note (a storage failure
    /// or a shutdown); whether the claim still held.
    async fn release_generation_job(
        &self,
        lease: &GenerationLease,
        run_after: DateTime<Utc>,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes idempotency keys created before `before` (their 24 hours are over); how many.
    async fn sweep_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
