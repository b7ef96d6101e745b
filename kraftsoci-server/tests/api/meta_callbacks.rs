//! Meta's signed callbacks (P15, P34): data deletion with its status page, and deauthorize.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use hmac::{Hmac, Mac};
use kraftsoci_core::Clock as _;
use kraftsoci_core::retention::SweepMode;
use reqwest::header::CONTENT_SECURITY_POLICY;
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;

use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, code, parts, spawn_app, spawn_app_with};
use crate::user_data::META_USER_ID;

const APP_SECRET: &str = "test-meta-app-secret-0123456789";

/// A `signed_request` as Meta builds it: base64url(HMAC-SHA256(secret, encoded payload)) "."
/// base64url(payload), without padding.
fn signed_request(secret: &str, payload: &Value) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signature}.{payload}")
}

impl TestApp {
    fn meta_payload(&self, user_id: &str) -> Value {
        json!({
            "algorithm": "HMAC-SHA256",
            "issued_at": self.clock.now().timestamp(),
            "user_id": user_id,
        })
    }

    /// A request Meta would send about `user_id`, signed with the test app secret.
    fn meta_signed(&self, user_id: &str) -> String {
        signed_request(APP_SECRET, &self.meta_payload(user_id))
    }

    async fn meta_callback(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn meta_status(&self, code: &str) -> Response {
        self.client
            .get(self.url(&format!("/meta/data-deletion/status?code={code}")))
            .send()
            .await
            .unwrap()
    }

    async fn meta_rows(&self) -> i64 {
        self.db
            .count("SELECT COUNT(*) FROM meta_deletion_requests".to_owned())
            .await
    }
}

async fn meta_app() -> TestApp {
    spawn_app_with(|config| {
        config.meta.app_secret = Some(SecretString::from(APP_SECRET));
    })
    .await
}

#[tokio::test]
async fn a_valid_deletion_request_answers_a_status_url_and_code_and_closes_the_account() {
    let app = meta_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let bob = app.signup_user("bob@example.com").await;
    app.seed(&ada).await;
    // Bob connected with another Facebook login.
    let bob_seed = app.seed(&bob).await;
    let other = kraftsoci_server::rights::meta_user_hash("99999");
    app.state
        .stores
        .connections
        .set_meta_user_hash(bob_seed.user, bob_seed.connection, &other)
        .await
        .unwrap();

    let request = app.meta_signed(META_USER_ID);
    let (status, body) = parts(
        app.meta_callback("/meta/data-deletion", &[("signed_request", &request)])
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let confirmation = body["confirmation_code"].as_str().unwrap().to_owned();
    assert!(confirmation.len() >= 16);
    assert_eq!(
        body["url"],
        format!(
            "{}meta/data-deletion/status?code={confirmation}",
            app.state.config.public_url
        )
    );

    // The account is closed at once: its sessions and Instagram tokens are gone.
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.db
            .count(format!(
                "SELECT COUNT(*) FROM instagram_connections WHERE owner_id = '{}' \
                 AND sealed_token IS NOT NULL",
                ada.id
            ))
            .await,
        0
    );
    assert!(
        app.get_me(&bob.access).await.status().is_success(),
        "bob is untouched"
    );

    let page = app.meta_status(&confirmation).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("In progress"), "{html}");
    assert!(html.contains(&confirmation));
    assert!(!html.contains("<script"));

    // Once the sweep purged the account, the status page says so.
    app.clock.advance(Duration::days(30));
    app.sweep(SweepMode::Purge).await;
    let html = app.meta_status(&confirmation).await.text().await.unwrap();
    assert!(html.contains("Completed"), "{html}");
}

#[tokio::test]
async fn a_request_about_someone_without_an_account_is_answered_with_nothing_held() {
    let app = meta_app().await;
    let request = app.meta_signed("123456789");
    let (status, body) = parts(
        app.meta_callback("/meta/data-deletion", &[("signed_request", &request)])
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let html = app
        .meta_status(body["confirmation_code"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("no data"), "{html}");
}

#[tokio::test]
async fn forged_stale_or_malformed_requests_change_nothing() {
    let app = meta_app().await;
    let ada = app.signup_user("ada@example.com").await;
    app.seed(&ada).await;
    let payload = app.meta_payload(META_USER_ID);
    let forged = signed_request("not-the-app-secret", &payload);
    let stale = signed_request(
        APP_SECRET,
        &json!({
            "algorithm": "HMAC-SHA256",
            "issued_at": (app.clock.now() - Duration::days(2)).timestamp(),
            "user_id": META_USER_ID,
        }),
    );
    let other_algorithm = signed_request(
        APP_SECRET,
        &json!({
            "algorithm": "HMAC-SHA1",
            "issued_at": app.clock.now().timestamp(),
            "user_id": META_USER_ID,
        }),
    );
    let valid = app.meta_signed(META_USER_ID);
    let (signature, encoded) = valid.split_once('.').unwrap();
    let tampered_payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&json!({
            "algorithm": "HMAC-SHA256",
            "issued_at": app.clock.now().timestamp(),
            "user_id": "someone-else",
        }))
        .unwrap(),
    );
    let tampered = format!("{signature}.{tampered_payload}");
    let no_dot = encoded.to_owned();
    for path in ["/meta/data-deletion", "/meta/deauthorize"] {
        for bad in [
            forged.as_str(),
            stale.as_str(),
            other_algorithm.as_str(),
            tampered.as_str(),
            no_dot.as_str(),
            "",
            "!!!.???",
        ] {
            let (status, body) =
                parts(app.meta_callback(path, &[("signed_request", bad)]).await).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {bad}: {body}");
            assert_eq!(code(&body), "invalid_signed_request");
        }
        let (status, _) = parts(app.meta_callback(path, &[("other", "x")]).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} without the field");
    }
    assert!(app.get_me(&ada.access).await.status().is_success());
    assert_eq!(app.meta_rows().await, 1, "only the seeded request");
    assert_eq!(
        app.db
            .count(format!(
                "SELECT COUNT(*) FROM instagram_connections WHERE owner_id = '{}' \
                 AND sealed_token IS NOT NULL",
                ada.id
            ))
            .await,
        1,
        "the token is untouched"
    );
}

#[tokio::test]
async fn deauthorize_removes_that_meta_users_tokens_only() {
    let app = meta_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let bob = app.signup_user("bob@example.com").await;
    let ada_seed = app.seed(&ada).await;
    let bob_seed = app.seed(&bob).await;
    let other = kraftsoci_server::rights::meta_user_hash("99999");
    app.state
        .stores
        .connections
        .set_meta_user_hash(bob_seed.user, bob_seed.connection, &other)
        .await
        .unwrap();

    let request = app.meta_signed(META_USER_ID);
    let (status, body) = parts(
        app.meta_callback("/meta/deauthorize", &[("signed_request", &request)])
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let store = &app.state.stores;
    assert!(
        store
            .connections
            .sealed_token(ada_seed.user, ada_seed.connection)
            .await
            .is_err(),
        "ada's token is deleted (P15)"
    );
    assert!(
        store
            .connections
            .sealed_token(bob_seed.user, bob_seed.connection)
            .await
            .is_ok()
    );
    let accounts = app
        .client
        .get(app.url("/v1/instagram/accounts"))
        .bearer_auth(&ada.access)
        .send()
        .await
        .unwrap();
    let (status, accounts) = parts(accounts).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(accounts[0]["status"], "needs_reconnect", "{accounts}");
    assert!(
        app.get_me(&ada.access).await.status().is_success(),
        "deauthorizing is not erasure: the account stays"
    );
}

#[tokio::test]
async fn without_an_app_secret_the_callbacks_answer_unavailable_and_unknown_codes_not_found() {
    let app = spawn_app().await;
    assert!(app.state.config.meta.app_secret.is_none());
    let request = signed_request(APP_SECRET, &app.meta_payload(META_USER_ID));
    for path in ["/meta/data-deletion", "/meta/deauthorize"] {
        let (status, body) = parts(
            app.meta_callback(path, &[("signed_request", &request)])
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {body}");
        assert_eq!(code(&body), "meta_callbacks_unavailable");
    }
    assert_eq!(app.meta_rows().await, 0);
    for unknown in ["0123456789abcdef01234567", "<script>alert(1)</script>", ""] {
        let page = app.meta_status(unknown).await;
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        let html = page.text().await.unwrap();
        assert!(!html.contains("<script>alert"), "input is never echoed");
    }
}

/// Meta answering a whole Facebook Login, `debug_token` naming the app-scoped user.
async fn mount_login_of(meta: &MockServer, app_scoped_user: &str) {
    let token = |value: &str| {
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": value, "token_type": "bearer", "expires_in": 5_000_000}),
        )
    };
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("code", "AQDcode-rights-0001"))
        .respond_with(token("EAAshort-rights-0001"))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .respond_with(token("EAAlong-rights-0001"))
        .mount(meta)
        .await;
    let granted: Vec<Value> = [
        "instagram_basic",
        "instagram_content_publish",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
    ]
    .iter()
    .map(|p| json!({"permission": p, "status": "granted"}))
    .collect();
    Mock::given(method("GET"))
        .and(path("/v25.0/me/permissions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": granted })))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "111", "name": "Simit Corner", "access_token": "EAApage-rights-0001",
             "instagram_business_account": {"id": "17841405822304914"}},
        ]})))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/debug_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "is_valid": true,
            "app_id": "4242424242",
            "type": "USER",
            "user_id": app_scoped_user,
            "expires_at": 0,
            "scopes": ["instagram_basic"],
        }})))
        .expect(1)
        .mount(meta)
        .await;
}

#[tokio::test]
async fn a_connection_made_through_facebook_login_is_found_by_metas_deletion_callback() {
    let meta = MockServer::start().await;
    let uri = Url::parse(&meta.uri()).unwrap();
    let app = spawn_app_with(|config| {
        config.sandbox = false;
        config.meta.app_id = Some("4242424242".to_owned());
        config.meta.app_secret = Some(SecretString::from(APP_SECRET));
        config.meta.graph_url = uri.clone();
        config.meta.dialog_url = uri;
    })
    .await;
    mount_login_of(&meta, "5550001").await;
    let ada = app.signup_user("ada@example.com").await;
    let (status, body) = parts(
        app.client
            .post(app.url("/v1/instagram/connect"))
            .bearer_auth(&ada.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dialog = Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
    let state = dialog
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let callback = app
        .client
        .get(app.url(&format!(
            "/v1/instagram/callback?code=AQDcode-rights-0001&state={state}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), StatusCode::OK);
    let stored = app
        .db
        .strings("SELECT meta_user_hash FROM instagram_connections".to_owned())
        .await;
    assert_eq!(
        stored,
        vec![kraftsoci_server::rights::meta_user_hash("5550001")],
        "only the hash of the app-scoped id is kept"
    );

    let request = app.meta_signed("5550001");
    let (status, body) = parts(
        app.meta_callback("/meta/data-deletion", &[("signed_request", &request)])
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
