//! The retention sweep's queries (see `store/retention.rs`).
//!
//! Compiled twice like `queries.rs` (inside `postgres.rs` and `sqlite.rs`). Every delete is
//! bounded (`DELETE … WHERE key IN (SELECT key … LIMIT $n)`) and idempotent; cutoffs are
//! exclusive, as core's `RetentionPlan::is_due`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::retention::PurgeReport;
use kraftsoci_core::{StoreError, UserId};
use sqlx::AssertSqlSafe;

use super::{Db, ThisStore, db_error};
use crate::store::retention::RetentionOps;
use crate::store::types::{Id, Ts};
use crate::store::user_tables::{Erasure, USER_TABLES};

/// The expired authentication artifacts: each table with its key and expiry column.
const AUTH_ARTIFACTS: &[(&str, &str)] = &[
    (
        "DELETE FROM refresh_tokens WHERE id IN \
         (SELECT id FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)",
        "SELECT COUNT(*) FROM refresh_tokens WHERE expires_at < $1",
    ),
    (
        "DELETE FROM password_reset_tokens WHERE token_hash IN \
         (SELECT token_hash FROM password_reset_tokens WHERE expires_at < $1 LIMIT $2)",
        "SELECT COUNT(*) FROM password_reset_tokens WHERE expires_at < $1",
    ),
    (
        "DELETE FROM oauth_states WHERE state_hash IN \
         (SELECT state_hash FROM oauth_states WHERE expires_at < $1 LIMIT $2)",
        "SELECT COUNT(*) FROM oauth_states WHERE expires_at < $1",
    ),
];

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Runs a bounded delete: `$1` the cutoff, `$2` the most rows.
async fn bounded_delete(
    pool: &sqlx::Pool<Db>,
    sql: &'static str,
    cutoff: DateTime<Utc>,
    limit: u32,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(sql)
        .bind(Ts(cutoff))
        .bind(i64::from(limit))
        .execute(pool)
        .await
        .map_err(db_error)?
        .rows_affected())
}

/// Runs a `COUNT(*)` whose `$1` is the cutoff.
async fn count_before(
    pool: &sqlx::Pool<Db>,
    sql: &'static str,
    cutoff: DateTime<Utc>,
) -> Result<u64, StoreError> {
    sqlx::query_scalar::<Db, i64>(sql)
        .bind(Ts(cutoff))
        .fetch_one(pool)
        .await
        .map(count)
        .map_err(db_error)
}

#[async_trait]
impl RetentionOps for ThisStore {
    async fn purge_usage_log_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        bounded_delete(
            &self.pool,
            "DELETE FROM usage_log WHERE id IN \
             (SELECT id FROM usage_log WHERE at < $1 ORDER BY id LIMIT $2)",
            cutoff,
            limit,
        )
        .await
    }

    async fn count_usage_log_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        count_before(
            &self.pool,
            "SELECT COUNT(*) FROM usage_log WHERE at < $1",
            cutoff,
        )
        .await
    }

    async fn purge_expired_auth_artifacts(
        &self,
        expired_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        // One budget of `limit` rows over the three tables, so a call never deletes more.
        let mut deleted = 0_u64;
        for (delete, _) in AUTH_ARTIFACTS {
            let left = u64::from(limit).saturating_sub(deleted);
            let Ok(left) = u32::try_from(left) else {
                break;
            };
            if left == 0 {
                break;
            }
            deleted += bounded_delete(&self.pool, delete, expired_before, left).await?;
        }
        Ok(deleted)
    }

    async fn count_expired_auth_artifacts(
        &self,
        expired_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut due = 0_u64;
        for (_, count) in AUTH_ARTIFACTS {
            due += count_before(&self.pool, count, expired_before).await?;
        }
        Ok(due)
    }

    async fn closed_accounts_due(
        &self,
        closed_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError> {
        Ok(sqlx::query_scalar::<Db, Id>(
            "SELECT id FROM users WHERE closed_at IS NOT NULL AND closed_at < $1 \
             ORDER BY closed_at, id LIMIT $2",
        )
        .bind(Ts(closed_before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|id| UserId::from_uuid(id.0))
        .collect())
    }

    async fn count_closed_accounts_due(
        &self,
        closed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        count_before(
            &self.pool,
            "SELECT COUNT(*) FROM users WHERE closed_at IS NOT NULL AND closed_at < $1",
            closed_before,
        )
        .await
    }

    async fn purge_closed_account(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<PurgeReport, StoreError> {
        let id = Id::from(user);
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let account =
            sqlx::query_scalar::<Db, Option<Ts>>("SELECT closed_at FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
        match account {
            // Already purged (by another replica, or an earlier run that crashed after commit).
            None => return Ok(PurgeReport::default()),
            // Never purge an open account, whatever the caller believes.
            Some(None) => return Err(StoreError::NotFound),
            Some(Some(_closed_at)) => {}
        }
        // The Meta users whose deletion requests may be waiting for this account.
        let meta_users = sqlx::query_scalar::<Db, String>(
            "SELECT DISTINCT meta_user_hash FROM instagram_connections \
             WHERE owner_id = $1 AND meta_user_hash IS NOT NULL",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;

        let mut rows_deleted = 0_u64;
        for table in USER_TABLES.iter().rev() {
            let result = match table.erasure {
                // Built from the static table list only, never from input.
                Erasure::Delete => {
                    sqlx::query::<Db>(AssertSqlSafe(format!(
                        "DELETE FROM {} WHERE {}",
                        table.name, table.owner
                    )))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                }
                Erasure::Detach(sql) => sqlx::query::<Db>(sql).bind(id).execute(&mut *tx).await,
            };
            let affected = result.map_err(db_error)?.rows_affected();
            if table.erasure == Erasure::Delete {
                rows_deleted += affected;
            }
        }

        // A Meta request is done once no closed account made by that Meta user is left.
        for meta_user in &meta_users {
            sqlx::query::<Db>(
                "UPDATE meta_deletion_requests SET status = 'completed', completed_at = $2 \
                 WHERE app_user_hash = $1 AND status = 'received' AND NOT EXISTS \
                 (SELECT 1 FROM instagram_connections c JOIN users u ON u.id = c.owner_id \
                  WHERE c.meta_user_hash = $1 AND u.closed_at IS NOT NULL)",
            )
            .bind(meta_user)
            .bind(Ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(PurgeReport { rows_deleted })
    }

    async fn purge_payment_records_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        bounded_delete(
            &self.pool,
            "DELETE FROM payment_records WHERE id IN (SELECT id FROM payment_records \
             WHERE COALESCE(paid_at, created_at) < $1 ORDER BY id LIMIT $2)",
            cutoff,
            limit,
        )
        .await
    }

    async fn count_payment_records_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        count_before(
            &self.pool,
            "SELECT COUNT(*) FROM payment_records WHERE COALESCE(paid_at, created_at) < $1",
            cutoff,
        )
        .await
    }
}
