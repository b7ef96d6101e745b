//! Colours derived from the sector, shared by the card and its alt text.

use sha2::{Digest, Sha256};

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

/// The card's colours: one hue per sector, so a business's cards look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Palette {
    pub hue: u16,
    pub top: Rgb,
    pub bottom: Rgb,
    pub ink: Rgb,
    pub accent: Rgb,
}

/// A stable 64-bit hash of `text` (first 8 bytes of its SHA-256).
pub(crate) fn stable_hash(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

impl Palette {
    pub fn for_sector(sector: &str) -> Self {
        let hue = (stable_hash(&sector.trim().to_lowercase()) % 360) as u16;
        let shifted = (hue + 35) % 360;
        Self {
            hue,
            top: hsl(hue, 0.62, 0.58),
            bottom: hsl(shifted, 0.70, 0.32),
            ink: hsl(hue, 0.45, 0.18),
            accent: hsl(shifted, 0.70, 0.42),
        }
    }

    /// The hue's everyday name, in English or Turkish.
    pub fn colour_name(&self, turkish: bool) -> &'static str {
        const NAMES: [(u16, &str, &str); 8] = [
            (15, "red", "kırmızı"),
            (45, "orange", "turuncu"),
            (70, "yellow", "sarı"),
            (160, "green", "yeşil"),
            (195, "teal", "turkuaz"),
            (255, "blue", "mavi"),
            (300, "purple", "mor"),
            (345, "pink", "pembe"),
        ];
        NAMES.iter().find(|(upto, _, _)| self.hue < *upto).map_or(
            if turkish { "kırmızı" } else { "red" },
            |(_, en, tr)| {
                if turkish { tr } else { en }
            },
        )
    }
}

/// HSL to sRGB (hue in degrees, saturation and lightness in 0..=1).
fn hsl(hue: u16, saturation: f32, lightness: f32) -> Rgb {
    let c = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = f32::from(hue % 360) / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u8 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = lightness - c / 2.0;
    let channel = |v: f32| ((v + m).clamp(0.0, 1.0) * 255.0).round() as u8;
    Rgb(channel(r), channel(g), channel(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsl_primaries_convert_exactly() {
        assert_eq!(hsl(0, 1.0, 0.5), Rgb(255, 0, 0));
        assert_eq!(hsl(120, 1.0, 0.5), Rgb(0, 255, 0));
        assert_eq!(hsl(240, 1.0, 0.5), Rgb(0, 0, 255));
        assert_eq!(hsl(0, 0.0, 1.0), Rgb(255, 255, 255));
    }

    #[test]
    fn palettes_are_stable_per_sector_and_differ_between_sectors() {
        assert_eq!(
            Palette::for_sector("Bakery"),
            Palette::for_sector(" bakery ")
        );
        assert_ne!(
            Palette::for_sector("bakery").hue,
            Palette::for_sector("yoga studio").hue
        );
    }

    #[test]
    fn every_hue_has_a_name() {
        for hue in 0..360 {
            let palette = Palette {
                hue,
                ..Palette::for_sector("x")
            };
            assert!(!palette.colour_name(false).is_empty());
            assert!(!palette.colour_name(true).is_empty());
        }
    }
}
