//! How `serve` treats connections (`KRAFTSOCI_HTTP_*`, `KRAFTSOCI_MAX_CONNECTIONS*`,
//! `KRAFTSOCI_SHUTDOWN_*`): deadlines a slow or stalled client cannot stretch, caps on
//! connections, and the drain on shutdown.

use std::time::Duration;

use super::ConfigError;
use super::loader::Loader;

/// Connection limits and the shutdown drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// `KRAFTSOCI_HTTP_HEADER_TIMEOUT`: the time a connection has to send a request's head,
    /// counted from when it is ready for the next request, so a kept-alive connection that
    /// stays idle this long is closed too.
    pub header_timeout: Duration,
    /// `KRAFTSOCI_HTTP_BODY_TIMEOUT`: the time to send a whole request body, counted from its
    /// head; a body announced and never sent, or dripped in slowly, fails after it and the
    /// connection is closed.
    pub body_timeout: Duration,
    /// `KRAFTSOCI_HTTP_WRITE_TIMEOUT`: how long a response write may wait for the client to
    /// read; a client that stops reading (its receive window stays full) this long has its
    /// connection closed. Progress restarts the clock, so a slow but reading client and an
    /// event stream that is merely quiet are not affected.
    pub write_timeout: Duration,
    /// `KRAFTSOCI_MAX_CONNECTIONS`: open connections in total; beyond, new ones are closed
    /// at once.
    pub max_connections: u32,
    /// `KRAFTSOCI_MAX_CONNECTIONS_PER_CLIENT`: open connections per client address. Behind a
    /// trusted proxy (whose connections are shared by many clients and not counted) the
    /// same number caps the requests in progress per forwarded client address (429 beyond).
    pub max_connections_per_client: u32,
    /// `KRAFTSOCI_SHUTDOWN_DELAY`: after SIGTERM, how long new connections are still served
    /// while `/readyz` already answers 503, so the load balancer stops routing here first.
    pub shutdown_delay: Duration,
    /// `KRAFTSOCI_SHUTDOWN_TIMEOUT`: then, how long requests in progress may take to finish
    /// before their connections are closed.
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_connections_per_client: 64,
            shutdown_delay: Duration::ZERO,
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

/// The server settings; every one has a default.
pub(super) fn load<F: Fn(&str) -> Option<String>>(
    loader: &Loader<F>,
) -> Result<ServerConfig, ConfigError> {
    let default = ServerConfig::default();
    let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
    let config = ServerConfig {
        header_timeout: loader.seconds(
            "KRAFTSOCI_HTTP_HEADER_TIMEOUT",
            secs(default.header_timeout),
        )?,
        body_timeout: loader.seconds("KRAFTSOCI_HTTP_BODY_TIMEOUT", secs(default.body_timeout))?,
        write_timeout: loader
            .seconds("KRAFTSOCI_HTTP_WRITE_TIMEOUT", secs(default.write_timeout))?,
        max_connections: loader.positive("KRAFTSOCI_MAX_CONNECTIONS", default.max_connections)?,
        max_connections_per_client: loader.positive(
            "KRAFTSOCI_MAX_CONNECTIONS_PER_CLIENT",
            default.max_connections_per_client,
        )?,
        shutdown_delay: Duration::from_secs(u64::from(
            loader.parse::<u32>("KRAFTSOCI_SHUTDOWN_DELAY", "0")?,
        )),
        shutdown_timeout: loader
            .seconds("KRAFTSOCI_SHUTDOWN_TIMEOUT", secs(default.shutdown_timeout))?,
    };
    if config.max_connections_per_client > config.max_connections {
        return Err(ConfigError::new(
            "KRAFTSOCI_MAX_CONNECTIONS_PER_CLIENT",
            "must not exceed KRAFTSOCI_MAX_CONNECTIONS",
        ));
    }
    Ok(config)
}
