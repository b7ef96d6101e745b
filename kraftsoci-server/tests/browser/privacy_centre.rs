//! The privacy centre in a real browser: in Turkish, pause publishing and see the request
//! listed; in English, download the export with the browser's session and close the account,
//! which signs the browser out.

use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::Value;

use crate::harness::{Browser, Language, click, fill, open, screenshot, sign_in, text, wait_for};
use crate::helpers::{PASSWORD, spawn_app};
use crate::posts::owner_with_account;

#[tokio::test]
async fn a_turkish_owner_pauses_publishing_and_sees_the_request_listed() {
    let app = spawn_app().await;
    owner_with_account(&app, "ayse@example.com", "tr").await;
    let base = app.address.clone();
    Browser::run(Language::Turkish, |browser| async move {
        sign_in(&browser, &base, "ayse@example.com", PASSWORD).await;
        open(
            &browser,
            &format!("{base}/privacy"),
            "form[action='/privacy/choices']",
        )
        .await;
        assert_eq!(text(&browser, "h1").await, "Gizlilik merkeziniz");
        assert!(
            text(&browser, "main")
                .await
                .contains("Kişisel Verileri Koruma Kurulu")
        );
        click(&browser, "#publishing").await;
        click(
            &browser,
            "form[action='/privacy/choices'] button[type=submit]",
        )
        .await;
        wait_for(&browser, ".alert--done").await;
        assert!(
            text(&browser, ".alert")
                .await
                .contains("Seçimler kaydedildi")
        );
        assert!(text(&browser, "table").await.contains("Kısıtlama"));
        screenshot(&browser, "privacy-centre-tr", 1280).await;
        screenshot(&browser, "privacy-centre-tr-mobile", 390).await;
    })
    .await;
}

#[tokio::test]
async fn an_owner_downloads_the_export_and_closes_the_account() {
    let app = spawn_app().await;
    owner_with_account(&app, "ada@example.com", "en").await;
    let base = app.address.clone();
    let client = app.client.clone();
    Browser::run(Language::English, |browser| async move {
        sign_in(&browser, &base, "ada@example.com", PASSWORD).await;
        open(
            &browser,
            &format!("{base}/privacy"),
            "a[href='/privacy/export']",
        )
        .await;
        screenshot(&browser, "privacy-centre-en", 1280).await;

        // The download link, fetched with this browser's own session.
        let session = browser.get_named_cookie("kraftsoci-session").await.unwrap();
        let export = client
            .get(format!("{base}/privacy/export"))
            .header(COOKIE, format!("kraftsoci-session={}", session.value()))
            .send()
            .await
            .unwrap();
        assert_eq!(export.status(), StatusCode::OK);
        let export: Value = export.json().await.unwrap();
        assert_eq!(export["format"], "kraftsoci.export.v1");

        // Closing without the ticked box is refused next to it; with it, the account closes.
        fill(&browser, "password", PASSWORD).await;
        browser
            .execute(
                "document.getElementById('confirm').removeAttribute('required');",
                vec![],
            )
            .await
            .unwrap();
        click(
            &browser,
            "form[action='/privacy/close'] button[type=submit]",
        )
        .await;
        wait_for(&browser, "#confirm-error").await;
        fill(&browser, "password", PASSWORD).await;
        click(&browser, "#confirm").await;
        click(
            &browser,
            "form[action='/privacy/close'] button[type=submit]",
        )
        .await;
        wait_for(&browser, ".card--done").await;
        assert_eq!(text(&browser, "h1").await, "Your account is closed");
        screenshot(&browser, "privacy-closed-en", 1280).await;
        assert!(browser.get_named_cookie("kraftsoci-session").await.is_err());
        browser.goto(&format!("{base}/posts")).await.unwrap();
        assert_eq!(browser.current_url().await.unwrap().path(), "/sign-in");
    })
    .await;
}
