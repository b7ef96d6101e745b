//! The web app's cookies: reading the `Cookie` header and writing `Set-Cookie`.
//!
//! Every cookie is functional (P36): the CSRF binding and the language choice, later the
//! session. Each is `HttpOnly` (no script reads them), `SameSite=Lax` (not sent on
//! cross-site posts) and `Path=/`; in production each is also `Secure` and carries the
//! `__Host-` prefix, which browsers accept only from HTTPS, without a `Domain` and for the
//! whole site, so a sibling subdomain cannot plant or shadow it.

use axum::http::{HeaderMap, HeaderValue, header};

/// A cookie's name in this deployment: `__Host-{base}` in production, else `base` (browsers
/// refuse the prefix without HTTPS, and development runs on plain HTTP).
pub fn name(base: &'static str, production: bool) -> String {
    if production {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The value of the first cookie called `name` in the request's `Cookie` headers.
pub fn get<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim())
}

/// How long a cookie lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Until the browser session ends.
    Session,
    /// This many seconds.
    Seconds(u32),
}

/// A `Set-Cookie` value. `value` must be a cookie-safe token (base64url, a language tag);
/// anything else is refused rather than written half-escaped.
pub fn set(name: &str, value: &str, lifetime: Lifetime, production: bool) -> Option<HeaderValue> {
    let safe = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if !safe(name) || !(value.is_empty() || safe(value)) {
        return None;
    }
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Lifetime::Seconds(seconds) = lifetime {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if production {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for cookie in cookies {
            map.append(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        map
    }

    #[test]
    fn a_cookie_is_found_among_others_and_across_headers() {
        let map = headers(&["a=1; kraftsoci-lang=tr", "b=2"]);
        assert_eq!(get(&map, "kraftsoci-lang"), Some("tr"));
        assert_eq!(get(&map, "b"), Some("2"));
        assert_eq!(get(&map, "lang"), None);
        assert_eq!(get(&headers(&[]), "a"), None);
        assert_eq!(get(&headers(&["garbage; ;="]), "a"), None);
    }

    #[test]
    fn production_cookies_are_host_only_and_secure() {
        assert_eq!(name("kraftsoci-csrf", true), "__Host-kraftsoci-csrf");
        assert_eq!(name("kraftsoci-csrf", false), "kraftsoci-csrf");
        let cookie = set("__Host-x", "abc", Lifetime::Session, true).unwrap();
        assert_eq!(
            cookie.to_str().unwrap(),
            "__Host-x=abc; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let cookie = set("x", "tr", Lifetime::Seconds(60), false).unwrap();
        assert_eq!(
            cookie.to_str().unwrap(),
            "x=tr; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
    }

    #[test]
    fn a_value_that_would_need_escaping_is_not_written() {
        assert!(set("x", "a;b", Lifetime::Session, false).is_none());
        assert!(set("x", "a b", Lifetime::Session, false).is_none());
        assert!(set("x y", "a", Lifetime::Session, false).is_none());
        assert!(
            set("x", "", Lifetime::Seconds(0), false).is_some(),
            "an empty value clears"
        );
    }
}
