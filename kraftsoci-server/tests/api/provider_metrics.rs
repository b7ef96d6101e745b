//! Issue 18's provider series on `/metrics`: Graph, OpenAI and Stripe calls counted by the
//! classification of their failures, generation latency and failures by reason — each driven
//! against a wiremock fake that fails in a known way, on both engines where storage matters.

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, parts, spawn_app_on};
use crate::support::TestDb;
use crate::worker::fast_config;
use kraftsoci_server::worker::{JobOutcome, Worker, WorkerDeps};

const METRICS_TOKEN: &str = "scraper-token-0123456789abcdef0123456789";
const APP_SECRET: &str = "meta-app-secret-for-metrics-tests";
const CODE: &str = "AQDmetrics-code-0001";
const SHORT_TOKEN: &str = "EAAmetrics-short-user-token";
const LONG_TOKEN: &str = "EAAmetrics-long-user-token";
const PAGE_TOKEN: &str = "EAAmetrics-page-token-simit";
const IG_USER: &str = "17841405822300099";

/// The value of the sample `name{labels}` in `text`, 0 when it is absent.
pub fn sample(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |value| value.parse().unwrap())
}

pub async fn scrape(app: &TestApp) -> String {
    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

fn token(config: &mut kraftsoci_server::config::Config) {
    config.metrics.token = Some(SecretString::from(METRICS_TOKEN.to_owned()));
}

// --- Graph: an expired token (190) on the first call of a publish ---

/// Meta answering Facebook Login with one Page that has an Instagram business account.
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
        ]})))
        .mount(meta)
        .await;
}

/// Connects the user's Instagram account through Facebook Login; returns its id.
async fn connect(app: &TestApp, access: &str) -> String {
    let (status, body) = parts(
        app.call(Method::POST, "/v1/instagram/connect", access, None)
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
    let (status, connected) = parts(
        app.client
            .get(app.url(&format!("/v1/instagram/callback?code={CODE}&state={state}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    connected["accounts"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_190_from_graph_is_counted_as_reconnect_needed_on_sqlite() {
    a_190_from_graph_is_counted_as_reconnect_needed(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn a_190_from_graph_is_counted_as_reconnect_needed_on_postgres() {
    a_190_from_graph_is_counted_as_reconnect_needed(TestDb::postgres().await).await;
}

async fn a_190_from_graph_is_counted_as_reconnect_needed(db: TestDb) {
    let meta = MockServer::start().await;
    let uri = Url::parse(&meta.uri()).unwrap();
    let app = spawn_app_on(
        db,
        |config| {
            token(config);
            config.sandbox = false;
            config.meta.app_id = Some("4242424242".to_owned());
            config.meta.app_secret = Some(SecretString::from(APP_SECRET));
            config.meta.graph_url = uri.clone();
            config.meta.dialog_url = uri;
        },
        |builder| builder,
    )
    .await;
    mount_login(&meta).await;
    // Every call about the Instagram account answers Graph's expired-token error.
    Mock::given(path_regex(format!("^/v25.0/{IG_USER}")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Error validating access token: Session has expired.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "AmetricsTrace"
        }})))
        .mount(&meta)
        .await;
    let user = app.profiled_user("ada@example.com").await;
    let account = connect(&app, &user.access).await;
    let post = app.generated(&user.access).await;
    let (status, clicked) = app.click_publish(&user.access, &post, &account).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{clicked}");

    let before = scrape(&app).await;
    assert!(
        !before.contains("provider=\"graph\""),
        "nothing reached Graph's publishing calls before the worker ran: {before}"
    );
    let worker = Worker::new(WorkerDeps::from_state(&app.state), fast_config());
    let report = worker
        .run_once()
        .await
        .unwrap()
        .expect("the click queued a job");
    assert!(
        matches!(report.outcome, JobOutcome::NeedsReconnect),
        "{report:?}"
    );

    let text = scrape(&app).await;
    let reconnects: u64 = text
        .lines()
        .filter(|l| {
            l.starts_with("kraftsoci_provider_calls_total{provider=\"graph\",")
                && l.contains("result=\"reconnect_needed\"}")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        reconnects, 1,
        "one call, refused with 190, then no retry: {text}"
    );
    assert!(
        !text.contains("provider=\"graph\",operation=\"publish\""),
        "media_publish was never reached: {text}"
    );
    assert!(!text.contains(PAGE_TOKEN) && !text.contains("AmetricsTrace"));
}

// --- OpenAI: a refused key; generation latency and failures by reason ---

#[tokio::test]
async fn a_refused_openai_key_fails_the_generation_and_is_counted_as_auth_on_sqlite() {
    a_refused_openai_key_is_counted_as_auth(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn a_refused_openai_key_fails_the_generation_and_is_counted_as_auth_on_postgres() {
    a_refused_openai_key_is_counted_as_auth(TestDb::postgres().await).await;
}

async fn a_refused_openai_key_is_counted_as_auth(db: TestDb) {
    let openai = MockServer::start().await;
    let base = Url::parse(&format!("{}/v1", openai.uri())).unwrap();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": "Incorrect API key provided: sk-te***00.",
            "type": "invalid_request_error",
            "param": null,
            "code": "invalid_api_key"
        }})))
        .expect(1)
        .mount(&openai)
        .await;
    let app = spawn_app_on(
        db,
        |config| {
            token(config);
            config.sandbox = false;
            config.openai.api_key = Some(SecretString::from("sk-test-metrics-0000"));
            config.openai.base_url = base;
        },
        |builder| builder,
    )
    .await;
    let user = app.profiled_user("ada@example.com").await;
    let (status, post) = app.generate(&user.access, "Our new sourdough").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{post}");
    assert_eq!(post["status"], "generation_failed", "{post}");

    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "kraftsoci_provider_calls_total{provider=\"openai\",operation=\"generate_text\",result=\"auth\"}"
        ),
        1,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "kraftsoci_generation_failures_total{kind=\"text\",reason=\"rejected\"}"
        ),
        1,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "kraftsoci_generation_duration_seconds_count{kind=\"text\"}"
        ),
        1,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "kraftsoci_generation_duration_seconds_bucket{kind=\"text\",le=\"+Inf\"}"
        ),
        1
    );
    assert!(
        !text.contains("kind=\"image\""),
        "no image after a failed text: {text}"
    );
    assert!(!text.contains("sk-test-metrics"));
}

#[tokio::test]
async fn a_successful_generation_lands_in_the_latency_histogram_without_failures() {
    let app = spawn_app_on(TestDb::sqlite().await, token, |builder| builder).await;
    let user = app.profiled_user("ada@example.com").await;
    app.generated(&user.access).await;
    let text = scrape(&app).await;
    for kind in ["text", "image"] {
        assert_eq!(
            sample(
                &text,
                &format!("kraftsoci_generation_duration_seconds_count{{kind=\"{kind}\"}}")
            ),
            1,
            "{text}"
        );
    }
    assert!(
        !text.contains("kraftsoci_generation_failures_total{"),
        "{text}"
    );
    assert!(
        !text.contains("provider=\"openai\""),
        "the sandbox's offline generator is no OpenAI call"
    );
}

// --- Stripe: a refused key on the first call of a checkout ---

#[tokio::test]
async fn a_refused_stripe_key_is_counted_as_auth() {
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": "Invalid API Key provided: sk_test_****7dc",
            "type": "invalid_request_error"
        }})))
        .expect(1)
        .mount(&stripe)
        .await;
    let api_base = Url::parse(&stripe.uri()).unwrap();
    let app = spawn_app_on(
        TestDb::sqlite().await,
        |config| {
            token(config);
            config.stripe.secret_key = Some(SecretString::from(
                "sk_test_kraftsoci_4eC39HqLyjWDarjtT1zdp7dc",
            ));
            config.stripe.api_base = api_base;
            config.billing.plans = kraftsoci_billing::PlanTable::from_json(
                r#"[{"name": "free", "monthly_posts": 3, "monthly_images": 1},
                    {"name": "pro", "price_id": "price_pro", "monthly_posts": 100, "monthly_images": 40}]"#,
            )
            .unwrap();
        },
        |builder| builder,
    )
    .await;
    let user = app.signup_user("ada@example.com").await;
    let response = app
        .client
        .post(app.url("/v1/billing/checkout"))
        .bearer_auth(&user.access)
        .json(&json!({"plan": "pro"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_server_error(), "{}", response.status());
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "kraftsoci_provider_calls_total{provider=\"stripe\",operation=\"create_customer\",result=\"auth\"}"
        ),
        1,
        "{text}"
    );
    assert!(!text.contains("4eC39HqLyjWDarjtT1zdp7dc"));
}
