//! Meta's callbacks (P15, P34): the Data Deletion Request callback with its human-readable
//! status page, and the deauthorize callback.
//!
//! Both callbacks carry a form field `signed_request`, verified with `META_APP_SECRET` before
//! anything in it is believed. A forged, stale or malformed request is 400 and changes
//! nothing; without `META_APP_SECRET` (sandbox) the callbacks answer 503.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::http::{Json, Query};
use crate::rights;
use crate::state::AppState;
use crate::web::{PageContext, views};

/// The path of the status page.
pub const STATUS_PATH: &str = "meta/data-deletion/status";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/meta/data-deletion", post(data_deletion))
        .route("/meta/data-deletion/status", get(status_page))
        .route("/meta/deauthorize", post(deauthorize))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(data_deletion, status_page, deauthorize))]
pub struct Doc;

/// The form Meta posts.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"signed_request": "c2lnbmF0dXJl.eyJ1c2VyX2lkIjoiMTIzIn0"}))]
pub struct SignedRequestForm {
    /// `<signature>.<payload>`, both base64url, signed with the app secret.
    signed_request: String,
}

/// The answer Meta expects from a Data Deletion Request callback.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionReceipt {
    /// A human-readable status page of this request.
    url: String,
    /// The code the person can quote.
    confirmation_code: String,
}

/// The deauthorize callback's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deauthorized {
    /// Always `ok`.
    status: &'static str,
}

/// `GET /meta/data-deletion/status` parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StatusParams {
    /// The confirmation code.
    code: Option<String>,
    /// The same, under the name Meta's own examples use.
    id: Option<String>,
}

/// The `signed_request` of a form body; 400 for anything else.
fn signed_request(body: &[u8]) -> Result<String, ApiError> {
    serde_urlencoded::from_bytes::<SignedRequestForm>(body)
        .map(|form| form.signed_request)
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_signed_request",
                "The body must be a form with a signed_request field.",
            )
        })
}

/// The status page URL of a confirmation code, under `KRAFTSOCI_PUBLIC_URL`.
fn status_url(public_url: &Url, code: &str) -> String {
    let mut base = public_url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.set_query(None);
    base.set_fragment(None);
    let mut url = base.join(STATUS_PATH).unwrap_or(base);
    url.query_pairs_mut().append_pair("code", code);
    url.into()
}

/// Meta's Data Deletion Request callback: verifies `signed_request`, closes every account
/// with a connection made by that Meta user (the purge follows within 30 days) and answers
/// a status page URL and a confirmation code.
#[utoipa::path(post, path = "/meta/data-deletion", tag = "meta",
    request_body(content = SignedRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = DeletionReceipt),
        (status = 400, description = "`invalid_signed_request`: forged, stale or malformed; nothing changed", body = ErrorBody),
        (status = 503, description = "META_APP_SECRET is not configured", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn data_deletion(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<DeletionReceipt>, ApiError> {
    let signed_request = signed_request(&body)?;
    let request = rights::meta_data_deletion(&state, &signed_request).await?;
    Ok(Json(DeletionReceipt {
        url: status_url(&state.config.public_url, &request.confirmation_code),
        confirmation_code: request.confirmation_code,
    }))
}

/// Meta's deauthorize callback: verifies `signed_request` and deletes the Instagram tokens
/// of every connection that Meta user made (P15).
#[utoipa::path(post, path = "/meta/deauthorize", tag = "meta",
    request_body(content = SignedRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = Deauthorized),
        (status = 400, description = "`invalid_signed_request`: forged, stale or malformed; nothing changed", body = ErrorBody),
        (status = 503, description = "META_APP_SECRET is not configured", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all)]
async fn deauthorize(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Deauthorized>, ApiError> {
    let signed_request = signed_request(&body)?;
    rights::meta_deauthorize(&state, &signed_request).await?;
    Ok(Json(Deauthorized { status: "ok" }))
}

/// The human-readable status of a Data Deletion Request, by its confirmation code.
#[utoipa::path(get, path = "/meta/data-deletion/status", tag = "meta",
    params(StatusParams),
    responses(
        (status = 200, description = "An HTML status page", content_type = "text/html"),
        (status = 404, description = "No request has this code", content_type = "text/html"),
    ))]
#[tracing::instrument(skip_all)]
async fn status_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Query(params): Query<StatusParams>,
) -> Response {
    let code = params.code.or(params.id).unwrap_or_default();
    // Codes are hex; anything else cannot be one (and is never echoed into the page).
    let plausible =
        !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_hexdigit());
    let found = if plausible {
        match state.stores.rights.meta_deletion(&code).await {
            Ok(found) => found,
            Err(error) => return ApiError::from(error).into_response(),
        }
    } else {
        None
    };
    match found {
        Some(request) => views::meta_deletion::status(&ctx, &request).into_response(),
        None => views::meta_deletion::unknown(&ctx).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_url_lives_under_the_public_url_with_the_code() {
        let url = Url::parse("https://api.example.com").unwrap();
        assert_eq!(
            status_url(&url, "abc123"),
            "https://api.example.com/meta/data-deletion/status?code=abc123"
        );
        let prefixed = Url::parse("https://example.com/kraftsoci?x=1").unwrap();
        assert_eq!(
            status_url(&prefixed, "abc123"),
            "https://example.com/kraftsoci/meta/data-deletion/status?code=abc123"
        );
    }

    #[test]
    fn a_body_without_signed_request_is_refused() {
        assert!(signed_request(b"other=1").is_err());
        assert!(signed_request(b"\xff\xfe").is_err());
        assert_eq!(signed_request(b"signed_request=a.b").unwrap(), "a.b");
    }
}
