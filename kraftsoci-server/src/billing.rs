//! Billing in the server: kraftsoci-billing's entitlements, Stripe service and webhook
//! processor, wired to the database and the configuration.
//!
//! ## Modes
//!
//! - **Stripe** (`STRIPE_SECRET_KEY` set; always so in production): the plans of
//!   `KRAFTSOCI_PLANS` are sold through Stripe Checkout and managed in the Billing Portal (card
//!   entry never touches this server, P13). Accounts without a granting subscription get the
//!   table's free plan, if it has one.
//! - **Unbilled** (`STRIPE_SECRET_KEY` unset: development and the sandbox only): nothing can
//!   be bought; checkout and portal answer 503 `billing_unavailable`, and every account is on
//!   the one plan of `KRAFTSOCI_UNBILLED_PLAN` (generous by default, so local work is not
//!   throttled). A warning at start-up says so.
//!
//! Webhooks are accepted once `STRIPE_WEBHOOK_SECRET` is set (503 before, so Stripe retries).
//!
//! ## Storage
//!
//! The database implements core's [`BillingStore`] and [`QuotaLedger`] directly (see
//! `store/sql/billing_store.rs`): event id and effect in one transaction, per-user serialised
//! writes, atomic reservations. Only the Stripe customer id, the subscription state and
//! card-free payment records are stored (P05, P13); payment records outlive the account
//! (P17).
//!
//! ## Idempotency of checkout and portal
//!
//! Each click stores a billing intent first; its id derives the Stripe `Idempotency-Key`
//! (`checkout:{user}:{intent}`). The Stripe adapter retries timeouts and 5xx with that key,
//! and a click that failed that way leaves its intent pending: a new click for the same plan
//! within [`INTENT_REUSE_WINDOW`] reuses it, so Stripe answers with the session it may already
//! have made instead of making a second one. A session opened, or a definite refusal, finishes
//! the intent; the next click starts a new one.

use std::sync::Arc;
use std::time::Duration;

use kraftsoci_billing::{
    BillingEntitlements, BillingError, BillingOverview, BillingService, BillingStop, BillingUrls,
    PlanTable, StripeBilling, WebhookOutcome, WebhookProcessor, WebhookVerifier,
};
use kraftsoci_core::ports::{
    BillingProviderErrorKind, BillingStore, EntitlementError, Entitlements, HostedSession,
    ProcessorErasure, QuotaLedger,
};
use kraftsoci_core::{Clock, RequestId, UserId};
use url::Url;
use uuid::Uuid;

use crate::config::Config;
use crate::store::{BillingIntentStore, IntentKind, IntentOutcome, NewIntent};

/// How long a pending checkout or portal intent is reused by a new click for the same
/// request. Well inside the 24 hours Stripe keeps an `Idempotency-Key`.
pub const INTENT_REUSE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Whether Stripe is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingMode {
    /// Plans are sold through Stripe.
    Stripe,
    /// No Stripe: everyone is on the unbilled plan.
    Unbilled,
}

/// How stopping a closed account's billing went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// Nothing bills the account: it never had a Stripe customer.
    NothingBilled,
    /// Stripe confirmed: `canceled` subscriptions were cancelled now, `already_ended` had
    /// ended before (an earlier attempt whose answer was lost, the portal).
    Stopped {
        /// Cancelled by this call.
        canceled: usize,
        /// Found already cancelled.
        already_ended: usize,
    },
    /// Stripe did not confirm; try again later with the same request.
    RetryLater {
        /// Why, safe to log and store (never a key).
        reason: String,
    },
}

/// Why a billing operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BillingFailure {
    /// Stripe (or its webhook secret) is not configured on this server.
    #[error("stripe is not configured")]
    NotConfigured,
    /// Billing refused or failed.
    #[error(transparent)]
    Billing(#[from] BillingError),
}

/// The server's billing: overview, checkout, portal, webhooks and the entitlements that the
/// post generation reserves quota from.
pub struct Billing {
    mode: BillingMode,
    plans: Arc<PlanTable>,
    entitlements: Arc<BillingEntitlements>,
    records: Arc<dyn BillingStore>,
    intents: Arc<dyn BillingIntentStore>,
    stripe: Option<Arc<BillingService>>,
    webhooks: Option<WebhookProcessor>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Billing")
            .field("mode", &self.mode)
            .field("plans", &self.plans)
            .field("webhooks", &self.webhooks.is_some())
            .finish_non_exhaustive()
    }
}

impl Billing {
    /// Wires billing from `config` over the stored billing state (`records`), the quota
    /// `ledger` and the checkout and portal `intents`.
    ///
    /// # Errors
    /// [`BillingError::Config`] when the Stripe key, `STRIPE_API_BASE` or the return URLs
    /// derived from `KRAFTSOCI_FRONTEND_URL` cannot be used; [`BillingError::InvalidPlans`]
    /// for an unusable unbilled plan.
    pub fn from_config(
        config: &Config,
        records: Arc<dyn BillingStore>,
        ledger: Arc<dyn QuotaLedger>,
        intents: Arc<dyn BillingIntentStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BillingError> {
        Self::from_config_observed(config, records, ledger, intents, clock, None)
    }

    /// As [`Billing::from_config`], with every Stripe call counted in `metrics` (`/metrics`).
    ///
    /// # Errors
    /// As [`Billing::from_config`].
    pub fn from_config_observed(
        config: &Config,
        records: Arc<dyn BillingStore>,
        ledger: Arc<dyn QuotaLedger>,
        intents: Arc<dyn BillingIntentStore>,
        clock: Arc<dyn Clock>,
        metrics: Option<Arc<crate::metrics::Metrics>>,
    ) -> Result<Self, BillingError> {
        let (mode, plans) = match &config.stripe.secret_key {
            Some(_) => (BillingMode::Stripe, config.billing.plans.clone()),
            None => {
                let plan = config.billing.unbilled_plan.clone();
                tracing::warn!(
                    plan = %plan.name,
                    monthly_posts = plan.monthly_posts,
                    monthly_images = plan.monthly_images,
                    "STRIPE_SECRET_KEY is not set: nothing can be bought and every account is \
                     on the unbilled plan (KRAFTSOCI_UNBILLED_PLAN)"
                );
                (BillingMode::Unbilled, PlanTable::new(vec![plan])?)
            }
        };
        let plans = Arc::new(plans);
        let entitlements = Arc::new(BillingEntitlements::new(
            Arc::clone(&records),
            Arc::clone(&plans),
            ledger,
            Arc::clone(&clock),
        ));
        let stripe = match &config.stripe.secret_key {
            Some(key) => {
                let stripe_config = kraftsoci_billing::StripeConfig::new(key.clone())
                    .with_api_base(config.stripe.api_base.as_str())?
                    .with_attempt_timeout(config.billing.stripe_timeout);
                let provider: Arc<dyn kraftsoci_core::ports::BillingProvider> =
                    Arc::new(StripeBilling::new(stripe_config, Arc::clone(&clock))?);
                let provider = match metrics {
                    Some(metrics) => crate::metrics::ObservedBilling::wrap(provider, metrics),
                    None => provider,
                };
                Some(Arc::new(BillingService::new(
                    provider,
                    Arc::clone(&records),
                    Arc::clone(&plans),
                    Arc::clone(&clock),
                    return_urls(&config.frontend_url)?,
                )))
            }
            None => None,
        };
        let webhooks = config.stripe.webhook_secret.as_ref().map(|secret| {
            WebhookProcessor::new(
                WebhookVerifier::new(secret.clone()),
                Arc::clone(&records),
                Arc::clone(&clock),
            )
        });
        Ok(Self {
            mode,
            plans,
            entitlements,
            records,
            intents,
            stripe,
            webhooks,
            clock,
        })
    }

    /// Whether plans are sold through Stripe.
    pub fn mode(&self) -> BillingMode {
        self.mode
    }

    /// The plans in force (the unbilled plan alone without Stripe).
    pub fn plans(&self) -> &PlanTable {
        &self.plans
    }

    /// The entitlements post generation reserves quota from.
    pub fn entitlements(&self) -> Arc<dyn Entitlements> {
        self.entitlements.clone()
    }

    /// The stored billing state and payment records (for the data export).
    pub fn records(&self) -> Arc<dyn BillingStore> {
        Arc::clone(&self.records)
    }

    /// `GET /v1/billing`: plan, status, period end and this period's usage.
    ///
    /// # Errors
    /// [`EntitlementError::Unavailable`] when the database cannot be read.
    pub async fn overview(&self, user: UserId) -> Result<BillingOverview, EntitlementError> {
        self.entitlements.overview(user).await
    }

    /// Opens a Stripe Checkout session for `plan` (see the module docs on idempotency).
    ///
    /// # Errors
    /// [`BillingFailure::NotConfigured`] without Stripe; otherwise [`BillingError`]:
    /// `UnknownPlan` (also the free plan), `AlreadySubscribed`, `Provider` or `Store`.
    pub async fn checkout(
        &self,
        user: UserId,
        plan: &str,
    ) -> Result<HostedSession, BillingFailure> {
        let service = self.stripe.as_ref().ok_or(BillingFailure::NotConfigured)?;
        if self
            .plans
            .get(plan)
            .and_then(|p| p.price_id.as_ref())
            .is_none()
        {
            return Err(BillingError::UnknownPlan(plan.chars().take(32).collect()).into());
        }
        let request = serde_json::json!({ "plan": plan }).to_string();
        let intent = self
            .open_intent(user, IntentKind::Checkout, request)
            .await?;
        let result = service.checkout(user, plan, intent).await;
        self.finish_intent(intent, &result).await;
        Ok(result?)
    }

    /// Opens a Stripe Billing Portal session (card and plan changes, cancellation, invoices).
    ///
    /// # Errors
    /// [`BillingFailure::NotConfigured`] without Stripe; otherwise [`BillingError`]:
    /// `NoCustomer` before the first checkout, `Provider` or `Store`.
    pub async fn portal(&self, user: UserId) -> Result<HostedSession, BillingFailure> {
        let service = self.stripe.as_ref().ok_or(BillingFailure::NotConfigured)?;
        let intent = self
            .open_intent(user, IntentKind::Portal, "{}".to_owned())
            .await?;
        let result = service.portal(user, intent).await;
        self.finish_intent(intent, &result).await;
        Ok(result?)
    }

    /// Stops everything that bills a closed account (P19): every open subscription is
    /// cancelled at Stripe, immediately, with keys derived from the closure's erasure
    /// `request`, so that a retry never cancels twice. Never fails: what Stripe did not
    /// confirm is [`StopOutcome::RetryLater`], for the caller to record and retry.
    pub async fn stop_billing(&self, user: UserId, request: RequestId) -> StopOutcome {
        let Some(service) = &self.stripe else {
            // Without Stripe nothing can be bought; a customer left from an earlier
            // configuration still needs Stripe to stop.
            return match self.records.account(user).await {
                Ok(account) if account.as_ref().is_some_and(|a| a.customer.is_some()) => {
                    StopOutcome::RetryLater {
                        reason: "stripe is not configured on this server (STRIPE_SECRET_KEY)"
                            .to_owned(),
                    }
                }
                Ok(_) => StopOutcome::NothingBilled,
                Err(error) => StopOutcome::RetryLater {
                    reason: error.to_string(),
                },
            };
        };
        match service.stop_billing(user, request).await {
            Ok(BillingStop::NoCustomer) => StopOutcome::NothingBilled,
            Ok(BillingStop::Stopped {
                canceled,
                already_ended,
            }) => StopOutcome::Stopped {
                canceled: canceled.len(),
                already_ended: already_ended.len(),
            },
            Ok(BillingStop::RetryLater { error }) => StopOutcome::RetryLater {
                reason: error.to_string(),
            },
            Ok(other) => StopOutcome::RetryLater {
                reason: format!("an unknown billing stop outcome: {other:?}"),
            },
            Err(error) => StopOutcome::RetryLater {
                reason: error.to_string(),
            },
        }
    }

    /// What erases a purged account at Stripe (deletes the customer, P19, P28), for the
    /// retention sweeper; `None` without Stripe, where nothing was ever sold.
    pub fn processor_erasure(&self) -> Option<Arc<dyn ProcessorErasure>> {
        self.stripe
            .as_ref()
            .map(|service| Arc::clone(service) as Arc<dyn ProcessorErasure>)
    }

    /// Reads the user's latest subscription from Stripe and stores it now, without waiting
    /// for the webhook (the web app's return page after Checkout or the Portal). `false`
    /// when there is nothing to read yet (no customer or no subscription).
    ///
    /// # Errors
    /// [`BillingFailure::NotConfigured`] without Stripe; [`BillingError::Provider`] or
    /// [`BillingError::Store`].
    pub async fn sync(&self, user: UserId) -> Result<bool, BillingFailure> {
        let service = self.stripe.as_ref().ok_or(BillingFailure::NotConfigured)?;
        Ok(service.sync(user).await?.is_some())
    }

    /// `POST /webhooks/stripe`: verifies the delivery over the raw `body` and applies it once.
    ///
    /// # Errors
    /// [`BillingFailure::NotConfigured`] without a webhook secret; [`BillingError`] for which
    /// [`BillingError::is_bad_webhook`] holds (answer 400, nothing written), or
    /// [`BillingError::Store`] (answer 5xx, nothing written: Stripe retries).
    pub async fn handle_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<WebhookOutcome, BillingFailure> {
        let webhooks = self
            .webhooks
            .as_ref()
            .ok_or(BillingFailure::NotConfigured)?;
        Ok(webhooks.handle(signature, body).await?)
    }

    async fn open_intent(
        &self,
        user: UserId,
        kind: IntentKind,
        request: String,
    ) -> Result<Uuid, BillingError> {
        let now = self.clock.now();
        let window = chrono::Duration::from_std(INTENT_REUSE_WINDOW).unwrap_or_default();
        let intent = self
            .intents
            .open_billing_intent(&NewIntent {
                id: Uuid::new_v4(),
                user,
                kind,
                request,
                at: now,
                reuse_since: now - window,
            })
            .await?;
        if intent.reused {
            tracing::info!(intent = %intent.id, kind = kind.as_str(), "retrying a pending billing intent with its key");
        }
        Ok(intent.id)
    }

    /// Records how the intent ended; a transient failure leaves it pending for a retry.
    async fn finish_intent(&self, intent: Uuid, result: &Result<HostedSession, BillingError>) {
        let outcome = match result {
            Ok(session) => IntentOutcome::Opened {
                session_id: session.id.clone(),
            },
            Err(err) if err.is_transient() => return,
            Err(err) => IntentOutcome::Refused {
                reason: refusal_reason(err).to_owned(),
            },
        };
        if let Err(err) = self
            .intents
            .finish_billing_intent(intent, &outcome, self.clock.now())
            .await
        {
            // The session (if any) still goes to the user; the pending intent only means a
            // retry within the window reuses its key, which Stripe answers consistently.
            tracing::warn!(%intent, error = %err, "could not record the end of a billing intent");
        }
    }
}

fn refusal_reason(err: &BillingError) -> &'static str {
    match err {
        BillingError::UnknownPlan(_) => "unknown_plan",
        BillingError::AlreadySubscribed => "already_subscribed",
        BillingError::NoCustomer => "no_customer",
        BillingError::Provider(provider) => match provider.kind {
            BillingProviderErrorKind::Rejected { .. } => "provider_rejected",
            BillingProviderErrorKind::MalformedResponse => "provider_malformed_response",
            BillingProviderErrorKind::Misconfigured => "provider_misconfigured",
            BillingProviderErrorKind::Unavailable | BillingProviderErrorKind::Timeout => {
                "provider_unavailable"
            }
            _ => "provider_failed",
        },
        _ => "failed",
    }
}

/// Where Stripe's hosted pages send the user back to: the frontend's billing page.
fn return_urls(frontend: &Url) -> Result<BillingUrls, BillingError> {
    let base = frontend.as_str().trim_end_matches('/');
    BillingUrls::new(
        &format!("{base}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}"),
        &format!("{base}/billing?checkout=canceled"),
        &format!("{base}/billing?portal=returned"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_urls_point_at_the_frontends_billing_page() {
        let ok = |url: &str| return_urls(&Url::parse(url).unwrap()).is_ok();
        assert!(ok("https://app.example.com"));
        assert!(ok("https://app.example.com/app/"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(
            !ok("http://app.example.com"),
            "plain http off localhost is refused"
        );
    }

    #[test]
    fn only_definite_failures_are_recorded_as_refusals() {
        assert_eq!(
            refusal_reason(&BillingError::AlreadySubscribed),
            "already_subscribed"
        );
        let timeout = BillingError::Provider(kraftsoci_core::ports::BillingProviderError::new(
            BillingProviderErrorKind::Timeout,
            "stripe did not answer in time",
        ));
        assert!(
            timeout.is_transient(),
            "a timeout leaves the intent pending"
        );
    }
}
