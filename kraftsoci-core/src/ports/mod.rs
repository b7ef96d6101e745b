//! Ports: the object-safe traits through which core reaches storage, providers and time.
//!
//! Adapters live in the leaf crates (`kraftsoci-meta`, `kraftsoci-ai`, `kraftsoci-billing`,
//! `kraftsoci-server`). With the `mocks` feature every port has a `mockall` mock (`MockX`).

mod billing;
mod erasure;
mod generation;
mod journal;
mod mail;
mod media;
mod media_probe;
mod publisher;
mod store;

pub use billing::*;
pub use erasure::*;
pub use generation::*;
pub use journal::*;
pub use mail::*;
pub use media::*;
pub use media_probe::*;
pub use publisher::*;
pub use store::*;
