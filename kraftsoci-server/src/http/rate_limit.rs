//! The per-address rate limit of the authentication routes, as middleware (the limiters
//! themselves are [`crate::auth::AuthLimits`]).

use std::net::{IpAddr, Ipv4Addr};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

#[cfg(any(test, feature = "testing"))]
pub use crate::auth::{AuthLimits, RateLimiter};

use super::client::ClientInfo;
use crate::auth::rate_limited;
use crate::error::ApiError;
use crate::state::AppState;

/// Middleware: the per-address limit (route layer of the auth router).
pub async fn limit_by_ip(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    // Without a known address (no connection info), everyone shares one bucket: stricter,
    // never looser.
    let ip = ClientInfo::from_parts(&parts, &state.config.trusted_proxies)
        .ip
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    state.limits.per_ip.check(ip).map_err(rate_limited)?;
    Ok(next.run(Request::from_parts(parts, body)).await)
}
