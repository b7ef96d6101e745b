//! The data subject's rights over HTTP: the export (P26 access, P30 portability), the list of
//! requests with their due dates (P33), asking a person to review an automated decision (P32)
//! and erasure by closing the account (P19, P28).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use kraftsoci_core::{DataSubjectRequest, RequestKind};
use kraftsoci_core::{PostId, ReviewMessage};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody, FieldErrors};
use crate::http::{AuthUser, Json, Query};
use crate::state::AppState;
use crate::{export, rights};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me", delete(close_account))
        .route("/v1/me/export", get(export_account))
        .route("/v1/me/requests", get(list_requests).post(create_request))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(close_account, export_account, list_requests, create_request))]
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
    /// `access`, `rectification`, `erasure`, `restriction`, `portability`, `objection` or
    /// `review`.
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
    /// A review request's post, when it named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    post_id: Option<String>,
    /// A review request's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
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
            post_id: request.post().map(|p| p.to_string()),
            message: request.message().map(|m| m.as_str().to_owned()),
        }
    }
}

/// `POST /v1/me/requests`: a request for the operator to answer. Today one type is asked for
/// here, `review`; every other right has its own route (`GET /v1/me/export`, `PATCH /v1/me`,
/// `DELETE /v1/me`), which records its request itself.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "review",
    "post_id": "7f1c0a52-5d7e-4a8e-9a43-0e4c1b2f9d10",
    "message": "The topic was a pistachio baklava recipe; please have a person look at why it was refused."
}))]
pub struct NewRequest {
    /// `review`: a person looks again at an automated decision (a moderation refusal, or a
    /// quota or plan refusal).
    #[serde(rename = "type")]
    kind: String,
    /// The post the decision was about, if any (one of the caller's posts).
    #[serde(default)]
    post_id: Option<String>,
    /// What should be reviewed and why: 1 to 2000 characters.
    #[serde(default)]
    message: Option<String>,
}

impl NewRequest {
    /// The checked post and message, or every field's reason at once.
    fn review(&self) -> Result<(Option<PostId>, ReviewMessage), ApiError> {
        let mut fields = FieldErrors::new();
        if self.kind.trim() != "review" {
            fields.entry("type".to_owned()).or_default().push(
                "must be review; the other rights have their own routes (GET /v1/me/export, \
                 PATCH /v1/me, DELETE /v1/me)"
                    .to_owned(),
            );
        }
        let post = match self.post_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match text.parse::<uuid::Uuid>() {
                Ok(uuid) => Some(PostId::from_uuid(uuid)),
                Err(_) => {
                    fields
                        .entry("post_id".to_owned())
                        .or_default()
                        .push("must be a post id".to_owned());
                    None
                }
            },
        };
        let message = match ReviewMessage::parse(self.message.as_deref().unwrap_or_default()) {
            Ok(message) => Some(message),
            Err(error) => {
                fields
                    .entry(error.field().to_owned())
                    .or_default()
                    .push(error.reason().to_owned());
                None
            }
        };
        match message {
            Some(message) if fields.is_empty() => Ok((post, message)),
            _ => Err(ApiError::Validation(fields)),
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

/// Asks for a person to review an automated decision (P32): a moderation refusal
/// (`content_flagged`, `content_refused`) or a quota or plan refusal (`quota_exceeded`,
/// `subscription_inactive`). Recorded as a request of type `review`, due 30 days after
/// receipt like every request (P33), listed for the operator and in `GET /v1/me/requests`.
#[utoipa::path(post, path = "/v1/me/requests", tag = "account", security(("bearer" = [])),
    request_body = NewRequest,
    responses(
        (status = 201, description = "Recorded; due in 30 days", body = RequestView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`post_id` is not one of the caller's posts", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "`validation_failed`: a type other than `review`, a missing or over-long message, a malformed post id", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn create_request(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewRequest>,
) -> Result<(StatusCode, Json<RequestView>), ApiError> {
    let (post, message) = body.review()?;
    state.limits.check_account("review", &user.id.to_string())?;
    let request = rights::ask_review(&state, user.id, post, message).await?;
    Ok((StatusCode::CREATED, Json(RequestView::from(&request))))
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
