//! The OpenAI generators: captions with `gpt-4o-mini`, images with `gpt-image-1` (P12).

mod config;
mod draft;
mod moderation;
mod prompt;
mod retry;
mod transport;

use std::fmt;

use async_openai::types::chat::{CreateChatCompletionResponse, FinishReason};
use async_openai::types::images::{
    CreateImageRequest, Image, ImageModel, ImageOutputFormat, ImagesResponse,
};
use async_trait::async_trait;
use base64::Engine as _;
use kraftsoci_core::CheckedJpeg;
use kraftsoci_core::ports::{
    ContentGenerator, GeneratedImage, GeneratedText, GenerationError, GenerationRequest,
    ImageGenerator, Usage,
};

pub use config::{
    DEFAULT_BASE_URL, DEFAULT_IMAGE_MODEL, DEFAULT_MODERATION_MODEL, DEFAULT_TEXT_MODEL, ImageSize,
    Moderation, OpenAiConfig, Timeouts,
};
pub use retry::RetryPolicy;

use crate::{AiError, ModeratedText};
use draft::Draft;
use transport::{Endpoint, Transport};

/// Writes captions and draws images with OpenAI. Implements both [`ContentGenerator`] and
/// [`ImageGenerator`].
///
/// Only the business profile and the topic are ever sent (P11): the requests carry no name,
/// email, business name, Instagram id, token or IP, and no `user`/`safety_identifier` field.
///
/// Build it once and share it (`Arc<OpenAiGenerator>`, or as `Arc<dyn ContentGenerator>`): it
/// holds one HTTP client with its connection pool.
///
/// ```
/// use std::time::Duration;
///
/// use kraftsoci_ai::{AiError, Moderation, OpenAiConfig, OpenAiGenerator, RetryPolicy};
/// use kraftsoci_core::ports::GenerationRequest;
/// use kraftsoci_core::{
///     BusinessDescription, BusinessProfile, Language, Sector, TargetAudience, Tone, Topic,
/// };
/// use secrecy::SecretString;
/// use wiremock::matchers::{header, method, path};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A stand-in for api.openai.com; in production leave the base URL at its default.
/// let openai = MockServer::start().await;
/// Mock::given(method("POST"))
///     .and(path("/v1/chat/completions"))
///     .and(header("authorization", "Bearer sk-test"))
///     .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
///         "error": { "message": "Incorrect API key provided", "code": "invalid_api_key" }
///     })))
///     .expect(1)
///     .mount(&openai)
///     .await;
///
/// let generator = OpenAiGenerator::new(
///     OpenAiConfig::new(SecretString::from("sk-test"))
///         .with_base_url(format!("{}/v1", openai.uri()))
///         .with_moderation(Moderation::disabled())
///         .with_retry(RetryPolicy::default().with_initial_backoff(Duration::from_millis(1))),
/// )?;
/// let request = GenerationRequest {
///     profile: BusinessProfile {
///         description: BusinessDescription::parse("A family bakery baking simit since 1982")?,
///         target_audience: TargetAudience::parse("Neighbours and commuters")?,
///         tone: Tone::parse("warm")?,
///         sector: Sector::parse("bakery")?,
///         language: Language::parse("en")?,
///     },
///     topic: Topic::parse("Fresh sourdough every morning")?,
/// };
///
/// // A 401 is not retried, and it comes back typed.
/// let error = generator.write_post(&request).await.unwrap_err();
/// assert!(matches!(error, AiError::Rejected { status: 401, .. }));
/// # Ok(())
/// # }
/// ```
pub struct OpenAiGenerator {
    transport: Transport,
    text_model: String,
    image_model: String,
    image_size: ImageSize,
    moderation: Moderation,
    timeouts: Timeouts,
}

impl fmt::Debug for OpenAiGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiGenerator")
            .field("text_model", &self.text_model)
            .field("image_model", &self.image_model)
            .field("image_size", &self.image_size)
            .field("moderation", &self.moderation)
            .finish_non_exhaustive()
    }
}

impl OpenAiGenerator {
    /// A generator for `config`.
    ///
    /// # Errors
    /// [`AiError::Config`] when the base URL is not an http(s) URL, the key cannot be sent as a
    /// header, or the retry policy allows no attempt.
    pub fn new(config: OpenAiConfig) -> Result<Self, AiError> {
        let transport =
            Transport::new(config.base_url(), config.api_key().clone(), config.retry())?;
        Ok(Self {
            transport,
            text_model: config.text_model().to_owned(),
            image_model: config.image_model().to_owned(),
            image_size: config.image_size(),
            moderation: config.moderation().clone(),
            timeouts: config.timeouts(),
        })
    }

    /// Sends every request through `client`, so that the embedder decides proxies, TLS roots,
    /// connection pools and instrumentation (async-openai's `Client::with_http_client`).
    ///
    /// The generator still adds what a call needs to each request: the `Authorization` header,
    /// the JSON content type, and the per-attempt deadline of [`Timeouts`] around each
    /// attempt. Everything else is the client's: its own timeouts (when shorter, they fire
    /// first and are retried like any timeout), its default headers, its `User-Agent` (the
    /// built-in client sends `kraftsoci-ai/<version>`), and its redirect policy (the built-in
    /// client follows none; reqwest drops `Authorization` on a redirect to another host).
    ///
    /// ```
    /// use kraftsoci_ai::{OpenAiConfig, OpenAiGenerator};
    /// use secrecy::SecretString;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Your own client: a proxy, your CA roots, your pool settings…
    /// let http = reqwest::Client::builder()
    ///     .pool_max_idle_per_host(4)
    ///     .build()?;
    /// let generator = OpenAiGenerator::new(OpenAiConfig::new(SecretString::from("sk-your-key")))?
    ///     .with_http_client(http);
    /// # let _ = generator;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.transport.set_client(client);
        self
    }

    /// Writes caption, hashtags, alt text and an image prompt for the request.
    ///
    /// The topic is moderated first, then the model answers in a strict JSON schema. An answer
    /// that breaks Instagram's limits gets one repair round-trip; if the repaired answer still
    /// breaks them it is trimmed deterministically. The final text is moderated before it is
    /// returned. `usage` adds up every chat call.
    ///
    /// # Errors
    /// [`AiError::Flagged`] from moderation, [`AiError::Refused`] when the model refuses,
    /// [`AiError::InvalidOutput`] for malformed answers, and the transport errors
    /// ([`AiError::Rejected`], [`AiError::RateLimited`], [`AiError::Unavailable`]).
    #[tracing::instrument(skip_all, fields(model = %self.text_model))]
    pub async fn write_post(&self, request: &GenerationRequest) -> Result<GeneratedText, AiError> {
        self.moderate(ModeratedText::Topic, vec![request.topic.to_string()])
            .await?;

        let mut messages = prompt::messages(request)?;
        let (answer, mut usage) = self.chat(messages.clone()).await?;
        let first = Draft::parse(&answer)?;
        let checked = match first.check() {
            Ok(checked) => checked,
            Err(problems) => {
                tracing::info!(
                    problems = problems.len(),
                    "answer breaks instagram's limits; asking for a repair"
                );
                prompt::repair(&mut messages, &answer, &problems);
                let (repaired_answer, more) = self.chat(messages).await?;
                usage.add(more);
                let repaired = Draft::parse(&repaired_answer)?;
                match repaired.check() {
                    Ok(checked) => checked,
                    Err(problems) => {
                        tracing::info!(
                            problems = problems.len(),
                            "repaired answer still breaks instagram's limits; trimming"
                        );
                        repaired.fit(request)?
                    }
                }
            }
        };

        let post_text = checked.post_text()?;
        self.moderate(
            ModeratedText::Caption,
            vec![post_text.as_str().to_owned(), checked.alt_text.to_string()],
        )
        .await?;

        Ok(GeneratedText {
            caption: checked.caption,
            hashtags: checked.hashtags,
            alt_text: checked.alt_text,
            image_prompt: checked.image_prompt,
            usage,
        })
    }

    /// Draws a JPEG for the request from the text generator's image prompt, in the configured
    /// [`ImageSize`], and checks it with core's [`CheckedJpeg::check`] before returning it.
    ///
    /// # Errors
    /// [`AiError::Flagged`] when moderation flags the prompt, [`AiError::Refused`] when OpenAI's
    /// image safety system blocks it, [`AiError::InvalidOutput`] when no base64 image comes
    /// back, [`AiError::InvalidImage`] when the bytes are not a JPEG Instagram accepts, and the
    /// transport errors.
    #[tracing::instrument(skip_all, fields(model = %self.image_model))]
    pub async fn make_image(
        &self,
        request: &GenerationRequest,
        image_prompt: &str,
    ) -> Result<GeneratedImage, AiError> {
        let prompt = prompt::image_prompt(request, image_prompt);
        self.moderate(ModeratedText::ImagePrompt, vec![prompt.clone()])
            .await?;

        let size = match self.image_size {
            ImageSize::Square => async_openai::types::images::ImageSize::S1024x1024,
            ImageSize::Landscape => async_openai::types::images::ImageSize::S1536x1024,
        };
        // No `response_format`: GPT image models reject it and always answer in base64.
        let body = CreateImageRequest {
            prompt,
            model: ImageModel::Other(self.image_model.clone()),
            n: Some(1),
            size: Some(size),
            output_format: Some(ImageOutputFormat::Jpeg),
            ..Default::default()
        };
        let response: ImagesResponse = self
            .transport
            .post(Endpoint::Images, &body, self.timeouts.image())
            .await
            .map_err(|error| match error {
                AiError::Rejected { code, .. } if code.as_deref() == Some("moderation_blocked") => {
                    AiError::Refused("openai's image safety system blocked the prompt".into())
                }
                other => other,
            })?;

        let image = response
            .data
            .first()
            .ok_or_else(|| AiError::InvalidOutput("the image response holds no image".into()))?;
        let Image::B64Json { b64_json, .. } = image.as_ref() else {
            return Err(AiError::InvalidOutput(
                "the image came back as a url instead of base64 data".into(),
            ));
        };
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(b64_json.trim())
            .map_err(|e| AiError::InvalidOutput(format!("the image is not valid base64: {e}")))?;
        let checked = CheckedJpeg::check(&jpeg).map_err(AiError::InvalidImage)?;
        let usage = Usage {
            prompt_tokens: response.usage.as_ref().map_or(0, |u| u.input_tokens),
            completion_tokens: response.usage.as_ref().map_or(0, |u| u.output_tokens),
            images: 1,
        };
        Ok(GeneratedImage {
            jpeg,
            checked,
            usage,
        })
    }

    async fn moderate(&self, subject: ModeratedText, texts: Vec<String>) -> Result<(), AiError> {
        moderation::check(
            &self.transport,
            &self.moderation,
            &self.timeouts,
            subject,
            texts,
        )
        .await
    }

    /// One chat completion: the answer's content and what it used.
    async fn chat(
        &self,
        messages: Vec<async_openai::types::chat::ChatCompletionRequestMessage>,
    ) -> Result<(String, Usage), AiError> {
        let request = prompt::chat_request(&self.text_model, messages);
        let response: CreateChatCompletionResponse = self
            .transport
            .post(Endpoint::Chat, &request, self.timeouts.text())
            .await?;
        let usage = response
            .usage
            .as_ref()
            .map(|u| Usage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
                images: 0,
            })
            .unwrap_or_default();
        let choice = response
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| AiError::InvalidOutput("the answer holds no choice".into()))?;
        if let Some(refusal) = choice.message.refusal {
            return Err(AiError::Refused(refusal));
        }
        match choice.finish_reason {
            Some(FinishReason::ContentFilter) => {
                return Err(AiError::Refused(
                    "openai's content filter stopped the answer".into(),
                ));
            }
            Some(FinishReason::Length) => {
                return Err(AiError::InvalidOutput(
                    "the answer was cut off at the token limit".into(),
                ));
            }
            _ => {}
        }
        let content = choice
            .message
            .content
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| AiError::InvalidOutput("the answer has no content".into()))?;
        Ok((content, usage))
    }
}

fn report(kind: &'static str, error: AiError) -> GenerationError {
    match &error {
        AiError::Rejected { .. } | AiError::Unavailable { .. } | AiError::RateLimited { .. } => {
            tracing::warn!(kind, error = ?error, "openai generation failed");
        }
        _ => tracing::info!(kind, error = %error, "openai generation declined"),
    }
    error.into()
}

#[async_trait]
impl ContentGenerator for OpenAiGenerator {
    async fn generate_text(
        &self,
        request: &GenerationRequest,
    ) -> Result<GeneratedText, GenerationError> {
        self.write_post(request)
            .await
            .map_err(|e| report("text", e))
    }
}

#[async_trait]
impl ImageGenerator for OpenAiGenerator {
    async fn generate_image(
        &self,
        request: &GenerationRequest,
        image_prompt: &str,
    ) -> Result<GeneratedImage, GenerationError> {
        self.make_image(request, image_prompt)
            .await
            .map_err(|e| report("image", e))
    }
}
