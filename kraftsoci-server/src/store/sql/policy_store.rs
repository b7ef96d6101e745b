//! [`PolicyStore`]: privacy-policy versions, acceptances and in-app notices (P38).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{Email, StoreError, UserId};
use sqlx::Row as _;
use uuid::Uuid;

use super::{Conn, Db, ThisStore, commit, db_error, found};
use crate::store::ports::{
    NewNotice, Notice, NoticeDelivery, PolicyAcceptance, PolicyStore, PolicyVersion, Recipient,
};
use crate::store::types::{Id, Ts};

macro_rules! policy_select {
    () => {
        "SELECT version, published_at, summary FROM policy_versions"
    };
}

fn policy_from(row: &<Db as sqlx::Database>::Row) -> Result<PolicyVersion, StoreError> {
    let published_at: Ts = row.try_get("published_at").map_err(db_error)?;
    Ok(PolicyVersion {
        version: row.try_get("version").map_err(db_error)?,
        published_at: published_at.0,
        summary: row.try_get("summary").map_err(db_error)?,
    })
}

async fn select_current_policy(conn: &mut Conn) -> Result<Option<PolicyVersion>, StoreError> {
    sqlx::query::<Db>(concat!(
        policy_select!(),
        " ORDER BY published_at DESC, version DESC LIMIT 1"
    ))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(policy_from)
    .transpose()
}

async fn select_policy(
    conn: &mut Conn,
    version: &str,
) -> Result<Option<PolicyVersion>, StoreError> {
    sqlx::query::<Db>(concat!(policy_select!(), " WHERE version = $1"))
        .bind(version)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(policy_from)
        .transpose()
}

/// Records the version unless its label exists; whether it was recorded.
async fn insert_policy(conn: &mut Conn, policy: &PolicyVersion) -> Result<bool, StoreError> {
    Ok(sqlx::query::<Db>(
        "INSERT INTO policy_versions (version, published_at, summary) VALUES ($1, $2, $3) \
         ON CONFLICT (version) DO NOTHING",
    )
    .bind(&policy.version)
    .bind(Ts(policy.published_at))
    .bind(&policy.summary)
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected()
        > 0)
}

/// Makes `version` the open account's accepted version; the rows touched.
async fn set_accepted_version(
    conn: &mut Conn,
    user: UserId,
    version: &str,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE users SET accepted_policy_version = $2 WHERE id = $1 AND closed_at IS NULL",
    )
    .bind(Id::from(user))
    .bind(version)
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

/// The record of one acceptance: who, which version, when and from where (P38).
pub(super) async fn insert_acceptance(
    conn: &mut Conn,
    user: UserId,
    version: &str,
    at: DateTime<Utc>,
    ip: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO policy_acceptances (id, user_id, version, accepted_at, ip) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(Id(Uuid::new_v4()))
    .bind(Id::from(user))
    .bind(version)
    .bind(Ts(at))
    .bind(ip)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn select_accepted_at(
    conn: &mut Conn,
    user: UserId,
    version: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar::<Db, Ts>(
        "SELECT accepted_at FROM policy_acceptances WHERE user_id = $1 AND version = $2 \
         ORDER BY accepted_at DESC LIMIT 1",
    )
    .bind(Id::from(user))
    .bind(version)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(|t| t.0))
}

async fn select_policies(conn: &mut Conn, limit: u32) -> Result<Vec<PolicyVersion>, StoreError> {
    sqlx::query::<Db>(concat!(
        policy_select!(),
        " ORDER BY published_at DESC, version DESC LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .iter()
    .map(policy_from)
    .collect()
}

async fn select_acceptances(
    conn: &mut Conn,
    user: UserId,
    limit: u32,
) -> Result<Vec<PolicyAcceptance>, StoreError> {
    sqlx::query::<Db>(
        "SELECT version, accepted_at FROM policy_acceptances WHERE user_id = $1 \
         ORDER BY accepted_at DESC, id DESC LIMIT $2",
    )
    .bind(Id::from(user))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .iter()
    .map(|row| {
        let accepted_at: Ts = row.try_get("accepted_at").map_err(db_error)?;
        Ok(PolicyAcceptance {
            version: row.try_get("version").map_err(db_error)?,
            accepted_at: accepted_at.0,
        })
    })
    .collect()
}

async fn select_open_accounts(
    conn: &mut Conn,
    after: Option<UserId>,
    limit: u32,
) -> Result<Vec<Recipient>, StoreError> {
    let rows = sqlx::query::<Db>(
        "SELECT id, email FROM users WHERE closed_at IS NULL AND ($1 IS NULL OR id > $1) \
         ORDER BY id LIMIT $2",
    )
    .bind(after.map(Id::from))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let id: Id = row.try_get("id").map_err(db_error)?;
            let email: String = row.try_get("email").map_err(db_error)?;
            Ok(Recipient {
                user: UserId::from_uuid(id.0),
                email: Email::parse(&email)
                    .map_err(|e| StoreError::Corrupt(format!("users.email: {}", e.reason())))?,
            })
        })
        .collect()
}

async fn insert_notice(conn: &mut Conn, notice: &NewNotice) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO notices (id, user_id, kind, subject_key, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, subject_key) DO NOTHING",
    )
    .bind(Id(notice.id))
    .bind(Id::from(notice.user))
    .bind(&notice.kind)
    .bind(&notice.subject_key)
    .bind(&notice.body)
    .bind(Ts(notice.created_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn select_notice_delivery(
    conn: &mut Conn,
    user: UserId,
    subject_key: &str,
) -> Result<NoticeDelivery, StoreError> {
    let row = sqlx::query::<Db>(
        "SELECT id, mailed_at FROM notices WHERE user_id = $1 AND subject_key = $2",
    )
    .bind(Id::from(user))
    .bind(subject_key)
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    let id: Id = row.try_get("id").map_err(db_error)?;
    let mailed_at: Option<Ts> = row.try_get("mailed_at").map_err(db_error)?;
    Ok(NoticeDelivery {
        id: id.0,
        mailed: mailed_at.is_some(),
    })
}

async fn set_notice_mailed(conn: &mut Conn, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
    sqlx::query::<Db>("UPDATE notices SET mailed_at = $2 WHERE id = $1 AND mailed_at IS NULL")
        .bind(Id(id))
        .bind(Ts(at))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn select_notices(
    conn: &mut Conn,
    user: UserId,
    limit: u32,
) -> Result<Vec<Notice>, StoreError> {
    let rows = sqlx::query::<Db>(
        "SELECT id, kind, body, created_at, read_at, link FROM notices WHERE user_id = $1 \
         AND in_app = $3 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(Id::from(user))
    .bind(i64::from(limit))
    .bind(true)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let id: Id = row.try_get("id").map_err(db_error)?;
            let created_at: Ts = row.try_get("created_at").map_err(db_error)?;
            let read_at: Option<Ts> = row.try_get("read_at").map_err(db_error)?;
            Ok(Notice {
                id: id.0,
                kind: row.try_get("kind").map_err(db_error)?,
                body: row.try_get("body").map_err(db_error)?,
                created_at: created_at.0,
                read_at: read_at.map(|t| t.0),
                link: row.try_get("link").map_err(db_error)?,
            })
        })
        .collect()
}

/// Marks the user's notice read (a read one keeps its time); the rows touched.
async fn set_notice_read(
    conn: &mut Conn,
    user: UserId,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE notices SET read_at = CASE WHEN read_at IS NULL THEN $3 ELSE read_at END \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(Id(id))
    .bind(Id::from(user))
    .bind(Ts(at))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

#[async_trait]
impl PolicyStore for ThisStore {
    async fn current_policy_version(&self) -> Result<Option<String>, StoreError> {
        Ok(self.current_policy().await?.map(|policy| policy.version))
    }

    async fn current_policy(&self) -> Result<Option<PolicyVersion>, StoreError> {
        select_current_policy(&mut *self.conn().await?).await
    }

    async fn policy_version(&self, version: &str) -> Result<Option<PolicyVersion>, StoreError> {
        select_policy(&mut *self.conn().await?, version).await
    }

    async fn publish_policy_version(&self, policy: &PolicyVersion) -> Result<bool, StoreError> {
        insert_policy(&mut *self.conn().await?, policy).await
    }

    async fn accept_policy(
        &self,
        user: UserId,
        version: &str,
        at: DateTime<Utc>,
        ip: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        found(set_accepted_version(&mut tx, user, version).await?)?;
        insert_acceptance(&mut tx, user, version, at, ip).await?;
        commit(tx).await
    }

    async fn policy_accepted_at(
        &self,
        user: UserId,
        version: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        select_accepted_at(&mut *self.conn().await?, user, version).await
    }

    async fn open_accounts(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<Recipient>, StoreError> {
        select_open_accounts(&mut *self.conn().await?, after, limit).await
    }

    async fn ensure_notice(&self, notice: &NewNotice) -> Result<NoticeDelivery, StoreError> {
        let mut conn = self.conn().await?;
        insert_notice(&mut conn, notice).await?;
        select_notice_delivery(&mut conn, notice.user, &notice.subject_key).await
    }

    async fn mark_notice_mailed(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        set_notice_mailed(&mut *self.conn().await?, id, at).await
    }

    async fn notices(&self, user: UserId, limit: u32) -> Result<Vec<Notice>, StoreError> {
        select_notices(&mut *self.conn().await?, user, limit).await
    }

    async fn mark_notice_read(
        &self,
        user: UserId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        found(set_notice_read(&mut *self.conn().await?, user, id, at).await?)
    }

    async fn policy_versions(&self, limit: u32) -> Result<Vec<PolicyVersion>, StoreError> {
        select_policies(&mut *self.conn().await?, limit).await
    }

    async fn policy_acceptances(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<PolicyAcceptance>, StoreError> {
        select_acceptances(&mut *self.conn().await?, user, limit).await
    }
}
