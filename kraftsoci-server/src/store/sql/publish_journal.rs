//! [`PublishJournal`]: each post's last recovery point of the publish orchestration.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{JournalEntry, PublishJournal, PublishStep};
use kraftsoci_core::{PostId, StoreError};

use super::{Conn, Db, ThisStore, db_error, to_json};
use crate::store::types::{Id, Ts};

/// When a step happened: the journal row's `updated_at` (no engine clock is used).
pub(super) fn step_at(entry: &JournalEntry) -> DateTime<Utc> {
    match &entry.step {
        PublishStep::ContainerCreated { at, .. }
        | PublishStep::ContainerReady { at, .. }
        | PublishStep::PublishSent { at, .. }
        | PublishStep::Published { at, .. } => *at,
    }
}

/// A stored `publish_journal.step`.
pub(super) fn parse_step(json: &str) -> Result<JournalEntry, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("publish_journal.step: {e}")))
}

async fn select_entry(conn: &mut Conn, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
    let step =
        sqlx::query_scalar::<Db, String>("SELECT step FROM publish_journal WHERE post_id = $1")
            .bind(Id::from(post))
            .fetch_optional(conn)
            .await
            .map_err(db_error)?;
    step.as_deref().map(parse_step).transpose()
}

/// Records the post's recovery point, replacing the previous one.
pub(super) async fn upsert_entry(
    conn: &mut Conn,
    post: PostId,
    entry: &JournalEntry,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO publish_journal (post_id, step, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (post_id) DO UPDATE SET step = excluded.step, updated_at = excluded.updated_at",
    )
    .bind(Id::from(post))
    .bind(to_json(entry)?)
    .bind(Ts(step_at(entry)))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn delete_entry(conn: &mut Conn, post: PostId) -> Result<(), StoreError> {
    sqlx::query::<Db>("DELETE FROM publish_journal WHERE post_id = $1")
        .bind(Id::from(post))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl PublishJournal for ThisStore {
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
        select_entry(&mut *self.conn().await?, post).await
    }

    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
        upsert_entry(&mut *self.conn().await?, post, entry).await
    }

    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        delete_entry(&mut *self.conn().await?, post).await
    }
}
