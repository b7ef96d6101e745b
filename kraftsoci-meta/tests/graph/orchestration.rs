//! Core's `PublishOrchestrator` driving `GraphPublisher` against a wiremock Meta: the Graph
//! calls a post costs, counted by `.expect(n)`, and a lost `media_publish` answer recovered
//! from the container and the media listing without a second request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{JournalEntry, MediaSource, PublishJournal};
use kraftsoci_core::{
    Approval, Caption, Hashtag, IgUserId, MediaDigest, MediaKind, Post, PostContent, PostId,
    PublishOrchestrator, PublishOutcome, PublishPermit, PublishPolicy, QuotaBook, Restrictions,
    StoreError, SystemClock, UserId,
};
use kraftsoci_meta::{GraphPublisher, MEDIA_FIELDS};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

#[derive(Default)]
struct Journal(Mutex<HashMap<PostId, JournalEntry>>);

#[async_trait]
impl PublishJournal for Journal {
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
        Ok(self.0.lock().unwrap().get(&post).cloned())
    }
    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
        self.0.lock().unwrap().insert(post, entry.clone());
        Ok(())
    }
    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        self.0.lock().unwrap().remove(&post);
        Ok(())
    }
}

fn approved(caption: &str, now: DateTime<Utc>) -> PublishPermit {
    let owner = UserId::new();
    let content = PostContent {
        caption: Caption::parse(caption).unwrap(),
        hashtags: vec![Hashtag::parse("simit").unwrap()],
        alt_text: None,
        media_kind: MediaKind::Image,
        media: vec![MediaDigest::of(b"jpeg")],
        target: None,
    };
    let mut post = Post::generated(owner, content, now).unwrap();
    post.approve(Approval {
        user: owner,
        shown_hash: post.content_hash(),
        target: IgUserId::parse(IG_USER).unwrap(),
        at: now,
        ip: None,
        user_agent: None,
        scheduled_for: None,
        api_key: None,
    })
    .unwrap();
    post.begin_publishing(now, &Restrictions::default())
        .unwrap()
}

fn media() -> Vec<MediaSource> {
    vec![MediaSource {
        url: "https://media.kraftsoci.example/p/1.jpg?sig=abc".into(),
        is_video: false,
    }]
}

fn orchestrator(graph: &TestGraph, quotas: Arc<QuotaBook>) -> PublishOrchestrator {
    PublishOrchestrator::new(
        Arc::new(GraphPublisher::new(graph.client.clone())),
        Arc::new(Journal::default()),
        Arc::new(SystemClock),
        PublishPolicy::default().with_first_poll_after(Duration::ZERO),
    )
    .with_quotas(quotas)
}

/// Create, status, quota, publish and permalink, each answered for `posts` posts.
async fn mount_happy_path(graph: &TestGraph, posts: u64, quota_reads: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(id_body("c1"))
        .expect(posts)
        .named("create")
        .mount(&graph.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .respond_with(status_body("c1", "FINISHED"))
        .expect(posts)
        .named("status")
        .mount(&graph.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/content_publishing_limit")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"quota_usage": 0, "config": {"quota_total": 100, "quota_duration": 86400}}]
        })))
        .expect(quota_reads)
        .named("quota")
        .mount(&graph.server)
        .await;
    graph
        .publish("c1", id_body("17900000000000001"), posts)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/17900000000000001"))
        .and(query_param("fields", "permalink"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"permalink": "https://www.instagram.com/p/X1/", "id": "17900000000000001"}),
        ))
        .expect(posts)
        .named("permalink")
        .mount(&graph.server)
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_single_image_costs_four_graph_calls_plus_one_quota_read_per_book() {
    let graph = TestGraph::start().await;
    mount_happy_path(&graph, 3, 1).await;
    let quotas = Arc::new(QuotaBook::default());

    for _ in 0..3 {
        let o = orchestrator(&graph, Arc::clone(&quotas));
        let outcome = o
            .run(&approved("Fresh simit", Utc::now()), &account(), &media())
            .await
            .unwrap();
        assert!(
            matches!(
                outcome,
                PublishOutcome::Published { media_id: Some(ref id), permalink: Some(_), .. }
                    if id == "17900000000000001"
            ),
            "{outcome:?}"
        );
    }

    assert_eq!(graph.requests().await.len(), 3 * 4 + 1);
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_to_media_publish_is_recovered_from_the_container_and_the_media_listing() {
    let graph = TestGraph::start().await;
    let now = Utc::now();
    let permit = approved("Fresh simit", now);
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .respond_with(id_body("c1"))
        .expect(1)
        .mount(&graph.server)
        .await;
    // FINISHED for the poll, PUBLISHED once media_publish has (silently) worked.
    graph.statuses("c1", &["FINISHED", "PUBLISHED"]).await;
    graph.quota(0, 100).await;
    graph.publish("c1", ResponseTemplate::new(502), 1).await;
    let live_at = (now + chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string();
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(query_param("fields", MEDIA_FIELDS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "17900000000000009", "timestamp": live_at, "caption": "Fresh simit\n\n#simit",
             "permalink": "https://www.instagram.com/p/X9/"},
            {"id": "17900000000000008", "timestamp": live_at, "caption": "Another post",
             "permalink": "https://www.instagram.com/p/X8/"},
        ]})))
        .expect(1)
        .mount(&graph.server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("fields", "permalink"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&graph.server)
        .await;

    let outcome = orchestrator(&graph, Arc::new(QuotaBook::default()))
        .run(&permit, &account(), &media())
        .await
        .unwrap();

    assert!(
        matches!(
            outcome,
            PublishOutcome::Published { media_id: Some(ref id), permalink: Some(ref link), .. }
                if id == "17900000000000009" && link == "https://www.instagram.com/p/X9/"
        ),
        "{outcome:?}"
    );
}
