//! Liveness and readiness probes (not written to the usage log).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::http::Json;
use crate::state::AppState;
use crate::store::reach;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(healthz, readyz))]
pub struct Doc;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers and the process is not shutting down (503 from the moment it
/// receives SIGTERM, so load balancers stop routing here while requests in progress finish).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    if state.readiness.is_draining() {
        return Err(ApiError::Unavailable(anyhow::anyhow!("shutting down")));
    }
    if let Err(error) = state.stores.database.ping().await {
        // The log names the cause ("connection refused to db:5432"), not only a timeout.
        let reason = reach::unreachable_reason(&state.config.database_url).await;
        return Err(ApiError::Unavailable(match reason {
            Some(reason) => anyhow::Error::new(error).context(reason),
            None => error.into(),
        }));
    }
    Ok(Json(Health { status: "ready" }))
}
