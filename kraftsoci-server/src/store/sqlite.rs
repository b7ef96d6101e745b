//! The SQLite backend (the development default).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kraftsoci_core::{Clock, StoreError};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::Database;
use crate::config::{Backend, DatabaseUrl};
use crate::error::Error;

type Db = sqlx::Sqlite;
type ThisStore = SqliteStore;

// The SQL of every port, shared with PostgreSQL: see "How the two engines share their SQL" in
// `store/mod.rs`.
#[path = "sql/mod.rs"]
mod sql;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// SQLite names the columns of a violated unique constraint, not the constraint; this maps
/// them to the names PostgreSQL reports, so callers match one name on both engines.
const UNIQUE_CONSTRAINTS: &[(&str, &str)] = &[
    ("users.email_normalized", "users_email_key"),
    ("refresh_tokens.token_hash", "refresh_tokens_hash_key"),
    (
        "instagram_connections.owner_id, instagram_connections.ig_user_id",
        "instagram_connections_owner_ig_key",
    ),
    (
        "consent_receipts.post_id, consent_receipts.approved_at, consent_receipts.content_hash",
        "consent_receipts_click_key",
    ),
    ("publish_jobs.post_id", "publish_jobs_post_key"),
    (
        "billing_customers.stripe_customer_id",
        "billing_customers_stripe_customer_key",
    ),
    ("billing_intents.idempotency_key", "billing_intents_key"),
    ("payment_records.invoice_id", "payment_records_invoice_key"),
];

/// The primary-key columns that are not `id`, so their violations map to `{table}_pkey`.
const PRIMARY_KEYS: &[&str] = &[
    "password_reset_tokens.token_hash",
    "profiles.user_id",
    "oauth_states.state_hash",
    "publish_journal.post_id",
    "billing_customers.user_id",
    "stripe_events.event_id",
    "meta_deletion_requests.confirmation_code",
    "policy_versions.version",
];

/// Every storage port on SQLite.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database (WAL journal, foreign keys on, 5 s busy timeout). An in-memory
    /// database (`sqlite::memory:`) gets a single connection that is never recycled, since each
    /// connection would otherwise see its own empty database. The `clock` dates what the ports
    /// record without being given a time (billing events, quota holds, purges).
    ///
    /// # Errors
    /// [`Error::Database`] when the URL is malformed or the file cannot be opened.
    pub async fn connect(url: &DatabaseUrl, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        Self::connect_with(url, clock, 5).await
    }

    /// Opens the database with a pool of up to `max_connections` (at least one; an in-memory
    /// database keeps its single connection).
    ///
    /// # Errors
    /// [`Error::Database`] when the URL is malformed or the file cannot be opened.
    pub async fn connect_with(
        url: &DatabaseUrl,
        clock: Arc<dyn Clock>,
        max_connections: u32,
    ) -> Result<Self, Error> {
        let in_memory = url.expose().contains(":memory:") || url.expose().contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url.expose())
            .map_err(|e| Error::Database(anyhow::anyhow!("{} ({})", e, url.redacted())))?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let mut pool = SqlitePoolOptions::new();
        if in_memory {
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            pool = pool.max_connections(max_connections.max(1));
        }
        let pool = pool
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| Error::Database(anyhow::anyhow!("{} ({})", e, url.redacted())))?;
        Ok(Self { pool, clock })
    }

    /// A store over an existing pool (foreign keys must be on).
    pub fn from_pool(pool: SqlitePool, clock: Arc<dyn Clock>) -> Self {
        Self { pool, clock }
    }

    /// The pool, for engine-specific queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Database for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        sql::ping(&mut conn).await
    }

    async fn migrate(&self) -> Result<(), Error> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| Error::Migration(e.into()))
    }
}

/// The constraint name for SQLite's "UNIQUE constraint failed: t.a, t.b" message.
fn constraint_name(message: &str) -> String {
    let columns = message
        .split_once("constraint failed: ")
        .map_or(message, |(_, columns)| columns)
        .trim();
    if let Some((_, name)) = UNIQUE_CONSTRAINTS.iter().find(|(c, _)| *c == columns) {
        return (*name).to_owned();
    }
    match columns.split_once('.') {
        Some((table, "id")) => format!("{table}_pkey"),
        Some((table, _)) if PRIMARY_KEYS.contains(&columns) => format!("{table}_pkey"),
        _ => columns.to_owned(),
    }
}

fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
            constraint: constraint_name(db.message()),
        },
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(error.to_string()),
        _ => StoreError::Unavailable(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::constraint_name;

    #[test]
    fn sqlite_violations_map_to_postgres_constraint_names() {
        assert_eq!(
            constraint_name("UNIQUE constraint failed: users.email_normalized"),
            "users_email_key"
        );
        assert_eq!(
            constraint_name(
                "UNIQUE constraint failed: instagram_connections.owner_id, instagram_connections.ig_user_id"
            ),
            "instagram_connections_owner_ig_key"
        );
        assert_eq!(
            constraint_name("UNIQUE constraint failed: posts.id"),
            "posts_pkey"
        );
        assert_eq!(
            constraint_name("UNIQUE constraint failed: stripe_events.event_id"),
            "stripe_events_pkey"
        );
    }
}
