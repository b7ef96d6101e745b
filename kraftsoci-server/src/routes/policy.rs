//! The privacy policy's versions and in-app notices (P38): the current version and whether the
//! caller accepted it, accepting a version (time and address recorded), and the notices a
//! new version (or anything else) leaves in the app. Also the privacy information itself
//! (`GET /v1/privacy`: who is responsible, the processors, the retention table, the rights and
//! the route for each, where to complain) and `/.well-known/security.txt` (RFC 9116).

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
        .route("/v1/privacy", get(privacy))
        .route("/.well-known/security.txt", get(security_txt))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(current, accept, list_notices, mark_read, privacy))]
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
#[schema(example = json!({"version": "2026-01"}))]
pub struct AcceptRequest {
    /// The version accepted: the current one (`GET /v1/policy`).
    #[schema(schema_with = super::document::policy_version)]
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
    #[schema(format = Uuid)]
    id: String,
    /// What kind (`policy_version`).
    kind: String,
    /// The text.
    body: String,
    /// When.
    created_at: DateTime<Utc>,
    /// When the user marked it read.
    read_at: Option<DateTime<Utc>>,
    /// Where to act on it: an absolute URL (a post's Instagram permalink) or a path of the web
    /// app (`/posts/{id}`, `/onboarding/instagram`, `/billing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
}

impl From<Notice> for NoticeView {
    fn from(notice: Notice) -> Self {
        Self {
            id: notice.id.to_string(),
            kind: notice.kind,
            body: notice.body,
            created_at: notice.created_at,
            read_at: notice.read_at,
            link: notice.link,
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
    #[param(minimum = 1, maximum = 100)]
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
    responses(
        (status = 200, body = NoticeList),
        (status = 400, description = "`invalid_query`: a malformed `limit`, or one outside 1–100", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn list_notices(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<NoticeParams>,
) -> Result<Json<NoticeList>, ApiError> {
    // Out of range is refused, as on `/v1/posts`, rather than silently clamped: the document
    // promises 1–100, and a client asking for 500 must learn that it gets at most 100.
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_NOTICES).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "The limit must be between 1 and 100.",
        ));
    }
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
    params(("id" = uuid::Uuid, Path, description = "The notice")),
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

/// How a right is exercised.
#[derive(Debug, Serialize, ToSchema)]
pub struct RightView {
    /// The right (`access`, `erasure`…).
    right: &'static str,
    /// The route that exercises it, or what to do.
    how: &'static str,
}

/// A supervisory authority the user may complain to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorityView {
    /// Its name.
    name: &'static str,
    /// Where it explains how to complain.
    url: &'static str,
}

/// A processor the service sends data to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessorView {
    /// Its name (`stripe`).
    name: &'static str,
    /// Who it is and what it receives.
    purpose: &'static str,
}

/// The controller.
#[derive(Debug, Serialize, ToSchema)]
pub struct ControllerView {
    /// Its name.
    name: String,
    /// The address for privacy requests and complaints.
    contact: String,
}

/// The privacy information (`GET /v1/privacy`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyView {
    /// The current policy version, when one is published.
    policy_version: Option<String>,
    /// Who is responsible, and how to reach them.
    controller: ControllerView,
    /// The processors this deployment uses.
    processors: Vec<ProcessorView>,
    /// The retention table, row by row.
    #[schema(value_type = Vec<Object>)]
    retention: serde_json::Value,
    /// Each right and how to exercise it.
    rights: Vec<RightView>,
    /// Where to complain.
    complaints: Vec<AuthorityView>,
}

/// The rights and their routes (P26–P34).
const RIGHTS: [RightView; 8] = [
    RightView {
        right: "access",
        how: "GET /v1/me/export",
    },
    RightView {
        right: "rectification",
        how: "PATCH /v1/me",
    },
    RightView {
        right: "erasure",
        how: "DELETE /v1/me, or the /data-deletion page",
    },
    RightView {
        right: "restriction",
        how: "PUT /v1/me/restrictions",
    },
    RightView {
        right: "portability",
        how: "GET /v1/me/export (JSON)",
    },
    RightView {
        right: "objection",
        how: "PUT /v1/me/objections",
    },
    RightView {
        right: "requests",
        how: "GET /v1/me/requests: every request, answered within 30 days",
    },
    RightView {
        right: "any other request",
        how: "write to the controller's contact address",
    },
];

/// The authorities (KVKK art. 14; GDPR art. 77).
const AUTHORITIES: [AuthorityView; 2] = [
    AuthorityView {
        name: "Kişisel Verileri Koruma Kurulu (the Turkish Personal Data Protection Board)",
        url: "https://www.kvkk.gov.tr",
    },
    AuthorityView {
        name: "the data protection authority of your EU member state",
        url: "https://www.edpb.europa.eu/about-edpb/about-edpb/members_en",
    },
];

/// The privacy information: who is responsible and how to reach them, the processors, the
/// retention table, the rights with the route for each, and where to complain. Public.
#[utoipa::path(get, path = "/v1/privacy", tag = "policy",
    responses((status = 200, body = PrivacyView)))]
#[tracing::instrument(skip_all)]
async fn privacy(State(state): State<AppState>) -> Result<Json<PrivacyView>, ApiError> {
    let policy_version = state.stores.policy.current_policy_version().await?;
    let retention =
        serde_json::to_value(kraftsoci_core::retention::RetentionPolicy::privacy_policy())
            .map_err(|e| ApiError::Internal(e.into()))?;
    let config = &state.config;
    Ok(Json(PrivacyView {
        policy_version,
        controller: ControllerView {
            name: config.privacy.controller.clone(),
            contact: config.privacy.contact.clone(),
        },
        processors: config
            .processors_in_use()
            .into_iter()
            .map(|p| ProcessorView {
                name: p.as_str(),
                purpose: p.purpose(),
            })
            .collect(),
        retention,
        rights: RIGHTS.into(),
        complaints: AUTHORITIES.into(),
    }))
}

/// `/.well-known/security.txt` (RFC 9116): the contact, an expiry a year ahead, and where it
/// lives.
#[tracing::instrument(skip_all)]
async fn security_txt(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let expires = (state.clock.now() + chrono::Duration::days(365))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let base = state.config.public_url.as_str().trim_end_matches('/');
    let body = format!(
        "Contact: mailto:{}\nExpires: {expires}\nPreferred-Languages: en, tr\n\
         Canonical: {base}/.well-known/security.txt\nPolicy: {base}/v1/privacy\n",
        state.config.privacy.contact
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        body,
    )
}
