//! Password reset: the request page and the page the mail links to.

use askama::Template;
use axum::http::StatusCode;

use super::Alert;
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

#[derive(Template)]
#[template(path = "auth/reset_request.html")]
struct RequestPage<'a> {
    ctx: &'a PageContext,
    title: String,
    email: &'a str,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
}

/// The request form (`status` 200, or 400/403/429 with `errors` or an `alert`), the typed
/// email kept. After a request, `alert` says a mail is on its way (the same words whether
/// or not the address has an account).
pub fn request(
    ctx: &PageContext,
    status: StatusCode,
    email: &str,
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Page {
    let page = RequestPage {
        ctx,
        title: ctx.t("reset-request-title"),
        email,
        errors,
        alert,
    };
    Page::render(ctx, status, &page)
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetPage<'a> {
    ctx: &'a PageContext,
    title: String,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
    token: &'a str,
}

/// The new-password form; the token arrives in the link's fragment (the script fills it
/// in) or is pasted from the mail. Neither the token nor the password is ever shown back.
pub fn reset(
    ctx: &PageContext,
    status: StatusCode,
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Page {
    let page = ResetPage {
        ctx,
        title: ctx.t("reset-title"),
        errors,
        alert,
        token: "",
    };
    Page::render(ctx, status, &page)
}

/// The new-password form with the unspent `token` kept in its field: only when the server
/// was too busy to use it (the owner sends the form again; the password is not kept).
pub fn reset_with_token(
    ctx: &PageContext,
    status: StatusCode,
    token: &str,
    alert: Option<Alert>,
) -> Page {
    let page = ResetPage {
        ctx,
        title: ctx.t("reset-title"),
        errors: &FieldErrors::new(),
        alert,
        token,
    };
    Page::render(ctx, status, &page)
}
