//! [`OperationsStore`]: the counts `/metrics` reads when scraped.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::StoreError;
use sqlx::Row as _;

use super::{Db, ThisStore, db_error};
use crate::store::ports::{OperationalCounts, OperationsStore, PoolStats};
use crate::store::types::Ts;

#[async_trait]
impl OperationsStore for ThisStore {
    async fn operational_counts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<OperationalCounts, StoreError> {
        let mut conn = self.conn().await?;
        let jobs_by_state = sqlx::query::<Db>(
            "SELECT state, COUNT(*) AS n FROM publish_jobs GROUP BY state ORDER BY state",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| Ok((row.try_get("state")?, row.try_get("n")?)))
        .collect::<Result<Vec<(String, i64)>, sqlx::Error>>()
        .map_err(db_error)?;
        let due = sqlx::query::<Db>(
            "SELECT COUNT(*) AS n, MIN(run_after) AS oldest FROM publish_jobs \
             WHERE state = 'queued' AND run_after <= $1",
        )
        .bind(Ts(now))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        let due_jobs: i64 = due.try_get("n").map_err(db_error)?;
        let oldest: Option<Ts> = due.try_get("oldest").map_err(db_error)?;
        let posts_by_status = sqlx::query::<Db>(
            "SELECT status, COUNT(*) AS n FROM posts GROUP BY status ORDER BY status",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
        .collect::<Result<Vec<(String, i64)>, sqlx::Error>>()
        .map_err(db_error)?;
        Ok(OperationalCounts {
            jobs_by_state,
            due_jobs,
            oldest_due_at: oldest.map(|t| t.0),
            posts_by_status,
        })
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
            max: self.pool.options().get_max_connections(),
        }
    }
}
