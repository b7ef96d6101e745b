//! Settings › API keys in the web app over HTTP: the key is shown once on the answer to the
//! form and never again, a forged form makes nothing, bad choices are shown next to their
//! field, revoking works at once, and the page speaks Turkish too.

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::helpers::{PASSWORD, TestApp, code, parts, spawn_app};
use crate::web_session::{BrowserSession, browser_sign_up, get_page, post_page};

const PAGE: &str = "/settings/api-keys";

/// The key shown on a page (the read-only field's value).
fn shown_key(html: &str) -> Option<String> {
    let at = html.find("value=\"ks_")? + "value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The id in the first revoke form's action.
fn first_revoke_path(html: &str) -> Option<String> {
    let at = html.find("action=\"/settings/api-keys/")? + "action=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

async fn create(
    app: &TestApp,
    browser: &BrowserSession,
    token: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut all = vec![("csrf_token", token)];
    all.extend_from_slice(fields);
    post_page(app, PAGE, &browser.cookie, &all).await
}

#[tokio::test]
async fn a_key_made_on_the_page_is_shown_once_works_and_is_revoked_at_once() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (status, html, token) = get_page(&app, PAGE, &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("You have no API keys."), "{html}");
    let (_, settings, _) = get_page(&app, "/settings", &browser.cookie).await;
    assert!(settings.contains("href=\"/settings/api-keys\""));

    let response = create(
        &app,
        &browser,
        &token,
        &[
            ("name", "Shop publisher"),
            ("read", "on"),
            ("publish", "on"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let key = shown_key(&html).expect("the new key is on the page");
    assert!(key.starts_with("ks_") && key.len() == 46, "{key}");
    assert!(html.contains("it is shown only this once"));

    let (status, html, token) = get_page(&app, PAGE, &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&key), "the key is never shown again");
    assert!(html.contains("Shop publisher"));
    assert!(html.contains(&format!("<code>{}…</code>", &key[..11])));
    assert!(html.contains("Read posts, Publish posts"), "{html}");
    assert!(html.contains("Never"), "not used yet");

    let (status, _) = parts(
        app.client
            .get(app.url("/v1/posts"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the key works on the API");

    let revoke = first_revoke_path(&html).expect("a revoke form");
    let forged = post_page(&app, &revoke, &browser.cookie, &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let response = post_page(&app, &revoke, &browser.cookie, &[("csrf_token", &token)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/settings/api-keys?revoked");
    let (_, html, _) = get_page(&app, "/settings/api-keys?revoked", &browser.cookie).await;
    assert!(html.contains("The key no longer works."));
    assert!(html.contains("You have no API keys."));
    let (status, body) = parts(
        app.client
            .get(app.url("/v1/posts"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_api_key")
    );
    let again = post_page(&app, &revoke, &browser.cookie, &[("csrf_token", &token)]).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_forged_or_bad_form_makes_no_key_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (_, _, token) = get_page(&app, PAGE, &browser.cookie).await;

    let forged = create(
        &app,
        &browser,
        "not-the-token",
        &[("name", "Sneaky"), ("read", "on")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let html = forged.text().await.unwrap();
    assert!(shown_key(&html).is_none());
    assert!(html.contains("value=\"Sneaky\""), "the typed name is kept");

    let bad = create(
        &app,
        &browser,
        &token,
        &[("name", "Blind"), ("publish", "on")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("&#34;Publish posts&#34; needs &#34;Read posts&#34;"),
        "{html}"
    );
    assert!(html.contains("value=\"Blind\""));
    let none = create(&app, &browser, &token, &[("name", "")]).await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    let html = none.text().await.unwrap();
    assert!(html.contains("Give the key a name."));
    assert!(html.contains("Choose at least one permission."));
    let count = app.db.strings("SELECT id FROM api_keys".to_owned()).await;
    assert!(count.is_empty(), "no key was made: {count:?}");
}

#[tokio::test]
async fn the_page_speaks_turkish_to_a_turkish_account() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (_, _, token) = get_page(&app, "/settings", &browser.cookie).await;
    let saved = post_page(
        &app,
        "/settings/preferences",
        &browser.cookie,
        &[
            ("csrf_token", &token),
            ("language", "tr"),
            ("theme", "system"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (status, html, token) = get_page(&app, PAGE, &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("API anahtarları"), "{html}");
    assert!(html.contains("Hiç API anahtarınız yok."));
    let response = create(
        &app,
        &browser,
        &token,
        &[("name", "Mağaza"), ("write", "on")],
    )
    .await;
    let html = response.text().await.unwrap();
    assert!(html.contains("Yeni anahtarınız"));
    assert!(shown_key(&html).is_some());
}
