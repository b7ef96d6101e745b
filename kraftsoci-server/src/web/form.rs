//! The form pattern every page follows.
//!
//! 1. `GET /thing` renders the form (the view puts the CSRF field in it).
//! 2. The form posts to the **same URL**. The handler calls [`parse`], which checks the CSRF
//!    token before anything else and then reads the body into the page's typed values.
//! 3. Values that do not parse are answered with the same page, status 400, the typed-in
//!    values kept (passwords never) and a [`FieldErrors`] entry next to each bad field,
//!    in the reader's language. A refused token is 403 with the form again and a fresh
//!    token: nothing was done, the values are still there, one more click sends it.
//! 4. On success the handler calls the service and answers [`see_other`] to the page that
//!    shows the result (POST/redirect/GET), so a reload never posts twice. A page whose
//!    result cannot be shown again later (the account-closed page: the account is gone)
//!    answers the result directly instead.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::PageContext;
use super::csrf::CsrfRejection;
use crate::i18n::MessageKey;

/// Why a form post was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// The CSRF check failed: nothing may be done.
    #[error("form refused: {0}")]
    Forged(#[from] CsrfRejection),
    /// The body is not a form of the expected shape (a field missing, not UTF-8…).
    #[error("malformed form: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct TokenOnly {
    csrf_token: Option<String>,
}

/// Reads a form post: first its CSRF token, then the values as `T` (unknown fields, the
/// token among them, are ignored).
///
/// # Errors
/// [`FormError::Forged`] before anything else is read; [`FormError::Malformed`] when the
/// body is not `T`.
pub fn parse<T: DeserializeOwned>(ctx: &PageContext, body: &[u8]) -> Result<T, FormError> {
    let token = serde_urlencoded::from_bytes::<TokenOnly>(body)
        .ok()
        .and_then(|t| t.csrf_token);
    ctx.verify_csrf(token.as_deref())?;
    serde_urlencoded::from_bytes::<T>(body).map_err(|e| FormError::Malformed(e.to_string()))
}

/// The errors of a form, each a message key shown next to its field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(&'static str, MessageKey)>);

impl FieldErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field` (the first error of a field is the one shown).
    pub fn add(&mut self, field: &'static str, message: MessageKey) {
        if self.get(field).is_none() {
            self.0.push((field, message));
        }
    }

    /// The error of `field`.
    pub fn get(&self, field: &str) -> Option<MessageKey> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| *m)
    }

    /// Whether `field` has an error (for `aria-invalid`).
    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// The fields with errors, in the order they were found (the summary links to each).
    pub fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(f, _)| *f)
    }

    /// How many fields have errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the form is valid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `303 See Other` to `path`: the redirect after a successful post.
pub fn see_other(path: &str) -> Response {
    let location = HeaderValue::from_str(local_path(path)).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// `next` when it is a path on this site, else `/`: a redirect target from a form must not
/// send the browser elsewhere (`//evil.example`, `/\evil.example`, `https://…`).
pub fn local_path(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if local { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::key;

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(local_path("/data-deletion"), "/data-deletion");
        assert_eq!(
            local_path("/meta/data-deletion/status?code=ab12"),
            "/meta/data-deletion/status?code=ab12"
        );
        for foreign in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "",
            "/a\r\nSet-Cookie: x=1",
            "/a\\b",
        ] {
            assert_eq!(local_path(foreign), "/", "{foreign:?}");
        }
        assert_eq!(local_path(&format!("/{}", "a".repeat(3000))), "/");
    }

    #[test]
    fn a_redirect_after_a_post_is_see_other_to_a_local_path() {
        let response = see_other("/data-deletion");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/data-deletion");
        assert_eq!(see_other("//evil.example").headers()[header::LOCATION], "/");
    }

    #[test]
    fn the_first_error_of_a_field_is_the_one_shown() {
        let mut errors = FieldErrors::new();
        assert!(errors.is_empty());
        errors.add("email", key("deletion-email-required"));
        errors.add("email", key("deletion-email-invalid"));
        errors.add("password", key("deletion-password-required"));
        assert_eq!(errors.len(), 2);
        assert_eq!(errors.get("email"), Some(key("deletion-email-required")));
        assert!(errors.has("password") && !errors.has("name"));
        assert_eq!(errors.fields().collect::<Vec<_>>(), ["email", "password"]);
    }
}
