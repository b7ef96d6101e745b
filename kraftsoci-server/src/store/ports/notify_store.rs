//! Notifications to the owner and outbound webhooks (issue 15 §2, §3): the event outbox (each
//! event one row of `notices`, keyed by its stable id), the owner's channel choices, webhook
//! endpoints and their deliveries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{ConnectionId, PostId, StoreError, UserId};
use uuid::Uuid;

/// An event to record once per user and `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The notice's id, if it is created (also the webhook payload's `id`).
    pub id: Uuid,
    /// Whom it is for.
    pub user: UserId,
    /// The event's name (`published`, `quota_80`…).
    pub kind: String,
    /// The event's stable id (`published:{post}`): recorded once, however often it is raised.
    pub key: String,
    /// The notice's text, in the owner's language.
    pub body: String,
    /// Where the owner can act (a permalink, the post in the app).
    pub link: Option<String>,
    /// The details the mail is written from (a JSON object of strings).
    pub params: String,
    /// Whether the notice shows in the app.
    pub in_app: bool,
    /// Whether a mail is to be sent (then it is due at `at`).
    pub mail: bool,
    /// The webhook body for endpoints subscribed to `kind` (JSON).
    pub webhook_payload: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A notice mail claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMail {
    /// The notice.
    pub id: Uuid,
    /// Whom it is for.
    pub user: UserId,
    /// The event's name.
    pub kind: String,
    /// The notice's link.
    pub link: Option<String>,
    /// The event's details (a JSON object of strings).
    pub params: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// An approved post whose scheduled time is near.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledPost {
    /// The post.
    pub post: PostId,
    /// Its owner.
    pub owner: UserId,
    /// When it goes out.
    pub scheduled_for: DateTime<Utc>,
}

/// An owner's stored notification choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreferences {
    /// An IANA time-zone name.
    pub time_zone: String,
    /// The channel choices as JSON (`{"published": {"mail": true, "in_app": true}}`).
    pub channels: String,
}

/// A webhook endpoint to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Its id.
    pub id: Uuid,
    /// Its owner.
    pub user: UserId,
    /// The HTTPS URL deliveries go to.
    pub url: String,
    /// The event names it wants.
    pub events: Vec<String>,
    /// The signing secret, sealed with the token vault.
    pub sealed_secret: Vec<u8>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored webhook endpoint (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Its id.
    pub id: Uuid,
    /// The URL.
    pub url: String,
    /// The event names it wants.
    pub events: Vec<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// A delivery's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Its id.
    pub id: Uuid,
    /// The event's name.
    pub event: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt, when one answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it succeeded or was given up.
    pub completed_at: Option<DateTime<Utc>>,
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery.
    pub id: Uuid,
    /// The endpoint.
    pub endpoint: Uuid,
    /// The endpoint's owner.
    pub user: UserId,
    /// The event's name.
    pub event: String,
    /// Where it goes.
    pub url: String,
    /// The sealed signing secret.
    pub sealed_secret: Vec<u8>,
    /// The body.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Where the retry window started.
    pub window_start: DateTime<Utc>,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryResult {
    /// `succeeded`, `failed`, or `pending` (retry at `next_attempt_at`).
    pub status: &'static str,
    /// When to try again, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status, when the endpoint answered.
    pub last_status: Option<u16>,
    /// Why it failed.
    pub last_error: Option<String>,
    /// Now.
    pub at: DateTime<Utc>,
}

/// A webhook endpoint's sealed signing secret, for `rotate-key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedWebhookSecret {
    /// The endpoint.
    pub id: Uuid,
    /// Its owner (part of the secret's sealing context).
    pub owner: UserId,
    /// The secret, sealed with the token vault.
    pub sealed: Vec<u8>,
}

/// The notification outbox, preferences and webhooks.
#[async_trait]
pub trait NotifyStore: Send + Sync {
    /// Records the event unless the user already has one with its key, or the account is
    /// closed, together with one pending delivery per webhook endpoint of the user subscribed
    /// to its kind (one transaction). `true` when it was recorded now.
    async fn record_event(&self, event: &NewEvent) -> Result<bool, StoreError>;

    /// Claims the earliest due notice mail: it is not due again before `lease_until`.
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<PendingMail>, StoreError>;

    /// Records the mail as sent (nothing more is due).
    async fn mail_sent(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a failed attempt: due again at `retry_at`, or never (`None`: given up).
    async fn mail_failed(
        &self,
        id: Uuid,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Approved posts of open accounts scheduled in `(after, until]`, at most `limit`.
    async fn scheduled_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledPost>, StoreError>;

    /// The open accounts' connections made by a Meta user (by the hash of its app-scoped
    /// id) that still hold a token: whom Meta's deauthorisation cuts off.
    async fn meta_user_connections(
        &self,
        meta_user_hash: &str,
    ) -> Result<Vec<(UserId, ConnectionId)>, StoreError>;

    /// The user's stored choices, if any were saved.
    async fn preferences(&self, user: UserId) -> Result<Option<StoredPreferences>, StoreError>;

    /// Saves the user's choices.
    async fn set_preferences(
        &self,
        user: UserId,
        preferences: &StoredPreferences,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Creates an endpoint unless the user has `max` already:
    /// [`StoreError::Conflict`] on `webhook_limit` then.
    async fn create_webhook(&self, webhook: &NewWebhook, max: u32) -> Result<(), StoreError>;

    /// The user's endpoints, oldest first.
    async fn webhooks(&self, user: UserId) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Deletes one of the user's endpoints and its deliveries; [`StoreError::NotFound`] when it
    /// is not the user's.
    async fn delete_webhook(&self, user: UserId, id: Uuid) -> Result<(), StoreError>;

    /// An endpoint's deliveries, newest first, at most `limit`; [`StoreError::NotFound`] when
    /// the endpoint is not the user's.
    async fn deliveries(
        &self,
        user: UserId,
        endpoint: Uuid,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;

    /// Makes a delivery due again at `now` with a fresh 24-hour window (a re-send);
    /// [`StoreError::NotFound`] when it is not the user's endpoint's.
    async fn resend_delivery(
        &self,
        user: UserId,
        endpoint: Uuid,
        delivery: Uuid,
        now: DateTime<Utc>,
    ) -> Result<WebhookDelivery, StoreError>;

    /// Claims the earliest due delivery for one attempt, leased until `lease_until`.
    async fn claim_delivery(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedDelivery>, StoreError>;

    /// Records an attempt's result.
    async fn settle_delivery(&self, id: Uuid, result: &DeliveryResult) -> Result<(), StoreError>;

    /// The sealed signing secrets of the endpoints after `after` (by id), at most `limit`:
    /// `rotate-key` pages through them.
    async fn sealed_webhook_secrets_after(
        &self,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<SealedWebhookSecret>, StoreError>;

    /// Replaces endpoint `id`'s sealed secret with `resealed` if it is still `current`;
    /// `false` when it changed (or the endpoint went) meanwhile.
    async fn replace_webhook_secret(
        &self,
        id: Uuid,
        current: &[u8],
        resealed: &[u8],
    ) -> Result<bool, StoreError>;

    /// Deletes deliveries created before `deliveries_before` and event notices (not policy
    /// notices) created before `notices_before`, at most `limit` of each; the rows deleted.
    async fn purge_expired(
        &self,
        deliveries_before: DateTime<Utc>,
        notices_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;
}
