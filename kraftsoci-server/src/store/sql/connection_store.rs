//! [`ConnectionStore`]: Instagram connections, their sealed tokens and who made them (P03, P10,
//! P15, P22, P34).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    Connection, ConnectionStatus, ConnectionStore, PostUpdate, SealedToken,
};
use kraftsoci_core::{ConnectionId, IgUserId, StoreError, UserId};
use sqlx::Row as _;

use super::{Conn, Db, ThisStore, commit, db_error, found, post_store, publish_queue, small};
use crate::store::rows::ConnectionRow;
use crate::store::types::{Id, Ts};

/// Removing a connection's token: the ciphertext and its key id go, the connection stays and
/// needs a reconnect. The query goes on with the rows' condition.
macro_rules! remove_tokens {
    ($condition:literal) => {
        concat!(
            "UPDATE instagram_connections SET sealed_token = NULL, token_key_version = NULL, \
             status = 'needs_reconnect' WHERE sealed_token IS NOT NULL AND ",
            $condition
        )
    };
}

async fn select_connections(conn: &mut Conn, owner: UserId) -> Result<Vec<Connection>, StoreError> {
    sqlx::query_as::<Db, ConnectionRow>(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM instagram_connections WHERE owner_id = $1 ORDER BY created_at, id"
    ))
    .bind(Id::from(owner))
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .into_iter()
    .map(Connection::try_from)
    .collect()
}

async fn select_connection(
    conn: &mut Conn,
    owner: UserId,
    id: ConnectionId,
) -> Result<Connection, StoreError> {
    sqlx::query_as::<Db, ConnectionRow>(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM instagram_connections WHERE owner_id = $1 AND id = $2"
    ))
    .bind(Id::from(owner))
    .bind(Id::from(id))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or(StoreError::NotFound)?
    .try_into()
}

async fn select_connection_by_ig_user(
    conn: &mut Conn,
    owner: UserId,
    ig_user_id: &IgUserId,
) -> Result<Option<Connection>, StoreError> {
    sqlx::query_as::<Db, ConnectionRow>(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM instagram_connections WHERE owner_id = $1 AND ig_user_id = $2"
    ))
    .bind(Id::from(owner))
    .bind(ig_user_id.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(Connection::try_from)
    .transpose()
}

async fn select_sealed_token(
    conn: &mut Conn,
    owner: UserId,
    id: ConnectionId,
) -> Result<Vec<u8>, StoreError> {
    sqlx::query_scalar::<Db, Option<Vec<u8>>>(
        "SELECT sealed_token FROM instagram_connections WHERE owner_id = $1 AND id = $2",
    )
    .bind(Id::from(owner))
    .bind(Id::from(id))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .flatten()
    .ok_or(StoreError::NotFound)
}

async fn upsert_connection(
    conn: &mut Conn,
    connection: &Connection,
    sealed_token: &[u8],
    key_version: u32,
) -> Result<Connection, StoreError> {
    sqlx::query_as::<Db, ConnectionRow>(concat!(
        "INSERT INTO instagram_connections (id, owner_id, ig_user_id, page_name, status, \
         sealed_token, token_key_version, token_expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (owner_id, ig_user_id) DO UPDATE SET page_name = excluded.page_name, \
         status = excluded.status, sealed_token = excluded.sealed_token, \
         token_key_version = excluded.token_key_version, \
         token_expires_at = excluded.token_expires_at \
         RETURNING ",
        connection_columns!()
    ))
    .bind(Id::from(connection.id))
    .bind(Id::from(connection.owner))
    .bind(connection.ig_user_id.as_str())
    .bind(connection.page_name.as_str())
    .bind(connection.status.as_str())
    .bind(sealed_token)
    .bind(small(key_version)?)
    .bind(connection.token_expires_at.map(Ts))
    .bind(Ts(connection.created_at))
    .fetch_one(conn)
    .await
    .map_err(db_error)?
    .try_into()
}

/// Marks the owner's connection as needing a reconnect; the rows touched.
pub(super) async fn mark_needs_reconnect(
    conn: &mut Conn,
    owner: UserId,
    id: ConnectionId,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE instagram_connections SET status = $3 WHERE owner_id = $1 AND id = $2",
    )
    .bind(Id::from(owner))
    .bind(Id::from(id))
    .bind(ConnectionStatus::NeedsReconnect.as_str())
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

async fn delete_connection(
    conn: &mut Conn,
    owner: UserId,
    id: ConnectionId,
) -> Result<u64, StoreError> {
    Ok(
        sqlx::query::<Db>("DELETE FROM instagram_connections WHERE owner_id = $1 AND id = $2")
            .bind(Id::from(owner))
            .bind(Id::from(id))
            .execute(conn)
            .await
            .map_err(db_error)?
            .rows_affected(),
    )
}

async fn set_meta_user_hash(
    conn: &mut Conn,
    owner: UserId,
    id: ConnectionId,
    meta_user_hash: &str,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE instagram_connections SET meta_user_hash = $3 WHERE owner_id = $1 AND id = $2",
    )
    .bind(Id::from(owner))
    .bind(Id::from(id))
    .bind(meta_user_hash)
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

async fn select_accounts_of_meta_user(
    conn: &mut Conn,
    meta_user_hash: &str,
) -> Result<Vec<UserId>, StoreError> {
    Ok(sqlx::query_scalar::<Db, Id>(
        "SELECT DISTINCT owner_id FROM instagram_connections WHERE meta_user_hash = $1 \
         ORDER BY owner_id",
    )
    .bind(meta_user_hash)
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .into_iter()
    .map(|id| UserId::from_uuid(id.0))
    .collect())
}

/// The Meta users who made the owner's connections (hashed).
pub(super) async fn select_meta_users_of(
    conn: &mut Conn,
    owner: UserId,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar::<Db, String>(
        "SELECT DISTINCT meta_user_hash FROM instagram_connections \
         WHERE owner_id = $1 AND meta_user_hash IS NOT NULL",
    )
    .bind(Id::from(owner))
    .fetch_all(conn)
    .await
    .map_err(db_error)
}

async fn remove_meta_user_tokens(conn: &mut Conn, meta_user_hash: &str) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(remove_tokens!("meta_user_hash = $1"))
        .bind(meta_user_hash)
        .execute(conn)
        .await
        .map_err(db_error)?
        .rows_affected())
}

/// Removes every token of the owner's connections (the account is closing); how many.
pub(super) async fn remove_owner_tokens(conn: &mut Conn, owner: UserId) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(remove_tokens!("owner_id = $1"))
        .bind(Id::from(owner))
        .execute(conn)
        .await
        .map_err(db_error)?
        .rows_affected())
}

async fn select_sealed_tokens_after(
    conn: &mut Conn,
    after: Option<ConnectionId>,
    limit: u32,
) -> Result<Vec<SealedToken>, StoreError> {
    let rows = sqlx::query::<Db>(
        "SELECT id, owner_id, ig_user_id, sealed_token FROM instagram_connections \
         WHERE sealed_token IS NOT NULL AND ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
    )
    .bind(after.map(Id::from))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let id: Id = row.try_get("id").map_err(db_error)?;
            let owner: Id = row.try_get("owner_id").map_err(db_error)?;
            let ig_user_id: String = row.try_get("ig_user_id").map_err(db_error)?;
            Ok(SealedToken {
                connection: ConnectionId::from_uuid(id.0),
                owner: UserId::from_uuid(owner.0),
                ig_user_id: IgUserId::parse(ig_user_id).map_err(|e| {
                    StoreError::Corrupt(format!("instagram_connections.ig_user_id: {}", e.reason()))
                })?,
                sealed: row.try_get("sealed_token").map_err(db_error)?,
            })
        })
        .collect()
}

async fn replace_sealed_token(
    conn: &mut Conn,
    id: ConnectionId,
    current: &[u8],
    resealed: &[u8],
    key_version: u32,
) -> Result<bool, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE instagram_connections SET sealed_token = $3, token_key_version = $4 \
         WHERE id = $1 AND sealed_token = $2",
    )
    .bind(Id::from(id))
    .bind(current)
    .bind(resealed)
    .bind(small(key_version)?)
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected()
        > 0)
}

#[async_trait]
impl ConnectionStore for ThisStore {
    async fn connections(&self, owner: UserId) -> Result<Vec<Connection>, StoreError> {
        select_connections(&mut *self.conn().await?, owner).await
    }

    async fn connection(&self, owner: UserId, id: ConnectionId) -> Result<Connection, StoreError> {
        select_connection(&mut *self.conn().await?, owner, id).await
    }

    async fn connection_by_ig_user(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Option<Connection>, StoreError> {
        select_connection_by_ig_user(&mut *self.conn().await?, owner, ig_user_id).await
    }

    async fn sealed_token(&self, owner: UserId, id: ConnectionId) -> Result<Vec<u8>, StoreError> {
        select_sealed_token(&mut *self.conn().await?, owner, id).await
    }

    async fn save_connection(
        &self,
        connection: &Connection,
        sealed_token: &[u8],
        key_version: u32,
    ) -> Result<Connection, StoreError> {
        upsert_connection(
            &mut *self.conn().await?,
            connection,
            sealed_token,
            key_version,
        )
        .await
    }

    async fn mark_needs_reconnect(
        &self,
        owner: UserId,
        id: ConnectionId,
    ) -> Result<(), StoreError> {
        found(mark_needs_reconnect(&mut *self.conn().await?, owner, id).await?)
    }

    async fn disconnect(
        &self,
        owner: UserId,
        id: ConnectionId,
        withdrawn: &[PostUpdate],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for update in withdrawn {
            if update.post.owner != owner {
                return Err(StoreError::NotFound);
            }
            post_store::update_post(&mut tx, update).await?;
            publish_queue::drop_job(&mut tx, update.post.id, now).await?;
        }
        found(delete_connection(&mut tx, owner, id).await?)?;
        commit(tx).await
    }

    async fn set_meta_user_hash(
        &self,
        owner: UserId,
        id: ConnectionId,
        meta_user_hash: &str,
    ) -> Result<(), StoreError> {
        found(set_meta_user_hash(&mut *self.conn().await?, owner, id, meta_user_hash).await?)
    }

    async fn accounts_of_meta_user(&self, meta_user_hash: &str) -> Result<Vec<UserId>, StoreError> {
        select_accounts_of_meta_user(&mut *self.conn().await?, meta_user_hash).await
    }

    async fn remove_meta_user_tokens(&self, meta_user_hash: &str) -> Result<u64, StoreError> {
        remove_meta_user_tokens(&mut *self.conn().await?, meta_user_hash).await
    }

    async fn sealed_tokens_after(
        &self,
        after: Option<ConnectionId>,
        limit: u32,
    ) -> Result<Vec<SealedToken>, StoreError> {
        select_sealed_tokens_after(&mut *self.conn().await?, after, limit).await
    }

    async fn replace_sealed_token(
        &self,
        id: ConnectionId,
        current: &[u8],
        resealed: &[u8],
        key_version: u32,
    ) -> Result<bool, StoreError> {
        replace_sealed_token(&mut *self.conn().await?, id, current, resealed, key_version).await
    }
}
