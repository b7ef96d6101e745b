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
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The API key, sent only in the `Authorization` header.
    pub api_key: SecretString,
    /// The API root, without a trailing `/` (one is tolerated). Default
    /// [`DEFAULT_BASE_URL`]; tests point it at a mock server.
    pub base_url: String,
    /// The chat model for captions. Default [`DEFAULT_TEXT_MODEL`].
    pub text_model: String,
    /// The image model. Default [`DEFAULT_IMAGE_MODEL`].
    pub image_model: String,
    /// The image size to ask for: only sizes whose aspect ratio Instagram accepts exist.
    pub image_size: ImageSize,
    /// The moderation check on the topic, the generated text and the image prompt.
    pub moderation: Moderation,
    /// Deadlines of single attempts.
    pub timeouts: Timeouts,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
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

    /// The same configuration against another API root (a proxy, or a mock server in tests).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }
}

/// Image sizes `gpt-image-1` offers whose aspect ratio Instagram's feed accepts (4:5 to 1.91:1).
///
/// `1024x1536` (2:3) is deliberately absent: Instagram rejects it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// The moderation check. On by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderation {
    /// Whether the topic, the generated text and the image prompt go through `/moderations`
    /// first. A flagged result is [`AiError::Flagged`](crate::AiError::Flagged).
    pub enabled: bool,
    /// The moderation model. Default [`DEFAULT_MODERATION_MODEL`].
    pub model: String,
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
}

/// Deadlines of single attempts (connect, send and read together). A timed-out attempt is
/// retried like a 5xx.
///
/// `None` means no deadline. That exists for tests on paused tokio time only: there, tokio
/// advances the clock to the next timer whenever the runtime waits on a real socket, so any
/// deadline fires at once while a request to a mock server is in flight (reqwest#2783).
/// Production keeps the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Chat completions. Default 60 s.
    pub text: Option<Duration>,
    /// Image generation, which takes much longer. Default 180 s.
    pub image: Option<Duration>,
    /// Moderation. Default 20 s.
    pub moderation: Option<Duration>,
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
        assert!(config.moderation.enabled);
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
