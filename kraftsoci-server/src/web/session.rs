//! Browser sessions: the sign-in cookie and the [`Owner`] extractor of signed-in pages.
//!
//! ## The decision: an opaque cookie bound to a server-side session
//! Signing in (or up) opens a **browser session** with [`AuthService::log_in_browser`]: a
//! refresh-token family of kind `browser` in `refresh_tokens`, the table the API's sessions
//! live in. The cookie `kraftsoci-session` (`__Host-kraftsoci-session` in production;
//! `HttpOnly`, `SameSite=Lax`, `Secure` in production, 14 days) carries its 256-bit token;
//! only the token's SHA-256 is stored. Every signed-in request looks the token up, so
//! whatever ends the family ends the browser session at once, with no cache to expire:
//! - signing out (`POST /sign-out`) revokes the family;
//! - a password change revokes every other family, a reset every family;
//! - closing the account (erasure) revokes every family, and a closed account's session is
//!   refused even before that.
//!
//! Why not a JWT in the cookie: a self-contained token outlives a revocation until it
//! expires; the requirement is that these events end the session *at once*. Why the same
//! table: every existing revocation path (password, reset, erasure, retention sweep) already
//! covers it. The kind keeps the two apart: a browser token never rotates and
//! `/v1/auth/refresh` refuses it; an API refresh token never opens a page.
//!
//! Once signed in, every form's CSRF token is bound to the session
//! ([`super::csrf::Binding::for_session`]), so it dies with the session, and a token minted
//! before sign-in is refused after it.
//!
//! The lookup is made once per request and kept in the request's extensions, so a handler
//! taking both [`Owner`] and [`PageContext`](super::PageContext) queries once.
//!
//! [`AuthService::log_in_browser`]: crate::auth::AuthService::log_in_browser

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use kraftsoci_core::{SessionId, UserId};
use secrecy::{ExposeSecret as _, SecretString};

use super::cookies::{self, Lifetime};
use super::form;
use crate::auth::BROWSER_SESSION_TTL;
use crate::error::ApiError;
use crate::http::UsageSubject;
use crate::i18n::Locale;
use crate::notify::{default_time_zone, parse_time_zone};
use crate::state::AppState;

/// The base name of the session cookie (see [`cookies::name`]).
pub const SESSION_COOKIE: &str = "kraftsoci-session";

/// The signed-in user as a page sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The user.
    pub user_id: UserId,
    /// The browser session.
    pub session: SessionId,
    /// The account's language.
    pub locale: Locale,
    /// The account holder's name (the header shows it).
    pub name: String,
    /// The account's theme: `light`, `dark` or `system`.
    pub theme: &'static str,
    /// The zone the owner's times are shown in: the one they saved with their notification
    /// choices, else their language's default (the same rule their mail follows).
    pub zone: Tz,
    /// Whether they object to usage logging (P31).
    pub objects_to_usage_log: bool,
}

/// The session lookup of this request, made once (see the module docs).
#[derive(Clone)]
struct Resolved(Arc<Option<Viewer>>);

/// The signed-in viewer of this request, if its cookie names a live browser session.
///
/// # Errors
/// Storage failures (the caller decides: a page without a viewer, or a 503).
pub async fn viewer(parts: &mut Parts, state: &AppState) -> Result<Option<Viewer>, ApiError> {
    if let Some(Resolved(known)) = parts.extensions.get::<Resolved>() {
        return Ok(known.as_ref().clone());
    }
    let production = state.config.environment.is_production();
    let found = match cookies::get(&parts.headers, &cookies::name(SESSION_COOKIE, production)) {
        Some(token) if well_formed(token) => state.auth.browser_session(token).await?,
        _ => None,
    };
    let viewer = found.map(|session| {
        let locale = Locale::from_tag(&session.language).unwrap_or(Locale::En);
        Viewer {
            user_id: session.user,
            session: session.session,
            locale,
            name: session.name,
            theme: match session.theme.as_str() {
                "light" => "light",
                "dark" => "dark",
                _ => "system",
            },
            zone: session
                .time_zone
                .as_deref()
                .and_then(|name| parse_time_zone(name).ok())
                .unwrap_or_else(|| default_time_zone(locale)),
            objects_to_usage_log: session.objects_to_usage_log,
        }
    });
    // The usage log records a page request as the web app's, with its user.
    if let Some(subject) = parts.extensions.get::<UsageSubject>() {
        match &viewer {
            Some(viewer) => subject.set_web(viewer.user_id, viewer.objects_to_usage_log),
            None => subject.mark_web(),
        }
    }
    parts.extensions.insert(Resolved(Arc::new(viewer.clone())));
    Ok(viewer)
}

/// Whether `token` could be one this server minted (43 base64url characters); anything else
/// is not looked up.
fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `Set-Cookie` that signs this browser in with `token`.
pub fn sign_in_cookie(token: &SecretString, production: bool) -> Option<HeaderValue> {
    let seconds = u32::try_from(BROWSER_SESSION_TTL.num_seconds()).unwrap_or(u32::MAX);
    cookies::set(
        &cookies::name(SESSION_COOKIE, production),
        token.expose_secret(),
        Lifetime::Seconds(seconds),
        production,
    )
}

/// The `Set-Cookie` that removes the session cookie.
pub fn sign_out_cookie(production: bool) -> Option<HeaderValue> {
    cookies::set(
        &cookies::name(SESSION_COOKIE, production),
        "",
        Lifetime::Seconds(0),
        production,
    )
}

/// The session token this request's cookie carries, as sent (for signing out).
pub fn presented_token(parts_headers: &axum::http::HeaderMap, production: bool) -> Option<String> {
    cookies::get(parts_headers, &cookies::name(SESSION_COOKIE, production))
        .filter(|t| well_formed(t))
        .map(str::to_owned)
}

/// `/sign-in?next=<path>`: where a signed-out visitor of `path` is sent. Only a local path
/// is carried (see [`form::local_path`]).
pub fn sign_in_location(path: &str) -> String {
    let next = form::local_path(path);
    if next == "/" {
        return "/sign-in".to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/sign-in?next={encoded}")
}

/// A signed-in page's user: take it as a handler argument and the page is for signed-in
/// users only. Without a live session the answer is `303 See Other` to
/// `/sign-in?next=<this path>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The user (every query must be scoped by it).
    pub user_id: UserId,
    /// The browser session (a password change keeps this one and ends the others).
    pub session: SessionId,
}

/// Why a signed-in page was not served.
#[derive(Debug)]
pub enum OwnerRejection {
    /// No live session: sign in first.
    SignIn(String),
    /// The session could not be checked.
    Unavailable(ApiError),
}

impl IntoResponse for OwnerRejection {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(location) => form::see_other(&location),
            Self::Unavailable(error) => {
                tracing::error!(%error, "browser session lookup failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, "5")],
                    "The service is briefly unavailable. Please try again.",
                )
                    .into_response()
            }
        }
    }
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = OwnerRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, OwnerRejection> {
        match viewer(parts, state).await {
            Ok(Some(viewer)) => Ok(Self {
                user_id: viewer.user_id,
                session: viewer.session,
            }),
            Ok(None) => {
                let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                Err(OwnerRejection::SignIn(sign_in_location(path)))
            }
            Err(error) => Err(OwnerRejection::Unavailable(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_redirect_carries_only_a_local_path() {
        assert_eq!(sign_in_location("/settings"), "/sign-in?next=%2Fsettings");
        assert_eq!(
            sign_in_location("/posts?status=draft&x=1"),
            "/sign-in?next=%2Fposts%3Fstatus%3Ddraft%26x%3D1"
        );
        assert_eq!(sign_in_location("/"), "/sign-in");
        assert_eq!(sign_in_location("//evil.example/"), "/sign-in");
        assert_eq!(sign_in_location("https://evil.example/"), "/sign-in");
    }

    #[test]
    fn only_tokens_of_our_shape_are_looked_up() {
        assert!(well_formed(&"a".repeat(43)));
        assert!(!well_formed(&"a".repeat(42)));
        assert!(!well_formed(&format!("{}=", "a".repeat(42))));
        assert!(!well_formed(""));
    }

    #[test]
    fn the_session_cookie_is_http_only_lax_and_clearable() {
        let token = SecretString::from("t".repeat(43));
        let set = sign_in_cookie(&token, true).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-kraftsoci-session="));
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"));
        assert!(set.contains("Secure") && set.contains("Max-Age=1209600"));
        let cleared = sign_out_cookie(false).unwrap();
        assert_eq!(
            cleared.to_str().unwrap(),
            "kraftsoci-session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
