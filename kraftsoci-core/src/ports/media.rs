//! Where generated images are kept.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{ParseError, UserId};

/// A storage key: `u/{user}/{name}` where name is 1–128 of `[A-Za-z0-9._-]`. Keys are built by
/// kraftsoci, never taken from a request, and cannot escape their user's prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaKey(String);

impl MediaKey {
    /// The key for `name` under `user`.
    ///
    /// # Errors
    /// [`ParseError`] on field `media_key` when `name` has other characters or is too long.
    pub fn new(user: UserId, name: &str) -> Result<Self, ParseError> {
        let ok = !name.is_empty()
            && name.len() <= 128
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(ParseError::new("media_key", "invalid media name"));
        }
        Ok(Self(format!("u/{user}/{name}")))
    }

    /// The prefix all of `user`'s keys share.
    pub fn user_prefix(user: UserId) -> String {
        format!("u/{user}/")
    }

    /// Parses a stored key.
    ///
    /// # Errors
    /// [`ParseError`] when the key does not have the `u/{uuid}/{name}` shape.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let invalid = || ParseError::new("media_key", "invalid media key");
        let rest = value.strip_prefix("u/").ok_or_else(invalid)?;
        let (user, name) = rest.split_once('/').ok_or_else(invalid)?;
        let user: UserId = user.parse().map_err(|_| invalid())?;
        Self::new(user, name)
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MediaKey {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MediaKey> for String {
    fn from(value: MediaKey) -> Self {
        value.0
    }
}

/// Stored bytes and their type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedia {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The MIME type, e.g. `image/jpeg`.
    pub content_type: String,
}

/// The media store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("media store: {0}")]
pub struct MediaStoreError(pub String);

/// Blob storage for generated images (a local directory or an S3-compatible bucket).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Stores bytes under `key`, replacing any earlier ones.
    async fn put(
        &self,
        key: &MediaKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), MediaStoreError>;

    /// Reads `key`; `None` when absent.
    async fn get(&self, key: &MediaKey) -> Result<Option<StoredMedia>, MediaStoreError>;

    /// Deletes `key` (absent is not an error).
    async fn delete(&self, key: &MediaKey) -> Result<(), MediaStoreError>;

    /// Deletes every object of `user` (account purge, P19); returns how many were removed.
    async fn delete_user(&self, user: UserId) -> Result<u64, MediaStoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_user_prefix() {
        let user = UserId::new();
        let key = MediaKey::new(user, "post-1.jpg").unwrap();
        assert!(key.as_str().starts_with(&MediaKey::user_prefix(user)));
        assert_eq!(MediaKey::parse(key.as_str()).unwrap(), key);
        for bad in ["", "../x", "a/b", ".hidden", "sp ace"] {
            assert!(MediaKey::new(user, bad).is_err(), "{bad}");
        }
        assert!(MediaKey::parse("u/not-a-user/x.jpg").is_err());
        assert!(MediaKey::parse(&format!("u/{user}/../../etc")).is_err());
    }
}
