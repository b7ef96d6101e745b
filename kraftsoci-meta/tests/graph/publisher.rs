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
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn publisher(graph: &TestGraph) -> Arc<dyn SocialPublisher> {
    Arc::new(GraphPublisher::new(graph.client.clone()))
}

fn c1() -> ContainerId {
    ContainerId("c1".into())
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
async fn the_adapter_publishes_a_finished_container_and_returns_the_media_id() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED"]).await;
    graph.quota(10, 100).await;
    graph.publish("c1", id_body("17895695668004550"), 1).await;

    let result = publisher(&graph).publish(&account(), &c1()).await.unwrap();

    assert_eq!(
        result,
        PublishResult::Published {
            media_id: "17895695668004550".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn the_adapter_reports_already_published_after_a_500_and_never_publishes_twice() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED", "PUBLISHED"]).await;
    graph.quota(0, 50).await;
    graph.publish("c1", ResponseTemplate::new(500), 1).await;

    let result = publisher(&graph).publish(&account(), &c1()).await.unwrap();

    assert_eq!(result, PublishResult::AlreadyPublished);
}

#[tokio::test(start_paused = true)]
async fn the_adapter_reports_an_unknown_outcome_when_the_container_cannot_be_read() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED"]).await;
    graph.quota(0, 50).await;
    graph.publish("c1", ResponseTemplate::new(500), 1).await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&graph.server)
        .await;

    let error = publisher(&graph)
        .publish(&account(), &c1())
        .await
        .unwrap_err();

    assert_eq!(error.kind, PublishErrorKind::OutcomeUnknown);
    assert!(error.message.contains("c1"), "{}", error.message);
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
async fn the_adapter_maps_a_spent_quota_to_publish_limit_without_publishing() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED"]).await;
    graph.quota(100, 100).await;
    graph.publish("c1", id_body("m1"), 0).await;

    let error = publisher(&graph)
        .publish(&account(), &c1())
        .await
        .unwrap_err();

    assert_eq!(
        error.kind,
        PublishErrorKind::PublishLimit { retry_after: None }
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

    assert_eq!(parent, ContainerId("p1".into()));
}
