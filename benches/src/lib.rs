//! Benchmarks and load harnesses for kraftsoci.
//!
//! - `cargo bench -p kraftsoci-benches --bench core`: criterion micro-benchmarks of the token
//!   vault (beside raw aes-gcm), the content hash and lifecycle transitions.
//!
//! Results and the machine they ran on are recorded in `docs/performance.md`.
#![forbid(unsafe_code)]
