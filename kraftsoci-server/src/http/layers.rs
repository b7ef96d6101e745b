//! The middleware every response passes through: request ids, tracing without secrets,
//! the body limit, CORS and security headers.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, REFERRER_POLICY,
    RETRY_AFTER, SET_COOKIE, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, Method};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::{ConfigError, CorsConfig, CorsOrigins, Environment};

/// The largest request body (contract: 1 MiB, 413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The JSON API's Content-Security-Policy: nothing may load, nothing may frame. A handler
/// that serves HTML (e.g. `/data-deletion`) sets its own, which this layer then leaves alone.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the CORS layer from configuration; `None` when no origin is allowed (then no
/// response ever carries `Access-Control-Allow-Origin`).
///
/// # Errors
/// [`ConfigError`] on a wildcard origin with credentials (checked here too, since a
/// `Config` can be built without [`Config::from_env`](crate::config::Config::from_env), and
/// tower-http would panic on it).
pub fn cors_layer(cors: &CorsConfig) -> Result<Option<CorsLayer>, ConfigError> {
    cors.validate().map_err(|reason| ConfigError {
        variable: "KRAFTSOCI_CORS_ORIGINS",
        reason,
    })?;
    let origin = match &cors.origins {
        CorsOrigins::None => return Ok(None),
        CorsOrigins::Any => AllowOrigin::from(Any),
        CorsOrigins::List(origins) => {
            let values = origins
                .iter()
                .map(|o| HeaderValue::from_str(o))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| ConfigError {
                    variable: "KRAFTSOCI_CORS_ORIGINS",
                    reason: "an origin is not a valid header value".to_owned(),
                })?;
            AllowOrigin::list(values)
        }
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([AUTHORIZATION, CONTENT_TYPE])
            .expose_headers([REQUEST_ID, RETRY_AFTER])
            .allow_credentials(cors.allow_credentials)
            .max_age(Duration::from_secs(600)),
    ))
}

/// Wraps the router in the shared layers (outermost first: request id, sensitive-header
/// marking, tracing, security headers, CORS, body limit).
///
/// # Errors
/// As [`cors_layer`].
pub fn apply(
    router: Router,
    cors: &CorsConfig,
    environment: Environment,
) -> Result<Router, ConfigError> {
    let cors = cors_layer(cors)?;
    let hsts = environment
        .is_production()
        .then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    let trace = TraceLayer::new_for_http()
        // The span names the route template, never the URI: query strings can carry OAuth
        // codes and tokens.
        .make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("(unmatched)", MatchedPath::as_str);
            let request_id = request
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %request.method(), route, request_id)
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        .on_failure(DefaultOnFailure::new().level(Level::WARN));

    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetSensitiveRequestHeadersLayer::new([
            AUTHORIZATION,
            COOKIE,
            HeaderName::from_static("stripe-signature"),
        ]))
        .layer(SetSensitiveResponseHeadersLayer::new([SET_COOKIE]))
        .layer(trace)
        .layer(SetResponseHeaderLayer::if_not_present(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // Responses carry tokens and personal data: no shared or browser caching unless a
        // handler says otherwise.
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            STRICT_TRANSPORT_SECURITY,
            hsts,
        ))
        .option_layer(cors)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    Ok(router.layer(stack))
}
