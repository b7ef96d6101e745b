//! `GET /metrics`: operational metrics in Prometheus' text format, for a scraper holding
//! `KRAFTSOCI_METRICS_TOKEN` (404 when the token is not configured). See
//! [`crate::metrics`] and `docs/deployment.md`.

use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256};
use utoipa::OpenApi;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The text format's media type.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition as a response (also served, without a token, on `KRAFTSOCI_METRICS_LISTEN`).
pub async fn exposition(State(state): State<AppState>) -> Response {
    let body = scrape(&state).await;
    (
        [(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_TEXT))],
        body,
    )
        .into_response()
}

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(metrics))]
pub struct Doc;

/// Whether `headers` carry `Authorization: Bearer <expected>`. Both sides are hashed first
/// so the comparison takes the same time wherever they differ.
fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    presented.is_some_and(|token| {
        Sha256::digest(token.as_bytes()) == Sha256::digest(expected.as_bytes())
    })
}

/// Request counts and latencies by route and status, publish jobs by state and the queue's
/// depth and oldest due job, posts by status, usage-log drops, the password pool and the
/// database pool.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("metrics" = [])),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
        (status = 401, description = "`unauthorized`: no or a wrong metrics token", body = ErrorBody),
        (status = 404, description = "Metrics are off (`KRAFTSOCI_METRICS_TOKEN` unset)", body = ErrorBody),
    ))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(token) = &state.config.metrics.token else {
        return Err(ApiError::NotFound);
    };
    if !authorized(&headers, token.expose_secret()) {
        return Err(ApiError::Unauthorized {
            code: "unauthorized",
            message: "The metrics token is missing or wrong.".into(),
        });
    }
    Ok(exposition(State(state)).await)
}

/// Everything `/metrics` shows (here, not in `metrics`, which must not depend on the state)
/// for the application of `state`: its in-process series and
/// what is read at scrape time (the database's counts and pool, the usage-log writer, the
/// password pool).
pub(crate) async fn scrape(state: &AppState) -> String {
    let pool = state.auth.hasher().pool();
    let snapshot = crate::metrics::Snapshot {
        usage_written: state.usage.written(),
        usage_dropped: state.usage.dropped(),
        usage_failed: state.usage.failed(),
        password_in_pool: pool.in_pool(),
        password_capacity: pool.capacity(),
        password_refused: pool.refused(),
        ..crate::metrics::database_snapshot(state.stores.operations.as_ref(), state.clock.now()).await
    };
    state.metrics.render(&snapshot)
}

