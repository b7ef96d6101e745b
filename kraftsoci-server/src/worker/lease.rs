//! Holding a claimed job: the journal whose writes are fenced by the claim, and the renewal
//! that keeps the lease alive while a long container poll runs.
//!
//! ## Which recovery points get a transaction of their own
//!
//! The journal keeps one entry per post, the last recovery point, and a run resumes from it.
//! Two steps must be durable before the run goes on, because what follows them cannot be
//! found again without them: `ContainerCreated` (the container a resumed run must poll rather
//! than create anew) and `PublishSent` (written, fenced, *before* `media_publish`: the
//! exactly-once rule). The two others are held back and written by the job's settlement, in
//! its transaction (or superseded by the next durable step), because losing them in a crash
//! costs nothing but a Graph read:
//! - `ContainerReady` comes between `ContainerCreated` and `PublishSent` with no call to Meta
//!   that changes anything in between; a run resumed from `ContainerCreated` polls the same
//!   container and finds it ready, exactly as it would from `ContainerReady`.
//! - `Published` (and its media id and permalink) follows `PublishSent`; a run resumed from
//!   `PublishSent` reconciles by the container, finds it `PUBLISHED` and recovers the media id
//!   and permalink from the account's media — it never sends `media_publish` again.
//!
//! On the happy path a post therefore commits five transactions (its share of the claim, the
//! post saved as `publishing`, `ContainerCreated`, `PublishSent`, and the settlement, which
//! also records `Published` and the owner's "published" notification) instead of eight, when
//! each of the five recovery points of the happy path had its own. On PostgreSQL each of them
//! is a single statement (the fence's row lock taken in a CTE); the reads before the first
//! Graph call are three (the post with its image and journal entry, the account, the
//! connection with its token) and the notification preferences one more: eight round trips
//! per post and a share of the claim, against about eighteen before and 37 at first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{JournalEntry, PublishJournal, PublishStep};
use kraftsoci_core::{Clock, PostId, StoreError};

use crate::store::{JobId, JobLease, PublishQueue};

/// `now + span`, saturating instead of overflowing.
pub(super) fn after(now: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| now.checked_add_signed(span))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether a recovery point may wait for the settlement (see the module's documentation).
fn held_back(step: &PublishStep) -> bool {
    match step {
        PublishStep::ContainerReady { .. } | PublishStep::Published { .. } => true,
        PublishStep::ContainerCreated { .. } | PublishStep::PublishSent { .. } => false,
    }
}

/// The recovery points held back per claimed job, until the job's settlement records them
/// (shared by a worker's runs; each run only touches its own job's entry).
#[derive(Debug, Default)]
pub(super) struct HeldSteps(Mutex<HashMap<JobId, JournalEntry>>);

impl HeldSteps {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, JournalEntry>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn hold(&self, job: JobId, entry: JournalEntry) {
        self.entries().insert(job, entry);
    }

    /// The step the job's settlement must record, if one is held back.
    pub(super) fn pending(&self, job: JobId) -> Option<JournalEntry> {
        self.entries().get(&job).cloned()
    }

    /// Forgets the job's held step (written, superseded, or the job is no longer ours).
    pub(super) fn forget(&self, job: JobId) {
        self.entries().remove(&job);
    }
}

/// A post's last recovery point as read, or why it could not be.
type LastEntry = Result<Option<JournalEntry>, StoreError>;

/// Core's [`PublishJournal`] for one claimed job: every recovery point is written only while
/// the claim still holds the job. Once another worker has taken the job over, a durable
/// `record` fails with [`StoreError::Stale`] and the orchestration stops before its next
/// external call, so a worker whose lease ran out can never reach `media_publish`. The steps
/// a crash cannot make ambiguous are held in `held` for the settlement to write.
pub(super) struct LeasedJournal {
    journal: Arc<dyn PublishJournal>,
    queue: Arc<dyn PublishQueue>,
    lease: JobLease,
    held: Arc<HeldSteps>,
    /// The post's last recovery point as read with the post after the claim, for the run's
    /// first `load` (one statement fewer); taken once.
    last: Mutex<Option<(PostId, LastEntry)>>,
}

impl LeasedJournal {
    pub(super) fn new(
        journal: Arc<dyn PublishJournal>,
        queue: Arc<dyn PublishQueue>,
        lease: JobLease,
        held: Arc<HeldSteps>,
    ) -> Self {
        Self {
            journal,
            queue,
            lease,
            held,
            last: Mutex::new(None),
        }
    }

    /// Answers the first `load` of `post` with `entry`, read after the claim (while the claim
    /// holds the job nobody else writes its journal, so it is still the last one).
    pub(super) fn with_last_entry(self, post: PostId, entry: LastEntry) -> Self {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some((post, entry));
        self
    }

    fn forget_read(&self) {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

#[async_trait]
impl PublishJournal for LeasedJournal {
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
        let read = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match self.held.pending(self.lease.job) {
            Some(entry) => Ok(Some(entry)),
            None => match read {
                Some((read_for, entry)) if read_for == post => entry,
                _ => self.journal.load(post).await,
            },
        }
    }

    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
        // Whatever was read before is no longer the last entry.
        self.forget_read();
        if held_back(&entry.step) {
            self.held.hold(self.lease.job, entry.clone());
            return Ok(());
        }
        self.queue
            .record_publish_step(&self.lease, post, entry)
            .await?;
        // The journal keeps the last step only: the one just written supersedes a held one.
        self.held.forget(self.lease.job);
        Ok(())
    }

    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        self.forget_read();
        self.held.forget(self.lease.job);
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
