//! What billing asks of the payment provider, what it answers, and how it fails.

use serde::{Deserialize, Serialize};

use super::{BillingCustomerId, PriceId, SubscriptionSnapshot};
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

/// What an immediate cancellation settles besides ending the subscription.
///
/// Both are off by default, which is Stripe's default too: the subscription ends now, the
/// period already paid is not credited, and no final invoice is made. That is what an account
/// closure wants when the customer is deleted at the purge anyway: a credit would sit on a
/// customer that is about to disappear (Stripe does not refund credit balances by itself), and
/// a final invoice would charge a closed account. Refunds are an operator's decision, made in
/// the provider's dashboard.
///
/// Build one with [`CancelOptions::default`] and the `with_*` setters (more options may be
/// added).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CancelOptions {
    /// Make a final invoice now for un-invoiced usage and pending prorations (Stripe's
    /// `invoice_now`). With `prorate`, the unused time becomes a credit on that invoice.
    pub invoice_now: bool,
    /// Credit the unused time of the current period as a proration item (Stripe's `prorate`).
    /// Without `invoice_now` the credit waits for the customer's next invoice, which a closed
    /// account never gets.
    pub prorate: bool,
}

impl CancelOptions {
    /// Sets [`invoice_now`](Self::invoice_now).
    #[must_use]
    pub fn with_invoice_now(mut self, invoice_now: bool) -> Self {
        self.invoice_now = invoice_now;
        self
    }

    /// Sets [`prorate`](Self::prorate).
    #[must_use]
    pub fn with_prorate(mut self, prorate: bool) -> Self {
        self.prorate = prorate;
        self
    }
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
#[non_exhaustive]
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
