//! [`ApiKeyStore`]: personal API keys, stored as their SHA-256 (issue 15 §3).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use kraftsoci_core::{ApiKeyId, StoreError, UserId};
use sqlx::Row as _;

use super::{Conn, Db, ThisStore, commit, count_u64, db_error};
use crate::store::ports::{
    ApiKeyAccess, ApiKeyRecord, ApiKeyStore, KeyCreation, NewApiKey, TokenHash,
};
use crate::store::types::{Id, Ts};

/// How stale `last_used_at` may get before a use writes it again.
const LAST_USED_GRANULARITY: Duration = Duration::minutes(1);

fn record_from(row: &<Db as sqlx::Database>::Row) -> Result<ApiKeyRecord, StoreError> {
    let id: Id = row.try_get("id").map_err(db_error)?;
    let user: Id = row.try_get("user_id").map_err(db_error)?;
    let created_at: Ts = row.try_get("created_at").map_err(db_error)?;
    let last_used_at: Option<Ts> = row.try_get("last_used_at").map_err(db_error)?;
    Ok(ApiKeyRecord {
        id: ApiKeyId::from_uuid(id.0),
        user: UserId::from_uuid(user.0),
        name: row.try_get("name").map_err(db_error)?,
        prefix: row.try_get("prefix").map_err(db_error)?,
        scopes: row.try_get("scopes").map_err(db_error)?,
        created_at: created_at.0,
        last_used_at: last_used_at.map(|t| t.0),
    })
}

/// Deletes every key of `user`: closing the account, a password change and a reset call it
/// inside their own transactions.
pub(super) async fn delete_api_keys(conn: &mut Conn, user: UserId) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>("DELETE FROM api_keys WHERE user_id = $1")
        .bind(Id::from(user))
        .execute(conn)
        .await
        .map_err(db_error)?
        .rows_affected())
}

#[async_trait]
impl ApiKeyStore for ThisStore {
    async fn create_api_key(&self, key: &NewApiKey, limit: u32) -> Result<KeyCreation, StoreError> {
        let record = &key.record;
        let mut tx = self.begin_write().await?;
        // A no-op write that takes the owner's row lock (PostgreSQL; SQLite's write
        // transaction already holds the database lock): concurrent creations for one account
        // count one after the other.
        let open = sqlx::query::<Db>(
            "UPDATE users SET token_epoch = token_epoch WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(Id::from(record.user))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected();
        if open == 0 {
            return Ok(KeyCreation::AccountClosed);
        }
        let existing: i64 =
            sqlx::query_scalar::<Db, i64>("SELECT COUNT(*) FROM api_keys WHERE user_id = $1")
                .bind(Id::from(record.user))
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        if count_u64(existing) >= u64::from(limit) {
            return Ok(KeyCreation::LimitReached);
        }
        sqlx::query::<Db>(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Id::from(record.id))
        .bind(Id::from(record.user))
        .bind(record.name.as_str())
        .bind(record.prefix.as_str())
        .bind(key.hash.as_str())
        .bind(record.scopes.as_str())
        .bind(Ts(record.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        commit(tx).await?;
        Ok(KeyCreation::Created)
    }

    async fn api_keys(&self, user: UserId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        sqlx::query::<Db>(
            "SELECT id, user_id, name, prefix, scopes, created_at, last_used_at FROM api_keys \
             WHERE user_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(Id::from(user))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?
        .iter()
        .map(record_from)
        .collect()
    }

    async fn delete_api_key(&self, user: UserId, id: ApiKeyId) -> Result<bool, StoreError> {
        let deleted = sqlx::query::<Db>("DELETE FROM api_keys WHERE user_id = $1 AND id = $2")
            .bind(Id::from(user))
            .bind(Id::from(id))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_error)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn api_key_access(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKeyAccess>, StoreError> {
        let mut conn = self.conn().await?;
        let Some(row) = sqlx::query::<Db>(
            "SELECT k.id, k.user_id, k.name, k.prefix, k.scopes, k.created_at, k.last_used_at, \
             u.closed_at, u.object_usage_log \
             FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1",
        )
        .bind(presented.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        else {
            return Ok(None);
        };
        let mut key = record_from(&row)?;
        let closed_at: Option<Ts> = row.try_get("closed_at").map_err(db_error)?;
        let objects_to_usage_log: bool = row.try_get("object_usage_log").map_err(db_error)?;
        let stale = key
            .last_used_at
            .is_none_or(|at| at <= now - LAST_USED_GRANULARITY);
        if stale && closed_at.is_none() {
            sqlx::query::<Db>("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                .bind(Id::from(key.id))
                .bind(Ts(now))
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            key.last_used_at = Some(now);
        }
        Ok(Some(ApiKeyAccess {
            key,
            closed: closed_at.is_some(),
            objects_to_usage_log,
        }))
    }
}
