//! The API suite: a real server per test (port 0, its own SQLite file, outbox and clock),
//! driven over HTTP through `TestApp`'s one-method-per-endpoint helpers.

#[path = "../support/mod.rs"]
mod support;

mod account;
mod billing;
mod health;
mod helpers;
mod hygiene;
mod instagram;
mod isolation;
mod login;
mod media;
mod posts;
mod profile;
mod rate_limit;
mod reset;
mod sessions;
mod signup;
mod tokens;
mod usage_log;
mod worker;
mod worker_postgres;
