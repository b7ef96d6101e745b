//! The publish pipeline: N approved posts over M Instagram accounts, published by K concurrent
//! tasks through core's [`PublishOrchestrator`] and kraftsoci-meta's [`GraphPublisher`] against
//! a [`FakeGraph`] with a fixed latency per call.
//!
//! Each task is what one publish-worker slot does for a claimed job (run the orchestration,
//! record recovery points); the journal is kept in memory so the numbers show the pipeline and
//! the Graph round trips, not a database.
//!
//! The ideal bound is `K ÷ (calls per post × latency)`: K slots each waiting on one Graph call
//! at a time. Calls per post is measured (the fake counts them), not assumed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::Utc;
use kraftsoci_core::ports::{JournalEntry, MediaSource, PublishAccount, PublishJournal};
use kraftsoci_core::{
    Approval, Caption, Hashtag, IgUserId, MediaDigest, MediaKind, Post, PostContent, PostId,
    PublishOrchestrator, PublishOutcome, PublishPermit, PublishPolicy, Restrictions, StoreError,
    SystemClock, UserId,
};
use kraftsoci_meta::{GraphPublisher, MetaClient, MetaConfig};
use secrecy::SecretString;
use tokio::time::Instant;

use crate::fake_graph::{FakeGraph, GraphCounts};
use crate::load::{Summary, new_histogram, record};

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
    /// Per-post latency (claim to outcome) of the published posts; failures otherwise.
    pub summary: Summary,
    /// Outcomes other than `Published`, by kind.
    pub other_outcomes: HashMap<&'static str, u64>,
    /// What the fake Graph API counted.
    pub graph: GraphCounts,
}

impl PublishReport {
    /// Graph calls per published post.
    pub fn calls_per_post(&self) -> f64 {
        let published = self.summary.succeeded().max(1);
        self.graph.calls as f64 / published as f64
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

    /// Whether every post was published by exactly one `media_publish` of its own container.
    pub fn exactly_once(&self) -> bool {
        self.graph.published_twice == 0
            && self.graph.published_containers == self.summary.succeeded()
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

fn approved_post(owner: UserId, target: &IgUserId, i: usize) -> anyhow::Result<PublishPermit> {
    let now = Utc::now();
    let content = PostContent {
        caption: Caption::parse(&format!(
            "Fresh simit every morning from our stone oven, batch {i}."
        ))?,
        hashtags: vec![Hashtag::parse("simit")?, Hashtag::parse("bakery")?],
        alt_text: None,
        media_kind: MediaKind::Image,
        media: vec![MediaDigest::of(format!("image {i}").as_bytes())],
        target: Some(target.clone()),
    };
    let mut post = Post::generated(owner, content, now)?;
    post.approve(Approval {
        user: owner,
        shown_hash: post.content_hash(),
        target: target.clone(),
        at: now,
        ip: None,
        user_agent: None,
        scheduled_for: None,
    })?;
    Ok(post.begin_publishing(now, &Restrictions::default())?)
}

/// Runs the scenario.
///
/// # Errors
/// When the fake cannot start or the posts cannot be built; failed publishes are counted,
/// not errors.
pub async fn run(spec: PublishSpec) -> anyhow::Result<PublishReport> {
    let fake = FakeGraph::start(spec.latency, spec.ambiguous_every).await?;
    let client =
        MetaClient::new(MetaConfig::token_only().with_graph_base_url(fake.base_url().clone()))
            .context("building the Graph client")?;
    let orchestrator = Arc::new(PublishOrchestrator::new(
        Arc::new(GraphPublisher::new(client)),
        Arc::new(MemoryJournal::default()),
        Arc::new(SystemClock),
        PublishPolicy::default(),
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
        summary: Summary::from_parts(latencies, errors, first_error, elapsed),
        other_outcomes,
        graph: fake.counts(),
    })
}
