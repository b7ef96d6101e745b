//! Billing ports: entitlements and quota accounting, the billing state the server stores, and
//! the payment provider.
//!
//! `kraftsoci-billing` implements the policy (plans, subscription status → access, periods),
//! the Stripe adapter ([`BillingProvider`]) and webhook handling; the server's store implements
//! [`QuotaLedger`] and [`BillingStore`]. Nothing here names a vendor SDK type: the types these
//! traits speak are the billing domain of [`crate::billing`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::billing::{
    ApplyOutcome, BillingAccount, BillingCustomerId, BillingEvent, BillingProviderError,
    CancelOptions, CheckoutRequest, CustomerDeletion, EntitlementError, HostedSession,
    IdempotencyKey, PaymentRecord, PortalRequest, QuotaKind, QuotaReservation,
    SubscriptionCancellation, SubscriptionId, SubscriptionSnapshot,
};
use crate::{StoreError, UserId};

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
    ) -> Result<bool, StoreError>;

    /// Marks a reservation committed. [`StoreError::NotFound`] when it was released or never
    /// existed.
    async fn commit(&self, reservation_id: Uuid) -> Result<(), StoreError>;

    /// Deletes a reservation that was not committed (no-op when unknown or committed).
    async fn release(&self, reservation_id: Uuid) -> Result<(), StoreError>;

    /// Units committed or held for `user` and `kind` in the period starting at `period_start`.
    async fn used(
        &self,
        user: UserId,
        kind: QuotaKind,
        period_start: DateTime<Utc>,
    ) -> Result<u32, StoreError>;
}

/// Storage of billing state, implemented by the server's stores (and an in-memory store in
/// `kraftsoci-billing`, whose behaviour is the reference).
///
/// Applying an effect, inside the transaction that records the event id (see
/// [`BillingEffect`](crate::billing::BillingEffect)):
/// - `LinkCustomer`: [`BillingAccount::link_customer`]; a customer already owned by another
///   user changes nothing ([`ApplyOutcome::Superseded`]);
/// - `Subscription`: lock the user's account row (creating it when absent), then
///   [`BillingAccount::merge`]; a customer owned by another user changes nothing;
/// - `Payment`: upsert by invoice id when [`PaymentRecord::supersedes`] the stored record (or
///   none is stored). Payment records outlive account erasure (P17): a payment of a user the
///   store no longer holds is kept detached from any account;
/// - `Unprocessable`: record the event id and type, marked unprocessable, and nothing else (no
///   payload reaches the store).
///
/// A `LinkCustomer` or `Subscription` effect for a user the store does not hold (never known,
/// or erased by the purge) records nothing, not even the event id, and answers
/// [`ApplyOutcome::UnknownUser`]: a late event must never recreate an erased account's billing
/// state (P19).
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
