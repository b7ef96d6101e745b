//! The data-subject rights: requests (P33), account closure (P19, P28), the export (P26, P30)
//! and Meta's data-deletion requests (P34). The connections a Meta user made are found through
//! [`ConnectionStore`](kraftsoci_core::ports::ConnectionStore).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{DataSubjectRequest, RequestId, StoreError, UserId};
use serde_json::{Map, Value};

use crate::store::user_tables::UserTable;

/// Closing an account: processing stops at once, and everything but payment records is
/// purged by `purge_after` (P19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// The account.
    pub user: UserId,
    /// When it is closed.
    pub at: DateTime<Utc>,
    /// When the retention sweep must have purged it (closure + 30 days).
    pub purge_after: DateTime<Utc>,
    /// The erasure request recorded with the closure (P33).
    pub request: DataSubjectRequest,
}

/// What closing an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosureOutcome {
    /// The account was open and is now closed.
    Closed {
        /// The purge deadline.
        purge_after: DateTime<Utc>,
        /// Refresh tokens revoked (every session ends; the token epoch moved too).
        sessions_revoked: u64,
        /// Instagram tokens deleted.
        tokens_removed: u64,
        /// Approved or scheduled posts withdrawn.
        posts_withdrawn: u64,
        /// Publish jobs deleted.
        jobs_removed: u64,
    },
    /// The account was already closed; nothing changed and no new request was recorded.
    AlreadyClosed {
        /// The purge deadline set at the first closure.
        purge_after: DateTime<Utc>,
    },
}

impl ClosureOutcome {
    /// The purge deadline.
    pub fn purge_after(&self) -> DateTime<Utc> {
        match self {
            Self::Closed { purge_after, .. } | Self::AlreadyClosed { purge_after } => *purge_after,
        }
    }
}

/// The paging key of an export row (its table's `key` column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportKey {
    /// A UUID key.
    Id(uuid::Uuid),
    /// A text key.
    Text(String),
    /// An integer key.
    Integer(i64),
}

/// One page of a table's rows for the export.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportPage {
    /// The rows, each the table's exported columns by name.
    pub rows: Vec<Map<String, Value>>,
    /// The key to continue after, when the page was full.
    pub next: Option<ExportKey>,
}

/// Where a Meta data-deletion request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaDeletionStatus {
    /// The matching accounts are closed; their purge is pending.
    Received,
    /// Every matching account has been purged.
    Completed,
    /// No account was linked to that Meta user: nothing to delete.
    NothingHeld,
}

impl MetaDeletionStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Completed => "completed",
            Self::NothingHeld => "nothing_held",
        }
    }

    /// Parses [`MetaDeletionStatus::as_str`]'s output.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for anything else.
    pub fn parse(value: &str) -> Result<Self, StoreError> {
        match value {
            "received" => Ok(Self::Received),
            "completed" => Ok(Self::Completed),
            "nothing_held" => Ok(Self::NothingHeld),
            other => Err(StoreError::Corrupt(format!(
                "meta_deletion_requests.status: unknown status {other:?}"
            ))),
        }
    }
}

/// A data-deletion request Meta sent (P34). It outlives the accounts it erases, without them,
/// so that its status page keeps answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaDeletion {
    /// The code Meta shows the person.
    pub confirmation_code: String,
    /// Hex SHA-256 of the app-scoped Meta user id.
    pub app_user_hash: String,
    /// The account it closed, when exactly one matched (cleared by the purge).
    pub user: Option<UserId>,
    /// Where it stands.
    pub status: MetaDeletionStatus,
    /// When Meta asked.
    pub created_at: DateTime<Utc>,
    /// When the last matching account was purged (or, with nothing held, when it was
    /// answered).
    pub completed_at: Option<DateTime<Utc>>,
}

/// Data-subject requests, closure, the export and Meta's callbacks.
#[async_trait]
pub trait RightsStore: Send + Sync {
    /// Records a request.
    async fn record_request(&self, request: &DataSubjectRequest) -> Result<(), StoreError>;

    /// Marks one of the user's requests completed at `at` (a completed one keeps its time).
    /// [`StoreError::NotFound`] when it is not the user's.
    async fn complete_request(
        &self,
        user: UserId,
        id: RequestId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The user's requests, newest first.
    async fn requests(&self, user: UserId) -> Result<Vec<DataSubjectRequest>, StoreError>;

    /// Up to `limit` requests of every user still waiting for an answer, the earliest due
    /// first; with `due_before`, only those due before it (overdue at that instant, P33).
    async fn open_requests(
        &self,
        due_before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<DataSubjectRequest>, StoreError>;

    /// Closes an account in one transaction: sets `closed_at` and `purge_after`, moves the
    /// token epoch (every access token dies), revokes every refresh token, spends reset tokens
    /// and OAuth states, deletes the Instagram tokens, withdraws approved or scheduled posts,
    /// deletes the publish jobs, records the erasure request and the billing stop that
    /// [`ErasureTaskStore`](super::ErasureTaskStore) settles (P19). Closing a closed account
    /// changes nothing. [`StoreError::NotFound`] when there is no such account.
    async fn close_account(&self, closure: &Closure) -> Result<ClosureOutcome, StoreError>;

    /// One page of the user's rows of `table`, after `after`, at most `limit` rows.
    async fn export_page(
        &self,
        table: &UserTable,
        user: UserId,
        after: Option<&ExportKey>,
        limit: u32,
    ) -> Result<ExportPage, StoreError>;

    /// Records a Meta data-deletion request.
    async fn insert_meta_deletion(&self, request: &MetaDeletion) -> Result<(), StoreError>;

    /// A Meta data-deletion request by its confirmation code.
    async fn meta_deletion(&self, code: &str) -> Result<Option<MetaDeletion>, StoreError>;
}
