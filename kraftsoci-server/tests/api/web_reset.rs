//! The web app's password reset over HTTP: the request page, the mail in the account's
//! language, the page the mail links to, and what a reset ends.

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::helpers::{PASSWORD, TestApp, spawn_app};
use crate::web_session::{browser_sign_up, cookie_pair, get_page, input_value, post_page};

/// A fresh browser's binding cookie and the form token of `path`.
async fn fresh_form(app: &TestApp, path: &str) -> (String, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let set: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let binding = cookie_pair(&set, "kraftsoci-csrf").unwrap();
    let token = input_value(&response.text().await.unwrap(), "csrf_token").unwrap();
    (binding, token)
}

#[tokio::test]
async fn a_reset_from_the_pages_mails_a_link_to_the_page_and_ends_every_session() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (binding, token) = fresh_form(&app, "/password-reset").await;
    let response = post_page(
        &app,
        "/password-reset",
        &binding,
        &[("csrf_token", &token), ("email", " ADA@example.com ")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/password-reset?sent=1");
    let (_, html, _) = get_page(&app, "/password-reset?sent=1", "").await;
    assert!(html.contains("Check your mail"));
    let code = app.reset_token_for("ada@example.com", 1).await;
    let mail = app.mails().pop().unwrap();
    assert!(
        mail.contains(&format!("/reset-password#token={code}")),
        "{mail}"
    );
    assert!(mail.contains(&format!("copy this one: {code}")));

    let (binding, token) = fresh_form(&app, "/reset-password").await;
    let response = post_page(
        &app,
        "/reset-password",
        &binding,
        &[
            ("csrf_token", &token),
            ("token", &code),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/sign-in?reset=1");
    let (_, html, _) = get_page(&app, "/sign-in?reset=1", "").await;
    assert!(html.contains("Your password was changed"));
    // The signed-in browser was signed out by the reset.
    let (status, _, _) = get_page(&app, "/sign-up", &browser.cookie).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the sign-up form again: no longer signed in"
    );
    assert_eq!(
        app.login("ada@example.com", "a brand new passphrase")
            .await
            .status(),
        StatusCode::OK
    );
    // The link works once.
    let (binding, token) = fresh_form(&app, "/reset-password").await;
    let again = post_page(
        &app,
        "/reset-password",
        &binding,
        &[
            ("csrf_token", &token),
            ("token", &code),
            ("new_password", "yet another passphrase"),
        ],
    )
    .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let html = again.text().await.unwrap();
    assert!(html.contains("This link is invalid, was already used or has expired."));
    assert!(!html.contains(&code), "the token is never shown back");
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_mail() {
    let app = spawn_app().await;
    let (binding, token) = fresh_form(&app, "/password-reset").await;
    let response = post_page(
        &app,
        "/password-reset",
        &binding,
        &[("csrf_token", &token), ("email", "nobody@example.com")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/password-reset?sent=1");
    tokio::task::yield_now().await;
    assert!(app.mails().is_empty());
}

#[tokio::test]
async fn a_turkish_account_gets_its_reset_mail_in_turkish() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ayse@example.com", PASSWORD).await;
    let switched = post_page(
        &app,
        "/language",
        &browser.cookie,
        &[
            ("csrf_token", &browser.token),
            ("lang", "tr"),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    let (binding, token) = fresh_form(&app, "/password-reset").await;
    post_page(
        &app,
        "/password-reset",
        &binding,
        &[("csrf_token", &token), ("email", "ayse@example.com")],
    )
    .await;
    app.reset_token_for("ayse@example.com", 1).await;
    let mail = app.mails().pop().unwrap();
    assert!(mail.contains("Merhaba Ada Lovelace"), "{mail}");
}

#[tokio::test]
async fn a_reset_without_code_token_or_a_good_password_changes_nothing() {
    let app = spawn_app().await;
    browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (binding, token) = fresh_form(&app, "/reset-password").await;
    let response = post_page(
        &app,
        "/reset-password",
        &binding,
        &[
            ("csrf_token", &token),
            ("token", ""),
            ("new_password", "short"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("The code from the mail is missing."));
    assert!(html.contains("The password needs at least 8 characters."));
    let forged = post_page(
        &app,
        "/reset-password",
        &binding,
        &[("token", "abc"), ("new_password", "a brand new passphrase")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let forged = post_page(
        &app,
        "/password-reset",
        &binding,
        &[("email", "ada@example.com")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    tokio::task::yield_now().await;
    assert!(app.mails().is_empty(), "a forged request mails nothing");
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}
