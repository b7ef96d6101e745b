//! # kraftsoci-ai
//!
//! Post generation for kraftsoci: the [`ContentGenerator`] and [`ImageGenerator`] ports of
//! `kraftsoci-core`, implemented twice.
//!
//! - [`OpenAiGenerator`]: captions, hashtags, alt text and an image prompt from `gpt-4o-mini`
//!   in strict structured output, images from `gpt-image-1` (P12), both behind OpenAI's
//!   moderation endpoint.
//! - [`OfflineGenerator`]: deterministic templates and a rendered 1080×1080 card, for sandbox
//!   mode and demos. No network, no model.
//!
//! Whatever either returns has passed core's types ([`Caption`], [`Hashtag`], [`AltText`],
//! [`PostText::compose`], [`CheckedJpeg::check`]), so the preview the owner sees is a post
//! Instagram accepts.
//!
//! ## Quick start
//!
//! ```
//! use kraftsoci_ai::OfflineGenerator;
//! use kraftsoci_core::ports::{ContentGenerator, GenerationRequest, ImageGenerator};
//! use kraftsoci_core::{
//!     BusinessDescription, BusinessProfile, Language, Sector, TargetAudience, Tone, Topic,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let request = GenerationRequest {
//!     profile: BusinessProfile {
//!         description: BusinessDescription::parse("A family bakery baking simit since 1982")?,
//!         target_audience: TargetAudience::parse("Neighbours and commuters")?,
//!         tone: Tone::parse("warm and friendly")?,
//!         sector: Sector::parse("bakery")?,
//!         language: Language::parse("en")?,
//!     },
//!     topic: Topic::parse("Our new sourdough, out of the oven at 7 every morning")?,
//! };
//!
//! // Sandbox mode; in production, `OpenAiGenerator::new(OpenAiConfig::new(key))?`.
//! let generator = OfflineGenerator::new();
//! let text = generator.generate_text(&request).await?;
//! let image = generator.generate_image(&request, &text.image_prompt).await?;
//!
//! assert!(!text.caption.as_str().is_empty());
//! assert_eq!((image.checked.width(), image.checked.height()), (1080, 1080));
//! # Ok(())
//! # }
//! ```
//!
//! With OpenAI:
//!
//! ```no_run
//! use kraftsoci_ai::{OpenAiConfig, OpenAiGenerator};
//! use secrecy::SecretString;
//!
//! # fn main() -> Result<(), kraftsoci_ai::AiError> {
//! let key = SecretString::from(std::env::var("OPENAI_API_KEY").unwrap_or_default());
//! let generator = OpenAiGenerator::new(OpenAiConfig::new(key))?;
//! # let _ = generator;
//! # Ok(())
//! # }
//! ```
//!
//! ## Data minimisation (P11)
//!
//! A [`GenerationRequest`] holds the business profile and the topic and nothing else, and those
//! are all the generators send: the chat request carries them as one JSON document, the image
//! request a picture description derived from them, moderation the topic and the generated
//! text. No name, email, business name, Instagram id, token or IP, and no `user` or
//! `safety_identifier` field. The API key travels only in the `Authorization` header. The
//! integration tests capture every body sent and check this.
//!
//! ## Instagram's limits
//!
//! The model is asked for a caption well under 2,200 characters and 5–15 hashtags. Its answer
//! goes through core's types; if it breaks a limit, the model gets one repair round-trip with
//! the list of problems; if the repaired answer still breaks one, it is trimmed the same way
//! every time (surplus tags untagged, invalid hashtags dropped, the caption cut at a word with
//! `…`). A refusal is [`AiError::Refused`]; malformed JSON is [`AiError::InvalidOutput`].
//! Images are asked for as JPEG at 1024×1024 (or 1536×1024): `gpt-image-1`'s 1024×1536 is 2:3,
//! which Instagram rejects, so [`ImageSize`] does not offer it. The bytes go through
//! [`CheckedJpeg::check`] before they are returned.
//!
//! ## Why reqwest, and async-openai only for types
//!
//! The requests and responses are async-openai 0.43's types (`CreateChatCompletionRequest`,
//! `ResponseFormat::JsonSchema`, `CreateImageRequest`, `ImagesResponse`,
//! `CreateModerationRequest`), but the calls are made with reqwest directly. async-openai's
//! client has its own retry layer (100 ms doubling to 8 s, no jitter, timeouts not retried,
//! no per-attempt deadline) that would sit under ours and multiply attempts. Here
//! [`RetryPolicy`] alone decides:
//!
//! - 429 waits what `Retry-After` (or OpenAI's `retry-after-ms`) says, plus up to 250 ms of
//!   jitter; a 429 with `insufficient_quota` is not retried; a demanded wait beyond
//!   [`RetryPolicy::max_retry_after`] ends the call with [`AiError::RateLimited`] at once;
//! - 408, 5xx, timeouts and connection failures back off exponentially with jitter;
//! - every other 4xx (400, 401, 403…) is [`AiError::Rejected`] after one attempt;
//! - attempts are bounded by [`RetryPolicy::max_attempts`], each under its own deadline
//!   ([`Timeouts`]).
//!
//! Moderation responses are read leniently (categories as a name → bool map) so that a
//! category OpenAI adds later is still reported by name.
//!
//! ## Your HTTP client, timeouts and TLS
//!
//! [`OpenAiGenerator::with_http_client`] sends every call through a `reqwest::Client` you built
//! (proxies, CA roots, connection pools, instrumentation), as async-openai's
//! `Client::with_http_client` does. Either way each attempt runs under the deadline of
//! [`Timeouts`] (60 s for a caption, 180 s for an image, 20 s for moderation), attempts are
//! bounded by [`RetryPolicy`] (3 by default), and the built-in client sets no timeout of its
//! own and follows no redirect.
//!
//! The built-in client speaks TLS through rustls, with the crypto provider a feature selects:
//!
//! | feature | provider |
//! |---|---|
//! | `rustls-ring` (default) | *ring* |
//! | `rustls-aws-lc` | aws-lc-rs (wins when both are enabled) |
//!
//! The provider is given to that client's TLS configuration, never installed process-wide.
//!
//! ## Dependencies
//!
//! 146 crates besides this one with the default features (`cargo tree -p kraftsoci-ai -e normal
//! --prefix none`, unique), 147 with `rustls-aws-lc` instead; 154 before aws-lc-rs stopped
//! coming in with every build and tokio was cut down to its timer and blocking pool.
//!
//! ## Usage metering
//!
//! Every [`GeneratedText`] and [`GeneratedImage`] carries a core [`Usage`]: prompt and
//! completion tokens of all chat calls (a repair round-trip included), image tokens and one
//! image for an image call. Moderation is free and not counted.
//!
//! [`ContentGenerator`]: kraftsoci_core::ports::ContentGenerator
//! [`ImageGenerator`]: kraftsoci_core::ports::ImageGenerator
//! [`GenerationRequest`]: kraftsoci_core::ports::GenerationRequest
//! [`GeneratedText`]: kraftsoci_core::ports::GeneratedText
//! [`GeneratedImage`]: kraftsoci_core::ports::GeneratedImage
//! [`Usage`]: kraftsoci_core::ports::Usage
//! [`Caption`]: kraftsoci_core::Caption
//! [`Hashtag`]: kraftsoci_core::Hashtag
//! [`AltText`]: kraftsoci_core::AltText
//! [`PostText::compose`]: kraftsoci_core::PostText::compose
//! [`CheckedJpeg::check`]: kraftsoci_core::CheckedJpeg::check
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// The README's example, compiled and run with the doctests so that it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod error;
mod offline;
mod openai;
mod tls;

pub use error::{AiError, ModeratedText};
pub use offline::{OFFLINE_IMAGE_SIZE, OfflineGenerator};
pub use openai::{
    DEFAULT_BASE_URL, DEFAULT_IMAGE_MODEL, DEFAULT_MODERATION_MODEL, DEFAULT_TEXT_MODEL, ImageSize,
    Moderation, OpenAiConfig, OpenAiGenerator, RetryPolicy, Timeouts,
};
