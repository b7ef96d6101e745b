//! The chaos scenario: real `kraftsoci-server worker` processes publish approved posts against
//! a slow fake Graph API while this harness kills them with SIGKILL at random moments and
//! starts them again.
//!
//! It checks the promise "the post goes to Instagram once": every approved post ends
//! published exactly once (one published container per caption at the fake, one
//! `media_publish` that took), none lost (failed or still waiting at the end), every published
//! post with its media id and permalink. It measures the drain: from the last kill to the
//! moment no post is `approved` or `publishing` any more, which recovery bounds by one lease
//! plus the reconcile grace.
//!
//! The in-process [`BenchServer`] migrates and seeds the database and serves the signed media
//! links the workers probe; the workers share its token keys and link key through their
//! environment, as separate deployments of one configuration would.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rand::Rng as _;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::fake_graph::FakeGraph;
use crate::publish::seed_posts;
use crate::server::{BenchServer, TempDir};

/// The scenario's knobs.
#[derive(Debug, Clone)]
pub struct ChaosSpec {
    /// The `kraftsoci-server` binary the workers run.
    pub server_bin: PathBuf,
    /// Worker processes running at once.
    pub workers: usize,
    /// Claim loops per worker process (`KRAFTSOCI_WORKER_CONCURRENCY`).
    pub worker_concurrency: u32,
    /// Approved posts.
    pub posts: usize,
    /// Instagram accounts they are spread over.
    pub accounts: usize,
    /// The fake's latency per call: uniformly random in this range.
    pub latency: (Duration, Duration),
    /// Every n-th `media_publish` publishes and then answers a transient 500.
    pub ambiguous_every: Option<u64>,
    /// The pause between two kills: uniformly random in this range.
    pub kill_every: (Duration, Duration),
    /// How long after a kill the worker is started again (random up to this).
    pub restart_within: Duration,
    /// Kills stop after this long (or once every post settled).
    pub kill_for: Duration,
    /// `KRAFTSOCI_PUBLISH_LEASE` of the workers.
    pub lease: Duration,
    /// `KRAFTSOCI_PUBLISH_RECONCILE_GRACE` of the workers.
    pub grace: Duration,
    /// The whole run stops after this long, settled or not.
    pub time_limit: Duration,
}

/// What the scenario saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChaosReport {
    /// Approved posts seeded.
    pub posts: usize,
    /// SIGKILLs sent.
    pub kills: usize,
    /// Posts `published` in the database whose caption has exactly one published container
    /// at the fake.
    pub published_once: usize,
    /// Captions with more than one published container, or a container published twice.
    pub duplicates: usize,
    /// Posts that ended `failed` (an approved post that did not go out).
    pub failed: usize,
    /// Posts still `approved` or `publishing` at the end.
    pub stuck: usize,
    /// Published posts without a media id or a permalink.
    pub missing_media_ids: usize,
    /// Posts the database calls published that the fake never published.
    pub phantom: usize,
    /// Failure codes of the failed posts, with their counts.
    pub failure_codes: Vec<(String, i64)>,
    /// From the last kill until no post was left `approved` or `publishing`; `None` when the
    /// run hit its time limit first.
    pub drain: Option<Duration>,
    /// From the first worker start until everything settled (or the time limit).
    pub total: Duration,
    /// Graph calls answered, containers created, `media_publish` calls.
    pub graph_calls: u64,
    /// Containers created.
    pub containers: u64,
    /// `media_publish` calls.
    pub publish_calls: u64,
    /// `media_publish` calls that published and answered 500.
    pub ambiguous_answers: u64,
}

impl ChaosReport {
    /// Lost posts: failed or stuck.
    pub fn lost(&self) -> usize {
        self.failed + self.stuck
    }
}

/// The settings every worker process shares with the seeding server.
struct Shared {
    database_url: String,
    public_url: String,
    graph_url: String,
    token_keys: String,
    media_key: SecretString,
    media_dir: PathBuf,
}

/// One worker slot: its running process, if any, and its log file.
struct Slot {
    child: Option<Child>,
    log: PathBuf,
}

fn spawn_worker(spec: &ChaosSpec, shared: &Shared, log: &PathBuf) -> anyhow::Result<Child> {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let mut command = Command::new(&spec.server_bin);
    command
        .arg("worker")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn,kraftsoci_server::worker=info")
        .env("KRAFTSOCI_ENV", "development")
        .env("KRAFTSOCI_SANDBOX", "0")
        .env("KRAFTSOCI_DATABASE_URL", &shared.database_url)
        .env("KRAFTSOCI_PUBLIC_URL", &shared.public_url)
        .env("KRAFTSOCI_TOKEN_KEYS", &shared.token_keys)
        .env(
            "KRAFTSOCI_MEDIA_SIGNING_KEY",
            shared.media_key.expose_secret(),
        )
        .env(
            "KRAFTSOCI_MEDIA_URL",
            format!("file://{}", shared.media_dir.display()),
        )
        .env("META_GRAPH_URL", &shared.graph_url)
        .env(
            "KRAFTSOCI_WORKER_CONCURRENCY",
            spec.worker_concurrency.to_string(),
        )
        .env("KRAFTSOCI_WORKER_POLL_MS", "200")
        .env("KRAFTSOCI_PUBLISH_LEASE", spec.lease.as_secs().to_string())
        .env(
            "KRAFTSOCI_PUBLISH_RECONCILE_GRACE",
            spec.grace.as_secs().to_string(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file.try_clone()?))
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true);
    command
        .spawn()
        .with_context(|| format!("starting {}", spec.server_bin.display()))
}

fn random_between(range: (Duration, Duration)) -> Duration {
    if range.1 <= range.0 {
        return range.0;
    }
    rand::thread_rng().gen_range(range.0..=range.1)
}

/// The database, on either engine, for the few counting queries the report needs.
enum Pool {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// Runs one query on whichever engine the pool is.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            Pool::Postgres($p) => $body,
            Pool::Sqlite($p) => $body,
        }
    };
}

const COUNT_BY_STATUS: &str = "SELECT status, CAST(COUNT(*) AS BIGINT) FROM posts GROUP BY status";
const COUNT_MISSING: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM posts \
     WHERE status = 'published' AND (instagram_media_id IS NULL OR permalink IS NULL)";
const FAILURE_CODES: &str = "SELECT COALESCE(failure_code, '?'), CAST(COUNT(*) AS BIGINT) \
     FROM posts WHERE status = 'failed' GROUP BY failure_code ORDER BY 2 DESC";
const PUBLISHED_CAPTIONS: &str = "SELECT caption FROM posts WHERE status = 'published'";

impl Pool {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(if url.starts_with("sqlite:") {
            Self::Sqlite(sqlx::SqlitePool::connect(url).await?)
        } else {
            Self::Postgres(sqlx::PgPool::connect(url).await?)
        })
    }

    /// Post counts by status, and published posts missing their media id or permalink.
    async fn census(&self) -> anyhow::Result<(HashMap<String, i64>, i64)> {
        let rows: Vec<(String, i64)> = on_pool!(self, |p| sqlx::query_as(COUNT_BY_STATUS)
            .fetch_all(p)
            .await?);
        let missing: i64 = on_pool!(self, |p| sqlx::query_scalar(COUNT_MISSING)
            .fetch_one(p)
            .await?);
        Ok((rows.into_iter().collect(), missing))
    }

    async fn failure_codes(&self) -> anyhow::Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, |p| sqlx::query_as(FAILURE_CODES)
            .fetch_all(p)
            .await?))
    }

    async fn published_captions(&self) -> anyhow::Result<Vec<String>> {
        Ok(on_pool!(self, |p| sqlx::query_scalar(PUBLISHED_CAPTIONS)
            .fetch_all(p)
            .await?))
    }

    async fn close(&self) {
        on_pool!(self, |p| p.close().await);
    }
}

fn pending(counts: &HashMap<String, i64>) -> i64 {
    ["approved", "publishing", "needs_reconnect"]
        .iter()
        .filter_map(|s| counts.get(*s))
        .sum()
}

/// Runs the scenario on the database at `database_url` (a scratch PostgreSQL database or a
/// fresh SQLite file): seeds, starts the workers, kills and restarts them for
/// [`ChaosSpec::kill_for`], waits for the drain, stops everything and counts.
///
/// # Errors
/// When seeding, a process start or the database fails; lost or duplicated posts are counted,
/// not errors.
pub async fn run(spec: &ChaosSpec, database_url: &str) -> anyhow::Result<ChaosReport> {
    if !spec.server_bin.is_file() {
        bail!(
            "{} does not exist: build it first (cargo build --release -p kraftsoci-server)",
            spec.server_bin.display()
        );
    }
    let fake =
        FakeGraph::start_jittered(spec.latency.0, spec.latency.1, spec.ambiguous_every).await?;
    let token_keys = kraftsoci_server::config::TokenKeys::generate();
    let token_keys_env = token_keys
        .iter()
        .map(|(id, key)| {
            use base64::Engine as _;
            format!(
                "{id}:{}",
                base64::engine::general_purpose::STANDARD.encode(key.expose_secret())
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let media_key = SecretString::from(format!(
        "chaos-media-key-{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ));
    let worker_media = TempDir::new("chaos-worker-media")?;
    let server = {
        let token_keys = token_keys.clone();
        let media_key = media_key.clone();
        BenchServer::start_with(database_url, Some(4), move |config| {
            config.token_keys = token_keys;
            config.media_signing_key = Some(media_key);
        })
        .await?
    };
    let shared = Shared {
        database_url: database_url.to_owned(),
        public_url: server.address.clone(),
        graph_url: fake.base_url().to_string(),
        token_keys: token_keys_env,
        media_key,
        media_dir: worker_media.path().to_path_buf(),
    };
    seed_posts(&server, spec.posts, spec.accounts, true).await?;
    let pool = Pool::connect(database_url)
        .await
        .context("connecting to count posts")?;

    // Kept after the run, for reading what the workers did.
    let logs = std::env::temp_dir().join(format!(
        "kraftsoci-chaos-logs-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut slots = Vec::with_capacity(spec.workers);
    for n in 0..spec.workers.max(1) {
        let log = logs.join(format!("worker-{n}.log"));
        let child = spawn_worker(spec, &shared, &log)?;
        slots.push(Slot {
            child: Some(child),
            log,
        });
    }
    let started = Instant::now();
    let mut kills = 0;
    let mut last_kill = started;
    // Kill phase: a random worker every few seconds, started again shortly after.
    while started.elapsed() < spec.kill_for {
        tokio::time::sleep(random_between(spec.kill_every)).await;
        if pending(&pool.census().await?.0) == 0 {
            break;
        }
        let n = rand::thread_rng().gen_range(0..slots.len());
        if let Some(mut child) = slots[n].child.take() {
            child.start_kill().context("SIGKILL")?;
            let _ = child.wait().await;
            kills += 1;
            last_kill = Instant::now();
        }
        tokio::time::sleep(random_between((Duration::ZERO, spec.restart_within))).await;
        slots[n].child = Some(spawn_worker(spec, &shared, &slots[n].log)?);
    }
    // Drain: the workers run undisturbed until nothing is left to settle.
    let mut drained_at = None;
    while started.elapsed() < spec.time_limit {
        if pending(&pool.census().await?.0) == 0 {
            drained_at = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for slot in &mut slots {
        if let Some(mut child) = slot.child.take() {
            child.start_kill().ok();
            let _ = child.wait().await;
        }
    }
    let (counts, missing) = pool.census().await?;
    let failure_codes = pool.failure_codes().await?;
    let published_captions = pool.published_captions().await?;
    pool.close().await;

    let by_caption = fake.publishes_by_caption();
    let counts_of = |status: &str| usize::try_from(*counts.get(status).unwrap_or(&0)).unwrap_or(0);
    let mut published_once = 0;
    let mut phantom = 0;
    for caption in &published_captions {
        // The fake keeps the whole text sent (caption, a blank line, the hashtags).
        let at_fake = by_caption
            .iter()
            .filter(|(sent, _)| sent.starts_with(caption.as_str()))
            .map(|(_, (containers, _))| *containers)
            .sum::<u32>();
        match at_fake {
            0 => phantom += 1,
            1 => published_once += 1,
            _ => {}
        }
    }
    let duplicates = by_caption
        .values()
        .filter(|(containers, calls)| *containers > 1 || *calls > *containers)
        .count();
    let graph = fake.counts();
    eprintln!("worker logs: {}", logs.display());
    Ok(ChaosReport {
        posts: spec.posts,
        kills,
        published_once,
        duplicates,
        failed: counts_of("failed"),
        stuck: usize::try_from(pending(&counts)).unwrap_or(0),
        missing_media_ids: usize::try_from(missing).unwrap_or(0),
        phantom,
        failure_codes,
        drain: drained_at.map(|at| at.saturating_duration_since(last_kill)),
        total: drained_at.unwrap_or_else(Instant::now) - started,
        graph_calls: graph.calls,
        containers: graph.containers,
        publish_calls: graph.publish_calls,
        ambiguous_answers: graph.ambiguous_answers,
    })
}
