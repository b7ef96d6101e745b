//! Shared rules for user-typed text.

use crate::ParseError;

/// Trims `input`, then checks it has between `min` and `max` characters (Unicode scalar values)
/// and no control characters other than newlines and tabs when `multiline` is set.
pub(crate) fn bounded_text(
    field: &'static str,
    input: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, ParseError> {
    let trimmed = input.trim();
    let count = trimmed.chars().count();
    if count < min {
        return Err(if min == 1 {
            ParseError::new(field, "must not be empty")
        } else {
            ParseError::new(field, format!("must have at least {min} characters"))
        });
    }
    if count > max {
        return Err(ParseError::new(
            field,
            format!("must have at most {max} characters"),
        ));
    }
    let bad_control = trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')));
    if bad_control {
        return Err(ParseError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_newtype {
    ($(#[$meta:meta])* $name:ident, $field:literal, $min:expr, $max:expr, $multiline:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Parses the value (surrounding whitespace is trimmed).
            ///
            /// # Errors
            #[doc = concat!("[`crate::ParseError`] on field `", $field, "` when the value is empty, too long or holds control characters.")]
            pub fn parse(input: &str) -> Result<Self, crate::ParseError> {
                crate::domain::text::bounded_text($field, input, $min, $max, $multiline).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = crate::ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

pub(crate) use text_newtype;
