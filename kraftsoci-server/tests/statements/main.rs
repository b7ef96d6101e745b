//! Statements per request: a list page costs a fixed number of SQL statements whatever its
//! size, on SQLite and on PostgreSQL, so that N+1 lookups (one query per post) cannot come
//! back unnoticed.
//!
//! Every statement sqlx runs emits one `tracing` event on the `sqlx::query` target (on
//! SQLite from the connection's worker thread, before the result is handed back). This
//! binary installs a process-wide subscriber that counts them; it holds a single test so
//! that nothing else runs statements meanwhile (the server's publish worker and retention
//! sweep are off in tests, and the usage log is flushed inside each measured window).

#[path = "../support/mod.rs"]
mod support;

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

#[path = "../support/web.rs"]
mod web_session;

use std::sync::{Arc, Mutex, OnceLock};

use kraftsoci_core::ports::{MediaKey, PostMedia, StoredImage};
use kraftsoci_core::{Caption, Clock as _, MediaDigest, MediaKind, Post, PostContent, UserId};
use reqwest::StatusCode;
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::helpers::{TestApp, parts, spawn_app_on};
use crate::support::TestDb;

/// The data statements seen (their summaries), connection set-up left out.
static STATEMENTS: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();

struct Counting(Arc<Mutex<Vec<String>>>);

struct Summary(Option<String>);

impl Visit for Summary {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Counting {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut summary = Summary(None);
        event.record(&mut summary);
        let summary = summary.0.unwrap_or_default();
        // Connection set-up (PRAGMA, SET) depends on when the pool opens a connection, not on
        // the request.
        let first = summary
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if matches!(first.as_str(), "PRAGMA" | "SET" | "SHOW") {
            return;
        }
        self.0.lock().unwrap().push(summary);
    }
}

fn statements() -> &'static Arc<Mutex<Vec<String>>> {
    STATEMENTS.get_or_init(|| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        tracing_subscriber::registry()
            .with(Counting(Arc::clone(&seen)))
            .init();
        seen
    })
}

/// The statements `GET /v1/posts{query}` runs, and its body. The usage log is flushed before
/// and inside the window, so the request's own usage event is counted, once.
async fn measure(app: &TestApp, access: &str, query: &str) -> (Vec<String>, Value) {
    measure_get(app, access, &format!("/v1/posts{query}")).await
}

/// The statements `GET {path}` runs, and its body (see [`measure`]).
async fn measure_get(app: &TestApp, access: &str, path: &str) -> (Vec<String>, Value) {
    app.state.usage.flush().await;
    statements().lock().unwrap().clear();
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let (status, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.state.usage.flush().await;
    let seen = statements().lock().unwrap().clone();
    (seen, body)
}

async fn add_posts(app: &TestApp, owner: UserId, count: usize) {
    for n in 0..count {
        let content = PostContent {
            caption: Caption::parse(&format!("Fresh simit, batch {n}")).unwrap(),
            hashtags: Vec::new(),
            alt_text: None,
            media_kind: MediaKind::Image,
            media: vec![MediaDigest::of(format!("image {n}").as_bytes())],
            target: None,
        };
        let post = Post::generated(owner, content, app.clock.now()).unwrap();
        let key = MediaKey::new(owner, &format!("{}.jpg", post.id())).unwrap();
        app.state
            .stores
            .posts
            .insert_post(
                post.snapshot(),
                &PostMedia {
                    topic: Some(format!("topic {n}")),
                    image: Some(StoredImage {
                        key,
                        width: 1080,
                        height: 1350,
                    }),
                    sandbox: false,
                },
            )
            .await
            .unwrap();
        app.clock.advance(chrono::Duration::milliseconds(1));
    }
}

async fn a_list_page_costs_the_same_statements_whatever_its_size(db: TestDb) {
    let engine = format!("{:?}", db.backend());
    let app = spawn_app_on(db, |_| {}, |builder| builder).await;
    let user = app.signup_user("ada@example.com").await;
    let owner = UserId::from_uuid(user.id.parse().unwrap());

    add_posts(&app, owner, 1).await;
    // Warm up: the pool's connections are open before anything is counted.
    for _ in 0..3 {
        measure(&app, &user.access, "?limit=20").await;
    }
    let (one, body) = measure(&app, &user.access, "?limit=20").await;
    assert_eq!(body["posts"].as_array().unwrap().len(), 1);
    assert_eq!(body["posts"][0]["topic"], "topic 0", "{body}");

    add_posts(&app, owner, 44).await;
    let (twenty, body) = measure(&app, &user.access, "?limit=20").await;
    let page = body["posts"].as_array().unwrap();
    assert_eq!(page.len(), 20);
    assert!(
        page.iter()
            .all(|p| p["topic"].as_str().is_some() && p["image_url"].is_string()),
        "every post carries its media: {body}"
    );
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let (next, body) = measure(&app, &user.access, &format!("?limit=20&cursor={cursor}")).await;
    assert_eq!(body["posts"].as_array().unwrap().len(), 20);
    let (hundred, body) = measure(&app, &user.access, "?limit=100").await;
    assert_eq!(body["posts"].as_array().unwrap().len(), 45);

    // The same statements (their `IN` lists are as long as the page).
    for (label, other) in [
        ("1 post", &one),
        ("next page", &next),
        ("45 posts", &hundred),
    ] {
        assert_eq!(
            other.len(),
            twenty.len(),
            "{engine}, {label}: {other:#?} vs 20 posts: {twenty:#?}"
        );
    }
    // On the request path: one statement, the session check with the page and its media,
    // connections and jobs joined (24 statements before the media lookups were batched, 4
    // before they were joined, 2 before the session check came with the page); besides, the
    // usage event, written in a batch after the response. `benches/src/bare.rs` runs this
    // statement as its "same statements" ceiling, and the session check and the page as two
    // statements as its "split" one.
    let (usage, request): (Vec<&String>, Vec<&String>) = twenty
        .iter()
        .partition(|s| s.starts_with("INSERT INTO usage_log"));
    assert_eq!(request.len(), 1, "{engine}: {twenty:#?}");
    assert!(
        request[0].starts_with("WITH s AS MATERIALIZED"),
        "{engine}: the statement is the session check with the page: {twenty:#?}"
    );
    assert_eq!(usage.len(), 1, "{engine}: {twenty:#?}");
    // For the record (`--nocapture`): docs/performance.md quotes these.
    println!(
        "{engine}: {} statements per page: {twenty:#?}",
        twenty.len()
    );
}

/// `GET /v1/me` checks the session and reads the account and its notification choices in one
/// statement; the only other one is its usage event, written in a batch after the response.
async fn the_account_comes_with_the_session_check(db: TestDb) {
    let engine = format!("{:?}", db.backend());
    let app = spawn_app_on(db, |_| {}, |builder| builder).await;
    let user = app.signup_user("grace@example.com").await;
    let (status, body) = parts(
        app.client
            .put(app.url("/v1/me/preferences"))
            .bearer_auth(&user.access)
            .json(&serde_json::json!({
                "time_zone": "America/New_York",
                "notifications": {"published": {"mail": false, "in_app": true}}
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in 0..3 {
        measure_get(&app, &user.access, "/v1/me").await;
    }
    let (seen, body) = measure_get(&app, &user.access, "/v1/me").await;
    assert_eq!(body["email"], "grace@example.com", "{body}");
    // The saved choices come with the same statement.
    assert_eq!(
        body["preferences"]["time_zone"], "America/New_York",
        "{body}"
    );
    assert_eq!(
        body["preferences"]["notifications"]["published"]["mail"], false,
        "{body}"
    );
    let (usage, request): (Vec<&String>, Vec<&String>) = seen
        .iter()
        .partition(|s| s.starts_with("INSERT INTO usage_log"));
    // The account and its notification choices (issue 15) with the session check: one
    // statement. sqlx's summary is the statement's start: the account's columns. That the
    // same statement checks the session is shown by the refusal after logout below.
    assert_eq!(request.len(), 1, "{engine}: {seen:#?}");
    assert!(
        request[0].starts_with("SELECT id, name, email"),
        "{engine}: the one statement reads the account: {seen:#?}"
    );
    assert_eq!(usage.len(), 1, "{engine}: {seen:#?}");

    // Revocation stays immediate (tests/api/revocation.rs has every case): after logout the
    // same access token is refused at once.
    assert_eq!(
        app.logout(&user.refresh).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get_me(&user.access).await.status(),
        StatusCode::UNAUTHORIZED,
        "{engine}"
    );
}

/// A login the full password pool refuses is refused before the account is read: during a
/// storm the excess costs no database round trip and is answered at once (issue 17's 100 ms
/// shedding goal). Its only statement is its usage event (a security event), written in a
/// batch after the response. A login the pool admits reads the account as before.
async fn a_login_refused_by_a_full_pool_reads_nothing(db: TestDb) {
    let engine = format!("{:?}", db.backend());
    let app = spawn_app_on(
        db,
        |config| {
            config.password_threads = Some(1);
            config.password_queue = Some(1);
        },
        |builder| builder,
    )
    .await;
    app.signup_user("lin@example.com").await;
    let login = serde_json::json!({"email": "lin@example.com", "password": helpers::PASSWORD});
    let send = || async {
        app.state.usage.flush().await;
        statements().lock().unwrap().clear();
        let response = app
            .client
            .post(app.url("/v1/auth/login"))
            .json(&login)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let retry = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .cloned();
        app.state.usage.flush().await;
        (status, retry, statements().lock().unwrap().clone())
    };

    let pool = app.state.auth.hasher().pool();
    let holds = [pool.hold().unwrap(), pool.hold().unwrap()];
    let (status, retry, seen) = send().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{engine}");
    assert!(retry.is_some(), "{engine}: a refusal says when to retry");
    let (usage, request): (Vec<&String>, Vec<&String>) = seen
        .iter()
        .partition(|s| s.starts_with("INSERT INTO usage_log"));
    assert!(
        request.is_empty(),
        "{engine}: a refused login must not read the account: {seen:#?}"
    );
    assert_eq!(usage.len(), 1, "{engine}: the refusal is logged: {seen:#?}");
    assert_eq!(pool.in_pool(), 2, "{engine}: the refusal holds no place");

    drop(holds);
    let (status, _, seen) = send().await;
    assert_eq!(status, StatusCode::OK, "{engine}: {seen:#?}");
    assert!(
        seen.iter().any(|s| s.contains("password_hash")),
        "{engine}: an admitted login reads the stored hash: {seen:#?}"
    );
    assert_eq!(pool.in_pool(), 0, "{engine}: the place is free again");
}

/// The statements a page of the owner's web app runs (cookie session), and its HTML.
async fn measure_page(app: &TestApp, cookie: &str, path: &str) -> (Vec<String>, String) {
    app.state.usage.flush().await;
    statements().lock().unwrap().clear();
    let response = app
        .client
        .get(app.url(path))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let html = response.text().await.unwrap();
    app.state.usage.flush().await;
    let seen = statements().lock().unwrap().clone();
    (seen, html)
}

/// The web app's posts list and calendar read their posts with media, connection and job
/// joined, like the API's list: the list page costs the same statements for 1 post and for a
/// full page (it ran 6 before: the page, then the connections, the media and the jobs of the
/// page, apart).
async fn the_web_list_and_calendar_cost_the_same_statements_whatever_their_size(db: TestDb) {
    let engine = format!("{:?}", db.backend());
    let app = spawn_app_on(db, |_| {}, |builder| builder).await;
    let browser = web_session::browser_sign_up(&app, "mary@example.com", helpers::PASSWORD).await;
    let owner = app
        .state
        .stores
        .auth
        .credentials_by_email("mary@example.com")
        .await
        .unwrap()
        .unwrap()
        .user;
    add_posts(&app, owner, 1).await;
    for _ in 0..3 {
        measure_page(&app, &browser.cookie, "/posts").await;
    }
    let (one, html) = measure_page(&app, &browser.cookie, "/posts").await;
    assert!(html.contains("topic 0"), "{engine}: the post is listed");
    add_posts(&app, owner, 30).await;
    let (full, html) = measure_page(&app, &browser.cookie, "/posts").await;
    assert!(
        html.contains("topic 29"),
        "{engine}: the newest post is listed"
    );
    assert_eq!(
        one.len(),
        full.len(),
        "{engine}: 1 post: {one:#?} vs a full page: {full:#?}"
    );
    let request: Vec<&String> = full
        .iter()
        .filter(|s| !s.starts_with("INSERT INTO usage_log"))
        .collect();
    assert!(
        request
            .iter()
            .any(|s| s.starts_with("SELECT p.id, p.owner_id")),
        "{engine}: the page is one joined statement: {full:#?}"
    );
    assert!(
        request.len() <= 3,
        "{engine}: session, the joined page and the account names: {full:#?}"
    );
    let (week, _) = measure_page(&app, &browser.cookie, "/calendar").await;
    let week_reads: Vec<&String> = week
        .iter()
        .filter(|s| !s.starts_with("INSERT INTO usage_log"))
        .collect();
    assert!(
        week_reads.len() <= 4,
        "{engine}: the session and one joined page per shown status: {week:#?}"
    );
    println!(
        "{engine}: web list {} statements, calendar {}",
        full.len(),
        week.len()
    );
}

#[tokio::test]
async fn list_pages_run_a_fixed_number_of_statements_on_both_engines() {
    statements();
    a_list_page_costs_the_same_statements_whatever_its_size(TestDb::sqlite().await).await;
    a_list_page_costs_the_same_statements_whatever_its_size(TestDb::postgres().await).await;
    // In the same test: this binary counts every statement of the process.
    the_account_comes_with_the_session_check(TestDb::sqlite().await).await;
    the_account_comes_with_the_session_check(TestDb::postgres().await).await;
    a_login_refused_by_a_full_pool_reads_nothing(TestDb::sqlite().await).await;
    a_login_refused_by_a_full_pool_reads_nothing(TestDb::postgres().await).await;
    the_web_list_and_calendar_cost_the_same_statements_whatever_their_size(TestDb::sqlite().await)
        .await;
    the_web_list_and_calendar_cost_the_same_statements_whatever_their_size(
        TestDb::postgres().await,
    )
    .await;
}
