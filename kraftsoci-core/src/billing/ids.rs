//! The payment provider's ids, checked strings (no vendor SDK type crosses a port), and the
//! idempotency key of its POSTs.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ParseError, UserId};

macro_rules! provider_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a provider id: 1 to 255 ASCII letters, digits, `_` or `-`.
            ///
            /// # Errors
            #[doc = concat!("[`ParseError`] on field `", $field, "` when the value is empty, too long or holds other characters.")]
            pub fn parse(value: impl Into<String>) -> Result<Self, ParseError> {
                let value = value.into();
                if value.is_empty() || value.len() > 255 {
                    return Err(ParseError::new($field, "must have 1 to 255 characters"));
                }
                if !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(ParseError::new($field, "must be a provider id"));
                }
                Ok(Self(value))
            }

            /// The id as the provider spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

provider_id!(
    /// The payment provider's customer id (Stripe `cus_…`): the one identifier the policy lets
    /// us keep about a paying user (P05).
    BillingCustomerId,
    "customer_id"
);
provider_id!(
    /// A subscription id (Stripe `sub_…`).
    SubscriptionId,
    "subscription_id"
);
provider_id!(
    /// An invoice id (Stripe `in_…`).
    InvoiceId,
    "invoice_id"
);
provider_id!(
    /// A price id (Stripe `price_…`), which names a plan at the provider.
    PriceId,
    "price_id"
);

/// The key that makes a provider POST idempotent: derived from a record persisted **before**
/// the call and reused on every retry of the same intent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key: 1 to 255 visible ASCII characters.
    ///
    /// # Errors
    /// [`ParseError`] on field `idempotency_key` otherwise.
    pub fn parse(value: impl Into<String>) -> Result<Self, ParseError> {
        let value = value.into();
        if value.is_empty() || value.len() > 255 {
            return Err(ParseError::new(
                "idempotency_key",
                "must have 1 to 255 characters",
            ));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::new(
                "idempotency_key",
                "must be visible ASCII characters",
            ));
        }
        Ok(Self(value))
    }

    /// `{purpose}:{user}:{intent}`, e.g. `checkout:{user_id}:{intent_id}` for a checkout whose
    /// intent row (id `intent`) was stored before the call.
    ///
    /// # Errors
    /// [`ParseError`] when `purpose` is empty or not visible ASCII.
    pub fn for_intent(purpose: &str, user: UserId, intent: Uuid) -> Result<Self, ParseError> {
        if purpose.is_empty() || purpose.len() > 100 {
            return Err(ParseError::new(
                "idempotency_key",
                "the purpose must have 1 to 100 characters",
            ));
        }
        Self::parse(format!("{purpose}:{user}:{intent}"))
    }

    /// `customer:{user}`: one provider customer per user, whatever the retries.
    pub fn for_customer(user: UserId) -> Self {
        // A UUID is 36 visible ASCII characters: always a valid key.
        Self(format!("customer:{user}"))
    }

    /// `cancel:{closure}:{subscription}`: the cancellation of one subscription because of
    /// one account closure. `closure` is the id of the erasure request the closure recorded
    /// before any call, so every retry of that closure, in this process or a later one, sends
    /// the same key, and a second closure (after a reopened account) a new one.
    ///
    /// # Errors
    /// [`ParseError`] when the key would exceed 255 characters (a subscription id of more
    /// than 210 characters; Stripe's are about 30).
    pub fn for_cancellation(
        closure: crate::RequestId,
        subscription: &SubscriptionId,
    ) -> Result<Self, ParseError> {
        Self::parse(format!("cancel:{closure}:{subscription}"))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<IdempotencyKey> for String {
    fn from(value: IdempotencyKey) -> Self {
        value.0
    }
}
