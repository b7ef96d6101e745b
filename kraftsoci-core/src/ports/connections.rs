//! Instagram connections (P03): a connected business account and its sealed token, nothing
//! else of Meta's data.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PostUpdate;
use crate::{ConnectionId, IgUserId, ParseError, StoreError, UserId};

/// A connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// The token works.
    Active,
    /// Meta said the token is invalid (190): the owner must reconnect.
    NeedsReconnect,
}

impl ConnectionStatus {
    /// Every status, for exhaustive tests and documentation.
    pub const ALL: [ConnectionStatus; 2] = [Self::Active, Self::NeedsReconnect];

    /// The stable name used in storage and the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsReconnect => "needs_reconnect",
        }
    }

    /// Parses [`ConnectionStatus::as_str`]'s output; a store refuses a row whose status this
    /// version does not know with this error instead of guessing.
    ///
    /// ```
    /// use kraftsoci_core::ports::ConnectionStatus;
    ///
    /// assert_eq!(ConnectionStatus::parse("needs_reconnect"), Ok(ConnectionStatus::NeedsReconnect));
    /// assert_eq!(ConnectionStatus::parse("revoked").unwrap_err().field(), "status");
    /// ```
    ///
    /// # Errors
    /// [`ParseError`] on field `status` for a name that is not one of [`Self::ALL`].
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| ParseError::new("status", "unknown connection status"))
    }
}

impl std::fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ConnectionStatus {
    type Err = ParseError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
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

/// A stored, sealed token with what its associated data is bound to (for key rotation, P22).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedToken {
    /// The connection holding it.
    pub connection: ConnectionId,
    /// Its owner.
    pub owner: UserId,
    /// The Instagram account it publishes to.
    pub ig_user_id: IgUserId,
    /// The vault's ciphertext.
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for SealedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Ciphertext is not secret, but nothing is gained by printing it.
        f.debug_struct("SealedToken")
            .field("connection", &self.connection)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// Instagram connections and their encrypted tokens (P03, P10, P15, P22, P34).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// The user's connections, oldest first.
    async fn connections(&self, owner: UserId) -> Result<Vec<Connection>, StoreError>;

    /// One of the user's connections.
    async fn connection(&self, owner: UserId, id: ConnectionId) -> Result<Connection, StoreError>;

    /// The user's connection to `ig_user_id`, if any.
    async fn connection_by_ig_user(
        &self,
        owner: UserId,
        ig_user_id: &IgUserId,
    ) -> Result<Option<Connection>, StoreError>;

    /// The encrypted token of a connection (vault format); [`StoreError::NotFound`] when the
    /// connection is not the owner's or its token was removed.
    async fn sealed_token(&self, owner: UserId, id: ConnectionId) -> Result<Vec<u8>, StoreError>;

    /// Creates or refreshes a connection (unique per owner and Instagram account) with its
    /// sealed token and the id of the key that sealed it. The stored row is returned (its id
    /// and creation time are the existing ones on a refresh).
    async fn save_connection(
        &self,
        connection: &Connection,
        sealed_token: &[u8],
        key_version: u32,
    ) -> Result<Connection, StoreError>;

    /// Meta answered that the token is invalid (code 190): the connection needs a reconnect.
    /// [`StoreError::NotFound`] when it is not the owner's.
    async fn mark_needs_reconnect(&self, owner: UserId, id: ConnectionId)
    -> Result<(), StoreError>;

    /// Disconnects (P15): in one transaction, saves the posts that were waiting to be
    /// published to this account (withdrawn by the caller), drops their publish jobs that no
    /// worker holds, and deletes the connection with its token.
    ///
    /// [`StoreError::Stale`] when a post changed meanwhile, [`StoreError::Conflict`]
    /// ([`JOB_RUNNING`](super::JOB_RUNNING)) when a worker is publishing one of them right now,
    /// [`StoreError::NotFound`] when the connection is not the owner's.
    async fn disconnect(
        &self,
        owner: UserId,
        id: ConnectionId,
        withdrawn: &[PostUpdate],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records the hashed app-scoped Meta user id of whoever made a connection, so Meta's
    /// callbacks can find it (P15, P34). [`StoreError::NotFound`] when it is not the owner's.
    async fn set_meta_user_hash(
        &self,
        owner: UserId,
        id: ConnectionId,
        meta_user_hash: &str,
    ) -> Result<(), StoreError>;

    /// The accounts (open or closed) with a connection made by this Meta user.
    async fn accounts_of_meta_user(&self, meta_user_hash: &str) -> Result<Vec<UserId>, StoreError>;

    /// Deletes the Instagram tokens of every connection this Meta user made (P15); returns
    /// how many were removed. The connections stay, needing a reconnect.
    async fn remove_meta_user_tokens(&self, meta_user_hash: &str) -> Result<u64, StoreError>;

    /// Up to `limit` connections holding a token, after `after`, in id order (key rotation).
    async fn sealed_tokens_after(
        &self,
        after: Option<ConnectionId>,
        limit: u32,
    ) -> Result<Vec<SealedToken>, StoreError>;

    /// Replaces a connection's token with `resealed` if it still holds `current` (a reconnect
    /// in between wins); returns whether it was replaced.
    async fn replace_sealed_token(
        &self,
        id: ConnectionId,
        current: &[u8],
        resealed: &[u8],
        key_version: u32,
    ) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_parses_back_from_its_stored_name_and_matches_serde() {
        for status in ConnectionStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(status.as_str())
            );
        }
    }

    #[test]
    fn an_unknown_stored_status_is_a_parse_error_that_does_not_echo_it() {
        let error = ConnectionStatus::parse("revoked_by_meta").unwrap_err();
        assert_eq!(error.field(), "status");
        assert!(!error.to_string().contains("revoked_by_meta"));
        assert!(
            ConnectionStatus::parse("Active").is_err(),
            "names are exact"
        );
    }
}
