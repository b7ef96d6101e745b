//! [`IncidentStore`]: the incident register (`security_incidents`).

use async_trait::async_trait;
use kraftsoci_core::StoreError;
use sqlx::Row as _;

use super::{Db, ThisStore, db_error};
use crate::store::ports::{IncidentRecord, IncidentStore};
use crate::store::types::{Id, Ts};

/// A count as stored (both engines keep a signed 64-bit integer).
fn stored(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

fn count(row: &<Db as sqlx::Database>::Row, column: &str) -> Result<u64, StoreError> {
    let value: i64 = row.try_get(column).map_err(db_error)?;
    u64::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("security_incidents.{column} is negative")))
}

#[async_trait]
impl IncidentStore for ThisStore {
    async fn record_incident(&self, record: &IncidentRecord) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO security_incidents (id, incident, summary, detected_at, recorded_at, \
             dry_run, affected, notices_created, mails_sent, mails_failed, notified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(Id(record.id))
        .bind(&record.incident)
        .bind(&record.summary)
        .bind(Ts(record.detected_at))
        .bind(Ts(record.recorded_at))
        .bind(record.dry_run)
        .bind(stored(record.affected))
        .bind(stored(record.notices_created))
        .bind(stored(record.mails_sent))
        .bind(stored(record.mails_failed))
        .bind(record.notified_at.map(Ts))
        .execute(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn incidents(&self, limit: u32) -> Result<Vec<IncidentRecord>, StoreError> {
        sqlx::query::<Db>(
            "SELECT id, incident, summary, detected_at, recorded_at, dry_run, affected, \
             notices_created, mails_sent, mails_failed, notified_at FROM security_incidents \
             ORDER BY recorded_at DESC, id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| {
            let id: Id = row.try_get("id").map_err(db_error)?;
            let detected_at: Ts = row.try_get("detected_at").map_err(db_error)?;
            let recorded_at: Ts = row.try_get("recorded_at").map_err(db_error)?;
            let notified_at: Option<Ts> = row.try_get("notified_at").map_err(db_error)?;
            Ok(IncidentRecord {
                id: id.0,
                incident: row.try_get("incident").map_err(db_error)?,
                summary: row.try_get("summary").map_err(db_error)?,
                detected_at: detected_at.0,
                recorded_at: recorded_at.0,
                dry_run: row.try_get("dry_run").map_err(db_error)?,
                affected: count(row, "affected")?,
                notices_created: count(row, "notices_created")?,
                mails_sent: count(row, "mails_sent")?,
                mails_failed: count(row, "mails_failed")?,
                notified_at: notified_at.map(|t| t.0),
            })
        })
        .collect()
    }
}
