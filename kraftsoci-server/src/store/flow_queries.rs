//! The queries of the Instagram connection flow, the post flow and the sandbox publisher.
//!
//! Compiled twice like `queries.rs` (inside `postgres.rs` and `sqlite.rs`), so the SQL runs
//! unchanged on both engines: `$n` placeholders, `ON CONFLICT`, `RETURNING`, and every
//! timestamp bound from the caller's clock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{Connection, ConnectionStatus, MediaKey};
use kraftsoci_core::{
    ConnectionId, IgUserId, PostId, PostSnapshot, PostStatus, StoreError, UserId,
};

use super::queries::link_consent;
use super::{Db, ThisStore, db_error};
use crate::store::instagram::{InstagramStore, NewOAuthState};
use crate::store::posts_flow::{
    JOB_RUNNING, JobRequest, JobView, PostFlowStore, PostMedia, PostUpdate, Queued,
    SandboxContainer, SandboxStatus, SandboxStore, StoredImage,
};
use crate::store::rows::{ConnectionRow, PostRow, connection_status_str};
use crate::store::types::{Id, Ts};

type Conn = <Db as sqlx::Database>::Connection;

macro_rules! connection_columns {
    () => {
        "id, owner_id, ig_user_id, page_name, status, token_expires_at, created_at"
    };
}

/// The same columns as `queries.rs`'s `post_select!`, so rows read into [`PostRow`].
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

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn job_running() -> StoreError {
    StoreError::Conflict {
        constraint: JOB_RUNNING.to_owned(),
    }
}

/// A non-negative number for an `INTEGER` column (32-bit on PostgreSQL).
fn small(value: u32) -> Result<i32, StoreError> {
    i32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{value} does not fit an integer column")))
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Saves a post inside a transaction if it is still at its expected `updated_at`, and points
/// it at its consent receipt (recording the receipt when new).
async fn update_post(conn: &mut Conn, update: &PostUpdate) -> Result<(), StoreError> {
    let post = &update.post;
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
    .bind(Ts(update.expected_updated_at))
    .bind(post.content.caption.as_str())
    .bind(json(&post.content.hashtags)?)
    .bind(post.content.alt_text.as_ref().map(|a| a.as_str()))
    .bind(post.content.media_kind.as_str())
    .bind(json(&post.content.media)?)
    .bind(post.content.target.as_ref().map(|t| t.as_str()))
    .bind(post.status.as_str())
    .bind(Ts(post.updated_at))
    .bind(post.published_at.map(Ts))
    .bind(post.instagram_media_id.as_deref())
    .bind(post.permalink.as_deref())
    .bind(failure.map(|f| f.code.as_str()))
    .bind(failure.map(|f| f.message.as_str()))
    .bind(failure.map(|f| f.retryable))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    if result.rows_affected() == 0 {
        let exists = sqlx::query::<Db>("SELECT 1 FROM posts WHERE id = $1 AND owner_id = $2")
            .bind(Id::from(post.id))
            .bind(Id::from(post.owner))
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?
            .is_some();
        return Err(if exists {
            StoreError::Stale
        } else {
            StoreError::NotFound
        });
    }
    link_consent(conn, post).await
}

/// Drops a post's publish job unless a worker holds it with a live lease.
async fn drop_job(conn: &mut Conn, post: PostId, now: DateTime<Utc>) -> Result<(), StoreError> {
    let held = sqlx::query_scalar::<Db, i64>(
        "SELECT COUNT(*) FROM publish_jobs WHERE post_id = $1 AND state = 'running' \
         AND lease_until IS NOT NULL AND lease_until > $2",
    )
    .bind(Id::from(post))
    .bind(Ts(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    if held > 0 {
        return Err(job_running());
    }
    sqlx::query::<Db>("DELETE FROM publish_jobs WHERE post_id = $1")
        .bind(Id::from(post))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Inserts the post's job, or re-queues/reschedules the existing one unless a worker holds it.
async fn queue_job(
    conn: &mut Conn,
    owner: UserId,
    post: PostId,
    job: &JobRequest,
    reschedule: bool,
) -> Result<Queued, StoreError> {
    let inserted = sqlx::query::<Db>(
        "INSERT INTO publish_jobs (id, post_id, owner_id, connection_id, run_after, attempts, \
         state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 'queued', $6, $6) \
         ON CONFLICT (post_id) DO NOTHING",
    )
    .bind(Id(uuid::Uuid::new_v4()))
    .bind(Id::from(post))
    .bind(Id::from(owner))
    .bind(Id::from(job.connection))
    .bind(Ts(job.run_after))
    .bind(Ts(job.at))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    if inserted.rows_affected() > 0 {
        return Ok(Queued::Created);
    }
    let (state, run_after, connection) = sqlx::query_as::<Db, (String, Ts, Option<Id>)>(
        "SELECT state, run_after, connection_id FROM publish_jobs WHERE post_id = $1",
    )
    .bind(Id::from(post))
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    let same = run_after.0 == job.run_after && connection == Some(Id::from(job.connection));
    match state.as_str() {
        "running" if reschedule && !same => return Err(job_running()),
        "running" => return Ok(Queued::Unchanged),
        "queued" if same || !reschedule => return Ok(Queued::Unchanged),
        _ => {}
    }
    sqlx::query::<Db>(
        "UPDATE publish_jobs SET state = 'queued', run_after = $2, connection_id = $3, \
         attempts = 0, locked_by = NULL, lease_until = NULL, last_error = NULL, updated_at = $4 \
         WHERE post_id = $1 AND state <> 'running'",
    )
    .bind(Id::from(post))
    .bind(Ts(job.run_after))
    .bind(Id::from(job.connection))
    .bind(Ts(job.at))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(Queued::Updated)
}

#[derive(sqlx::FromRow)]
struct MediaRow {
    id: Id,
    topic: Option<String>,
    image_key: Option<String>,
    image_width: Option<i32>,
    image_height: Option<i32>,
    sandbox: bool,
}

impl TryFrom<MediaRow> for (PostId, PostMedia) {
    type Error = StoreError;

    fn try_from(row: MediaRow) -> Result<Self, StoreError> {
        let image = match (row.image_key, row.image_width, row.image_height) {
            (Some(key), Some(width), Some(height)) => Some(StoredImage {
                key: MediaKey::parse(&key)
                    .map_err(|e| StoreError::Corrupt(format!("posts.image_key: {}", e.reason())))?,
                width: u32::try_from(width)
                    .map_err(|_| StoreError::Corrupt("posts.image_width".to_owned()))?,
                height: u32::try_from(height)
                    .map_err(|_| StoreError::Corrupt("posts.image_height".to_owned()))?,
            }),
            _ => None,
        };
        Ok((
            PostId::from_uuid(row.id.0),
            PostMedia {
                topic: row.topic,
                image,
                sandbox: row.sandbox,
            },
        ))
    }
}

#[async_trait]
impl PostFlowStore for ThisStore {
    async fn insert_generated_post(
        &self,
        post: &PostSnapshot,
        media: &PostMedia,
    ) -> Result<(), StoreError> {
        if post.consent.is_some() || post.status != PostStatus::Ready {
            return Err(StoreError::Corrupt(
                "a generated post starts ready, without consent".to_owned(),
            ));
        }
        let image = media.image.as_ref();
        sqlx::query::<Db>(
            "INSERT INTO posts (id, owner_id, topic, caption, hashtags, alt_text, media_kind, \
             media_digests, image_key, image_width, image_height, target_ig_user_id, status, \
             sandbox, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(Id::from(post.id))
        .bind(Id::from(post.owner))
        .bind(media.topic.as_deref())
        .bind(post.content.caption.as_str())
        .bind(json(&post.content.hashtags)?)
        .bind(post.content.alt_text.as_ref().map(|a| a.as_str()))
        .bind(post.content.media_kind.as_str())
        .bind(json(&post.content.media)?)
        .bind(image.map(|i| i.key.as_str()))
        .bind(image.map(|i| small(i.width)).transpose()?)
        .bind(image.map(|i| small(i.height)).transpose()?)
        .bind(post.content.target.as_ref().map(|t| t.as_str()))
        .bind(post.status.as_str())
        .bind(media.sandbox)
        .bind(Ts(post.created_at))
        .bind(Ts(post.updated_at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn post_media(
        &self,
        owner: UserId,
        ids: &[PostId],
    ) -> Result<Vec<(PostId, PostMedia)>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        // One indexed lookup per post: pages hold at most 100, and the same SQL then runs on
        // both engines (no array binds).
        for id in ids {
            let row = sqlx::query_as::<Db, MediaRow>(
                "SELECT id, topic, image_key, image_width, image_height, sandbox FROM posts \
                 WHERE owner_id = $1 AND id = $2",
            )
            .bind(Id::from(owner))
            .bind(Id::from(*id))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
            if let Some(row) = row {
                out.push(row.try_into()?);
            }
        }
        Ok(out)
    }

    async fn publish_job(
        &self,
        owner: UserId,
        post: PostId,
    ) -> Result<Option<JobView>, StoreError> {
        let row = sqlx::query_as::<Db, (String, Ts, i32)>(
            "SELECT state, run_after, attempts FROM publish_jobs \
             WHERE owner_id = $1 AND post_id = $2",
        )
        .bind(Id::from(owner))
        .bind(Id::from(post))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(row.map(|(state, run_after, attempts)| JobView {
            state,
            run_after: run_after.0,
            attempts: u32::try_from(attempts).unwrap_or(0),
        }))
    }

    async fn approve_and_queue(
        &self,
        update: &PostUpdate,
        job: &JobRequest,
    ) -> Result<Queued, StoreError> {
        if update.post.status != PostStatus::Approved || update.post.consent.is_none() {
            return Err(StoreError::Corrupt(
                "only an approved post with its consent is queued".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        update_post(&mut tx, update).await?;
        let queued = queue_job(&mut tx, update.post.owner, update.post.id, job, true).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(queued)
    }

    async fn ensure_queued(
        &self,
        owner: UserId,
        post: PostId,
        job: &JobRequest,
    ) -> Result<Queued, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let approved = sqlx::query_scalar::<Db, String>(
            "SELECT status FROM posts WHERE owner_id = $1 AND id = $2",
        )
        .bind(Id::from(owner))
        .bind(Id::from(post))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?;
        if approved != PostStatus::Approved.as_str() {
            // Publishing started (or finished) meanwhile: the job is the worker's now.
            return Ok(Queued::Unchanged);
        }
        let queued = queue_job(&mut tx, owner, post, job, false).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(queued)
    }

    async fn save_and_unqueue(
        &self,
        update: &PostUpdate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        update_post(&mut tx, update).await?;
        drop_job(&mut tx, update.post.id, now).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn delete_post_checked(
        &self,
        owner: UserId,
        post: PostId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let status = sqlx::query_scalar::<Db, String>(
            "SELECT status FROM posts WHERE owner_id = $1 AND id = $2",
        )
        .bind(Id::from(owner))
        .bind(Id::from(post))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?;
        if status == PostStatus::Publishing.as_str() {
            return Err(job_running());
        }
        drop_job(&mut tx, post, now).await?;
        let deleted = sqlx::query::<Db>(
            "DELETE FROM posts WHERE owner_id = $1 AND id = $2 AND status <> 'publishing'",
        )
        .bind(Id::from(owner))
        .bind(Id::from(post))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        if deleted.rows_affected() == 0 {
            return Err(job_running());
        }
        tx.commit().await.map_err(db_error)
    }

    async fn posts_awaiting_reconnect(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Vec<PostSnapshot>, StoreError> {
        sqlx::query_as::<Db, PostRow>(concat!(
            post_select!(),
            " WHERE p.owner_id = $1 AND p.target_ig_user_id = $2 AND p.status = 'needs_reconnect' \
             ORDER BY p.created_at, p.id"
        ))
        .bind(Id::from(owner))
        .bind(ig_user_id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(PostSnapshot::try_from)
        .collect()
    }

    async fn posts_queued_for(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Vec<PostSnapshot>, StoreError> {
        sqlx::query_as::<Db, PostRow>(concat!(
            post_select!(),
            " WHERE p.owner_id = $1 AND p.target_ig_user_id = $2 \
             AND p.status IN ('approved', 'needs_reconnect') ORDER BY p.created_at, p.id"
        ))
        .bind(Id::from(owner))
        .bind(ig_user_id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(PostSnapshot::try_from)
        .collect()
    }

    async fn publishing_load(
        &self,
        ig_user_id: &IgUserId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        excluding: PostId,
    ) -> Result<u32, StoreError> {
        let load = sqlx::query_scalar::<Db, i64>(
            "SELECT COUNT(*) FROM posts p LEFT JOIN publish_jobs j ON j.post_id = p.id \
             WHERE p.target_ig_user_id = $1 AND p.id <> $4 AND ( \
               (p.status = 'published' AND p.published_at >= $2 AND p.published_at < $3) \
               OR p.status = 'publishing' \
               OR (p.status = 'approved' AND j.run_after >= $2 AND j.run_after < $3))",
        )
        .bind(ig_user_id.as_str())
        .bind(Ts(since))
        .bind(Ts(until))
        .bind(Id::from(excluding))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(count(load))
    }
}

#[async_trait]
impl InstagramStore for ThisStore {
    async fn insert_oauth_state(&self, state: &NewOAuthState) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO oauth_states (state_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&state.state_hash)
        .bind(Id::from(state.user))
        .bind(Ts(state.created_at))
        .bind(Ts(state.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn consume_oauth_state(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let user = sqlx::query_scalar::<Db, Id>(
            "UPDATE oauth_states SET used_at = $2 \
             WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
        )
        .bind(state_hash)
        .bind(Ts(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(user.map(|id| UserId::from_uuid(id.0)))
    }

    async fn connection_by_ig_user(
        &self,
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
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(Connection::try_from)
        .transpose()
    }

    async fn save_connection(
        &self,
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
        .bind(connection_status_str(connection.status))
        .bind(sealed_token)
        .bind(small(key_version)?)
        .bind(connection.token_expires_at.map(Ts))
        .bind(Ts(connection.created_at))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?
        .try_into()
    }

    async fn mark_needs_reconnect(
        &self,
        owner: UserId,
        connection: ConnectionId,
    ) -> Result<(), StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE instagram_connections SET status = $3 WHERE owner_id = $1 AND id = $2",
        )
        .bind(Id::from(owner))
        .bind(Id::from(connection))
        .bind(connection_status_str(ConnectionStatus::NeedsReconnect))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn disconnect(
        &self,
        owner: UserId,
        connection: ConnectionId,
        withdrawn: &[PostUpdate],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        for update in withdrawn {
            if update.post.owner != owner {
                return Err(StoreError::NotFound);
            }
            update_post(&mut tx, update).await?;
            drop_job(&mut tx, update.post.id, now).await?;
        }
        let deleted =
            sqlx::query::<Db>("DELETE FROM instagram_connections WHERE owner_id = $1 AND id = $2")
                .bind(Id::from(owner))
                .bind(Id::from(connection))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(db_error)
    }
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

macro_rules! sandbox_select {
    () => {
        "SELECT id, ig_user_id, kind, caption, alt_text, item_count, status, media_id, permalink, \
         created_at, published_at FROM sandbox_containers"
    };
}

#[async_trait]
impl SandboxStore for ThisStore {
    async fn insert_sandbox_container(
        &self,
        container: &SandboxContainer,
    ) -> Result<(), StoreError> {
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
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn sandbox_container(
        &self,
        ig_user_id: &IgUserId,
        id: &str,
    ) -> Result<Option<SandboxContainer>, StoreError> {
        sqlx::query_as::<Db, SandboxRow>(concat!(
            sandbox_select!(),
            " WHERE ig_user_id = $1 AND id = $2"
        ))
        .bind(ig_user_id.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(SandboxContainer::try_from)
        .transpose()
    }

    async fn advance_sandbox_container(
        &self,
        id: &str,
        from: SandboxStatus,
        to: SandboxStatus,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE sandbox_containers SET status = $3 WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn publish_sandbox_container(
        &self,
        id: &str,
        media_id: &str,
        permalink: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE sandbox_containers SET status = 'published', media_id = $2, permalink = $3, \
             published_at = $4 WHERE id = $1 AND status = 'finished'",
        )
        .bind(id)
        .bind(media_id)
        .bind(permalink)
        .bind(Ts(at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() > 0)
    }

    async fn sandbox_published_since(
        &self,
        ig_user_id: &IgUserId,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let published = sqlx::query_scalar::<Db, i64>(
            "SELECT COUNT(*) FROM sandbox_containers \
             WHERE ig_user_id = $1 AND status = 'published' AND published_at >= $2",
        )
        .bind(ig_user_id.as_str())
        .bind(Ts(since))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(count(published))
    }

    async fn sandbox_publication(
        &self,
        media_id: &str,
    ) -> Result<Option<SandboxContainer>, StoreError> {
        sqlx::query_as::<Db, SandboxRow>(concat!(
            sandbox_select!(),
            " WHERE media_id = $1 AND status = 'published'"
        ))
        .bind(media_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(SandboxContainer::try_from)
        .transpose()
    }
}
