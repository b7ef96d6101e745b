//! Settings in the web app over HTTP: the account (an email change needs the password),
//! language and theme, the password (other sessions end, this one stays), the profile.

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::helpers::{PASSWORD, TestApp, parts, spawn_app};
use crate::web_session::{BrowserSession, browser_sign_in, browser_sign_up, get_page, post_page};

async fn me(app: &TestApp, email: &str, password: &str) -> serde_json::Value {
    let (status, body) = parts(app.login(email, password).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    parts(app.get_me(body["access_token"].as_str().unwrap()).await)
        .await
        .1
}

async fn signed_in(app: &TestApp, browser: &BrowserSession) -> bool {
    let response = app
        .client
        .get(app.url("/settings"))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();
    response.status() == StatusCode::OK
}

#[tokio::test]
async fn an_email_change_needs_the_current_password_and_a_name_change_does_not() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (status, html, token) = get_page(&app, "/settings", &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("value=\"ada@example.com\""));
    let post = |fields: Vec<(&'static str, String)>| {
        let (app, cookie, token) = (&app, browser.cookie.clone(), token.clone());
        async move {
            let mut all = vec![("csrf_token", token)];
            all.extend(fields);
            let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_page(app, "/settings/account", &cookie, &pairs).await
        }
    };
    let response = post(vec![
        ("name", "Ada King".to_owned()),
        ("email", "ada@example.com".to_owned()),
    ])
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/settings?saved=account");
    let (_, html, _) = get_page(&app, "/settings?saved=account", &browser.cookie).await;
    assert!(html.contains("Your account was updated."));
    assert!(
        html.contains("Signed in as Ada King"),
        "the header follows the account"
    );

    let missing = post(vec![
        ("name", "Ada King".to_owned()),
        ("email", "king@example.com".to_owned()),
    ])
    .await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let html = missing.text().await.unwrap();
    assert!(html.contains("Enter your current password to change your email."));
    assert!(
        html.contains("value=\"king@example.com\""),
        "the typed email is kept"
    );
    let wrong = post(vec![
        ("name", "Ada King".to_owned()),
        ("email", "king@example.com".to_owned()),
        ("email_password", "not my password".to_owned()),
    ])
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("This is not your current password.")
    );
    assert_eq!(
        me(&app, "ada@example.com", PASSWORD).await["name"],
        "Ada King"
    );

    browser_sign_up(&app, "taken@example.com", PASSWORD).await;
    let taken = post(vec![
        ("name", "Ada King".to_owned()),
        ("email", "taken@example.com".to_owned()),
        ("email_password", PASSWORD.to_owned()),
    ])
    .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert!(
        taken
            .text()
            .await
            .unwrap()
            .contains("Another account already uses this email.")
    );

    let changed = post(vec![
        ("name", "Ada King".to_owned()),
        ("email", "king@example.com".to_owned()),
        ("email_password", PASSWORD.to_owned()),
    ])
    .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        me(&app, "king@example.com", PASSWORD).await["email"],
        "king@example.com"
    );
}

#[tokio::test]
async fn language_and_theme_apply_to_every_page_at_once() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let response = post_page(
        &app,
        "/settings/preferences",
        &browser.cookie,
        &[
            ("csrf_token", &browser.token),
            ("language", "tr"),
            ("theme", "dark"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html, _) = get_page(&app, "/settings?saved=preferences", &browser.cookie).await;
    assert!(
        html.contains("<html lang=\"tr\" data-theme=\"dark\">"),
        "{}",
        &html[..200]
    );
    assert!(html.contains("Dil ve tema tercihiniz kaydedildi."));
    let bad = post_page(
        &app,
        "/settings/preferences",
        &browser.cookie,
        &[
            ("csrf_token", &browser.token),
            ("language", "de"),
            ("theme", "neon"),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Listeden bir dil seçin."));
    assert!(html.contains("Listeden bir tema seçin."));
    assert_eq!(
        me(&app, "ada@example.com", PASSWORD).await["preferences"]["theme"],
        "dark"
    );
}

#[tokio::test]
async fn a_password_change_keeps_this_browser_and_ends_every_other_session() {
    let app = spawn_app().await;
    let here = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let elsewhere = browser_sign_in(&app, "ada@example.com", PASSWORD).await;
    let (_, api) = parts(app.login("ada@example.com", PASSWORD).await).await;
    let wrong = post_page(
        &app,
        "/settings/password",
        &here.cookie,
        &[
            ("csrf_token", &here.token),
            ("current_password", "not it at all"),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        signed_in(&app, &elsewhere).await,
        "a refused change ends nothing"
    );
    let response = post_page(
        &app,
        "/settings/password",
        &here.cookie,
        &[
            ("csrf_token", &here.token),
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/settings?saved=password");
    assert!(signed_in(&app, &here).await);
    assert!(!signed_in(&app, &elsewhere).await);
    assert_eq!(
        app.refresh(api["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    me(&app, "ada@example.com", "a brand new passphrase").await;
}

#[tokio::test]
async fn a_settings_form_without_its_token_changes_nothing() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    for (path, fields) in [
        (
            "/settings/account",
            vec![("name", "Mallory"), ("email", "ada@example.com")],
        ),
        (
            "/settings/preferences",
            vec![("language", "tr"), ("theme", "dark")],
        ),
        (
            "/settings/password",
            vec![
                ("current_password", PASSWORD),
                ("new_password", "mallory's passphrase"),
            ],
        ),
    ] {
        let response = post_page(&app, path, &browser.cookie, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let account = me(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(account["name"], "Ada Lovelace");
    assert_eq!(account["preferences"]["language"], "en");
}

#[tokio::test]
async fn the_business_profile_is_edited_from_settings() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (status, html, token) = get_page(&app, "/settings/profile", &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("action=\"/settings/profile\""));
    let response = post_page(
        &app,
        "/settings/profile",
        &browser.cookie,
        &[
            ("csrf_token", &token),
            ("description", "Flowers for every day."),
            ("target_audience", "People in İzmir"),
            ("tone", "calm"),
            ("sector", "florist"),
            ("language", "en"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/settings?saved=profile");
    let (_, html, _) = get_page(&app, "/settings/profile", &browser.cookie).await;
    assert!(html.contains("People in İzmir"));
}
