//! Checkout, portal and subscription sync: the billing routes' use cases.

use std::sync::Arc;

use async_trait::async_trait;
use kraftsoci_core::ports::{
    ApplyOutcome, BillingCustomerId, BillingEffect, BillingEvent, BillingProvider,
    BillingProviderError, BillingStore, CancelOptions, CheckoutRequest, CustomerDeletion,
    HostedSession, IdempotencyKey, PortalRequest, ProcessorErasure, ProcessorErasureError,
    SubscriptionCancellation, SubscriptionId,
};
use kraftsoci_core::{Clock, RequestId, StoreError, UserId};
use url::Url;
use uuid::Uuid;

use crate::BillingError;
use crate::access::AccessPolicy;
use crate::plans::PlanTable;

/// Where Stripe's hosted pages send the user back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingUrls {
    success_url: String,
    cancel_url: String,
    portal_return_url: String,
}

impl BillingUrls {
    /// Checks the three URLs: absolute `https` (or `http` on localhost for development).
    /// `success_url` may hold Stripe's `{CHECKOUT_SESSION_ID}` placeholder.
    ///
    /// # Errors
    /// [`BillingError::Config`] naming the first invalid URL.
    pub fn new(
        success_url: &str,
        cancel_url: &str,
        portal_return_url: &str,
    ) -> Result<Self, BillingError> {
        let check = |name: &str, value: &str| -> Result<String, BillingError> {
            let url =
                Url::parse(value).map_err(|e| BillingError::Config(format!("{name}: {e}")))?;
            let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if url.scheme() == "https" || (url.scheme() == "http" && local) {
                Ok(value.to_owned())
            } else {
                Err(BillingError::Config(format!(
                    "{name} must be https (http only on localhost)"
                )))
            }
        };
        Ok(Self {
            success_url: check("success_url", success_url)?,
            cancel_url: check("cancel_url", cancel_url)?,
            portal_return_url: check("portal_return_url", portal_return_url)?,
        })
    }
}

/// What [`BillingService::stop_billing`] achieved for a closed account.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BillingStop {
    /// The user never had a provider customer: nothing bills them.
    NoCustomer,
    /// The provider confirmed that nothing of the customer bills any more. `canceled` were
    /// cancelled by this call, `already_ended` were found cancelled (by an earlier attempt
    /// whose answer was lost, the portal or the dashboard); both are empty when no
    /// subscription was live.
    Stopped {
        /// Cancelled now.
        canceled: Vec<SubscriptionId>,
        /// Already cancelled.
        already_ended: Vec<SubscriptionId>,
    },
    /// The provider did not confirm within this call's bounded attempts: call again later with
    /// the same closure (the same keys go out, so nothing happens twice). The error says
    /// whether it looked transient ([`BillingProviderErrorKind::Unavailable`],
    /// [`BillingProviderErrorKind::Timeout`]) or needs an operator (a refused key, a refused
    /// request).
    ///
    /// [`BillingProviderErrorKind::Unavailable`]: kraftsoci_core::ports::BillingProviderErrorKind::Unavailable
    /// [`BillingProviderErrorKind::Timeout`]: kraftsoci_core::ports::BillingProviderErrorKind::Timeout
    RetryLater {
        /// The provider's last answer (safe to log: never a key).
        error: BillingProviderError,
    },
}

/// What [`BillingService::erase_customer`] achieved at the purge.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CustomerErasure {
    /// The user never had a provider customer.
    NoCustomer,
    /// The provider deleted the customer now.
    Deleted,
    /// The provider no longer knew the customer (deleted earlier).
    AlreadyGone,
    /// The provider did not confirm within this call's bounded attempts; call again later.
    RetryLater {
        /// The provider's last answer (safe to log: never a key).
        error: BillingProviderError,
    },
}

/// Starts checkouts and portal sessions, re-reads the subscription from the provider, and
/// stops billing when an account closes (P19, P28).
///
/// ```
/// use std::sync::Arc;
///
/// use kraftsoci_billing::{
///     BillingService, BillingUrls, InMemoryBillingStore, PlanTable, StripeBilling, StripeConfig,
/// };
/// use kraftsoci_core::{SystemClock, UserId};
/// use secrecy::SecretString;
/// use serde_json::json;
/// use wiremock::matchers::{method, path};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A stand-in for api.stripe.com: a new user gets a customer, then a Checkout session.
/// let stripe_api = MockServer::start().await;
/// Mock::given(method("POST"))
///     .and(path("/v1/customers"))
///     .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": "cus_Q1", "object": "customer" })))
///     .expect(1)
///     .mount(&stripe_api)
///     .await;
/// Mock::given(method("POST"))
///     .and(path("/v1/checkout/sessions"))
///     .respond_with(ResponseTemplate::new(200).set_body_json(json!({
///         "id": "cs_1", "object": "checkout.session", "mode": "subscription",
///         "customer": "cus_Q1", "status": "open", "url": "https://checkout.stripe.com/c/pay/cs_1"
///     })))
///     .expect(1)
///     .mount(&stripe_api)
///     .await;
///
/// let clock = Arc::new(SystemClock);
/// let config = StripeConfig::new(SecretString::from("sk_test_123")).with_api_base(&stripe_api.uri())?;
/// let store = Arc::new(InMemoryBillingStore::new());
/// let billing = BillingService::new(
///     Arc::new(StripeBilling::new(config, clock.clone())?),
///     store.clone(),
///     Arc::new(PlanTable::development()),
///     clock,
///     BillingUrls::new(
///         "https://app.example.com/billing/done",
///         "https://app.example.com/billing",
///         "https://app.example.com/billing",
///     )?,
/// );
///
/// // The intent id comes from a row you stored first, so a retried click reuses its key.
/// let user = UserId::new();
/// let session = billing.checkout(user, "starter", uuid::Uuid::new_v4()).await?;
/// assert_eq!(session.url, "https://checkout.stripe.com/c/pay/cs_1");
/// # Ok(())
/// # }
/// ```
pub struct BillingService {
    provider: Arc<dyn BillingProvider>,
    store: Arc<dyn BillingStore>,
    plans: Arc<PlanTable>,
    clock: Arc<dyn Clock>,
    urls: BillingUrls,
    policy: AccessPolicy,
    cancel_options: CancelOptions,
}

impl std::fmt::Debug for BillingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingService")
            .field("urls", &self.urls)
            .field("policy", &self.policy)
            .field("cancel_options", &self.cancel_options)
            .finish_non_exhaustive()
    }
}

impl BillingService {
    /// A service with the default [`AccessPolicy`].
    pub fn new(
        provider: Arc<dyn BillingProvider>,
        store: Arc<dyn BillingStore>,
        plans: Arc<PlanTable>,
        clock: Arc<dyn Clock>,
        urls: BillingUrls,
    ) -> Self {
        Self {
            provider,
            store,
            plans,
            clock,
            urls,
            policy: AccessPolicy::default(),
            cancel_options: CancelOptions::default(),
        }
    }

    /// Replaces the access policy (it decides who counts as already subscribed).
    pub fn with_policy(mut self, policy: AccessPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets what a closure's cancellation settles ([`CancelOptions`]: by default no final
    /// invoice and no credit for the unused period, see there why).
    pub fn with_cancel_options(mut self, options: CancelOptions) -> Self {
        self.cancel_options = options;
        self
    }

    /// Starts a Checkout for `plan`. `intent` is the id of the checkout-intent row the caller
    /// stored before this call; the Stripe `Idempotency-Key` is `checkout:{user}:{intent}`, so
    /// a retried intent never creates a second session.
    ///
    /// # Errors
    /// [`BillingError::UnknownPlan`] (also for the free plan), [`BillingError::AlreadySubscribed`]
    /// while a subscription grants access (changes go through the portal),
    /// [`BillingError::Provider`] or [`BillingError::Store`].
    #[tracing::instrument(skip(self), fields(user = %user))]
    pub async fn checkout(
        &self,
        user: UserId,
        plan: &str,
        intent: Uuid,
    ) -> Result<HostedSession, BillingError> {
        let price_id = self
            .plans
            .get(plan)
            .and_then(|p| p.price_id.clone())
            .ok_or_else(|| BillingError::UnknownPlan(plan.chars().take(32).collect()))?;
        let account = self.store.account(user).await?;
        let live = account
            .as_ref()
            .and_then(|a| a.subscription.as_ref())
            .is_some_and(|s| self.policy.decide(Some(s), self.clock.now()).grants());
        if live {
            return Err(BillingError::AlreadySubscribed);
        }
        let customer = match account.and_then(|a| a.customer) {
            Some(customer) => customer,
            None => self.create_customer(user).await?,
        };
        let key = intent_key("checkout", user, intent)?;
        let request = CheckoutRequest {
            user,
            customer,
            price_id,
            success_url: self.urls.success_url.clone(),
            cancel_url: self.urls.cancel_url.clone(),
        };
        Ok(self
            .provider
            .create_checkout_session(&request, &key)
            .await?)
    }

    /// Opens the Billing Portal (card changes, plan changes, cancellation, invoices). The
    /// `Idempotency-Key` is `portal:{user}:{intent}`.
    ///
    /// # Errors
    /// [`BillingError::NoCustomer`] before the first checkout, [`BillingError::Provider`] or
    /// [`BillingError::Store`].
    #[tracing::instrument(skip(self), fields(user = %user))]
    pub async fn portal(&self, user: UserId, intent: Uuid) -> Result<HostedSession, BillingError> {
        let customer = self
            .store
            .account(user)
            .await?
            .and_then(|a| a.customer)
            .ok_or(BillingError::NoCustomer)?;
        let key = intent_key("portal", user, intent)?;
        let request = PortalRequest {
            customer,
            return_url: self.urls.portal_return_url.clone(),
        };
        Ok(self.provider.create_portal_session(&request, &key).await?)
    }

    /// Re-reads the customer's latest subscription from the provider and merges it (e.g. when
    /// the user returns from Checkout before the webhook arrived, or to reconcile). `None`
    /// when the user has no customer or no subscription yet.
    ///
    /// # Errors
    /// [`BillingError::Provider`] or [`BillingError::Store`].
    #[tracing::instrument(skip(self), fields(user = %user))]
    pub async fn sync(&self, user: UserId) -> Result<Option<ApplyOutcome>, BillingError> {
        let Some(customer) = self.store.account(user).await?.and_then(|a| a.customer) else {
            return Ok(None);
        };
        let Some(snapshot) = self.provider.latest_subscription(&customer).await? else {
            return Ok(None);
        };
        // A read has no event id; a unique synthetic one keeps the store's single write path
        // (and leaves an audit entry).
        let event = BillingEvent {
            id: format!("sync_{}", Uuid::new_v4().simple()),
            kind: "kraftsoci.subscription.sync".into(),
            created: snapshot.as_of,
            effect: BillingEffect::Subscription { user, snapshot },
        };
        Ok(Some(self.store.apply_event(&event).await?))
    }

    /// The user's Stripe customer, created (and stored) on first use. The `Idempotency-Key`
    /// is `customer:{user}`, so concurrent first calls for one user get the same customer.
    ///
    /// # Errors
    /// [`BillingError::Provider`] or [`BillingError::Store`].
    #[tracing::instrument(skip(self), fields(user = %user))]
    pub async fn ensure_customer(&self, user: UserId) -> Result<BillingCustomerId, BillingError> {
        match self.store.account(user).await?.and_then(|a| a.customer) {
            Some(customer) => Ok(customer),
            None => self.create_customer(user).await,
        }
    }

    /// Stops billing a closed account at once (P19, P28): every subscription of the user's
    /// provider customer that has not ended is cancelled **immediately** (not at the period's
    /// end), settled as [`BillingService::with_cancel_options`] says.
    ///
    /// `closure` is the id of the erasure request the closure recorded before this call; each
    /// cancellation's `Idempotency-Key` is `cancel:{closure}:{subscription}`
    /// ([`IdempotencyKey::for_cancellation`]), so a retry of the same closure, now or after a
    /// restart, sends the same key. Within the call the adapter retries timeouts, 409, 429 and
    /// 5xx with back-off (bounded by its attempts); a subscription the provider already knows
    /// as ended counts as stopped. What the provider did not confirm is reported as
    /// [`BillingStop::RetryLater`]: store that and call again.
    ///
    /// The provider's webhook (`customer.subscription.deleted`) then records the ended
    /// subscription as usual; this call writes nothing.
    ///
    /// # Errors
    /// [`BillingError::Store`] when the user's billing state cannot be read (retry later too);
    /// [`BillingError::Config`] for a subscription id too long to make a key from.
    #[tracing::instrument(skip(self), fields(user = %user, closure = %closure))]
    pub async fn stop_billing(
        &self,
        user: UserId,
        closure: RequestId,
    ) -> Result<BillingStop, BillingError> {
        let Some(customer) = self.store.account(user).await?.and_then(|a| a.customer) else {
            return Ok(BillingStop::NoCustomer);
        };
        // The provider's list, not our stored state: a subscription whose webhook has not
        // arrived yet must be stopped too.
        let open = match self.provider.open_subscriptions(&customer).await {
            Ok(open) => open,
            Err(error) => {
                tracing::warn!(error = %error, "stripe did not list the subscriptions to cancel");
                return Ok(BillingStop::RetryLater { error });
            }
        };
        let (mut canceled, mut already_ended) = (Vec::new(), Vec::new());
        for subscription in open {
            let id = subscription.subscription_id;
            let key = IdempotencyKey::for_cancellation(closure, &id)
                .map_err(|e| BillingError::Config(e.to_string()))?;
            match self
                .provider
                .cancel_subscription(&id, self.cancel_options, &key)
                .await
            {
                Ok(SubscriptionCancellation::Canceled(_)) => canceled.push(id),
                Ok(SubscriptionCancellation::AlreadyEnded) => already_ended.push(id),
                Err(error) => {
                    tracing::warn!(
                        subscription = %id,
                        error = %error,
                        "stripe did not confirm a closure's cancellation; retry later"
                    );
                    return Ok(BillingStop::RetryLater { error });
                }
            }
        }
        tracing::info!(
            canceled = canceled.len(),
            already_ended = already_ended.len(),
            "billing stopped for a closed account"
        );
        Ok(BillingStop::Stopped {
            canceled,
            already_ended,
        })
    }

    /// Deletes the user's provider customer at the purge (P19): the provider then holds no
    /// customer object for them (its invoices and payments stay in its own ledger), and any
    /// subscription still live ends with it. Call it before the account's billing rows are
    /// purged, since they hold the customer id; the retention sweeper does exactly that
    /// through this service's [`ProcessorErasure`] implementation.
    ///
    /// # Errors
    /// [`BillingError::Store`] when the user's billing state cannot be read.
    #[tracing::instrument(skip(self), fields(user = %user))]
    pub async fn erase_customer(&self, user: UserId) -> Result<CustomerErasure, BillingError> {
        let Some(customer) = self.store.account(user).await?.and_then(|a| a.customer) else {
            return Ok(CustomerErasure::NoCustomer);
        };
        Ok(match self.provider.delete_customer(&customer).await {
            Ok(CustomerDeletion::Deleted) => CustomerErasure::Deleted,
            Ok(CustomerDeletion::AlreadyGone) => CustomerErasure::AlreadyGone,
            Err(error) => {
                tracing::warn!(error = %error, "stripe did not confirm a customer deletion");
                CustomerErasure::RetryLater { error }
            }
        })
    }

    async fn create_customer(&self, user: UserId) -> Result<BillingCustomerId, BillingError> {
        let customer = self
            .provider
            .create_customer(user, &IdempotencyKey::for_customer(user))
            .await?;
        match self.store.link_customer(user, &customer).await {
            Ok(()) => Ok(customer),
            Err(StoreError::Conflict { constraint }) => {
                // Someone linked first: use the stored customer.
                self.store
                    .account(user)
                    .await?
                    .and_then(|a| a.customer)
                    .ok_or(BillingError::Store(StoreError::Conflict { constraint }))
            }
            Err(err) => Err(err.into()),
        }
    }
}

/// The purge's step at the payment provider: the retention sweeper calls this before it deletes
/// a closed account's media and rows (`RetentionSweeper::with_processor_erasure`), so a
/// customer that Stripe has not confirmed deleted keeps the account (and its customer id) for
/// the next run.
#[async_trait]
impl ProcessorErasure for BillingService {
    fn processor(&self) -> &'static str {
        "stripe"
    }

    async fn erase_account(&self, user: UserId) -> Result<(), ProcessorErasureError> {
        match self.erase_customer(user).await {
            Ok(
                CustomerErasure::NoCustomer
                | CustomerErasure::Deleted
                | CustomerErasure::AlreadyGone,
            ) => Ok(()),
            Ok(CustomerErasure::RetryLater { error }) => {
                Err(ProcessorErasureError::new(error.to_string()))
            }
            Err(error) => Err(ProcessorErasureError::new(error.to_string())),
        }
    }
}

fn intent_key(purpose: &str, user: UserId, intent: Uuid) -> Result<IdempotencyKey, BillingError> {
    IdempotencyKey::for_intent(purpose, user, intent)
        .map_err(|e| BillingError::Config(e.to_string()))
}
