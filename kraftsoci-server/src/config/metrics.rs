//! `KRAFTSOCI_METRICS_TOKEN` and `KRAFTSOCI_METRICS_LISTEN`: whether `GET /metrics` is served,
//! the bearer token a scraper must send on the public listener, and a separate listener that
//! serves it without one.

use std::net::SocketAddr;

use secrecy::{ExposeSecret as _, SecretString};

use super::ConfigError;
use super::loader::Loader;

/// The shortest token accepted in production (as the JWT secret: a scraper token guards
/// operational data, not accounts, but is still a secret on the public listener).
pub const MIN_PRODUCTION_METRICS_TOKEN_CHARS: usize = 32;

/// The metrics endpoint's settings.
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    /// `KRAFTSOCI_METRICS_TOKEN`: unset, `/metrics` does not exist (404); set, it answers
    /// Prometheus' text format to `Authorization: Bearer <token>` and 401 to anything else.
    pub token: Option<SecretString>,
    /// `KRAFTSOCI_METRICS_LISTEN`: a second address (e.g. `127.0.0.1:9090`, port 0 allowed)
    /// that serves only `GET /metrics`, without a token, for a scraper on a private network.
    /// Unset, there is no second listener.
    pub listen: Option<SocketAddr>,
}

impl MetricsConfig {
    /// Whether `/metrics` is served somewhere.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.listen.is_some()
    }
}

/// The metrics settings; in production a token shorter than
/// [`MIN_PRODUCTION_METRICS_TOKEN_CHARS`] is refused.
pub(super) fn load<F: Fn(&str) -> Option<String>>(
    loader: &Loader<F>,
    production: bool,
) -> Result<MetricsConfig, ConfigError> {
    let token = loader.secret("KRAFTSOCI_METRICS_TOKEN");
    if production
        && token
            .as_ref()
            .is_some_and(|t| t.expose_secret().chars().count() < MIN_PRODUCTION_METRICS_TOKEN_CHARS)
    {
        return Err(ConfigError::new(
            "KRAFTSOCI_METRICS_TOKEN",
            format!(
                "must be at least {MIN_PRODUCTION_METRICS_TOKEN_CHARS} characters in production"
            ),
        ));
    }
    let listen = loader.optional(
        "KRAFTSOCI_METRICS_LISTEN",
        "must be an address and port, e.g. 127.0.0.1:9090",
    );
    Ok(MetricsConfig { token, listen })
}
