//! `/v1/me/api-keys`: personal API keys (issue 15 §3). Managing keys needs a signed-in
//! session; a key cannot list, make or revoke keys (403 `api_key_not_allowed`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use kraftsoci_core::ApiKeyId;
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::api_keys::{self, MAX_KEYS_PER_ACCOUNT, NewKeyRequest, Scopes};
use crate::error::{ApiError, ErrorBody, Fields};
use crate::http::{AuthUser, Json, Path};
use crate::state::AppState;
use crate::store::ApiKeyRecord;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me/api-keys", get(list_api_keys).post(create_api_key))
        .route("/v1/me/api-keys/{id}", delete(revoke_api_key))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(list_api_keys, create_api_key, revoke_api_key))]
pub struct Doc;

/// A new key: a name to recognise it by and what it may do.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Shop publisher", "scopes": ["posts:read", "posts:publish"]}))]
pub struct CreateBody {
    /// 1 to 100 characters.
    name: String,
    /// Any of `posts:read`, `posts:write`, `posts:publish` (`posts:publish` needs
    /// `posts:read`: a key publishes only content it has read back with its hash).
    #[schema(schema_with = scope_list)]
    scopes: Vec<String>,
}

/// The scopes a key may hold: at least one of the known names (a name given twice counts once).
fn scope_list() -> utoipa::openapi::Array {
    utoipa::openapi::ArrayBuilder::new()
        .items(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::Type::String)
                .enum_values(Some(
                    api_keys::Scope::ALL.iter().map(|scope| scope.as_str()),
                )),
        )
        .min_items(Some(1))
        .build()
}

/// A key, without the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Its id (for revoking).
    id: String,
    /// The owner's name for it.
    name: String,
    /// The key's first characters, to tell keys apart (`ks_` and eight more).
    #[schema(example = "ks_Zx81QmP0")]
    prefix: String,
    /// What it may do.
    scopes: Vec<String>,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// When it was last used (to the minute); `null` if never.
    last_used_at: Option<DateTime<Utc>>,
}

impl From<&ApiKeyRecord> for ApiKeyView {
    fn from(record: &ApiKeyRecord) -> Self {
        Self {
            id: record.id.to_string(),
            name: record.name.clone(),
            prefix: record.prefix.clone(),
            scopes: Scopes::from_stored(&record.scopes)
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
        }
    }
}

/// The account's keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// Newest first.
    keys: Vec<ApiKeyView>,
    /// How many keys an account may hold.
    limit: u32,
}

/// A key just made. `key` is shown this once: it is stored only as its SHA-256.
#[derive(Serialize, ToSchema)]
pub struct CreatedKeyView {
    /// The key: send it as `Authorization: Bearer ks_…`.
    #[schema(example = "ks_Zx81QmP0yq3h1Vv6J0Hc2n3Xv0WbQ2Gd9r1cQxE8T4s")]
    key: String,
    /// The key's description, as the list shows it.
    #[serde(flatten)]
    view: ApiKeyView,
}

impl std::fmt::Debug for CreatedKeyView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKeyView")
            .field("id", &self.view.id)
            .finish_non_exhaustive()
    }
}

/// The caller's API keys (never the keys themselves).
#[utoipa::path(get, path = "/v1/me/api-keys", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, body = ApiKeyList),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`api_key_not_allowed`: keys cannot manage keys", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn list_api_keys(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<ApiKeyList>, ApiError> {
    let keys = state.stores.api_keys.api_keys(user.id).await?;
    Ok(Json(ApiKeyList {
        keys: keys.iter().map(ApiKeyView::from).collect(),
        limit: MAX_KEYS_PER_ACCOUNT,
    }))
}

/// Makes a key. The answer carries the key once; it cannot be shown again.
#[utoipa::path(post, path = "/v1/me/api-keys", tag = "account", security(("bearer" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, body = CreatedKeyView, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`api_key_not_allowed`: keys cannot make keys", body = ErrorBody),
        (status = 409, description = "`api_key_limit_reached`: the account holds 20 keys", body = ErrorBody),
        (status = 422, description = "an empty or overlong name; no, unknown or inconsistent scopes", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn create_api_key(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = NewKeyRequest::parse(&body.name, &body.scopes).map_err(|errors| {
        let mut fields = Fields::default();
        for error in errors {
            fields.add(error.field(), error.reason());
        }
        ApiError::Validation(fields.into_map())
    })?;
    let created = api_keys::create(&state, user.id, request).await?;
    let view = CreatedKeyView {
        key: created.key.expose_secret().to_owned(),
        view: ApiKeyView::from(&created.record),
    };
    Ok((
        StatusCode::CREATED,
        [(CACHE_CONTROL, "no-store")],
        Json(view),
    ))
}

/// Revokes a key: the next request with it is refused (401 `invalid_api_key`).
#[utoipa::path(delete, path = "/v1/me/api-keys/{id}", tag = "account", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`api_key_not_allowed`: keys cannot revoke keys", body = ErrorBody),
        (status = 404, description = "No such key of the caller's", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn revoke_api_key(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ApiKeyId>,
) -> Result<StatusCode, ApiError> {
    api_keys::revoke(&state, user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
