//! What would be published, and the content hash that binds a consent to it (P09).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AltText, Caption, Hashtag, MediaDigest, PostText};
use crate::{IgUserId, ParseError};

/// How the media of a post is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MediaKind {
    /// One feed image.
    Image,
    /// A carousel of 2–10 items.
    Carousel,
    /// A reel (video).
    Reel,
    /// A story (image or video).
    Story,
}

impl MediaKind {
    /// The stable name used in storage and in the hash encoding.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Carousel => "carousel",
            Self::Reel => "reel",
            Self::Story => "story",
        }
    }

    /// Parses [`MediaKind::as_str`]'s output.
    ///
    /// # Errors
    /// [`ParseError`] on field `media_kind` for any other string.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        match value {
            "image" => Ok(Self::Image),
            "carousel" => Ok(Self::Carousel),
            "reel" => Ok(Self::Reel),
            "story" => Ok(Self::Story),
            _ => Err(ParseError::new("media_kind", "unknown media kind")),
        }
    }
}

/// Everything that would reach Instagram if the post were published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostContent {
    /// The caption body.
    pub caption: Caption,
    /// Hashtags appended after the caption.
    pub hashtags: Vec<Hashtag>,
    /// Alt text for the image.
    pub alt_text: Option<AltText>,
    /// How the media is published.
    pub media_kind: MediaKind,
    /// The digest of every media item, in order.
    pub media: Vec<MediaDigest>,
    /// The Instagram account it goes to, once chosen.
    pub target: Option<IgUserId>,
}

impl PostContent {
    /// The content hash: SHA-256 over a canonical, length-prefixed encoding of every field, so
    /// that two different contents can never share an encoding (and so, barring a SHA-256
    /// collision, a hash). Hashtags are hashed in their given order, since order is visible.
    pub fn hash(&self) -> ContentHash {
        let mut h = Sha256::new();
        h.update(b"kraftsoci.content.v1");
        field(&mut h, b'c', self.caption.as_str().as_bytes());
        h.update([b'h']);
        h.update((self.hashtags.len() as u64).to_be_bytes());
        for tag in &self.hashtags {
            field(&mut h, b't', tag.as_str().as_bytes());
        }
        match &self.alt_text {
            Some(alt) => field(&mut h, b'a', alt.as_str().as_bytes()),
            None => h.update([b'A']),
        }
        field(&mut h, b'k', self.media_kind.as_str().as_bytes());
        h.update([b'm']);
        h.update((self.media.len() as u64).to_be_bytes());
        for digest in &self.media {
            field(&mut h, b'd', digest.as_bytes());
        }
        match &self.target {
            Some(target) => field(&mut h, b'g', target.as_str().as_bytes()),
            None => h.update([b'G']),
        }
        ContentHash(h.finalize().into())
    }

    /// The caption and hashtags as they would be sent, checked against Instagram's limits.
    ///
    /// # Errors
    /// [`ParseError`] when the combination breaks a limit.
    pub fn post_text(&self) -> Result<PostText, ParseError> {
        PostText::compose(&self.caption, &self.hashtags)
    }
}

fn field(h: &mut Sha256, tag: u8, bytes: &[u8]) {
    h.update([tag]);
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// SHA-256 of a [`PostContent`]'s canonical encoding, shown to clients as 64 hex digits.
///
/// The preview carries it; the Publish click echoes it back; any edit in between changes it, so
/// an approval can only ever cover exactly what the owner saw.
///
/// ```
/// use kraftsoci_core::{AltText, Caption, ContentHash, Hashtag, MediaDigest, MediaKind, PostContent};
///
/// # fn main() -> Result<(), kraftsoci_core::ParseError> {
/// let mut content = PostContent {
///     caption: Caption::parse("Fresh simit, straight from the oven")?,
///     hashtags: vec![Hashtag::parse("#simit")?],
///     alt_text: Some(AltText::parse("Sesame bread rings on a tray")?),
///     media_kind: MediaKind::Image,
///     media: vec![MediaDigest::of(b"jpeg bytes")],
///     target: None,
/// };
/// let shown = content.hash();
///
/// // What the client sends back parses to the same hash…
/// let echoed = ContentHash::parse(&shown.to_hex())?;
/// assert!(echoed.matches(&shown));
///
/// // …and any edit gives another one.
/// content.hashtags.push(Hashtag::parse("#bakery")?);
/// assert!(!content.hash().matches(&shown));
///
/// // Anything but 64 hex digits is refused.
/// assert!(ContentHash::parse("not-a-hash").is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// Parses 64 hex digits (as a client echoes it back on the Publish click).
    ///
    /// # Errors
    /// [`ParseError`] on field `content_hash`.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let invalid = || ParseError::new("content_hash", "must be 64 hex digits");
        let bytes = hex::decode(input.trim()).map_err(|_| invalid())?;
        Ok(Self(bytes.try_into().map_err(|_| invalid())?))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        super::lower_hex(&self.0)
    }

    /// Compares in constant time (the hash is not secret, but there is no reason to leak
    /// timing either).
    pub fn matches(&self, other: &ContentHash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl TryFrom<String> for ContentHash {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ContentHash> for String {
    fn from(value: ContentHash) -> Self {
        value.to_hex()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn sample_content() -> PostContent {
        PostContent {
            caption: Caption::parse("Fresh simit every morning").unwrap(),
            hashtags: vec![
                Hashtag::parse("simit").unwrap(),
                Hashtag::parse("istanbul").unwrap(),
            ],
            alt_text: Some(AltText::parse("A basket of sesame bread rings").unwrap()),
            media_kind: MediaKind::Image,
            media: vec![MediaDigest::of(b"image-bytes")],
            target: Some(IgUserId::parse("17841405822304914").unwrap()),
        }
    }

    #[test]
    fn same_content_same_hash_and_hex_round_trip() {
        let a = sample_content();
        assert_eq!(a.hash(), a.clone().hash());
        assert_eq!(ContentHash::parse(&a.hash().to_hex()).unwrap(), a.hash());
        assert!(a.hash().matches(&a.hash()));
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        // "ab" + ["c"] vs "a" + ["bc"]: naive concatenation would collide.
        let mut x = sample_content();
        x.caption = Caption::parse("ab").unwrap();
        x.hashtags = vec![Hashtag::parse("c").unwrap()];
        let mut y = sample_content();
        y.caption = Caption::parse("a").unwrap();
        y.hashtags = vec![Hashtag::parse("bc").unwrap()];
        assert_ne!(x.hash(), y.hash());
        // An absent alt text differs from any present one; absent target from any target.
        let mut no_alt = sample_content();
        no_alt.alt_text = None;
        assert_ne!(no_alt.hash(), sample_content().hash());
        let mut no_target = sample_content();
        no_target.target = None;
        assert_ne!(no_target.hash(), sample_content().hash());
    }

    #[test]
    fn rejects_malformed_hash_strings() {
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(66)] {
            assert!(ContentHash::parse(bad).is_err());
        }
    }

    fn arb_content() -> impl Strategy<Value = PostContent> {
        (
            "[a-z ]{0,40}",
            proptest::collection::vec("[a-z]{1,8}", 0..5),
            proptest::option::of("[a-z ]{1,20}"),
            0..4u8,
            proptest::collection::vec(any::<[u8; 4]>(), 0..3),
            proptest::option::of("[0-9]{1,6}"),
        )
            .prop_map(|(caption, tags, alt, kind, media, target)| PostContent {
                caption: Caption::parse(&caption).unwrap(),
                hashtags: tags.iter().map(|t| Hashtag::parse(t).unwrap()).collect(),
                alt_text: alt.and_then(|a| AltText::parse(&a).ok()),
                media_kind: [
                    MediaKind::Image,
                    MediaKind::Carousel,
                    MediaKind::Reel,
                    MediaKind::Story,
                ][usize::from(kind)],
                media: media.iter().map(|m| MediaDigest::of(m)).collect(),
                target: target.map(|t| IgUserId::parse(t).unwrap()),
            })
    }

    proptest! {
        #[test]
        fn hash_is_deterministic(content in arb_content()) {
            prop_assert_eq!(content.hash(), content.clone().hash());
        }

        #[test]
        fn any_difference_changes_the_hash(a in arb_content(), b in arb_content()) {
            prop_assert_eq!(a == b, a.hash() == b.hash());
        }

        #[test]
        fn a_one_field_change_changes_the_hash(content in arb_content(), which in 0..6u8) {
            let mut changed = content.clone();
            match which {
                0 => changed.caption = Caption::parse(&format!("{}x", content.caption.as_str())).unwrap(),
                1 => changed.hashtags.push(Hashtag::parse("extra").unwrap()),
                2 => changed.alt_text = match &content.alt_text {
                    Some(_) => None,
                    None => Some(AltText::parse("alt").unwrap()),
                },
                3 => changed.media_kind = if content.media_kind == MediaKind::Image { MediaKind::Story } else { MediaKind::Image },
                4 => changed.media.push(MediaDigest::of(b"another")),
                _ => changed.target = match &content.target {
                    Some(_) => None,
                    None => Some(IgUserId::parse("1").unwrap()),
                },
            }
            prop_assert_ne!(content.hash(), changed.hash());
        }
    }
}
