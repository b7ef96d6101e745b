//! Cross-site request forgery protection for the web app's forms.
//!
//! ## The decision: a signed double-submit token, bound to a browser cookie
//! Every page that shows a form makes sure the browser holds a **binding**: 32 random bytes in
//! the `kraftsoci-csrf` cookie (`__Host-kraftsoci-csrf` in production; `HttpOnly`,
//! `SameSite=Lax`). Each form carries a hidden `csrf_token` field whose value is
//! `HMAC-SHA256(key, binding)`, the key derived from `KRAFTSOCI_JWT_SECRET` under its own
//! label. A post is accepted only when the cookie is present and the token is the HMAC of it
//! (compared in constant time), and never when the browser says it comes from another site
//! (`Sec-Fetch-Site: cross-site`).
//!
//! Why this shape:
//! - It needs no server-side storage, so it works before sign-in (the `/data-deletion`
//!   form) as well as after.
//! - Unlike a plain double-submit cookie, an attacker who can plant a cookie (from a sibling
//!   subdomain, or over plain HTTP) still cannot forge a token for it without the server's
//!   key; the `__Host-` prefix stops most planting in the first place.
//! - `SameSite=Lax` alone would already keep the cookie off cross-site posts in current
//!   browsers; the token does not rely on that.
//!
//! When browser sessions arrive (sign-in), a signed-in page binds to the session instead:
//! [`Binding::for_session`] with the session's id, so the token dies with the session and a
//! token from before sign-in is refused after it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// The name of the hidden form field that carries the token.
pub const FIELD: &str = "csrf_token";
/// The base name of the binding cookie (see [`super::cookies::name`]).
pub const COOKIE: &str = "kraftsoci-csrf";

const BINDING_BYTES: usize = 32;
/// base64url without padding of [`BINDING_BYTES`].
const BINDING_CHARS: usize = 43;
const KEY_LABEL: &[u8] = b"kraftsoci web csrf key v1";
const TOKEN_LABEL: &[u8] = b"csrf-token\0";

/// What a token is bound to: a browser (its cookie) or, once signed in, a session.
#[derive(Clone, PartialEq, Eq)]
pub struct Binding(String);

impl Binding {
    /// A new random browser binding.
    pub fn fresh() -> Self {
        let mut bytes = [0u8; BINDING_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A binding read from the cookie; `None` unless it has the shape [`Binding::fresh`]
    /// gives (anything else is treated as no cookie, and replaced).
    pub fn parse(cookie: &str) -> Option<Self> {
        (cookie.len() == BINDING_CHARS
            && cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(cookie.to_owned()))
    }

    /// The binding of a signed-in browser session, by the session's id.
    pub fn for_session(session_id: &str) -> Self {
        Self(format!("session:{session_id}"))
    }

    /// The cookie value (for a browser binding).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Binding(***)")
    }
}

/// The key that signs tokens.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(***)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl CsrfKey {
    /// The key derived from the server's secret under this module's own label, so a token
    /// is never also valid as anything else signed with that secret.
    pub fn derive(secret: &SecretString) -> Self {
        Self(hmac(secret.expose_secret().as_bytes(), &[KEY_LABEL]))
    }

    /// The token forms carry for `binding`.
    pub fn token(&self, binding: &Binding) -> String {
        URL_SAFE_NO_PAD.encode(hmac(&self.0, &[TOKEN_LABEL, binding.0.as_bytes()]))
    }

    /// Whether `submitted` is the token of `binding` (constant time).
    pub fn verify(&self, binding: &Binding, submitted: &str) -> bool {
        let expected = self.token(binding);
        expected.len() == submitted.len()
            && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
    }
}

/// Why a form post was refused. Logged; the page only says the form expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfRejection {
    /// The browser sent no binding cookie (a first visit with the form opened elsewhere,
    /// cookies blocked, or a forged post).
    #[error("no csrf cookie")]
    NoCookie,
    /// The form carried no token.
    #[error("no csrf token in the form")]
    NoToken,
    /// The token does not belong to the cookie.
    #[error("the csrf token does not match the cookie")]
    Mismatch,
    /// The browser said the post came from another site.
    #[error("a cross-site form post")]
    CrossSite,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signing_key(secret: &str) -> CsrfKey {
        CsrfKey::derive(&SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_token_verifies_only_for_its_own_binding_and_key() {
        let key = signing_key("secret-one");
        let (ours, theirs) = (Binding::fresh(), Binding::fresh());
        let token = key.token(&ours);
        assert!(key.verify(&ours, &token));
        assert!(!key.verify(&theirs, &token));
        assert!(!signing_key("secret-two").verify(&ours, &token));
        assert!(!key.verify(&ours, ""));
        assert!(!key.verify(&ours, &token[..token.len() - 1]));
        assert!(!key.verify(&ours, &format!("{token}x")));
    }

    #[test]
    fn a_planted_cookie_is_useless_without_the_key() {
        // An attacker who sets the victim's cookie to a value they know still cannot
        // compute the token: it is an HMAC under the server's key.
        let key = signing_key("server secret");
        let planted = Binding::parse(&"A".repeat(BINDING_CHARS)).unwrap();
        let guess = URL_SAFE_NO_PAD.encode(hmac(b"", &[TOKEN_LABEL, planted.as_str().as_bytes()]));
        assert!(!key.verify(&planted, &guess));
    }

    #[test]
    fn only_well_formed_cookies_are_bindings() {
        let fresh = Binding::fresh();
        assert_eq!(fresh.as_str().len(), BINDING_CHARS);
        assert_eq!(Binding::parse(fresh.as_str()), Some(fresh));
        assert_eq!(Binding::parse("short"), None);
        assert_eq!(Binding::parse(&"a".repeat(BINDING_CHARS + 1)), None);
        assert_eq!(
            Binding::parse(&format!("{}=", "a".repeat(BINDING_CHARS - 1))),
            None
        );
    }

    #[test]
    fn a_session_binding_differs_from_any_browser_binding() {
        let key = signing_key("k");
        let session = Binding::for_session("0f3c");
        assert_eq!(Binding::parse(session.as_str()), None);
        assert_ne!(
            key.token(&session),
            key.token(&Binding::for_session("0f3d"))
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let binding = Binding::fresh();
        assert!(!format!("{binding:?}").contains(binding.as_str()));
        assert_eq!(format!("{:?}", signing_key("k")), "CsrfKey(***)");
    }
}
