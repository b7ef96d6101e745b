//! Billing ports: entitlements and quota accounting, the billing state the server stores, and
//! the payment provider.
//!
//! `kraftsoci-billing` implements the policy (plans, subscription status → access, periods),
//! the Stripe adapter ([`BillingProvider`]) and webhook handling; the server's store implements
//! [`QuotaLedger`] and [`BillingStore`]. Nothing here names a vendor SDK type: provider ids are
//! checked strings.
//!
//! What is stored follows the privacy policy: the provider's customer id and the subscription
//! state (P05), payment records without any card detail (P13), kept for
//! [`PAYMENT_RECORD_RETENTION_YEARS`] (P17).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ParseError, StoreError, UserId};

// ---------------------------------------------------------------------------------------------
// Quotas and entitlements
// ---------------------------------------------------------------------------------------------

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

    /// Gives a reservation back (idempotent; a committed reservation stays counted).
    async fn release(&self, reservation: &QuotaReservation) -> Result<(), EntitlementError>;
}

/// Storage of quota counts. Implementations must make `try_reserve` atomic: two concurrent
/// reservations can never together exceed `limit`.
///
/// Held reservations whose [`QuotaReservation::hold_expired`] is true at the new reservation's
/// `reserved_at` do not count (and may be deleted); committed ones always count.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait QuotaLedger: Send + Sync {
    /// Reserves when `used + reserved + amount <= limit`; `Ok(false)` when it does not fit.
    /// Submitting the same reservation id again is a no-op that answers `Ok(true)`.
    async fn try_reserve(
        &self,
        reservation: &QuotaReservation,
        limit: u32,
    ) -> Result<bool, crate::StoreError>;

    /// Marks a reservation committed. [`StoreError::NotFound`] when it was released or never
    /// existed.
    async fn commit(&self, reservation_id: Uuid) -> Result<(), crate::StoreError>;

    /// Deletes a reservation that was not committed (no-op when unknown or committed).
    async fn release(&self, reservation_id: Uuid) -> Result<(), crate::StoreError>;

    /// Units committed or held for `user` and `kind` in the period starting at `period_start`.
    async fn used(
        &self,
        user: UserId,
        kind: QuotaKind,
        period_start: DateTime<Utc>,
    ) -> Result<u32, crate::StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Provider ids
// ---------------------------------------------------------------------------------------------

macro_rules! provider_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a provider id: 1 to 255 ASCII letters, digits, `_` or `-`.
            ///
            /// # Errors
            #[doc = concat!("[`ParseError`] on field `", $field, "` when the value is empty, too long or holds other characters.")]
            pub fn parse(value: impl Into<String>) -> Result<Self, ParseError> {
                let value = value.into();
                if value.is_empty() || value.len() > 255 {
                    return Err(ParseError::new($field, "must have 1 to 255 characters"));
                }
                if !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(ParseError::new($field, "must be a provider id"));
                }
                Ok(Self(value))
            }

            /// The id as the provider spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

provider_id!(
    /// The payment provider's customer id (Stripe `cus_…`): the one identifier the policy lets
    /// us keep about a paying user (P05).
    BillingCustomerId,
    "customer_id"
);
provider_id!(
    /// A subscription id (Stripe `sub_…`).
    SubscriptionId,
    "subscription_id"
);
provider_id!(
    /// An invoice id (Stripe `in_…`).
    InvoiceId,
    "invoice_id"
);
provider_id!(
    /// A price id (Stripe `price_…`), which names a plan at the provider.
    PriceId,
    "price_id"
);

// ---------------------------------------------------------------------------------------------
// Subscription state
// ---------------------------------------------------------------------------------------------

/// A subscription's status as the provider reports it. Any status this code does not know is
/// kept as [`SubscriptionStatus::Unknown`] (and grants nothing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum SubscriptionStatus {
    /// In a trial.
    Trialing,
    /// In good standing.
    Active,
    /// A renewal payment failed; retries are running.
    PastDue,
    /// The first payment failed or needs action.
    Incomplete,
    /// The first invoice stayed unpaid; terminal.
    IncompleteExpired,
    /// Retries are exhausted; invoices stay open.
    Unpaid,
    /// Ended; terminal.
    Canceled,
    /// The trial ended without a payment method.
    Paused,
    /// A status this code does not know.
    Unknown(String),
}

impl SubscriptionStatus {
    /// Every status the provider documents (not [`SubscriptionStatus::Unknown`]).
    pub const KNOWN: [SubscriptionStatus; 8] = [
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Unpaid,
        Self::Canceled,
        Self::Paused,
    ];

    /// Reads the provider's status string; never fails.
    pub fn parse(value: &str) -> Self {
        match value {
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "unpaid" => Self::Unpaid,
            "canceled" => Self::Canceled,
            "paused" => Self::Paused,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The provider's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Unpaid => "unpaid",
            Self::Canceled => "canceled",
            Self::Paused => "paused",
            Self::Unknown(other) => other,
        }
    }

    /// Whether the subscription can never change again (`canceled`, `incomplete_expired`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Canceled | Self::IncompleteExpired)
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for SubscriptionStatus {
    fn from(value: String) -> Self {
        Self::parse(&value)
    }
}

impl From<SubscriptionStatus> for String {
    fn from(value: SubscriptionStatus) -> Self {
        value.as_str().to_owned()
    }
}

/// A subscription as one webhook payload or API read showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSnapshot {
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// Its customer.
    pub customer: BillingCustomerId,
    /// Its status.
    pub status: SubscriptionStatus,
    /// The price of its (first) item: which plan it is.
    pub price_id: Option<PriceId>,
    /// Start of the current billing period.
    pub current_period_start: Option<DateTime<Utc>>,
    /// End of the current billing period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends at the end of the current period.
    pub cancel_at_period_end: bool,
    /// When the provider produced this view (the event's `created`, or the time of the read).
    /// Older views never overwrite newer ones.
    pub as_of: DateTime<Utc>,
}

/// The stored subscription state of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionState {
    /// The latest applied view.
    #[serde(flatten)]
    pub snapshot: SubscriptionSnapshot,
    /// Since when the subscription has been `past_due` (for the grace period); `None` otherwise.
    pub past_due_since: Option<DateTime<Utc>>,
}

/// What applying a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeOutcome {
    /// The stored state changed.
    Changed,
    /// The change was older than, equal to or irrelevant next to the stored state: nothing
    /// changed.
    Superseded,
}

/// A user's billing state: the provider customer and the latest subscription state (P05: no
/// other payment data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingAccount {
    /// Whose account.
    pub user: UserId,
    /// The provider's customer, once created.
    pub customer: Option<BillingCustomerId>,
    /// The subscription, once one was seen.
    pub subscription: Option<SubscriptionState>,
}

impl BillingAccount {
    /// An account with no customer and no subscription.
    pub fn new(user: UserId) -> Self {
        Self {
            user,
            customer: None,
            subscription: None,
        }
    }

    /// Records the provider customer. A user has exactly one customer: a different customer
    /// is refused ([`MergeOutcome::Superseded`]) and the first one kept.
    pub fn link_customer(&mut self, customer: &BillingCustomerId) -> MergeOutcome {
        match &self.customer {
            None => {
                self.customer = Some(customer.clone());
                MergeOutcome::Changed
            }
            Some(_) => MergeOutcome::Superseded,
        }
    }

    /// Applies a subscription view, whatever order views arrive in. Store implementations call
    /// this under the account's row lock, in the same transaction that records the event id.
    ///
    /// Rules, so that the final state does not depend on delivery order:
    /// - a view for another customer than the account's is ignored;
    /// - a terminal status (`canceled`, `incomplete_expired`) is final for its subscription:
    ///   no later or earlier view of that subscription revives it;
    /// - for the same subscription, a view older than the stored one is ignored (equal times
    ///   apply, so a terminal view wins a tie);
    /// - a different subscription replaces the stored one when it is live and either newer or
    ///   the stored one has ended; an ended other subscription never replaces a current one.
    pub fn merge(&mut self, view: &SubscriptionSnapshot) -> MergeOutcome {
        if let Some(customer) = &self.customer
            && *customer != view.customer
        {
            return MergeOutcome::Superseded;
        }
        let past_due_since = match &self.subscription {
            None => None,
            Some(current) if current.snapshot.subscription_id == view.subscription_id => {
                if current.snapshot.status.is_terminal() || view.as_of < current.snapshot.as_of {
                    return MergeOutcome::Superseded;
                }
                if current.snapshot.status == SubscriptionStatus::PastDue {
                    current.past_due_since.or(Some(current.snapshot.as_of))
                } else {
                    None
                }
            }
            Some(current) => {
                let replaces = !view.status.is_terminal()
                    && (view.as_of >= current.snapshot.as_of
                        || current.snapshot.status.is_terminal());
                if !replaces {
                    return MergeOutcome::Superseded;
                }
                None
            }
        };
        let past_due_since = if view.status == SubscriptionStatus::PastDue {
            past_due_since.or(Some(view.as_of))
        } else {
            None
        };
        let next = SubscriptionState {
            snapshot: view.clone(),
            past_due_since,
        };
        if self.subscription.as_ref() == Some(&next) {
            return MergeOutcome::Superseded;
        }
        if self.customer.is_none() {
            self.customer = Some(view.customer.clone());
        }
        self.subscription = Some(next);
        MergeOutcome::Changed
    }
}

// ---------------------------------------------------------------------------------------------
// Payment records
// ---------------------------------------------------------------------------------------------

/// How long payment records are kept, also after the account is closed (P17).
pub const PAYMENT_RECORD_RETENTION_YEARS: u32 = 10;

/// Whether an invoice was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Paid (final for the invoice).
    Paid,
    /// A payment attempt failed; the invoice may still be paid later.
    Failed,
}

/// A payment record (P17): what was billed and whether it was paid. There is deliberately no
/// field for anything about the card or the payer (P05, P13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// The invoice (one record per invoice).
    pub invoice_id: InvoiceId,
    /// Whose payment.
    pub user: UserId,
    /// The provider customer.
    pub customer: BillingCustomerId,
    /// The subscription billed, when any.
    pub subscription_id: Option<SubscriptionId>,
    /// Paid or failed.
    pub status: PaymentStatus,
    /// Amount due, in the currency's minor unit.
    pub amount_due: i64,
    /// Amount paid, in the currency's minor unit.
    pub amount_paid: i64,
    /// ISO 4217 currency code, lowercase (`eur`).
    pub currency: String,
    /// Start of the period billed.
    pub period_start: Option<DateTime<Utc>>,
    /// End of the period billed.
    pub period_end: Option<DateTime<Utc>>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// When the provider reported this state (the event's `created`).
    pub as_of: DateTime<Utc>,
}

impl PaymentRecord {
    /// Whether this record should replace `existing` (same invoice): `paid` is final, otherwise
    /// the newer report wins.
    pub fn supersedes(&self, existing: &PaymentRecord) -> bool {
        if self == existing {
            return false;
        }
        match (existing.status, self.status) {
            (PaymentStatus::Paid, PaymentStatus::Failed) => false,
            (PaymentStatus::Failed, PaymentStatus::Paid) => true,
            _ => self.as_of >= existing.as_of,
        }
    }

    /// The earliest time the record may be deleted (P17).
    pub fn retain_until(&self) -> DateTime<Utc> {
        let recorded = self.paid_at.unwrap_or(self.as_of);
        recorded
            .checked_add_months(Months::new(PAYMENT_RECORD_RETENTION_YEARS * 12))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

// ---------------------------------------------------------------------------------------------
// Provider events and their storage
// ---------------------------------------------------------------------------------------------

/// The stored effect of one provider event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum BillingEffect {
    /// A checkout completed: the user's provider customer is known.
    LinkCustomer {
        /// The user (our `client_reference_id`).
        user: UserId,
        /// Their customer.
        customer: BillingCustomerId,
    },
    /// A subscription changed: merge with [`BillingAccount::merge`].
    Subscription {
        /// Whose subscription.
        user: UserId,
        /// The view in the event.
        snapshot: SubscriptionSnapshot,
    },
    /// An invoice was paid or a payment failed: upsert by invoice id with
    /// [`PaymentRecord::supersedes`].
    Payment(PaymentRecord),
    /// A verified event this code could not read (a field it expects is missing or of another
    /// shape, e.g. after an API version change): only the event's id and type are recorded,
    /// marked unprocessable for an operator to look at (the payload stays at the provider, whose
    /// dashboard shows it). Nothing else changes.
    Unprocessable,
}

/// A verified provider event, reduced to what is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingEvent {
    /// The provider's event id (`evt_…`): the deduplication key.
    pub id: String,
    /// The event type (`customer.subscription.updated`…).
    pub kind: String,
    /// When the provider created the event.
    pub created: DateTime<Utc>,
    /// What it changes.
    pub effect: BillingEffect,
}

/// What [`BillingStore::apply_event`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyOutcome {
    /// The event was recorded and changed the stored state.
    Applied,
    /// The event was recorded but was older than (or equal to) what is stored: no change.
    Superseded,
    /// The event id was recorded before: nothing was done.
    AlreadyApplied,
    /// The effect names a user the store does not hold (never known, or erased by the purge):
    /// nothing was recorded, not even the event id, and no account was (re)created.
    UnknownUser,
}

/// Storage of billing state, implemented by the server's stores (and an in-memory store in
/// `kraftsoci-billing`, whose behaviour is the reference).
///
/// Applying an effect, inside the transaction that records the event id:
/// - [`BillingEffect::LinkCustomer`]: [`BillingAccount::link_customer`]; a customer already
///   owned by another user changes nothing ([`ApplyOutcome::Superseded`]);
/// - [`BillingEffect::Subscription`]: lock the user's account row (creating it when absent),
///   then [`BillingAccount::merge`]; a customer owned by another user changes nothing;
/// - [`BillingEffect::Payment`]: upsert by invoice id when [`PaymentRecord::supersedes`] the
///   stored record (or none is stored). Payment records outlive account erasure (P17): a
///   payment of a user the store no longer holds is kept detached from any account;
/// - [`BillingEffect::Unprocessable`]: record the event id and type, marked unprocessable,
///   and nothing else (no payload reaches the store).
///
/// A [`BillingEffect::LinkCustomer`] or [`BillingEffect::Subscription`] for a user the store
/// does not hold (never known, or erased by the purge) records nothing, not even the event id,
/// and answers [`ApplyOutcome::UnknownUser`]: a late event must never recreate an erased
/// account's billing state (P19).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// The user's billing account, if any billing state exists.
    async fn account(&self, user: UserId) -> Result<Option<BillingAccount>, StoreError>;

    /// The user a provider customer belongs to.
    async fn user_for_customer(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Option<UserId>, StoreError>;

    /// Records the user's provider customer (before any checkout with it).
    /// [`StoreError::Conflict`] when the user already has a different customer, or the
    /// customer belongs to another user.
    async fn link_customer(
        &self,
        user: UserId,
        customer: &BillingCustomerId,
    ) -> Result<(), StoreError>;

    /// Records the event id and applies its effect **atomically** (one transaction with a
    /// unique constraint on the id): a concurrent or later delivery of the same id answers
    /// [`ApplyOutcome::AlreadyApplied`] and changes nothing; a failure leaves neither the id
    /// nor the effect behind, so the provider's retry can apply it.
    async fn apply_event(&self, event: &BillingEvent) -> Result<ApplyOutcome, StoreError>;

    /// The user's payment records, oldest first.
    async fn payment_records(&self, user: UserId) -> Result<Vec<PaymentRecord>, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// The payment provider
// ---------------------------------------------------------------------------------------------

/// The key that makes a provider POST idempotent: derived from a record persisted **before**
/// the call and reused on every retry of the same intent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key: 1 to 255 visible ASCII characters.
    ///
    /// # Errors
    /// [`ParseError`] on field `idempotency_key` otherwise.
    pub fn parse(value: impl Into<String>) -> Result<Self, ParseError> {
        let value = value.into();
        if value.is_empty() || value.len() > 255 {
            return Err(ParseError::new(
                "idempotency_key",
                "must have 1 to 255 characters",
            ));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::new(
                "idempotency_key",
                "must be visible ASCII characters",
            ));
        }
        Ok(Self(value))
    }

    /// `{purpose}:{user}:{intent}`, e.g. `checkout:{user_id}:{intent_id}` for a checkout whose
    /// intent row (id `intent`) was stored before the call.
    ///
    /// # Errors
    /// [`ParseError`] when `purpose` is empty or not visible ASCII.
    pub fn for_intent(purpose: &str, user: UserId, intent: Uuid) -> Result<Self, ParseError> {
        if purpose.is_empty() || purpose.len() > 100 {
            return Err(ParseError::new(
                "idempotency_key",
                "the purpose must have 1 to 100 characters",
            ));
        }
        Self::parse(format!("{purpose}:{user}:{intent}"))
    }

    /// `customer:{user}`: one provider customer per user, whatever the retries.
    pub fn for_customer(user: UserId) -> Self {
        // A UUID is 36 visible ASCII characters: always a valid key.
        Self(format!("customer:{user}"))
    }

    /// `cancel:{closure}:{subscription}`: the cancellation of one subscription because of
    /// one account closure. `closure` is the id of the erasure request the closure recorded
    /// before any call, so every retry of that closure, in this process or a later one, sends
    /// the same key, and a second closure (after a reopened account) a new one.
    ///
    /// # Errors
    /// [`ParseError`] when the key would exceed 255 characters (a subscription id of more
    /// than 210 characters; Stripe's are about 30).
    pub fn for_cancellation(
        closure: crate::RequestId,
        subscription: &SubscriptionId,
    ) -> Result<Self, ParseError> {
        Self::parse(format!("cancel:{closure}:{subscription}"))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<IdempotencyKey> for String {
    fn from(value: IdempotencyKey) -> Self {
        value.0
    }
}

/// A subscription checkout on the provider's hosted page (P13: card entry never touches us).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRequest {
    /// The buyer (sent as `client_reference_id` and metadata, nothing else about them).
    pub user: UserId,
    /// Their provider customer.
    pub customer: BillingCustomerId,
    /// The plan's price.
    pub price_id: PriceId,
    /// Where the provider sends the buyer after paying.
    pub success_url: String,
    /// Where the provider sends the buyer after cancelling.
    pub cancel_url: String,
}

/// A session of the provider's hosted billing portal (card changes, cancellation, invoices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalRequest {
    /// The customer.
    pub customer: BillingCustomerId,
    /// Where the portal's "back" link goes.
    pub return_url: String,
}

/// A hosted page to send the user to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedSession {
    /// The provider's session id.
    pub id: String,
    /// The page.
    pub url: String,
}

/// What an immediate cancellation settles besides ending the subscription.
///
/// Both are off by default, which is Stripe's default too: the subscription ends now, the
/// period already paid is not credited, and no final invoice is made. That is what an account
/// closure wants when the customer is deleted at the purge anyway: a credit would sit on a
/// customer that is about to disappear (Stripe does not refund credit balances by itself), and
/// a final invoice would charge a closed account. Refunds are an operator's decision, made in
/// the provider's dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOptions {
    /// Make a final invoice now for un-invoiced usage and pending prorations (Stripe's
    /// `invoice_now`). With `prorate`, the unused time becomes a credit on that invoice.
    pub invoice_now: bool,
    /// Credit the unused time of the current period as a proration item (Stripe's `prorate`).
    /// Without `invoice_now` the credit waits for the customer's next invoice, which a closed
    /// account never gets.
    pub prorate: bool,
}

/// How a cancellation ended at the provider. Both variants mean the subscription bills no
/// more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cancellation", rename_all = "snake_case")]
pub enum SubscriptionCancellation {
    /// The provider cancelled it now and answered with the ended subscription.
    Canceled(SubscriptionSnapshot),
    /// The provider no longer knows it as live: already cancelled (by an earlier attempt,
    /// the portal or the dashboard) or deleted with its customer.
    AlreadyEnded,
}

/// How a customer deletion ended at the provider. Both variants mean the provider holds no
/// customer object any more (its invoices and payments stay in its ledger, as the law asks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerDeletion {
    /// The provider deleted the customer now (which also ends its live subscriptions).
    Deleted,
    /// The provider did not know the customer: deleted before (an earlier attempt whose answer
    /// was lost, or the dashboard).
    AlreadyGone,
}

/// How a caller should react to a provider failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingProviderErrorKind {
    /// The provider refused the request (4xx other than 429); retrying will not help.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The provider's error code (`resource_missing`…), when given.
        code: Option<String>,
    },
    /// The provider failed or throttled (5xx, 429, network) on every attempt.
    Unavailable,
    /// Every attempt timed out.
    Timeout,
    /// The provider answered something this adapter cannot read.
    MalformedResponse,
    /// The adapter is misconfigured (key, base URL).
    Misconfigured,
}

/// A provider failure: the kind a caller acts on, and a message safe to log (never a key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BillingProviderError {
    /// The classification.
    pub kind: BillingProviderErrorKind,
    /// What happened, with the provider's request id where known.
    pub message: String,
}

impl BillingProviderError {
    /// A new error.
    pub fn new(kind: BillingProviderErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// The payment provider, as billing needs it. Object-safe; held as `Arc<dyn BillingProvider>`.
///
/// Contract for implementers: every POST sends the given [`IdempotencyKey`] and reuses the
/// same key on each of its own retries.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BillingProvider: Send + Sync {
    /// Creates the provider customer for `user` (nothing about the user but their id is sent).
    async fn create_customer(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<BillingCustomerId, BillingProviderError>;

    /// Creates a hosted subscription checkout.
    async fn create_checkout_session(
        &self,
        request: &CheckoutRequest,
        key: &IdempotencyKey,
    ) -> Result<HostedSession, BillingProviderError>;

    /// Creates a hosted billing-portal session.
    async fn create_portal_session(
        &self,
        request: &PortalRequest,
        key: &IdempotencyKey,
    ) -> Result<HostedSession, BillingProviderError>;

    /// Reads a subscription as it is now.
    async fn fetch_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<SubscriptionSnapshot, BillingProviderError>;

    /// Reads the customer's most recently created subscription, whatever its status.
    async fn latest_subscription(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Option<SubscriptionSnapshot>, BillingProviderError>;

    /// Reads every subscription of the customer that has not ended (any status but the
    /// terminal ones), in the provider's order. A customer the provider does not know has
    /// none.
    async fn open_subscriptions(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Vec<SubscriptionSnapshot>, BillingProviderError>;

    /// Cancels a subscription immediately (not at the period's end), sending `key` on every
    /// attempt. A subscription the provider no longer knows as live answers
    /// [`SubscriptionCancellation::AlreadyEnded`], never an error.
    async fn cancel_subscription(
        &self,
        subscription: &SubscriptionId,
        options: CancelOptions,
        key: &IdempotencyKey,
    ) -> Result<SubscriptionCancellation, BillingProviderError>;

    /// Deletes the provider's customer object (its live subscriptions end with it). A customer
    /// the provider does not know answers [`CustomerDeletion::AlreadyGone`], never an error.
    async fn delete_customer(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<CustomerDeletion, BillingProviderError>;
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, TimeZone};

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    fn view(sub: &str, status: &str, as_of: i64) -> SubscriptionSnapshot {
        SubscriptionSnapshot {
            subscription_id: SubscriptionId::parse(sub).unwrap(),
            customer: BillingCustomerId::parse("cus_1").unwrap(),
            status: SubscriptionStatus::parse(status),
            price_id: Some(PriceId::parse("price_1").unwrap()),
            current_period_start: Some(at(0)),
            current_period_end: Some(at(30 * 86_400)),
            cancel_at_period_end: false,
            as_of: at(as_of),
        }
    }

    fn status_of(account: &BillingAccount) -> &str {
        account
            .subscription
            .as_ref()
            .map(|s| s.snapshot.status.as_str())
            .unwrap_or("none")
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_kept() {
        for status in SubscriptionStatus::KNOWN {
            assert_eq!(SubscriptionStatus::parse(status.as_str()), status);
        }
        let odd = SubscriptionStatus::parse("frozen");
        assert_eq!(odd, SubscriptionStatus::Unknown("frozen".into()));
        assert_eq!(serde_json::to_string(&odd).unwrap(), "\"frozen\"");
    }

    #[test]
    fn an_older_view_of_the_same_subscription_is_ignored() {
        let mut account = BillingAccount::new(UserId::new());
        assert_eq!(
            account.merge(&view("sub_1", "past_due", 20)),
            MergeOutcome::Changed
        );
        assert_eq!(
            account.merge(&view("sub_1", "active", 10)),
            MergeOutcome::Superseded
        );
        assert_eq!(status_of(&account), "past_due");
    }

    #[test]
    fn a_canceled_subscription_is_never_revived_even_by_a_same_second_view() {
        let mut account = BillingAccount::new(UserId::new());
        account.merge(&view("sub_1", "canceled", 10));
        assert_eq!(
            account.merge(&view("sub_1", "active", 10)),
            MergeOutcome::Superseded
        );
        assert_eq!(
            account.merge(&view("sub_1", "active", 99)),
            MergeOutcome::Superseded
        );
        assert_eq!(status_of(&account), "canceled");
    }

    #[test]
    fn a_new_live_subscription_replaces_an_ended_one_in_any_order() {
        let mut account = BillingAccount::new(UserId::new());
        account.merge(&view("sub_old", "canceled", 50));
        assert_eq!(
            account.merge(&view("sub_new", "active", 40)),
            MergeOutcome::Changed
        );
        // The old one's late cancellation does not touch the new subscription.
        assert_eq!(
            account.merge(&view("sub_old", "canceled", 60)),
            MergeOutcome::Superseded
        );
        assert_eq!(status_of(&account), "active");
    }

    #[test]
    fn past_due_remembers_when_it_started() {
        let mut account = BillingAccount::new(UserId::new());
        account.merge(&view("sub_1", "active", 0));
        account.merge(&view("sub_1", "past_due", 100));
        account.merge(&view("sub_1", "past_due", 200));
        let state = account.subscription.as_ref().unwrap();
        assert_eq!(state.past_due_since, Some(at(100)));
        account.merge(&view("sub_1", "active", 300));
        assert_eq!(account.subscription.as_ref().unwrap().past_due_since, None);
    }

    #[test]
    fn a_view_for_another_customer_is_ignored() {
        let mut account = BillingAccount::new(UserId::new());
        account.link_customer(&BillingCustomerId::parse("cus_mine").unwrap());
        assert_eq!(
            account.merge(&view("sub_1", "active", 0)),
            MergeOutcome::Superseded
        );
        assert!(account.subscription.is_none());
    }

    #[test]
    fn a_paid_invoice_stays_paid() {
        let paid = PaymentRecord {
            invoice_id: InvoiceId::parse("in_1").unwrap(),
            user: UserId::new(),
            customer: BillingCustomerId::parse("cus_1").unwrap(),
            subscription_id: None,
            status: PaymentStatus::Paid,
            amount_due: 900,
            amount_paid: 900,
            currency: "eur".into(),
            period_start: None,
            period_end: None,
            paid_at: Some(at(10)),
            as_of: at(10),
        };
        let failed = PaymentRecord {
            status: PaymentStatus::Failed,
            amount_paid: 0,
            paid_at: None,
            as_of: at(20),
            ..paid.clone()
        };
        assert!(!failed.supersedes(&paid));
        assert!(paid.supersedes(&failed));
        assert_eq!(paid.retain_until().year(), 2027 + 10);
    }

    #[test]
    fn a_cancellation_key_is_the_same_for_every_retry_of_one_closure_and_differs_between_closures()
    {
        let closure = crate::RequestId::new();
        let sub = SubscriptionId::parse("sub_1QzX8e2eZvKYlo2C").unwrap();
        let first = IdempotencyKey::for_cancellation(closure, &sub).unwrap();
        let again = IdempotencyKey::for_cancellation(closure, &sub).unwrap();
        assert_eq!(first, again);
        assert_eq!(
            first.as_str(),
            format!("cancel:{closure}:sub_1QzX8e2eZvKYlo2C")
        );
        let later = IdempotencyKey::for_cancellation(crate::RequestId::new(), &sub).unwrap();
        assert_ne!(first, later);
        let other = SubscriptionId::parse("sub_other").unwrap();
        assert_ne!(
            first,
            IdempotencyKey::for_cancellation(closure, &other).unwrap()
        );
        let long = SubscriptionId::parse("s".repeat(255)).unwrap();
        assert!(IdempotencyKey::for_cancellation(closure, &long).is_err());
    }

    #[test]
    fn idempotency_keys_are_checked() {
        let user = UserId::new();
        let intent = Uuid::new_v4();
        let key = IdempotencyKey::for_intent("checkout", user, intent).unwrap();
        assert_eq!(key.as_str(), format!("checkout:{user}:{intent}"));
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse("k".repeat(256)).is_err());
        assert!(BillingCustomerId::parse("cus_ 1").is_err());
    }
}
