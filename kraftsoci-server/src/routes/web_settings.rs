//! The web app's settings (P27, P36): the account (name, and the email with the current
//! password), language and theme, the password (other sessions end), and the business
//! profile. The same services as `PATCH /v1/me`, `POST /v1/auth/password` and
//! `PUT /v1/profile`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kraftsoci_core::ports::{AccountUpdate, Theme};
use kraftsoci_core::{Email, PersonName};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::web_auth::{new_password, per_ip, server_error};
use super::web_onboarding::{save_profile_form, stored_profile};
use crate::account::{self, AccountChanges};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::i18n::{self, Args, Locale};
use crate::state::AppState;
use crate::web::form::{self, FieldErrors, FormError};
use crate::web::views::settings::SettingsValues;
use crate::web::views::{self, Alert, Tone};
use crate::web::{Owner, PageContext};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/account", post(save_account))
        .route("/settings/preferences", post(save_preferences))
        .route("/settings/password", post(change_password))
        .route("/settings/profile", get(profile_page).post(save_profile))
}

async fn stored(state: &AppState, owner: Owner) -> Result<SettingsValues, ApiError> {
    let account = state.stores.accounts.account(owner.user_id).await?;
    Ok(SettingsValues {
        name: account.name.to_string(),
        email: account.email.to_string(),
        language: account.preferences.language.to_string(),
        theme: theme_str(account.preferences.theme).to_owned(),
    })
}

fn theme_str(theme: Theme) -> &'static str {
    match theme {
        Theme::Light => "light",
        Theme::Dark => "dark",
        Theme::System => "system",
    }
}

fn saved(ctx: &PageContext, what: &str) -> Option<Alert> {
    let key = match what {
        "account" => "settings-saved-account",
        "preferences" => "settings-saved-preferences",
        "password" => "settings-saved-password",
        "profile" => "settings-saved-profile",
        _ => return None,
    };
    Some(Alert {
        tone: Tone::Done,
        heading: ctx.t("settings-saved-heading"),
        body: ctx.t(key),
    })
}

async fn page(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    RawQuery(raw): RawQuery,
) -> Response {
    let notice = raw
        .as_deref()
        .and_then(|q| q.strip_prefix("saved="))
        .and_then(|what| saved(&ctx, what));
    match stored(&state, owner).await {
        Ok(values) => {
            views::settings::page(&ctx, StatusCode::OK, &values, &FieldErrors::new(), notice)
                .into_response()
        }
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

/// The settings page again after a refused post: `status`, the stored values with `typed`
/// applied over them, each error next to its field.
/// A settings form posted without a valid CSRF token: nothing changes, the page again (403)
/// with the stored values and the "expired" alert.
async fn refused(state: &AppState, owner: Owner, ctx: &PageContext) -> Response {
    again(
        state,
        owner,
        ctx,
        StatusCode::FORBIDDEN,
        |_| {},
        &FieldErrors::new(),
        Some(expired(ctx)),
    )
    .await
}

async fn again(
    state: &AppState,
    owner: Owner,
    ctx: &PageContext,
    status: StatusCode,
    typed: impl FnOnce(&mut SettingsValues),
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Response {
    match stored(state, owner).await {
        Ok(mut values) => {
            typed(&mut values);
            views::settings::page(ctx, status, &values, errors, alert).into_response()
        }
        Err(error) => server_error(ctx, &error).into_response(),
    }
}

/// The page again, 503 with `Retry-After`, when the password pool refused the form (what was
/// typed is kept by `typed`, never a password).
async fn busy(
    state: &AppState,
    owner: Owner,
    ctx: &PageContext,
    typed: impl FnOnce(&mut SettingsValues),
    retry_after_secs: u64,
) -> Response {
    tracing::info!("settings form refused: the password pool is full");
    let alert = views::busy_alert(ctx, retry_after_secs);
    let mut response = again(
        state,
        owner,
        ctx,
        StatusCode::SERVICE_UNAVAILABLE,
        typed,
        &FieldErrors::new(),
        Some(alert),
    )
    .await;
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    }
    response
}

fn expired(ctx: &PageContext) -> Alert {
    Alert {
        tone: Tone::Danger,
        heading: ctx.t("form-refused-title"),
        body: ctx.t("form-expired"),
    }
}

fn rate_limited(ctx: &PageContext, retry_after_secs: u64) -> Alert {
    Alert {
        tone: Tone::Danger,
        heading: ctx.t("form-refused-title"),
        body: ctx.t_with(
            "settings-rate-limited",
            &Args::new().number("minutes", views::auth::minutes(retry_after_secs)),
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
struct AccountForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    email_password: Option<SecretString>,
}

/// Name and email (a new email needs the current password, as `PATCH /v1/me`).
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn save_account(
    State(state): State<AppState>,
    owner: Owner,
    client: ClientInfo,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<AccountForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "account form refused");
            let typed = serde_urlencoded::from_bytes::<AccountForm>(&body).unwrap_or_default();
            let keep = |v: &mut SettingsValues| {
                v.name = typed.name.trim().to_owned();
                v.email = typed.email.trim().to_owned();
            };
            return again(
                &state,
                owner,
                &ctx,
                StatusCode::FORBIDDEN,
                keep,
                &FieldErrors::new(),
                Some(expired(&ctx)),
            )
            .await;
        }
        Err(FormError::Malformed(_)) => AccountForm::default(),
    };
    let (name_typed, email_typed) = (form.name.trim().to_owned(), form.email.trim().to_owned());
    let keep = |v: &mut SettingsValues| {
        v.name.clone_from(&name_typed);
        v.email.clone_from(&email_typed);
    };
    let mut errors = FieldErrors::new();
    let name = if name_typed.is_empty() {
        errors.add("name", i18n::key("settings-name-required"));
        None
    } else {
        PersonName::parse(&name_typed)
            .map_err(|_| errors.add("name", i18n::key("settings-name-invalid")))
            .ok()
    };
    let email = if email_typed.is_empty() {
        errors.add("email", i18n::key("settings-email-required"));
        None
    } else {
        Email::parse(&email_typed)
            .map_err(|_| errors.add("email", i18n::key("settings-email-invalid")))
            .ok()
    };
    let password = form
        .email_password
        .filter(|p| !p.expose_secret().is_empty());
    let current = match state.stores.accounts.account(owner.user_id).await {
        Ok(account) => account,
        Err(error) => return server_error(&ctx, &error.into()).into_response(),
    };
    let email_changes = email.as_ref().is_some_and(|e| *e != current.email);
    if email_changes && password.is_none() {
        errors.add(
            "email_password",
            i18n::key("settings-email-password-required"),
        );
    }
    if !errors.is_empty() {
        return again(
            &state,
            owner,
            &ctx,
            StatusCode::BAD_REQUEST,
            keep,
            &errors,
            None,
        )
        .await;
    }
    if email_changes && let Err(error) = per_ip(&state, &client) {
        let ApiError::RateLimited { retry_after_secs } = error else {
            return server_error(&ctx, &error).into_response();
        };
        let alert = rate_limited(&ctx, retry_after_secs);
        return again(
            &state,
            owner,
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            keep,
            &errors,
            Some(alert),
        )
        .await;
    }
    let changes = AccountChanges {
        name,
        email,
        current_password: password,
        ..AccountChanges::default()
    };
    match account::rectify(&state, owner.user_id, changes).await {
        Ok(_) => form::see_other("/settings?saved=account"),
        Err(ApiError::Unauthorized { .. }) => {
            errors.add("email_password", i18n::key("settings-password-wrong"));
            again(
                &state,
                owner,
                &ctx,
                StatusCode::UNAUTHORIZED,
                keep,
                &errors,
                None,
            )
            .await
        }
        Err(ApiError::Conflict { .. }) => {
            errors.add("email", i18n::key("settings-email-taken"));
            again(
                &state,
                owner,
                &ctx,
                StatusCode::CONFLICT,
                keep,
                &errors,
                None,
            )
            .await
        }
        Err(ApiError::Overloaded { retry_after_secs }) => {
            busy(&state, owner, &ctx, keep, retry_after_secs).await
        }
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct PreferencesForm {
    #[serde(default)]
    language: String,
    #[serde(default)]
    theme: String,
}

/// Language and theme: preferences, not a rectification of personal data.
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn save_preferences(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<PreferencesForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "preferences form refused");
            return refused(&state, owner, &ctx).await;
        }
        Err(FormError::Malformed(_)) => PreferencesForm::default(),
    };
    let mut errors = FieldErrors::new();
    let locale = Locale::from_tag(&form.language).filter(|l| l.tag() == form.language);
    if locale.is_none() {
        errors.add("language", i18n::key("settings-language-invalid"));
    }
    let theme = match form.theme.as_str() {
        "light" => Some(Theme::Light),
        "dark" => Some(Theme::Dark),
        "system" => Some(Theme::System),
        _ => {
            errors.add("theme", i18n::key("settings-theme-invalid"));
            None
        }
    };
    let (Some(locale), Some(theme)) = (locale, theme) else {
        return again(
            &state,
            owner,
            &ctx,
            StatusCode::BAD_REQUEST,
            |_| {},
            &errors,
            None,
        )
        .await;
    };
    let change = AccountUpdate {
        language: Some(locale.into()),
        theme: Some(theme),
        ..AccountUpdate::default()
    };
    match state
        .stores
        .accounts
        .update_account(owner.user_id, &change)
        .await
    {
        Ok(_) => form::see_other("/settings?saved=preferences"),
        Err(error) => server_error(&ctx, &error.into()).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: Option<SecretString>,
    #[serde(default)]
    new_password: Option<SecretString>,
}

/// Changes the password: this browser stays signed in, every other session ends.
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn change_password(
    State(state): State<AppState>,
    owner: Owner,
    client: ClientInfo,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<PasswordForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "password form refused");
            return refused(&state, owner, &ctx).await;
        }
        Err(FormError::Malformed(_)) => PasswordForm::default(),
    };
    let mut errors = FieldErrors::new();
    let current = form
        .current_password
        .filter(|p| !p.expose_secret().is_empty());
    if current.is_none() {
        errors.add(
            "current_password",
            i18n::key("settings-current-password-required"),
        );
    }
    let new = new_password(&mut errors, "new_password", form.new_password.as_ref());
    let (Some(current), Some(new)) = (current, new) else {
        return again(
            &state,
            owner,
            &ctx,
            StatusCode::BAD_REQUEST,
            |_| {},
            &errors,
            None,
        )
        .await;
    };
    // A password check is a guess: the per-address limit of the auth routes applies.
    if let Err(error) = per_ip(&state, &client) {
        let ApiError::RateLimited { retry_after_secs } = error else {
            return server_error(&ctx, &error).into_response();
        };
        let alert = rate_limited(&ctx, retry_after_secs);
        return again(
            &state,
            owner,
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            |_| {},
            &errors,
            Some(alert),
        )
        .await;
    }
    match state
        .auth
        .change_password(owner.user_id, owner.session, &current, &new)
        .await
    {
        Ok(()) => form::see_other("/settings?saved=password"),
        Err(ApiError::Unauthorized { .. }) => {
            errors.add("current_password", i18n::key("settings-password-wrong"));
            again(
                &state,
                owner,
                &ctx,
                StatusCode::UNAUTHORIZED,
                |_| {},
                &errors,
                None,
            )
            .await
        }
        Err(ApiError::Overloaded { retry_after_secs }) => {
            busy(&state, owner, &ctx, |_| {}, retry_after_secs).await
        }
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

async fn profile_page(State(state): State<AppState>, owner: Owner, ctx: PageContext) -> Response {
    match stored_profile(&state, &ctx, owner).await {
        Ok(values) => views::onboarding::profile(
            &ctx,
            StatusCode::OK,
            "/settings/profile",
            &values,
            &FieldErrors::new(),
            None,
        )
        .into_response(),
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn save_profile(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    save_profile_form(
        &state,
        owner,
        &ctx,
        &body,
        "/settings/profile",
        "/settings?saved=profile",
    )
    .await
}
