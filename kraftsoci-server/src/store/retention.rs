//! The storage side of the retention sweep (P17, P18, P19, P24): bounded deletes and their dry-run
//! counts.
//!
//! These are core's [`RetentionStore`](kraftsoci_core::RetentionStore) operations with one
//! difference: the account purge takes the time it happens, because completing the Meta
//! data-deletion requests of a purged account records when (every timestamp comes from the
//! caller's clock). [`crate::retention::SweepStore`] adapts them to core's port.
//!
//! Every delete takes at most `limit` rows through `DELETE … WHERE key IN (SELECT key … LIMIT
//! n)`, so one statement stays short, and every operation is idempotent, so several replicas
//! can sweep at once. Implemented once for both engines in `retention_queries.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::retention::PurgeReport;
use kraftsoci_core::{StoreError, UserId};

/// Bounded retention deletes and their counts.
#[async_trait]
pub trait RetentionOps: Send + Sync {
    /// Deletes up to `limit` usage-log entries written before `cutoff` (P18).
    async fn purge_usage_log_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the usage-log entries written before `cutoff`.
    async fn count_usage_log_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes up to `limit` refresh tokens, reset tokens and OAuth states that expired before
    /// `expired_before`.
    async fn purge_expired_auth_artifacts(
        &self,
        expired_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the authentication artifacts that expired before `expired_before`.
    async fn count_expired_auth_artifacts(
        &self,
        expired_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Up to `limit` accounts closed before `closed_before`, oldest closure first.
    async fn closed_accounts_due(
        &self,
        closed_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError>;

    /// Counts the accounts closed before `closed_before`.
    async fn count_closed_accounts_due(
        &self,
        closed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Purges a **closed** account in one transaction: every row of every table in
    /// [`USER_TABLES`](super::user_tables::USER_TABLES) is deleted, except payment records,
    /// which only lose their link to the user (P17); the Meta data-deletion requests that
    /// were waiting for this account are completed at `now`. An account that no longer exists
    /// (another replica purged it) is `Ok` with nothing deleted; an open account is refused
    /// with [`StoreError::NotFound`].
    async fn purge_closed_account(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<PurgeReport, StoreError>;

    /// Deletes up to `limit` payment records recorded (paid, else reported) before `cutoff`.
    async fn purge_payment_records_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the payment records recorded before `cutoff`.
    async fn count_payment_records_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
}
