//! The publish worker against a wiremock Meta (Graph API), on SQLite.
//!
//! Each test builds a [`Harness`]: its own database, a manual clock, a fake Instagram, the
//! real Graph adapter pointed at it, a token vault and media links. Posts are put in the state
//! a Publish click leaves them in (approved with a consent receipt, image, queued job) through
//! the same store calls the click makes, then workers run one job at a time with `run_once`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use kraftsoci_core::ports::{
    AccountUpdate, Connection, ConnectionStatus, ContainerId, JobRequest, JournalEntry, MediaKey,
    MediaProbe, PostMedia, PostUpdate, PublishStep, Queued, SocialPublisher, StoredImage,
};
use kraftsoci_core::vault::{KeyRing, TokenContext, TokenVault, key_version_of};
use kraftsoci_core::{
    AltText, Approval, BusinessName, Caption, Clock, ConnectionId, Email, Hashtag, IgUserId,
    ManualClock, MediaDigest, MediaKind, Objections, PersonName, Post, PostContent, PostId,
    PostSnapshot, PostStatus, PublishPolicy, Restrictions, Sector, UserId,
};
use kraftsoci_meta::{GraphPublisher, MetaClient, MetaConfig, PollPolicy};
use kraftsoci_server::auth::PasswordHash;
use kraftsoci_server::media::PresignedMedia;
use kraftsoci_server::media_links::MediaLinks;
use kraftsoci_server::store::{
    JobChange, JobLease, NewAccount, PublishJobRecord, Settled, Settlement, Stores, WaitReason,
};
use kraftsoci_server::worker::{JobOutcome, RETRIES_EXHAUSTED, Worker, WorkerConfig, WorkerDeps};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::TestDb;

/// The Page token every test connection holds (it must never appear in a log).
pub const TOKEN: &str = "EAAworker-test-page-token-1f2e3d";
/// Where signed media links point.
pub const MEDIA_BASE: &str = "https://media.kraftsoci.test/";

/// A Graph error envelope.
pub fn graph_error(status: u16, code: u32, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AworkerTrace01",
        }
    }))
}

fn form_value(request: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(&request.body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[derive(Default)]
struct InstagramState {
    next: u64,
    /// Container → media id, once published.
    published: HashMap<String, String>,
    /// `media_publish` calls per `creation_id`.
    publishes: HashMap<String, u32>,
    /// The `image_url` of every created container.
    image_urls: Vec<String>,
}

/// A well-behaved Instagram: containers are `FINISHED` at once, a published container reads
/// `PUBLISHED`, the quota is ample, and every `media_publish` is counted per container.
#[derive(Clone, Default)]
pub struct FakeInstagram {
    state: Arc<Mutex<InstagramState>>,
}

struct CreateContainer(FakeInstagram);
struct ContainerStatusOf(FakeInstagram);
struct MediaPublish(FakeInstagram);

impl Respond for CreateContainer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.state.lock().unwrap();
        state.next += 1;
        let id = format!("1789{:08}", state.next);
        if let Some(url) = form_value(request, "image_url") {
            state.image_urls.push(url);
        }
        ResponseTemplate::new(200).set_body_json(json!({ "id": id }))
    }
}

impl Respond for ContainerStatusOf {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let container = request.url.path().rsplit('/').next().unwrap_or_default();
        let state = self.0.state.lock().unwrap();
        let code = if state.published.contains_key(container) {
            "PUBLISHED"
        } else {
            "FINISHED"
        };
        ResponseTemplate::new(200).set_body_json(json!({ "status_code": code, "id": container }))
    }
}

impl Respond for MediaPublish {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(container) = form_value(request, "creation_id") else {
            return graph_error(400, 100, "creation_id is required");
        };
        let mut state = self.0.state.lock().unwrap();
        *state.publishes.entry(container.clone()).or_default() += 1;
        let media = format!("1790{}", &container[4..]);
        state.published.insert(container, media.clone());
        ResponseTemplate::new(200).set_body_json(json!({ "id": media }))
    }
}

impl FakeInstagram {
    /// Mounts the whole fake on `server`.
    pub async fn mount(server: &MockServer) -> Self {
        let fake = Self::default();
        Mock::given(method("POST"))
            .and(path_regex(r"^/v25\.0/\d+/media$"))
            .respond_with(CreateContainer(fake.clone()))
            .named("create container")
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v25\.0/1789\d+$"))
            .and(query_param("fields", "status_code,status"))
            .respond_with(ContainerStatusOf(fake.clone()))
            .named("container status")
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v25\.0/\d+/content_publishing_limit$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"quota_usage": 0, "config": {"quota_total": 100000, "quota_duration": 86400}}]
            })))
            .named("content publishing limit")
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/v25\.0/\d+/media_publish$"))
            .respond_with(MediaPublish(fake.clone()))
            .named("media_publish")
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/v25\.0/1790\d+$"))
            .and(query_param("fields", "permalink"))
            .respond_with(|request: &Request| {
                let id = request.url.path().rsplit('/').next().unwrap_or_default();
                ResponseTemplate::new(200).set_body_json(json!({
                    "permalink": format!("https://www.instagram.com/p/{id}/"), "id": id
                }))
            })
            .named("permalink")
            .mount(server)
            .await;
        fake
    }

    /// `media_publish` calls per container.
    pub fn publishes(&self) -> HashMap<String, u32> {
        self.state.lock().unwrap().publishes.clone()
    }

    /// Every `media_publish` call.
    pub fn publish_count(&self) -> u32 {
        self.publishes().values().sum()
    }

    /// The image URLs Meta was asked to fetch.
    pub fn image_urls(&self) -> Vec<String> {
        self.state.lock().unwrap().image_urls.clone()
    }
}

/// A connected owner.
#[derive(Debug, Clone)]
pub struct Owner {
    pub id: UserId,
    pub ig: IgUserId,
    pub connection: ConnectionId,
}

/// One database, one fake Meta and everything a worker needs.
pub struct Harness {
    pub db: TestDb,
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub manual: Option<Arc<ManualClock>>,
    pub graph: MockServer,
    pub vault: Arc<TokenVault>,
    pub links: Arc<MediaLinks>,
    pub publisher: Arc<dyn SocialPublisher>,
    /// The worker's media probe (none unless a test sets one).
    pub probe: Option<Arc<dyn MediaProbe>>,
    /// Presigned bucket links instead of the API's (none unless a test sets them).
    pub presigned: Option<Arc<PresignedMedia>>,
}

/// The Graph client's policies, shrunk so nothing waits for long.
pub fn meta_config(server: &MockServer) -> MetaConfig {
    MetaConfig::token_only()
        .with_graph_base_url(Url::parse(&server.uri()).unwrap())
        .with_poll_policy(
            PollPolicy::default()
                .with_initial_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(2))
                .with_multiplier(2.0)
                .with_jitter(0.0)
                .with_max_wait(Duration::from_millis(20)),
        )
        .with_publish_policy(
            kraftsoci_meta::PublishPolicy::default()
                .with_reconcile_delay(Duration::from_millis(1))
                .with_create_attempts(1),
        )
}

/// A worker configuration with tiny back-offs.
pub fn fast_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 2,
        poll_interval: Duration::from_millis(5),
        retry_after: Duration::from_secs(30),
        policy: PublishPolicy::default()
            .with_first_poll_after(Duration::from_millis(1))
            .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        ..WorkerConfig::default()
    }
}

pub fn t0() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

impl Harness {
    /// SQLite, a manual clock.
    pub async fn sqlite() -> Self {
        let manual = Arc::new(ManualClock::new(t0()));
        Self::with(TestDb::sqlite().await, manual.clone(), Some(manual)).await
    }

    pub async fn with(db: TestDb, clock: Arc<dyn Clock>, manual: Option<Arc<ManualClock>>) -> Self {
        let graph = MockServer::start().await;
        let stores = db.stores();
        let links = Arc::new(MediaLinks::new(
            &SecretString::from("worker test media signing key 0123456789"),
            Url::parse(MEDIA_BASE).unwrap(),
            Arc::clone(&clock),
        ));
        let publisher: Arc<dyn SocialPublisher> = Arc::new(GraphPublisher::new(
            MetaClient::new(meta_config(&graph)).unwrap(),
        ));
        Self {
            db,
            stores,
            clock,
            manual,
            graph,
            vault: Arc::new(TokenVault::new(KeyRing::generate().unwrap())),
            links,
            publisher,
            probe: None,
            presigned: None,
        }
    }

    pub fn manual(&self) -> &ManualClock {
        self.manual.as_deref().expect("a manual clock")
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.manual().advance(by);
    }

    pub fn deps_with(&self, stores: Stores) -> WorkerDeps {
        WorkerDeps {
            stores,
            publisher: Arc::clone(&self.publisher),
            vault: Arc::clone(&self.vault),
            links: Arc::clone(&self.links),
            presigned: self.presigned.clone(),
            probe: self.probe.clone(),
            link_ttl: Duration::from_secs(86_400),
            clock: Arc::clone(&self.clock),
        }
    }

    pub fn worker(&self) -> Worker {
        self.worker_with(fast_config())
    }

    pub fn worker_with(&self, config: WorkerConfig) -> Worker {
        Worker::new(self.deps_with(self.stores.clone()), config)
    }

    /// A signed-up account with an active Instagram connection holding [`TOKEN`].
    pub async fn owner(&self, ig: &str) -> Owner {
        let id = UserId::new();
        let email = format!("owner-{}@example.com", id.as_uuid().simple());
        self.stores
            .auth
            .create_account(&NewAccount {
                account: kraftsoci_core::ports::Account {
                    id,
                    name: PersonName::parse("Ada Lovelace").unwrap(),
                    email: Email::parse(&email).unwrap(),
                    business_name: BusinessName::parse("Ada's Bakery").unwrap(),
                    sector: Sector::parse("bakery").unwrap(),
                    created_at: self.now(),
                    preferences: Default::default(),
                    restrictions: Restrictions::default(),
                    objections: Objections::default(),
                    accepted_policy_version: "2026-01".to_owned(),
                    closed_at: None,
                },
                password_hash: PasswordHash::from_stored(format!("$2b$04${}", "a".repeat(53))),
                ip: None,
            })
            .await
            .unwrap();
        let ig = IgUserId::parse(ig).unwrap();
        let sealed = self
            .vault
            .seal(
                &SecretString::from(TOKEN),
                &TokenContext::instagram(id, &ig),
            )
            .unwrap();
        let connection = self
            .stores
            .connections
            .save_connection(
                &Connection {
                    id: ConnectionId::new(),
                    owner: id,
                    ig_user_id: ig.clone(),
                    page_name: "Ada's Bakery".to_owned(),
                    status: ConnectionStatus::Active,
                    token_expires_at: None,
                    created_at: self.now(),
                },
                &sealed,
                key_version_of(&sealed).unwrap(),
            )
            .await
            .unwrap();
        Owner {
            id,
            ig,
            connection: connection.id,
        }
    }

    /// A post as a Publish click leaves it: approved (with its consent receipt, for `at` when
    /// scheduled), its image stored, its job queued.
    pub async fn approved_post(
        &self,
        owner: &Owner,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> PostId {
        let now = self.now();
        let content = PostContent {
            caption: Caption::parse("Fresh simit, straight from the oven").unwrap(),
            hashtags: vec![Hashtag::parse("#simit").unwrap()],
            alt_text: Some(AltText::parse("Sesame bread rings on a tray").unwrap()),
            media_kind: MediaKind::Image,
            media: vec![MediaDigest::of(b"jpeg bytes")],
            target: None,
        };
        let mut post = Post::generated(owner.id, content, now).unwrap();
        let image = StoredImage {
            key: MediaKey::new(owner.id, &format!("{}.jpg", post.id())).unwrap(),
            width: 1080,
            height: 1350,
        };
        let media = PostMedia {
            topic: Some("simit".to_owned()),
            image: Some(image),
            sandbox: false,
        };
        self.stores
            .posts
            .insert_post(post.snapshot(), &media)
            .await
            .unwrap();
        let generated_at = post.snapshot().updated_at;
        post.approve(Approval {
            user: owner.id,
            shown_hash: post.content_hash(),
            target: owner.ig.clone(),
            at: now,
            ip: Some("203.0.113.9".to_owned()),
            user_agent: Some("worker-test".to_owned()),
            scheduled_for,
            api_key: None,
        })
        .unwrap();
        self.stores
            .posts
            .approve_and_queue(
                &PostUpdate {
                    post: post.snapshot().clone(),
                    expected_updated_at: generated_at,
                },
                &JobRequest {
                    connection: owner.connection,
                    run_after: scheduled_for.unwrap_or(now),
                    at: now,
                },
            )
            .await
            .unwrap();
        post.id()
    }

    pub async fn post(&self, owner: &Owner, id: PostId) -> PostSnapshot {
        self.stores.posts.post(owner.id, id).await.unwrap()
    }

    pub async fn job(&self, id: PostId) -> Option<PublishJobRecord> {
        self.stores.queue.publish_job_record(id).await.unwrap()
    }

    pub async fn requests(&self) -> usize {
        self.graph
            .received_requests()
            .await
            .unwrap_or_default()
            .len()
    }
}

/// Captures this thread's log output (the worker runs on the test's thread in `run_once`).
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    pub fn start() -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A mock that fails the test if Meta ever receives a matching call.
pub fn expect_none(name: &'static str, method_name: &str, pattern: &str) -> Mock {
    Mock::given(method(method_name))
        .and(path_regex(pattern))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named(name)
}

#[tokio::test]
async fn an_approved_post_is_published_once_and_its_job_is_done() {
    let h = Harness::sqlite().await;
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000001").await;
    let id = h.approved_post(&owner, None).await;

    let report = h.worker().run_once().await.unwrap().expect("a due job");

    assert_eq!(report.post, id);
    let JobOutcome::Published {
        media_id: Some(media_id),
    } = report.outcome
    else {
        panic!("expected a publish, got {:?}", report.outcome);
    };
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Published);
    assert_eq!(post.instagram_media_id.as_deref(), Some(media_id.as_str()));
    assert_eq!(
        post.permalink,
        Some(format!("https://www.instagram.com/p/{media_id}/"))
    );
    assert_eq!(instagram.publish_count(), 1);
    assert!(h.job(id).await.is_none(), "a finished job is removed");
    assert!(matches!(
        h.stores.journal.load(id).await.unwrap().map(|e| e.step),
        Some(PublishStep::Published { .. })
    ));
    // Meta fetched the image through a signed, expiring link to exactly this post's image.
    let urls = instagram.image_urls();
    assert_eq!(urls.len(), 1);
    let token = h.links.token_of(&urls[0]).expect("a link of ours");
    let granted = h.links.verify(token).unwrap();
    assert_eq!(granted.key.as_str(), format!("u/{}/{id}.jpg", owner.id));
    // The token travelled only as a bearer header.
    for request in h.graph.received_requests().await.unwrap() {
        assert!(!request.url.as_str().contains(TOKEN));
        assert!(!String::from_utf8_lossy(&request.body).contains(TOKEN));
        assert_eq!(
            request
                .headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some(format!("Bearer {TOKEN}"))
        );
    }
    // Nothing left to do.
    assert!(h.worker().run_once().await.unwrap().is_none());
}

#[tokio::test]
async fn a_worker_killed_after_publish_sent_is_reconciled_without_a_second_publish() {
    let h = Harness::sqlite().await;
    let owner = h.owner("17841400000000002").await;
    let id = h.approved_post(&owner, None).await;
    // The dead worker: claimed the job, saved the post as publishing, recorded PublishSent,
    // sent media_publish, and died before writing the outcome.
    let dead = h
        .stores
        .queue
        .claim_publish_job(
            "dead-worker/1",
            h.now(),
            h.now() + chrono::Duration::minutes(2),
        )
        .await
        .unwrap()
        .unwrap();
    let snapshot = h.post(&owner, id).await;
    let read_at = snapshot.updated_at;
    let mut post = Post::restore(snapshot).unwrap();
    let permit = post
        .begin_publishing(h.now(), &Restrictions::default())
        .unwrap();
    let saved = h
        .stores
        .queue
        .settle_publish_job(
            &dead.lease,
            &Settlement {
                post: Some(PostUpdate {
                    post: post.snapshot().clone(),
                    expected_updated_at: read_at,
                }),
                reconnect: None,
                job: JobChange::Keep,
                journal: None,
                notice: None,
                now: h.now(),
            },
        )
        .await
        .unwrap();
    assert_eq!(saved, Settled::Applied);
    h.stores
        .queue
        .record_publish_step(
            &dead.lease,
            id,
            &JournalEntry {
                approved_at: permit.receipt().approved_at(),
                step: PublishStep::PublishSent {
                    container: ContainerId::new("178955550001"),
                    at: h.now(),
                    sends: 1,
                    first_at: Some(h.now()),
                    refused: None,
                },
            },
        )
        .await
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/v25.0/178955550001"))
        .and(query_param("fields", "status_code,status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status_code": "PUBLISHED"})))
        .expect(1)
        .named("container status")
        .mount(&h.graph)
        .await;
    // The container links to nothing: the post is found in the account's media by its
    // caption and publish time (an older post with the same words is not it).
    let live_at = (h.now() + chrono::Duration::seconds(3))
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string();
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{}/media", owner.ig.as_str())))
        .and(query_param("fields", "id,timestamp,caption,permalink"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "17900000000000042", "timestamp": live_at,
             "caption": "Fresh simit, straight from the oven\n\n#simit",
             "permalink": "https://www.instagram.com/p/RECOVERED/"},
            {"id": "17900000000000041", "timestamp": "2026-01-01T09:00:00+0000",
             "caption": "Fresh simit, straight from the oven\n\n#simit",
             "permalink": "https://www.instagram.com/p/OLDER/"},
        ]})))
        .expect(1)
        .named("media lookup")
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;
    expect_none("create container", "POST", r"/media$")
        .mount(&h.graph)
        .await;

    // Its lease still holds: nobody touches the job.
    assert!(h.worker().run_once().await.unwrap().is_none());
    h.advance(chrono::Duration::minutes(3));
    let report = h
        .worker()
        .run_once()
        .await
        .unwrap()
        .expect("the expired lease frees the job");

    assert_eq!(
        report.outcome,
        JobOutcome::Published {
            media_id: Some("17900000000000042".into())
        }
    );
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Published);
    assert!(post.published_at.is_some());
    assert_eq!(
        post.instagram_media_id.as_deref(),
        Some("17900000000000042"),
        "reconciliation recovers the media id"
    );
    assert_eq!(
        post.permalink.as_deref(),
        Some("https://www.instagram.com/p/RECOVERED/")
    );
    assert!(h.job(id).await.is_none());
}

#[tokio::test]
async fn a_190_marks_the_post_and_the_connection_needs_reconnect_and_is_not_retried() {
    let h = Harness::sqlite().await;
    let logs = LogCapture::start();
    let owner = h.owner("17841400000000003").await;
    let id = h.approved_post(&owner, None).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media$"))
        .respond_with(graph_error(
            400,
            190,
            "Error validating access token: Session has expired",
        ))
        .expect(1)
        .named("create container")
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;
    let config = fast_config();
    let worker = h.worker_with(config.clone());

    let report = worker.run_once().await.unwrap().unwrap();

    assert_eq!(report.outcome, JobOutcome::NeedsReconnect);
    assert_eq!(h.post(&owner, id).await.status, PostStatus::NeedsReconnect);
    let connection = h
        .stores
        .connections
        .connection(owner.id, owner.connection)
        .await
        .unwrap();
    assert_eq!(connection.status, ConnectionStatus::NeedsReconnect);
    let job = h.job(id).await.expect("the job is parked, not dropped");
    assert_eq!(job.state, "queued");
    assert_eq!(job.wait_reason, Some(WaitReason::Reconnect));
    assert_eq!(job.locked_by, None);
    assert_eq!(
        job.run_after,
        h.now() + chrono::Duration::from_std(config.recheck).unwrap()
    );

    // The re-check finds the post still waiting for its owner and calls nobody.
    h.advance(chrono::Duration::hours(1));
    let again = worker.run_once().await.unwrap().unwrap();
    assert!(matches!(
        again.outcome,
        JobOutcome::Waiting {
            reason: WaitReason::Reconnect,
            ..
        }
    ));
    assert_eq!(h.requests().await, 1, "one call, never retried");
    assert!(
        !logs.text().contains(TOKEN),
        "the token never reaches a log"
    );
}

#[tokio::test]
async fn a_spent_quota_defers_without_calling_media_publish() {
    let h = Harness::sqlite().await;
    let owner = h.owner("17841400000000004").await;
    let id = h.approved_post(&owner, None).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "178900000777"})))
        .expect(1)
        .mount(&h.graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/178900000777"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status_code": "FINISHED"})))
        .mount(&h.graph)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"/content_publishing_limit$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"quota_usage": 50, "config": {"quota_total": 50, "quota_duration": 86400}}]
        })))
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;
    let config = fast_config();

    let report = h
        .worker_with(config.clone())
        .run_once()
        .await
        .unwrap()
        .unwrap();

    let until = h.now() + chrono::Duration::from_std(config.policy.default_deferral()).unwrap();
    assert_eq!(
        report.outcome,
        JobOutcome::Waiting {
            until,
            reason: WaitReason::Quota
        }
    );
    let job = h.job(id).await.unwrap();
    assert_eq!(
        (job.state.as_str(), job.run_after, job.wait_reason),
        ("queued", until, Some(WaitReason::Quota))
    );
    assert_eq!(job.transient_deferrals, 0, "a spent quota is not a failure");
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Publishing);
    assert!(matches!(
        h.stores.journal.load(id).await.unwrap().map(|e| e.step),
        Some(PublishStep::ContainerReady { .. })
    ));
    // Not due again before the quota window allows.
    assert!(h.worker().run_once().await.unwrap().is_none());
}

#[tokio::test]
async fn a_dead_workers_lease_expires_and_another_worker_takes_the_job_over() {
    lease_takeover(Harness::sqlite().await).await;
}

/// Shared with the PostgreSQL suite.
pub async fn lease_takeover(h: Harness) {
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000005").await;
    let id = h.approved_post(&owner, None).await;
    let lease = chrono::Duration::minutes(2);
    let dead = h
        .stores
        .queue
        .claim_publish_job("dead-worker/7", h.now(), h.now() + lease)
        .await
        .unwrap()
        .expect("the due job");
    assert_eq!(dead.post, id);
    assert_eq!(dead.attempts, 1);

    let worker = h.worker();
    assert!(
        worker.run_once().await.unwrap().is_none(),
        "a held lease is respected"
    );
    h.advance(lease - chrono::Duration::seconds(1));
    assert!(worker.run_once().await.unwrap().is_none());
    h.advance(chrono::Duration::seconds(2));

    let report = worker.run_once().await.unwrap().expect("taken over");
    assert!(
        matches!(report.outcome, JobOutcome::Published { .. }),
        "{report:?}"
    );
    assert_eq!(instagram.publish_count(), 1);
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Published);

    // The dead worker wakes up: its claim is void, so it can neither record a step (and so
    // never reach media_publish) nor settle the job.
    let entry = JournalEntry {
        approved_at: h.now(),
        step: PublishStep::PublishSent {
            container: ContainerId::new("178999999999"),
            at: h.now(),
            sends: 1,
            first_at: None,
            refused: None,
        },
    };
    assert_eq!(
        h.stores
            .queue
            .record_publish_step(&dead.lease, id, &entry)
            .await,
        Err(kraftsoci_core::StoreError::Stale)
    );
    let settled = h
        .stores
        .queue
        .settle_publish_job(
            &dead.lease,
            &Settlement {
                post: None,
                reconnect: None,
                job: JobChange::Done,
                journal: None,
                notice: None,
                now: h.now(),
            },
        )
        .await
        .unwrap();
    assert_eq!(settled, Settled::LeaseLost);
    assert!(matches!(
        h.stores.journal.load(id).await.unwrap().map(|e| e.step),
        Some(PublishStep::Published { .. })
    ));
}

#[tokio::test]
async fn a_scheduled_post_does_not_publish_before_its_time() {
    let h = Harness::sqlite().await;
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000006").await;
    let at = h.now() + chrono::Duration::hours(2);
    let id = h.approved_post(&owner, Some(at)).await;
    let worker = h.worker();

    assert!(worker.run_once().await.unwrap().is_none(), "not due");
    h.advance(chrono::Duration::minutes(119));
    assert!(worker.run_once().await.unwrap().is_none(), "still not due");
    assert_eq!(
        h.requests().await,
        0,
        "nothing reached Meta before its time"
    );
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Approved);

    h.advance(chrono::Duration::minutes(1));
    let report = worker.run_once().await.unwrap().unwrap();
    assert!(matches!(report.outcome, JobOutcome::Published { .. }));
    assert_eq!(instagram.publish_count(), 1);
}

#[tokio::test]
async fn a_job_due_early_waits_for_the_time_its_consent_names() {
    let h = Harness::sqlite().await;
    let owner = h.owner("17841400000000007").await;
    let at = h.now() + chrono::Duration::hours(5);
    let id = h.approved_post(&owner, Some(at)).await;
    // The queue says now (e.g. an operator moved it); the consent says in five hours.
    h.db.exec(format!(
        "UPDATE publish_jobs SET run_after = '{}' WHERE post_id = '{id}'",
        h.now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    ))
    .await;

    let report = h.worker().run_once().await.unwrap().unwrap();

    assert_eq!(
        report.outcome,
        JobOutcome::Waiting {
            until: at,
            reason: WaitReason::Scheduled
        }
    );
    assert_eq!(h.job(id).await.unwrap().run_after, at);
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Approved);
    assert_eq!(h.requests().await, 0);
}

#[tokio::test]
async fn a_restricted_owners_approved_post_waits_and_goes_out_once_the_restriction_is_lifted() {
    let h = Harness::sqlite().await;
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000008").await;
    let id = h.approved_post(&owner, None).await;
    let restrict = |publishing: bool| AccountUpdate {
        restrictions: Some(Restrictions {
            generation: false,
            publishing,
        }),
        ..AccountUpdate::default()
    };
    h.stores
        .accounts
        .update_account(owner.id, &restrict(true))
        .await
        .unwrap();
    let worker = h.worker();

    let report = worker.run_once().await.unwrap().unwrap();

    assert!(matches!(
        report.outcome,
        JobOutcome::Waiting {
            reason: WaitReason::Restricted,
            ..
        }
    ));
    assert_eq!(
        h.requests().await,
        0,
        "P29: nothing is published while restricted"
    );
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Approved);
    // A re-check while still restricted changes nothing.
    h.advance(chrono::Duration::hours(1));
    assert!(matches!(
        worker.run_once().await.unwrap().unwrap().outcome,
        JobOutcome::Waiting {
            reason: WaitReason::Restricted,
            ..
        }
    ));
    assert_eq!(h.requests().await, 0);

    h.stores
        .accounts
        .update_account(owner.id, &restrict(false))
        .await
        .unwrap();
    // The job is looked at again once the re-check interval has passed.
    assert!(
        worker.run_once().await.unwrap().is_none(),
        "not yet re-checked"
    );
    h.advance(chrono::Duration::from_std(fast_config().recheck).unwrap());
    let report = worker.run_once().await.unwrap().unwrap();
    assert!(matches!(report.outcome, JobOutcome::Published { .. }));
    assert_eq!(instagram.publish_count(), 1);
}

#[tokio::test]
async fn temporary_meta_failures_are_bounded_then_the_post_fails_retryably() {
    let h = Harness::sqlite().await;
    let owner = h.owner("17841400000000009").await;
    let id = h.approved_post(&owner, None).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media$"))
        .respond_with(graph_error(500, 2, "Service temporarily unavailable"))
        .expect(3)
        .named("create container")
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;
    let config = WorkerConfig {
        max_transient_deferrals: 3,
        policy: fast_config().policy.with_max_create_attempts(1),
        ..fast_config()
    };
    let worker = h.worker_with(config.clone());

    for deferral in 1..=2 {
        let report = worker.run_once().await.unwrap().unwrap();
        assert!(
            matches!(
                report.outcome,
                JobOutcome::Waiting {
                    reason: WaitReason::Transient,
                    ..
                }
            ),
            "{report:?}"
        );
        assert_eq!(h.job(id).await.unwrap().transient_deferrals, deferral);
        h.advance(chrono::Duration::from_std(config.policy.default_deferral()).unwrap());
    }
    let report = worker.run_once().await.unwrap().unwrap();

    assert_eq!(
        report.outcome,
        JobOutcome::Failed {
            code: RETRIES_EXHAUSTED.to_owned(),
            retryable: true
        }
    );
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Failed);
    assert_eq!(post.failure.unwrap().code, RETRIES_EXHAUSTED);
    assert!(
        h.job(id).await.is_none(),
        "the owner may approve again with a fresh job"
    );
}

#[tokio::test]
async fn a_container_error_fails_the_post_with_its_reason() {
    let h = Harness::sqlite().await;
    let owner = h.owner("17841400000000010").await;
    let id = h.approved_post(&owner, None).await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "178900000888"})))
        .mount(&h.graph)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/178900000888"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status_code": "ERROR", "status": "Error: 2207026"})),
        )
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;

    let report = h.worker().run_once().await.unwrap().unwrap();

    assert!(matches!(
        report.outcome,
        JobOutcome::Failed { ref code, retryable: false } if code == "media_processing_failed"
    ));
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Failed);
    assert!(post.failure.unwrap().message.contains("2207026"));
    assert!(h.job(id).await.is_none());
}

#[tokio::test]
async fn a_withdrawn_post_drops_its_job_and_publishes_nothing() {
    let h = Harness::sqlite().await;
    let owner = h.owner("17841400000000011").await;
    let id = h.approved_post(&owner, None).await;
    let snapshot = h.post(&owner, id).await;
    let mut post = Post::restore(snapshot).unwrap();
    post.withdraw(h.now()).unwrap();
    // A withdrawal drops the job with the approval; this one was left behind (a crash in an
    // older version, an operator's restore), and the worker must still publish nothing.
    h.db.exec(format!(
        "UPDATE posts SET status = 'withdrawn', consent_id = NULL, updated_at = '{}' \
         WHERE id = '{id}'",
        post.snapshot()
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    ))
    .await;

    let report = h.worker().run_once().await.unwrap().unwrap();

    assert!(
        matches!(report.outcome, JobOutcome::Dropped { .. }),
        "{report:?}"
    );
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Withdrawn);
    assert!(h.job(id).await.is_none());
    assert_eq!(h.requests().await, 0);
}

#[tokio::test]
async fn a_token_sealed_for_someone_else_needs_a_reconnect_and_reaches_no_one() {
    let h = Harness::sqlite().await;
    let owner = h.owner("17841400000000012").await;
    let id = h.approved_post(&owner, None).await;
    // A ciphertext copied from another owner's row does not open (AAD): the owner reconnects.
    let foreign = h
        .vault
        .seal(
            &SecretString::from(TOKEN),
            &TokenContext::instagram(UserId::new(), &owner.ig),
        )
        .unwrap();
    let connection = h
        .stores
        .connections
        .connection(owner.id, owner.connection)
        .await
        .unwrap();
    h.stores
        .connections
        .save_connection(&connection, &foreign, 1)
        .await
        .unwrap();

    let report = h.worker().run_once().await.unwrap().unwrap();

    assert_eq!(report.outcome, JobOutcome::NeedsReconnect);
    assert_eq!(h.post(&owner, id).await.status, PostStatus::NeedsReconnect);
    assert_eq!(
        h.stores
            .connections
            .connection(owner.id, owner.connection)
            .await
            .unwrap()
            .status,
        ConnectionStatus::NeedsReconnect
    );
    assert_eq!(h.requests().await, 0);
}

#[tokio::test]
async fn a_long_poll_renews_the_lease_so_no_other_worker_takes_the_job() {
    let h = Harness::sqlite().await;
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000013").await;
    let id = h.approved_post(&owner, None).await;
    // The first status read hangs for a while, as a slow Graph answer would.
    Mock::given(method("GET"))
        .and(path_regex(r"^/v25\.0/1789\d+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status_code": "FINISHED"}))
                .set_delay(Duration::from_millis(600)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.graph)
        .await;
    let slow = h.worker_with(WorkerConfig {
        renew_every: Duration::from_millis(20),
        ..fast_config().with_lease(Duration::from_secs(60))
    });
    let running = tokio::spawn(async move { slow.run_once().await });

    // Wait until the job is held, then let the clock pass its first lease.
    let first_lease = loop {
        if let Some(until) = h.job(id).await.and_then(|j| j.lease_until) {
            break until;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    h.advance(chrono::Duration::minutes(5));
    let renewed = loop {
        let until = h.job(id).await.and_then(|j| j.lease_until).unwrap();
        if until > h.now() {
            break until;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    assert!(renewed > first_lease);
    assert!(
        h.worker().run_once().await.unwrap().is_none(),
        "a renewed lease keeps other workers off"
    );

    let report = running.await.unwrap().unwrap().unwrap();
    assert!(
        matches!(report.outcome, JobOutcome::Published { .. }),
        "{report:?}"
    );
    assert_eq!(instagram.publish_count(), 1);
}

#[tokio::test]
async fn a_spawned_worker_publishes_the_queue_and_stops_on_request() {
    let h = Harness::sqlite().await;
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000014").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(h.approved_post(&owner, None).await);
    }
    let handle = h.worker().spawn();
    for _ in 0..2000 {
        if instagram.publish_count() == 5 && h.job(ids[4]).await.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    handle.stop().await;

    for id in &ids {
        assert_eq!(h.post(&owner, *id).await.status, PostStatus::Published);
        assert!(h.job(*id).await.is_none());
    }
    assert_eq!(instagram.publish_count(), 5);
    assert!(instagram.publishes().values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_job_left_running_by_a_dead_worker_is_not_stolen_by_a_requeue_of_its_post() {
    // A repeated click of the unchanged post (`ensure_queued`) leaves a held job alone.
    let h = Harness::sqlite().await;
    let owner = h.owner("17841400000000015").await;
    let id = h.approved_post(&owner, None).await;
    let held = h
        .stores
        .queue
        .claim_publish_job("w/1", h.now(), h.now() + chrono::Duration::minutes(2))
        .await
        .unwrap()
        .unwrap();
    let requeued = h
        .stores
        .posts
        .ensure_queued(
            owner.id,
            id,
            &JobRequest {
                connection: owner.connection,
                run_after: h.now(),
                at: h.now(),
            },
        )
        .await
        .unwrap();
    assert_eq!(requeued, Queued::Unchanged);
    let job = h.job(id).await.unwrap();
    assert_eq!(job.locked_by.as_deref(), Some(held.lease.claim.as_str()));
    assert_eq!(job.state, "running");
    let lease = JobLease {
        job: job.id,
        claim: "w/2".to_owned(),
    };
    assert!(
        !h.stores
            .queue
            .renew_publish_lease(&lease, h.now())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_shutdown_interrupts_a_slow_job_releases_it_and_the_next_worker_publishes_it_once() {
    let h = Harness::sqlite().await;
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000016").await;
    let id = h.approved_post(&owner, None).await;
    // The container's first status read hangs well past the shutdown grace.
    Mock::given(method("GET"))
        .and(path_regex(r"^/v25\.0/1789\d+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status_code": "FINISHED"}))
                .set_delay(Duration::from_secs(5)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.graph)
        .await;
    let handle = h
        .worker_with(WorkerConfig {
            shutdown_grace: Duration::from_millis(20),
            concurrency: 1,
            ..fast_config()
        })
        .spawn();
    // Wait until the container exists (the run is then stuck on its status read).
    while h.stores.journal.load(id).await.unwrap().is_none() {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    handle.stop().await;

    let job = h.job(id).await.expect("released, not dropped");
    assert_eq!((job.state.as_str(), job.locked_by), ("queued", None));
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Publishing);
    assert_eq!(instagram.publish_count(), 0);
    // The next worker resumes from the journal: the same container, published once.
    let report = h.worker().run_once().await.unwrap().unwrap();
    assert!(
        matches!(report.outcome, JobOutcome::Published { .. }),
        "{report:?}"
    );
    assert_eq!(instagram.publish_count(), 1);
    assert_eq!(
        instagram.image_urls().len(),
        1,
        "no second container was created"
    );
}

// --- through the API: the Publish click, then the worker ----------------------------------

mod through_the_api {
    use reqwest::{Method, StatusCode};
    use serde_json::{Value, json};
    use url::Url;
    use wiremock::matchers::{method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::{FakeInstagram, expect_none, fast_config};
    use crate::helpers::{TestApp, parts, spawn_app_with};
    use kraftsoci_server::worker::{JobOutcome, Worker, WorkerDeps};

    const APP_SECRET: &str = "meta-app-secret-for-worker-tests";
    const CODE: &str = "AQDworker-code-0001";
    const SHORT_TOKEN: &str = "EAAworker-short-user-token";
    const LONG_TOKEN: &str = "EAAworker-long-user-token";
    const PAGE_TOKEN: &str = "EAAworker-page-token-simit";
    const IG_USER: &str = "17841405822300077";

    /// Meta answering Facebook Login with one Page that has an Instagram business account.
    async fn mount_login(meta: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/v25.0/oauth/access_token"))
            .and(query_param("code", CODE))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": SHORT_TOKEN, "token_type": "bearer", "expires_in": 3600}),
            ))
            .mount(meta)
            .await;
        Mock::given(method("GET"))
            .and(path("/v25.0/oauth/access_token"))
            .and(query_param("fb_exchange_token", SHORT_TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"access_token": LONG_TOKEN, "token_type": "bearer", "expires_in": 5_183_944}),
            ))
            .mount(meta)
            .await;
        Mock::given(method("GET"))
            .and(path("/v25.0/me/permissions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
                {"permission": "instagram_basic", "status": "granted"},
                {"permission": "instagram_content_publish", "status": "granted"},
                {"permission": "pages_show_list", "status": "granted"},
                {"permission": "pages_read_engagement", "status": "granted"},
                {"permission": "business_management", "status": "granted"},
            ]})))
            .mount(meta)
            .await;
        Mock::given(method("GET"))
            .and(path("/v25.0/me/accounts"))
            .and(query_param_is_missing("after"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
                {"id": "111", "name": "Simit Corner", "access_token": PAGE_TOKEN,
                 "instagram_business_account": {"id": IG_USER, "username": "simitcorner"}},
            ]})))
            .mount(meta)
            .await;
    }

    /// Connects the user's Instagram account through Facebook Login; returns its id.
    async fn connect(app: &TestApp, access: &str) -> String {
        let (status, body) = parts(
            app.call(Method::POST, "/v1/instagram/connect", access, None)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let url = Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let (status, connected) = parts(
            app.client
                .get(app.url(&format!("/v1/instagram/callback?code={CODE}&state={state}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{connected}");
        connected["accounts"][0]["id"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn a_publish_click_reaches_instagram_once_through_the_worker_and_the_graph_api() {
        let meta = MockServer::start().await;
        let uri = Url::parse(&meta.uri()).unwrap();
        let app = spawn_app_with(|config| {
            config.sandbox = false;
            config.meta.app_id = Some("4242424242".to_owned());
            config.meta.app_secret = Some(secrecy::SecretString::from(APP_SECRET));
            config.meta.graph_url = uri.clone();
            config.meta.dialog_url = uri;
        })
        .await;
        mount_login(&meta).await;
        let instagram = FakeInstagram::mount(&meta).await;
        let user = app.profiled_user("ada@example.com").await;
        let account = connect(&app, &user.access).await;
        let post = app.generated(&user.access).await;
        let id = post["id"].as_str().unwrap();
        let worker = Worker::new(WorkerDeps::from_state(&app.state), fast_config());

        // Nothing is published before the click (P09).
        assert!(worker.run_once().await.unwrap().is_none());
        assert_eq!(instagram.publish_count(), 0);

        let (status, clicked) = app.click_publish(&user.access, &post, &account).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{clicked}");
        let report = worker
            .run_once()
            .await
            .unwrap()
            .expect("the click queued a job");
        assert!(
            matches!(report.outcome, JobOutcome::Published { media_id: Some(_) }),
            "{report:?}"
        );

        let (_, shown) = app.get_post(&user.access, id).await;
        assert_eq!(shown["status"], "published", "{shown}");
        assert!(
            shown["permalink"]
                .as_str()
                .unwrap()
                .starts_with("https://www.instagram.com/p/")
        );
        assert_eq!(instagram.publish_count(), 1);
        // Meta fetched the image through the server's signed link, without credentials.
        let urls = instagram.image_urls();
        assert_eq!(urls.len(), 1);
        let image = app.client.get(app.local(&urls[0])).send().await.unwrap();
        assert_eq!(image.status(), StatusCode::OK);
        assert_eq!(image.headers()["content-type"], "image/jpeg");
        // The same click again changes nothing and publishes nothing.
        let (status, _) = app.click_publish(&user.access, &post, &account).await;
        assert!(
            status.is_success() || status == StatusCode::CONFLICT,
            "{status}"
        );
        while let Some(report) = worker.run_once().await.unwrap() {
            assert!(
                !matches!(report.outcome, JobOutcome::Published { .. }),
                "{report:?}"
            );
        }
        assert_eq!(instagram.publish_count(), 1);
    }

    #[tokio::test]
    async fn the_worker_inside_serve_publishes_a_sandbox_click() {
        let app = spawn_app_with(|config| {
            config.worker.enabled = true;
            config.worker.poll_interval = std::time::Duration::from_millis(5);
        })
        .await;
        let flow = app.flow_user("ada@example.com").await;
        let post = app.generated(&flow.user.access).await;
        let id = post["id"].as_str().unwrap();

        let (status, _) = app
            .click_publish(&flow.user.access, &post, &flow.account_id)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);

        let mut shown = Value::Null;
        for _ in 0..2000 {
            shown = app.get_post(&flow.user.access, id).await.1;
            if shown["status"] == "published" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(shown["status"], "published", "{shown}");
        assert!(
            shown["instagram_media_id"]
                .as_str()
                .unwrap()
                .starts_with("sandbox-")
        );
        assert_eq!(app.count("publish_jobs").await, 0);
    }

    #[tokio::test]
    async fn a_click_that_is_withdrawn_before_the_worker_runs_never_reaches_meta() {
        let meta = MockServer::start().await;
        let uri = Url::parse(&meta.uri()).unwrap();
        let app = spawn_app_with(|config| {
            config.sandbox = false;
            config.meta.app_id = Some("4242424242".to_owned());
            config.meta.app_secret = Some(secrecy::SecretString::from(APP_SECRET));
            config.meta.graph_url = uri.clone();
            config.meta.dialog_url = uri;
        })
        .await;
        mount_login(&meta).await;
        expect_none("media_publish", "POST", r"/media_publish$")
            .mount(&meta)
            .await;
        expect_none("create container", "POST", r"/media$")
            .mount(&meta)
            .await;
        let user = app.profiled_user("ada@example.com").await;
        let account = connect(&app, &user.access).await;
        let post = app.generated(&user.access).await;
        let id = post["id"].as_str().unwrap();
        let (status, _) = app.click_publish(&user.access, &post, &account).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let (status, _) = app.withdraw(&user.access, id).await;
        assert_eq!(status, StatusCode::OK);

        let worker = Worker::new(WorkerDeps::from_state(&app.state), fast_config());
        while let Some(report) = worker.run_once().await.unwrap() {
            assert!(
                matches!(report.outcome, JobOutcome::Dropped { .. }),
                "{report:?}"
            );
        }
        let (_, shown) = app.get_post(&user.access, id).await;
        assert_ne!(shown["status"], "published");
    }
}
