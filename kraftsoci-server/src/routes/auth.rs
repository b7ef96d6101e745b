//! `/v1/auth/*`: sign-up, login, refresh, logout, password change and reset (P24, P35, P38).
//! Every route here is rate limited per client address; login and reset also per account.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::post;
use kraftsoci_core::{BusinessName, Email, PersonName, Sector};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::account::AccountView;
use crate::auth::{Password, SignUp, TokenPair};
use crate::error::{ApiError, ErrorBody, Fields};
use crate::http::rate_limit::limit_by_ip;
use crate::http::{AuthUser, ClientInfo, Json, UsageSubject};
use crate::state::AppState;

/// The longest accepted policy version label.
const MAX_POLICY_VERSION_CHARS: usize = 64;

/// The routes, with the per-address rate limit.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/auth/signup", post(signup))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/password-reset", post(request_reset))
        .route("/v1/auth/password-reset/confirm", post(confirm_reset))
        .route("/v1/auth/password", post(change_password))
        .route_layer(middleware::from_fn_with_state(state.clone(), limit_by_ip))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(
    signup,
    login,
    refresh,
    logout,
    request_reset,
    confirm_reset,
    change_password
))]
pub struct Doc;

/// `POST /v1/auth/signup`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "Ayşe Yılmaz", "email": "ayse@example.com", "password": "correct horse battery staple",
    "business_name": "Ayşe Fırın", "sector": "bakery", "age_confirmed": true,
    "accepted_policy_version": "2026-01"
}))]
pub struct SignupRequest {
    /// The person's name (1–100 characters once trimmed, one line).
    #[schema(schema_with = super::document::line::<1, 100>)]
    name: String,
    /// Login email.
    #[schema(schema_with = super::document::email)]
    email: String,
    /// 8+ characters, at most 72 bytes, not a common password.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 72)]
    password: SecretString,
    /// Business name (1–120 characters once trimmed, one line).
    #[schema(schema_with = super::document::line::<1, 120>)]
    business_name: String,
    /// Sector, e.g. "bakery" (1–80 characters once trimmed, one line).
    #[schema(schema_with = super::document::line::<1, 80>)]
    sector: String,
    /// Must be true: kraftsoci is for people aged 18 or over (P35); `false` is refused with
    /// 422 `age_requirement`.
    age_confirmed: bool,
    /// The privacy-policy version shown at sign-up (P38): the current one (`GET /v1/policy`).
    #[schema(schema_with = super::document::policy_version)]
    accepted_policy_version: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairResponse {
    /// The access token (JWT), valid `expires_in` seconds.
    access_token: String,
    /// The refresh token: single use, rotated by `/v1/auth/refresh`.
    refresh_token: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// Always `Bearer`.
    token_type: &'static str,
}

impl From<TokenPair> for TokenPairResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token.expose_secret().to_owned(),
            refresh_token: pair.refresh_token.expose_secret().to_owned(),
            expires_in: pair.expires_in,
            token_type: "Bearer",
        }
    }
}

/// The created account and its first session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    /// The account.
    user: AccountView,
    /// The session.
    #[serde(flatten)]
    tokens: TokenPairResponse,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ayse@example.com", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    /// Login email.
    email: String,
    /// Password.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// `POST /v1/auth/refresh` and `/v1/auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"refresh_token": "rt_3q2-7wEXAMPLEonlyxZ0dGhpcyBpcyBub3QgYSB0b2tlbg"}))]
pub struct RefreshRequest {
    /// A refresh token.
    #[schema(value_type = String, format = Password)]
    refresh_token: SecretString,
}

/// `POST /v1/auth/password-reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ayse@example.com"}))]
pub struct ResetRequest {
    /// The account's email.
    email: String,
}

/// `POST /v1/auth/password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"token": "the-token-from-the-reset-mail", "new_password": "a new long passphrase"}))]
pub struct ResetConfirmRequest {
    /// The token from the reset mail.
    #[schema(value_type = String, format = Password)]
    token: SecretString,
    /// The new password: 8+ characters, at most 72 bytes, not a common password.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 72)]
    new_password: SecretString,
}

/// `POST /v1/auth/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "correct horse battery staple", "new_password": "a new long passphrase"}))]
pub struct ChangePasswordRequest {
    /// The current password.
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    /// The new password: 8+ characters, at most 72 bytes, not a common password.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 72)]
    new_password: SecretString,
}

fn policy_version(fields: &mut Fields, value: &str, current: Option<&str>) -> Option<String> {
    let value = value.trim();
    let well_formed = !value.is_empty()
        && value.chars().count() <= MAX_POLICY_VERSION_CHARS
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !well_formed {
        fields.add("accepted_policy_version", "must be a policy version label");
        return None;
    }
    match current {
        Some(current) if current != value => {
            fields.add(
                "accepted_policy_version",
                format!("must be the current policy version ({current})"),
            );
            None
        }
        _ => Some(value.to_owned()),
    }
}

/// 409 `signup_closed`: no privacy policy is published yet, so nobody can accept one.
fn signup_closed() -> ApiError {
    ApiError::conflict(
        "signup_closed",
        "Sign-up opens once this service has published its privacy policy.",
    )
}

/// Creates an account and logs it in.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created", body = SignupResponse),
        (status = 409, description = "`email_taken`; `signup_closed` in production until a privacy policy is published", body = ErrorBody),
        (status = 422, description = "Invalid fields; `age_requirement` when `age_confirmed` is false", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "`overloaded`: the password pool is full; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn signup(
    State(state): State<AppState>,
    subject: UsageSubject,
    client: ClientInfo,
    Json(body): Json<SignupRequest>,
) -> Result<(StatusCode, Json<SignupResponse>), ApiError> {
    let current_policy = state.stores.policy.current_policy_version().await?;
    if current_policy.is_none() && state.config.environment.is_production() {
        // Nobody can consent to a policy that is not published (P38): the operator runs
        // `kraftsoci-server publish-policy` first (docs/deployment.md, first run).
        return Err(signup_closed());
    }
    let mut fields = Fields::default();
    let name = fields.check(PersonName::parse(&body.name));
    let email = fields.check(Email::parse(&body.email));
    let password = fields.check(Password::parse("password", &body.password));
    let business_name = fields.check(BusinessName::parse(&body.business_name));
    let sector = fields.check(Sector::parse(&body.sector));
    let version = policy_version(
        &mut fields,
        &body.accepted_policy_version,
        current_policy.as_deref(),
    );
    if !body.age_confirmed {
        fields.add("age_confirmed", "you must confirm that you are 18 or older");
        return Err(ApiError::Unprocessable {
            code: "age_requirement",
            message: "kraftsoci is only for people aged 18 or over.".into(),
            fields: fields.into_map(),
        });
    }
    let (Some(name), Some(email), Some(password), Some(business_name), Some(sector), Some(version)) =
        (name, email, password, business_name, sector, version)
    else {
        // A field is missing exactly when its reason was recorded.
        return Err(ApiError::Validation(fields.into_map()));
    };
    let (account, tokens) = state
        .auth
        .sign_up(SignUp {
            name,
            email,
            password,
            business_name,
            sector,
            accepted_policy_version: version,
            language: kraftsoci_core::Language::english(),
            ip: client.ip_string(),
        })
        .await?;
    subject.set(account.id, false);
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            user: AccountView::from(&account),
            tokens: tokens.into(),
        }),
    ))
}

/// The rate-limit key of an email as typed: normalized when it parses, so `Ada@x.com` and
/// `ada@x.com` share a bucket.
fn account_key(email: &str, parsed: Option<&Email>) -> String {
    parsed.map_or_else(|| email.trim().to_lowercase(), Email::normalized)
}

/// Logs in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPairResponse),
        (status = 401, description = "`invalid_credentials`, the same for an unknown email and a wrong password", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "`overloaded`: the password pool is full; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    subject: UsageSubject,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenPairResponse>, ApiError> {
    let email = Email::parse(&body.email).ok();
    state
        .limits
        .check_account("login", &account_key(&body.email, email.as_ref()))?;
    let (user, tokens) = state.auth.log_in(email.as_ref(), &body.password).await?;
    subject.set(user, false);
    Ok(Json(tokens.into()))
}

/// Trades a refresh token for a new pair; the presented token is spent.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New pair", body = TokenPairResponse),
        (status = 401, description = "Unknown, expired, revoked or already used (which revokes the whole session)", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn refresh(
    State(state): State<AppState>,
    subject: UsageSubject,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<TokenPairResponse>, ApiError> {
    let (user, tokens) = state.auth.refresh(&body.refresh_token).await?;
    subject.set(user, false);
    Ok(Json(tokens.into()))
}

/// Ends the session of a refresh token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out (also for an unknown token)"),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn logout(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    state.auth.log_out(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mails a reset link if the email has an account; the answer is the same either way.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth",
    request_body = ResetRequest,
    responses(
        (status = 202, description = "Accepted, whatever the email"),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn request_reset(
    State(state): State<AppState>,
    Json(body): Json<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    let email = Email::parse(&body.email).ok();
    state
        .limits
        .check_account("reset", &account_key(&body.email, email.as_ref()))?;
    if let Some(email) = email {
        state.auth.request_reset(email);
    }
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with a reset token; every session ends.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth",
    request_body = ResetConfirmRequest,
    responses(
        (status = 204, description = "Password changed; every session revoked"),
        (status = 400, description = "`invalid_token`: unknown, used or expired", body = ErrorBody),
        (status = 422, description = "The new password breaks the policy", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "`overloaded`: the password pool is full; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn confirm_reset(
    State(state): State<AppState>,
    Json(body): Json<ResetConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    let password = Password::parse("new_password", &body.new_password)?;
    state.auth.confirm_reset(&body.token, &password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the password. Other sessions end and every access token issued before is refused;
/// the calling session's refresh token keeps working.
#[utoipa::path(post, path = "/v1/auth/password", tag = "auth",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed; other sessions revoked"),
        (status = 401, description = "Not authenticated, or `invalid_credentials` for a wrong current password", body = ErrorBody),
        (status = 422, description = "The new password breaks the policy", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
        (status = 503, description = "`overloaded`: the password pool is full; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let password = Password::parse("new_password", &body.new_password)?;
    state
        .auth
        .change_password(user.id, user.session, &body.current_password, &password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
