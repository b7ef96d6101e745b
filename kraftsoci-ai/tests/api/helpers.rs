//! A fake OpenAI per test, the fixtures its answers are made of, and a sample profile.

use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use kraftsoci_ai::{Moderation, OpenAiConfig, OpenAiGenerator, RetryPolicy, Timeouts};
use kraftsoci_core::ports::GenerationRequest;
use kraftsoci_core::{
    BusinessDescription, BusinessProfile, Language, Sector, TargetAudience, Tone, Topic,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A made-up key; tests check that it never appears outside the `Authorization` header.
pub const TEST_KEY: &str = "sk-test-kraftsoci-5b1f0c9e7a2d44e1";

pub const CHAT: &str = "/v1/chat/completions";
pub const IMAGES: &str = "/v1/images/generations";
pub const MODERATIONS: &str = "/v1/moderations";

/// One fake OpenAI and a generator pointed at it.
pub struct TestOpenAi {
    pub server: MockServer,
    pub generator: OpenAiGenerator,
}

/// The configuration tests use against `server`: production defaults, the test key, and
/// short backoffs unless a test sets its own.
pub fn config(server: &MockServer) -> OpenAiConfig {
    OpenAiConfig::new(SecretString::from(TEST_KEY))
        .with_base_url(format!("{}/v1", server.uri()))
        .with_retry(
            RetryPolicy::default()
                .with_initial_backoff(std::time::Duration::from_millis(2))
                .with_max_backoff(std::time::Duration::from_millis(4)),
        )
}

/// A fake OpenAI with moderation answering "clean" to everything.
pub async fn spawn_openai() -> TestOpenAi {
    spawn_with(|config| config).await
}

/// A fake OpenAI (moderation clean) and a generator built from an adjusted [`config`].
pub async fn spawn_with(adjust: impl FnOnce(OpenAiConfig) -> OpenAiConfig) -> TestOpenAi {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MODERATIONS))
        .respond_with(ModerationResponder::flagging(&[]))
        .with_priority(10)
        .mount(&server)
        .await;
    let generator = OpenAiGenerator::new(adjust(config(&server))).expect("valid test config");
    TestOpenAi { server, generator }
}

/// For tests on paused tokio time: no deadlines (tokio would fire them at once while a request
/// is in flight) and no moderation, so only the call under test is made.
pub async fn spawn_for_paused_time(retry: RetryPolicy) -> TestOpenAi {
    spawn_with(|config| {
        config
            .with_timeouts(Timeouts::none())
            .with_moderation(Moderation::disabled())
            .with_retry(retry)
    })
    .await
}

impl TestOpenAi {
    /// Answers every chat call with `template`.
    pub async fn chat_answers(&self, template: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path(CHAT))
            .and(header(
                "authorization",
                format!("Bearer {TEST_KEY}").as_str(),
            ))
            .respond_with(template)
            .mount(&self.server)
            .await;
    }

    /// Answers every image call with `template`.
    pub async fn image_answers(&self, template: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path(IMAGES))
            .and(header(
                "authorization",
                format!("Bearer {TEST_KEY}").as_str(),
            ))
            .respond_with(template)
            .mount(&self.server)
            .await;
    }

    /// The bodies of every request received on `endpoint`, in order.
    pub async fn bodies(&self, endpoint: &str) -> Vec<Value> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == endpoint)
            .map(|r| serde_json::from_slice(&r.body).expect("json body"))
            .collect()
    }
}

/// A bakery in Istanbul, writing in English.
pub fn request() -> GenerationRequest {
    GenerationRequest {
        profile: BusinessProfile {
            description: BusinessDescription::parse(
                "A family bakery baking simit and sourdough since 1982",
            )
            .unwrap(),
            target_audience: TargetAudience::parse("Neighbours and morning commuters").unwrap(),
            tone: Tone::parse("warm and friendly").unwrap(),
            sector: Sector::parse("bakery").unwrap(),
            language: Language::parse("en").unwrap(),
        },
        topic: Topic::parse("Our new sourdough, out of the oven at 7 every morning").unwrap(),
    }
}

/// A post as the model would write it.
pub fn post(caption: &str, hashtags: &[&str]) -> Value {
    json!({
        "caption": caption,
        "hashtags": hashtags,
        "alt_text": "A round sourdough loaf on a wooden board",
        "image_prompt": "A crusty sourdough loaf on a rustic wooden table in morning light",
    })
}

/// A chat completion whose message content is `content`.
pub fn chat_content(content: &str) -> ResponseTemplate {
    chat_message(
        json!({ "role": "assistant", "content": content, "refusal": null }),
        "stop",
    )
}

/// A chat completion carrying `post` as its JSON content.
pub fn chat_post(post: &Value) -> ResponseTemplate {
    chat_content(&post.to_string())
}

/// A chat completion with the model's structured-output refusal.
pub fn chat_refusal(reason: &str) -> ResponseTemplate {
    chat_message(
        json!({ "role": "assistant", "content": null, "refusal": reason }),
        "stop",
    )
}

pub fn chat_message(message: Value, finish_reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_762_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": { "prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200 },
        "service_tier": "default",
    }))
}

/// OpenAI's error envelope.
pub fn openai_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": { "message": message, "type": "invalid_request_error", "param": null, "code": code }
    }))
}

/// An images response carrying `bytes` as base64.
pub fn image_bytes(bytes: &[u8]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "created": 1_762_000_000,
        "data": [{ "b64_json": base64::engine::general_purpose::STANDARD.encode(bytes) }],
        "background": "opaque",
        "output_format": "jpeg",
        "size": "1024x1024",
        "quality": "medium",
        "usage": {
            "input_tokens": 50,
            "output_tokens": 1056,
            "total_tokens": 1106,
            "input_tokens_details": { "text_tokens": 50, "image_tokens": 0 }
        }
    }))
}

/// A real, decodable JPEG of the given size (a flat warm colour).
pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let pixels = [230u8, 180, 120].repeat(usize::from(width) * usize::from(height));
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("encodable");
    out
}

/// The moderation endpoint: one result per input, flagged (as `harassment`) when the input
/// contains one of the given words.
pub struct ModerationResponder {
    words: Vec<String>,
}

impl ModerationResponder {
    pub fn flagging(words: &[&str]) -> Self {
        Self {
            words: words.iter().map(|w| (*w).to_owned()).collect(),
        }
    }
}

impl Respond for ModerationResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let inputs: Vec<String> = match &body["input"] {
            Value::String(text) => vec![text.clone()],
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect(),
            _ => Vec::new(),
        };
        let results: Vec<Value> = inputs
            .iter()
            .map(|input| {
                let flagged = self.words.iter().any(|w| input.contains(w.as_str()));
                json!({
                    "flagged": flagged,
                    "categories": {
                        "harassment": flagged, "harassment/threatening": false,
                        "hate": false, "hate/threatening": false, "illicit": false,
                        "illicit/violent": false, "self-harm": false, "self-harm/intent": false,
                        "self-harm/instructions": false, "sexual": false, "sexual/minors": false,
                        "violence": flagged, "violence/graphic": false
                    },
                    "category_scores": { "harassment": if flagged { 0.97 } else { 0.001 } },
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "modr-test",
            "model": "omni-moderation-latest",
            "results": results,
        }))
    }
}

/// Answers with the given templates in turn, the last one repeating.
pub struct Sequence {
    templates: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Sequence {
    pub fn of(templates: Vec<ResponseTemplate>) -> Self {
        Self {
            templates,
            next: AtomicUsize::new(0),
        }
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let at = self.next.fetch_add(1, Ordering::SeqCst);
        self.templates[at.min(self.templates.len() - 1)].clone()
    }
}
