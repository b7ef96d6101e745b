//! One-time OAuth `state` values of the Instagram connection flow (P08), stored only as their
//! SHA-256.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{StoreError, UserId};

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

/// OAuth states.
#[async_trait]
pub trait OAuthStateStore: Send + Sync {
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
}
