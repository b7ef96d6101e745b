//! `GET /media/{token}` (and `HEAD`): image bytes for previews and for Meta's fetcher, which
//! carries no credentials. The signed token is the credential (see [`crate::media_links`]): a
//! bad, tampered or expired token, or media that was deleted, is a plain 404.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use crate::error::{ApiError, ErrorBody};
use crate::http::Path;
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/media/{token}", get(media))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(media))]
pub struct Doc;

/// The longest a response may be cached, whatever the token's lifetime.
const MAX_CACHE_SECS: u64 = 24 * 60 * 60;

/// The image a signed link points at. No authentication: the link is the credential.
#[utoipa::path(get, path = "/media/{token}", tag = "media",
    params(("token" = String, Path, description = "A signed, expiring media token")),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, description = "Unknown, tampered or expired token, or deleted media", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn media(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let link = state.media_links.verify(&token).map_err(|reason| {
        tracing::debug!(%reason, "media token refused");
        ApiError::NotFound
    })?;
    let stored = state
        .media
        .get(&link.key)
        .await
        .map_err(|e| ApiError::Unavailable(anyhow::Error::new(e)))?
        .ok_or(ApiError::NotFound)?;
    let max_age = state.media_links.remaining(&link).min(MAX_CACHE_SECS);
    let content_type = HeaderValue::from_str(&stored.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let length = stored.bytes.len();
    let mut response = Body::from(stored.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("private, max-age={max_age}"))
            .unwrap_or_else(|_| HeaderValue::from_static("no-store")),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
