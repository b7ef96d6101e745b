//! The account's names and the business profile the generators read (P02).

use serde::{Deserialize, Serialize};

use super::text::text_newtype;
use crate::ParseError;

text_newtype!(
    /// A person's name as they want it shown: 1–100 characters.
    PersonName, "name", 1, 100, false
);
text_newtype!(
    /// The business's name: 1–120 characters. Never sent to an AI provider (P11).
    BusinessName, "business_name", 1, 120, false
);
text_newtype!(
    /// The business's sector, e.g. "bakery" or "yoga studio": 1–80 characters.
    Sector, "sector", 1, 80, false
);
text_newtype!(
    /// The voice posts should have, e.g. "warm and playful": 1–80 characters.
    Tone, "tone", 1, 80, false
);
text_newtype!(
    /// What the business does, in the owner's words: 1–2,000 characters.
    BusinessDescription, "description", 1, 2000, true
);
text_newtype!(
    /// Who the posts are for: 1–500 characters.
    TargetAudience, "target_audience", 1, 500, true
);
text_newtype!(
    /// What a post should be about: 3–500 characters.
    Topic, "topic", 3, 500, true
);

/// The language posts are written in: a BCP 47 tag such as `en`, `tr` or `pt-BR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    /// Parses a language tag: a 2–3 letter primary subtag, then up to three `-` subtags of 1–8
    /// letters or digits. The primary subtag is lower-cased.
    ///
    /// # Errors
    /// [`ParseError`] on field `language` when the tag is malformed.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let invalid = || ParseError::new("language", "must be a language tag such as en or tr");
        let input = input.trim();
        let mut parts = input.split('-');
        let primary = parts.next().ok_or_else(invalid)?;
        if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid());
        }
        let rest: Vec<&str> = parts.collect();
        if rest.len() > 3
            || rest.iter().any(|p| {
                p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        {
            return Err(invalid());
        }
        let mut tag = primary.to_ascii_lowercase();
        for part in rest {
            tag.push('-');
            tag.push_str(part);
        }
        Ok(Self(tag))
    }

    /// English, the default.
    pub fn english() -> Self {
        Self("en".to_owned())
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary subtag (`pt` for `pt-BR`).
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl Default for Language {
    fn default() -> Self {
        Self::english()
    }
}

impl TryFrom<String> for Language {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Language> for String {
    fn from(value: Language) -> Self {
        value.0
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The business profile: the only account data an AI generator ever sees (P02, P11).
///
/// It deliberately has no name, email, business name or id in it, so a generator that is handed
/// a `BusinessProfile` cannot leak them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessProfile {
    /// What the business does.
    pub description: BusinessDescription,
    /// Who the posts are for.
    pub target_audience: TargetAudience,
    /// The voice.
    pub tone: Tone,
    /// The sector.
    pub sector: Sector,
    /// The language posts are written in.
    pub language: Language,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_fields_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse("Ada\u{0}").is_err());
        assert!(BusinessDescription::parse("line one\nline two").is_ok());
        assert!(PersonName::parse("line one\nline two").is_err());
        assert!(Topic::parse("ab").is_err());
        assert_eq!(
            Topic::parse("ab").unwrap_err().reason(),
            "must have at least 3 characters"
        );
    }

    #[test]
    fn language_tags() {
        assert_eq!(Language::parse("EN").unwrap().as_str(), "en");
        assert_eq!(Language::parse("pt-BR").unwrap().primary(), "pt");
        for bad in ["", "e", "english", "en-", "en_US", "12"] {
            assert!(Language::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn text_parsers_never_panic(input in "\\PC{0,300}") {
            let _ = PersonName::parse(&input);
            let _ = Topic::parse(&input);
            let _ = Language::parse(&input);
        }
    }
}
