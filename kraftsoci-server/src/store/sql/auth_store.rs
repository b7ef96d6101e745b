//! [`AuthStore`]: sign-up, credentials, refresh-token families, password changes and resets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::Account;
use kraftsoci_core::{PostStatus, SessionId, StoreError, UserId};
use sqlx::{FromRow as _, Row as _};

use super::{Conn, Db, ThisStore, api_key_store, commit, db_error, policy_store, post_store};
use crate::store::ports::{
    AccessAccount, AccessPosts, AccessState, AuthStore, BrowserSession, Credentials, NewAccount,
    NewRefreshToken, PasswordHash, Rotation, SessionState, StoredPreferences, TokenHash,
};
use crate::store::rows::{AccountRow, theme_str};
use crate::store::types::{Id, Ts};

macro_rules! credentials_select {
    () => {
        "SELECT id, password_hash, token_epoch FROM users"
    };
}

async fn insert_user(conn: &mut Conn, new: &NewAccount) -> Result<(), StoreError> {
    let account = &new.account;
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
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

fn credentials_from(row: &<Db as sqlx::Database>::Row) -> Result<Credentials, StoreError> {
    let id: Id = row.try_get("id").map_err(db_error)?;
    Ok(Credentials {
        user: UserId::from_uuid(id.0),
        password_hash: PasswordHash::from_stored(row.try_get("password_hash").map_err(db_error)?),
        token_epoch: row.try_get("token_epoch").map_err(db_error)?,
    })
}

async fn select_credentials_by_email(
    conn: &mut Conn,
    email_normalized: &str,
) -> Result<Option<Credentials>, StoreError> {
    sqlx::query::<Db>(concat!(
        credentials_select!(),
        " WHERE email_normalized = $1 AND closed_at IS NULL"
    ))
    .bind(email_normalized)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(credentials_from)
    .transpose()
}

async fn select_credentials(conn: &mut Conn, user: UserId) -> Result<Credentials, StoreError> {
    let row = sqlx::query::<Db>(concat!(
        credentials_select!(),
        " WHERE id = $1 AND closed_at IS NULL"
    ))
    .bind(Id::from(user))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or(StoreError::NotFound)?;
    credentials_from(&row)
}

async fn select_session_state(conn: &mut Conn, user: UserId) -> Result<SessionState, StoreError> {
    let row = sqlx::query::<Db>(
        "SELECT token_epoch, closed_at, object_usage_log FROM users WHERE id = $1",
    )
    .bind(Id::from(user))
    .fetch_optional(conn)
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

/// The account's state and whether `session` has a live token: a family is open while one
/// of its tokens is neither spent, revoked nor expired (rotation spends one and stores its
/// successor in the same transaction, so an open family always has exactly one).
pub(super) async fn select_access_state(
    conn: &mut Conn,
    user: UserId,
    session: SessionId,
    now: DateTime<Utc>,
) -> Result<AccessState, StoreError> {
    let row = sqlx::query::<Db>(
        "SELECT u.token_epoch, u.closed_at, u.object_usage_log, \
         (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = $2 AND r.user_id = u.id \
          AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > $3) AS live_tokens \
         FROM users u WHERE u.id = $1",
    )
    .bind(Id::from(user))
    .bind(Id::from(session))
    .bind(Ts(now))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or(StoreError::NotFound)?;
    let closed_at: Option<Ts> = row.try_get("closed_at").map_err(db_error)?;
    let live_tokens: i64 = row.try_get("live_tokens").map_err(db_error)?;
    Ok(AccessState {
        account: SessionState {
            token_epoch: row.try_get("token_epoch").map_err(db_error)?,
            closed: closed_at.is_some(),
            objects_to_usage_log: row.try_get("object_usage_log").map_err(db_error)?,
        },
        session_open: live_tokens > 0,
    })
}

/// [`select_access_state`] with the account's columns and its notification choices: the
/// session check and `GET /v1/me`'s data in one statement.
async fn select_access_account(
    conn: &mut Conn,
    user: UserId,
    session: SessionId,
    now: DateTime<Utc>,
) -> Result<AccessAccount, StoreError> {
    let row = sqlx::query::<Db>(concat!(
        "SELECT ",
        account_columns!(),
        ", token_epoch, np.time_zone AS np_time_zone, np.channels AS np_channels, \
         (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = $2 AND r.user_id = u.id \
          AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > $3) AS live_tokens \
         FROM users u LEFT JOIN notification_preferences np ON np.user_id = u.id \
         WHERE u.id = $1"
    ))
    .bind(Id::from(user))
    .bind(Id::from(session))
    .bind(Ts(now))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or(StoreError::NotFound)?;
    let live_tokens: i64 = row.try_get("live_tokens").map_err(db_error)?;
    let token_epoch: i64 = row.try_get("token_epoch").map_err(db_error)?;
    let time_zone: Option<String> = row.try_get("np_time_zone").map_err(db_error)?;
    let channels: Option<String> = row.try_get("np_channels").map_err(db_error)?;
    let account = Account::try_from(AccountRow::from_row(&row).map_err(db_error)?)?;
    Ok(AccessAccount {
        access: AccessState {
            account: SessionState {
                token_epoch,
                closed: account.closed_at.is_some(),
                objects_to_usage_log: account.objections.usage_log,
            },
            session_open: live_tokens > 0,
        },
        account,
        // Both columns are NOT NULL: both present, or no row was joined.
        notifications: time_zone
            .zip(channels)
            .map(|(time_zone, channels)| StoredPreferences {
                time_zone,
                channels,
            }),
    })
}

/// The token epoch of an open account.
async fn select_token_epoch(conn: &mut Conn, user: Id) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar::<Db, i64>(
        "SELECT token_epoch FROM users WHERE id = $1 AND closed_at IS NULL",
    )
    .bind(user)
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

/// The kind of an API refresh token (rotated by `/v1/auth/refresh`).
const API: &str = "api";
/// The kind of a browser session's token (the sign-in cookie; never rotated).
const BROWSER: &str = "browser";

async fn insert_refresh_token(
    conn: &mut Conn,
    token: &NewRefreshToken,
    kind: &str,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, created_at, \
         expires_at, kind) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Id(uuid::Uuid::new_v4()))
    .bind(token.hash.as_str())
    .bind(Id::from(token.session))
    .bind(Id::from(token.user))
    .bind(Ts(token.created_at))
    .bind(Ts(token.expires_at))
    .bind(kind)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// The live browser session of a cookie's token, with what a page shows of its user.
async fn select_browser_session(
    conn: &mut Conn,
    presented: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<BrowserSession>, StoreError> {
    let row = sqlx::query::<Db>(
        "SELECT r.user_id, r.family_id, u.language, u.name, u.theme, u.object_usage_log, \
         p.time_zone FROM refresh_tokens r JOIN users u ON u.id = r.user_id \
         LEFT JOIN notification_preferences p ON p.user_id = r.user_id \
         WHERE r.token_hash = $1 AND r.kind = $3 \
         AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > $2 \
         AND u.closed_at IS NULL",
    )
    .bind(presented.as_str())
    .bind(Ts(now))
    .bind(BROWSER)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    row.map(|row| {
        let user: Id = row.try_get("user_id").map_err(db_error)?;
        let family: Id = row.try_get("family_id").map_err(db_error)?;
        Ok(BrowserSession {
            user: UserId::from_uuid(user.0),
            session: SessionId::from_uuid(family.0),
            language: row.try_get("language").map_err(db_error)?,
            name: row.try_get("name").map_err(db_error)?,
            theme: row.try_get("theme").map_err(db_error)?,
            objects_to_usage_log: row.try_get("object_usage_log").map_err(db_error)?,
            time_zone: row.try_get("time_zone").map_err(db_error)?,
        })
    })
    .transpose()
}

/// Spends a live refresh token; its user and family. One conditional `UPDATE`, so two
/// concurrent uses cannot both succeed.
async fn spend_refresh_token(
    conn: &mut Conn,
    presented: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<(Id, Id)>, StoreError> {
    let row = sqlx::query::<Db>(
        "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
         AND revoked_at IS NULL AND expires_at > $2 AND kind = $3 \
         RETURNING user_id, family_id",
    )
    .bind(presented.as_str())
    .bind(Ts(now))
    .bind(API)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    row.map(|row| {
        Ok((
            row.try_get("user_id").map_err(db_error)?,
            row.try_get("family_id").map_err(db_error)?,
        ))
    })
    .transpose()
}

/// A refresh token whatever its state: user, family, and when it was spent.
async fn select_refresh_token(
    conn: &mut Conn,
    presented: &TokenHash,
) -> Result<Option<(Id, Id, Option<Ts>)>, StoreError> {
    let row = sqlx::query::<Db>(
        "SELECT user_id, family_id, used_at FROM refresh_tokens WHERE token_hash = $1 \
         AND kind = $2",
    )
    .bind(presented.as_str())
    .bind(API)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    row.map(|row| {
        Ok((
            row.try_get("user_id").map_err(db_error)?,
            row.try_get("family_id").map_err(db_error)?,
            row.try_get("used_at").map_err(db_error)?,
        ))
    })
    .transpose()
}

async fn revoke_family(conn: &mut Conn, family: Id, now: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn revoke_family_of(
    conn: &mut Conn,
    presented: &TokenHash,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id IN \
         (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
    )
    .bind(presented.as_str())
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Revokes every session of the user except `keep`; how many tokens were revoked.
pub(super) async fn revoke_sessions(
    conn: &mut Conn,
    user: UserId,
    keep: Option<SessionId>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL \
         AND ($3 IS NULL OR family_id <> $3)",
    )
    .bind(Id::from(user))
    .bind(Ts(now))
    .bind(keep.map(Id::from))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

/// Spends every pending reset token of the user.
pub(super) async fn void_reset_tokens(
    conn: &mut Conn,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(Id::from(user))
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Sets the password hash of an open account and moves its token epoch; the new epoch.
async fn set_password(
    conn: &mut Conn,
    user: UserId,
    hash: &PasswordHash,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar::<Db, i64>(
        "UPDATE users SET password_hash = $2, token_epoch = token_epoch + 1 \
         WHERE id = $1 AND closed_at IS NULL RETURNING token_epoch",
    )
    .bind(Id::from(user))
    .bind(hash.as_str())
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

async fn insert_reset_token(
    conn: &mut Conn,
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
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Spends a live reset token; its user.
async fn spend_reset_token(
    conn: &mut Conn,
    token: &TokenHash,
    now: DateTime<Utc>,
) -> Result<Option<UserId>, StoreError> {
    Ok(sqlx::query_scalar::<Db, Id>(
        "UPDATE password_reset_tokens SET used_at = $2 WHERE token_hash = $1 \
         AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
    )
    .bind(token.as_str())
    .bind(Ts(now))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(|id| UserId::from_uuid(id.0)))
}

#[async_trait]
impl AuthStore for ThisStore {
    async fn create_account(&self, new: &NewAccount) -> Result<(), StoreError> {
        let account = &new.account;
        let mut tx = self.begin_write().await?;
        insert_user(&mut tx, new).await?;
        policy_store::insert_acceptance(
            &mut tx,
            account.id,
            &account.accepted_policy_version,
            account.created_at,
            new.ip.as_deref(),
        )
        .await?;
        commit(tx).await
    }

    async fn credentials_by_email(
        &self,
        email_normalized: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        select_credentials_by_email(&mut *self.conn().await?, email_normalized).await
    }

    async fn credentials(&self, user: UserId) -> Result<Credentials, StoreError> {
        select_credentials(&mut *self.conn().await?, user).await
    }

    async fn session_state(&self, user: UserId) -> Result<SessionState, StoreError> {
        select_session_state(&mut *self.conn().await?, user).await
    }

    async fn access_state(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<AccessState, StoreError> {
        select_access_state(&mut *self.conn().await?, user, session, now).await
    }

    async fn access_account(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<AccessAccount, StoreError> {
        select_access_account(&mut *self.conn().await?, user, session, now).await
    }

    async fn access_posts(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
        status: Option<PostStatus>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<AccessPosts, StoreError> {
        post_store::access_posts(
            &mut *self.conn().await?,
            (user, session, now),
            status,
            cursor.as_deref(),
            limit,
        )
        .await
    }

    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> Result<(), StoreError> {
        insert_refresh_token(&mut *self.conn().await?, token, API).await
    }

    async fn insert_browser_session(&self, token: &NewRefreshToken) -> Result<(), StoreError> {
        insert_refresh_token(&mut *self.conn().await?, token, BROWSER).await
    }

    async fn browser_session(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<BrowserSession>, StoreError> {
        select_browser_session(&mut *self.conn().await?, presented, now).await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: DateTime<Utc>,
        next_expires_at: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some((user, family)) = spend_refresh_token(&mut tx, presented, now).await? {
            let Some(token_epoch) = select_token_epoch(&mut tx, user).await? else {
                return Ok(Rotation::Invalid);
            };
            let user = UserId::from_uuid(user.0);
            let session = SessionId::from_uuid(family.0);
            let successor = NewRefreshToken {
                hash: next.clone(),
                session,
                user,
                created_at: now,
                expires_at: next_expires_at,
            };
            insert_refresh_token(&mut tx, &successor, API).await?;
            commit(tx).await?;
            return Ok(Rotation::Rotated {
                user,
                session,
                token_epoch,
            });
        }
        let Some((user, family, used_at)) = select_refresh_token(&mut tx, presented).await? else {
            return Ok(Rotation::Invalid);
        };
        if used_at.is_none() {
            // Expired or already revoked: refused, nothing else to do.
            return Ok(Rotation::Invalid);
        }
        revoke_family(&mut tx, family, now).await?;
        commit(tx).await?;
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
        revoke_family_of(&mut *self.conn().await?, presented, now).await
    }

    async fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        keep: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let epoch = set_password(&mut tx, user, hash)
            .await?
            .ok_or(StoreError::NotFound)?;
        revoke_sessions(&mut tx, user, keep, now).await?;
        void_reset_tokens(&mut tx, user, now).await?;
        // Whoever knew the old password may have made a key: a new password ends them too.
        api_key_store::delete_api_keys(&mut tx, user).await?;
        commit(tx).await?;
        Ok(epoch)
    }

    async fn insert_reset_token(
        &self,
        user: UserId,
        token: &TokenHash,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        insert_reset_token(
            &mut *self.conn().await?,
            user,
            token,
            created_at,
            expires_at,
        )
        .await
    }

    async fn reset_password(
        &self,
        token: &TokenHash,
        hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(user) = spend_reset_token(&mut tx, token, now).await? else {
            return Ok(None);
        };
        if set_password(&mut tx, user, hash).await?.is_none() {
            return Ok(None);
        }
        revoke_sessions(&mut tx, user, None, now).await?;
        void_reset_tokens(&mut tx, user, now).await?;
        api_key_store::delete_api_keys(&mut tx, user).await?;
        commit(tx).await?;
        Ok(Some(user))
    }
}
