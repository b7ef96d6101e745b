//! The queries both backends share.
//!
//! This file is compiled twice, once inside `postgres.rs` and once inside `sqlite.rs` (see
//! `store/mod.rs`). Each of those modules provides `Db` (the sqlx database), `ThisStore` (the
//! store type, with a `pool` field) and `db_error` (its error mapping); the SQL here must
//! therefore run unchanged on both engines: `$n` placeholders, `ON CONFLICT … DO UPDATE`,
//! `RETURNING`, no engine functions, and every timestamp bound from the caller's clock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    Account, AccountStore, Connection, ConnectionStatus, ConnectionStore, PostPage, PostStore,
    ProfileStore, UsageEvent, UsageLogStore,
};
use kraftsoci_core::{
    BusinessProfile, ConnectionId, PostId, PostSnapshot, PostStatus, SessionId, StoreError, UserId,
};
use sqlx::Row as _;

use super::{Db, ThisStore, db_error};
use crate::auth::{PasswordHash, TokenHash};
use crate::store::cursor::PostCursor;
use crate::store::rows::{
    AccountRow, ConnectionRow, PostRow, ProfileRow, connection_status_str, theme_str,
};
use crate::store::types::{Id, Ts};
use crate::store::{AuthStore, Credentials, NewAccount, NewRefreshToken, Rotation, SessionState};

macro_rules! account_select {
    () => {
        "SELECT id, name, email, business_name, sector, language, theme, restrict_generation, \
         restrict_publishing, object_usage_log, accepted_policy_version, created_at, closed_at \
         FROM users"
    };
}

macro_rules! connection_columns {
    () => {
        "id, owner_id, ig_user_id, page_name, status, token_expires_at, created_at"
    };
}

macro_rules! post_select {
    () => {
        "SELECT p.id, p.owner_id, p.caption, p.hashtags, p.alt_text, p.media_kind, \
         p.media_digests, p.target_ig_user_id, p.status, p.created_at, p.updated_at, \
         p.published_at, p.instagram_media_id, p.permalink, p.failure_code, p.failure_message, \
         p.failure_retryable, c.user_id AS c_user_id, c.content_hash AS c_content_hash, \
         c.target_ig_user_id AS c_target_ig_user_id, c.approved_at AS c_approved_at, \
         c.ip AS c_ip, c.user_agent AS c_user_agent, c.scheduled_for AS c_scheduled_for \
         FROM posts p LEFT JOIN consent_receipts c ON c.id = p.consent_id"
    };
}

/// The most posts one page may hold.
const MAX_PAGE: u32 = 100;

#[async_trait]
impl AccountStore for ThisStore {
    async fn account(&self, id: UserId) -> Result<Account, StoreError> {
        sqlx::query_as::<Db, AccountRow>(concat!(account_select!(), " WHERE id = $1"))
            .bind(Id::from(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or(StoreError::NotFound)?
            .try_into()
    }

    async fn update_account(&self, account: &Account) -> Result<(), StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE users SET name = $2, email = $3, email_normalized = $4, business_name = $5, \
             sector = $6, language = $7, theme = $8, restrict_generation = $9, \
             restrict_publishing = $10, object_usage_log = $11 \
             WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(Id::from(account.id))
        .bind(account.name.as_str())
        .bind(account.email.as_str())
        .bind(account.email.normalized())
        .bind(account.business_name.as_str())
        .bind(account.sector.as_str())
        .bind(account.preferences.language.as_str())
        .bind(theme_str(account.preferences.theme))
        .bind(account.restrictions.generation)
        .bind(account.restrictions.publishing)
        .bind(account.objections.usage_log)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl ProfileStore for ThisStore {
    async fn profile(&self, user: UserId) -> Result<Option<BusinessProfile>, StoreError> {
        sqlx::query_as::<Db, ProfileRow>(
            "SELECT description, target_audience, tone, sector, language FROM profiles \
             WHERE user_id = $1",
        )
        .bind(Id::from(user))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(BusinessProfile::try_from)
        .transpose()
    }

    async fn put_profile(&self, user: UserId, profile: &BusinessProfile) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO profiles (user_id, description, target_audience, tone, sector, language) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id) DO UPDATE SET description = excluded.description, \
             target_audience = excluded.target_audience, tone = excluded.tone, \
             sector = excluded.sector, language = excluded.language",
        )
        .bind(Id::from(user))
        .bind(profile.description.as_str())
        .bind(profile.target_audience.as_str())
        .bind(profile.tone.as_str())
        .bind(profile.sector.as_str())
        .bind(profile.language.as_str())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

#[async_trait]
impl ConnectionStore for ThisStore {
    async fn connections(&self, owner: UserId) -> Result<Vec<Connection>, StoreError> {
        sqlx::query_as::<Db, ConnectionRow>(concat!(
            "SELECT ",
            connection_columns!(),
            " FROM instagram_connections WHERE owner_id = $1 ORDER BY created_at, id"
        ))
        .bind(Id::from(owner))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(Connection::try_from)
        .collect()
    }

    async fn connection(&self, owner: UserId, id: ConnectionId) -> Result<Connection, StoreError> {
        sqlx::query_as::<Db, ConnectionRow>(concat!(
            "SELECT ",
            connection_columns!(),
            " FROM instagram_connections WHERE owner_id = $1 AND id = $2"
        ))
        .bind(Id::from(owner))
        .bind(Id::from(id))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn sealed_token(&self, owner: UserId, id: ConnectionId) -> Result<Vec<u8>, StoreError> {
        sqlx::query_scalar::<Db, Option<Vec<u8>>>(
            "SELECT sealed_token FROM instagram_connections WHERE owner_id = $1 AND id = $2",
        )
        .bind(Id::from(owner))
        .bind(Id::from(id))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .flatten()
        .ok_or(StoreError::NotFound)
    }

    async fn upsert_connection(
        &self,
        connection: &Connection,
        sealed_token: &[u8],
    ) -> Result<Connection, StoreError> {
        sqlx::query_as::<Db, ConnectionRow>(concat!(
            "INSERT INTO instagram_connections (id, owner_id, ig_user_id, page_name, status, \
             sealed_token, token_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
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
        .bind(connection_status_str(connection.status))
        .bind(sealed_token)
        .bind(connection.token_expires_at.map(Ts))
        .bind(Ts(connection.created_at))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?
        .try_into()
    }

    async fn set_connection_status(
        &self,
        owner: UserId,
        id: ConnectionId,
        status: ConnectionStatus,
    ) -> Result<(), StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE instagram_connections SET status = $3 WHERE owner_id = $1 AND id = $2",
        )
        .bind(Id::from(owner))
        .bind(Id::from(id))
        .bind(connection_status_str(status))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        found(result.rows_affected())
    }

    async fn delete_connection(&self, owner: UserId, id: ConnectionId) -> Result<(), StoreError> {
        let result =
            sqlx::query::<Db>("DELETE FROM instagram_connections WHERE owner_id = $1 AND id = $2")
                .bind(Id::from(owner))
                .bind(Id::from(id))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
        found(result.rows_affected())
    }
}

fn found(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Records the post's consent receipt (immutable history: an identical click is stored once)
/// and points the post at it; or clears the pointer when the post has no consent.
pub(super) async fn link_consent(
    conn: &mut <Db as sqlx::Database>::Connection,
    post: &PostSnapshot,
) -> Result<(), StoreError> {
    let Some(receipt) = &post.consent else {
        sqlx::query::<Db>("UPDATE posts SET consent_id = NULL WHERE id = $1")
            .bind(Id::from(post.id))
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        return Ok(());
    };
    if receipt.post() != post.id || receipt.user() != post.owner {
        return Err(StoreError::Corrupt(
            "a consent receipt must belong to its post and owner".to_owned(),
        ));
    }
    let hash = receipt.content_hash().to_hex();
    sqlx::query::<Db>(
        "INSERT INTO consent_receipts (id, user_id, post_id, content_hash, target_ig_user_id, \
         approved_at, ip, user_agent, scheduled_for) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (post_id, approved_at, content_hash) DO NOTHING",
    )
    .bind(Id(uuid::Uuid::new_v4()))
    .bind(Id::from(receipt.user()))
    .bind(Id::from(post.id))
    .bind(&hash)
    .bind(receipt.target().as_str())
    .bind(Ts(receipt.approved_at()))
    .bind(receipt.ip())
    .bind(receipt.user_agent())
    .bind(receipt.scheduled_for().map(Ts))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query::<Db>(
        "UPDATE posts SET consent_id = (SELECT id FROM consent_receipts \
         WHERE post_id = $1 AND approved_at = $2 AND content_hash = $3) WHERE id = $1",
    )
    .bind(Id::from(post.id))
    .bind(Ts(receipt.approved_at()))
    .bind(&hash)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl PostStore for ThisStore {
    async fn insert_post(&self, post: &PostSnapshot) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let failure = post.failure.as_ref();
        sqlx::query::<Db>(
            "INSERT INTO posts (id, owner_id, caption, hashtags, alt_text, media_kind, \
             media_digests, target_ig_user_id, status, created_at, updated_at, published_at, \
             instagram_media_id, permalink, failure_code, failure_message, failure_retryable) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(Id::from(post.id))
        .bind(Id::from(post.owner))
        .bind(post.content.caption.as_str())
        .bind(to_json(&post.content.hashtags)?)
        .bind(post.content.alt_text.as_ref().map(|a| a.as_str()))
        .bind(post.content.media_kind.as_str())
        .bind(to_json(&post.content.media)?)
        .bind(post.content.target.as_ref().map(|t| t.as_str()))
        .bind(post.status.as_str())
        .bind(Ts(post.created_at))
        .bind(Ts(post.updated_at))
        .bind(post.published_at.map(Ts))
        .bind(post.instagram_media_id.as_deref())
        .bind(post.permalink.as_deref())
        .bind(failure.map(|f| f.code.as_str()))
        .bind(failure.map(|f| f.message.as_str()))
        .bind(failure.map(|f| f.retryable))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if post.consent.is_some() {
            link_consent(&mut tx, post).await?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn post(&self, owner: UserId, id: PostId) -> Result<PostSnapshot, StoreError> {
        sqlx::query_as::<Db, PostRow>(concat!(
            post_select!(),
            " WHERE p.owner_id = $1 AND p.id = $2"
        ))
        .bind(Id::from(owner))
        .bind(Id::from(id))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?
        .try_into()
    }

    async fn save_post(
        &self,
        post: &PostSnapshot,
        expected_updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let failure = post.failure.as_ref();
        let result = sqlx::query::<Db>(
            "UPDATE posts SET caption = $4, hashtags = $5, alt_text = $6, media_kind = $7, \
             media_digests = $8, target_ig_user_id = $9, status = $10, updated_at = $11, \
             published_at = $12, instagram_media_id = $13, permalink = $14, failure_code = $15, \
             failure_message = $16, failure_retryable = $17 \
             WHERE id = $1 AND owner_id = $2 AND updated_at = $3",
        )
        .bind(Id::from(post.id))
        .bind(Id::from(post.owner))
        .bind(Ts(expected_updated_at))
        .bind(post.content.caption.as_str())
        .bind(to_json(&post.content.hashtags)?)
        .bind(post.content.alt_text.as_ref().map(|a| a.as_str()))
        .bind(post.content.media_kind.as_str())
        .bind(to_json(&post.content.media)?)
        .bind(post.content.target.as_ref().map(|t| t.as_str()))
        .bind(post.status.as_str())
        .bind(Ts(post.updated_at))
        .bind(post.published_at.map(Ts))
        .bind(post.instagram_media_id.as_deref())
        .bind(post.permalink.as_deref())
        .bind(failure.map(|f| f.code.as_str()))
        .bind(failure.map(|f| f.message.as_str()))
        .bind(failure.map(|f| f.retryable))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if result.rows_affected() == 0 {
            let exists = sqlx::query::<Db>("SELECT 1 FROM posts WHERE id = $1 AND owner_id = $2")
                .bind(Id::from(post.id))
                .bind(Id::from(post.owner))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?
                .is_some();
            return Err(if exists {
                StoreError::Stale
            } else {
                StoreError::NotFound
            });
        }
        link_consent(&mut tx, post).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn list_posts(
        &self,
        owner: UserId,
        status: Option<PostStatus>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<PostPage, StoreError> {
        let after = cursor
            .as_deref()
            .map(PostCursor::decode)
            .transpose()
            .map_err(|_| StoreError::NotFound)?;
        let limit = limit.clamp(1, MAX_PAGE);
        let rows = sqlx::query_as::<Db, PostRow>(concat!(
            post_select!(),
            " WHERE p.owner_id = $1 AND ($2 IS NULL OR p.status = $2) \
             AND ($3 IS NULL OR p.created_at < $3 OR (p.created_at = $3 AND p.id < $4)) \
             ORDER BY p.created_at DESC, p.id DESC LIMIT $5"
        ))
        .bind(Id::from(owner))
        .bind(status.map(|s| s.as_str()))
        .bind(after.map(|c| Ts(c.created_at)))
        .bind(after.map(|c| Id(c.id)))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut posts = rows
            .into_iter()
            .map(PostSnapshot::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if posts.len() > limit as usize {
            posts.truncate(limit as usize);
            posts.last().map(|p| {
                PostCursor {
                    created_at: p.created_at,
                    id: p.id.as_uuid(),
                }
                .encode()
            })
        } else {
            None
        };
        Ok(PostPage { posts, next_cursor })
    }

    async fn delete_post(&self, owner: UserId, id: PostId) -> Result<(), StoreError> {
        let result = sqlx::query::<Db>("DELETE FROM posts WHERE owner_id = $1 AND id = $2")
            .bind(Id::from(owner))
            .bind(Id::from(id))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        found(result.rows_affected())
    }
}

#[async_trait]
impl UsageLogStore for ThisStore {
    async fn append(&self, event: &UsageEvent) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO usage_log (user_id, method, route, status, ip, user_agent, security, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(event.user.map(Id::from))
        .bind(event.method.as_str())
        .bind(event.route.as_str())
        .bind(i32::from(event.status))
        .bind(event.ip.as_deref())
        .bind(event.user_agent.as_deref())
        .bind(event.security)
        .bind(Ts(event.at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

fn credentials_from(row: &<Db as sqlx::Database>::Row) -> Result<Credentials, StoreError> {
    let id: Id = row.try_get("id").map_err(db_error)?;
    Ok(Credentials {
        user: UserId::from_uuid(id.0),
        password_hash: PasswordHash::from_stored(row.try_get("password_hash").map_err(db_error)?),
        token_epoch: row.try_get("token_epoch").map_err(db_error)?,
    })
}

#[async_trait]
impl AuthStore for ThisStore {
    async fn create_account(&self, new: &NewAccount) -> Result<(), StoreError> {
        let account = &new.account;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query::<Db>(
            "INSERT INTO users (id, name, email, email_normalized, business_name, sector, \
             password_hash, language, theme, restrict_generation, restrict_publishing, \
             object_usage_log, accepted_policy_version, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(Id::from(account.id))
        .bind(account.name.as_str())
        .bind(account.email.as_str())
        .bind(account.email.normalized())
        .bind(account.business_name.as_str())
        .bind(account.sector.as_str())
        .bind(new.password_hash.as_str())
        .bind(account.preferences.language.as_str())
        .bind(theme_str(account.preferences.theme))
        .bind(account.restrictions.generation)
        .bind(account.restrictions.publishing)
        .bind(account.objections.usage_log)
        .bind(account.accepted_policy_version.as_str())
        .bind(Ts(account.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query::<Db>(
            "INSERT INTO policy_acceptances (id, user_id, version, accepted_at, ip) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Id(uuid::Uuid::new_v4()))
        .bind(Id::from(account.id))
        .bind(account.accepted_policy_version.as_str())
        .bind(Ts(account.created_at))
        .bind(new.ip.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn credentials_by_email(
        &self,
        email_normalized: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        sqlx::query::<Db>(
            "SELECT id, password_hash, token_epoch FROM users \
             WHERE email_normalized = $1 AND closed_at IS NULL",
        )
        .bind(email_normalized)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(credentials_from)
        .transpose()
    }

    async fn credentials(&self, user: UserId) -> Result<Credentials, StoreError> {
        let row = sqlx::query::<Db>(
            "SELECT id, password_hash, token_epoch FROM users WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(Id::from(user))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?;
        credentials_from(&row)
    }

    async fn session_state(&self, user: UserId) -> Result<SessionState, StoreError> {
        let row = sqlx::query::<Db>(
            "SELECT token_epoch, closed_at, object_usage_log FROM users WHERE id = $1",
        )
        .bind(Id::from(user))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?;
        let closed_at: Option<Ts> = row.try_get("closed_at").map_err(db_error)?;
        Ok(SessionState {
            token_epoch: row.try_get("token_epoch").map_err(db_error)?,
            closed: closed_at.is_some(),
            objects_to_usage_log: row.try_get("object_usage_log").map_err(db_error)?,
        })
    }

    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Id(uuid::Uuid::new_v4()))
        .bind(token.hash.as_str())
        .bind(Id::from(token.session))
        .bind(Id::from(token.user))
        .bind(Ts(token.created_at))
        .bind(Ts(token.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: DateTime<Utc>,
        next_expires_at: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Spending is one conditional UPDATE, so two concurrent uses cannot both succeed.
        let spent = sqlx::query::<Db>(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 RETURNING user_id, family_id",
        )
        .bind(presented.as_str())
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if let Some(row) = spent {
            let user: Id = row.try_get("user_id").map_err(db_error)?;
            let family: Id = row.try_get("family_id").map_err(db_error)?;
            let account = sqlx::query::<Db>(
                "SELECT token_epoch FROM users WHERE id = $1 AND closed_at IS NULL",
            )
            .bind(user)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
            let Some(account) = account else {
                return Ok(Rotation::Invalid);
            };
            let token_epoch: i64 = account.try_get("token_epoch").map_err(db_error)?;
            sqlx::query::<Db>(
                "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(Id(uuid::Uuid::new_v4()))
            .bind(next.as_str())
            .bind(family)
            .bind(user)
            .bind(Ts(now))
            .bind(Ts(next_expires_at))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            tx.commit().await.map_err(db_error)?;
            return Ok(Rotation::Rotated {
                user: UserId::from_uuid(user.0),
                session: SessionId::from_uuid(family.0),
                token_epoch,
            });
        }
        let previous = sqlx::query::<Db>(
            "SELECT user_id, family_id, used_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(presented.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(previous) = previous else {
            return Ok(Rotation::Invalid);
        };
        let used_at: Option<Ts> = previous.try_get("used_at").map_err(db_error)?;
        if used_at.is_none() {
            // Expired or already revoked: refused, nothing else to do.
            return Ok(Rotation::Invalid);
        }
        let user: Id = previous.try_get("user_id").map_err(db_error)?;
        let family: Id = previous.try_get("family_id").map_err(db_error)?;
        sqlx::query::<Db>(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Rotation::Reused {
            user: UserId::from_uuid(user.0),
            session: SessionId::from_uuid(family.0),
        })
    }

    async fn revoke_session_of(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id IN \
             (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
        )
        .bind(presented.as_str())
        .bind(Ts(now))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        keep: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let epoch = sqlx::query_scalar::<Db, i64>(
            "UPDATE users SET password_hash = $2, token_epoch = token_epoch + 1 \
             WHERE id = $1 AND closed_at IS NULL RETURNING token_epoch",
        )
        .bind(Id::from(user))
        .bind(hash.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?;
        sqlx::query::<Db>(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
             AND ($3 IS NULL OR family_id <> $3)",
        )
        .bind(Id::from(user))
        .bind(Ts(now))
        .bind(keep.map(Id::from))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query::<Db>(
            "UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(Id::from(user))
        .bind(Ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(epoch)
    }

    async fn insert_reset_token(
        &self,
        user: UserId,
        token: &TokenHash,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token.as_str())
        .bind(Id::from(user))
        .bind(Ts(created_at))
        .bind(Ts(expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn reset_password(
        &self,
        token: &TokenHash,
        hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let user = sqlx::query_scalar::<Db, Id>(
            "UPDATE password_reset_tokens SET used_at = $2 WHERE token_hash = $1 \
             AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
        )
        .bind(token.as_str())
        .bind(Ts(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(user) = user else {
            return Ok(None);
        };
        let updated = sqlx::query::<Db>(
            "UPDATE users SET password_hash = $2, token_epoch = token_epoch + 1 \
             WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(user)
        .bind(hash.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        for statement in [
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            "UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        ] {
            sqlx::query::<Db>(statement)
                .bind(user)
                .bind(Ts(now))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(Some(UserId::from_uuid(user.0)))
    }
}
