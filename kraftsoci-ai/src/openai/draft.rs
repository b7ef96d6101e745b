//! The model's answer, checked against Instagram's limits through core's types: as is, or
//! trimmed deterministically when a repair round-trip did not help.

use std::collections::BTreeSet;

use kraftsoci_core::ports::GenerationRequest;
use kraftsoci_core::{
    AltText, Caption, Hashtag, MAX_ALT_TEXT_CHARS, MAX_CAPTION_CHARS, MAX_HASHTAGS, MAX_MENTIONS,
    PostText, hashtags_in, instagram_length, mentions_in,
};
use serde::{Deserialize, Serialize};

use crate::AiError;

/// The longest image prompt kept (gpt-image-1 accepts far more; ours are a few sentences).
pub(crate) const MAX_IMAGE_PROMPT_CHARS: usize = 4000;
/// When trimming, hashtags may take at most this share of the 2,200 characters.
const MAX_HASHTAG_SHARE: usize = MAX_CAPTION_CHARS / 4;

/// The JSON the model answers with (the structured-output schema in `prompt.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Draft {
    pub caption: String,
    pub hashtags: Vec<String>,
    pub alt_text: String,
    pub image_prompt: String,
}

/// A draft that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    pub caption: Caption,
    pub hashtags: Vec<Hashtag>,
    pub alt_text: AltText,
    pub image_prompt: String,
}

impl Checked {
    /// The text Instagram will get, for moderation.
    pub fn post_text(&self) -> Result<PostText, AiError> {
        PostText::compose(&self.caption, &self.hashtags)
            .map_err(|e| AiError::InvalidOutput(e.to_string()))
    }
}

impl Draft {
    /// Parses the model's message content.
    pub fn parse(content: &str) -> Result<Self, AiError> {
        serde_json::from_str(content).map_err(|e| {
            AiError::InvalidOutput(format!("the answer is not the requested json: {e}"))
        })
    }

    /// Checks the draft as it is. The error lists every problem, worded for the repair prompt.
    pub fn check(&self) -> Result<Checked, Vec<String>> {
        let mut problems = Vec::new();
        let caption = Caption::parse(&self.caption)
            .map_err(|e| {
                problems.push(format!(
                    "the caption {} (it has {} characters, emoji counting as two)",
                    e.reason(),
                    instagram_length(self.caption.trim())
                ))
            })
            .ok();
        let mut hashtags = Vec::new();
        let mut seen = BTreeSet::new();
        for raw in &self.hashtags {
            match Hashtag::parse(raw) {
                Ok(tag) => {
                    if seen.insert(tag.as_str().to_lowercase()) {
                        hashtags.push(tag);
                    }
                }
                Err(e) => problems.push(format!("the hashtag {raw:?} is invalid: {}", e.reason())),
            }
        }
        let alt_text = AltText::parse(&self.alt_text)
            .map_err(|e| problems.push(format!("the alt text {}", e.reason())))
            .ok();
        let image_prompt = self.image_prompt.trim();
        if image_prompt.is_empty() {
            problems.push("the image prompt must not be empty".to_owned());
        } else if image_prompt.chars().count() > MAX_IMAGE_PROMPT_CHARS {
            problems.push(format!(
                "the image prompt must have at most {MAX_IMAGE_PROMPT_CHARS} characters"
            ));
        }
        if let Some(caption) = &caption
            && problems.is_empty()
            && let Err(e) = PostText::compose(caption, &hashtags)
        {
            problems.push(format!(
                "caption and hashtags together break a limit: {} (the caption has {} hashtags \
                 and {} characters; the list has {} hashtags)",
                e.reason(),
                hashtags_in(caption.as_str()).len(),
                instagram_length(caption.as_str()),
                hashtags.len()
            ));
        }
        match (caption, alt_text) {
            (Some(caption), Some(alt_text)) if problems.is_empty() => Ok(Checked {
                caption,
                hashtags,
                alt_text,
                image_prompt: image_prompt.to_owned(),
            }),
            _ => Err(problems),
        }
    }

    /// Makes the draft fit, the same way every time: control characters dropped, surplus
    /// hashtags and mentions in the caption untagged, invalid or duplicate hashtags dropped, the
    /// hashtag list shortened, then the caption cut at a word boundary with `…`. Empty alt text
    /// or image prompt get a plain one built from the profile and topic.
    pub fn fit(&self, request: &GenerationRequest) -> Result<Checked, AiError> {
        let caption = strip_controls(&self.caption);
        let caption = untag_excess(caption.trim(), '#', MAX_HASHTAGS, hashtags_in);
        let caption = untag_excess(&caption, '@', MAX_MENTIONS, mentions_in);

        let in_caption = hashtags_in(&caption);
        let mut seen: BTreeSet<String> = in_caption.iter().map(|t| t.to_lowercase()).collect();
        let mut hashtags: Vec<Hashtag> = self
            .hashtags
            .iter()
            .filter_map(|raw| sanitize_hashtag(raw))
            .filter(|tag| seen.insert(tag.as_str().to_lowercase()))
            .collect();
        hashtags.truncate(MAX_HASHTAGS.saturating_sub(in_caption.len()));
        while hashtags_length(&hashtags) > MAX_HASHTAG_SHARE {
            hashtags.pop();
        }
        let reserved = match hashtags_length(&hashtags) {
            0 => 0,
            n => n + 2, // the blank line between caption and hashtags
        };
        let caption = truncate_utf16(&caption, MAX_CAPTION_CHARS.saturating_sub(reserved));

        let profile = &request.profile;
        let alt_text = non_empty_or(strip_controls(&self.alt_text), || {
            format!(
                "Image for a {} post about {}",
                profile.sector, request.topic
            )
        });
        let image_prompt = non_empty_or(strip_controls(&self.image_prompt), || {
            format!(
                "A photo for a {}'s Instagram post about: {}",
                profile.sector, request.topic
            )
        });

        let unfit = |e: kraftsoci_core::ParseError| {
            AiError::InvalidOutput(format!("the answer could not be made to fit: {e}"))
        };
        let checked = Checked {
            caption: Caption::parse(&caption).map_err(unfit)?,
            hashtags,
            alt_text: AltText::parse(&truncate_chars(&alt_text, MAX_ALT_TEXT_CHARS))
                .map_err(unfit)?,
            image_prompt: truncate_chars(&image_prompt, MAX_IMAGE_PROMPT_CHARS),
        };
        checked.post_text()?;
        Ok(checked)
    }
}

/// Drops control characters other than newlines and tabs.
fn strip_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect()
}

fn non_empty_or(text: String, fallback: impl FnOnce() -> String) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        fallback()
    } else {
        trimmed.to_owned()
    }
}

/// Removes the sigil of every token after the first `keep` (`#tag` becomes `tag`), until the
/// text has at most `keep` tokens. Removing a sigil can turn `##a` into a new `#a`, hence the
/// loop; every round removes at least one character, so it ends.
fn untag_excess(text: &str, sigil: char, keep: usize, find: fn(&str) -> Vec<&str>) -> String {
    let mut text = text.to_owned();
    loop {
        let base = text.as_ptr() as usize;
        let sigils: Vec<usize> = find(&text)
            .into_iter()
            .skip(keep)
            .map(|token| token.as_ptr() as usize - base - sigil.len_utf8())
            .collect();
        if sigils.is_empty() {
            return text;
        }
        for at in sigils.into_iter().rev() {
            text.remove(at);
        }
    }
}

/// A hashtag from whatever the model wrote: `#small business` becomes `smallbusiness`.
fn sanitize_hashtag(raw: &str) -> Option<Hashtag> {
    let body: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .take(100)
        .collect();
    Hashtag::parse(&body).ok()
}

/// The length of the hashtags as they are appended: `#a #b`.
fn hashtags_length(tags: &[Hashtag]) -> usize {
    if tags.is_empty() {
        return 0;
    }
    tags.iter()
        .map(|t| instagram_length(t.as_str()) + 1)
        .sum::<usize>()
        + tags.len()
        - 1
}

/// Cuts `text` to at most `budget` UTF-16 units, at a word boundary where one is near, ending
/// with `…`.
fn truncate_utf16(text: &str, budget: usize) -> String {
    if instagram_length(text) <= budget {
        return text.to_owned();
    }
    if budget == 0 {
        return String::new();
    }
    let target = budget - 1; // room for the ellipsis
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if used + c.len_utf16() > target {
            break;
        }
        used += c.len_utf16();
        end = i + c.len_utf8();
    }
    let mut cut = &text[..end];
    if let Some(space) = cut.rfind(char::is_whitespace)
        && space >= end / 2
    {
        cut = &cut[..space];
    }
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    format!("{cut}…")
}

/// Cuts `text` to at most `max` characters, ending with `…` when it was cut.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kraftsoci_core::{
        BusinessDescription, BusinessProfile, Language, Sector, TargetAudience, Tone, Topic,
    };

    fn request() -> GenerationRequest {
        GenerationRequest {
            profile: BusinessProfile {
                description: BusinessDescription::parse("A family bakery").unwrap(),
                target_audience: TargetAudience::parse("neighbours").unwrap(),
                tone: Tone::parse("warm").unwrap(),
                sector: Sector::parse("bakery").unwrap(),
                language: Language::english(),
            },
            topic: Topic::parse("our new sourdough").unwrap(),
        }
    }

    fn draft(caption: &str, hashtags: &[&str]) -> Draft {
        Draft {
            caption: caption.to_owned(),
            hashtags: hashtags.iter().map(|t| (*t).to_owned()).collect(),
            alt_text: "A loaf of sourdough on a board".to_owned(),
            image_prompt: "A rustic sourdough loaf".to_owned(),
        }
    }

    fn assert_instagram_accepts(checked: &Checked) {
        let text = checked.post_text().unwrap();
        assert!(instagram_length(text.as_str()) <= MAX_CAPTION_CHARS);
        assert!(hashtags_in(text.as_str()).len() <= MAX_HASHTAGS);
        assert!(mentions_in(text.as_str()).len() <= MAX_MENTIONS);
    }

    #[test]
    fn a_valid_draft_passes_unchanged_but_for_duplicate_hashtags() {
        let checked = draft(
            "Fresh sourdough today!",
            &["#sourdough", "bakery", "Bakery"],
        )
        .check()
        .unwrap();
        assert_eq!(checked.caption.as_str(), "Fresh sourdough today!");
        let tags: Vec<&str> = checked.hashtags.iter().map(Hashtag::as_str).collect();
        assert_eq!(tags, ["sourdough", "bakery"]);
    }

    #[test]
    fn every_problem_is_listed_for_the_repair_prompt() {
        let mut bad = draft(&"a".repeat(2300), &["two words", "2024"]);
        bad.alt_text = String::new();
        let problems = bad.check().unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("2300 characters"));
        assert!(problems[1].contains("\"two words\""));
    }

    #[test]
    fn caption_and_hashtags_together_over_the_limit_is_a_problem() {
        let tags: Vec<String> = (0..30).map(|i| format!("tag{i}")).collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let problems = draft("Morning bake #fresh", &tags).check().unwrap_err();
        assert!(problems[0].contains("together"), "{problems:?}");
    }

    #[test]
    fn fitting_cuts_an_overlong_caption_at_a_word_with_an_ellipsis() {
        let long = "word ".repeat(600);
        let checked = draft(&long, &["bread"]).fit(&request()).unwrap();
        assert!(checked.caption.as_str().ends_with("word…"));
        assert_instagram_accepts(&checked);
        assert_eq!(checked.hashtags.len(), 1);
    }

    #[test]
    fn fitting_counts_emoji_as_two() {
        let checked = draft(&"🥐".repeat(1500), &[]).fit(&request()).unwrap();
        // 1,099 croissants (2,198 units) and the ellipsis: a 1,100th would not fit.
        assert_eq!(
            instagram_length(checked.caption.as_str()),
            MAX_CAPTION_CHARS - 1
        );
        assert!(checked.caption.as_str().ends_with("🥐…"));
        assert_instagram_accepts(&checked);
    }

    #[test]
    fn fitting_drops_invalid_duplicate_and_surplus_hashtags() {
        let many: Vec<String> = (0..40).map(|i| format!("#tag_{i}")).collect();
        let mut tags: Vec<&str> = vec!["small business", "#fresh", "FRESH", "2024", "!!"];
        tags.extend(many.iter().map(String::as_str));
        let checked = draft("Bread #fresh #warm", &tags).fit(&request()).unwrap();
        let names: Vec<&str> = checked.hashtags.iter().map(Hashtag::as_str).collect();
        assert_eq!(names[0], "smallbusiness");
        assert!(!names.contains(&"fresh"), "already in the caption");
        assert_eq!(names.len(), MAX_HASHTAGS - 2);
        assert_instagram_accepts(&checked);
    }

    #[test]
    fn fitting_untags_surplus_hashtags_and_mentions_in_the_caption() {
        let tags: String = (0..35).map(|i| format!("#t{i} ")).collect();
        let mentions: String = (0..25).map(|i| format!("@u{i} ")).collect();
        let checked = draft(&format!("{tags}{mentions}"), &["extra"])
            .fit(&request())
            .unwrap();
        let text = checked.caption.as_str();
        assert_eq!(hashtags_in(text).len(), MAX_HASHTAGS);
        assert_eq!(mentions_in(text).len(), MAX_MENTIONS);
        assert!(text.contains(" t34 "));
        assert!(checked.hashtags.is_empty(), "no hashtag budget left");
        assert_instagram_accepts(&checked);
    }

    #[test]
    fn untagging_handles_sigils_that_uncover_new_tags() {
        let text = format!("{}##a", "#x ".repeat(30));
        let out = untag_excess(&text, '#', MAX_HASHTAGS, hashtags_in);
        assert_eq!(hashtags_in(&out).len(), MAX_HASHTAGS);
    }

    #[test]
    fn fitting_keeps_hashtags_from_crowding_out_the_caption() {
        let long_tags: Vec<String> = (0..30).map(|i| format!("{}{i}", "x".repeat(90))).collect();
        let tags: Vec<&str> = long_tags.iter().map(String::as_str).collect();
        let checked = draft(&"word ".repeat(500), &tags).fit(&request()).unwrap();
        assert!(hashtags_length(&checked.hashtags) <= MAX_HASHTAG_SHARE);
        assert!(instagram_length(checked.caption.as_str()) > 1500);
        assert_instagram_accepts(&checked);
    }

    #[test]
    fn fitting_fills_empty_alt_text_and_prompt_and_strips_control_characters() {
        let mut bad = draft("Hello\u{7}\u{0} world", &[]);
        bad.alt_text = " \u{1b} ".to_owned();
        bad.image_prompt = String::new();
        let checked = bad.fit(&request()).unwrap();
        assert_eq!(checked.caption.as_str(), "Hello world");
        assert_eq!(
            checked.alt_text.as_str(),
            "Image for a bakery post about our new sourdough"
        );
        assert!(checked.image_prompt.contains("our new sourdough"));
    }

    #[test]
    fn fitting_cuts_overlong_alt_text() {
        let mut long = draft("Hi", &[]);
        long.alt_text = "b".repeat(1500);
        let checked = long.fit(&request()).unwrap();
        assert_eq!(
            checked.alt_text.as_str().chars().count(),
            MAX_ALT_TEXT_CHARS
        );
    }

    #[test]
    fn malformed_answers_are_invalid_output() {
        for bad in ["", "{", "{\"caption\": 3}", "[]", "{\"caption\":\"x\"}"] {
            assert!(
                matches!(Draft::parse(bad), Err(AiError::InvalidOutput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn truncation_respects_the_budget_exactly() {
        assert_eq!(truncate_utf16("abc", 3), "abc");
        assert_eq!(truncate_utf16("abcd", 3), "ab…");
        assert_eq!(truncate_utf16("abcd", 0), "");
        assert_eq!(truncate_utf16("🥐🥐🥐", 4), "🥐…");
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
    }
}
