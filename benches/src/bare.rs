//! The ceiling the API scenario compares kraftsoci with: a bare axum + sqlx server running the
//! same SQL on the same database, with none of kraftsoci's layers (no JWT, no tower-http
//! stack, no domain parsing, no tracing).
//!
//! Four flavours of each endpoint:
//! - `/read/...` runs only the query that fetches the data (the floor for the data itself);
//! - `/same/...` runs exactly the statements kraftsoci's request path runs today, the same SQL
//!   text: one each, the session check with the data (`GET /v1/me`: the account and its
//!   notification choices, `AuthAccount`; `GET /v1/posts`: the page with its media,
//!   connections and jobs, `AuthStore::access_posts`). kraftsoci writes its usage event in a
//!   batch after the response, off the request path, so this flavour writes none;
//! - `/split/...` runs the same two queries as two statements, the session check and then
//!   the data query, as kraftsoci's request path did before it folded them into one
//!   (`GET /v1/posts` until wave 2 session 7);
//! - `/filed/...` runs the statements kraftsoci's request path ran when issue 17 was filed,
//!   the ceiling its "≥ 100 % by running fewer statements" goal for `GET /v1/me` is set
//!   against: the session check, then the data query, then one usage-log row inserted and
//!   committed before the answer (P06). Today's SQL texts are used for each (the session
//!   check now also counts the session's live refresh tokens), so the flavour differs from
//!   `/split` only by the usage row.
//!
//! The statements are copied from `kraftsoci-server/src/store/sql/auth_store.rs` and
//! `post_store.rs`; `kraftsoci-server/tests/statements` pins how many kraftsoci runs, so a
//! change there shows up as a failing test before it makes this ceiling stale.
//!
//! The caller is named by an `x-user` header holding the user's id and an `x-session` header
//! holding their login session's id.

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
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

/// kraftsoci's account query: its columns (`account_columns!`), for the data-only flavour.
pub const ACCOUNT_SQL: &str = "SELECT id, name, email, business_name, sector, language, theme, \
     restrict_generation, restrict_publishing, object_usage_log, accepted_policy_version, \
     created_at, closed_at FROM users WHERE id = $1";

/// `GET /v1/me`'s one statement (`select_access_account`): the session check with the
/// account and its notification choices.
pub const ACCESS_ACCOUNT_SQL: &str = "SELECT id, name, email, business_name, sector, language, \
     theme, restrict_generation, restrict_publishing, object_usage_log, \
     accepted_policy_version, created_at, closed_at, token_epoch, \
     np.time_zone AS np_time_zone, np.channels AS np_channels, \
     (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = $2 AND r.user_id = u.id \
      AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > $3) AS live_tokens \
     FROM users u LEFT JOIN notification_preferences np ON np.user_id = u.id \
     WHERE u.id = $1";

/// kraftsoci's session check on every other authenticated request (`select_access_state`).
pub const SESSION_SQL: &str = "SELECT u.token_epoch, u.closed_at, u.object_usage_log, \
     (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = $2 AND r.user_id = u.id \
      AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > $3) AS live_tokens \
     FROM users u WHERE u.id = $1";

/// kraftsoci's page of posts (`listed_page!` in the server's post store) with media,
/// connection and job.
macro_rules! posts_page {
    () => {
        "SELECT p.id, p.owner_id, p.caption, p.hashtags, p.alt_text, \
     p.media_kind, p.media_digests, p.target_ig_user_id, p.status, p.created_at, p.updated_at, \
     p.published_at, p.instagram_media_id, p.permalink, p.failure_code, p.failure_message, \
     p.failure_retryable, p.generation_step, c.user_id AS c_user_id, \
     c.content_hash AS c_content_hash, c.target_ig_user_id AS c_target_ig_user_id, \
     c.approved_at AS c_approved_at, c.ip AS c_ip, c.user_agent AS c_user_agent, \
     c.scheduled_for AS c_scheduled_for, c.api_key_id AS c_api_key_id, \
     p.topic, p.image_key, p.image_width, p.image_height, p.sandbox, ic.id AS ic_id, \
     j.state AS j_state, j.run_after AS j_run_after, j.attempts AS j_attempts \
     FROM posts p LEFT JOIN consent_receipts c ON c.id = p.consent_id \
     LEFT JOIN instagram_connections ic \
       ON ic.owner_id = p.owner_id AND ic.ig_user_id = p.target_ig_user_id \
     LEFT JOIN publish_jobs j ON j.post_id = p.id AND j.owner_id = p.owner_id \
       AND p.status IN ('approved', 'publishing') \
     WHERE p.owner_id = $1 AND ($2 IS NULL OR p.status = $2) \
     AND ($3 IS NULL OR p.created_at < $3 OR (p.created_at = $3 AND p.id < $4)) \
     ORDER BY p.created_at DESC, p.id DESC LIMIT $5"
    };
}

/// kraftsoci's page of posts (`select_listed_page`) with media, connection and job.
pub const POSTS_SQL: &str = posts_page!();

/// `GET /v1/posts`' one statement for a session (`select_access_posts`): the session check
/// with the page joined to it; `$6` the session, `$7` now.
pub const ACCESS_POSTS_SQL: &str = concat!(
    "WITH s AS MATERIALIZED (SELECT u.token_epoch, u.closed_at, u.object_usage_log, \
     (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = $6 AND r.user_id = u.id \
      AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > $7) AS live_tokens \
     FROM users u WHERE u.id = $1) \
     SELECT s.token_epoch AS s_token_epoch, s.closed_at AS s_closed_at, \
     s.object_usage_log AS s_object_usage_log, s.live_tokens AS s_live_tokens, l.* \
     FROM s LEFT JOIN (",
    posts_page!(),
    ") l ON 1 = 1 ORDER BY l.created_at DESC, l.id DESC"
);

/// The usage row the `/filed` flavour writes per request: one single-row `INSERT`, committed
/// before the answer, as kraftsoci's request path did before its usage log was batched.
pub const USAGE_SQL: &str = "INSERT INTO usage_log (user_id, method, route, status, ip, \
     user_agent, security, at, channel) VALUES ($1, 'GET', $2, 200, '127.0.0.1', $3, false, $4, \
     'api')";

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
    generation_step: Option<String>,
    c_user_id: Option<Uuid>,
    c_content_hash: Option<String>,
    c_target_ig_user_id: Option<String>,
    c_approved_at: Option<DateTime<Utc>>,
    c_ip: Option<String>,
    c_user_agent: Option<String>,
    c_scheduled_for: Option<DateTime<Utc>>,
    c_api_key_id: Option<Uuid>,
    topic: Option<String>,
    image_key: Option<String>,
    image_width: Option<i32>,
    image_height: Option<i32>,
    sandbox: bool,
    ic_id: Option<Uuid>,
    j_state: Option<String>,
    j_run_after: Option<DateTime<Utc>>,
    j_attempts: Option<i32>,
}

#[derive(Serialize)]
struct PostsPage {
    posts: Vec<PostRow>,
    next_cursor: Option<String>,
}

#[derive(Clone)]
struct Bare {
    pool: PgPool,
    page: i64,
}

/// Which statements a request runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Read,
    Same,
    Split,
    Filed,
}

impl Flavour {
    fn parse(name: &str) -> Result<Self, Failure> {
        match name {
            "read" => Ok(Self::Read),
            "same" => Ok(Self::Same),
            "split" => Ok(Self::Split),
            "filed" => Ok(Self::Filed),
            _ => Err((StatusCode::NOT_FOUND, "unknown flavour".to_owned())),
        }
    }
}

type Failure = (StatusCode, String);

fn internal(error: sqlx::Error) -> Failure {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

/// The caller's user id and login session.
fn caller(headers: &HeaderMap) -> Result<(Uuid, Uuid), Failure> {
    let id = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or((StatusCode::UNAUTHORIZED, format!("no {name}")))
    };
    Ok((id("x-user")?, id("x-session")?))
}

/// Refuses what kraftsoci refuses: no such user, or a session without a live token.
fn admitted(row: Option<&sqlx::postgres::PgRow>) -> Result<(), Failure> {
    use sqlx::Row as _;
    let row = row.ok_or((StatusCode::UNAUTHORIZED, "no such user".to_owned()))?;
    let live: i64 = row.try_get("live_tokens").map_err(internal)?;
    if live == 0 {
        return Err((StatusCode::UNAUTHORIZED, "session ended".to_owned()));
    }
    Ok(())
}

async fn me(
    State(bare): State<Arc<Bare>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AccountRow>, Failure> {
    let flavour = Flavour::parse(&name)?;
    let (user, session) = caller(&headers)?;
    if matches!(flavour, Flavour::Split | Flavour::Filed) {
        session_check(&bare.pool, user, session).await?;
    }
    let query = match flavour {
        Flavour::Read | Flavour::Split | Flavour::Filed => sqlx::query(ACCOUNT_SQL).bind(user),
        Flavour::Same => sqlx::query(ACCESS_ACCOUNT_SQL)
            .bind(user)
            .bind(session)
            .bind(Utc::now()),
    };
    let row = query.fetch_optional(&bare.pool).await.map_err(internal)?;
    if flavour == Flavour::Same {
        admitted(row.as_ref())?;
    }
    let row = row.ok_or((StatusCode::NOT_FOUND, "no such user".to_owned()))?;
    let account: AccountRow = sqlx::FromRow::from_row(&row).map_err(internal)?;
    if flavour == Flavour::Filed {
        log_usage(&bare.pool, user, "/v1/me", &headers).await?;
    }
    Ok(Json(account))
}

/// The session check of every authenticated request but `GET /v1/me` (`SESSION_SQL`).
async fn session_check(pool: &PgPool, user: Uuid, session: Uuid) -> Result<(), Failure> {
    let row = sqlx::query(SESSION_SQL)
        .bind(user)
        .bind(session)
        .bind(Utc::now())
        .fetch_optional(pool)
        .await
        .map_err(internal)?;
    admitted(row.as_ref())
}

/// One usage row, inserted and committed before the answer (the `/filed` flavour).
async fn log_usage(
    pool: &PgPool,
    user: Uuid,
    route: &str,
    headers: &HeaderMap,
) -> Result<(), Failure> {
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    sqlx::query(USAGE_SQL)
        .bind(user)
        .bind(route)
        .bind(agent)
        .bind(Utc::now())
        .execute(pool)
        .await
        .map_err(internal)?;
    Ok(())
}

async fn posts(
    State(bare): State<Arc<Bare>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<PostsPage>, Failure> {
    let flavour = Flavour::parse(&name)?;
    let (user, session) = caller(&headers)?;
    let mut rows = if flavour == Flavour::Same {
        same_posts(&bare, user, session).await?
    } else {
        if flavour != Flavour::Read {
            session_check(&bare.pool, user, session).await?;
        }
        sqlx::query_as::<_, PostRow>(POSTS_SQL)
            .bind(user)
            .bind(Option::<&str>::None)
            .bind(Option::<DateTime<Utc>>::None)
            .bind(Option::<Uuid>::None)
            .bind(bare.page + 1)
            .fetch_all(&bare.pool)
            .await
            .map_err(internal)?
    };
    let next_cursor = (rows.len() as i64 > bare.page).then(|| {
        rows.truncate(bare.page as usize);
        rows.last()
            .map(|last| format!("{}|{}", last.created_at.to_rfc3339(), last.id))
            .unwrap_or_default()
    });
    if flavour == Flavour::Filed {
        log_usage(&bare.pool, user, "/v1/posts", &headers).await?;
    }
    Ok(Json(PostsPage {
        posts: rows,
        next_cursor,
    }))
}

/// The `/same` page: the session check with the page, one statement; the session admitted
/// on its first row, the posts read from the rows that joined one.
async fn same_posts(bare: &Bare, user: Uuid, session: Uuid) -> Result<Vec<PostRow>, Failure> {
    use sqlx::{FromRow as _, Row as _};
    let rows = sqlx::query(ACCESS_POSTS_SQL)
        .bind(user)
        .bind(Option::<&str>::None)
        .bind(Option::<DateTime<Utc>>::None)
        .bind(Option::<Uuid>::None)
        .bind(bare.page + 1)
        .bind(session)
        .bind(Utc::now())
        .fetch_all(&bare.pool)
        .await
        .map_err(internal)?;
    let first = rows
        .first()
        .ok_or((StatusCode::UNAUTHORIZED, "no such user".to_owned()))?;
    let live: i64 = first.try_get("s_live_tokens").map_err(internal)?;
    if live == 0 {
        return Err((StatusCode::UNAUTHORIZED, "session ended".to_owned()));
    }
    let mut posts = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: Option<Uuid> = row.try_get("id").map_err(internal)?;
        if id.is_some() {
            posts.push(PostRow::from_row(row).map_err(internal)?);
        }
    }
    Ok(posts)
}

/// A running bare server; it stops when dropped.
#[derive(Debug)]
pub struct BareServer {
    /// `http://127.0.0.1:{port}`.
    pub address: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl BareServer {
    /// Serves `GET /{read|same|split|filed}/me` and `GET /{read|same|split|filed}/posts` (pages of `page` posts)
    /// over a pool of [`POOL_SIZE`] connections to `database_url`.
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
        let state = Arc::new(Bare {
            pool,
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
