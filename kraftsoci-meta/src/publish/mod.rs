//! Content publishing: containers (image, carousel, reel, story), their status, the quota, and
//! `media_publish` guarded against double posts.
//!
//! `media_publish` has no idempotency key, so it is never retried blindly. After a timeout, a
//! 5xx, an unclassified answer or 4/2207051 (reported live although it failed), the container is
//! read first: `PUBLISHED` means the post is done.
//!
//! One concept per file: `post` (what can be published), `container` (creating containers
//! and reading their status), `publishing` (the quota and the guarded `media_publish`),
//! `failure` (classifying failures), `params` (each kind's form parameters) and `wire`
//! (the answers' shapes).

use std::time::Duration;

use kraftsoci_core::ports::{
    ContainerId, ContainerStatus, PublishAccount, PublishResult, PublishingQuota,
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::classify::{self, Observed};
use crate::client::{GraphRequest, MetaClient, checked_id};
use crate::error::{ErrorKind, MetaError};
use crate::poll::{Readiness, backoff_delay};
use crate::usage::Usage;

mod container;
mod failure;
mod params;
mod post;
mod publishing;
#[cfg(test)]
mod tests;
mod wire;

pub(crate) use self::container::*;
pub(crate) use self::failure::*;
pub(crate) use self::params::*;
pub use self::post::*;
pub(crate) use self::wire::*;
