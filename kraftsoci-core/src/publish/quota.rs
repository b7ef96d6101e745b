//! The publishing quota, read once and counted down locally.
//!
//! Meta caps API publishing per account over a rolling 24 hours (its pages say 25, 50 or 100:
//! the cap is read, never assumed) and enforces it at `media_publish` (9/2207042). Reading it
//! before every post would cost a Graph call per post; a [`QuotaBook`] reads it at most once per
//! account per [`QuotaBook::max_age`] and counts each `media_publish` it lets through, so a
//! batch of posts for one account costs one read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::policy::after;
use crate::ports::{
    PublishAccount, PublishError, PublishErrorKind, PublishingQuota, SocialPublisher,
};
use crate::{Clock, IgUserId};

/// Per-account publishing quotas, shared by the orchestration runs of a worker (one book for a
/// claim batch, or one for the process). Cheap to share as `Arc<QuotaBook>`.
///
/// Several processes keep several books; the local count then under-counts the others'
/// publishes until the next read, and Meta's own refusal at `media_publish` (a definite
/// answer, deferred like a spent quota) is the backstop.
#[derive(Debug)]
pub struct QuotaBook {
    max_age: Duration,
    accounts: Mutex<HashMap<IgUserId, Arc<tokio::sync::Mutex<Option<Reading>>>>>,
}

/// What the book knows about one account.
#[derive(Debug, Clone)]
struct Reading {
    read_at: DateTime<Utc>,
    /// `None` when the quota cannot be read with this token (reading needs a permission
    /// publishing does not): Meta's enforcement at `media_publish` is then the only check.
    quota: Option<PublishingQuota>,
    /// `media_publish` requests let through since the read.
    reserved: u32,
    /// Meta refused a publish for the quota since the read.
    spent: bool,
}

/// The book's answer before a `media_publish`.
#[derive(Debug)]
pub(crate) enum Reservation {
    /// Go ahead; one publish is counted.
    Granted,
    /// The quota is spent: not before `until` (when the book reads it again).
    Spent { until: DateTime<Utc> },
    /// Reading the quota showed that publishing cannot work now (the token is invalid, or Meta
    /// throttles it).
    Refused(PublishError),
}

impl Default for QuotaBook {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_AGE)
    }
}

impl QuotaBook {
    /// Five minutes: the orchestration's default deferral, so a post deferred for a spent quota
    /// finds a fresh reading when it runs again.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

    /// A book that reads each account's quota again once its reading is `max_age` old.
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// How long a reading is trusted.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// Publishes the book still allows for `account` before it reads again: `None` when it
    /// has no reading or the quota cannot be read.
    pub async fn remaining(&self, account: &IgUserId) -> Option<u32> {
        let slot = self.slot(account);
        let reading = slot.lock().await;
        let reading = reading.as_ref()?;
        let quota = reading.quota?;
        if reading.spent {
            return Some(0);
        }
        Some(
            quota
                .total
                .saturating_sub(quota.used.saturating_add(reading.reserved)),
        )
    }

    /// Drops what the book knows about `account`: its next publish reads the quota again (for
    /// example at the start of a claim batch).
    pub async fn forget(&self, account: &IgUserId) {
        *self.slot(account).lock().await = None;
    }

    fn slot(&self, account: &IgUserId) -> Arc<tokio::sync::Mutex<Option<Reading>>> {
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(accounts.entry(account.clone()).or_default())
    }

    /// Counts one `media_publish` for `account`, reading the quota first when the book's
    /// reading is missing or stale. One account's reads are serialised, so concurrent runs
    /// for it share one read.
    pub(crate) async fn reserve(
        &self,
        publisher: &dyn SocialPublisher,
        clock: &dyn Clock,
        account: &PublishAccount,
    ) -> Reservation {
        let slot = self.slot(&account.ig_user_id);
        let mut reading = slot.lock().await;
        let now = clock.now();
        let stale = reading
            .as_ref()
            .is_none_or(|r| now >= after(r.read_at, self.max_age));
        if stale {
            match publisher.publishing_quota(account).await {
                Ok(quota) => *reading = Some(Reading::new(now, Some(quota))),
                Err(error) => match error.kind {
                    // Publishing would fail the same way: say so instead of trying.
                    PublishErrorKind::ReconnectNeeded | PublishErrorKind::RateLimited { .. } => {
                        return Reservation::Refused(error);
                    }
                    // Reading the quota can need `business_management`, which publishing does
                    // not; Meta enforces the quota at media_publish anyway. Remembered, so a
                    // token without it costs no read per post.
                    PublishErrorKind::PermissionMissing { .. } | PublishErrorKind::Invalid => {
                        *reading = Some(Reading::new(now, None));
                    }
                    // A passing failure: publish without a local check, read again next time.
                    _ => return Reservation::Granted,
                },
            }
        }
        let Some(reading) = reading.as_mut() else {
            return Reservation::Granted;
        };
        let until = after(reading.read_at, self.max_age);
        if reading.spent {
            return Reservation::Spent { until };
        }
        if let Some(quota) = reading.quota
            && quota.used.saturating_add(reading.reserved) >= quota.total
        {
            return Reservation::Spent { until };
        }
        reading.reserved = reading.reserved.saturating_add(1);
        Reservation::Granted
    }

    /// When the book already knows `account`'s quota is spent (without reading it): until
    /// when. A run checks this before it creates a container that could not be published.
    pub(crate) async fn known_spent(
        &self,
        account: &IgUserId,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let slot = self.slot(account);
        let reading = slot.lock().await;
        let reading = reading.as_ref()?;
        let until = after(reading.read_at, self.max_age);
        if now >= until {
            return None;
        }
        let over_cap = reading
            .quota
            .is_some_and(|quota| quota.used.saturating_add(reading.reserved) >= quota.total);
        (reading.spent || over_cap).then_some(until)
    }

    /// Gives back a reservation whose `media_publish` was certainly not applied.
    pub(crate) async fn release(&self, account: &IgUserId) {
        if let Some(reading) = self.slot(account).lock().await.as_mut() {
            reading.reserved = reading.reserved.saturating_sub(1);
        }
    }

    /// Meta refused a publish for the quota: nothing more until the reading is stale.
    pub(crate) async fn mark_spent(&self, account: &IgUserId, now: DateTime<Utc>) {
        let slot = self.slot(account);
        let mut reading = slot.lock().await;
        match reading.as_mut() {
            Some(reading) => reading.spent = true,
            None => {
                let mut fresh = Reading::new(now, None);
                fresh.spent = true;
                *reading = Some(fresh);
            }
        }
    }
}

impl Reading {
    fn new(read_at: DateTime<Utc>, quota: Option<PublishingQuota>) -> Self {
        Self {
            read_at,
            quota,
            reserved: 0,
            spent: false,
        }
    }
}
