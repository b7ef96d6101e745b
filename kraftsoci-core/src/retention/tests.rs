//! Sweeper tests against mockall mocks of the retention and media ports, on a manual clock.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use mockall::Sequence;

use super::*;
use crate::ManualClock;
use crate::ports::MockMediaStore;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 3, 0, 0).unwrap()
}

fn config(batch_size: u32, max_batches_per_run: u32) -> SweepConfig {
    SweepConfig {
        batch_size: NonZeroU32::new(batch_size).unwrap(),
        max_batches_per_run: NonZeroU32::new(max_batches_per_run).unwrap(),
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
            .returning(|_, _| Ok(Vec::new()));
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
        .withf(|closed_before, limit| *closed_before == now() - Duration::days(30) && *limit == 250)
        .times(1)
        .returning(|_, _| Ok(Vec::new()));

    let report = sweeper(store, MockMediaStore::new(), config(250, 10))
        .run(SweepMode::Purge)
        .await;
    assert_eq!(report.at, now());
    assert!(report.is_complete());
    assert_eq!(report.categories.len(), 4);
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
        .returning(|_, limit| Ok((0..limit).map(|_| UserId::new()).collect()));
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
    let mut media = MockMediaStore::new();
    media.expect_delete_user().never();
    media.expect_delete().never();

    let report = sweeper(store, media, config(100, 5))
        .run(SweepMode::DryRun)
        .await;
    assert_eq!(report.mode, SweepMode::DryRun);
    let due = |category| report.category(category).unwrap().removed;
    assert_eq!(due(DataCategory::UsageLog), 1200);
    assert_eq!(due(DataCategory::AuthArtifact), 40);
    assert_eq!(due(DataCategory::PaymentRecord), 0);
    assert_eq!(due(DataCategory::ClosedAccount), 3);
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
        .returning(move |_, _| Ok(vec![alice, bob]));
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
        .returning(|_, _| Ok(Vec::new()));
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
        .returning(move |_, _| Ok(vec![user]));
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
        closed.outcome,
        SweepOutcome::Failed(RetentionError::Media {
            user,
            source: MediaStoreError("bucket unreachable".into()),
        })
    );
    assert_eq!(closed.removed, 0);
    assert_eq!(report.category(DataCategory::UsageLog).unwrap().removed, 5);
    assert_eq!(report.failures().count(), 1);
}

#[tokio::test]
async fn a_failed_account_purge_stops_the_category_with_the_account_named() {
    let (first, second) = (UserId::new(), UserId::new());
    let mut store = MockRetentionStore::new();
    store
        .expect_closed_accounts_due()
        .times(1)
        .returning(move |_, _| Ok(vec![first, second]));
    store
        .expect_purge_account()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("connection reset".into())));
    let mut media = MockMediaStore::new();
    media
        .expect_delete_user()
        .withf(move |u| *u == first)
        .times(1)
        .returning(|_| Ok(2));
    nothing_due_except(&mut store, &[DataCategory::ClosedAccount]);

    let report = sweeper(store, media, config(10, 10))
        .run(SweepMode::Purge)
        .await;
    let error = report.failures().next().unwrap();
    assert_eq!(
        *error,
        RetentionError::AccountPurge {
            user: first,
            source: StoreError::Unavailable("connection reset".into()),
        }
    );
    assert_eq!(
        error.to_string(),
        format!("could not purge closed account {first}")
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
