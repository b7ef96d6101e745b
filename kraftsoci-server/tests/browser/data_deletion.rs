//! `/data-deletion` in both languages: reading it, the form's errors, the language switch,
//! CSRF, and closing an account.

use fantoccini::Locator;
use reqwest::StatusCode;

use crate::harness::{
    Browser, Language, click, fill, open, prefer_dark, screenshot, text, wait_for,
};
use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn an_english_reader_closes_the_account_from_the_deletion_page() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let url = app.url("/data-deletion");
    Browser::run(Language::English, |browser| async move {
        open(&browser, &url, "form[method=post]").await;
        assert_eq!(text(&browser, "h1").await, "Delete your kraftsoci account");
        let lang = browser
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap();
        assert_eq!(lang.as_deref(), Some("en"));
        assert!(text(&browser, "main").await.contains("Within 30 days"));
        // The script is there: the password field has its Show button.
        let reveal = wait_for(&browser, "button[data-reveal=password]").await;
        assert!(reveal.is_displayed().await.unwrap());
        screenshot(&browser, "data-deletion-en", 1280).await;

        fill(&browser, "email", "ada@example.com").await;
        fill(&browser, "password", PASSWORD).await;
        click(&browser, "button.button--danger").await;
        wait_for(&browser, "h1#closed").await;
        assert_eq!(text(&browser, "h1").await, "Your account is closed");
        screenshot(&browser, "data-deletion-closed-en", 1280).await;
    })
    .await;
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_turkish_reader_sees_the_page_and_its_errors_in_turkish_with_the_email_kept() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let url = app.url("/data-deletion");
    Browser::run(Language::Turkish, |browser| async move {
        open(&browser, &url, "form[method=post]").await;
        assert_eq!(text(&browser, "h1").await, "kraftsoci hesabınızı silin");
        assert!(text(&browser, "main").await.contains("30 gün içinde"));
        assert_eq!(text(&browser, ".lang-current").await, "Türkçe");
        screenshot(&browser, "data-deletion-tr", 1280).await;
        screenshot(&browser, "data-deletion-tr-mobile", 390).await;

        fill(&browser, "email", "ada@example.com").await;
        fill(&browser, "password", "yanlış parola").await;
        click(&browser, "button.button--danger").await;
        wait_for(&browser, ".alert").await;
        assert!(
            text(&browser, ".alert")
                .await
                .contains("E-posta veya parola hatalı."),
            "{}",
            text(&browser, ".alert").await
        );
        let kept = browser
            .find(Locator::Id("email"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some("ada@example.com"));
        let password = browser
            .find(Locator::Id("password"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(
            password.as_deref(),
            Some(""),
            "a password is never sent back"
        );
        screenshot(&browser, "data-deletion-error-tr", 1280).await;
        prefer_dark(&browser).await;
        screenshot(&browser, "data-deletion-error-tr-dark", 1280).await;
    })
    .await;
    assert_eq!(app.get_me(&ada.access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_language_switch_turns_the_page_into_turkish_and_remembers_it() {
    let app = spawn_app().await;
    let url = app.url("/data-deletion");
    Browser::run(Language::English, |browser| async move {
        open(&browser, &url, "form.lang-switch").await;
        assert_eq!(text(&browser, "h1").await, "Delete your kraftsoci account");
        click(&browser, "form.lang-switch button[value=tr]").await;
        wait_for(&browser, "html[lang=tr]").await;
        assert_eq!(text(&browser, "h1").await, "kraftsoci hesabınızı silin");
        assert_eq!(
            browser.current_url().await.unwrap().path(),
            "/data-deletion"
        );

        // The choice outlives the page, and its cookie is a functional, HttpOnly one.
        open(&browser, &url, "html[lang=tr]").await;
        let cookies = browser.get_all_cookies().await.unwrap();
        let language = cookies
            .iter()
            .find(|c| c.name() == "kraftsoci-lang")
            .unwrap();
        assert_eq!(language.value(), "tr");
        assert_eq!(language.http_only(), Some(true));
        let csrf = cookies
            .iter()
            .find(|c| c.name() == "kraftsoci-csrf")
            .unwrap();
        assert_eq!(csrf.http_only(), Some(true));
        assert_eq!(format!("{:?}", csrf.same_site()), "Some(Lax)");
        // No script can read either.
        let visible = browser
            .execute("return document.cookie", vec![])
            .await
            .unwrap();
        assert_eq!(visible, "");

        click(&browser, "form.lang-switch button[value=en]").await;
        wait_for(&browser, "html[lang=en]").await;
    })
    .await;
}

#[tokio::test]
async fn a_form_posted_without_its_csrf_token_is_refused_and_the_next_click_goes_through() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let url = app.url("/data-deletion");
    let access = ada.access.clone();
    let app_ref = &app;
    Browser::run(Language::English, |browser| async move {
        open(&browser, &url, "form[method=post]").await;
        fill(&browser, "email", "ada@example.com").await;
        fill(&browser, "password", PASSWORD).await;
        // What a forged post looks like to the server: the same form without its token.
        browser
            .execute(
                "document.querySelector('form[data-once] input[name=csrf_token]').remove()",
                vec![],
            )
            .await
            .unwrap();
        click(&browser, "button.button--danger").await;
        wait_for(&browser, ".alert").await;
        assert!(
            text(&browser, ".alert")
                .await
                .contains("This form had expired")
        );
        assert_eq!(
            app_ref.get_me(&access).await.status(),
            StatusCode::OK,
            "nothing was deleted"
        );

        // The refusal page is the form again, with a token and the email kept.
        fill(&browser, "password", PASSWORD).await;
        click(&browser, "button.button--danger").await;
        wait_for(&browser, "h1#closed").await;
    })
    .await;
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
