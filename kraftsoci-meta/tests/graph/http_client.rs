//! A `reqwest::Client` the embedder supplies (`MetaClient::with_http_client`).

use std::time::Duration;

use kraftsoci_core::ports::{ContainerId, ContainerStatus};
use kraftsoci_meta::{MetaClient, MetaError, VideoFile};
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn embedder_client() -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("x-embedder", HeaderValue::from_static("bakery-app/2.1"));
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_supplied_http_client_sends_the_graph_calls_and_the_upload() {
    let graph = TestGraph::start().await;
    let client = MetaClient::new(config(&graph.server))
        .unwrap()
        .with_http_client(embedder_client());
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .and(query_param("fields", "status_code,status"))
        .and(header("x-embedder", "bakery-app/2.1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(status_body("c1", "FINISHED"))
        .expect(1)
        .mount(&graph.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/ig-api-upload/v25.0/c1"))
        .and(header("x-embedder", "bakery-app/2.1"))
        .and(header("authorization", format!("OAuth {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"success": true, "message": "Upload successful."})),
        )
        .expect(1)
        .mount(&graph.server)
        .await;
    let file = TempFile::with_bytes(b"a short clip");
    let container = ContainerId::new("c1");

    let status = client
        .container_status(&SecretString::from(TOKEN), &container)
        .await
        .unwrap();
    client
        .upload_video(
            &graph.account(),
            &container,
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap();

    assert_eq!(status, ContainerStatus::Finished);
    // Nothing went through the built-in client, whose User-Agent names this crate.
    for request in graph.requests().await {
        let agent = request
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(!agent.starts_with("kraftsoci-meta/"), "{agent}");
    }
}

#[tokio::test]
async fn the_built_in_client_names_this_crate_in_its_user_agent() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .and(header(
            "user-agent",
            concat!("kraftsoci-meta/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(status_body("c1", "IN_PROGRESS"))
        .expect(1)
        .mount(&graph.server)
        .await;

    let status = graph
        .client
        .container_status(&SecretString::from(TOKEN), &ContainerId::new("c1"))
        .await
        .unwrap();

    assert_eq!(status, ContainerStatus::InProgress);
}

#[tokio::test]
async fn the_request_deadline_holds_with_a_supplied_client_that_sets_none() {
    // Real time: the supplied client has no timeout; the configured 200 ms one still cuts the
    // call, long before the fake's 5 s answer.
    let graph = TestGraph::start().await;
    let client = MetaClient::new(
        config(&graph.server).with_request_timeout(Some(Duration::from_millis(200))),
    )
    .unwrap()
    .with_http_client(embedder_client());
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(status_body("c1", "FINISHED").set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = client
        .container_status(&SecretString::from(TOKEN), &ContainerId::new("c1"))
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            MetaError::Timeout {
                call: "container status"
            }
        ),
        "{error:?}"
    );
}
