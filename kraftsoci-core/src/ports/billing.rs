//! Entitlements: whether a user's plan lets them generate, and the per-period quota.
//!
//! `kraftsoci-billing` implements the policy (plans, subscription status → access, periods);
//! the server's store implements the [`QuotaLedger`] it keeps counts in.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::UserId;

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKind {
    /// Generated posts (text).
    Posts,
    /// Generated images.
    Images,
}

impl QuotaKind {
    /// The stable name used in storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Posts => "posts",
            Self::Images => "images",
        }
    }
}

/// A held reservation: counted against the quota until released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaReservation {
    /// The reservation's id.
    pub id: Uuid,
    /// Whose quota.
    pub user: UserId,
    /// What it counts.
    pub kind: QuotaKind,
    /// How many units.
    pub amount: u32,
    /// The billing period it counts in (its start).
    pub period_start: DateTime<Utc>,
}

/// Why an entitlement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementError {
    /// The subscription does not grant access (status named).
    #[error("the subscription does not allow this ({status})")]
    NoAccess {
        /// The subscription status, or `none`.
        status: String,
    },
    /// The period's quota is used up.
    #[error("the monthly {kind:?} quota of {limit} is used up")]
    QuotaExceeded {
        /// Which quota.
        kind: QuotaKind,
        /// The plan's limit.
        limit: u32,
    },
    /// The ledger or billing state could not be read.
    #[error("entitlements are unavailable: {0}")]
    Unavailable(String),
}

/// Reserve before generating, commit when the result is kept, release when generation fails.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Entitlements: Send + Sync {
    /// Checks access and reserves `amount` units of `kind`.
    async fn reserve(
        &self,
        user: UserId,
        kind: QuotaKind,
        amount: u32,
    ) -> Result<QuotaReservation, EntitlementError>;

    /// Makes a reservation permanent.
    async fn commit(&self, reservation: &QuotaReservation) -> Result<(), EntitlementError>;

    /// Gives a reservation back (idempotent).
    async fn release(&self, reservation: &QuotaReservation) -> Result<(), EntitlementError>;
}

/// Storage of quota counts. Implementations must make `try_reserve` atomic: two concurrent
/// reservations can never together exceed `limit`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait QuotaLedger: Send + Sync {
    /// Reserves when `used + reserved + amount <= limit`; `Ok(false)` when it does not fit.
    async fn try_reserve(
        &self,
        reservation: &QuotaReservation,
        limit: u32,
    ) -> Result<bool, crate::StoreError>;

    /// Marks a reservation committed.
    async fn commit(&self, reservation_id: Uuid) -> Result<(), crate::StoreError>;

    /// Deletes a reservation that was not committed.
    async fn release(&self, reservation_id: Uuid) -> Result<(), crate::StoreError>;

    /// Units committed or held for `user` and `kind` in the period starting at `period_start`.
    async fn used(
        &self,
        user: UserId,
        kind: QuotaKind,
        period_start: DateTime<Utc>,
    ) -> Result<u32, crate::StoreError>;
}
