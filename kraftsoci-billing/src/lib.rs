//! # kraftsoci-billing
//!
//! Plans, entitlements and Stripe for kraftsoci: who may generate how much, hosted Checkout
//! and Billing Portal sessions, and verified, idempotent, order-independent webhooks.
//!
//! What is stored follows the privacy policy: the Stripe customer id and the subscription
//! status (P05), payment records without any card detail (P13: card entry happens only on
//! Stripe's pages), kept 10 years (P17, [`PAYMENT_RECORD_RETENTION_YEARS`]).
//!
//! - **Plans** ([`PlanTable`]): name, Stripe price, monthly post and image quotas; from JSON
//!   ([`PlanTable::from_json`]) or the development set ([`PlanTable::development`]).
//! - **Access** ([`AccessPolicy`]): `trialing`/`active` grant, `past_due` grants for a grace
//!   period (3 days by default), every other status (and any unknown one) denies.
//! - **Entitlements** ([`BillingEntitlements`], core's [`Entitlements`]): reserve before
//!   generating, commit when the result is kept, release when generation fails; counts live
//!   in core's [`QuotaLedger`] (the server's store, or [`InMemoryQuotaLedger`]).
//! - **Webhooks** ([`WebhookProcessor`]): `Stripe-Signature` checked over the raw body (every
//!   `v1`, constant time, 300 s replay window, future timestamps refused), then the event is
//!   recorded and applied in one step by core's [`BillingStore`] (the server's store, or
//!   [`InMemoryBillingStore`]). Duplicates change nothing; out-of-order subscription events
//!   merge by time with terminal statuses final ([`BillingAccount::merge`]).
//! - **Stripe** ([`StripeBilling`], core's [`BillingProvider`]) and [`BillingService`]:
//!   customer, Checkout, Billing Portal, subscription reads. Every POST carries an
//!   `Idempotency-Key` derived from a row the caller stored first, reused on every retry.
//! - **Closure and purge** (P19, P28): [`BillingService::stop_billing`] cancels every live
//!   subscription of a closed account immediately, each with an `Idempotency-Key` derived from
//!   the closure, and says [`BillingStop::RetryLater`] when Stripe did not confirm;
//!   [`BillingService::erase_customer`] deletes the Stripe customer at the purge, and the
//!   service is core's [`ProcessorErasure`], so the retention sweeper does that before it
//!   deletes the account's rows. Webhooks of a purged or unknown customer are acknowledged
//!   ([`WebhookResult::IgnoredUnknownCustomer`]) and recreate nothing; a verified event that
//!   cannot be read is recorded by id and type only and acknowledged
//!   ([`WebhookResult::Unprocessable`]).
//!
//! ## Server wiring
//!
//! | route | call |
//! |---|---|
//! | `GET /v1/billing` | [`BillingEntitlements::overview`] |
//! | `POST /v1/billing/checkout` | store a checkout intent, then [`BillingService::checkout`] |
//! | `POST /v1/billing/portal` | store a portal intent, then [`BillingService::portal`] |
//! | `POST /webhooks/stripe` | [`WebhookProcessor::handle`] with the raw `Bytes` body: 400 when [`BillingError::is_bad_webhook`], 5xx on [`BillingError::Store`], else 200 (every [`WebhookResult`], `ignored_unknown_customer` and `unprocessable` included) |
//! | account closure | [`BillingService::stop_billing`] with the closure's erasure-request id; store a [`BillingStop::RetryLater`] and call again |
//! | retention sweep | `RetentionSweeper::with_processor_erasure(Arc::new(billing_service))`: the Stripe customer is deleted before the account's rows |
//!
//! ## Why the Stripe transport is ours
//!
//! Requests are built with async-stripe 1.0.0-rc.10's typed builders (`stripe_checkout`,
//! `stripe_billing`, `stripe_core`) and carry its pinned `Stripe-Version`. They are sent by a
//! small reqwest transport instead of async-stripe's hyper client, because with rc.10:
//! - `RequestStrategy` cannot combine a caller-chosen idempotency key with retries:
//!   `Idempotent(key)` makes one attempt, `Retry`/`ExponentialBackoff` mint their own random
//!   key per call. The key must come from our persisted intent and survive retries;
//! - its client turns a non-Stripe error body (a proxy's 502 page) into a deserialisation
//!   error without the HTTP status, so 5xx could not be told from a bad answer;
//! - its generated response types require every field of the pinned API version (a full
//!   `Price` inside every subscription item), so one drifted field fails a whole call. We read
//!   the handful of fields we use, which also keeps card data from ever being deserialised.
//!
//! ## Your HTTP client, timeouts and TLS
//!
//! [`StripeBilling::with_http_client`] sends every call through a `reqwest::Client` you built
//! (proxies, CA roots, connection pools, instrumentation). Either way each attempt is bounded by
//! [`StripeConfig::with_attempt_timeout`] (20 s by default), a call makes at most
//! [`StripeConfig::with_max_attempts`] attempts (3), and waits between them go through core's
//! `Clock` (500 ms, doubling, at most 8 s); the table is on [`StripeBilling`].
//!
//! The built-in client speaks TLS through rustls, with the crypto provider a feature selects:
//!
//! | feature | provider |
//! |---|---|
//! | `rustls-ring` (default) | *ring* |
//! | `rustls-aws-lc` | aws-lc-rs (wins when both are enabled) |
//!
//! The provider is given to that client's TLS configuration, never installed process-wide.
//!
//! ## Dependencies
//!
//! 144 crates besides this one with the default features (`cargo tree -p kraftsoci-billing -e
//! normal --prefix none`, unique), 145 with `rustls-aws-lc` instead; 152 before aws-lc-rs
//! stopped coming in with every build and tokio left the normal dependencies.
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//!
//! use chrono::Utc;
//! use kraftsoci_billing::*;
//! use kraftsoci_core::{Clock, ManualClock, UserId};
//! use secrecy::SecretString;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = Arc::new(ManualClock::new(Utc::now()));
//! let store = Arc::new(InMemoryBillingStore::new());
//! let ledger = Arc::new(InMemoryQuotaLedger::with_clock(clock.clone()));
//! let entitlements = BillingEntitlements::new(
//!     store.clone(),
//!     Arc::new(PlanTable::development()),
//!     ledger,
//!     clock.clone(),
//! );
//!
//! // Checkout linked the user to a Stripe customer; Stripe then reports the subscription.
//! let user = UserId::new();
//! store.link_customer(user, &BillingCustomerId::parse("cus_123")?).await?;
//! let secret = SecretString::from("whsec_example");
//! let webhooks = WebhookProcessor::new(WebhookVerifier::new(secret.clone()), store.clone(), clock.clone());
//! let now = clock.now().timestamp();
//! let body = serde_json::json!({
//!     "id": "evt_1", "object": "event", "type": "customer.subscription.created", "created": now,
//!     "data": { "object": {
//!         "id": "sub_1", "object": "subscription", "customer": "cus_123", "status": "active",
//!         "cancel_at_period_end": false,
//!         "items": { "object": "list", "data": [{
//!             "price": { "id": "price_dev_starter" },
//!             "current_period_start": now, "current_period_end": now + 30 * 86_400
//!         }]}
//!     }}
//! })
//! .to_string();
//! let header = signature_header(&secret, now, body.as_bytes());
//! let outcome = webhooks.handle(Some(&header), body.as_bytes()).await?;
//! assert_eq!(outcome.result, WebhookResult::Applied);
//!
//! // Reserve before generating; commit when the post is kept (release if generation fails).
//! let reservation = entitlements.reserve(user, QuotaKind::Posts, 1).await?;
//! entitlements.commit(&reservation).await?;
//! let overview = entitlements.overview(user).await?;
//! assert_eq!(overview.plan.as_deref(), Some("starter"));
//! assert_eq!((overview.usage.posts_used, overview.usage.posts_limit), (1, 60));
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// The README's example, compiled and run with the doctests so that it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod access;
mod entitlements;
mod error;
mod ledger;
mod memory;
mod plans;
mod service;
mod stripe;
mod tls;
mod webhook;
mod wire;

pub use access::{Access, AccessPolicy, DenyReason};
pub use entitlements::{BillingEntitlements, BillingOverview, BillingPeriod, Entitlement, Usage};
pub use error::BillingError;
pub use ledger::InMemoryQuotaLedger;
pub use memory::{InMemoryBillingStore, StoreCall};
pub use plans::{Plan, PlanName, PlanTable};
pub use service::{BillingService, BillingStop, BillingUrls, CustomerErasure};
pub use stripe::{STRIPE_API_BASE, StripeBilling, StripeConfig};
pub use webhook::{
    HANDLED_EVENT_TYPES, WebhookOutcome, WebhookProcessor, WebhookResult, WebhookVerifier,
    signature_header,
};

pub use kraftsoci_core::ports::{
    ApplyOutcome, BillingAccount, BillingCustomerId, BillingEffect, BillingEvent, BillingProvider,
    BillingProviderError, BillingProviderErrorKind, BillingStore, CancelOptions, CheckoutRequest,
    CustomerDeletion, EntitlementError, Entitlements, HostedSession, IdempotencyKey, InvoiceId,
    MergeOutcome, PAYMENT_RECORD_RETENTION_YEARS, PaymentRecord, PaymentStatus, PortalRequest,
    PriceId, ProcessorErasure, ProcessorErasureError, QuotaKind, QuotaLedger, QuotaReservation,
    RESERVATION_TTL, SubscriptionCancellation, SubscriptionId, SubscriptionSnapshot,
    SubscriptionState, SubscriptionStatus,
};
