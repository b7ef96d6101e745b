//! The ceiling the API scenario compares kraftsoci with: a bare axum + sqlx server running the
//! same SQL on the same database, with none of kraftsoci's layers (no JWT, no tower-http
//! stack, no domain parsing, no tracing).
//!
//! Three flavours of each endpoint:
//! - `/read/...` runs only the query that fetches the data (the floor for the data itself);
//! - `/same/...` runs every statement kraftsoci's route runs: the session check of the
//!   `AuthUser` extractor, the data query and the usage-log insert (P06);
//! - `/lazy/...` runs the same statements on connections with `synchronous_commit = off`, so
//!   the usage-log insert does not wait for its WAL flush (what an asynchronous usage log
//!   would save).
//!
//! The caller is named by an `x-user` header holding the user's id.

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

/// kraftsoci's account query (`account_select!` in the server's store).
pub const ACCOUNT_SQL: &str = "SELECT id, name, email, business_name, sector, language, theme, \
     restrict_generation, restrict_publishing, object_usage_log, accepted_policy_version, \
     created_at, closed_at FROM users WHERE id = $1";

/// kraftsoci's session check (`AuthUser` → `session_state`).
pub const SESSION_SQL: &str =
    "SELECT token_epoch, closed_at, object_usage_log FROM users WHERE id = $1";

/// kraftsoci's first page of posts (`post_select!` + `list_posts`, no status filter, no
/// cursor).
pub const POSTS_SQL: &str = "SELECT p.id, p.owner_id, p.caption, p.hashtags, p.alt_text, \
     p.media_kind, p.media_digests, p.target_ig_user_id, p.status, p.created_at, p.updated_at, \
     p.published_at, p.instagram_media_id, p.permalink, p.failure_code, p.failure_message, \
     p.failure_retryable, c.user_id AS c_user_id, c.content_hash AS c_content_hash, \
     c.target_ig_user_id AS c_target_ig_user_id, c.approved_at AS c_approved_at, \
     c.ip AS c_ip, c.user_agent AS c_user_agent, c.scheduled_for AS c_scheduled_for \
     FROM posts p LEFT JOIN consent_receipts c ON c.id = p.consent_id \
     WHERE p.owner_id = $1 ORDER BY p.created_at DESC, p.id DESC LIMIT $2";

/// kraftsoci's usage-log insert.
pub const USAGE_SQL: &str = "INSERT INTO usage_log (user_id, method, route, status, ip, \
     user_agent, security, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// The connections the bare server's pool holds: the same as kraftsoci's `PgStore`.
pub const POOL_SIZE: u32 = 10;

#[derive(Debug, sqlx::FromRow, Serialize)]
struct AccountRow {
    id: Uuid,
    name: String,
    email: String,
    business_name: String,
    sector: String,
    language: String,
    theme: String,
    restrict_generation: bool,
    restrict_publishing: bool,
    object_usage_log: bool,
    accepted_policy_version: String,
    created_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow, Serialize)]
struct PostRow {
    id: Uuid,
    owner_id: Uuid,
    caption: String,
    hashtags: String,
    alt_text: Option<String>,
    media_kind: String,
    media_digests: String,
    target_ig_user_id: Option<String>,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    instagram_media_id: Option<String>,
    permalink: Option<String>,
    failure_code: Option<String>,
    failure_message: Option<String>,
    failure_retryable: Option<bool>,
    c_user_id: Option<Uuid>,
    c_content_hash: Option<String>,
    c_target_ig_user_id: Option<String>,
    c_approved_at: Option<DateTime<Utc>>,
    c_ip: Option<String>,
    c_user_agent: Option<String>,
    c_scheduled_for: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct PostsPage {
    posts: Vec<PostRow>,
    next_cursor: Option<String>,
}

#[derive(Clone)]
struct Bare {
    pool: PgPool,
    lazy_pool: PgPool,
    page: i64,
}

/// Which statements a request runs, and on which pool.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Read,
    Same,
    Lazy,
}

impl Flavour {
    fn parse(name: &str) -> Result<Self, Failure> {
        match name {
            "read" => Ok(Self::Read),
            "same" => Ok(Self::Same),
            "lazy" => Ok(Self::Lazy),
            _ => Err((StatusCode::NOT_FOUND, "unknown flavour".to_owned())),
        }
    }

    fn all_statements(self) -> bool {
        self != Self::Read
    }

    fn pool(self, bare: &Bare) -> &PgPool {
        if self == Self::Lazy {
            &bare.lazy_pool
        } else {
            &bare.pool
        }
    }
}

type Failure = (StatusCode, String);

fn internal(error: sqlx::Error) -> Failure {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

fn caller(headers: &HeaderMap) -> Result<Uuid, Failure> {
    headers
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or((StatusCode::UNAUTHORIZED, "no x-user".to_owned()))
}

/// The session check kraftsoci runs before every authenticated request.
async fn session_check(bare: &Bare, user: Uuid, flavour: Flavour) -> Result<(), Failure> {
    if flavour.all_statements() {
        let row = sqlx::query(SESSION_SQL)
            .bind(user)
            .fetch_optional(flavour.pool(bare))
            .await
            .map_err(internal)?;
        if row.is_none() {
            return Err((StatusCode::UNAUTHORIZED, "no such user".to_owned()));
        }
    }
    Ok(())
}

async fn usage(bare: &Bare, user: Uuid, route: &str, flavour: Flavour) -> Result<(), Failure> {
    if flavour.all_statements() {
        sqlx::query(USAGE_SQL)
            .bind(user)
            .bind("GET")
            .bind(route)
            .bind(200_i32)
            .bind("127.0.0.1")
            .bind(Option::<String>::None)
            .bind(false)
            .bind(Utc::now())
            .execute(flavour.pool(bare))
            .await
            .map_err(internal)?;
    }
    Ok(())
}

async fn me(
    State(bare): State<Arc<Bare>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AccountRow>, Failure> {
    let flavour = Flavour::parse(&name)?;
    let user = caller(&headers)?;
    session_check(&bare, user, flavour).await?;
    let account = sqlx::query_as::<_, AccountRow>(ACCOUNT_SQL)
        .bind(user)
        .fetch_optional(flavour.pool(&bare))
        .await
        .map_err(internal)?
        .ok_or((StatusCode::NOT_FOUND, "no such user".to_owned()))?;
    usage(&bare, user, "/v1/me", flavour).await?;
    Ok(Json(account))
}

async fn posts(
    State(bare): State<Arc<Bare>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<PostsPage>, Failure> {
    let flavour = Flavour::parse(&name)?;
    let user = caller(&headers)?;
    session_check(&bare, user, flavour).await?;
    let mut rows = sqlx::query_as::<_, PostRow>(POSTS_SQL)
        .bind(user)
        .bind(bare.page + 1)
        .fetch_all(flavour.pool(&bare))
        .await
        .map_err(internal)?;
    let next_cursor = (rows.len() as i64 > bare.page).then(|| {
        rows.truncate(bare.page as usize);
        rows.last()
            .map(|last| format!("{}|{}", last.created_at.to_rfc3339(), last.id))
            .unwrap_or_default()
    });
    usage(&bare, user, "/v1/posts", flavour).await?;
    Ok(Json(PostsPage {
        posts: rows,
        next_cursor,
    }))
}

/// A running bare server; it stops when dropped.
#[derive(Debug)]
pub struct BareServer {
    /// `http://127.0.0.1:{port}`.
    pub address: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl BareServer {
    /// Serves `GET /{read|same|lazy}/me` and `GET /{read|same|lazy}/posts` (pages of `page`
    /// posts) over pools of [`POOL_SIZE`] connections to `database_url` (one of them with
    /// `synchronous_commit = off`).
    ///
    /// # Errors
    /// When the database or the port cannot be reached.
    pub async fn start(database_url: &str, page: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(5))
            .connect(database_url)
            .await
            .context("connecting the bare server")?;
        let lazy_options = PgConnectOptions::from_str(database_url)
            .context("parsing the database url")?
            .options([("synchronous_commit", "off")]);
        let lazy_pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(lazy_options)
            .await
            .context("connecting the bare server's asynchronous-commit pool")?;
        let state = Arc::new(Bare {
            pool,
            lazy_pool,
            page: i64::from(page),
        });
        let router = Router::new()
            .route("/{flavour}/me", get(me))
            .route("/{flavour}/posts", get(posts))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = format!("http://{}", listener.local_addr()?);
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            address,
            _shutdown: shutdown,
        })
    }
}
