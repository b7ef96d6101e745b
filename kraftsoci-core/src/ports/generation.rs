//! Generator ports: caption text and images, from the business profile and a topic only (P11).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{AltText, BusinessProfile, Caption, CheckedJpeg, Hashtag, Topic};

/// What a generator is given: the business profile and the topic, nothing else (P11). There is
/// deliberately no field for a name, email, business name, id or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// The business profile (P02).
    pub profile: BusinessProfile,
    /// What the post is about.
    pub topic: Topic,
}

/// Provider usage of one call, for plan quotas and cost reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
    /// Images generated.
    pub images: u32,
}

impl Usage {
    /// Adds another call's usage.
    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.images = self.images.saturating_add(other.images);
    }
}

/// Generated post text, already within Instagram's limits (the types guarantee it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedText {
    /// The caption body.
    pub caption: Caption,
    /// Hashtags (caption and hashtags together fit Instagram's limits).
    pub hashtags: Vec<Hashtag>,
    /// Alt text for the image.
    pub alt_text: AltText,
    /// A prompt for the image generator, derived from the profile and topic.
    pub image_prompt: String,
    /// What the call used.
    pub usage: Usage,
}

/// A generated image that passed Instagram's image check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedImage {
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
    /// The check's result (dimensions, digest).
    pub checked: CheckedJpeg,
    /// What the call used.
    pub usage: Usage,
}

/// Why generation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerationError {
    /// The topic or output was flagged by moderation.
    #[error("the request was refused by moderation ({})", categories.join(", "))]
    Flagged {
        /// The flagged categories.
        categories: Vec<String>,
    },
    /// The model refused.
    #[error("the model refused: {0}")]
    Refused(String),
    /// The model's output could not be used (malformed, or still invalid after repair).
    #[error("the model returned unusable output: {0}")]
    InvalidOutput(String),
    /// The provider is unreachable, failing or throttling beyond the retry budget.
    #[error("the generator is unavailable: {0}")]
    Unavailable(String),
    /// The provider rejected our credentials or request (not retryable).
    #[error("the generator rejected the request: {0}")]
    Rejected(String),
}

/// Writes caption, hashtags and alt text.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ContentGenerator: Send + Sync {
    /// Generates post text for the request.
    async fn generate_text(
        &self,
        request: &GenerationRequest,
    ) -> Result<GeneratedText, GenerationError>;
}

/// Makes an image.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ImageGenerator: Send + Sync {
    /// Generates a JPEG for the request, guided by the text generator's image prompt.
    async fn generate_image(
        &self,
        request: &GenerationRequest,
        image_prompt: &str,
    ) -> Result<GeneratedImage, GenerationError>;
}
