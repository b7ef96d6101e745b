//! The Stripe adapter: [`BillingProvider`] over Stripe's REST API.
//!
//! Requests are built with async-stripe's typed builders (`CreateCheckoutSession`, …), which
//! encode the form exactly as the pinned API version expects; this module sends them with its
//! own transport (see the crate docs for why) and reads the answer into the few fields billing
//! uses.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kraftsoci_core::ports::{
    BillingCustomerId, BillingProvider, BillingProviderError, BillingProviderErrorKind,
    CancelOptions, CheckoutRequest, CustomerDeletion, HostedSession, IdempotencyKey, PortalRequest,
    SubscriptionCancellation, SubscriptionId, SubscriptionSnapshot,
};
use kraftsoci_core::{Clock, UserId};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_billing::subscription::{
    CancelSubscription, ListSubscription, ListSubscriptionStatus, RetrieveSubscription,
};
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
};
use stripe_client_core::{RequestBuilder, StripeMethod, StripeRequest};
use stripe_core::customer::{CreateCustomer, DeleteCustomer};
use url::Url;

use crate::BillingError;
use crate::wire::{self, USER_METADATA_KEY};

/// Stripe's production API host.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com/";

/// How to reach Stripe. `Debug` never prints the key.
#[derive(Clone)]
pub struct StripeConfig {
    secret_key: SecretString,
    api_base: Url,
    attempt_timeout: Duration,
    max_attempts: u32,
    initial_backoff: Duration,
}

impl fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConfig")
            .field("secret_key", &"[REDACTED]")
            .field("api_base", &self.api_base.as_str())
            .field("attempt_timeout", &self.attempt_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .finish()
    }
}

impl StripeConfig {
    /// Production defaults: `https://api.stripe.com/`, 20 s per attempt, 3 attempts, backoff
    /// from 500 ms doubling.
    pub fn new(secret_key: SecretString) -> Self {
        Self {
            secret_key,
            // A constant, valid URL: parsing cannot fail.
            api_base: Url::parse(STRIPE_API_BASE).unwrap_or_else(|_| unreachable!()),
            attempt_timeout: Duration::from_secs(20),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
        }
    }

    /// Points the adapter at another host (a test server). Only `https` is accepted, except
    /// `http` on a loopback host.
    ///
    /// # Errors
    /// [`BillingError::Config`] when the URL is invalid, not https off loopback, or carries
    /// credentials, a query or a fragment.
    pub fn with_api_base(mut self, base: &str) -> Result<Self, BillingError> {
        let mut url =
            Url::parse(base).map_err(|e| BillingError::Config(format!("stripe base url: {e}")))?;
        let loopback = matches!(url.host(), Some(url::Host::Domain("localhost")))
            || matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok {
            return Err(BillingError::Config(
                "stripe base url must be https (http only on loopback)".into(),
            ));
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(BillingError::Config(
                "stripe base url must not carry credentials, a query or a fragment".into(),
            ));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        self.api_base = url;
        Ok(self)
    }

    /// Sets the timeout of each attempt.
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Sets how many attempts a call makes in all (1 to 10).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.clamp(1, 10);
        self
    }

    /// Sets the wait before the second attempt; each later wait doubles (capped at 8 s).
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The base URL in use.
    pub fn api_base(&self) -> &str {
        self.api_base.as_str()
    }
}

/// The Stripe [`BillingProvider`].
///
/// Every POST carries the caller's [`IdempotencyKey`], and so does the cancellation of a
/// subscription (a `DELETE`, which Stripe treats as idempotent by definition); network errors,
/// timeouts, 409, 429 and 5xx are retried (bounded, with backoff through the [`Clock`]) with
/// the **same** key, so Stripe performs the operation at most once. A cancellation or customer
/// deletion that Stripe answers with `resource_missing` is already done; a bare 404 without
/// Stripe's error body is not taken for that. `Stripe-Should-Retry` overrides the status
/// rule. Other 4xx are returned at once. Only the user id is sent about a user.
///
/// ## Timeouts
///
/// | what | default | set with |
/// |---|---|---|
/// | one attempt, from sending to the last byte of the answer | 20 s | [`StripeConfig::with_attempt_timeout`] |
/// | connecting (built-in client only) | the attempt timeout | [`StripeConfig::with_attempt_timeout`] |
/// | attempts per call | 3 | [`StripeConfig::with_max_attempts`] |
/// | wait between attempts | 500 ms, doubling, at most 8 s | [`StripeConfig::with_initial_backoff`] |
///
/// The attempt timeout is set on every request, so it also bounds a client given with
/// [`StripeBilling::with_http_client`]; that client's connect timeout is its own.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use kraftsoci_billing::{BillingProvider, IdempotencyKey, StripeBilling, StripeConfig};
/// use kraftsoci_core::{SystemClock, UserId};
/// use secrecy::SecretString;
/// use wiremock::matchers::{header, method, path};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A stand-in for api.stripe.com; in production leave the base URL at its default.
/// let stripe_api = MockServer::start().await;
/// Mock::given(method("POST"))
///     .and(path("/v1/customers"))
///     .and(header("authorization", "Bearer sk_test_123"))
///     .respond_with(
///         ResponseTemplate::new(200)
///             .set_body_json(serde_json::json!({ "id": "cus_Q1", "object": "customer" })),
///     )
///     .expect(1)
///     .mount(&stripe_api)
///     .await;
///
/// let config = StripeConfig::new(SecretString::from("sk_test_123"))
///     .with_api_base(&stripe_api.uri())?
///     .with_attempt_timeout(Duration::from_secs(10));
/// let stripe = StripeBilling::new(config, Arc::new(SystemClock))?;
///
/// // The idempotency key comes from a row you stored first, so a retry reuses it.
/// let user = UserId::new();
/// let customer = stripe
///     .create_customer(user, &IdempotencyKey::for_customer(user))
///     .await?;
/// assert_eq!(customer.as_str(), "cus_Q1");
/// # Ok(())
/// # }
/// ```
pub struct StripeBilling {
    http: reqwest::Client,
    config: StripeConfig,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for StripeBilling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeBilling")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Done(bytes::Bytes),
    Retry(BillingProviderError),
    Fatal(BillingProviderError),
}

fn provider_error(
    kind: BillingProviderErrorKind,
    message: impl Into<String>,
) -> BillingProviderError {
    BillingProviderError::new(kind, message)
}

impl StripeBilling {
    /// A client for `config`; backoff waits go through `clock`.
    ///
    /// # Errors
    /// [`BillingError::Config`] when the key is empty or not usable in a header, or the HTTP
    /// client cannot be built.
    pub fn new(config: StripeConfig, clock: Arc<dyn Clock>) -> Result<Self, BillingError> {
        let key = config.secret_key.expose_secret();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BillingError::Config(
                "the stripe secret key is empty or has invalid characters".into(),
            ));
        }
        // No redirects: Stripe's API sends none, and one must not carry the key away.
        let http = crate::tls::client_builder()
            .map_err(|reason| BillingError::Config(format!("http client: {reason}")))?
            .user_agent(concat!("kraftsoci-billing/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.attempt_timeout)
            .build()
            .map_err(|e| BillingError::Config(format!("http client: {e}")))?;
        Ok(Self {
            http,
            config,
            clock,
        })
    }

    /// Sends every request through `client`, so that the embedder decides proxies, TLS roots,
    /// connection pools and instrumentation (async-openai's `Client::with_http_client`,
    /// async-stripe's `ClientBuilder`).
    ///
    /// The adapter still adds what a call needs to each request: the secret key as a bearer
    /// token, `Stripe-Version`, the `Idempotency-Key`, the form body and the attempt timeout
    /// (see [Timeouts](StripeBilling#timeouts)). Everything else is the client's: its connect
    /// timeout, default headers, `User-Agent` (the built-in client sends
    /// `kraftsoci-billing/<version>`) and redirect policy (the built-in client follows none;
    /// reqwest drops `Authorization` on a redirect to another host).
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use kraftsoci_billing::{StripeBilling, StripeConfig};
    /// use kraftsoci_core::SystemClock;
    /// use secrecy::SecretString;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Your own client: a proxy, your CA roots, your pool settings…
    /// let http = reqwest::Client::builder()
    ///     .pool_max_idle_per_host(4)
    ///     .build()?;
    /// let stripe = StripeBilling::new(
    ///     StripeConfig::new(SecretString::from("sk_live_your_key")),
    ///     Arc::new(SystemClock),
    /// )?
    /// .with_http_client(http);
    /// # let _ = stripe;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http = client;
        self
    }

    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.config
            .initial_backoff
            .saturating_mul(factor)
            .min(Duration::from_secs(8))
    }

    #[tracing::instrument(skip_all, fields(method = ?request.method, path = %request.path))]
    async fn execute<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        key: Option<&IdempotencyKey>,
    ) -> Result<T, BillingProviderError> {
        let mut url = self
            .config
            .api_base
            .join(&format!("v1{}", request.path))
            .map_err(|e| {
                provider_error(
                    BillingProviderErrorKind::Misconfigured,
                    format!("stripe url: {e}"),
                )
            })?;
        if let Some(query) = &request.query {
            url.set_query(Some(query));
        }
        let method = match request.method {
            StripeMethod::Get => reqwest::Method::GET,
            StripeMethod::Post => reqwest::Method::POST,
            StripeMethod::Delete => reqwest::Method::DELETE,
        };
        let mut last = provider_error(BillingProviderErrorKind::Unavailable, "no attempt made");
        for attempt in 1..=self.config.max_attempts {
            if attempt > 1 {
                self.clock.sleep(self.backoff(attempt - 1)).await;
            }
            let mut builder = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.config.secret_key.expose_secret())
                .header("Stripe-Version", stripe_client_core::VERSION.as_str())
                .timeout(self.config.attempt_timeout);
            if let Some(key) = key {
                builder = builder.header("Idempotency-Key", key.as_str());
            }
            if let Some(body) = &request.body {
                builder = builder
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    )
                    .body(body.clone());
            }
            match self.attempt(builder).await {
                Attempt::Done(bytes) => {
                    return serde_json::from_slice(&bytes).map_err(|e| {
                        provider_error(
                            BillingProviderErrorKind::MalformedResponse,
                            format!("unreadable stripe response: {e}"),
                        )
                    });
                }
                Attempt::Fatal(err) => return Err(err),
                Attempt::Retry(err) => {
                    tracing::warn!(attempt, error = %err, "stripe call failed, may retry");
                    last = err;
                }
            }
        }
        Err(last)
    }

    async fn attempt(&self, builder: reqwest::RequestBuilder) -> Attempt {
        let network = |e: reqwest::Error| {
            if e.is_timeout() {
                Attempt::Retry(provider_error(
                    BillingProviderErrorKind::Timeout,
                    "stripe did not answer in time",
                ))
            } else if e.is_builder() {
                Attempt::Fatal(provider_error(
                    BillingProviderErrorKind::Misconfigured,
                    format!("invalid stripe request: {}", e.without_url()),
                ))
            } else {
                Attempt::Retry(provider_error(
                    BillingProviderErrorKind::Unavailable,
                    format!("stripe unreachable: {}", e.without_url()),
                ))
            }
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return network(e),
        };
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("request-id");
        let should_retry = header("stripe-should-retry").and_then(|v| v.parse::<bool>().ok());
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return network(e),
        };
        if status.is_success() {
            return Attempt::Done(bytes);
        }
        let body = serde_json::from_slice::<wire::ErrorEnvelope>(&bytes)
            .ok()
            .map(|e| e.error);
        let code = body.as_ref().and_then(|b| b.code.clone());
        let mut message = format!("stripe answered {}", status.as_u16());
        if let Some(body) = &body {
            for part in [&body.kind, &body.code, &body.message]
                .into_iter()
                .flatten()
            {
                message.push_str(": ");
                message.push_str(part);
            }
        }
        if let Some(id) = request_id {
            message.push_str(&format!(" (request {id})"));
        }
        let retryable = should_retry.unwrap_or(
            status.as_u16() == 409 || status.as_u16() == 429 || status.is_server_error(),
        );
        if retryable {
            Attempt::Retry(provider_error(
                BillingProviderErrorKind::Unavailable,
                message,
            ))
        } else {
            Attempt::Fatal(provider_error(
                BillingProviderErrorKind::Rejected {
                    status: status.as_u16(),
                    code,
                },
                message,
            ))
        }
    }
}

fn user_metadata(user: UserId) -> HashMap<String, String> {
    HashMap::from([(USER_METADATA_KEY.to_owned(), user.to_string())])
}

/// How many pages of 100 subscriptions [`BillingProvider::open_subscriptions`] reads at most:
/// a customer of ours has one live subscription (checkout refuses a second), so a tenth page
/// means something is wrong, and the call fails rather than loop.
const MAX_SUBSCRIPTION_PAGES: usize = 10;

/// Whether Stripe answered "no such object" for the object the request names. Only Stripe's own
/// `resource_missing` counts: a bare 404 (a proxy, a wrong base path) must never be taken for a
/// subscription or customer that is already gone.
fn is_missing(err: &BillingProviderError) -> bool {
    matches!(
        &err.kind,
        BillingProviderErrorKind::Rejected { status: 404, code: Some(code) } if code == "resource_missing"
    )
}

fn malformed(detail: impl fmt::Display) -> BillingProviderError {
    provider_error(
        BillingProviderErrorKind::MalformedResponse,
        format!("unexpected stripe response: {detail}"),
    )
}

#[async_trait]
impl BillingProvider for StripeBilling {
    async fn create_customer(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<BillingCustomerId, BillingProviderError> {
        // P05/P11 spirit: Stripe learns our user id only; Checkout collects what it needs.
        let request = CreateCustomer::new().metadata(user_metadata(user)).build();
        let customer: wire::Customer = self.execute(request, Some(key)).await?;
        BillingCustomerId::parse(customer.id).map_err(malformed)
    }

    async fn create_checkout_session(
        &self,
        request: &CheckoutRequest,
        key: &IdempotencyKey,
    ) -> Result<HostedSession, BillingProviderError> {
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some(request.price_id.to_string());
        item.quantity = Some(1);
        let mut subscription = CreateCheckoutSessionSubscriptionData::new();
        subscription.metadata = Some(user_metadata(request.user));
        let call = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(request.customer.as_str())
            .client_reference_id(request.user.to_string())
            .line_items(vec![item])
            .subscription_data(subscription)
            .metadata(user_metadata(request.user))
            .success_url(request.success_url.as_str())
            .cancel_url(request.cancel_url.as_str())
            .build();
        let session: wire::CheckoutSession = self.execute(call, Some(key)).await?;
        let url = session
            .url
            .ok_or_else(|| malformed("the checkout session has no url"))?;
        Ok(HostedSession {
            id: session.id,
            url,
        })
    }

    async fn create_portal_session(
        &self,
        request: &PortalRequest,
        key: &IdempotencyKey,
    ) -> Result<HostedSession, BillingProviderError> {
        let call = CreateBillingPortalSession::new()
            .customer(request.customer.as_str())
            .return_url(request.return_url.as_str())
            .build();
        let session: wire::PortalSession = self.execute(call, Some(key)).await?;
        Ok(HostedSession {
            id: session.id,
            url: session.url,
        })
    }

    async fn fetch_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<SubscriptionSnapshot, BillingProviderError> {
        let call = RetrieveSubscription::new(id.as_str()).build();
        let subscription: wire::Subscription = self.execute(call, None).await?;
        subscription.snapshot(self.clock.now()).map_err(malformed)
    }

    async fn latest_subscription(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Option<SubscriptionSnapshot>, BillingProviderError> {
        let call = ListSubscription::new()
            .customer(customer.as_str())
            .status(ListSubscriptionStatus::All)
            .limit(1)
            .build();
        let list: wire::List<wire::Subscription> = self.execute(call, None).await?;
        let now = self.clock.now();
        list.data
            .first()
            .map(|s| s.snapshot(now))
            .transpose()
            .map_err(malformed)
    }

    async fn open_subscriptions(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Vec<SubscriptionSnapshot>, BillingProviderError> {
        // Without `status`, Stripe lists every subscription that is not `canceled`.
        let mut open = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_SUBSCRIPTION_PAGES {
            let mut call = ListSubscription::new()
                .customer(customer.as_str())
                .limit(100);
            if let Some(after) = &after {
                call = call.starting_after(after.as_str());
            }
            let page: wire::List<wire::Subscription> = match self.execute(call.build(), None).await
            {
                Ok(page) => page,
                Err(err) if is_missing(&err) => return Ok(Vec::new()),
                Err(err) => return Err(err),
            };
            let now = self.clock.now();
            for subscription in &page.data {
                let snapshot = subscription.snapshot(now).map_err(malformed)?;
                if !snapshot.status.is_terminal() {
                    open.push(snapshot);
                }
            }
            match (page.has_more, page.data.last()) {
                (true, Some(last)) => after = Some(last.id().to_owned()),
                _ => return Ok(open),
            }
        }
        Err(malformed(format_args!(
            "the customer has more than {} subscriptions",
            MAX_SUBSCRIPTION_PAGES * 100
        )))
    }

    async fn cancel_subscription(
        &self,
        subscription: &SubscriptionId,
        options: CancelOptions,
        key: &IdempotencyKey,
    ) -> Result<SubscriptionCancellation, BillingProviderError> {
        // Both choices are always sent, so what Stripe does never depends on its defaults.
        let call = CancelSubscription::new(subscription.as_str())
            .invoice_now(options.invoice_now)
            .prorate(options.prorate)
            .build();
        // Stripe treats DELETE as idempotent by definition and ignores the key; it is sent
        // anyway so that every attempt of one closure carries one key (in Stripe's request log
        // and any proxy's), as every other call of this adapter does.
        let ended: wire::Subscription = match self.execute(call, Some(key)).await {
            Ok(ended) => ended,
            // Stripe answers a cancelled (or deleted) subscription with "no such subscription".
            Err(err) if is_missing(&err) => return Ok(SubscriptionCancellation::AlreadyEnded),
            Err(err) => return Err(err),
        };
        let snapshot = ended.snapshot(self.clock.now()).map_err(malformed)?;
        if snapshot.subscription_id != *subscription {
            return Err(malformed(
                "the cancellation answered for another subscription",
            ));
        }
        if !snapshot.status.is_terminal() {
            return Err(malformed(format_args!(
                "the cancelled subscription is still `{}`",
                snapshot.status
            )));
        }
        Ok(SubscriptionCancellation::Canceled(snapshot))
    }

    async fn delete_customer(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<CustomerDeletion, BillingProviderError> {
        let call = DeleteCustomer::new(customer.as_str()).build();
        let answer: wire::Deleted = match self.execute(call, None).await {
            Ok(answer) => answer,
            Err(err) if is_missing(&err) => return Ok(CustomerDeletion::AlreadyGone),
            Err(err) => return Err(err),
        };
        if answer.id != customer.as_str() || !answer.deleted {
            return Err(malformed("the customer deletion was not confirmed"));
        }
        Ok(CustomerDeletion::Deleted)
    }
}
