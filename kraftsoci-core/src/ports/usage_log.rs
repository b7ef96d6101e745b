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
