//! [`ErasureTaskStore`]: billing stops after closure and failed purges (P19, P28).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{RequestId, StoreError, UserId};

use super::{Conn, Db, ThisStore, count_u32, db_error};
use crate::store::ports::{ErasureTaskStore, PendingBillingStop, PurgeFailure};
use crate::store::types::{Id, Ts};

/// Records the billing stop a closure needs, in the closure's transaction. A second closure of
/// the same account (it cannot happen: closing is once) keeps the first request.
pub(super) async fn insert_billing_stop(
    conn: &mut Conn,
    user: UserId,
    request: RequestId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO billing_stops (user_id, request_id, requested_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(Id::from(user))
    .bind(Id::from(request))
    .bind(Ts(at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

type StopRow = (Id, Id, Ts, i64, Option<String>);
type FailureRow = (Id, Ts, Ts, i64, String, Option<Ts>);

#[async_trait]
impl ErasureTaskStore for ThisStore {
    async fn pending_billing_stops(
        &self,
        limit: u32,
    ) -> Result<Vec<PendingBillingStop>, StoreError> {
        let rows = sqlx::query_as::<Db, StopRow>(
            "SELECT user_id, request_id, requested_at, CAST(attempts AS BIGINT), last_error \
             FROM billing_stops WHERE stopped_at IS NULL ORDER BY requested_at, user_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(
                |(user, request, requested_at, attempts, last_error)| PendingBillingStop {
                    user: UserId::from_uuid(user.0),
                    request: RequestId::from_uuid(request.0),
                    requested_at: requested_at.0,
                    attempts: count_u32(attempts),
                    last_error,
                },
            )
            .collect())
    }

    async fn record_billing_stop_attempt(
        &self,
        user: UserId,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "UPDATE billing_stops SET attempts = attempts + 1, last_attempt_at = $2, \
             last_error = $3, stopped_at = $4 WHERE user_id = $1 AND stopped_at IS NULL",
        )
        .bind(Id::from(user))
        .bind(Ts(at))
        .bind(error)
        .bind(error.is_none().then_some(Ts(at)))
        .execute(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn record_purge_failure(
        &self,
        user: UserId,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        // Through `users`, so that an account purged meanwhile gets no row (and no foreign-key
        // error).
        sqlx::query::<Db>(
            "INSERT INTO purge_failures (user_id, first_failed_at, last_failed_at, failures, \
             error) SELECT id, $2, $2, 1, $3 FROM users WHERE id = $1 \
             ON CONFLICT (user_id) DO UPDATE SET last_failed_at = excluded.last_failed_at, \
             failures = purge_failures.failures + 1, error = excluded.error",
        )
        .bind(Id::from(user))
        .bind(Ts(at))
        .bind(error)
        .execute(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn purge_failures(&self) -> Result<Vec<PurgeFailure>, StoreError> {
        let rows = sqlx::query_as::<Db, FailureRow>(
            "SELECT f.user_id, f.first_failed_at, f.last_failed_at, CAST(f.failures AS BIGINT), \
             f.error, u.purge_after FROM purge_failures f JOIN users u ON u.id = f.user_id \
             ORDER BY u.purge_after, f.user_id",
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(
                |(user, first, last, failures, error, purge_after)| PurgeFailure {
                    user: UserId::from_uuid(user.0),
                    first_failed_at: first.0,
                    last_failed_at: last.0,
                    failures: count_u32(failures),
                    error,
                    purge_after: purge_after.map(|t| t.0),
                },
            )
            .collect())
    }
}
