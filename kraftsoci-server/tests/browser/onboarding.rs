//! A new owner's first steps in a real browser, in Turkish and in English: sign up, describe
//! the business, connect the sandbox Instagram account, change settings, look at billing —
//! with nothing loaded from another origin and no policy violation along the way.

use fantoccini::Client;

use crate::harness::{
    Browser, Language, click, fill, left, log, network, open, screenshot, sign_up, text, wait_for,
};
use crate::helpers::{PASSWORD, TestApp, spawn_app};
use crate::web_session::ensure_policy;

/// The browser's cookies as a `Cookie` header (for the one request a test makes outside it).
async fn cookie_header(browser: &Client) -> String {
    browser
        .get_all_cookies()
        .await
        .unwrap()
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Connects the sandbox account: the app's "connect" link issues the state and points at the
/// callback; the test server's public URL is not its real address, so the browser is sent to
/// the same callback on the test server (as Meta's redirect would).
async fn connect_sandbox(browser: &Client, app: &TestApp) -> String {
    let response = app
        .client
        .get(app.url("/onboarding/instagram/start"))
        .header("cookie", cookie_header(browser).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let callback = format!(
        "{}{}?{}",
        app.address,
        location.path(),
        location.query().unwrap()
    );
    browser.goto(&callback).await.unwrap();
    left(browser, "/v1/instagram/callback").await
}

/// Chromium's console holds no policy refusal.
async fn no_policy_violation(browser: &Client) {
    let console = log(browser, "browser").await;
    let refused: Vec<_> = console
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("Content Security Policy") || m.contains("Refused"))
        })
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}

async fn first_steps(language: Language, email: &'static str) {
    let app = spawn_app().await;
    ensure_policy(&app).await;
    let base = app.address.clone();
    let suffix = language.tag();
    let app = &app;
    Browser::run(language, |browser| async move {
        browser.goto("about:blank").await.unwrap();
        network(&browser).await;
        let mut seen = Vec::new();

        assert_eq!(
            sign_up(&browser, &base, email, PASSWORD).await,
            "/onboarding"
        );
        wait_for(&browser, "form[action='/onboarding']").await;
        let turkish = suffix == "tr";
        assert_eq!(
            text(&browser, "h1").await,
            if turkish {
                "Bize işletmenizden bahsedin"
            } else {
                "Tell us about your business"
            }
        );
        // The signed-in navigation, in the account's language.
        let nav = text(&browser, "nav.app-nav").await;
        assert!(
            nav.contains(if turkish { "Gönderiler" } else { "Posts" }),
            "{nav}"
        );
        fill(
            &browser,
            "description",
            "Kadıköy'de aile fırını: simit, poğaça ve ekşi maya ekmek.",
        )
        .await;
        fill(
            &browser,
            "target_audience",
            "Mahalle sakinleri ve sabah işe gidenler",
        )
        .await;
        fill(
            &browser,
            "tone",
            if turkish {
                "sıcak ve samimi"
            } else {
                "warm and playful"
            },
        )
        .await;
        screenshot(&browser, &format!("onboarding-profile-{suffix}"), 1280).await;
        click(&browser, "form[action='/onboarding'] button[type=submit]").await;
        assert_eq!(left(&browser, "/onboarding").await, "/onboarding/instagram");
        wait_for(&browser, "a#connect").await;
        assert!(text(&browser, "main").await.contains(if turkish {
            "Deneme modu: Instagram'a hiçbir şey gitmez."
        } else {
            "Sandbox mode: nothing reaches Instagram."
        }));
        screenshot(&browser, &format!("onboarding-instagram-{suffix}"), 1280).await;
        let (requests, _) = network(&browser).await;
        seen.extend(requests);

        let landed = connect_sandbox(&browser, app).await;
        assert_eq!(landed, "/onboarding/instagram?connected=1&without=0");
        wait_for(&browser, ".alert--done").await;
        assert!(text(&browser, ".alert").await.contains(if turkish {
            "Instagram hesabınız bağlandı"
        } else {
            "Your Instagram account is connected"
        }));
        assert!(
            text(&browser, ".account-list")
                .await
                .contains("Sandbox Page")
        );
        screenshot(&browser, &format!("onboarding-connected-{suffix}"), 1280).await;
        // The callback's own request went to the test server (the test sent the browser
        // there); the rest of the record is the pages'.
        network(&browser).await;

        open(
            &browser,
            &format!("{base}/settings"),
            "form[action='/settings/account']",
        )
        .await;
        screenshot(&browser, &format!("settings-{suffix}"), 1280).await;
        click(&browser, "#theme-dark").await;
        click(
            &browser,
            "form[action='/settings/preferences'] button[type=submit]",
        )
        .await;
        wait_for(&browser, "html[data-theme=dark]").await;
        assert!(text(&browser, ".alert").await.contains(if turkish {
            "Dil ve tema tercihiniz kaydedildi."
        } else {
            "Your language and theme were saved."
        }));
        screenshot(&browser, &format!("settings-dark-{suffix}"), 1280).await;

        open(&browser, &format!("{base}/billing"), "meter").await;
        assert!(text(&browser, "main").await.contains(if turkish {
            "Bu sunucuda ödeme kurulmadı"
        } else {
            "Payments are not set up on this server"
        }));
        screenshot(&browser, &format!("billing-{suffix}"), 1280).await;
        screenshot(&browser, &format!("billing-{suffix}-mobile"), 390).await;
        let (requests, _) = network(&browser).await;
        seen.extend(requests);

        for request in &seen {
            assert!(
                request.url.starts_with(&format!("{base}/")) || request.url == "about:blank",
                "a request left for another origin: {}",
                request.url
            );
        }
        no_policy_violation(&browser).await;
    })
    .await;
}

#[tokio::test]
async fn a_turkish_owner_signs_up_describes_the_business_connects_and_sets_up() {
    first_steps(Language::Turkish, "ayse@example.com").await;
}

#[tokio::test]
async fn an_english_owner_signs_up_describes_the_business_connects_and_sets_up() {
    first_steps(Language::English, "ada@example.com").await;
}

#[tokio::test]
async fn a_form_posted_without_its_token_is_refused_in_the_browser() {
    let app = spawn_app().await;
    ensure_policy(&app).await;
    let base = app.address.clone();
    Browser::run(Language::Turkish, |browser| async move {
        sign_up(&browser, &base, "ayse@example.com", PASSWORD).await;
        open(&browser, &format!("{base}/settings"), "form[action='/settings/account']").await;
        browser
            .execute(
                "document.querySelector(\"form[action='/settings/account'] input[name=csrf_token]\").remove();",
                vec![],
            )
            .await
            .unwrap();
        fill(&browser, "name", "Mallory").await;
        click(&browser, "form[action='/settings/account'] button[type=submit]").await;
        wait_for(&browser, ".alert--danger").await;
        assert!(text(&browser, ".alert").await.contains("Form kabul edilmedi"));
        // Nothing changed: the stored name is still the one signed up with.
        open(&browser, &format!("{base}/settings"), "#name").await;
        let name = browser
            .find(fantoccini::Locator::Id("name"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("Ayşe Yılmaz"));
    })
    .await;
}
