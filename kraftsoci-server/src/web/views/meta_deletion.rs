//! `/meta/data-deletion/status` (P34): the status of a deletion Meta asked for, by its
//! confirmation code.

use askama::Template;
use axum::http::StatusCode;

use super::Tone;
use crate::i18n::Args;
use crate::store::{MetaDeletion, MetaDeletionStatus};
use crate::web::{Page, PageContext};

struct StatusView {
    code: String,
    received: String,
    state: String,
    tone: Tone,
    paragraphs: Vec<String>,
}

#[derive(Template)]
#[template(path = "meta/status.html")]
struct StatusPage<'a> {
    ctx: &'a PageContext,
    title: String,
    request: Option<StatusView>,
}

/// 200: the request's code, when it arrived, and how far it has got.
pub fn status(ctx: &PageContext, request: &MetaDeletion) -> Page {
    let payments = ctx.t("meta-status-payments");
    let (state, tone, paragraphs) = match request.status {
        MetaDeletionStatus::Received => (
            ctx.t("meta-status-in-progress"),
            Tone::Progress,
            vec![
                ctx.t_with(
                    "meta-status-in-progress-body",
                    &Args::new().text(
                        "date",
                        ctx.date(crate::rights::purge_deadline(request.created_at)),
                    ),
                ),
                payments,
            ],
        ),
        MetaDeletionStatus::Completed => {
            let mut paragraphs = vec![ctx.t("meta-status-completed-body")];
            if let Some(at) = request.completed_at {
                paragraphs.push(ctx.t_with(
                    "meta-status-completed-on",
                    &Args::new().text("date", ctx.date(at)),
                ));
            }
            paragraphs.push(payments);
            (ctx.t("meta-status-completed"), Tone::Done, paragraphs)
        }
        MetaDeletionStatus::NothingHeld => (
            ctx.t("meta-status-nothing-held"),
            Tone::Neutral,
            vec![ctx.t("meta-status-nothing-held-body")],
        ),
    };
    let view = StatusView {
        code: request.confirmation_code.clone(),
        received: ctx.date(request.created_at),
        state,
        tone,
        paragraphs,
    };
    let page = StatusPage {
        ctx,
        title: ctx.t("meta-status-title"),
        request: Some(view),
    };
    Page::render(ctx, StatusCode::OK, &page)
}

/// 404: no request has that code (the code is never echoed: it may be anything).
pub fn unknown(ctx: &PageContext) -> Page {
    let page = StatusPage {
        ctx,
        title: ctx.t("meta-status-title"),
        request: None,
    };
    Page::render(ctx, StatusCode::NOT_FOUND, &page)
}
