//! Storage: the failure every storage port reports.
//!
//! The storage ports themselves are one per table or aggregate, each in its own file
//! ([`AccountStore`](super::AccountStore), [`ProfileStore`](super::ProfileStore),
//! [`ConnectionStore`](super::ConnectionStore), [`PostStore`](super::PostStore),
//! [`UsageLogStore`](super::UsageLogStore), [`PublishJournal`](super::PublishJournal),
//! [`RetentionStore`](crate::RetentionStore), [`BillingStore`](super::BillingStore),
//! [`QuotaLedger`](super::QuotaLedger)); the server's sqlx stores implement every one of them.
//! Every method that reads or writes a user's object takes the owner's
//! [`UserId`](crate::UserId), so that a query can never reach another tenant's row: another
//! user's object is simply not found.

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such row (or not the caller's).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write (named, e.g. `users_email_key`).
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint's name.
        constraint: String,
    },
    /// The caller's input cannot be used as given (a cursor this server did not produce): the
    /// request, not the database, is at fault. The message is safe to show.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A concurrent change won (optimistic check failed).
    #[error("the row changed concurrently")]
    Stale,
    /// Stored data could not be read back into domain types.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database is unreachable or failed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}
