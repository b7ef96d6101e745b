//! What `/metrics` reads from the database when scraped: publish jobs and posts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::StoreError;

/// Counts across every account (no personal data).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationalCounts {
    /// Publish jobs by state (`queued`, `running`, `done`, `failed`, `cancelled`).
    pub jobs_by_state: Vec<(String, i64)>,
    /// Queued jobs whose `run_after` has come.
    pub due_jobs: i64,
    /// The earliest `run_after` among them.
    pub oldest_due_at: Option<DateTime<Utc>>,
    /// Posts by status.
    pub posts_by_status: Vec<(String, i64)>,
}

/// The database pool's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open.
    pub size: u32,
    /// Open connections not in use.
    pub idle: usize,
    /// The most connections the pool opens.
    pub max: u32,
}

/// The metrics' database reads.
#[async_trait]
pub trait OperationsStore: Send + Sync {
    /// Publish jobs and posts, counted at `now`.
    async fn operational_counts(&self, now: DateTime<Utc>)
    -> Result<OperationalCounts, StoreError>;

    /// The connection pool's state.
    fn pool_stats(&self) -> PoolStats;
}
