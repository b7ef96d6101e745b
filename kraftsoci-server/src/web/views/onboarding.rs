//! Onboarding: the business profile form, then connecting Instagram (with its outcomes).

use askama::Template;
use axum::http::StatusCode;
use kraftsoci_core::ports::{Connection, ConnectionStatus};

use super::{Alert, Tone};
use crate::i18n::{Args, Locale};
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

/// The profile form's values as typed (or as stored).
#[derive(Debug, Clone, Default)]
pub struct ProfileValues {
    /// What the business does.
    pub description: String,
    /// Who the posts are for.
    pub target_audience: String,
    /// The voice.
    pub tone: String,
    /// The sector.
    pub sector: String,
    /// The posts' language tag.
    pub language: String,
}

#[derive(Template)]
#[template(path = "onboarding/profile.html")]
struct ProfilePage<'a> {
    ctx: &'a PageContext,
    title: String,
    values: &'a ProfileValues,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
    /// Where the form posts (onboarding or settings).
    action: &'a str,
    /// Whether the onboarding steps are shown.
    onboarding: bool,
}

impl ProfilePage<'_> {
    fn languages(&self) -> [Locale; 2] {
        Locale::ALL
    }
}

/// The profile form at `action` (`/onboarding` shows the steps), with `status`, the values
/// and each error next to its field.
pub fn profile(
    ctx: &PageContext,
    status: StatusCode,
    action: &str,
    values: &ProfileValues,
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Page {
    let page = ProfilePage {
        ctx,
        title: ctx.t("onboarding-profile-title"),
        values,
        errors,
        alert,
        action,
        onboarding: action == "/onboarding",
    };
    Page::render(ctx, status, &page)
}

/// A connected account as the pages list it.
#[derive(Debug, Clone)]
pub struct AccountRow {
    /// Our id (the keep form's value).
    pub id: String,
    /// The Facebook Page's name.
    pub page_name: String,
    /// Instagram's user id.
    pub ig_user_id: String,
    /// Whether it is the sandbox account.
    pub sandbox: bool,
    /// "Connected" or "Needs reconnecting".
    pub status: String,
    /// The badge's tone.
    pub tone: Tone,
}

impl AccountRow {
    /// The row of `connection` in the reader's language.
    pub fn of(ctx: &PageContext, connection: &Connection) -> Self {
        let (status, tone) = match connection.status {
            ConnectionStatus::Active => (ctx.t("onboarding-instagram-active"), Tone::Done),
            // A status a later core adds is not active: the owner has something to do.
            _ => (
                ctx.t("onboarding-instagram-needs-reconnect"),
                Tone::Progress,
            ),
        };
        Self {
            id: connection.id.to_string(),
            page_name: connection.page_name.clone(),
            ig_user_id: connection.ig_user_id.to_string(),
            sandbox: connection.ig_user_id.is_sandbox(),
            status,
            tone,
        }
    }
}

/// How the last connection attempt ended, as the callback's redirect reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accounts were connected; some Pages had no Instagram business account.
    Connected {
        /// How many accounts.
        accounts: u32,
        /// How many Pages without one.
        pages_without: u32,
    },
    /// The owner refused access.
    AccessDenied,
    /// A permission was not granted.
    PermissionsMissing,
    /// The login found no Instagram business account at all.
    NotBusiness,
    /// The state expired or was reused.
    Expired,
    /// The dialog or the code exchange failed.
    Failed,
    /// Meta could not be reached.
    Unavailable,
    /// Facebook Login is not configured here.
    Unconfigured,
}

impl Outcome {
    /// The query value the callback's redirect carries for an error outcome.
    pub fn code(self) -> &'static str {
        match self {
            Self::Connected { .. } => "connected",
            Self::AccessDenied => "access_denied",
            Self::PermissionsMissing => "permissions_missing",
            Self::NotBusiness => "not_business",
            Self::Expired => "expired",
            Self::Failed => "failed",
            Self::Unavailable => "unavailable",
            Self::Unconfigured => "unconfigured",
        }
    }

    /// The outcome named by `code` (an unknown code is none).
    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::AccessDenied,
            Self::PermissionsMissing,
            Self::NotBusiness,
            Self::Expired,
            Self::Failed,
            Self::Unavailable,
            Self::Unconfigured,
        ]
        .into_iter()
        .find(|o| o.code() == code)
    }

    fn alert(self, ctx: &PageContext) -> Alert {
        let danger = |heading: &str, body: &str| Alert {
            tone: Tone::Danger,
            heading: ctx.t(heading),
            body: ctx.t(body),
        };
        match self {
            Self::Connected {
                accounts,
                pages_without,
            } => {
                let mut body = ctx.t("onboarding-connected-body");
                if pages_without > 0 {
                    body.push(' ');
                    body.push_str(&ctx.t_with(
                        "onboarding-pages-without",
                        &Args::new().number("count", pages_without),
                    ));
                }
                Alert {
                    tone: Tone::Done,
                    heading: ctx.t_with(
                        "onboarding-connected-heading",
                        &Args::new().number("count", accounts),
                    ),
                    body,
                }
            }
            Self::AccessDenied => danger(
                "onboarding-error-access-denied-heading",
                "onboarding-error-access-denied",
            ),
            Self::PermissionsMissing => danger(
                "onboarding-error-permissions-heading",
                "onboarding-error-permissions",
            ),
            Self::NotBusiness => danger(
                "onboarding-error-not-business-heading",
                "onboarding-error-not-business",
            ),
            Self::Expired => danger(
                "onboarding-error-expired-heading",
                "onboarding-error-expired",
            ),
            Self::Failed => danger("onboarding-error-failed-heading", "onboarding-error-failed"),
            Self::Unavailable => danger(
                "onboarding-error-unavailable-heading",
                "onboarding-error-unavailable",
            ),
            Self::Unconfigured => danger(
                "onboarding-error-failed-heading",
                "onboarding-error-unconfigured",
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "onboarding/instagram.html")]
struct InstagramPage<'a> {
    ctx: &'a PageContext,
    title: String,
    accounts: &'a [AccountRow],
    alert: Option<Alert>,
    /// Whether to offer the choice of accounts to keep.
    choose: bool,
    sandbox: bool,
    errors: &'a FieldErrors,
}

/// The connect page: what connecting means, the accounts connected, and the outcome of the
/// last attempt. When a login connected several accounts, the owner chooses which to keep.
pub fn instagram(
    ctx: &PageContext,
    status: StatusCode,
    accounts: &[AccountRow],
    outcome: Option<Outcome>,
    sandbox: bool,
    errors: &FieldErrors,
) -> Page {
    let choose = matches!(outcome, Some(Outcome::Connected { accounts: n, .. }) if n > 1)
        && accounts.len() > 1
        || !errors.is_empty();
    let page = InstagramPage {
        ctx,
        title: ctx.t("onboarding-instagram-title"),
        accounts,
        alert: outcome.map(|o| o.alert(ctx)),
        choose,
        sandbox,
        errors,
    };
    Page::render(ctx, status, &page)
}
