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
