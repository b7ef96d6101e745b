//! The settings pages that only had HTTP tests, in a real browser and in both languages:
//! notification choices (one changed and saved; a mandatory one cannot be turned off, not
//! even by a page whose `disabled` was removed), webhooks (an endpoint at a local receiver,
//! its secret shown once, its deliveries, deleted) and API keys (shown once, listed by
//! prefix, revoked).

use std::time::Duration;

use fantoccini::{Client, Locator};
use kraftsoci_core::UserId;
use kraftsoci_core::billing::QuotaKind;
use kraftsoci_server::notify::{Dispatcher, Event, Notifier};
use reqwest::StatusCode;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Browser, Language, click, fill, open, screenshot, sign_up, text, wait_for};
use crate::helpers::{PASSWORD, TestApp, parts, spawn_app};
use crate::web_session::ensure_policy;

const LANGUAGES: [Language; 2] = [Language::English, Language::Turkish];

/// Waits (up to 30 s) until the browser is at `path_and_query`.
async fn arrived(client: &Client, path_and_query: &str) {
    for _ in 0..300 {
        let url = client.current_url().await.unwrap();
        let here = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        if here == path_and_query {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser never reached {path_and_query}");
}

/// The API's view of `email`: its access token and `GET /v1/me`.
async fn me(app: &TestApp, email: &str) -> (String, Value) {
    let (status, body) = parts(app.login(email, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (_, me) = parts(app.get_me(&access).await).await;
    (access, me)
}

async fn checkbox(client: &Client, name: &str) -> (bool, bool) {
    let input = client
        .find(Locator::Css(&format!("input[name='{name}']")))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (
        input.is_selected().await.unwrap(),
        input.is_enabled().await.unwrap(),
    )
}

#[tokio::test]
async fn a_notification_choice_is_saved_and_a_mandatory_one_cannot_be_turned_off() {
    let app = spawn_app().await;
    ensure_policy(&app).await;
    for language in LANGUAGES {
        let email = format!("notify-{}@example.com", language.tag());
        let base = app.address.clone();
        let who = email.clone();
        Browser::run(language, |browser| async move {
            sign_up(&browser, &base, &who, PASSWORD).await;
            open(
                &browser,
                &format!("{base}/settings/notifications"),
                "form[action='/settings/notifications']",
            )
            .await;
            assert_eq!(checkbox(&browser, "published_mail").await, (true, true));
            assert_eq!(
                checkbox(&browser, "security_mail").await,
                (true, false),
                "security notices are on and cannot be changed"
            );
            screenshot(
                &browser,
                &format!("settings-notifications-{}", language.tag()),
                1280,
            )
            .await;
            click(&browser, "input[name='published_mail']").await;
            // A page tampered with: the mandatory box enabled and cleared.
            browser
                .execute(
                    "const box = document.querySelector(\"input[name='security_mail']\"); \
                     box.disabled = false; box.checked = false;",
                    vec![],
                )
                .await
                .unwrap();
            click(
                &browser,
                "form[action='/settings/notifications'] button[type=submit]",
            )
            .await;
            arrived(&browser, "/settings/notifications?saved=preferences").await;
            wait_for(&browser, ".alert").await;
            assert_eq!(checkbox(&browser, "published_mail").await, (false, true));
            assert_eq!(checkbox(&browser, "security_mail").await, (true, false));
            assert_eq!(checkbox(&browser, "published_in_app").await, (true, true));
        })
        .await;
        let (_, me) = me(&app, &email).await;
        let choices = &me["preferences"]["notifications"];
        assert_eq!(choices["published"]["mail"], false, "{me}");
        assert_eq!(choices["published"]["in_app"], true, "{me}");
        assert_eq!(choices["security"]["mail"], true, "{me}");
    }
}

#[tokio::test]
async fn a_webhook_is_added_its_secret_shown_once_its_delivery_listed_and_it_is_deleted() {
    let app = spawn_app().await;
    ensure_policy(&app).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/kraftsoci"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .named("one delivery per owner")
        .mount(&receiver)
        .await;
    let hook = format!("{}/hooks/kraftsoci", receiver.uri());
    for language in LANGUAGES {
        let email = format!("hooks-{}@example.com", language.tag());
        let base = app.address.clone();
        let (who, url, server) = (email.clone(), hook.clone(), &app);
        Browser::run(language, |browser| async move {
            sign_up(&browser, &base, &who, PASSWORD).await;
            open(
                &browser,
                &format!("{base}/settings/notifications"),
                "form[action='/settings/webhooks']",
            )
            .await;
            fill(&browser, "url", &url).await;
            click(&browser, "#event-quota_100").await;
            click(
                &browser,
                "form[action='/settings/webhooks'] button[type=submit]",
            )
            .await;
            let secret = wait_for(&browser, "#webhook-secret")
                .await
                .text()
                .await
                .unwrap();
            assert!(secret.starts_with("whsec_"), "{secret}");
            screenshot(
                &browser,
                &format!("settings-webhook-secret-{}", language.tag()),
                1280,
            )
            .await;
            // Shown once: the page again has the endpoint, not the secret.
            open(
                &browser,
                &format!("{base}/settings/notifications"),
                "form[action='/settings/webhooks']",
            )
            .await;
            let source = browser.source().await.unwrap();
            assert!(source.contains(&url));
            assert!(!source.contains(&secret), "the secret is never shown again");

            // An event for the owner is delivered to the receiver.
            let (_, me) = me(server, &who).await;
            let owner = UserId::from_uuid(me["id"].as_str().unwrap().parse().unwrap());
            let event =
                Event::quota(owner, QuotaKind::Posts, 10, 10, server.state.clock.now()).unwrap();
            Notifier::new(&server.state.stores, server.state.clock.clone())
                .record(&event)
                .await
                .unwrap();
            let report = Dispatcher::new(kraftsoci_server::dispatch_deps(&server.state))
                .run_once()
                .await
                .unwrap();
            assert_eq!(report.deliveries_succeeded, 1);

            click(&browser, "a[href^='/settings/webhooks/']").await;
            wait_for(&browser, "table").await;
            let table = text(&browser, "table").await;
            let (event_label, delivered) = match language {
                Language::English => ("Allowance used up", "Delivered"),
                Language::Turkish => ("Hak tükendi", "Teslim edildi"),
            };
            assert!(table.contains(event_label), "{table}");
            assert!(table.contains(delivered), "{table}");
            assert!(table.contains("204"), "{table}");
            screenshot(
                &browser,
                &format!("settings-webhook-deliveries-{}", language.tag()),
                1280,
            )
            .await;

            open(
                &browser,
                &format!("{base}/settings/notifications"),
                "form[action='/settings/webhooks']",
            )
            .await;
            click(&browser, "form[action$='/delete'] button[type=submit]").await;
            arrived(&browser, "/settings/notifications?saved=deleted").await;
            wait_for(&browser, ".alert").await;
            assert!(!browser.source().await.unwrap().contains(&url));
        })
        .await;
    }
    receiver.verify().await;
}

#[tokio::test]
async fn an_api_key_is_shown_once_listed_by_its_prefix_and_revoked() {
    let app = spawn_app().await;
    ensure_policy(&app).await;
    for language in LANGUAGES {
        let email = format!("keys-{}@example.com", language.tag());
        let base = app.address.clone();
        let (who, server) = (email.clone(), &app);
        Browser::run(language, |browser| async move {
            sign_up(&browser, &base, &who, PASSWORD).await;
            open(
                &browser,
                &format!("{base}/settings/api-keys"),
                "form[action='/settings/api-keys']",
            )
            .await;
            fill(&browser, "name", "Zapier").await;
            click(&browser, "#scope-read").await;
            click(
                &browser,
                "form[action='/settings/api-keys'] button[type=submit]",
            )
            .await;
            let key = wait_for(&browser, "#new-key")
                .await
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default();
            assert!(kraftsoci_server::api_keys::is_api_key(&key), "{key}");
            screenshot(
                &browser,
                &format!("settings-api-key-created-{}", language.tag()),
                1280,
            )
            .await;
            // The key works.
            let listed = server
                .client
                .get(server.url("/v1/posts"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(listed.status(), StatusCode::OK);

            // Shown once: the list has its prefix only.
            open(
                &browser,
                &format!("{base}/settings/api-keys"),
                "form[action='/settings/api-keys']",
            )
            .await;
            let source = browser.source().await.unwrap();
            assert!(!source.contains(&key), "the key is never shown again");
            let prefix = &key[..kraftsoci_server::api_keys::VISIBLE_PREFIX_LEN];
            assert!(text(&browser, "table").await.contains(prefix));
            screenshot(
                &browser,
                &format!("settings-api-keys-{}", language.tag()),
                1280,
            )
            .await;

            click(&browser, "form[action$='/revoke'] button[type=submit]").await;
            arrived(&browser, "/settings/api-keys?revoked").await;
            wait_for(&browser, ".alert").await;
            assert!(!browser.source().await.unwrap().contains(prefix));
            let refused = server
                .client
                .get(server.url("/v1/posts"))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        })
        .await;
    }
}
