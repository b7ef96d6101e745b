//! Captions, hashtags, mentions and alt text, counted the way Instagram counts them.
//!
//! Instagram rejects a caption over 2,200 characters, with more than 30 hashtags or with more
//! than 20 @mentions (Graph errors 36004/2207010 and 100/2207040). Lengths here are counted in
//! UTF-16 code units, which is what Instagram's clients count and is never less than the number
//! of Unicode characters: an emoji outside the Basic Multilingual Plane counts as two. A caption
//! that passes here is therefore never too long for Instagram.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::text::text_newtype;
use crate::ParseError;

/// Instagram's caption limit, in characters.
pub const MAX_CAPTION_CHARS: usize = 2200;
/// Instagram's hashtag limit per post.
pub const MAX_HASHTAGS: usize = 30;
/// Instagram's @mention limit per post.
pub const MAX_MENTIONS: usize = 20;
/// Instagram's alt-text limit, in characters.
pub const MAX_ALT_TEXT_CHARS: usize = 1000;

/// The length of `text` as Instagram counts it (UTF-16 code units).
pub fn instagram_length(text: &str) -> usize {
    text.encode_utf16().count()
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_mention_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Every hashtag in `text`: a `#` not preceded by a tag character, followed by one or more
/// letters, digits or underscores, not all digits (Instagram does not link `#2024`).
pub fn hashtags_in(text: &str) -> Vec<&str> {
    hashtags_of(text).collect()
}

/// Every @mention in `text`: an `@` not preceded by a word character, followed by 1–30
/// characters of letters, digits, `_` or `.` (Instagram usernames).
pub fn mentions_in(text: &str) -> Vec<&str> {
    mentions_of(text).collect()
}

fn hashtags_of(text: &str) -> impl Iterator<Item = &str> {
    Tokens::new(text, '#', is_tag_char).filter(|tag| !tag.chars().all(|c| c.is_ascii_digit()))
}

fn mentions_of(text: &str) -> impl Iterator<Item = &str> {
    Tokens::new(text, '@', is_mention_char)
        .map(|m| m.trim_end_matches('.'))
        .filter(|m| !m.is_empty() && m.chars().count() <= 30)
}

/// The tokens of `text` that start with `sigil` (not preceded by a word character) and go on
/// while `body` accepts the characters, in order. An iterator, so that the limits below count
/// without collecting: every stored caption is checked again when it is read (a list page
/// reads twenty).
struct Tokens<'a> {
    text: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    prev: Option<char>,
    sigil: char,
    body: fn(char) -> bool,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str, sigil: char, body: fn(char) -> bool) -> Self {
        Self {
            text,
            chars: text.char_indices().peekable(),
            prev: None,
            sigil,
            body,
        }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while let Some((i, c)) = self.chars.next() {
            if c == self.sigil && !self.prev.is_some_and(|p| p.is_alphanumeric() || p == '_') {
                let start = i + c.len_utf8();
                let mut end = start;
                while let Some(&(j, d)) = self.chars.peek() {
                    if (self.body)(d) {
                        end = j + d.len_utf8();
                        self.chars.next();
                    } else {
                        break;
                    }
                }
                let text = self.text;
                self.prev = text.get(..end).and_then(|t| t.chars().next_back());
                if end > start {
                    return text.get(start..end);
                }
                continue;
            }
            self.prev = Some(c);
        }
        None
    }
}

fn check_instagram_limits(field: &'static str, text: &str) -> Result<(), ParseError> {
    // One pass for the length and the control characters.
    let mut length = 0;
    let mut control = false;
    for c in text.chars() {
        length += c.len_utf16();
        control |= c.is_control() && c != '\n' && c != '\r' && c != '\t';
    }
    if length > MAX_CAPTION_CHARS {
        return Err(ParseError::new(
            field,
            format!("must have at most {MAX_CAPTION_CHARS} characters (emoji count as two)"),
        ));
    }
    // Counting stops one past the limit.
    if hashtags_of(text).take(MAX_HASHTAGS + 1).count() > MAX_HASHTAGS {
        return Err(ParseError::new(
            field,
            format!("must have at most {MAX_HASHTAGS} hashtags"),
        ));
    }
    if mentions_of(text).take(MAX_MENTIONS + 1).count() > MAX_MENTIONS {
        return Err(ParseError::new(
            field,
            format!("must have at most {MAX_MENTIONS} @mentions"),
        ));
    }
    if control {
        return Err(ParseError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// A caption body within Instagram's limits on its own. Hashtags that the post lists separately
/// are checked together with it by [`PostText::compose`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Caption(String);

impl Caption {
    /// Parses a caption (surrounding whitespace trimmed; it may be empty).
    ///
    /// # Errors
    /// [`ParseError`] on field `caption` when Instagram would reject it.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        check_instagram_limits("caption", text)?;
        Ok(Self(text.to_owned()))
    }

    /// The empty caption (a post whose content is still being generated).
    pub fn empty() -> Self {
        Self(String::new())
    }

    /// The caption text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Caption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Caption {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Caption> for String {
    fn from(value: Caption) -> Self {
        value.0
    }
}

/// One hashtag, stored without its `#`: 1–100 letters, digits or underscores, not all digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hashtag(String);

impl Hashtag {
    /// Parses `"#bakery"` or `"bakery"`.
    ///
    /// # Errors
    /// [`ParseError`] on field `hashtags` when the tag is empty, too long, holds a space or
    /// punctuation, or is all digits.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let body = input.trim();
        let body = body.strip_prefix('#').unwrap_or(body);
        if body.is_empty() {
            return Err(ParseError::new("hashtags", "a hashtag must not be empty"));
        }
        if body.chars().count() > 100 {
            return Err(ParseError::new(
                "hashtags",
                "a hashtag must have at most 100 characters",
            ));
        }
        if !body.chars().all(is_tag_char) {
            return Err(ParseError::new(
                "hashtags",
                "a hashtag may only hold letters, digits and underscores",
            ));
        }
        if body.chars().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::new(
                "hashtags",
                "a hashtag must not be all digits",
            ));
        }
        Ok(Self(body.to_owned()))
    }

    /// The tag without `#`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hashtag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl TryFrom<String> for Hashtag {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Hashtag> for String {
    fn from(value: Hashtag) -> Self {
        value.0
    }
}

text_newtype!(
    /// Alt text describing the image for people using screen readers: 1–1,000 characters.
    AltText, "alt_text", 1, 1000, true
);

/// The text that is actually sent to Instagram: the caption, a blank line, then the hashtags.
/// Constructed only by [`PostText::compose`], which checks the limits on the whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostText(String);

impl PostText {
    /// Joins a caption and hashtags (duplicates dropped, order kept) and checks Instagram's
    /// limits on the result: hashtags written in the caption count toward the 30 too.
    ///
    /// # Errors
    /// [`ParseError`] on field `caption` or `hashtags` when the combination breaks a limit.
    pub fn compose(caption: &Caption, hashtags: &[Hashtag]) -> Result<Self, ParseError> {
        // Case-insensitive duplicates dropped, first spelling kept. A tag that is already
        // lower-case ASCII (most are) is compared as it is, without a lower-cased copy.
        let mut seen = std::collections::BTreeSet::new();
        let tags: Vec<&str> = hashtags
            .iter()
            .map(Hashtag::as_str)
            .filter(|t| {
                let folded: std::borrow::Cow<'_, str> =
                    if t.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                        std::borrow::Cow::Borrowed(t)
                    } else {
                        std::borrow::Cow::Owned(t.to_lowercase())
                    };
                seen.insert(folded)
            })
            .collect();
        if hashtags_of(caption.as_str()).take(MAX_HASHTAGS + 1).count() + tags.len() > MAX_HASHTAGS
        {
            return Err(ParseError::new(
                "hashtags",
                format!("caption and hashtags together must have at most {MAX_HASHTAGS} hashtags"),
            ));
        }
        let caption = caption.as_str();
        let mut text = String::with_capacity(
            caption.len() + 2 + tags.iter().map(|t| t.len() + 2).sum::<usize>(),
        );
        text.push_str(caption);
        for (n, tag) in tags.iter().enumerate() {
            text.push_str(match (n, caption.is_empty()) {
                (0, true) => "",
                (0, false) => "\n\n",
                _ => " ",
            });
            text.push('#');
            text.push_str(tag);
        }
        check_instagram_limits("caption", &text)?;
        Ok(Self(text))
    }

    /// The full text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<PostText> for String {
    fn from(text: PostText) -> Self {
        text.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_emoji_as_two_like_instagram() {
        assert_eq!(instagram_length("abc"), 3);
        assert_eq!(instagram_length("ç"), 1);
        assert_eq!(instagram_length("🥐"), 2);
        let at_limit = "a".repeat(MAX_CAPTION_CHARS);
        assert!(Caption::parse(&at_limit).is_ok());
        assert!(Caption::parse(&format!("{at_limit}a")).is_err());
        let emoji_over = "🥐".repeat(MAX_CAPTION_CHARS / 2 + 1);
        assert!(Caption::parse(&emoji_over).is_err());
    }

    #[test]
    fn finds_hashtags_and_mentions_as_instagram_links_them() {
        assert_eq!(
            hashtags_in("Fresh #bread and #çörek! #2024 a#b #_x"),
            vec!["bread", "çörek", "_x"]
        );
        assert_eq!(
            mentions_in("thanks @ada.l and @bob_1. mail me@example.com"),
            vec!["ada.l", "bob_1"]
        );
    }

    #[test]
    fn caption_limits_on_hashtags_and_mentions() {
        let tags30: String = (0..30).map(|i| format!("#t{i} ")).collect();
        assert!(Caption::parse(&tags30).is_ok());
        assert!(Caption::parse(&format!("{tags30} #one_more")).is_err());
        let mentions20: String = (0..20).map(|i| format!("@u{i} ")).collect();
        assert!(Caption::parse(&mentions20).is_ok());
        assert!(Caption::parse(&format!("{mentions20} @extra")).is_err());
    }

    #[test]
    fn hashtag_parsing() {
        assert_eq!(Hashtag::parse("#Bakery").unwrap().as_str(), "Bakery");
        assert_eq!(
            Hashtag::parse("taze_ekmek").unwrap().to_string(),
            "#taze_ekmek"
        );
        for bad in ["", "#", "two words", "#a-b", "2024", "#x!"] {
            assert!(Hashtag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn composing_drops_hashtags_repeated_in_any_case_and_keeps_the_first_spelling() {
        let tags: Vec<Hashtag> = ["Simit", "simit", "çörek", "ÇÖREK", "bakery", "SIMIT"]
            .iter()
            .map(|t| Hashtag::parse(t).unwrap())
            .collect();
        let caption = Caption::parse("Fresh from the oven").unwrap();
        assert_eq!(
            PostText::compose(&caption, &tags).unwrap().as_str(),
            "Fresh from the oven\n\n#Simit #çörek #bakery"
        );
        assert_eq!(
            PostText::compose(&Caption::empty(), &tags)
                .unwrap()
                .as_str(),
            "#Simit #çörek #bakery"
        );
        assert_eq!(
            PostText::compose(&caption, &[]).unwrap().as_str(),
            "Fresh from the oven"
        );
    }

    #[test]
    fn composed_text_counts_hashtags_in_caption_and_list_together() {
        let caption = Caption::parse("Morning bake #fresh").unwrap();
        let tags: Vec<Hashtag> = (0..29)
            .map(|i| Hashtag::parse(&format!("t{i}")).unwrap())
            .collect();
        let text = PostText::compose(&caption, &tags).unwrap();
        assert!(text.as_str().starts_with("Morning bake #fresh\n\n#t0 #t1"));
        let mut too_many = tags.clone();
        too_many.push(Hashtag::parse("t29").unwrap());
        assert!(PostText::compose(&caption, &too_many).is_err());
        let dupes = vec![Hashtag::parse("a").unwrap(), Hashtag::parse("A").unwrap()];
        assert_eq!(
            PostText::compose(&Caption::parse("").unwrap(), &dupes)
                .unwrap()
                .as_str(),
            "#a"
        );
    }

    #[test]
    fn composed_text_checks_total_length() {
        let caption = Caption::parse(&"a".repeat(2190)).unwrap();
        let tags = vec![Hashtag::parse("abcdefghijk").unwrap()];
        assert!(PostText::compose(&caption, &tags).is_err());
    }

    proptest! {
        #[test]
        fn caption_parser_never_panics_and_accepts_what_it_produced(input in "\\PC{0,400}") {
            if let Ok(caption) = Caption::parse(&input) {
                prop_assert!(instagram_length(caption.as_str()) <= MAX_CAPTION_CHARS);
                prop_assert!(hashtags_in(caption.as_str()).len() <= MAX_HASHTAGS);
                prop_assert_eq!(Caption::parse(caption.as_str()).unwrap(), caption);
            }
        }

        #[test]
        fn hashtag_parser_round_trips(input in "#?[\\p{L}0-9_ -]{0,20}") {
            if let Ok(tag) = Hashtag::parse(&input) {
                prop_assert_eq!(Hashtag::parse(&tag.to_string()).unwrap(), tag);
            }
        }
    }
}
