//! The media probe port: before a container is created, check that Meta's fetcher will be able
//! to download each media URL.
//!
//! Meta fetches `image_url` while it creates the container. When the URL does not answer (the
//! media host restarting, a timeout), Meta fails the container, and each failed container
//! counts against the account's 400 containers a day. A probe answered locally costs nothing,
//! so the orchestration probes first and waits with back-off while the media is unreachable
//! ([`crate::PublishPolicy::media_fetch_retry_for`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::MediaSource;

/// Whether a media URL answers the way Meta's fetcher needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaReach {
    /// The URL answers with the media.
    Reachable,
    /// The URL does not answer now (connection refused, timeout, 5xx): try again later.
    Unreachable {
        /// Why, for logs.
        reason: String,
    },
    /// The URL answers that the media is not there (404, an expired or foreign signature):
    /// a container built on it would fail for good.
    Gone {
        /// Why, for the owner.
        reason: String,
    },
}

/// Checks a media URL as Meta's fetcher would see it: a public GET, no credentials, no
/// redirects. Object-safe; held as `Arc<dyn MediaProbe>`.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MediaProbe: Send + Sync {
    /// Probes one item.
    async fn probe(&self, media: &MediaSource) -> MediaReach;
}
