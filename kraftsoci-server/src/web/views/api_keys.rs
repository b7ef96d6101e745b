//! Settings › API keys: the account's personal API keys, a form to make one (the key shown
//! once, on the answer to that form) and a revoke button per key.

use askama::Template;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use super::Alert;
use crate::i18n::Args;
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

/// One key in the list (never the key itself).
#[derive(Debug, Clone)]
pub struct KeyRow {
    /// Its id (the revoke form's target).
    pub id: String,
    /// The owner's name for it.
    pub name: String,
    /// Its visible prefix.
    pub prefix: String,
    /// Its scopes' names (`posts:read`…).
    pub scopes: Vec<&'static str>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What the form shows: the typed name and ticked scopes after a refused post.
#[derive(Debug, Clone, Default)]
pub struct NewKeyValues {
    /// The name.
    pub name: String,
    /// `posts:read` ticked.
    pub read: bool,
    /// `posts:write` ticked.
    pub write: bool,
    /// `posts:publish` ticked.
    pub publish: bool,
}

/// A key just made, shown this once.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Its name.
    pub name: String,
    /// The key.
    pub key: String,
}

#[derive(Template)]
#[template(path = "settings/api_keys.html")]
struct ApiKeysPage<'a> {
    ctx: &'a PageContext,
    title: String,
    keys: &'a [KeyRow],
    limit: u32,
    values: &'a NewKeyValues,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
    created: Option<&'a NewKey>,
}

impl ApiKeysPage<'_> {
    fn scope_label(&self, scope: &str) -> String {
        match scope {
            "posts:read" => self.ctx.t("api-keys-scope-read"),
            "posts:write" => self.ctx.t("api-keys-scope-write"),
            _ => self.ctx.t("api-keys-scope-publish"),
        }
    }

    fn limit_line(&self) -> String {
        let count = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.ctx.t_with(
            "api-keys-limit",
            &Args::new()
                .number("count", count)
                .number("limit", self.limit),
        )
    }

    fn last_used(&self, key: &KeyRow) -> String {
        key.last_used_at.map_or_else(
            || self.ctx.t("api-keys-never-used"),
            |at| self.ctx.date_time(at),
        )
    }
}

/// The page with `status`: the keys, the form with `values` and `errors`, an alert, and the
/// key just `created` (its only showing).
#[allow(clippy::too_many_arguments)]
pub fn page(
    ctx: &PageContext,
    status: StatusCode,
    keys: &[KeyRow],
    limit: u32,
    values: &NewKeyValues,
    errors: &FieldErrors,
    alert: Option<Alert>,
    created: Option<&NewKey>,
) -> Page {
    let page = ApiKeysPage {
        ctx,
        title: ctx.t("api-keys-title"),
        keys,
        limit,
        values,
        errors,
        alert,
        created,
    };
    Page::render(ctx, status, &page)
}
