//! `/privacy`: the owner's privacy centre — download the data (P26, P30), correct it (P27),
//! restrict or object (P29, P31), close the account (P19, P28), the requests and their due
//! dates (P33), asking a person to review an automated decision (P32), whom to ask and where
//! to complain, the policy's versions with the owner's acceptances and the notices (P38).
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
use crate::store::{Notice, PolicyAcceptance, PolicyVersion};
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
    /// Every published policy version, newest first.
    pub versions: &'a [PolicyVersion],
    /// The owner's acceptances of any version, newest first.
    pub acceptances: &'a [PolicyAcceptance],
}

/// What the centre says after an action (`?done=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Restrictions and objections were saved.
    Saved,
    /// A request for human review was recorded.
    ReviewAsked,
}

/// The review form as typed in, shown again when it is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewForm {
    /// The post the review is about (from `/privacy?review_post=…`), if any.
    pub post_id: String,
    /// What the owner wrote.
    pub message: String,
}

struct RequestRow {
    kind: String,
    received: String,
    due: String,
    status: String,
    done: bool,
}

struct VersionRow {
    version: String,
    published: String,
    accepted: String,
    current: bool,
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
    versions: Vec<VersionRow>,
    errors: &'a FieldErrors,
    review_errors: &'a FieldErrors,
    review: &'a ReviewForm,
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
        RequestKind::Review => "privacy-request-review",
        // A right a later core adds: named generically until it has its own words.
        _ => "privacy-request-other",
    }
}

/// The policy history: each version, when it was published and when the owner accepted it.
fn version_rows(ctx: &PageContext, centre: &Centre<'_>) -> Vec<VersionRow> {
    let current = centre.policy.map(|p| p.version.as_str());
    centre
        .versions
        .iter()
        .map(|version| {
            let accepted: Vec<String> = centre
                .acceptances
                .iter()
                .filter(|a| a.version == version.version)
                .map(|a| ctx.date(a.accepted_at))
                .collect();
            VersionRow {
                version: version.version.clone(),
                published: ctx.date(version.published_at),
                accepted: if accepted.is_empty() {
                    ctx.t("privacy-history-not-accepted")
                } else {
                    accepted.join(", ")
                },
                current: current == Some(version.version.as_str()),
            }
        })
        .collect()
}

/// The parts of the page a refusal changes.
struct Shown<'a> {
    errors: &'a FieldErrors,
    review_errors: &'a FieldErrors,
    review: &'a ReviewForm,
    alert: Option<Alert>,
    close_alert: Option<Alert>,
}

fn render(ctx: &PageContext, status: StatusCode, centre: &Centre<'_>, shown: Shown<'_>) -> Page {
    let Shown {
        errors,
        review_errors,
        review,
        alert,
        close_alert,
    } = shown;
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
        versions: version_rows(ctx, centre),
        errors,
        review_errors,
        review,
        alert,
        close_alert,
    };
    Page::render(ctx, status, &page)
}

/// 200: the centre, with what the last action did; `review` pre-fills the review form (the
/// post a refusal was about).
pub fn centre(
    ctx: &PageContext,
    centre: &Centre<'_>,
    done: Option<Done>,
    review: &ReviewForm,
) -> Page {
    let alert = done.map(|done| match done {
        Done::Saved => Alert {
            tone: Tone::Done,
            heading: ctx.t("privacy-saved-heading"),
            body: ctx.t("privacy-saved-body"),
        },
        Done::ReviewAsked => Alert {
            tone: Tone::Done,
            heading: ctx.t("privacy-review-asked-heading"),
            body: ctx.t("privacy-review-asked-body"),
        },
    });
    render(
        ctx,
        StatusCode::OK,
        centre,
        Shown {
            errors: &FieldErrors::new(),
            review_errors: &FieldErrors::new(),
            review,
            alert,
            close_alert: None,
        },
    )
}

/// 422: the review form again, with the reasons next to its fields and the text kept.
pub fn review_refused(
    ctx: &PageContext,
    centre: &Centre<'_>,
    review: &ReviewForm,
    errors: &FieldErrors,
) -> Page {
    render(
        ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        centre,
        Shown {
            errors: &FieldErrors::new(),
            review_errors: errors,
            review,
            alert: None,
            close_alert: None,
        },
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
    let page = render(
        ctx,
        status,
        centre,
        Shown {
            errors,
            review_errors: &FieldErrors::new(),
            review: &ReviewForm::default(),
            alert: None,
            close_alert: alert,
        },
    );
    match refusal {
        Refusal::RateLimited { retry_after_secs } => page.retry_after(retry_after_secs),
        _ => page,
    }
}
