//! [`NotifyStore`]: the event outbox on `notices`, notification preferences, webhook endpoints
//! and deliveries (issue 15 §2, §3).
//!
//! Claims are one statement each: the row is picked by a sub-select and stamped only if it is
//! still due, so two workers racing for it (PostgreSQL re-checks the condition on the row it
//! waited for) never both take it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{ConnectionId, PostId, StoreError, UserId};
use sqlx::Row as _;
use uuid::Uuid;

use super::billing_store::lock_user;
use super::{Conn, Db, ThisStore, commit, count_u32, db_error, found, small};
use crate::store::ports::{
    ClaimedDelivery, DeliveryResult, NewEvent, NewWebhook, NotifyStore, PendingMail, ScheduledPost,
    SealedWebhookSecret, StoredPreferences, WebhookDelivery, WebhookEndpoint,
};
use crate::store::types::{Id, Ts};

/// `,a,b,` for a list of event names (so `LIKE '%,a,%'` finds a subscriber on both engines).
fn wrap_events(events: &[String]) -> String {
    format!(",{},", events.join(","))
}

fn unwrap_events(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn attempts_of(row: &<Db as sqlx::Database>::Row, column: &str) -> Result<u32, StoreError> {
    let n: i32 = row.try_get(column).map_err(db_error)?;
    Ok(u32::try_from(n.max(0)).unwrap_or(0))
}

async fn insert_event(conn: &mut Conn, event: &NewEvent) -> Result<bool, StoreError> {
    let mail_at = event.mail.then_some(Ts(event.at));
    Ok(sqlx::query::<Db>(
        "INSERT INTO notices (id, user_id, kind, subject_key, body, created_at, link, params, \
         in_app, mail_next_at) \
         SELECT $1, id, $3, $4, $5, $6, $7, $8, $9, $10 FROM users \
         WHERE id = $2 AND closed_at IS NULL \
         ON CONFLICT (user_id, subject_key) DO NOTHING",
    )
    .bind(Id(event.id))
    .bind(Id::from(event.user))
    .bind(&event.kind)
    .bind(&event.key)
    .bind(&event.body)
    .bind(Ts(event.at))
    .bind(&event.link)
    .bind(&event.params)
    .bind(event.in_app)
    .bind(mail_at)
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected()
        > 0)
}

async fn subscribed_endpoints(
    conn: &mut Conn,
    user: UserId,
    kind: &str,
) -> Result<Vec<Uuid>, StoreError> {
    let ids = sqlx::query_scalar::<Db, Id>(
        "SELECT id FROM webhook_endpoints WHERE user_id = $1 AND events LIKE $2 ORDER BY id",
    )
    .bind(Id::from(user))
    .bind(format!("%,{kind},%"))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(ids.into_iter().map(|id| id.0).collect())
}

async fn insert_delivery(
    conn: &mut Conn,
    endpoint: Uuid,
    event: &NewEvent,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO webhook_deliveries (id, endpoint_id, user_id, event_key, event, payload, \
         status, attempts, next_attempt_at, created_at, window_start) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $7) \
         ON CONFLICT (endpoint_id, event_key) DO NOTHING",
    )
    .bind(Id(Uuid::new_v4()))
    .bind(Id(endpoint))
    .bind(Id::from(event.user))
    .bind(&event.key)
    .bind(&event.kind)
    .bind(&event.webhook_payload)
    .bind(Ts(event.at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Records `event` (its notice and one delivery per subscribed endpoint) in the caller's
/// transaction, once per user and key; whether it is new. The publish worker's settlement
/// calls it so that the outcome and its notification commit together.
pub(super) async fn record_event_in(conn: &mut Conn, event: &NewEvent) -> Result<bool, StoreError> {
    if !insert_event(&mut *conn, event).await? {
        return Ok(false);
    }
    for endpoint in subscribed_endpoints(&mut *conn, event.user, &event.kind).await? {
        insert_delivery(&mut *conn, endpoint, event).await?;
    }
    Ok(true)
}

async fn claim_mail(
    conn: &mut Conn,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<PendingMail>, StoreError> {
    let row = sqlx::query::<Db>(
        "UPDATE notices SET mail_next_at = $2, mail_attempts = mail_attempts + 1 \
         WHERE id = (SELECT id FROM notices WHERE mail_next_at <= $1 \
         ORDER BY mail_next_at, id LIMIT 1) AND mail_next_at <= $1 \
         RETURNING id, user_id, kind, link, params, mail_attempts",
    )
    .bind(Ts(now))
    .bind(Ts(lease_until))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    row.map(|row| {
        let id: Id = row.try_get("id").map_err(db_error)?;
        let user: Id = row.try_get("user_id").map_err(db_error)?;
        Ok(PendingMail {
            id: id.0,
            user: UserId::from_uuid(user.0),
            kind: row.try_get("kind").map_err(db_error)?,
            link: row.try_get("link").map_err(db_error)?,
            params: row.try_get("params").map_err(db_error)?,
            attempts: attempts_of(&row, "mail_attempts")?,
        })
    })
    .transpose()
}

async fn select_scheduled(
    conn: &mut Conn,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<ScheduledPost>, StoreError> {
    let rows = sqlx::query::<Db>(
        "SELECT p.id, p.owner_id, c.scheduled_for FROM posts p \
         JOIN consent_receipts c ON c.id = p.consent_id \
         JOIN users u ON u.id = p.owner_id \
         WHERE p.status = 'approved' AND u.closed_at IS NULL \
         AND c.scheduled_for > $1 AND c.scheduled_for <= $2 \
         ORDER BY c.scheduled_for, p.id LIMIT $3",
    )
    .bind(Ts(after))
    .bind(Ts(until))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            let post: Id = row.try_get("id").map_err(db_error)?;
            let owner: Id = row.try_get("owner_id").map_err(db_error)?;
            let at: Ts = row.try_get("scheduled_for").map_err(db_error)?;
            Ok(ScheduledPost {
                post: PostId::from_uuid(post.0),
                owner: UserId::from_uuid(owner.0),
                scheduled_for: at.0,
            })
        })
        .collect()
}

fn delivery_from(row: &<Db as sqlx::Database>::Row) -> Result<WebhookDelivery, StoreError> {
    let id: Id = row.try_get("id").map_err(db_error)?;
    let next: Option<Ts> = row.try_get("next_attempt_at").map_err(db_error)?;
    let last_status: Option<i32> = row.try_get("last_status").map_err(db_error)?;
    let created: Ts = row.try_get("created_at").map_err(db_error)?;
    let completed: Option<Ts> = row.try_get("completed_at").map_err(db_error)?;
    Ok(WebhookDelivery {
        id: id.0,
        event: row.try_get("event").map_err(db_error)?,
        status: row.try_get("status").map_err(db_error)?,
        attempts: attempts_of(row, "attempts")?,
        next_attempt_at: next.map(|t| t.0),
        last_status: last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error").map_err(db_error)?,
        created_at: created.0,
        completed_at: completed.map(|t| t.0),
    })
}

macro_rules! delivery_columns {
    () => {
        "id, event, status, attempts, next_attempt_at, last_status, last_error, created_at, \
         completed_at"
    };
}

async fn endpoint_is_users(conn: &mut Conn, user: UserId, id: Uuid) -> Result<(), StoreError> {
    let n = sqlx::query_scalar::<Db, i64>(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE id = $1 AND user_id = $2",
    )
    .bind(Id(id))
    .bind(Id::from(user))
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    found(u64::try_from(n).unwrap_or(0))
}

#[async_trait]
impl NotifyStore for ThisStore {
    async fn record_event(&self, event: &NewEvent) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !record_event_in(&mut tx, event).await? {
            return Ok(false);
        }
        commit(tx).await?;
        Ok(true)
    }

    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<PendingMail>, StoreError> {
        claim_mail(&mut *self.conn().await?, now, lease_until).await
    }

    async fn mail_sent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query::<Db>("UPDATE notices SET mailed_at = $2, mail_next_at = NULL WHERE id = $1")
            .bind(Id(id))
            .bind(Ts(at))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn mail_failed(
        &self,
        id: Uuid,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query::<Db>("UPDATE notices SET mail_next_at = $2 WHERE id = $1")
            .bind(Id(id))
            .bind(retry_at.map(Ts))
            .execute(&mut *self.conn().await?)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn scheduled_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledPost>, StoreError> {
        select_scheduled(&mut *self.conn().await?, after, until, limit).await
    }

    async fn meta_user_connections(
        &self,
        meta_user_hash: &str,
    ) -> Result<Vec<(UserId, ConnectionId)>, StoreError> {
        let rows = sqlx::query::<Db>(
            "SELECT c.owner_id, c.id FROM instagram_connections c \
             JOIN users u ON u.id = c.owner_id \
             WHERE c.meta_user_hash = $1 AND c.sealed_token IS NOT NULL \
             AND u.closed_at IS NULL ORDER BY c.id",
        )
        .bind(meta_user_hash)
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let owner: Id = row.try_get("owner_id").map_err(db_error)?;
                let id: Id = row.try_get("id").map_err(db_error)?;
                Ok((UserId::from_uuid(owner.0), ConnectionId::from_uuid(id.0)))
            })
            .collect()
    }

    async fn preferences(&self, user: UserId) -> Result<Option<StoredPreferences>, StoreError> {
        let row = sqlx::query::<Db>(
            "SELECT time_zone, channels FROM notification_preferences WHERE user_id = $1",
        )
        .bind(Id::from(user))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        row.map(|row| {
            Ok(StoredPreferences {
                time_zone: row.try_get("time_zone").map_err(db_error)?,
                channels: row.try_get("channels").map_err(db_error)?,
            })
        })
        .transpose()
    }

    async fn set_preferences(
        &self,
        user: UserId,
        preferences: &StoredPreferences,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query::<Db>(
            "INSERT INTO notification_preferences (user_id, time_zone, channels, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
             time_zone = excluded.time_zone, channels = excluded.channels, \
             updated_at = excluded.updated_at",
        )
        .bind(Id::from(user))
        .bind(&preferences.time_zone)
        .bind(&preferences.channels)
        .bind(Ts(at))
        .execute(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn create_webhook(&self, webhook: &NewWebhook, max: u32) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !lock_user(&mut tx, webhook.user).await? {
            return Err(StoreError::NotFound);
        }
        let count = sqlx::query_scalar::<Db, i64>(
            "SELECT COUNT(*) FROM webhook_endpoints WHERE user_id = $1",
        )
        .bind(Id::from(webhook.user))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        if count_u32(count) >= max {
            return Err(StoreError::Conflict {
                constraint: "webhook_limit".to_owned(),
            });
        }
        sqlx::query::<Db>(
            "INSERT INTO webhook_endpoints (id, user_id, url, events, sealed_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Id(webhook.id))
        .bind(Id::from(webhook.user))
        .bind(&webhook.url)
        .bind(wrap_events(&webhook.events))
        .bind(&webhook.sealed_secret)
        .bind(Ts(webhook.created_at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        commit(tx).await
    }

    async fn webhooks(&self, user: UserId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let rows = sqlx::query::<Db>(
            "SELECT id, url, events, created_at FROM webhook_endpoints WHERE user_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(Id::from(user))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let id: Id = row.try_get("id").map_err(db_error)?;
                let events: String = row.try_get("events").map_err(db_error)?;
                let created: Ts = row.try_get("created_at").map_err(db_error)?;
                Ok(WebhookEndpoint {
                    id: id.0,
                    url: row.try_get("url").map_err(db_error)?,
                    events: unwrap_events(&events),
                    created_at: created.0,
                })
            })
            .collect()
    }

    async fn delete_webhook(&self, user: UserId, id: Uuid) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        endpoint_is_users(&mut tx, user, id).await?;
        // Explicitly, not only by the foreign key: SQLite enforces cascades only when the
        // connection enabled them.
        sqlx::query::<Db>("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(Id(id))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let rows =
            sqlx::query::<Db>("DELETE FROM webhook_endpoints WHERE id = $1 AND user_id = $2")
                .bind(Id(id))
                .bind(Id::from(user))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
        found(rows)?;
        commit(tx).await
    }

    async fn deliveries(
        &self,
        user: UserId,
        endpoint: Uuid,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let mut conn = self.conn().await?;
        endpoint_is_users(&mut conn, user, endpoint).await?;
        let rows = sqlx::query::<Db>(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM webhook_deliveries WHERE endpoint_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(Id(endpoint))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        rows.iter().map(delivery_from).collect()
    }

    async fn resend_delivery(
        &self,
        user: UserId,
        endpoint: Uuid,
        delivery: Uuid,
        now: DateTime<Utc>,
    ) -> Result<WebhookDelivery, StoreError> {
        let row = sqlx::query::<Db>(concat!(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $4, \
             window_start = $4, completed_at = NULL \
             WHERE id = $1 AND endpoint_id = $2 AND user_id = $3 \
             AND (status <> 'pending' OR next_attempt_at <= $4) RETURNING ",
            delivery_columns!()
        ))
        .bind(Id(delivery))
        .bind(Id(endpoint))
        .bind(Id::from(user))
        .bind(Ts(now))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        match row {
            Some(row) => delivery_from(&row),
            // Not the user's, or already pending (then it goes out anyway): say which.
            None => {
                let rows = sqlx::query::<Db>(concat!(
                    "SELECT ",
                    delivery_columns!(),
                    " FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2 AND user_id = $3"
                ))
                .bind(Id(delivery))
                .bind(Id(endpoint))
                .bind(Id::from(user))
                .fetch_optional(&mut *self.conn().await?)
                .await
                .map_err(db_error)?;
                rows.as_ref()
                    .map(delivery_from)
                    .transpose()?
                    .ok_or(StoreError::NotFound)
            }
        }
    }

    async fn claim_delivery(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedDelivery>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query::<Db>(
            "UPDATE webhook_deliveries SET next_attempt_at = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT 1) \
             AND status = 'pending' AND next_attempt_at <= $1 \
             RETURNING id, endpoint_id, user_id, event, payload, attempts, window_start",
        )
        .bind(Ts(now))
        .bind(Ts(lease_until))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: Id = row.try_get("id").map_err(db_error)?;
        let endpoint: Id = row.try_get("endpoint_id").map_err(db_error)?;
        let user: Id = row.try_get("user_id").map_err(db_error)?;
        let window: Ts = row.try_get("window_start").map_err(db_error)?;
        let target =
            sqlx::query::<Db>("SELECT url, sealed_secret FROM webhook_endpoints WHERE id = $1")
                .bind(endpoint)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        let claimed = ClaimedDelivery {
            id: id.0,
            endpoint: endpoint.0,
            user: UserId::from_uuid(user.0),
            event: row.try_get("event").map_err(db_error)?,
            url: target.try_get("url").map_err(db_error)?,
            sealed_secret: target.try_get("sealed_secret").map_err(db_error)?,
            payload: row.try_get("payload").map_err(db_error)?,
            attempts: attempts_of(&row, "attempts")?,
            window_start: window.0,
        };
        commit(tx).await?;
        Ok(Some(claimed))
    }

    async fn sealed_webhook_secrets_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<SealedWebhookSecret>, StoreError> {
        let rows = sqlx::query::<Db>(
            "SELECT id, user_id, sealed_secret FROM webhook_endpoints \
             WHERE $1 IS NULL OR id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.map(Id))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let id: Id = row.try_get("id").map_err(db_error)?;
                let owner: Id = row.try_get("user_id").map_err(db_error)?;
                Ok(SealedWebhookSecret {
                    id: id.0,
                    owner: UserId::from_uuid(owner.0),
                    sealed: row.try_get("sealed_secret").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn replace_webhook_secret(
        &self,
        id: Uuid,
        current: &[u8],
        resealed: &[u8],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query::<Db>(
            "UPDATE webhook_endpoints SET sealed_secret = $3 WHERE id = $1 AND sealed_secret = $2",
        )
        .bind(Id(id))
        .bind(current)
        .bind(resealed)
        .execute(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn settle_delivery(&self, id: Uuid, result: &DeliveryResult) -> Result<(), StoreError> {
        let completed = (result.status != "pending").then_some(Ts(result.at));
        sqlx::query::<Db>(
            "UPDATE webhook_deliveries SET status = $2, next_attempt_at = $3, last_status = $4, \
             last_error = $5, completed_at = $6 WHERE id = $1",
        )
        .bind(Id(id))
        .bind(result.status)
        .bind(result.next_attempt_at.map(Ts))
        .bind(result.last_status.map(i32::from))
        .bind(&result.last_error)
        .bind(completed)
        .execute(&mut *self.conn().await?)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn purge_expired(
        &self,
        deliveries_before: DateTime<Utc>,
        notices_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let limit = i64::from(small(limit)?);
        let deliveries = sqlx::query::<Db>(
            "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries \
             WHERE created_at < $1 AND status <> 'pending' ORDER BY created_at LIMIT $2)",
        )
        .bind(Ts(deliveries_before))
        .bind(limit)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected();
        let notices = sqlx::query::<Db>(
            "DELETE FROM notices WHERE id IN (SELECT id FROM notices \
             WHERE created_at < $1 AND mail_next_at IS NULL AND kind IN ('published', \
             'publish_failed', 'needs_reconnect', 'scheduled_soon', 'quota_80', 'quota_100', \
             'generation_failed') \
             ORDER BY created_at LIMIT $2)",
        )
        .bind(Ts(notices_before))
        .bind(limit)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected();
        Ok(deliveries + notices)
    }
}
