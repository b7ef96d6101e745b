//! Finding a published post among the account's media: the listing request, paging back to the
//! window, and matching on caption and publish time (never "the first item").

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use kraftsoci_core::MediaKind;
use kraftsoci_core::ports::{
    ContainerId, FoundMedia, MediaLookup, MediaQuery, PublishErrorKind, SocialPublisher,
};
use kraftsoci_meta::{GraphPublisher, MEDIA_FIELDS};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const CAPTION: &str = "Fresh simit every morning\n\n#simit #istanbul";

/// 09:00:00 UTC on the day of the test posts.
fn nine() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
}

fn query(kind: MediaKind, caption: Option<&str>) -> MediaQuery {
    MediaQuery {
        container: ContainerId::new("c1"),
        kind,
        caption: caption.map(str::to_owned),
        published_after: nine(),
        published_before: nine() + chrono::Duration::minutes(10),
    }
}

/// One listed item as Meta writes it (its timestamp with a `+0000` offset).
fn item(id: &str, at: &str, caption: Option<&str>) -> Value {
    let mut item = json!({
        "id": id,
        "timestamp": at,
        "permalink": format!("https://www.instagram.com/p/{id}/"),
    });
    if let Some(caption) = caption {
        item["caption"] = Value::from(caption);
    }
    item
}

fn page(items: Vec<Value>, after: Option<&str>) -> ResponseTemplate {
    let mut body = json!({ "data": items });
    if let Some(cursor) = after {
        body["paging"] = json!({
            "cursors": {"before": "b", "after": cursor},
            "next": format!("https://graph.facebook.com/v25.0/{IG_USER}/media?after={cursor}&access_token=leaked"),
        });
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn publisher(graph: &TestGraph) -> Arc<dyn SocialPublisher> {
    Arc::new(GraphPublisher::new(graph.client.clone()))
}

#[tokio::test(start_paused = true)]
async fn the_post_is_found_by_its_caption_and_time_with_its_permalink_in_one_request() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(query_param("fields", MEDIA_FIELDS))
        .and(query_param("limit", "50"))
        .and(query_param_is_missing("after"))
        .respond_with(page(
            vec![
                item(
                    "17900000000000003",
                    "2026-05-01T09:20:00+0000",
                    Some("Tea time"),
                ),
                item(
                    "17900000000000002",
                    "2026-05-01T09:00:04+0000",
                    Some(CAPTION),
                ),
                item(
                    "17900000000000001",
                    "2026-04-24T09:00:00+0000",
                    Some(CAPTION),
                ),
            ],
            None,
        ))
        .expect(1)
        .mount(&graph.server)
        .await;

    let found = publisher(&graph)
        .find_media(&account(), &query(MediaKind::Image, Some(CAPTION)))
        .await
        .unwrap();

    assert_eq!(
        found,
        MediaLookup::Found(FoundMedia {
            media_id: "17900000000000002".into(),
            permalink: Some("https://www.instagram.com/p/17900000000000002/".into()),
        })
    );
    graph.assert_tokens_only_in_headers(TOKEN).await;
}

#[tokio::test(start_paused = true)]
async fn the_first_listed_item_is_not_taken_when_its_caption_differs() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(page(
            vec![
                item(
                    "17900000000000005",
                    "2026-05-01T09:00:03+0000",
                    Some("Börek on Sunday"),
                ),
                item("17900000000000004", "2026-05-01T09:00:02+0000", None),
            ],
            None,
        ))
        .expect(1)
        .mount(&graph.server)
        .await;

    let found = publisher(&graph)
        .find_media(&account(), &query(MediaKind::Image, Some(CAPTION)))
        .await
        .unwrap();

    assert_eq!(found, MediaLookup::NotFound);
}

#[tokio::test(start_paused = true)]
async fn the_same_caption_posted_twice_in_the_window_is_ambiguous_and_neither_is_chosen() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(page(
            vec![
                item(
                    "17900000000000007",
                    "2026-05-01T09:03:00+0000",
                    Some(CAPTION),
                ),
                item(
                    "17900000000000006",
                    "2026-05-01T09:00:05+0000",
                    Some(CAPTION),
                ),
            ],
            None,
        ))
        .mount(&graph.server)
        .await;

    let found = graph
        .client
        .find_media(&account(), &query(MediaKind::Image, Some(CAPTION)))
        .await
        .unwrap();

    assert_eq!(found, MediaLookup::Ambiguous { candidates: 2 });
}

#[tokio::test(start_paused = true)]
async fn paging_follows_the_cursor_back_to_the_window_and_stops_there() {
    let graph = TestGraph::start().await;
    // Page 1: everything newer than the window; page 2 reaches back before it; page 3 is
    // never needed.
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(query_param_is_missing("after"))
        .respond_with(page(
            vec![
                item(
                    "17900000000000012",
                    "2026-05-01T11:00:00+0000",
                    Some("Later"),
                ),
                item(
                    "17900000000000011",
                    "2026-05-01T10:00:00+0000",
                    Some("Later too"),
                ),
            ],
            Some("CURSOR-2"),
        ))
        .expect(1)
        .mount(&graph.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(query_param("after", "CURSOR-2"))
        .respond_with(page(
            vec![
                item(
                    "17900000000000010",
                    "2026-05-01T09:00:03+0000",
                    Some(CAPTION),
                ),
                item(
                    "17900000000000009",
                    "2026-04-30T18:00:00+0000",
                    Some("Yesterday"),
                ),
            ],
            Some("CURSOR-3"),
        ))
        .expect(1)
        .mount(&graph.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(query_param("after", "CURSOR-3"))
        .respond_with(page(vec![], None))
        .expect(0)
        .mount(&graph.server)
        .await;

    let found = graph
        .client
        .find_media(&account(), &query(MediaKind::Image, Some(CAPTION)))
        .await
        .unwrap();

    assert!(
        matches!(found, MediaLookup::Found(FoundMedia { ref media_id, .. }) if media_id == "17900000000000010"),
        "{found:?}"
    );
    // Meta's `next` URL (with a token in it) was never requested.
    for request in graph.requests().await {
        assert!(!request.url.as_str().contains("leaked"));
    }
}

#[tokio::test(start_paused = true)]
async fn a_story_is_looked_up_among_the_stories_by_time_alone() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/stories")))
        .and(query_param("fields", MEDIA_FIELDS))
        .respond_with(page(
            vec![item("17900000000000020", "2026-05-01T09:00:06+0000", None)],
            None,
        ))
        .expect(1)
        .mount(&graph.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(page(vec![], None))
        .expect(0)
        .mount(&graph.server)
        .await;

    let found = graph
        .client
        .find_media(&account(), &query(MediaKind::Story, None))
        .await
        .unwrap();

    assert!(matches!(found, MediaLookup::Found(_)), "{found:?}");
}

#[tokio::test(start_paused = true)]
async fn a_lookup_with_an_expired_token_asks_for_a_reconnect() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(graph_error(190, Some(463), "Session has expired"))
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = publisher(&graph)
        .find_media(&account(), &query(MediaKind::Image, Some(CAPTION)))
        .await
        .unwrap_err();

    assert_eq!(error.kind, PublishErrorKind::ReconnectNeeded);
    assert!(!error.message.contains(TOKEN));
}

#[tokio::test(start_paused = true)]
async fn a_listing_without_a_data_array_is_an_unexpected_answer_not_an_empty_account() {
    let graph = TestGraph::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"media": []})))
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = publisher(&graph)
        .find_media(&account(), &query(MediaKind::Image, Some(CAPTION)))
        .await
        .unwrap_err();

    assert_eq!(error.kind, PublishErrorKind::Unknown);
}
