//! Onboarding in the web app: the profile form, then connecting Instagram in a browser flow
//! (sandbox and a wiremock Meta) — the callback redirects back into the app with the outcome,
//! the choice of accounts, and clear pages for a refusal, missing permissions and a Page
//! without an Instagram business account.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{PASSWORD, TestApp, parts, spawn_app, spawn_app_with};
use crate::web_session::{BrowserSession, browser_sign_up, get_page, post_page};

const CODE: &str = "AQDcode-from-the-dialog-web-0001";

async fn spawn_with_meta() -> (TestApp, MockServer) {
    let meta = MockServer::start().await;
    let uri = Url::parse(&meta.uri()).unwrap();
    let app = spawn_app_with(|config| {
        config.sandbox = false;
        config.meta.app_id = Some("4242424242".to_owned());
        config.meta.app_secret = Some(SecretString::from("meta-app-secret-for-tests-0001"));
        config.meta.graph_url = uri.clone();
        config.meta.dialog_url = uri;
    })
    .await;
    (app, meta)
}

/// Meta answering a login whose permissions are `granted` and whose Pages are `pages`.
async fn mount_login(meta: &MockServer, declined: Option<&str>, pages: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("code", CODE))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "EAAshort-web", "token_type": "bearer", "expires_in": 3600}),
        ))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "EAAlong-web", "token_type": "bearer", "expires_in": 5_183_944}),
        ))
        .mount(meta)
        .await;
    let permissions: Vec<_> = [
        "instagram_basic",
        "instagram_content_publish",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
    ]
    .into_iter()
    .map(|p| {
        let status = if Some(p) == declined {
            "declined"
        } else {
            "granted"
        };
        json!({"permission": p, "status": status})
    })
    .collect();
    Mock::given(method("GET"))
        .and(path("/v25.0/me/permissions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": permissions })))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": pages })))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "998877"})))
        .mount(meta)
        .await;
}

/// Starts a browser flow; returns the login URL the app redirected to and its state.
async fn start(app: &TestApp, browser: &BrowserSession) -> (Url, String) {
    let response = app
        .client
        .get(app.url("/onboarding/instagram/start"))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let url = Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    (url, state)
}

/// Meta's redirect, as the browser follows it (with the session cookie); the Location.
async fn callback(app: &TestApp, browser: &BrowserSession, query: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(query).unwrap();
    let response = app
        .client
        .get(app.url(&format!("/v1/instagram/callback?{query}")))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_owner_describes_the_business_then_connects_the_sandbox_account() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (status, html, token) = get_page(&app, "/onboarding", &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("value=\"bakery\""),
        "the sector comes from sign-up"
    );
    let invalid = post_page(
        &app,
        "/onboarding",
        &browser.cookie,
        &[
            ("csrf_token", &token),
            ("description", "  "),
            ("target_audience", "Neighbours"),
            ("tone", &"x".repeat(81)),
            ("sector", "bakery"),
            ("language", "de"),
        ],
    )
    .await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let html = invalid.text().await.unwrap();
    assert!(html.contains("Describe your business in a few sentences."));
    assert!(html.contains("The tone can be at most 80 characters."));
    assert!(html.contains("Choose a language from the list."));
    assert!(
        html.contains(">Neighbours</textarea>"),
        "typed values are kept"
    );
    let saved = post_page(
        &app,
        "/onboarding",
        &browser.cookie,
        &[
            ("csrf_token", &token),
            (
                "description",
                "A family bakery in Kadıköy: simit, poğaça and sourdough.",
            ),
            ("target_audience", "Neighbours and commuters"),
            ("tone", "warm and playful"),
            ("sector", "bakery"),
            ("language", "tr"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(saved.headers()[LOCATION], "/onboarding/instagram");
    let (_, body) = parts(app.login("ada@example.com", PASSWORD).await).await;
    let (_, profile) = parts(
        app.get_profile(body["access_token"].as_str().unwrap())
            .await,
    )
    .await;
    assert_eq!(profile["tone"], "warm and playful");
    assert_eq!(profile["language"], "tr");

    let (_, html, _) = get_page(&app, "/onboarding/instagram", &browser.cookie).await;
    assert!(html.contains("Sandbox mode: nothing reaches Instagram."));
    let (url, state) = start(&app, &browser).await;
    assert!(state.starts_with("w."), "a browser flow's state: {state}");
    assert_eq!(
        url.path(),
        "/v1/instagram/callback",
        "sandbox: straight to the callback"
    );
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let landed = callback(&app, &browser, &refs).await;
    assert_eq!(landed, "/onboarding/instagram?connected=1&without=0");
    let (_, html, _) = get_page(&app, &landed, &browser.cookie).await;
    assert!(html.contains("Your Instagram account is connected"));
    assert!(html.contains("Sandbox Page"));
    assert!(!html.contains("Which accounts should kraftsoci publish to?"));
}

#[tokio::test]
async fn signed_out_onboarding_goes_to_sign_in_and_comes_back() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/onboarding/instagram"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/sign-in?next=%2Fonboarding%2Finstagram"
    );
}

async fn listed(app: &TestApp, access: &str) -> serde_json::Value {
    let response = app
        .client
        .get(app.url("/v1/instagram/accounts"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    parts(response).await.1
}

#[tokio::test]
async fn several_accounts_are_offered_for_choice_and_the_unchosen_are_disconnected() {
    let (app, meta) = spawn_with_meta().await;
    mount_login(
        &meta,
        None,
        json!([
            {"id": "111", "name": "Simit Corner", "access_token": "EAApage-simit",
             "instagram_business_account": {"id": "17841400000000001", "username": "simit"}},
            {"id": "222", "name": "Flower Shop", "access_token": "EAApage-flower",
             "instagram_business_account": {"id": "17841400000000002", "username": "flower"}},
            {"id": "333", "name": "Old Page", "access_token": "EAApage-old"},
        ]),
    )
    .await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (url, state) = start(&app, &browser).await;
    assert!(
        url.as_str().starts_with(&meta.uri()),
        "the Facebook dialog: {url}"
    );
    let landed = callback(&app, &browser, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(landed, "/onboarding/instagram?connected=2&without=1");
    let (_, html, token) = get_page(&app, &landed, &browser.cookie).await;
    assert!(html.contains("Which accounts should kraftsoci publish to?"));
    assert!(html.contains("One of your Facebook Pages has no Instagram business account"));
    // Keeping none is refused with a clear message; nothing is disconnected.
    let none = post_page(
        &app,
        "/onboarding/instagram/keep",
        &browser.cookie,
        &[("csrf_token", &token)],
    )
    .await;
    assert_eq!(none.status(), StatusCode::BAD_REQUEST);
    assert!(
        none.text()
            .await
            .unwrap()
            .contains("Keep at least one account")
    );
    let (_, body) = parts(app.login("ada@example.com", PASSWORD).await).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let accounts = listed(&app, &access).await;
    assert_eq!(accounts.as_array().unwrap().len(), 2);
    let simit = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["page_name"] == "Simit Corner")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = post_page(
        &app,
        "/onboarding/instagram/keep",
        &browser.cookie,
        &[("csrf_token", &token), ("keep", &simit)],
    )
    .await;
    assert_eq!(kept.status(), StatusCode::SEE_OTHER);
    let accounts = listed(&app, &access).await;
    assert_eq!(accounts.as_array().unwrap().len(), 1);
    assert_eq!(accounts[0]["page_name"], "Simit Corner");
}

#[tokio::test]
async fn a_refusal_missing_permissions_and_no_business_account_each_get_a_clear_page() {
    let (app, meta) = spawn_with_meta().await;
    mount_login(
        &meta,
        Some("instagram_content_publish"),
        json!([{"id": "333", "name": "Old Page", "access_token": "EAApage-old"}]),
    )
    .await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;

    let (_, state) = start(&app, &browser).await;
    let landed = callback(
        &app,
        &browser,
        &[
            ("error", "access_denied"),
            ("error_reason", "user_denied"),
            ("state", &state),
        ],
    )
    .await;
    assert_eq!(landed, "/onboarding/instagram?error=access_denied");
    let (_, html, _) = get_page(&app, &landed, &browser.cookie).await;
    assert!(html.contains("You did not give kraftsoci access"));

    let (_, state) = start(&app, &browser).await;
    let landed = callback(&app, &browser, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(landed, "/onboarding/instagram?error=permissions_missing");
    let (_, html, _) = get_page(&app, &landed, &browser.cookie).await;
    assert!(html.contains("Some permissions are missing"));

    // The same state twice: expired or used.
    let landed = callback(&app, &browser, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(landed, "/onboarding/instagram?error=expired");
}

#[tokio::test]
async fn a_login_without_an_instagram_business_account_explains_how_to_get_one() {
    let (app, meta) = spawn_with_meta().await;
    mount_login(
        &meta,
        None,
        json!([{"id": "333", "name": "Old Page", "access_token": "EAApage-old"}]),
    )
    .await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (_, state) = start(&app, &browser).await;
    let landed = callback(&app, &browser, &[("code", CODE), ("state", &state)]).await;
    assert_eq!(landed, "/onboarding/instagram?error=not_business");
    let (_, html, _) = get_page(&app, &landed, &browser.cookie).await;
    assert!(html.contains("No Instagram business account was found"));
    assert!(html.contains("switch to a professional account"));
}

#[tokio::test]
async fn the_api_flow_still_answers_json_and_a_stripped_browser_state_is_invalid() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (url, state) = start(&app, &browser).await;
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // Without its prefix the state hashes differently: refused, as JSON (an API flow).
    let stripped = state.trim_start_matches("w.");
    let response = app
        .client
        .get(app.url(&format!(
            "/v1/instagram/callback?code={code}&state={stripped}"
        )))
        .send()
        .await
        .unwrap();
    let (status, body) = parts(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_state");
}
