//! Managing an owner's webhook endpoints: registration (URL checked against SSRF, event
//! names checked, at most [`MAX_WEBHOOKS`], the signing secret sealed and shown once),
//! listing, deletion, the delivery record and re-sending.

use std::sync::Arc;

use kraftsoci_core::vault::{TokenContext, TokenPurpose};
use kraftsoci_core::{Clock, StoreError, TokenVault, UserId};
use secrecy::SecretString;
use uuid::Uuid;

use super::EventKind;
use super::webhooks::{MAX_WEBHOOKS, TargetError, TargetPolicy, check_target, new_secret};
use crate::store::{NewWebhook, NotifyStore, WebhookDelivery, WebhookEndpoint};

/// The most deliveries one listing shows.
pub const MAX_DELIVERIES_LISTED: u32 = 100;

/// Why an endpoint was not registered.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Event names that do not exist (or cannot be subscribed to).
    #[error("unknown events: {}", .0.join(", "))]
    UnknownEvents(Vec<String>),
    /// No events given.
    #[error("at least one event is required")]
    NoEvents,
    /// The URL is refused.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The account has [`MAX_WEBHOOKS`] already.
    #[error("at most {MAX_WEBHOOKS} endpoints per account")]
    TooMany,
    /// The secret could not be sealed.
    #[error("the signing secret could not be sealed")]
    Seal,
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An endpoint just registered, with its secret (shown this once).
#[derive(Debug)]
pub struct Registered {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The signing secret.
    pub secret: SecretString,
}

/// The webhook endpoints of owners.
#[derive(Clone)]
pub struct Webhooks {
    store: Arc<dyn NotifyStore>,
    vault: Arc<TokenVault>,
    clock: Arc<dyn Clock>,
    targets: TargetPolicy,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

/// The event names, checked: deduplicated, in [`EventKind::OPTIONAL`] order.
///
/// # Errors
/// [`WebhookError::NoEvents`], [`WebhookError::UnknownEvents`] (mandatory notices are not
/// webhook events either).
pub fn check_events(names: &[String]) -> Result<Vec<String>, WebhookError> {
    let unknown: Vec<String> = names
        .iter()
        .filter(|name| {
            !EventKind::parse(name).is_some_and(|kind| EventKind::OPTIONAL.contains(&kind))
        })
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(WebhookError::UnknownEvents(unknown));
    }
    let events: Vec<String> = EventKind::OPTIONAL
        .into_iter()
        .filter(|kind| names.iter().any(|name| name == kind.as_str()))
        .map(|kind| kind.as_str().to_owned())
        .collect();
    if events.is_empty() {
        return Err(WebhookError::NoEvents);
    }
    Ok(events)
}

impl Webhooks {
    /// Endpoints over `store`, secrets sealed with `vault`.
    pub fn new(
        store: Arc<dyn NotifyStore>,
        vault: Arc<TokenVault>,
        clock: Arc<dyn Clock>,
        targets: TargetPolicy,
    ) -> Self {
        Self {
            store,
            vault,
            clock,
            targets,
        }
    }

    /// Registers an endpoint.
    ///
    /// # Errors
    /// See [`WebhookError`].
    pub async fn register(
        &self,
        user: UserId,
        url: &str,
        events: &[String],
    ) -> Result<Registered, WebhookError> {
        let events = check_events(events)?;
        let url = check_target(url, self.targets).await?;
        let id = Uuid::new_v4();
        let secret = new_secret();
        let context = TokenContext::new(user, TokenPurpose::WebhookSigning, id.to_string());
        let sealed_secret = self
            .vault
            .seal(&secret, &context)
            .map_err(|_| WebhookError::Seal)?;
        let created_at = self.clock.now();
        let webhook = NewWebhook {
            id,
            user,
            url: url.to_string(),
            events: events.clone(),
            sealed_secret,
            created_at,
        };
        match self.store.create_webhook(&webhook, MAX_WEBHOOKS).await {
            Ok(()) => {}
            Err(StoreError::Conflict { constraint }) if constraint == "webhook_limit" => {
                return Err(WebhookError::TooMany);
            }
            Err(error) => return Err(error.into()),
        }
        Ok(Registered {
            endpoint: WebhookEndpoint {
                id,
                url: webhook.url,
                events,
                created_at,
            },
            secret,
        })
    }

    /// The owner's endpoints.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list(&self, user: UserId) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.store.webhooks(user).await
    }

    /// Deletes an endpoint and its deliveries.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it is not the owner's.
    pub async fn delete(&self, user: UserId, id: Uuid) -> Result<(), StoreError> {
        self.store.delete_webhook(user, id).await
    }

    /// An endpoint's deliveries, newest first.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it is not the owner's.
    pub async fn deliveries(
        &self,
        user: UserId,
        endpoint: Uuid,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        self.store
            .deliveries(user, endpoint, MAX_DELIVERIES_LISTED)
            .await
    }

    /// Sends a delivery again (at the next dispatch), with a new 24-hour retry window.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it is not the owner's.
    pub async fn resend(
        &self,
        user: UserId,
        endpoint: Uuid,
        delivery: Uuid,
    ) -> Result<WebhookDelivery, StoreError> {
        self.store
            .resend_delivery(user, endpoint, delivery, self.clock.now())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_checked_deduplicated_and_ordered() {
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_events(&names(&["quota_80", "published", "published"])).unwrap(),
            names(&["published", "quota_80"])
        );
        assert!(matches!(
            check_events(&names(&["published", "posted", "security"])),
            Err(WebhookError::UnknownEvents(unknown)) if unknown == names(&["posted", "security"])
        ));
        assert!(matches!(check_events(&[]), Err(WebhookError::NoEvents)));
    }
}
