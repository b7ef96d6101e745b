//! Logging: `RUST_LOG` filters (default `info`); JSON lines or compact text as
//! `KRAFTSOCI_LOG_FORMAT` says (not the environment: a production box read by a person and a
//! development stack feeding a collector are both normal). Handlers and adapters never record
//! secrets or bodies.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber (a second call is ignored).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
