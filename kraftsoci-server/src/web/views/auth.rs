//! Sign up, sign in and signed out: the pages of [`crate::routes::web_auth`].

use askama::Template;
use axum::http::StatusCode;

use super::{Alert, Tone};
use crate::i18n::Args;
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

/// The current privacy policy as the sign-up page shows it.
#[derive(Debug, Clone)]
pub struct PolicyShown {
    /// Its version label (the form accepts exactly this one).
    pub version: String,
    /// "Version 2026-02, in effect since 1 March 2026."
    pub effective: String,
    /// What it says, in a few sentences.
    pub summary: String,
}

/// What the sign-up form had typed in (never the password).
#[derive(Debug, Clone, Default)]
pub struct SignUpValues {
    /// The person's name.
    pub name: String,
    /// The email.
    pub email: String,
    /// The business name.
    pub business_name: String,
    /// The sector.
    pub sector: String,
    /// Whether the age box was ticked.
    pub age_confirmed: bool,
}

#[derive(Template)]
#[template(path = "auth/sign_up.html")]
struct SignUpPage<'a> {
    ctx: &'a PageContext,
    title: String,
    values: &'a SignUpValues,
    policy: Option<PolicyShown>,
    policy_label: String,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
}

/// The sign-up form (200), or it again with errors (`status`) and the typed values kept.
/// Without a published `policy` the page says that sign-up is not open.
pub fn sign_up(
    ctx: &PageContext,
    status: StatusCode,
    values: &SignUpValues,
    policy: Option<PolicyShown>,
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Page {
    let policy_label = policy.as_ref().map_or_else(String::new, |p| {
        ctx.t_with(
            "signup-policy-label",
            &Args::new().text("version", p.version.clone()),
        )
    });
    let page = SignUpPage {
        ctx,
        title: ctx.t("signup-title"),
        values,
        policy,
        policy_label,
        errors,
        alert,
    };
    Page::render(ctx, status, &page)
}

#[derive(Template)]
#[template(path = "auth/sign_in.html")]
struct SignInPage<'a> {
    ctx: &'a PageContext,
    title: String,
    email: &'a str,
    next: &'a str,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
}

/// Why a sign-in did not sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Unknown email or wrong password: the same words for both.
    Credentials,
    /// Too many attempts.
    RateLimited {
        /// Seconds until a new attempt is allowed.
        retry_after_secs: u64,
    },
    /// The password pool is full (a login storm): try again in a few seconds.
    Busy {
        /// Seconds until a new attempt is likely admitted.
        retry_after_secs: u64,
    },
    /// The form's CSRF check failed.
    Expired,
    /// The server failed (its status).
    ServerError(StatusCode),
}

/// The sign-in form; `next` is where a successful sign-in goes.
pub fn sign_in(ctx: &PageContext, email: &str, next: &str, errors: &FieldErrors) -> Page {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_sign_in(ctx, status, email, next, errors, None)
}

/// A notice above the sign-in form (200): signed out, password changed…
pub fn sign_in_with_notice(ctx: &PageContext, next: &str, alert: Alert) -> Page {
    render_sign_in(
        ctx,
        StatusCode::OK,
        "",
        next,
        &FieldErrors::new(),
        Some(alert),
    )
}

/// The sign-in form again with the reason it did not sign in: 401, 403, 429 or 503 busy
/// (both with `Retry-After`) or the server's 5xx. The typed email is kept.
pub fn sign_in_refused(ctx: &PageContext, email: &str, next: &str, refusal: SignInRefusal) -> Page {
    let (status, heading, body) = match refusal {
        SignInRefusal::Credentials => (
            StatusCode::UNAUTHORIZED,
            ctx.t("signin-failed-heading"),
            ctx.t("signin-failed-credentials"),
        ),
        SignInRefusal::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            ctx.t("signin-failed-heading"),
            ctx.t_with(
                "signin-failed-rate-limited",
                &Args::new().number("minutes", minutes(retry_after_secs)),
            ),
        ),
        SignInRefusal::Busy { retry_after_secs } => {
            let busy = super::busy_alert(ctx, retry_after_secs);
            (StatusCode::SERVICE_UNAVAILABLE, busy.heading, busy.body)
        }
        SignInRefusal::Expired => (
            StatusCode::FORBIDDEN,
            ctx.t("form-refused-title"),
            ctx.t("form-expired"),
        ),
        SignInRefusal::ServerError(status) => (
            status,
            ctx.t("signin-failed-heading"),
            ctx.t("signin-failed-internal"),
        ),
    };
    let alert = Alert {
        tone: Tone::Danger,
        heading,
        body,
    };
    let page = render_sign_in(ctx, status, email, next, &FieldErrors::new(), Some(alert));
    match refusal {
        SignInRefusal::RateLimited { retry_after_secs }
        | SignInRefusal::Busy { retry_after_secs } => page.retry_after(retry_after_secs),
        _ => page,
    }
}

/// Whole minutes to wait, at least one.
pub fn minutes(seconds: u64) -> u32 {
    u32::try_from(seconds.div_ceil(60).max(1)).unwrap_or(u32::MAX)
}

fn render_sign_in(
    ctx: &PageContext,
    status: StatusCode,
    email: &str,
    next: &str,
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Page {
    let page = SignInPage {
        ctx,
        title: ctx.t("signin-title"),
        email,
        next,
        errors,
        alert,
    };
    Page::render(ctx, status, &page)
}

/// The "you are signed out" notice.
pub fn signed_out_notice(ctx: &PageContext) -> Alert {
    Alert {
        tone: Tone::Done,
        heading: ctx.t("signed-out-heading"),
        body: ctx.t("signed-out-body"),
    }
}
