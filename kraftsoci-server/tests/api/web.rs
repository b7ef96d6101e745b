//! The web app over HTTP: pages, headers, CSRF, the language switch and the form pattern.
//! (The same pages in a real browser: `tests/browser`.)

use chrono::Utc;
use kraftsoci_server::store::{MetaDeletion, MetaDeletionStatus};
use kraftsoci_server::web::PAGE_CSP;
use reqwest::header::{
    ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_LANGUAGE, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    COOKIE, LOCATION, REFERRER_POLICY, RETRY_AFTER, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
};
use reqwest::{Response, StatusCode};

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};

/// A browser's CSRF state: the binding cookie a page set and the token its forms carry.
#[derive(Debug, Clone)]
pub struct FormSession {
    /// `name=value` of the binding cookie.
    pub cookie: String,
    /// The token of the page's forms.
    pub token: String,
}

/// The value of `name="…"` inputs' `value` attribute in `html`.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// `name=value` of every `Set-Cookie` of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

impl TestApp {
    /// GETs `path` as a new browser and keeps the cookie and token it was given.
    pub async fn form_session(&self, path: &str) -> FormSession {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let cookie = set_cookies(&response)
            .into_iter()
            .find(|c| c.starts_with("kraftsoci-csrf="))
            .expect("the page sets the csrf cookie");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let html = response.text().await.unwrap();
        let token = hidden_value(&html, "csrf_token").expect("the page has a csrf field");
        FormSession { cookie, token }
    }

    /// POSTs `fields` as a form, with `session`'s cookie and token when given.
    pub async fn post_form(
        &self,
        path: &str,
        session: Option<&FormSession>,
        fields: &[(&str, &str)],
    ) -> Response {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        let mut request = self.client.post(self.url(path));
        if let Some(session) = session {
            fields.push(("csrf_token", &session.token));
            request = request.header(COOKIE, &session.cookie);
        }
        request.form(&fields).send().await.unwrap()
    }

    async fn page(&self, path: &str, language: Option<&str>, cookie: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(language) = language {
            request = request.header(ACCEPT_LANGUAGE, language);
        }
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn every_page_carries_the_strict_policy_and_the_safety_headers() {
    let app = spawn_app().await;
    for response in [
        app.page("/data-deletion", None, None).await,
        app.page("/meta/data-deletion/status?code=abc", None, None)
            .await,
    ] {
        let headers = response.headers();
        assert_eq!(headers[CONTENT_SECURITY_POLICY], PAGE_CSP);
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(PAGE_CSP.contains(directive), "{directive}");
        }
        assert!(
            !PAGE_CSP.contains("unsafe"),
            "no unsafe-inline, no unsafe-eval"
        );
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[REFERRER_POLICY], "no-referrer");
        assert_eq!(headers[CACHE_CONTROL], "no-store");
        assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8");
    }
}

#[tokio::test]
async fn pages_load_only_first_party_files_and_no_inline_code() {
    let app = spawn_app().await;
    let html = app
        .page("/data-deletion", None, None)
        .await
        .text()
        .await
        .unwrap();
    for forbidden in [
        "http://", "https://", "//", "style=", "<style", "onclick", "@import",
    ] {
        assert!(
            !html.contains(forbidden),
            "the page contains {forbidden}: {html}"
        );
    }
    // Every script is a file from this origin, never inline.
    for script in html.split("<script").skip(1) {
        let tag = &script[..script.find('>').unwrap()];
        assert!(tag.contains("src=\"/static/"), "inline script: {script}");
        assert!(script[script.find('>').unwrap() + 1..].starts_with("</script>"));
    }
    // Every link and source is a path on this site, and each resolves.
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            let url = &rest[..rest.find('"').unwrap()];
            assert!(url.starts_with('/') || url.starts_with('#'), "{url}");
            if url.starts_with("/static/") {
                let response = app.client.get(app.url(url)).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{url}");
                assert_eq!(
                    response.headers()[CACHE_CONTROL],
                    "public, max-age=31536000, immutable"
                );
            }
        }
    }
}

#[tokio::test]
async fn each_page_weighs_under_100_kb_with_its_stylesheet_and_script() {
    let app = spawn_app().await;
    for path in ["/data-deletion", "/meta/data-deletion/status?code=00"] {
        for language in ["en", "tr"] {
            let html = app
                .page(path, Some(language), None)
                .await
                .text()
                .await
                .unwrap();
            let mut total = html.len();
            for (at, _) in html.match_indices("\"/static/") {
                let rest = &html[at + 1..];
                let url = &rest[..rest.find('"').unwrap()];
                if url.ends_with(".css") || url.ends_with(".js") {
                    total += app
                        .client
                        .get(app.url(url))
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap()
                        .len();
                }
            }
            assert!(total < 100 * 1024, "{path} in {language}: {total} bytes");
        }
    }
}

#[tokio::test]
async fn the_page_speaks_the_browsers_language_and_english_otherwise() {
    let app = spawn_app().await;
    let turkish = app
        .page("/data-deletion", Some("tr-TR,tr;q=0.9,en;q=0.8"), None)
        .await;
    assert_eq!(turkish.headers()[CONTENT_LANGUAGE], "tr");
    let html = turkish.text().await.unwrap();
    assert!(html.contains("<html lang=\"tr\">"));
    assert!(html.contains("kraftsoci hesabınızı silin"), "{html}");
    assert!(html.contains("30 gün içinde"));

    for language in [None, Some("de-DE,fr;q=0.5"), Some("garbage;;q=x")] {
        let html = app
            .page("/data-deletion", language, None)
            .await
            .text()
            .await
            .unwrap();
        assert!(html.contains("<html lang=\"en\">"), "{language:?}");
        assert!(html.contains("Delete your kraftsoci account"));
    }
}

#[tokio::test]
async fn the_language_switch_remembers_the_choice_and_returns_to_the_page() {
    let app = spawn_app().await;
    let session = app.form_session("/meta/data-deletion/status?code=00").await;
    let response = app
        .post_form(
            "/language",
            Some(&session),
            &[("lang", "tr"), ("next", "/data-deletion")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/data-deletion");
    let cookie = set_cookies(&response)
        .into_iter()
        .find(|c| c.starts_with("kraftsoci-lang="))
        .unwrap();
    assert_eq!(
        cookie,
        "kraftsoci-lang=tr; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000"
    );

    // The stored choice beats the browser's language.
    let html = app
        .page("/data-deletion", Some("en"), Some("kraftsoci-lang=tr"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"tr\">"));
}

#[tokio::test]
async fn the_language_switch_never_sends_the_browser_to_another_site() {
    let app = spawn_app().await;
    let session = app.form_session("/data-deletion").await;
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "",
    ] {
        let response = app
            .post_form(
                "/language",
                Some(&session),
                &[("lang", "tr"), ("next", next)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/", "{next:?}");
    }
    // An unknown language changes nothing.
    let response = app
        .post_form(
            "/language",
            Some(&session),
            &[("lang", "xx"), ("next", "/data-deletion")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(&response).is_empty());
}

#[tokio::test]
async fn a_form_without_a_valid_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let session = app.form_session("/data-deletion").await;
    let other = app.form_session("/data-deletion").await;
    let fields = [("email", "ada@example.com"), ("password", PASSWORD)];

    // No cookie and no token (a cross-site form, or a script).
    let response = app.post_form("/data-deletion", None, &fields).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("This form had expired"), "{html}");
    assert!(
        html.contains("value=\"ada@example.com\""),
        "the typed email is kept"
    );
    assert!(!html.contains(PASSWORD), "the password never comes back");

    // The cookie without the token; a token of another browser; an empty token.
    let no_token = app
        .client
        .post(app.url("/data-deletion"))
        .header(COOKIE, &session.cookie)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let mixed = FormSession {
        cookie: session.cookie.clone(),
        token: other.token.clone(),
    };
    assert_eq!(
        app.post_form("/data-deletion", Some(&mixed), &fields)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let empty = FormSession {
        cookie: session.cookie.clone(),
        token: String::new(),
    };
    assert_eq!(
        app.post_form("/data-deletion", Some(&empty), &fields)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // A valid pair, but the browser says the post comes from another site.
    let mut pairs = fields.to_vec();
    pairs.push(("csrf_token", &session.token));
    let cross_site = app
        .client
        .post(app.url("/data-deletion"))
        .header(COOKIE, &session.cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    // The language switch is a form too.
    let switch = app
        .post_form(
            "/language",
            None,
            &[("lang", "tr"), ("next", "/data-deletion")],
        )
        .await;
    assert_eq!(switch.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookies(&switch)
            .iter()
            .all(|c| !c.starts_with("kraftsoci-lang="))
    );

    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::OK,
        "still open"
    );
    // And the same post with its token goes through.
    assert_eq!(
        app.post_form("/data-deletion", Some(&session), &fields)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn the_csrf_cookie_is_http_only_and_same_site_and_kept_once_set() {
    let app = spawn_app().await;
    let first = app.page("/data-deletion", None, None).await;
    let cookies = set_cookies(&first);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let cookie = &cookies[0];
    assert!(cookie.starts_with("kraftsoci-csrf="));
    assert!(
        cookie.ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    let value = cookie.split(';').next().unwrap();
    let again = app.page("/data-deletion", None, Some(value)).await;
    assert!(
        set_cookies(&again).is_empty(),
        "a browser keeps its binding"
    );
    // A malformed cookie is replaced, not trusted.
    let replaced = app
        .page("/data-deletion", None, Some("kraftsoci-csrf=short"))
        .await;
    assert_eq!(set_cookies(&replaced).len(), 1);
}

#[tokio::test]
async fn in_production_cookies_are_secure_and_host_only() {
    let app = spawn_app_with(|config| {
        config.environment = kraftsoci_server::config::Environment::Production;
    })
    .await;
    let response = app.page("/data-deletion", None, None).await;
    let cookie = set_cookies(&response).remove(0);
    assert!(cookie.starts_with("__Host-kraftsoci-csrf="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(!cookie.contains("Domain="), "{cookie}");
}

#[tokio::test]
async fn bad_fields_are_shown_next_to_the_field_with_the_typed_email_kept() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let session = app.form_session("/data-deletion").await;

    let response = app
        .post_form(
            "/data-deletion",
            Some(&session),
            &[("email", "ada@"), ("password", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("value=\"ada@\""), "the email is kept");
    assert!(html.contains("id=\"email-error\""), "{html}");
    assert!(html.contains("This does not look like an email address"));
    assert!(html.contains("id=\"password-error\""));
    assert!(html.contains("Enter your password."));
    assert!(html.contains("2 fields need your attention."));
    assert_eq!(html.matches("aria-invalid=\"true\"").count(), 2);
    assert!(html.contains("href=\"#email\"") && html.contains("href=\"#password\""));

    // A form missing its fields altogether gets the same treatment, in Turkish too.
    let response = app
        .client
        .post(app.url("/data-deletion"))
        .header(COOKIE, &session.cookie)
        .header(ACCEPT_LANGUAGE, "tr")
        .form(&[("csrf_token", session.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Hesabınızın e-posta adresini girin."),
        "{html}"
    );
    assert!(html.contains("Parolanızı girin."));
    assert!(html.contains("2 alanı düzeltmeniz gerekiyor."));

    assert_eq!(app.get_me(&ada.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn too_many_attempts_are_answered_with_a_page_and_retry_after() {
    let app = spawn_app_with(|config| {
        config.auth_rate_per_account = kraftsoci_server::config::RateLimit {
            burst: 1,
            refill: std::time::Duration::from_secs(600),
        };
    })
    .await;
    app.signup_user("ada@example.com").await;
    let session = app.form_session("/data-deletion").await;
    let fields = [("email", "ada@example.com"), ("password", "wrong password")];
    let first = app
        .post_form("/data-deletion", Some(&session), &fields)
        .await;
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let limited = app
        .post_form("/data-deletion", Some(&session), &fields)
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    let html = limited.text().await.unwrap();
    assert!(
        html.contains("Too many attempts. Nothing was deleted."),
        "{html}"
    );
    assert!(html.contains("minutes"), "{html}");
}

#[tokio::test]
async fn the_meta_status_page_shows_dates_in_the_readers_language_and_zone() {
    let app = spawn_app().await;
    // 22:30 UTC on 31 December is already 1 January in Istanbul.
    let created_at = "2026-12-31T22:30:00Z"
        .parse::<chrono::DateTime<Utc>>()
        .unwrap();
    app.state
        .stores
        .rights
        .insert_meta_deletion(&MetaDeletion {
            confirmation_code: "0a1b2c3d4e5f60718293".to_owned(),
            app_user_hash: "00".repeat(32),
            user: None,
            status: MetaDeletionStatus::Received,
            created_at,
            completed_at: None,
        })
        .await
        .unwrap();
    let path = "/meta/data-deletion/status?code=0a1b2c3d4e5f60718293";
    let english = app.page(path, Some("en"), None).await.text().await.unwrap();
    assert!(english.contains("31 December 2026"), "{english}");
    assert!(english.contains("In progress"));
    assert!(
        english.contains("30 January 2027"),
        "the purge date: {english}"
    );
    let turkish = app.page(path, Some("tr"), None).await.text().await.unwrap();
    assert!(turkish.contains("1 Ocak 2027"), "{turkish}");
    assert!(turkish.contains("Sürüyor"));
    assert!(turkish.contains("31 Ocak 2027"), "{turkish}");
}
