//! Configuration of the OpenAI generators.

use std::time::Duration;

use secrecy::SecretString;

use super::retry::RetryPolicy;

/// OpenAI's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The text model the privacy policy names (P12).
pub const DEFAULT_TEXT_MODEL: &str = "gpt-4o-mini";
/// The image model the privacy policy names (P12).
pub const DEFAULT_IMAGE_MODEL: &str = "gpt-image-1";
/// OpenAI's current moderation model.
pub const DEFAULT_MODERATION_MODEL: &str = "omni-moderation-latest";

/// Everything the OpenAI generators need. `Debug` shows the key as `[REDACTED]`.
///
/// Start from [`OpenAiConfig::new`] (the production defaults) and change what you need with the
/// `with_*` methods; [`OpenAiGenerator::new`](crate::OpenAiGenerator::new) checks the result.
///
/// ```
/// use std::time::Duration;
///
/// use kraftsoci_ai::{ImageSize, Moderation, OpenAiConfig, RetryPolicy, Timeouts};
/// use secrecy::SecretString;
///
/// let config = OpenAiConfig::new(SecretString::from("sk-your-key"))
///     .with_base_url("https://openai-proxy.internal/v1")
///     .with_image_size(ImageSize::Landscape)
///     .with_moderation(Moderation::default().with_model("omni-moderation-2024-09-26"))
///     .with_timeouts(Timeouts::default().with_image(Some(Duration::from_secs(120))))
///     .with_retry(RetryPolicy::default().with_max_attempts(5));
/// assert_eq!(config.text_model(), "gpt-4o-mini");
/// assert_eq!(config.retry().max_attempts(), 5);
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    api_key: SecretString,
    base_url: String,
    text_model: String,
    image_model: String,
    image_size: ImageSize,
    moderation: Moderation,
    timeouts: Timeouts,
    retry: RetryPolicy,
}

impl OpenAiConfig {
    /// A configuration with the production defaults and the given key.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            text_model: DEFAULT_TEXT_MODEL.to_owned(),
            image_model: DEFAULT_IMAGE_MODEL.to_owned(),
            image_size: ImageSize::default(),
            moderation: Moderation::default(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// The same configuration against another API root (a proxy, or a mock server in tests),
    /// without a trailing `/` (one is tolerated). Default [`DEFAULT_BASE_URL`]. Checked by
    /// [`OpenAiGenerator::new`](crate::OpenAiGenerator::new): an http(s) URL without
    /// credentials.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The chat model for captions. Default [`DEFAULT_TEXT_MODEL`], the model the privacy
    /// policy names (P12): change it only together with the policy.
    pub fn with_text_model(mut self, model: impl Into<String>) -> Self {
        self.text_model = model.into();
        self
    }

    /// The image model. Default [`DEFAULT_IMAGE_MODEL`] (P12, as above).
    pub fn with_image_model(mut self, model: impl Into<String>) -> Self {
        self.image_model = model.into();
        self
    }

    /// The image size to ask for: only sizes whose aspect ratio Instagram accepts exist.
    pub fn with_image_size(mut self, size: ImageSize) -> Self {
        self.image_size = size;
        self
    }

    /// The moderation check on the topic, the generated text and the image prompt.
    pub fn with_moderation(mut self, moderation: Moderation) -> Self {
        self.moderation = moderation;
        self
    }

    /// Deadlines of single attempts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// How failed attempts are retried.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The API key, sent only in the `Authorization` header.
    pub(crate) fn api_key(&self) -> &SecretString {
        &self.api_key
    }

    /// The API root as configured.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The chat model.
    pub fn text_model(&self) -> &str {
        &self.text_model
    }

    /// The image model.
    pub fn image_model(&self) -> &str {
        &self.image_model
    }

    /// The image size.
    pub fn image_size(&self) -> ImageSize {
        self.image_size
    }

    /// The moderation check.
    pub fn moderation(&self) -> &Moderation {
        &self.moderation
    }

    /// The deadlines.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The retry policy.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }
}

/// Image sizes `gpt-image-1` offers whose aspect ratio Instagram's feed accepts (4:5 to 1.91:1).
///
/// `1024x1536` (2:3) is deliberately absent: Instagram rejects it. More sizes may come, so
/// matches need a wildcard arm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageSize {
    /// 1024×1024, 1:1.
    #[default]
    Square,
    /// 1536×1024, 3:2.
    Landscape,
}

impl ImageSize {
    /// Width and height in pixels.
    pub fn dimensions(self) -> (u32, u32) {
        match self {
            Self::Square => (1024, 1024),
            Self::Landscape => (1536, 1024),
        }
    }
}

/// The moderation check. On by default, with [`DEFAULT_MODERATION_MODEL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderation {
    enabled: bool,
    model: String,
}

impl Default for Moderation {
    fn default() -> Self {
        Self {
            enabled: true,
            model: DEFAULT_MODERATION_MODEL.to_owned(),
        }
    }
}

impl Moderation {
    /// No moderation calls at all.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// The same check with another moderation model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Whether the topic, the generated text and the image prompt go through `/moderations`
    /// first. A flagged result is [`AiError::Flagged`](crate::AiError::Flagged).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The moderation model.
    pub fn model(&self) -> &str {
        &self.model
    }
}

/// Deadlines of single attempts: connect, send and the whole answer together, enforced by the
/// generator around each attempt (so they apply to a client given with
/// [`OpenAiGenerator::with_http_client`](crate::OpenAiGenerator::with_http_client) too). A
/// timed-out attempt is retried like a 5xx.
///
/// | call | default |
/// |---|---|
/// | chat completion (caption) | 60 s |
/// | image generation | 180 s |
/// | moderation | 20 s |
///
/// `None` means no deadline. That exists for tests on paused tokio time only: there, tokio
/// advances the clock to the next timer whenever the runtime waits on a real socket, so any
/// deadline fires at once while a request to a mock server is in flight (reqwest#2783).
/// Production keeps the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    text: Option<Duration>,
    image: Option<Duration>,
    moderation: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            text: Some(Duration::from_secs(60)),
            image: Some(Duration::from_secs(180)),
            moderation: Some(Duration::from_secs(20)),
        }
    }
}

impl Timeouts {
    /// No deadlines (see the type's docs: for tests on paused tokio time).
    pub fn none() -> Self {
        Self {
            text: None,
            image: None,
            moderation: None,
        }
    }

    /// The same deadline for every call.
    pub fn all(deadline: Duration) -> Self {
        Self {
            text: Some(deadline),
            image: Some(deadline),
            moderation: Some(deadline),
        }
    }

    /// The deadline of a chat completion.
    pub fn with_text(mut self, deadline: Option<Duration>) -> Self {
        self.text = deadline;
        self
    }

    /// The deadline of an image generation.
    pub fn with_image(mut self, deadline: Option<Duration>) -> Self {
        self.image = deadline;
        self
    }

    /// The deadline of a moderation call.
    pub fn with_moderation(mut self, deadline: Option<Duration>) -> Self {
        self.moderation = deadline;
        self
    }

    /// The deadline of a chat completion.
    pub fn text(&self) -> Option<Duration> {
        self.text
    }

    /// The deadline of an image generation.
    pub fn image(&self) -> Option<Duration> {
        self.image
    }

    /// The deadline of a moderation call.
    pub fn moderation(&self) -> Option<Duration> {
        self.moderation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kraftsoci_core::CheckedJpeg;

    #[test]
    fn defaults_are_the_models_the_privacy_policy_names() {
        let config = OpenAiConfig::new(SecretString::from("sk-test"));
        assert_eq!(config.text_model, "gpt-4o-mini");
        assert_eq!(config.image_model, "gpt-image-1");
        assert_eq!(config.base_url, "https://api.openai.com/v1");
        assert!(config.moderation.is_enabled());
        assert_eq!(config.image_size, ImageSize::Square);
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let config = OpenAiConfig::new(SecretString::from("sk-live-very-secret"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("sk-live-very-secret"));
        assert!(debug.contains("REDACTED"));
    }

    /// A JPEG header with the given dimensions: enough for core's check, which reads the SOF0
    /// frame header.
    fn jpeg_header(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&[0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    #[test]
    fn every_offered_size_has_an_aspect_ratio_instagram_accepts() {
        for size in [ImageSize::Square, ImageSize::Landscape] {
            let (w, h) = size.dimensions();
            let header = jpeg_header(w as u16, h as u16);
            assert!(CheckedJpeg::check(&header).is_ok(), "{size:?}");
        }
        // The portrait size gpt-image-1 also offers is one Instagram refuses.
        assert!(CheckedJpeg::check(&jpeg_header(1024, 1536)).is_err());
    }
}
