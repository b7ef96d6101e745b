//! Publishing: containers, polling, the quota and a `media_publish` that never posts twice.

use std::time::Duration;

use kraftsoci_core::ports::{ContainerId, PublishResult};
use kraftsoci_meta::{
    CarouselItem, CarouselPost, ErrorKind, ImagePost, MediaSpec, MetaError, ReelPost, StoryPost,
    UserTag,
};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn image() -> MediaSpec {
    MediaSpec::Image(ImagePost::new("https://cdn.example/simit.jpg").with_caption("Fresh simit"))
}

fn c1() -> ContainerId {
    ContainerId::new("c1")
}

#[tokio::test(start_paused = true)]
async fn an_image_is_created_polled_until_finished_and_published_once() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("image_url", "https://cdn.example/simit.jpg"))
        .and(form("caption", "Fresh simit"))
        .and(no_form("media_type"))
        .respond_with(id_body("c1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    graph
        .statuses("c1", &["IN_PROGRESS", "IN_PROGRESS", "FINISHED"])
        .await;
    graph.quota(3, 50).await;
    graph.publish("c1", id_body("m1"), 1).await;
    graph
        .permalink(
            "m1",
            ResponseTemplate::new(200).set_body_json(
                json!({"permalink": "https://www.instagram.com/p/abc/", "id": "m1"}),
            ),
        )
        .await;

    let published = graph
        .client
        .publish(&graph.account(), &image())
        .await
        .unwrap();

    assert_eq!(published.container, c1());
    assert_eq!(
        published.result,
        PublishResult::Published {
            media_id: "m1".into()
        }
    );
    assert_eq!(
        published.permalink.as_deref(),
        Some("https://www.instagram.com/p/abc/")
    );
    graph.assert_tokens_only_in_headers(TOKEN).await;
}

#[tokio::test(start_paused = true)]
async fn captions_with_hashes_ampersands_emoji_and_newlines_arrive_exactly_as_written() {
    let graph = TestGraph::start().await;
    let caption = "Simit & çay ☕🥯\nSecond line #simit #kahvaltı 100% = +1 ?a=b&c=d";
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("caption", caption))
        .and(body_string_contains("%23simit"))
        .respond_with(id_body("c1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    let post = ImagePost::new("https://cdn.example/a.jpg?sig=x&exp=1").with_caption(caption);

    graph
        .client
        .create_container(&graph.account(), &MediaSpec::Image(post))
        .await
        .unwrap();

    let requests = graph.requests().await;
    let fields = form_of(&requests[0]);
    assert!(fields.contains(&(
        "image_url".into(),
        "https://cdn.example/a.jpg?sig=x&exp=1".into()
    )));
    assert_eq!(
        fields.iter().filter(|(k, _)| k == "caption").count(),
        1,
        "the caption must not be split by its & or ="
    );
}

#[tokio::test(start_paused = true)]
async fn user_tags_collaborators_location_and_alt_text_are_sent_as_documented() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form(
            "user_tags",
            r#"[{"username":"baker.one","x":0.5,"y":0.8},{"username":"tea_house","x":0.0,"y":1.0}]"#,
        ))
        .and(form("collaborators", r#"["friend_shop","neighbour"]"#))
        .and(form("location_id", "110843418940484"))
        .and(form("alt_text", "Sesame bread rings on a tray"))
        .respond_with(id_body("c1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    let post = ImagePost::new("https://cdn.example/a.jpg")
        .with_alt_text("Sesame bread rings on a tray")
        .with_user_tags([
            UserTag::at("@baker.one", 0.5, 0.8),
            UserTag::at("tea_house", 0.0, 1.0),
        ])
        .with_location_id("110843418940484")
        .with_collaborators(["friend_shop", "neighbour"]);

    let container = graph
        .client
        .create_container(&graph.account(), &MediaSpec::Image(post))
        .await
        .unwrap();
    assert_eq!(container, c1());
}

#[tokio::test(start_paused = true)]
async fn media_not_ready_is_polled_again_then_published() {
    let graph = TestGraph::start().await;
    graph
        .statuses("c1", &["FINISHED", "IN_PROGRESS", "FINISHED"])
        .await;
    graph.quota(0, 50).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media_publish")))
        .respond_with(graph_error(
            9007,
            Some(2207027),
            "Media ID is not available",
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&graph.server)
        .await;
    graph.publish("c1", id_body("m1"), 1).await;

    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();

    assert_eq!(
        result,
        PublishResult::Published {
            media_id: "m1".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn media_publish_is_never_called_again_after_a_500_when_the_container_shows_published() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED", "PUBLISHED"]).await;
    graph.quota(0, 50).await;
    graph
        .publish("c1", ResponseTemplate::new(500).set_body_string("oops"), 1)
        .await;

    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();

    assert_eq!(result, PublishResult::AlreadyPublished);
}

#[tokio::test]
async fn media_publish_is_never_retried_after_a_timeout() {
    // Real time: the publish call times out after 200 ms while Meta is still working on it.
    let graph = TestGraph::with_config(|c| {
        c.with_timeouts(None, None, Some(Duration::from_millis(200)))
            .with_publish_policy(publish_policy().with_reconcile_delay(Duration::from_millis(5)))
    })
    .await;
    graph.statuses("c1", &["FINISHED", "PUBLISHED"]).await;
    graph.quota(0, 50).await;
    graph
        .publish("c1", id_body("m1").set_delay(Duration::from_secs(5)), 1)
        .await;

    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();

    assert_eq!(result, PublishResult::AlreadyPublished);
}

#[tokio::test]
async fn a_timeout_with_a_still_unpublished_container_is_an_unknown_outcome_not_a_retry() {
    let graph = TestGraph::with_config(|c| {
        c.with_timeouts(None, None, Some(Duration::from_millis(200)))
            .with_publish_policy(publish_policy().with_reconcile_delay(Duration::from_millis(5)))
    })
    .await;
    graph.statuses("c1", &["FINISHED", "FINISHED"]).await;
    graph.quota(0, 50).await;
    graph
        .publish("c1", id_body("m1").set_delay(Duration::from_secs(5)), 1)
        .await;

    let error = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap_err();

    assert!(
        matches!(error, MetaError::OutcomeUnknown { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::OutcomeUnknown);
}

#[tokio::test(start_paused = true)]
async fn the_spam_restriction_error_is_checked_against_the_container_and_a_live_post_is_done() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED", "PUBLISHED"]).await;
    graph.quota(0, 50).await;
    graph
        .publish(
            "c1",
            graph_error(4, Some(2207051), "Application request limit reached"),
            1,
        )
        .await;

    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();

    assert_eq!(result, PublishResult::AlreadyPublished);
}

#[tokio::test(start_paused = true)]
async fn the_spam_restriction_with_an_unpublished_container_is_an_account_restriction() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED", "FINISHED"]).await;
    graph.quota(0, 50).await;
    graph
        .publish("c1", graph_error(4, Some(2207051), "Restricted"), 1)
        .await;

    let error = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::AccountRestricted);
    assert_eq!(error.fbtrace_id(), Some(TRACE));
}

#[tokio::test(start_paused = true)]
async fn a_500_with_an_unpublished_container_is_safe_to_publish_again_but_not_retried_here() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED", "FINISHED"]).await;
    graph.quota(0, 50).await;
    graph
        .publish(
            "c1",
            graph_error_with_status(500, 2, None, "Service temporarily unavailable"),
            1,
        )
        .await;

    let error = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap_err();

    assert!(
        matches!(error, MetaError::PublishNotApplied { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Transient);
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_container_after_an_ambiguous_failure_is_an_unknown_outcome() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED"]).await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&graph.server)
        .await;
    graph.quota(0, 50).await;
    graph.publish("c1", ResponseTemplate::new(502), 1).await;

    let error = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::OutcomeUnknown);
}

#[tokio::test(start_paused = true)]
async fn a_garbled_success_answer_to_media_publish_is_reconciled_not_retried() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED", "PUBLISHED"]).await;
    graph.quota(0, 50).await;
    graph
        .publish(
            "c1",
            ResponseTemplate::new(200).set_body_string("<html>"),
            1,
        )
        .await;

    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();

    assert_eq!(result, PublishResult::AlreadyPublished);
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_post_error_is_reconciled_as_published() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED"]).await;
    graph.quota(0, 50).await;
    graph
        .publish("c1", graph_error(506, None, "Duplicate status message"), 1)
        .await;

    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();

    assert_eq!(result, PublishResult::AlreadyPublished);
}

#[tokio::test(start_paused = true)]
async fn a_spent_quota_is_refused_before_media_publish_whatever_cap_meta_reports() {
    for total in [50, 100] {
        let graph = TestGraph::start().await;
        graph.statuses("c1", &["FINISHED"]).await;
        graph.quota(total, total).await;
        graph.publish("c1", id_body("m1"), 0).await;

        let error = graph
            .client
            .publish_container(&graph.account(), &c1())
            .await
            .unwrap_err();

        let MetaError::QuotaSpent { quota } = &error else {
            panic!("expected QuotaSpent, got {error:?}");
        };
        assert_eq!((quota.used, quota.total), (total, total));
        assert_eq!(error.kind(), ErrorKind::PublishLimit { retry_after: None });
    }
}

#[tokio::test(start_paused = true)]
async fn a_cap_of_100_is_read_from_meta_and_not_replaced_by_a_hard_coded_50() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED"]).await;
    graph.quota(60, 100).await;
    graph.publish("c1", id_body("m1"), 1).await;

    let quota = graph
        .client
        .publishing_quota(&graph.account())
        .await
        .unwrap();
    assert_eq!((quota.used, quota.total), (60, 100));
    assert_eq!(quota.window, Duration::from_secs(86400));
    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();
    assert!(matches!(result, PublishResult::Published { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_quota_answer_without_quota_total_falls_back_to_the_configured_cap() {
    let graph = TestGraph::with_config(|c| {
        c.with_publish_policy(publish_policy().with_fallback_quota_total(25))
    })
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/content_publishing_limit")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data":[{"quota_usage": 25}]})),
        )
        .mount(&graph.server)
        .await;

    let quota = graph
        .client
        .publishing_quota(&graph.account())
        .await
        .unwrap();

    assert_eq!((quota.used, quota.total), (25, 25));
    assert!(quota.is_spent());
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_quota_does_not_block_publishing_because_meta_enforces_it_anyway() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED"]).await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/content_publishing_limit")))
        .respond_with(graph_error(
            10,
            None,
            "(#10) Application does not have permission",
        ))
        .mount(&graph.server)
        .await;
    graph.publish("c1", id_body("m1"), 1).await;

    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();

    assert_eq!(
        result,
        PublishResult::Published {
            media_id: "m1".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_publish_limit_from_media_publish_is_definite_and_not_reconciled() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["FINISHED"]).await;
    graph.quota(49, 50).await;
    graph
        .publish("c1", graph_error(9, Some(2207042), "limit reached"), 1)
        .await;

    let error = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::PublishLimit { retry_after: None });
}

#[tokio::test(start_paused = true)]
async fn a_container_already_published_is_not_published_again() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["PUBLISHED"]).await;
    graph.publish("c1", id_body("m2"), 0).await;

    let result = graph
        .client
        .publish_container(&graph.account(), &c1())
        .await
        .unwrap();

    assert_eq!(result, PublishResult::AlreadyPublished);
}

#[tokio::test(start_paused = true)]
async fn a_failed_permalink_read_never_turns_a_published_post_into_a_failure() {
    let graph = TestGraph::start().await;
    graph.creates(&["c1"]).await;
    graph.statuses("c1", &["FINISHED"]).await;
    graph.quota(0, 50).await;
    graph.publish("c1", id_body("m1"), 1).await;
    graph
        .permalink(
            "m1",
            graph_error(
                100,
                Some(33),
                "Unsupported get request. Object with ID 'm1' does not exist",
            ),
        )
        .await;

    let published = graph
        .client
        .publish(&graph.account(), &image())
        .await
        .unwrap();

    assert_eq!(
        published.result,
        PublishResult::Published {
            media_id: "m1".into()
        }
    );
    assert_eq!(published.permalink, None);
}

#[tokio::test(start_paused = true)]
async fn an_expired_container_is_recreated_once() {
    let graph = TestGraph::start().await;
    graph.creates(&["c1", "c2"]).await;
    graph.statuses("c1", &["EXPIRED"]).await;
    graph.statuses("c2", &["FINISHED"]).await;
    graph.quota(0, 50).await;
    graph.publish("c1", id_body("m0"), 0).await;
    graph.publish("c2", id_body("m1"), 1).await;
    graph
        .permalink(
            "m1",
            ResponseTemplate::new(200)
                .set_body_json(json!({"permalink": "https://www.instagram.com/p/x/"})),
        )
        .await;

    let published = graph
        .client
        .publish(&graph.account(), &image())
        .await
        .unwrap();

    assert_eq!(published.container, ContainerId::new("c2"));
}

#[tokio::test(start_paused = true)]
async fn a_container_in_error_reports_the_classified_reason() {
    let graph = TestGraph::start().await;
    graph.statuses("c1", &["IN_PROGRESS", "ERROR"]).await;
    graph.publish("c1", id_body("m1"), 0).await;

    let error = graph
        .client
        .wait_until_ready(&graph.account().access_token, &c1())
        .await
        .unwrap_err();

    let MetaError::ContainerFailed { reason, kind, .. } = &error else {
        panic!("expected ContainerFailed, got {error:?}");
    };
    assert!(reason.starts_with("unsupported video format"), "{reason}");
    assert!(reason.contains("2207026"), "{reason}");
    assert_eq!(
        *kind,
        ErrorKind::InvalidMedia {
            reason: "unsupported video format (MOV or MP4 only)".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn polling_gives_up_with_not_ready_once_the_waiting_budget_is_spent() {
    let graph = TestGraph::start().await;
    // Budget 60 s. Without jitter the waits are 1, 2, 4, 8, 8, 8, 8, 8, 8 and a last 5 (10
    // waits, 11 reads); with the full 20 % cut they are 0.8, 1.6, 3.2, seven times 6.4 and a last 3.2
    // (12 waits, 13 reads).
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(status_body("c1", "IN_PROGRESS"))
        .expect(11..=13)
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .wait_until_ready(&graph.account().access_token, &c1())
        .await
        .unwrap_err();

    let MetaError::NotReady { waited, .. } = error else {
        panic!("expected NotReady, got {error:?}");
    };
    assert_eq!(waited, Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn transient_status_read_failures_are_absorbed_while_polling() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(graph_error_with_status(
            500,
            2,
            None,
            "Service temporarily unavailable",
        ))
        .up_to_n_times(2)
        .expect(2)
        .mount(&graph.server)
        .await;
    graph.statuses("c1", &["FINISHED"]).await;

    let ready = graph
        .client
        .wait_until_ready(&graph.account().access_token, &c1())
        .await
        .unwrap();

    assert_eq!(ready, kraftsoci_meta::Readiness::Finished);
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_stops_polling_at_once() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(graph_error(190, Some(463), "Session has expired"))
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .wait_until_ready(&graph.account().access_token, &c1())
        .await
        .unwrap_err();

    assert_eq!(
        error.kind(),
        ErrorKind::ReconnectNeeded { subcode: Some(463) }
    );
}

#[tokio::test(start_paused = true)]
async fn a_carousel_waits_for_every_child_before_creating_the_parent() {
    let graph = TestGraph::start().await;
    for (n, id) in [(1, "k1"), (2, "k2")] {
        Mock::given(method("POST"))
            .and(path(format!("/v25.0/{IG_USER}/media")))
            .and(form("is_carousel_item", "true"))
            .and(no_form("caption"))
            .and(form("image_url", &format!("https://cdn.example/{n}.jpg")))
            .respond_with(id_body(id))
            .expect(1)
            .mount(&graph.server)
            .await;
    }
    graph.statuses("k1", &["IN_PROGRESS", "FINISHED"]).await;
    graph.statuses("k2", &["FINISHED"]).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "CAROUSEL"))
        .and(form("children", "k1,k2"))
        .and(form("caption", "Two simits"))
        .respond_with(id_body("p1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    let post = CarouselPost::new(
        [1, 2].map(|n| CarouselItem::image(format!("https://cdn.example/{n}.jpg"))),
    )
    .with_caption("Two simits");

    let parent = graph
        .client
        .create_container(&graph.account(), &MediaSpec::Carousel(post))
        .await
        .unwrap();

    assert_eq!(parent, ContainerId::new("p1"));
    let requests = graph.requests().await;
    let parent_at = requests
        .iter()
        .position(|r| form_of(r).contains(&("media_type".into(), "CAROUSEL".into())))
        .unwrap();
    let last_child_read = requests
        .iter()
        .rposition(|r| r.method.as_str() == "GET")
        .unwrap();
    assert!(
        last_child_read < parent_at,
        "the parent was created before its children finished"
    );
}

#[tokio::test(start_paused = true)]
async fn a_carousel_with_a_failed_child_never_creates_the_parent() {
    let graph = TestGraph::start().await;
    graph.creates(&["k1", "k2"]).await;
    graph.statuses("k1", &["ERROR"]).await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "CAROUSEL"))
        .respond_with(id_body("p1"))
        .expect(0)
        .mount(&graph.server)
        .await;
    let post = CarouselPost::new(vec![CarouselItem::video("https://cdn.example/v.mov"); 2]);

    let error = graph
        .client
        .create_container(&graph.account(), &MediaSpec::Carousel(post))
        .await
        .unwrap_err();

    assert!(
        matches!(error, MetaError::ContainerFailed { .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_carousel_with_one_or_eleven_items_is_refused_before_any_call() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .respond_with(id_body("c1"))
        .expect(0)
        .mount(&graph.server)
        .await;
    for n in [1, 11] {
        let post = CarouselPost::new(vec![CarouselItem::image("https://cdn.example/a.jpg"); n]);
        let error = graph
            .client
            .create_container(&graph.account(), &MediaSpec::Carousel(post))
            .await
            .unwrap_err();
        assert!(matches!(error, MetaError::InvalidInput(_)), "{error:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_reel_sends_its_video_cover_and_feed_options() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "REELS"))
        .and(form("video_url", "https://cdn.example/r.mp4"))
        .and(form("cover_url", "https://cdn.example/cover.jpg"))
        .and(form("thumb_offset", "1500"))
        .and(form("share_to_feed", "true"))
        .and(form("caption", "Behind the oven"))
        .respond_with(id_body("r1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    let reel = ReelPost::new("https://cdn.example/r.mp4")
        .with_caption("Behind the oven")
        .with_cover_url("https://cdn.example/cover.jpg")
        .with_thumb_offset(Duration::from_millis(1500))
        .with_share_to_feed(true);

    let container = graph
        .client
        .create_container(&graph.account(), &MediaSpec::Reel(reel))
        .await
        .unwrap();

    assert_eq!(container, ContainerId::new("r1"));
}

#[tokio::test(start_paused = true)]
async fn stories_send_the_stories_type_and_never_a_caption() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "STORIES"))
        .and(form("image_url", "https://cdn.example/s.jpg"))
        .and(form("user_tags", r#"[{"username":"tea_house"}]"#))
        .and(no_form("caption"))
        .respond_with(id_body("s1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "STORIES"))
        .and(form("video_url", "https://cdn.example/s.mp4"))
        .respond_with(id_body("s2"))
        .expect(1)
        .mount(&graph.server)
        .await;

    let image = StoryPost::image("https://cdn.example/s.jpg")
        .with_user_tags([UserTag::mention("tea_house")]);
    let video = StoryPost::video("https://cdn.example/s.mp4");
    let account = graph.account();
    assert_eq!(
        graph
            .client
            .create_container(&account, &MediaSpec::Story(image))
            .await
            .unwrap(),
        ContainerId::new("s1")
    );
    assert_eq!(
        graph
            .client
            .create_container(&account, &MediaSpec::Story(video))
            .await
            .unwrap(),
        ContainerId::new("s2")
    );
}

#[tokio::test(start_paused = true)]
async fn transient_container_creation_failures_are_retried_a_bounded_number_of_times() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(graph_error(-1, Some(2207032), "Create media failed"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&graph.server)
        .await;
    graph.creates(&["c1"]).await;

    let container = graph
        .client
        .create_container(&graph.account(), &image())
        .await
        .unwrap();
    assert_eq!(container, c1());
}

#[tokio::test(start_paused = true)]
async fn a_media_fetch_failure_is_retried_then_reported_with_its_reason() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(graph_error(
            9004,
            Some(2207052),
            "Media download has failed",
        ))
        .expect(3)
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .create_container(&graph.account(), &image())
        .await
        .unwrap_err();

    assert_eq!(
        error.kind(),
        ErrorKind::MediaFetchFailed {
            reason: "the media could not be fetched from its URL".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn an_invalid_image_is_not_retried() {
    let graph = TestGraph::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(graph_error(
            36001,
            Some(2207005),
            "The image format is not supported",
        ))
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .create_container(&graph.account(), &image())
        .await
        .unwrap_err();

    assert_eq!(
        error.kind(),
        ErrorKind::InvalidMedia {
            reason: "unsupported image format (JPEG only)".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_container_status_meta_does_not_document_is_an_unexpected_response() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .and(query_param("fields", "status_code,status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status_code": "WEIRD"})))
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .container_status(&graph.account().access_token, &c1())
        .await
        .unwrap_err();

    assert!(
        matches!(error, MetaError::UnexpectedResponse { .. }),
        "{error:?}"
    );
}
