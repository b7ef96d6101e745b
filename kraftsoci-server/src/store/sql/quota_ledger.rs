//! [`QuotaLedger`]: the generation quota, reserved atomically per user so that concurrent
//! generations never exceed the plan's limit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{QuotaKind, QuotaLedger, QuotaReservation, RESERVATION_TTL};
use kraftsoci_core::{StoreError, UserId};
use uuid::Uuid;

use super::billing_store::lock_user;
use super::{Conn, Db, ThisStore, commit, count_u32, db_error, found};
use crate::store::types::{Id, Ts};

/// Held (uncommitted) reservations made before this stop counting at `now`.
fn hold_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    let ttl = chrono::Duration::from_std(RESERVATION_TTL).unwrap_or(chrono::Duration::MAX);
    now.checked_sub_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

async fn reservation_exists(conn: &mut Conn, id: Uuid) -> Result<bool, StoreError> {
    Ok(
        sqlx::query_scalar::<Db, Id>("SELECT id FROM quota_reservations WHERE id = $1")
            .bind(Id(id))
            .fetch_optional(conn)
            .await
            .map_err(db_error)?
            .is_some(),
    )
}

/// Deletes the user's held reservations that expired at `now`.
async fn delete_expired_holds(
    conn: &mut Conn,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "DELETE FROM quota_reservations WHERE user_id = $1 AND committed = $2 \
         AND created_at < $3",
    )
    .bind(Id::from(user))
    .bind(false)
    .bind(Ts(hold_cutoff(now)))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Units committed, or held since `holds_since`, of `kind` in the period.
async fn select_used(
    conn: &mut Conn,
    user: UserId,
    kind: QuotaKind,
    period_start: DateTime<Utc>,
    holds_since: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let used = sqlx::query_scalar::<Db, i64>(
        "SELECT COALESCE(SUM(amount), 0) FROM quota_reservations \
         WHERE user_id = $1 AND kind = $2 AND period_start = $3 \
         AND (committed = $4 OR created_at >= $5)",
    )
    .bind(Id::from(user))
    .bind(kind.as_str())
    .bind(Ts(period_start))
    .bind(true)
    .bind(Ts(holds_since))
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok(count_u32(used))
}

async fn insert_reservation(
    conn: &mut Conn,
    reservation: &QuotaReservation,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO quota_reservations (id, user_id, kind, amount, period_start, committed, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Id(reservation.id))
    .bind(Id::from(reservation.user))
    .bind(reservation.kind.as_str())
    .bind(i64::from(reservation.amount))
    .bind(Ts(reservation.period_start))
    .bind(false)
    .bind(Ts(reservation.reserved_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Marks a reservation committed; the rows touched.
async fn commit_reservation(conn: &mut Conn, id: Uuid) -> Result<u64, StoreError> {
    Ok(
        sqlx::query::<Db>("UPDATE quota_reservations SET committed = $2 WHERE id = $1")
            .bind(Id(id))
            .bind(true)
            .execute(conn)
            .await
            .map_err(db_error)?
            .rows_affected(),
    )
}

async fn release_reservation(conn: &mut Conn, id: Uuid) -> Result<(), StoreError> {
    sqlx::query::<Db>("DELETE FROM quota_reservations WHERE id = $1 AND committed = $2")
        .bind(Id(id))
        .bind(false)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl QuotaLedger for ThisStore {
    async fn try_reserve(
        &self,
        reservation: &QuotaReservation,
        limit: u32,
    ) -> Result<bool, StoreError> {
        if reservation.amount == 0 {
            // The schema only holds positive amounts; nothing asks for zero units.
            return Err(StoreError::Conflict {
                constraint: "quota_reservations_amount_check".to_owned(),
            });
        }
        let mut tx = self.begin_write().await?;
        if !lock_user(&mut tx, reservation.user).await? {
            return Err(StoreError::NotFound);
        }
        if reservation_exists(&mut tx, reservation.id).await? {
            return Ok(true);
        }
        let now = reservation.reserved_at;
        delete_expired_holds(&mut tx, reservation.user, now).await?;
        let used = select_used(
            &mut tx,
            reservation.user,
            reservation.kind,
            reservation.period_start,
            hold_cutoff(now),
        )
        .await?;
        if u64::from(used) + u64::from(reservation.amount) > u64::from(limit) {
            return Ok(false);
        }
        insert_reservation(&mut tx, reservation).await?;
        commit(tx).await?;
        Ok(true)
    }

    async fn commit(&self, reservation_id: Uuid) -> Result<(), StoreError> {
        found(commit_reservation(&mut *self.conn().await?, reservation_id).await?)
    }

    async fn release(&self, reservation_id: Uuid) -> Result<(), StoreError> {
        release_reservation(&mut *self.conn().await?, reservation_id).await
    }

    async fn used(
        &self,
        user: UserId,
        kind: QuotaKind,
        period_start: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let holds_since = hold_cutoff(self.clock.now());
        select_used(
            &mut *self.conn().await?,
            user,
            kind,
            period_start,
            holds_since,
        )
        .await
    }
}
