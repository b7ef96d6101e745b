//! [`SandboxStore`]: the sandbox publisher's containers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{IgUserId, StoreError};

use super::{Conn, Db, ThisStore, count_u32, db_error, small};
use crate::store::ports::{SandboxContainer, SandboxStatus, SandboxStore};
use crate::store::types::Ts;

macro_rules! sandbox_select {
    () => {
        "SELECT id, ig_user_id, kind, caption, alt_text, item_count, status, media_id, permalink, \
         created_at, published_at FROM sandbox_containers"
    };
}

#[derive(sqlx::FromRow)]
struct SandboxRow {
    id: String,
    ig_user_id: String,
    kind: String,
    caption: Option<String>,
    alt_text: Option<String>,
    item_count: i32,
    status: String,
    media_id: Option<String>,
    permalink: Option<String>,
    created_at: Ts,
    published_at: Option<Ts>,
}

impl TryFrom<SandboxRow> for SandboxContainer {
    type Error = StoreError;

    fn try_from(row: SandboxRow) -> Result<Self, StoreError> {
        let corrupt = |field: &str| StoreError::Corrupt(format!("sandbox_containers.{field}"));
        Ok(SandboxContainer {
            ig_user_id: IgUserId::parse(row.ig_user_id).map_err(|_| corrupt("ig_user_id"))?,
            status: SandboxStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            items: u32::try_from(row.item_count).map_err(|_| corrupt("item_count"))?,
            id: row.id,
            kind: row.kind,
            caption: row.caption,
            alt_text: row.alt_text,
            media_id: row.media_id,
            permalink: row.permalink,
            created_at: row.created_at.0,
            published_at: row.published_at.map(|t| t.0),
        })
    }
}

async fn insert_container(conn: &mut Conn, container: &SandboxContainer) -> Result<(), StoreError> {
    // The owner is looked up from the sandbox connection, so an account purge takes the
    // sandbox's copies with it.
    sqlx::query::<Db>(
        "INSERT INTO sandbox_containers (id, ig_user_id, owner_id, kind, caption, alt_text, \
         item_count, status, created_at) VALUES ($1, $2, (SELECT owner_id FROM \
         instagram_connections WHERE ig_user_id = $2 ORDER BY created_at LIMIT 1), \
         $3, $4, $5, $6, $7, $8)",
    )
    .bind(&container.id)
    .bind(container.ig_user_id.as_str())
    .bind(&container.kind)
    .bind(container.caption.as_deref())
    .bind(container.alt_text.as_deref())
    .bind(small(container.items)?)
    .bind(container.status.as_str())
    .bind(Ts(container.created_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn select_container(
    conn: &mut Conn,
    ig_user_id: &IgUserId,
    id: &str,
) -> Result<Option<SandboxContainer>, StoreError> {
    sqlx::query_as::<Db, SandboxRow>(concat!(
        sandbox_select!(),
        " WHERE ig_user_id = $1 AND id = $2"
    ))
    .bind(ig_user_id.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(SandboxContainer::try_from)
    .transpose()
}

/// Moves a container from `from` to `to`; whether it was in `from`.
async fn advance(
    conn: &mut Conn,
    id: &str,
    from: SandboxStatus,
    to: SandboxStatus,
) -> Result<bool, StoreError> {
    Ok(
        sqlx::query::<Db>(
            "UPDATE sandbox_containers SET status = $3 WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .execute(conn)
        .await
        .map_err(db_error)?
        .rows_affected()
            > 0,
    )
}

/// Publishes a `finished` container; whether it was `finished`.
async fn publish(
    conn: &mut Conn,
    id: &str,
    media_id: &str,
    permalink: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE sandbox_containers SET status = 'published', media_id = $2, permalink = $3, \
         published_at = $4 WHERE id = $1 AND status = 'finished'",
    )
    .bind(id)
    .bind(media_id)
    .bind(permalink)
    .bind(Ts(at))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected()
        > 0)
}

async fn count_published_since(
    conn: &mut Conn,
    ig_user_id: &IgUserId,
    since: DateTime<Utc>,
) -> Result<u32, StoreError> {
    let published = sqlx::query_scalar::<Db, i64>(
        "SELECT COUNT(*) FROM sandbox_containers \
         WHERE ig_user_id = $1 AND status = 'published' AND published_at >= $2",
    )
    .bind(ig_user_id.as_str())
    .bind(Ts(since))
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok(count_u32(published))
}

async fn select_publication(
    conn: &mut Conn,
    media_id: &str,
) -> Result<Option<SandboxContainer>, StoreError> {
    sqlx::query_as::<Db, SandboxRow>(concat!(
        sandbox_select!(),
        " WHERE media_id = $1 AND status = 'published'"
    ))
    .bind(media_id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(SandboxContainer::try_from)
    .transpose()
}

#[async_trait]
impl SandboxStore for ThisStore {
    async fn insert_sandbox_container(
        &self,
        container: &SandboxContainer,
    ) -> Result<(), StoreError> {
        insert_container(&mut *self.conn().await?, container).await
    }

    async fn sandbox_container(
        &self,
        ig_user_id: &IgUserId,
        id: &str,
    ) -> Result<Option<SandboxContainer>, StoreError> {
        select_container(&mut *self.conn().await?, ig_user_id, id).await
    }

    async fn advance_sandbox_container(
        &self,
        id: &str,
        from: SandboxStatus,
        to: SandboxStatus,
    ) -> Result<bool, StoreError> {
        advance(&mut *self.conn().await?, id, from, to).await
    }

    async fn publish_sandbox_container(
        &self,
        id: &str,
        media_id: &str,
        permalink: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        publish(&mut *self.conn().await?, id, media_id, permalink, at).await
    }

    async fn sandbox_published_since(
        &self,
        ig_user_id: &IgUserId,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        count_published_since(&mut *self.conn().await?, ig_user_id, since).await
    }

    async fn sandbox_publication(
        &self,
        media_id: &str,
    ) -> Result<Option<SandboxContainer>, StoreError> {
        select_publication(&mut *self.conn().await?, media_id).await
    }
}
