//! Verified provider events, reduced to what is stored, and what applying one did.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BillingCustomerId, PaymentRecord, SubscriptionSnapshot};
use crate::UserId;

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
    /// A subscription changed: merge with [`BillingAccount::merge`](super::BillingAccount::merge).
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

/// What [`BillingStore::apply_event`](crate::ports::BillingStore::apply_event) did.
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
