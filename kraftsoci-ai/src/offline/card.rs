//! A 1080×1080 JPEG card: a diagonal gradient in the sector's colours, two soft circles, a
//! framed panel with a drop shadow, the sector as a heading and the topic in large letters
//! (the 8×8 bitmap font of `font8x8`, scaled up).

use font8x8::{BASIC_FONTS, GREEK_FONTS, LATIN_FONTS, UnicodeFonts};
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
const HEADING_SCALE: usize = 4;
/// Glyph scales tried for the topic, largest first.
const TOPIC_SCALES: [usize; 8] = [10, 9, 8, 7, 6, 5, 4, 3];

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

    fn text(&mut self, lines: &[Vec<[u8; 8]>], x0: usize, y0: usize, scale: usize, ink: Rgb) {
        let line_height = line_height(scale);
        for (row, glyphs) in lines.iter().enumerate() {
            let top = y0 + row * line_height;
            for (column, glyph) in glyphs.iter().enumerate() {
                let left = x0 + column * 8 * scale;
                for (gy, bits) in glyph.iter().enumerate() {
                    for gx in 0..8 {
                        // font8x8: bit 0 is the leftmost pixel.
                        if bits & (1 << gx) != 0 {
                            let (x, y) = (left + gx * scale, top + gy * scale);
                            self.fill(x, y, x + scale, y + scale, ink);
                        }
                    }
                }
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

fn line_height(scale: usize) -> usize {
    8 * scale + 3 * scale
}

/// The glyph for `c`: the font's own, else the base letter for common Latin letters the font
/// lacks (Turkish ğ ş ı İ…), else nothing.
fn glyph(c: char) -> Option<[u8; 8]> {
    let lookup = |c: char| {
        BASIC_FONTS
            .get(c)
            .or_else(|| LATIN_FONTS.get(c))
            .or_else(|| GREEK_FONTS.get(c))
    };
    lookup(c).or_else(|| {
        let base = match c {
            'ğ' => 'g',
            'Ğ' => 'G',
            'ş' | 'ś' | 'š' => 's',
            'Ş' | 'Ś' | 'Š' => 'S',
            'ı' => 'i',
            'İ' => 'I',
            'ł' => 'l',
            'Ł' => 'L',
            'ő' => 'ö',
            'ű' => 'ü',
            'ć' | 'č' => 'c',
            'Ć' | 'Č' => 'C',
            'ž' | 'ź' | 'ż' => 'z',
            'Ž' | 'Ź' | 'Ż' => 'Z',
            '‘' | '’' => '\'',
            '“' | '”' | '„' => '"',
            '–' | '—' => '-',
            '…' => '.',
            _ => return None,
        };
        lookup(base)
    })
}

/// Greedy word wrap into lines of at most `width` glyphs; over-long words are split. `None`
/// when more than `max_lines` lines would be needed.
fn wrap(text: &str, width: usize, max_lines: usize) -> Option<Vec<Vec<[u8; 8]>>> {
    let mut lines: Vec<Vec<[u8; 8]>> = Vec::new();
    let mut line: Vec<[u8; 8]> = Vec::new();
    let space = glyph(' ')?;
    for word in text.split_whitespace() {
        let word: Vec<[u8; 8]> = word.chars().filter_map(glyph).collect();
        if word.is_empty() {
            continue;
        }
        for piece in word.chunks(width) {
            let needed = if line.is_empty() {
                piece.len()
            } else {
                line.len() + 1 + piece.len()
            };
            if needed > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(space);
            }
            line.extend_from_slice(piece);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    (lines.len() <= max_lines).then_some(lines)
}

/// Renders the card for `sector` and `topic` and encodes it as a baseline JPEG.
pub(crate) fn render(sector: &str, topic: &str) -> Result<Vec<u8>, AiError> {
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
    let inner_width = PANEL_RIGHT - PANEL_LEFT - 2 * PANEL_PADDING;

    // Heading: the sector in capitals, one line, then a short accent bar.
    let heading_top = PANEL_TOP + PANEL_PADDING;
    let heading: String = sector.to_uppercase();
    let heading_width = inner_width / (8 * HEADING_SCALE);
    let mut heading_lines = wrap(&heading, heading_width, usize::MAX).unwrap_or_default();
    heading_lines.truncate(1);
    canvas.text(
        &heading_lines,
        inner_left,
        heading_top,
        HEADING_SCALE,
        palette.accent,
    );
    let bar_top = heading_top + 8 * HEADING_SCALE + 24;
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
    let area_height = area_bottom - area_top;
    let fitted = TOPIC_SCALES.iter().find_map(|&scale| {
        let width = inner_width / (8 * scale);
        let max_lines = area_height / line_height(scale);
        wrap(topic, width, max_lines).map(|lines| (scale, lines))
    });
    let (scale, lines) = match fitted {
        Some(fit) => fit,
        None => {
            // Longer than even the smallest scale holds: keep what fits, end with "...".
            let scale = TOPIC_SCALES[TOPIC_SCALES.len() - 1];
            let width = inner_width / (8 * scale);
            let max_lines = area_height / line_height(scale);
            let mut lines = wrap(topic, width, usize::MAX).unwrap_or_default();
            lines.truncate(max_lines);
            if let (Some(last), Some(dot)) = (lines.last_mut(), glyph('.')) {
                last.truncate(width.saturating_sub(3));
                last.extend([dot; 3]);
            }
            (scale, lines)
        }
    };
    let block_height = lines.len() * line_height(scale);
    let top = area_top + area_height.saturating_sub(block_height) / 2;
    canvas.text(&lines, inner_left, top, scale, palette.ink);

    canvas.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_covers_latin_and_falls_back_for_turkish_letters() {
        assert!(glyph('a').is_some());
        assert!(glyph('ç').is_some());
        assert_eq!(glyph('ş'), glyph('s'));
        assert_eq!(glyph('İ'), glyph('I'));
        assert_eq!(glyph('🥐'), None);
    }

    #[test]
    fn wrapping_breaks_at_words_and_splits_long_ones() {
        let lines = wrap("fresh bread daily", 11, 10).unwrap();
        assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [11, 5]);
        let lines = wrap("abcdefghij", 4, 10).unwrap();
        assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
        assert!(wrap("one two three", 3, 2).is_none());
        assert_eq!(wrap("🥐 🥐", 10, 1).unwrap().len(), 0);
    }
}
