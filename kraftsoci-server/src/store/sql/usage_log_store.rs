//! [`UsageLogStore`]: appending to the usage log (P06).

use async_trait::async_trait;
use kraftsoci_core::StoreError;
use kraftsoci_core::ports::{UsageEvent, UsageLogStore};

use super::{Conn, Db, ThisStore, db_error};
use crate::store::dialect::Dialect;
use crate::store::types::{Id, Ts};

async fn insert_event(conn: &mut Conn, event: &UsageEvent) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO usage_log (user_id, method, route, status, ip, user_agent, security, at, \
         api_key_id, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(event.user.map(Id::from))
    .bind(event.method.as_str())
    .bind(event.route.as_str())
    .bind(i32::from(event.status))
    .bind(event.ip.as_deref())
    .bind(event.user_agent.as_deref())
    .bind(event.security)
    .bind(Ts(event.at))
    .bind(event.api_key.map(Id::from))
    .bind(event.channel.as_str())
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl UsageLogStore for ThisStore {
    async fn append(&self, event: &UsageEvent) -> Result<(), StoreError> {
        insert_event(&mut *self.conn().await?, event).await
    }

    async fn append_many(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
        match events {
            [] => Ok(()),
            // PostgreSQL: one statement for any size, its commit not waiting for the WAL
            // flush; SQLite: multi-row inserts (see `Dialect::insert_usage`).
            many => <Db as Dialect>::insert_usage(&mut *self.conn().await?, many)
                .await
                .map_err(db_error),
        }
    }
}
