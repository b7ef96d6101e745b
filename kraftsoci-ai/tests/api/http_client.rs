//! Bring your own HTTP client: `OpenAiGenerator::with_http_client`.

use std::time::Duration;

use kraftsoci_ai::{AiError, Moderation, OpenAiGenerator, RetryPolicy, Timeouts};
use reqwest::header::{HeaderMap, HeaderValue};
use tokio::time::Instant;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// A client as an embedder would build it: its own default header (as a proxy might demand)
/// and its own user agent.
fn embedders_client() -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("x-embedder-route", HeaderValue::from_static("eu-proxy-7"));
    reqwest::Client::builder()
        .default_headers(headers)
        .user_agent("bakery-suite/2.1")
        .build()
        .expect("a client")
}

async fn generator_with_embedders_client(server: &MockServer) -> OpenAiGenerator {
    OpenAiGenerator::new(config(server))
        .expect("valid test config")
        .with_http_client(embedders_client())
}

async fn clean_moderation(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(MODERATIONS))
        .respond_with(ModerationResponder::flagging(&[]))
        .mount(server)
        .await;
}

#[tokio::test]
async fn every_request_goes_through_the_supplied_client() {
    let server = MockServer::start().await;
    clean_moderation(&server).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .and(header("x-embedder-route", "eu-proxy-7"))
        .and(header(
            "authorization",
            format!("Bearer {TEST_KEY}").as_str(),
        ))
        .respond_with(chat_post(&post("Warm simit at 7.", &["simit"])))
        .expect(1)
        .mount(&server)
        .await;
    let generator = generator_with_embedders_client(&server).await;

    let text = generator.write_post(&request()).await.unwrap();

    assert_eq!(text.caption.as_str(), "Warm simit at 7.");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3, "moderation, chat, moderation");
    for request in &requests {
        assert_eq!(request.headers["x-embedder-route"], "eu-proxy-7");
        assert_eq!(request.headers["user-agent"], "bakery-suite/2.1");
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {TEST_KEY}").as_str()
        );
        assert_eq!(request.headers["content-type"], "application/json");
    }
}

#[tokio::test]
async fn the_built_in_client_names_itself_and_carries_no_embedder_header() {
    let app = spawn_openai().await;
    app.chat_answers(chat_post(&post("Warm simit at 7.", &["simit"])))
        .await;

    app.generator.write_post(&request()).await.unwrap();

    for request in app.server.received_requests().await.unwrap() {
        let agent = request.headers["user-agent"].to_str().unwrap();
        assert!(agent.starts_with("kraftsoci-ai/"), "{agent}");
        assert!(!request.headers.contains_key("x-embedder-route"));
    }
}

#[tokio::test]
async fn the_built_in_client_follows_no_redirect() {
    let app = spawn_with(|config| config.with_moderation(Moderation::disabled())).await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(chat_post(&post("Warm simit at 7.", &["simit"])))
        .expect(0)
        .mount(&elsewhere)
        .await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "location",
            format!("{}/v1/chat/completions", elsewhere.uri()),
        ))
        .expect(1)
        .mount(&app.server)
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();

    assert!(
        matches!(error, AiError::Rejected { status: 307, .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_per_attempt_deadline_also_bounds_a_supplied_client() {
    // The supplied client has no timeout at all; the generator's deadline still ends each
    // attempt (on paused time it fires as soon as the runtime waits on the mock server).
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(chat_post(&post("late", &[])).set_delay(Duration::from_secs(60)))
        .mount(&server)
        .await;
    let generator = OpenAiGenerator::new(
        config(&server)
            .with_timeouts(Timeouts::all(Duration::from_secs(10)))
            .with_moderation(Moderation::disabled())
            .with_retry(RetryPolicy::default().with_max_attempts(2)),
    )
    .unwrap()
    .with_http_client(embedders_client());

    let started = Instant::now();
    let error = generator.write_post(&request()).await.unwrap_err();

    assert!(
        matches!(&error, AiError::Unavailable { attempts: 2, reason } if reason.contains("timed out")),
        "{error:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(20));
}
