//! Template captions: an opener, a line in the profile's tone and a call to action, chosen by a
//! hash of the topic; hashtags from the sector and the topic's words. English and Turkish
//! templates; other languages get English.

use std::collections::BTreeSet;

use kraftsoci_core::ports::GenerationRequest;
use kraftsoci_core::{AltText, Caption, Hashtag, PostText};

use super::palette::{Palette, stable_hash};
use crate::AiError;

/// Most hashtags an offline post gets.
const MAX_OFFLINE_HASHTAGS: usize = 10;

/// The voice, read from the free-text tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Voice {
    Playful,
    Warm,
    Professional,
    Elegant,
    Plain,
}

impl Voice {
    fn of(tone: &str) -> Self {
        let tone = tone.to_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| tone.contains(w));
        if any(&[
            "playful",
            "fun",
            "cheer",
            "witty",
            "humor",
            "humour",
            "eğlenceli",
            "esprili",
            "neşeli",
        ]) {
            Self::Playful
        } else if any(&[
            "luxur",
            "elegan",
            "premium",
            "sophistic",
            "refined",
            "lüks",
            "zarif",
            "şık",
        ]) {
            Self::Elegant
        } else if any(&[
            "professional",
            "formal",
            "expert",
            "serious",
            "corporate",
            "profesyonel",
            "resmi",
            "kurumsal",
        ]) {
            Self::Professional
        } else if any(&[
            "warm", "cozy", "cosy", "caring", "friendly", "gentle", "samimi", "sıcak", "içten",
        ]) {
            Self::Warm
        } else {
            Self::Plain
        }
    }
}

struct Templates {
    openers: [&'static str; 4],
    playful: [&'static str; 2],
    warm: [&'static str; 2],
    professional: [&'static str; 2],
    elegant: [&'static str; 2],
    plain: [&'static str; 2],
    calls: [&'static str; 4],
    generic_tags: [&'static str; 2],
    stopwords: &'static [&'static str],
}

const ENGLISH: Templates = Templates {
    openers: [
        "{topic}",
        "Today at our {sector}: {topic}",
        "News from our {sector}: {topic}",
        "Have you heard? {topic}",
    ],
    playful: [
        "We couldn't keep this one to ourselves! ✨",
        "Cue the happy dance! 🎉",
    ],
    warm: [
        "Made with care, for the people who make our {sector} what it is. ☀️",
        "Thank you for being part of our story. 💛",
    ],
    professional: [
        "As a {sector}, we believe the details matter, and this is one we are proud of.",
        "Quality and care go into everything we do.",
    ],
    elegant: [
        "Thoughtfully crafted, quietly finished: a {sector} moment worth savouring.",
        "Some things are simply worth the wait.",
    ],
    plain: [
        "Here's something new from our {sector} that we think you'll enjoy.",
        "We're excited to share this with you.",
    ],
    calls: [
        "Drop by and tell us what you think.",
        "Save this post and share it with someone who'd love it.",
        "Questions? Send us a message, we're happy to help.",
        "Tell us in the comments what you think!",
    ],
    generic_tags: ["smallbusiness", "shoplocal"],
    stopwords: &[
        "about", "after", "again", "also", "back", "been", "before", "each", "every", "from",
        "have", "here", "into", "just", "today", "more", "most", "only", "over", "some", "than",
        "that", "their", "them", "then", "there", "these", "they", "this", "those", "very", "what",
        "when", "where", "which", "while", "will", "with", "your", "ours",
    ],
};

const TURKISH: Templates = Templates {
    openers: [
        "{topic}",
        "Bugün sizin için: {topic}",
        "{sector} olarak müjdemiz var: {topic}",
        "Duydunuz mu? {topic}",
    ],
    playful: [
        "Bunu kendimize saklayamadık! ✨",
        "Sevinçten yerimizde duramıyoruz! 🎉",
    ],
    warm: [
        "Bizi biz yapan sizler için özenle hazırladık. ☀️",
        "Hikâyemizin bir parçası olduğunuz için teşekkürler. 💛",
    ],
    professional: [
        "Her ayrıntıya özen gösteriyoruz; bu da gurur duyduğumuz işlerden biri.",
        "Yaptığımız her işte kalite ve özen var.",
    ],
    elegant: [
        "Özenle tasarlandı, incelikle tamamlandı.",
        "Bazı şeyler beklemeye değer.",
    ],
    plain: [
        "Beğeneceğinizi düşündüğümüz yeni bir şey var.",
        "Bunu sizinle paylaşmaktan mutluluk duyuyoruz.",
    ],
    calls: [
        "Uğrayın, ne düşündüğünüzü bize söyleyin.",
        "Bu gönderiyi kaydedin ve sevdiğiniz biriyle paylaşın.",
        "Sorunuz mu var? Bize mesaj gönderin, yardımcı olmaktan memnuniyet duyarız.",
        "Düşüncelerinizi yorumlarda bekliyoruz!",
    ],
    generic_tags: ["yerelisletme", "kucukisletme"],
    stopwords: &[
        "için", "olan", "gibi", "daha", "kadar", "bizim", "sizin", "şimdi", "bugün", "artık",
        "ama", "veya", "ile", "bir", "çok", "her",
    ],
};

/// The post text for the request, built from templates and checked through core's types.
pub(crate) struct OfflineText {
    pub caption: Caption,
    pub hashtags: Vec<Hashtag>,
    pub alt_text: AltText,
    pub image_prompt: String,
}

pub(crate) fn write(request: &GenerationRequest) -> Result<OfflineText, AiError> {
    let profile = &request.profile;
    let turkish = profile.language.primary() == "tr";
    let templates = if turkish { &TURKISH } else { &ENGLISH };
    let sector = profile.sector.as_str();
    let topic = request.topic.as_str();
    let seed = stable_hash(&topic.to_lowercase());
    let pick = |shift: u32, len: usize| ((seed >> shift) % len as u64) as usize;

    let opener = templates.openers[pick(0, 4)];
    let opener = if opener.starts_with("{topic}") {
        opener.replace("{topic}", &capitalised(topic))
    } else if opener.starts_with("{sector}") {
        opener
            .replace("{sector}", &capitalised(sector))
            .replace("{topic}", topic)
    } else {
        opener.replace("{topic}", topic).replace("{sector}", sector)
    };
    let voice_lines = match Voice::of(profile.tone.as_str()) {
        Voice::Playful => templates.playful,
        Voice::Warm => templates.warm,
        Voice::Professional => templates.professional,
        Voice::Elegant => templates.elegant,
        Voice::Plain => templates.plain,
    };
    let voice = voice_lines[pick(8, 2)].replace("{sector}", &sector.to_lowercase());
    let call = templates.calls[pick(16, 4)];
    let caption = format!("{}\n\n{voice}\n\n{call}", sentence(&opener));

    let hashtags = hashtags(sector, topic, templates);

    let palette = Palette::for_sector(sector);
    let colour = palette.colour_name(turkish);
    let alt_text = if turkish {
        format!(
            "{colour} tonlarında degrade bir arka plan üzerinde, üstte büyük harflerle \
             “{heading}” ve altında “{topic}” yazan açık renkli bir pano bulunan kare bir kart.",
            heading = sector.to_uppercase(),
        )
    } else {
        format!(
            "A square card with a {colour} gradient background and a light panel showing \
             “{heading}” in capitals above the words “{topic}”.",
            heading = sector.to_uppercase(),
        )
    };

    let invalid = |e: kraftsoci_core::ParseError| {
        AiError::InvalidOutput(format!("an offline template produced invalid text: {e}"))
    };
    let text = OfflineText {
        caption: Caption::parse(&caption).map_err(invalid)?,
        alt_text: AltText::parse(&alt_text).map_err(invalid)?,
        image_prompt: format!("A card for a {sector}: {topic}"),
        hashtags,
    };
    PostText::compose(&text.caption, &text.hashtags).map_err(invalid)?;
    Ok(text)
}

/// Hashtags from the sector (joined and word by word), the topic's longer words, then two
/// generic ones; valid by construction, lower-case, no duplicates.
fn hashtags(sector: &str, topic: &str, templates: &Templates) -> Vec<Hashtag> {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map(|w| {
                w.to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    let sector_words = words(sector);
    let mut candidates: Vec<String> = vec![sector_words.concat()];
    candidates.extend(
        sector_words
            .iter()
            .filter(|w| w.chars().count() >= 4)
            .cloned(),
    );
    candidates.extend(
        words(topic)
            .into_iter()
            .filter(|w| w.chars().count() >= 4 && !templates.stopwords.contains(&w.as_str()))
            .take(5),
    );
    candidates.extend(templates.generic_tags.iter().map(|t| (*t).to_owned()));

    let mut seen = BTreeSet::new();
    candidates
        .iter()
        .filter_map(|c| Hashtag::parse(&c.chars().take(100).collect::<String>()).ok())
        .filter(|tag| seen.insert(tag.as_str().to_owned()))
        .take(MAX_OFFLINE_HASHTAGS)
        .collect()
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Ends `text` with a full stop unless it already ends in punctuation.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?', '…']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_voice_is_read_from_the_tone_in_english_and_turkish() {
        assert_eq!(Voice::of("Warm and friendly"), Voice::Warm);
        assert_eq!(Voice::of("playful, a bit cheeky"), Voice::Playful);
        assert_eq!(Voice::of("Professional"), Voice::Professional);
        assert_eq!(Voice::of("zarif ve sade"), Voice::Elegant);
        assert_eq!(Voice::of("samimi"), Voice::Warm);
        assert_eq!(Voice::of("matter-of-fact"), Voice::Plain);
    }

    #[test]
    fn hashtags_come_from_sector_and_topic_words() {
        let tags = hashtags(
            "Yoga studio",
            "Sunrise yoga class with live music #2024",
            &ENGLISH,
        );
        let names: Vec<&str> = tags.iter().map(Hashtag::as_str).collect();
        assert_eq!(
            names,
            [
                "yogastudio",
                "yoga",
                "studio",
                "sunrise",
                "class",
                "live",
                "music",
                "smallbusiness",
                "shoplocal"
            ]
        );
    }

    #[test]
    fn turkish_letters_stay_in_hashtags() {
        let tags = hashtags("Fırın", "Taze çörek ve simit", &TURKISH);
        let names: Vec<&str> = tags.iter().map(Hashtag::as_str).collect();
        assert!(names.contains(&"fırın"));
        assert!(names.contains(&"çörek"));
    }

    #[test]
    fn sentences_get_one_full_stop() {
        assert_eq!(sentence("Fresh bread"), "Fresh bread.");
        assert_eq!(sentence("Fresh bread!"), "Fresh bread!");
        assert_eq!(capitalised("ğüzel"), "Ğüzel");
    }
}
