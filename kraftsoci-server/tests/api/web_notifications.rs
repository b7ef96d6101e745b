//! Notification and webhook settings in the web app over HTTP: every form needs its CSRF
//! token, the choices reach `GET /v1/me`, an endpoint's secret is shown once.

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::helpers::{PASSWORD, TestApp, parts, spawn_app};
use crate::web_session::{browser_sign_up, get_page, post_page};

async fn me(app: &TestApp, email: &str) -> serde_json::Value {
    let (status, body) = parts(app.login(email, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    parts(app.get_me(body["access_token"].as_str().unwrap()).await)
        .await
        .1
}

#[tokio::test]
async fn notification_choices_are_saved_from_the_web_page_and_need_the_form_token() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (status, html, token) = get_page(&app, "/settings/notifications", &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Notifications and webhooks"));
    assert!(html.contains("name=\"published_mail\""));
    assert!(
        html.contains("name=\"security_mail\""),
        "shown, but cannot be changed"
    );

    let forged = post_page(
        &app,
        "/settings/notifications",
        &browser.cookie,
        &[("time_zone", "Europe/Berlin"), ("published_in_app", "on")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        me(&app, "ada@example.com").await["preferences"]["time_zone"],
        "UTC"
    );

    let bad_zone = post_page(
        &app,
        "/settings/notifications",
        &browser.cookie,
        &[("csrf_token", &token), ("time_zone", "Mars/Olympus")],
    )
    .await;
    assert_eq!(bad_zone.status(), StatusCode::BAD_REQUEST);

    let saved = post_page(
        &app,
        "/settings/notifications",
        &browser.cookie,
        &[
            ("csrf_token", &token),
            ("time_zone", "Europe/Berlin"),
            ("published_in_app", "on"),
            ("quota_80_mail", "on"),
            ("quota_80_in_app", "on"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        saved.headers()[LOCATION],
        "/settings/notifications?saved=preferences"
    );
    let account = me(&app, "ada@example.com").await;
    let preferences = &account["preferences"];
    assert_eq!(preferences["time_zone"], "Europe/Berlin");
    assert_eq!(preferences["notifications"]["published"]["mail"], false);
    assert_eq!(preferences["notifications"]["published"]["in_app"], true);
    assert_eq!(
        preferences["notifications"]["publish_failed"]["in_app"],
        false
    );
    assert_eq!(preferences["notifications"]["quota_80"]["mail"], true);
    assert_eq!(
        preferences["notifications"]["security"]["mail"], true,
        "mandatory"
    );
}

#[tokio::test]
async fn a_webhook_is_added_with_its_secret_shown_once_and_deleted_from_the_web_page() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (_, _, token) = get_page(&app, "/settings/notifications", &browser.cookie).await;
    let url = "http://127.0.0.1:9/hooks/kraftsoci";

    let forged = post_page(
        &app,
        "/settings/webhooks",
        &browser.cookie,
        &[("url", url), ("event_published", "on")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let no_events = post_page(
        &app,
        "/settings/webhooks",
        &browser.cookie,
        &[("csrf_token", &token), ("url", url)],
    )
    .await;
    assert_eq!(no_events.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let added = post_page(
        &app,
        "/settings/webhooks",
        &browser.cookie,
        &[
            ("csrf_token", &token),
            ("url", url),
            ("event_published", "on"),
        ],
    )
    .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let html = added.text().await.unwrap();
    assert!(html.contains("whsec_"), "the secret, this once");
    let (_, again, _) = get_page(&app, "/settings/notifications", &browser.cookie).await;
    assert!(again.contains(url));
    assert!(!again.contains("whsec_"), "never again");

    let id = again
        .split("/settings/webhooks/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let (status, deliveries, _) =
        get_page(&app, &format!("/settings/webhooks/{id}"), &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(deliveries.contains("Nothing has been sent to this endpoint yet."));
    let deleted = post_page(
        &app,
        &format!("/settings/webhooks/{id}/delete"),
        &browser.cookie,
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        deleted.headers()[LOCATION],
        "/settings/notifications?saved=deleted"
    );
    let (_, after, _) = get_page(
        &app,
        "/settings/notifications?saved=deleted",
        &browser.cookie,
    )
    .await;
    assert!(!after.contains(url));
    assert!(after.contains("The endpoint is deleted."));
}
