//! Decorators that count each call through a provider port for `/metrics`: the Instagram
//! publisher (Graph), the generators (OpenAI, and generation latency and failures whatever the
//! generator) and the payment provider (Stripe). Each keeps its inner port's behaviour exactly
//! and labels the call's outcome with the classification its error already carries.
//!
//! One count is one call through the port, not one HTTP request: an OpenAI text generation
//! is moderation, one or two chat calls and moderation again, each retried inside the
//! adapter; a Stripe call is retried with its idempotency key; a carousel's `create_container`
//! creates its children too. The classification is that of the call's final answer.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use kraftsoci_ai::{AiError, OpenAiGenerator};
use kraftsoci_core::UserId;
use kraftsoci_core::billing::{
    BillingCustomerId, BillingProviderError, BillingProviderErrorKind, CancelOptions,
    CheckoutRequest, CustomerDeletion, HostedSession, IdempotencyKey, PortalRequest,
    SubscriptionCancellation, SubscriptionId, SubscriptionSnapshot,
};
use kraftsoci_core::ports::{
    BillingProvider, ContainerId, ContainerSpec, ContainerStatus, ContentGenerator, GeneratedImage,
    GeneratedText, GenerationError, GenerationRequest, ImageGenerator, MediaLookup, MediaQuery,
    PublishAccount, PublishError, PublishErrorKind, PublishResult, PublishingQuota,
    SocialPublisher,
};

use super::Metrics;

/// The label of a call that succeeded.
const OK: &str = "ok";

/// A publisher whose calls are counted under `provider` (`graph`, or `sandbox`).
pub struct ObservedPublisher {
    inner: Arc<dyn SocialPublisher>,
    provider: &'static str,
    metrics: Arc<Metrics>,
}

impl ObservedPublisher {
    /// Counts the calls of `inner` as `provider`'s.
    pub fn wrap(
        inner: Arc<dyn SocialPublisher>,
        provider: &'static str,
        metrics: Arc<Metrics>,
    ) -> Arc<dyn SocialPublisher> {
        Arc::new(Self {
            inner,
            provider,
            metrics,
        })
    }

    fn count<T>(
        &self,
        operation: &'static str,
        result: Result<T, PublishError>,
    ) -> Result<T, PublishError> {
        let label = match &result {
            Ok(_) => OK,
            Err(error) => publish_class(&error.kind),
        };
        self.metrics.observe_call(self.provider, operation, label);
        result
    }
}

/// The label of a publisher failure. `reconnect_needed` is Graph's 190 (and 102): an expired or
/// revoked token. Graph timeouts are `transient` (`outcome_unknown` after `media_publish`).
pub fn publish_class(kind: &PublishErrorKind) -> &'static str {
    match kind {
        PublishErrorKind::ReconnectNeeded => "reconnect_needed",
        PublishErrorKind::PermissionMissing { .. } => "permission",
        PublishErrorKind::RateLimited { .. } => "rate_limited",
        PublishErrorKind::PublishLimit { .. } => "publish_limit",
        PublishErrorKind::NotReady => "not_ready",
        PublishErrorKind::Transient => "transient",
        PublishErrorKind::MediaFetchFailed { .. } => "media_fetch_failed",
        PublishErrorKind::InvalidMedia { .. } => "invalid_media",
        PublishErrorKind::AccountRestricted => "account_restricted",
        PublishErrorKind::ActivityRestricted => "activity_restricted",
        PublishErrorKind::Invalid => "invalid",
        PublishErrorKind::OutcomeUnknown => "outcome_unknown",
        PublishErrorKind::Unknown => "unknown",
        _ => "other",
    }
}

#[async_trait]
impl SocialPublisher for ObservedPublisher {
    async fn create_container(
        &self,
        account: &PublishAccount,
        spec: &ContainerSpec,
    ) -> Result<ContainerId, PublishError> {
        let result = self.inner.create_container(account, spec).await;
        self.count("create_container", result)
    }

    async fn container_status(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError> {
        let result = self.inner.container_status(account, container).await;
        self.count("container_status", result)
    }

    async fn publish(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<PublishResult, PublishError> {
        let result = self.inner.publish(account, container).await;
        self.count("publish", result)
    }

    async fn publishing_quota(
        &self,
        account: &PublishAccount,
    ) -> Result<PublishingQuota, PublishError> {
        let result = self.inner.publishing_quota(account).await;
        self.count("publishing_quota", result)
    }

    async fn permalink(
        &self,
        account: &PublishAccount,
        media_id: &str,
    ) -> Result<Option<String>, PublishError> {
        let result = self.inner.permalink(account, media_id).await;
        self.count("permalink", result)
    }

    async fn find_media(
        &self,
        account: &PublishAccount,
        query: &MediaQuery,
    ) -> Result<MediaLookup, PublishError> {
        let result = self.inner.find_media(account, query).await;
        self.count("find_media", result)
    }
}

/// A generator whose steps are timed and whose failures are counted by reason
/// (`kraftsoci_generation_*`), whichever generator it wraps.
pub struct ObservedGenerator<T: ?Sized> {
    inner: Arc<T>,
    metrics: Arc<Metrics>,
}

impl ObservedGenerator<dyn ContentGenerator> {
    /// Times and counts the text steps of `inner`.
    pub fn text(
        inner: Arc<dyn ContentGenerator>,
        metrics: Arc<Metrics>,
    ) -> Arc<dyn ContentGenerator> {
        Arc::new(Self { inner, metrics })
    }
}

impl ObservedGenerator<dyn ImageGenerator> {
    /// Times and counts the image steps of `inner`.
    pub fn images(
        inner: Arc<dyn ImageGenerator>,
        metrics: Arc<Metrics>,
    ) -> Arc<dyn ImageGenerator> {
        Arc::new(Self { inner, metrics })
    }
}

/// The label of a generation failure.
pub fn generation_reason(error: &GenerationError) -> &'static str {
    match error {
        GenerationError::Flagged { .. } => "flagged",
        GenerationError::Refused(_) => "refused",
        GenerationError::InvalidOutput(_) => "invalid_output",
        GenerationError::Unavailable(_) => "unavailable",
        GenerationError::Rejected(_) => "rejected",
        _ => "other",
    }
}

#[async_trait]
impl ContentGenerator for ObservedGenerator<dyn ContentGenerator> {
    async fn generate_text(
        &self,
        request: &GenerationRequest,
    ) -> Result<GeneratedText, GenerationError> {
        let started = Instant::now();
        let result = self.inner.generate_text(request).await;
        let failure = result.as_ref().err().map(generation_reason);
        self.metrics
            .observe_generation("text", started.elapsed(), failure);
        result
    }
}

#[async_trait]
impl ImageGenerator for ObservedGenerator<dyn ImageGenerator> {
    async fn generate_image(
        &self,
        request: &GenerationRequest,
        image_prompt: &str,
    ) -> Result<GeneratedImage, GenerationError> {
        let started = Instant::now();
        let result = self.inner.generate_image(request, image_prompt).await;
        let failure = result.as_ref().err().map(generation_reason);
        self.metrics
            .observe_generation("image", started.elapsed(), failure);
        result
    }
}

/// The OpenAI generator, its calls counted with the classification of the adapter's own error
/// (which tells a throttled call from a refused key before both become core's
/// `Unavailable`/`Rejected`).
pub struct ObservedOpenAi {
    inner: Arc<OpenAiGenerator>,
    metrics: Arc<Metrics>,
}

impl ObservedOpenAi {
    /// Counts the calls of `inner`.
    pub fn new(inner: Arc<OpenAiGenerator>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn count<T>(
        &self,
        operation: &'static str,
        result: Result<T, AiError>,
    ) -> Result<T, GenerationError> {
        match result {
            Ok(value) => {
                self.metrics.observe_call("openai", operation, OK);
                Ok(value)
            }
            Err(error) => {
                let class = openai_class(&error);
                self.metrics.observe_call("openai", operation, class);
                if error.is_transient() || matches!(error, AiError::Rejected { .. }) {
                    tracing::warn!(operation, class, error = ?error, "openai generation failed");
                } else {
                    tracing::info!(operation, class, error = %error, "openai generation declined");
                }
                Err(error.into())
            }
        }
    }
}

/// The label of an OpenAI failure: `auth` (401), `permission` (403), `quota` (429
/// `insufficient_quota`), `invalid` (another refused request), `rate_limited` and `timeout`
/// and `transient` (past the retries), or what the model did (`flagged`, `refused`,
/// `invalid_output`).
pub fn openai_class(error: &AiError) -> &'static str {
    match error {
        AiError::Config(_) => "misconfigured",
        AiError::Flagged { .. } => "flagged",
        AiError::Refused(_) => "refused",
        AiError::InvalidOutput(_) | AiError::InvalidImage(_) | AiError::Render(_) => {
            "invalid_output"
        }
        AiError::Rejected { status: 401, .. } => "auth",
        AiError::Rejected { status: 403, .. } => "permission",
        AiError::Rejected { status: 429, .. } => "quota",
        AiError::Rejected { .. } => "invalid",
        AiError::RateLimited { .. } => "rate_limited",
        // The adapter's words for an attempt that ran out of time (`Transient::TimedOut`).
        AiError::Unavailable { reason, .. } if reason.contains("timed out") => "timeout",
        AiError::Unavailable { .. } => "transient",
        _ => "other",
    }
}

#[async_trait]
impl ContentGenerator for ObservedOpenAi {
    async fn generate_text(
        &self,
        request: &GenerationRequest,
    ) -> Result<GeneratedText, GenerationError> {
        let result = self.inner.write_post(request).await;
        self.count("generate_text", result)
    }
}

#[async_trait]
impl ImageGenerator for ObservedOpenAi {
    async fn generate_image(
        &self,
        request: &GenerationRequest,
        image_prompt: &str,
    ) -> Result<GeneratedImage, GenerationError> {
        let result = self.inner.make_image(request, image_prompt).await;
        self.count("generate_image", result)
    }
}

/// The payment provider, its calls counted as `stripe`'s.
pub struct ObservedBilling {
    inner: Arc<dyn BillingProvider>,
    metrics: Arc<Metrics>,
}

impl ObservedBilling {
    /// Counts the calls of `inner`.
    pub fn wrap(
        inner: Arc<dyn BillingProvider>,
        metrics: Arc<Metrics>,
    ) -> Arc<dyn BillingProvider> {
        Arc::new(Self { inner, metrics })
    }

    fn count<T>(
        &self,
        operation: &'static str,
        result: Result<T, BillingProviderError>,
    ) -> Result<T, BillingProviderError> {
        let label = match &result {
            Ok(_) => OK,
            Err(error) => billing_class(&error.kind),
        };
        self.metrics.observe_call("stripe", operation, label);
        result
    }
}

/// The label of a Stripe failure: `auth` (401), `permission` (403), `not_found` (404),
/// `rate_limited` (429), `invalid` (another 4xx), `transient` (5xx or network on every
/// attempt), `timeout`, `malformed`, `misconfigured`.
pub fn billing_class(kind: &BillingProviderErrorKind) -> &'static str {
    match kind {
        BillingProviderErrorKind::Rejected { status: 401, .. } => "auth",
        BillingProviderErrorKind::Rejected { status: 403, .. } => "permission",
        BillingProviderErrorKind::Rejected { status: 404, .. } => "not_found",
        BillingProviderErrorKind::Rejected { status: 429, .. } => "rate_limited",
        BillingProviderErrorKind::Rejected { .. } => "invalid",
        BillingProviderErrorKind::Unavailable => "transient",
        BillingProviderErrorKind::Timeout => "timeout",
        BillingProviderErrorKind::MalformedResponse => "malformed",
        BillingProviderErrorKind::Misconfigured => "misconfigured",
        _ => "other",
    }
}

#[async_trait]
impl BillingProvider for ObservedBilling {
    async fn create_customer(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<BillingCustomerId, BillingProviderError> {
        let result = self.inner.create_customer(user, key).await;
        self.count("create_customer", result)
    }

    async fn create_checkout_session(
        &self,
        request: &CheckoutRequest,
        key: &IdempotencyKey,
    ) -> Result<HostedSession, BillingProviderError> {
        let result = self.inner.create_checkout_session(request, key).await;
        self.count("create_checkout_session", result)
    }

    async fn create_portal_session(
        &self,
        request: &PortalRequest,
        key: &IdempotencyKey,
    ) -> Result<HostedSession, BillingProviderError> {
        let result = self.inner.create_portal_session(request, key).await;
        self.count("create_portal_session", result)
    }

    async fn fetch_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<SubscriptionSnapshot, BillingProviderError> {
        let result = self.inner.fetch_subscription(id).await;
        self.count("fetch_subscription", result)
    }

    async fn latest_subscription(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Option<SubscriptionSnapshot>, BillingProviderError> {
        let result = self.inner.latest_subscription(customer).await;
        self.count("latest_subscription", result)
    }

    async fn open_subscriptions(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Vec<SubscriptionSnapshot>, BillingProviderError> {
        let result = self.inner.open_subscriptions(customer).await;
        self.count("open_subscriptions", result)
    }

    async fn cancel_subscription(
        &self,
        subscription: &SubscriptionId,
        options: CancelOptions,
        key: &IdempotencyKey,
    ) -> Result<SubscriptionCancellation, BillingProviderError> {
        let result = self
            .inner
            .cancel_subscription(subscription, options, key)
            .await;
        self.count("cancel_subscription", result)
    }

    async fn delete_customer(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<CustomerDeletion, BillingProviderError> {
        let result = self.inner.delete_customer(customer).await;
        self.count("delete_customer", result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_failures_are_told_apart_before_core_merges_them() {
        let rejected = |status| AiError::Rejected {
            status,
            code: None,
            message: String::new(),
            request_id: None,
        };
        assert_eq!(openai_class(&rejected(401)), "auth");
        assert_eq!(openai_class(&rejected(403)), "permission");
        assert_eq!(openai_class(&rejected(429)), "quota");
        assert_eq!(openai_class(&rejected(400)), "invalid");
        assert_eq!(
            openai_class(&AiError::RateLimited {
                attempts: 3,
                retry_after: None
            }),
            "rate_limited"
        );
        assert_eq!(
            openai_class(&AiError::Unavailable {
                attempts: 3,
                reason: "the request timed out".into()
            }),
            "timeout"
        );
        assert_eq!(
            openai_class(&AiError::Unavailable {
                attempts: 3,
                reason: "status 503".into()
            }),
            "transient"
        );
    }

    #[test]
    fn stripe_failures_are_labelled_by_status_and_kind() {
        let rejected = |status| BillingProviderErrorKind::Rejected { status, code: None };
        assert_eq!(billing_class(&rejected(401)), "auth");
        assert_eq!(billing_class(&rejected(402)), "invalid");
        assert_eq!(billing_class(&BillingProviderErrorKind::Timeout), "timeout");
        assert_eq!(
            billing_class(&BillingProviderErrorKind::Unavailable),
            "transient"
        );
    }
}
