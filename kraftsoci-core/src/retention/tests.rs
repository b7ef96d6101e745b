//! Sweeper tests against mockall mocks of the retention and media ports, on a manual clock.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use mockall::Sequence;

use super::*;
use crate::ManualClock;
use crate::ports::{MockMediaStore, MockProcessorErasure, ProcessorErasureError};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 3, 0, 0).unwrap()
}

fn config(batch_size: u32, max_batches_per_run: u32) -> SweepConfig {
    SweepConfig {
        batch_size: NonZeroU32::new(batch_size).unwrap(),
        max_batches_per_run: NonZeroU32::new(max_batches_per_run).unwrap(),
        ..SweepConfig::default()
    }
}

fn sweeper(
    store: MockRetentionStore,
    media: MockMediaStore,
    config: SweepConfig,
) -> RetentionSweeper {
    let planner =
        RetentionPlanner::new(RetentionPolicy::privacy_policy(), StdDuration::ZERO).unwrap();
    RetentionSweeper::new(
        Arc::new(store),
        Arc::new(media),
        Arc::new(ManualClock::new(now())),
        planner,
        config,
    )
}

/// Everything is already clean except what the test sets up.
fn nothing_due_except(store: &mut MockRetentionStore, busy: &[DataCategory]) {
    if !busy.contains(&DataCategory::UsageLog) {
        store
            .expect_purge_usage_log_before()
            .times(1)
            .returning(|_, _| Ok(0));
    }
    if !busy.contains(&DataCategory::AuthArtifact) {
        store
            .expect_purge_expired_auth_artifacts()
            .times(1)
            .returning(|_, _| Ok(0));
    }
    if !busy.contains(&DataCategory::PaymentRecord) {
        store
            .expect_purge_payment_records_before()
            .times(1)
            .returning(|_, _| Ok(0));
    }
    if !busy.contains(&DataCategory::ClosedAccount) {
        store
            .expect_closed_accounts_due()
            .times(1)
            .returning(|_, _, _| Ok(Vec::new()));
    }
    if !busy.contains(&DataCategory::ConsentNetworkData) {
        store
            .expect_reduce_network_data_before()
            .times(1)
            .returning(|_, _| Ok(0));
    }
    if !busy.contains(&DataCategory::MetaDeletionRequest) {
        store
            .expect_purge_meta_deletion_requests_before()
            .times(1)
            .returning(|_, _| Ok(0));
    }
    if !busy.contains(&DataCategory::ErasureProof) {
        store
            .expect_purge_erasure_proofs_before()
            .times(1)
            .returning(|_, _| Ok(0));
    }
}

/// Nothing is due in a dry run except what the test sets up.
fn nothing_counted_except(store: &mut MockRetentionStore, busy: &[DataCategory]) {
    let zero = |busy: &[DataCategory], category| !busy.contains(&category);
    if zero(busy, DataCategory::UsageLog) {
        store.expect_count_usage_log_before().returning(|_| Ok(0));
    }
    if zero(busy, DataCategory::AuthArtifact) {
        store
            .expect_count_expired_auth_artifacts()
            .returning(|_| Ok(0));
    }
    if zero(busy, DataCategory::PaymentRecord) {
        store
            .expect_count_payment_records_before()
            .returning(|_| Ok(0));
    }
    if zero(busy, DataCategory::ClosedAccount) {
        store
            .expect_count_closed_accounts_due()
            .returning(|_| Ok(0));
    }
    if zero(busy, DataCategory::ConsentNetworkData) {
        store
            .expect_count_network_data_before()
            .returning(|_| Ok(0));
    }
    if zero(busy, DataCategory::MetaDeletionRequest) {
        store
            .expect_count_meta_deletion_requests_before()
            .returning(|_| Ok(0));
    }
    if zero(busy, DataCategory::ErasureProof) {
        store
            .expect_count_erasure_proofs_before()
            .returning(|_| Ok(0));
    }
}

/// A store of closed accounts, all due, that honours the exclusion list like a database would
/// (oldest closure first). Purged accounts leave it.
#[derive(Clone)]
struct DueAccounts(Arc<Mutex<Vec<UserId>>>);

impl DueAccounts {
    fn new(accounts: &[UserId]) -> Self {
        Self(Arc::new(Mutex::new(accounts.to_vec())))
    }

    fn listing(
        &self,
    ) -> impl Fn(DateTime<Utc>, &[UserId], u32) -> Result<Vec<UserId>, StoreError> + use<> {
        let due = self.0.clone();
        move |_, exclude, limit| {
            Ok(due
                .lock()
                .unwrap()
                .iter()
                .filter(|user| !exclude.contains(user))
                .take(limit as usize)
                .copied()
                .collect())
        }
    }

    fn purged(&self, user: UserId) {
        self.0.lock().unwrap().retain(|u| *u != user);
    }
}

/// A purge answer sequence: each call pops the next count (then zero).
fn answers(counts: &[u64]) -> impl FnMut(DateTime<Utc>, u32) -> Result<u64, StoreError> + use<> {
    let remaining = Mutex::new(counts.iter().rev().copied().collect::<Vec<_>>());
    move |_, _| Ok(remaining.lock().unwrap().pop().unwrap_or(0))
}

#[tokio::test]
async fn the_store_receives_the_cutoffs_of_the_clocks_plan_and_the_batch_size() {
    let mut store = MockRetentionStore::new();
    store
        .expect_purge_usage_log_before()
        .withf(|cutoff, limit| *cutoff == now() - Duration::days(30) && *limit == 250)
        .times(1)
        .returning(|_, _| Ok(0));
    store
        .expect_purge_expired_auth_artifacts()
        .withf(|expired_before, limit| *expired_before == now() && *limit == 250)
        .times(1)
        .returning(|_, _| Ok(0));
    store
        .expect_purge_payment_records_before()
        .withf(|cutoff, _| *cutoff == Utc.with_ymd_and_hms(2016, 9, 1, 3, 0, 0).unwrap())
        .times(1)
        .returning(|_, _| Ok(0));
    store
        .expect_closed_accounts_due()
        .withf(|closed_before, exclude, limit| {
            *closed_before == now() - Duration::days(30) && exclude.is_empty() && *limit == 250
        })
        .times(1)
        .returning(|_, _, _| Ok(Vec::new()));
    store
        .expect_reduce_network_data_before()
        .withf(|cutoff, limit| *cutoff == now() - Duration::days(30) && *limit == 250)
        .times(1)
        .returning(|_, _| Ok(0));
    store
        .expect_purge_meta_deletion_requests_before()
        .withf(|cutoff, limit| *cutoff == now() - Duration::days(90) && *limit == 250)
        .times(1)
        .returning(|_, _| Ok(0));
    store
        .expect_purge_erasure_proofs_before()
        .withf(|cutoff, limit| {
            *cutoff == Utc.with_ymd_and_hms(2023, 9, 1, 3, 0, 0).unwrap() && *limit == 250
        })
        .times(1)
        .returning(|_, _| Ok(0));

    let report = sweeper(store, MockMediaStore::new(), config(250, 10))
        .run(SweepMode::Purge)
        .await;
    assert_eq!(report.at, now());
    assert!(report.is_complete());
    assert_eq!(report.categories.len(), 7);
}

#[tokio::test]
async fn network_data_is_reduced_in_batches_and_reported_as_rows_changed() {
    let mut store = MockRetentionStore::new();
    store
        .expect_reduce_network_data_before()
        .times(2)
        .returning(answers(&[50, 7]));
    nothing_due_except(&mut store, &[DataCategory::ConsentNetworkData]);

    let report = sweeper(store, MockMediaStore::new(), config(50, 10))
        .run(SweepMode::Purge)
        .await;
    let reduced = report.category(DataCategory::ConsentNetworkData).unwrap();
    assert_eq!((reduced.removed, reduced.batches), (57, 2));
    assert_eq!(reduced.outcome, SweepOutcome::Complete);
}

#[tokio::test]
async fn batches_stop_as_soon_as_one_comes_back_short() {
    let mut store = MockRetentionStore::new();
    store
        .expect_purge_usage_log_before()
        .times(3)
        .returning(answers(&[100, 100, 37]));
    nothing_due_except(&mut store, &[DataCategory::UsageLog]);

    let report = sweeper(store, MockMediaStore::new(), config(100, 50))
        .run(SweepMode::Purge)
        .await;
    let logs = report.category(DataCategory::UsageLog).unwrap();
    assert_eq!((logs.removed, logs.batches), (237, 3));
    assert_eq!(logs.outcome, SweepOutcome::Complete);
}

#[tokio::test]
async fn an_exactly_full_last_batch_is_confirmed_by_one_empty_batch() {
    let mut store = MockRetentionStore::new();
    store
        .expect_purge_payment_records_before()
        .times(3)
        .returning(answers(&[10, 10, 0]));
    nothing_due_except(&mut store, &[DataCategory::PaymentRecord]);

    let report = sweeper(store, MockMediaStore::new(), config(10, 50))
        .run(SweepMode::Purge)
        .await;
    let payments = report.category(DataCategory::PaymentRecord).unwrap();
    assert_eq!((payments.removed, payments.batches), (20, 3));
    assert!(report.is_complete());
}

#[tokio::test]
async fn a_store_that_never_empties_is_swept_at_most_max_batches_per_run() {
    let mut store = MockRetentionStore::new();
    store
        .expect_purge_expired_auth_artifacts()
        .times(5)
        .returning(|_, limit| Ok(u64::from(limit)));
    store
        .expect_closed_accounts_due()
        .times(5)
        .returning(|_, _, limit| Ok((0..limit).map(|_| UserId::new()).collect()));
    store
        .expect_purge_account()
        .times(5 * 2)
        .returning(|_| Ok(PurgeReport { rows_deleted: 3 }));
    let mut media = MockMediaStore::new();
    media.expect_delete_user().times(5 * 2).returning(|_| Ok(1));
    nothing_due_except(
        &mut store,
        &[DataCategory::AuthArtifact, DataCategory::ClosedAccount],
    );

    let report = sweeper(store, media, config(2, 5))
        .run(SweepMode::Purge)
        .await;
    let artifacts = report.category(DataCategory::AuthArtifact).unwrap();
    assert_eq!((artifacts.removed, artifacts.batches), (10, 5));
    assert_eq!(artifacts.outcome, SweepOutcome::BatchLimitReached);
    let accounts = report.category(DataCategory::ClosedAccount).unwrap();
    assert_eq!((accounts.removed, accounts.batches), (10, 5));
    assert_eq!(accounts.outcome, SweepOutcome::BatchLimitReached);
    assert!(!report.is_complete());
    assert_eq!(report.failures().count(), 0);
}

#[tokio::test]
async fn a_dry_run_counts_and_deletes_nothing() {
    let mut store = MockRetentionStore::new();
    store.expect_purge_usage_log_before().never();
    store.expect_purge_expired_auth_artifacts().never();
    store.expect_purge_payment_records_before().never();
    store.expect_closed_accounts_due().never();
    store.expect_purge_account().never();
    store.expect_reduce_network_data_before().never();
    store.expect_purge_meta_deletion_requests_before().never();
    store.expect_purge_erasure_proofs_before().never();
    store
        .expect_count_usage_log_before()
        .withf(|cutoff| *cutoff == now() - Duration::days(30))
        .times(1)
        .returning(|_| Ok(1200));
    store
        .expect_count_expired_auth_artifacts()
        .times(1)
        .returning(|_| Ok(40));
    store
        .expect_count_payment_records_before()
        .times(1)
        .returning(|_| Ok(0));
    store
        .expect_count_closed_accounts_due()
        .times(1)
        .returning(|_| Ok(3));
    store
        .expect_count_network_data_before()
        .withf(|cutoff| *cutoff == now() - Duration::days(30))
        .times(1)
        .returning(|_| Ok(75));
    store
        .expect_count_meta_deletion_requests_before()
        .times(1)
        .returning(|_| Ok(2));
    store
        .expect_count_erasure_proofs_before()
        .times(1)
        .returning(|_| Ok(1));
    let mut media = MockMediaStore::new();
    media.expect_delete_user().never();
    media.expect_delete().never();
    let mut stripe = MockProcessorErasure::new();
    stripe.expect_erase_account().never();
    stripe.expect_processor().return_const("stripe");

    let report = sweeper(store, media, config(100, 5))
        .with_processor_erasure(Arc::new(stripe))
        .run(SweepMode::DryRun)
        .await;
    assert_eq!(report.mode, SweepMode::DryRun);
    let due = |category| report.category(category).unwrap().removed;
    assert_eq!(due(DataCategory::UsageLog), 1200);
    assert_eq!(due(DataCategory::AuthArtifact), 40);
    assert_eq!(due(DataCategory::PaymentRecord), 0);
    assert_eq!(due(DataCategory::ClosedAccount), 3);
    assert_eq!(due(DataCategory::ConsentNetworkData), 75);
    assert_eq!(due(DataCategory::MetaDeletionRequest), 2);
    assert_eq!(due(DataCategory::ErasureProof), 1);
    assert!(report.categories.iter().all(|sweep| sweep.batches == 0));
    assert!(report.is_complete());
}

#[tokio::test]
async fn a_purged_accounts_media_is_deleted_before_its_rows() {
    let alice = UserId::new();
    let bob = UserId::new();
    let mut store = MockRetentionStore::new();
    let mut media = MockMediaStore::new();
    let mut order = Sequence::new();
    store
        .expect_closed_accounts_due()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _, _| Ok(vec![alice, bob]));
    for (user, objects, rows) in [(alice, 4, 17), (bob, 0, 2)] {
        media
            .expect_delete_user()
            .withf(move |u| *u == user)
            .times(1)
            .in_sequence(&mut order)
            .returning(move |_| Ok(objects));
        store
            .expect_purge_account()
            .withf(move |u| *u == user)
            .times(1)
            .in_sequence(&mut order)
            .returning(move |_| Ok(PurgeReport { rows_deleted: rows }));
    }
    // A full batch of two: one more listing confirms nothing is left.
    store
        .expect_closed_accounts_due()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _, _| Ok(Vec::new()));
    nothing_due_except(&mut store, &[DataCategory::ClosedAccount]);

    let report = sweeper(store, media, config(2, 10))
        .run(SweepMode::Purge)
        .await;
    let closed = report.category(DataCategory::ClosedAccount).unwrap();
    assert_eq!(closed.outcome, SweepOutcome::Complete);
    assert_eq!(closed.removed, 2);
    assert_eq!(
        closed.accounts,
        vec![
            PurgedAccount {
                user: alice,
                rows_deleted: 17,
                media_objects_deleted: 4
            },
            PurgedAccount {
                user: bob,
                rows_deleted: 2,
                media_objects_deleted: 0
            },
        ]
    );
}

#[tokio::test]
async fn a_media_failure_keeps_the_accounts_rows_and_other_categories_still_run() {
    let user = UserId::new();
    let mut store = MockRetentionStore::new();
    store
        .expect_closed_accounts_due()
        .times(1)
        .returning(move |_, _, _| Ok(vec![user]));
    store.expect_purge_account().never();
    let mut media = MockMediaStore::new();
    media
        .expect_delete_user()
        .times(1)
        .returning(|_| Err(MediaStoreError("bucket unreachable".into())));
    store
        .expect_purge_usage_log_before()
        .times(1)
        .returning(|_, _| Ok(5));
    nothing_due_except(
        &mut store,
        &[DataCategory::ClosedAccount, DataCategory::UsageLog],
    );

    let report = sweeper(store, media, config(10, 10))
        .run(SweepMode::Purge)
        .await;
    let closed = report.category(DataCategory::ClosedAccount).unwrap();
    assert_eq!(
        closed.failed_accounts,
        vec![FailedPurge {
            user,
            error: RetentionError::Media {
                user,
                source: MediaStoreError("bucket unreachable".into()),
            },
        }]
    );
    assert_eq!(
        closed.outcome,
        SweepOutcome::Failed(RetentionError::AccountPurgesFailed {
            failed: 1,
            stopped_early: false
        })
    );
    assert_eq!(closed.removed, 0);
    assert_eq!(report.category(DataCategory::UsageLog).unwrap().removed, 5);
    assert_eq!(report.failures().count(), 1);
}

#[tokio::test]
async fn a_failed_account_purge_is_skipped_reported_and_the_accounts_behind_it_are_purged() {
    let (first, second) = (UserId::new(), UserId::new());
    let due = DueAccounts::new(&[first, second]);
    let mut store = MockRetentionStore::new();
    store.expect_closed_accounts_due().returning(due.listing());
    let purged = due.clone();
    store
        .expect_purge_account()
        .times(2)
        .returning(move |user| {
            if user == first {
                Err(StoreError::Unavailable("connection reset".into()))
            } else {
                purged.purged(user);
                Ok(PurgeReport { rows_deleted: 9 })
            }
        });
    let mut media = MockMediaStore::new();
    media.expect_delete_user().times(2).returning(|_| Ok(2));
    nothing_due_except(&mut store, &[DataCategory::ClosedAccount]);

    let report = sweeper(store, media, config(10, 10))
        .run(SweepMode::Purge)
        .await;
    let closed = report.category(DataCategory::ClosedAccount).unwrap();
    assert_eq!(closed.removed, 1);
    assert_eq!(
        closed.accounts,
        vec![PurgedAccount {
            user: second,
            rows_deleted: 9,
            media_objects_deleted: 2
        }]
    );
    let failed: Vec<_> = report.failed_accounts().collect();
    assert_eq!(
        failed,
        vec![&FailedPurge {
            user: first,
            error: RetentionError::AccountPurge {
                user: first,
                source: StoreError::Unavailable("connection reset".into()),
            },
        }]
    );
    assert_eq!(
        failed[0].error.to_string(),
        format!("could not purge closed account {first}")
    );
    let error = report.failures().next().unwrap();
    assert_eq!(
        error.to_string(),
        "1 closed account(s) could not be purged and are retried next run"
    );
}

#[tokio::test]
async fn a_permanently_failing_account_is_tried_once_per_run_and_cannot_starve_the_rest() {
    // Batches of two, the failing account first in every listing it is allowed into.
    let broken = UserId::new();
    let healthy: Vec<UserId> = (0..5).map(|_| UserId::new()).collect();
    let due = DueAccounts::new(&[&[broken][..], &healthy[..]].concat());
    let mut store = MockRetentionStore::new();
    let excluded_lists = Arc::new(Mutex::new(Vec::new()));
    let seen = excluded_lists.clone();
    let listing = due.listing();
    store
        .expect_closed_accounts_due()
        .returning(move |cutoff, exclude, limit| {
            seen.lock().unwrap().push(exclude.to_vec());
            listing(cutoff, exclude, limit)
        });
    let purged = due.clone();
    store.expect_purge_account().returning(move |user| {
        purged.purged(user);
        Ok(PurgeReport { rows_deleted: 1 })
    });
    let mut media = MockMediaStore::new();
    media
        .expect_delete_user()
        .withf(move |user| *user == broken)
        .times(1)
        .returning(|_| Err(MediaStoreError("object store refused the prefix".into())));
    media
        .expect_delete_user()
        .withf(move |user| *user != broken)
        .times(5)
        .returning(|_| Ok(0));
    nothing_due_except(&mut store, &[DataCategory::ClosedAccount]);

    let report = sweeper(store, media, config(2, 10))
        .run(SweepMode::Purge)
        .await;
    let closed = report.category(DataCategory::ClosedAccount).unwrap();
    let purged: Vec<UserId> = closed.accounts.iter().map(|a| a.user).collect();
    assert_eq!(
        purged, healthy,
        "every account behind the broken one is purged, in order"
    );
    assert_eq!(closed.failed_accounts.len(), 1);
    assert_eq!(closed.failed_accounts[0].user, broken);
    // After its failure the broken account is excluded from every later listing.
    let lists = excluded_lists.lock().unwrap();
    assert!(lists[0].is_empty());
    assert!(lists[1..].iter().all(|list| list == &vec![broken]));
    assert_eq!(
        closed.outcome,
        SweepOutcome::Failed(RetentionError::AccountPurgesFailed {
            failed: 1,
            stopped_early: false
        })
    );
}

#[tokio::test]
async fn the_next_run_tries_a_skipped_account_again() {
    let user = UserId::new();
    let due = DueAccounts::new(&[user]);
    let mut store = MockRetentionStore::new();
    store.expect_closed_accounts_due().returning(due.listing());
    let purged = due.clone();
    store.expect_purge_account().times(1).returning(move |u| {
        purged.purged(u);
        Ok(PurgeReport { rows_deleted: 4 })
    });
    store
        .expect_purge_usage_log_before()
        .returning(|_, _| Ok(0));
    store
        .expect_purge_expired_auth_artifacts()
        .returning(|_, _| Ok(0));
    store
        .expect_purge_payment_records_before()
        .returning(|_, _| Ok(0));
    store
        .expect_reduce_network_data_before()
        .returning(|_, _| Ok(0));
    store
        .expect_purge_meta_deletion_requests_before()
        .returning(|_, _| Ok(0));
    store
        .expect_purge_erasure_proofs_before()
        .returning(|_, _| Ok(0));
    let mut media = MockMediaStore::new();
    let calls = Mutex::new(0);
    media.expect_delete_user().times(2).returning(move |_| {
        let mut calls = calls.lock().unwrap();
        *calls += 1;
        if *calls == 1 {
            Err(MediaStoreError("timeout".into()))
        } else {
            Ok(3)
        }
    });
    let sweeper = sweeper(store, media, config(10, 10));

    let first = sweeper.run(SweepMode::Purge).await;
    assert_eq!(first.failed_accounts().count(), 1);
    let second = sweeper.run(SweepMode::Purge).await;
    assert_eq!(second.failed_accounts().count(), 0);
    let closed = second.category(DataCategory::ClosedAccount).unwrap();
    assert_eq!(closed.removed, 1);
    assert_eq!(closed.outcome, SweepOutcome::Complete);
}

#[tokio::test]
async fn a_systemic_failure_stops_purging_accounts_after_the_configured_number() {
    let accounts: Vec<UserId> = (0..10).map(|_| UserId::new()).collect();
    let due = DueAccounts::new(&accounts);
    let mut store = MockRetentionStore::new();
    store.expect_closed_accounts_due().returning(due.listing());
    store.expect_purge_account().never();
    let mut media = MockMediaStore::new();
    media
        .expect_delete_user()
        .times(3)
        .returning(|_| Err(MediaStoreError("bucket unreachable".into())));
    nothing_due_except(&mut store, &[DataCategory::ClosedAccount]);
    let config = SweepConfig {
        max_failed_accounts_per_run: NonZeroU32::new(3).unwrap(),
        ..config(4, 10)
    };

    let report = sweeper(store, media, config).run(SweepMode::Purge).await;
    let closed = report.category(DataCategory::ClosedAccount).unwrap();
    let failed: Vec<UserId> = closed.failed_accounts.iter().map(|f| f.user).collect();
    assert_eq!(failed, accounts[..3].to_vec());
    assert_eq!(
        closed.outcome,
        SweepOutcome::Failed(RetentionError::AccountPurgesFailed {
            failed: 3,
            stopped_early: true
        })
    );
    assert!(
        report
            .failures()
            .next()
            .unwrap()
            .to_string()
            .contains("stopped purging accounts")
    );
    // Other categories still ran.
    assert_eq!(
        report.category(DataCategory::UsageLog).unwrap().outcome,
        SweepOutcome::Complete
    );
}

#[tokio::test]
async fn a_store_that_ignores_the_exclusion_list_still_gets_each_account_tried_once_per_run() {
    let broken = UserId::new();
    let mut store = MockRetentionStore::new();
    // Always lists the broken account, exclusion or not, in a full batch of one.
    store
        .expect_closed_accounts_due()
        .times(4)
        .returning(move |_, _, _| Ok(vec![broken]));
    store.expect_purge_account().never();
    let mut media = MockMediaStore::new();
    media
        .expect_delete_user()
        .times(1)
        .returning(|_| Err(MediaStoreError("denied".into())));
    nothing_due_except(&mut store, &[DataCategory::ClosedAccount]);

    let report = sweeper(store, media, config(1, 4))
        .run(SweepMode::Purge)
        .await;
    let closed = report.category(DataCategory::ClosedAccount).unwrap();
    assert_eq!(closed.failed_accounts.len(), 1);
    assert_eq!(closed.batches, 4);
}

#[tokio::test]
async fn processors_erase_an_account_before_its_media_and_rows() {
    let user = UserId::new();
    let mut order = Sequence::new();
    let mut store = MockRetentionStore::new();
    let mut media = MockMediaStore::new();
    let mut stripe = MockProcessorErasure::new();
    stripe.expect_processor().return_const("stripe");
    store
        .expect_closed_accounts_due()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _, _| Ok(vec![user]));
    stripe
        .expect_erase_account()
        .withf(move |u| *u == user)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    media
        .expect_delete_user()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(1));
    store
        .expect_purge_account()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(PurgeReport { rows_deleted: 5 }));
    nothing_due_except(&mut store, &[DataCategory::ClosedAccount]);

    let report = sweeper(store, media, config(10, 10))
        .with_processor_erasure(Arc::new(stripe))
        .run(SweepMode::Purge)
        .await;
    assert!(report.is_complete());
    assert_eq!(
        report
            .category(DataCategory::ClosedAccount)
            .unwrap()
            .removed,
        1
    );
}

#[tokio::test]
async fn a_processor_that_does_not_confirm_leaves_the_accounts_media_and_rows_for_the_next_run() {
    let user = UserId::new();
    let mut store = MockRetentionStore::new();
    store
        .expect_closed_accounts_due()
        .times(1)
        .returning(move |_, _, _| Ok(vec![user]));
    store.expect_purge_account().never();
    let mut media = MockMediaStore::new();
    media.expect_delete_user().never();
    let mut stripe = MockProcessorErasure::new();
    stripe.expect_processor().return_const("stripe");
    stripe.expect_erase_account().times(1).returning(|_| {
        Err(ProcessorErasureError::new(
            "stripe answered 503 (request req_1)",
        ))
    });
    nothing_due_except(&mut store, &[DataCategory::ClosedAccount]);

    let report = sweeper(store, media, config(10, 10))
        .with_processor_erasure(Arc::new(stripe))
        .run(SweepMode::Purge)
        .await;
    let failed: Vec<_> = report.failed_accounts().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].error,
        RetentionError::Processor {
            user,
            processor: "stripe",
            source: ProcessorErasureError::new("stripe answered 503 (request req_1)"),
        }
    );
    assert_eq!(
        failed[0].error.to_string(),
        format!("stripe did not confirm the erasure of closed account {user}")
    );
}

#[tokio::test]
async fn a_store_failure_midway_reports_what_was_already_deleted() {
    let mut store = MockRetentionStore::new();
    let calls = Mutex::new(0);
    store
        .expect_purge_usage_log_before()
        .times(2)
        .returning(move |_, _| {
            let mut calls = calls.lock().unwrap();
            *calls += 1;
            if *calls == 1 {
                Ok(10)
            } else {
                Err(StoreError::Unavailable("timeout".into()))
            }
        });
    nothing_due_except(&mut store, &[DataCategory::UsageLog]);

    let report = sweeper(store, MockMediaStore::new(), config(10, 10))
        .run(SweepMode::Purge)
        .await;
    let logs = report.category(DataCategory::UsageLog).unwrap();
    assert_eq!((logs.removed, logs.batches), (10, 1));
    assert_eq!(
        logs.outcome,
        SweepOutcome::Failed(RetentionError::Store {
            category: DataCategory::UsageLog,
            source: StoreError::Unavailable("timeout".into()),
        })
    );
    assert!(!report.is_complete());
}

#[tokio::test]
async fn a_failing_count_in_a_dry_run_is_reported() {
    let mut store = MockRetentionStore::new();
    store
        .expect_count_usage_log_before()
        .returning(|_| Err(StoreError::Unavailable("down".into())));
    store
        .expect_count_expired_auth_artifacts()
        .returning(|_| Ok(0));
    store
        .expect_count_payment_records_before()
        .returning(|_| Ok(0));
    store
        .expect_count_closed_accounts_due()
        .returning(|_| Ok(0));
    nothing_counted_except(
        &mut store,
        &[
            DataCategory::UsageLog,
            DataCategory::AuthArtifact,
            DataCategory::PaymentRecord,
            DataCategory::ClosedAccount,
        ],
    );

    let report = sweeper(store, MockMediaStore::new(), config(10, 10))
        .run(SweepMode::DryRun)
        .await;
    assert_eq!(report.failures().count(), 1);
    assert!(matches!(
        report.category(DataCategory::UsageLog).unwrap().outcome,
        SweepOutcome::Failed(RetentionError::Store {
            category: DataCategory::UsageLog,
            ..
        })
    ));
}

#[tokio::test]
async fn the_sweeper_plans_from_its_clock() {
    let clock = Arc::new(ManualClock::new(now()));
    let planner =
        RetentionPlanner::new(RetentionPolicy::privacy_policy(), StdDuration::ZERO).unwrap();
    let sweeper = RetentionSweeper::new(
        Arc::new(MockRetentionStore::new()),
        Arc::new(MockMediaStore::new()),
        clock.clone(),
        planner,
        SweepConfig::default(),
    );
    assert_eq!(sweeper.plan().at(), now());
    clock.advance(Duration::days(1));
    assert_eq!(
        sweeper.plan().cutoff(DataCategory::UsageLog),
        Some(now() + Duration::days(1) - Duration::days(30))
    );
}
