//! Recording events: once per event key, with the owner's channels, and the webhook
//! deliveries of the endpoints that want it, in one transaction.

use std::sync::Arc;

use kraftsoci_core::ports::{Account, AccountStore};
use kraftsoci_core::{Clock, StoreError, UserId};
use serde_json::json;
use uuid::Uuid;

use super::message::sentence;
use super::{Event, NotificationPreferences};
use crate::i18n::Locale;
use crate::store::{NewEvent, NotifyStore, Stores};

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded now: its notice, mail and webhook deliveries are on their way.
    New,
    /// Recorded before (a retried job, a second report): nothing more happens.
    Duplicate,
    /// The account is closed or gone: nobody is told (P19: processing stopped).
    NoRecipient,
}

/// Records events for the dispatcher to deliver. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    store: Arc<dyn NotifyStore>,
    accounts: Arc<dyn AccountStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

/// The locale of an account's language preference.
pub(crate) fn locale_of(account: &Account) -> Locale {
    Locale::from_tag(&account.preferences.language.to_string()).unwrap_or(Locale::En)
}

impl Notifier {
    /// A notifier over `stores`.
    pub fn new(stores: &Stores, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: Arc::clone(&stores.notify),
            accounts: Arc::clone(&stores.accounts),
            clock,
        }
    }

    /// The owner's notification choices (defaults when none were saved).
    ///
    /// # Errors
    /// Storage failures; [`StoreError::NotFound`] for an unknown user.
    pub async fn preferences(&self, user: UserId) -> Result<NotificationPreferences, StoreError> {
        let account = self.accounts.account(user).await?;
        self.preferences_of(&account).await
    }

    /// [`Notifier::preferences`] of an account already read (one statement fewer).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn preferences_of(
        &self,
        account: &Account,
    ) -> Result<NotificationPreferences, StoreError> {
        let stored = self.store.preferences(account.id).await?;
        Ok(NotificationPreferences::from_stored(
            stored.as_ref(),
            locale_of(account),
        ))
    }

    /// Saves the owner's notification choices.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_preferences(
        &self,
        user: UserId,
        preferences: &NotificationPreferences,
    ) -> Result<(), StoreError> {
        self.store
            .set_preferences(user, &preferences.to_stored(), self.clock.now())
            .await
    }

    /// Records `event` once: a second call with the same key changes nothing, whatever its
    /// details. The notice shows in the app, a mail is queued and webhook deliveries are
    /// created as the owner chose.
    ///
    /// # Errors
    /// Storage failures (the caller may retry: recording is idempotent).
    #[tracing::instrument(skip_all, fields(user = %event.user, event = %event.kind))]
    pub async fn record(&self, event: &Event) -> Result<Recorded, StoreError> {
        let Some(new) = self.prepare(event).await? else {
            return Ok(Recorded::NoRecipient);
        };
        Ok(if self.store.record_event(&new).await? {
            tracing::info!(key = %event.key, "event recorded");
            Recorded::New
        } else {
            Recorded::Duplicate
        })
    }

    /// The row [`Notifier::record`] would store for `event` (the owner's language, time zone
    /// and channels applied), without storing it: for a caller that records it in a
    /// transaction of its own — the publish worker writes it with the job's settlement, so a
    /// crash cannot settle the post and lose its notification. `None` when the account is
    /// closed or gone (nobody is told).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn prepare(&self, event: &Event) -> Result<Option<NewEvent>, StoreError> {
        let account = match self.accounts.account(event.user).await {
            Ok(account) if account.closed_at.is_none() => account,
            Ok(_) | Err(StoreError::NotFound) => return Ok(None),
            Err(error) => return Err(error),
        };
        self.prepare_for(event, &account).await.map(Some)
    }

    /// [`Notifier::prepare`] for the owner's account already read (one statement fewer; the
    /// caller has checked that it is open).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn prepare_for(
        &self,
        event: &Event,
        account: &Account,
    ) -> Result<NewEvent, StoreError> {
        let locale = locale_of(account);
        let stored = self.store.preferences(event.user).await?;
        let preferences = NotificationPreferences::from_stored(stored.as_ref(), locale);
        let channels = preferences.channels(event.kind);
        let at = self.clock.now();
        let id = Uuid::new_v4();
        let mut data = serde_json::Map::new();
        for (name, value) in &event.params {
            data.insert(name.clone(), json!(value));
        }
        if let Some(link) = &event.link {
            data.insert("link".to_owned(), json!(link));
        }
        let payload = json!({
            "id": id,
            "type": event.kind.as_str(),
            "created_at": at,
            "data": data,
        });
        Ok(NewEvent {
            id,
            user: event.user,
            kind: event.kind.as_str().to_owned(),
            key: event.key.clone(),
            body: sentence(event.kind, &event.params, locale, preferences.time_zone),
            link: event.link.clone(),
            params: serde_json::to_string(&event.params)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            in_app: channels.in_app,
            mail: channels.mail,
            webhook_payload: payload.to_string(),
            at,
        })
    }

    /// [`Notifier::record`] for callers that must not fail because of a notification (the
    /// generation worker after its outcome is settled): a failure is logged, never returned.
    pub async fn record_logged(&self, event: &Event) {
        if let Err(error) = self.record(event).await {
            tracing::error!(user = %event.user, event = %event.kind, key = %event.key, %error,
                "notification not recorded");
        }
    }
}
