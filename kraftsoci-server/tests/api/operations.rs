//! Issue 18's operator-facing behaviour: `/metrics` (off unless a token is configured, then
//! only for that token; request series by route template, publish jobs and posts from the
//! database, usage-log counters), production sign-up closed until a policy is published, and
//! an unreachable database named by its cause and address.

use std::sync::Arc;

use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::{TestApp, code, parts, signup_body, spawn_app_on, spawn_app_with};
use crate::support::TestDb;
use crate::web_session::ensure_policy;

const METRICS_TOKEN: &str = "scraper-token-0123456789abcdef0123456789";

async fn with_metrics(db: TestDb) -> TestApp {
    spawn_app_on(
        db,
        |config| config.metrics.token = Some(SecretString::from(METRICS_TOKEN.to_owned())),
        |builder| builder,
    )
    .await
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, String) {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_do_not_exist_without_a_token() {
    let app = spawn_app_with(|_| {}).await;
    let (status, _) = scrape(&app, Some(METRICS_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_on_sqlite_count_requests_by_route_and_read_the_database() {
    metrics_count_requests_by_route_and_read_the_database(
        with_metrics(TestDb::sqlite().await).await,
    )
    .await;
}

#[tokio::test]
async fn metrics_on_postgres_count_requests_by_route_and_read_the_database() {
    metrics_count_requests_by_route_and_read_the_database(
        with_metrics(TestDb::postgres().await).await,
    )
    .await;
}

async fn metrics_count_requests_by_route_and_read_the_database(app: TestApp) {
    for wrong in [None, Some("wrong-token"), Some("")] {
        let (status, body) = scrape(&app, wrong).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert!(!body.contains("kraftsoci_http_requests_total"));
    }
    let user = app.flow_user("ada@example.com").await;
    let post = app.generated(&user.user.access).await;
    let id = post["id"].as_str().unwrap();
    for _ in 0..3 {
        let (status, _) = app.get_post(&user.user.access, id).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _) = app
        .click_publish(&user.user.access, &post, &user.account_id)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.state.usage.flush().await;

    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let reads = "method=\"GET\",route=\"/v1/posts/{id}\",status=\"200\"";
    // Three reads here, and the one `generated` makes once the background generation is done.
    assert!(
        text.contains(&format!("kraftsoci_http_requests_total{{{reads}}} 4\n")),
        "{text}"
    );
    assert!(text.contains(&format!(
        "kraftsoci_http_request_duration_seconds_count{{{reads}}} 4\n"
    )));
    assert!(!text.contains(id), "route templates, never raw paths");
    assert!(text.contains("kraftsoci_database_up 1\n"));
    assert!(
        text.contains("kraftsoci_publish_jobs{state=\"queued\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("kraftsoci_publish_queue_due 1\n"));
    assert!(text.contains("kraftsoci_posts{status=\"approved\"} 1\n"));
    assert!(text.contains("kraftsoci_usage_log_events_dropped_total 0\n"));
    let written = text
        .lines()
        .find_map(|l| l.strip_prefix("kraftsoci_usage_log_events_written_total "))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap();
    assert!(written >= 5, "{written}");
    assert!(text.contains("kraftsoci_password_jobs_refused_total 0\n"));
    assert!(text.contains("kraftsoci_db_pool_max_connections "));
    assert!(!text.contains(METRICS_TOKEN));
    let logged = app
        .db
        .strings("SELECT route FROM usage_log WHERE route = '/metrics'".to_owned())
        .await;
    assert!(logged.is_empty(), "a scrape is not user activity");
}

#[tokio::test]
async fn production_sign_up_is_closed_until_a_policy_is_published() {
    let app = spawn_app_with(|config| {
        config.environment = kraftsoci_server::config::Environment::Production;
    })
    .await;
    let (status, body) = parts(app.signup(&signup_body("ada@example.com")).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "signup_closed");
    let page = app.client.get(app.url("/sign-up")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    ensure_policy(&app).await;
    let (status, body) = parts(app.signup(&signup_body("ada@example.com")).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn an_unreachable_database_is_named_by_its_cause_and_address_without_the_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = kraftsoci_server::config::DatabaseUrl::parse(&format!(
        "postgres://app:hunter2@127.0.0.1:{port}/kraftsoci"
    ))
    .unwrap();
    let error = kraftsoci_server::store::connect(&url, Arc::new(kraftsoci_core::SystemClock))
        .await
        .expect_err("nothing listens there");
    let message = format!("{error:#}");
    assert!(
        message.contains(&format!("connection refused to 127.0.0.1:{port}")),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}
