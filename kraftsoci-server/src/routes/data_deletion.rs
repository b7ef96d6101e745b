//! `/data-deletion` (P34): a page that explains deletion, with a form (email and password)
//! that closes the account; the same endpoint takes JSON.
//!
//! The page is the web app's (`web::views::data_deletion`), in Turkish or English, under the
//! pages' strict policy: first-party files only, nothing from another origin (P36), and it
//! cannot be framed (a deletion form must not be clickjackable). The form carries a CSRF
//! token; JSON needs none (a browser cannot send `application/json` across sites without
//! CORS, which this server does not grant by default).

use std::net::{IpAddr, Ipv4Addr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use kraftsoci_core::Email;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::rights::Closed;
use crate::error::{ApiError, ErrorBody};
use crate::http::{ClientInfo, Json};
use crate::state::AppState;
use crate::web::form::{self, FieldErrors, FormError};
use crate::web::views::data_deletion::Refusal;
use crate::web::{Page, PageContext, views};
use crate::{i18n, rights};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/data-deletion", get(page).post(submit))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(page, submit))]
pub struct Doc;

/// `POST /data-deletion`, as a form or JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ayse@example.com", "password": "the account's password"}))]
pub struct DeletionRequest {
    /// The account's email.
    email: String,
    /// The account's password.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// The deletion page: what happens, and a form that closes the account.
#[utoipa::path(get, path = "/data-deletion", tag = "account",
    responses((status = 200, description = "An HTML page with the deletion form", content_type = "text/html")))]
async fn page(ctx: PageContext) -> Response {
    views::data_deletion::page(&ctx).into_response()
}

/// Closes the account of `email` if `password` matches (the same as `DELETE /v1/me`). An
/// unknown email and a wrong password answer alike. A form post gets an HTML page; JSON gets
/// JSON.
#[utoipa::path(post, path = "/data-deletion", tag = "account",
    request_body(content = DeletionRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Closed (JSON); a form post gets an HTML page", body = Closed),
        (status = 400, description = "A form with a field missing or malformed: the page with the error next to the field"),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 403, description = "A form post without a valid CSRF token: nothing checked, the form again"),
        (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn submit(
    State(state): State<AppState>,
    client: ClientInfo,
    ctx: PageContext,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match content_type.as_deref() {
        Some("application/x-www-form-urlencoded") => submit_form(&state, &client, &ctx, &body)
            .await
            .into_response(),
        Some("application/json") => {
            let Ok(request) = serde_json::from_slice::<DeletionRequest>(&body) else {
                return ApiError::bad_request(
                    "invalid_body",
                    "The body needs an email and a password.",
                )
                .into_response();
            };
            match close(&state, &client, &request).await {
                Ok(purge_by) => (StatusCode::ACCEPTED, Json(Closed::new(purge_by))).into_response(),
                Err(error) => error.into_response(),
            }
        }
        _ => ApiError::UnsupportedMediaType.into_response(),
    }
}

async fn close(
    state: &AppState,
    client: &ClientInfo,
    request: &DeletionRequest,
) -> Result<DateTime<Utc>, ApiError> {
    // A password check is a guess: the same limits as a login, per address and per account.
    let ip = client.ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    state
        .limits
        .per_ip
        .check(ip)
        .map_err(|wait| ApiError::RateLimited {
            // Rounded up: a retry after a truncated wait would be refused again.
            retry_after_secs: u64::try_from((wait.num_milliseconds().max(0) + 999) / 1000)
                .unwrap_or(u64::MAX),
        })?;
    let email = Email::parse(&request.email).ok();
    let key = email
        .as_ref()
        .map_or_else(|| request.email.trim().to_lowercase(), Email::normalized);
    state.limits.check_account("data_deletion", &key)?;
    let outcome = rights::close_with_credentials(state, email.as_ref(), &request.password).await?;
    Ok(outcome.purge_after())
}

/// The form's fields. Both default to empty, so a form missing one is answered with the
/// field's error rather than as malformed.
#[derive(Debug, Deserialize)]
struct DeletionForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: Option<SecretString>,
}

/// The form branch of `POST /data-deletion`: CSRF, then the fields, then the same closing
/// as the JSON branch; every outcome is a page in the reader's language.
async fn submit_form(
    state: &AppState,
    client: &ClientInfo,
    ctx: &PageContext,
    body: &[u8],
) -> Page {
    let form = match form::parse::<DeletionForm>(ctx, body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "deletion form refused");
            // Whatever was typed is kept (the password never is), so one more click sends it.
            let email = serde_urlencoded::from_bytes::<DeletionForm>(body)
                .map(|f| f.email)
                .unwrap_or_default();
            return views::data_deletion::refused(ctx, &email, Refusal::Expired);
        }
        Err(FormError::Malformed(_)) => DeletionForm {
            email: String::new(),
            password: None,
        },
    };
    let request = match form.validate() {
        Ok(request) => request,
        Err((email, errors)) => return views::data_deletion::invalid(ctx, &email, &errors),
    };
    match close(state, client, &request).await {
        Ok(purge_by) => views::data_deletion::closed(ctx, purge_by),
        Err(error) => views::data_deletion::refused(ctx, request.email.trim(), refusal(&error)),
    }
}

impl DeletionForm {
    /// The request, or the typed email and an error next to each bad field.
    fn validate(self) -> Result<DeletionRequest, (String, FieldErrors)> {
        let mut errors = FieldErrors::new();
        if self.email.trim().is_empty() {
            errors.add("email", i18n::key("deletion-email-required"));
        } else if Email::parse(&self.email).is_err() {
            errors.add("email", i18n::key("deletion-email-invalid"));
        }
        let password = self.password.filter(|p| !p.expose_secret().is_empty());
        if password.is_none() {
            errors.add("password", i18n::key("deletion-password-required"));
        }
        match password {
            Some(password) if errors.is_empty() => Ok(DeletionRequest {
                email: self.email,
                password,
            }),
            _ => Err((self.email.trim().to_owned(), errors)),
        }
    }
}

/// What the page says about a failed closing. A server failure is logged once, with its
/// cause, as the JSON answer would be; the page shows neither.
fn refusal(error: &ApiError) -> Refusal {
    match error {
        ApiError::Unauthorized { .. } => Refusal::Credentials,
        ApiError::RateLimited { retry_after_secs } => Refusal::RateLimited {
            retry_after_secs: *retry_after_secs,
        },
        other => {
            if let ApiError::Internal(source) | ApiError::Unavailable(source) = other {
                tracing::error!(
                    error = format!("{source:#}"),
                    status = %other.status(),
                    "deletion form failed"
                );
            }
            Refusal::ServerError(other.status())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(email: &str, password: Option<&str>) -> DeletionForm {
        DeletionForm {
            email: email.to_owned(),
            password: password.map(|p| SecretString::from(p.to_owned())),
        }
    }

    #[test]
    fn a_complete_form_becomes_the_same_request_as_json() {
        let request = form("ada@example.com", Some("pw")).validate().unwrap();
        assert_eq!(request.email, "ada@example.com");
        assert_eq!(request.password.expose_secret(), "pw");
    }

    #[test]
    fn each_bad_field_gets_its_own_error_and_the_email_is_kept_trimmed() {
        let (email, errors) = form("  ada@  ", Some("")).validate().unwrap_err();
        assert_eq!(email, "ada@");
        assert_eq!(
            errors.get("email"),
            Some(i18n::key("deletion-email-invalid"))
        );
        assert_eq!(
            errors.get("password"),
            Some(i18n::key("deletion-password-required"))
        );
        let (_, errors) = form(" ", None).validate().unwrap_err();
        assert_eq!(
            errors.get("email"),
            Some(i18n::key("deletion-email-required"))
        );
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn a_server_failure_reads_as_one_and_keeps_its_status() {
        assert_eq!(
            refusal(&ApiError::RateLimited {
                retry_after_secs: 90
            }),
            Refusal::RateLimited {
                retry_after_secs: 90
            }
        );
        assert_eq!(
            refusal(&ApiError::Internal(anyhow::anyhow!("disk full"))),
            Refusal::ServerError(StatusCode::INTERNAL_SERVER_ERROR)
        );
    }
}
