//! Domain types, parsed not validated: once constructed, a value is known to be valid.

mod caption;
mod content;
mod email;
mod image;
mod profile;
pub(crate) mod text;

pub use caption::{
    AltText, Caption, Hashtag, MAX_ALT_TEXT_CHARS, MAX_CAPTION_CHARS, MAX_HASHTAGS, MAX_MENTIONS,
    PostText, hashtags_in, instagram_length, mentions_in,
};
pub use content::{ContentHash, MediaKind, PostContent};
pub use email::Email;
pub use image::{CheckedJpeg, ImageError, MAX_IMAGE_BYTES, MediaDigest};
pub use profile::{
    BusinessDescription, BusinessName, BusinessProfile, Language, PersonName, Sector,
    TargetAudience, Tone, Topic,
};

#[cfg(test)]
pub(crate) use content::tests::sample_content;

/// Lower-case hex of a digest, written straight into a string of the right size (the `hex`
/// crate's `encode` collects a `char` iterator, which showed in the posts list's profile: every
/// listed post shows its content hash, and approved ones their consent's).
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod hex_tests {
    #[test]
    fn lower_hex_is_hex_encode() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(super::lower_hex(&bytes), hex::encode(&bytes));
        assert_eq!(super::lower_hex(&[]), "");
    }
}
