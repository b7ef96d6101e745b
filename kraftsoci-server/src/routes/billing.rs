//! `/v1/billing` and `/webhooks/stripe`: the plan and usage, Stripe Checkout and Billing
//! Portal sessions (P13: card entry only on Stripe's pages), and verified Stripe webhooks.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use kraftsoci_billing::{Access, BillingError, BillingOverview, WebhookOutcome};
use kraftsoci_core::ports::{BillingProviderErrorKind, EntitlementError, HostedSession};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::billing::BillingFailure;
use crate::error::{ApiError, ErrorBody};
use crate::http::{AuthUser, Json};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/billing", get(overview))
        .route("/v1/billing/checkout", post(checkout))
        .route("/v1/billing/portal", post(portal))
        .route("/webhooks/stripe", post(stripe_webhook))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(overview, checkout, portal, stripe_webhook))]
pub struct Doc;

/// Whether the subscription grants the paid plan now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessState {
    /// In good standing (`trialing`, `active`).
    Granted,
    /// `past_due`, inside the grace period (`grace_until`).
    Grace,
    /// No paid plan: never subscribed, or a status that grants nothing; the free plan applies
    /// when one is configured.
    Denied,
}

/// This billing period's use and limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    posts_used: u32,
    posts_limit: u32,
    images_used: u32,
    images_limit: u32,
}

/// The account's plan, subscription status and usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingView {
    /// The plan in force; `null` when no plan applies (nothing may be generated).
    plan: Option<String>,
    /// Stripe's subscription status (`active`, `past_due`, `canceled`…), `none` when the
    /// account never subscribed.
    status: String,
    /// What the status grants.
    access: AccessState,
    /// When the `past_due` grace period ends.
    grace_until: Option<DateTime<Utc>>,
    /// The end of the subscription's current period.
    current_period_end: Option<DateTime<Utc>>,
    /// Use and limits of the current period.
    usage: UsageView,
}

impl From<BillingOverview> for BillingView {
    fn from(overview: BillingOverview) -> Self {
        let (access, grace_until) = match overview.access {
            Access::Granted => (AccessState::Granted, None),
            Access::Grace { until } => (AccessState::Grace, Some(until)),
            // Denied, and any state a later kraftsoci-billing adds: fail closed.
            _ => (AccessState::Denied, None),
        };
        Self {
            plan: overview.plan,
            status: overview.status,
            access,
            grace_until,
            current_period_end: overview.current_period_end,
            usage: UsageView {
                posts_used: overview.usage.posts_used,
                posts_limit: overview.usage.posts_limit,
                images_used: overview.usage.images_used,
                images_limit: overview.usage.images_limit,
            },
        }
    }
}

/// `POST /v1/billing/checkout`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"plan": "starter"}))]
pub struct CheckoutBody {
    /// The name of a plan that is sold (e.g. `starter`).
    plan: String,
}

/// A Stripe-hosted page to send the browser to.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUrl {
    /// The page.
    url: String,
}

impl From<HostedSession> for SessionUrl {
    fn from(session: HostedSession) -> Self {
        Self { url: session.url }
    }
}

/// What was done with a verified webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// Stripe's event id.
    event_id: String,
    /// Stripe's event type.
    event_type: String,
    /// `applied`, `superseded` (older than the stored state), `already_applied` (a duplicate)
    /// or `ignored` (not a type or customer billing acts on).
    result: &'static str,
}

impl From<WebhookOutcome> for WebhookAck {
    fn from(outcome: WebhookOutcome) -> Self {
        Self {
            event_id: outcome.event_id,
            event_type: outcome.event_type,
            result: outcome.result.as_str(),
        }
    }
}

fn billing_unavailable() -> ApiError {
    ApiError::dependency_unavailable(
        "billing_unavailable",
        "Payments are not configured on this server.",
        None,
    )
}

impl From<BillingFailure> for ApiError {
    fn from(failure: BillingFailure) -> Self {
        let error = match failure {
            BillingFailure::NotConfigured => return billing_unavailable(),
            BillingFailure::Billing(error) => error,
        };
        match error {
            BillingError::UnknownPlan(_) => {
                Self::invalid_field("plan", "is not a plan that can be bought")
            }
            BillingError::AlreadySubscribed => Self::conflict(
                "already_subscribed",
                "The account already has a subscription; change it in the billing portal.",
            ),
            BillingError::NoCustomer => Self::conflict(
                "no_subscription",
                "There is no subscription to manage yet; choose a plan first.",
            ),
            BillingError::Provider(provider) => match provider.kind {
                BillingProviderErrorKind::Unavailable | BillingProviderErrorKind::Timeout => {
                    Self::dependency_unavailable(
                        "payment_provider_unavailable",
                        "The payment provider is not answering; try again in a moment.",
                        Some(provider.into()),
                    )
                }
                _ => Self::bad_gateway(
                    "payment_provider_error",
                    "The payment provider refused the request.",
                    provider,
                ),
            },
            BillingError::Store(store) => store.into(),
            other => Self::internal(other),
        }
    }
}

/// The account's plan, subscription status and this period's usage.
#[utoipa::path(get, path = "/v1/billing", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, body = BillingView),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn overview(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<BillingView>, ApiError> {
    let overview = state.billing.overview(user.id).await.map_err(|e| match e {
        EntitlementError::Unavailable(reason) => ApiError::Unavailable(anyhow::anyhow!(reason)),
        other => ApiError::internal(other),
    })?;
    Ok(Json(overview.into()))
}

/// Opens a Stripe Checkout session for a plan. Retrying after a failure reuses the pending
/// attempt's `Idempotency-Key`, so Stripe never opens two sessions for one attempt.
#[utoipa::path(post, path = "/v1/billing/checkout", tag = "billing", security(("bearer" = [])),
    request_body = CheckoutBody,
    responses(
        (status = 200, body = SessionUrl),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`already_subscribed`: use the portal", body = ErrorBody),
        (status = 422, description = "Not a plan that can be bought", body = ErrorBody),
        (status = 502, description = "`payment_provider_error`", body = ErrorBody),
        (status = 503, description = "`billing_unavailable` (Stripe not configured) or `payment_provider_unavailable`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn checkout(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<CheckoutBody>,
) -> Result<Json<SessionUrl>, ApiError> {
    let session = state.billing.checkout(user.id, &body.plan).await?;
    Ok(Json(session.into()))
}

/// Opens a Stripe Billing Portal session (card and plan changes, cancellation, invoices).
#[utoipa::path(post, path = "/v1/billing/portal", tag = "billing", security(("bearer" = [])),
    responses(
        (status = 200, body = SessionUrl),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`no_subscription`: nothing to manage yet", body = ErrorBody),
        (status = 502, description = "`payment_provider_error`", body = ErrorBody),
        (status = 503, description = "`billing_unavailable` or `payment_provider_unavailable`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn portal(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<SessionUrl>, ApiError> {
    let session = state.billing.portal(user.id).await?;
    Ok(Json(session.into()))
}

/// Stripe's webhook. The `Stripe-Signature` header is checked over the raw body (every `v1`,
/// 300 s replay window); each event id is applied once, whatever the delivery order.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "billing",
    params(("Stripe-Signature" = String, Header, description = "`t=<unix>,v1=<hex>[,v1=…]`")),
    request_body(content = String, content_type = "application/json", description = "The Stripe event, exactly as sent"),
    responses(
        (status = 200, body = WebhookAck, description = "Verified: applied, a duplicate, older than the stored state, or ignored"),
        (status = 400, description = "`invalid_signature` or `invalid_event`: nothing was written", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 503, description = "Storage unavailable (nothing was written; Stripe retries) or `billing_unavailable`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<WebhookAck>, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::bad_request("invalid_body", "The request body could not be read.")
        }
    })?;
    // A header that is not visible ASCII cannot hold a valid signature: it is checked (and
    // refused) like a malformed one.
    let signature = headers
        .get("stripe-signature")
        .map(|value| value.to_str().unwrap_or_default());
    match state.billing.handle_webhook(signature, &body).await {
        Ok(outcome) => Ok(Json(outcome.into())),
        Err(BillingFailure::NotConfigured) => Err(billing_unavailable()),
        Err(BillingFailure::Billing(error)) if error.is_bad_webhook() => {
            tracing::warn!(%error, "stripe webhook refused");
            Err(match error {
                BillingError::MalformedEvent(_) => {
                    ApiError::bad_request("invalid_event", "The signed body is not a Stripe event.")
                }
                _ => ApiError::bad_request(
                    "invalid_signature",
                    "The Stripe-Signature header does not verify this body.",
                ),
            })
        }
        // Every storage failure answers 5xx (even a conflict), so that Stripe retries; the
        // transaction left nothing behind.
        Err(BillingFailure::Billing(BillingError::Store(error))) => {
            Err(ApiError::Unavailable(error.into()))
        }
        Err(BillingFailure::Billing(error)) => Err(ApiError::internal(error)),
    }
}
