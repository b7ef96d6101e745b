//! Logging: `RUST_LOG` filters (default `info`); JSON lines in production, readable text in
//! development. Handlers and adapters never record secrets or bodies.

use tracing_subscriber::EnvFilter;

use crate::config::Environment;

/// Installs the global subscriber (a second call is ignored).
pub fn init(environment: Environment) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if environment.is_production() {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
}
