//! The error envelope, its classification (every row of the contract's tables), usage headers
//! and `appsecret_proof`.

use std::time::Duration;

use kraftsoci_core::ports::ContainerId;
use kraftsoci_meta::{ErrorKind, MetaClient, MetaConfig, MetaError, UsagePolicy};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn c1() -> ContainerId {
    ContainerId::new("c1")
}

async fn status_error(graph: &TestGraph, response: ResponseTemplate) -> MetaError {
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(response)
        .mount(&graph.server)
        .await;
    graph
        .client
        .container_status(&SecretString::from(TOKEN), &c1())
        .await
        .unwrap_err()
}

const RATE: ErrorKind = ErrorKind::RateLimited { retry_after: None };
const PERMISSION: ErrorKind = ErrorKind::PermissionMissing { permission: None };

fn media(reason: &str) -> ErrorKind {
    ErrorKind::InvalidMedia {
        reason: reason.into(),
    }
}

fn fetch(reason: &str) -> ErrorKind {
    ErrorKind::MediaFetchFailed {
        reason: reason.into(),
    }
}

/// The contract's tables, written out independently of the crate's own table.
fn contract_rows() -> Vec<(i64, Option<i64>, ErrorKind)> {
    let mut rows = vec![
        // §3.2
        (1, None, ErrorKind::Transient),
        (2, None, ErrorKind::Transient),
        (3, None, ErrorKind::InvalidRequest),
        (4, None, RATE),
        (17, None, RATE),
        (32, None, RATE),
        (613, None, RATE),
        (341, None, RATE),
        (80001, None, RATE),
        (80002, None, RATE),
        (10, None, PERMISSION),
        (200, None, PERMISSION),
        (230, None, PERMISSION),
        (299, None, PERMISSION),
        (100, None, ErrorKind::InvalidRequest),
        (102, None, ErrorKind::ReconnectNeeded { subcode: None }),
        (190, None, ErrorKind::ReconnectNeeded { subcode: None }),
        (368, None, RATE),
        (506, None, ErrorKind::Duplicate),
        (1609005, None, ErrorKind::InvalidRequest),
        // §3.5
        // The media host did not answer Meta's fetcher: passing, retried with back-off.
        (-2, Some(2207003), fetch("the media download timed out")),
        (-2, Some(2207020), ErrorKind::RecreateContainer),
        (-1, Some(2207001), ErrorKind::Transient),
        (-1, Some(2207032), ErrorKind::Transient),
        (-1, Some(2207053), ErrorKind::RecreateContainer),
        (1, Some(2207057), media("thumb_offset is outside the video")),
        (4, Some(2207051), ErrorKind::AccountRestricted),
        (
            9,
            Some(2207042),
            ErrorKind::PublishLimit { retry_after: None },
        ),
        (24, Some(2207006), ErrorKind::RecreateContainer),
        (24, Some(2207008), ErrorKind::NotReady),
        (25, Some(2207050), ErrorKind::AccountRestricted),
        (100, Some(2207023), ErrorKind::InvalidRequest),
        (100, Some(2207028), media("a carousel needs 2 to 10 items")),
        (
            100,
            Some(2207035),
            media("product tags are not allowed here"),
        ),
        (100, Some(2207036), media("a product tag is invalid")),
        (100, Some(2207037), media("too many product tags")),
        (100, Some(2207040), media("more than 20 @mentions")),
        (
            352,
            Some(2207026),
            media("unsupported video format (MOV or MP4 only)"),
        ),
        (
            9004,
            Some(2207052),
            fetch("the media could not be fetched from its URL"),
        ),
        (9007, Some(2207027), ErrorKind::NotReady),
        (
            36000,
            Some(2207004),
            media("the image is larger than 8 MiB"),
        ),
        (
            36001,
            Some(2207005),
            media("unsupported image format (JPEG only)"),
        ),
        (
            36003,
            Some(2207009),
            media("the aspect ratio is outside 4:5 to 1.91:1"),
        ),
        (
            36004,
            Some(2207010),
            media("the caption is too long (2200 characters, 30 hashtags, 20 mentions)"),
        ),
    ];
    // §3.3: every auth subcode, with either code.
    for code in [102, 190] {
        for subcode in [458, 459, 460, 463, 464, 467, 492] {
            rows.push((
                code,
                Some(subcode),
                ErrorKind::ReconnectNeeded {
                    subcode: Some(subcode),
                },
            ));
        }
    }
    rows
}

#[tokio::test(start_paused = true)]
async fn every_row_of_the_error_tables_is_classified_from_a_real_response() {
    let graph = TestGraph::start().await;
    for (code, subcode, expected) in contract_rows() {
        graph.server.reset().await;
        let error = status_error(&graph, graph_error(code, subcode, "Permissions error")).await;
        assert_eq!(error.kind(), expected, "code {code}, subcode {subcode:?}");
        let graph_error = error.graph().expect("a graph error");
        assert_eq!(graph_error.code, Some(code));
        assert_eq!(graph_error.subcode, subcode);
        assert_eq!(graph_error.fbtrace_id.as_deref(), Some(TRACE));
        assert_eq!(graph_error.is_transient, Some(false));
    }
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_reconnect_needed() {
    let graph = TestGraph::start().await;
    let error = status_error(
        &graph,
        graph_error(
            190,
            Some(463),
            "Error validating access token: Session has expired on Tuesday, 04-Nov-25",
        ),
    )
    .await;

    assert_eq!(
        error.kind(),
        ErrorKind::ReconnectNeeded { subcode: Some(463) }
    );
    let text = error.to_string();
    assert!(text.contains("190/463"), "{text}");
    assert!(text.contains(TRACE), "{text}");
}

fn throttled_by_meta() -> ResponseTemplate {
    graph_error(4, None, "(#4) Application request limit reached").insert_header(
        "x-business-use-case-usage",
        r#"{"17841405822304914":[{"type":"instagram","call_count":100,"total_cputime":12,"total_time":14,"estimated_time_to_regain_access":7}]}"#,
    )
}

#[tokio::test(start_paused = true)]
async fn a_business_throttle_of_seven_minutes_is_rate_limited_for_420_seconds() {
    let graph = TestGraph::start().await;
    let error = status_error(&graph, throttled_by_meta()).await;

    assert_eq!(
        error.kind(),
        ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(420))
        }
    );
    let usage = &error.graph().unwrap().usage;
    assert_eq!(usage.max_percent(), 100);
}

#[tokio::test(start_paused = true)]
async fn calls_with_a_throttled_token_fail_locally_until_access_returns() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(throttled_by_meta())
        .up_to_n_times(1)
        .expect(1)
        .mount(&graph.server)
        .await;
    graph.statuses("c1", &["FINISHED"]).await;
    let token = SecretString::from(TOKEN);

    let first = graph
        .client
        .container_status(&token, &c1())
        .await
        .unwrap_err();
    assert!(matches!(first.kind(), ErrorKind::RateLimited { .. }));

    tokio::time::advance(Duration::from_secs(60)).await;
    let second = graph
        .client
        .container_status(&token, &c1())
        .await
        .unwrap_err();
    // Nothing went out; the wait left is what Meta announced minus the time that passed.
    assert!(
        matches!(second, MetaError::Throttled { retry_after } if !retry_after.is_zero() && retry_after <= Duration::from_secs(360)),
        "{second:?}"
    );
    // Another account's token is not held back.
    Mock::given(method("GET"))
        .and(path("/v25.0/c2"))
        .and(bearer_token("EAAother"))
        .respond_with(status_body("c2", "IN_PROGRESS"))
        .expect(1)
        .mount(&graph.server)
        .await;
    graph
        .client
        .container_status(&SecretString::from("EAAother"), &ContainerId::new("c2"))
        .await
        .unwrap();

    tokio::time::advance(Duration::from_secs(361)).await;
    let status = graph.client.container_status(&token, &c1()).await.unwrap();
    assert_eq!(status, kraftsoci_core::ports::ContainerStatus::Finished);
}

#[tokio::test(start_paused = true)]
async fn usage_above_the_threshold_spaces_out_the_next_calls() {
    let slow = Duration::from_secs(10 * 3600);
    let graph = TestGraph::with_config(|c| {
        c.with_usage_policy(
            UsagePolicy::default()
                .with_slow_down_at_percent(80)
                .with_slow_down_delay(slow),
        )
    })
    .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(status_body("c1", "IN_PROGRESS").insert_header(
            "x-app-usage",
            r#"{"call_count":91,"total_cputime":20,"total_time":30}"#,
        ))
        .expect(2)
        .mount(&graph.server)
        .await;
    let token = SecretString::from(TOKEN);

    let before = tokio::time::Instant::now();
    graph.client.container_status(&token, &c1()).await.unwrap();
    assert!(
        before.elapsed() < slow,
        "the first call has no reading to slow down for"
    );

    let before = tokio::time::Instant::now();
    graph.client.container_status(&token, &c1()).await.unwrap();
    assert!(before.elapsed() >= slow, "the second call must wait");
}

#[tokio::test(start_paused = true)]
async fn the_usage_headers_are_parsed_and_exposed() {
    let graph = TestGraph::start().await;
    assert_eq!(graph.client.last_usage(), kraftsoci_meta::Usage::default());
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(
            status_body("c1", "FINISHED")
                .insert_header("x-app-usage", r#"{"call_count":28,"total_cputime":25,"total_time":25}"#)
                .insert_header(
                    "x-business-use-case-usage",
                    r#"{"1784":[{"type":"instagram","call_count":40,"total_cputime":2,"total_time":3,"estimated_time_to_regain_access":0}]}"#,
                ),
        )
        .mount(&graph.server)
        .await;

    graph
        .client
        .container_status(&SecretString::from(TOKEN), &c1())
        .await
        .unwrap();

    let usage = graph.client.last_usage();
    assert_eq!(usage.app.unwrap().call_count, 28);
    let business = usage.business.clone().unwrap();
    assert_eq!(business.entries[0].use_case, "instagram");
    assert_eq!(business.entries[0].call_count, 40);
    assert_eq!(usage.max_percent(), 40);
}

#[tokio::test(start_paused = true)]
async fn a_call_without_appsecret_proof_is_refused_when_the_app_requires_it() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .and(query_param("appsecret_proof", proof(TOKEN)))
        .respond_with(status_body("c1", "FINISHED"))
        .expect(1)
        .mount(&graph.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .and(query_param_is_missing("appsecret_proof"))
        .respond_with(graph_error(
            100,
            None,
            "API calls from the server require an appsecret_proof argument",
        ))
        .expect(1)
        .mount(&graph.server)
        .await;
    let token = SecretString::from(TOKEN);
    let without_secret = MetaClient::new(
        MetaConfig::token_only()
            .with_graph_base_url(Url::parse(&graph.server.uri()).unwrap())
            .with_timeouts(None, None, None),
    )
    .unwrap();

    let error = without_secret
        .container_status(&token, &c1())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert!(error.to_string().contains("appsecret_proof"), "{error}");

    graph.client.container_status(&token, &c1()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn each_token_is_sent_with_its_own_appsecret_proof() {
    let graph = TestGraph::start().await;
    for token in ["EAApage-one", "EAApage-two"] {
        Mock::given(method("GET"))
            .and(path("/v25.0/c1"))
            .and(bearer_token(token))
            .and(query_param("appsecret_proof", proof(token)))
            .and(query_param_is_missing("access_token"))
            .respond_with(status_body("c1", "FINISHED"))
            .expect(1)
            .mount(&graph.server)
            .await;
    }

    for token in ["EAApage-one", "EAApage-two"] {
        graph
            .client
            .container_status(&SecretString::from(token), &c1())
            .await
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn an_error_envelope_missing_every_field_is_still_an_error() {
    let graph = TestGraph::start().await;
    let cases = [
        (
            ResponseTemplate::new(400).set_body_json(json!({"error": {}})),
            ErrorKind::Unknown,
        ),
        (
            ResponseTemplate::new(400).set_body_json(json!({})),
            ErrorKind::Unknown,
        ),
        (
            ResponseTemplate::new(400).set_body_string("not json"),
            ErrorKind::Unknown,
        ),
        (
            ResponseTemplate::new(500).set_body_string("<html>"),
            ErrorKind::Transient,
        ),
        (ResponseTemplate::new(503), ErrorKind::Transient),
        (ResponseTemplate::new(429), RATE),
        (
            ResponseTemplate::new(400).set_body_json(
                json!({"error": {"message": "odd", "code": 99999, "is_transient": true}}),
            ),
            ErrorKind::Transient,
        ),
        (
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"code": "190", "error_subcode": "460"}})),
            ErrorKind::ReconnectNeeded { subcode: Some(460) },
        ),
        (
            ResponseTemplate::new(403).set_body_json(
                json!({"error": {"message": "x", "code": 200, "error_data": {"blame": "y"}}}),
            ),
            PERMISSION,
        ),
    ];
    for (n, (response, expected)) in cases.into_iter().enumerate() {
        graph.server.reset().await;
        let error = status_error(&graph, response).await;
        assert_eq!(error.kind(), expected, "case {n}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_200_that_carries_an_error_object_is_an_error() {
    let graph = TestGraph::start().await;
    let error = status_error(
        &graph,
        ResponseTemplate::new(200).set_body_json(json!({"error": {"message": "Session has expired", "type": "OAuthException", "code": 190, "error_subcode": 463}})),
    )
    .await;
    assert_eq!(
        error.kind(),
        ErrorKind::ReconnectNeeded { subcode: Some(463) }
    );
}

#[tokio::test(start_paused = true)]
async fn a_success_body_that_does_not_match_is_unexpected_and_never_echoes_the_body() {
    let graph = TestGraph::start().await;
    let error = status_error(
        &graph,
        ResponseTemplate::new(200).set_body_json(json!("EAAleaked-looking-value")),
    )
    .await;
    assert!(
        matches!(error, MetaError::UnexpectedResponse { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("EAAleaked"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_token_echoed_in_a_meta_message_is_redacted_from_the_error() {
    let graph = TestGraph::start().await;
    let error = status_error(
        &graph,
        graph_error(190, Some(467), &format!("Malformed access token {TOKEN}")),
    )
    .await;
    let graph_error = error.graph().unwrap();
    assert_eq!(
        graph_error.message.as_deref(),
        Some("Malformed access token [redacted]")
    );
    assert!(!format!("{error} {error:?}").contains(TOKEN));
}

#[tokio::test(start_paused = true)]
async fn a_missing_permission_error_names_the_permission_when_meta_does() {
    let graph = TestGraph::start().await;
    let error = status_error(
        &graph,
        graph_error(
            200,
            None,
            "(#200) Requires instagram_content_publish permission to manage the object",
        ),
    )
    .await;
    assert_eq!(
        error.kind(),
        ErrorKind::PermissionMissing {
            permission: Some("instagram_content_publish".into())
        }
    );
}

#[tokio::test]
async fn a_slow_ordinary_call_times_out_as_a_transient_failure() {
    let graph =
        TestGraph::with_config(|c| c.with_timeouts(Some(Duration::from_millis(100)), None, None))
            .await;
    let error = status_error(
        &graph,
        status_body("c1", "FINISHED").set_delay(Duration::from_secs(5)),
    )
    .await;
    assert!(
        matches!(
            error,
            MetaError::Timeout {
                call: "container status"
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn an_unreachable_meta_is_a_transport_error_without_the_url() {
    // Port 9 (discard) on localhost is closed in test environments; the connect is refused.
    let client = MetaClient::new(
        MetaConfig::token_only()
            .with_graph_base_url(Url::parse("http://127.0.0.1:9/").unwrap())
            .with_timeouts(
                Some(Duration::from_secs(5)),
                Some(Duration::from_secs(5)),
                None,
            ),
    )
    .unwrap();
    let error = client
        .container_status(&SecretString::from(TOKEN), &c1())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            MetaError::Transport { .. } | MetaError::Timeout { .. }
        ),
        "{error:?}"
    );
    let chain = format!("{error:?}");
    assert!(!chain.contains("127.0.0.1:9/v25.0"), "{chain}");
    assert!(!chain.contains(TOKEN), "{chain}");
}
