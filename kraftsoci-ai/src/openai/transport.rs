//! JSON over HTTPS to OpenAI, with deadlines, bounded retries and typed errors.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::retry::{RetryPolicy, Transient, retry_after};
use crate::AiError;

/// The most we read of one response. A 1536×1024 JPEG in base64 is well under 4 MiB.
const MAX_RESPONSE_BYTES: usize = 24 * 1024 * 1024;
/// The longest upstream error message kept (they can echo our input back).
const MAX_MESSAGE_CHARS: usize = 300;

/// The endpoints this crate calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Chat,
    Images,
    Moderations,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Self::Chat => "chat/completions",
            Self::Images => "images/generations",
            Self::Moderations => "moderations",
        }
    }
}

pub(crate) struct Transport {
    client: Client,
    base_url: String,
    /// `Bearer <key>`, marked sensitive. Set on each request rather than as a default header
    /// of the client, so that a client handed in by the embedder works unchanged.
    authorization: HeaderValue,
    api_key: SecretString,
    retry: RetryPolicy,
}

/// What one attempt came to.
enum Outcome {
    Done(Vec<u8>),
    Retry(Transient),
    Fail(AiError),
}

#[derive(serde::Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<serde_json::Value>,
}

impl Transport {
    pub(crate) fn new(
        base_url: &str,
        api_key: SecretString,
        retry: RetryPolicy,
    ) -> Result<Self, AiError> {
        let parsed = reqwest::Url::parse(base_url.trim())
            .map_err(|e| AiError::Config(format!("base url is not a url: {e}")))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.cannot_be_a_base() {
            return Err(AiError::Config(
                "base url must be an http(s) url such as https://api.openai.com/v1".into(),
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(AiError::Config(
                "base url must not carry credentials; the key goes in the config".into(),
            ));
        }
        if retry.max_attempts() == 0 {
            return Err(AiError::Config(
                "retry.max_attempts must be at least 1".into(),
            ));
        }
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {}", api_key.expose_secret()))
                .map_err(|_| AiError::Config("the api key is not a valid header value".into()))?;
        authorization.set_sensitive(true);
        // No reqwest-level timeouts: each attempt gets one deadline in `attempt`, which covers
        // connect, send and the whole body, and which the retry loop can classify. No
        // redirects: OpenAI does not send any, and a redirect must not carry the key away.
        let client = crate::tls::client_builder()
            .map_err(|reason| AiError::Config(format!("http client: {reason}")))?
            .user_agent(concat!("kraftsoci-ai/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AiError::Config(format!("http client: {e}")))?;
        Ok(Self {
            client,
            base_url: parsed.as_str().trim_end_matches('/').to_owned(),
            authorization,
            api_key,
            retry,
        })
    }

    /// Sends every later request through `client` instead of the one built in [`Self::new`].
    pub(crate) fn set_client(&mut self, client: Client) {
        self.client = client;
    }

    /// POSTs `body` as JSON and decodes the answer, retrying transient failures.
    pub(crate) async fn post<B, R>(
        &self,
        endpoint: Endpoint,
        body: &B,
        deadline: Option<Duration>,
    ) -> Result<R, AiError>
    where
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let url = format!("{}/{}", self.base_url, endpoint.path());
        let body = serde_json::to_vec(body)
            .map_err(|e| AiError::InvalidOutput(format!("request could not be encoded: {e}")))?;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let failure = match self.attempt(&url, body.clone(), deadline, attempt).await {
                Outcome::Done(bytes) => {
                    return serde_json::from_slice(&bytes).map_err(|e| {
                        AiError::InvalidOutput(format!(
                            "the {} response is not the expected json: {e}",
                            endpoint.path()
                        ))
                    });
                }
                Outcome::Fail(error) => return Err(error),
                Outcome::Retry(failure) => failure,
            };
            let Some(delay) = self.retry.delay_after(attempt, &failure) else {
                tracing::warn!(endpoint = endpoint.path(), attempt, failure = %failure.describe(), "openai call failed; giving up");
                return Err(match failure {
                    Transient::Throttled { retry_after } => AiError::RateLimited {
                        attempts: attempt,
                        retry_after,
                    },
                    other => AiError::Unavailable {
                        attempts: attempt,
                        reason: other.describe(),
                    },
                });
            };
            tracing::info!(endpoint = endpoint.path(), attempt, failure = %failure.describe(), delay_ms = delay.as_millis() as u64, "openai call failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        url: &str,
        body: Vec<u8>,
        deadline: Option<Duration>,
        attempt: u32,
    ) -> Outcome {
        let exchange = async {
            let response = self
                .client
                .post(url)
                .header(header::AUTHORIZATION, self.authorization.clone())
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = read_capped(response).await?;
            Ok::<_, reqwest::Error>((status, headers, bytes))
        };
        let result = match deadline {
            Some(limit) => match tokio::time::timeout(limit, exchange).await {
                Ok(result) => result,
                Err(_) => return Outcome::Retry(Transient::TimedOut),
            },
            None => exchange.await,
        };
        match result {
            Ok((status, headers, Some(bytes))) => self.classify(status, &headers, bytes),
            Ok((_, _, None)) => Outcome::Fail(AiError::InvalidOutput(format!(
                "the response is larger than {MAX_RESPONSE_BYTES} bytes"
            ))),
            Err(error) if error.is_timeout() => Outcome::Retry(Transient::TimedOut),
            Err(error) if error.is_connect() || error.is_request() || error.is_body() => {
                Outcome::Retry(Transient::Connection(describe(error)))
            }
            Err(error) => Outcome::Fail(AiError::Unavailable {
                attempts: attempt,
                reason: describe(error),
            }),
        }
    }

    fn classify(&self, status: StatusCode, headers: &HeaderMap, bytes: Vec<u8>) -> Outcome {
        if status.is_success() {
            return Outcome::Done(bytes);
        }
        let envelope = serde_json::from_slice::<ErrorEnvelope>(&bytes).ok();
        let code = envelope.as_ref().and_then(|e| match &e.error.code {
            Some(serde_json::Value::String(code)) => Some(code.clone()),
            _ => e.error.kind.clone(),
        });
        if status == StatusCode::TOO_MANY_REQUESTS && code.as_deref() != Some("insufficient_quota")
        {
            return Outcome::Retry(Transient::Throttled {
                retry_after: retry_after(headers, chrono::Utc::now()),
            });
        }
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Outcome::Retry(Transient::Status(status.as_u16()));
        }
        let message = envelope
            .and_then(|e| e.error.message)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let error = AiError::Rejected {
            status: status.as_u16(),
            code,
            message: self.scrub(&message),
            request_id,
        };
        tracing::warn!(error = %error, "openai rejected the request");
        Outcome::Fail(error)
    }

    /// OpenAI masks keys in its messages; this makes sure, and bounds the length.
    fn scrub(&self, message: &str) -> String {
        let key = self.api_key.expose_secret();
        let cleaned = if key.is_empty() {
            message.to_owned()
        } else {
            message.replace(key, "[REDACTED]")
        };
        cleaned.chars().take(MAX_MESSAGE_CHARS).collect()
    }
}

/// The error and its causes on one line (`error sending request: … connection refused`),
/// without the URL.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Reads the body, or `None` once it passes [`MAX_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(base: &str) -> Result<Transport, AiError> {
        Transport::new(base, SecretString::from("sk-test"), RetryPolicy::default())
    }

    #[test]
    fn base_urls_must_be_plain_http_roots() {
        assert_eq!(
            transport("https://api.openai.com/v1/").unwrap().base_url,
            "https://api.openai.com/v1"
        );
        assert!(transport("http://127.0.0.1:9999").is_ok());
        for bad in [
            "api.openai.com",
            "ftp://api.openai.com",
            "https://user:pw@api.openai.com/v1",
            "",
        ] {
            assert!(matches!(transport(bad), Err(AiError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_a_config_error() {
        let result = Transport::new(
            "https://api.openai.com/v1",
            SecretString::from("sk-bad\nkey"),
            RetryPolicy::default(),
        );
        let Err(AiError::Config(message)) = result else {
            panic!("expected a config error");
        };
        assert!(!message.contains("sk-bad"));
    }

    #[test]
    fn zero_attempts_is_a_config_error() {
        let result = Transport::new(
            "https://api.openai.com/v1",
            SecretString::from("sk"),
            RetryPolicy::default().with_max_attempts(0),
        );
        assert!(matches!(result, Err(AiError::Config(_))));
    }

    #[test]
    fn upstream_messages_never_carry_the_key_and_are_bounded() {
        let transport = transport("https://api.openai.com/v1").unwrap();
        assert_eq!(
            transport.scrub("Incorrect API key provided: sk-test."),
            "Incorrect API key provided: [REDACTED]."
        );
        assert_eq!(
            transport.scrub(&"x".repeat(1000)).chars().count(),
            MAX_MESSAGE_CHARS
        );
    }
}
