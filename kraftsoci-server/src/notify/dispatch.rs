//! Delivering recorded events: notice mails, webhook deliveries, the "scheduled within the
//! hour" scan and the outbox's retention, one pass at a time ([`Dispatcher::run_once`]) or
//! periodically beside the publish worker ([`Dispatcher::spawn`]).
//!
//! Mails and deliveries are claimed with a lease before they are attempted, so several
//! processes may dispatch against one database and a crashed one's work is taken over when
//! its lease runs out. A mail is marked sent right after the transport accepted it; a crash in
//! between is the only way one could go out twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kraftsoci_core::ports::{AccountStore, Mail, Mailer};
use kraftsoci_core::vault::{TokenContext, TokenPurpose};
use kraftsoci_core::{Clock, StoreError, TokenVault};
use tokio::sync::watch;
use url::Url;

use super::message::mail;
use super::notifier::locale_of;
use super::webhooks::{self, Attempt, TargetPolicy};
use super::{Event, EventKind, NotificationPreferences, Notifier};
use crate::store::{ClaimedDelivery, DeliveryResult, NotifyStore, PendingMail, Stores};

/// How often a running dispatcher makes a pass.
pub const DISPATCH_INTERVAL: Duration = Duration::from_secs(15);

/// How long a claimed mail or delivery is held before another dispatcher may take it.
const LEASE: Duration = Duration::from_secs(300);

/// The most mails and deliveries one pass attempts (each); the rest wait for the next pass.
const BATCH: usize = 50;

/// A mail is given up after this many failed attempts.
const MAX_MAIL_ATTEMPTS: u32 = 8;

/// How long in-app event notices are kept (policy and security notices are kept with the
/// account, as the record P38 asks for).
pub const NOTICE_RETENTION_DAYS: i64 = 365;

/// How long webhook delivery records are kept.
pub const DELIVERY_RETENTION_DAYS: i64 = 30;

/// What the dispatcher needs.
#[derive(Clone)]
pub struct DispatchDeps {
    /// Storage: the outbox, deliveries, accounts.
    pub stores: Stores,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Opens the endpoints' signing secrets.
    pub vault: Arc<TokenVault>,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// The web app's base URL (links in mails).
    pub public_url: Url,
    /// Which webhook targets are allowed.
    pub targets: TargetPolicy,
}

impl std::fmt::Debug for DispatchDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DispatchDeps")
            .field("public_url", &self.public_url.as_str())
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Scheduled posts announced now.
    pub scheduled_announced: u32,
    /// Mails handed to the transport.
    pub mails_sent: u32,
    /// Mail attempts that failed (retried later or given up).
    pub mails_failed: u32,
    /// Deliveries answered with 2xx.
    pub deliveries_succeeded: u32,
    /// Delivery attempts that failed and will be retried.
    pub deliveries_retried: u32,
    /// Deliveries given up (24 hours passed, or the target is forbidden).
    pub deliveries_failed: u32,
    /// Expired notices and delivery records deleted.
    pub purged: u64,
}

/// Sends what the notifier recorded.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    deps: DispatchDeps,
}

fn mail_retry(
    attempts: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if attempts >= MAX_MAIL_ATTEMPTS {
        return None;
    }
    let minutes = (1_i64 << attempts.saturating_sub(1).min(9)).min(360);
    Some(now + chrono::Duration::minutes(minutes))
}

impl Dispatcher {
    /// A dispatcher over `deps`.
    pub fn new(deps: DispatchDeps) -> Self {
        Self { deps }
    }

    fn store(&self) -> &dyn NotifyStore {
        &*self.deps.stores.notify
    }

    fn accounts(&self) -> &dyn AccountStore {
        &*self.deps.stores.accounts
    }

    /// One pass: announce posts scheduled within the hour, send due mails, attempt due
    /// deliveries, delete expired records.
    ///
    /// # Errors
    /// Storage failures (what was done before is kept; the next pass goes on).
    pub async fn run_once(&self) -> Result<DispatchReport, StoreError> {
        let mut report = DispatchReport::default();
        self.announce_scheduled(&mut report).await?;
        for _ in 0..BATCH {
            let now = self.deps.clock.now();
            let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
            let Some(pending) = self.store().claim_mail(now, lease).await? else {
                break;
            };
            self.send_mail(&pending, &mut report).await?;
        }
        for _ in 0..BATCH {
            let now = self.deps.clock.now();
            let lease = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
            let Some(claimed) = self.store().claim_delivery(now, lease).await? else {
                break;
            };
            self.attempt(&claimed, &mut report).await?;
        }
        let now = self.deps.clock.now();
        report.purged = self
            .store()
            .purge_expired(
                now - chrono::Duration::days(DELIVERY_RETENTION_DAYS),
                now - chrono::Duration::days(NOTICE_RETENTION_DAYS),
                500,
            )
            .await?;
        Ok(report)
    }

    async fn announce_scheduled(&self, report: &mut DispatchReport) -> Result<(), StoreError> {
        let now = self.deps.clock.now();
        let soon = self
            .store()
            .scheduled_between(now, now + chrono::Duration::hours(1), 500)
            .await?;
        let notifier = Notifier::new(&self.deps.stores, Arc::clone(&self.deps.clock));
        for post in soon {
            let event = Event::scheduled_soon(post.owner, post.post, post.scheduled_for);
            if notifier.record(&event).await? == super::Recorded::New {
                report.scheduled_announced += 1;
            }
        }
        Ok(())
    }

    async fn send_mail(
        &self,
        pending: &PendingMail,
        report: &mut DispatchReport,
    ) -> Result<(), StoreError> {
        let Some(kind) = EventKind::parse(&pending.kind) else {
            tracing::error!(notice = %pending.id, kind = pending.kind, "mail of an unknown event dropped");
            return self.store().mail_failed(pending.id, None).await;
        };
        let account = match self.accounts().account(pending.user).await {
            Ok(account) if account.closed_at.is_none() => account,
            Ok(_) | Err(StoreError::NotFound) => {
                return self.store().mail_failed(pending.id, None).await;
            }
            Err(error) => return Err(error),
        };
        let locale = locale_of(&account);
        let stored = self.store().preferences(pending.user).await?;
        let zone = NotificationPreferences::from_stored(stored.as_ref(), locale).time_zone;
        let params: BTreeMap<String, String> =
            serde_json::from_str(&pending.params).unwrap_or_default();
        let rendered = mail(
            kind,
            &params,
            pending.link.as_deref(),
            account.name.as_ref(),
            locale,
            zone,
            &self.deps.public_url,
        );
        let message = Mail {
            to: account.email.clone(),
            subject: rendered.subject,
            body: rendered.text,
        };
        match self
            .deps
            .mailer
            .send_with_html(&message, &rendered.html)
            .await
        {
            Ok(()) => {
                report.mails_sent += 1;
                self.store()
                    .mail_sent(pending.id, self.deps.clock.now())
                    .await
            }
            Err(error) => {
                report.mails_failed += 1;
                let retry = mail_retry(pending.attempts, self.deps.clock.now());
                tracing::warn!(notice = %pending.id, attempts = pending.attempts,
                    gave_up = retry.is_none(), %error, "notification mail not sent");
                self.store().mail_failed(pending.id, retry).await
            }
        }
    }

    async fn attempt(
        &self,
        claimed: &ClaimedDelivery,
        report: &mut DispatchReport,
    ) -> Result<(), StoreError> {
        let now = self.deps.clock.now();
        let context = TokenContext::new(
            claimed.user,
            TokenPurpose::WebhookSigning,
            claimed.endpoint.to_string(),
        );
        let attempt = match self.deps.vault.open(&claimed.sealed_secret, &context) {
            Ok(secret) => {
                webhooks::deliver(
                    &claimed.url,
                    &secret,
                    claimed.id,
                    &claimed.event,
                    &claimed.payload,
                    now,
                    self.deps.targets,
                )
                .await
            }
            Err(error) => {
                Attempt::Unreachable(format!("the signing secret cannot be opened: {error}"))
            }
        };
        let now = self.deps.clock.now();
        let (last_status, last_error) = match &attempt {
            Attempt::Delivered { status } => (Some(*status), None),
            Attempt::Refused { status } => (Some(*status), Some(format!("answered {status}"))),
            Attempt::Unreachable(why) => (None, Some(why.clone())),
            Attempt::Forbidden(why) => (None, Some(why.to_string())),
        };
        let (status, next_attempt_at) = match &attempt {
            Attempt::Delivered { .. } => {
                report.deliveries_succeeded += 1;
                ("succeeded", None)
            }
            Attempt::Forbidden(_) => {
                report.deliveries_failed += 1;
                ("failed", None)
            }
            Attempt::Refused { .. } | Attempt::Unreachable(_) => {
                match webhooks::next_attempt(claimed.attempts, now, claimed.window_start) {
                    Some(next) => {
                        report.deliveries_retried += 1;
                        ("pending", Some(next))
                    }
                    None => {
                        report.deliveries_failed += 1;
                        ("failed", None)
                    }
                }
            }
        };
        tracing::info!(delivery = %claimed.id, endpoint = %claimed.endpoint, event = claimed.event,
            attempts = claimed.attempts, status, ?last_status, "webhook delivery attempted");
        self.store()
            .settle_delivery(
                claimed.id,
                &DeliveryResult {
                    status,
                    next_attempt_at,
                    last_status,
                    last_error,
                    at: now,
                },
            )
            .await
    }

    /// Runs a pass every `interval` until stopped.
    pub fn spawn(self, interval: Duration) -> DispatcherHandle {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                if let Err(error) = self.run_once().await {
                    tracing::warn!(%error, "notification dispatch pass failed");
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    _ = stopped.wait_for(|stop| *stop) => break,
                }
            }
        });
        DispatcherHandle { stop, task }
    }
}

/// A running dispatcher.
#[derive(Debug)]
pub struct DispatcherHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl DispatcherHandle {
    /// Stops after the pass in progress.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
