//! The web app's billing page (P13): plan, usage, Stripe Checkout and Billing Portal, and the
//! return from them, which reads the subscription from Stripe at once
//! ([`Billing::sync`](crate::billing::Billing::sync)) instead of waiting for the webhook.
//! The same service as `/v1/billing*`; a card never reaches this server.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kraftsoci_billing::{Access, BillingError, BillingOverview};
use kraftsoci_core::ports::{EntitlementError, HostedSession};
use serde::Deserialize;

use super::web_auth::server_error;
use crate::billing::{BillingFailure, BillingMode};
use crate::error::ApiError;
use crate::i18n::Args;
use crate::state::AppState;
use crate::web::form::{self, FormError};
use crate::web::views::billing::{BillingSummary, Meter, PlanOffer};
use crate::web::views::{self, Alert, Tone};
use crate::web::{Owner, PageContext};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/billing", get(page))
        .route("/billing/checkout", post(checkout))
        .route("/billing/portal", post(portal))
}

/// Where the page was opened from: Stripe's return addresses (see `billing::return_urls`).
#[derive(Debug, Default, Deserialize)]
struct ReturnQuery {
    #[serde(default)]
    checkout: Option<String>,
    #[serde(default)]
    portal: Option<String>,
}

fn status_words(ctx: &PageContext, status: &str) -> (String, Tone) {
    let (key, tone) = match status {
        "none" => ("billing-status-none", Tone::Neutral),
        "active" => ("billing-status-active", Tone::Done),
        "trialing" => ("billing-status-trialing", Tone::Done),
        "past_due" => ("billing-status-past-due", Tone::Danger),
        "canceled" => ("billing-status-canceled", Tone::Neutral),
        "unpaid" => ("billing-status-unpaid", Tone::Danger),
        "incomplete" => ("billing-status-incomplete", Tone::Progress),
        "incomplete_expired" => ("billing-status-incomplete-expired", Tone::Neutral),
        "paused" => ("billing-status-paused", Tone::Neutral),
        other => {
            return (
                ctx.t_with(
                    "billing-status-other",
                    &Args::new().text("status", other.to_owned()),
                ),
                Tone::Neutral,
            );
        }
    };
    (ctx.t(key), tone)
}

fn summary(state: &AppState, ctx: &PageContext, overview: &BillingOverview) -> BillingSummary {
    let (status, tone) = status_words(ctx, &overview.status);
    let granted = matches!(overview.access, Access::Granted | Access::Grace { .. });
    let stripe = state.billing.mode() == BillingMode::Stripe;
    let offers = if stripe {
        state
            .billing
            .plans()
            .iter()
            .filter(|plan| plan.price_id.is_some())
            .map(|plan| PlanOffer {
                name: plan.name.to_string(),
                quota: ctx.t_with(
                    "billing-plan-quota",
                    &Args::new()
                        .text("posts", ctx.integer(i64::from(plan.monthly_posts)))
                        .text("images", ctx.integer(i64::from(plan.monthly_images))),
                ),
                choose: ctx.t_with(
                    "billing-plan-choose",
                    &Args::new().text("plan", plan.name.to_string()),
                ),
                current: granted && overview.plan.as_deref() == Some(plan.name.as_str()),
            })
            .collect()
    } else {
        Vec::new()
    };
    let plan = overview
        .plan
        .clone()
        .unwrap_or_else(|| ctx.t("billing-plan-none"));
    BillingSummary {
        unbilled_note: (!stripe)
            .then(|| ctx.t_with("billing-unbilled", &Args::new().text("plan", plan.clone()))),
        plan,
        status,
        tone,
        period_end: overview.current_period_end.map(|at| ctx.date(at)),
        grace_until: match overview.access {
            Access::Grace { until } => Some(ctx.date(until)),
            _ => None,
        },
        meters: vec![
            Meter::new(
                ctx,
                "billing-usage-posts",
                overview.usage.posts_used,
                overview.usage.posts_limit,
            ),
            Meter::new(
                ctx,
                "billing-usage-images",
                overview.usage.images_used,
                overview.usage.images_limit,
            ),
        ],
        offers,
        stripe,
        subscribed: overview.status != "none",
    }
}

async fn overview(state: &AppState, owner: Owner) -> Result<BillingOverview, ApiError> {
    state
        .billing
        .overview(owner.user_id)
        .await
        .map_err(|error| match error {
            EntitlementError::Unavailable(reason) => ApiError::Unavailable(anyhow::anyhow!(reason)),
            other => ApiError::internal(other),
        })
}

/// The page with `alert` above it.
async fn render(
    state: &AppState,
    owner: Owner,
    ctx: &PageContext,
    status: StatusCode,
    alert: Option<Alert>,
) -> Response {
    match overview(state, owner).await {
        Ok(overview) => {
            let summary = summary(state, ctx, &overview);
            views::billing::page(ctx, status, &summary, alert).into_response()
        }
        Err(error) => server_error(ctx, &error).into_response(),
    }
}

fn alert(ctx: &PageContext, tone: Tone, heading: &str, body: String) -> Alert {
    Alert {
        tone,
        heading: ctx.t(heading),
        body,
    }
}

#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn page(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: ReturnQuery = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let back_from_stripe = query.checkout.as_deref() == Some("success") || query.portal.is_some();
    if !back_from_stripe {
        let canceled = (query.checkout.as_deref() == Some("canceled")).then(|| {
            alert(
                &ctx,
                Tone::Neutral,
                "billing-canceled-heading",
                ctx.t("billing-canceled"),
            )
        });
        return render(&state, owner, &ctx, StatusCode::OK, canceled).await;
    }
    // Back from Stripe: read the subscription now rather than wait for the webhook.
    let synced = state.billing.sync(owner.user_id).await;
    if let Err(error) = &synced {
        tracing::warn!(error = %error, "billing sync after Stripe's return failed");
    }
    let notice = match overview(&state, owner).await {
        Err(error) => return server_error(&ctx, &error).into_response(),
        Ok(_) if synced.is_err() => alert(
            &ctx,
            Tone::Progress,
            "billing-pending-heading",
            ctx.t("billing-sync-failed"),
        ),
        Ok(_) if query.portal.is_some() => alert(
            &ctx,
            Tone::Done,
            "billing-portal-returned-heading",
            ctx.t("billing-portal-returned"),
        ),
        Ok(overview) if matches!(overview.access, Access::Granted) && overview.plan.is_some() => {
            alert(
                &ctx,
                Tone::Done,
                "billing-welcome-heading",
                ctx.t_with(
                    "billing-welcome",
                    &Args::new().text("plan", overview.plan.clone().unwrap_or_default()),
                ),
            )
        }
        Ok(_) => alert(
            &ctx,
            Tone::Progress,
            "billing-pending-heading",
            ctx.t("billing-pending"),
        ),
    };
    render(&state, owner, &ctx, StatusCode::OK, Some(notice)).await
}

#[derive(Debug, Default, Deserialize)]
struct CheckoutForm {
    #[serde(default)]
    plan: String,
}

/// `303` to a Stripe-hosted page.
fn to_stripe(ctx: &PageContext, session: &HostedSession) -> Response {
    match HeaderValue::from_str(&session.url) {
        Ok(location)
            if url::Url::parse(&session.url)
                .is_ok_and(|url| matches!(url.scheme(), "https" | "http")) =>
        {
            (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
        }
        _ => server_error(
            ctx,
            &ApiError::Internal(anyhow::anyhow!("Stripe answered an unusable session URL")),
        )
        .into_response(),
    }
}

/// The page again with why Stripe's page did not open.
async fn refused(
    state: &AppState,
    owner: Owner,
    ctx: &PageContext,
    failure: BillingFailure,
) -> Response {
    let (status, key) = match &failure {
        BillingFailure::NotConfigured => (
            StatusCode::SERVICE_UNAVAILABLE,
            "billing-failed-unavailable",
        ),
        BillingFailure::Billing(BillingError::AlreadySubscribed) => {
            (StatusCode::CONFLICT, "billing-failed-subscribed")
        }
        BillingFailure::Billing(BillingError::NoCustomer) => {
            (StatusCode::CONFLICT, "billing-failed-no-customer")
        }
        BillingFailure::Billing(BillingError::UnknownPlan(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "billing-failed-unknown-plan",
        ),
        BillingFailure::Billing(_) => {
            let error = ApiError::from(failure);
            if let ApiError::Internal(source) | ApiError::Unavailable(source) = &error {
                tracing::error!(error = format!("{source:#}"), "billing page failed");
            } else {
                tracing::warn!(%error, "stripe refused a billing session");
            }
            return render(
                state,
                owner,
                ctx,
                error.status(),
                Some(alert(
                    ctx,
                    Tone::Danger,
                    "billing-failed-heading",
                    ctx.t("billing-failed-provider"),
                )),
            )
            .await;
        }
    };
    render(
        state,
        owner,
        ctx,
        status,
        Some(alert(
            ctx,
            Tone::Danger,
            "billing-failed-heading",
            ctx.t(key),
        )),
    )
    .await
}

fn expired(ctx: &PageContext) -> Alert {
    alert(
        ctx,
        Tone::Danger,
        "form-refused-title",
        ctx.t("form-expired"),
    )
}

/// Opens Stripe Checkout for the chosen plan.
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn checkout(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<CheckoutForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "checkout form refused");
            return render(
                &state,
                owner,
                &ctx,
                StatusCode::FORBIDDEN,
                Some(expired(&ctx)),
            )
            .await;
        }
        Err(FormError::Malformed(_)) => CheckoutForm::default(),
    };
    match state
        .billing
        .checkout(owner.user_id, form.plan.trim())
        .await
    {
        Ok(session) => to_stripe(&ctx, &session),
        Err(failure) => refused(&state, owner, &ctx, failure).await,
    }
}

/// Opens the Stripe Billing Portal.
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn portal(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    if let Err(FormError::Forged(reason)) = form::parse::<Vec<(String, String)>>(&ctx, &body) {
        tracing::info!(%reason, "portal form refused");
        return render(
            &state,
            owner,
            &ctx,
            StatusCode::FORBIDDEN,
            Some(expired(&ctx)),
        )
        .await;
    }
    match state.billing.portal(owner.user_id).await {
        Ok(session) => to_stripe(&ctx, &session),
        Err(failure) => refused(&state, owner, &ctx, failure).await,
    }
}
