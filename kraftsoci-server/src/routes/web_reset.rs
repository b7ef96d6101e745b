//! The web app's password reset: `/password-reset` asks for the mail, `/reset-password` is
//! the page the mail links to (P24). Same service and limits as `/v1/auth/password-reset*`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kraftsoci_core::Email;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::web_auth::{new_password, per_ip, server_error};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::{self, Args};
use crate::state::AppState;
use crate::web::PageContext;
use crate::web::form::{self, FieldErrors, FormError};
use crate::web::views::{self, Alert, Tone};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/password-reset", get(request_page).post(request))
        .route("/reset-password", get(reset_page).post(reset))
}

fn expired(ctx: &PageContext) -> Alert {
    Alert {
        tone: Tone::Danger,
        heading: ctx.t("form-refused-title"),
        body: ctx.t("form-expired"),
    }
}

fn sent(ctx: &PageContext) -> Alert {
    Alert {
        tone: Tone::Done,
        heading: ctx.t("reset-request-sent-heading"),
        body: ctx.t("reset-request-sent-body"),
    }
}

async fn request_page(ctx: PageContext, RawQuery(query): RawQuery) -> Response {
    let alert = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|pair| pair == "sent=1"))
        .then(|| sent(&ctx));
    views::auth_reset::request(&ctx, StatusCode::OK, "", &FieldErrors::new(), alert).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct RequestForm {
    #[serde(default)]
    email: String,
}

/// Mails a link if the address has an account; the answer is the same either way.
#[tracing::instrument(skip_all)]
async fn request(
    State(state): State<AppState>,
    client: ClientInfo,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<RequestForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "reset request form refused");
            let typed = serde_urlencoded::from_bytes::<RequestForm>(&body).unwrap_or_default();
            return views::auth_reset::request(
                &ctx,
                StatusCode::FORBIDDEN,
                typed.email.trim(),
                &FieldErrors::new(),
                Some(expired(&ctx)),
            )
            .into_response();
        }
        Err(FormError::Malformed(_)) => RequestForm::default(),
    };
    let typed = form.email.trim();
    let mut errors = FieldErrors::new();
    let email = if typed.is_empty() {
        errors.add("email", i18n::key("signup-email-required"));
        None
    } else if let Ok(email) = Email::parse(typed) {
        Some(email)
    } else {
        errors.add("email", i18n::key("signup-email-invalid"));
        None
    };
    let Some(email) = email else {
        return views::auth_reset::request(&ctx, StatusCode::BAD_REQUEST, typed, &errors, None)
            .into_response();
    };
    // The same limits as `POST /v1/auth/password-reset`: per address, then per account.
    let limited = per_ip(&state, &client)
        .and_then(|()| state.limits.check_account("reset", &email.normalized()));
    if let Err(error) = limited {
        return rate_limited(&ctx, typed, &error);
    }
    state.auth.request_reset(email);
    form::see_other("/password-reset?sent=1")
}

fn rate_limited(ctx: &PageContext, email: &str, error: &ApiError) -> Response {
    let ApiError::RateLimited { retry_after_secs } = error else {
        return server_error(ctx, error).into_response();
    };
    let alert = Alert {
        tone: Tone::Danger,
        heading: ctx.t("reset-request-title"),
        body: ctx.t_with(
            "signin-failed-rate-limited",
            &Args::new().number("minutes", views::auth::minutes(*retry_after_secs)),
        ),
    };
    views::auth_reset::request(
        ctx,
        StatusCode::TOO_MANY_REQUESTS,
        email,
        &FieldErrors::new(),
        Some(alert),
    )
    .retry_after(*retry_after_secs)
    .into_response()
}

async fn reset_page(ctx: PageContext) -> Response {
    views::auth_reset::reset(&ctx, StatusCode::OK, &FieldErrors::new(), None).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: Option<SecretString>,
    #[serde(default)]
    new_password: Option<SecretString>,
}

/// Sets the new password; every session ends, so the owner signs in again.
#[tracing::instrument(skip_all)]
async fn reset(
    State(state): State<AppState>,
    client: ClientInfo,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<ResetForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "reset form refused");
            return views::auth_reset::reset(
                &ctx,
                StatusCode::FORBIDDEN,
                &FieldErrors::new(),
                Some(expired(&ctx)),
            )
            .into_response();
        }
        Err(FormError::Malformed(_)) => ResetForm::default(),
    };
    let mut errors = FieldErrors::new();
    let token = form.token.filter(|t| !t.expose_secret().trim().is_empty());
    if token.is_none() {
        errors.add("token", i18n::key("reset-token-required"));
    }
    let password = new_password(&mut errors, "new_password", form.new_password.as_ref());
    let (Some(token), Some(password)) = (token, password) else {
        return views::auth_reset::reset(&ctx, StatusCode::BAD_REQUEST, &errors, None)
            .into_response();
    };
    // A token guess is a guess: the per-address limit applies as to every auth form.
    if let Err(error) = per_ip(&state, &client) {
        return server_or_limited(&ctx, &error);
    }
    let token = SecretString::from(token.expose_secret().trim().to_owned());
    match state.auth.confirm_reset(&token, &password).await {
        Ok(()) => form::see_other("/sign-in?reset=1"),
        Err(ApiError::BadRequest { .. }) => {
            let alert = Alert {
                tone: Tone::Danger,
                heading: ctx.t("reset-failed-heading"),
                body: ctx.t("reset-failed-token"),
            };
            views::auth_reset::reset(
                &ctx,
                StatusCode::BAD_REQUEST,
                &FieldErrors::new(),
                Some(alert),
            )
            .into_response()
        }
        Err(ApiError::Overloaded { retry_after_secs }) => {
            // The token was not spent (the new password is hashed first): it is kept so the
            // owner can send the form again without going back to the mail.
            tracing::info!("reset refused: the password pool is full");
            views::auth_reset::reset_with_token(
                &ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                token.expose_secret(),
                Some(views::busy_alert(&ctx, retry_after_secs)),
            )
            .retry_after(retry_after_secs)
            .into_response()
        }
        Err(error) => server_or_limited(&ctx, &error),
    }
}

fn server_or_limited(ctx: &PageContext, error: &ApiError) -> Response {
    match error {
        ApiError::RateLimited { retry_after_secs } => {
            let alert = Alert {
                tone: Tone::Danger,
                heading: ctx.t("reset-failed-heading"),
                body: ctx.t_with(
                    "signin-failed-rate-limited",
                    &Args::new().number("minutes", views::auth::minutes(*retry_after_secs)),
                ),
            };
            views::auth_reset::reset(
                ctx,
                StatusCode::TOO_MANY_REQUESTS,
                &FieldErrors::new(),
                Some(alert),
            )
            .retry_after(*retry_after_secs)
            .into_response()
        }
        other => server_error(ctx, other).into_response(),
    }
}
