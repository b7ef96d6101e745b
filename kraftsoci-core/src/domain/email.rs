//! Email addresses.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// A syntactically plausible email address, trimmed, with its domain lower-cased.
///
/// This is deliberately the practical subset that mail providers deliver to: one `@`, a local
/// part of 1–64 printable ASCII characters without spaces, and a domain of dot-separated labels
/// with at least one dot. Total length at most 254. The local part keeps its case (RFC 5321 lets
/// it matter), but [`Email::normalized`] gives the key used to find an account, so
/// `Ada@Example.com` and `ada@example.com` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses an email address.
    ///
    /// # Errors
    /// [`ParseError`] on field `email` when the address is malformed.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let invalid = || ParseError::new("email", "is not a valid email address");
        let value = input.trim();
        if value.is_empty() || value.len() > 254 {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(
                        b,
                        b'@' | b'"'
                            | b'('
                            | b')'
                            | b','
                            | b':'
                            | b';'
                            | b'<'
                            | b'>'
                            | b'['
                            | b'\\'
                            | b']'
                    )
            });
        let domain = domain.to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !local_ok || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The address as given (trimmed, domain lower-cased).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lookup key: the whole address lower-cased.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "ada@example.com",
            " Ada.Lovelace+ig@Mail.Example.CO.uk ",
            "a@b.tr",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Email::parse("Ada@EXAMPLE.com").unwrap().as_str(),
            "Ada@example.com"
        );
        assert_eq!(
            Email::parse("Ada@EXAMPLE.com").unwrap().normalized(),
            "ada@example.com"
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "ada@@example.com",
            "ada @example.com",
            "ada@exa mple.com",
            "ada@-example.com",
            ".ada@example.com",
            "a..b@example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_round_trips(input in "\\PC{0,80}") {
            if let Ok(email) = Email::parse(&input) {
                prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
            }
        }
    }
}
