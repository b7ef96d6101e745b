//! The owners' web app: server-rendered pages in Turkish and English.
//!
//! ## How a page is built
//! ```text
//! handler (routes/…)  ──►  service (same as the JSON API)  ──►  view (web/views/…)  ──►  template
//!   extracts PageContext,        decides                         typed fn(&ctx, data)      templates/…
//!   parses the form                                              -> Page                   askama
//! ```
//! - **Handlers** stay translators: they extract a [`PageContext`], parse the form with
//!   [`form::parse`], call the same service the JSON route calls, and hand the result to a
//!   view. They never touch a template or a message key.
//! - **Views** ([`views`]) are typed functions, `views::data_deletion::closed(&ctx,
//!   purge_by) -> Page`. Each owns a `#[derive(askama::Template)]` struct, so a wrong field
//!   is a compile error, and decides the status code.
//! - **Templates** (`templates/`) extend `base.html` (header with the language switch, main,
//!   footer) and use the components in `templates/components/` (`fields.html` macros,
//!   `csrf.html`, `alert.html`, `error_summary.html`, `script.html`). Every text is a message
//!   looked up with `ctx.t("site-name")` (see [`crate::i18n`]); dates with `ctx.date(at)`.
//! - **[`Page`]** sets the headers of every page: the strict [`PAGE_CSP`], `nosniff`,
//!   `no-referrer`, `no-store`, `Content-Language`, and the cookies the context minted.
//!
//! ## Adding a page (e.g. sign-in)
//! 1. Messages: `locales/en/sign-in.ftl` and `locales/tr/sign-in.ftl` with the same keys;
//!    list the file in `i18n/catalog.rs`.
//! 2. Template: `templates/sign_in/page.html`, `{% extends "base.html" %}`, a `content` block,
//!    and `{% block scripts %}{% include "components/script.html" %}{% endblock %}` only if the
//!    page needs the script (pages that need none load none). Every form includes
//!    `components/csrf.html` and posts to its own URL.
//! 3. View: `web/views/sign_in.rs` with the template struct (it must have `ctx` and `title`
//!    fields, which the layout uses) and one `pub fn` per outcome returning [`Page`].
//! 4. Handler: `GET` renders the view; `POST` calls [`form::parse`] (CSRF first), answers
//!    400 with [`form::FieldErrors`] and the typed values on bad input, calls the service,
//!    then [`form::see_other`] (POST/redirect/GET). Route it in [`routes`] or the feature's
//!    route module.
//! 5. Tests: an HTTP test in `tests/api/web.rs`; a browser test in `tests/browser/` in both
//!    languages with a screenshot (`KRAFTSOCI_SCREENSHOTS=1`).
//!
//! ## Security
//! - Sessions ([`session`]): an opaque `HttpOnly` cookie bound to a server-side session in
//!   `refresh_tokens`, so signing out, a password change and erasure end it at once.
//!   Signed-in pages take the [`Owner`] extractor (303 to `/sign-in?next=…` without one).
//! - CSRF: a signed double-submit token bound to a browser cookie (and, once signed in, to
//!   the session); the reasons are in [`csrf`].
//! - Cookies ([`cookies`]): only functional ones, `HttpOnly`, `SameSite=Lax`, and `Secure` +
//!   `__Host-` in production.
//! - Nothing is loaded from another origin (P07, P36): first-party CSS, one small script and
//!   an icon from [`assets`], hashed and cached for a year; no inline script or style (the
//!   policy forbids them, so a stray `style=""` simply does not apply).
//!
//! ## Language
//! The user's stored choice (the switch's cookie; the account's language once signed in),
//! else `Accept-Language`, else English. Times are shown in the owner's saved time zone (the
//! one their mail uses), else Istanbul time on Turkish pages and UTC on English ones, with
//! the mail's formatter ([`crate::i18n::format`]); the schedule field is written in the
//! page's own format (`GG.AA.YYYY SS:DD`, `DD/MM/YYYY HH:MM`), never the browser's widget.
//!
//! ## Usage log
//! The session lookup tells the usage log (P06) that the web app answered the request and
//! who was signed in, so page requests are logged with their user and `channel = 'web'`.

pub mod assets;
mod context;
pub mod cookies;
pub mod csrf;
pub mod form;
mod language;
mod page;
pub mod session;
pub mod views;

pub use context::PageContext;
#[cfg(any(test, feature = "testing"))]
pub use context::{LANGUAGE_COOKIE, Site};
pub use page::Page;
#[cfg(any(test, feature = "testing"))]
pub use page::{BILLING_CSP, PAGE_CSP};
pub use session::Owner;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The web app's own routes: static files and the language switch. Feature pages live with
/// their feature's routes (e.g. `/data-deletion` in [`crate::routes::data_deletion`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/{file}", get(assets::serve))
        .route("/language", post(language::switch))
}
