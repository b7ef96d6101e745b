//! The privacy policy's versions and in-app notices (P38): the current version and whether the
//! caller accepted it, accepting a version (time and address recorded), and the notices a
//! new version (or anything else) leaves in the app.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use kraftsoci_core::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, ErrorBody};
use crate::http::{AuthUser, ClientInfo, Json, Path, Query};
use crate::state::AppState;
use crate::store::{Notice, PolicyVersion};

/// The most notices one answer holds.
pub const MAX_NOTICES: u32 = 100;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/policy", get(current))
        .route("/v1/policy/accept", post(accept))
        .route("/v1/notices", get(list_notices))
        .route("/v1/notices/{id}/read", post(mark_read))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(current, accept, list_notices, mark_read))]
pub struct Doc;

/// The caller when a bearer token is sent (then it must be valid), else nobody: the current
/// policy is public, its acceptance is the caller's.
struct MaybeUser(Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Ok(Self(None));
        }
        AuthUser::from_request_parts(parts, state)
            .await
            .map(|user| Self(Some(user)))
    }
}

/// The current privacy policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyView {
    /// Its version label.
    version: String,
    /// When it took effect.
    published_at: DateTime<Utc>,
    /// What changed.
    summary: String,
    /// Whether the caller accepted this version (only with a bearer token).
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<bool>,
    /// When the caller accepted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted_at: Option<DateTime<Utc>>,
}

/// `POST /v1/policy/accept`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptRequest {
    /// The version accepted: the current one.
    version: String,
}

/// A recorded acceptance.
#[derive(Debug, Serialize, ToSchema)]
pub struct Acceptance {
    /// The version.
    version: String,
    /// When.
    accepted_at: DateTime<Utc>,
}

/// An in-app notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    /// Its id.
    id: String,
    /// What kind (`policy_version`).
    kind: String,
    /// The text.
    body: String,
    /// When.
    created_at: DateTime<Utc>,
    /// When the user marked it read.
    read_at: Option<DateTime<Utc>>,
}

impl From<Notice> for NoticeView {
    fn from(notice: Notice) -> Self {
        Self {
            id: notice.id.to_string(),
            kind: notice.kind,
            body: notice.body,
            created_at: notice.created_at,
            read_at: notice.read_at,
        }
    }
}

/// The user's notices.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeList {
    /// Newest first.
    notices: Vec<NoticeView>,
    /// How many of them are unread.
    unread: usize,
}

/// `GET /v1/notices` parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct NoticeParams {
    /// At most this many (1–100, default 50).
    limit: Option<u32>,
}

/// The current privacy-policy version; with a bearer token, also whether the caller accepted
/// it.
#[utoipa::path(get, path = "/v1/policy", tag = "policy",
    responses(
        (status = 200, body = PolicyView),
        (status = 401, description = "A bearer token was sent and is not valid", body = ErrorBody),
        (status = 404, description = "No version has been published", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn current(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
) -> Result<Json<PolicyView>, ApiError> {
    let PolicyVersion {
        version,
        published_at,
        summary,
    } = state
        .stores
        .policy
        .current_policy()
        .await?
        .ok_or(ApiError::NotFound)?;
    let accepted_at = match user {
        Some(user) => {
            state
                .stores
                .policy
                .policy_accepted_at(user.id, &version)
                .await?
        }
        None => None,
    };
    Ok(Json(PolicyView {
        accepted: user.map(|_| accepted_at.is_some()),
        accepted_at,
        version,
        published_at,
        summary,
    }))
}

/// Accepts the current policy version; the time and the client address are recorded (P38).
#[utoipa::path(post, path = "/v1/policy/accept", tag = "policy", security(("bearer" = [])),
    request_body = AcceptRequest,
    responses(
        (status = 200, body = Acceptance),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`unknown_policy_version`, or `outdated_policy_version` for a version that is not the current one", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn accept(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientInfo,
    Json(body): Json<AcceptRequest>,
) -> Result<Json<Acceptance>, ApiError> {
    let version = body.version.trim();
    let unprocessable = |code, message: &'static str| ApiError::Unprocessable {
        code,
        message: message.into(),
        fields: [("version".to_owned(), vec![message.to_owned()])].into(),
    };
    if state.stores.policy.policy_version(version).await?.is_none() {
        return Err(unprocessable(
            "unknown_policy_version",
            "No policy version has this label.",
        ));
    }
    let current = state.stores.policy.current_policy_version().await?;
    if current.as_deref() != Some(version) {
        return Err(unprocessable(
            "outdated_policy_version",
            "Only the current policy version can be accepted.",
        ));
    }
    let at = state.clock.now();
    state
        .stores
        .policy
        .accept_policy(user.id, version, at, client.ip_string().as_deref())
        .await?;
    Ok(Json(Acceptance {
        version: version.to_owned(),
        accepted_at: at,
    }))
}

/// The user's in-app notices, newest first.
#[utoipa::path(get, path = "/v1/notices", tag = "policy", security(("bearer" = [])),
    params(NoticeParams),
    responses((status = 200, body = NoticeList), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn list_notices(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<NoticeParams>,
) -> Result<Json<NoticeList>, ApiError> {
    let limit = params.limit.unwrap_or(50).clamp(1, MAX_NOTICES);
    let notices: Vec<NoticeView> = state
        .stores
        .policy
        .notices(user.id, limit)
        .await?
        .into_iter()
        .map(NoticeView::from)
        .collect();
    Ok(Json(NoticeList {
        unread: notices.iter().filter(|n| n.read_at.is_none()).count(),
        notices,
    }))
}

/// Marks one of the user's notices read.
#[utoipa::path(post, path = "/v1/notices/{id}/read", tag = "policy", security(("bearer" = [])),
    params(("id" = String, Path, description = "The notice")),
    responses(
        (status = 204, description = "Read"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn mark_read(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    match state
        .stores
        .policy
        .mark_notice_read(user.id, id, state.clock.now())
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(ApiError::NotFound),
        Err(other) => Err(other.into()),
    }
}
