//! A 1080×1080 JPEG card: a diagonal gradient in the sector's colours, two soft circles, a
//! framed panel with a drop shadow, the sector as a heading and the topic in large letters.
//!
//! The lettering is Noto Sans Bold (`fonts/`, SIL Open Font License), embedded in the
//! binary and rasterised with anti-aliasing by `ab_glyph`: Turkish (ğ ş ı İ ç ö ü), the rest
//! of Latin, Greek and Cyrillic get their real glyphs. Characters the font lacks (emoji) are
//! left out rather than drawn as boxes. Rendering is plain arithmetic on an embedded font, so
//! the same request gives the same bytes on every run.

use std::sync::LazyLock;

use ab_glyph::{Font as _, FontRef, GlyphId, PxScale, ScaleFont as _, point};
use jpeg_encoder::{ColorType, Encoder};

use super::palette::{Palette, Rgb, stable_hash};
use crate::AiError;

/// Instagram's recommended square size.
pub(crate) const SIZE: usize = 1080;
const QUALITY: u8 = 88;

const PANEL_LEFT: usize = 100;
const PANEL_RIGHT: usize = 980;
const PANEL_TOP: usize = 150;
const PANEL_BOTTOM: usize = 930;
const PANEL_PADDING: usize = 64;
const SHADOW_OFFSET: usize = 14;
const PANEL: Rgb = Rgb(252, 250, 246);
/// The heading's size in pixels (the font's em).
const HEADING_PX: f32 = 38.0;
/// Sizes tried for the topic, largest first.
const TOPIC_PX: [f32; 9] = [112.0, 100.0, 88.0, 76.0, 66.0, 56.0, 48.0, 40.0, 34.0];
/// Lines are this many times the font size apart.
const LINE_SPACING: f32 = 1.2;

/// Noto Sans Bold 2.004, unmodified (see `fonts/README.md`).
const FONT_BYTES: &[u8] = include_bytes!("fonts/NotoSans-Bold.ttf");

/// The parsed font. Parsing only reads table offsets; a font that does not parse leaves
/// the card without lettering (and fails this module's tests) rather than failing the post.
static FONT: LazyLock<Option<FontRef<'static>>> =
    LazyLock::new(|| FontRef::try_from_slice(FONT_BYTES).ok());

struct Canvas {
    pixels: Vec<u8>,
}

/// `colour` repeated `len` times, as RGB bytes.
fn run(colour: Rgb, len: usize) -> Vec<u8> {
    [colour.0, colour.1, colour.2].repeat(len)
}

/// `colour` blended over `base` with `alpha` in 0..=256.
fn blend(base: Rgb, colour: Rgb, alpha: u32) -> Rgb {
    let keep = 256 - alpha.min(256);
    let mix = |b: u8, c: u8| ((u32::from(b) * keep + u32::from(c) * alpha.min(256)) >> 8) as u8;
    Rgb(
        mix(base.0, colour.0),
        mix(base.1, colour.1),
        mix(base.2, colour.2),
    )
}

// Rendering is row copies wherever possible: unoptimised debug builds run per-pixel loops
// slowly, and the tests render several cards.
impl Canvas {
    fn new() -> Self {
        Self {
            pixels: vec![0; SIZE * SIZE * 3],
        }
    }

    fn row_span(&mut self, y: usize, x0: usize, x1: usize) -> &mut [u8] {
        let (x0, x1) = (x0.min(SIZE), x1.min(SIZE).max(x0.min(SIZE)));
        let y = y.min(SIZE - 1);
        &mut self.pixels[(y * SIZE + x0) * 3..(y * SIZE + x1) * 3]
    }

    /// Paints the rectangle in one opaque colour.
    fn fill(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, colour: Rgb) {
        let pattern = run(colour, x1.min(SIZE).saturating_sub(x0));
        for y in y0..y1.min(SIZE) {
            let span = self.row_span(y, x0, x1);
            span.copy_from_slice(&pattern[..span.len()]);
        }
    }

    /// Blends `colour` over the rectangle with `alpha` in 0..=256 (for small areas).
    fn shade(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, colour: Rgb, alpha: u32) {
        for y in y0..y1.min(SIZE) {
            for px in self.row_span(y, x0, x1).chunks_exact_mut(3) {
                let mixed = blend(Rgb(px[0], px[1], px[2]), colour, alpha);
                px.copy_from_slice(&[mixed.0, mixed.1, mixed.2]);
            }
        }
    }

    /// The gradient from `top` (top-left corner) to `bottom` (bottom-right), with two soft
    /// circles placed by `seed`. Along a diagonal the colour is constant, so row `y` is the
    /// strip of diagonal colours starting at `y`: one copy per row, and one per circle span.
    fn background(&mut self, palette: &Palette, seed: u64) {
        let diagonals = 2 * SIZE - 1;
        let mut strip = Vec::with_capacity(diagonals * 3);
        let mut washed = Vec::with_capacity(diagonals * 3);
        for t in 0..diagonals {
            let alpha = (t * 256 / (diagonals - 1)) as u32;
            let colour = blend(palette.top, palette.bottom, alpha);
            let light = blend(colour, Rgb(255, 255, 255), 38);
            strip.extend_from_slice(&[colour.0, colour.1, colour.2]);
            washed.extend_from_slice(&[light.0, light.1, light.2]);
        }
        for y in 0..SIZE {
            self.row_span(y, 0, SIZE)
                .copy_from_slice(&strip[y * 3..(y + SIZE) * 3]);
        }
        let circles = [
            (
                (seed % 700) as i64 + 190,
                ((seed >> 12) % 300) as i64,
                260i64,
            ),
            (
                ((seed >> 24) % 700) as i64 + 190,
                ((seed >> 36) % 300) as i64 + 780,
                200i64,
            ),
        ];
        for (cx, cy, r) in circles {
            for y in (cy - r).max(0)..(cy + r + 1).min(SIZE as i64) {
                let dy = y - cy;
                let half = ((r * r - dy * dy) as f64).sqrt() as i64;
                let x0 = (cx - half).clamp(0, SIZE as i64) as usize;
                let x1 = (cx + half + 1).clamp(0, SIZE as i64) as usize;
                let y = y as usize;
                self.row_span(y, x0, x1)
                    .copy_from_slice(&washed[(y + x0) * 3..(y + x1) * 3]);
            }
        }
    }

    /// Draws `lines` of `font` at `px`, the first line's top at `top`, blending `ink` by each
    /// pixel's coverage.
    fn text(
        &mut self,
        font: &FontRef<'_>,
        lines: &[String],
        left: usize,
        top: usize,
        px: f32,
        ink: Rgb,
    ) {
        let scaled = font.as_scaled(PxScale::from(px));
        let line_height = line_height(px);
        for (row, line) in lines.iter().enumerate() {
            let baseline = top as f32 + row as f32 * line_height + scaled.ascent();
            let mut x = left as f32;
            let mut previous: Option<GlyphId> = None;
            for c in line.chars() {
                let id = font.glyph_id(c);
                if let Some(previous) = previous {
                    x += scaled.kern(previous, id);
                }
                let glyph = id.with_scale_and_position(PxScale::from(px), point(x, baseline));
                x += scaled.h_advance(id);
                previous = Some(id);
                let Some(outline) = font.outline_glyph(glyph) else {
                    continue;
                };
                let bounds = outline.px_bounds();
                outline.draw(|gx, gy, coverage| {
                    let px_x = bounds.min.x as i64 + i64::from(gx);
                    let px_y = bounds.min.y as i64 + i64::from(gy);
                    if coverage <= 0.0
                        || px_x < 0
                        || px_y < 0
                        || px_x >= SIZE as i64
                        || px_y >= SIZE as i64
                    {
                        return;
                    }
                    let at = (px_y as usize * SIZE + px_x as usize) * 3;
                    let alpha = (coverage.min(1.0) * 256.0) as u32;
                    let base = Rgb(self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]);
                    let mixed = blend(base, ink, alpha);
                    self.pixels[at..at + 3].copy_from_slice(&[mixed.0, mixed.1, mixed.2]);
                });
            }
        }
    }

    fn encode(self) -> Result<Vec<u8>, AiError> {
        let mut out = Vec::with_capacity(256 * 1024);
        let side = SIZE as u16;
        Encoder::new(&mut out, QUALITY)
            .encode(&self.pixels, side, side, ColorType::Rgb)
            .map_err(|e| AiError::Render(e.to_string()))?;
        Ok(out)
    }
}

fn line_height(px: f32) -> f32 {
    px * LINE_SPACING
}

/// Whether the font has a glyph for `c` (whitespace counts: it is drawn as space).
fn drawable(font: &FontRef<'_>, c: char) -> bool {
    c.is_whitespace() || font.glyph_id(c).0 != 0
}

/// The width of `text` at `px`, kerning included.
fn width(font: &FontRef<'_>, text: &str, px: f32) -> f32 {
    let scaled = font.as_scaled(PxScale::from(px));
    let mut total = 0.0;
    let mut previous: Option<GlyphId> = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(previous) = previous {
            total += scaled.kern(previous, id);
        }
        total += scaled.h_advance(id);
        previous = Some(id);
    }
    total
}

/// Greedy word wrap of `text` into lines at most `max_width` pixels wide at `px`; a word
/// wider than a line is split between letters. Characters without a glyph are dropped.
/// `None` when more than `max_lines` lines would be needed.
fn wrap(
    font: &FontRef<'_>,
    text: &str,
    px: f32,
    max_width: f32,
    max_lines: usize,
) -> Option<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word: String = word.chars().filter(|&c| drawable(font, c)).collect();
        if word.is_empty() {
            continue;
        }
        // The word in pieces that each fit a line on their own.
        let mut pieces = vec![String::new()];
        for c in word.chars() {
            let mut current = pieces.pop().unwrap_or_default();
            current.push(c);
            if width(font, &current, px) > max_width && current.chars().count() > 1 {
                current.pop();
                pieces.push(current);
                pieces.push(c.to_string());
            } else {
                pieces.push(current);
            }
        }
        for piece in pieces {
            let candidate = if line.is_empty() {
                piece.clone()
            } else {
                format!("{line} {piece}")
            };
            if width(font, &candidate, px) <= max_width {
                line = candidate;
            } else {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                line = piece;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    (lines.len() <= max_lines).then_some(lines)
}

/// `text` in capitals by the rules of `language`: Turkish keeps the dot of i (i → İ) and
/// ı → I; `std` uses Unicode's default mapping, which is right for the other languages.
fn to_upper(language: &str, text: &str) -> String {
    let turkish = language.split(['-', '_']).next().is_some_and(|primary| {
        primary.eq_ignore_ascii_case("tr") || primary.eq_ignore_ascii_case("az")
    });
    if turkish {
        text.chars()
            .map(|c| {
                if c == 'i' {
                    'İ'.to_string()
                } else {
                    c.to_uppercase().collect()
                }
            })
            .collect()
    } else {
        text.to_uppercase()
    }
}

/// Renders the card for `sector` and `topic` (the sector in capitals as `language` writes
/// them) and encodes it as a baseline JPEG.
pub(crate) fn render(sector: &str, topic: &str, language: &str) -> Result<Vec<u8>, AiError> {
    let palette = Palette::for_sector(sector);
    let mut canvas = Canvas::new();
    canvas.background(&palette, stable_hash(topic));

    // Shadow (only its visible L), panel, and an accent rule along the panel's foot.
    let shadow = Rgb(0, 0, 0);
    canvas.shade(
        PANEL_RIGHT,
        PANEL_TOP + SHADOW_OFFSET,
        PANEL_RIGHT + SHADOW_OFFSET,
        PANEL_BOTTOM + SHADOW_OFFSET,
        shadow,
        70,
    );
    canvas.shade(
        PANEL_LEFT + SHADOW_OFFSET,
        PANEL_BOTTOM,
        PANEL_RIGHT,
        PANEL_BOTTOM + SHADOW_OFFSET,
        shadow,
        70,
    );
    canvas.fill(PANEL_LEFT, PANEL_TOP, PANEL_RIGHT, PANEL_BOTTOM, PANEL);
    canvas.fill(
        PANEL_LEFT,
        PANEL_BOTTOM - 14,
        PANEL_RIGHT,
        PANEL_BOTTOM,
        palette.accent,
    );

    let inner_left = PANEL_LEFT + PANEL_PADDING;
    let inner_width = (PANEL_RIGHT - PANEL_LEFT - 2 * PANEL_PADDING) as f32;
    let heading_top = PANEL_TOP + PANEL_PADDING;
    let bar_top = heading_top + line_height(HEADING_PX) as usize + 16;
    let Some(font) = FONT.as_ref() else {
        tracing::error!("the card's embedded font does not parse; drawing the card without text");
        return canvas.encode();
    };

    // Heading: the sector in capitals, one line, then a short accent bar.
    let heading = to_upper(language, sector);
    let mut heading_lines =
        wrap(font, &heading, HEADING_PX, inner_width, usize::MAX).unwrap_or_default();
    heading_lines.truncate(1);
    canvas.text(
        font,
        &heading_lines,
        inner_left,
        heading_top,
        HEADING_PX,
        palette.accent,
    );
    canvas.fill(
        inner_left,
        bar_top,
        inner_left + 96,
        bar_top + 10,
        palette.accent,
    );

    // The topic, as large as fits, centred vertically in the rest of the panel.
    let area_top = bar_top + 10 + 40;
    let area_bottom = PANEL_BOTTOM - 14 - PANEL_PADDING;
    let area_height = (area_bottom - area_top) as f32;
    let max_lines = |px: f32| (area_height / line_height(px)) as usize;
    let fitted = TOPIC_PX
        .iter()
        .find_map(|&px| wrap(font, topic, px, inner_width, max_lines(px)).map(|lines| (px, lines)));
    let (px, lines) = match fitted {
        Some(fit) => fit,
        None => {
            // Longer than even the smallest size holds: keep what fits, end with "…".
            let px = TOPIC_PX[TOPIC_PX.len() - 1];
            let mut lines = wrap(font, topic, px, inner_width, usize::MAX).unwrap_or_default();
            lines.truncate(max_lines(px));
            if let Some(last) = lines.last_mut() {
                while !last.is_empty() && width(font, &format!("{last}…"), px) > inner_width {
                    last.pop();
                }
                let trimmed = last.trim_end().len();
                last.truncate(trimmed);
                last.push('…');
            }
            (px, lines)
        }
    };
    let block_height = lines.len() as f32 * line_height(px);
    let top = area_top + ((area_height - block_height).max(0.0) / 2.0) as usize;
    canvas.text(font, &lines, inner_left, top, px, palette.ink);

    canvas.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn font() -> &'static FontRef<'static> {
        FONT.as_ref().expect("the embedded font parses")
    }

    /// The glyph `c` rendered alone at 64 px, as a coverage bitmap (0..=255).
    fn bitmap(c: char) -> Vec<u8> {
        let font = font();
        let glyph = font
            .glyph_id(c)
            .with_scale_and_position(PxScale::from(64.0), point(8.0, 60.0));
        let mut out = vec![0u8; 80 * 80];
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|x, y, coverage| {
                let (x, y) = (
                    bounds.min.x as i64 + i64::from(x),
                    bounds.min.y as i64 + i64::from(y),
                );
                if (0..80).contains(&x) && (0..80).contains(&y) {
                    out[y as usize * 80 + x as usize] = (coverage.min(1.0) * 255.0) as u8;
                }
            });
        }
        out
    }

    #[test]
    fn every_turkish_letter_has_its_own_glyph_not_a_box() {
        let font = font();
        let notdef = bitmap('\u{E000}');
        for c in "ğĞşŞıİçÇöÖüÜ".chars() {
            assert_ne!(font.glyph_id(c).0, 0, "{c} is missing from the font");
            let drawn = bitmap(c);
            assert!(
                drawn.iter().filter(|&&v| v > 128).count() > 40,
                "{c} draws nothing"
            );
            assert_ne!(drawn, notdef, "{c} is drawn as the missing-glyph box");
        }
        // The marks are really there: each letter differs from its base letter.
        for (marked, base) in [
            ('ğ', 'g'),
            ('ş', 's'),
            ('ı', 'i'),
            ('İ', 'I'),
            ('ç', 'c'),
            ('ö', 'o'),
            ('ü', 'u'),
        ] {
            assert_ne!(bitmap(marked), bitmap(base), "{marked} looks like {base}");
        }
    }

    #[test]
    fn characters_the_font_lacks_are_left_out() {
        let font = font();
        assert!(drawable(font, 'a') && drawable(font, 'Ж') && drawable(font, ' '));
        assert!(!drawable(font, '🥐'));
        assert_eq!(wrap(font, "🥐 🥐", 40.0, 500.0, 1).unwrap().len(), 0);
        assert_eq!(wrap(font, "ekmek🥐", 40.0, 500.0, 1).unwrap(), ["ekmek"]);
        // Turkish text keeps every letter: nothing is dropped or swapped for a base letter.
        let caption = "Işıl ışıl çiçekler, İzmir'de güneşli bir öğleden sonra";
        assert_eq!(wrap(font, caption, 40.0, 10_000.0, 1).unwrap(), [caption]);
    }

    #[test]
    fn wrapping_breaks_at_words_and_splits_words_wider_than_a_line() {
        let font = font();
        let one = width(font, "taze", 40.0);
        let lines = wrap(font, "taze ekmek her gün", 40.0, one * 2.6, 10).unwrap();
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(
            lines.iter().all(|l| width(font, l, 40.0) <= one * 2.6),
            "{lines:?}"
        );
        assert_eq!(lines.join(" "), "taze ekmek her gün");
        let narrow = width(font, "W", 40.0) * 3.5;
        let pieces = wrap(font, "WWWWWWWWWW", 40.0, narrow, 10).unwrap();
        assert!(pieces.len() >= 3, "{pieces:?}");
        assert_eq!(pieces.concat(), "WWWWWWWWWW");
        assert!(wrap(font, "one two three four", 40.0, one, 2).is_none());
    }

    #[test]
    fn turkish_headings_keep_the_dot_on_the_capital_i() {
        assert_eq!(to_upper("tr", "çiçekçi"), "ÇİÇEKÇİ");
        assert_eq!(to_upper("tr-TR", "fırın"), "FIRIN");
        assert_eq!(to_upper("en", "bakery"), "BAKERY");
        assert_eq!(to_upper("en", "pide"), "PIDE");
    }
}
