//! The web app's sign-up, sign-in and sign-out pages (P24, P35, P38), and `/`.
//!
//! They call the same [`AuthService`](crate::auth::AuthService) as `/v1/auth/*`, with the
//! same checks: the domain parsers for every field, the 18+ confirmation, the current
//! policy version, and the login rate limits (per client address and per account). A
//! successful sign-up or sign-in opens a browser session and sets its cookie (see
//! [`crate::web::session`]); signing out revokes it.

use std::net::{IpAddr, Ipv4Addr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kraftsoci_core::{BusinessName, Email, PersonName, Sector};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::auth::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Password, SignUp, rate_limited};
use crate::error::ApiError;
use crate::http::{ClientInfo, UsageSubject};
use crate::i18n::{self, Args};
use crate::state::AppState;
use crate::web::form::{self, FieldErrors, FormError};
use crate::web::views::auth::{PolicyShown, SignInRefusal, SignUpValues};
use crate::web::views::{Alert, Tone};
use crate::web::{PageContext, session, views};

/// Where a new account goes first: describing the business.
pub const AFTER_SIGN_UP: &str = "/onboarding";
/// Where a signed-in visitor of `/` goes.
pub const HOME: &str = "/posts";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/sign-up", get(sign_up_page).post(sign_up))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
}

/// `/`: the app for a signed-in browser, else the sign-in page.
async fn home(ctx: PageContext) -> Response {
    form::see_other(if ctx.signed_in() { HOME } else { "/sign-in" })
}

/// The current policy as the sign-up page shows it.
async fn current_policy(
    state: &AppState,
    ctx: &PageContext,
) -> Result<Option<PolicyShown>, ApiError> {
    let policy = state.stores.policy.current_policy().await?;
    Ok(policy.map(|policy| PolicyShown {
        effective: ctx.t_with(
            "signup-policy-version",
            &Args::new()
                .text("version", policy.version.clone())
                .text("date", ctx.date(policy.published_at)),
        ),
        version: policy.version,
        summary: policy.summary,
    }))
}

async fn sign_up_page(State(state): State<AppState>, ctx: PageContext) -> Response {
    if ctx.signed_in() {
        return form::see_other(HOME);
    }
    match current_policy(&state, &ctx).await {
        Ok(policy) => views::auth::sign_up(
            &ctx,
            StatusCode::OK,
            &SignUpValues::default(),
            policy,
            &FieldErrors::new(),
            None,
        )
        .into_response(),
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

/// The sign-up form's fields; all default to empty, so a missing one is answered with its
/// own error.
#[derive(Debug, Default, Deserialize)]
struct SignUpForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: Option<SecretString>,
    #[serde(default)]
    business_name: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    age_confirmed: Option<String>,
    #[serde(default)]
    accept_policy: Option<String>,
    #[serde(default)]
    policy_version: String,
}

impl SignUpForm {
    fn values(&self) -> SignUpValues {
        SignUpValues {
            name: self.name.trim().to_owned(),
            email: self.email.trim().to_owned(),
            business_name: self.business_name.trim().to_owned(),
            sector: self.sector.trim().to_owned(),
            age_confirmed: self.age_confirmed.as_deref() == Some("true"),
        }
    }

    /// The sign-up, or an error next to each bad field. `current` is the policy version in
    /// effect now: accepting another (the page was open while it changed) is refused.
    fn validate(
        self,
        current: &str,
        language: kraftsoci_core::Language,
        ip: Option<String>,
    ) -> Result<SignUp, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = required(&mut errors, "name", &self.name, "signup-name-required")
            .and_then(|v| PersonName::parse(v).ok())
            .or_else(|| invalid(&mut errors, "name", "signup-name-invalid"));
        let email = required(&mut errors, "email", &self.email, "signup-email-required")
            .and_then(|v| Email::parse(v).ok())
            .or_else(|| invalid(&mut errors, "email", "signup-email-invalid"));
        let password = new_password(&mut errors, "password", self.password.as_ref());
        let business_name = required(
            &mut errors,
            "business_name",
            &self.business_name,
            "signup-business-required",
        )
        .and_then(|v| BusinessName::parse(v).ok())
        .or_else(|| invalid(&mut errors, "business_name", "signup-business-invalid"));
        let sector = required(
            &mut errors,
            "sector",
            &self.sector,
            "signup-sector-required",
        )
        .and_then(|v| Sector::parse(v).ok())
        .or_else(|| invalid(&mut errors, "sector", "signup-sector-invalid"));
        if self.age_confirmed.as_deref() != Some("true") {
            errors.add("age_confirmed", i18n::key("signup-age-required"));
        }
        if self.accept_policy.as_deref() != Some("true") {
            errors.add("accept_policy", i18n::key("signup-policy-required"));
        } else if self.policy_version.trim() != current {
            errors.add("accept_policy", i18n::key("signup-policy-changed"));
        }
        match (name, email, password, business_name, sector) {
            (Some(name), Some(email), Some(password), Some(business_name), Some(sector))
                if errors.is_empty() =>
            {
                Ok(SignUp {
                    name,
                    email,
                    password,
                    business_name,
                    sector,
                    accepted_policy_version: current.to_owned(),
                    language,
                    ip,
                })
            }
            _ => Err(errors),
        }
    }
}

/// `value` trimmed, or `None` with `missing` recorded for `field` when it is empty.
fn required<'v>(
    errors: &mut FieldErrors,
    field: &'static str,
    value: &'v str,
    missing: &'static str,
) -> Option<&'v str> {
    let value = value.trim();
    if value.is_empty() {
        errors.add(field, i18n::key(missing));
        None
    } else {
        Some(value)
    }
}

/// Records `message` for `field` unless the field already has an error; always `None`.
fn invalid<T>(errors: &mut FieldErrors, field: &'static str, message: &'static str) -> Option<T> {
    errors.add(field, i18n::key(message));
    None
}

/// A new password checked against the policy, each rule with its own message.
pub(crate) fn new_password(
    errors: &mut FieldErrors,
    field: &'static str,
    value: Option<&SecretString>,
) -> Option<Password> {
    let Some(value) = value.filter(|v| !v.expose_secret().is_empty()) else {
        errors.add(field, i18n::key("signup-password-required"));
        return None;
    };
    match Password::parse(field, value) {
        Ok(password) => Some(password),
        Err(_) => {
            let text = value.expose_secret();
            let message = if text.chars().count() < MIN_PASSWORD_CHARS {
                "signup-password-short"
            } else if text.len() > MAX_PASSWORD_BYTES {
                "signup-password-long"
            } else {
                "signup-password-common"
            };
            errors.add(field, i18n::key(message));
            None
        }
    }
}

/// The per-address limit of the auth routes, for a form post.
pub(crate) fn per_ip(state: &AppState, client: &ClientInfo) -> Result<(), ApiError> {
    let ip = client.ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    state.limits.per_ip.check(ip).map_err(rate_limited)
}

#[tracing::instrument(skip_all)]
async fn sign_up(
    State(state): State<AppState>,
    subject: UsageSubject,
    client: ClientInfo,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let policy = match current_policy(&state, &ctx).await {
        Ok(policy) => policy,
        Err(error) => return server_error(&ctx, &error).into_response(),
    };
    let parsed = form::parse::<SignUpForm>(&ctx, &body);
    let form = match parsed {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "sign-up form refused");
            let typed = serde_urlencoded::from_bytes::<SignUpForm>(&body).unwrap_or_default();
            let alert = Alert {
                tone: Tone::Danger,
                heading: ctx.t("form-refused-title"),
                body: ctx.t("form-expired"),
            };
            return views::auth::sign_up(
                &ctx,
                StatusCode::FORBIDDEN,
                &typed.values(),
                policy,
                &FieldErrors::new(),
                Some(alert),
            )
            .into_response();
        }
        Err(FormError::Malformed(_)) => SignUpForm::default(),
    };
    let Some(current) = policy.as_ref().map(|p| p.version.clone()) else {
        // Sign-up is closed until a policy is published: the page says so.
        return views::auth::sign_up(
            &ctx,
            StatusCode::CONFLICT,
            &form.values(),
            None,
            &FieldErrors::new(),
            None,
        )
        .into_response();
    };
    let values = form.values();
    if let Err(error) = per_ip(&state, &client) {
        return sign_up_failed(&ctx, &values, policy, &error);
    }
    let request = match form.validate(&current, ctx.locale().into(), client.ip_string()) {
        Ok(request) => request,
        Err(errors) => {
            return views::auth::sign_up(
                &ctx,
                StatusCode::BAD_REQUEST,
                &values,
                policy,
                &errors,
                None,
            )
            .into_response();
        }
    };
    match state.auth.sign_up_browser(request).await {
        Ok((_, login)) => {
            subject.set_web(login.user, false);
            signed_in(&ctx, &login.token, AFTER_SIGN_UP)
        }
        Err(ApiError::Conflict { .. }) => {
            let mut errors = FieldErrors::new();
            errors.add("email", i18n::key("signup-email-taken"));
            views::auth::sign_up(&ctx, StatusCode::CONFLICT, &values, policy, &errors, None)
                .into_response()
        }
        Err(error) => sign_up_failed(&ctx, &values, policy, &error),
    }
}

fn sign_up_failed(
    ctx: &PageContext,
    values: &SignUpValues,
    policy: Option<PolicyShown>,
    error: &ApiError,
) -> Response {
    let (status, body, retry) = match error {
        ApiError::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            ctx.t_with(
                "signin-failed-rate-limited",
                &Args::new().number("minutes", views::auth::minutes(*retry_after_secs)),
            ),
            Some(*retry_after_secs),
        ),
        ApiError::Overloaded { retry_after_secs } => {
            tracing::info!("sign-up refused: the password pool is full");
            let busy = views::busy_alert(ctx, *retry_after_secs);
            let page = views::auth::sign_up(
                ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                values,
                policy,
                &FieldErrors::new(),
                Some(busy),
            );
            return page.retry_after(*retry_after_secs).into_response();
        }
        other => {
            log_failure(other, "sign-up failed");
            (other.status(), ctx.t("signin-failed-internal"), None)
        }
    };
    let alert = Alert {
        tone: Tone::Danger,
        heading: ctx.t("signup-title"),
        body,
    };
    let page = views::auth::sign_up(
        ctx,
        status,
        values,
        policy,
        &FieldErrors::new(),
        Some(alert),
    );
    match retry {
        Some(seconds) => page.retry_after(seconds).into_response(),
        None => page.into_response(),
    }
}

/// The query of `/sign-in`.
#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    signed_out: Option<String>,
    #[serde(default)]
    reset: Option<String>,
}

fn query<T: Default + serde::de::DeserializeOwned>(raw: Option<&str>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

async fn sign_in_page(ctx: PageContext, RawQuery(raw): RawQuery) -> Response {
    let query: SignInQuery = query(raw.as_deref());
    let next = form::local_path(&query.next);
    if ctx.signed_in() {
        return form::see_other(if next == "/" { HOME } else { next });
    }
    if query.signed_out.is_some() || query.reset.is_some() {
        let notice = if query.reset.is_some() {
            Alert {
                tone: Tone::Done,
                heading: ctx.t("reset-done-heading"),
                body: ctx.t("reset-done-body"),
            }
        } else {
            views::auth::signed_out_notice(&ctx)
        };
        return views::auth::sign_in_with_notice(&ctx, next, notice).into_response();
    }
    views::auth::sign_in(&ctx, "", next, &FieldErrors::new()).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: Option<SecretString>,
    #[serde(default)]
    next: String,
}

#[tracing::instrument(skip_all)]
async fn sign_in(
    State(state): State<AppState>,
    subject: UsageSubject,
    client: ClientInfo,
    ctx: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match form::parse::<SignInForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "sign-in form refused");
            let typed = serde_urlencoded::from_bytes::<SignInForm>(&body).unwrap_or_default();
            let next = form::local_path(&typed.next);
            return views::auth::sign_in_refused(
                &ctx,
                typed.email.trim(),
                next,
                SignInRefusal::Expired,
            )
            .into_response();
        }
        Err(FormError::Malformed(_)) => SignInForm::default(),
    };
    let next = form::local_path(&form.next).to_owned();
    let email_typed = form.email.trim().to_owned();
    let mut errors = FieldErrors::new();
    if email_typed.is_empty() {
        errors.add("email", i18n::key("signin-email-required"));
    }
    let password = form.password.filter(|p| !p.expose_secret().is_empty());
    if password.is_none() {
        errors.add("password", i18n::key("signin-password-required"));
    }
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return views::auth::sign_in(&ctx, &email_typed, &next, &errors).into_response();
    };
    let email = Email::parse(&email_typed).ok();
    let outcome = async {
        // The same limits as `POST /v1/auth/login`: per address, then per account.
        per_ip(&state, &client)?;
        let key = email
            .as_ref()
            .map_or_else(|| email_typed.to_lowercase(), Email::normalized);
        state.limits.check_account("login", &key)?;
        state.auth.log_in_browser(email.as_ref(), &password).await
    }
    .await;
    match outcome {
        Ok(login) => {
            subject.set_web(login.user, false);
            // A browser signing in again (perhaps as someone else) ends its old session.
            if let Some(old) = session::presented_token(&headers, ctx.production())
                && let Err(error) = state.auth.log_out(&SecretString::from(old)).await
            {
                log_failure(&error, "old browser session not revoked");
            }
            signed_in(&ctx, &login.token, if next == "/" { HOME } else { &next })
        }
        Err(error) => {
            let refusal = match &error {
                ApiError::Unauthorized { .. } => SignInRefusal::Credentials,
                ApiError::RateLimited { retry_after_secs } => SignInRefusal::RateLimited {
                    retry_after_secs: *retry_after_secs,
                },
                ApiError::Overloaded { retry_after_secs } => {
                    tracing::info!("sign-in refused: the password pool is full");
                    SignInRefusal::Busy {
                        retry_after_secs: *retry_after_secs,
                    }
                }
                other => {
                    log_failure(other, "sign-in failed");
                    SignInRefusal::ServerError(other.status())
                }
            };
            views::auth::sign_in_refused(&ctx, &email_typed, &next, refusal).into_response()
        }
    }
}

/// `303` to `to` with the session cookie set.
fn signed_in(ctx: &PageContext, token: &SecretString, to: &str) -> Response {
    let mut response = form::see_other(to);
    if let Some(cookie) = session::sign_in_cookie(token, ctx.production()) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// Ends this browser's session (CSRF-checked: a forged post must not sign anyone out) and
/// clears its cookie.
#[tracing::instrument(skip_all)]
async fn sign_out(
    State(state): State<AppState>,
    ctx: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(FormError::Forged(reason)) = form::parse::<Vec<(String, String)>>(&ctx, &body) {
        tracing::info!(%reason, "sign-out form refused");
        return views::errors::form_refused(&ctx, "/").into_response();
    }
    if let Some(token) = session::presented_token(&headers, ctx.production())
        && let Err(error) = state.auth.log_out(&SecretString::from(token)).await
    {
        log_failure(&error, "sign-out failed");
        return server_error(&ctx, &error).into_response();
    }
    let mut response = form::see_other("/sign-in?signed_out=1");
    if let Some(cookie) = session::sign_out_cookie(ctx.production()) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

fn log_failure(error: &ApiError, what: &'static str) {
    if let ApiError::Internal(source) | ApiError::Unavailable(source) = error {
        tracing::error!(error = format!("{source:#}"), status = %error.status(), "{what}");
    } else {
        tracing::warn!(%error, "{what}");
    }
}

/// A server failure as a page: the error once in the log, nothing of it on the page.
pub(crate) fn server_error(ctx: &PageContext, error: &ApiError) -> crate::web::Page {
    log_failure(error, "web page failed");
    let status = error.status();
    views::errors::server_error(
        ctx,
        if status.is_server_error() {
            status
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        },
    )
}
