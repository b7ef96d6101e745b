//! `GraphPublisher` through core's `SocialPublisher` port, as the orchestration uses it.

use std::sync::Arc;
use std::time::Duration;

use kraftsoci_core::MediaKind;
use kraftsoci_core::ports::{
    ContainerId, ContainerSpec, ContainerStatus, MediaSource, PublishErrorKind, PublishResult,
    SocialPublisher,
};
use kraftsoci_meta::GraphPublisher;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn publisher(graph: &TestGraph) -> Arc<dyn SocialPublisher> {
    Arc::new(GraphPublisher::new(graph.client.clone()))
}

fn c1() -> ContainerId {
    ContainerId::new("c1")
}

fn image_spec() -> ContainerSpec {
    ContainerSpec {
        kind: MediaKind::Image,
        caption: Some("Fresh simit #simit".into()),
        alt_text: None,
        items: vec![MediaSource {
            url: "https://media.kraftsoci.example/p/1.jpg?sig=abc".into(),
            is_video: false,
        }],
    }
}

#[tokio::test(start_paused = true)]
async fn the_adapter_creates_an_image_container_from_a_core_spec() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form(
            "image_url",
            "https://media.kraftsoci.example/p/1.jpg?sig=abc",
        ))
        .and(form("caption", "Fresh simit #simit"))
        .and(form("alt_text", "Bread rings"))
        .respond_with(id_body("c1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    let spec = ContainerSpec {
        kind: MediaKind::Image,
        caption: Some("Fresh simit #simit".into()),
        alt_text: Some("Bread rings".into()),
        items: vec![MediaSource {
            url: "https://media.kraftsoci.example/p/1.jpg?sig=abc".into(),
            is_video: false,
        }],
    };

    let container = publisher(&graph)
        .create_container(&account(), &spec)
        .await
        .unwrap();

    assert_eq!(container, c1());
}

#[tokio::test(start_paused = true)]
async fn the_adapter_refuses_a_malformed_spec_without_calling_meta() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .respond_with(id_body("c1"))
        .expect(0)
        .mount(&graph.server)
        .await;
    let spec = ContainerSpec {
        kind: MediaKind::Image,
        caption: None,
        alt_text: None,
        items: vec![],
    };

    let error = publisher(&graph)
        .create_container(&account(), &spec)
        .await
        .unwrap_err();

    assert_eq!(error.kind, PublishErrorKind::Invalid);
}

#[tokio::test(start_paused = true)]
async fn the_adapter_creates_a_container_once_and_leaves_retries_to_the_orchestration() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(graph_error_with_status(500, 2, None, "Service unavailable"))
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = publisher(&graph)
        .create_container(&account(), &image_spec())
        .await
        .unwrap_err();

    assert_eq!(error.kind, PublishErrorKind::Transient);
}

#[tokio::test(start_paused = true)]
async fn a_media_fetch_failure_at_creation_is_reported_as_passing_after_one_attempt() {
    for (code, subcode, reason) in [
        (9004, 2207052, "the media could not be fetched from its URL"),
        (-2, 2207003, "the media download timed out"),
    ] {
        let graph = TestGraph::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/v25.0/{IG_USER}/media")))
            .respond_with(graph_error(
                code,
                Some(subcode),
                "Media download has failed",
            ))
            .expect(1)
            .mount(&graph.server)
            .await;

        let error = publisher(&graph)
            .create_container(&account(), &image_spec())
            .await
            .unwrap_err();

        assert_eq!(
            error.kind,
            PublishErrorKind::MediaFetchFailed {
                reason: reason.into()
            },
            "{code}/{subcode}"
        );
        assert!(error.message.contains(TRACE), "{}", error.message);
    }
}

/// A fake Meta that answers `media_publish` with `response` and fails the test if anything
/// else is called: no status read, no quota read, no second request.
async fn only_media_publish(response: ResponseTemplate) -> TestGraph {
    let graph = TestGraph::start().await;
    graph.publish("c1", response, 1).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("any read")
        .mount(&graph.server)
        .await;
    graph
}

#[tokio::test(start_paused = true)]
async fn the_adapter_publishes_with_exactly_one_media_publish_and_nothing_else() {
    let graph = only_media_publish(id_body("17895695668004550")).await;

    let result = publisher(&graph).publish(&account(), &c1()).await.unwrap();

    assert_eq!(
        result,
        PublishResult::Published {
            media_id: "17895695668004550".into()
        }
    );
    graph.assert_tokens_only_in_headers(TOKEN).await;
}

#[tokio::test(start_paused = true)]
async fn every_answer_to_media_publish_is_classified_without_a_second_request() {
    let outcome_unknown = Err(PublishErrorKind::OutcomeUnknown);
    let cases: Vec<(
        &str,
        ResponseTemplate,
        Result<PublishResult, PublishErrorKind>,
    )> = vec![
        (
            "a bare 500",
            ResponseTemplate::new(500).set_body_string("oops"),
            outcome_unknown.clone(),
        ),
        (
            "a 503 envelope",
            graph_error_with_status(503, 2, None, "Service temporarily unavailable"),
            outcome_unknown.clone(),
        ),
        (
            "a transient code with 400",
            graph_error(1, None, "An unknown error occurred"),
            outcome_unknown.clone(),
        ),
        (
            "a garbled success",
            ResponseTemplate::new(200).set_body_string("<html>"),
            outcome_unknown.clone(),
        ),
        (
            "a success without id",
            ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
            outcome_unknown.clone(),
        ),
        (
            "4/2207051",
            graph_error(4, Some(2207051), "Application request limit reached"),
            Err(PublishErrorKind::ActivityRestricted),
        ),
        (
            "506 duplicate",
            graph_error(506, None, "Duplicate status message"),
            Ok(PublishResult::AlreadyPublished),
        ),
        (
            "9007/2207027",
            graph_error(9007, Some(2207027), "Media ID is not available"),
            Err(PublishErrorKind::NotReady),
        ),
        (
            "24/2207006",
            graph_error(24, Some(2207006), "The media with id was not found"),
            Err(PublishErrorKind::NotReady),
        ),
        (
            "9/2207042",
            graph_error(9, Some(2207042), "Daily limit reached"),
            Err(PublishErrorKind::PublishLimit { retry_after: None }),
        ),
        (
            "190/463",
            graph_error(190, Some(463), "Session has expired"),
            Err(PublishErrorKind::ReconnectNeeded),
        ),
        (
            "4 without a subcode",
            graph_error(4, None, "Application request limit reached"),
            Err(PublishErrorKind::RateLimited { retry_after: None }),
        ),
        (
            "25/2207050",
            graph_error(25, Some(2207050), "The Instagram account is restricted"),
            Err(PublishErrorKind::AccountRestricted),
        ),
        (
            "36003/2207009",
            graph_error(36003, Some(2207009), "The aspect ratio is not supported"),
            Err(PublishErrorKind::InvalidMedia {
                reason: "the aspect ratio is outside 4:5 to 1.91:1".into(),
            }),
        ),
    ];
    for (name, response, expected) in cases {
        let graph = only_media_publish(response).await;

        let answer = publisher(&graph)
            .publish(&account(), &c1())
            .await
            .map_err(|e| {
                assert!(!e.message.contains(TOKEN), "{name}: {}", e.message);
                e.kind
            });

        assert_eq!(answer, expected, "{name}");
        // Dropping the server verifies `.expect(1)` on media_publish and `.expect(0)` on reads.
    }
}

#[tokio::test]
async fn a_media_publish_that_times_out_is_an_unknown_outcome_and_is_not_sent_again() {
    // Real time: the publish call times out after 200 ms while Meta is still working on it.
    let graph =
        TestGraph::with_config(|c| c.with_timeouts(None, None, Some(Duration::from_millis(200))))
            .await;
    graph
        .publish("c1", id_body("m1").set_delay(Duration::from_secs(5)), 1)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&graph.server)
        .await;

    let error = publisher(&graph)
        .publish(&account(), &c1())
        .await
        .unwrap_err();

    assert_eq!(error.kind, PublishErrorKind::OutcomeUnknown);
    assert!(error.message.contains("timed out"), "{}", error.message);
}

#[tokio::test(start_paused = true)]
async fn a_malformed_container_id_is_refused_before_media_publish() {
    let graph = TestGraph::start().await;
    graph.publish("../c1", id_body("m1"), 0).await;

    let error = publisher(&graph)
        .publish(&account(), &ContainerId::new("../c1"))
        .await
        .unwrap_err();

    assert_eq!(error.kind, PublishErrorKind::Invalid);
}

#[tokio::test(start_paused = true)]
async fn after_a_crash_the_container_status_tells_the_orchestration_what_happened() {
    let graph = TestGraph::start().await;
    let publisher = publisher(&graph);
    let cases = [
        ("IN_PROGRESS", ContainerStatus::InProgress),
        ("FINISHED", ContainerStatus::Finished),
        ("PUBLISHED", ContainerStatus::Published),
        ("EXPIRED", ContainerStatus::Expired),
        (
            "ERROR",
            ContainerStatus::Error {
                reason: "Error: Media upload has failed with error code 2207026".into(),
                kind: PublishErrorKind::InvalidMedia {
                    reason: "unsupported video format (MOV or MP4 only)".into(),
                },
            },
        ),
    ];
    for (code, expected) in cases {
        graph.server.reset().await;
        graph.statuses("c1", &[code]).await;
        let status = publisher.container_status(&account(), &c1()).await.unwrap();
        assert_eq!(status, expected, "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_adapter_maps_an_expired_token_to_reconnect_needed() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(graph_error(190, Some(463), "Session has expired"))
        .mount(&graph.server)
        .await;

    let error = publisher(&graph)
        .container_status(&account(), &c1())
        .await
        .unwrap_err();

    assert_eq!(error.kind, PublishErrorKind::ReconnectNeeded);
    assert!(error.message.contains("190/463"), "{}", error.message);
    assert!(error.message.contains(TRACE), "{}", error.message);
    assert!(!error.message.contains(TOKEN));
}

#[tokio::test(start_paused = true)]
async fn a_container_that_could_not_fetch_its_media_reads_as_an_error_worth_a_new_container() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .and(query_param("fields", "status_code,status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status_code": "ERROR",
            "status": "Error: Media download has failed. (2207052)",
            "id": "c1"
        })))
        .expect(1)
        .mount(&graph.server)
        .await;

    let status = publisher(&graph)
        .container_status(&account(), &c1())
        .await
        .unwrap();

    assert_eq!(
        status,
        ContainerStatus::Error {
            reason: "Error: Media download has failed. (2207052)".into(),
            kind: PublishErrorKind::MediaFetchFailed {
                reason: "the media could not be fetched from its URL".into()
            },
        }
    );
}

#[tokio::test(start_paused = true)]
async fn the_adapter_maps_a_meta_throttle_with_its_retry_time() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/content_publishing_limit")))
        .respond_with(graph_error(80002, None, "There have been too many calls").insert_header(
            "x-business-use-case-usage",
            r#"{"1":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":3}]}"#,
        ))
        .mount(&graph.server)
        .await;

    let error = publisher(&graph)
        .publishing_quota(&account())
        .await
        .unwrap_err();

    assert_eq!(
        error.kind,
        PublishErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(180))
        }
    );
}

#[tokio::test(start_paused = true)]
async fn the_adapter_reads_the_quota_total_from_meta() {
    let graph = TestGraph::start().await;
    graph.quota(7, 100).await;

    let quota = publisher(&graph)
        .publishing_quota(&account())
        .await
        .unwrap();

    assert_eq!((quota.used, quota.total), (7, 100));
    assert!(!quota.is_spent());
}

#[tokio::test(start_paused = true)]
async fn the_adapter_reads_a_permalink_and_maps_its_failure_without_judging_the_post() {
    let graph = TestGraph::start().await;
    graph
        .permalink(
            "m1",
            ResponseTemplate::new(200)
                .set_body_json(json!({"permalink": "https://www.instagram.com/p/x/", "id": "m1"})),
        )
        .await;
    let publisher = publisher(&graph);

    assert_eq!(
        publisher
            .permalink(&account(), "m1")
            .await
            .unwrap()
            .as_deref(),
        Some("https://www.instagram.com/p/x/")
    );
    let error = publisher.permalink(&account(), "../m1").await.unwrap_err();
    assert_eq!(error.kind, PublishErrorKind::Invalid);
}

#[tokio::test(start_paused = true)]
async fn a_carousel_spec_becomes_children_then_a_parent() {
    let graph = TestGraph::start().await;
    for (n, id) in [(1, "k1"), (2, "k2")] {
        Mock::given(method("POST"))
            .and(path(format!("/v25.0/{IG_USER}/media")))
            .and(form("is_carousel_item", "true"))
            .and(form("image_url", &format!("https://cdn.example/{n}.jpg")))
            .respond_with(id_body(id))
            .expect(1)
            .mount(&graph.server)
            .await;
    }
    graph.statuses("k1", &["FINISHED"]).await;
    graph.statuses("k2", &["FINISHED"]).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "CAROUSEL"))
        .and(form("children", "k1,k2"))
        .respond_with(id_body("p1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    let spec = ContainerSpec {
        kind: MediaKind::Carousel,
        caption: Some("Two".into()),
        alt_text: None,
        items: [1, 2]
            .map(|n| MediaSource {
                url: format!("https://cdn.example/{n}.jpg"),
                is_video: false,
            })
            .to_vec(),
    };

    let parent = publisher(&graph)
        .create_container(&account(), &spec)
        .await
        .unwrap();

    assert_eq!(parent, ContainerId::new("p1"));
}
