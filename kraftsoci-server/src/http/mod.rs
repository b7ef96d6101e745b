//! HTTP plumbing shared by every route: extractors, middleware and layers.

mod auth;
pub mod client;
pub mod extract;
pub mod layers;
pub mod metrics;
pub mod rate_limit;
pub mod usage;

pub use auth::{
    ApiCaller, AuthAccount, AuthUser, DeferredCaller, PostsPublish, PostsRead, PostsWrite,
};
#[cfg(any(test, feature = "testing"))]
pub use auth::{PendingSession, RequiredScope, Via};
pub use client::ClientInfo;
pub use extract::{Json, Path, Query, SizedJson};
pub use usage::UsageSubject;
