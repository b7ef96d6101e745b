//! The server's errors: [`ApiError`] for HTTP responses, [`Error`] for starting and running.
//!
//! `ApiError` is the only error a handler returns. Its status mapping lives in one place
//! ([`ApiError::status`]); its body is the contract's envelope
//! `{"error": {"code", "message", "fields"}}`. Server-side failures (5xx) answer with a
//! generic sentence while the full error chain is logged once, here.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kraftsoci_core::{ParseError, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::ConfigError;

/// A failure to start or run the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// The database could not be reached or prepared.
    #[error("database: {0}")]
    Database(#[source] anyhow::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migration(#[source] anyhow::Error),
    /// Another part of the server could not be set up (mail transport, media store…).
    #[error("{what}: {source}")]
    Setup {
        /// Which part.
        what: &'static str,
        /// Why.
        #[source]
        source: anyhow::Error,
    },
    /// The listener could not be bound or the server failed while serving.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    /// An operator command (`sweep`, `rotate-key`, `publish-policy`) failed.
    #[error("{command}: {source}")]
    Command {
        /// The subcommand.
        command: &'static str,
        /// Why.
        #[source]
        source: anyhow::Error,
    },
}

/// Per-field reasons, as the contract's `fields` (`{"name": ["why"]}`).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// An error an HTTP client sees.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be understood (malformed JSON, an invalid or spent token…).
    #[error("bad request: {code}")]
    BadRequest {
        /// A stable snake_case code.
        code: &'static str,
        /// A sentence for the client.
        message: Cow<'static, str>,
    },
    /// 401: missing, invalid or revoked credentials.
    #[error("unauthorized: {code}")]
    Unauthorized {
        /// `unauthorized` for tokens, `invalid_credentials` for a failed login.
        code: &'static str,
        /// A sentence for the client.
        message: Cow<'static, str>,
    },
    /// 402: the plan does not allow this (`quota_exceeded`, `subscription_inactive`).
    #[error("payment required: {code}")]
    PaymentRequired {
        /// A stable snake_case code.
        code: &'static str,
        /// A sentence for the client.
        message: Cow<'static, str>,
    },
    /// 403: authenticated, but this is refused (e.g. `processing_restricted`).
    #[error("forbidden: {code}")]
    Forbidden {
        /// A stable snake_case code.
        code: &'static str,
        /// A sentence for the client.
        message: Cow<'static, str>,
    },
    /// 404: no such object, or it belongs to someone else (never a 403: no existence oracle).
    #[error("not found")]
    NotFound,
    /// 405 on a known path.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state (`email_taken`…).
    #[error("conflict: {code}")]
    Conflict {
        /// A stable snake_case code.
        code: &'static str,
        /// A sentence for the client.
        message: Cow<'static, str>,
    },
    /// 413: the body is over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is not JSON (or not the expected type).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422 `validation_failed`, with the reasons per field.
    #[error("validation failed")]
    Validation(FieldErrors),
    /// 422 with a specific code (e.g. `age_requirement`) and optionally fields.
    #[error("unprocessable: {code}")]
    Unprocessable {
        /// A stable snake_case code.
        code: &'static str,
        /// A sentence for the client.
        message: Cow<'static, str>,
        /// Per-field reasons.
        fields: FieldErrors,
    },
    /// 429 with `Retry-After`.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a retry can succeed (at least 1).
        retry_after_secs: u64,
    },
    /// 503 `overloaded` with `Retry-After`: a bounded queue (the password pool during a
    /// login storm) is full, so the request is refused at once instead of waiting.
    #[error("overloaded")]
    Overloaded {
        /// Seconds after which a retry is likely to be admitted (at least 1).
        retry_after_secs: u64,
    },
    /// 503: a dependency (the database) is unavailable.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// 502 (a provider behind the route failed) or 503 (a provider is unavailable or not
    /// configured) with a specific code, e.g. `payment_provider_error`, `billing_unavailable`.
    /// The cause, if any, is logged, never shown.
    #[error("dependency failed: {code}")]
    Dependency {
        /// 502 or 503.
        status: StatusCode,
        /// A stable snake_case code.
        code: &'static str,
        /// A sentence for the client.
        message: Cow<'static, str>,
        /// The cause, for the log.
        #[source]
        source: Option<anyhow::Error>,
    },
    /// 500: anything else. The cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The contract's error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code a client can branch on.
    pub code: String,
    /// A human sentence.
    pub message: String,
    /// Per-field reasons; only on 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldErrors>,
}

impl ApiError {
    /// 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// 401 `unauthorized`: a missing, invalid, expired or revoked access token.
    pub fn unauthorized() -> Self {
        Self::Unauthorized {
            code: "unauthorized",
            message: "A valid access token is required.".into(),
        }
    }

    /// 409 with a code and message.
    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// 422 `validation_failed` for one field.
    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(field.to_owned(), vec![reason.into()])]))
    }

    /// 502 with a code: a provider behind the route failed or answered something unusable.
    pub fn bad_gateway(
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
        source: impl Into<anyhow::Error>,
    ) -> Self {
        Self::Dependency {
            status: StatusCode::BAD_GATEWAY,
            code,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// 503 with a code: a provider behind the route is unavailable (`source`) or not
    /// configured (`None`).
    pub fn dependency_unavailable(
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
        source: Option<anyhow::Error>,
    ) -> Self {
        Self::Dependency {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code,
            message: message.into(),
            source,
        }
    }

    /// 500 from any error.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The HTTP status. The single place where errors meet status codes.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::PaymentRequired { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Dependency { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn detail(self) -> ErrorDetail {
        let (code, message, fields): (&str, Cow<'static, str>, Option<FieldErrors>) = match self {
            Self::BadRequest { code, message }
            | Self::Unauthorized { code, message }
            | Self::PaymentRequired { code, message }
            | Self::Forbidden { code, message }
            | Self::Conflict { code, message }
            | Self::Dependency { code, message, .. } => (code, message, None),
            Self::NotFound => ("not_found", "No such resource.".into(), None),
            Self::MethodNotAllowed => (
                "method_not_allowed",
                "This method is not allowed on this resource.".into(),
                None,
            ),
            Self::PayloadTooLarge => (
                "payload_too_large",
                "The request body is larger than 1 MiB.".into(),
                None,
            ),
            Self::UnsupportedMediaType => (
                "unsupported_media_type",
                "The request body must be JSON (Content-Type: application/json).".into(),
                None,
            ),
            Self::Validation(fields) => (
                "validation_failed",
                "Some fields are invalid.".into(),
                Some(fields),
            ),
            Self::Unprocessable {
                code,
                message,
                fields,
            } => (code, message, Some(fields).filter(|f| !f.is_empty())),
            Self::RateLimited { .. } => (
                "rate_limited",
                "Too many requests; try again later.".into(),
                None,
            ),
            Self::Overloaded { .. } => (
                "overloaded",
                "The server is busy; try again in a moment.".into(),
                None,
            ),
            Self::Unavailable(_) => (
                "service_unavailable",
                "The service is temporarily unavailable.".into(),
                None,
            ),
            Self::Internal(_) => (
                "internal_error",
                "Something went wrong on our side.".into(),
                None,
            ),
        };
        ErrorDetail {
            code: code.to_owned(),
            message: message.into_owned(),
            fields,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            // The one place a server-side failure is logged, with its whole chain.
            Self::Internal(source) | Self::Unavailable(source) => {
                tracing::error!(error = format!("{source:#}"), %status, "request failed");
            }
            Self::Dependency {
                code,
                source: Some(source),
                ..
            } => {
                tracing::error!(error = format!("{source:#}"), %status, code, "request failed");
            }
            _ => {}
        }
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } | Self::Overloaded { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        };
        let unauthorized = matches!(
            self,
            Self::Unauthorized {
                code: "unauthorized",
                ..
            }
        );
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.detail(),
            }),
        )
            .into_response();
        let headers = response.headers_mut();
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        if unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ParseError> for ApiError {
    fn from(error: ParseError) -> Self {
        Self::invalid_field(error.field(), error.reason())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::InvalidInput(_) => Self::bad_request(
                "invalid_input",
                "A value in the request cannot be used; check it and try again.",
            ),
            StoreError::Conflict { .. } | StoreError::Stale => Self::conflict(
                "conflict",
                "The resource changed or already exists; reload and try again.",
            ),
            StoreError::Unavailable(_) => Self::Unavailable(error.into()),
            // `Corrupt`, and whatever a later core adds (the enum is non-exhaustive).
            _ => Self::Internal(error.into()),
        }
    }
}

/// Collects the [`ParseError`]s of several fields into one 422.
///
/// ```
/// use kraftsoci_server::error::Fields;
/// use kraftsoci_core::{Email, PersonName};
///
/// let mut fields = Fields::default();
/// let name = fields.check(PersonName::parse("Ada"));
/// let email = fields.check(Email::parse("not-an-email"));
/// assert!(name.is_some() && email.is_none());
/// assert!(fields.finish().is_err());
/// ```
#[derive(Debug, Default)]
pub struct Fields(FieldErrors);

impl Fields {
    /// Keeps the value, or records why its field was rejected.
    pub fn check<T>(&mut self, parsed: Result<T, ParseError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(error.field(), error.reason());
                None
            }
        }
    }

    /// Records a reason for `field`.
    pub fn add(&mut self, field: &str, reason: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(reason.into());
    }

    /// Whether nothing was rejected so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded reasons.
    pub fn into_map(self) -> FieldErrors {
        self.0
    }

    /// `Ok` when every field parsed.
    ///
    /// # Errors
    /// [`ApiError::Validation`] with every recorded reason.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

/// Maps a named unique constraint to a specific API error, instead of checking before
/// inserting (which races).
pub trait ResultExt<T> {
    /// Turns [`StoreError::Conflict`] on `constraint` into `map()`; everything else converts
    /// as usual.
    ///
    /// # Errors
    /// The mapped error.
    fn on_constraint(self, constraint: &str, map: impl FnOnce() -> ApiError)
    -> Result<T, ApiError>;
}

impl<T> ResultExt<T> for Result<T, StoreError> {
    fn on_constraint(
        self,
        constraint: &str,
        map: impl FnOnce() -> ApiError,
    ) -> Result<T, ApiError> {
        self.map_err(|error| match error {
            StoreError::Conflict {
                constraint: ref name,
            } if name == constraint => map(),
            other => other.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn body(error: ApiError) -> (StatusCode, serde_json::Value, Option<String>) {
        let response = error.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), retry)
    }

    #[tokio::test]
    async fn internal_errors_answer_generically() {
        let (status, json, _) = body(ApiError::internal(anyhow::anyhow!(
            "relation \"users\" does not exist"
        )))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["error"]["code"], "internal_error");
        assert!(!json.to_string().contains("relation"));
        assert!(json["error"].get("fields").is_none());
    }

    #[tokio::test]
    async fn validation_errors_carry_fields() {
        let (status, json, _) =
            body(ParseError::new("email", "is not a valid email address").into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            json["error"]["fields"]["email"][0],
            "is not a valid email address"
        );
    }

    #[tokio::test]
    async fn rate_limits_say_when_to_retry() {
        let (status, _, retry) = body(ApiError::RateLimited {
            retry_after_secs: 0,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn invalid_input_from_storage_is_the_callers_400_not_a_404() {
        let (status, json, _) = body(
            StoreError::InvalidInput("the cursor is not one this server produced".into()).into(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["error"]["code"], "invalid_input");
    }

    #[test]
    fn named_constraints_map_to_specific_errors() {
        let result: Result<(), StoreError> = Err(StoreError::Conflict {
            constraint: "users_email_key".to_owned(),
        });
        let error = result
            .on_constraint("users_email_key", || {
                ApiError::conflict("email_taken", "taken")
            })
            .unwrap_err();
        assert!(matches!(
            error,
            ApiError::Conflict {
                code: "email_taken",
                ..
            }
        ));
        let other: Result<(), StoreError> = Err(StoreError::Conflict {
            constraint: "other".to_owned(),
        });
        let error = other
            .on_constraint("users_email_key", || {
                ApiError::conflict("email_taken", "taken")
            })
            .unwrap_err();
        assert!(matches!(
            error,
            ApiError::Conflict {
                code: "conflict",
                ..
            }
        ));
    }
}
