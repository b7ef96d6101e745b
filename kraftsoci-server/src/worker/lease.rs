//! Holding a claimed job: the journal whose writes are fenced by the claim, and the renewal
//! that keeps the lease alive while a long container poll runs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{JournalEntry, PublishJournal};
use kraftsoci_core::{Clock, PostId, StoreError};

use crate::store::{JobLease, PublishQueue};

/// `now + span`, saturating instead of overflowing.
pub(super) fn after(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| now.checked_add_signed(span))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Core's [`PublishJournal`] for one claimed job: every recovery point is written only while
/// the claim still holds the job. Once another worker has taken the job over, `record` fails
/// with [`StoreError::Stale`] and the orchestration stops before its next external call, so a
/// worker whose lease ran out can never reach `media_publish`.
pub(super) struct LeasedJournal {
    journal: Arc<dyn PublishJournal>,
    queue: Arc<dyn PublishQueue>,
    lease: JobLease,
}

impl LeasedJournal {
    pub(super) fn new(
        journal: Arc<dyn PublishJournal>,
        queue: Arc<dyn PublishQueue>,
        lease: JobLease,
    ) -> Self {
        Self {
            journal,
            queue,
            lease,
        }
    }
}

#[async_trait]
impl PublishJournal for LeasedJournal {
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
        self.journal.load(post).await
    }

    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
        self.queue
            .record_publish_step(&self.lease, post, entry)
            .await
    }

    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        self.journal.clear(post).await
    }
}

/// Renews `lease` every `every` (on tokio's timer) to `clock.now() + length`. Returns only
/// when the lease is lost (taken over, or the job is gone); a failed renewal is retried at the
/// next tick, and if storage stays down the lease runs out and the fence stops this worker.
pub(super) async fn hold(
    queue: &dyn PublishQueue,
    clock: &dyn Clock,
    lease: &JobLease,
    length: Duration,
    every: Duration,
) {
    let every = every.max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(every).await;
        match queue
            .renew_publish_lease(lease, after(clock.now(), length))
            .await
        {
            Ok(true) => {
                tracing::debug!(job = %lease.job, "publish lease renewed");
            }
            Ok(false) => {
                tracing::warn!(job = %lease.job, "publish lease lost to another worker");
                return;
            }
            Err(error) => {
                tracing::warn!(job = %lease.job, %error, "publish lease could not be renewed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn after_adds_and_saturates_instead_of_overflowing() {
        let now = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap();
        assert_eq!(
            after(now, Duration::from_secs(90)),
            now + chrono::Duration::seconds(90)
        );
        assert_eq!(after(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
