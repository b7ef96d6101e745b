//! The retention sweep (P17, P18, P19, P24, P28, P34): core's [`RetentionSweeper`] over this
//! server's stores, run periodically inside `serve` and on demand by `kraftsoci-server sweep`.
//!
//! Each run deletes, in bounded batches: usage-log entries older than 30 days (P18), expired
//! refresh tokens, reset tokens and OAuth states, closed accounts whose 30 days are (nearly)
//! over, with their Stripe customer, their stored images and everything but payment records
//! (P19), payment records older than 10 years (P17), Meta deletion requests 90 days after
//! completion (P34) and erasure proofs after 3 years (P28); it removes the IP address and user
//! agent of consent receipts and policy acceptances older than 30 days (P18). Sweeps are
//! planned one interval early for the "at most" promises, so a sweep that comes a full
//! interval later still keeps them. Several replicas may sweep at once: every delete is
//! idempotent.
//!
//! [`Sweep`] adds what the closures need around it: the billing stops Stripe has not confirmed
//! are retried first, and every account whose purge failed is recorded, so that
//! `kraftsoci-server sweep` shows the operator both lists ([`run_table`]).

use std::sync::Arc;
use std::time::Duration;

use kraftsoci_core::ports::MediaStore;
use kraftsoci_core::retention::{
    RetentionStore, RetentionSweeper, SweepConfig, SweepMode, SweepOutcome, SweepReport,
};
use kraftsoci_core::{Clock, DataSubjectRequest, RetentionError};
use rand::Rng as _;

use crate::billing::{Billing, StopOutcome};
pub use crate::config::SweepSettings;
#[cfg(any(test, feature = "testing"))]
pub use crate::config::DEFAULT_SWEEP_INTERVAL;
use crate::state::AppState;
use crate::store::{ErasureTaskStore, PendingBillingStop, PurgeFailure, RightsStore};

mod report;

pub use report::{RunView, run_table};
#[cfg(any(test, feature = "testing"))]
pub use report::{CategoryView, ReportView, report_table};

/// The longest wait before a freshly started server's first sweep (randomized, so that
/// replicas started together do not sweep in lockstep).
const FIRST_SWEEP_MAX_DELAY: Duration = Duration::from_secs(60);

/// A sweeper over the database's retention port and the media store, on `clock`.
///
/// # Errors
/// As [`SweepSettings::planner`].
pub fn sweeper(
    store: Arc<dyn RetentionStore>,
    media: Arc<dyn MediaStore>,
    clock: Arc<dyn Clock>,
    settings: &SweepSettings,
) -> Result<RetentionSweeper, RetentionError> {
    Ok(RetentionSweeper::new(
        store,
        media,
        clock,
        settings.planner()?,
        SweepConfig::default().with_batch_size(settings.batch_size),
    ))
}

/// A sweeper over the application's store, media store and clock; with Stripe configured, a
/// purge first deletes the account's Stripe customer (P19, P28), and an account whose customer
/// Stripe does not confirm deleted is skipped and retried.
///
/// # Errors
/// As [`SweepSettings::planner`].
pub fn sweeper_for(state: &AppState) -> Result<RetentionSweeper, RetentionError> {
    with_billing(
        sweeper(
            Arc::clone(&state.stores.retention),
            Arc::clone(&state.media),
            Arc::clone(&state.clock),
            &state.config.sweep,
        )?,
        &state.billing,
    )
}

/// Registers billing's processor erasure (the Stripe customer's deletion), if Stripe is
/// configured.
///
/// # Errors
/// None today; the `Result` keeps the call sites uniform with [`sweeper`].
pub fn with_billing(
    sweeper: RetentionSweeper,
    billing: &Billing,
) -> Result<RetentionSweeper, RetentionError> {
    Ok(match billing.processor_erasure() {
        Some(processor) => sweeper.with_processor_erasure(processor),
        None => sweeper,
    })
}

/// The most pending billing stops one sweep retries; the rest wait for the next run.
pub const BILLING_STOPS_PER_RUN: u32 = 100;

/// The most overdue requests a sweep lists (`kraftsoci-server requests list --overdue` shows
/// them all).
pub const OVERDUE_LISTED: u32 = 100;

/// A whole sweep, as `serve` and `kraftsoci-server sweep` run it: the billing stops Stripe has
/// not confirmed are retried (P19), the retention plan runs, and every account whose purge
/// failed is recorded for the operator, who sees them with the stops still pending.
pub struct Sweep {
    sweeper: RetentionSweeper,
    billing: Arc<Billing>,
    tasks: Arc<dyn ErasureTaskStore>,
    requests: Arc<dyn RightsStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Sweep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sweep")
            .field("sweeper", &self.sweeper)
            .finish_non_exhaustive()
    }
}

/// What a [`Sweep`] did and what is still waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRun {
    /// The retention sweep's report.
    pub report: SweepReport,
    /// Billing stops retried in this run (none in a dry run).
    pub billing_stops_retried: u32,
    /// Of those, the ones Stripe confirmed.
    pub billing_stops_settled: u32,
    /// Billing stops still waiting for Stripe after this run, oldest closure first.
    pub billing_stops_pending: Vec<PendingBillingStop>,
    /// Closed accounts whose purge failed and is still waiting, oldest deadline first.
    pub purge_failures: Vec<PurgeFailure>,
    /// Data-subject requests past their 30-day due date, the earliest first (P33).
    pub overdue_requests: Vec<DataSubjectRequest>,
    /// Store errors met while retrying or listing (the report has its own).
    pub errors: Vec<String>,
}

impl SweepRun {
    /// Whether everything due was done: the report is complete, no billing stop waits, no
    /// request is overdue and nothing failed.
    #[cfg(any(test, feature = "testing"))]
    pub fn is_clean(&self) -> bool {
        self.report.is_complete()
            && self.billing_stops_pending.is_empty()
            && self.purge_failures.is_empty()
            && self.overdue_requests.is_empty()
            && self.errors.is_empty()
    }
}

impl Sweep {
    /// A sweep over these parts.
    pub fn new(
        sweeper: RetentionSweeper,
        billing: Arc<Billing>,
        tasks: Arc<dyn ErasureTaskStore>,
        requests: Arc<dyn RightsStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            sweeper,
            billing,
            tasks,
            requests,
            clock,
        }
    }

    /// The application's sweep.
    ///
    /// # Errors
    /// As [`SweepSettings::planner`].
    pub fn for_state(state: &AppState) -> Result<Self, RetentionError> {
        Ok(Self::new(
            sweeper_for(state)?,
            Arc::clone(&state.billing),
            Arc::clone(&state.stores.erasure_tasks),
            Arc::clone(&state.stores.rights),
            Arc::clone(&state.clock),
        ))
    }

    /// Runs once. A dry run retries and records nothing; it lists what waits.
    pub async fn run(&self, mode: SweepMode) -> SweepRun {
        let mut errors = Vec::new();
        let (mut retried, mut settled) = (0_u32, 0_u32);
        if mode == SweepMode::Purge {
            match self
                .tasks
                .pending_billing_stops(BILLING_STOPS_PER_RUN)
                .await
            {
                Ok(pending) => {
                    for stop in pending {
                        retried += 1;
                        let outcome = crate::rights::attempt_billing_stop(
                            &self.billing,
                            &*self.tasks,
                            &*self.clock,
                            stop.user,
                            stop.request,
                        )
                        .await;
                        if !matches!(outcome, StopOutcome::RetryLater { .. }) {
                            settled += 1;
                        }
                    }
                }
                Err(error) => errors.push(format!("listing pending billing stops: {error}")),
            }
        }
        let report = self.sweeper.run(mode).await;
        if mode == SweepMode::Purge {
            let now = self.clock.now();
            for failed in report.failed_accounts() {
                let cause = error_chain(&failed.error);
                if let Err(error) = self
                    .tasks
                    .record_purge_failure(failed.user, now, &cause)
                    .await
                {
                    errors.push(format!(
                        "recording the failed purge of {}: {error}",
                        failed.user
                    ));
                }
            }
        }
        let billing_stops_pending = self
            .tasks
            .pending_billing_stops(BILLING_STOPS_PER_RUN)
            .await
            .unwrap_or_else(|error| {
                errors.push(format!("listing pending billing stops: {error}"));
                Vec::new()
            });
        let purge_failures = self.tasks.purge_failures().await.unwrap_or_else(|error| {
            errors.push(format!("listing failed purges: {error}"));
            Vec::new()
        });
        let overdue_requests = self
            .requests
            .open_requests(Some(self.clock.now()), OVERDUE_LISTED)
            .await
            .unwrap_or_else(|error| {
                errors.push(format!("listing overdue requests: {error}"));
                Vec::new()
            });
        SweepRun {
            report,
            overdue_requests,
            billing_stops_retried: retried,
            billing_stops_settled: settled,
            billing_stops_pending,
            purge_failures,
            errors,
        }
    }
}

/// An error and its causes, `: `-separated (the processor's status and request id are in the
/// cause), for the operator's list.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        cause = inner.source();
    }
    text
}

/// Logs a whole sweep: the report, then what still waits.
pub fn log_run(run: &SweepRun) {
    log_report(&run.report);
    if run.billing_stops_retried > 0 {
        tracing::info!(
            retried = run.billing_stops_retried,
            settled = run.billing_stops_settled,
            "billing stops of closed accounts retried"
        );
    }
    for stop in &run.billing_stops_pending {
        tracing::warn!(
            user = %stop.user,
            closed_at = %stop.requested_at,
            attempts = stop.attempts,
            last_error = stop.last_error.as_deref().unwrap_or(""),
            "a closed account's billing is not confirmed stopped yet"
        );
    }
    for failure in &run.purge_failures {
        tracing::error!(
            user = %failure.user,
            failures = failure.failures,
            error = %failure.error,
            "a closed account's purge keeps failing"
        );
    }
    for request in &run.overdue_requests {
        tracing::warn!(
            request = %request.id(),
            user = %request.user(),
            kind = request.kind().as_str(),
            due_at = %request.due_at(),
            "a data-subject request is past its due date"
        );
    }
    for error in &run.errors {
        tracing::error!(%error, "retention sweep bookkeeping failed");
    }
}

/// What [`PeriodicSweep`] runs each time.
#[async_trait::async_trait]
pub trait SweepOnce: Send + Sync + 'static {
    /// One purge run, logged.
    async fn sweep_once(&self);
}

#[async_trait::async_trait]
impl SweepOnce for RetentionSweeper {
    async fn sweep_once(&self) {
        log_report(&self.run(SweepMode::Purge).await);
    }
}

#[async_trait::async_trait]
impl SweepOnce for Sweep {
    async fn sweep_once(&self) {
        log_run(&self.run(SweepMode::Purge).await);
    }
}

/// Logs a sweep's outcome: one line per category that did anything, an error per failure.
pub fn log_report(report: &SweepReport) {
    for category in &report.categories {
        match &category.outcome {
            SweepOutcome::Failed(error) => tracing::error!(
                category = %category.category,
                removed = category.removed,
                error = %error,
                "retention sweep failed for a category; the next run resumes"
            ),
            outcome if category.removed > 0 || *outcome != SweepOutcome::Complete => {
                tracing::info!(
                    category = %category.category,
                    removed = category.removed,
                    batches = category.batches,
                    complete = *outcome == SweepOutcome::Complete,
                    "retention sweep"
                );
            }
            _ => {}
        }
    }
}

/// The periodic sweep of a running server.
#[derive(Debug)]
pub struct PeriodicSweep {
    task: tokio::task::JoinHandle<()>,
}

impl PeriodicSweep {
    /// Starts sweeping every `settings.interval`, the first time within a minute.
    pub fn spawn(sweep: impl SweepOnce, settings: &SweepSettings) -> Self {
        let interval = settings.interval;
        let task = tokio::spawn(async move {
            let mut wait = first_delay(interval);
            loop {
                tokio::time::sleep(wait).await;
                sweep.sweep_once().await;
                wait = interval;
            }
        });
        Self { task }
    }

    /// Stops sweeping. A sweep in progress is cancelled between statements: each account
    /// purge is one transaction, so nothing is left half done.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

fn first_delay(interval: Duration) -> Duration {
    let most = interval.min(FIRST_SWEEP_MAX_DELAY);
    most.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use chrono::TimeZone as _;
    use chrono::{DateTime, Utc};
    use kraftsoci_core::retention::PurgeReport;
    use kraftsoci_core::{StoreError, UserId};

    use super::*;

    #[test]
    fn an_interval_of_thirty_days_or_more_is_refused() {
        let settings = SweepSettings {
            interval: Duration::from_secs(30 * 24 * 3600),
            ..SweepSettings::default()
        };
        assert!(settings.planner().is_err());
        assert!(SweepSettings::default().planner().is_ok());
    }

    /// A retention store with nothing to purge that counts the sweeps reaching it.
    #[derive(Default)]
    struct CountingStore {
        sweeps: std::sync::atomic::AtomicU32,
    }

    #[async_trait]
    impl RetentionStore for CountingStore {
        async fn purge_usage_log_before(
            &self,
            _: DateTime<Utc>,
            _: u32,
        ) -> Result<u64, StoreError> {
            self.sweeps
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(0)
        }
        async fn count_usage_log_before(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn purge_expired_auth_artifacts(
            &self,
            _: DateTime<Utc>,
            _: u32,
        ) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn count_expired_auth_artifacts(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn closed_accounts_due(
            &self,
            _: DateTime<Utc>,
            _: &[UserId],
            _: u32,
        ) -> Result<Vec<UserId>, StoreError> {
            Ok(Vec::new())
        }
        async fn count_closed_accounts_due(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn purge_account(&self, _: UserId) -> Result<PurgeReport, StoreError> {
            Ok(PurgeReport::default())
        }
        async fn purge_payment_records_before(
            &self,
            _: DateTime<Utc>,
            _: u32,
        ) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn count_payment_records_before(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn reduce_network_data_before(
            &self,
            _: DateTime<Utc>,
            _: u32,
        ) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn count_network_data_before(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn purge_meta_deletion_requests_before(
            &self,
            _: DateTime<Utc>,
            _: u32,
        ) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn count_meta_deletion_requests_before(
            &self,
            _: DateTime<Utc>,
        ) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn purge_erasure_proofs_before(
            &self,
            _: DateTime<Utc>,
            _: u32,
        ) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn count_erasure_proofs_before(&self, _: DateTime<Utc>) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    struct NoMedia;

    #[async_trait]
    impl MediaStore for NoMedia {
        async fn put(
            &self,
            _: &kraftsoci_core::ports::MediaKey,
            _: Vec<u8>,
            _: &str,
        ) -> Result<(), kraftsoci_core::ports::MediaStoreError> {
            Ok(())
        }
        async fn get(
            &self,
            _: &kraftsoci_core::ports::MediaKey,
        ) -> Result<
            Option<kraftsoci_core::ports::StoredMedia>,
            kraftsoci_core::ports::MediaStoreError,
        > {
            Ok(None)
        }
        async fn delete(
            &self,
            _: &kraftsoci_core::ports::MediaKey,
        ) -> Result<(), kraftsoci_core::ports::MediaStoreError> {
            Ok(())
        }
        async fn delete_user(
            &self,
            _: UserId,
        ) -> Result<u64, kraftsoci_core::ports::MediaStoreError> {
            Ok(0)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_periodic_sweep_runs_within_a_minute_then_every_interval_until_stopped() {
        let store = Arc::new(CountingStore::default());
        let settings = SweepSettings::default();
        let clock = Arc::new(kraftsoci_core::ManualClock::new(
            Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap(),
        ));
        let sweeper = RetentionSweeper::new(
            store.clone(),
            Arc::new(NoMedia),
            clock,
            settings.planner().unwrap(),
            SweepConfig::default(),
        );
        let sweeps = || store.sweeps.load(std::sync::atomic::Ordering::SeqCst);
        let periodic = PeriodicSweep::spawn(sweeper, &settings);
        tokio::time::sleep(Duration::from_secs(29)).await;
        assert_eq!(sweeps(), 0, "not at once");
        tokio::time::sleep(Duration::from_secs(32)).await;
        assert_eq!(sweeps(), 1, "within a minute");
        tokio::time::sleep(DEFAULT_SWEEP_INTERVAL).await;
        assert_eq!(sweeps(), 2, "then every interval");
        periodic.stop().await;
        tokio::time::sleep(DEFAULT_SWEEP_INTERVAL * 3).await;
        assert_eq!(sweeps(), 2, "stopped");
    }

    #[test]
    fn the_first_sweep_comes_within_a_minute_but_not_at_once() {
        for _ in 0..100 {
            let delay = first_delay(DEFAULT_SWEEP_INTERVAL);
            assert!(delay >= Duration::from_secs(30) && delay <= FIRST_SWEEP_MAX_DELAY);
        }
        assert!(first_delay(Duration::from_secs(10)) <= Duration::from_secs(10));
    }
}
