//! [`RightsStore`]: data-subject requests (P33), closing an account at once (P19, P28), the
//! export (P26, P30) and Meta's data-deletion requests (P34).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{
    DataSubjectRequest, PostId, RequestId, RequestKind, RequestStatus, ReviewMessage, StoreError,
    UserId,
};
use serde_json::{Map, Value};
use sqlx::{AssertSqlSafe, Row as _};

use super::{
    Conn, Db, ThisStore, api_key_store, auth_store, commit, connection_store, db_error,
    erasure_task_store, oauth_state_store, post_store, publish_queue,
};
use crate::store::ports::{
    Closure, ClosureOutcome, ExportKey, ExportPage, MetaDeletion, MetaDeletionStatus, RightsStore,
};
use crate::store::types::{Id, Ts};
use crate::store::user_tables::{Column, ColumnKind, UserTable};

type DbRow = <Db as sqlx::Database>::Row;

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
    let post: Option<Id> = row.try_get("post_id").map_err(db_error)?;
    let message: Option<String> = row.try_get("message").map_err(db_error)?;
    let message = message
        .as_deref()
        .map(ReviewMessage::parse)
        .transpose()
        .map_err(corrupt)?;
    DataSubjectRequest::restore(
        RequestId::from_uuid(id.0),
        UserId::from_uuid(user.0),
        RequestKind::parse(&kind).map_err(corrupt)?,
        received_at.0,
        RequestStatus::parse(&status).map_err(corrupt)?,
        completed_at.map(|t| t.0),
    )
    .and_then(|request| request.with_review_details(post.map(|p| PostId::from_uuid(p.0)), message))
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

/// Records a data-subject request.
async fn insert_request(conn: &mut Conn, request: &DataSubjectRequest) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO data_subject_requests (id, user_id, type, received_at, due_at, status, \
         completed_at, post_id, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Id::from(request.id()))
    .bind(Id::from(request.user()))
    .bind(request.kind().as_str())
    .bind(Ts(request.received_at()))
    .bind(Ts(request.due_at()))
    .bind(request.status().as_str())
    .bind(request.completed_at().map(Ts))
    .bind(request.post().map(Id::from))
    .bind(request.message().map(ReviewMessage::as_str))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Completes one of the user's received requests at `at`, never before its receipt (core's
/// invariant); the rows touched.
async fn complete_request(
    conn: &mut Conn,
    user: UserId,
    id: RequestId,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE data_subject_requests SET status = 'completed', completed_at = \
         CASE WHEN received_at > $3 THEN received_at ELSE $3 END \
         WHERE id = $1 AND user_id = $2 AND status = 'received'",
    )
    .bind(Id::from(id))
    .bind(Id::from(user))
    .bind(Ts(at))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

async fn request_exists(conn: &mut Conn, user: UserId, id: RequestId) -> Result<bool, StoreError> {
    Ok(
        sqlx::query::<Db>("SELECT 1 FROM data_subject_requests WHERE id = $1 AND user_id = $2")
            .bind(Id::from(id))
            .bind(Id::from(user))
            .fetch_optional(conn)
            .await
            .map_err(db_error)?
            .is_some(),
    )
}

async fn select_requests(
    conn: &mut Conn,
    user: UserId,
) -> Result<Vec<DataSubjectRequest>, StoreError> {
    sqlx::query::<Db>(
        "SELECT id, user_id, type, received_at, status, completed_at, post_id, message \
         FROM data_subject_requests WHERE user_id = $1 ORDER BY received_at DESC, id DESC",
    )
    .bind(Id::from(user))
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .iter()
    .map(request_from)
    .collect()
}

/// Closes an open account: `closed_at`, `purge_after`, and a new token epoch (every access
/// token dies); whether it was open.
async fn close_user(conn: &mut Conn, closure: &Closure) -> Result<bool, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE users SET closed_at = $2, purge_after = $3, token_epoch = token_epoch + 1 \
         WHERE id = $1 AND closed_at IS NULL",
    )
    .bind(Id::from(closure.user))
    .bind(Ts(closure.at))
    .bind(Ts(closure.purge_after))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected()
        > 0)
}

/// The purge deadline of a closed account.
async fn select_purge_after(conn: &mut Conn, user: UserId) -> Result<DateTime<Utc>, StoreError> {
    sqlx::query_scalar::<Db, Option<Ts>>("SELECT purge_after FROM users WHERE id = $1")
        .bind(Id::from(user))
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .flatten()
        .map(|t| t.0)
        .ok_or(StoreError::NotFound)
}

/// One page of the user's rows of `table`, after `after`.
async fn select_export_page(
    conn: &mut Conn,
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
        .fetch_all(conn)
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

async fn insert_meta_deletion(conn: &mut Conn, request: &MetaDeletion) -> Result<(), StoreError> {
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
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn select_meta_deletion(
    conn: &mut Conn,
    code: &str,
) -> Result<Option<MetaDeletion>, StoreError> {
    sqlx::query::<Db>(
        "SELECT confirmation_code, app_user_hash, user_id, status, created_at, completed_at \
         FROM meta_deletion_requests WHERE confirmation_code = $1",
    )
    .bind(code)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(meta_deletion_from)
    .transpose()
}

/// Completes the Meta requests of this Meta user once no closed account made by them is left.
pub(super) async fn complete_meta_deletions(
    conn: &mut Conn,
    meta_user_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "UPDATE meta_deletion_requests SET status = 'completed', completed_at = $2 \
         WHERE app_user_hash = $1 AND status = 'received' AND NOT EXISTS \
         (SELECT 1 FROM instagram_connections c JOIN users u ON u.id = c.owner_id \
          WHERE c.meta_user_hash = $1 AND u.closed_at IS NOT NULL)",
    )
    .bind(meta_user_hash)
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl RightsStore for ThisStore {
    async fn record_request(&self, request: &DataSubjectRequest) -> Result<(), StoreError> {
        insert_request(&mut *self.conn().await?, request).await
    }

    async fn complete_request(
        &self,
        user: UserId,
        id: RequestId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        // A completed request keeps its first completion time.
        if complete_request(&mut conn, user, id, at).await? > 0
            || request_exists(&mut conn, user, id).await?
        {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn requests(&self, user: UserId) -> Result<Vec<DataSubjectRequest>, StoreError> {
        select_requests(&mut *self.conn().await?, user).await
    }

    async fn open_requests(
        &self,
        due_before: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<DataSubjectRequest>, StoreError> {
        // Without a bound, every open request is due before the year 10000 (a four-digit
        // year keeps SQLite's text comparison of times right).
        let bound = due_before.unwrap_or_else(|| {
            DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
        });
        sqlx::query::<Db>(
            "SELECT id, user_id, type, received_at, status, completed_at, post_id, \
             message FROM data_subject_requests WHERE status = 'received' AND due_at < $1 \
             ORDER BY due_at, id LIMIT $2",
        )
        .bind(Ts(bound))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?
        .iter()
        .map(request_from)
        .collect()
    }

    async fn close_account(&self, closure: &Closure) -> Result<ClosureOutcome, StoreError> {
        let (user, now) = (closure.user, closure.at);
        let mut tx = self.begin_write().await?;
        if !close_user(&mut tx, closure).await? {
            return Ok(ClosureOutcome::AlreadyClosed {
                purge_after: select_purge_after(&mut tx, user).await?,
            });
        }
        let sessions_revoked = auth_store::revoke_sessions(&mut tx, user, None, now).await?;
        auth_store::void_reset_tokens(&mut tx, user, now).await?;
        api_key_store::delete_api_keys(&mut tx, user).await?;
        oauth_state_store::spend_user_states(&mut tx, user, now).await?;
        let tokens_removed = connection_store::remove_owner_tokens(&mut tx, user).await?;
        let jobs_removed = publish_queue::delete_owner_jobs(&mut tx, user).await?;
        let posts_withdrawn = post_store::withdraw_owner_posts(&mut tx, user, now).await?;
        insert_request(&mut tx, &closure.request).await?;
        // Billing stops with the closure (P19): the stop is on record before the closure
        // commits, and is retried until Stripe confirms it.
        erasure_task_store::insert_billing_stop(&mut tx, user, closure.request.id(), now).await?;
        commit(tx).await?;
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
        select_export_page(&mut *self.conn().await?, table, user, after, limit).await
    }

    async fn insert_meta_deletion(&self, request: &MetaDeletion) -> Result<(), StoreError> {
        insert_meta_deletion(&mut *self.conn().await?, request).await
    }

    async fn meta_deletion(&self, code: &str) -> Result<Option<MetaDeletion>, StoreError> {
        select_meta_deletion(&mut *self.conn().await?, code).await
    }
}
