//! `/data-deletion` (P34): what closing the account does, the form, and its outcomes.

use askama::Template;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use super::{Alert, Tone};
use crate::i18n::Args;
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

#[derive(Template)]
#[template(path = "data_deletion/page.html")]
struct DeletionPage<'a> {
    ctx: &'a PageContext,
    title: String,
    /// The email as typed (the password is never shown again).
    email: &'a str,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
}

#[derive(Template)]
#[template(path = "data_deletion/closed.html")]
struct ClosedPage<'a> {
    ctx: &'a PageContext,
    title: String,
    purge: String,
}

/// Why the form did not close the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown email or wrong password: the same words for both (no existence oracle).
    Credentials,
    /// Too many attempts; try again after this many seconds.
    RateLimited {
        /// Seconds until a new attempt is allowed.
        retry_after_secs: u64,
    },
    /// The form's CSRF check failed: nothing was checked, the form is ready again.
    Expired,
    /// The server failed (status 5xx); nothing was deleted.
    ServerError(StatusCode),
}

fn render(
    ctx: &PageContext,
    status: StatusCode,
    email: &str,
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Page {
    let page = DeletionPage {
        ctx,
        title: ctx.t("deletion-title"),
        email,
        errors,
        alert,
    };
    Page::render(ctx, status, &page)
}

/// 200: the explanation and an empty form.
pub fn page(ctx: &PageContext) -> Page {
    render(ctx, StatusCode::OK, "", &FieldErrors::new(), None)
}

/// 400: the form again with `email` kept and each error next to its field.
pub fn invalid(ctx: &PageContext, email: &str, errors: &FieldErrors) -> Page {
    render(ctx, StatusCode::BAD_REQUEST, email, errors, None)
}

/// The form again, with `email` kept and the reason above it: 401, 403, 429 (with
/// `Retry-After`) or the server's 5xx.
pub fn refused(ctx: &PageContext, email: &str, refusal: Refusal) -> Page {
    let (status, heading, body) = match refusal {
        Refusal::Credentials => (
            StatusCode::UNAUTHORIZED,
            ctx.t("deletion-failed-heading"),
            ctx.t("deletion-failed-credentials"),
        ),
        Refusal::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            ctx.t("deletion-failed-heading"),
            ctx.t_with(
                "deletion-failed-rate-limited",
                &Args::new().number(
                    "minutes",
                    u32::try_from(retry_after_secs.div_ceil(60).max(1)).unwrap_or(u32::MAX),
                ),
            ),
        ),
        Refusal::Expired => (
            StatusCode::FORBIDDEN,
            ctx.t("form-refused-title"),
            ctx.t("form-expired"),
        ),
        Refusal::ServerError(status) => (
            status,
            ctx.t("deletion-failed-heading"),
            ctx.t("deletion-failed-internal"),
        ),
    };
    let alert = Alert {
        tone: Tone::Danger,
        heading,
        body,
    };
    let page = render(ctx, status, email, &FieldErrors::new(), Some(alert));
    match refusal {
        Refusal::RateLimited { retry_after_secs } => page.retry_after(retry_after_secs),
        _ => page,
    }
}

/// 202: the account is closed; everything goes by `purge_by`.
pub fn closed(ctx: &PageContext, purge_by: DateTime<Utc>) -> Page {
    let page = ClosedPage {
        ctx,
        title: ctx.t("deletion-closed-title"),
        purge: ctx.t_with(
            "deletion-closed-purge",
            &Args::new().text("date", ctx.date(purge_by)),
        ),
    };
    Page::render(ctx, StatusCode::ACCEPTED, &page)
}
