//! The retention sweep (P17, P18, P19, P24): core's [`RetentionSweeper`] over this server's
//! stores, run periodically inside `serve` and on demand by `kraftsoci-server sweep`.
//!
//! Each run deletes, in bounded batches: usage-log entries older than 30 days (P18), expired
//! refresh tokens, reset tokens and OAuth states, closed accounts whose 30 days are (nearly)
//! over, with their stored images, everything but payment records (P19), and payment records
//! older than 10 years (P17). Sweeps are planned one interval early for the "at most" promises,
//! so a sweep that comes a full interval later still keeps them. Several replicas may sweep at
//! once: every delete is idempotent.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kraftsoci_core::ports::MediaStore;
use kraftsoci_core::retention::{
    RetentionStore, RetentionSweeper, SweepConfig, SweepMode, SweepOutcome, SweepReport,
};
use kraftsoci_core::{Clock, RetentionError};
use rand::Rng as _;
use serde::Serialize;

pub use crate::config::{DEFAULT_SWEEP_INTERVAL, SweepSettings};
use crate::state::AppState;

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
        SweepConfig {
            batch_size: settings.batch_size,
            ..SweepConfig::default()
        },
    ))
}

/// A sweeper over the application's store, media store and clock.
///
/// # Errors
/// As [`SweepSettings::planner`].
pub fn sweeper_for(state: &AppState) -> Result<RetentionSweeper, RetentionError> {
    sweeper(
        Arc::clone(&state.stores.retention),
        Arc::clone(&state.media),
        Arc::clone(&state.clock),
        &state.config.sweep,
    )
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
    pub fn spawn(sweeper: RetentionSweeper, settings: &SweepSettings) -> Self {
        let interval = settings.interval;
        let task = tokio::spawn(async move {
            let mut wait = first_delay(interval);
            loop {
                tokio::time::sleep(wait).await;
                let report = sweeper.run(SweepMode::Purge).await;
                log_report(&report);
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

/// A sweep report as printed by `kraftsoci-server sweep --json`.
#[derive(Debug, Serialize)]
pub struct ReportView {
    /// When the plan was made for.
    pub at: DateTime<Utc>,
    /// `purge` or `dry_run`.
    pub mode: &'static str,
    /// Whether everything due was handled.
    pub complete: bool,
    /// Per category.
    pub categories: Vec<CategoryView>,
}

/// One category of a [`ReportView`].
#[derive(Debug, Serialize)]
pub struct CategoryView {
    /// The data.
    pub category: &'static str,
    /// What was due: strictly before this.
    pub cutoff: DateTime<Utc>,
    /// Deleted (accounts purged, for closed accounts); in a dry run, how many are due.
    pub removed: u64,
    /// Delete or list statements made.
    pub batches: u32,
    /// `complete`, `batch_limit_reached` or `failed`.
    pub outcome: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The accounts purged (closed accounts only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
}

impl From<&SweepReport> for ReportView {
    fn from(report: &SweepReport) -> Self {
        Self {
            at: report.at,
            mode: match report.mode {
                SweepMode::Purge => "purge",
                SweepMode::DryRun => "dry_run",
            },
            complete: report.is_complete(),
            categories: report
                .categories
                .iter()
                .map(|sweep| CategoryView {
                    category: sweep.category.as_str(),
                    cutoff: sweep.cutoff,
                    removed: sweep.removed,
                    batches: sweep.batches,
                    outcome: match sweep.outcome {
                        SweepOutcome::Complete => "complete",
                        SweepOutcome::BatchLimitReached => "batch_limit_reached",
                        SweepOutcome::Failed(_) => "failed",
                    },
                    error: match &sweep.outcome {
                        SweepOutcome::Failed(error) => Some(error.to_string()),
                        _ => None,
                    },
                    accounts: sweep.accounts.iter().map(|a| a.user.to_string()).collect(),
                })
                .collect(),
        }
    }
}

/// The report as a plain-text table.
pub fn report_table(report: &SweepReport) -> String {
    let view = ReportView::from(report);
    let verb = if view.mode == "dry_run" {
        "due"
    } else {
        "removed"
    };
    let mut out = format!(
        "retention sweep ({}) at {}\n{:<16} {:<32} {:>10} {:>8}  outcome\n",
        view.mode.replace('_', " "),
        view.at.to_rfc3339(),
        "category",
        "before",
        verb,
        "batches"
    );
    for category in &view.categories {
        let _ = writeln!(
            out,
            "{:<16} {:<32} {:>10} {:>8}  {}{}",
            category.category,
            category.cutoff.to_rfc3339(),
            category.removed,
            category.batches,
            category.outcome,
            category
                .error
                .as_deref()
                .map_or_else(String::new, |e| format!(": {e}")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use chrono::TimeZone as _;
    use kraftsoci_core::retention::{CategorySweep, DataCategory, PurgeReport};
    use kraftsoci_core::{StoreError, UserId};

    use super::*;

    fn report(mode: SweepMode, outcome: SweepOutcome) -> SweepReport {
        let at = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
        SweepReport {
            at,
            mode,
            categories: vec![CategorySweep {
                category: DataCategory::UsageLog,
                cutoff: at - chrono::Duration::days(30),
                removed: 42,
                batches: 1,
                accounts: Vec::new(),
                failed_accounts: Vec::new(),
                outcome,
            }],
        }
    }

    #[test]
    fn a_report_prints_as_a_table_and_as_json() {
        let purge = report(SweepMode::Purge, SweepOutcome::Complete);
        let table = report_table(&purge);
        assert!(table.contains("retention sweep (purge)"), "{table}");
        assert!(table.contains("usage_log"), "{table}");
        assert!(table.contains("42"), "{table}");
        let json = serde_json::to_value(ReportView::from(&purge)).unwrap();
        assert_eq!(json["mode"], "purge");
        assert_eq!(json["complete"], true);
        assert_eq!(json["categories"][0]["removed"], 42);
        assert!(json["categories"][0].get("error").is_none());

        let failed = report(
            SweepMode::DryRun,
            SweepOutcome::Failed(RetentionError::Store {
                category: DataCategory::UsageLog,
                source: StoreError::Unavailable("down".to_owned()),
            }),
        );
        assert!(report_table(&failed).contains("due"));
        let json = serde_json::to_value(ReportView::from(&failed)).unwrap();
        assert_eq!(json["complete"], false);
        assert_eq!(json["categories"][0]["outcome"], "failed");
        assert!(
            json["categories"][0]["error"]
                .as_str()
                .unwrap()
                .contains("usage_log")
        );
    }

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
