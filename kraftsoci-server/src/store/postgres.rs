//! The PostgreSQL engine.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kraftsoci_core::{Clock, StoreError};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::Database;
use crate::config::{Backend, DatabaseUrl};
use crate::error::Error;

type Db = sqlx::Postgres;
type ThisStore = PgStore;

// The SQL of every port, shared with SQLite: see "How the two engines share their SQL" in
// `store/mod.rs`.
#[path = "sql/mod.rs"]
mod sql;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Every storage port on PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects (up to 10 connections; a connection attempt gives up after 5 seconds). The
    /// `clock` dates what the ports record without being given a time (billing events,
    /// quota holds, purges).
    ///
    /// # Errors
    /// [`Error::Database`] when the database cannot be reached.
    pub async fn connect(url: &DatabaseUrl, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        Self::connect_with(url, clock, 10).await
    }

    /// Connects with a pool of up to `max_connections` (at least one).
    ///
    /// # Errors
    /// [`Error::Database`] when the database cannot be reached.
    pub async fn connect_with(
        url: &DatabaseUrl,
        clock: Arc<dyn Clock>,
        max_connections: u32,
    ) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .connect(url.expose())
            .await;
        let pool = match pool {
            Ok(pool) => pool,
            // "pool timed out" names neither the cause nor the address: say which.
            Err(error) => {
                let reason = super::reach::unreachable_reason(url)
                    .await
                    .map_or_else(String::new, |reason| format!("{reason}; "));
                return Err(Error::Database(anyhow::anyhow!(
                    "{reason}{error} ({})",
                    url.redacted()
                )));
            }
        };
        Ok(Self { pool, clock })
    }

    /// A store over an existing pool.
    pub fn from_pool(pool: PgPool, clock: Arc<dyn Clock>) -> Self {
        Self { pool, clock }
    }

    /// The pool, for engine-specific queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Database for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
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

/// Maps a driver error; PostgreSQL names the violated constraint itself.
fn db_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
            constraint: db.constraint().unwrap_or("unknown").to_owned(),
        },
        // The row it points at (usually the owner) does not exist.
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(error.to_string()),
        _ => StoreError::Unavailable(error.to_string()),
    }
}
