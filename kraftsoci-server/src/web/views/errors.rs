//! Pages about the request itself rather than a feature.

use askama::Template;
use axum::http::StatusCode;

use crate::web::{Page, PageContext, form};

#[derive(Template)]
#[template(path = "errors/form_refused.html")]
struct FormRefused<'a> {
    ctx: &'a PageContext,
    title: String,
    back: &'a str,
}

/// 403: a form post whose CSRF check failed, for a form that is not shown again in place;
/// links back to `back` (a local path; anything else links to `/`).
pub fn form_refused(ctx: &PageContext, back: &str) -> Page {
    let page = FormRefused {
        ctx,
        title: ctx.t("form-refused-title"),
        back: form::local_path(back),
    };
    Page::render(ctx, StatusCode::FORBIDDEN, &page)
}

#[derive(Template)]
#[template(path = "errors/server.html")]
struct ServerError<'a> {
    ctx: &'a PageContext,
    title: String,
}

/// A server failure (`status`, 5xx): nothing of the cause on the page (the handler logs it).
pub fn server_error(ctx: &PageContext, status: StatusCode) -> Page {
    let page = ServerError {
        ctx,
        title: ctx.t("error-server-title"),
    };
    Page::render(ctx, status, &page)
}
