//! [`GenerationQueue`]: posts created in `generating` with their jobs and idempotency keys,
//! the claims and leases of the generation worker, and its fenced writes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{PostMedia, PostUpdate, QuotaReservation, StoredImage};
use kraftsoci_core::{GenerationStep, PostId, PostSnapshot, PostStatus, StoreError, UserId};
use sqlx::Row as _;

use super::post_store::{insert_post, update_post};
use super::{Conn, Db, ThisStore, commit, db_error, small, to_json};
use crate::store::ports::{
    ClaimedGeneration, Created, GenerationLease, GenerationQueue, GenerationSpec, IdempotencyRecord,
};
use crate::store::types::{Id, Ts};

/// The one statement whose SQL differs between the engines: the claim (as for the publish
/// queue, PostgreSQL skips rows another worker is claiming; SQLite has a single writer).
trait ClaimDialect {
    const CLAIM: &'static str;
}

macro_rules! claim_generation_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE generation_jobs SET state = 'running', locked_by = $1, lease_until = $3, \
             attempts = attempts + 1, updated_at = $2 \
             WHERE id = (SELECT id FROM generation_jobs \
             WHERE run_after <= $2 AND (lease_until IS NULL OR lease_until <= $2) \
             ORDER BY run_after, id LIMIT 1",
            $lock,
            ") RETURNING id, post_id, owner_id, topic, caption, image, reservations, attempts"
        )
    };
}

impl ClaimDialect for sqlx::Postgres {
    const CLAIM: &'static str = claim_generation_sql!(" FOR UPDATE SKIP LOCKED");
}

impl ClaimDialect for sqlx::Sqlite {
    const CLAIM: &'static str = claim_generation_sql!("");
}

async fn insert_job(
    conn: &mut Conn,
    post: &PostSnapshot,
    spec: &GenerationSpec,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO generation_jobs (id, post_id, owner_id, topic, caption, image, \
         reservations, state, attempts, run_after, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $8, $8)",
    )
    .bind(Id(uuid::Uuid::new_v4()))
    .bind(Id::from(post.id))
    .bind(Id::from(post.owner))
    .bind(spec.topic.as_str())
    .bind(spec.caption)
    .bind(spec.image)
    .bind(to_json(&spec.reservations)?)
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn select_key(
    conn: &mut Conn,
    owner: UserId,
    key: &str,
    since: DateTime<Utc>,
) -> Result<Option<(PostId, String)>, StoreError> {
    let row = sqlx::query::<Db>(
        "SELECT post_id, request_hash FROM idempotency_keys \
         WHERE owner_id = $1 AND key = $2 AND created_at >= $3",
    )
    .bind(Id::from(owner))
    .bind(key)
    .bind(Ts(since))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let post: Id = row.try_get("post_id").map_err(db_error)?;
    Ok(Some((
        PostId::from_uuid(post.0),
        row.try_get("request_hash").map_err(db_error)?,
    )))
}

/// Records the key unless it is in use since `since`; the post it names when it is.
async fn claim_key(
    conn: &mut Conn,
    owner: UserId,
    record: &IdempotencyRecord,
    post: PostId,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<(PostId, String)>, StoreError> {
    // An expired use of the key is replaced; a live one (even one a concurrent request just
    // committed) wins: the conflict clause's WHERE leaves it alone and RETURNING yields no row.
    let inserted = sqlx::query::<Db>(
        "INSERT INTO idempotency_keys (owner_id, key, request_hash, post_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (owner_id, key) DO UPDATE SET request_hash = excluded.request_hash, \
         post_id = excluded.post_id, created_at = excluded.created_at \
         WHERE idempotency_keys.created_at < $6 RETURNING post_id",
    )
    .bind(Id::from(owner))
    .bind(record.key.as_str())
    .bind(record.request_hash.as_str())
    .bind(Id::from(post))
    .bind(Ts(now))
    .bind(Ts(since))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    if inserted.is_some() {
        return Ok(None);
    }
    select_key(conn, owner, &record.key, since).await
}

/// Touches the job only if `lease` still holds it (and locks its row until the transaction
/// ends); whether it did.
async fn fence(
    conn: &mut Conn,
    lease: &GenerationLease,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE generation_jobs SET updated_at = $3 WHERE id = $1 AND locked_by = $2",
    )
    .bind(Id(lease.job))
    .bind(lease.claim.as_str())
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected()
        == 1)
}

async fn set_image(
    conn: &mut Conn,
    post: &PostSnapshot,
    image: &StoredImage,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "UPDATE posts SET image_key = $3, image_width = $4, image_height = $5 \
         WHERE id = $1 AND owner_id = $2",
    )
    .bind(Id::from(post.id))
    .bind(Id::from(post.owner))
    .bind(image.key.as_str())
    .bind(small(image.width)?)
    .bind(small(image.height)?)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl GenerationQueue for ThisStore {
    async fn idempotent_post(
        &self,
        owner: UserId,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<(PostId, String)>, StoreError> {
        let mut conn = self.conn().await?;
        select_key(&mut conn, owner, key, since).await
    }

    async fn create_generating(
        &self,
        post: &PostSnapshot,
        media: &PostMedia,
        spec: &GenerationSpec,
        key: Option<&IdempotencyRecord>,
        key_since: DateTime<Utc>,
    ) -> Result<Created, StoreError> {
        if post.status != PostStatus::Generating {
            return Err(StoreError::Corrupt(
                "only a generating post is created with a generation job".to_owned(),
            ));
        }
        let mut tx = self.begin_write().await?;
        insert_post(&mut tx, post, media).await?;
        if let Some(record) = key
            && let Some((existing, hash)) = claim_key(
                &mut tx,
                post.owner,
                record,
                post.id,
                key_since,
                post.created_at,
            )
            .await?
        {
            // Dropping the transaction rolls the new post back.
            return Ok(Created::Existing {
                post: existing,
                same_request: hash == record.request_hash,
            });
        }
        insert_job(&mut tx, post, spec, post.created_at).await?;
        commit(tx).await?;
        Ok(Created::New)
    }

    async fn queue_regeneration(
        &self,
        update: &PostUpdate,
        spec: &GenerationSpec,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if update.post.status != PostStatus::Generating {
            return Err(StoreError::Corrupt(
                "only a generating post is queued for generation".to_owned(),
            ));
        }
        let mut tx = self.begin_write().await?;
        update_post(&mut tx, update).await?;
        insert_job(&mut tx, &update.post, spec, now).await?;
        commit(tx).await
    }

    async fn claim_generation_job(
        &self,
        claim: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedGeneration>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query::<Db>(<Db as ClaimDialect>::CLAIM)
            .bind(claim)
            .bind(Ts(now))
            .bind(Ts(lease_until))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        commit(tx).await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: Id = row.try_get("id").map_err(db_error)?;
        let post: Id = row.try_get("post_id").map_err(db_error)?;
        let owner: Id = row.try_get("owner_id").map_err(db_error)?;
        let reservations: String = row.try_get("reservations").map_err(db_error)?;
        let reservations: Vec<QuotaReservation> = serde_json::from_str(&reservations)
            .map_err(|e| StoreError::Corrupt(format!("generation_jobs.reservations: {e}")))?;
        let attempts: i32 = row.try_get("attempts").map_err(db_error)?;
        Ok(Some(ClaimedGeneration {
            lease: GenerationLease {
                job: id.0,
                claim: claim.to_owned(),
            },
            post: PostId::from_uuid(post.0),
            owner: UserId::from_uuid(owner.0),
            spec: GenerationSpec {
                topic: row.try_get("topic").map_err(db_error)?,
                caption: row.try_get("caption").map_err(db_error)?,
                image: row.try_get("image").map_err(db_error)?,
                reservations,
            },
            attempts: u32::try_from(attempts).unwrap_or(0),
        }))
    }

    async fn renew_generation_lease(
        &self,
        lease: &GenerationLease,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        Ok(sqlx::query::<Db>(
            "UPDATE generation_jobs SET lease_until = $3 WHERE id = $1 AND locked_by = $2",
        )
        .bind(Id(lease.job))
        .bind(lease.claim.as_str())
        .bind(Ts(until))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected()
            == 1)
    }

    async fn record_generation_step(
        &self,
        lease: &GenerationLease,
        post: PostId,
        step: GenerationStep,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !fence(&mut tx, lease, now).await? {
            return Ok(false);
        }
        // Progress is not a change of the post: `updated_at` (the optimistic check) stays.
        sqlx::query::<Db>(
            "UPDATE posts SET generation_step = $2 WHERE id = $1 AND status = 'generating'",
        )
        .bind(Id::from(post))
        .bind(step.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        commit(tx).await?;
        Ok(true)
    }

    async fn settle_generation(
        &self,
        lease: &GenerationLease,
        update: &PostUpdate,
        image: Option<&StoredImage>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !fence(&mut tx, lease, now).await? {
            return Ok(false);
        }
        update_post(&mut tx, update).await?;
        if let Some(image) = image {
            set_image(&mut tx, &update.post, image).await?;
        }
        sqlx::query::<Db>("DELETE FROM generation_jobs WHERE id = $1")
            .bind(Id(lease.job))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        commit(tx).await?;
        Ok(true)
    }

    async fn release_generation_job(
        &self,
        lease: &GenerationLease,
        run_after: DateTime<Utc>,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        Ok(sqlx::query::<Db>(
            "UPDATE generation_jobs SET state = 'queued', locked_by = NULL, lease_until = NULL, \
             run_after = $3, last_error = $4, updated_at = $5 WHERE id = $1 AND locked_by = $2",
        )
        .bind(Id(lease.job))
        .bind(lease.claim.as_str())
        .bind(Ts(run_after))
        .bind(note)
        .bind(Ts(now))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected()
            == 1)
    }

    async fn sweep_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        Ok(
            sqlx::query::<Db>("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(Ts(before))
                .execute(&mut *conn)
                .await
                .map_err(db_error)?
                .rows_affected(),
        )
    }
}
