//! From a verified event body to what it means for billing, before the user is resolved.
//!
//! Nothing here fails the delivery: a body that is not what this code expects is reported as
//! [`Unreadable`], which the processor records as unprocessable and acknowledges (Stripe
//! retries a 4xx for days, and a signed body will not read any better the next time).

use chrono::{DateTime, Utc};
use kraftsoci_core::UserId;
use kraftsoci_core::ports::{BillingCustomerId, PaymentStatus, SubscriptionSnapshot};

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
        customer: BillingCustomerId,
        status: PaymentStatus,
        user_hint: Option<UserId>,
    },
    Ignore(&'static str),
}

/// A verified delivery this code cannot read. Carries what could be read of the envelope and a
/// reason that holds no value from the payload (see [`describe`]).
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub(crate) id: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) created: Option<DateTime<Utc>>,
    pub(crate) reason: String,
}

/// What a deserialisation error says, without the values it quotes.
///
/// serde's messages quote the offending input ("invalid type: string \"ada@example.com\",
/// expected i64"), and a Stripe object is full of personal data, so only the parts that come
/// from our own schema are kept: the field name of a missing or duplicate field, and what was
/// expected. Anything else becomes a generic reason.
pub(crate) fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    // serde_json appends " at line L column C" to errors read from bytes.
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    let schema_only = |t: &str| {
        t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" _`,.:-".contains(&b))
    };
    for prefix in ["missing field `", "duplicate field `"] {
        if let Some(rest) = text.strip_prefix(prefix)
            && let Some(field) = rest.strip_suffix('`')
            && !field.is_empty()
            && field.len() <= 64
            && field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return format!("{prefix}{field}`");
        }
    }
    for (prefix, reason) in [
        ("invalid type:", "a field has an unexpected type"),
        ("invalid value:", "a field has an unexpected value"),
        ("invalid length", "a list has an unexpected length"),
        ("unknown variant", "a field has an unexpected value"),
    ] {
        if text.starts_with(prefix) {
            return match text.rsplit_once(", expected ") {
                Some((_, expected)) if expected.len() <= 80 && schema_only(expected) => {
                    format!("{reason}, expected {expected}")
                }
                _ => reason.to_owned(),
            };
        }
    }
    if text.starts_with("data did not match any variant") {
        return "a field has an unexpected shape".to_owned();
    }
    "the object could not be read".to_owned()
}

/// Reads a verified body. Whatever cannot be read is an [`Unreadable`] with the envelope's id,
/// type and time when those at least are there.
pub(crate) fn parse(body: &[u8]) -> Result<ParsedEvent, Unreadable> {
    let mut value: serde_json::Value = serde_json::from_slice(body).map_err(|err| Unreadable {
        id: None,
        kind: None,
        created: None,
        reason: format!("not json: {}", describe(&err)),
    })?;
    let text = |field: &str| {
        value
            .get(field)
            .and_then(serde_json::Value::as_str)
            .filter(|v| !v.is_empty() && v.len() <= 255 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned)
    };
    let id = text("id");
    let kind = text("type");
    let created = value
        .get("created")
        .and_then(serde_json::Value::as_i64)
        .and_then(|secs| wire::timestamp(secs, "created").ok());
    let unreadable = |reason: String| Unreadable {
        id: id.clone(),
        kind: kind.clone(),
        created,
        reason,
    };
    let (Some(event_id), Some(event_kind), Some(event_created)) =
        (id.clone(), kind.clone(), created)
    else {
        return Err(unreadable(
            "the event has no valid `id`, `type` or `created`".to_owned(),
        ));
    };
    if !HANDLED_EVENT_TYPES.contains(&event_kind.as_str()) {
        return Ok(ParsedEvent {
            id: event_id,
            kind: event_kind,
            created: event_created,
            meaning: Meaning::Ignore("unhandled event type"),
        });
    }
    let Some(object) = value
        .get_mut("data")
        .and_then(|data| data.get_mut("object"))
        .map(serde_json::Value::take)
    else {
        return Err(unreadable("missing field `data.object`".to_owned()));
    };
    let read = |err: serde_json::Error| unreadable(format!("{event_kind}: {}", describe(&err)));
    let meaning = match event_kind.as_str() {
        "checkout.session.completed" => {
            let session: wire::CheckoutSession = serde_json::from_value(object).map_err(read)?;
            checkout_meaning(&session).map_err(|e| unreadable(format!("{event_kind}: {e}")))?
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let subscription: wire::Subscription = serde_json::from_value(object).map_err(read)?;
            Meaning::Subscription {
                snapshot: subscription
                    .snapshot(event_created)
                    .map_err(|e| unreadable(format!("{event_kind}: {e}")))?,
                user_hint: subscription.user_hint(),
            }
        }
        _ => {
            // invoice.paid | invoice.payment_failed
            let invoice: wire::Invoice = serde_json::from_value(object).map_err(read)?;
            let status = if event_kind == "invoice.paid" {
                PaymentStatus::Paid
            } else {
                PaymentStatus::Failed
            };
            let customer = invoice
                .customer()
                .map_err(|e| unreadable(format!("{event_kind}: {e}")))?;
            let user_hint = invoice.user_hint();
            Meaning::Invoice {
                invoice: Box::new(invoice),
                customer,
                status,
                user_hint,
            }
        }
    };
    Ok(ParsedEvent {
        id: event_id,
        kind: event_kind,
        created: event_created,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> serde_json::Error {
        serde_json::from_str::<T>(json).unwrap_err()
    }

    #[test]
    fn a_reason_never_quotes_the_payloads_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Shape {
            amount_due: i64,
            status: String,
        }
        let wrong_type =
            error_of::<Shape>(r#"{"amount_due": "ayse.payer@example.com", "status": "x"}"#);
        assert!(
            wrong_type.to_string().contains("ayse.payer"),
            "serde quotes it"
        );
        let reason = describe(&wrong_type);
        assert!(!reason.contains("ayse"), "{reason}");
        assert_eq!(reason, "a field has an unexpected type, expected i64");

        let missing = error_of::<Shape>(r#"{"amount_due": 5}"#);
        assert_eq!(describe(&missing), "missing field `status`");

        let not_json =
            serde_json::from_slice::<serde_json::Value>(b"Ayse Payer, Kordon Boyu 12").unwrap_err();
        let reason = describe(&not_json);
        assert!(
            !reason.contains("Ayse") && !reason.contains("Kordon"),
            "{reason}"
        );
    }

    #[test]
    fn an_envelope_without_an_id_type_or_time_is_unreadable_with_what_could_be_read() {
        let Err(unreadable) = parse(br#"{"type": "invoice.paid", "created": 1800000000}"#) else {
            panic!("an envelope without an id was read");
        };
        assert_eq!(unreadable.id, None);
        assert_eq!(unreadable.kind.as_deref(), Some("invoice.paid"));
        assert!(unreadable.created.is_some());
        let Err(unreadable) = parse(br#"{"id": "evt_1", "type": "invoice.paid"}"#) else {
            panic!("an envelope without a time was read");
        };
        assert_eq!(unreadable.id.as_deref(), Some("evt_1"));
        assert_eq!(unreadable.created, None);
    }
}
