//! Outgoing mail (password resets, policy notices).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Email;

/// A plain-text mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// Recipient.
    pub to: Email,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// The mail could not be handed to the transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct MailError(pub String);

/// Sends mail.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one mail.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;

    /// Sends one mail with an HTML alternative to its plain-text body. Transports that only
    /// carry plain text send `mail` alone (the default).
    async fn send_with_html(&self, mail: &Mail, html: &str) -> Result<(), MailError> {
        let _ = html;
        self.send(mail).await
    }
}
