//! Storage of the Instagram connection flow: one-time OAuth `state` values, connections with
//! their sealed tokens, and the needs-reconnect bookkeeping the publish worker uses.
//!
//! Implemented once for both engines in `flow_queries.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::Connection;
use kraftsoci_core::{ConnectionId, IgUserId, StoreError, UserId};

use super::posts_flow::PostUpdate;

/// A one-time OAuth `state`, stored only as its SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOAuthState {
    /// Hex SHA-256 of the state value sent to the login dialog.
    pub state_hash: String,
    /// The user who started the connection.
    pub user: UserId,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Connections, OAuth states and the reconnect bookkeeping (P03, P08, P10, P15, P22).
#[async_trait]
pub trait InstagramStore: Send + Sync {
    /// Records a new OAuth state.
    async fn insert_oauth_state(&self, state: &NewOAuthState) -> Result<(), StoreError>;

    /// Spends a state: marks it used if it exists, was never used and has not expired at `now`,
    /// and returns its user. Atomic, so a state works once even under concurrent callbacks;
    /// `None` for an unknown, expired or already used state.
    async fn consume_oauth_state(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError>;

    /// The user's connection to `ig_user_id`, if any.
    async fn connection_by_ig_user(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Option<Connection>, StoreError>;

    /// Creates or refreshes a connection (unique per owner and Instagram account) with its
    /// sealed token and the id of the key that sealed it, status `active`. The stored row is
    /// returned (its id is the existing one on a refresh).
    async fn save_connection(
        &self,
        connection: &Connection,
        sealed_token: &[u8],
        key_version: u32,
    ) -> Result<Connection, StoreError>;

    /// Meta answered that the token is invalid (code 190): the connection needs a reconnect.
    /// Called by the publish worker. [`StoreError::NotFound`] when it is not the owner's.
    async fn mark_needs_reconnect(
        &self,
        owner: UserId,
        connection: ConnectionId,
    ) -> Result<(), StoreError>;

    /// Disconnects (P15): in one transaction, saves the posts that were waiting to be
    /// published to this account (withdrawn by the caller), drops their publish jobs that no
    /// worker holds, and deletes the connection with its token.
    ///
    /// [`StoreError::Stale`] when a post changed meanwhile, [`StoreError::Conflict`]
    /// (`publish_jobs_running`) when a worker is publishing one of them right now,
    /// [`StoreError::NotFound`] when the connection is not the owner's.
    async fn disconnect(
        &self,
        owner: UserId,
        connection: ConnectionId,
        withdrawn: &[PostUpdate],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
