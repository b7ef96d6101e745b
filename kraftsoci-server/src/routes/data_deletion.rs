//! `/data-deletion` (P34): a plain HTML page that explains deletion, with a form (email and
//! password) that closes the account; the same endpoint takes JSON.
//!
//! The page loads nothing: no script, no font, no image, no third-party anything (P36). Its
//! Content-Security-Policy allows inline styles and posting the form to this origin, nothing
//! else, and it cannot be framed (a deletion form must not be clickjackable).

use std::net::{IpAddr, Ipv4Addr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use kraftsoci_core::Email;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::rights::Closed;
use crate::error::{ApiError, ErrorBody};
use crate::http::{ClientInfo, Json};
use crate::rights;
use crate::state::AppState;

/// The policy of the HTML pages this server renders.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                            frame-ancestors 'none'; base-uri 'none'";

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
pub struct DeletionRequest {
    /// The account's email.
    email: String,
    /// The account's password.
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#1d1d1f}h1{font-size:1.5rem}label{display:block;\
margin-top:1rem}input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}\
button{margin-top:1.5rem;font:inherit;padding:.5rem 1rem;background:#b3261e;color:#fff;\
border:0;border-radius:4px}.note{background:#f4f4f5;padding:.75rem 1rem;border-radius:4px}";

/// A complete HTML page under [`PAGE_CSP`]. `body` is trusted markup written by this server;
/// it never contains request input.
pub(crate) fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    let document = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title} · kraftsoci</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>"
    );
    let mut response = (status, Html(document)).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    response
}

const FORM: &str = "<form method=\"post\">\
<label for=\"email\">Email</label>\
<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>\
<label for=\"password\">Password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Close my account and delete my data</button></form>";

fn explanation() -> String {
    format!(
        "<h1>Delete your kraftsoci account</h1>\
         <p>Closing your account takes effect at once: you are signed out everywhere, your \
         Instagram connection tokens are deleted, and posts waiting to be published are \
         withdrawn. Nothing is published after that.</p>\
         <p>Within 30 days every piece of data we hold about you is then permanently deleted: \
         your account, business profile, generated posts and images, consent records, usage \
         logs and requests. Only payment records are kept, without your name or email, for \
         10 years as the law requires. Posts already on Instagram stay there; delete them in \
         Instagram.</p>\
         <p class=\"note\">Want a copy first? Download your data in the app (Settings → Export) \
         before you close the account. If you use Facebook, removing kraftsoci under \
         Settings → Apps and Websites also asks us to delete your data.</p>\
         {FORM}"
    )
}

/// The deletion page: what happens, and a form that closes the account.
#[utoipa::path(get, path = "/data-deletion", tag = "account",
    responses((status = 200, description = "An HTML page with the deletion form", content_type = "text/html")))]
async fn page() -> Response {
    html_page(StatusCode::OK, "Delete your account", &explanation())
}

fn date(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

/// Closes the account of `email` if `password` matches (the same as `DELETE /v1/me`). An
/// unknown email and a wrong password answer alike. A form post gets an HTML page; JSON gets
/// JSON.
#[utoipa::path(post, path = "/data-deletion", tag = "account",
    request_body(content = DeletionRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Closed (JSON); a form post gets an HTML page", body = Closed),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn submit(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match content_type.as_deref() {
        Some("application/x-www-form-urlencoded") => {
            let Ok(form) = serde_urlencoded::from_bytes::<DeletionRequest>(&body) else {
                return error_page(ApiError::bad_request(
                    "invalid_form",
                    "The form needs an email and a password.",
                ));
            };
            match close(&state, &client, &form).await {
                Ok(purge_by) => html_page(
                    StatusCode::ACCEPTED,
                    "Account closed",
                    &format!(
                        "<h1>Your account is closed</h1>\
                         <p>You have been signed out everywhere and nothing will be published \
                         any more. All your data, payment records excepted, will be permanently \
                         deleted by <strong>{}</strong>.</p>",
                        date(purge_by)
                    ),
                ),
                Err(error) => error_page(error),
            }
        }
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

/// An error as an HTML page with the error's status (and `Retry-After` when rate limited).
fn error_page(error: ApiError) -> Response {
    let status = error.status();
    let message = match &error {
        ApiError::Unauthorized { .. } => {
            "The email or password is not correct. Nothing was deleted."
        }
        ApiError::RateLimited { .. } => "Too many attempts. Please wait a while and try again.",
        ApiError::BadRequest { .. } => "Please enter your email and password.",
        _ => "Something went wrong on our side. Nothing was deleted; please try again later.",
    };
    let retry_after = match &error {
        ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
        _ => None,
    };
    if let ApiError::Internal(source) | ApiError::Unavailable(source) = &error {
        // Logged once, with its cause, as the JSON answer would be; the page shows neither.
        tracing::error!(error = format!("{source:#}"), %status, "deletion form failed");
    }
    let mut response = html_page(
        status,
        "Account not closed",
        &format!("<h1>Your account was not closed</h1><p>{message}</p>{FORM}"),
    );
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    response
}
