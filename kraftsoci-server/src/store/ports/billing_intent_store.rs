//! Billing intents: a checkout or portal click stored before the Stripe call, whose id derives
//! the `Idempotency-Key` every retry of that call sends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::IdempotencyKey;
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

/// Billing intents.
#[async_trait]
pub trait BillingIntentStore: Send + Sync {
    /// Reuses the user's pending intent for the same request, or stores a new one, under the
    /// user's lock (so a double click reuses one pending intent too).
    /// [`StoreError::NotFound`] for an unknown user.
    async fn open_billing_intent(&self, intent: &NewIntent) -> Result<BillingIntent, StoreError>;

    /// Marks an intent finished. A retry after this gets a new intent (and key).
    async fn finish_billing_intent(
        &self,
        id: Uuid,
        outcome: &IntentOutcome,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
