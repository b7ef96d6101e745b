//! Errors shared by the whole crate.

use std::fmt;

/// A value was rejected by a domain type's parser.
///
/// `field` names the input (as the API calls it) and `reason` says why, in words that can be
/// shown to the person who typed it. Neither ever contains the rejected value itself, so a
/// password or token passed by mistake cannot leak through an error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    field: &'static str,
    reason: String,
}

impl ParseError {
    /// A new error for `field`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }

    /// The name of the rejected field.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Why it was rejected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ParseError {}
