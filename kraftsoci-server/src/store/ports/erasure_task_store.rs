//! The follow-ups of an erasure that outlive the request that started them (P19, P28): a
//! closed account's billing stop until Stripe confirms it, and the closed accounts whose purge
//! failed, for the operator.
//!
//! The billing stop is written by [`RightsStore::close_account`](super::RightsStore) in the
//! closure's own transaction, so no closure exists without it; this port lists and settles it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{RequestId, StoreError, UserId};

/// A closed account whose billing Stripe has not confirmed stopped yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBillingStop {
    /// The account.
    pub user: UserId,
    /// The erasure request of the closure: every cancel's `Idempotency-Key` derives from it, so
    /// each retry sends the same keys.
    pub request: RequestId,
    /// When the account was closed.
    pub requested_at: DateTime<Utc>,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last attempt's error (Stripe's status and request id; never a key).
    pub last_error: Option<String>,
}

/// A closed account whose purge failed, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeFailure {
    /// The account.
    pub user: UserId,
    /// The first failure.
    pub first_failed_at: DateTime<Utc>,
    /// The latest failure.
    pub last_failed_at: DateTime<Utc>,
    /// Failed runs so far.
    pub failures: u32,
    /// The latest cause (ids and provider status only).
    pub error: String,
    /// When the account must be purged by (P19).
    pub purge_after: Option<DateTime<Utc>>,
}

/// Billing stops and purge failures.
#[async_trait]
pub trait ErasureTaskStore: Send + Sync {
    /// Up to `limit` billing stops Stripe has not confirmed, oldest closure first.
    async fn pending_billing_stops(
        &self,
        limit: u32,
    ) -> Result<Vec<PendingBillingStop>, StoreError>;

    /// Records an attempt to stop the user's billing at `at`: `error` is `None` when Stripe
    /// confirmed (the stop is then settled and never listed again), else why it did not.
    /// Settled or unknown stops are left as they are.
    async fn record_billing_stop_attempt(
        &self,
        user: UserId,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Records that the purge of a closed account failed at `at` because of `error`; counts
    /// the failures of the same account. An account that no longer exists is left alone (it
    /// was purged meanwhile). The row goes with the account when its purge succeeds.
    async fn record_purge_failure(
        &self,
        user: UserId,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Every account whose purge failed and is still waiting, oldest deadline first.
    async fn purge_failures(&self) -> Result<Vec<PurgeFailure>, StoreError>;
}
