//! Signing a browser up and in over HTTP, for tests of signed-in pages (API suite and
//! browser suite). Include it next to `helpers.rs`:
//! `#[path = "../support/web.rs"] mod web_session;`.
#![allow(dead_code)]

use chrono::{TimeZone as _, Utc};
use kraftsoci_server::store::PolicyVersion;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::helpers::{POLICY, TestApp};

/// The base name of the session cookie (development servers use no `__Host-` prefix).
pub const SESSION_COOKIE: &str = "kraftsoci-session";

/// A signed-in browser as HTTP tests see it: its cookies and a form token of its session.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// The `Cookie` header to send: the session cookie and the CSRF binding cookie.
    pub cookie: String,
    /// `name=value` of the session cookie alone.
    pub session: String,
    /// A CSRF token of this session, for form posts.
    pub token: String,
    /// Every `Set-Cookie` of the answer that signed it in, as sent.
    pub set_cookies: Vec<String>,
}

/// Publishes `POLICY` as the current privacy policy if no policy is current (sign-up needs
/// one to show and accept).
pub async fn ensure_policy(app: &TestApp) {
    let policy = &app.state.stores.policy;
    if policy.current_policy_version().await.unwrap().is_none() {
        policy
            .publish_policy_version(&PolicyVersion {
                version: POLICY.to_owned(),
                published_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                summary: "We process your account and business details to make and publish \
                          your posts, only as you approve them."
                    .to_owned(),
            })
            .await
            .unwrap();
    }
}

/// The value of the `name="…" value="…"` hidden input in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html.find(&needle)? + needle.len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// `name=value` of the cookie called `name` among `Set-Cookie` headers.
pub fn cookie_pair(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies
        .iter()
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .find(|pair| pair.starts_with(&format!("{name}=")))
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// GETs `path` as a browser holding `cookie` and returns the page's status, HTML and the
/// token of its forms.
pub async fn get_page(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, String, String) {
    let response = app
        .client
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let html = response.text().await.unwrap();
    let token = input_value(&html, "csrf_token").unwrap_or_default();
    (status, html, token)
}

/// POSTs `fields` with `cookie` (the form token must be among the fields).
pub async fn post_page(
    app: &TestApp,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(COOKIE, cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// Signs a new browser up through `/sign-up` (publishing the test policy first if needed)
/// and returns its signed-in session. Panics unless sign-up redirects with a session cookie.
pub async fn browser_sign_up(app: &TestApp, email: &str, password: &str) -> BrowserSession {
    ensure_policy(app).await;
    let fresh = app.client.get(app.url("/sign-up")).send().await.unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    let binding = cookie_pair(&set_cookies(&fresh), "kraftsoci-csrf").expect("a csrf cookie");
    let html = fresh.text().await.unwrap();
    let token = input_value(&html, "csrf_token").expect("a csrf token");
    let version = input_value(&html, "policy_version").expect("the policy version");
    let response = post_page(
        app,
        "/sign-up",
        &binding,
        &[
            ("csrf_token", &token),
            ("name", "Ada Lovelace"),
            ("email", email),
            ("password", password),
            ("business_name", "Ada's Bakery"),
            ("sector", "bakery"),
            ("age_confirmed", "true"),
            ("accept_policy", "true"),
            ("policy_version", &version),
        ],
    )
    .await;
    signed_in_session(app, response, &binding).await
}

/// Signs a browser in through `/sign-in`.
pub async fn browser_sign_in(app: &TestApp, email: &str, password: &str) -> BrowserSession {
    let fresh = app.client.get(app.url("/sign-in")).send().await.unwrap();
    let binding = cookie_pair(&set_cookies(&fresh), "kraftsoci-csrf").expect("a csrf cookie");
    let html = fresh.text().await.unwrap();
    let token = input_value(&html, "csrf_token").expect("a csrf token");
    let response = post_page(
        app,
        "/sign-in",
        &binding,
        &[
            ("csrf_token", &token),
            ("email", email),
            ("password", password),
        ],
    )
    .await;
    signed_in_session(app, response, &binding).await
}

async fn signed_in_session(
    app: &TestApp,
    response: reqwest::Response,
    binding: &str,
) -> BrowserSession {
    let status = response.status();
    let set = set_cookies(&response);
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "not signed in: {}",
        response.text().await.unwrap()
    );
    assert!(response.headers().contains_key(LOCATION));
    let session = cookie_pair(&set, SESSION_COOKIE).expect("a session cookie");
    let cookie = format!("{session}; {binding}");
    // Any signed-in page carries the session's form token; /sign-up redirects, so ask the
    // language switch's host page: the sign-in page redirects too, so use a page that
    // renders for everyone.
    let (_, _, token) = get_page(app, "/data-deletion", &cookie).await;
    BrowserSession {
        cookie,
        session,
        token,
        set_cookies: set,
    }
}
