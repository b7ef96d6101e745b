//! Quotas: what a plan counts, the reservations held against it, and why one is refused.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::UserId;

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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

impl fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long an uncommitted reservation holds quota. A process that dies between reserve and
/// commit/release must not eat the quota for the rest of the period, so ledgers stop counting
/// held reservations older than this (generation takes seconds to a couple of minutes).
pub const RESERVATION_TTL: Duration = Duration::from_secs(30 * 60);

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
    /// When it was made; held (uncommitted) reservations expire after [`RESERVATION_TTL`].
    pub reserved_at: DateTime<Utc>,
}

impl QuotaReservation {
    /// Whether a reservation that is still held (not committed) has stopped counting at `now`.
    pub fn hold_expired(&self, now: DateTime<Utc>) -> bool {
        let ttl = chrono::Duration::from_std(RESERVATION_TTL).unwrap_or(chrono::Duration::MAX);
        now.signed_duration_since(self.reserved_at) > ttl
    }
}

/// Why an entitlement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntitlementError {
    /// The subscription does not grant access (status named).
    #[error("the subscription does not allow this ({status})")]
    NoAccess {
        /// The subscription status, or `none`.
        status: String,
    },
    /// The period's quota is used up.
    #[error("the monthly {kind} quota of {limit} is used up")]
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
