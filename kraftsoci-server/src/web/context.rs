//! [`PageContext`]: what every view needs to know about the request it answers — the
//! signed-in user if any, the language, the time zone, the CSRF token of its forms, the
//! site's contact line — and the helpers templates call (`ctx.t("site-name")`,
//! `ctx.date(at)`, `ctx.asset("app.css")`).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, HeaderValue};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::cookies::{self, Lifetime};
use super::csrf::{self, Binding, CsrfKey, CsrfRejection};
use super::session::{self, Viewer};
use super::{assets, form::FieldErrors};
use crate::i18n::{self, Args, Locale, casing, format};
use crate::state::AppState;

/// The base name of the language cookie the switch sets.
pub const LANGUAGE_COOKIE: &str = "kraftsoci-lang";
/// How long the language choice is remembered: a year.
pub const LANGUAGE_COOKIE_SECONDS: u32 = 365 * 24 * 3600;

/// What the site says about itself on every page.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// The privacy contact shown in the footer and on `/data-deletion`
    /// (`KRAFTSOCI_PRIVACY_CONTACT`, by default the sender's address).
    pub contact: Option<String>,
    /// Who is responsible for the data (`KRAFTSOCI_PRIVACY_CONTROLLER`).
    pub controller: Option<String>,
    /// Whether cookies are `Secure` and `__Host-` prefixed (production).
    pub production: bool,
}

impl Site {
    /// The site as the configuration describes it.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            contact: Some(config.privacy.contact.clone()),
            controller: Some(config.privacy.controller.clone()),
            production: config.environment.is_production(),
        }
    }
}

/// The request as a page sees it. Extracting it never fails: a request without cookies or
/// headers gets English, UTC and a fresh CSRF binding (set by the response). With a live
/// session cookie it knows the [`Viewer`]: the page speaks the account's language and its
/// forms' tokens are bound to the session.
#[derive(Debug)]
pub struct PageContext {
    viewer: Option<Viewer>,
    locale: Locale,
    zone: Tz,
    site: Site,
    key: CsrfKey,
    binding: Binding,
    /// Whether `binding` was minted for this response (so it must set the cookie).
    new_binding: bool,
    cross_site: bool,
    path: String,
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let site = Site::from_config(&state.config);
        // A failed lookup shows the page signed out; a signed-in page's `Owner` extractor
        // makes the same lookup and answers 503 instead.
        let viewer = session::viewer(parts, state).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "browser session lookup failed");
            None
        });
        let headers = &parts.headers;
        let stored = cookies::get(headers, &cookies::name(LANGUAGE_COOKIE, site.production));
        let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let locale = viewer
            .as_ref()
            .map_or_else(|| i18n::negotiate(stored, accept), |v| v.locale);
        let existing = match &viewer {
            Some(viewer) => Some(Binding::for_session(&viewer.session.to_string())),
            None => cookies::get(headers, &cookies::name(csrf::COOKIE, site.production))
                .and_then(Binding::parse),
        };
        let new_binding = existing.is_none();
        let zone = viewer
            .as_ref()
            .map_or_else(|| locale.default_zone(), |v| v.zone);
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        Ok(Self {
            viewer,
            locale,
            zone,
            key: CsrfKey::derive(&state.config.jwt_secret),
            binding: existing.unwrap_or_else(Binding::fresh),
            new_binding,
            cross_site,
            path,
            site,
        })
    }
}

impl PageContext {
    /// The zone this page shows times in and reads typed times in: the signed-in owner's
    /// stored zone, else the language's default.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The signed-in user, if any.
    pub fn viewer(&self) -> Option<&Viewer> {
        self.viewer.as_ref()
    }

    /// The theme the account chose (`data-theme`: `light` or `dark`); `None` follows the
    /// system's preference.
    pub fn chosen_theme(&self) -> Option<&'static str> {
        self.viewer
            .as_ref()
            .map(|v| v.theme)
            .filter(|theme| *theme != "system")
    }

    /// Whether a user is signed in (the layout shows the app's navigation).
    pub fn signed_in(&self) -> bool {
        self.viewer.is_some()
    }

    /// The signed-in navigation: each section's path and message key.
    pub fn nav(&self) -> [(&'static str, &'static str); 5] {
        [
            ("/posts", "nav-posts"),
            ("/calendar", "nav-calendar"),
            ("/settings", "nav-settings"),
            ("/billing", "nav-billing"),
            ("/privacy", "nav-privacy"),
        ]
    }

    /// "Signed in as Ayşe" for `viewer`.
    pub fn signed_in_as(&self, viewer: &Viewer) -> String {
        self.t_with(
            "nav-signed-in-as",
            &Args::new().text("name", viewer.name.clone()),
        )
    }

    /// Whether the page is production (cookies are `Secure` and `__Host-`).
    pub fn production(&self) -> bool {
        self.site.production
    }

    /// Whether the current page is `section` or under it (the navigation marks it).
    pub fn in_section(&self, section: &str) -> bool {
        let path = self.path.split('?').next().unwrap_or("");
        path == section
            || path
                .strip_prefix(section)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// The language of the page.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The language's tag, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.locale.tag()
    }

    /// Every language, for the switch.
    pub fn locales(&self) -> [Locale; 2] {
        Locale::ALL
    }

    /// Whether `locale` is the page's language.
    pub fn is_current(&self, locale: &Locale) -> bool {
        *locale == self.locale
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    /// The message `key` with arguments.
    pub fn t_with(&self, key: &str, args: &Args<'_>) -> String {
        self.locale.t_with(key, args)
    }

    /// The `<title>` of a page called `page`.
    pub fn page_title(&self, page: &str) -> String {
        self.t_with("page-title", &Args::new().text("page", page.to_owned()))
    }

    /// The day of `at` in the reader's language and zone.
    pub fn date(&self, at: DateTime<Utc>) -> String {
        format::date(self.locale, self.zone, at)
    }

    /// Date, time and zone of `at`.
    pub fn date_time(&self, at: DateTime<Utc>) -> String {
        format::date_time(self.locale, self.zone, at)
    }

    /// A whole number with the reader's separators.
    pub fn integer(&self, value: i64) -> String {
        format::integer(self.locale, value)
    }

    /// `text` in capitals, with Turkish İ/I where the page is Turkish.
    pub fn upper(&self, text: &str) -> String {
        casing::to_upper(self.locale, text)
    }

    /// The hashed URL of a static file; empty (and a failing test) for an unknown name.
    pub fn asset(&self, name: &str) -> &'static str {
        assets::get(name).map_or("", |asset| asset.url.as_str())
    }

    /// The name of the CSRF form field.
    pub fn csrf_field(&self) -> &'static str {
        csrf::FIELD
    }

    /// The CSRF token every form of this page carries.
    pub fn csrf_token(&self) -> String {
        self.key.token(&self.binding)
    }

    /// The path and query of this request (where the language switch returns to).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The footer's contact address, when one is configured.
    pub fn contact(&self) -> Option<&str> {
        self.site.contact.as_deref()
    }

    /// The controller's name, when one is configured.
    pub fn controller(&self) -> Option<&str> {
        self.site.controller.as_deref()
    }

    /// "`name` is responsible for your data": the footer's controller line.
    pub fn footer_controller(&self, name: &str) -> String {
        self.t_with(
            "footer-controller",
            &Args::new().text("controller", name.to_owned()),
        )
    }

    /// The footer's contact line for `address`.
    pub fn footer_contact(&self, address: &str) -> String {
        self.t_with(
            "footer-contact",
            &Args::new().text("address", address.to_owned()),
        )
    }

    /// "2 fields need your attention."
    pub fn error_count(&self, errors: &FieldErrors) -> String {
        let count = u32::try_from(errors.len()).unwrap_or(u32::MAX);
        self.t_with("form-error-count", &Args::new().number("count", count))
    }

    /// The text of the error for `field`, if it has one.
    pub fn field_error(&self, errors: &FieldErrors, field: &str) -> Option<String> {
        errors.get(field).map(|key| self.t(key.as_str()))
    }

    /// Checks a form post's token against this browser's binding.
    ///
    /// # Errors
    /// [`CsrfRejection`] when the post came from another site, the browser had no binding
    /// cookie, or the token is missing or not the binding's.
    pub fn verify_csrf(&self, submitted: Option<&str>) -> Result<(), CsrfRejection> {
        if self.cross_site {
            return Err(CsrfRejection::CrossSite);
        }
        if self.new_binding {
            return Err(CsrfRejection::NoCookie);
        }
        let submitted = submitted
            .filter(|t| !t.is_empty())
            .ok_or(CsrfRejection::NoToken)?;
        if self.key.verify(&self.binding, submitted) {
            Ok(())
        } else {
            Err(CsrfRejection::Mismatch)
        }
    }

    /// The cookies the response must set: the binding when it was minted now.
    pub fn cookies(&self) -> Vec<HeaderValue> {
        let mut out = Vec::new();
        if self.new_binding {
            out.extend(cookies::set(
                &cookies::name(csrf::COOKIE, self.site.production),
                self.binding.as_str(),
                Lifetime::Session,
                self.site.production,
            ));
        }
        out
    }

    /// The `Set-Cookie` that remembers `locale` as this browser's language.
    pub fn language_cookie(&self, locale: Locale) -> Option<HeaderValue> {
        cookies::set(
            &cookies::name(LANGUAGE_COOKIE, self.site.production),
            locale.tag(),
            Lifetime::Seconds(LANGUAGE_COOKIE_SECONDS),
            self.site.production,
        )
    }
}
