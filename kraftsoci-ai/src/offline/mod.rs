//! Deterministic generators that need no network, for sandbox mode, demos and tests.

mod card;
mod palette;
mod text;

use async_trait::async_trait;
use kraftsoci_core::CheckedJpeg;
use kraftsoci_core::ports::{
    ContentGenerator, GeneratedImage, GeneratedText, GenerationError, GenerationRequest,
    ImageGenerator, Usage,
};

use crate::AiError;

/// Side of the square card the offline renderer draws, in pixels.
pub const OFFLINE_IMAGE_SIZE: u32 = card::SIZE as u32;

/// Writes template posts and renders a designed card, without a network and without a model.
///
/// What it is: captions assembled from a few English and Turkish templates (an opener with the
/// topic, a line in the profile's tone, a call to action), picked by a hash of the topic, with
/// hashtags from the sector and the topic's words; and a 1080×1080 JPEG card in colours derived
/// from the sector, showing the sector and the topic in Noto Sans Bold (bundled, SIL Open
/// Font License). The same request always
/// gives the same post, byte for byte. It is meant for sandbox mode and demos, not as a
/// substitute for a writer: say so wherever its output is shown.
///
/// Usage reports no tokens; the image counts as one image, as in production, so plan quotas
/// behave the same in the sandbox.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineGenerator;

impl OfflineGenerator {
    /// The generator.
    pub fn new() -> Self {
        Self
    }

    /// Writes caption, hashtags, alt text (describing the card [`Self::render_card`] draws) and
    /// an image prompt.
    ///
    /// # Errors
    /// [`AiError::InvalidOutput`] should a template ever produce text core refuses (the
    /// templates are short, so this takes a topic far beyond core's limits).
    pub fn write_post(&self, request: &GenerationRequest) -> Result<GeneratedText, AiError> {
        let text = text::write(request)?;
        Ok(GeneratedText {
            caption: text.caption,
            hashtags: text.hashtags,
            alt_text: text.alt_text,
            image_prompt: text.image_prompt,
            usage: Usage::default(),
        })
    }

    /// Renders the card for the request: the image prompt is not needed, the card shows the
    /// sector and the topic. CPU-bound (tens of milliseconds); the async
    /// [`ImageGenerator`] implementation runs it on the blocking pool.
    ///
    /// # Errors
    /// [`AiError::Render`] if encoding fails, [`AiError::InvalidImage`] if the result fails
    /// core's image check (neither happens for a 1080×1080 baseline JPEG).
    pub fn render_card(&self, request: &GenerationRequest) -> Result<GeneratedImage, AiError> {
        let jpeg = card::render(
            request.profile.sector.as_str(),
            request.topic.as_str(),
            request.profile.language.as_str(),
        )?;
        let checked = CheckedJpeg::check(&jpeg).map_err(AiError::InvalidImage)?;
        Ok(GeneratedImage {
            jpeg,
            checked,
            usage: Usage {
                images: 1,
                ..Usage::default()
            },
        })
    }
}

#[async_trait]
impl ContentGenerator for OfflineGenerator {
    async fn generate_text(
        &self,
        request: &GenerationRequest,
    ) -> Result<GeneratedText, GenerationError> {
        self.write_post(request).map_err(GenerationError::from)
    }
}

#[async_trait]
impl ImageGenerator for OfflineGenerator {
    async fn generate_image(
        &self,
        request: &GenerationRequest,
        _image_prompt: &str,
    ) -> Result<GeneratedImage, GenerationError> {
        let generator = *self;
        let request = request.clone();
        tokio::task::spawn_blocking(move || generator.render_card(&request))
            .await
            .map_err(|e| GenerationError::InvalidOutput(format!("the renderer stopped: {e}")))?
            .map_err(GenerationError::from)
    }
}
