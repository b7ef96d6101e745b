//! A full password pool (a login storm) refuses the web app's password forms at once, as it
//! refuses the API (503 + `Retry-After`): the page says, in the reader's language, to send
//! the form again in N seconds, and keeps what was typed except the password. The pool is
//! filled deterministically: one thread, a queue of one, two of the pool's test holds.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, RETRY_AFTER, SET_COOKIE};

use crate::helpers::{PASSWORD, TestApp, spawn_app_on};
use crate::support::TestDb;
use crate::web_session::{browser_sign_up, cookie_pair, ensure_policy, get_page, input_value};

async fn one_thread_queue_of_one(db: TestDb) -> TestApp {
    spawn_app_on(
        db,
        |config| {
            config.password_threads = Some(1);
            config.password_queue = Some(1);
        },
        |builder| builder,
    )
    .await
}

/// A fresh browser's CSRF binding cookie and the form token of `path`, asked in `language`.
async fn fresh_form(app: &TestApp, path: &str, language: &str) -> (String, String) {
    let page = app
        .client
        .get(app.url(path))
        .header(ACCEPT_LANGUAGE, language)
        .send()
        .await
        .unwrap();
    let set: Vec<String> = page
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let binding = cookie_pair(&set, "kraftsoci-csrf").expect("a csrf cookie");
    let html = page.text().await.unwrap();
    (
        binding,
        input_value(&html, "csrf_token").expect("a form token"),
    )
}

async fn post(
    app: &TestApp,
    path: &str,
    cookie: &str,
    language: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let response = app
        .client
        .post(app.url(path))
        .header(reqwest::header::COOKIE, cookie)
        .header(ACCEPT_LANGUAGE, language)
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get(RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, response.text().await.unwrap())
}

async fn a_full_pool_shows_the_sign_in_page_busy_with_the_email_kept(db: TestDb) {
    let app = one_thread_queue_of_one(db).await;
    app.signup_user("ada@example.com").await;
    let pool = app.state.auth.hasher().pool();
    let holds = [pool.hold().unwrap(), pool.hold().unwrap()];

    for (language, heading, body) in [
        ("en-GB,en", "We are very busy right now", "in one second"),
        ("tr-TR,tr", "Şu anda çok yoğunuz", "bir saniye sonra"),
    ] {
        let (binding, token) = fresh_form(&app, "/sign-in", language).await;
        let (status, retry, html) = post(
            &app,
            "/sign-in",
            &binding,
            language,
            &[
                ("csrf_token", &token),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/calendar"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{html}");
        assert_eq!(retry.as_deref(), Some("1"));
        assert!(html.contains(heading), "{language}: {html}");
        assert!(html.contains(body), "{language}: {html}");
        assert!(
            html.contains("value=\"ada@example.com\""),
            "the email is kept"
        );
        assert!(
            html.contains("value=\"/calendar\""),
            "where it was going is kept"
        );
        assert!(!html.contains(PASSWORD), "never the password");
    }

    // Once the pool has room, the same form signs in.
    drop(holds);
    let (binding, token) = fresh_form(&app, "/sign-in", "en").await;
    let (status, _, html) = post(
        &app,
        "/sign-in",
        &binding,
        "en",
        &[
            ("csrf_token", &token),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
}

#[tokio::test]
async fn a_full_pool_shows_the_sign_in_page_busy_with_the_email_kept_on_sqlite() {
    a_full_pool_shows_the_sign_in_page_busy_with_the_email_kept(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn a_full_pool_shows_the_sign_in_page_busy_with_the_email_kept_on_postgres() {
    a_full_pool_shows_the_sign_in_page_busy_with_the_email_kept(TestDb::postgres().await).await;
}

#[tokio::test]
async fn a_full_pool_shows_sign_up_password_change_and_reset_busy_keeping_what_was_typed() {
    let app = one_thread_queue_of_one(TestDb::sqlite().await).await;
    ensure_policy(&app).await;
    let signed_in = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let reset_token = {
        app.request_reset("ada@example.com").await;
        app.reset_token_for("ada@example.com", 1).await
    };
    let pool = app.state.auth.hasher().pool();
    let holds = [pool.hold().unwrap(), pool.hold().unwrap()];

    // Sign-up: everything typed is back, the password is not.
    let (binding, token) = fresh_form(&app, "/sign-up", "en").await;
    let (_, page, _) = get_page(&app, "/sign-up", &binding).await;
    let version = input_value(&page, "policy_version").unwrap();
    let (status, retry, html) = post(
        &app,
        "/sign-up",
        &binding,
        "en",
        &[
            ("csrf_token", &token),
            ("name", "Grace Hopper"),
            ("email", "grace@example.com"),
            ("password", "a long enough passphrase"),
            ("business_name", "Grace Garden"),
            ("sector", "florist"),
            ("age_confirmed", "true"),
            ("accept_policy", "true"),
            ("policy_version", &version),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{html}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert!(html.contains("We are very busy right now"));
    for kept in [
        "Grace Hopper",
        "grace@example.com",
        "Grace Garden",
        "florist",
    ] {
        assert!(html.contains(kept), "{kept}: {html}");
    }
    assert!(!html.contains("a long enough passphrase"));

    // Password change, signed in.
    let (status, retry, html) = post(
        &app,
        "/settings/password",
        &signed_in.cookie,
        "en",
        &[
            ("csrf_token", &signed_in.token),
            ("current_password", PASSWORD),
            ("new_password", "another long passphrase"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{html}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert!(html.contains("We are very busy right now"));
    assert!(!html.contains(PASSWORD) && !html.contains("another long passphrase"));

    // Reset: the mail's token was not spent, so it stays in its field; the password does not.
    let (binding, token) = fresh_form(&app, "/reset-password", "en").await;
    let (status, retry, html) = post(
        &app,
        "/reset-password",
        &binding,
        "en",
        &[
            ("csrf_token", &token),
            ("token", &reset_token),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{html}");
    assert_eq!(retry.as_deref(), Some("1"));
    assert!(html.contains("We are very busy right now"));
    assert!(html.contains(&format!("value=\"{reset_token}\"")));
    assert!(!html.contains("a brand new passphrase"));

    drop(holds);
    let (status, _, html) = post(
        &app,
        "/reset-password",
        &binding,
        "en",
        &[
            ("csrf_token", &token),
            ("token", &reset_token),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the token still works: {html}"
    );
}
