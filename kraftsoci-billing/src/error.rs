//! The crate's one error type.

use kraftsoci_core::StoreError;
use kraftsoci_core::ports::{BillingProviderError, BillingProviderErrorKind};

/// Everything billing can fail with, one variant per thing a caller acts on.
///
/// For the webhook route: every variant for which [`BillingError::is_bad_webhook`] is true
/// (a signature that does not verify the body) answers 400 and changes nothing;
/// [`BillingError::Store`] answers 5xx so that the provider retries the delivery.
///
/// New failure kinds may be added in a minor release: match the ones you act on and keep a
/// wildcard arm (or use [`BillingError::is_bad_webhook`] and [`BillingError::is_transient`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BillingError {
    /// The `Stripe-Signature` header is absent.
    #[error("the stripe-signature header is missing")]
    MissingSignature,
    /// The `Stripe-Signature` header cannot be read (no `t`, no `v1`, bad timestamp…).
    #[error("the stripe-signature header is malformed: {0}")]
    MalformedSignature(&'static str),
    /// No `v1` signature matches the body under the endpoint secret.
    #[error("no webhook signature matches the payload")]
    SignatureMismatch,
    /// The signed timestamp is older than the tolerance (a replay).
    #[error("the webhook timestamp is {age_secs} s old, beyond the tolerance")]
    StaleTimestamp {
        /// How old, in seconds.
        age_secs: i64,
    },
    /// The signed timestamp lies too far in the future.
    #[error("the webhook timestamp is {ahead_secs} s in the future")]
    FutureTimestamp {
        /// How far ahead, in seconds.
        ahead_secs: i64,
    },
    /// The signed body is not an event this code can read.
    ///
    /// [`WebhookProcessor::handle`](crate::WebhookProcessor::handle) no longer returns it: a
    /// verified body it cannot read is acknowledged as
    /// [`WebhookResult::Unprocessable`](crate::WebhookResult::Unprocessable) (a 4xx would be
    /// retried by Stripe for days). Kept so that code matching it still compiles.
    #[error("the webhook payload is malformed: {0}")]
    MalformedEvent(String),
    /// No plan has this name (or it cannot be bought).
    #[error("unknown plan `{0}`")]
    UnknownPlan(String),
    /// The plan configuration is invalid.
    #[error("invalid plan configuration: {0}")]
    InvalidPlans(String),
    /// The user already has a live subscription: plan changes go through the portal.
    #[error("the account already has a live subscription")]
    AlreadySubscribed,
    /// The user has no provider customer yet, so there is nothing to manage.
    #[error("the account has no billing customer yet")]
    NoCustomer,
    /// The configuration is invalid (base URL, URLs, key).
    #[error("invalid billing configuration: {0}")]
    Config(String),
    /// The payment provider failed or refused.
    #[error("payment provider: {0}")]
    Provider(#[from] BillingProviderError),
    /// Billing storage failed.
    #[error("billing storage: {0}")]
    Store(#[from] StoreError),
}

impl BillingError {
    /// Whether a webhook delivery was refused because of its signature or content: answer
    /// 400, do nothing else.
    pub fn is_bad_webhook(&self) -> bool {
        matches!(
            self,
            Self::MissingSignature
                | Self::MalformedSignature(_)
                | Self::SignatureMismatch
                | Self::StaleTimestamp { .. }
                | Self::FutureTimestamp { .. }
                | Self::MalformedEvent(_)
        )
    }

    /// Whether the same call may succeed later (provider or storage unavailable).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Provider(err) => matches!(
                err.kind,
                BillingProviderErrorKind::Unavailable | BillingProviderErrorKind::Timeout
            ),
            Self::Store(err) => matches!(err, StoreError::Unavailable(_) | StoreError::Stale),
            _ => false,
        }
    }
}
