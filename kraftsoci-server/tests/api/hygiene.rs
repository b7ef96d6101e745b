//! Checklist rows 39 and 41, plus the headers every response carries.

use kraftsoci_server::config::{CorsConfig, CorsOrigins, Environment};
use kraftsoci_server::{Application, Error};
use reqwest::StatusCode;

use crate::helpers::{code, parts, spawn_app, spawn_app_with, test_config};
use crate::support::{TempDir, TestDb};

fn assert_no_leak(body: &serde_json::Value) {
    let text = body.to_string().to_lowercase();
    for leak in [
        "sqlx", "sqlite", "select ", "serde", "panicked", "stack", "line ", "column ",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[tokio::test]
async fn a_ten_megabyte_body_is_413() {
    let app = spawn_app().await;
    let huge = format!("{{\"email\": \"{}\"}}", "a".repeat(10 * 1024 * 1024));
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let (status, body) = parts(response).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    assert_no_leak(&body);
}

#[tokio::test]
async fn malformed_json_is_400_and_the_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let send = |content_type: Option<&'static str>, body: &'static str| {
        let mut request = app.client.post(app.url("/v1/auth/login")).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    let (status, body) = parts(
        send(Some("application/json"), "{\"email\": ")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    assert_no_leak(&body);

    let (status, body) = parts(send(Some("text/plain"), "{}").await.unwrap()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    let (status, _) = parts(send(None, "{}").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, body) = parts(
        send(
            Some("application/json"),
            "{\"email\": 5, \"password\": \"a secret value\"}",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
    assert!(
        !body.to_string().contains("secret value"),
        "input is not echoed"
    );
    assert_no_leak(&body);
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    for response in [
        app.healthz().await,
        app.client.get(app.url("/nowhere")).send().await.unwrap(),
        app.login("a@example.com", "x").await,
    ] {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(
            headers["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS over plain http in development"
        );
        assert_eq!(headers["x-request-id"].len(), 36);
    }
    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn production_responses_carry_hsts() {
    let app = spawn_app_with(|c| c.environment = Environment::Production).await;
    let response = app.healthz().await;
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
}

#[tokio::test]
async fn only_configured_origins_get_cors_headers() {
    let app = spawn_app_with(|c| {
        c.cors = CorsConfig {
            origins: CorsOrigins::List(vec!["https://app.example.com".to_owned()]),
            allow_credentials: false,
        };
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let simple = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(
        simple
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn without_configured_origins_no_response_allows_cross_origin_reads() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn startup_fails_fast_on_a_wildcard_origin_with_credentials() {
    let db = TestDb::sqlite().await;
    let (outbox, media) = (TempDir::new("outbox"), TempDir::new("media"));
    let mut config = test_config(&db, &outbox, &media);
    config.cors = CorsConfig {
        origins: CorsOrigins::Any,
        allow_credentials: true,
    };
    match Application::build(config).await {
        Err(Error::Config(error)) => assert_eq!(error.variable, "KRAFTSOCI_CORS_ORIGINS"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("the server started with `*` and credentials"),
    }
}
