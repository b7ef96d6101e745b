//! The PostgreSQL backend.

use std::time::Duration;

use async_trait::async_trait;
use kraftsoci_core::StoreError;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use super::Store;
use crate::config::{Backend, DatabaseUrl};
use crate::error::Error;

type Db = sqlx::Postgres;
type ThisStore = PgStore;

#[path = "queries.rs"]
mod queries;

#[path = "flow_queries.rs"]
mod flow_queries;

#[path = "jobs_queries.rs"]
mod jobs_queries;

#[path = "billing_queries.rs"]
mod billing_queries;

#[path = "rights_queries.rs"]
mod rights_queries;

#[path = "retention_queries.rs"]
mod retention_queries;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The store on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects (up to 10 connections; a connection attempt gives up after 5 seconds).
    ///
    /// # Errors
    /// [`Error::Database`] when the database cannot be reached.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url.expose())
            .await
            .map_err(|e| Error::Database(anyhow::anyhow!("{} ({})", e, url.redacted())))?;
        Ok(Self { pool })
    }

    /// A store over an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool, for engine-specific queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
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
