//! [`PostStore`]: posts with their consent receipts, images and publish jobs (P09, P16).
//!
//! Every write that must happen together happens in one transaction here: the Publish click
//! saves the post (optimistic `updated_at` check), appends the consent receipt and queues the
//! publish job at once; an edit or a withdrawal saves the post and drops its job at once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    JobRequest, JobView, ListedPage, ListedPost, PostMedia, PostPage, PostStore, PostUpdate, Queued,
};
use kraftsoci_core::{
    ConnectionId, IgUserId, PostContent, PostId, PostSnapshot, PostStatus, SessionId, StoreError,
    UserId,
};

use super::publish_queue::{drop_job, job_running, queue_job, select_job_view, select_job_views};
use super::{Conn, Db, ThisStore, commit, count_u32, db_error, small, to_json};
use crate::store::cursor::PostCursor;
use crate::store::ports::{AccessPosts, AccessState, SessionState};
use crate::store::rows::{MediaRow, PostRow};
use crate::store::types::{Id, Ts};

type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

/// The most posts one page may hold.
const MAX_PAGE: u32 = 100;

/// Binds the content columns, in this order: `caption, hashtags, alt_text, media_kind,
/// media_digests, target_ig_user_id`.
fn bind_content<'q>(query: Query<'q>, content: &PostContent) -> Result<Query<'q>, StoreError> {
    Ok(query
        .bind(content.caption.as_str())
        .bind(to_json(&content.hashtags)?)
        .bind(content.alt_text.as_ref().map(|a| a.as_str()))
        .bind(content.media_kind.as_str())
        .bind(to_json(&content.media)?)
        .bind(content.target.as_ref().map(|t| t.as_str())))
}

/// Binds the columns a lifecycle transition changes, in this order: `status, updated_at,
/// published_at, instagram_media_id, permalink, failure_code, failure_message,
/// failure_retryable, generation_step`.
pub(super) fn bind_state<'q>(query: Query<'q>, post: &PostSnapshot) -> Query<'q> {
    let failure = post.failure.as_ref();
    query
        .bind(post.status.as_str())
        .bind(Ts(post.updated_at))
        .bind(post.published_at.map(Ts))
        .bind(post.instagram_media_id.as_deref())
        .bind(post.permalink.as_deref())
        .bind(failure.map(|f| f.code.as_str()))
        .bind(failure.map(|f| f.message.as_str()))
        .bind(failure.map(|f| f.retryable))
        .bind(post.generation_step.map(|s| s.as_str()))
}

pub(super) async fn insert_post(
    conn: &mut Conn,
    post: &PostSnapshot,
    media: &PostMedia,
) -> Result<(), StoreError> {
    let image = media.image.as_ref();
    let query = sqlx::query::<Db>(
        "INSERT INTO posts (id, owner_id, caption, hashtags, alt_text, media_kind, \
         media_digests, target_ig_user_id, status, created_at, updated_at, topic, image_key, \
         image_width, image_height, sandbox, generation_step) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(Id::from(post.id))
    .bind(Id::from(post.owner));
    bind_content(query, &post.content)?
        .bind(post.status.as_str())
        .bind(Ts(post.created_at))
        .bind(Ts(post.updated_at))
        .bind(media.topic.as_deref())
        .bind(image.map(|i| i.key.as_str()))
        .bind(image.map(|i| small(i.width)).transpose()?)
        .bind(image.map(|i| small(i.height)).transpose()?)
        .bind(media.sandbox)
        .bind(post.generation_step.map(|s| s.as_str()))
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub(super) async fn select_post(
    conn: &mut Conn,
    owner: UserId,
    id: PostId,
) -> Result<PostSnapshot, StoreError> {
    sqlx::query_as::<Db, PostRow>(concat!(
        post_select!(),
        " WHERE p.owner_id = $1 AND p.id = $2"
    ))
    .bind(Id::from(owner))
    .bind(Id::from(id))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or(StoreError::NotFound)?
    .try_into()
}

/// Up to `limit` of the owner's posts after the cursor's position, newest first.
async fn select_posts_page(
    conn: &mut Conn,
    owner: UserId,
    status: Option<PostStatus>,
    after: Option<PostCursor>,
    limit: i64,
) -> Result<Vec<PostSnapshot>, StoreError> {
    sqlx::query_as::<Db, PostRow>(concat!(
        post_select!(),
        " WHERE p.owner_id = $1 AND ($2 IS NULL OR p.status = $2) \
         AND ($3 IS NULL OR p.created_at < $3 OR (p.created_at = $3 AND p.id < $4)) \
         ORDER BY p.created_at DESC, p.id DESC LIMIT $5"
    ))
    .bind(Id::from(owner))
    .bind(status.map(|s| s.as_str()))
    .bind(after.map(|c| Ts(c.created_at)))
    .bind(after.map(|c| Id(c.id)))
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .into_iter()
    .map(PostSnapshot::try_from)
    .collect()
}

/// A list row: the post (`post_select!`'s columns), its media, the id of the owner's
/// connection to the account it targets, and its publish job while approved or publishing.
#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    post: PostRow,
    #[sqlx(flatten)]
    media: MediaRow,
    ic_id: Option<Id>,
    j_state: Option<String>,
    j_run_after: Option<Ts>,
    j_attempts: Option<i32>,
}

impl TryFrom<ListedRow> for ListedPost {
    type Error = StoreError;

    fn try_from(row: ListedRow) -> Result<Self, StoreError> {
        let (_, media) = <(PostId, PostMedia)>::try_from(row.media)?;
        let job = match (row.j_state, row.j_run_after, row.j_attempts) {
            (Some(state), Some(run_after), Some(attempts)) => Some(JobView {
                state,
                run_after: run_after.0,
                attempts: u32::try_from(attempts).unwrap_or(0),
            }),
            _ => None,
        };
        Ok(Self {
            post: PostSnapshot::try_from(row.post)?,
            media,
            target_connection: row.ic_id.map(|id| ConnectionId::from_uuid(id.0)),
            job,
        })
    }
}

/// The page of [`select_listed_page`]: the columns of `post_select!` and of `MediaRow`, the
/// connection's id and the job's state, `$1` the owner, `$2` a status or `NULL`, `$3` and
/// `$4` the cursor's time and id or `NULL`, `$5` the limit.
macro_rules! listed_page {
    () => {
        "SELECT p.id, p.owner_id, p.caption, p.hashtags, p.alt_text, p.media_kind, \
         p.media_digests, p.target_ig_user_id, p.status, p.created_at, p.updated_at, \
         p.published_at, p.instagram_media_id, p.permalink, p.failure_code, p.failure_message, \
         p.failure_retryable, p.generation_step, c.user_id AS c_user_id, \
         c.content_hash AS c_content_hash, c.target_ig_user_id AS c_target_ig_user_id, \
         c.approved_at AS c_approved_at, c.ip AS c_ip, c.user_agent AS c_user_agent, \
         c.scheduled_for AS c_scheduled_for, c.api_key_id AS c_api_key_id, \
         p.topic, p.image_key, p.image_width, p.image_height, p.sandbox, ic.id AS ic_id, \
         j.state AS j_state, j.run_after AS j_run_after, j.attempts AS j_attempts \
         FROM posts p LEFT JOIN consent_receipts c ON c.id = p.consent_id \
         LEFT JOIN instagram_connections ic \
           ON ic.owner_id = p.owner_id AND ic.ig_user_id = p.target_ig_user_id \
         LEFT JOIN publish_jobs j ON j.post_id = p.id AND j.owner_id = p.owner_id \
           AND p.status IN ('approved', 'publishing') \
         WHERE p.owner_id = $1 AND ($2 IS NULL OR p.status = $2) \
         AND ($3 IS NULL OR p.created_at < $3 OR (p.created_at = $3 AND p.id < $4)) \
         ORDER BY p.created_at DESC, p.id DESC LIMIT $5"
    };
}

/// [`select_posts_page`] with everything a list shows, in one statement: the media columns
/// of `posts`, the connection (unique per owner and Instagram account) and the publish job
/// (unique per post) joined, so a page costs one statement whatever its size.
async fn select_listed_page(
    conn: &mut Conn,
    owner: UserId,
    status: Option<PostStatus>,
    after: Option<PostCursor>,
    limit: i64,
) -> Result<Vec<ListedPost>, StoreError> {
    sqlx::query_as::<Db, ListedRow>(listed_page!())
        .bind(Id::from(owner))
        .bind(status.map(|s| s.as_str()))
        .bind(after.map(|c| Ts(c.created_at)))
        .bind(after.map(|c| Id(c.id)))
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(ListedPost::try_from)
        .collect()
}

/// The session check of `select_access_state` and [`select_listed_page`] in one statement
/// (`GET /v1/posts` with an access token). The account's row is read once (`MATERIALIZED`,
/// so its live-token count is not evaluated again for every post) and the page is joined to
/// it: one row per post, or one row without a post when the page is empty; no row once the
/// account is purged. `$6` is the session, `$7` the time its tokens must outlive.
pub(super) async fn select_access_posts(
    conn: &mut Conn,
    user: UserId,
    session: SessionId,
    now: DateTime<Utc>,
    page: (Option<PostStatus>, Option<PostCursor>, i64),
) -> Result<(AccessState, Vec<ListedPost>), StoreError> {
    use sqlx::{FromRow as _, Row as _};
    let (status, after, limit) = page;
    let rows = sqlx::query::<Db>(concat!(
        "WITH s AS MATERIALIZED (SELECT u.token_epoch, u.closed_at, u.object_usage_log, \
         (SELECT COUNT(*) FROM refresh_tokens r WHERE r.family_id = $6 AND r.user_id = u.id \
          AND r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > $7) AS live_tokens \
         FROM users u WHERE u.id = $1) \
         SELECT s.token_epoch AS s_token_epoch, s.closed_at AS s_closed_at, \
         s.object_usage_log AS s_object_usage_log, s.live_tokens AS s_live_tokens, l.* \
         FROM s LEFT JOIN (",
        listed_page!(),
        ") l ON 1 = 1 ORDER BY l.created_at DESC, l.id DESC"
    ))
    .bind(Id::from(user))
    .bind(status.map(|s| s.as_str()))
    .bind(after.map(|c| Ts(c.created_at)))
    .bind(after.map(|c| Id(c.id)))
    .bind(limit)
    .bind(Id::from(session))
    .bind(Ts(now))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    let first = rows.first().ok_or(StoreError::NotFound)?;
    let closed_at: Option<Ts> = first.try_get("s_closed_at").map_err(db_error)?;
    let live_tokens: i64 = first.try_get("s_live_tokens").map_err(db_error)?;
    let access = AccessState {
        account: SessionState {
            token_epoch: first.try_get("s_token_epoch").map_err(db_error)?,
            closed: closed_at.is_some(),
            objects_to_usage_log: first.try_get("s_object_usage_log").map_err(db_error)?,
        },
        session_open: live_tokens > 0,
    };
    let mut posts = Vec::with_capacity(rows.len());
    for row in &rows {
        // The row of an empty page joins no post.
        let id: Option<Id> = row.try_get("id").map_err(db_error)?;
        if id.is_some() {
            posts.push(ListedPost::try_from(
                ListedRow::from_row(row).map_err(db_error)?,
            )?);
        }
    }
    Ok((access, posts))
}

/// [`AuthStore::access_posts`](crate::store::ports::AuthStore::access_posts): the session
/// check with a page, or the session check alone for a cursor this store did not produce.
pub(super) async fn access_posts(
    conn: &mut Conn,
    (user, session, now): (UserId, SessionId, DateTime<Utc>),
    status: Option<PostStatus>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<AccessPosts, StoreError> {
    let after = match decode_cursor(cursor) {
        Ok(after) => after,
        Err(invalid) => {
            return Ok(AccessPosts {
                access: super::auth_store::select_access_state(conn, user, session, now).await?,
                page: Err(invalid),
            });
        }
    };
    let limit = limit.clamp(1, MAX_PAGE);
    let (access, mut posts) = select_access_posts(
        conn,
        user,
        session,
        now,
        (status, after, i64::from(limit) + 1),
    )
    .await?;
    let next_cursor = next_cursor(&mut posts, limit, |p| &p.post);
    Ok(AccessPosts {
        access,
        page: Ok(ListedPage { posts, next_cursor }),
    })
}

/// The cursor a page hands out, decoded; [`StoreError::InvalidInput`] for one this store did
/// not produce.
fn decode_cursor(cursor: Option<&str>) -> Result<Option<PostCursor>, StoreError> {
    cursor.map(PostCursor::decode).transpose().map_err(|_| {
        StoreError::InvalidInput("the cursor is not one this server produced".to_owned())
    })
}

/// Cuts a page fetched with one row more than `limit` back to `limit`; the next page's cursor
/// when there is one.
fn next_cursor<T>(
    rows: &mut Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> &PostSnapshot,
) -> Option<String> {
    if rows.len() <= limit as usize {
        return None;
    }
    rows.truncate(limit as usize);
    rows.last().map(|row| {
        let post = key(row);
        PostCursor {
            created_at: post.created_at,
            id: post.id.as_uuid(),
        }
        .encode()
    })
}

/// The owner's posts for `ig_user_id` in either of two statuses (the same one twice for one),
/// oldest first.
async fn select_posts_for_account(
    conn: &mut Conn,
    owner: UserId,
    ig_user_id: &IgUserId,
    statuses: [PostStatus; 2],
) -> Result<Vec<PostSnapshot>, StoreError> {
    sqlx::query_as::<Db, PostRow>(concat!(
        post_select!(),
        " WHERE p.owner_id = $1 AND p.target_ig_user_id = $2 \
         AND (p.status = $3 OR p.status = $4) ORDER BY p.created_at, p.id"
    ))
    .bind(Id::from(owner))
    .bind(ig_user_id.as_str())
    .bind(statuses[0].as_str())
    .bind(statuses[1].as_str())
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .into_iter()
    .map(PostSnapshot::try_from)
    .collect()
}

/// The media of the owner's posts among `ids`, in one statement whatever their number: an
/// `IN` list of bound ids (pages hold at most 100), the same SQL on both engines.
async fn select_posts_media(
    conn: &mut Conn,
    owner: UserId,
    ids: &[PostId],
) -> Result<Vec<(PostId, PostMedia)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::<Db>::new(
        "SELECT id, topic, image_key, image_width, image_height, sandbox FROM posts \
         WHERE owner_id = ",
    );
    query.push_bind(Id::from(owner)).push(" AND id IN (");
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(Id::from(*id));
    }
    query.push(")");
    query
        .build_query_as::<MediaRow>()
        .fetch_all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// The stored status of one of the owner's posts (its name).
async fn select_status(conn: &mut Conn, owner: UserId, id: PostId) -> Result<String, StoreError> {
    sqlx::query_scalar::<Db, String>("SELECT status FROM posts WHERE owner_id = $1 AND id = $2")
        .bind(Id::from(owner))
        .bind(Id::from(id))
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .ok_or(StoreError::NotFound)
}

/// `Stale` when the owner's post exists (it changed since it was read), else `NotFound`.
async fn stale_or_missing(conn: &mut Conn, post: &PostSnapshot) -> StoreError {
    match select_status(conn, post.owner, post.id).await {
        Ok(_) => StoreError::Stale,
        Err(error) => error,
    }
}

/// Saves a post if it is still at its expected `updated_at`, and points it at its consent
/// receipt (recording the receipt when new).
pub(super) async fn update_post(conn: &mut Conn, update: &PostUpdate) -> Result<(), StoreError> {
    let post = &update.post;
    let query = sqlx::query::<Db>(
        "UPDATE posts SET caption = $4, hashtags = $5, alt_text = $6, media_kind = $7, \
         media_digests = $8, target_ig_user_id = $9, status = $10, updated_at = $11, \
         published_at = $12, instagram_media_id = $13, permalink = $14, failure_code = $15, \
         failure_message = $16, failure_retryable = $17, generation_step = $18 \
         WHERE id = $1 AND owner_id = $2 AND updated_at = $3",
    )
    .bind(Id::from(post.id))
    .bind(Id::from(post.owner))
    .bind(Ts(update.expected_updated_at));
    let result = bind_state(bind_content(query, &post.content)?, post)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if result.rows_affected() == 0 {
        return Err(stale_or_missing(conn, post).await);
    }
    link_consent(conn, post).await
}

/// Saves what a publish worker's lifecycle transition changes (status, outcome, failure), if
/// the post is still as it was read; whether it was. Content and consent are never touched by
/// a worker, so they are left out of the statement.
pub(super) async fn update_post_state(
    conn: &mut Conn,
    update: &PostUpdate,
) -> Result<bool, StoreError> {
    let post = &update.post;
    let query = sqlx::query::<Db>(
        "UPDATE posts SET status = $4, updated_at = $5, published_at = $6, \
         instagram_media_id = $7, permalink = $8, failure_code = $9, failure_message = $10, \
         failure_retryable = $11, generation_step = $12 \
         WHERE id = $1 AND owner_id = $2 AND updated_at = $3",
    )
    .bind(Id::from(post.id))
    .bind(Id::from(post.owner))
    .bind(Ts(update.expected_updated_at));
    let result = bind_state(query, post)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected() == 1)
}

/// Records the post's consent receipt (immutable history: an identical click is stored once)
/// and points the post at it; or clears the pointer when the post has no consent.
async fn link_consent(conn: &mut Conn, post: &PostSnapshot) -> Result<(), StoreError> {
    let Some(receipt) = &post.consent else {
        sqlx::query::<Db>("UPDATE posts SET consent_id = NULL WHERE id = $1")
            .bind(Id::from(post.id))
            .execute(conn)
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
         approved_at, ip, user_agent, scheduled_for, api_key_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
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
    .bind(receipt.api_key().map(Id::from))
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
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Deletes the owner's post unless it is publishing; the rows touched.
async fn delete_post(conn: &mut Conn, owner: UserId, id: PostId) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "DELETE FROM posts WHERE owner_id = $1 AND id = $2 AND status <> 'publishing'",
    )
    .bind(Id::from(owner))
    .bind(Id::from(id))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

/// Withdraws every approved or waiting post of the owner (the account is closing), as core's
/// `Post::withdraw`: the consent is void, its receipt stays in history. How many.
pub(super) async fn withdraw_owner_posts(
    conn: &mut Conn,
    owner: UserId,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE posts SET status = 'withdrawn', consent_id = NULL, updated_at = $2 \
         WHERE owner_id = $1 AND status IN ('approved', 'needs_reconnect')",
    )
    .bind(Id::from(owner))
    .bind(Ts(now))
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

async fn select_publishing_load(
    conn: &mut Conn,
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
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok(count_u32(load))
}

#[async_trait]
impl PostStore for ThisStore {
    async fn insert_post(&self, post: &PostSnapshot, media: &PostMedia) -> Result<(), StoreError> {
        if post.consent.is_some() || post.status != PostStatus::Ready {
            return Err(StoreError::Corrupt(
                "a new post starts ready, without consent".to_owned(),
            ));
        }
        insert_post(&mut *self.conn().await?, post, media).await
    }

    async fn post(&self, owner: UserId, id: PostId) -> Result<PostSnapshot, StoreError> {
        select_post(&mut *self.conn().await?, owner, id).await
    }

    async fn list_posts(
        &self,
        owner: UserId,
        status: Option<PostStatus>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<PostPage, StoreError> {
        let after = decode_cursor(cursor.as_deref())?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut posts = select_posts_page(
            &mut *self.conn().await?,
            owner,
            status,
            after,
            i64::from(limit) + 1,
        )
        .await?;
        let next_cursor = next_cursor(&mut posts, limit, |p| p);
        Ok(PostPage { posts, next_cursor })
    }

    async fn list_posts_with_details(
        &self,
        owner: UserId,
        status: Option<PostStatus>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<ListedPage, StoreError> {
        let after = decode_cursor(cursor.as_deref())?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut posts = select_listed_page(
            &mut *self.conn().await?,
            owner,
            status,
            after,
            i64::from(limit) + 1,
        )
        .await?;
        let next_cursor = next_cursor(&mut posts, limit, |p| &p.post);
        Ok(ListedPage { posts, next_cursor })
    }

    async fn post_media(
        &self,
        owner: UserId,
        ids: &[PostId],
    ) -> Result<Vec<(PostId, PostMedia)>, StoreError> {
        select_posts_media(&mut *self.conn().await?, owner, ids).await
    }

    async fn publish_job(
        &self,
        owner: UserId,
        post: PostId,
    ) -> Result<Option<JobView>, StoreError> {
        select_job_view(&mut *self.conn().await?, owner, post).await
    }

    async fn publish_jobs(
        &self,
        owner: UserId,
        posts: &[PostId],
    ) -> Result<Vec<(PostId, JobView)>, StoreError> {
        select_job_views(&mut *self.conn().await?, owner, posts).await
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
        let mut tx = self.begin_write().await?;
        update_post(&mut tx, update).await?;
        let queued = queue_job(&mut tx, update.post.owner, update.post.id, job, true).await?;
        commit(tx).await?;
        Ok(queued)
    }

    async fn ensure_queued(
        &self,
        owner: UserId,
        post: PostId,
        job: &JobRequest,
    ) -> Result<Queued, StoreError> {
        let mut tx = self.begin_write().await?;
        if select_status(&mut tx, owner, post).await? != PostStatus::Approved.as_str() {
            // Publishing started (or finished) meanwhile: the job is the worker's now.
            return Ok(Queued::Unchanged);
        }
        let queued = queue_job(&mut tx, owner, post, job, false).await?;
        commit(tx).await?;
        Ok(queued)
    }

    async fn save_and_unqueue(
        &self,
        update: &PostUpdate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        update_post(&mut tx, update).await?;
        drop_job(&mut tx, update.post.id, now).await?;
        commit(tx).await
    }

    async fn delete_post(
        &self,
        owner: UserId,
        post: PostId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if select_status(&mut tx, owner, post).await? == PostStatus::Publishing.as_str() {
            return Err(job_running());
        }
        drop_job(&mut tx, post, now).await?;
        if delete_post(&mut tx, owner, post).await? == 0 {
            return Err(job_running());
        }
        commit(tx).await
    }

    async fn posts_awaiting_reconnect(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Vec<PostSnapshot>, StoreError> {
        select_posts_for_account(
            &mut *self.conn().await?,
            owner,
            ig_user_id,
            [PostStatus::NeedsReconnect, PostStatus::NeedsReconnect],
        )
        .await
    }

    async fn posts_queued_for(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Vec<PostSnapshot>, StoreError> {
        select_posts_for_account(
            &mut *self.conn().await?,
            owner,
            ig_user_id,
            [PostStatus::Approved, PostStatus::NeedsReconnect],
        )
        .await
    }

    async fn publishing_load(
        &self,
        ig_user_id: &IgUserId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        excluding: PostId,
    ) -> Result<u32, StoreError> {
        select_publishing_load(
            &mut *self.conn().await?,
            ig_user_id,
            since,
            until,
            excluding,
        )
        .await
    }
}
