//! From a verified event body to what it means for billing, before the user is resolved.

use chrono::{DateTime, Utc};
use kraftsoci_core::UserId;
use kraftsoci_core::ports::{BillingCustomerId, PaymentStatus, SubscriptionSnapshot};

use crate::BillingError;
use crate::wire;

/// The event types that change billing state.
pub const HANDLED_EVENT_TYPES: [&str; 6] = [
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
];

/// A verified event, read.
pub(crate) struct ParsedEvent {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) created: DateTime<Utc>,
    pub(crate) meaning: Meaning,
}

/// What the event asks for.
pub(crate) enum Meaning {
    LinkCustomer {
        user: UserId,
        customer: BillingCustomerId,
    },
    Subscription {
        snapshot: SubscriptionSnapshot,
        user_hint: Option<UserId>,
    },
    Invoice {
        invoice: Box<wire::Invoice>,
        status: PaymentStatus,
        user_hint: Option<UserId>,
    },
    Ignore(&'static str),
}

fn malformed(kind: &str, detail: impl std::fmt::Display) -> BillingError {
    BillingError::MalformedEvent(format!("{kind}: {detail}"))
}

pub(crate) fn parse(body: &[u8]) -> Result<ParsedEvent, BillingError> {
    let event: wire::Event = serde_json::from_slice(body)
        .map_err(|err| BillingError::MalformedEvent(format!("not a stripe event: {err}")))?;
    if event.id.is_empty() || event.id.len() > 255 {
        return Err(BillingError::MalformedEvent(
            "the event id is invalid".into(),
        ));
    }
    let created =
        wire::timestamp(event.created, "created").map_err(BillingError::MalformedEvent)?;
    let kind = event.kind;
    let object = event.data.object;
    let meaning = match kind.as_str() {
        "checkout.session.completed" => {
            let session: wire::CheckoutSession =
                serde_json::from_value(object).map_err(|e| malformed(&kind, e))?;
            checkout_meaning(&session).map_err(|e| malformed(&kind, e))?
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let subscription: wire::Subscription =
                serde_json::from_value(object).map_err(|e| malformed(&kind, e))?;
            Meaning::Subscription {
                snapshot: subscription
                    .snapshot(created)
                    .map_err(|e| malformed(&kind, e))?,
                user_hint: subscription.user_hint(),
            }
        }
        "invoice.paid" | "invoice.payment_failed" => {
            let invoice: wire::Invoice =
                serde_json::from_value(object).map_err(|e| malformed(&kind, e))?;
            let status = if kind == "invoice.paid" {
                PaymentStatus::Paid
            } else {
                PaymentStatus::Failed
            };
            let user_hint = invoice.user_hint();
            Meaning::Invoice {
                invoice: Box::new(invoice),
                status,
                user_hint,
            }
        }
        _ => Meaning::Ignore("unhandled event type"),
    };
    Ok(ParsedEvent {
        id: event.id,
        kind,
        created,
        meaning,
    })
}

fn checkout_meaning(session: &wire::CheckoutSession) -> Result<Meaning, String> {
    if session.mode.as_deref() != Some("subscription") {
        return Ok(Meaning::Ignore("not a subscription checkout"));
    }
    let Some(user) = session
        .client_reference_id
        .as_deref()
        .and_then(|r| r.parse::<UserId>().ok())
    else {
        return Ok(Meaning::Ignore("checkout without our client reference"));
    };
    let Some(customer) = session.customer.as_ref() else {
        return Ok(Meaning::Ignore("checkout without a customer"));
    };
    let customer = BillingCustomerId::parse(customer.id()).map_err(|e| e.to_string())?;
    Ok(Meaning::LinkCustomer { user, customer })
}
