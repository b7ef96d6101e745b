//! Stripe webhooks: verify the signature over the raw body, read the event, apply it once.

mod events;
mod signature;

use std::sync::Arc;

use kraftsoci_core::Clock;
use kraftsoci_core::ports::{ApplyOutcome, BillingEffect, BillingEvent, BillingStore};
use serde::Serialize;

use crate::BillingError;
pub use events::HANDLED_EVENT_TYPES;
use events::Meaning;
pub use signature::{WebhookVerifier, signature_header};

/// What happened to a delivery that passed verification. Every variant answers 2xx. More
/// fields may come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WebhookOutcome {
    /// The event id.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// What was done.
    pub result: WebhookResult,
}

/// What was done with a verified event. More outcomes may come; [`WebhookResult::as_str`]
/// names any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WebhookResult {
    /// Applied for the first time; the stored state changed.
    Applied,
    /// Recorded, but older than the stored state (out of order): nothing changed.
    Superseded,
    /// A duplicate delivery: nothing was done.
    AlreadyApplied,
    /// Acknowledged and ignored (an unhandled type, or not about one of our users).
    Ignored(&'static str),
}

impl WebhookResult {
    /// The outcome's name, as serialised: `applied`, `superseded`, `already_applied` or
    /// `ignored`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Superseded => "superseded",
            Self::AlreadyApplied => "already_applied",
            Self::Ignored(_) => "ignored",
        }
    }
}

impl From<ApplyOutcome> for WebhookResult {
    fn from(outcome: ApplyOutcome) -> Self {
        match outcome {
            ApplyOutcome::Applied => Self::Applied,
            ApplyOutcome::Superseded => Self::Superseded,
            ApplyOutcome::AlreadyApplied => Self::AlreadyApplied,
        }
    }
}

/// Verifies and applies Stripe webhook deliveries.
///
/// Safe under at-least-once, unordered delivery: the store records the event id and its effect
/// in one transaction, and subscription views merge by their `created` time with terminal
/// statuses final (see [`kraftsoci_core::ports::BillingAccount::merge`]), so the final state
/// does not depend on arrival order.
pub struct WebhookProcessor {
    verifier: WebhookVerifier,
    store: Arc<dyn BillingStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WebhookProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookProcessor")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl WebhookProcessor {
    /// A processor writing to `store`, checking timestamps against `clock`.
    pub fn new(
        verifier: WebhookVerifier,
        store: Arc<dyn BillingStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            verifier,
            store,
            clock,
        }
    }

    /// Handles one delivery: `signature` is the `Stripe-Signature` header (`None` when absent),
    /// `body` the raw request body, exactly as received.
    ///
    /// # Errors
    /// A signature or payload failure ([`BillingError::is_bad_webhook`]: answer 400, nothing
    /// was written), or [`BillingError::Store`] (answer 5xx: nothing was written, the
    /// provider retries).
    #[tracing::instrument(skip_all, fields(event_id, event_type))]
    pub async fn handle(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookOutcome, BillingError> {
        self.verifier.verify(signature, body, self.clock.now())?;
        let event = events::parse(body)?;
        let span = tracing::Span::current();
        span.record("event_id", event.id.as_str());
        span.record("event_type", event.kind.as_str());

        let effect = match self.effect(event.meaning, event.created).await? {
            Ok(effect) => effect,
            Err(reason) => {
                tracing::info!(reason, "stripe event acknowledged and ignored");
                return Ok(WebhookOutcome {
                    event_id: event.id,
                    event_type: event.kind,
                    result: WebhookResult::Ignored(reason),
                });
            }
        };
        let stored = BillingEvent {
            id: event.id,
            kind: event.kind,
            created: event.created,
            effect,
        };
        let outcome = self.store.apply_event(&stored).await?;
        tracing::info!(?outcome, "stripe event processed");
        Ok(WebhookOutcome {
            event_id: stored.id,
            event_type: stored.kind,
            result: outcome.into(),
        })
    }

    /// The effect to store, or why the event is ignored.
    async fn effect(
        &self,
        meaning: Meaning,
        created: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<BillingEffect, &'static str>, BillingError> {
        Ok(match meaning {
            Meaning::Ignore(reason) => Err(reason),
            Meaning::LinkCustomer { user, customer } => {
                Ok(BillingEffect::LinkCustomer { user, customer })
            }
            Meaning::Subscription {
                snapshot,
                user_hint,
            } => match self.resolve_user(&snapshot.customer, user_hint).await? {
                Some(user) => Ok(BillingEffect::Subscription { user, snapshot }),
                None => Err("subscription of a customer that is not ours"),
            },
            Meaning::Invoice {
                invoice,
                status,
                user_hint,
            } => {
                let customer = invoice.customer().map_err(BillingError::MalformedEvent)?;
                match self.resolve_user(&customer, user_hint).await? {
                    Some(user) => Ok(BillingEffect::Payment(
                        invoice
                            .record(user, status, created)
                            .map_err(BillingError::MalformedEvent)?,
                    )),
                    None => Err("invoice of a customer that is not ours"),
                }
            }
        })
    }

    /// The customer's owner; failing that, the user id our checkout put in the metadata.
    async fn resolve_user(
        &self,
        customer: &kraftsoci_core::ports::BillingCustomerId,
        hint: Option<kraftsoci_core::UserId>,
    ) -> Result<Option<kraftsoci_core::UserId>, BillingError> {
        Ok(self.store.user_for_customer(customer).await?.or(hint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_result_is_named_as_it_is_serialised() {
        for result in [
            WebhookResult::Applied,
            WebhookResult::Superseded,
            WebhookResult::AlreadyApplied,
            WebhookResult::Ignored("not ours"),
        ] {
            let json = serde_json::to_value(result).unwrap();
            assert_eq!(json["result"], result.as_str(), "{result:?}");
        }
    }
}
