//! Storage of billing: the Stripe customer and subscription state (P05), verified Stripe
//! events applied once, payment records kept 10 years (P17), the intents whose ids derive
//! Stripe `Idempotency-Key`s, and the generation quota ledger.
//!
//! These are the server's ports; `crate::billing` adapts them to core's [`BillingStore`] and
//! [`QuotaLedger`] (adding the clock). Their names differ from core's on purpose, so that
//! [`Store`](super::Store) can carry them next to `AccountStore::account` without clashes.
//! Implemented once for both engines in `billing_queries.rs`.
//!
//! Two writes must never interleave for one user: applying an event to their account and
//! reserving quota. Each runs in one transaction that first takes the user's lock: on
//! PostgreSQL `SELECT … FROM users … FOR NO KEY UPDATE` (which leaves foreign-key checks of
//! other tables free), on SQLite `BEGIN IMMEDIATE` (the database's single write lock, taken
//! at the start so that a read-then-write cannot be overtaken).
//!
//! [`BillingStore`]: kraftsoci_core::ports::BillingStore
//! [`QuotaLedger`]: kraftsoci_core::ports::QuotaLedger

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    ApplyOutcome, BillingAccount, BillingCustomerId, BillingEvent, IdempotencyKey, PaymentRecord,
    QuotaKind, QuotaReservation,
};
use kraftsoci_core::{StoreError, UserId};
use uuid::Uuid;

/// What a billing intent is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentKind {
    /// A Stripe Checkout session.
    Checkout,
    /// A Stripe Billing Portal session.
    Portal,
}

impl IntentKind {
    /// The stored name, also the purpose part of the `Idempotency-Key`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checkout => "checkout",
            Self::Portal => "portal",
        }
    }
}

/// An intent to open: reused when the user has a pending one with the same request made at
/// or after `reuse_since`, otherwise stored under `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntent {
    /// The id to store a new intent under.
    pub id: Uuid,
    /// Whose.
    pub user: UserId,
    /// What for.
    pub kind: IntentKind,
    /// What is asked, as stable JSON (e.g. `{"plan":"starter"}`): only an identical request
    /// reuses an intent, since Stripe refuses a key reused with other parameters.
    pub request: String,
    /// Now.
    pub at: DateTime<Utc>,
    /// The oldest pending intent that may be reused.
    pub reuse_since: DateTime<Utc>,
}

/// A stored intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingIntent {
    /// Its id.
    pub id: Uuid,
    /// The key every provider call for it sends: `{kind}:{user}:{id}`.
    pub idempotency_key: IdempotencyKey,
    /// Whether an earlier, unfinished intent was reused (a retry).
    pub reused: bool,
}

/// How an intent ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentOutcome {
    /// The provider opened the session (its id; the URL is not kept).
    Opened {
        /// The provider's session id.
        session_id: String,
    },
    /// The provider refused for good; a new click gets a new intent.
    Refused {
        /// A short, non-personal reason (an error code).
        reason: String,
    },
}

/// Billing state, events, payment records and intents.
#[async_trait]
pub trait BillingStateStore: Send + Sync {
    /// The user's customer and subscription state; `None` before the first customer.
    async fn billing_account(&self, user: UserId) -> Result<Option<BillingAccount>, StoreError>;

    /// The user a Stripe customer belongs to.
    async fn billing_customer_owner(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Option<UserId>, StoreError>;

    /// Records the user's customer. [`StoreError::Conflict`] (`billing_customers_pkey`) when
    /// the user has another customer, (`billing_customers_stripe_customer_key`) when the
    /// customer belongs to another user; [`StoreError::NotFound`] for an unknown user.
    async fn link_billing_customer(
        &self,
        user: UserId,
        customer: &BillingCustomerId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records the event id and applies its effect in one transaction (see core's
    /// `BillingStore::apply_event`). An effect for a user who no longer exists changes no
    /// account; its payment record is still kept, without the user link (P17).
    async fn apply_billing_event(
        &self,
        event: &BillingEvent,
        at: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError>;

    /// The user's payment records, oldest report first.
    async fn billing_payment_records(&self, user: UserId)
    -> Result<Vec<PaymentRecord>, StoreError>;

    /// Reuses the user's pending intent for the same request, or stores a new one.
    async fn open_billing_intent(&self, intent: &NewIntent) -> Result<BillingIntent, StoreError>;

    /// Marks an intent finished. A retry after this gets a new intent (and key).
    async fn finish_billing_intent(
        &self,
        id: Uuid,
        outcome: &IntentOutcome,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// The generation quota ledger (core's `QuotaLedger` with the time passed in).
#[async_trait]
pub trait QuotaStore: Send + Sync {
    /// Reserves when `used + amount <= limit` at `reservation.reserved_at`, atomically per
    /// user; `Ok(false)` when it does not fit; `Ok(true)` again for a known reservation id.
    /// Expired holds are deleted on the way.
    async fn try_reserve_quota(
        &self,
        reservation: &QuotaReservation,
        limit: u32,
    ) -> Result<bool, StoreError>;

    /// Commits a reservation; [`StoreError::NotFound`] when it is gone.
    async fn commit_quota(&self, id: Uuid) -> Result<(), StoreError>;

    /// Deletes a reservation unless it was committed.
    async fn release_quota(&self, id: Uuid) -> Result<(), StoreError>;

    /// Committed units plus holds still live at `now`.
    async fn quota_used(
        &self,
        user: UserId,
        kind: QuotaKind,
        period_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError>;
}

/// What differs between the engines for billing's per-user serialised writes.
pub(crate) trait SerialWrites: sqlx::Database {
    /// The statement that opens such a transaction; `None` for a plain `BEGIN`.
    const BEGIN: Option<&'static str>;
    /// Answers the user's id when the user exists, locking the row until the transaction
    /// ends where the engine has row locks.
    const LOCK_USER: &'static str;
}

impl SerialWrites for sqlx::Postgres {
    const BEGIN: Option<&'static str> = None;
    // NO KEY UPDATE: serialises billing writes per user without blocking inserts elsewhere
    // that only check the user exists (their foreign keys take KEY SHARE).
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE";
}

impl SerialWrites for sqlx::Sqlite {
    // The write lock from the first statement: a deferred transaction would read, then fail
    // (or wait) when upgrading to write while another writer went first.
    const BEGIN: Option<&'static str> = Some("BEGIN IMMEDIATE");
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE id = $1";
}
