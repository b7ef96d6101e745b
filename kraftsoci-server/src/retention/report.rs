//! How a sweep is shown to the operator: `kraftsoci-server sweep` prints a table, or JSON
//! with `--json`; both name the billing stops Stripe has not confirmed and the accounts whose
//! purge keeps failing (P19).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use kraftsoci_core::retention::{SweepMode, SweepOutcome, SweepReport};
use serde::Serialize;

use super::SweepRun;

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

/// A whole sweep as printed by `kraftsoci-server sweep --json`.
#[derive(Debug, Serialize)]
pub struct RunView {
    /// The retention sweep.
    #[serde(flatten)]
    pub report: ReportView,
    /// Billing stops retried in this run.
    pub billing_stops_retried: u32,
    /// Of those, the ones Stripe confirmed.
    pub billing_stops_settled: u32,
    /// Closed accounts whose billing Stripe has not confirmed stopped.
    pub billing_stops_pending: Vec<PendingStopView>,
    /// Closed accounts whose purge keeps failing.
    pub purge_failures: Vec<PurgeFailureView>,
    /// Data-subject requests past their due date (P33).
    pub overdue_requests: Vec<OverdueView>,
    /// Bookkeeping errors of the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// One pending billing stop of a [`RunView`].
#[derive(Debug, Serialize)]
pub struct PendingStopView {
    /// The account.
    pub user: String,
    /// When it was closed.
    pub closed_at: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: u32,
    /// Stripe's last answer.
    pub last_error: Option<String>,
}

/// One overdue request of a [`RunView`].
#[derive(Debug, Serialize)]
pub struct OverdueView {
    /// The request.
    pub id: String,
    /// The account.
    pub user: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When it was due.
    pub due_at: DateTime<Utc>,
}

/// One failing purge of a [`RunView`].
#[derive(Debug, Serialize)]
pub struct PurgeFailureView {
    /// The account.
    pub user: String,
    /// The purge deadline (P19).
    pub purge_after: Option<DateTime<Utc>>,
    /// Failed runs.
    pub failures: u32,
    /// The latest failure.
    pub last_failed_at: DateTime<Utc>,
    /// Its cause.
    pub error: String,
}

impl From<&SweepRun> for RunView {
    fn from(run: &SweepRun) -> Self {
        Self {
            report: ReportView::from(&run.report),
            billing_stops_retried: run.billing_stops_retried,
            billing_stops_settled: run.billing_stops_settled,
            billing_stops_pending: run
                .billing_stops_pending
                .iter()
                .map(|stop| PendingStopView {
                    user: stop.user.to_string(),
                    closed_at: stop.requested_at,
                    attempts: stop.attempts,
                    last_error: stop.last_error.clone(),
                })
                .collect(),
            purge_failures: run
                .purge_failures
                .iter()
                .map(|failure| PurgeFailureView {
                    user: failure.user.to_string(),
                    purge_after: failure.purge_after,
                    failures: failure.failures,
                    last_failed_at: failure.last_failed_at,
                    error: failure.error.clone(),
                })
                .collect(),
            overdue_requests: run
                .overdue_requests
                .iter()
                .map(|r| OverdueView {
                    id: r.id().to_string(),
                    user: r.user().to_string(),
                    kind: r.kind().as_str(),
                    due_at: r.due_at(),
                })
                .collect(),
            errors: run.errors.clone(),
        }
    }
}

/// A whole sweep as plain text: the report's table, then what still waits.
pub fn run_table(run: &SweepRun) -> String {
    let mut out = report_table(&run.report);
    let _ = writeln!(
        out,
        "billing stops: {} retried, {} confirmed, {} pending",
        run.billing_stops_retried,
        run.billing_stops_settled,
        run.billing_stops_pending.len()
    );
    for stop in &run.billing_stops_pending {
        let _ = writeln!(
            out,
            "  pending  {}  closed {}  attempts {}  {}",
            stop.user,
            stop.requested_at.to_rfc3339(),
            stop.attempts,
            stop.last_error.as_deref().unwrap_or("not tried yet")
        );
    }
    let _ = writeln!(out, "failed purges: {}", run.purge_failures.len());
    for failure in &run.purge_failures {
        let _ = writeln!(
            out,
            "  failing  {}  due {}  failures {}  {}",
            failure.user,
            failure
                .purge_after
                .map_or_else(|| "?".to_owned(), |t| t.to_rfc3339()),
            failure.failures,
            failure.error
        );
    }
    let _ = writeln!(out, "overdue requests: {}", run.overdue_requests.len());
    for request in &run.overdue_requests {
        let _ = writeln!(
            out,
            "  overdue  {}  {}  {}  due {}",
            request.id(),
            request.user(),
            request.kind().as_str(),
            request.due_at().to_rfc3339()
        );
    }
    for error in &run.errors {
        let _ = writeln!(out, "error: {error}");
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use kraftsoci_core::retention::{CategorySweep, DataCategory};
    use kraftsoci_core::{RetentionError, StoreError, UserId};

    use super::*;
    use crate::store::{PendingBillingStop, PurgeFailure};

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
    fn a_run_names_its_pending_billing_stops_and_failing_purges() {
        let at = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
        let (ada, bob) = (UserId::new(), UserId::new());
        let run = SweepRun {
            report: report(SweepMode::Purge, SweepOutcome::Complete),
            billing_stops_retried: 2,
            billing_stops_settled: 1,
            billing_stops_pending: vec![PendingBillingStop {
                user: ada,
                request: kraftsoci_core::RequestId::new(),
                requested_at: at,
                attempts: 3,
                last_error: Some("stripe answered 503 (req_1)".to_owned()),
            }],
            purge_failures: vec![PurgeFailure {
                user: bob,
                first_failed_at: at,
                last_failed_at: at,
                failures: 2,
                error: "media store unavailable".to_owned(),
                purge_after: Some(at),
            }],
            overdue_requests: vec![kraftsoci_core::DataSubjectRequest::receive(
                ada,
                kraftsoci_core::RequestKind::Access,
                at - chrono::Duration::days(40),
            )],
            errors: Vec::new(),
        };
        assert!(!run.is_clean());
        let table = run_table(&run);
        assert!(
            table.contains("2 retried, 1 confirmed, 1 pending"),
            "{table}"
        );
        assert!(
            table.contains(&ada.to_string()) && table.contains("req_1"),
            "{table}"
        );
        assert!(table.contains("failed purges: 1"), "{table}");
        assert!(table.contains(&bob.to_string()), "{table}");
        assert!(table.contains("overdue requests: 1"), "{table}");
        let json = serde_json::to_value(RunView::from(&run)).unwrap();
        assert_eq!(json["mode"], "purge", "the report's fields are at the top");
        assert_eq!(json["billing_stops_pending"][0]["attempts"], 3);
        assert_eq!(
            json["purge_failures"][0]["error"],
            "media store unavailable"
        );
        assert!(json.get("errors").is_none());
    }
}
