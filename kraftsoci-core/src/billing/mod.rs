//! The billing domain: what a plan counts and what is reserved against it, the payment
//! provider's ids, a user's subscription state and how views of it merge, payment records,
//! the provider's events, and what billing asks of the provider.
//!
//! The ports that speak these types ([`Entitlements`](crate::ports::Entitlements),
//! [`QuotaLedger`](crate::ports::QuotaLedger), [`BillingStore`](crate::ports::BillingStore),
//! [`BillingProvider`](crate::ports::BillingProvider)) live in [`crate::ports`]. What is stored
//! follows the privacy policy: the provider's customer id and the subscription state (P05),
//! payment records without any card detail (P13), kept for
//! [`PAYMENT_RECORD_RETENTION_YEARS`] (P17).

mod event;
mod ids;
mod payment;
mod provider;
mod quota;
mod subscription;

pub use event::{ApplyOutcome, BillingEffect, BillingEvent};
pub use ids::{BillingCustomerId, IdempotencyKey, InvoiceId, PriceId, SubscriptionId};
pub use payment::{PAYMENT_RECORD_RETENTION_YEARS, PaymentRecord, PaymentStatus};
pub use provider::{
    BillingProviderError, BillingProviderErrorKind, CancelOptions, CheckoutRequest,
    CustomerDeletion, HostedSession, PortalRequest, SubscriptionCancellation,
};
pub use quota::{EntitlementError, QuotaKind, QuotaReservation, RESERVATION_TTL};
pub use subscription::{
    BillingAccount, MergeOutcome, SubscriptionSnapshot, SubscriptionState, SubscriptionStatus,
};

#[cfg(test)]
mod tests;
