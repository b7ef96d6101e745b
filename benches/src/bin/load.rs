//! The load harness: `cargo run --release -p kraftsoci-benches --bin load -- <scenario> [options]`.
//!
//! Every scenario targets servers it starts itself on 127.0.0.1, sends a bounded number of
//! requests within a time limit, stops by itself, and prints Markdown tables with the machine
//! and the command that reproduces them. See `docs/performance.md`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use kraftsoci_benches::chaos::{self, ChaosSpec};
use kraftsoci_benches::load::LoadSpec;
use kraftsoci_benches::publish::{self, Pipeline, PublishSpec};
use kraftsoci_benches::report::{Table, ms, per_second, percent, print_epilogue, print_preamble};
use kraftsoci_benches::scratch::{DEFAULT_ADMIN_URL, with_scratch_db};
use kraftsoci_benches::server::{BenchServer, http_client, sign_up_many};
use kraftsoci_benches::{api, export, sweep};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(about = "kraftsoci load scenarios against in-process servers on 127.0.0.1")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Approved posts through the publish pipeline against a fake Graph API.
    Publish(PublishArgs),
    /// Requests per second and latency of GET /v1/me and GET /v1/posts beside a bare
    /// axum + sqlx ceiling (PostgreSQL).
    Api(ApiArgs),
    /// Latency of GET /v1/me while clients log in continuously (bcrypt at production cost).
    LoginStorm(StormArgs),
    /// Time and peak memory of GET /v1/me/export for an account with many posts.
    Export(ExportArgs),
    /// The retention sweep of a large expired usage log, and GET /v1/me latency meanwhile.
    Sweep(SweepArgs),
    /// Real `kraftsoci-server worker` processes killed with SIGKILL at random moments while
    /// they publish against a slow fake Graph API: duplicates, lost posts, drain time.
    Chaos(ChaosArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EngineArg {
    /// A scratch PostgreSQL database.
    Postgres,
    /// A fresh SQLite file.
    Sqlite,
}

#[derive(Debug, Args)]
struct ChaosArgs {
    #[command(flatten)]
    database: Database,
    /// The database engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Postgres)]
    engine: EngineArg,
    /// The kraftsoci-server binary (default: beside this one; build it first).
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
    /// Worker processes at once.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Claim loops per worker process.
    #[arg(long, default_value_t = 4)]
    worker_concurrency: u32,
    /// Approved posts.
    #[arg(long, default_value_t = 40)]
    posts: usize,
    /// Instagram accounts they are spread over.
    #[arg(long, default_value_t = 8)]
    accounts: usize,
    /// The fake Graph API's shortest latency per call, in milliseconds.
    #[arg(long, default_value_t = 500)]
    min_latency_ms: u64,
    /// Its longest latency per call, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    max_latency_ms: u64,
    /// Every n-th media_publish publishes but answers 500 (0: never).
    #[arg(long, default_value_t = 0)]
    ambiguous_every: u64,
    /// Shortest pause between two kills, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    min_kill_every_ms: u64,
    /// Longest pause between two kills, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    max_kill_every_ms: u64,
    /// A killed worker is started again within this many milliseconds.
    #[arg(long, default_value_t = 1_000)]
    restart_within_ms: u64,
    /// Seconds of killing.
    #[arg(long, default_value_t = 60)]
    kill_for_s: u64,
    /// KRAFTSOCI_PUBLISH_LEASE of the workers, in seconds.
    #[arg(long, default_value_t = 10)]
    lease_s: u64,
    /// KRAFTSOCI_PUBLISH_RECONCILE_GRACE of the workers, in seconds.
    #[arg(long, default_value_t = 20)]
    grace_s: u64,
    /// Seconds after which the run stops, settled or not.
    #[arg(long, default_value_t = 600)]
    time_limit_s: u64,
}

#[derive(Debug, Args)]
struct ExportArgs {
    #[command(flatten)]
    database: Database,
    /// Posts the exported account has.
    #[arg(long, default_value_t = 10_000)]
    posts: u32,
    /// Seconds after which the export is abandoned.
    #[arg(long, default_value_t = 120)]
    time_limit_s: u64,
}

#[derive(Debug, Args)]
struct SweepArgs {
    #[command(flatten)]
    database: Database,
    /// Expired usage-log rows to insert and sweep.
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// GET /v1/me requests measured before the sweep (during it, requests run until it ends).
    #[arg(long, default_value_t = 1_000)]
    requests: u64,
    /// GET /v1/me requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds after which the sweep (and each measurement) stops, whatever is left.
    #[arg(long, default_value_t = 300)]
    time_limit_s: u64,
}

#[derive(Debug, Args)]
struct Database {
    /// A PostgreSQL server to create the scratch database `kraftsoci_bench_<uuid>` on (it is
    /// dropped at the end).
    #[arg(long, env = "KRAFTSOCI_BENCH_DATABASE_URL", default_value = DEFAULT_ADMIN_URL)]
    database_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PipelineArg {
    /// The server's publish worker over PostgreSQL.
    Worker,
    /// Core's orchestrator with an in-memory journal (no database).
    Orchestrator,
}

#[derive(Debug, Args)]
struct PublishArgs {
    #[command(flatten)]
    database: Database,
    /// What publishes.
    #[arg(long, value_enum, default_value_t = PipelineArg::Worker)]
    pipeline: PipelineArg,
    /// Approved posts to publish.
    #[arg(long, default_value_t = 200)]
    posts: usize,
    /// Instagram accounts the posts are spread over.
    #[arg(long, default_value_t = 10)]
    accounts: usize,
    /// Publishes in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The fake Graph API's latency per call, in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Every n-th media_publish publishes but answers 500 (0: never).
    #[arg(long, default_value_t = 0)]
    ambiguous_every: u64,
    /// Stop starting posts after this many seconds.
    #[arg(long, default_value_t = 120)]
    time_limit_s: u64,
}

#[derive(Debug, Args)]
struct ApiArgs {
    #[command(flatten)]
    database: Database,
    /// Requests per target.
    #[arg(long, default_value_t = 2_000)]
    requests: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Users the requests rotate over.
    #[arg(long, default_value_t = 20)]
    users: usize,
    /// Posts seeded per user.
    #[arg(long, default_value_t = 50)]
    posts_per_user: u32,
    /// Posts per page (kraftsoci's default page size).
    #[arg(long, default_value_t = 20)]
    page: u32,
    /// Seconds after which a target stops, whatever is left.
    #[arg(long, default_value_t = 60)]
    time_limit_s: u64,
}

#[derive(Debug, Args)]
struct StormArgs {
    #[command(flatten)]
    database: Database,
    /// GET /v1/me requests per phase.
    #[arg(long, default_value_t = 1_000)]
    requests: u64,
    /// GET /v1/me requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Clients logging in back to back during the storm.
    #[arg(long, default_value_t = 50)]
    login_clients: usize,
    /// Logins sent at once in the shedding phase (0: skip it).
    #[arg(long, default_value_t = 200)]
    burst: usize,
    /// bcrypt cost (default: the server's, 12 as in production).
    #[arg(long)]
    bcrypt_cost: Option<u32>,
    /// Seconds after which a phase stops, whatever is left.
    #[arg(long, default_value_t = 60)]
    time_limit_s: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.scenario {
        Scenario::Publish(args) => publish(args).await,
        Scenario::Api(args) => api(args).await,
        Scenario::LoginStorm(args) => login_storm(args).await,
        Scenario::Export(args) => export(args).await,
        Scenario::Sweep(args) => sweep(args).await,
        Scenario::Chaos(args) => chaos(args).await,
    }
}

async fn chaos(args: ChaosArgs) -> anyhow::Result<()> {
    let server_bin = match args.server_bin {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("the harness has no directory")?
            .join("kraftsoci-server"),
    };
    let ms = Duration::from_millis;
    let spec = ChaosSpec {
        server_bin,
        workers: args.workers,
        worker_concurrency: args.worker_concurrency,
        posts: args.posts,
        accounts: args.accounts,
        latency: (ms(args.min_latency_ms), ms(args.max_latency_ms)),
        ambiguous_every: (args.ambiguous_every > 0).then_some(args.ambiguous_every),
        kill_every: (ms(args.min_kill_every_ms), ms(args.max_kill_every_ms)),
        restart_within: ms(args.restart_within_ms),
        kill_for: Duration::from_secs(args.kill_for_s),
        lease: Duration::from_secs(args.lease_s),
        grace: Duration::from_secs(args.grace_s),
        time_limit: Duration::from_secs(args.time_limit_s),
    };
    let engine = match args.engine {
        EngineArg::Postgres => "PostgreSQL",
        EngineArg::Sqlite => "SQLite",
    };
    print_preamble(&format!(
        "Chaos: {} worker processes on {engine}, SIGKILL every {}-{} ms for {} s",
        spec.workers, args.min_kill_every_ms, args.max_kill_every_ms, args.kill_for_s
    ));
    let report = match args.engine {
        EngineArg::Postgres => {
            with_scratch_db(&args.database.database_url, |url| {
                let spec = spec.clone();
                async move { chaos::run(&spec, &url).await }
            })
            .await?
        }
        EngineArg::Sqlite => {
            let dir = kraftsoci_benches::server::TempDir::new("chaos-sqlite")?;
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("chaos.db").display()
            );
            chaos::run(&spec, &url).await?
        }
    };
    let bound = spec.lease + spec.grace + Duration::from_secs(60);
    let mut table = Table::new([
        "posts",
        "kills",
        "published once",
        "duplicates",
        "lost",
        "stuck",
        "missing media ids",
        "drain after last kill",
        "bound (lease + grace + 1 min)",
        "total",
    ]);
    table.row([
        report.posts.to_string(),
        report.kills.to_string(),
        report.published_once.to_string(),
        report.duplicates.to_string(),
        report.lost().to_string(),
        report.stuck.to_string(),
        report.missing_media_ids.to_string(),
        report.drain.map_or_else(
            || "not drained".to_owned(),
            |d| format!("{:.1} s", d.as_secs_f64()),
        ),
        format!("{} s", bound.as_secs()),
        format!("{:.1} s", report.total.as_secs_f64()),
    ]);
    table.print();
    println!(
        "\nGraph: {} calls, {} containers, {} media_publish ({} answered 500 after \
         publishing); failed posts by code: {:?}; published in the database but not at the \
         fake: {}",
        report.graph_calls,
        report.containers,
        report.publish_calls,
        report.ambiguous_answers,
        report.failure_codes,
        report.phantom
    );
    print_epilogue();
    let ok = report.duplicates == 0
        && report.lost() == 0
        && report.missing_media_ids == 0
        && report.phantom == 0
        && report.drain.is_some_and(|d| d <= bound);
    if !ok {
        anyhow::bail!("the chaos run missed its goal (see the table)");
    }
    Ok(())
}

async fn export(args: ExportArgs) -> anyhow::Result<()> {
    print_preamble("Account export (GET /v1/me/export) on PostgreSQL");
    let report = with_scratch_db(&args.database.database_url, |url| async move {
        export::run(&url, args.posts, Duration::from_secs(args.time_limit_s)).await
    })
    .await?;
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    let mut table = Table::new([
        "posts",
        "document",
        "first byte",
        "total",
        "MB/s",
        "RSS before",
        "peak RSS during",
        "peak − before",
    ]);
    table.row([
        report.posts.to_string(),
        format!("{:.1} MB", report.bytes as f64 / 1e6),
        ms(report.first_byte),
        ms(report.elapsed),
        format!(
            "{:.1}",
            report.bytes as f64 / 1e6 / report.elapsed.as_secs_f64()
        ),
        mib(report.rss_before_kib),
        mib(report.peak_kib),
        mib(report.peak_kib.saturating_sub(report.rss_before_kib)),
    ]);
    table.print();
    if !report.peak_was_reset {
        println!("\n(the peak could not be reset: it is the process's lifetime peak)");
    }
    print_epilogue();
    Ok(())
}

async fn sweep(args: SweepArgs) -> anyhow::Result<()> {
    print_preamble("Retention sweep of an expired usage log (PostgreSQL)");
    let time_limit = Duration::from_secs(args.time_limit_s);
    let spec = LoadSpec::new(args.requests, args.concurrency, time_limit);
    let report = with_scratch_db(&args.database.database_url, |url| async move {
        sweep::run(&url, args.rows, &spec, time_limit).await
    })
    .await?;
    println!(
        "{} expired rows inserted in {:.1} s; sweeper batch size {}\n",
        report.rows,
        report.insert.as_secs_f64(),
        report.batch_size
    );
    let mut sweep_table = Table::new(["deleted", "left", "runs", "batches", "elapsed", "rows/s"]);
    sweep_table.row([
        report.deleted.to_string(),
        report.left.to_string(),
        report.runs.to_string(),
        report.batches.to_string(),
        format!("{:.2} s", report.elapsed.as_secs_f64()),
        per_second(report.deleted as f64 / report.elapsed.as_secs_f64()),
    ]);
    sweep_table.print();
    println!();
    let mut table = Table::new(["GET /v1/me", "ok", "errors", "req/s", "p50", "p99", "max"]);
    for (phase, s) in [
        ("before the sweep", &report.quiet),
        ("during the sweep", &report.during),
    ] {
        table.row([
            phase.to_owned(),
            s.succeeded().to_string(),
            s.errors().to_string(),
            per_second(s.rate()),
            ms(s.quantile(0.5)),
            ms(s.quantile(0.99)),
            ms(s.max()),
        ]);
    }
    table.print();
    print_epilogue();
    Ok(())
}

async fn publish(args: PublishArgs) -> anyhow::Result<()> {
    let spec = PublishSpec {
        posts: args.posts,
        accounts: args.accounts,
        concurrency: args.concurrency,
        latency: Duration::from_millis(args.latency_ms),
        ambiguous_every: (args.ambiguous_every > 0).then_some(args.ambiguous_every),
        time_limit: Duration::from_secs(args.time_limit_s),
    };
    let report = match args.pipeline {
        PipelineArg::Worker => {
            print_preamble(
                "Publish pipeline: the server's publish worker on PostgreSQL, fake Graph API",
            );
            with_scratch_db(&args.database.database_url, |url| async move {
                publish::run_worker(spec, &url).await
            })
            .await?
        }
        PipelineArg::Orchestrator => {
            print_preamble(
                "Publish pipeline: core's PublishOrchestrator + GraphPublisher, in-memory journal, fake Graph API",
            );
            publish::run_orchestrator(spec).await?
        }
    };
    let s = &report.summary;
    let mut table = Table::new([
        "posts",
        "accounts",
        "concurrency",
        "latency/call",
        "published",
        "elapsed",
        "posts/s",
        "calls/post",
        "ideal posts/s",
        "ratio",
        "4-call bound",
        "÷ 4-call bound",
        "p50/post",
        "p99/post",
    ]);
    let per_post = match report.pipeline {
        Pipeline::Worker => "create → media_publish answer",
        Pipeline::Orchestrator => "claim → outcome",
    };
    table.row([
        args.posts.to_string(),
        args.accounts.to_string(),
        args.concurrency.to_string(),
        format!("{} ms", args.latency_ms),
        report.published.to_string(),
        format!("{:.2} s", s.elapsed().as_secs_f64()),
        format!("{:.1}", report.rate()),
        format!("{:.2}", report.calls_per_post()),
        format!("{:.1}", report.ideal_rate()),
        percent(report.rate() / report.ideal_rate()),
        format!("{:.1}", report.four_call_bound()),
        percent(report.rate() / report.four_call_bound()),
        ms(s.quantile(0.5)),
        ms(s.quantile(0.99)),
    ]);
    table.print();
    println!("\n(per-post latency: {per_post})\n");
    let g = &report.graph;
    let mut check = Table::new([
        "containers",
        "media_publish calls",
        "containers published",
        "published twice",
        "ambiguous 500s",
        "other outcomes",
        "exactly once",
    ]);
    let mut others: Vec<_> = report.other_outcomes.iter().collect();
    others.sort();
    check.row([
        g.containers.to_string(),
        g.publish_calls.to_string(),
        g.published_containers.to_string(),
        g.published_twice.to_string(),
        g.ambiguous_answers.to_string(),
        if others.is_empty() {
            "none".to_owned()
        } else {
            others
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        if report.exactly_once() { "yes" } else { "NO" }.to_owned(),
    ]);
    check.print();
    if !report.memory.is_empty() {
        println!(
            "\nResident set of this process (server, worker and fake) as the worker went on:\n"
        );
        let mut memory = Table::new(["published", "RSS"]);
        for (published, kib) in &report.memory {
            memory.row([
                published.to_string(),
                format!("{:.1} MiB", *kib as f64 / 1024.0),
            ]);
        }
        memory.print();
    }
    if let Some(error) = s.first_error() {
        println!("\nfirst non-published outcome: {error}");
    }
    print_epilogue();
    anyhow::ensure!(
        report.exactly_once(),
        "a container was published more than once"
    );
    Ok(())
}

async fn api(args: ApiArgs) -> anyhow::Result<()> {
    print_preamble("API on PostgreSQL, beside a bare axum + sqlx ceiling");
    with_scratch_db(&args.database.database_url, |url| async move {
        // Sign-ups only: the cost does not touch the measured reads.
        let server = BenchServer::start(&url, Some(4)).await?;
        let client = http_client()?;
        let users = Arc::new(sign_up_many(&client, &server, "api", args.users).await?);
        let pool = sqlx::PgPool::connect(&url)
            .await
            .context("seeding connection")?;
        let ids: Vec<_> = users.iter().map(|u| u.id).collect();
        let seeded = api::seed_posts(&pool, &ids, args.posts_per_user).await?;
        pool.close().await;
        println!(
            "{} users, {seeded} posts; {} requests per target, {} in flight\n",
            users.len(),
            args.requests,
            args.concurrency
        );
        let spec = LoadSpec::new(
            args.requests,
            args.concurrency,
            Duration::from_secs(args.time_limit_s),
        );
        let results = api::compare(&client, &server, &url, &users, &spec, args.page).await?;
        let mut table = Table::new([
            "target",
            "ok",
            "errors",
            "req/s",
            "p50",
            "p99",
            "max",
            "kraftsoci ÷ this",
        ]);
        for (_, [kraftsoci, same, split, filed, read]) in &results {
            for m in [kraftsoci, same, split, filed, read] {
                let s = &m.summary;
                table.row([
                    m.label.clone(),
                    s.succeeded().to_string(),
                    s.errors().to_string(),
                    per_second(s.rate()),
                    ms(s.quantile(0.5)),
                    ms(s.quantile(0.99)),
                    ms(s.max()),
                    percent(kraftsoci.summary.rate() / s.rate()),
                ]);
            }
        }
        table.print();
        for (_, measured) in &results {
            for m in measured {
                if let Some(error) = m.summary.first_error() {
                    println!("\n{}: first error: {error}", m.label);
                }
            }
        }
        print_epilogue();
        Ok(())
    })
    .await
}

async fn login_storm(args: StormArgs) -> anyhow::Result<()> {
    print_preamble("GET /v1/me during a login storm (PostgreSQL)");
    with_scratch_db(&args.database.database_url, |url| async move {
        let server = BenchServer::start(&url, args.bcrypt_cost).await?;
        let client = http_client()?;
        let users = Arc::new(sign_up_many(&client, &server, "storm", 50).await?);
        let spec = LoadSpec::new(
            args.requests,
            args.concurrency,
            Duration::from_secs(args.time_limit_s),
        );
        let me = server.url("/v1/me");
        let _ = api::measure_get(
            &client,
            &LoadSpec::new(200, args.concurrency, spec.time_limit),
            me.clone(),
            &users,
            true,
        )
        .await;
        let quiet = api::measure_get(&client, &spec, me.clone(), &users, true).await;
        let (stormy, storm) = api::during_login_storm(
            &client,
            server.url("/v1/auth/login"),
            &users,
            args.login_clients,
            || api::measure_get(&client, &spec, me.clone(), &users, true),
        )
        .await;
        println!(
            "bcrypt cost {}; {} login clients; GET /v1/me: {} requests, {} in flight\n",
            server.bcrypt_cost, args.login_clients, args.requests, args.concurrency
        );
        let mut table = Table::new([
            "phase", "ok", "errors", "req/s", "p50", "p99", "max", "logins", "logins/s",
        ]);
        for (phase, s, logins) in [
            ("quiet", &quiet, None),
            ("login storm", &stormy, Some(&storm)),
        ] {
            table.row([
                phase.to_owned(),
                s.succeeded().to_string(),
                s.errors().to_string(),
                per_second(s.rate()),
                ms(s.quantile(0.5)),
                ms(s.quantile(0.99)),
                ms(s.max()),
                logins.map_or("-".to_owned(), |l| {
                    format!(
                        "{} ok, {} shed (503), {} failed",
                        l.logins, l.shed, l.failed
                    )
                }),
                logins.map_or("-".to_owned(), |l| {
                    format!("{:.1}", l.logins as f64 / l.elapsed.as_secs_f64())
                }),
            ]);
        }
        table.print();
        println!(
            "\np99 during the storm ÷ quiet p99: {:.1}×",
            stormy.quantile(0.99).as_secs_f64() / quiet.quantile(0.99).as_secs_f64()
        );
        if args.burst > 0 {
            // Let the storm's admitted logins finish before the burst.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let burst = kraftsoci_benches::login_burst::login_burst(
                &client,
                &server.url("/v1/auth/login"),
                &users,
                args.burst,
            )
            .await;
            println!(
                "\n{} logins at once (bcrypt cost {})\n",
                args.burst, server.bcrypt_cost
            );
            let mut table = Table::new(["answer", "count", "p50", "p99", "max"]);
            for (answer, s) in [
                ("200 (admitted)", &burst.admitted),
                ("503 + Retry-After (shed)", &burst.shed),
            ] {
                table.row([
                    answer.to_owned(),
                    s.succeeded().to_string(),
                    ms(s.quantile(0.5)),
                    ms(s.quantile(0.99)),
                    ms(s.max()),
                ]);
            }
            table.row([
                "anything else".to_owned(),
                burst.other.to_string(),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ]);
            table.print();
            if let Some(first) = burst.first_other {
                println!("\nfirst other answer: {first}");
            }
        }
        print_epilogue();
        Ok(())
    })
    .await
}
