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
/// while `body` accepts the characters, in order. The limits are counted by `Counts`, in one
/// pass for both kinds of token; its tests hold it to these iterators.
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

/// What Instagram limits in a text, counted in one pass: its length in UTF-16 code units,
/// whether it holds a control character other than a line break or a tab, and how many
/// hashtags and @mentions it holds — exactly the ones [`hashtags_in`] and [`mentions_in`]
/// find. Every stored caption is checked again when it is read (a list page reads twenty), so
/// this walks the text once where the iterators would walk it three times.
///
/// One pass is exact because the two kinds of token never hide a character from each other:
/// neither body accepts a sigil, and whether a sigil starts a token depends only on the
/// character before it, which is the same whether or not that character ended a token.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    utf16: usize,
    control: bool,
    hashtags: usize,
    mentions: usize,
}

/// A hashtag being read: its characters so far, and whether all were ASCII digits.
struct TagSoFar {
    chars: usize,
    digits: bool,
}

/// An @mention being read: its characters so far, and how many of the last were dots (a
/// mention ends before trailing dots).
struct MentionSoFar {
    chars: usize,
    dots: usize,
}

impl Counts {
    fn of(text: &str) -> Self {
        let mut counts = Self::default();
        let mut prev: Option<char> = None;
        let mut tag: Option<TagSoFar> = None;
        let mut mention: Option<MentionSoFar> = None;
        for c in text.chars() {
            counts.utf16 += c.len_utf16();
            counts.control |= c.is_control() && c != '\n' && c != '\r' && c != '\t';
            if let Some(so_far) = tag.as_mut() {
                if is_tag_char(c) {
                    so_far.chars += 1;
                    so_far.digits &= c.is_ascii_digit();
                } else {
                    counts.end_tag(so_far);
                    tag = None;
                }
            }
            if let Some(so_far) = mention.as_mut() {
                if is_mention_char(c) {
                    so_far.chars += 1;
                    so_far.dots = if c == '.' { so_far.dots + 1 } else { 0 };
                } else {
                    counts.end_mention(so_far);
                    mention = None;
                }
            }
            let starts = !prev.is_some_and(is_tag_char);
            if c == '#' && starts {
                tag = Some(TagSoFar {
                    chars: 0,
                    digits: true,
                });
            } else if c == '@' && starts {
                mention = Some(MentionSoFar { chars: 0, dots: 0 });
            }
            prev = Some(c);
        }
        if let Some(so_far) = &tag {
            counts.end_tag(so_far);
        }
        if let Some(so_far) = &mention {
            counts.end_mention(so_far);
        }
        counts
    }

    /// Counts a finished hashtag unless it is empty or all digits ([`hashtags_in`]).
    fn end_tag(&mut self, tag: &TagSoFar) {
        if tag.chars > 0 && !tag.digits {
            self.hashtags += 1;
        }
    }

    /// Counts a finished @mention unless, without its trailing dots, it is empty or longer
    /// than a username ([`mentions_in`]).
    fn end_mention(&mut self, mention: &MentionSoFar) {
        if (1..=30).contains(&(mention.chars - mention.dots)) {
            self.mentions += 1;
        }
    }

    /// Instagram's limits on a caption, checked on these counts.
    fn check(&self, field: &'static str) -> Result<(), ParseError> {
        if self.utf16 > MAX_CAPTION_CHARS {
            return Err(too_long(field));
        }
        if self.hashtags > MAX_HASHTAGS {
            return Err(ParseError::new(
                field,
                format!("must have at most {MAX_HASHTAGS} hashtags"),
            ));
        }
        if self.mentions > MAX_MENTIONS {
            return Err(ParseError::new(
                field,
                format!("must have at most {MAX_MENTIONS} @mentions"),
            ));
        }
        if self.control {
            return Err(ParseError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(())
    }
}

fn too_long(field: &'static str) -> ParseError {
    ParseError::new(
        field,
        format!("must have at most {MAX_CAPTION_CHARS} characters (emoji count as two)"),
    )
}

/// A caption body within Instagram's limits on its own. Hashtags that the post lists separately
/// are checked together with it by [`PostText::compose`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Caption {
    text: String,
    /// What [`PostText::compose`] needs of the caption, counted when it was parsed: its
    /// hashtags and its length in UTF-16 code units (both within the limits, so they fit).
    hashtags: u8,
    utf16: u16,
}

impl Caption {
    /// Parses a caption (surrounding whitespace trimmed; it may be empty).
    ///
    /// # Errors
    /// [`ParseError`] on field `caption` when Instagram would reject it.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        let counts = Counts::of(text);
        counts.check("caption")?;
        Ok(Self {
            text: text.to_owned(),
            hashtags: u8::try_from(counts.hashtags).unwrap_or(u8::MAX),
            utf16: u16::try_from(counts.utf16).unwrap_or(u16::MAX),
        })
    }

    /// The empty caption (a post whose content is still being generated).
    pub fn empty() -> Self {
        Self {
            text: String::new(),
            hashtags: 0,
            utf16: 0,
        }
    }

    /// The caption text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Caption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
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
        value.text
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
        // lower-case ASCII (most are) is compared as it is, without a lower-cased copy. At
        // most a few dozen tags: a list compared in turn beats building a set.
        let mut seen: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(hashtags.len());
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
                let new = !seen.contains(&folded);
                if new {
                    seen.push(folded);
                }
                new
            })
            .collect();
        // The caption passed its own limits when it was parsed, and counted its hashtags and
        // length then; what the tags add is known without reading the joined text again: each
        // is one hashtag (a valid tag after a space or a line break), no mention and no
        // control character, and the line breaks and spaces between end any token of the
        // caption.
        if usize::from(caption.hashtags) + tags.len() > MAX_HASHTAGS {
            return Err(ParseError::new(
                "hashtags",
                format!("caption and hashtags together must have at most {MAX_HASHTAGS} hashtags"),
            ));
        }
        let mut utf16 = usize::from(caption.utf16);
        let caption = caption.as_str();
        let mut text = String::with_capacity(
            caption.len() + 2 + tags.iter().map(|t| t.len() + 2).sum::<usize>(),
        );
        text.push_str(caption);
        for (n, tag) in tags.iter().enumerate() {
            let separator = match (n, caption.is_empty()) {
                (0, true) => "",
                (0, false) => "\n\n",
                _ => " ",
            };
            text.push_str(separator);
            text.push('#');
            text.push_str(tag);
            utf16 += separator.len() + 1 + tag.encode_utf16().count();
        }
        if utf16 > MAX_CAPTION_CHARS {
            return Err(too_long("caption"));
        }
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
        // At the limit exactly: the caption, "\n\n", "#şu", " ", "#ab" (2,200 in all).
        let tags = vec![Hashtag::parse("şu").unwrap(), Hashtag::parse("ab").unwrap()];
        let fits = Caption::parse(&"a".repeat(2200 - 2 - 3 - 1 - 3)).unwrap();
        let text = PostText::compose(&fits, &tags).unwrap();
        assert_eq!(instagram_length(text.as_str()), MAX_CAPTION_CHARS);
        let over = Caption::parse(&"a".repeat(2200 - 2 - 3 - 1 - 3 + 1)).unwrap();
        let error = PostText::compose(&over, &tags).unwrap_err();
        assert_eq!(error.field(), "caption");
        // Without a caption there is no blank line.
        let tags: Vec<Hashtag> = (0..30)
            .map(|n| Hashtag::parse(&format!("t{n}")).unwrap())
            .collect();
        let text = PostText::compose(&Caption::empty(), &tags).unwrap();
        assert!(text.as_str().starts_with("#t0 #t1"));
    }

    /// Texts dense in what the counters look at: sigils, tag and mention characters, dots,
    /// digits, Turkish letters, an emoji, spaces, line breaks and a control character.
    fn dense_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("#".to_owned()),
                Just("@".to_owned()),
                Just(".".to_owned()),
                Just("_".to_owned()),
                Just("7".to_owned()),
                Just("a".to_owned()),
                Just("Z".to_owned()),
                Just("ş".to_owned()),
                Just("İ".to_owned()),
                Just("🥐".to_owned()),
                Just(" ".to_owned()),
                Just("\n".to_owned()),
                Just("\u{7}".to_owned()),
                Just("-".to_owned()),
                "[a-z0-9]{1,40}",
            ],
            0..80,
        )
        .prop_map(|parts| parts.concat())
    }

    /// The limits as the iterators define them, counted the slow way.
    fn counted_slowly(text: &str) -> Counts {
        Counts {
            utf16: instagram_length(text),
            control: text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t'),
            hashtags: hashtags_in(text).len(),
            mentions: mentions_in(text).len(),
        }
    }

    #[test]
    fn one_pass_counts_agree_with_the_iterators_at_the_edges() {
        for text in [
            "",
            "#",
            "@",
            "#2024 #a2024 ##tag a#tag _#tag",
            "@a. @a.b. @.. x@y @@z @ş",
            "@ali.#tag #tag@ali #t_@x",
            &format!("@{}", "a".repeat(30)),
            &format!("@{}.", "a".repeat(31)),
            "🥐#croissant\u{7}",
        ] {
            assert_eq!(Counts::of(text), counted_slowly(text), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn one_pass_counts_agree_with_the_iterators(text in dense_text()) {
            prop_assert_eq!(Counts::of(&text), counted_slowly(&text));
            // What a caption keeps of its counts is what its text counts.
            if let Ok(caption) = Caption::parse(&text) {
                let slow = counted_slowly(caption.as_str());
                prop_assert_eq!(usize::from(caption.hashtags), slow.hashtags);
                prop_assert_eq!(usize::from(caption.utf16), slow.utf16);
            }
        }

        #[test]
        fn composing_decides_as_checking_the_joined_text_would(
            caption in dense_text(),
            tags in proptest::collection::vec("[a-zşİ_0-9]{1,12}", 0..35),
        ) {
            let Ok(caption) = Caption::parse(&caption) else { return Ok(()) };
            let tags: Vec<Hashtag> = tags.iter().filter_map(|t| Hashtag::parse(t).ok()).collect();
            match PostText::compose(&caption, &tags) {
                Ok(text) => {
                    prop_assert!(Counts::of(text.as_str()).check("caption").is_ok());
                }
                Err(error) => {
                    // Refused: the joined text (duplicates dropped) breaks a limit.
                    let mut seen = std::collections::BTreeSet::new();
                    let kept: Vec<String> = tags
                        .iter()
                        .filter(|t| seen.insert(t.as_str().to_lowercase()))
                        .map(|t| format!("#{}", t.as_str()))
                        .collect();
                    let joined = if caption.as_str().is_empty() {
                        kept.join(" ")
                    } else if kept.is_empty() {
                        caption.as_str().to_owned()
                    } else {
                        format!("{}\n\n{}", caption.as_str(), kept.join(" "))
                    };
                    prop_assert!(
                        Counts::of(&joined).check("caption").is_err(),
                        "refused ({error}) but {joined:?} is within the limits"
                    );
                }
            }
        }

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
