//! The web app's browser sessions over HTTP: sign up, sign in, sign out, the session cookie,
//! what ends a session, CSRF bound to the session, and the `Owner` extractor.

use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use kraftsoci_server::web::Owner;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, RETRY_AFTER};
use serde_json::json;
use tower::ServiceExt as _;

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::web_session::{
    SESSION_COOKIE, browser_sign_in, browser_sign_up, cookie_pair, ensure_policy, get_page,
    input_value, post_page,
};

/// Whether `cookie` opens a signed-in page: an `Owner` route answers 200 with the user's
/// id, else the extractor's redirect.
async fn owner_answer(app: &TestApp, cookie: Option<&str>, path: &str) -> (u16, String) {
    let router = axum::Router::new()
        .route(
            "/secret",
            get(|owner: Owner| async move { owner.user_id.to_string() }),
        )
        .with_state(app.state.clone());
    let mut request = axum::http::Request::builder().uri(path);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = router
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = match response.headers().get("location") {
        Some(location) => location.to_str().unwrap().to_owned(),
        None => {
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
    };
    (status, text)
}

async fn user_id_of(app: &TestApp, email: &str) -> String {
    let (_, body) = crate::helpers::parts(app.login(email, PASSWORD).await).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (_, me) = crate::helpers::parts(app.get_me(&access).await).await;
    me["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn signing_up_in_turkish_opens_a_session_with_a_safe_cookie_and_a_turkish_account() {
    let app = spawn_app().await;
    ensure_policy(&app).await;
    let fresh = app
        .client
        .get(app.url("/sign-up"))
        .header("accept-language", "tr-TR,tr;q=0.9")
        .send()
        .await
        .unwrap();
    let binding = fresh
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("kraftsoci-csrf="))
        .unwrap();
    let html = fresh.text().await.unwrap();
    assert!(html.contains("Hesabınızı oluşturun"), "{html}");
    assert!(html.contains("18 yaşında veya daha büyüğüm."));
    assert!(html.contains("2026-01"), "the policy version is shown");
    let token = input_value(&html, "csrf_token").unwrap();
    let response = app
        .client
        .post(app.url("/sign-up"))
        .header(COOKIE, &binding)
        .header("accept-language", "tr-TR,tr;q=0.9")
        .form(&[
            ("csrf_token", token.as_str()),
            ("name", "Ayşe Yılmaz"),
            ("email", "ayse@example.com"),
            ("password", PASSWORD),
            ("business_name", "Kadıköy Fırını"),
            ("sector", "fırın"),
            ("age_confirmed", "true"),
            ("accept_policy", "true"),
            ("policy_version", "2026-01"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/onboarding");
    let set_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("kraftsoci-session="))
        .expect("a session cookie");
    let value = set_cookie.split(';').next().unwrap();
    assert_eq!(value.len(), "kraftsoci-session=".len() + 43);
    for flag in [
        "; Path=/",
        "; HttpOnly",
        "; SameSite=Lax",
        "; Max-Age=1209600",
    ] {
        assert!(set_cookie.contains(flag), "{set_cookie} lacks {flag}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "development runs on plain HTTP"
    );
    // Only the token's hash is stored.
    let raw = value.split_once('=').unwrap().1;
    assert_eq!(
        app.db
            .count(format!(
                "SELECT COUNT(*) FROM refresh_tokens WHERE kind = 'browser' AND token_hash <> '{raw}'"
            ))
            .await,
        1
    );
    // The account speaks Turkish: pages follow it whatever the browser asks for.
    let (_, body) = crate::helpers::parts(app.login("ayse@example.com", PASSWORD).await).await;
    let (_, me) =
        crate::helpers::parts(app.get_me(body["access_token"].as_str().unwrap()).await).await;
    assert_eq!(me["preferences"]["language"], "tr");
    assert_eq!(me["accepted_policy_version"], "2026-01");
    let cookie = format!("{value}; {binding}");
    let (status, text) = owner_answer(&app, Some(&cookie), "/secret").await;
    assert_eq!((status, text), (200, me["id"].as_str().unwrap().to_owned()));
    let signed_in = app
        .client
        .get(app.url("/data-deletion"))
        .header(COOKIE, &cookie)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.headers()["content-language"], "tr");
}

#[tokio::test]
async fn a_signed_out_visitor_is_sent_to_sign_in_with_a_local_next() {
    let app = spawn_app().await;
    let (status, location) = owner_answer(&app, None, "/secret?tab=a&b=c").await;
    assert_eq!(status, 303);
    assert_eq!(location, "/sign-in?next=%2Fsecret%3Ftab%3Da%26b%3Dc");
    // A forged or unknown cookie is no session.
    let forged = format!("{SESSION_COOKIE}={}", "A".repeat(43));
    assert_eq!(owner_answer(&app, Some(&forged), "/secret").await.0, 303);
    let (_, _, root) = (0, 0, app.client.get(app.url("/")).send().await.unwrap());
    assert_eq!(root.headers()[LOCATION], "/sign-in");
}

#[tokio::test]
async fn signing_in_goes_to_next_but_never_to_another_site() {
    let app = spawn_app().await;
    browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    for (next, expected) in [
        ("/settings", "/settings"),
        ("//evil.example/", "/posts"),
        ("https://evil.example/", "/posts"),
        ("/\\evil.example", "/posts"),
    ] {
        let (_, html, token) = get_page(&app, "/sign-in", "").await;
        assert!(html.contains("name=\"next\""));
        let fresh = app.client.get(app.url("/sign-in")).send().await.unwrap();
        let binding = fresh
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .find(|c| c.starts_with("kraftsoci-csrf="))
            .unwrap();
        let token = input_value(&fresh.text().await.unwrap(), "csrf_token").unwrap_or(token);
        let response = post_page(
            &app,
            "/sign-in",
            &binding,
            &[
                ("csrf_token", &token),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(response.headers()[LOCATION], expected, "{next}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_read_alike_and_keep_the_email() {
    let app = spawn_app().await;
    browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let mut pages = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let fresh = app.client.get(app.url("/sign-in")).send().await.unwrap();
        let binding = cookie_pair(
            &fresh
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>(),
            "kraftsoci-csrf",
        )
        .unwrap();
        let token = input_value(&fresh.text().await.unwrap(), "csrf_token").unwrap();
        let response = post_page(
            &app,
            "/sign-in",
            &binding,
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", "wrong password 1"),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response
                .headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap().starts_with(SESSION_COOKIE))
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("value=\"{email}\"")),
            "the email is kept"
        );
        assert!(
            !html.contains("wrong password 1"),
            "the password never comes back"
        );
        pages.push(html.replace(email, "EMAIL"));
    }
    let alert = |html: &str| html[html.find("alert-heading").unwrap()..][..120].to_owned();
    assert_eq!(alert(&pages[0]), alert(&pages[1]));
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_account_like_the_api() {
    let app = spawn_app_with(|config| {
        config.auth_rate_per_account = kraftsoci_server::config::RateLimit {
            burst: 2,
            refill: Duration::from_secs(60),
        };
    })
    .await;
    browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let fresh = app.client.get(app.url("/sign-in")).send().await.unwrap();
        let binding = cookie_pair(
            &fresh
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>(),
            "kraftsoci-csrf",
        )
        .unwrap();
        let token = input_value(&fresh.text().await.unwrap(), "csrf_token").unwrap();
        let response = post_page(
            &app,
            "/sign-in",
            &binding,
            &[
                ("csrf_token", &token),
                ("email", "ADA@example.com"),
                ("password", "nope nope nope"),
            ],
        )
        .await;
        statuses.push(response.status());
        last = Some(response);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let last = last.unwrap();
    assert!(
        last.headers()[RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // The API shares the bucket: its login is refused too.
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn sign_up_refuses_a_minor_a_missing_acceptance_a_stale_policy_and_a_taken_email() {
    let app = spawn_app().await;
    ensure_policy(&app).await;
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let fresh = app.client.get(app.url("/sign-up")).send().await.unwrap();
            let binding = cookie_pair(
                &fresh
                    .headers()
                    .get_all("set-cookie")
                    .iter()
                    .map(|v| v.to_str().unwrap().to_owned())
                    .collect::<Vec<_>>(),
                "kraftsoci-csrf",
            )
            .unwrap();
            let token = input_value(&fresh.text().await.unwrap(), "csrf_token").unwrap();
            let mut all = vec![("csrf_token", token)];
            all.extend(fields);
            let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = post_page(app, "/sign-up", &binding, &pairs).await;
            (response.status(), response.text().await.unwrap())
        }
    };
    let base = |email: &str| {
        vec![
            ("name", "Ada".to_owned()),
            ("email", email.to_owned()),
            ("password", PASSWORD.to_owned()),
            ("business_name", "Bakery".to_owned()),
            ("sector", "bakery".to_owned()),
        ]
    };
    let mut minor = base("a@example.com");
    minor.extend([
        ("accept_policy", "true".to_owned()),
        ("policy_version", "2026-01".to_owned()),
    ]);
    let (status, html) = post(minor).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("You must be 18 or older to use kraftsoci."),
        "{html}"
    );
    assert!(
        html.contains("value=\"a@example.com\""),
        "typed values are kept"
    );

    let mut unaccepted = base("a@example.com");
    unaccepted.extend([
        ("age_confirmed", "true".to_owned()),
        ("policy_version", "2026-01".to_owned()),
    ]);
    let (status, html) = post(unaccepted).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("Accept the privacy policy to create an account."));

    let mut stale = base("a@example.com");
    stale.extend([
        ("age_confirmed", "true".to_owned()),
        ("accept_policy", "true".to_owned()),
        ("policy_version", "2025-01".to_owned()),
    ]);
    let (status, html) = post(stale).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("The privacy policy changed while this page was open."));

    let mut weak = base("a@example.com");
    weak[2].1 = "short".to_owned();
    weak.extend([
        ("age_confirmed", "true".to_owned()),
        ("accept_policy", "true".to_owned()),
        ("policy_version", "2026-01".to_owned()),
    ]);
    let (status, html) = post(weak).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("The password needs at least 8 characters."),
        "{html}"
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM users".to_owned()).await,
        0
    );

    browser_sign_up(&app, "taken@example.com", PASSWORD).await;
    let mut taken = base("TAKEN@example.com");
    taken.extend([
        ("age_confirmed", "true".to_owned()),
        ("accept_policy", "true".to_owned()),
        ("policy_version", "2026-01".to_owned()),
    ]);
    let (status, html) = post(taken).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("An account with this email already exists."));
}

#[tokio::test]
async fn without_a_published_policy_sign_up_is_closed_and_says_why() {
    let app = spawn_app().await;
    let (status, html, _) = get_page(&app, "/sign-up", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sign-up is not open yet"));
    assert!(!html.contains("name=\"password\""));
}

#[tokio::test]
async fn a_form_without_its_token_or_with_a_token_from_before_sign_in_is_refused() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    // No token at all: sign-in, sign-up and sign-out all refuse.
    for path in ["/sign-in", "/sign-out"] {
        let response = post_page(
            &app,
            path,
            &browser.cookie,
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        owner_answer(&app, Some(&browser.cookie), "/secret").await.0,
        200
    );
    // The binding cookie's token (minted before sign-in) is not the session's.
    let (_, html, before) = get_page(
        &app,
        "/data-deletion",
        browser.cookie.split("; ").nth(1).unwrap(),
    )
    .await;
    assert!(html.contains("csrf_token"));
    assert_ne!(before, browser.token);
    let response = post_page(
        &app,
        "/sign-out",
        &browser.cookie,
        &[("csrf_token", &before)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        owner_answer(&app, Some(&browser.cookie), "/secret").await.0,
        200
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_at_once_and_clears_the_cookie() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let other = browser_sign_in(&app, "ada@example.com", PASSWORD).await;
    let response = post_page(
        &app,
        "/sign-out",
        &browser.cookie,
        &[("csrf_token", &browser.token)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/sign-in?signed_out=1");
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("kraftsoci-session="))
        .unwrap();
    assert!(cleared.starts_with("kraftsoci-session=;") && cleared.contains("Max-Age=0"));
    assert_eq!(
        owner_answer(&app, Some(&browser.cookie), "/secret").await.0,
        303
    );
    // Only this browser: another browser's session lives on.
    assert_eq!(
        owner_answer(&app, Some(&other.cookie), "/secret").await.0,
        200
    );
    let (_, html, _) = get_page(&app, "/sign-in?signed_out=1", "").await;
    assert!(html.contains("You are signed out"));
}

#[tokio::test]
async fn a_password_change_or_a_closed_account_ends_browser_sessions_at_once() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (_, body) = crate::helpers::parts(app.login("ada@example.com", PASSWORD).await).await;
    let access = body["access_token"].as_str().unwrap();
    let response = app
        .change_password(access, PASSWORD, "another good passphrase")
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        owner_answer(&app, Some(&browser.cookie), "/secret").await.0,
        303
    );

    let again = browser_sign_in(&app, "ada@example.com", "another good passphrase").await;
    assert_eq!(
        owner_answer(&app, Some(&again.cookie), "/secret").await.0,
        200
    );
    let closed = app
        .post_json(
            "/data-deletion",
            &json!({"email": "ada@example.com", "password": "another good passphrase"}),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::ACCEPTED);
    assert_eq!(
        owner_answer(&app, Some(&again.cookie), "/secret").await.0,
        303
    );
}

#[tokio::test]
async fn a_browser_token_is_no_refresh_token_and_an_api_token_opens_no_page() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let raw = browser.session.split_once('=').unwrap().1;
    let response = app.refresh(raw).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Refused without revoking anything: the browser stays signed in.
    assert_eq!(
        owner_answer(&app, Some(&browser.cookie), "/secret").await.0,
        200
    );
    let (_, body) = crate::helpers::parts(app.login("ada@example.com", PASSWORD).await).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    let as_cookie = format!("{SESSION_COOKIE}={refresh}");
    assert_eq!(owner_answer(&app, Some(&as_cookie), "/secret").await.0, 303);
    assert_eq!(app.refresh(refresh).await.status(), StatusCode::OK);
    let _ = user_id_of(&app, "ada@example.com").await;
}
