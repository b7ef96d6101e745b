//! [`UsageLogStore`]: appending to the usage log (P06).

use async_trait::async_trait;
use kraftsoci_core::StoreError;
use kraftsoci_core::ports::{UsageEvent, UsageLogStore};

use super::{Conn, Db, ThisStore, db_error};
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

/// The most rows one `INSERT` carries: 10 binds a row stays under SQLite's and PostgreSQL's
/// bind limits (32,766 and 65,535).
const ROWS_PER_INSERT: usize = 500;

/// Inserts `events` in multi-row `INSERT`s of up to [`ROWS_PER_INSERT`] rows, in order.
async fn insert_events(conn: &mut Conn, events: &[UsageEvent]) -> Result<(), StoreError> {
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let mut query = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO usage_log (user_id, method, route, status, ip, user_agent, security, at, \
             api_key_id, channel) ",
        );
        query.push_values(chunk, |mut row, event| {
            row.push_bind(event.user.map(Id::from))
                .push_bind(event.method.as_str())
                .push_bind(event.route.as_str())
                .push_bind(i32::from(event.status))
                .push_bind(event.ip.as_deref())
                .push_bind(event.user_agent.as_deref())
                .push_bind(event.security)
                .push_bind(Ts(event.at))
                .push_bind(event.api_key.map(Id::from))
                .push_bind(event.channel.as_str());
        });
        query.build().execute(&mut *conn).await.map_err(db_error)?;
    }
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
            [one] => self.append(one).await,
            many => insert_events(&mut *self.conn().await?, many).await,
        }
    }
}
