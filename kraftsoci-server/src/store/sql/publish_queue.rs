//! [`PublishQueue`]: claims, leases and the fenced writes of the publish worker, and the
//! statements on the queue that the post flow runs in its own transactions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    Connection, JOB_RUNNING, JobRequest, JobView, JournalEntry, PostMedia, PostUpdate, Queued,
};
use kraftsoci_core::{ConnectionId, PostId, PostSnapshot, StoreError, UserId};
use sqlx::Row as _;

use super::{
    Conn, Db, ThisStore, commit, connection_store, db_error, notify_store, post_store,
    publish_journal, to_json,
};
use crate::store::dialect::Dialect;
use crate::store::ports::{
    ClaimedJob, JobChange, JobId, JobLease, JobPost, PublishJobRecord, PublishQueue, Settled,
    Settlement, WaitReason,
};
use crate::store::rows::{ConnectionRow, MediaRow, PostRow};
use crate::store::types::{Id, Ts};

/// A claimed job's post, image and last recovery point ([`PublishQueue::job_post`]).
#[derive(sqlx::FromRow)]
struct JobPostRow {
    #[sqlx(flatten)]
    post: PostRow,
    #[sqlx(flatten)]
    media: MediaRow,
    journal_step: Option<String>,
}

/// A connection with its sealed token ([`PublishQueue::job_connection`]).
#[derive(sqlx::FromRow)]
struct JobConnectionRow {
    #[sqlx(flatten)]
    connection: ConnectionRow,
    sealed_token: Option<Vec<u8>>,
}

fn attempts(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn claimed_from(row: &<Db as sqlx::Database>::Row, claim: &str) -> Result<ClaimedJob, StoreError> {
    let id: Id = row.try_get("id").map_err(db_error)?;
    let post: Id = row.try_get("post_id").map_err(db_error)?;
    let owner: Id = row.try_get("owner_id").map_err(db_error)?;
    let connection: Option<Id> = row.try_get("connection_id").map_err(db_error)?;
    let lease_until: Ts = row.try_get("lease_until").map_err(db_error)?;
    Ok(ClaimedJob {
        lease: JobLease {
            job: JobId(id.0),
            claim: claim.to_owned(),
        },
        post: PostId::from_uuid(post.0),
        owner: UserId::from_uuid(owner.0),
        connection: connection.map(|c| ConnectionId::from_uuid(c.0)),
        attempts: attempts(row.try_get("attempts").map_err(db_error)?),
        transient_deferrals: attempts(row.try_get("transient_deferrals").map_err(db_error)?),
        lease_until: lease_until.0,
    })
}

/// Claims up to `limit` due jobs in one statement, earliest due first.
async fn claim(
    conn: &mut Conn,
    claim: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<ClaimedJob>, StoreError> {
    let rows = sqlx::query::<Db>(<Db as Dialect>::CLAIM_JOB)
        .bind(claim)
        .bind(Ts(now))
        .bind(Ts(lease_until))
        .bind(i64::from(limit))
        .fetch_all(conn)
        .await
        .map_err(db_error)?;
    let mut jobs = rows
        .iter()
        .map(|row| {
            let run_after: Ts = row.try_get("run_after").map_err(db_error)?;
            Ok((run_after.0, claimed_from(row, claim)?))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // RETURNING follows no ORDER BY: put the batch back in queue order.
    jobs.sort_by_key(|(run_after, job)| (*run_after, job.lease.job.0));
    Ok(jobs.into_iter().map(|(_, job)| job).collect())
}

/// A settlement that changes the post and keeps (`delete` false) or deletes the job, with its
/// optional journal entry and notification, as one statement (PostgreSQL): the fence is a
/// `SELECT … FOR UPDATE` of the job's row in a CTE — it holds the row lock to the end of the
/// statement, as the fence of a transaction does — and every write depends on it through
/// `changed`, the post's update. The same writes as the transaction of
/// [`PublishQueue::settle_publish_job`], in the same order of checks: lease, then post.
async fn settle_in_one_statement(
    conn: &mut Conn,
    lease: &JobLease,
    change: &PostUpdate,
    delete: bool,
    settlement: &Settlement,
) -> Result<Settled, StoreError> {
    let post = &change.post;
    let journal = settlement.journal.as_ref();
    let notice = settlement.notice.as_ref();
    let query = sqlx::query::<Db>(
        "WITH fenced AS (SELECT id FROM publish_jobs WHERE id = $13 AND locked_by = $14 \
         FOR UPDATE), \
         changed AS (UPDATE posts SET status = $4, updated_at = $5, published_at = $6, \
         instagram_media_id = $7, permalink = $8, failure_code = $9, failure_message = $10, \
         failure_retryable = $11, generation_step = $12 \
         WHERE id = $1 AND owner_id = $2 AND updated_at = $3 AND EXISTS (SELECT 1 FROM fenced) \
         RETURNING id), \
         journal AS (INSERT INTO publish_journal (post_id, step, updated_at) \
         SELECT id, $15, $16 FROM changed WHERE $17 \
         ON CONFLICT (post_id) DO UPDATE SET step = excluded.step, \
         updated_at = excluded.updated_at), \
         done AS (DELETE FROM publish_jobs WHERE $18 AND id IN (SELECT id FROM fenced) \
         AND EXISTS (SELECT 1 FROM changed)), \
         notice AS (INSERT INTO notices (id, user_id, kind, subject_key, body, created_at, \
         link, params, in_app, mail_next_at) \
         SELECT $19, id, $20, $21, $22, $23, $24, $25, $26, $27 FROM users \
         WHERE $28 AND id = $2 AND closed_at IS NULL AND EXISTS (SELECT 1 FROM changed) \
         ON CONFLICT (user_id, subject_key) DO NOTHING RETURNING id), \
         deliveries AS (INSERT INTO webhook_deliveries (id, endpoint_id, user_id, event_key, \
         event, payload, status, attempts, next_attempt_at, created_at, window_start) \
         SELECT gen_random_uuid(), id, $2, $21, $20, $29, 'pending', 0, $23, $23, $23 \
         FROM webhook_endpoints WHERE user_id = $2 AND events LIKE $30 \
         AND EXISTS (SELECT 1 FROM notice) \
         ON CONFLICT (endpoint_id, event_key) DO NOTHING) \
         SELECT EXISTS (SELECT 1 FROM fenced) AS fenced, \
         EXISTS (SELECT 1 FROM changed) AS changed",
    )
    .bind(Id::from(post.id))
    .bind(Id::from(post.owner))
    .bind(Ts(change.expected_updated_at));
    let row = post_store::bind_state(query, post)
        .bind(Id(lease.job.0))
        .bind(lease.claim.as_str())
        .bind(journal.map(to_json).transpose()?)
        .bind(journal.map(|entry| Ts(publish_journal::step_at(entry))))
        .bind(journal.is_some())
        .bind(delete)
        .bind(notice.map(|n| Id(n.id)))
        .bind(notice.map(|n| n.kind.as_str()))
        .bind(notice.map(|n| n.key.as_str()))
        .bind(notice.map(|n| n.body.as_str()))
        .bind(notice.map(|n| Ts(n.at)))
        .bind(notice.and_then(|n| n.link.as_deref()))
        .bind(notice.map(|n| n.params.as_str()))
        .bind(notice.map(|n| n.in_app))
        .bind(notice.and_then(|n| n.mail.then_some(Ts(n.at))))
        .bind(notice.is_some())
        .bind(notice.map(|n| n.webhook_payload.as_str()))
        .bind(notice.map(|n| format!("%,{},%", n.kind)))
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    let fenced: bool = row.try_get("fenced").map_err(db_error)?;
    let changed: bool = row.try_get("changed").map_err(db_error)?;
    Ok(match (fenced, changed) {
        (false, _) => Settled::LeaseLost,
        (true, false) => Settled::PostChanged,
        (true, true) => Settled::Applied,
    })
}

/// Extends the lease if the claim still holds the job; whether it does.
async fn renew(
    conn: &mut Conn,
    lease: &JobLease,
    until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE publish_jobs SET lease_until = $3 WHERE id = $1 AND locked_by = $2",
    )
    .bind(Id(lease.job.0))
    .bind(lease.claim.as_str())
    .bind(Ts(until))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected()
        == 1)
}

/// The fence: touches the job only if `lease` still holds it, which also locks the row until
/// the transaction ends. The job's owner and post, or `None` when the lease was lost.
async fn fence(
    conn: &mut Conn,
    lease: &JobLease,
    now: DateTime<Utc>,
) -> Result<Option<(UserId, PostId)>, StoreError> {
    Ok(sqlx::query_as::<Db, (Id, Id)>(
        "UPDATE publish_jobs SET updated_at = $3 WHERE id = $1 AND locked_by = $2 \
         RETURNING owner_id, post_id",
    )
    .bind(Id(lease.job.0))
    .bind(lease.claim.as_str())
    .bind(Ts(now))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(|(owner, post)| (UserId::from_uuid(owner.0), PostId::from_uuid(post.0))))
}

async fn delete_job(conn: &mut Conn, job: JobId) -> Result<(), StoreError> {
    sqlx::query::<Db>("DELETE FROM publish_jobs WHERE id = $1")
        .bind(Id(job.0))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Deletes every publish job of the owner (the account is closing); how many.
pub(super) async fn delete_owner_jobs(conn: &mut Conn, owner: UserId) -> Result<u64, StoreError> {
    Ok(
        sqlx::query::<Db>("DELETE FROM publish_jobs WHERE owner_id = $1")
            .bind(Id::from(owner))
            .execute(conn)
            .await
            .map_err(db_error)?
            .rows_affected(),
    )
}

async fn requeue(
    conn: &mut Conn,
    job: JobId,
    run_after: DateTime<Utc>,
    wait: Option<WaitReason>,
    transient: bool,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "UPDATE publish_jobs SET state = 'queued', locked_by = NULL, lease_until = NULL, \
         run_after = $2, wait_reason = $3, last_error = $4, \
         transient_deferrals = transient_deferrals + $5, updated_at = $6 WHERE id = $1",
    )
    .bind(Id(job.0))
    .bind(Ts(run_after))
    .bind(wait.map(|w| w.as_str()))
    .bind(note)
    .bind(i32::from(transient))
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn abandon(
    conn: &mut Conn,
    job: JobId,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "UPDATE publish_jobs SET state = 'failed', locked_by = NULL, lease_until = NULL, \
         last_error = $2, updated_at = $3 WHERE id = $1",
    )
    .bind(Id(job.0))
    .bind(error)
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn select_record(
    conn: &mut Conn,
    post: PostId,
) -> Result<Option<PublishJobRecord>, StoreError> {
    let row = sqlx::query::<Db>(
        "SELECT id, post_id, state, run_after, attempts, transient_deferrals, locked_by, \
         lease_until, wait_reason, last_error FROM publish_jobs WHERE post_id = $1",
    )
    .bind(Id::from(post))
    .fetch_optional(conn)
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
        attempts: attempts(row.try_get("attempts").map_err(db_error)?),
        transient_deferrals: attempts(row.try_get("transient_deferrals").map_err(db_error)?),
        locked_by: row.try_get("locked_by").map_err(db_error)?,
        lease_until: lease_until.map(|t| t.0),
        wait_reason,
        last_error: row.try_get("last_error").map_err(db_error)?,
    }))
}

// The post flow's statements on the queue: a click queues the job, an edit or withdrawal
// drops it, the preview shows it.

/// A worker holds the job (or the post is publishing): the post cannot change now.
pub(super) fn job_running() -> StoreError {
    StoreError::Conflict {
        constraint: JOB_RUNNING.to_owned(),
    }
}

/// A post's job as its preview shows it.
pub(super) async fn select_job_view(
    conn: &mut Conn,
    owner: UserId,
    post: PostId,
) -> Result<Option<JobView>, StoreError> {
    let row = sqlx::query_as::<Db, (String, Ts, i32)>(
        "SELECT state, run_after, attempts FROM publish_jobs \
         WHERE owner_id = $1 AND post_id = $2",
    )
    .bind(Id::from(owner))
    .bind(Id::from(post))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    Ok(row.map(|(state, run_after, attempts)| JobView {
        state,
        run_after: run_after.0,
        attempts: u32::try_from(attempts).unwrap_or(0),
    }))
}

/// The publish jobs of the owner's posts among `posts`, in one statement (an `IN` list of
/// bound ids); posts without a job are left out.
pub(super) async fn select_job_views(
    conn: &mut Conn,
    owner: UserId,
    posts: &[PostId],
) -> Result<Vec<(PostId, JobView)>, StoreError> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new(
        "SELECT post_id, state, run_after, attempts FROM publish_jobs WHERE owner_id = ",
    );
    query.push_bind(Id::from(owner)).push(" AND post_id IN (");
    let mut list = query.separated(", ");
    for post in posts {
        list.push_bind(Id::from(*post));
    }
    query.push(")");
    let rows = query
        .build_query_as::<(Id, String, Ts, i32)>()
        .fetch_all(conn)
        .await
        .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|(post, state, run_after, attempts)| {
            (
                PostId::from_uuid(post.0),
                JobView {
                    state,
                    run_after: run_after.0,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                },
            )
        })
        .collect())
}

/// Drops a post's publish job unless a worker holds it with a lease still live at `now`.
pub(super) async fn drop_job(
    conn: &mut Conn,
    post: PostId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
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
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Inserts the post's job, or re-queues/reschedules the existing one unless a worker holds it
/// with a live lease (a dead worker's job is the click's again once its lease ran out). A
/// re-queued job starts afresh: no attempts, no transient deferrals, no wait reason.
pub(super) async fn queue_job(
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
    let (state, run_after, connection, lease_until) =
        sqlx::query_as::<Db, (String, Ts, Option<Id>, Option<Ts>)>(
            "SELECT state, run_after, connection_id, lease_until FROM publish_jobs \
             WHERE post_id = $1",
        )
        .bind(Id::from(post))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    let same = run_after.0 == job.run_after && connection == Some(Id::from(job.connection));
    let held = state == "running" && lease_until.is_some_and(|until| until.0 > job.at);
    match state.as_str() {
        "running" if held && reschedule && !same => return Err(job_running()),
        "running" if held || !reschedule => return Ok(Queued::Unchanged),
        "queued" if same || !reschedule => return Ok(Queued::Unchanged),
        _ => {}
    }
    // The lease is checked again in the statement: a worker that claimed the job in between
    // keeps it (and the click is answered as if it had found it running).
    let updated = sqlx::query::<Db>(
        "UPDATE publish_jobs SET state = 'queued', run_after = $2, connection_id = $3, \
         attempts = 0, transient_deferrals = 0, wait_reason = NULL, locked_by = NULL, \
         lease_until = NULL, last_error = NULL, updated_at = $4 \
         WHERE post_id = $1 AND (state <> 'running' OR lease_until IS NULL OR lease_until <= $4)",
    )
    .bind(Id::from(post))
    .bind(Ts(job.run_after))
    .bind(Id::from(job.connection))
    .bind(Ts(job.at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    if updated.rows_affected() == 0 {
        return Err(job_running());
    }
    Ok(Queued::Updated)
}

#[async_trait]
impl PublishQueue for ThisStore {
    async fn claim_publish_jobs(
        &self,
        claim_token: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        if <Db as Dialect>::CLAIM_ALONE {
            return claim(
                &mut *self.conn().await?,
                claim_token,
                now,
                lease_until,
                limit,
            )
            .await;
        }
        let mut tx = self.begin_write().await?;
        let claimed = claim(&mut tx, claim_token, now, lease_until, limit).await?;
        commit(tx).await?;
        Ok(claimed)
    }

    async fn renew_publish_lease(
        &self,
        lease: &JobLease,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        renew(&mut *self.conn().await?, lease, until).await
    }

    async fn record_publish_step(
        &self,
        lease: &JobLease,
        post: PostId,
        entry: &JournalEntry,
    ) -> Result<(), StoreError> {
        if let Some(sql) = <Db as Dialect>::FENCED_STEP {
            let written = sqlx::query::<Db>(sql)
                .bind(Id(lease.job.0))
                .bind(lease.claim.as_str())
                .bind(Ts(publish_journal::step_at(entry)))
                .bind(Id::from(post))
                .bind(to_json(entry)?)
                .execute(&mut *self.conn().await?)
                .await
                .map_err(db_error)?;
            return match written.rows_affected() {
                0 => Err(StoreError::Stale),
                _ => Ok(()),
            };
        }
        let mut tx = self.begin_write().await?;
        if fence(&mut tx, lease, publish_journal::step_at(entry))
            .await?
            .is_none()
        {
            return Err(StoreError::Stale);
        }
        publish_journal::upsert_entry(&mut tx, post, entry).await?;
        commit(tx).await
    }

    async fn settle_publish_job(
        &self,
        lease: &JobLease,
        settlement: &Settlement,
    ) -> Result<Settled, StoreError> {
        // The post saved as `publishing` before the first Graph call, and a post settled as
        // published or failed: one statement where the engine can fence one (no `BEGIN` /
        // `COMMIT` round trips, one commit).
        if <Db as Dialect>::FENCED_POST_STATE
            && settlement.reconnect.is_none()
            && let Some(change) = &settlement.post
            && let Some(delete) = match settlement.job {
                JobChange::Keep => Some(false),
                JobChange::Done => Some(true),
                JobChange::Requeue { .. } | JobChange::Abandon { .. } => None,
            }
        {
            return settle_in_one_statement(
                &mut *self.conn().await?,
                lease,
                change,
                delete,
                settlement,
            )
            .await;
        }
        let mut tx = self.begin_write().await?;
        let Some((owner, post)) = fence(&mut tx, lease, settlement.now).await? else {
            return Ok(Settled::LeaseLost);
        };
        if let Some(change) = &settlement.post
            && !post_store::update_post_state(&mut tx, change).await?
        {
            return Ok(Settled::PostChanged);
        }
        if let Some(connection) = settlement.reconnect {
            // Scoped to the job's owner: the worker never touches another tenant's row. A
            // connection deleted meanwhile has nothing left to mark.
            connection_store::mark_needs_reconnect(&mut tx, owner, connection).await?;
        }
        if let Some(entry) = &settlement.journal {
            publish_journal::upsert_entry(&mut tx, post, entry).await?;
        }
        match &settlement.job {
            JobChange::Keep => {}
            JobChange::Done => delete_job(&mut tx, lease.job).await?,
            JobChange::Requeue {
                run_after,
                wait,
                transient,
                note,
            } => {
                requeue(
                    &mut tx,
                    lease.job,
                    *run_after,
                    *wait,
                    *transient,
                    note.as_deref(),
                    settlement.now,
                )
                .await?;
            }
            JobChange::Abandon { error } => {
                abandon(&mut tx, lease.job, error, settlement.now).await?;
            }
        }
        if let Some(notice) = &settlement.notice {
            // Once per event key: a settlement retried after a lost answer records nothing new.
            notify_store::record_event_in(&mut tx, notice).await?;
        }
        commit(tx).await?;
        Ok(Settled::Applied)
    }

    async fn job_post(&self, owner: UserId, post: PostId) -> Result<JobPost, StoreError> {
        let row = sqlx::query_as::<Db, JobPostRow>(concat!(
            "SELECT ",
            post_columns!(),
            ", p.topic, p.image_key, p.image_width, p.image_height, p.sandbox, \
             j.step AS journal_step \
             FROM posts p LEFT JOIN consent_receipts c ON c.id = p.consent_id \
             LEFT JOIN publish_journal j ON j.post_id = p.id \
             WHERE p.owner_id = $1 AND p.id = $2"
        ))
        .bind(Id::from(owner))
        .bind(Id::from(post))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)?;
        Ok(JobPost {
            post: PostSnapshot::try_from(row.post)?,
            media: <(PostId, PostMedia)>::try_from(row.media).map(|(_, media)| media),
            journal: row
                .journal_step
                .as_deref()
                .map(publish_journal::parse_step)
                .transpose(),
        })
    }

    async fn job_connection(
        &self,
        owner: UserId,
        id: ConnectionId,
    ) -> Result<Option<(Connection, Option<Vec<u8>>)>, StoreError> {
        sqlx::query_as::<Db, JobConnectionRow>(concat!(
            "SELECT ",
            connection_columns!(),
            ", sealed_token FROM instagram_connections WHERE owner_id = $1 AND id = $2"
        ))
        .bind(Id::from(owner))
        .bind(Id::from(id))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_error)?
        .map(|row| Ok((Connection::try_from(row.connection)?, row.sealed_token)))
        .transpose()
    }

    async fn publish_job_record(
        &self,
        post: PostId,
    ) -> Result<Option<PublishJobRecord>, StoreError> {
        select_record(&mut *self.conn().await?, post).await
    }
}
