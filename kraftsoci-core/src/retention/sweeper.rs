//! Executes a retention plan through the storage ports, in bounded batches.

use std::num::NonZeroU32;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{DataCategory, RetentionError, RetentionPlan, RetentionPlanner};
use crate::ports::{MediaStore, ProcessorErasure, StoreError};
use crate::{Clock, UserId};

/// The storage operations of the retention job, implemented by the server's stores.
///
/// Every `purge_*` method deletes at most `limit` rows per call and returns how many it
/// deleted; the sweeper calls it again until a call deletes fewer than `limit`. Every
/// `count_*` method counts what the matching purge would delete, for dry runs. Cutoffs are
/// exclusive: an item whose reference instant equals the cutoff is kept
/// ([`RetentionPlan::is_due`]).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes up to `limit` usage-log entries written before `cutoff` (P18).
    async fn purge_usage_log_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the usage-log entries written before `cutoff`.
    async fn count_usage_log_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes up to `limit` refresh tokens, password-reset tokens and OAuth states that
    /// expired before `expired_before`.
    async fn purge_expired_auth_artifacts(
        &self,
        expired_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the authentication artifacts that expired before `expired_before`.
    async fn count_expired_auth_artifacts(
        &self,
        expired_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Up to `limit` closed accounts, closed before `closed_before` and not yet purged, oldest
    /// closure first (P19), leaving out the accounts in `exclude`: those whose purge already
    /// failed in this run, so that accounts behind them are reached (the sweeper tries each
    /// account at most once per run). `exclude` is short: at most
    /// [`SweepConfig::max_failed_accounts_per_run`] ids.
    async fn closed_accounts_due(
        &self,
        closed_before: DateTime<Utc>,
        exclude: &[UserId],
        limit: u32,
    ) -> Result<Vec<UserId>, StoreError>;

    /// Counts the closed accounts, closed before `closed_before`, not yet purged.
    async fn count_closed_accounts_due(
        &self,
        closed_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Deletes every row of a **closed** account except its payment records, in one
    /// transaction: the account row, profile, sessions and refresh tokens, connections and
    /// their sealed tokens, posts, usage-log entries. Idempotent. Must refuse an account that
    /// is not closed ([`StoreError::NotFound`]), so that a bug upstream can never purge an
    /// active account.
    async fn purge_account(&self, user: UserId) -> Result<PurgeReport, StoreError>;

    /// Deletes up to `limit` payment records recorded (paid, else reported) before `cutoff`,
    /// whether or not their account still exists (P17).
    async fn purge_payment_records_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the payment records recorded before `cutoff`.
    async fn count_payment_records_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Removes the IP address and user agent from up to `limit` consent receipts and policy
    /// acceptances recorded before `cutoff` that still hold either, and returns how many
    /// records it changed (P18). Everything else of the record stays: the content hash, the
    /// times, the account, the accepted version.
    async fn reduce_network_data_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the consent receipts and policy acceptances recorded before `cutoff` that still
    /// hold an IP address or a user agent.
    async fn count_network_data_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes up to `limit` Meta data-deletion requests that completed before `cutoff`
    /// (P34). Requests still pending are never deleted.
    async fn purge_meta_deletion_requests_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the Meta data-deletion requests that completed before `cutoff`.
    async fn count_meta_deletion_requests_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Deletes up to `limit` erasure proofs whose erasure completed before `cutoff` (P28).
    async fn purge_erasure_proofs_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError>;

    /// Counts the erasure proofs whose erasure completed before `cutoff`.
    async fn count_erasure_proofs_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// What [`RetentionStore::purge_account`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Rows deleted, over all tables.
    pub rows_deleted: u64,
}

/// How much one sweep may do. Start from [`SweepConfig::default`] and change it with the
/// `with_*` setters (more bounds may be added).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepConfig {
    /// Rows (or accounts) per store call; keeps each delete statement short.
    pub batch_size: NonZeroU32,
    /// Batches per category per run; the rest waits for the next run, so one run cannot hold
    /// the database for an unbounded time (or loop forever on a store that never empties).
    pub max_batches_per_run: NonZeroU32,
    /// Closed accounts whose purge may fail in one run before the run stops purging accounts.
    /// A failing account is skipped (and retried next run) so that the accounts behind it are
    /// still purged; this many failures in one run point at something systemic (the media
    /// store or a processor down), where trying every other account would only add load.
    pub max_failed_accounts_per_run: NonZeroU32,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            batch_size: NonZeroU32::new(500).unwrap_or(NonZeroU32::MIN),
            max_batches_per_run: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
            max_failed_accounts_per_run: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
        }
    }
}

impl SweepConfig {
    /// Sets [`batch_size`](Self::batch_size).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: NonZeroU32) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets [`max_batches_per_run`](Self::max_batches_per_run).
    #[must_use]
    pub fn with_max_batches_per_run(mut self, max: NonZeroU32) -> Self {
        self.max_batches_per_run = max;
        self
    }

    /// Sets [`max_failed_accounts_per_run`](Self::max_failed_accounts_per_run).
    #[must_use]
    pub fn with_max_failed_accounts_per_run(mut self, max: NonZeroU32) -> Self {
        self.max_failed_accounts_per_run = max;
        self
    }
}

/// Whether a sweep deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepMode {
    /// Delete what is due.
    Purge,
    /// Count what is due and delete nothing.
    DryRun,
}

/// How a category's sweep ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepOutcome {
    /// Nothing due is left (or, in a dry run, everything due was counted).
    Complete,
    /// The batch limit was reached; the next run continues.
    BatchLimitReached,
    /// A store call failed, or some closed accounts could not be purged (each one is in
    /// [`CategorySweep::failed_accounts`]); what was deleted stays deleted and the next run
    /// resumes.
    Failed(RetentionError),
}

/// A closed account the sweep purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgedAccount {
    /// The account.
    pub user: UserId,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// Stored media objects deleted.
    pub media_objects_deleted: u64,
}

/// A closed account whose purge failed in a sweep. Its data is untouched (or, if its media was
/// deleted before the row purge failed, only its rows remain) and the next run tries again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedPurge {
    /// The account.
    pub user: UserId,
    /// Why: [`RetentionError::Processor`], [`RetentionError::Media`] or
    /// [`RetentionError::AccountPurge`], each naming its cause.
    pub error: RetentionError,
}

/// One category's part of a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategorySweep {
    /// The data.
    pub category: DataCategory,
    /// The plan's cutoff.
    pub cutoff: DateTime<Utc>,
    /// Rows deleted (for [`DataCategory::ClosedAccount`]: accounts purged); in a dry run, how
    /// many are due.
    pub removed: u64,
    /// Store calls made that delete or list (zero in a dry run).
    pub batches: u32,
    /// The accounts purged (closed accounts only), e.g. to complete erasure requests (P28).
    pub accounts: Vec<PurgedAccount>,
    /// The accounts whose purge failed this run (closed accounts only), in the order they were
    /// tried: an operator's list of what is overdue and why. Each is retried next run.
    pub failed_accounts: Vec<FailedPurge>,
    /// How it ended.
    pub outcome: SweepOutcome,
}

/// The result of one sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// The instant the plan was made for.
    pub at: DateTime<Utc>,
    /// Purge or dry run.
    pub mode: SweepMode,
    /// One entry per planned category, in table order.
    pub categories: Vec<CategorySweep>,
}

impl SweepReport {
    /// The entry of `category`, if it was planned.
    pub fn category(&self, category: DataCategory) -> Option<&CategorySweep> {
        self.categories
            .iter()
            .find(|sweep| sweep.category == category)
    }

    /// Whether every category finished: nothing failed and no batch limit was hit.
    pub fn is_complete(&self) -> bool {
        self.categories
            .iter()
            .all(|sweep| sweep.outcome == SweepOutcome::Complete)
    }

    /// The failures, in table order.
    pub fn failures(&self) -> impl Iterator<Item = &RetentionError> {
        self.categories
            .iter()
            .filter_map(|sweep| match &sweep.outcome {
                SweepOutcome::Failed(error) => Some(error),
                _ => None,
            })
    }

    /// Every closed account whose purge failed in this run, with the reason: what an operator
    /// looks at (and what a server persists for its operator-visible list).
    pub fn failed_accounts(&self) -> impl Iterator<Item = &FailedPurge> {
        self.categories
            .iter()
            .flat_map(|sweep| sweep.failed_accounts.iter())
    }
}

/// Runs the retention plan: purges usage logs, expired authentication artifacts, closed
/// accounts (at their processors, then media, then rows), payment records past their ten
/// years, completed Meta deletion requests and old erasure proofs, and reduces the network data
/// of consent receipts and policy acceptances.
///
/// Categories are independent: a failure in one is reported and the others still run. Within
/// closed accounts, one account's failure does not hold up the others: it is logged, listed in
/// the report ([`SweepReport::failed_accounts`]) and skipped for the rest of the run; the next
/// run tries it again. Run it periodically, at least as often as the sweep interval given to
/// the [`RetentionPlanner`].
pub struct RetentionSweeper {
    store: Arc<dyn RetentionStore>,
    media: Arc<dyn MediaStore>,
    processors: Vec<Arc<dyn ProcessorErasure>>,
    clock: Arc<dyn Clock>,
    planner: RetentionPlanner,
    config: SweepConfig,
}

impl std::fmt::Debug for RetentionSweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let processors: Vec<&str> = self.processors.iter().map(|p| p.processor()).collect();
        f.debug_struct("RetentionSweeper")
            .field("processors", &processors)
            .field("planner", &self.planner)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RetentionSweeper {
    /// A sweeper over the given ports.
    pub fn new(
        store: Arc<dyn RetentionStore>,
        media: Arc<dyn MediaStore>,
        clock: Arc<dyn Clock>,
        planner: RetentionPlanner,
        config: SweepConfig,
    ) -> Self {
        Self {
            store,
            media,
            processors: Vec::new(),
            clock,
            planner,
            config,
        }
    }

    /// Adds a processor that must erase a closed account before its media and rows are
    /// purged (e.g. kraftsoci-billing's `BillingService`, which deletes the Stripe customer).
    /// Processors are asked in the order they were added.
    pub fn with_processor_erasure(mut self, processor: Arc<dyn ProcessorErasure>) -> Self {
        self.processors.push(processor);
        self
    }

    /// The plan at the clock's current time.
    pub fn plan(&self) -> RetentionPlan {
        self.planner.plan(self.clock.now())
    }

    /// Executes the current plan. Never fails as a whole: each category's outcome is in the
    /// report ([`SweepReport::failures`]).
    pub async fn run(&self, mode: SweepMode) -> SweepReport {
        let plan = self.plan();
        let mut categories = Vec::with_capacity(plan.purges().len());
        for purge in plan.purges() {
            let (category, cutoff) = (purge.category, purge.cutoff);
            let store = &self.store;
            let limit = self.config.batch_size.get();
            let sweep = match (category, mode) {
                (DataCategory::UsageLog, SweepMode::Purge) => {
                    self.drain(category, cutoff, || {
                        store.purge_usage_log_before(cutoff, limit)
                    })
                    .await
                }
                (DataCategory::UsageLog, SweepMode::DryRun) => {
                    counted(category, cutoff, store.count_usage_log_before(cutoff).await)
                }
                (DataCategory::AuthArtifact, SweepMode::Purge) => {
                    self.drain(category, cutoff, || {
                        store.purge_expired_auth_artifacts(cutoff, limit)
                    })
                    .await
                }
                (DataCategory::AuthArtifact, SweepMode::DryRun) => counted(
                    category,
                    cutoff,
                    store.count_expired_auth_artifacts(cutoff).await,
                ),
                (DataCategory::PaymentRecord, SweepMode::Purge) => {
                    self.drain(category, cutoff, || {
                        store.purge_payment_records_before(cutoff, limit)
                    })
                    .await
                }
                (DataCategory::PaymentRecord, SweepMode::DryRun) => counted(
                    category,
                    cutoff,
                    store.count_payment_records_before(cutoff).await,
                ),
                (DataCategory::ClosedAccount, SweepMode::Purge) => {
                    self.purge_closed_accounts(cutoff).await
                }
                (DataCategory::ClosedAccount, SweepMode::DryRun) => counted(
                    category,
                    cutoff,
                    store.count_closed_accounts_due(cutoff).await,
                ),
                (DataCategory::ConsentNetworkData, SweepMode::Purge) => {
                    self.drain(category, cutoff, || {
                        store.reduce_network_data_before(cutoff, limit)
                    })
                    .await
                }
                (DataCategory::ConsentNetworkData, SweepMode::DryRun) => counted(
                    category,
                    cutoff,
                    store.count_network_data_before(cutoff).await,
                ),
                (DataCategory::MetaDeletionRequest, SweepMode::Purge) => {
                    self.drain(category, cutoff, || {
                        store.purge_meta_deletion_requests_before(cutoff, limit)
                    })
                    .await
                }
                (DataCategory::MetaDeletionRequest, SweepMode::DryRun) => counted(
                    category,
                    cutoff,
                    store.count_meta_deletion_requests_before(cutoff).await,
                ),
                (DataCategory::ErasureProof, SweepMode::Purge) => {
                    self.drain(category, cutoff, || {
                        store.purge_erasure_proofs_before(cutoff, limit)
                    })
                    .await
                }
                (DataCategory::ErasureProof, SweepMode::DryRun) => counted(
                    category,
                    cutoff,
                    store.count_erasure_proofs_before(cutoff).await,
                ),
                // Ended by user actions, not by time: a time rule here has no store operation.
                (
                    DataCategory::ActiveAccount
                    | DataCategory::InstagramToken
                    | DataCategory::GeneratedContent,
                    _,
                ) => CategorySweep::new(category, cutoff).ended(SweepOutcome::Failed(
                    RetentionError::NoSweepOperation(category),
                )),
            };
            categories.push(sweep);
        }
        SweepReport {
            at: plan.at(),
            mode,
            categories,
        }
    }

    /// Calls `purge_batch` until a batch comes back short or the batch limit is reached.
    async fn drain<F, Fut>(
        &self,
        category: DataCategory,
        cutoff: DateTime<Utc>,
        mut purge_batch: F,
    ) -> CategorySweep
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<u64, StoreError>>,
    {
        let limit = u64::from(self.config.batch_size.get());
        let mut sweep = CategorySweep::new(category, cutoff);
        loop {
            let deleted = match purge_batch().await {
                Ok(deleted) => deleted,
                Err(source) => {
                    return sweep.ended(SweepOutcome::Failed(RetentionError::Store {
                        category,
                        source,
                    }));
                }
            };
            sweep.batches += 1;
            sweep.removed = sweep.removed.saturating_add(deleted);
            if deleted < limit {
                return sweep.ended(SweepOutcome::Complete);
            }
            if sweep.batches >= self.config.max_batches_per_run.get() {
                return sweep.ended(SweepOutcome::BatchLimitReached);
            }
        }
    }

    async fn purge_closed_accounts(&self, cutoff: DateTime<Utc>) -> CategorySweep {
        let category = DataCategory::ClosedAccount;
        let limit = self.config.batch_size.get();
        let max_failures = self.config.max_failed_accounts_per_run.get() as usize;
        let mut sweep = CategorySweep::new(category, cutoff);
        // Accounts that failed in this run: never tried twice in one run, and left out of the
        // listing so that the accounts behind them are reached.
        let mut skipped: Vec<UserId> = Vec::new();
        let outcome = 'run: loop {
            let due = match self
                .store
                .closed_accounts_due(cutoff, &skipped, limit)
                .await
            {
                Ok(due) => due,
                Err(source) => {
                    break 'run SweepOutcome::Failed(RetentionError::Store { category, source });
                }
            };
            sweep.batches += 1;
            for &user in &due {
                if skipped.contains(&user) {
                    continue;
                }
                match self.purge_account(user).await {
                    Ok(purged) => {
                        sweep.removed += 1;
                        sweep.accounts.push(purged);
                    }
                    Err(error) => {
                        tracing::warn!(
                            %user,
                            error = %error,
                            cause = error_cause(&error),
                            "closed account not purged; skipped until the next run"
                        );
                        skipped.push(user);
                        sweep.failed_accounts.push(FailedPurge { user, error });
                        if sweep.failed_accounts.len() >= max_failures {
                            tracing::error!(
                                failed = sweep.failed_accounts.len(),
                                "too many closed accounts failed to purge in this run; the \
                                 rest waits for the next run"
                            );
                            break 'run SweepOutcome::Complete;
                        }
                    }
                }
            }
            if due.len() < limit as usize {
                break 'run SweepOutcome::Complete;
            }
            if sweep.batches >= self.config.max_batches_per_run.get() {
                break 'run SweepOutcome::BatchLimitReached;
            }
        };
        let outcome = match outcome {
            SweepOutcome::Failed(error) => SweepOutcome::Failed(error),
            _ if !sweep.failed_accounts.is_empty() => {
                SweepOutcome::Failed(RetentionError::AccountPurgesFailed {
                    failed: sweep.failed_accounts.len() as u64,
                    stopped_early: sweep.failed_accounts.len() >= max_failures,
                })
            }
            other => other,
        };
        sweep.ended(outcome)
    }

    async fn purge_account(&self, user: UserId) -> Result<PurgedAccount, RetentionError> {
        // Processors first, then media, then rows: each step needs what the later ones delete
        // (a processor's customer id lives in the rows; once the rows are gone the account is
        // no longer listed as due, and objects left behind by a failed media delete would
        // never be found again). Repeating an earlier step when a later one fails and the next
        // run retries is harmless: every step is idempotent.
        for processor in &self.processors {
            processor
                .erase_account(user)
                .await
                .map_err(|source| RetentionError::Processor {
                    user,
                    processor: processor.processor(),
                    source,
                })?;
        }
        let media_objects_deleted = self
            .media
            .delete_user(user)
            .await
            .map_err(|source| RetentionError::Media { user, source })?;
        let report = self
            .store
            .purge_account(user)
            .await
            .map_err(|source| RetentionError::AccountPurge { user, source })?;
        Ok(PurgedAccount {
            user,
            rows_deleted: report.rows_deleted,
            media_objects_deleted,
        })
    }
}

/// The innermost cause of a retention error, for the log line.
fn error_cause(error: &RetentionError) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

impl CategorySweep {
    fn new(category: DataCategory, cutoff: DateTime<Utc>) -> Self {
        Self {
            category,
            cutoff,
            removed: 0,
            batches: 0,
            accounts: Vec::new(),
            failed_accounts: Vec::new(),
            outcome: SweepOutcome::Complete,
        }
    }

    fn ended(mut self, outcome: SweepOutcome) -> Self {
        self.outcome = outcome;
        self
    }
}

/// A dry run's entry from a count.
fn counted(
    category: DataCategory,
    cutoff: DateTime<Utc>,
    count: Result<u64, StoreError>,
) -> CategorySweep {
    let sweep = CategorySweep::new(category, cutoff);
    match count {
        Ok(due) => CategorySweep {
            removed: due,
            ..sweep
        },
        Err(source) => sweep.ended(SweepOutcome::Failed(RetentionError::Store {
            category,
            source,
        })),
    }
}
