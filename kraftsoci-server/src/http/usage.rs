//! The usage log (P06): one row per request with the user, method, route template, status,
//! client address, user agent and time. Never a body, a query string or a header value other
//! than the user agent.
//!
//! While a user objects (P31), only security-relevant events are kept for them: requests to
//! `/v1/auth/*` and any 401, 403 or 429. Health probes are not logged.
//!
//! The event is handed to the [`UsageWriter`](crate::usage_log::UsageWriter), which writes events in
//! batches off the request path.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use kraftsoci_core::ports::{UsageChannel, UsageEvent};
use kraftsoci_core::{ApiKeyId, UserId};

use super::client::ClientInfo;
use crate::state::AppState;

/// Routes that are not user activity (probes, the metrics scrape, and the static files every
/// page loads).
const NOT_LOGGED: &[&str] = &["/healthz", "/readyz", "/metrics", "/static/{file}"];

/// Who a request turned out to be for, and whether the web app answered it. The middleware
/// puts an empty one in the request's extensions; whatever authenticates the request (the
/// [`AuthUser`](super::AuthUser) extractor, a login handler, or the web app's session lookup)
/// fills it in.
#[derive(Debug, Clone, Default)]
pub struct UsageSubject(Arc<Mutex<Recorded>>);

#[derive(Debug, Clone, Copy, Default)]
struct Recorded {
    subject: Option<Subject>,
    channel: UsageChannel,
}

#[derive(Debug, Clone, Copy)]
struct Subject {
    user: UserId,
    objects: bool,
    api_key: Option<ApiKeyId>,
}

impl UsageSubject {
    fn update(&self, change: impl FnOnce(&mut Recorded)) {
        change(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Records the request's user and whether they object to usage logging.
    pub fn set(&self, user: UserId, objects_to_usage_log: bool) {
        self.update(|r| {
            r.subject = Some(Subject {
                user,
                objects: objects_to_usage_log,
                api_key: None,
            });
        });
    }

    /// Records the request's user and the personal API key it came with.
    pub fn set_with_key(&self, user: UserId, objects_to_usage_log: bool, key: ApiKeyId) {
        self.update(|r| {
            r.subject = Some(Subject {
                user,
                objects: objects_to_usage_log,
                api_key: Some(key),
            });
        });
    }

    /// Records a web app request of a signed-in browser: its user, whether they object.
    pub fn set_web(&self, user: UserId, objects_to_usage_log: bool) {
        self.set(user, objects_to_usage_log);
        self.mark_web();
    }

    /// Records that the web app answered the request (signed in or not).
    pub fn mark_web(&self) {
        self.update(|r| r.channel = UsageChannel::Web);
    }

    fn get(&self) -> Recorded {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Handlers that identify the user themselves (login, sign-up) take this to tell the usage
/// log who the request was for. Outside the middleware it is a detached, unused slot.
impl<S: Send + Sync> FromRequestParts<S> for UsageSubject {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_default())
    }
}

/// The web app's sign-in, sign-up, sign-out and password forms: security events like
/// `/v1/auth/*`.
const WEB_AUTH_ROUTES: &[&str] = &[
    "/sign-in",
    "/sign-up",
    "/sign-out",
    "/password-reset",
    "/reset-password",
    "/settings/password",
];

/// Whether an event is kept even while the user objects.
pub fn is_security_event(route: &str, status: u16) -> bool {
    route.starts_with("/v1/auth/")
        || WEB_AUTH_ROUTES.contains(&route)
        || matches!(status, 401 | 403 | 429)
}

/// Middleware: writes the usage event after the response is built.
pub async fn record_usage(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());
    if NOT_LOGGED.contains(&route.as_str()) {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let (mut parts, body) = request.into_parts();
    let client = ClientInfo::from_parts(&parts, &state.config.trusted_proxies);
    let subject = UsageSubject::default();
    parts.extensions.insert(subject.clone());

    let response = next.run(Request::from_parts(parts, body)).await;

    let status = response.status().as_u16();
    let security = is_security_event(&route, status);
    let Recorded {
        subject: who,
        channel,
    } = subject.get();
    if who.is_some_and(|s| s.objects) && !security {
        return response;
    }
    let event = UsageEvent {
        user: who.map(|s| s.user),
        method,
        route,
        status,
        ip: client.ip_string(),
        user_agent: client.user_agent,
        security,
        at: state.clock.now(),
        api_key: who.and_then(|s| s.api_key),
        channel,
    };
    // Written in batches by the usage writer; the response does not wait for the database.
    state.usage.record(event);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_routes_and_refusals_are_security_events() {
        assert!(is_security_event("/v1/auth/login", 200));
        assert!(is_security_event("/v1/me", 401));
        assert!(is_security_event("/v1/posts/{id}", 403));
        assert!(is_security_event("/v1/me", 429));
        assert!(!is_security_event("/v1/me", 200));
        assert!(!is_security_event("/v1/profile", 404));
        assert!(is_security_event("/sign-in", 303));
        assert!(is_security_event("/settings/password", 303));
        assert!(!is_security_event("/posts", 200));
    }
}
