//! Opaque identifiers.
//!
//! Every id is a UUID behind a newtype so that a post id can never be passed where a user id is
//! expected. Ids print as plain UUID strings and parse from them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// Wraps an existing UUID, e.g. one read from storage.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = crate::ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| crate::ParseError::new(stringify!($name), "not a valid id"))
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

uuid_id!(
    /// A kraftsoci account.
    UserId
);
uuid_id!(
    /// A generated post.
    PostId
);
uuid_id!(
    /// A connected Instagram business account (one row per Page with a linked IG account).
    ConnectionId
);
uuid_id!(
    /// A data-subject request (access, erasure, restriction…).
    RequestId
);
uuid_id!(
    /// A family of rotated refresh tokens (one login session).
    SessionId
);
uuid_id!(
    /// A personal API key (its id, never the key itself).
    ApiKeyId
);

/// An Instagram user id as Meta returns it: a numeric string such as `"17841405822304914"`.
///
/// Meta documents these as strings; they are kept as strings (never parsed into integers).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IgUserId(String);

impl IgUserId {
    /// Parses an Instagram user id: 1 to 32 ASCII digits.
    ///
    /// # Errors
    /// [`crate::ParseError`] when the value is empty, too long or not all digits. Sandbox
    /// accounts use the prefix `sandbox-` followed by digits, which is also accepted.
    pub fn parse(value: impl Into<String>) -> Result<Self, crate::ParseError> {
        let value = value.into();
        let digits = value.strip_prefix("sandbox-").unwrap_or(&value);
        if digits.is_empty() || digits.len() > 32 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(crate::ParseError::new(
                "instagram_user_id",
                "must be Meta's numeric id",
            ));
        }
        Ok(Self(value))
    }

    /// The id as Meta spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this id names a sandbox account rather than a real Instagram account.
    pub fn is_sandbox(&self) -> bool {
        self.0.starts_with("sandbox-")
    }
}

impl fmt::Display for IgUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IgUserId {
    type Error = crate::ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<IgUserId> for String {
    fn from(value: IgUserId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings() {
        let id = PostId::new();
        assert_eq!(id, id.to_string().parse().unwrap());
        assert!("not-a-uuid".parse::<PostId>().is_err());
    }

    #[test]
    fn instagram_ids_are_numeric_strings() {
        assert!(IgUserId::parse("17841405822304914").is_ok());
        assert!(IgUserId::parse("sandbox-1").unwrap().is_sandbox());
        assert!(IgUserId::parse("").is_err());
        assert!(IgUserId::parse("12a").is_err());
        assert!(IgUserId::parse("1".repeat(33)).is_err());
    }
}
