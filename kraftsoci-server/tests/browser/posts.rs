//! Posts in a real browser against the sandbox (the fake Graph API of the test server):
//! generate from a topic, see the preview as Instagram will show it, have the old Publish
//! form refused after an edit elsewhere, publish and watch the page follow the status to the
//! permalink; in Turkish, schedule and withdraw from the calendar.

use std::sync::Arc;

use async_trait::async_trait;
use kraftsoci_core::ports::{GeneratedImage, GenerationError, GenerationRequest, ImageGenerator};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::harness::{
    Browser, Language, click, fill, left, network, open, screenshot, sign_in, text, wait_for,
};
use crate::helpers::{PASSWORD, TestApp, parts, spawn_app, spawn_app_built};

/// The public URL test servers hand out links under.
const PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// Signs `email` up over the API with a profile and the sandbox account connected; returns
/// the API access token and the connection's id.
pub async fn owner_with_account(app: &TestApp, email: &str, language: &str) -> (String, String) {
    let user = app.signup_user(email).await;
    let profile = json!({
        "description": "A family bakery in Kadıköy baking simit and sourdough since 1982",
        "target_audience": "Neighbours and morning commuters",
        "tone": "warm and friendly",
        "sector": "bakery",
        "language": language,
    });
    let (status, body) = parts(app.put_profile(&user.access, &profile).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = app
        .patch_me(
            &user.access,
            &json!({"preferences": {"language": language}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let start: Value = app
        .client
        .post(app.url("/v1/instagram/connect"))
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let authorize = start["authorize_url"].as_str().unwrap();
    let local = format!(
        "{}{}",
        app.address,
        authorize.strip_prefix(PUBLIC_URL).unwrap()
    );
    let connected: Value = app
        .client
        .get(local)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account = connected["accounts"][0]["id"].as_str().unwrap().to_owned();
    (user.access, account)
}

/// The value of `#id` on the page.
async fn value_of(browser: &fantoccini::Client, css: &str) -> String {
    browser
        .find(fantoccini::Locator::Css(css))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The offline image generator behind a gate the test opens: the post stays at `drawing`
/// until the browser has shown the progress.
struct Gated {
    gate: Arc<Semaphore>,
    inner: kraftsoci_ai::OfflineGenerator,
}

#[async_trait]
impl ImageGenerator for Gated {
    async fn generate_image(
        &self,
        request: &GenerationRequest,
        image_prompt: &str,
    ) -> Result<GeneratedImage, GenerationError> {
        let _pass = self.gate.acquire().await.expect("the gate stays open");
        self.inner.generate_image(request, image_prompt).await
    }
}

#[tokio::test]
async fn an_owner_generates_sees_a_stale_publish_refused_publishes_and_reaches_the_permalink() {
    let gate = Arc::new(Semaphore::new(0));
    let images = Arc::new(Gated {
        gate: Arc::clone(&gate),
        inner: kraftsoci_ai::OfflineGenerator::new(),
    });
    let app = spawn_app_built(
        |config| {
            config.worker.enabled = true;
            config.worker.poll_interval = std::time::Duration::from_millis(20);
        },
        move |builder| builder.images(images),
    )
    .await;
    let (access, _) = owner_with_account(&app, "ada@example.com", "en").await;
    let base = app.address.clone();
    let client = app.client.clone();
    Browser::run(Language::English, |browser| async move {
        browser.goto("about:blank").await.unwrap();
        network(&browser).await;
        assert_eq!(
            sign_in(&browser, &base, "ada@example.com", PASSWORD).await,
            "/posts"
        );
        wait_for(&browser, ".empty-state").await;
        screenshot(&browser, "posts-empty-en", 1280).await;

        click(&browser, ".empty-state a.button").await;
        wait_for(&browser, "form[action='/posts/new']").await;
        fill(
            &browser,
            "topic",
            "Our new pistachio baklava, only this weekend",
        )
        .await;
        screenshot(&browser, "post-new-en", 1280).await;
        click(&browser, "form[action='/posts/new'] button[type=submit]").await;
        let landed = left(&browser, "/posts/new").await;
        // The post is being generated: the page follows its steps live (posts.js on the event
        // stream) while the image is drawn, and shows the preview by itself once it is ready.
        wait_for(&browser, "#generation").await;
        assert_eq!(text(&browser, "#post-status").await, "Being written");
        let mut step = String::new();
        for _ in 0..300 {
            step = text(&browser, "#generation-step").await;
            if step == "Drawing the image…" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(step, "Drawing the image…");
        screenshot(&browser, "post-generating-en", 1280).await;
        gate.add_permits(1);
        wait_for(&browser, ".ig-post img.ig-image").await;
        assert!(
            browser
                .find(fantoccini::Locator::Css("#generation"))
                .await
                .is_err(),
            "the progress is gone once the post is ready"
        );
        assert_eq!(text(&browser, ".ig-account").await, "Sandbox Page");
        screenshot(&browser, "post-preview-en", 1280).await;
        screenshot(&browser, "post-preview-en-mobile", 390).await;

        // The caption folds under "… more" until opened, without any script.
        let id = landed
            .strip_prefix("/posts/")
            .and_then(|r| r.split('?').next())
            .unwrap()
            .to_owned();
        let shown = value_of(
            &browser,
            "form[action$='/publish'] input[name=content_hash]",
        )
        .await;

        // Another tab (here: the API) changes the caption after this page was rendered.
        let edited = client
            .patch(format!("{base}/v1/posts/{id}"))
            .bearer_auth(&access)
            .json(&json!({"caption": "Pistachio baklava, baked at dawn in Kadıköy."}))
            .send()
            .await
            .unwrap();
        assert_eq!(edited.status(), StatusCode::OK);

        click(
            &browser,
            "form[action$='/publish']:not(.schedule-form) button[type=submit]",
        )
        .await;
        wait_for(&browser, ".alert--danger").await;
        assert!(
            text(&browser, ".alert")
                .await
                .contains("The post changed since you opened this page")
        );
        assert!(
            text(&browser, ".ig-caption")
                .await
                .contains("Pistachio baklava, baked at dawn in Kadıköy.")
        );
        let current = value_of(
            &browser,
            "form[action$='/publish'] input[name=content_hash]",
        )
        .await;
        assert_ne!(current, shown);
        screenshot(&browser, "post-stale-en", 1280).await;

        // Publishing what is shown now: the receipt, then the page follows the status by
        // itself (posts.js reloads it) until the post is live.
        click(
            &browser,
            "form[action$='/publish']:not(.schedule-form) button[type=submit]",
        )
        .await;
        wait_for(&browser, "#receipt-heading").await;
        let permalink = wait_for(&browser, "#published-heading ~ p a.button").await;
        let href = permalink.attr("href").await.unwrap().unwrap();
        assert!(href.contains("/sandbox/instagram/sandbox-"), "{href}");
        assert!(text(&browser, "#post-status").await.contains("Published"));
        screenshot(&browser, "post-published-en", 1280).await;

        let (requests, _) = network(&browser).await;
        assert!(!requests.is_empty());
        // `data:` URLs are the browser's own widgets (the date field's calendar icon): they
        // never leave the machine.
        for request in requests.iter().filter(|r| !r.url.starts_with("data:")) {
            assert!(
                request.url.starts_with(&format!("{base}/")),
                "a request left for another origin: {}",
                request.url
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_turkish_owner_schedules_a_post_and_withdraws_it_from_the_calendar() {
    let app = spawn_app().await;
    let (access, _) = owner_with_account(&app, "ayse@example.com", "tr").await;
    let (status, post) = parts(
        app.client
            .post(app.url("/v1/posts"))
            .bearer_auth(&access)
            .json(&json!({"topic": "Yılbaşı pastaları için siparişler başladı"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{post}");
    let id = post["id"].as_str().unwrap().to_owned();
    app.run_generation().await;
    let istanbul = chrono_tz::Europe::Istanbul;
    let tomorrow_day =
        (app.state.clock.now().with_timezone(&istanbul) + chrono::Duration::days(1)).date_naive();
    let tomorrow = tomorrow_day.format("%Y-%m-%d").to_string();
    let base = app.address.clone();
    let shown_id = id.clone();
    let (server, token) = (&app, &access);
    Browser::run(Language::Turkish, |browser| async move {
        let id = shown_id;
        assert_eq!(
            sign_in(&browser, &base, "ayse@example.com", PASSWORD).await,
            "/posts"
        );
        wait_for(&browser, ".post-list").await;
        assert_eq!(text(&browser, "h1").await, "Gönderileriniz");
        screenshot(&browser, "posts-tr", 1280).await;

        open(&browser, &format!("{base}/posts/{id}"), ".ig-post").await;
        assert!(text(&browser, "main").await.contains("Şimdi yayınla"));
        screenshot(&browser, "post-preview-tr", 1280).await;
        // The schedule field is the page's, not the browser's widget: an English browser on a
        // Turkish page is asked for GG.AA.YYYY SS:DD.
        let field = browser
            .find(fantoccini::Locator::Id("scheduled_for"))
            .await
            .unwrap();
        assert_eq!(field.attr("type").await.unwrap().as_deref(), Some("text"));
        assert_eq!(
            field.attr("placeholder").await.unwrap().as_deref(),
            Some("GG.AA.YYYY SS:DD")
        );
        // A date that does not exist: the page says how to write one and keeps what was typed.
        let bad = format!("31.02.{} 09:30", tomorrow_day.format("%Y"));
        fill(&browser, "scheduled_for", &bad).await;
        click(&browser, ".schedule-form button[type=submit]").await;
        wait_for(&browser, "#scheduled_for-error").await;
        assert!(
            text(&browser, "#scheduled_for-error")
                .await
                .contains("GG.AA.YYYY SS:DD biçiminde"),
        );
        let kept = browser
            .find(fantoccini::Locator::Id("scheduled_for"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some(bad.as_str()));
        screenshot(&browser, "post-schedule-error-tr", 1280).await;
        let typed = format!("{} 09:30", tomorrow_day.format("%d.%m.%Y"));
        fill(&browser, "scheduled_for", &typed).await;
        click(&browser, ".schedule-form button[type=submit]").await;
        wait_for(&browser, "#receipt-heading").await;
        assert!(text(&browser, "#post-status").await.contains("Zamanlandı"));
        assert!(text(&browser, ".alert").await.contains("Zamanlandı"));
        screenshot(&browser, "post-scheduled-tr", 1280).await;
        // 09:30 in Istanbul is 06:30 UTC.
        let (status, receipt) = parts(
            server
                .client
                .get(server.url(&format!("/v1/posts/{id}/consent")))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{receipt}");
        let stored = tomorrow_day.and_hms_opt(6, 30, 0).unwrap().and_utc();
        assert_eq!(
            receipt["scheduled_for"],
            stored
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .as_str()
        );

        open(
            &browser,
            &format!("{base}/calendar?week={tomorrow}"),
            ".calendar",
        )
        .await;
        assert_eq!(text(&browser, "h1").await, "Takvim");
        assert!(text(&browser, ".calendar").await.contains("09:30"));
        screenshot(&browser, "calendar-tr", 1280).await;
        click(
            &browser,
            &format!("form[action='/posts/{id}/withdraw'] button"),
        )
        .await;
        // Back on the same week, without the post.
        for _ in 0..300 {
            let html = browser.source().await.unwrap();
            if !html.contains(&format!("/posts/{id}/withdraw")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let url = browser.current_url().await.unwrap();
        assert_eq!(url.path(), "/calendar");
        assert!(
            !browser
                .source()
                .await
                .unwrap()
                .contains(&format!("/posts/{id}\""))
        );
    })
    .await;
    let (status, post) = parts(
        app.client
            .get(app.url(&format!("/v1/posts/{id}")))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(post["status"], "ready", "{post}");
}
