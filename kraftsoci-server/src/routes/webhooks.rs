//! `/v1/me/webhooks`: the owner's outbound webhook endpoints (issue 15 §3) — register (the
//! signing secret shown once), list, delete, the delivery record and re-sending.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use kraftsoci_core::StoreError;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::http::{AuthUser, Json, Path};
use crate::notify::webhooks::{MAX_WEBHOOKS, TargetError, TargetPolicy};
use crate::notify::{WebhookError, Webhooks};
use crate::state::AppState;
use crate::store::{WebhookDelivery, WebhookEndpoint};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me/webhooks", get(list).post(create))
        .route("/v1/me/webhooks/{id}", axum::routing::delete(remove))
        .route("/v1/me/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/v1/me/webhooks/{id}/deliveries/{delivery_id}/resend",
            post(resend),
        )
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(list, create, remove, deliveries, resend))]
pub struct Doc;

/// The webhook service of a running application.
pub(crate) fn service(state: &AppState) -> Webhooks {
    Webhooks::new(
        state.stores.notify.clone(),
        state.vault.clone(),
        state.clock.clone(),
        TargetPolicy::for_production(state.config.environment.is_production()),
    )
}

/// `POST /v1/me/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hooks.example.com/kraftsoci",
    "events": ["published", "publish_failed", "needs_reconnect"]
}))]
pub struct NewWebhookRequest {
    /// An `https` URL on a public address.
    url: String,
    /// Event names: `published`, `publish_failed`, `needs_reconnect`, `scheduled_soon`,
    /// `quota_80`, `quota_100`, `generation_failed`.
    events: Vec<String>,
}

/// An endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    id: String,
    /// Where deliveries go.
    url: String,
    /// The events it receives.
    events: Vec<String>,
    /// When it was registered.
    created_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for WebhookView {
    fn from(endpoint: WebhookEndpoint) -> Self {
        Self {
            id: endpoint.id.to_string(),
            url: endpoint.url,
            events: endpoint.events,
            created_at: endpoint.created_at,
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    /// The endpoint.
    #[serde(flatten)]
    endpoint: WebhookView,
    /// The signing secret (`whsec_…`): verify each delivery's `Kraftsoci-Signature` with it
    /// (docs/webhooks.md). It is never shown again.
    secret: String,
}

/// The owner's endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    webhooks: Vec<WebhookView>,
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Its id (also the `Kraftsoci-Delivery` header).
    id: String,
    /// The event's name.
    event: String,
    /// `pending` (retried with back-off), `succeeded`, or `failed` (given up after 24 hours,
    /// or the target is not allowed).
    status: String,
    /// Attempts so far.
    attempts: u32,
    /// When the next attempt is due, while pending.
    next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer.
    last_status: Option<u16>,
    /// Why the last attempt failed.
    last_error: Option<String>,
    /// When it was created.
    created_at: DateTime<Utc>,
    /// When it succeeded or was given up.
    completed_at: Option<DateTime<Utc>>,
}

impl From<WebhookDelivery> for DeliveryView {
    fn from(delivery: WebhookDelivery) -> Self {
        Self {
            id: delivery.id.to_string(),
            event: delivery.event,
            status: delivery.status,
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            last_status: delivery.last_status,
            last_error: delivery.last_error,
            created_at: delivery.created_at,
            completed_at: delivery.completed_at,
        }
    }
}

/// An endpoint's deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first, at most 100.
    deliveries: Vec<DeliveryView>,
}

fn not_found(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::NotFound,
        other => other.into(),
    }
}

fn refused(error: WebhookError) -> ApiError {
    let invalid =
        |code, message: &'static str, field: &str, reason: String| ApiError::Unprocessable {
            code,
            message: message.into(),
            fields: [(field.to_owned(), vec![reason])].into(),
        };
    match error {
        WebhookError::UnknownEvents(unknown) => invalid(
            "unknown_event",
            "These are not webhook events.",
            "events",
            format!("unknown: {}", unknown.join(", ")),
        ),
        WebhookError::NoEvents => invalid(
            "validation_failed",
            "Choose at least one event.",
            "events",
            "at least one event is required".to_owned(),
        ),
        WebhookError::Target(TargetError::NotHttps) => invalid(
            "webhook_url_not_https",
            "Webhook endpoints must use https.",
            "url",
            "must use https".to_owned(),
        ),
        WebhookError::Target(TargetError::PrivateAddress) => invalid(
            "webhook_url_forbidden",
            "The endpoint's host resolves to a private, loopback or otherwise non-public address.",
            "url",
            "must resolve to public addresses only".to_owned(),
        ),
        WebhookError::Target(TargetError::Unresolvable) => invalid(
            "webhook_url_unresolvable",
            "The endpoint's host does not resolve.",
            "url",
            "the host does not resolve".to_owned(),
        ),
        WebhookError::Target(TargetError::Invalid) => invalid(
            "validation_failed",
            "The endpoint is not a valid URL.",
            "url",
            "must be an absolute https URL without credentials or fragment".to_owned(),
        ),
        WebhookError::TooMany => ApiError::conflict(
            "webhook_limit_reached",
            format!("An account can register at most {MAX_WEBHOOKS} webhook endpoints."),
        ),
        WebhookError::Seal => ApiError::Internal(anyhow::anyhow!("sealing a webhook secret")),
        WebhookError::Store(error) => error.into(),
    }
}

/// The owner's webhook endpoints.
#[utoipa::path(get, path = "/v1/me/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses(
        (status = 200, body = WebhookList),
        (status = 401, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<WebhookList>, ApiError> {
    let webhooks = service(&state).list(user.id).await?;
    Ok(Json(WebhookList {
        webhooks: webhooks.into_iter().map(WebhookView::from).collect(),
    }))
}

/// Registers an endpoint for some events; answers its signing secret, shown this once.
/// Deliveries are `POST`s of `{id, type, created_at, data}` signed with
/// `Kraftsoci-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
#[utoipa::path(post, path = "/v1/me/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = NewWebhookRequest,
    responses(
        (status = 201, body = CreatedWebhook),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`webhook_limit_reached`: 10 endpoints already", body = ErrorBody),
        (status = 422, description = "`unknown_event`; `webhook_url_not_https` (production); `webhook_url_forbidden` (a private, loopback, link-local, unique-local, CGNAT or multicast target outside development); `webhook_url_unresolvable`; `validation_failed`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let registered = service(&state)
        .register(user.id, &body.url, &body.events)
        .await
        .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            endpoint: registered.endpoint.into(),
            secret: registered.secret.expose_secret().to_owned(),
        }),
    ))
}

/// Deletes an endpoint and its delivery record; nothing more is sent to it.
#[utoipa::path(delete, path = "/v1/me/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    service(&state)
        .delete(user.id, id)
        .await
        .map_err(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's deliveries, newest first: status, attempts, next attempt, last answer.
#[utoipa::path(get, path = "/v1/me/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint")),
    responses(
        (status = 200, body = DeliveryList),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn deliveries(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<DeliveryList>, ApiError> {
    let deliveries = service(&state)
        .deliveries(user.id, id)
        .await
        .map_err(not_found)?;
    Ok(Json(DeliveryList {
        deliveries: deliveries.into_iter().map(DeliveryView::from).collect(),
    }))
}

/// Sends a delivery again with the same body (signed anew), retried for another 24 hours.
#[utoipa::path(post, path = "/v1/me/webhooks/{id}/deliveries/{delivery_id}/resend", tag = "webhooks", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The endpoint"),
        ("delivery_id" = String, Path, description = "The delivery"),
    ),
    responses(
        (status = 202, description = "Queued again", body = DeliveryView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn resend(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<DeliveryView>), ApiError> {
    let delivery = service(&state)
        .resend(user.id, id, delivery)
        .await
        .map_err(not_found)?;
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}
