//! `/v1/instagram/*`: connecting Instagram business accounts through Facebook Login (P03, P08),
//! listing and disconnecting them (P15). No response ever carries a token (P10).
//!
//! Also `/sandbox/instagram/{media_id}`: the "permalink" of a post the sandbox published.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, Utc};
use kraftsoci_core::ConnectionId;
use kraftsoci_core::ports::Connection;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::http::{ApiCaller, AuthUser, Json, Path, PostsRead, Query};
use crate::posts::{CallbackParams, is_browser_state};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/instagram/connect", post(start_connect))
        .route("/v1/instagram/callback", get(callback))
        .route("/v1/instagram/accounts", get(accounts))
        .route("/v1/instagram/accounts/{id}", delete(disconnect))
        .route("/sandbox/instagram/{media_id}", get(sandbox_permalink))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(start_connect, callback, accounts, disconnect, sandbox_permalink))]
pub struct Doc;

/// Where to send the owner to grant access.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectView {
    /// The Facebook Login dialog with exactly the five permissions and a one-time `state`
    /// (10 minutes). In sandbox mode: this server's own callback, with a valid state.
    authorize_url: String,
    /// Whether this is the offline sandbox flow.
    sandbox: bool,
}

/// A connected Instagram business account. Never a token.
// Named apart from the account's `AccountView` (`/v1/me`): one name, one schema.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InstagramAccount)]
pub struct AccountView {
    /// Our id: the `instagram_account_id` of posts and Publish clicks.
    #[schema(format = Uuid)]
    id: String,
    /// Instagram's user id (`sandbox-…` for sandbox accounts).
    ig_user_id: String,
    /// The linked Facebook Page's name.
    page_name: String,
    /// `active` or `needs_reconnect`.
    #[schema(example = "active")]
    status: &'static str,
    /// When the token expires (`null`: a Page token that does not expire).
    token_expires_at: Option<DateTime<Utc>>,
    /// When it was connected.
    created_at: DateTime<Utc>,
    /// Whether this is a sandbox account (nothing reaches Instagram).
    sandbox: bool,
}

impl From<Connection> for AccountView {
    fn from(c: Connection) -> Self {
        Self {
            id: c.id.to_string(),
            sandbox: c.ig_user_id.is_sandbox(),
            ig_user_id: c.ig_user_id.to_string(),
            page_name: c.page_name,
            status: c.status.as_str(),
            token_expires_at: c.token_expires_at,
            created_at: c.created_at,
        }
    }
}

/// A Facebook Page without a linked Instagram business account.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView {
    /// The Page id.
    page_id: String,
    /// The Page's name.
    page_name: String,
}

/// What a completed login connected.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectedView {
    /// One account per Page with an Instagram business account.
    accounts: Vec<AccountView>,
    /// Pages without one: link an Instagram professional account to them (or grant
    /// `instagram_basic`) and connect again.
    pages_without_instagram: Vec<PageView>,
    /// Whether this was the sandbox flow.
    sandbox: bool,
}

/// Meta's redirect.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    /// The one-time code.
    code: Option<String>,
    /// The state issued by `POST /v1/instagram/connect`.
    state: Option<String>,
    /// Set when the dialog did not complete (`access_denied`).
    error: Option<String>,
    /// Meta's reason (`user_denied`).
    #[allow(dead_code)]
    error_reason: Option<String>,
    /// Meta's description.
    #[allow(dead_code)]
    error_description: Option<String>,
}

/// Starts connecting: a one-time state bound to the caller and the login dialog URL.
#[utoipa::path(post, path = "/v1/instagram/connect", tag = "instagram", security(("bearer" = [])),
    responses(
        (status = 200, body = ConnectView),
        (status = 401, body = ErrorBody),
        (status = 503, description = "Facebook Login is not configured", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn start_connect(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<ConnectView>, ApiError> {
    let start = state.instagram.start(user.id).await?;
    Ok(Json(ConnectView {
        authorize_url: start.authorize_url,
        sandbox: start.sandbox,
    }))
}

/// Meta's redirect after the login dialog: checks and spends the state, exchanges the code,
/// stores one connection (token encrypted) per Page with an Instagram business account.
/// Unauthenticated: the state identifies the user.
#[utoipa::path(get, path = "/v1/instagram/callback", tag = "instagram", params(CallbackQuery),
    responses(
        (status = 200, body = ConnectedView),
        (status = 303, description = "A connection started in the web app: back to `/onboarding/instagram` with the outcome (`?connected=N&without=M` or `?error=…`)"),
        (status = 400, description = "`invalid_state`, `access_denied`, `login_failed`, `invalid_code`, `permissions_missing`", body = ErrorBody),
        (status = 502, description = "`meta_unavailable`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn callback(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let browser = query.state.as_deref().is_some_and(is_browser_state);
    let result = state
        .instagram
        .callback(CallbackParams {
            code: query.code.filter(|c| !c.is_empty()).map(SecretString::from),
            state: query.state,
            error: query.error,
        })
        .await;
    // A connection the web app started goes back into the app (`/onboarding/instagram`),
    // with only the outcome in the address.
    if browser {
        return Ok(super::web_onboarding::after_callback(result));
    }
    let connected = result?;
    Ok(Json(ConnectedView {
        accounts: connected
            .accounts
            .into_iter()
            .map(AccountView::from)
            .collect(),
        pages_without_instagram: connected
            .pages_without_instagram
            .into_iter()
            .map(|p| PageView {
                page_id: p.page_id,
                page_name: p.page_name,
            })
            .collect(),
        sandbox: connected.sandbox,
    })
    .into_response())
}

/// The caller's connected accounts.
#[utoipa::path(get, path = "/v1/instagram/accounts", tag = "instagram",
    security(("bearer" = []), ("api_key" = ["posts:read"])),
    responses(
        (status = 200, body = [AccountView]),
        (status = 401, description = "`unauthorized`, `invalid_api_key`", body = ErrorBody),
        (status = 403, description = "`api_key_scope_missing`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn accounts(
    State(state): State<AppState>,
    user: ApiCaller<PostsRead>,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    let connections = state.stores.connections.connections(user.id).await?;
    Ok(Json(
        connections.into_iter().map(AccountView::from).collect(),
    ))
}

/// Disconnects an account: its token is deleted (P15); posts approved for it that have not
/// started publishing are withdrawn (back to the owner's decision).
#[utoipa::path(delete, path = "/v1/instagram/accounts/{id}", tag = "instagram",
    security(("bearer" = [])), params(("id" = uuid::Uuid, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`publishing_in_progress`", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn disconnect(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<ConnectionId>,
) -> Result<StatusCode, ApiError> {
    state.instagram.disconnect(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A post the sandbox published.
#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxPublicationView {
    /// The sandbox media id.
    media_id: String,
    /// The sandbox account it went to.
    ig_user_id: String,
    /// The caption as sent.
    caption: Option<String>,
    /// The alt text as sent.
    alt_text: Option<String>,
    /// When it was published.
    published_at: Option<DateTime<Utc>>,
    /// Always true: nothing reached Instagram.
    sandbox: bool,
}

/// The public "permalink" of a sandbox publication (sandbox mode only), standing in for an
/// Instagram post page.
#[utoipa::path(get, path = "/sandbox/instagram/{media_id}", tag = "instagram",
    params(("media_id" = String, Path, description = "The sandbox media id")),
    responses((status = 200, body = SandboxPublicationView), (status = 404, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn sandbox_permalink(
    State(state): State<AppState>,
    Path(media_id): Path<String>,
) -> Result<Json<SandboxPublicationView>, ApiError> {
    if !state.config.sandbox || !media_id.starts_with("sandbox-") {
        return Err(ApiError::NotFound);
    }
    let publication = state
        .stores
        .sandbox
        .sandbox_publication(&media_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(SandboxPublicationView {
        media_id,
        ig_user_id: publication.ig_user_id.to_string(),
        caption: publication.caption,
        alt_text: publication.alt_text,
        published_at: publication.published_at,
        sandbox: true,
    }))
}
