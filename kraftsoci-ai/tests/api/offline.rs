//! The offline generators: valid, deterministic, and a real designed card.

use std::sync::Arc;

use kraftsoci_ai::{OFFLINE_IMAGE_SIZE, OfflineGenerator};
use kraftsoci_core::ports::{ContentGenerator, GenerationRequest, ImageGenerator, Usage};
use kraftsoci_core::{Language, PostText, Sector, Tone, Topic};

use crate::helpers::request;

fn with_topic(topic: &str) -> GenerationRequest {
    let mut request = request();
    request.topic = Topic::parse(topic).unwrap();
    request
}

/// The card decoded to RGB pixels.
fn decode(jpeg: &[u8]) -> (u16, u16, Vec<u8>) {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = decoder.decode().expect("a decodable jpeg");
    let info = decoder.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    (info.width, info.height, pixels)
}

fn pixel(pixels: &[u8], x: usize, y: usize) -> [u8; 3] {
    let at = (y * OFFLINE_IMAGE_SIZE as usize + x) * 3;
    [pixels[at], pixels[at + 1], pixels[at + 2]]
}

fn luma([r, g, b]: [u8; 3]) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

#[tokio::test]
async fn offline_generation_implements_both_ports_and_needs_no_network() {
    let text_port: Arc<dyn ContentGenerator> = Arc::new(OfflineGenerator::new());
    let image_port: Arc<dyn ImageGenerator> = Arc::new(OfflineGenerator::new());

    let text = text_port.generate_text(&request()).await.unwrap();
    let image = image_port
        .generate_image(&request(), &text.image_prompt)
        .await
        .unwrap();

    PostText::compose(&text.caption, &text.hashtags).unwrap();
    assert_eq!(text.usage, Usage::default());
    assert_eq!(image.usage.images, 1);
    assert_eq!(
        (image.checked.width(), image.checked.height()),
        (OFFLINE_IMAGE_SIZE, OFFLINE_IMAGE_SIZE)
    );
}

#[test]
fn the_same_request_gives_the_same_post_byte_for_byte() {
    let generator = OfflineGenerator::new();
    let first = generator.write_post(&request()).unwrap();
    let again = generator.write_post(&request()).unwrap();
    assert_eq!(first, again);
    let card = generator.render_card(&request()).unwrap();
    assert_eq!(card, generator.render_card(&request()).unwrap());
}

#[test]
fn captions_carry_the_topic_and_vary_with_it() {
    let generator = OfflineGenerator::new();
    let topics = [
        "Our new sourdough, out of the oven at 7",
        "Simit season is back",
        "Closed on Monday for a family wedding",
        "Meet Hasan, our new baker",
        "Pumpkin bread for the autumn",
        "Two loaves for the price of one on Friday",
    ];
    let captions: Vec<String> = topics
        .iter()
        .map(|t| {
            generator
                .write_post(&with_topic(t))
                .unwrap()
                .caption
                .to_string()
        })
        .collect();
    for (caption, topic) in captions.iter().zip(topics) {
        assert!(caption.contains(topic), "{caption}");
    }
    let shapes: std::collections::BTreeSet<String> = captions
        .iter()
        .zip(topics)
        .map(|(caption, topic)| caption.replace(topic, "…"))
        .collect();
    assert!(shapes.len() >= 3, "templates vary: {shapes:?}");
}

#[test]
fn the_tone_and_sector_shape_the_text() {
    let generator = OfflineGenerator::new();
    let mut playful = request();
    playful.profile.tone = Tone::parse("playful").unwrap();
    let mut formal = request();
    formal.profile.tone = Tone::parse("professional").unwrap();
    assert_ne!(
        generator.write_post(&playful).unwrap().caption,
        generator.write_post(&formal).unwrap().caption
    );

    let mut yoga = request();
    yoga.profile.sector = Sector::parse("Yoga studio").unwrap();
    let text = generator.write_post(&yoga).unwrap();
    let tags: Vec<&str> = text.hashtags.iter().map(|t| t.as_str()).collect();
    assert_eq!(tags[0], "yogastudio");
    assert!(
        tags.contains(&"sourdough"),
        "topic words become hashtags: {tags:?}"
    );
}

#[test]
fn turkish_profiles_get_turkish_text() {
    let mut request = request();
    request.profile.language = Language::parse("tr").unwrap();
    request.profile.tone = Tone::parse("samimi").unwrap();
    request.topic =
        Topic::parse("Yeni ekşi mayalı ekmeğimiz her sabah yedide fırından çıkıyor").unwrap();

    let text = OfflineGenerator::new().write_post(&request).unwrap();

    assert!(
        text.alt_text.as_str().contains("kare bir kart"),
        "{}",
        text.alt_text
    );
    let tags: Vec<&str> = text.hashtags.iter().map(|t| t.as_str()).collect();
    assert!(tags.contains(&"ekmeğimiz"), "{tags:?}");
    assert!(tags.contains(&"yerelisletme"), "{tags:?}");
}

#[test]
fn the_card_is_a_decodable_square_jpeg_with_a_panel_and_lettering() {
    let card = OfflineGenerator::new().render_card(&request()).unwrap();
    let (width, height, pixels) = decode(&card.jpeg);
    assert_eq!(
        (u32::from(width), u32::from(height)),
        (OFFLINE_IMAGE_SIZE, OFFLINE_IMAGE_SIZE)
    );

    // Corners: the gradient runs from the light top-left to the dark bottom-right.
    let top_left = pixel(&pixels, 5, 5);
    let bottom_right = pixel(&pixels, 1074, 1074);
    assert!(
        luma(top_left) > luma(bottom_right) + 40,
        "{top_left:?} {bottom_right:?}"
    );

    // The panel: near-white inside its margin.
    let panel = pixel(&pixels, 120, 500);
    assert!(panel.iter().all(|&c| c > 235), "{panel:?}");

    // Lettering: dark pixels inside the panel's text area, and plenty of them.
    let dark = (330..880)
        .flat_map(|y| (164..916).map(move |x| (x, y)))
        .filter(|&(x, y)| luma(pixel(&pixels, x, y)) < 90)
        .count();
    assert!(dark > 20_000, "only {dark} dark pixels: no lettering?");
}

#[test]
fn sectors_get_their_own_colours() {
    let generator = OfflineGenerator::new();
    let mut florist = request();
    florist.profile.sector = Sector::parse("florist").unwrap();
    let (_, _, bakery) = decode(&generator.render_card(&request()).unwrap().jpeg);
    let (_, _, flowers) = decode(&generator.render_card(&florist).unwrap().jpeg);
    let difference: u32 = pixel(&bakery, 5, 5)
        .iter()
        .zip(pixel(&flowers, 5, 5))
        .map(|(a, b)| u32::from(a.abs_diff(b)))
        .sum();
    assert!(
        difference > 30,
        "corner colours barely differ ({difference})"
    );
}

#[test]
fn the_longest_topic_and_unrenderable_characters_still_make_a_valid_post() {
    let longest = format!("{} 🥐🥐 İstanbul’da şimdi", "sourdough ".repeat(47));
    let request = with_topic(
        &longest[..longest
            .char_indices()
            .nth(500)
            .map_or(longest.len(), |(i, _)| i)],
    );
    let generator = OfflineGenerator::new();

    let text = generator.write_post(&request).unwrap();
    PostText::compose(&text.caption, &text.hashtags).unwrap();
    let card = generator.render_card(&request).unwrap();
    assert_eq!(card.checked.width(), OFFLINE_IMAGE_SIZE);
}
