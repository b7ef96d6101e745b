//! Personal API keys (issue 15 §3), stored only as their SHA-256 with a short visible prefix.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{ApiKeyId, StoreError, UserId};

use super::TokenHash;

/// A key's stored description: everything but the key (which is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Its id.
    pub id: ApiKeyId,
    /// Its owner.
    pub user: UserId,
    /// The owner's name for it.
    pub name: String,
    /// The first characters of the key (`ks_` and eight more), to tell keys apart.
    pub prefix: String,
    /// Its scopes, space-separated as stored (`posts:read posts:publish`).
    pub scopes: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The key's description (`last_used_at` is ignored).
    pub record: ApiKeyRecord,
    /// SHA-256 of the key.
    pub hash: TokenHash,
}

/// What a request presenting a key finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyAccess {
    /// The key.
    pub key: ApiKeyRecord,
    /// Whether its account is closed (every request refused).
    pub closed: bool,
    /// Whether the owner objects to usage logging (P31).
    pub objects_to_usage_log: bool,
}

/// What storing a new key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCreation {
    /// Stored.
    Created,
    /// The account already has `limit` keys; nothing stored.
    LimitReached,
    /// The account is closed or gone; nothing stored.
    AccountClosed,
}

/// Personal API keys.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores `key` unless its owner already has `limit` keys or is closed. Counting and
    /// inserting are one transaction that locks the owner's row, so concurrent creations
    /// cannot pass the limit together.
    async fn create_api_key(&self, key: &NewApiKey, limit: u32) -> Result<KeyCreation, StoreError>;

    /// The user's keys, newest first.
    async fn api_keys(&self, user: UserId) -> Result<Vec<ApiKeyRecord>, StoreError>;

    /// Deletes the user's key; whether it existed (another user's key is not found).
    async fn delete_api_key(&self, user: UserId, id: ApiKeyId) -> Result<bool, StoreError>;

    /// The key whose hash is `presented`, with its account's state; `None` for an unknown or
    /// revoked key. Marks it used at `now` when its last use is older than a minute (one write
    /// a minute per key, not one per request).
    async fn api_key_access(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKeyAccess>, StoreError>;
}
