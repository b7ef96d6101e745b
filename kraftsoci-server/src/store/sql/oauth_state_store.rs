//! [`OAuthStateStore`]: one-time OAuth states of the connection flow (P08).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{StoreError, UserId};

use super::{Conn, Db, ThisStore, db_error};
use crate::store::ports::{NewOAuthState, OAuthStateStore};
use crate::store::types::{Id, Ts};

async fn insert_state(conn: &mut Conn, state: &NewOAuthState) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO oauth_states (state_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&state.state_hash)
    .bind(Id::from(state.user))
    .bind(Ts(state.created_at))
    .bind(Ts(state.expires_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn spend_state(
    conn: &mut Conn,
    state_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserId>, StoreError> {
    Ok(sqlx::query_scalar::<Db, Id>(
        "UPDATE oauth_states SET used_at = $2 \
         WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
    )
    .bind(state_hash)
    .bind(Ts(now))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(|id| UserId::from_uuid(id.0)))
}

/// Spends every pending state of the user (the account is closing).
pub(super) async fn spend_user_states(
    conn: &mut Conn,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "UPDATE oauth_states SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(Id::from(user))
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl OAuthStateStore for ThisStore {
    async fn insert_oauth_state(&self, state: &NewOAuthState) -> Result<(), StoreError> {
        insert_state(&mut *self.conn().await?, state).await
    }

    async fn consume_oauth_state(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        spend_state(&mut *self.conn().await?, state_hash, now).await
    }
}
