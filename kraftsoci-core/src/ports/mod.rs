//! Ports: the object-safe traits through which core reaches storage, providers and time.
//!
//! Adapters live in the leaf crates (`kraftsoci-meta`, `kraftsoci-ai`, `kraftsoci-billing`,
//! `kraftsoci-server`). With the `mocks` feature every port has a `mockall` mock (`MockX`).

mod billing;
mod generation;
mod journal;
mod mail;
mod media;
mod publisher;
mod store;

pub use billing::*;
// The billing domain types were defined here before they moved to `crate::billing`; they stay
// reachable at their old paths.
pub use crate::billing::*;
pub use generation::*;
pub use journal::*;
pub use mail::*;
pub use media::*;
pub use publisher::*;
pub use store::*;
