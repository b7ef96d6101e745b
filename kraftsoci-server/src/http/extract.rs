//! Extractors whose rejections speak the contract's error envelope.
//!
//! Handlers use these instead of axum's own, so that a malformed body is 400, a wrong content
//! type 415, an oversized body 413 and a missing or mistyped field 422, always as
//! `{"error": {…}}` and never with serde's text (which can quote the rejected input).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldErrors};

/// A JSON body (in) or JSON response (out). A body must be a JSON object.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_rejection(&rejection)),
        };
        // Every body this API reads is a JSON object. serde would also read a struct from an
        // array of its fields in order (`[null, null]` as an empty edit), which no client means
        // and the OpenAPI document does not allow.
        if !value.is_object() {
            return Err(invalid_body());
        }
        serde_json::from_value(value)
            .map(Self)
            .map_err(|_| invalid_body())
    }
}

fn invalid_body() -> ApiError {
    ApiError::Unprocessable {
        code: "invalid_body",
        message: "The JSON body is missing fields or has fields of the wrong type.".into(),
        fields: FieldErrors::new(),
    }
}

/// What a [`Json`] answer's buffer starts with: most of this API's answers (an account, a
/// post, a key) are between a few hundred bytes and 1 KiB, where axum's own `Json` starts at
/// 128 bytes and copies the buffer at every doubling.
const ANSWER_CAPACITY: usize = 1024;

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        SizedJson::new(self.0, ANSWER_CAPACITY).into_response()
    }
}

/// A JSON response serialized into a buffer of about the size it will take, reserved up
/// front: for answers whose size a route can estimate (a page of posts is about 1 KiB per
/// post), so the buffer is neither copied as it grows nor much larger than the answer.
#[derive(Debug, Clone, Copy)]
pub struct SizedJson<T> {
    value: T,
    capacity: usize,
}

impl<T> SizedJson<T> {
    /// `value`, to be serialized into a buffer of `capacity` bytes (it grows if needed).
    pub fn new(value: T, capacity: usize) -> Self {
        Self { value, capacity }
    }
}

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(self.capacity);
        match serde_json::to_writer(&mut body, &self.value) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            // Only a map with keys that are not strings fails here: a bug, answered as one.
            Err(error) => ApiError::Internal(
                anyhow::Error::new(error).context("serializing a JSON answer"),
            )
            .into_response(),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::bad_request("malformed_json", "The request body is not valid JSON.")
        }
        JsonRejection::JsonDataError(_) => invalid_body(),
        JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        JsonRejection::BytesRejection(_) => {
            ApiError::bad_request("unreadable_body", "The request body could not be read.")
        }
        _ => ApiError::bad_request("invalid_body", "The request body could not be read."),
    }
}

/// Path parameters; a parameter that does not parse (e.g. not a UUID) is 404, like an id
/// that does not exist.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|rejection: PathRejection| {
                if rejection.status().is_server_error() {
                    ApiError::internal(anyhow::anyhow!("path extraction: {rejection}"))
                } else {
                    ApiError::NotFound
                }
            })
    }
}

/// Query parameters; malformed ones are 400 `invalid_query`.
#[derive(Debug, Clone, Copy)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|_: QueryRejection| {
                ApiError::bad_request("invalid_query", "The query parameters are malformed.")
            })
    }
}
