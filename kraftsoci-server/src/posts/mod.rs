//! The consent-gated post flow and the Instagram connection, as services the routes call.
//!
//! - [`providers`]: the vault, Meta client, publisher, generators and entitlements, built from
//!   configuration.

pub mod providers;
