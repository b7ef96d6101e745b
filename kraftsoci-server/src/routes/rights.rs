//! The data subject's rights over HTTP: the export (P26 access, P30 portability), the list of
//! requests with their due dates (P33) and erasure by closing the account (P19, P28).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use kraftsoci_core::{DataSubjectRequest, RequestKind};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::http::{AuthUser, Json, Query};
use crate::state::AppState;
use crate::{export, rights};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me", delete(close_account))
        .route("/v1/me/export", get(export_account))
        .route("/v1/me/requests", get(list_requests))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(close_account, export_account, list_requests))]
pub struct Doc;

/// `DELETE /v1/me`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"password": "the account's password"}))]
pub struct CloseRequest {
    /// The account's password, asked again before anything is erased.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// The account is closed; its data is purged by `purge_by`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Closed {
    /// Always `closed`.
    status: &'static str,
    /// The latest time by which every row and stored object of the account, payment records
    /// excepted, is deleted (closure + 30 days).
    purge_by: DateTime<Utc>,
}

impl Closed {
    /// The answer for an account purged by `purge_by`.
    pub fn new(purge_by: DateTime<Utc>) -> Self {
        Self {
            status: "closed",
            purge_by,
        }
    }
}

/// Which right an export exercises (both get the same document).
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportRight {
    /// Portability (P30): a machine-readable copy to take elsewhere.
    #[default]
    Portability,
    /// Access (P26): everything held, to read.
    Access,
}

/// `GET /v1/me/export` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ExportParams {
    /// Which right is exercised (recorded as the request's type); default `portability`.
    #[serde(default)]
    right: ExportRight,
}

/// A data-subject request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    /// Its id.
    id: String,
    /// `access`, `rectification`, `erasure`, `restriction`, `portability` or `objection`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    kind: RequestKind,
    /// When it arrived.
    received_at: DateTime<Utc>,
    /// When it must be answered: received + 30 days.
    due_at: DateTime<Utc>,
    /// `received` or `completed`.
    status: String,
    /// When it was completed.
    completed_at: Option<DateTime<Utc>>,
}

impl From<&DataSubjectRequest> for RequestView {
    fn from(request: &DataSubjectRequest) -> Self {
        Self {
            id: request.id().to_string(),
            kind: request.kind(),
            received_at: request.received_at(),
            due_at: request.due_at(),
            status: request.status().as_str().to_owned(),
            completed_at: request.completed_at(),
        }
    }
}

/// The user's data-subject requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    /// Newest first.
    requests: Vec<RequestView>,
}

/// Closes the account now (P19, P28): every session ends, Instagram tokens are deleted,
/// approved or scheduled posts are withdrawn. Everything but payment records is purged by
/// `purge_by`; an erasure request is recorded.
#[utoipa::path(delete, path = "/v1/me", tag = "account", security(("bearer" = [])),
    request_body = CloseRequest,
    responses(
        (status = 202, description = "Closed; the purge follows", body = Closed),
        (status = 401, description = "Not authenticated, or a wrong password (`invalid_credentials`)", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn close_account(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<CloseRequest>,
) -> Result<(StatusCode, Json<Closed>), ApiError> {
    // The password is asked again, so it is guessable here too: limit like a login.
    state.limits.check_account("close", &user.id.to_string())?;
    let outcome = rights::close_own_account(&state, user.id, &body.password).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Closed::new(outcome.purge_after())),
    ))
}

/// Everything held about the user as one JSON document (`"format": "kraftsoci.export.v1"`),
/// streamed: the account, profile, preferences, restrictions and objections, Instagram
/// connections (never tokens), posts with their consent receipts and signed image links with
/// each image's SHA-256, billing and payment records, the usage log, data-subject requests,
/// policy acceptances and notices; one section per table. Never a token, password hash or
/// other secret. Records an access or portability request, completed when the document is
/// sent.
#[utoipa::path(get, path = "/v1/me/export", tag = "account", security(("bearer" = [])),
    params(ExportParams),
    responses(
        (status = 200, description = "The export document", content_type = "application/json"),
        (status = 401, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn export_account(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let kind = match params.right {
        ExportRight::Portability => RequestKind::Portability,
        ExportRight::Access => RequestKind::Access,
    };
    let request = rights::receive_request(&state, user.id, kind).await?;
    let filename = format!(
        "attachment; filename=\"kraftsoci-export-{}.json\"",
        state.clock.now().format("%Y-%m-%d")
    );
    let body = export::body(state, user.id, request);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        body,
    )
        .into_response())
}

/// The user's data-subject requests, newest first, each due 30 days after receipt (P33).
#[utoipa::path(get, path = "/v1/me/requests", tag = "account", security(("bearer" = [])),
    responses((status = 200, body = RequestList), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn list_requests(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<RequestList>, ApiError> {
    let requests = state.stores.rights.requests(user.id).await?;
    Ok(Json(RequestList {
        requests: requests.iter().map(RequestView::from).collect(),
    }))
}
