//! The publish pipeline: N approved posts over M Instagram accounts, published by K concurrent
//! tasks through core's [`PublishOrchestrator`] and kraftsoci-meta's [`GraphPublisher`] against
//! a [`FakeGraph`] with a fixed latency per call.
//!
//! Each task is what one publish-worker slot does for a claimed job (run the orchestration,
//! record recovery points); the journal is kept in memory so the numbers show the pipeline and
//! the Graph round trips, not a database.
//!
//! The ideal bound is `K ÷ (calls per post × latency)`: K slots each waiting on one Graph call
//! at a time. Calls per post is measured (the fake counts them), not assumed; the **4-call
//! bound** takes the four calls a single image needs (create, status, `media_publish`,
//! permalink), so extra calls count against the pipeline.
//!
//! Both pipelines run core's default [`PublishPolicy`] except for its wait before a new
//! container's first status read (2 s, for Meta's processing time): the fake's containers are
//! ready at once, and that wait would measure the policy, not the pipeline.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use kraftsoci_core::ports::{JournalEntry, MediaSource, PublishAccount, PublishJournal};
use kraftsoci_core::{
    Approval, Caption, Hashtag, IgUserId, MediaDigest, MediaKind, Post, PostContent, PostId,
    PublishOrchestrator, PublishOutcome, PublishPermit, PublishPolicy, Restrictions, StoreError,
    SystemClock, UserId,
};
use kraftsoci_meta::{GraphPublisher, MetaClient, MetaConfig};
use secrecy::SecretString;
use tokio::time::Instant;

use kraftsoci_core::ports::{
    Connection, ConnectionStatus, JobRequest, MediaKey, PostMedia, PostUpdate, StoredImage,
};
use kraftsoci_core::vault::key_version_of;
use kraftsoci_core::{ConnectionId, TokenContext};
use kraftsoci_server::worker::{Worker, WorkerConfig, WorkerDeps};

use kraftsoci_server::config::DatabaseUrl;

use crate::export::proc_status_kib;
use crate::fake_graph::{FakeGraph, GraphCounts};
use crate::load::{Summary, new_histogram, record};
use crate::server::{BenchServer, http_client, sign_up_many};

/// The recovery points, in memory.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    entries: Mutex<HashMap<PostId, JournalEntry>>,
}

impl MemoryJournal {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<PostId, JournalEntry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl PublishJournal for MemoryJournal {
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
        Ok(self.entries().get(&post).cloned())
    }

    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
        self.entries().insert(post, entry.clone());
        Ok(())
    }

    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        self.entries().remove(&post);
        Ok(())
    }
}

/// The Graph calls a single image needs on the happy path: create, status, `media_publish`,
/// permalink.
pub const CALLS_PER_POST_BOUND: f64 = 4.0;

/// The policy of the runs: core's defaults, without the wait before the first status read.
pub fn bench_policy() -> PublishPolicy {
    PublishPolicy::default().with_first_poll_after(Duration::ZERO)
}

/// Resident-set samples taken while the worker published (`published so far`, KiB).
pub type MemorySamples = Vec<(u64, u64)>;

/// What publishes the posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// The server's publish worker over PostgreSQL: claims with leases, fenced journal writes,
    /// the post saved as `publishing` first, outcomes settled in one transaction.
    Worker,
    /// Core's orchestrator alone, with an in-memory journal: the Graph round trips only.
    Orchestrator,
}

/// The scenario's knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishSpec {
    /// Approved posts to publish.
    pub posts: usize,
    /// Instagram accounts they are spread over.
    pub accounts: usize,
    /// Publishes in flight at once.
    pub concurrency: usize,
    /// The fake Graph API's latency per call.
    pub latency: Duration,
    /// Every n-th `media_publish` publishes but answers 500.
    pub ambiguous_every: Option<u64>,
    /// Stop starting posts after this long.
    pub time_limit: Duration,
}

/// What the run measured.
#[derive(Debug, Clone)]
pub struct PublishReport {
    /// The knobs.
    pub spec: PublishSpec,
    /// Which pipeline published.
    pub pipeline: Pipeline,
    /// Posts published (for the worker: posts whose stored status is `published`).
    pub published: u64,
    /// Published posts over the run's wall-clock time, with per-post latencies (orchestrator:
    /// claim to outcome; worker: see [`PublishReport::create_to_publish`]); other outcomes are
    /// the errors.
    pub summary: Summary,
    /// Per published container, from its creation request to its `media_publish` answer, as
    /// the fake Graph API saw it.
    pub create_to_publish: Histogram<u64>,
    /// Outcomes other than `Published`, by kind.
    pub other_outcomes: HashMap<&'static str, u64>,
    /// What the fake Graph API counted.
    pub graph: GraphCounts,
    /// The process's resident set as the worker went on (worker only; the server, the
    /// worker and the fake run in this process, the fake with fixed-size counters — one byte
    /// per container — so that growth here is the worker's and the server's).
    pub memory: MemorySamples,
}

impl PublishReport {
    /// Published posts per second of the run.
    pub fn rate(&self) -> f64 {
        let seconds = self.summary.elapsed().as_secs_f64();
        if seconds > 0.0 {
            self.published as f64 / seconds
        } else {
            0.0
        }
    }

    /// Graph calls per published post.
    pub fn calls_per_post(&self) -> f64 {
        self.graph.calls as f64 / self.published.max(1) as f64
    }

    /// The best throughput the slots could reach: each slot always waiting on one call.
    pub fn ideal_rate(&self) -> f64 {
        let per_post = self.calls_per_post() * self.spec.latency.as_secs_f64();
        if per_post > 0.0 {
            self.spec.concurrency as f64 / per_post
        } else {
            f64::INFINITY
        }
    }

    /// The best throughput with the four calls a post needs (see [`CALLS_PER_POST_BOUND`]).
    pub fn four_call_bound(&self) -> f64 {
        let per_post = CALLS_PER_POST_BOUND * self.spec.latency.as_secs_f64();
        if per_post > 0.0 {
            self.spec.concurrency as f64 / per_post
        } else {
            f64::INFINITY
        }
    }

    /// Whether every post was published by exactly one `media_publish` of its own container.
    pub fn exactly_once(&self) -> bool {
        self.graph.published_twice == 0 && self.graph.published_containers == self.published
    }
}

fn outcome_kind(outcome: &PublishOutcome) -> &'static str {
    match outcome {
        PublishOutcome::Published { .. } => "published",
        PublishOutcome::Deferred { .. } => "deferred",
        PublishOutcome::NeedsReconnect { .. } => "needs_reconnect",
        PublishOutcome::Failed(_) => "failed",
    }
}

fn content(target: &IgUserId, i: usize) -> anyhow::Result<PostContent> {
    Ok(PostContent {
        caption: Caption::parse(&format!(
            "Fresh simit every morning from our stone oven, batch {i}."
        ))?,
        hashtags: vec![Hashtag::parse("simit")?, Hashtag::parse("bakery")?],
        alt_text: None,
        media_kind: MediaKind::Image,
        media: vec![MediaDigest::of(format!("image {i}").as_bytes())],
        target: Some(target.clone()),
    })
}

fn approval(owner: UserId, post: &Post, target: &IgUserId, at: DateTime<Utc>) -> Approval {
    Approval {
        user: owner,
        shown_hash: post.content_hash(),
        target: target.clone(),
        at,
        ip: None,
        user_agent: None,
        scheduled_for: None,
        api_key: None,
    }
}

fn approved_post(owner: UserId, target: &IgUserId, i: usize) -> anyhow::Result<PublishPermit> {
    let now = Utc::now();
    let mut post = Post::generated(owner, content(target, i)?, now)?;
    post.approve(approval(owner, &post, target, now))?;
    Ok(post.begin_publishing(now, &Restrictions::default())?)
}

/// Runs the scenario through core's orchestrator with an in-memory journal.
///
/// # Errors
/// When the fake cannot start or the posts cannot be built; failed publishes are counted,
/// not errors.
pub async fn run_orchestrator(spec: PublishSpec) -> anyhow::Result<PublishReport> {
    let fake = FakeGraph::start(spec.latency, spec.ambiguous_every).await?;
    let client =
        MetaClient::new(MetaConfig::token_only().with_graph_base_url(fake.base_url().clone()))
            .context("building the Graph client")?;
    let orchestrator = Arc::new(PublishOrchestrator::new(
        Arc::new(GraphPublisher::new(client)),
        Arc::new(MemoryJournal::default()),
        Arc::new(SystemClock),
        bench_policy(),
    ));

    let accounts: Vec<(UserId, PublishAccount)> = (0..spec.accounts.max(1))
        .map(|a| {
            Ok((
                UserId::new(),
                PublishAccount {
                    ig_user_id: IgUserId::parse(format!("1784140{a:010}"))?,
                    access_token: SecretString::from(format!("EAAG-bench-token-{a}")),
                },
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let accounts = Arc::new(accounts);
    let mut queue = VecDeque::with_capacity(spec.posts);
    for i in 0..spec.posts {
        let (owner, account) = &accounts[i % accounts.len()];
        queue.push_back((
            approved_post(*owner, &account.ig_user_id, i)?,
            i % accounts.len(),
        ));
    }
    let queue = Arc::new(Mutex::new(queue));

    let started = Instant::now();
    let deadline = started + spec.time_limit;
    let slots: Vec<_> = (0..spec.concurrency.max(1))
        .map(|_| {
            let queue = Arc::clone(&queue);
            let accounts = Arc::clone(&accounts);
            let orchestrator = Arc::clone(&orchestrator);
            tokio::spawn(async move {
                let mut latencies = new_histogram();
                let mut others: HashMap<&'static str, u64> = HashMap::new();
                let mut first_error = None;
                loop {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let next = queue
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .pop_front();
                    let Some((permit, account)) = next else { break };
                    let media = [MediaSource {
                        url: format!("https://media.bench.invalid/{}.jpg", permit.post()),
                        is_video: false,
                    }];
                    let claimed = Instant::now();
                    match orchestrator
                        .run(&permit, &accounts[account].1, &media)
                        .await
                    {
                        Ok(PublishOutcome::Published { .. }) => {
                            record(&mut latencies, claimed.elapsed());
                        }
                        Ok(other) => {
                            first_error.get_or_insert_with(|| format!("{other:?}"));
                            *others.entry(outcome_kind(&other)).or_default() += 1;
                        }
                        Err(error) => {
                            first_error.get_or_insert_with(|| error.to_string());
                            *others.entry("store_error").or_default() += 1;
                        }
                    }
                }
                (latencies, others, first_error)
            })
        })
        .collect();

    let mut latencies = new_histogram();
    let mut other_outcomes: HashMap<&'static str, u64> = HashMap::new();
    let mut first_error = None;
    for slot in slots {
        let (slot_latencies, others, error) = slot.await.context("a publish slot died")?;
        // Same bounds on both sides: adding cannot fail.
        let _ = latencies.add(&slot_latencies);
        for (kind, count) in others {
            *other_outcomes.entry(kind).or_default() += count;
        }
        if first_error.is_none() {
            first_error = error;
        }
    }
    let elapsed = started.elapsed();
    let errors = other_outcomes.values().sum();
    Ok(PublishReport {
        spec,
        pipeline: Pipeline::Orchestrator,
        published: latencies.len(),
        summary: Summary::from_parts(latencies, errors, first_error, elapsed),
        create_to_publish: fake.create_to_publish(),
        other_outcomes,
        graph: fake.counts(),
        memory: Vec::new(),
    })
}

/// The image bytes a seeded post was "generated" with (only their digest matters: the fake
/// Graph API never fetches the link).
fn image_bytes(i: usize) -> Vec<u8> {
    format!("bench image {i}").into_bytes()
}

async fn seed_approved_posts(server: &BenchServer, spec: &PublishSpec) -> anyhow::Result<()> {
    seed_posts(server, spec.posts, spec.accounts, false).await
}

/// Seeds `accounts` users, each with one active Instagram connection (token sealed by the
/// server's vault), and `posts` approved posts spread over them, each queued with its consent
/// receipt as the Publish click does (`approve_and_queue`). With `store_images`, each post's
/// image bytes are put in the server's media store, so its signed link answers.
///
/// # Errors
/// When a sign-up, a store call or a domain check fails.
pub async fn seed_posts(
    server: &BenchServer,
    posts: usize,
    accounts: usize,
    store_images: bool,
) -> anyhow::Result<()> {
    let state = &server.state;
    let client = http_client()?;
    let users = sign_up_many(&client, server, "publish", accounts.max(1)).await?;
    let now = Utc::now();
    let mut connections = Vec::with_capacity(users.len());
    for (a, user) in users.iter().enumerate() {
        let owner = UserId::from_uuid(user.id);
        let ig = IgUserId::parse(format!("1784140{a:010}"))?;
        let token = SecretString::from(format!("EAAG-bench-token-{a}"));
        let sealed = state
            .vault
            .seal(&token, &TokenContext::instagram(owner, &ig))?;
        let connection = state
            .stores
            .connections
            .save_connection(
                &Connection {
                    id: ConnectionId::new(),
                    owner,
                    ig_user_id: ig.clone(),
                    page_name: format!("Bench Bakery {a}"),
                    status: ConnectionStatus::Active,
                    token_expires_at: None,
                    created_at: now,
                },
                &sealed,
                key_version_of(&sealed)?,
            )
            .await?;
        connections.push((owner, ig, connection.id));
    }
    let connections = Arc::new(connections);
    let indices: Vec<usize> = (0..posts).collect();
    for chunk in indices.chunks(16) {
        let seeded = futures::future::join_all(chunk.iter().map(|&i| {
            let connections = Arc::clone(&connections);
            async move {
                let (owner, ig, connection) = &connections[i % connections.len()];
                let mut post = Post::generated(*owner, content_with_image(ig, i)?, now)?;
                let key = MediaKey::new(*owner, &format!("bench-{i}.jpg"))?;
                if store_images {
                    state
                        .media
                        .put(&key, image_bytes(i), "image/jpeg")
                        .await
                        .map_err(|e| anyhow::anyhow!("storing image {i}: {e}"))?;
                }
                state
                    .stores
                    .posts
                    .insert_post(
                        post.snapshot(),
                        &PostMedia {
                            topic: Some("fresh simit".to_owned()),
                            image: Some(StoredImage {
                                key,
                                width: 1080,
                                height: 1080,
                            }),
                            sandbox: false,
                        },
                    )
                    .await?;
                let expected_updated_at = post.snapshot().updated_at;
                let clicked = now + chrono::Duration::milliseconds(1);
                post.approve(approval(*owner, &post, ig, clicked))?;
                state
                    .stores
                    .posts
                    .approve_and_queue(
                        &PostUpdate {
                            post: post.snapshot().clone(),
                            expected_updated_at,
                        },
                        &JobRequest {
                            connection: *connection,
                            run_after: clicked,
                            at: clicked,
                        },
                    )
                    .await?;
                anyhow::Ok(())
            }
        }))
        .await;
        for outcome in seeded {
            outcome?;
        }
    }
    Ok(())
}

fn content_with_image(target: &IgUserId, i: usize) -> anyhow::Result<PostContent> {
    let mut content = content(target, i)?;
    content.media = vec![MediaDigest::of(&image_bytes(i))];
    Ok(content)
}

/// Post counts by status, read straight from the database.
async fn status_counts(pool: &sqlx::PgPool) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM posts GROUP BY status")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Runs the scenario through the server's publish worker on the PostgreSQL database at
/// `database_url` (a scratch database: it is filled with users, connections and posts).
///
/// The worker is started once every job is queued, with `spec.concurrency` claim loops and
/// the server's defaults otherwise (lease, back-off, journal fenced by the claim); the run
/// ends when no post is `approved` or `publishing` any more, or at the time limit.
///
/// # Errors
/// When the server, the fake or the seeding fails; failed publishes are counted, not errors.
pub async fn run_worker(spec: PublishSpec, database_url: &str) -> anyhow::Result<PublishReport> {
    let fake = FakeGraph::start(spec.latency, spec.ambiguous_every).await?;
    let server = BenchServer::start(database_url, Some(4)).await?;
    seed_approved_posts(&server, &spec).await?;
    let pool = sqlx::PgPool::connect(database_url)
        .await
        .context("connecting to count posts")?;

    let client =
        MetaClient::new(MetaConfig::token_only().with_graph_base_url(fake.base_url().clone()))
            .context("building the Graph client")?;
    let state = &server.state;
    let config = WorkerConfig {
        concurrency: u32::try_from(spec.concurrency.max(1)).unwrap_or(u32::MAX),
        // A claim loop that finds nothing waits this long; the queue is full from the start,
        // so this only matters at the very end.
        poll_interval: Duration::from_millis(20),
        policy: bench_policy(),
        ..WorkerConfig::default()
    };
    // The worker's own pool, sized as a `kraftsoci-server worker` process sizes it.
    let url = DatabaseUrl::parse(database_url).map_err(anyhow::Error::msg)?;
    let stores =
        kraftsoci_server::store::connect_with(&url, Arc::new(SystemClock), config.connections())
            .await?;
    let deps = WorkerDeps {
        stores,
        publisher: Arc::new(GraphPublisher::new(client)),
        vault: Arc::clone(&state.vault),
        links: Arc::clone(&state.media_links),
        // The fake Graph API fetches nothing.
        presigned: None,
        probe: None,
        link_ttl: state.config.media_publish_ttl,
        clock: Arc::new(SystemClock),
    };
    let started = Instant::now();
    let worker = Worker::new(deps, config).spawn();
    let mut counts = status_counts(&pool).await?;
    let mut memory = vec![(0, proc_status_kib("VmRSS").unwrap_or(0))];
    // One sample per tenth of the posts (and the last one).
    let step = u64::try_from(spec.posts / 10).unwrap_or(1).max(1);
    while Instant::now() < started + spec.time_limit {
        let pending = ["approved", "publishing"]
            .iter()
            .filter_map(|s| counts.get(*s))
            .sum::<i64>();
        let published = u64::try_from(counts.get("published").copied().unwrap_or(0)).unwrap_or(0);
        if published >= memory.last().map_or(0, |(at, _)| *at) + step {
            memory.push((published, proc_status_kib("VmRSS").unwrap_or(0)));
        }
        if pending == 0 {
            break;
        }
        // Counting every 25 ms: the count scans the posts, and more often would take the
        // worker's CPU on a long run.
        tokio::time::sleep(Duration::from_millis(25)).await;
        counts = status_counts(&pool).await?;
    }
    let elapsed = started.elapsed();
    let published = u64::try_from(counts.get("published").copied().unwrap_or(0)).unwrap_or(0);
    if memory.last().is_some_and(|(at, _)| *at < published) {
        memory.push((published, proc_status_kib("VmRSS").unwrap_or(0)));
    }
    worker.stop().await;
    pool.close().await;

    let published = counts.get("published").copied().unwrap_or(0);
    let mut other_outcomes: HashMap<&'static str, u64> = HashMap::new();
    for (status, count) in &counts {
        let kind = match status.as_str() {
            "published" => continue,
            "approved" | "publishing" => "unfinished",
            "failed" => "failed",
            "needs_reconnect" => "needs_reconnect",
            _ => "other",
        };
        *other_outcomes.entry(kind).or_default() += u64::try_from(*count).unwrap_or(0);
    }
    let create_to_publish = fake.create_to_publish();
    let errors = other_outcomes.values().sum();
    // The per-post latency the worker mode can observe: container creation to the
    // media_publish answer (claiming and settling are in the wall-clock rate).
    let summary = Summary::from_parts(
        create_to_publish.clone(),
        errors,
        (errors > 0).then(|| format!("post statuses at the end: {counts:?}")),
        elapsed,
    );
    Ok(PublishReport {
        spec,
        pipeline: Pipeline::Worker,
        published: u64::try_from(published).unwrap_or(0),
        summary,
        create_to_publish,
        other_outcomes,
        graph: fake.counts(),
        memory,
    })
}
