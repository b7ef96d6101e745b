//! Benchmarks and load harnesses for kraftsoci.
//!
//! - `cargo bench -p kraftsoci-benches --bench core`: criterion micro-benchmarks of the token
//!   vault (beside raw aes-gcm), the content hash and lifecycle transitions.
//! - `cargo run --release -p kraftsoci-benches --bin load -- <scenario>`: load scenarios against
//!   in-process servers on 127.0.0.1 (`publish`, `api`, `login-storm`, `export`, `sweep`). Each
//!   is bounded in requests and time, stops by itself, and prints its table with the machine it
//!   ran on and the command that reproduces it.
//!
//! Results and the machine they ran on are recorded in `docs/performance.md`;
//! `benches/scripts/run-all.sh` reproduces all of them.
//!
//! Modules: [`load`] (the closed-loop driver), [`server`] (kraftsoci in-process),
//! [`bare`] (the axum + sqlx ceiling), [`fake_graph`] (a Graph API with latency and
//! exactly-once counters), [`scratch`] (a throw-away PostgreSQL database), and one module per
//! scenario: [`publish`], [`api`] (also the login storm), [`login_burst`] (login shedding),
//! [`export`], [`sweep`].
//!
//! ## Quick start
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use kraftsoci_benches::load::{LoadSpec, closed_loop};
//!
//! # async fn run() {
//! // 1,000 requests, 8 in flight, at most 30 s.
//! let spec = LoadSpec::new(1_000, 8, Duration::from_secs(30));
//! let client = reqwest::Client::new();
//! let summary = closed_loop(&spec, move |_| {
//!     let client = client.clone();
//!     async move {
//!         let response = client.get("http://127.0.0.1:8080/healthz").send().await;
//!         match response {
//!             Ok(r) if r.status().is_success() => Ok(()),
//!             Ok(r) => Err(format!("status {}", r.status())),
//!             Err(e) => Err(e.to_string()),
//!         }
//!     }
//! })
//! .await;
//! println!("{:.0} req/s, p99 {:?}", summary.rate(), summary.quantile(0.99));
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod bare;
pub mod chaos;
pub mod export;
pub mod fake_graph;
pub mod load;
pub mod login_burst;
pub mod publish;
pub mod report;
pub mod scratch;
pub mod server;
pub mod sweep;
