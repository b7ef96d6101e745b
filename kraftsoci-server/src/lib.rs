//! # kraftsoci-server
//!
//! The reference server of kraftsoci: an axum HTTP API over sqlx stores (PostgreSQL or
//! SQLite), the publish and generation workers, and the operator commands, as a library the
//! `kraftsoci-server` binary is a thin shell around.
//!
//! What an embedder reaches:
//!
//! - [`Application`] binds, migrates and serves; [`ApplicationBuilder`] swaps the ports
//!   (stores, clock, mailer, media, publisher, generators, entitlements) before it does;
//!   [`AppState`] is what the running application holds.
//! - [`config`]: typed configuration from the contract's environment variables.
//! - [`store`]: every storage port on two engines (PostgreSQL, SQLite), one schema for the
//!   whole product, handed out as [`Stores`](store::Stores) (what
//!   [`ApplicationBuilder::stores`] takes).
//! - [`worker`]: the publish and generation workers, to run beside the server or alone.
//! - [`commands`]: the operator subcommands (`serve`, `worker`, `sweep`, `rotate-key`…) and
//!   [`cli`], their command line, for a binary of your own.
//! - [`error`]: [`Error`] (building and running) and [`ApiError`] (what handlers answer).
//! - [`telemetry`] (logging setup) and [`healthcheck`] (the container probe).
//!
//! Everything else (routes, web pages, services, rights, retention, billing glue) is internal
//! and may change in any release.
//!
//! ## The `mimalloc` feature (default)
//!
//! The `kraftsoci-server` binary allocates with mimalloc: a request allocates many small
//! strings (rows, JSON, headers) and frees them together, and with glibc's allocator the API
//! served about a sixth fewer requests per second (`docs/performance.md`). Only the binary sets
//! the global allocator; an application embedding this crate chooses its own, and may turn the
//! feature off (`default-features = false`) to skip building mimalloc.
//!
//! ## The `testing` feature (unstable)
//!
//! The integration tests and the benches reach the internals: with the `testing` feature the
//! internal modules are public. It exists for this repository's own tests; nothing it exposes
//! is covered by semver, and it may change or go away in any release.
//!
//! ## Quick start
//!
//! ```no_run
//! use kraftsoci_server::{Application, config::Config};
//!
//! # async fn run() -> Result<(), kraftsoci_server::Error> {
//! // Development defaults: SQLite file, generated keys, mails in ./outbox.
//! let mut config = Config::development();
//! config.listen = "127.0.0.1:0".parse().expect("a socket address");
//! let app = Application::build(config).await?;
//! println!("listening on port {}", app.port());
//! app.run_until_stopped().await
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::sync::Arc;

/// Declares the server's internal modules: crate-private, and public only with the unstable
/// `testing` feature (the integration tests and benches use them).
///
/// What only the tests reach (re-exports, helpers, constants they assert on) is itself gated
/// with `#[cfg(any(test, feature = "testing"))]` where it is declared, so the build without the
/// feature still reports dead code and unused imports (CI lints that build as well).
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(feature = "testing")]
            pub mod $name;
            #[cfg(not(feature = "testing"))]
            #[allow(clippy::enum_variant_names)]
            mod $name;
        )*
    };
}

// The embedder's API (see the crate docs).
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod healthcheck;
pub mod store;
pub mod telemetry;
pub mod worker;

internal_modules!(
    account,
    admin,
    api_keys,
    auth,
    billing,
    breach,
    export,
    http,
    i18n,
    mail,
    media,
    media_links,
    metrics,
    notify,
    posts,
    requests,
    retention,
    rights,
    routes,
    sandbox,
    state,
    usage_log,
    web,
);

#[cfg(test)]
mod layering;
mod startup;

pub use error::{ApiError, Error};
#[cfg(feature = "testing")]
pub use startup::dispatch_deps;
pub use startup::{Application, ApplicationBuilder, WorkerMetrics, shutdown_signal};
pub use state::{AppServices, AppState, Readiness};

/// Connects to the configured database and applies its migrations (`kraftsoci-server
/// migrate`).
///
/// # Errors
/// [`Error::Database`] or [`Error::Migration`].
pub async fn migrate(config: &config::Config) -> Result<(), Error> {
    migrate_database(&config.database_url).await
}

/// Applies the migrations to `database` alone: `kraftsoci-server migrate` needs no other
/// setting.
///
/// # Errors
/// As [`migrate`].
pub async fn migrate_database(database: &config::DatabaseUrl) -> Result<(), Error> {
    let stores = store::connect(database, Arc::new(kraftsoci_core::SystemClock)).await?;
    stores.database.migrate().await?;
    tracing::info!(database = %database.redacted(), "migrations applied");
    Ok(())
}
