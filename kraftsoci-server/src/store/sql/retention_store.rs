//! [`RetentionStore`]: the retention sweep's bounded deletes and their dry-run counts (P17,
//! P18, P19, P24, P28, P34), the reduction of network data after 30 days (P18) and the
//! erasure proof each account purge leaves (P28).
//!
//! Every delete takes at most `limit` rows through `DELETE … WHERE key IN (SELECT key … LIMIT
//! n)`, so one statement stays short, and every operation is idempotent, so several replicas
//! can sweep at once. Cutoffs are exclusive, as core's `RetentionPlan::is_due`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::retention::PurgeReport;
use kraftsoci_core::{Email, ErasureProof, RetentionStore, StoreError, UserId};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use super::{Conn, Db, ThisStore, commit, connection_store, count_u64, db_error, rights_store};
use crate::store::types::{Id, Ts};
use crate::store::user_tables::{Erasure, USER_TABLES, UserTable};

/// The expired authentication artifacts: for each table, its bounded delete and its count.
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

const PURGE_USAGE_LOG: &str = "DELETE FROM usage_log WHERE id IN \
     (SELECT id FROM usage_log WHERE at < $1 ORDER BY id LIMIT $2)";
const COUNT_USAGE_LOG: &str = "SELECT COUNT(*) FROM usage_log WHERE at < $1";
const PURGE_PAYMENT_RECORDS: &str = "DELETE FROM payment_records WHERE id IN \
     (SELECT id FROM payment_records WHERE COALESCE(paid_at, created_at) < $1 ORDER BY id \
     LIMIT $2)";
const COUNT_PAYMENT_RECORDS: &str =
    "SELECT COUNT(*) FROM payment_records WHERE COALESCE(paid_at, created_at) < $1";
const COUNT_CLOSED_ACCOUNTS: &str =
    "SELECT COUNT(*) FROM users WHERE closed_at IS NOT NULL AND closed_at < $1";

/// The network data of consent receipts and policy acceptances (P18): for each table, the
/// bounded reduction (`$1` the cutoff, `$2` the most records) and its count. Receipts stay
/// immutable otherwise: migration 0007's trigger lets through only this update.
const NETWORK_DATA: &[(&str, &str)] = &[
    (
        "UPDATE consent_receipts SET ip = NULL, user_agent = NULL WHERE id IN \
         (SELECT id FROM consent_receipts WHERE approved_at < $1 \
         AND (ip IS NOT NULL OR user_agent IS NOT NULL) ORDER BY id LIMIT $2)",
        "SELECT COUNT(*) FROM consent_receipts WHERE approved_at < $1 \
         AND (ip IS NOT NULL OR user_agent IS NOT NULL)",
    ),
    (
        "UPDATE policy_acceptances SET ip = NULL WHERE id IN \
         (SELECT id FROM policy_acceptances WHERE accepted_at < $1 AND ip IS NOT NULL \
         ORDER BY id LIMIT $2)",
        "SELECT COUNT(*) FROM policy_acceptances WHERE accepted_at < $1 AND ip IS NOT NULL",
    ),
];
/// Completed Meta deletion requests (P34); pending ones are never selected.
const PURGE_META_DELETION_REQUESTS: &str = "DELETE FROM meta_deletion_requests WHERE \
     confirmation_code IN (SELECT confirmation_code FROM meta_deletion_requests \
     WHERE completed_at IS NOT NULL AND completed_at < $1 ORDER BY confirmation_code LIMIT $2)";
const COUNT_META_DELETION_REQUESTS: &str = "SELECT COUNT(*) FROM meta_deletion_requests \
     WHERE completed_at IS NOT NULL AND completed_at < $1";
const PURGE_ERASURE_PROOFS: &str = "DELETE FROM erasure_proofs WHERE id IN \
     (SELECT id FROM erasure_proofs WHERE completed_at < $1 ORDER BY id LIMIT $2)";
const COUNT_ERASURE_PROOFS: &str = "SELECT COUNT(*) FROM erasure_proofs WHERE completed_at < $1";

/// Runs a bounded delete (or reduction): `$1` the cutoff, `$2` the most rows.
async fn bounded_delete(
    conn: &mut Conn,
    sql: &'static str,
    cutoff: DateTime<Utc>,
    limit: u32,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(sql)
        .bind(Ts(cutoff))
        .bind(i64::from(limit))
        .execute(conn)
        .await
        .map_err(db_error)?
        .rows_affected())
}

/// Runs a `COUNT(*)` whose `$1` is the cutoff.
async fn count_before(
    conn: &mut Conn,
    sql: &'static str,
    cutoff: DateTime<Utc>,
) -> Result<u64, StoreError> {
    sqlx::query_scalar::<Db, i64>(sql)
        .bind(Ts(cutoff))
        .fetch_one(conn)
        .await
        .map(count_u64)
        .map_err(db_error)
}

async fn select_closed_accounts(
    conn: &mut Conn,
    closed_before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<UserId>, StoreError> {
    Ok(sqlx::query_scalar::<Db, Id>(
        "SELECT id FROM users WHERE closed_at IS NOT NULL AND closed_at < $1 \
         ORDER BY closed_at, id LIMIT $2",
    )
    .bind(Ts(closed_before))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .into_iter()
    .map(|id| UserId::from_uuid(id.0))
    .collect())
}

/// `None` when the account no longer exists, `Some(closed)` otherwise.
async fn select_closed(conn: &mut Conn, user: UserId) -> Result<Option<bool>, StoreError> {
    Ok(
        sqlx::query_scalar::<Db, Option<Ts>>("SELECT closed_at FROM users WHERE id = $1")
            .bind(Id::from(user))
            .fetch_optional(conn)
            .await
            .map_err(db_error)?
            .map(|closed_at| closed_at.is_some()),
    )
}

/// Records the minimal proof of the account's erasure (P28), completed at `now`: the hash of
/// its address, when the erasure was asked for (its earliest erasure request; the closure
/// when the account has none) and `now`.
async fn insert_erasure_proof(
    conn: &mut Conn,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (email, closed_at, requested_at) = sqlx::query_as::<Db, (String, Option<Ts>, Option<Ts>)>(
        "SELECT email, closed_at, (SELECT MIN(received_at) FROM data_subject_requests \
         WHERE user_id = users.id AND type = 'erasure') FROM users WHERE id = $1",
    )
    .bind(Id::from(user))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    let email = Email::parse(&email)
        .map_err(|e| StoreError::Corrupt(format!("users.email: {}", e.reason())))?;
    let requested_at = requested_at.or(closed_at).map_or(now, |t| t.0).min(now);
    let proof = ErasureProof::record(&email, requested_at, now)
        .map_err(|e| StoreError::Corrupt(format!("erasure proof: {}", e.reason())))?;
    sqlx::query::<Db>(
        "INSERT INTO erasure_proofs (id, email_hash, requested_at, completed_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(Id(Uuid::new_v4()))
    .bind(proof.email_hash())
    .bind(Ts(proof.requested_at()))
    .bind(Ts(proof.completed_at()))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Erases the user's rows of one table (deletes them, or detaches them from the user); the
/// rows deleted.
async fn erase(conn: &mut Conn, table: &UserTable, user: UserId) -> Result<u64, StoreError> {
    let result = match table.erasure {
        // Built from the static table list only, never from input.
        Erasure::Delete => {
            sqlx::query::<Db>(AssertSqlSafe(format!(
                "DELETE FROM {} WHERE {}",
                table.name, table.owner
            )))
            .bind(Id::from(user))
            .execute(conn)
            .await
        }
        Erasure::Detach(sql) => {
            sqlx::query::<Db>(sql)
                .bind(Id::from(user))
                .execute(conn)
                .await
        }
    };
    let affected = result.map_err(db_error)?.rows_affected();
    Ok(if table.erasure == Erasure::Delete {
        affected
    } else {
        0
    })
}

#[async_trait]
impl RetentionStore for ThisStore {
    async fn purge_usage_log_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        bounded_delete(&mut *self.conn().await?, PURGE_USAGE_LOG, cutoff, limit).await
    }

    async fn count_usage_log_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        count_before(&mut *self.conn().await?, COUNT_USAGE_LOG, cutoff).await
    }

    async fn purge_expired_auth_artifacts(
        &self,
        expired_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
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
            deleted += bounded_delete(&mut conn, delete, expired_before, left).await?;
        }
        Ok(deleted)
    }

    async fn count_expired_auth_artifacts(
        &self,
        expired_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let mut due = 0_u64;
        for (_, count) in AUTH_ARTIFACTS {
            due += count_before(&mut conn, count, expired_before).await?;
        }
        Ok(due)
    }

    async fn closed_accounts_due(
        &self,
        closed_before: DateTime<Utc>,
        exclude: &[UserId],
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError> {
        // The accounts the sweep skipped in this run are few (a handful at most): ask for that
        // many more, oldest first, and leave them out here.
        let extra = u32::try_from(exclude.len()).unwrap_or(u32::MAX);
        let mut due = select_closed_accounts(
            &mut *self.conn().await?,
            closed_before,
            limit.saturating_add(extra),
        )
        .await?;
        due.retain(|user| !exclude.contains(user));
        due.truncate(limit as usize);
        Ok(due)
    }

    async fn count_closed_accounts_due(
        &self,
        closed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        count_before(
            &mut *self.conn().await?,
            COUNT_CLOSED_ACCOUNTS,
            closed_before,
        )
        .await
    }

    /// Every row of every table in [`USER_TABLES`] is deleted, except payment records, which
    /// only lose their link to the user (P17); the Meta data-deletion requests that were
    /// waiting for this account are completed at the store clock's now. An account that no
    /// longer exists (another replica purged it) is `Ok` with nothing deleted.
    async fn purge_account(&self, user: UserId) -> Result<PurgeReport, StoreError> {
        let now = self.clock.now();
        let mut tx = self.begin_write().await?;
        match select_closed(&mut tx, user).await? {
            // Already purged (by another replica, or an earlier run that crashed after commit).
            None => return Ok(PurgeReport::default()),
            // Never purge an open account, whatever the caller believes.
            Some(false) => return Err(StoreError::NotFound),
            Some(true) => {}
        }
        // The proof of this erasure (P28) outlives every other row of the account.
        insert_erasure_proof(&mut tx, user, now).await?;
        // The Meta users whose deletion requests may be waiting for this account.
        let meta_users = connection_store::select_meta_users_of(&mut tx, user).await?;
        let mut rows_deleted = 0_u64;
        for table in USER_TABLES.iter().rev() {
            rows_deleted += erase(&mut tx, table, user).await?;
        }
        for meta_user in &meta_users {
            rights_store::complete_meta_deletions(&mut tx, meta_user, now).await?;
        }
        commit(tx).await?;
        Ok(PurgeReport { rows_deleted })
    }

    async fn purge_payment_records_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        bounded_delete(
            &mut *self.conn().await?,
            PURGE_PAYMENT_RECORDS,
            cutoff,
            limit,
        )
        .await
    }

    async fn count_payment_records_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        count_before(&mut *self.conn().await?, COUNT_PAYMENT_RECORDS, cutoff).await
    }

    async fn reduce_network_data_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        // One budget of `limit` records over both tables, receipts first.
        let mut changed = 0_u64;
        for (reduce, _) in NETWORK_DATA {
            let Ok(left) = u32::try_from(u64::from(limit).saturating_sub(changed)) else {
                break;
            };
            if left == 0 {
                break;
            }
            changed += bounded_delete(&mut conn, reduce, cutoff, left).await?;
        }
        Ok(changed)
    }

    async fn count_network_data_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let mut due = 0_u64;
        for (_, count) in NETWORK_DATA {
            due += count_before(&mut conn, count, cutoff).await?;
        }
        Ok(due)
    }

    async fn purge_meta_deletion_requests_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        bounded_delete(
            &mut *self.conn().await?,
            PURGE_META_DELETION_REQUESTS,
            cutoff,
            limit,
        )
        .await
    }

    async fn count_meta_deletion_requests_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        count_before(
            &mut *self.conn().await?,
            COUNT_META_DELETION_REQUESTS,
            cutoff,
        )
        .await
    }

    async fn purge_erasure_proofs_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        bounded_delete(
            &mut *self.conn().await?,
            PURGE_ERASURE_PROOFS,
            cutoff,
            limit,
        )
        .await
    }

    async fn count_erasure_proofs_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        count_before(&mut *self.conn().await?, COUNT_ERASURE_PROOFS, cutoff).await
    }
}
