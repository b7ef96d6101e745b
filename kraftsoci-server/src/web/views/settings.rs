//! Settings: the account (name, email), language and theme, password, and links to the
//! business profile and the Instagram accounts.

use askama::Template;
use axum::http::StatusCode;

use super::Alert;
use crate::i18n::Locale;
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

/// What the settings forms show (typed values after a refused post, else the stored ones;
/// never a password).
#[derive(Debug, Clone, Default)]
pub struct SettingsValues {
    /// The name.
    pub name: String,
    /// The email.
    pub email: String,
    /// The language tag.
    pub language: String,
    /// `light`, `dark` or `system`.
    pub theme: String,
}

#[derive(Template)]
#[template(path = "settings/page.html")]
struct SettingsPage<'a> {
    ctx: &'a PageContext,
    title: String,
    values: &'a SettingsValues,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
}

impl SettingsPage<'_> {
    fn languages(&self) -> [Locale; 2] {
        Locale::ALL
    }

    fn themes(&self) -> [(&'static str, &'static str); 3] {
        [
            ("system", "settings-theme-system"),
            ("light", "settings-theme-light"),
            ("dark", "settings-theme-dark"),
        ]
    }
}

/// The settings page with `status`, the values, each error next to its field, and a notice
/// or refusal above.
pub fn page(
    ctx: &PageContext,
    status: StatusCode,
    values: &SettingsValues,
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Page {
    let page = SettingsPage {
        ctx,
        title: ctx.t("settings-title"),
        values,
        errors,
        alert,
    };
    Page::render(ctx, status, &page)
}
