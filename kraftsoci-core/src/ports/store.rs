//! Storage ports implemented by the server's sqlx stores (PostgreSQL and SQLite).
//!
//! Every method that reads or writes a user's object takes the owner's [`UserId`], so that a
//! query can never reach another tenant's row: another user's object is simply not found.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    BusinessName, BusinessProfile, ConnectionId, Email, IgUserId, Objections, PersonName, PostId,
    PostSnapshot, PostStatus, Restrictions, Sector, UserId,
};

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such row (or not the caller's).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write (named, e.g. `users_email_key`).
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint's name.
        constraint: String,
    },
    /// A concurrent change won (optimistic check failed).
    #[error("the row changed concurrently")]
    Stale,
    /// Stored data could not be read back into domain types.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database is unreachable or failed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// The account's display and UI preferences (P36: functional storage only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// UI language.
    pub language: crate::Language,
    /// UI theme: `light`, `dark` or `system`.
    pub theme: Theme,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            language: crate::Language::english(),
            theme: Theme::System,
        }
    }
}

/// UI theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Light.
    Light,
    /// Dark.
    Dark,
    /// Follow the system.
    System,
}

/// An account (P01): exactly the fields the policy lists, plus settings the user controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The id.
    pub id: UserId,
    /// The person's name.
    pub name: PersonName,
    /// Login email.
    pub email: Email,
    /// Business name.
    pub business_name: BusinessName,
    /// Sector.
    pub sector: Sector,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// UI preferences.
    pub preferences: Preferences,
    /// Paused processing (P29).
    pub restrictions: Restrictions,
    /// Objections (P31).
    pub objections: Objections,
    /// The privacy-policy version last accepted (P38).
    pub accepted_policy_version: String,
    /// When the account was closed (P19), if it was.
    pub closed_at: Option<DateTime<Utc>>,
}

/// Accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Reads an open or closed account.
    async fn account(&self, id: UserId) -> Result<Account, StoreError>;
    /// Saves the mutable fields of an account.
    async fn update_account(&self, account: &Account) -> Result<(), StoreError>;
}

/// Business profiles (P02).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// The user's profile, if set.
    async fn profile(&self, user: UserId) -> Result<Option<BusinessProfile>, StoreError>;
    /// Creates or replaces the profile.
    async fn put_profile(&self, user: UserId, profile: &BusinessProfile) -> Result<(), StoreError>;
}

/// A connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// The token works.
    Active,
    /// Meta said the token is invalid (190): the owner must reconnect.
    NeedsReconnect,
}

/// A connected Instagram business account (P03): no other Meta data is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Our id.
    pub id: ConnectionId,
    /// The owner.
    pub owner: UserId,
    /// Instagram's user id.
    pub ig_user_id: IgUserId,
    /// The Facebook Page's name.
    pub page_name: String,
    /// The state.
    pub status: ConnectionStatus,
    /// When the token expires (`None`: a Page token that does not expire).
    pub token_expires_at: Option<DateTime<Utc>>,
    /// When connected.
    pub created_at: DateTime<Utc>,
}

/// Instagram connections and their encrypted tokens (P03, P10, P15, P22).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// The user's connections.
    async fn connections(&self, owner: UserId) -> Result<Vec<Connection>, StoreError>;
    /// One of the user's connections.
    async fn connection(&self, owner: UserId, id: ConnectionId) -> Result<Connection, StoreError>;
    /// The encrypted token of a connection (vault format).
    async fn sealed_token(&self, owner: UserId, id: ConnectionId) -> Result<Vec<u8>, StoreError>;
    /// Creates or refreshes a connection (unique per owner and Instagram id) with its sealed
    /// token; returns the stored connection.
    async fn upsert_connection(
        &self,
        connection: &Connection,
        sealed_token: &[u8],
    ) -> Result<Connection, StoreError>;
    /// Sets a connection's status.
    async fn set_connection_status(
        &self,
        owner: UserId,
        id: ConnectionId,
        status: ConnectionStatus,
    ) -> Result<(), StoreError>;
    /// Deletes a connection and its token (P15).
    async fn delete_connection(&self, owner: UserId, id: ConnectionId) -> Result<(), StoreError>;
}

/// A page of posts, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPage {
    /// The posts.
    pub posts: Vec<PostSnapshot>,
    /// The cursor for the next page.
    pub next_cursor: Option<String>,
}

/// Posts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PostStore: Send + Sync {
    /// Inserts a new post.
    async fn insert_post(&self, post: &PostSnapshot) -> Result<(), StoreError>;
    /// One of the user's posts.
    async fn post(&self, owner: UserId, id: PostId) -> Result<PostSnapshot, StoreError>;
    /// Saves a post if it is still at `expected_updated_at` (optimistic concurrency), else
    /// [`StoreError::Stale`].
    async fn save_post(
        &self,
        post: &PostSnapshot,
        expected_updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The user's posts, newest first.
    async fn list_posts(
        &self,
        owner: UserId,
        status: Option<PostStatus>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<PostPage, StoreError>;
    /// Deletes one of the user's posts (P16).
    async fn delete_post(&self, owner: UserId, id: PostId) -> Result<(), StoreError>;
}

/// One usage-log entry (P06). Never a body or a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// Who (none for anonymous requests).
    pub user: Option<UserId>,
    /// HTTP method or action name.
    pub method: String,
    /// Route template (`/v1/posts/{id}`), never the raw path.
    pub route: String,
    /// HTTP status.
    pub status: u16,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Whether the event is security-relevant (kept even while the user objects, P31).
    pub security: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// The usage log.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UsageLogStore: Send + Sync {
    /// Appends an event.
    async fn append(&self, event: &UsageEvent) -> Result<(), StoreError>;
}
