//! The views: one module per page family, each a set of typed functions that take the
//! [`PageContext`](super::PageContext) and the data to show and return a [`Page`](super::Page).
//! Handlers call them; they never see a template. Each view owns its `#[derive(Template)]`
//! struct, so a misspelt field or message helper is a compile error.

pub mod api_keys;
pub mod auth;
pub mod auth_reset;
pub mod billing;
pub mod calendar;
pub mod data_deletion;
pub mod errors;
pub mod meta_deletion;
pub mod onboarding;
pub mod posts;
pub mod posts_preview;
pub mod privacy_centre;
pub mod settings;
pub mod settings_notifications;

/// How an alert or badge reads: its colour and icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something failed or was refused.
    Danger,
    /// Something is under way.
    Progress,
    /// Something is done.
    Done,
    /// Neither good nor bad.
    Neutral,
}

impl Tone {
    /// The CSS modifier (`alert--danger`, `badge--done`).
    pub fn class(self) -> &'static str {
        match self {
            Self::Danger => "danger",
            Self::Progress => "progress",
            Self::Done => "done",
            Self::Neutral => "neutral",
        }
    }
}

/// A boxed message above a form: a heading and one paragraph, already translated.
#[derive(Debug, Clone)]
pub struct Alert {
    /// How it reads.
    pub tone: Tone,
    /// The first line, in bold.
    pub heading: String,
    /// The explanation.
    pub body: String,
}

/// "We are very busy: send the form again in N seconds": the alert above a form the password
/// pool refused (the page answers 503 with `Retry-After: seconds`).
pub fn busy_alert(ctx: &super::PageContext, seconds: u64) -> Alert {
    Alert {
        tone: Tone::Danger,
        heading: ctx.t("form-busy-heading"),
        body: ctx.t_with(
            "form-busy-body",
            &crate::i18n::Args::new()
                .number("seconds", u32::try_from(seconds.max(1)).unwrap_or(u32::MAX)),
        ),
    }
}
