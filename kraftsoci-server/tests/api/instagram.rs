//! Connecting Instagram: Facebook Login against a wiremock Meta (state, code, long-lived token,
//! Pages), encrypted tokens, disconnect and reconnect; the sandbox flow and the sandbox
//! publisher's container lifecycle; and that nothing reaches `media_publish` without a click.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Duration;
use kraftsoci_core::ports::{
    ContainerId, ContainerSpec, ContainerStatus, MediaKey, MediaSource, PublishAccount,
    PublishErrorKind, PublishResult,
};
use kraftsoci_core::{Clock as _, ConnectionId, IgUserId, MediaKind, TokenContext, UserId};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, code, parts, spawn_app, spawn_app_with};
use crate::posts::PUBLIC_URL;

const APP_ID: &str = "4242424242";
const APP_SECRET: &str = "meta-app-secret-for-tests-0001";
const CODE: &str = "AQDcode-from-the-dialog-0001";
const SHORT_TOKEN: &str = "EAAshort-lived-user-token-0001";
const LONG_TOKEN: &str = "EAAlong-lived-user-token-0001";
const PAGE_TOKEN: &str = "EAApage-token-simit-corner-0001";
const IG_USER: &str = "17841405822304914";

/// Captures this thread's log output (the test server runs on the test's thread).
struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    fn start() -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || CaptureWriter(Arc::clone(&writer)))
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A wiremock Meta and a server (sandbox off) whose Graph and dialog hosts point at it.
async fn spawn_with_meta() -> (TestApp, MockServer) {
    let meta = MockServer::start().await;
    let uri = Url::parse(&meta.uri()).unwrap();
    let app = spawn_app_with(|config| {
        config.sandbox = false;
        config.meta.app_id = Some(APP_ID.to_owned());
        config.meta.app_secret = Some(SecretString::from(APP_SECRET));
        config.meta.graph_url = uri.clone();
        config.meta.dialog_url = uri;
    })
    .await;
    (app, meta)
}

/// Meta answering the whole login: code → short token → long token, permissions granted, one
/// Page with an Instagram account and one without.
async fn mount_login(meta: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("code", CODE))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": SHORT_TOKEN, "token_type": "bearer", "expires_in": 3600}),
        ))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .and(query_param("grant_type", "fb_exchange_token"))
        .and(query_param("fb_exchange_token", SHORT_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": 5_183_944}),
        ))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/permissions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"permission": "instagram_basic", "status": "granted"},
            {"permission": "instagram_content_publish", "status": "granted"},
            {"permission": "pages_show_list", "status": "granted"},
            {"permission": "pages_read_engagement", "status": "granted"},
            {"permission": "business_management", "status": "granted"},
        ]})))
        .mount(meta)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me/accounts"))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "111", "name": "Simit Corner", "access_token": PAGE_TOKEN,
             "instagram_business_account": {"id": IG_USER, "username": "simitcorner"}},
            {"id": "222", "name": "Old Page", "access_token": "EAApage-old-0001"},
        ]})))
        .mount(meta)
        .await;
}

/// `media` and `media_publish` must never be called.
async fn forbid_publishing(meta: &MockServer) {
    Mock::given(method("POST"))
        .and(path_regex(r"^/v25\.0/[^/]+/media_publish$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1790000000000"})))
        .expect(0)
        .named("media_publish")
        .mount(meta)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/v25\.0/[^/]+/media$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1780000000000"})))
        .expect(0)
        .named("media")
        .mount(meta)
        .await;
}

impl TestApp {
    /// Starts connecting and returns the `state` of the login URL.
    async fn start_connect(&self, access: &str) -> (Url, String) {
        let (status, body) = parts(
            self.call(Method::POST, "/v1/instagram/connect", access, None)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let url = Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        (url, state)
    }

    async fn instagram_callback(&self, query: &str) -> (StatusCode, Value) {
        parts(
            self.client
                .get(self.url(&format!("/v1/instagram/callback?{query}")))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn accounts(&self, access: &str) -> Value {
        let (status, body) = parts(
            self.call(Method::GET, "/v1/instagram/accounts", access, None)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        body
    }
}

#[tokio::test]
async fn the_login_url_asks_for_exactly_the_five_scopes_with_a_one_time_state() {
    let (app, _meta) = spawn_with_meta().await;
    let user = app.profiled_user("ada@example.com").await;
    let (url, state) = app.start_connect(&user.access).await;
    assert_eq!(url.path(), "/v25.0/dialog/oauth");
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], APP_ID);
    assert_eq!(
        query["redirect_uri"],
        format!("{PUBLIC_URL}/v1/instagram/callback")
    );
    let mut scopes: Vec<&str> = query["scope"].split(',').collect();
    scopes.sort_unstable();
    assert_eq!(
        scopes,
        [
            "business_management",
            "instagram_basic",
            "instagram_content_publish",
            "pages_read_engagement",
            "pages_show_list"
        ]
    );
    assert!(state.len() >= 43, "256 random bits");
    let stored = app
        .db
        .strings("SELECT state_hash FROM oauth_states".to_owned())
        .await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], state, "only the hash is stored");
}

#[tokio::test]
async fn connecting_stores_an_encrypted_token_that_appears_nowhere_in_plain_text() {
    let logs = LogCapture::start();
    let (app, meta) = spawn_with_meta().await;
    mount_login(&meta).await;
    let user = app.profiled_user("ada@example.com").await;
    let (_, state) = app.start_connect(&user.access).await;

    let (status, connected) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    assert_eq!(connected["sandbox"], false);
    assert_eq!(connected["accounts"].as_array().unwrap().len(), 1);
    let account = &connected["accounts"][0];
    assert_eq!(account["ig_user_id"], IG_USER);
    assert_eq!(account["page_name"], "Simit Corner");
    assert_eq!(account["status"], "active");
    assert_eq!(
        account["token_expires_at"],
        Value::Null,
        "a page token does not expire"
    );
    assert_eq!(
        connected["pages_without_instagram"],
        json!([{"page_id": "222", "page_name": "Old Page"}]),
        "pages without instagram are reported, not dropped"
    );

    // The token opens with the vault for this owner and account, and only then.
    let owner: UserId = user.id.parse().unwrap();
    let connection_id: ConnectionId = account["id"].as_str().unwrap().parse().unwrap();
    let sealed = app
        .state
        .stores
        .connections
        .sealed_token(owner, connection_id)
        .await
        .unwrap();
    let ig = IgUserId::parse(IG_USER).unwrap();
    let opened = app
        .state
        .vault
        .open(&sealed, &TokenContext::instagram(owner, &ig))
        .unwrap();
    assert_eq!(opened.expose_secret(), PAGE_TOKEN);
    assert!(
        app.state
            .vault
            .open(&sealed, &TokenContext::instagram(UserId::new(), &ig))
            .is_err()
    );

    let listed = app.accounts(&user.access).await;
    let raw_db = app.db.raw_bytes();
    let everything_sent = format!("{connected}{listed}");
    for token in [PAGE_TOKEN, LONG_TOKEN, SHORT_TOKEN, CODE, APP_SECRET] {
        assert!(!everything_sent.contains(token), "{token} in a response");
        assert!(
            !raw_db.windows(token.len()).any(|w| w == token.as_bytes()),
            "{token} in the database file"
        );
        assert!(!logs.text().contains(token), "{token} in the logs");
    }
    assert!(
        !raw_db.windows(state.len()).any(|w| w == state.as_bytes()),
        "the state in plain text"
    );
}

#[tokio::test]
async fn a_reused_unknown_or_expired_state_is_400_and_stores_nothing() {
    let (app, meta) = spawn_with_meta().await;
    mount_login(&meta).await;
    let user = app.profiled_user("ada@example.com").await;

    for query in [
        format!("code={CODE}"),
        format!("code={CODE}&state=made-up-state"),
    ] {
        let (status, body) = app.instagram_callback(&query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(code(&body), "invalid_state");
    }

    let (_, expired) = app.start_connect(&user.access).await;
    app.clock.advance(Duration::minutes(11));
    let (status, body) = app
        .instagram_callback(&format!("code={CODE}&state={expired}"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "invalid_state");
    assert_eq!(app.count("instagram_connections").await, 0);

    let (_, state) = app.start_connect(&user.access).await;
    let (status, _) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a state works once");
    assert_eq!(code(&body), "invalid_state");
    assert_eq!(app.count("instagram_connections").await, 1);
}

#[tokio::test]
async fn access_denied_is_400_stores_nothing_and_spends_the_state() {
    let (app, meta) = spawn_with_meta().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&meta)
        .await;
    let user = app.profiled_user("ada@example.com").await;
    let (_, state) = app.start_connect(&user.access).await;
    let (status, body) = app
        .instagram_callback(&format!(
            "error=access_denied&error_reason=user_denied&error_description=Permissions+error&state={state}"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "access_denied");
    assert_eq!(app.count("instagram_connections").await, 0);
    let (status, _) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn meta_failing_during_the_exchange_is_502_and_stores_nothing() {
    let (app, meta) = spawn_with_meta().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/oauth/access_token"))
        .respond_with(ResponseTemplate::new(503).set_body_string("meta is down"))
        .mount(&meta)
        .await;
    let user = app.profiled_user("ada@example.com").await;
    let (_, state) = app.start_connect(&user.access).await;
    let (status, body) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(code(&body), "meta_unavailable");
    assert!(!body.to_string().contains("meta is down"));
    assert_eq!(app.count("instagram_connections").await, 0);
}

#[tokio::test]
async fn generating_previewing_editing_listing_and_withdrawing_never_reach_media_publish() {
    let (app, meta) = spawn_with_meta().await;
    mount_login(&meta).await;
    forbid_publishing(&meta).await;
    let user = app.profiled_user("ada@example.com").await;
    let (_, state) = app.start_connect(&user.access).await;
    let (_, connected) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    let account = connected["accounts"][0]["id"].as_str().unwrap().to_owned();

    let post = app.generated(&user.access).await;
    let id = post["id"].as_str().unwrap();
    assert_eq!(post["instagram_account_id"], account.as_str());
    app.get_post(&user.access, id).await;
    app.list_posts(&user.access, "").await;
    let (_, edited) = app
        .patch_post(
            &user.access,
            id,
            &json!({"caption": "Edited before anyone approved"}),
        )
        .await;
    // A scheduled approval, withdrawn before its time.
    let at = (app.clock.now() + Duration::days(1)).to_rfc3339();
    let (status, _) = app
        .click(
            &user.access,
            id,
            &json!({"content_hash": edited["content_hash"], "instagram_account_id": account, "scheduled_for": at}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = app.withdraw(&user.access, id).await;
    assert_eq!(status, StatusCode::OK);
    app.get_post(&user.access, id).await;
    app.consent(&user.access, id).await;
    // Give anything running in the background a chance to misbehave.
    tokio::time::sleep(StdDuration::from_millis(50)).await;
    meta.verify().await;
}

#[tokio::test]
async fn reconnecting_an_account_that_needs_it_reactivates_it_and_requeues_its_waiting_posts() {
    let (app, meta) = spawn_with_meta().await;
    mount_login(&meta).await;
    let user = app.profiled_user("ada@example.com").await;
    let (_, state) = app.start_connect(&user.access).await;
    let (_, connected) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    let account = connected["accounts"][0]["id"].as_str().unwrap().to_owned();
    let post = app.generated(&user.access).await;
    let id = post["id"].as_str().unwrap();
    let (status, _) = app.click_publish(&user.access, &post, &account).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // The worker met a code 190: the connection and the post wait for a reconnect.
    let owner: UserId = user.id.parse().unwrap();
    app.state
        .stores
        .connections
        .mark_needs_reconnect(owner, account.parse().unwrap())
        .await
        .unwrap();
    app.db
        .exec(format!(
            "UPDATE posts SET status = 'needs_reconnect' WHERE id = '{id}'"
        ))
        .await;
    app.db
        .exec("UPDATE publish_jobs SET state = 'cancelled'".to_owned())
        .await;
    assert_eq!(
        app.accounts(&user.access).await[0]["status"],
        "needs_reconnect"
    );

    let (_, state) = app.start_connect(&user.access).await;
    let (status, connected) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    assert_eq!(
        connected["accounts"][0]["id"],
        account.as_str(),
        "same connection, renewed"
    );
    assert_eq!(connected["accounts"][0]["status"], "active");
    let (_, resumed) = app.get_post(&user.access, id).await;
    assert_eq!(resumed["status"], "approved", "its consent still matches");
    assert_eq!(resumed["job"]["state"], "queued");
    assert_eq!(app.count("instagram_connections").await, 1);
}

#[tokio::test]
async fn a_scheduled_approval_whose_time_passed_while_disconnected_is_not_published_on_reconnect() {
    let (app, meta) = spawn_with_meta().await;
    mount_login(&meta).await;
    forbid_publishing(&meta).await;
    let user = app.profiled_user("ada@example.com").await;
    let (_, state) = app.start_connect(&user.access).await;
    let (_, connected) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    let account = connected["accounts"][0]["id"].as_str().unwrap().to_owned();
    let owner: UserId = user.id.parse().unwrap();
    let at = app.clock.now() + Duration::minutes(5);
    // Two posts: one scheduled in five minutes, one in two days.
    let mut ids = Vec::new();
    for when in [at, app.clock.now() + Duration::days(2)] {
        let post = app.generated(&user.access).await;
        let (status, body) = app
            .click(
                &user.access,
                post["id"].as_str().unwrap(),
                &json!({"content_hash": post["content_hash"], "instagram_account_id": account,
                        "scheduled_for": when.to_rfc3339()}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        ids.push(post["id"].as_str().unwrap().to_owned());
    }
    // The token died before either was due: both wait for a reconnect.
    app.state
        .stores
        .connections
        .mark_needs_reconnect(owner, account.parse().unwrap())
        .await
        .unwrap();
    for id in &ids {
        app.db
            .exec(format!(
                "UPDATE posts SET status = 'needs_reconnect' WHERE id = '{id}'"
            ))
            .await;
    }
    // The owner reconnects ten minutes later (within the session's lifetime): the first
    // post's time has passed.
    app.clock.advance(Duration::minutes(10));

    let (_, state) = app.start_connect(&user.access).await;
    let (status, connected) = app
        .instagram_callback(&format!("code={CODE}&state={state}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{connected}");

    let (_, missed) = app.get_post(&user.access, &ids[0]).await;
    assert_eq!(missed["status"], "ready", "{missed}");
    assert_eq!(missed["consent"], Value::Null);
    assert_eq!(missed["job"], Value::Null, "nothing will publish it");
    assert_eq!(missed["failure"]["code"], "schedule_missed");
    assert_eq!(missed["failure"]["retryable"], true);
    assert!(
        missed["failure"]["message"]
            .as_str()
            .unwrap()
            .contains(&at.format("%Y-%m-%d %H:%M UTC").to_string()),
        "{missed}"
    );
    let (_, later) = app.get_post(&user.access, &ids[1]).await;
    assert_eq!(later["status"], "approved", "its time is still ahead");
    assert_eq!(later["job"]["state"], "queued");
    assert_eq!(later["failure"], Value::Null);
    assert_eq!(app.count("publish_jobs").await, 1);
}

#[tokio::test]
async fn disconnecting_deletes_the_token_and_withdraws_posts_queued_for_the_account() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    app.click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(app.count("publish_jobs").await, 1);

    let (status, _) = parts(
        app.call(
            Method::DELETE,
            &format!("/v1/instagram/accounts/{}", flow.account_id),
            &flow.user.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.count("instagram_connections").await, 0);
    assert_eq!(app.count("publish_jobs").await, 0);
    let (_, withdrawn) = app
        .get_post(&flow.user.access, post["id"].as_str().unwrap())
        .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(withdrawn["consent"], Value::Null);
    assert_eq!(app.accounts(&flow.user.access).await, json!([]));

    let (status, _) = parts(
        app.call(
            Method::DELETE,
            &format!("/v1/instagram/accounts/{}", flow.account_id),
            &flow.user.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sandbox_connecting_needs_no_meta_and_says_it_is_a_sandbox() {
    let app = spawn_app().await;
    let user = app.profiled_user("ada@example.com").await;
    let (url, _) = app.start_connect(&user.access).await;
    assert_eq!(url.path(), "/v1/instagram/callback", "our own callback");
    let account = app.connect_sandbox(&user).await;
    assert!(
        account["ig_user_id"]
            .as_str()
            .unwrap()
            .starts_with("sandbox-")
    );
    assert_eq!(account["page_name"], "Sandbox Page");
    assert_eq!(account["sandbox"], true);
    // Connecting again renews the same sandbox account.
    let again = app.connect_sandbox(&user).await;
    assert_eq!(again["id"], account["id"]);
    assert_eq!(
        app.accounts(&user.access).await.as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn the_sandbox_publisher_runs_the_container_lifecycle_and_publishes_once() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let owner: UserId = flow.user.id.parse().unwrap();
    let key = app.image_key(owner, post["id"].as_str().unwrap()).await;
    let account = PublishAccount {
        ig_user_id: IgUserId::parse(&flow.ig_user_id).unwrap(),
        access_token: SecretString::from("sandbox-token"),
    };
    let spec = ContainerSpec {
        kind: MediaKind::Image,
        caption: Some("Fresh simit #simit".to_owned()),
        alt_text: Some("Bread rings".to_owned()),
        items: vec![MediaSource {
            url: app
                .state
                .media_links
                .sign(&key, StdDuration::from_secs(3600)),
            is_video: false,
        }],
    };
    let publisher = &app.state.publisher;

    let container = publisher.create_container(&account, &spec).await.unwrap();
    let early = publisher.publish(&account, &container).await.unwrap_err();
    assert_eq!(early.kind, PublishErrorKind::NotReady);
    assert_eq!(
        publisher
            .container_status(&account, &container)
            .await
            .unwrap(),
        ContainerStatus::InProgress
    );
    assert_eq!(
        publisher
            .container_status(&account, &container)
            .await
            .unwrap(),
        ContainerStatus::Finished
    );
    let before = publisher.publishing_quota(&account).await.unwrap();
    assert_eq!((before.used, before.total), (0, 50));

    let media_id = match publisher.publish(&account, &container).await.unwrap() {
        PublishResult::Published { media_id } => media_id,
        other => panic!("expected a publication, got {other:?}"),
    };
    assert!(media_id.starts_with("sandbox-"));
    assert_eq!(
        publisher.publish(&account, &container).await.unwrap(),
        PublishResult::AlreadyPublished,
        "a second publish never posts twice"
    );
    assert_eq!(
        publisher
            .container_status(&account, &container)
            .await
            .unwrap(),
        ContainerStatus::Published
    );
    assert_eq!(publisher.publishing_quota(&account).await.unwrap().used, 1);
    let permalink = publisher
        .permalink(&account, &media_id)
        .await
        .unwrap()
        .unwrap();
    assert!(permalink.starts_with(&format!("{PUBLIC_URL}/sandbox/instagram/sandbox-")));
    let (status, page) = parts(
        app.client
            .get(app.url(&format!("/sandbox/instagram/{media_id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["caption"], "Fresh simit #simit");
    assert_eq!(page["sandbox"], true);
}

#[tokio::test]
async fn the_sandbox_publisher_refuses_foreign_expired_or_missing_media_and_real_accounts() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let owner: UserId = flow.user.id.parse().unwrap();
    let key = app.image_key(owner, post["id"].as_str().unwrap()).await;
    let account = PublishAccount {
        ig_user_id: IgUserId::parse(&flow.ig_user_id).unwrap(),
        access_token: SecretString::from("sandbox-token"),
    };
    let spec = |url: String| ContainerSpec {
        kind: MediaKind::Image,
        caption: Some("caption".to_owned()),
        alt_text: None,
        items: vec![MediaSource {
            url,
            is_video: false,
        }],
    };
    let publisher = &app.state.publisher;
    let link = app.state.media_links.sign(&key, StdDuration::from_secs(60));

    let foreign = publisher
        .create_container(
            &account,
            &spec("https://elsewhere.example/x.jpg".to_owned()),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        foreign.kind,
        PublishErrorKind::InvalidMedia { .. }
    ));
    let missing = MediaKey::new(owner, "gone.jpg").unwrap();
    let gone = publisher
        .create_container(
            &account,
            &spec(
                app.state
                    .media_links
                    .sign(&missing, StdDuration::from_secs(60)),
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(gone.kind, PublishErrorKind::InvalidMedia { .. }));
    let real = PublishAccount {
        ig_user_id: IgUserId::parse(IG_USER).unwrap(),
        access_token: SecretString::from("x"),
    };
    let refused = publisher
        .create_container(&real, &spec(link.clone()))
        .await
        .unwrap_err();
    assert_eq!(refused.kind, PublishErrorKind::Invalid);
    app.clock.advance(Duration::minutes(2));
    let expired = publisher
        .create_container(&account, &spec(link))
        .await
        .unwrap_err();
    assert!(matches!(
        expired.kind,
        PublishErrorKind::InvalidMedia { .. }
    ));
    assert!(
        publisher
            .container_status(&account, &ContainerId::new("sandbox-container-1"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_sandbox_publisher_stops_at_its_daily_quota() {
    let app = spawn_app_with(|config| config.daily_publish_limit = 1).await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let owner: UserId = flow.user.id.parse().unwrap();
    let key = app.image_key(owner, post["id"].as_str().unwrap()).await;
    let account = PublishAccount {
        ig_user_id: IgUserId::parse(&flow.ig_user_id).unwrap(),
        access_token: SecretString::from("sandbox-token"),
    };
    let spec = ContainerSpec {
        kind: MediaKind::Image,
        caption: None,
        alt_text: None,
        items: vec![MediaSource {
            url: app
                .state
                .media_links
                .sign(&key, StdDuration::from_secs(3600)),
            is_video: false,
        }],
    };
    let publisher = &app.state.publisher;
    let mut ready = Vec::new();
    for _ in 0..2 {
        let container = publisher.create_container(&account, &spec).await.unwrap();
        publisher
            .container_status(&account, &container)
            .await
            .unwrap();
        ready.push(container);
    }
    assert!(matches!(
        publisher.publish(&account, &ready[0]).await.unwrap(),
        PublishResult::Published { .. }
    ));
    let spent = publisher.publish(&account, &ready[1]).await.unwrap_err();
    assert!(matches!(spent.kind, PublishErrorKind::PublishLimit { .. }));
    app.clock.advance(Duration::hours(25));
    assert!(matches!(
        publisher.publish(&account, &ready[1]).await.unwrap(),
        PublishResult::Published { .. }
    ));
}

#[tokio::test]
async fn connecting_outside_the_sandbox_without_a_meta_app_is_503() {
    let app = spawn_app_with(|config| {
        config.sandbox = false;
        config.meta.app_id = None;
        config.meta.app_secret = None;
    })
    .await;
    let user = app.profiled_user("ada@example.com").await;
    let (status, body) = parts(
        app.call(Method::POST, "/v1/instagram/connect", &user.access, None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(code(&body), "instagram_unavailable");
}
