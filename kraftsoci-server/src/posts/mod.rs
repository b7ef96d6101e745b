//! The consent-gated post flow and the Instagram connection, as services the routes call.
//!
//! - [`flow`]: generate, preview, edit, the Publish click, withdraw, delete (P09, P16, P29).
//! - [`connect`]: Facebook Login, connections and their sealed tokens (P03, P08, P10, P15).
//! - [`providers`]: the vault, Meta client, publisher and generators, built from configuration.

pub mod connect;
pub mod flow;
pub mod providers;
