//! Business profiles (P02): what the generators write from.

use async_trait::async_trait;

use crate::{BusinessProfile, StoreError, UserId};

/// Business profiles (P02).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// The user's profile, if set.
    async fn profile(&self, user: UserId) -> Result<Option<BusinessProfile>, StoreError>;
    /// Creates or replaces the profile.
    async fn put_profile(&self, user: UserId, profile: &BusinessProfile) -> Result<(), StoreError>;
}
