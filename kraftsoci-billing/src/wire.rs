//! The few Stripe object fields this crate reads, shared by the API adapter and the webhook.
//!
//! Deliberately lean: only ids, statuses, amounts and times are declared, so card details,
//! payer names, emails and addresses in a payload are never even deserialised (P05, P13).
//! Both spellings of the billing period are accepted: per item (API versions from 2025-03-31
//! on, including the pinned one) and the older top-level `current_period_*`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kraftsoci_core::UserId;
use kraftsoci_core::ports::{
    BillingCustomerId, InvoiceId, PaymentRecord, PaymentStatus, PriceId, SubscriptionId,
    SubscriptionSnapshot, SubscriptionStatus,
};
use serde::Deserialize;

/// The metadata key under which the customer and subscription carry our user id.
pub(crate) const USER_METADATA_KEY: &str = "kraftsoci_user_id";

/// A field that is an id, or the object when expanded.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub(crate) fn id(&self) -> &str {
        match self {
            Self::Id(id) | Self::Object { id } => id,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct List<T> {
    pub(crate) data: Vec<T>,
    #[serde(default)]
    pub(crate) has_more: bool,
}

pub(crate) fn timestamp(secs: i64, field: &str) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| format!("`{field}` is not a valid time"))
}

fn opt_timestamp(secs: Option<i64>, field: &str) -> Result<Option<DateTime<Utc>>, String> {
    secs.map(|s| timestamp(s, field)).transpose()
}

fn user_hint(metadata: Option<&HashMap<String, String>>) -> Option<UserId> {
    metadata
        .and_then(|m| m.get(USER_METADATA_KEY))
        .and_then(|v| v.parse().ok())
}

#[derive(Debug, Deserialize)]
pub(crate) struct Price {
    id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubscriptionItem {
    price: Option<Price>,
    current_period_start: Option<i64>,
    current_period_end: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Subscription {
    id: String,
    customer: Expandable,
    status: String,
    #[serde(default)]
    cancel_at_period_end: bool,
    current_period_start: Option<i64>,
    current_period_end: Option<i64>,
    items: Option<List<SubscriptionItem>>,
    metadata: Option<HashMap<String, String>>,
}

impl Subscription {
    /// The subscription's id as Stripe sent it (for pagination).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The view, stamped `as_of`.
    pub(crate) fn snapshot(&self, as_of: DateTime<Utc>) -> Result<SubscriptionSnapshot, String> {
        let item = self.items.as_ref().and_then(|items| items.data.first());
        let start = item
            .and_then(|i| i.current_period_start)
            .or(self.current_period_start);
        let end = item
            .and_then(|i| i.current_period_end)
            .or(self.current_period_end);
        let price_id = item
            .and_then(|i| i.price.as_ref())
            .map(|p| PriceId::parse(p.id.as_str()))
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok(SubscriptionSnapshot {
            subscription_id: SubscriptionId::parse(self.id.as_str()).map_err(|e| e.to_string())?,
            customer: BillingCustomerId::parse(self.customer.id()).map_err(|e| e.to_string())?,
            status: SubscriptionStatus::parse(&self.status),
            price_id,
            current_period_start: opt_timestamp(start, "current_period_start")?,
            current_period_end: opt_timestamp(end, "current_period_end")?,
            cancel_at_period_end: self.cancel_at_period_end,
            as_of,
        })
    }

    /// The user id we put in the subscription's metadata at checkout.
    pub(crate) fn user_hint(&self) -> Option<UserId> {
        user_hint(self.metadata.as_ref())
    }
}

#[derive(Debug, Deserialize)]
struct StatusTransitions {
    paid_at: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct SubscriptionDetails {
    subscription: Option<Expandable>,
    metadata: Option<HashMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct InvoiceParent {
    subscription_details: Option<SubscriptionDetails>,
}

#[derive(Debug, Deserialize)]
struct Period {
    start: i64,
    end: i64,
}

#[derive(Debug, Deserialize)]
struct InvoiceLine {
    period: Option<Period>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Invoice {
    id: String,
    customer: Option<Expandable>,
    amount_due: i64,
    amount_paid: i64,
    currency: String,
    period_start: Option<i64>,
    period_end: Option<i64>,
    status_transitions: Option<StatusTransitions>,
    /// Before API 2025-03-31 the subscription sat here; now under `parent`.
    subscription: Option<Expandable>,
    parent: Option<InvoiceParent>,
    lines: Option<List<InvoiceLine>>,
}

impl Invoice {
    pub(crate) fn customer(&self) -> Result<BillingCustomerId, String> {
        let customer = self
            .customer
            .as_ref()
            .ok_or_else(|| "the invoice has no customer".to_owned())?;
        BillingCustomerId::parse(customer.id()).map_err(|e| e.to_string())
    }

    fn details(&self) -> Option<&SubscriptionDetails> {
        self.parent.as_ref()?.subscription_details.as_ref()
    }

    /// The user id from the subscription's metadata, which invoices carry along.
    pub(crate) fn user_hint(&self) -> Option<UserId> {
        user_hint(self.details().and_then(|d| d.metadata.as_ref()))
    }

    /// The payment record this invoice event stands for.
    pub(crate) fn record(
        &self,
        user: UserId,
        status: PaymentStatus,
        as_of: DateTime<Utc>,
    ) -> Result<PaymentRecord, String> {
        let currency = self.currency.to_ascii_lowercase();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err("`currency` is not an ISO 4217 code".into());
        }
        let subscription = self
            .details()
            .and_then(|d| d.subscription.as_ref())
            .or(self.subscription.as_ref())
            .map(|s| SubscriptionId::parse(s.id()))
            .transpose()
            .map_err(|e| e.to_string())?;
        // The line's period is the service period; the invoice's own period fields describe
        // usage (for a renewal, the previous period).
        let line_period = self
            .lines
            .as_ref()
            .and_then(|l| l.data.first())
            .and_then(|l| l.period.as_ref());
        let (start, end) = match line_period {
            Some(p) => (Some(p.start), Some(p.end)),
            None => (self.period_start, self.period_end),
        };
        let paid_at = match status {
            PaymentStatus::Paid => opt_timestamp(
                self.status_transitions.as_ref().and_then(|s| s.paid_at),
                "paid_at",
            )?
            .or(Some(as_of)),
            // Failed, or a status a later core adds: not paid.
            _ => None,
        };
        Ok(PaymentRecord {
            invoice_id: InvoiceId::parse(self.id.as_str()).map_err(|e| e.to_string())?,
            user,
            customer: self.customer()?,
            subscription_id: subscription,
            status,
            amount_due: self.amount_due,
            amount_paid: self.amount_paid,
            currency,
            period_start: opt_timestamp(start, "period_start")?,
            period_end: opt_timestamp(end, "period_end")?,
            paid_at,
            as_of,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckoutSession {
    pub(crate) id: String,
    pub(crate) mode: Option<String>,
    pub(crate) customer: Option<Expandable>,
    pub(crate) client_reference_id: Option<String>,
    pub(crate) url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Customer {
    pub(crate) id: String,
}

/// The answer to a `DELETE` of an object that is deleted for good (a customer).
#[derive(Debug, Deserialize)]
pub(crate) struct Deleted {
    pub(crate) id: String,
    pub(crate) deleted: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PortalSession {
    pub(crate) id: String,
    pub(crate) url: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorEnvelope {
    pub(crate) error: ErrorBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
}
