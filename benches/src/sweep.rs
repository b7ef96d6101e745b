//! The retention sweep (P18) over a large expired usage log, and what it does to the latency
//! of requests served meanwhile.
//!
//! The rows are inserted with one `INSERT … SELECT generate_series`, all older than the 30-day
//! retention. The server's own sweeper (`kraftsoci_server::retention::sweeper_for`, production
//! batch size and per-run batch limit) is then run again and again, as the periodic sweep
//! would, until no expired row is left; `GET /v1/me` is measured while it runs and, for
//! comparison, before.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use kraftsoci_core::retention::{DataCategory, SweepMode, SweepOutcome};
use reqwest::StatusCode;
use tokio::time::Instant;

use crate::api::measure_get;
use crate::load::{LoadSpec, Summary, closed_loop_while, expect_status};
use crate::server::{BenchServer, BenchUser, http_client, sign_up_many};

/// What the sweep scenario measured.
#[derive(Debug, Clone)]
pub struct SweepBench {
    /// Expired rows inserted.
    pub rows: u64,
    /// How long the bulk insert took.
    pub insert: Duration,
    /// Rows the sweeps deleted.
    pub deleted: u64,
    /// Sweep runs until nothing was left (each bounded by the batch limit).
    pub runs: u32,
    /// Delete statements (batches) over all runs.
    pub batches: u64,
    /// The sweeps' total wall-clock time.
    pub elapsed: Duration,
    /// Expired rows left at the end (0 unless the time limit cut the sweep short).
    pub left: i64,
    /// `GET /v1/me` before the sweep.
    pub quiet: Summary,
    /// `GET /v1/me` while the sweep ran.
    pub during: Summary,
    /// The batch size the server's sweeper used.
    pub batch_size: u32,
}

async fn expired_rows(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM usage_log WHERE at < now() - interval '31 days'")
            .fetch_one(pool)
            .await?,
    )
}

fn measure_me(
    client: &reqwest::Client,
    server: &BenchServer,
    users: &Arc<Vec<BenchUser>>,
    spec: &LoadSpec,
    running: Arc<AtomicBool>,
) -> impl std::future::Future<Output = Summary> + use<> {
    let client = client.clone();
    let users = Arc::clone(users);
    let url = Arc::new(server.url("/v1/me"));
    let spec = *spec;
    async move {
        closed_loop_while(&spec, running, move |i| {
            let client = client.clone();
            let users = Arc::clone(&users);
            let url = Arc::clone(&url);
            async move {
                let user = &users[usize::try_from(i).unwrap_or(0) % users.len()];
                let response = client
                    .get(url.as_str())
                    .bearer_auth(&user.access)
                    .send()
                    .await;
                expect_status(response, StatusCode::OK).await
            }
        })
        .await
    }
}

/// Runs the scenario: `rows` expired usage-log rows, `spec` for the measured requests (the
/// measurement during the sweep stops when the sweep does).
///
/// # Errors
/// When the server cannot start or the seeding fails.
pub async fn run(
    database_url: &str,
    rows: u64,
    spec: &LoadSpec,
    time_limit: Duration,
) -> anyhow::Result<SweepBench> {
    let server = BenchServer::start(database_url, Some(4)).await?;
    let client = http_client()?;
    let users = Arc::new(sign_up_many(&client, &server, "sweep", 10).await?);
    let pool = sqlx::PgPool::connect(database_url)
        .await
        .context("seeding connection")?;
    let ids: Vec<uuid::Uuid> = users.iter().map(|u| u.id).collect();
    let started = Instant::now();
    let inserted = sqlx::query(
        "INSERT INTO usage_log (user_id, method, route, status, ip, user_agent, security, at) \
         SELECT ($1::uuid[])[1 + g % cardinality($1::uuid[])], 'GET', '/v1/posts', 200, \
         '203.0.113.7', 'Mozilla/5.0 (bench)', false, \
         now() - interval '40 days' - g * interval '1 second' \
         FROM generate_series(1, $2) AS g",
    )
    .bind(&ids)
    .bind(i64::try_from(rows).unwrap_or(i64::MAX))
    .execute(&pool)
    .await
    .context("inserting the expired usage log")?
    .rows_affected();
    let insert = started.elapsed();
    sqlx::query("VACUUM ANALYZE usage_log")
        .execute(&pool)
        .await?;

    let _warm_up = measure_get(
        &client,
        &LoadSpec::new(200, spec.concurrency, time_limit),
        server.url("/v1/me"),
        &users,
        true,
    )
    .await;
    let quiet = measure_get(&client, spec, server.url("/v1/me"), &users, true).await;

    let sweeper = kraftsoci_server::retention::sweeper_for(&server.state)
        .context("building the server's sweeper")?;
    let batch_size = server.state.config.sweep.batch_size.get();
    let running = Arc::new(AtomicBool::new(true));
    // The measured requests have the same budget as the quiet ones and stop with the sweep.
    let during = tokio::spawn(measure_me(
        &client,
        &server,
        &users,
        &LoadSpec::new(u64::MAX, spec.concurrency, time_limit),
        Arc::clone(&running),
    ));
    let sweep_started = Instant::now();
    let (mut deleted, mut runs, mut batches) = (0_u64, 0_u32, 0_u64);
    while sweep_started.elapsed() < time_limit {
        let report = sweeper.run(SweepMode::Purge).await;
        runs += 1;
        let usage = report
            .categories
            .iter()
            .find(|c| c.category == DataCategory::UsageLog);
        let Some(usage) = usage else { break };
        deleted += usage.removed;
        batches += u64::from(usage.batches);
        match &usage.outcome {
            SweepOutcome::BatchLimitReached => continue,
            SweepOutcome::Complete => break,
            SweepOutcome::Failed(error) => {
                running.store(false, Ordering::Relaxed);
                anyhow::bail!("the sweep failed: {error}");
            }
        }
    }
    let elapsed = sweep_started.elapsed();
    running.store(false, Ordering::Relaxed);
    let during = during.await.context("the measuring task died")?;
    let left = expired_rows(&pool).await?;
    pool.close().await;
    Ok(SweepBench {
        rows: inserted,
        insert,
        deleted,
        runs,
        batches,
        elapsed,
        left,
        quiet,
        during,
        batch_size,
    })
}
