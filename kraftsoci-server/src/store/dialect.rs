//! The statements whose SQL differs between the engines; everything else in `sql/` runs
//! unchanged on both.

use futures::future::BoxFuture;
use kraftsoci_core::ports::UsageEvent;

use crate::store::types::{Id, Ts};

/// Engine-specific SQL, implemented for [`sqlx::Postgres`] and [`sqlx::Sqlite`].
pub(crate) trait Dialect: sqlx::Database {
    /// Opens a transaction that will write. SQLite takes its write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads before it writes fails with
    /// `SQLITE_BUSY` at once, without waiting out the busy timeout, when another writer
    /// committed in between; an immediate one waits its turn instead.
    const BEGIN_WRITE: &'static str;

    /// Answers the user's id when the user exists, locking the row until the transaction
    /// ends where the engine has row locks (billing's per-user serialised writes).
    const LOCK_USER: &'static str;

    /// The claim: one statement that picks, locks and stamps the earliest due publish jobs.
    /// Binds: `$1` claim token, `$2` now, `$3` lease end, `$4` how many at most.
    const CLAIM_JOB: &'static str;

    /// A recovery point written under the claim's fence in one statement, where the engine
    /// can make that statement the fence: PostgreSQL's `UPDATE … RETURNING` in a CTE locks the
    /// job's row exactly as the fence of a transaction does, and saves the round trips of
    /// `BEGIN`, the fence and `COMMIT` on every step. `None` (SQLite, whose transactions cost
    /// no round trip): the fence and the upsert run in a write transaction.
    /// Binds: `$1` job, `$2` claim token, `$3` the step's time, `$4` post, `$5` the step (JSON).
    const FENCED_STEP: Option<&'static str>;

    /// Whether [`Dialect::CLAIM_JOB`] runs alone, as its own transaction (PostgreSQL: one
    /// statement is atomic and its row locks hold until it ends, so `BEGIN`/`COMMIT` would
    /// only add round trips), rather than in a write transaction (SQLite: `BEGIN IMMEDIATE`
    /// takes the write lock before the statement reads).
    const CLAIM_ALONE: bool;

    /// Whether a post's new state can be written under a publish job's fence in one statement
    /// (PostgreSQL: the fence's `UPDATE … RETURNING` in a CTE, as for
    /// [`Dialect::FENCED_STEP`]); SQLite runs the fence and the update in a write transaction.
    const FENCED_POST_STATE: bool;

    /// Appends a batch of usage events (P06) for the usage log's writer, in order.
    fn insert_usage<'c>(
        conn: &'c mut Self::Connection,
        events: &'c [UsageEvent],
    ) -> BoxFuture<'c, Result<(), sqlx::Error>>;
}

/// PostgreSQL's usage batch: one statement whatever the batch's size — the rows travel as
/// ten arrays and `UNNEST` turns them back into rows — so the server parses and plans it once
/// per connection and sqlx's statement cache holds one entry for it, where a multi-row
/// `VALUES` list is a new statement for every batch size (and pushes the request path's
/// prepared statements out of the cache).
///
/// Its commit does not wait for the WAL flush (`synchronous_commit` off for this transaction
/// only, the documented per-transaction use of the setting): the usage log is a record the
/// service keeps, not a promise made to anyone that a request waits for, and a batch is
/// already written after its requests were answered. What this risks is the last few hundred
/// milliseconds of usage rows if the *database server* crashes (never inconsistency, and
/// nothing when kraftsoci's own process dies: a returned commit is in the server's memory and
/// WAL buffers, flushed by the WAL writer within `3 × wal_writer_delay`). Every other commit
/// of the service keeps waiting for the flush. The setting is made by `set_config(…, true)`
/// in the statement's `WHERE` — volatile, so evaluated for the rows it lets through, before
/// the statement's implicit transaction commits — which saves the `BEGIN`, `SET LOCAL` and
/// `COMMIT` round trips of a transaction.
const PG_USAGE_BATCH: &str = "INSERT INTO usage_log (user_id, method, route, status, ip, \
     user_agent, security, at, api_key_id, channel) \
     SELECT e.user_id, e.method, e.route, e.status, e.ip, e.user_agent, e.security, e.at, \
     e.api_key_id, e.channel \
     FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::text[], $6::text[], \
     $7::bool[], $8::timestamptz[], $9::uuid[], $10::text[]) \
     AS e(user_id, method, route, status, ip, user_agent, security, at, api_key_id, channel) \
     WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL";

/// The most rows one SQLite `INSERT` carries: 10 binds a row stays under its bind limit
/// (32,766).
const SQLITE_ROWS_PER_INSERT: usize = 500;

macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE publish_jobs SET state = 'running', locked_by = $1, lease_until = $3, \
             attempts = attempts + 1, updated_at = $2 \
             WHERE id IN (SELECT id FROM publish_jobs \
             WHERE state IN ('queued', 'running') AND run_after <= $2 \
             AND (lease_until IS NULL OR lease_until <= $2) \
             ORDER BY run_after, id LIMIT $4",
            $lock,
            ") RETURNING id, post_id, owner_id, connection_id, attempts, transient_deferrals, \
             lease_until, run_after"
        )
    };
}

impl Dialect for sqlx::Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    // NO KEY UPDATE: serialises billing writes per user without blocking inserts elsewhere
    // that only check the user exists (their foreign keys take KEY SHARE).
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE";
    // SKIP LOCKED: a row another worker is claiming (or writing under its lease) is skipped,
    // not waited for, so concurrent workers each take a different job.
    const CLAIM_JOB: &'static str = claim_sql!(" FOR UPDATE SKIP LOCKED");
    const FENCED_STEP: Option<&'static str> = Some(
        "WITH fenced AS (UPDATE publish_jobs SET updated_at = $3 \
         WHERE id = $1 AND locked_by = $2 RETURNING id) \
         INSERT INTO publish_journal (post_id, step, updated_at) SELECT $4, $5, $3 FROM fenced \
         ON CONFLICT (post_id) DO UPDATE SET step = excluded.step, updated_at = excluded.updated_at",
    );
    const CLAIM_ALONE: bool = true;
    const FENCED_POST_STATE: bool = true;

    fn insert_usage<'c>(
        conn: &'c mut Self::Connection,
        events: &'c [UsageEvent],
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let mut users = Vec::with_capacity(events.len());
            let mut methods = Vec::with_capacity(events.len());
            let mut routes = Vec::with_capacity(events.len());
            let mut statuses = Vec::with_capacity(events.len());
            let mut ips = Vec::with_capacity(events.len());
            let mut agents = Vec::with_capacity(events.len());
            let mut security = Vec::with_capacity(events.len());
            let mut times = Vec::with_capacity(events.len());
            let mut keys = Vec::with_capacity(events.len());
            let mut channels = Vec::with_capacity(events.len());
            for event in events {
                users.push(event.user.map(|u| Id::from(u).0));
                methods.push(event.method.as_str());
                routes.push(event.route.as_str());
                statuses.push(i32::from(event.status));
                ips.push(event.ip.as_deref());
                agents.push(event.user_agent.as_deref());
                security.push(event.security);
                times.push(event.at);
                keys.push(event.api_key.map(|k| Id::from(k).0));
                channels.push(event.channel.as_str());
            }
            sqlx::query::<sqlx::Postgres>(PG_USAGE_BATCH)
                .bind(users)
                .bind(methods)
                .bind(routes)
                .bind(statuses)
                .bind(ips)
                .bind(agents)
                .bind(security)
                .bind(times)
                .bind(keys)
                .bind(channels)
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}

impl Dialect for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // The immediate transaction already holds the database's single write lock.
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE id = $1";
    const CLAIM_JOB: &'static str = claim_sql!("");
    const FENCED_STEP: Option<&'static str> = None;
    const CLAIM_ALONE: bool = false;
    const FENCED_POST_STATE: bool = false;

    /// Multi-row `INSERT`s of up to [`SQLITE_ROWS_PER_INSERT`] rows: SQLite runs in the
    /// process, so a statement costs no round trip, and its commits are the file's.
    fn insert_usage<'c>(
        conn: &'c mut Self::Connection,
        events: &'c [UsageEvent],
    ) -> BoxFuture<'c, Result<(), sqlx::Error>> {
        Box::pin(async move {
            for chunk in events.chunks(SQLITE_ROWS_PER_INSERT) {
                let mut query = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                    "INSERT INTO usage_log (user_id, method, route, status, ip, user_agent, \
                     security, at, api_key_id, channel) ",
                );
                query.push_values(chunk, |mut row, event| {
                    row.push_bind(event.user.map(Id::from))
                        .push_bind(event.method.as_str())
                        .push_bind(event.route.as_str())
                        .push_bind(i32::from(event.status))
                        .push_bind(event.ip.as_deref())
                        .push_bind(event.user_agent.as_deref())
                        .push_bind(event.security)
                        .push_bind(Ts(event.at))
                        .push_bind(event.api_key.map(Id::from))
                        .push_bind(event.channel.as_str());
                });
                query.build().execute(&mut *conn).await?;
            }
            Ok(())
        })
    }
}
