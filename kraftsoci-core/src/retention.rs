//! Retention (P14–P19): the privacy policy's retention table as data, a planner that turns it
//! into cutoffs at a given instant, and a sweeper that purges what is due through the
//! [`RetentionStore`] and [`MediaStore`](crate::ports::MediaStore) ports in bounded batches.
//!
//! | data | kept | promise |
//! |---|---|---|
//! | account data | while the account is active | P14 |
//! | Instagram tokens | until disconnected or revoked | P15 |
//! | generated content | until deleted or the account is closed | P16 |
//! | payment records | 10 calendar years, also after closure | P17 |
//! | usage logs | 30 days | P18 |
//! | a closed account's data (payment records excepted) | deleted within 30 days of closure | P19 |
//! | refresh/reset tokens, OAuth states | until they expire | P24 |
//! | IP address and user agent of consent receipts and policy acceptances | removed after 30 days (the record stays) | P18 |
//! | Meta data-deletion requests | 90 days after they complete | P34 |
//! | erasure proofs (hashed email, request and completion dates) | 3 years after the erasure | P28 |
//!
//! Why the last three periods were chosen is on [`RetentionPolicy::privacy_policy`].
//!
//! ```
//! use std::time::Duration;
//!
//! use chrono::{TimeZone, Utc};
//! use kraftsoci_core::retention::{DataCategory, RetentionPlanner, RetentionPolicy};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Sweeps run hourly, so deletion promises are planned one hour early.
//! let planner = RetentionPlanner::new(
//!     RetentionPolicy::privacy_policy(),
//!     Duration::from_secs(3600),
//! )?;
//! let now = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
//! let plan = planner.plan(now);
//!
//! let logged = Utc.with_ymd_and_hms(2026, 5, 31, 0, 0, 0).unwrap(); // 31 days ago
//! assert!(plan.is_due(DataCategory::UsageLog, logged));
//! let paid = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
//! assert!(!plan.is_due(DataCategory::PaymentRecord, paid)); // kept 10 years
//! # Ok(())
//! # }
//! ```
//!
//! Running the plan: build a [`RetentionSweeper`] over the store, the media store and the clock
//! (and, with [`RetentionSweeper::with_processor_erasure`], every outside processor that must
//! forget a closed account first), and call [`RetentionSweeper::run`] periodically
//! ([`SweepMode::DryRun`] counts instead of deleting). A closed account whose purge fails is
//! skipped, logged and listed in the report ([`SweepReport::failed_accounts`]); the accounts
//! behind it are still purged, and the next run retries it.

mod planner;
mod policy;
mod sweeper;
#[cfg(test)]
mod tests;

pub use planner::{PlannedPurge, RetentionPlan, RetentionPlanner};
pub use policy::{
    DataCategory, RetentionBound, RetentionPeriod, RetentionPolicy, RetentionRow, RetentionRule,
};
#[cfg(any(test, feature = "mocks"))]
pub use sweeper::MockRetentionStore;
pub use sweeper::{
    CategorySweep, FailedPurge, PurgeReport, PurgedAccount, RetentionStore, RetentionSweeper,
    SweepConfig, SweepMode, SweepOutcome, SweepReport,
};

use crate::UserId;
use crate::ports::{MediaStoreError, ProcessorErasureError, StoreError};

/// A retention failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// The retention store failed while sweeping a category; the next run resumes.
    #[error("retention store failed while sweeping {category}")]
    Store {
        /// The category being swept.
        category: DataCategory,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// A closed account's media could not be deleted; its rows were left in place so that the
    /// next run retries.
    #[error("could not delete the media of closed account {user}")]
    Media {
        /// The account.
        user: UserId,
        /// The media store's error.
        #[source]
        source: MediaStoreError,
    },
    /// A closed account's rows could not be purged (its media is already gone).
    #[error("could not purge closed account {user}")]
    AccountPurge {
        /// The account.
        user: UserId,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// An outside processor did not confirm the erasure of a closed account; its media and
    /// rows were left in place so that the next run retries.
    #[error("{processor} did not confirm the erasure of closed account {user}")]
    Processor {
        /// The account.
        user: UserId,
        /// The processor ([`ProcessorErasure::processor`](crate::ports::ProcessorErasure::processor)).
        processor: &'static str,
        /// The processor's error.
        #[source]
        source: ProcessorErasureError,
    },
    /// Some closed accounts could not be purged in this run; the others were. Each one is in
    /// the report ([`SweepReport::failed_accounts`]) with its reason and is retried next run.
    #[error(
        "{failed} closed account(s) could not be purged and are retried next run{}",
        if *stopped_early { "; the run stopped purging accounts after that many failures" } else { "" }
    )]
    AccountPurgesFailed {
        /// How many accounts failed.
        failed: u64,
        /// Whether the run stopped purging accounts because
        /// [`SweepConfig::max_failed_accounts_per_run`] was reached.
        stopped_early: bool,
    },
    /// The table gives a time rule to a category that the sweeper has no store operation for.
    #[error("no sweep operation exists for {0}")]
    NoSweepOperation(DataCategory),
    /// The sweep interval is not shorter than the retention period of a category whose data
    /// must be gone at the end of its period.
    #[error("the sweep interval must be shorter than the retention period of {category}")]
    SweepIntervalTooLong {
        /// The category whose period is too short for the interval.
        category: DataCategory,
    },
}
