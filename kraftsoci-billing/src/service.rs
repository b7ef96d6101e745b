//! Checkout, portal and subscription sync: the billing routes' use cases.

use std::sync::Arc;

use kraftsoci_core::ports::{
    ApplyOutcome, BillingCustomerId, BillingEffect, BillingEvent, BillingProvider, BillingStore,
    CheckoutRequest, HostedSession, IdempotencyKey, PortalRequest,
};
use kraftsoci_core::{Clock, StoreError, UserId};
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

/// Starts checkouts and portal sessions, and re-reads the subscription from the provider.
pub struct BillingService {
    provider: Arc<dyn BillingProvider>,
    store: Arc<dyn BillingStore>,
    plans: Arc<PlanTable>,
    clock: Arc<dyn Clock>,
    urls: BillingUrls,
    policy: AccessPolicy,
}

impl std::fmt::Debug for BillingService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingService")
            .field("urls", &self.urls)
            .field("policy", &self.policy)
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
        }
    }

    /// Replaces the access policy (it decides who counts as already subscribed).
    pub fn with_policy(mut self, policy: AccessPolicy) -> Self {
        self.policy = policy;
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

fn intent_key(purpose: &str, user: UserId, intent: Uuid) -> Result<IdempotencyKey, BillingError> {
    IdempotencyKey::for_intent(purpose, user, intent)
        .map_err(|e| BillingError::Config(e.to_string()))
}
