//! Ports: the object-safe traits through which core reaches storage, providers and time.
//!
//! Adapters live in the leaf crates (`kraftsoci-meta`, `kraftsoci-ai`, `kraftsoci-billing`,
//! `kraftsoci-server`). With the `mocks` feature every port has a `mockall` mock (`MockX`).

mod accounts;
mod billing;
mod connections;
mod erasure;
mod generation;
mod journal;
mod mail;
mod media;
mod media_probe;
mod posts;
mod profiles;
mod publisher;
mod store;
mod usage_log;

pub use accounts::*;
pub use billing::*;
pub use connections::*;
pub use erasure::*;
pub use generation::*;
pub use journal::*;
pub use mail::*;
pub use media::*;
pub use media_probe::*;
pub use posts::*;
pub use profiles::*;
pub use publisher::*;
pub use store::*;
pub use usage_log::*;
// The billing domain types were defined here before they moved to `crate::billing`; they stay
// reachable at their old paths.
pub use crate::billing::*;
