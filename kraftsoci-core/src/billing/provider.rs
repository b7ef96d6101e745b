//! What billing asks of the payment provider, what it answers, and how it fails.

use serde::{Deserialize, Serialize};

use super::{BillingCustomerId, PriceId};
use crate::UserId;

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
