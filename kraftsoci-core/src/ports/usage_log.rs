//! The usage log (P06): who called what, when, from where; never a body or a secret.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ApiKeyId, StoreError, UserId};

/// One usage-log entry (P06). Never a body or a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// Who (none for anonymous requests).
    pub user: Option<UserId>,
    /// HTTP method or action name.
    pub method: String,
    /// Route template (`/v1/posts/{id}`), never the raw path.
    pub route: String,
    /// HTTP status.
    pub status: u16,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Whether the event is security-relevant (kept even while the user objects, P31).
    pub security: bool,
    /// When.
    pub at: DateTime<Utc>,
    /// The personal API key the request was made with, if any.
    #[serde(default)]
    pub api_key: Option<ApiKeyId>,
    /// Which door the request came through.
    #[serde(default)]
    pub channel: UsageChannel,
}

/// Which door a request came through: the JSON API or the owner's web app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageChannel {
    /// The JSON API (`/v1/…`, with an access token, an API key or none) and provider
    /// callbacks.
    #[default]
    Api,
    /// A page or form of the web app (with or without a browser session).
    Web,
}

impl UsageChannel {
    /// The stored name: `api` or `web`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Web => "web",
        }
    }
}

/// The usage log.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UsageLogStore: Send + Sync {
    /// Appends an event.
    async fn append(&self, event: &UsageEvent) -> Result<(), StoreError>;

    /// Appends events, in order. Stores write them in one statement; the default appends one
    /// by one.
    async fn append_many(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
        for event in events {
            self.append(event).await?;
        }
        Ok(())
    }
}
