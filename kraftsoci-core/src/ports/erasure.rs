//! Erasure at outside processors: what an account's purge must reach beyond our own storage.

use async_trait::async_trait;

use crate::UserId;

/// A processor did not confirm an erasure. The message is safe to log and show to an operator
/// (never a key, never personal data beyond ids).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProcessorErasureError {
    /// What happened, e.g. the provider's status and request id.
    pub message: String,
}

impl ProcessorErasureError {
    /// A new error.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Erases what an outside processor holds about an account, e.g. the payment provider's
/// customer object (P19, P28).
///
/// The retention sweeper calls every registered processor **before** it deletes the account's
/// media and rows: the ids needed to reach the processor (a customer id) live in those rows, so
/// a processor that fails leaves the whole account in place for the next run, and a processor
/// that succeeded is simply asked again then (implementations must be idempotent: "already
/// erased" is success).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProcessorErasure: Send + Sync {
    /// The processor's name for reports and logs (`"stripe"`).
    fn processor(&self) -> &'static str;

    /// Erases the account's data at the processor. `Ok` once the processor confirmed it, or
    /// when it held nothing about the account.
    async fn erase_account(&self, user: UserId) -> Result<(), ProcessorErasureError>;
}
