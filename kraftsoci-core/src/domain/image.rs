//! The image check Instagram's feed imposes: JPEG, at most 8 MiB, aspect ratio 4:5 to 1.91:1.
//!
//! The dimensions are read from the JPEG's own frame header (SOFn marker), never trusted from a
//! caller or a file name. Extended JPEG formats that Instagram rejects (MPO, detected by its
//! `MPF` APP2 segment) are refused.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Instagram's size limit for feed images: 8 MiB.
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;

/// Why an image was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The bytes are not a JPEG (or not a complete one).
    #[error("the image is not a JPEG")]
    NotJpeg,
    /// An extended JPEG format Instagram rejects.
    #[error("the image is an extended JPEG format (MPO) that Instagram rejects")]
    UnsupportedJpegVariant,
    /// Over 8 MiB.
    #[error("the image is {bytes} bytes; Instagram accepts at most {MAX_IMAGE_BYTES}")]
    TooLarge {
        /// The image's size.
        bytes: usize,
    },
    /// Aspect ratio outside 4:5 to 1.91:1.
    #[error("the image is {width}x{height}; Instagram accepts aspect ratios from 4:5 to 1.91:1")]
    AspectRatio {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

/// The SHA-256 of an image's bytes: what the content hash binds a post to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MediaDigest(#[serde(with = "hex_bytes")] [u8; 32]);

impl MediaDigest {
    /// Digests `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses 64 lower- or upper-case hex digits.
    ///
    /// # Errors
    /// [`crate::ParseError`] on field `sha256` when the input is not 32 bytes of hex.
    pub fn from_hex(hex_str: &str) -> Result<Self, crate::ParseError> {
        let bytes = hex::decode(hex_str.trim())
            .map_err(|_| crate::ParseError::new("sha256", "must be 64 hex digits"))?;
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| crate::ParseError::new("sha256", "must be 64 hex digits"))?;
        Ok(Self(array))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        super::lower_hex(&self.0)
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("expected 32 bytes"))
    }
}

/// A JPEG that passed Instagram's feed checks, with its real dimensions and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedJpeg {
    width: u32,
    height: u32,
    bytes: usize,
    digest: MediaDigest,
}

impl CheckedJpeg {
    /// Checks `bytes` against Instagram's feed-image rules.
    ///
    /// # Errors
    /// [`ImageError`] naming the first rule the image breaks. Never panics on arbitrary input.
    pub fn check(bytes: &[u8]) -> Result<Self, ImageError> {
        if bytes.len() > MAX_IMAGE_BYTES {
            return Err(ImageError::TooLarge { bytes: bytes.len() });
        }
        let (width, height) = jpeg_dimensions(bytes)?;
        // 4:5 <= w/h <= 1.91:1, in integers: 5w >= 4h and 100w <= 191h.
        let (w, h) = (u64::from(width), u64::from(height));
        if 5 * w < 4 * h || 100 * w > 191 * h {
            return Err(ImageError::AspectRatio { width, height });
        }
        Ok(Self {
            width,
            height,
            bytes: bytes.len(),
            digest: MediaDigest::of(bytes),
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes
    }

    /// Whether the image has no bytes (never true for a checked JPEG).
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// SHA-256 of the bytes.
    pub fn digest(&self) -> MediaDigest {
        self.digest
    }
}

/// Walks the JPEG marker segments up to the first frame header and returns (width, height).
fn jpeg_dimensions(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err(ImageError::NotJpeg);
    }
    let mut i = 2;
    loop {
        // Skip fill bytes before a marker.
        while i < bytes.len() && bytes[i] == 0xFF && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 4 > bytes.len() || bytes[i] != 0xFF {
            return Err(ImageError::NotJpeg);
        }
        let marker = bytes[i + 1];
        // Standalone markers carry no length.
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        if marker == 0xD9 || marker == 0xDA {
            // End of image or start of scan before any frame header.
            return Err(ImageError::NotJpeg);
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if len < 2 || i + 2 + len > bytes.len() {
            return Err(ImageError::NotJpeg);
        }
        let segment = &bytes[i + 4..i + 2 + len];
        if marker == 0xE2 && segment.starts_with(b"MPF\0") {
            return Err(ImageError::UnsupportedJpegVariant);
        }
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            if segment.len() < 5 {
                return Err(ImageError::NotJpeg);
            }
            let height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
            let width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
            if width == 0 || height == 0 {
                return Err(ImageError::NotJpeg);
            }
            return Ok((width, height));
        }
        i += 2 + len;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A minimal baseline JPEG header with the given dimensions (enough for the parser; not a
    /// decodable picture).
    pub(crate) fn fake_jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10]);
        out.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9]);
        out
    }

    #[test]
    fn accepts_jpegs_within_the_ratio_edges() {
        for (w, h) in [(1080, 1080), (1080, 1350), (1910, 1000), (320, 400)] {
            let checked = CheckedJpeg::check(&fake_jpeg(w, h)).unwrap();
            assert_eq!(
                (checked.width(), checked.height()),
                (u32::from(w), u32::from(h))
            );
        }
    }

    #[test]
    fn rejects_ratios_just_outside() {
        assert!(matches!(
            CheckedJpeg::check(&fake_jpeg(1079, 1350)),
            Err(ImageError::AspectRatio { .. })
        ));
        assert!(matches!(
            CheckedJpeg::check(&fake_jpeg(1911, 1000)),
            Err(ImageError::AspectRatio { .. })
        ));
        assert!(matches!(
            CheckedJpeg::check(&fake_jpeg(1080, 1920)),
            Err(ImageError::AspectRatio { .. })
        ));
    }

    #[test]
    fn rejects_non_jpeg_and_oversized_and_mpo() {
        assert_eq!(
            CheckedJpeg::check(b"\x89PNG\r\n\x1a\n...."),
            Err(ImageError::NotJpeg)
        );
        assert_eq!(CheckedJpeg::check(&[]), Err(ImageError::NotJpeg));
        let mut big = fake_jpeg(1080, 1080);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        assert!(matches!(
            CheckedJpeg::check(&big),
            Err(ImageError::TooLarge { .. })
        ));
        let mut mpo = vec![0xFF, 0xD8, 0xFF, 0xE2, 0x00, 0x08];
        mpo.extend_from_slice(b"MPF\0\0\0");
        mpo.extend_from_slice(&fake_jpeg(1080, 1080)[2..]);
        assert_eq!(
            CheckedJpeg::check(&mpo),
            Err(ImageError::UnsupportedJpegVariant)
        );
    }

    #[test]
    fn digest_round_trips_through_hex() {
        let d = MediaDigest::of(b"abc");
        assert_eq!(MediaDigest::from_hex(&d.to_hex()).unwrap(), d);
        assert!(MediaDigest::from_hex("zz").is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = CheckedJpeg::check(&bytes);
            let mut with_soi = vec![0xFF, 0xD8];
            with_soi.extend_from_slice(&bytes);
            let _ = CheckedJpeg::check(&with_soi);
        }
    }
}
