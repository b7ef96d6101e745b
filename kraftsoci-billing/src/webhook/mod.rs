//! Stripe webhooks: verify the signature over the raw body, read the event, apply it once.

mod events;
mod signature;

use std::sync::Arc;

use kraftsoci_core::Clock;
use kraftsoci_core::ports::{ApplyOutcome, BillingEffect, BillingEvent, BillingStore};
use serde::Serialize;

use crate::BillingError;
pub use events::HANDLED_EVENT_TYPES;
use events::{Meaning, Unreadable};
pub use signature::{WebhookVerifier, signature_header};

/// What happened to a delivery that passed verification. Every variant answers 2xx. More
/// fields may come. `event_id` and `event_type` are empty only for a body that was not even a
/// readable event envelope ([`WebhookResult::Unprocessable`]).
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
    /// Acknowledged and ignored: an unhandled type, or a checkout that is not one of ours.
    Ignored(&'static str),
    /// Acknowledged and ignored because the customer is not (or no longer) one of ours: never
    /// known, or erased by an account's purge. Nothing was recorded, no account was
    /// (re)created, and nothing of the payload reached the store.
    IgnoredUnknownCustomer,
    /// The signature was valid but the event could not be read (a field this code expects is
    /// missing or of another shape, e.g. after an API version change). Only its id and type
    /// were recorded, marked unprocessable for an operator (the payload stays in Stripe's
    /// dashboard); the reason is logged without any value from the payload. Acknowledged
    /// rather than refused: Stripe retries a 4xx for days, and the same body will never read
    /// better.
    Unprocessable,
}

impl WebhookResult {
    /// The outcome's name, as serialised: `applied`, `superseded`, `already_applied`,
    /// `ignored`, `ignored_unknown_customer` or `unprocessable`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Superseded => "superseded",
            Self::AlreadyApplied => "already_applied",
            Self::Ignored(_) => "ignored",
            Self::IgnoredUnknownCustomer => "ignored_unknown_customer",
            Self::Unprocessable => "unprocessable",
        }
    }
}

impl From<ApplyOutcome> for WebhookResult {
    fn from(outcome: ApplyOutcome) -> Self {
        match outcome {
            ApplyOutcome::Applied => Self::Applied,
            ApplyOutcome::Superseded => Self::Superseded,
            ApplyOutcome::AlreadyApplied => Self::AlreadyApplied,
            ApplyOutcome::UnknownUser => Self::IgnoredUnknownCustomer,
        }
    }
}

/// What a read event comes to once its user is resolved.
enum Resolution {
    Effect(BillingEffect),
    Ignored(&'static str),
    UnknownCustomer,
    Unreadable(String),
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
    /// Once the signature holds, every delivery is acknowledged: events of customers that are
    /// not (or no longer) ours answer [`WebhookResult::IgnoredUnknownCustomer`] and record
    /// nothing, and events this code cannot read answer [`WebhookResult::Unprocessable`] with
    /// only their id and type recorded.
    ///
    /// # Errors
    /// A signature failure ([`BillingError::is_bad_webhook`]: answer 400, nothing was
    /// written), or [`BillingError::Store`] (answer 5xx: nothing was written, the provider
    /// retries).
    #[tracing::instrument(skip_all, fields(event_id, event_type))]
    pub async fn handle(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookOutcome, BillingError> {
        self.verifier.verify(signature, body, self.clock.now())?;
        let event = match events::parse(body) {
            Ok(event) => event,
            Err(unreadable) => return self.unprocessable(unreadable).await,
        };
        let span = tracing::Span::current();
        span.record("event_id", event.id.as_str());
        span.record("event_type", event.kind.as_str());

        let outcome = |event_id: String, event_type: String, result| WebhookOutcome {
            event_id,
            event_type,
            result,
        };
        let effect = match self.resolve(event.meaning, event.created).await? {
            Resolution::Effect(effect) => effect,
            Resolution::Ignored(reason) => {
                tracing::info!(reason, "stripe event acknowledged and ignored");
                return Ok(outcome(
                    event.id,
                    event.kind,
                    WebhookResult::Ignored(reason),
                ));
            }
            Resolution::UnknownCustomer => {
                tracing::info!("stripe event of a customer that is not ours; ignored");
                return Ok(outcome(
                    event.id,
                    event.kind,
                    WebhookResult::IgnoredUnknownCustomer,
                ));
            }
            Resolution::Unreadable(reason) => {
                return self
                    .unprocessable(Unreadable {
                        id: Some(event.id),
                        kind: Some(event.kind),
                        created: Some(event.created),
                        reason,
                    })
                    .await;
            }
        };
        let stored = BillingEvent {
            id: event.id,
            kind: event.kind,
            created: event.created,
            effect,
        };
        let applied = self.store.apply_event(&stored).await?;
        tracing::info!(outcome = ?applied, "stripe event processed");
        Ok(outcome(stored.id, stored.kind, applied.into()))
    }

    /// Records a verified but unreadable event by id and type (when it has them) and
    /// acknowledges it.
    async fn unprocessable(&self, event: Unreadable) -> Result<WebhookOutcome, BillingError> {
        let Unreadable {
            id,
            kind,
            created,
            reason,
        } = event;
        let span = tracing::Span::current();
        if let Some(id) = &id {
            span.record("event_id", id.as_str());
        }
        if let Some(kind) = &kind {
            span.record("event_type", kind.as_str());
        }
        match (id, kind) {
            (Some(id), Some(kind)) => {
                let stored = BillingEvent {
                    id,
                    kind,
                    created: created.unwrap_or_else(|| self.clock.now()),
                    effect: BillingEffect::Unprocessable,
                };
                let applied = self.store.apply_event(&stored).await?;
                tracing::error!(
                    reason,
                    first_delivery = applied != ApplyOutcome::AlreadyApplied,
                    "a verified stripe event could not be read: recorded as unprocessable and \
                     acknowledged; see the event in stripe's dashboard"
                );
                Ok(WebhookOutcome {
                    event_id: stored.id,
                    event_type: stored.kind,
                    result: WebhookResult::Unprocessable,
                })
            }
            (id, kind) => {
                tracing::error!(
                    reason,
                    "a verified stripe delivery is not a readable event and has nothing to \
                     record it by; acknowledged"
                );
                Ok(WebhookOutcome {
                    event_id: id.unwrap_or_default(),
                    event_type: kind.unwrap_or_default(),
                    result: WebhookResult::Unprocessable,
                })
            }
        }
    }

    /// The effect to store, or why the event changes nothing.
    async fn resolve(
        &self,
        meaning: Meaning,
        created: chrono::DateTime<chrono::Utc>,
    ) -> Result<Resolution, BillingError> {
        Ok(match meaning {
            Meaning::Ignore(reason) => Resolution::Ignored(reason),
            Meaning::LinkCustomer { user, customer } => {
                Resolution::Effect(BillingEffect::LinkCustomer { user, customer })
            }
            Meaning::Subscription {
                snapshot,
                user_hint,
            } => match self.resolve_user(&snapshot.customer, user_hint).await? {
                Some(user) => Resolution::Effect(BillingEffect::Subscription { user, snapshot }),
                None => Resolution::UnknownCustomer,
            },
            Meaning::Invoice {
                invoice,
                customer,
                status,
                user_hint,
            } => match self.resolve_user(&customer, user_hint).await? {
                Some(user) => match invoice.record(user, status, created) {
                    Ok(record) => Resolution::Effect(BillingEffect::Payment(record)),
                    Err(reason) => Resolution::Unreadable(reason),
                },
                None => Resolution::UnknownCustomer,
            },
        })
    }

    /// The customer's owner; failing that, the user id our checkout put in the metadata (the
    /// store refuses it with [`ApplyOutcome::UnknownUser`] when that user is gone).
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
            WebhookResult::IgnoredUnknownCustomer,
            WebhookResult::Unprocessable,
        ] {
            let json = serde_json::to_value(result).unwrap();
            assert_eq!(json["result"], result.as_str(), "{result:?}");
        }
    }
}
