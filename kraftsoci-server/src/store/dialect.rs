//! The statements whose SQL differs between the engines; everything else in `sql/` runs
//! unchanged on both.

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
}

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
}

impl Dialect for sqlx::Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    // The immediate transaction already holds the database's single write lock.
    const LOCK_USER: &'static str = "SELECT id FROM users WHERE id = $1";
    const CLAIM_JOB: &'static str = claim_sql!("");
    const FENCED_STEP: Option<&'static str> = None;
    const CLAIM_ALONE: bool = false;
    const FENCED_POST_STATE: bool = false;
}
