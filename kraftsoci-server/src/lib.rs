//! # kraftsoci-server
//!
//! The reference server of kraftsoci: an axum HTTP API over sqlx stores (PostgreSQL or
//! SQLite), with the authentication, account and profile routes of the API contract.
//!
//! - [`config`]: typed configuration from the contract's environment variables.
//! - [`store`]: every storage port on two engines (PostgreSQL, SQLite), one schema for the
//!   whole product, handed out as [`Stores`](store::Stores).
//! - [`auth`]: bcrypt passwords, HS256 access tokens, rotating refresh tokens, resets.
//! - [`http`]: extractors ([`AuthUser`](http::AuthUser), [`Json`](http::Json)…), rate limits,
//!   the usage log and the shared layers.
//! - [`routes`]: one module per route group, each with its OpenAPI description.
//! - [`web`]: the owners' web app (askama pages, CSRF, static files); [`i18n`]: Turkish and
//!   English messages, dates and numbers.
//! - [`rights`], [`export`], [`retention`]: data-subject rights (requests, export, erasure,
//!   Meta's callbacks) and the retention sweep; [`admin`]: the operator subcommands.
//! - [`Application`]: binds, migrates and serves; [`AppState`] is what handlers see.
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

pub mod account;
pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod billing;
pub mod breach;
pub mod cli;
pub mod config;
pub mod error;
pub mod export;
pub mod healthcheck;
pub mod http;
pub mod i18n;
#[cfg(test)]
mod layering;
pub mod mail;
pub mod media;
pub mod media_links;
pub mod metrics;
pub mod notify;
pub mod posts;
pub mod requests;
pub mod retention;
pub mod rights;
pub mod routes;
pub mod sandbox;
mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod usage_log;
pub mod web;
pub mod worker;

pub use error::{ApiError, Error};
pub use startup::{Application, ApplicationBuilder, WorkerMetrics, dispatch_deps, shutdown_signal};
pub use state::AppState;

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
