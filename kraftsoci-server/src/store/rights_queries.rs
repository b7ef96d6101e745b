//! The queries of the data-subject rights, Meta's callbacks and the privacy-policy versions.
//!
//! Compiled twice like `queries.rs` (inside `postgres.rs` and `sqlite.rs`), so the SQL runs
//! unchanged on both engines: `$n` placeholders, `ON CONFLICT`, `RETURNING`, and every
//! timestamp bound from the caller's clock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{
    ConnectionId, DataSubjectRequest, Email, IgUserId, RequestId, RequestKind, RequestStatus,
    StoreError, UserId,
};
use serde_json::{Map, Value};
use sqlx::{AssertSqlSafe, Row as _};
use uuid::Uuid;

use super::{Db, ThisStore, db_error};
use crate::store::key_rotation::{SealedToken, SealedTokenStore};
use crate::store::policy::{
    NewNotice, Notice, NoticeDelivery, PolicyStore, PolicyVersion, Recipient,
};
use crate::store::rights::{
    Closure, ClosureOutcome, ExportKey, ExportPage, MetaDeletion, MetaDeletionStatus, RightsStore,
};
use crate::store::types::{Id, Ts};
use crate::store::user_tables::{Column, ColumnKind, UserTable};

type DbRow = <Db as sqlx::Database>::Row;
type Conn = <Db as sqlx::Database>::Connection;

/// Runs `sql` with the user as `$1` (and `at` as `$2`, when given); returns the rows affected.
async fn run(
    conn: &mut Conn,
    sql: &'static str,
    user: Id,
    at: Option<Ts>,
) -> Result<u64, StoreError> {
    let mut query = sqlx::query::<Db>(sql).bind(user);
    if let Some(at) = at {
        query = query.bind(at);
    }
    Ok(query.execute(conn).await.map_err(db_error)?.rows_affected())
}

fn found(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn request_from(row: &DbRow) -> Result<DataSubjectRequest, StoreError> {
    let corrupt = |e: kraftsoci_core::ParseError| {
        StoreError::Corrupt(format!(
            "data_subject_requests.{}: {}",
            e.field(),
            e.reason()
        ))
    };
    let id: Id = row.try_get("id").map_err(db_error)?;
    let user: Id = row.try_get("user_id").map_err(db_error)?;
    let kind: String = row.try_get("type").map_err(db_error)?;
    let status: String = row.try_get("status").map_err(db_error)?;
    let received_at: Ts = row.try_get("received_at").map_err(db_error)?;
    let completed_at: Option<Ts> = row.try_get("completed_at").map_err(db_error)?;
    DataSubjectRequest::restore(
        RequestId::from_uuid(id.0),
        UserId::from_uuid(user.0),
        RequestKind::parse(&kind).map_err(corrupt)?,
        received_at.0,
        RequestStatus::parse(&status).map_err(corrupt)?,
        completed_at.map(|t| t.0),
    )
    .map_err(corrupt)
}

/// Reads column `index` of an export row as the JSON value of its kind.
fn export_value(row: &DbRow, index: usize, column: &Column) -> Result<Value, StoreError> {
    let value = match column.kind {
        ColumnKind::Id => row
            .try_get::<Option<Id>, _>(index)
            .map_err(db_error)?
            .map(|id| Value::String(id.0.to_string())),
        ColumnKind::Text => row
            .try_get::<Option<String>, _>(index)
            .map_err(db_error)?
            .map(Value::String),
        ColumnKind::Time => row
            .try_get::<Option<Ts>, _>(index)
            .map_err(db_error)?
            .map(|t| serde_json::to_value(t.0).unwrap_or(Value::Null)),
        ColumnKind::Integer => row
            .try_get::<Option<i64>, _>(index)
            .map_err(db_error)?
            .map(Value::from),
        ColumnKind::Boolean => row
            .try_get::<Option<bool>, _>(index)
            .map_err(db_error)?
            .map(Value::Bool),
        // Stored JSON is shown as JSON; text that does not parse is shown as it is rather
        // than hidden.
        ColumnKind::Json => row
            .try_get::<Option<String>, _>(index)
            .map_err(db_error)?
            .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text))),
    };
    Ok(value.unwrap_or(Value::Null))
}

fn export_key(row: &DbRow, key: &Column) -> Result<ExportKey, StoreError> {
    Ok(match key.kind {
        ColumnKind::Id => ExportKey::Id(row.try_get::<Id, _>(0).map_err(db_error)?.0),
        ColumnKind::Integer => ExportKey::Integer(row.try_get::<i64, _>(0).map_err(db_error)?),
        ColumnKind::Text => ExportKey::Text(row.try_get::<String, _>(0).map_err(db_error)?),
        ColumnKind::Time | ColumnKind::Boolean | ColumnKind::Json => {
            return Err(StoreError::Corrupt(format!(
                "{}: a {:?} column cannot page the export",
                key.name, key.kind
            )));
        }
    })
}

fn meta_deletion_from(row: &DbRow) -> Result<MetaDeletion, StoreError> {
    let user: Option<Id> = row.try_get("user_id").map_err(db_error)?;
    let status: String = row.try_get("status").map_err(db_error)?;
    let created_at: Ts = row.try_get("created_at").map_err(db_error)?;
    let completed_at: Option<Ts> = row.try_get("completed_at").map_err(db_error)?;
    Ok(MetaDeletion {
        confirmation_code: row.try_get("confirmation_code").map_err(db_error)?,
        app_user_hash: row.try_get("app_user_hash").map_err(db_error)?,
        user: user.map(|id| UserId::from_uuid(id.0)),
        status: MetaDeletionStatus::parse(&status)?,
        created_at: created_at.0,
        completed_at: completed_at.map(|t| t.0),
    })
}

#[async_trait]
impl RightsStore for ThisStore {
    async fn record_request(&self, request: &DataSubjectRequest) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO data_subject_requests (id, user_id, type, received_at, due_at, status, \
             completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Id::from(request.id()))
        .bind(Id::from(request.user()))
        .bind(request.kind().as_str())
        .bind(Ts(request.received_at()))
        .bind(Ts(request.due_at()))
        .bind(request.status().as_str())
        .bind(request.completed_at().map(Ts))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn complete_request(
        &self,
        user: UserId,
        id: RequestId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // A completion time never precedes the receipt (core's invariant), and a completed
        // request keeps its first completion time.
        let result = sqlx::query::<Db>(
            "UPDATE data_subject_requests SET status = 'completed', completed_at = \
             CASE WHEN received_at > $3 THEN received_at ELSE $3 END \
             WHERE id = $1 AND user_id = $2 AND status = 'received'",
        )
        .bind(Id::from(id))
        .bind(Id::from(user))
        .bind(Ts(at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        if result.rows_affected() > 0 {
            return Ok(());
        }
        let exists =
            sqlx::query::<Db>("SELECT 1 FROM data_subject_requests WHERE id = $1 AND user_id = $2")
                .bind(Id::from(id))
                .bind(Id::from(user))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        if exists.is_some() {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn requests(&self, user: UserId) -> Result<Vec<DataSubjectRequest>, StoreError> {
        sqlx::query::<Db>(
            "SELECT id, user_id, type, received_at, status, completed_at \
             FROM data_subject_requests WHERE user_id = $1 ORDER BY received_at DESC, id DESC",
        )
        .bind(Id::from(user))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .iter()
        .map(request_from)
        .collect()
    }

    async fn close_account(&self, closure: &Closure) -> Result<ClosureOutcome, StoreError> {
        let user = Id::from(closure.user);
        let now = Ts(closure.at);
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let closed = sqlx::query::<Db>(
            "UPDATE users SET closed_at = $2, purge_after = $3, token_epoch = token_epoch + 1 \
             WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(user)
        .bind(now)
        .bind(Ts(closure.purge_after))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if closed.rows_affected() == 0 {
            let purge_after =
                sqlx::query_scalar::<Db, Option<Ts>>("SELECT purge_after FROM users WHERE id = $1")
                    .bind(user)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .flatten()
                    .ok_or(StoreError::NotFound)?;
            return Ok(ClosureOutcome::AlreadyClosed {
                purge_after: purge_after.0,
            });
        }
        let sessions_revoked = run(
            &mut tx,
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            user,
            Some(now),
        )
        .await?;
        run(
            &mut tx,
            "UPDATE password_reset_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
            user,
            Some(now),
        )
        .await?;
        run(
            &mut tx,
            "UPDATE oauth_states SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
            user,
            Some(now),
        )
        .await?;
        let tokens_removed = run(
            &mut tx,
            "UPDATE instagram_connections SET sealed_token = NULL, token_key_version = NULL, \
             status = 'needs_reconnect' WHERE owner_id = $1 AND sealed_token IS NOT NULL",
            user,
            None,
        )
        .await?;
        let jobs_removed = run(
            &mut tx,
            "DELETE FROM publish_jobs WHERE owner_id = $1",
            user,
            None,
        )
        .await?;
        // As core's `Post::withdraw`: the consent is void (its receipt stays in history).
        let posts_withdrawn = run(
            &mut tx,
            "UPDATE posts SET status = 'withdrawn', consent_id = NULL, updated_at = $2 \
             WHERE owner_id = $1 AND status IN ('approved', 'needs_reconnect')",
            user,
            Some(now),
        )
        .await?;
        let request = &closure.request;
        sqlx::query::<Db>(
            "INSERT INTO data_subject_requests (id, user_id, type, received_at, due_at, status, \
             completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Id::from(request.id()))
        .bind(Id::from(request.user()))
        .bind(request.kind().as_str())
        .bind(Ts(request.received_at()))
        .bind(Ts(request.due_at()))
        .bind(request.status().as_str())
        .bind(request.completed_at().map(Ts))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(ClosureOutcome::Closed {
            purge_after: closure.purge_after,
            sessions_revoked,
            tokens_removed,
            posts_withdrawn,
            jobs_removed,
        })
    }

    async fn export_page(
        &self,
        table: &UserTable,
        user: UserId,
        after: Option<&ExportKey>,
        limit: u32,
    ) -> Result<ExportPage, StoreError> {
        // The SQL is assembled from the static table list only, never from input.
        let sql = table.page_sql(after.is_some());
        let mut query = sqlx::query::<Db>(AssertSqlSafe(sql)).bind(Id::from(user));
        query = match after {
            None => query,
            Some(ExportKey::Id(id)) => query.bind(Id(*id)),
            Some(ExportKey::Text(text)) => query.bind(text.clone()),
            Some(ExportKey::Integer(n)) => query.bind(*n),
        };
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let mut page = ExportPage::default();
        for row in &rows {
            let mut fields = Map::new();
            for (offset, column) in table.columns.iter().enumerate() {
                fields.insert(
                    column.name.to_owned(),
                    export_value(row, offset + 1, column)?,
                );
            }
            page.rows.push(fields);
        }
        if rows.len() >= limit as usize
            && let Some(last) = rows.last()
        {
            page.next = Some(export_key(last, &table.key)?);
        }
        Ok(page)
    }

    async fn set_meta_user_hash(
        &self,
        owner: UserId,
        connection: ConnectionId,
        meta_user_hash: &str,
    ) -> Result<(), StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE instagram_connections SET meta_user_hash = $3 WHERE owner_id = $1 AND id = $2",
        )
        .bind(Id::from(owner))
        .bind(Id::from(connection))
        .bind(meta_user_hash)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        found(result.rows_affected())
    }

    async fn accounts_of_meta_user(&self, meta_user_hash: &str) -> Result<Vec<UserId>, StoreError> {
        Ok(sqlx::query_scalar::<Db, Id>(
            "SELECT DISTINCT owner_id FROM instagram_connections WHERE meta_user_hash = $1 \
             ORDER BY owner_id",
        )
        .bind(meta_user_hash)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|id| UserId::from_uuid(id.0))
        .collect())
    }

    async fn remove_meta_user_tokens(&self, meta_user_hash: &str) -> Result<u64, StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE instagram_connections SET sealed_token = NULL, token_key_version = NULL, \
             status = 'needs_reconnect' WHERE meta_user_hash = $1 AND sealed_token IS NOT NULL",
        )
        .bind(meta_user_hash)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected())
    }

    async fn insert_meta_deletion(&self, request: &MetaDeletion) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO meta_deletion_requests (confirmation_code, app_user_hash, user_id, \
             status, created_at, completed_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&request.confirmation_code)
        .bind(&request.app_user_hash)
        .bind(request.user.map(Id::from))
        .bind(request.status.as_str())
        .bind(Ts(request.created_at))
        .bind(request.completed_at.map(Ts))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn meta_deletion(&self, code: &str) -> Result<Option<MetaDeletion>, StoreError> {
        sqlx::query::<Db>(
            "SELECT confirmation_code, app_user_hash, user_id, status, created_at, completed_at \
             FROM meta_deletion_requests WHERE confirmation_code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(meta_deletion_from)
        .transpose()
    }
}

fn policy_from(row: &DbRow) -> Result<PolicyVersion, StoreError> {
    let published_at: Ts = row.try_get("published_at").map_err(db_error)?;
    Ok(PolicyVersion {
        version: row.try_get("version").map_err(db_error)?,
        published_at: published_at.0,
        summary: row.try_get("summary").map_err(db_error)?,
    })
}

#[async_trait]
impl PolicyStore for ThisStore {
    async fn current_policy_version(&self) -> Result<Option<String>, StoreError> {
        Ok(self.current_policy().await?.map(|policy| policy.version))
    }

    async fn current_policy(&self) -> Result<Option<PolicyVersion>, StoreError> {
        sqlx::query::<Db>(
            "SELECT version, published_at, summary FROM policy_versions \
             ORDER BY published_at DESC, version DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(policy_from)
        .transpose()
    }

    async fn policy_version(&self, version: &str) -> Result<Option<PolicyVersion>, StoreError> {
        sqlx::query::<Db>(
            "SELECT version, published_at, summary FROM policy_versions WHERE version = $1",
        )
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(policy_from)
        .transpose()
    }

    async fn publish_policy_version(&self, policy: &PolicyVersion) -> Result<bool, StoreError> {
        let result = sqlx::query::<Db>(
            "INSERT INTO policy_versions (version, published_at, summary) VALUES ($1, $2, $3) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(&policy.version)
        .bind(Ts(policy.published_at))
        .bind(&policy.summary)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn accept_policy(
        &self,
        user: UserId,
        version: &str,
        at: DateTime<Utc>,
        ip: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let updated = sqlx::query::<Db>(
            "UPDATE users SET accepted_policy_version = $2 WHERE id = $1 AND closed_at IS NULL",
        )
        .bind(Id::from(user))
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        found(updated.rows_affected())?;
        sqlx::query::<Db>(
            "INSERT INTO policy_acceptances (id, user_id, version, accepted_at, ip) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Id(Uuid::new_v4()))
        .bind(Id::from(user))
        .bind(version)
        .bind(Ts(at))
        .bind(ip)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn policy_accepted_at(
        &self,
        user: UserId,
        version: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::query_scalar::<Db, Ts>(
            "SELECT accepted_at FROM policy_acceptances WHERE user_id = $1 AND version = $2 \
             ORDER BY accepted_at DESC LIMIT 1",
        )
        .bind(Id::from(user))
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(|t| t.0))
    }

    async fn open_accounts(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<Recipient>, StoreError> {
        let rows = sqlx::query::<Db>(
            "SELECT id, email FROM users WHERE closed_at IS NULL AND ($1 IS NULL OR id > $1) \
             ORDER BY id LIMIT $2",
        )
        .bind(after.map(Id::from))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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

    async fn ensure_notice(&self, notice: &NewNotice) -> Result<NoticeDelivery, StoreError> {
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
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        let row = sqlx::query::<Db>(
            "SELECT id, mailed_at FROM notices WHERE user_id = $1 AND subject_key = $2",
        )
        .bind(Id::from(notice.user))
        .bind(&notice.subject_key)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        let id: Id = row.try_get("id").map_err(db_error)?;
        let mailed_at: Option<Ts> = row.try_get("mailed_at").map_err(db_error)?;
        Ok(NoticeDelivery {
            id: id.0,
            mailed: mailed_at.is_some(),
        })
    }

    async fn mark_notice_mailed(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query::<Db>("UPDATE notices SET mailed_at = $2 WHERE id = $1 AND mailed_at IS NULL")
            .bind(Id(id))
            .bind(Ts(at))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn notices(&self, user: UserId, limit: u32) -> Result<Vec<Notice>, StoreError> {
        let rows = sqlx::query::<Db>(
            "SELECT id, kind, body, created_at, read_at FROM notices WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(Id::from(user))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
                })
            })
            .collect()
    }

    async fn mark_notice_read(
        &self,
        user: UserId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE notices SET read_at = CASE WHEN read_at IS NULL THEN $3 ELSE read_at END \
             WHERE id = $1 AND user_id = $2",
        )
        .bind(Id(id))
        .bind(Id::from(user))
        .bind(Ts(at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        found(result.rows_affected())
    }
}

#[async_trait]
impl SealedTokenStore for ThisStore {
    async fn sealed_tokens_after(
        &self,
        after: Option<ConnectionId>,
        limit: u32,
    ) -> Result<Vec<SealedToken>, StoreError> {
        let rows = sqlx::query::<Db>(
            "SELECT id, owner_id, ig_user_id, sealed_token FROM instagram_connections \
             WHERE sealed_token IS NOT NULL AND ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
        )
        .bind(after.map(Id::from))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
                        StoreError::Corrupt(format!(
                            "instagram_connections.ig_user_id: {}",
                            e.reason()
                        ))
                    })?,
                    sealed: row.try_get("sealed_token").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn replace_sealed_token(
        &self,
        connection: ConnectionId,
        current: &[u8],
        resealed: &[u8],
        key_version: u32,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE instagram_connections SET sealed_token = $3, token_key_version = $4 \
             WHERE id = $1 AND sealed_token = $2",
        )
        .bind(Id::from(connection))
        .bind(current)
        .bind(resealed)
        .bind(i32::try_from(key_version).map_err(|_| {
            StoreError::Corrupt(format!(
                "token key version {key_version} does not fit the column"
            ))
        })?)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }
}
