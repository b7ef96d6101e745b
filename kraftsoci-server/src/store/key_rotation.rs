//! Reading and replacing sealed Instagram tokens, for `kraftsoci-server rotate-key` (P22).
//!
//! Implemented once for both engines in `rights_queries.rs`.

use async_trait::async_trait;
use kraftsoci_core::{ConnectionId, IgUserId, StoreError, UserId};

/// A stored, sealed token with what its associated data is bound to.
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

/// Sealed tokens, paged for re-encryption.
#[async_trait]
pub trait SealedTokenStore: Send + Sync {
    /// Up to `limit` connections holding a token, after `after`, in id order.
    async fn sealed_tokens_after(
        &self,
        after: Option<ConnectionId>,
        limit: u32,
    ) -> Result<Vec<SealedToken>, StoreError>;

    /// Replaces a connection's token with `resealed` if it still holds `current` (a reconnect
    /// in between wins); returns whether it was replaced.
    async fn replace_sealed_token(
        &self,
        connection: ConnectionId,
        current: &[u8],
        resealed: &[u8],
        key_version: u32,
    ) -> Result<bool, StoreError>;
}
