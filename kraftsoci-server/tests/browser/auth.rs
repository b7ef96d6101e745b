//! Signing up, in and out in a real browser, in Turkish and English, and the session
//! cookie's flags as the browser stores them.

use crate::harness::{
    Browser, Language, click, fill, open, screenshot, sign_in, sign_up, text, wait_for,
};
use crate::helpers::{PASSWORD, spawn_app};
use crate::web_session::ensure_policy;

#[tokio::test]
async fn a_turkish_owner_signs_up_and_gets_an_http_only_lax_session_cookie() {
    let app = spawn_app().await;
    ensure_policy(&app).await;
    let base = app.address.clone();
    Browser::run(Language::Turkish, |browser| async move {
        open(
            &browser,
            &format!("{base}/sign-up"),
            "form[action='/sign-up']",
        )
        .await;
        assert_eq!(text(&browser, "h1").await, "kraftsoci hesabınızı oluşturun");
        assert!(text(&browser, "main").await.contains("Gizlilik politikası"));
        screenshot(&browser, "sign-up-tr", 1280).await;
        screenshot(&browser, "sign-up-tr-mobile", 390).await;
        let landed = sign_up(&browser, &base, "ayse@example.com", PASSWORD).await;
        assert_eq!(landed, "/onboarding");
        let cookie = browser
            .get_named_cookie("kraftsoci-session")
            .await
            .expect("the session cookie is stored");
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(format!("{:?}", cookie.same_site()), "Some(Lax)");
        assert_eq!(cookie.path(), Some("/"));
        assert_ne!(cookie.secure(), Some(true), "plain HTTP in development");
        // No script can read it.
        let seen = browser
            .execute("return document.cookie", vec![])
            .await
            .unwrap();
        assert!(
            !seen
                .as_str()
                .unwrap_or_default()
                .contains("kraftsoci-session")
        );
    })
    .await;
}

#[tokio::test]
async fn an_english_owner_signs_in_after_a_wrong_password_and_signs_out() {
    let app = spawn_app().await;
    app.signup_user("ada@example.com").await;
    let base = app.address.clone();
    Browser::run(Language::English, |browser| async move {
        open(
            &browser,
            &format!("{base}/sign-in"),
            "form[action='/sign-in']",
        )
        .await;
        screenshot(&browser, "sign-in-en", 1280).await;
        fill(&browser, "email", "ada@example.com").await;
        fill(&browser, "password", "not the password").await;
        click(&browser, "form[action='/sign-in'] button[type=submit]").await;
        wait_for(&browser, ".alert--danger").await;
        assert!(
            text(&browser, ".alert")
                .await
                .contains("The email or password is not correct.")
        );
        let landed = sign_in(&browser, &base, "ada@example.com", PASSWORD).await;
        assert_eq!(landed, "/posts");
        open(&browser, &format!("{base}/sign-up"), "body").await;
        // Signed in, the sign-up page sends the owner into the app instead.
        assert_eq!(browser.current_url().await.unwrap().path(), "/posts");
        open(&browser, &format!("{base}/data-deletion"), "form.sign-out").await;
        click(&browser, "form.sign-out button").await;
        wait_for(&browser, ".alert--done").await;
        assert!(
            text(&browser, ".alert")
                .await
                .contains("You are signed out")
        );
        assert!(browser.get_named_cookie("kraftsoci-session").await.is_err());
    })
    .await;
}

#[tokio::test]
async fn the_reset_link_fills_in_its_code_and_hides_it_from_the_address_bar() {
    let app = spawn_app().await;
    app.signup_user("ada@example.com").await;
    app.request_reset("ada@example.com").await;
    let code = app.reset_token_for("ada@example.com", 1).await;
    let base = app.address.clone();
    Browser::run(Language::English, |browser| async move {
        open(
            &browser,
            &format!("{base}/reset-password#token={code}"),
            "form[action='/reset-password']",
        )
        .await;
        let url = browser.current_url().await.unwrap();
        assert_eq!(url.fragment(), None, "the token left the address bar");
        let field = browser
            .find(fantoccini::Locator::Id("token"))
            .await
            .unwrap();
        assert!(
            !field.is_displayed().await.unwrap(),
            "the code field is hidden"
        );
        screenshot(&browser, "reset-password-en", 1280).await;
        fill(&browser, "new_password", "a brand new passphrase").await;
        click(
            &browser,
            "form[action='/reset-password'] button[type=submit]",
        )
        .await;
        wait_for(&browser, ".alert--done").await;
        assert!(
            text(&browser, ".alert")
                .await
                .contains("Your password was changed")
        );
    })
    .await;
    assert_eq!(
        app.login("ada@example.com", "a brand new passphrase")
            .await
            .status(),
        reqwest::StatusCode::OK
    );
}

#[tokio::test]
async fn a_sign_in_during_a_login_storm_says_to_try_again_in_a_second_and_keeps_the_email() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.password_threads = Some(1);
        config.password_queue = Some(1);
    })
    .await;
    app.signup_user("ada@example.com").await;
    let pool = app.state.auth.hasher().pool();
    let holds = [pool.hold().unwrap(), pool.hold().unwrap()];
    let base = app.address.clone();
    Browser::run(Language::English, |browser| async move {
        open(
            &browser,
            &format!("{base}/sign-in"),
            "form[action='/sign-in']",
        )
        .await;
        fill(&browser, "email", "ada@example.com").await;
        fill(&browser, "password", PASSWORD).await;
        click(&browser, "form[action='/sign-in'] button[type=submit]").await;
        wait_for(&browser, ".alert").await;
        let alert = text(&browser, ".alert").await;
        assert!(alert.contains("We are very busy right now"), "{alert}");
        assert!(alert.contains("in one second"), "{alert}");
        let email = browser
            .find(fantoccini::Locator::Id("email"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(email.as_deref(), Some("ada@example.com"));
        let password = browser
            .find(fantoccini::Locator::Id("password"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(password.as_deref(), Some(""), "never the password");
        screenshot(&browser, "sign-in-busy-en", 1280).await;
    })
    .await;
    drop(holds);
}
