//! Generates an Instagram post for a sample bakery.
//!
//! With `OPENAI_API_KEY` set it asks OpenAI (`gpt-4o-mini` for the text, `gpt-image-1` for the
//! image; `OPENAI_BASE_URL` overrides the API root). Without one it uses the offline
//! generators, which need no network. It prints the caption, hashtags and alt text and writes
//! the JPEG to the path given as the first argument (default `./generated.jpg`); an optional
//! second argument replaces the topic.
//!
//! ```text
//! cargo run -p kraftsoci-examples --example generate_post -- /tmp/post.jpg "Simit season is back"
//! ```

use std::sync::Arc;

use kraftsoci_ai::{OfflineGenerator, OpenAiConfig, OpenAiGenerator};
use kraftsoci_core::ports::{ContentGenerator, GenerationRequest, ImageGenerator};
use kraftsoci_core::{
    BusinessDescription, BusinessProfile, Language, PostText, Sector, TargetAudience, Tone, Topic,
};
use secrecy::SecretString;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let output = args.next().unwrap_or_else(|| "generated.jpg".to_owned());
    let topic = args
        .next()
        .unwrap_or_else(|| "Our new sourdough, out of the oven at 7 every morning".to_owned());

    // Only the profile and the topic go to a generator (P11).
    let request = GenerationRequest {
        profile: BusinessProfile {
            description: BusinessDescription::parse(
                "A family bakery in Kadıköy baking simit and sourdough since 1982",
            )?,
            target_audience: TargetAudience::parse("Neighbours and morning commuters")?,
            tone: Tone::parse("warm and friendly")?,
            sector: Sector::parse("bakery")?,
            language: Language::parse("en")?,
        },
        topic: Topic::parse(&topic)?,
    };

    let (text_generator, image_generator, source): (
        Arc<dyn ContentGenerator>,
        Arc<dyn ImageGenerator>,
        &str,
    ) = match std::env::var("OPENAI_API_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        Some(key) => {
            let mut config = OpenAiConfig::new(SecretString::from(key));
            if let Ok(base_url) = std::env::var("OPENAI_BASE_URL") {
                config = config.with_base_url(base_url);
            }
            let generator = Arc::new(OpenAiGenerator::new(config)?);
            (generator.clone(), generator, "OpenAI")
        }
        None => {
            let generator = Arc::new(OfflineGenerator::new());
            (
                generator.clone(),
                generator,
                "offline templates (no OPENAI_API_KEY)",
            )
        }
    };

    println!("generating with {source}…\n");
    let text = text_generator.generate_text(&request).await?;
    let image = image_generator
        .generate_image(&request, &text.image_prompt)
        .await?;

    let post = PostText::compose(&text.caption, &text.hashtags)?;
    println!("--- caption ---\n{}\n", text.caption);
    let hashtags: Vec<String> = text.hashtags.iter().map(ToString::to_string).collect();
    println!("--- hashtags ---\n{}\n", hashtags.join(" "));
    println!("--- alt text ---\n{}\n", text.alt_text);
    println!(
        "--- as posted ({} characters) ---\n{}\n",
        kraftsoci_core::instagram_length(post.as_str()),
        post.as_str()
    );

    std::fs::write(&output, &image.jpeg)?;
    println!(
        "image: {}×{} JPEG, {} bytes, sha256 {} → {output}",
        image.checked.width(),
        image.checked.height(),
        image.checked.len(),
        image.checked.digest().to_hex(),
    );
    println!(
        "usage: {} prompt + {} completion tokens, {} image(s)",
        text.usage.prompt_tokens + image.usage.prompt_tokens,
        text.usage.completion_tokens + image.usage.completion_tokens,
        image.usage.images,
    );
    Ok(())
}
