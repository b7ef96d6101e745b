//! The crate's one error type, and how it maps onto core's [`GenerationError`].

use std::fmt;
use std::time::Duration;

use kraftsoci_core::ImageError;
use kraftsoci_core::ports::GenerationError;

/// Which text a moderation check flagged. More checks may come, so matches need a wildcard
/// arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModeratedText {
    /// The topic the owner asked for, checked before anything is generated.
    Topic,
    /// The generated caption, hashtags and alt text, checked before they are returned.
    Caption,
    /// The prompt handed to the image model.
    ImagePrompt,
}

impl fmt::Display for ModeratedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Topic => "topic",
            Self::Caption => "generated caption",
            Self::ImagePrompt => "image prompt",
        })
    }
}

/// Why generation failed. Upstream status, error code and request id are kept for logs; none of
/// these ever carries the API key or a request body.
///
/// New failure kinds may be added in a minor release: match the ones you act on and keep a
/// wildcard arm (or use [`AiError::is_transient`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AiError {
    /// The configuration cannot work (an unparsable base URL, an API key that is not a valid
    /// header value, zero attempts).
    #[error("invalid generator configuration: {0}")]
    Config(String),

    /// OpenAI's moderation endpoint flagged the topic or the generated text.
    #[error("moderation flagged the {subject} ({})", categories.join(", "))]
    Flagged {
        /// What was checked.
        subject: ModeratedText,
        /// The flagged categories, as OpenAI names them (`harassment`, `violence/graphic`…).
        categories: Vec<String>,
    },

    /// The model declined: a structured-output `refusal`, a content-filter stop, or an image
    /// request blocked by OpenAI's image safety system.
    #[error("the model refused: {0}")]
    Refused(String),

    /// The model's output could not be used: malformed JSON, a cut-off answer, a missing field.
    #[error("the model returned unusable output: {0}")]
    InvalidOutput(String),

    /// The image bytes failed Instagram's image check (not a JPEG, wrong aspect ratio, too large).
    #[error("the generated image would be rejected by instagram")]
    InvalidImage(#[source] ImageError),

    /// OpenAI refused the request itself (400, 401, 403, 404, 429 `insufficient_quota`…).
    /// Never retried: repeating the same request gives the same answer.
    #[error("openai rejected the request with status {status}: {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// OpenAI's error code (`invalid_api_key`, `insufficient_quota`…), when given.
        code: Option<String>,
        /// OpenAI's message, with the API key scrubbed should it ever appear.
        message: String,
        /// OpenAI's `x-request-id`, for support tickets.
        request_id: Option<String>,
    },

    /// Still throttled (429) after the retry budget, or asked to wait longer than
    /// [`RetryPolicy::max_retry_after`](crate::RetryPolicy::max_retry_after).
    #[error("openai is rate limiting requests (after {attempts} attempts)")]
    RateLimited {
        /// Attempts made.
        attempts: u32,
        /// How long OpenAI last asked us to wait, if it said.
        retry_after: Option<Duration>,
    },

    /// 5xx answers, timeouts or connection failures on every attempt.
    #[error("openai is unavailable after {attempts} attempts: {reason}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },

    /// The offline renderer could not encode its JPEG.
    #[error("the offline image could not be rendered: {0}")]
    Render(String),
}

impl AiError {
    /// Whether trying again later may succeed (throttling, outages, timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }
}

impl From<AiError> for GenerationError {
    fn from(error: AiError) -> Self {
        match error {
            AiError::Flagged { categories, .. } => GenerationError::Flagged { categories },
            AiError::Refused(reason) => GenerationError::Refused(reason),
            AiError::InvalidOutput(reason) => GenerationError::InvalidOutput(reason),
            AiError::InvalidImage(image) => GenerationError::InvalidOutput(image.to_string()),
            AiError::Render(reason) => GenerationError::InvalidOutput(reason),
            AiError::Rejected { status, code, .. } => GenerationError::Rejected(match code {
                Some(code) => format!("status {status} ({code})"),
                None => format!("status {status}"),
            }),
            error @ (AiError::RateLimited { .. } | AiError::Unavailable { .. }) => {
                GenerationError::Unavailable(error.to_string())
            }
            AiError::Config(reason) => GenerationError::Rejected(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flagged_errors_keep_their_categories_for_core() {
        let error = AiError::Flagged {
            subject: ModeratedText::Topic,
            categories: vec!["harassment".into(), "violence".into()],
        };
        assert_eq!(
            error.to_string(),
            "moderation flagged the topic (harassment, violence)"
        );
        assert_eq!(
            GenerationError::from(error),
            GenerationError::Flagged {
                categories: vec!["harassment".into(), "violence".into()]
            }
        );
    }

    #[test]
    fn rejected_errors_reach_core_without_the_upstream_message() {
        let error = AiError::Rejected {
            status: 401,
            code: Some("invalid_api_key".into()),
            message: "Incorrect API key provided: sk-ab***yz".into(),
            request_id: Some("req_1".into()),
        };
        assert!(!error.is_transient());
        let core = GenerationError::from(error);
        assert_eq!(
            core,
            GenerationError::Rejected("status 401 (invalid_api_key)".into())
        );
        assert!(!core.to_string().contains("sk-"));
    }

    #[test]
    fn throttling_and_outages_are_transient_and_unavailable_in_core() {
        let throttled = AiError::RateLimited {
            attempts: 3,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(throttled.is_transient());
        assert!(matches!(
            GenerationError::from(throttled),
            GenerationError::Unavailable(_)
        ));
        let down = AiError::Unavailable {
            attempts: 3,
            reason: "status 503".into(),
        };
        assert!(matches!(
            GenerationError::from(down),
            GenerationError::Unavailable(_)
        ));
    }
}
