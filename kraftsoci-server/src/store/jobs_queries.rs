//! The publish queue and journal queries both backends share.
//!
//! Compiled twice, like `queries.rs` (see `store/mod.rs`): inside `postgres.rs` and inside
//! `sqlite.rs`, each providing `Db`, `ThisStore` and `db_error`. The two statements whose SQL
//! differs come from [`JobsDialect`]. Every timestamp is bound from the caller's clock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{JournalEntry, PublishJournal, PublishStep};
use kraftsoci_core::{ConnectionId, PostId, StoreError, UserId};
use sqlx::Row as _;

use super::{Db, ThisStore, db_error};
use crate::store::jobs::{
    ClaimedJob, JobChange, JobId, JobLease, JobsDialect, NewPublishJob, PublishJobRecord,
    PublishQueue, Settled, Settlement, WaitReason,
};
use crate::store::posts_flow::PostUpdate;
use crate::store::types::{Id, Ts};

type Tx = sqlx::Transaction<'static, Db>;

fn count(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

async fn begin_write(store: &ThisStore) -> Result<Tx, StoreError> {
    store
        .pool
        .begin_with(<Db as JobsDialect>::BEGIN_WRITE)
        .await
        .map_err(db_error)
}

/// The fence: touches the job only if `lease` still holds it, which also locks the row until
/// the transaction ends. `false` when the lease was lost.
async fn fence(tx: &mut Tx, lease: &JobLease, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let result = sqlx::query::<Db>(
        "UPDATE publish_jobs SET updated_at = $3 WHERE id = $1 AND locked_by = $2",
    )
    .bind(Id(lease.job.0))
    .bind(lease.claim.as_str())
    .bind(Ts(now))
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(result.rows_affected() == 1)
}

/// Saves the fields a worker's lifecycle transitions change (status, outcome, failure), if the
/// post is still as it was read. Content and consent are never touched here.
async fn save_post_change(tx: &mut Tx, change: &PostUpdate) -> Result<bool, StoreError> {
    let post = &change.post;
    let failure = post.failure.as_ref();
    let result = sqlx::query::<Db>(
        "UPDATE posts SET status = $4, updated_at = $5, published_at = $6, \
         instagram_media_id = $7, permalink = $8, failure_code = $9, failure_message = $10, \
         failure_retryable = $11 WHERE id = $1 AND owner_id = $2 AND updated_at = $3",
    )
    .bind(Id::from(post.id))
    .bind(Id::from(post.owner))
    .bind(Ts(change.expected_updated_at))
    .bind(post.status.as_str())
    .bind(Ts(post.updated_at))
    .bind(post.published_at.map(Ts))
    .bind(post.instagram_media_id.as_deref())
    .bind(post.permalink.as_deref())
    .bind(failure.map(|f| f.code.as_str()))
    .bind(failure.map(|f| f.message.as_str()))
    .bind(failure.map(|f| f.retryable))
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(result.rows_affected() == 1)
}

/// When a step happened: the journal row's `updated_at` (no engine clock is used).
fn step_at(entry: &JournalEntry) -> DateTime<Utc> {
    match &entry.step {
        PublishStep::ContainerCreated { at, .. }
        | PublishStep::ContainerReady { at, .. }
        | PublishStep::PublishSent { at, .. }
        | PublishStep::Published { at, .. } => *at,
    }
}

async fn upsert_journal(
    conn: &mut <Db as sqlx::Database>::Connection,
    post: PostId,
    entry: &JournalEntry,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let at = step_at(entry);
    sqlx::query::<Db>(
        "INSERT INTO publish_journal (post_id, step, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (post_id) DO UPDATE SET step = excluded.step, updated_at = excluded.updated_at",
    )
    .bind(Id::from(post))
    .bind(json)
    .bind(Ts(at))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl PublishJournal for ThisStore {
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
        let step =
            sqlx::query_scalar::<Db, String>("SELECT step FROM publish_journal WHERE post_id = $1")
                .bind(Id::from(post))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        step.map(|json| {
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("publish_journal.step: {e}")))
        })
        .transpose()
    }

    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        upsert_journal(&mut conn, post, entry).await
    }

    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        sqlx::query::<Db>("DELETE FROM publish_journal WHERE post_id = $1")
            .bind(Id::from(post))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

#[async_trait]
impl PublishQueue for ThisStore {
    async fn enqueue_publish_job(&self, job: &NewPublishJob) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO publish_jobs (id, post_id, owner_id, connection_id, run_after, state, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6) \
             ON CONFLICT (post_id) DO UPDATE SET connection_id = excluded.connection_id, \
             run_after = excluded.run_after, state = 'queued', wait_reason = NULL, \
             transient_deferrals = 0, last_error = NULL, locked_by = NULL, lease_until = NULL, \
             updated_at = excluded.updated_at \
             WHERE publish_jobs.locked_by IS NULL OR publish_jobs.lease_until <= excluded.updated_at",
        )
        .bind(Id(uuid::Uuid::new_v4()))
        .bind(Id::from(job.post))
        .bind(Id::from(job.owner))
        .bind(job.connection.map(Id::from))
        .bind(Ts(job.run_after))
        .bind(Ts(job.created_at))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn claim_publish_job(
        &self,
        claim: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let mut tx = begin_write(self).await?;
        let row = sqlx::query::<Db>(<Db as JobsDialect>::CLAIM)
            .bind(claim)
            .bind(Ts(now))
            .bind(Ts(lease_until))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: Id = row.try_get("id").map_err(db_error)?;
        let post: Id = row.try_get("post_id").map_err(db_error)?;
        let owner: Id = row.try_get("owner_id").map_err(db_error)?;
        let connection: Option<Id> = row.try_get("connection_id").map_err(db_error)?;
        let lease_until: Ts = row.try_get("lease_until").map_err(db_error)?;
        Ok(Some(ClaimedJob {
            lease: JobLease {
                job: JobId(id.0),
                claim: claim.to_owned(),
            },
            post: PostId::from_uuid(post.0),
            owner: UserId::from_uuid(owner.0),
            connection: connection.map(|c| ConnectionId::from_uuid(c.0)),
            attempts: count(row.try_get("attempts").map_err(db_error)?),
            transient_deferrals: count(row.try_get("transient_deferrals").map_err(db_error)?),
            lease_until: lease_until.0,
        }))
    }

    async fn renew_publish_lease(
        &self,
        lease: &JobLease,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE publish_jobs SET lease_until = $3 WHERE id = $1 AND locked_by = $2",
        )
        .bind(Id(lease.job.0))
        .bind(lease.claim.as_str())
        .bind(Ts(until))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn record_publish_step(
        &self,
        lease: &JobLease,
        post: PostId,
        entry: &JournalEntry,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(self).await?;
        let now = step_at(entry);
        if !fence(&mut tx, lease, now).await? {
            return Err(StoreError::Stale);
        }
        upsert_journal(&mut tx, post, entry).await?;
        tx.commit().await.map_err(db_error)
    }

    async fn settle_publish_job(
        &self,
        lease: &JobLease,
        settlement: &Settlement,
    ) -> Result<Settled, StoreError> {
        let mut tx = begin_write(self).await?;
        if !fence(&mut tx, lease, settlement.now).await? {
            return Ok(Settled::LeaseLost);
        }
        if let Some(change) = &settlement.post
            && !save_post_change(&mut tx, change).await?
        {
            return Ok(Settled::PostChanged);
        }
        if let Some(connection) = settlement.reconnect {
            // Scoped to the job's owner: the worker never touches another tenant's row.
            sqlx::query::<Db>(
                "UPDATE instagram_connections SET status = 'needs_reconnect' WHERE id = $1 \
                 AND owner_id = (SELECT owner_id FROM publish_jobs WHERE id = $2)",
            )
            .bind(Id::from(connection))
            .bind(Id(lease.job.0))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        match &settlement.job {
            JobChange::Keep => {}
            JobChange::Done => {
                sqlx::query::<Db>("DELETE FROM publish_jobs WHERE id = $1")
                    .bind(Id(lease.job.0))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
            JobChange::Requeue {
                run_after,
                wait,
                transient,
                note,
            } => {
                sqlx::query::<Db>(
                    "UPDATE publish_jobs SET state = 'queued', locked_by = NULL, \
                     lease_until = NULL, run_after = $2, wait_reason = $3, last_error = $4, \
                     transient_deferrals = transient_deferrals + $5, updated_at = $6 \
                     WHERE id = $1",
                )
                .bind(Id(lease.job.0))
                .bind(Ts(*run_after))
                .bind(wait.map(|w| w.as_str()))
                .bind(note.as_deref())
                .bind(i32::from(*transient))
                .bind(Ts(settlement.now))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
            JobChange::Abandon { error } => {
                sqlx::query::<Db>(
                    "UPDATE publish_jobs SET state = 'failed', locked_by = NULL, \
                     lease_until = NULL, last_error = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(Id(lease.job.0))
                .bind(error.as_str())
                .bind(Ts(settlement.now))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
        }
        tx.commit().await.map_err(db_error)?;
        Ok(Settled::Applied)
    }

    async fn post_image_key(
        &self,
        owner: UserId,
        post: PostId,
    ) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar::<Db, Option<String>>(
            "SELECT image_key FROM posts WHERE owner_id = $1 AND id = $2",
        )
        .bind(Id::from(owner))
        .bind(Id::from(post))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)
    }

    async fn wake_publish_jobs(
        &self,
        owner: UserId,
        reason: Option<WaitReason>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query::<Db>(
            "UPDATE publish_jobs SET run_after = $3, updated_at = $3 WHERE owner_id = $1 \
             AND state = 'queued' AND run_after > $3 AND ($2 IS NULL OR wait_reason = $2)",
        )
        .bind(Id::from(owner))
        .bind(reason.map(|r| r.as_str()))
        .bind(Ts(now))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected())
    }

    async fn publish_job_record(
        &self,
        post: PostId,
    ) -> Result<Option<PublishJobRecord>, StoreError> {
        let row = sqlx::query::<Db>(
            "SELECT id, post_id, state, run_after, attempts, transient_deferrals, locked_by, \
             lease_until, wait_reason, last_error FROM publish_jobs WHERE post_id = $1",
        )
        .bind(Id::from(post))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: Id = row.try_get("id").map_err(db_error)?;
        let post: Id = row.try_get("post_id").map_err(db_error)?;
        let run_after: Ts = row.try_get("run_after").map_err(db_error)?;
        let lease_until: Option<Ts> = row.try_get("lease_until").map_err(db_error)?;
        let wait_reason: Option<String> = row.try_get("wait_reason").map_err(db_error)?;
        let wait_reason = wait_reason
            .map(|w| {
                WaitReason::parse(&w).ok_or_else(|| {
                    StoreError::Corrupt(format!("publish_jobs.wait_reason: unknown {w:?}"))
                })
            })
            .transpose()?;
        Ok(Some(PublishJobRecord {
            id: JobId(id.0),
            post: PostId::from_uuid(post.0),
            state: row.try_get("state").map_err(db_error)?,
            run_after: run_after.0,
            attempts: count(row.try_get("attempts").map_err(db_error)?),
            transient_deferrals: count(row.try_get("transient_deferrals").map_err(db_error)?),
            locked_by: row.try_get("locked_by").map_err(db_error)?,
            lease_until: lease_until.map(|t| t.0),
            wait_reason,
            last_error: row.try_get("last_error").map_err(db_error)?,
        }))
    }
}
