//! API scenarios on PostgreSQL: throughput and latency of authenticated reads beside a bare
//! axum + sqlx ceiling, and the same reads during a login storm.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

use crate::bare::BareServer;
use crate::load::{LoadSpec, Summary, closed_loop, expect_status};
use crate::server::{BenchServer, BenchUser, PASSWORD};

/// A SHA-256 in hex, for seeded posts' media digests.
const DIGEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Inserts `per_user` posts (status `ready`, one image digest and a stored-image key, three
/// hashtags) for each of `users`, in one `INSERT … SELECT generate_series`.
///
/// # Errors
/// When the insert fails.
pub async fn seed_posts(pool: &PgPool, users: &[uuid::Uuid], per_user: u32) -> anyhow::Result<u64> {
    let inserted = sqlx::query(
        "INSERT INTO posts (id, owner_id, topic, caption, hashtags, alt_text, media_kind, \
         media_digests, image_key, image_width, image_height, status, created_at, updated_at) \
         SELECT gen_random_uuid(), u, 'fresh simit', \
         'Fresh simit every morning from our stone oven, batch ' || g || '. Come early!', \
         '[\"simit\",\"bakery\",\"istanbul\"]', 'A basket of sesame bread rings', 'image', \
         '[\"' || $3 || '\"]', 'u/' || u || '/bench-' || g || '.jpg', 1080, 1080, 'ready', \
         now() - g * interval '1 minute', now() - g * interval '1 minute' \
         FROM unnest($1::uuid[]) AS u CROSS JOIN generate_series(1, $2) AS g",
    )
    .bind(users)
    .bind(i32::try_from(per_user).unwrap_or(i32::MAX))
    .bind(DIGEST)
    .execute(pool)
    .await
    .context("seeding posts")?;
    sqlx::query("ANALYZE posts").execute(pool).await?;
    Ok(inserted.rows_affected())
}

/// One measured target.
#[derive(Debug, Clone)]
pub struct Measured {
    /// What was measured (`GET /v1/me · kraftsoci`).
    pub label: String,
    /// Its latencies and rate.
    pub summary: Summary,
}

/// Sends `spec` requests to `url`, each as the next user of `users` (round robin), with
/// `Authorization: Bearer` (kraftsoci) or `x-user` and `x-session` (the bare server).
pub async fn measure_get(
    client: &reqwest::Client,
    spec: &LoadSpec,
    url: String,
    users: &Arc<Vec<BenchUser>>,
    bearer: bool,
) -> Summary {
    let client = client.clone();
    let users = Arc::clone(users);
    let url = Arc::new(url);
    closed_loop(spec, move |i| {
        let client = client.clone();
        let users = Arc::clone(&users);
        let url = Arc::clone(&url);
        async move {
            let user = &users[usize::try_from(i).unwrap_or(0) % users.len()];
            let request = client.get(url.as_str());
            let request = if bearer {
                request.bearer_auth(&user.access)
            } else {
                request
                    .header("x-user", user.id.to_string())
                    .header("x-session", user.session.to_string())
            };
            expect_status(request.send().await, StatusCode::OK).await
        }
    })
    .await
}

/// The endpoints of the API scenario: kraftsoci's path and the bare server's.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// `GET /v1/me`.
    pub name: &'static str,
    /// The path on kraftsoci.
    pub kraftsoci: &'static str,
    /// The path's tail on the bare server (after `/read`, `/same`, `/split` or `/filed`).
    pub bare: &'static str,
}

/// `GET /v1/me` and `GET /v1/posts`.
pub const ENDPOINTS: [Endpoint; 2] = [
    Endpoint {
        name: "GET /v1/me",
        kraftsoci: "/v1/me",
        bare: "/me",
    },
    Endpoint {
        name: "GET /v1/posts",
        kraftsoci: "/v1/posts",
        bare: "/posts",
    },
];

/// Runs every endpoint against kraftsoci and the bare flavours (see [`crate::bare`]: the
/// statements kraftsoci runs today, the same queries as two statements, the statements it ran
/// when issue 17 was filed, and the data query alone), after a warm-up of each. An endpoint kraftsoci answers 404 is skipped
/// (a build without that route).
///
/// # Errors
/// When the bare server cannot start or kraftsoci does not answer.
pub async fn compare(
    client: &reqwest::Client,
    server: &BenchServer,
    database_url: &str,
    users: &Arc<Vec<BenchUser>>,
    spec: &LoadSpec,
    page: u32,
) -> anyhow::Result<Vec<(Endpoint, [Measured; 5])>> {
    let bare = BareServer::start(database_url, page).await?;
    let warm_up = LoadSpec::new(spec.requests.min(500), spec.concurrency, spec.time_limit);
    let first = users.first().context("the api scenario needs a user")?;
    let mut results = Vec::new();
    for endpoint in ENDPOINTS {
        let probe = client
            .get(server.url(endpoint.kraftsoci))
            .bearer_auth(&first.access)
            .send()
            .await?;
        if probe.status() == StatusCode::NOT_FOUND {
            eprintln!("{} is not served by this build: skipped", endpoint.name);
            continue;
        }
        let targets = [
            ("kraftsoci", server.url(endpoint.kraftsoci), true),
            (
                "bare axum+sqlx, same statements",
                format!("{}/same{}", bare.address, endpoint.bare),
                false,
            ),
            (
                "bare axum+sqlx, session check and data apart",
                format!("{}/split{}", bare.address, endpoint.bare),
                false,
            ),
            (
                "bare axum+sqlx, statements as filed",
                format!("{}/filed{}", bare.address, endpoint.bare),
                false,
            ),
            (
                "bare axum+sqlx, data query only",
                format!("{}/read{}", bare.address, endpoint.bare),
                false,
            ),
        ];
        let mut measured = Vec::with_capacity(targets.len());
        for (label, url, bearer) in targets {
            let _ = measure_get(client, &warm_up, url.clone(), users, bearer).await;
            let summary = measure_get(client, spec, url, users, bearer).await;
            measured.push(Measured {
                label: format!("{} · {label}", endpoint.name),
                summary,
            });
        }
        let measured: [Measured; 5] = measured
            .try_into()
            .map_err(|_| anyhow::anyhow!("five targets were measured"))?;
        results.push((endpoint, measured));
    }
    Ok(results)
}

/// What a login storm did.
#[derive(Debug, Clone)]
pub struct Storm {
    /// Logins answered 200.
    pub logins: u64,
    /// Logins refused `503` + `Retry-After` by a full password pool (the client then waits
    /// the `Retry-After` before its next login, as a well-behaved client does).
    pub shed: u64,
    /// Logins answered otherwise (or not at all).
    pub failed: u64,
    /// How long the storm ran.
    pub elapsed: Duration,
}

/// Runs `measure` while `clients` clients log in back to back as `users` (round robin), and
/// stops them when it is done. Each storm client waits for its answer before logging in again,
/// so at most `clients` logins are in flight.
pub async fn during_login_storm<F, Fut>(
    client: &reqwest::Client,
    login_url: String,
    users: &Arc<Vec<BenchUser>>,
    clients: usize,
    measure: F,
) -> (Summary, Storm)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Summary>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let shed = Arc::new(AtomicU64::new(0));
    let url = Arc::new(login_url);
    let started = tokio::time::Instant::now();
    let storm: Vec<_> = (0..clients)
        .map(|c| {
            let client = client.clone();
            let users = Arc::clone(users);
            let (stop, logins, failed, shed, url) = (
                Arc::clone(&stop),
                Arc::clone(&logins),
                Arc::clone(&failed),
                Arc::clone(&shed),
                Arc::clone(&url),
            );
            tokio::spawn(async move {
                let mut n = c;
                while !stop.load(Ordering::Relaxed) {
                    let user = &users[n % users.len()];
                    n += clients;
                    let response = client
                        .post(url.as_str())
                        .json(&json!({"email": user.email, "password": PASSWORD}))
                        .send()
                        .await;
                    let retry_after = match &response {
                        Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => r
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok()),
                        _ => None,
                    };
                    if let Some(secs) = retry_after {
                        shed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(response) = response {
                            let _ = response.bytes().await;
                        }
                        tokio::time::sleep(Duration::from_secs(secs)).await;
                        continue;
                    }
                    match expect_status(response, StatusCode::OK).await {
                        Ok(()) => logins.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    // Let the storm reach its steady state (every client has a hash in progress or queued).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let summary = measure().await;
    stop.store(true, Ordering::Relaxed);
    for client in storm {
        let _ = client.await;
    }
    let storm = Storm {
        logins: logins.load(Ordering::Relaxed),
        shed: shed.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    };
    (summary, storm)
}
