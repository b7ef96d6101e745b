//! Embeds kraftsoci-core's consent gate and publish orchestration, with kraftsoci-meta's Graph
//! publisher, inside *your* application, with *your* storage.
//!
//! What it shows:
//! 1. implementing a core port yourself (`PublishJournal`, here a `HashMap`; in your app, a table);
//! 2. the consent gate: nothing can be published until the owner approves the exact content
//!    (the `PublishPermit` exists only after `Post::approve` + `Post::begin_publishing`), and an
//!    edit after approval voids it;
//! 3. running `PublishOrchestrator` against the Graph API and applying its outcome to the post;
//! 4. running it again: the recorded progress means nothing is published twice.
//!
//! ```text
//! cargo run -p kraftsoci-examples --example embed_publish_flow
//! ```
//! Without credentials it publishes to an in-process fake of the Graph API (wiremock) and prints
//! every request that reached it. With `META_ACCESS_TOKEN`, `META_IG_USER_ID` and `IMAGE_URL`
//! (a public JPEG) set, it publishes for real.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use kraftsoci_core::ports::{
    JournalEntry, MediaSource, PublishAccount, PublishJournal, SocialPublisher,
};
use kraftsoci_core::{
    AltText, Approval, Caption, Edit, Hashtag, IgUserId, MediaDigest, MediaKind, Post, PostContent,
    PostId, PublishOrchestrator, PublishOutcome, PublishPolicy, Restrictions, StoreError,
    SystemClock, UserId,
};
use kraftsoci_meta::{GraphPublisher, MetaClient, MetaConfig, PollPolicy};
use secrecy::SecretString;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Your application's storage for publish progress. Any durable store works, as long as
/// `record` has committed when it returns.
#[derive(Default)]
struct MyJournal(Mutex<HashMap<PostId, JournalEntry>>);

#[async_trait]
impl PublishJournal for MyJournal {
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
        let rows = self
            .0
            .lock()
            .map_err(|_| StoreError::Unavailable("poisoned".into()))?;
        Ok(rows.get(&post).cloned())
    }

    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
        println!("   journal: {:?}", step_name(entry));
        let mut rows = self
            .0
            .lock()
            .map_err(|_| StoreError::Unavailable("poisoned".into()))?;
        rows.insert(post, entry.clone());
        Ok(())
    }

    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        let mut rows = self
            .0
            .lock()
            .map_err(|_| StoreError::Unavailable("poisoned".into()))?;
        rows.remove(&post);
        Ok(())
    }
}

fn step_name(entry: &JournalEntry) -> &'static str {
    use kraftsoci_core::ports::PublishStep::*;
    match entry.step {
        ContainerCreated { .. } => "container created",
        ContainerReady { .. } => "container ready",
        PublishSent { .. } => "publish sent",
        Published { .. } => "published",
    }
}

/// A fake Graph API: one container that is ready at once, a roomy quota, one publish.
async fn fake_graph(ig_user: &str) -> MockServer {
    let server = MockServer::start().await;
    let json = |body: serde_json::Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{ig_user}/media")))
        .respond_with(json(serde_json::json!({"id": "17889455560051444"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/17889455560051444"))
        .respond_with(json(
            serde_json::json!({"status_code": "FINISHED", "id": "17889455560051444"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{ig_user}/content_publishing_limit")))
        .respond_with(json(serde_json::json!({
            "data": [{"quota_usage": 3, "config": {"quota_total": 50, "quota_duration": 86400}}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{ig_user}/media_publish")))
        .respond_with(json(serde_json::json!({"id": "17920238422030506"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v25.0/17920238422030506$"))
        .respond_with(json(serde_json::json!({
            "id": "17920238422030506",
            "permalink": "https://www.instagram.com/p/C0FAKE/"
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let real = std::env::var("META_ACCESS_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let ig_user = std::env::var("META_IG_USER_ID").unwrap_or_else(|_| "17841405822304914".into());
    let image_url =
        std::env::var("IMAGE_URL").unwrap_or_else(|_| "https://cdn.example/simit.jpg".into());

    let mut config = MetaConfig::token_only()
        .with_poll_policy(PollPolicy::default().with_initial_delay(Duration::from_millis(200)));
    let (token, fake) = match real {
        Some(token) => {
            println!("publishing for real to Instagram account {ig_user}");
            (token, None)
        }
        None => {
            let server = fake_graph(&ig_user).await;
            println!(
                "no META_ACCESS_TOKEN: using a fake Graph API at {}",
                server.uri()
            );
            config = config.with_graph_base_url(server.uri().parse()?);
            ("EAAfake-page-token".to_owned(), Some(server))
        }
    };
    let publisher: Arc<dyn SocialPublisher> =
        Arc::new(GraphPublisher::new(MetaClient::new(config)?));
    let journal = Arc::new(MyJournal::default());
    let orchestrator = PublishOrchestrator::new(
        publisher,
        journal.clone(),
        Arc::new(SystemClock),
        PublishPolicy::default(),
    );

    // 1. Your app generated (or the owner wrote) a post. The image digest binds the exact bytes.
    let owner = UserId::new();
    let target = IgUserId::parse(ig_user.clone())?;
    let mut post = Post::generated(
        owner,
        PostContent {
            caption: Caption::parse("Fresh simit, straight from our stone oven")?,
            hashtags: vec![Hashtag::parse("simit")?, Hashtag::parse("istanbul")?],
            alt_text: Some(AltText::parse(
                "Sesame bread rings cooling on a wooden tray",
            )?),
            media_kind: MediaKind::Image,
            media: vec![MediaDigest::of(image_url.as_bytes())],
            target: Some(target.clone()),
        },
        Utc::now(),
    )?;
    println!(
        "1. generated post {} in status {}",
        post.id(),
        post.status()
    );

    // 2. Before the owner clicks, there is no way to get a permit.
    let refused = post.begin_publishing(Utc::now(), &Restrictions::default());
    println!("2. publishing before the click: {}", refused.unwrap_err());

    // 3. The owner sees the preview (with its content hash) and clicks Publish.
    let shown = post.content_hash();
    let click = |hash| Approval {
        user: owner,
        shown_hash: hash,
        target: target.clone(),
        at: Utc::now(),
        ip: Some("203.0.113.10".into()),
        user_agent: Some("example".into()),
        scheduled_for: None,
        api_key: None,
    };
    post.approve(click(shown))?;
    println!(
        "3. approved; consent receipt hash {}",
        post.consent()
            .map(|c| c.content_hash().to_hex())
            .unwrap_or_default()
    );

    // 4. An edit after approval voids the consent; the old click no longer works.
    post.edit(
        Edit {
            caption: Some(Caption::parse(
                "Fresh simit, straight from our stone oven ☀️",
            )?),
            ..Edit::default()
        },
        Utc::now(),
    )?;
    println!(
        "4. edited after approval: status {}, old click -> {}",
        post.status(),
        post.approve(click(shown)).unwrap_err()
    );
    post.approve(click(post.content_hash()))?;
    println!("   approved again for the new content");

    // 5. Your worker takes the permit to Instagram.
    let permit = post.begin_publishing(Utc::now(), &Restrictions::default())?;
    let account = PublishAccount {
        ig_user_id: target.clone(),
        access_token: SecretString::from(token),
    };
    let media = [MediaSource {
        url: image_url,
        is_video: false,
    }];
    println!("5. publishing:");
    let outcome = orchestrator.run(&permit, &account, &media).await?;
    match &outcome {
        PublishOutcome::Published {
            media_id,
            permalink,
            at,
        } => {
            post.mark_published(media_id.clone(), permalink.clone(), *at)?;
            println!("   published: media {media_id:?}, {permalink:?}");
        }
        other => println!("   not published: {other:?}"),
    }

    // 6. Running again (a retry, a second worker, a restart) publishes nothing new.
    let again = orchestrator.run(&permit, &account, &media).await?;
    println!(
        "6. second run: {}",
        if again == outcome {
            "same outcome, no new call"
        } else {
            "different outcome"
        }
    );
    println!("   post status: {}", post.status());

    if let Some(server) = fake {
        let requests = server.received_requests().await.unwrap_or_default();
        println!("requests the fake Graph API received:");
        for r in &requests {
            println!("   {} {}", r.method, r.url.path());
        }
        // Dropping the server verifies media_publish was called exactly once.
        drop(server);
    }
    Ok(())
}
