//! `/privacy`: the owner's privacy centre — download the data (P26, P30), correct it (P27),
//! restrict or object (P29, P31), close the account (P19, P28), the requests and their due
//! dates (P33), whom to ask and where to complain, the policy and the notices (P38).
//!
//! Every action is one of the existing services (`rights`, `account`, `export`); this page
//! only shows them and their state.

use askama::Template;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::Account;
use kraftsoci_core::{DataSubjectRequest, RequestKind, RequestStatus};

use super::{Alert, Tone};
use crate::i18n::Args;
use crate::store::{Notice, PolicyVersion};
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

/// Everything the centre shows.
#[derive(Debug)]
pub struct Centre<'a> {
    /// The account (restrictions, objections, accepted policy version).
    pub account: &'a Account,
    /// Its data-subject requests, newest first.
    pub requests: &'a [DataSubjectRequest],
    /// The current policy, when one is published.
    pub policy: Option<&'a PolicyVersion>,
    /// When the owner accepted the current policy.
    pub accepted_at: Option<DateTime<Utc>>,
    /// The owner's notices, newest first.
    pub notices: &'a [Notice],
}

/// What the centre says after an action (`?done=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Restrictions and objections were saved.
    Saved,
}

struct RequestRow {
    kind: String,
    received: String,
    due: String,
    status: String,
    done: bool,
}

struct NoticeRow {
    date: String,
    body: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "privacy/centre.html")]
struct CentrePage<'a> {
    ctx: &'a PageContext,
    title: String,
    generation_paused: bool,
    publishing_paused: bool,
    usage_log_objected: bool,
    requests: Vec<RequestRow>,
    policy_line: String,
    policy_summary: String,
    notices: Vec<NoticeRow>,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
    close_alert: Option<Alert>,
}

fn kind_key(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Access => "privacy-request-access",
        RequestKind::Rectification => "privacy-request-rectification",
        RequestKind::Erasure => "privacy-request-erasure",
        RequestKind::Restriction => "privacy-request-restriction",
        RequestKind::Portability => "privacy-request-portability",
        RequestKind::Objection => "privacy-request-objection",
    }
}

fn render(
    ctx: &PageContext,
    status: StatusCode,
    centre: &Centre<'_>,
    errors: &FieldErrors,
    alert: Option<Alert>,
    close_alert: Option<Alert>,
) -> Page {
    let requests = centre
        .requests
        .iter()
        .map(|request| {
            let done = request.status() == RequestStatus::Completed;
            RequestRow {
                kind: ctx.t(kind_key(request.kind())),
                received: ctx.date(request.received_at()),
                due: ctx.date(request.due_at()),
                status: match request.completed_at() {
                    Some(at) if done => ctx.t_with(
                        "privacy-request-completed",
                        &Args::new().text("date", ctx.date(at)),
                    ),
                    _ => ctx.t("privacy-request-open"),
                },
                done,
            }
        })
        .collect();
    let (policy_line, policy_summary) = match centre.policy {
        Some(policy) => {
            let accepted = centre.accepted_at.map_or_else(
                || ctx.t("privacy-policy-not-accepted"),
                |at| {
                    ctx.t_with(
                        "privacy-policy-accepted",
                        &Args::new().text("date", ctx.date(at)),
                    )
                },
            );
            (
                format!(
                    "{} {accepted}",
                    ctx.t_with(
                        "privacy-policy-published",
                        &Args::new()
                            .text("version", policy.version.clone())
                            .text("date", ctx.date(policy.published_at)),
                    )
                ),
                policy.summary.clone(),
            )
        }
        None => (ctx.t("privacy-policy-none"), String::new()),
    };
    let page = CentrePage {
        ctx,
        title: ctx.t("privacy-title"),
        generation_paused: centre.account.restrictions.generation,
        publishing_paused: centre.account.restrictions.publishing,
        usage_log_objected: centre.account.objections.usage_log,
        requests,
        policy_line,
        policy_summary,
        notices: centre
            .notices
            .iter()
            .map(|notice| NoticeRow {
                date: ctx.date(notice.created_at),
                body: notice.body.clone(),
                unread: notice.read_at.is_none(),
            })
            .collect(),
        errors,
        alert,
        close_alert,
    };
    Page::render(ctx, status, &page)
}

/// 200: the centre, with what the last action did.
pub fn centre(ctx: &PageContext, centre: &Centre<'_>, done: Option<Done>) -> Page {
    let alert = done.map(|Done::Saved| Alert {
        tone: Tone::Done,
        heading: ctx.t("privacy-saved-heading"),
        body: ctx.t("privacy-saved-body"),
    });
    render(
        ctx,
        StatusCode::OK,
        centre,
        &FieldErrors::new(),
        alert,
        None,
    )
}

/// Why closing the account or saving a choice did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The close form's password was empty or the confirmation not ticked (400).
    Invalid,
    /// The password was wrong (401).
    Credentials,
    /// Too many attempts (429).
    RateLimited {
        /// Seconds until a new attempt.
        retry_after_secs: u64,
    },
    /// The form's CSRF check failed (403): nothing was done.
    Expired,
    /// The server failed (5xx): nothing was changed.
    ServerError(StatusCode),
}

/// The centre again with why an action did not happen, next to its form; nothing typed is
/// shown again (the only typed field is the password).
pub fn refused(
    ctx: &PageContext,
    centre: &Centre<'_>,
    refusal: Refusal,
    errors: &FieldErrors,
) -> Page {
    let danger = |heading: &str, body: String| Alert {
        tone: Tone::Danger,
        heading: ctx.t(heading),
        body,
    };
    let (status, alert) = match refusal {
        Refusal::Invalid => (StatusCode::BAD_REQUEST, None),
        Refusal::Credentials => (
            StatusCode::UNAUTHORIZED,
            Some(danger(
                "privacy-close-failed-heading",
                ctx.t("privacy-close-wrong-password"),
            )),
        ),
        Refusal::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(danger(
                "privacy-close-failed-heading",
                ctx.t_with(
                    "privacy-close-rate-limited",
                    &Args::new().number(
                        "minutes",
                        u32::try_from(retry_after_secs.div_ceil(60).max(1)).unwrap_or(u32::MAX),
                    ),
                ),
            )),
        ),
        Refusal::Expired => (
            StatusCode::FORBIDDEN,
            Some(danger("form-refused-title", ctx.t("form-expired"))),
        ),
        Refusal::ServerError(status) => (
            status,
            Some(danger(
                "privacy-failed-heading",
                ctx.t("privacy-failed-body"),
            )),
        ),
    };
    let page = render(ctx, status, centre, errors, None, alert);
    match refusal {
        Refusal::RateLimited { retry_after_secs } => page.retry_after(retry_after_secs),
        _ => page,
    }
}
