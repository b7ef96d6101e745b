//! Billing storage: core's `BillingStore` and `QuotaLedger` contracts as the server's stores
//! implement them, on their clock, on both engines.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use kraftsoci_core::ports::{
    ApplyOutcome, BillingCustomerId, BillingEffect, BillingEvent, BillingStore, InvoiceId,
    PaymentRecord, PaymentStatus, PriceId, QuotaKind, QuotaLedger, QuotaReservation,
    SubscriptionId, SubscriptionSnapshot, SubscriptionStatus,
};
use kraftsoci_core::{Clock, ManualClock, StoreError, UserId};
use kraftsoci_server::config::Backend;
use kraftsoci_server::store::{IntentKind, IntentOutcome, NewIntent};
use uuid::Uuid;

use crate::fixtures::{signed_up, t0};
use crate::support::TestDb;

/// The database's clock (the one its stores date what they record by), set to [`t0`].
fn clock(db: &TestDb) -> Arc<ManualClock> {
    db.clock().set(t0());
    Arc::clone(db.clock())
}

fn billing(db: &TestDb) -> Arc<dyn BillingStore> {
    db.stores().billing
}

fn ledger(db: &TestDb) -> Arc<dyn QuotaLedger> {
    db.stores().quota
}

fn customer(id: &str) -> BillingCustomerId {
    BillingCustomerId::parse(id).unwrap()
}

fn view(sub: &str, customer_id: &str, status: &str, as_of: DateTime<Utc>) -> SubscriptionSnapshot {
    SubscriptionSnapshot {
        subscription_id: SubscriptionId::parse(sub).unwrap(),
        customer: customer(customer_id),
        status: SubscriptionStatus::parse(status),
        price_id: Some(PriceId::parse("price_starter").unwrap()),
        current_period_start: Some(t0()),
        current_period_end: Some(t0() + Duration::days(30)),
        cancel_at_period_end: false,
        as_of,
    }
}

fn subscription_event(id: &str, user: UserId, snapshot: SubscriptionSnapshot) -> BillingEvent {
    BillingEvent {
        id: id.to_owned(),
        kind: "customer.subscription.updated".to_owned(),
        created: snapshot.as_of,
        effect: BillingEffect::Subscription { user, snapshot },
    }
}

fn payment(
    invoice: &str,
    user: UserId,
    status: PaymentStatus,
    as_of: DateTime<Utc>,
) -> PaymentRecord {
    let paid = status == PaymentStatus::Paid;
    PaymentRecord {
        invoice_id: InvoiceId::parse(invoice).unwrap(),
        user,
        customer: customer("cus_pay"),
        subscription_id: Some(SubscriptionId::parse("sub_pay").unwrap()),
        status,
        amount_due: 1900,
        amount_paid: if paid { 1900 } else { 0 },
        currency: "eur".to_owned(),
        period_start: Some(t0()),
        period_end: Some(t0() + Duration::days(30)),
        paid_at: paid.then_some(as_of),
        as_of,
    }
}

fn payment_event(id: &str, record: PaymentRecord) -> BillingEvent {
    BillingEvent {
        id: id.to_owned(),
        kind: "invoice.paid".to_owned(),
        created: record.as_of,
        effect: BillingEffect::Payment(record),
    }
}

fn reservation(user: UserId, amount: u32, at: DateTime<Utc>) -> QuotaReservation {
    QuotaReservation {
        id: Uuid::new_v4(),
        user,
        kind: QuotaKind::Posts,
        amount,
        period_start: t0(),
        reserved_at: at,
    }
}

pub async fn concurrent_reservations_never_exceed_the_limit(db: &TestDb) {
    clock(db);
    let ledger = ledger(db);
    let user = signed_up(&db.stores(), "ada@example.com").await.id;
    let attempts: Vec<_> = (0..12).map(|_| reservation(user, 1, t0())).collect();
    let results = join_all(attempts.iter().map(|r| ledger.try_reserve(r, 5))).await;
    let granted = results
        .into_iter()
        .map(Result::unwrap)
        .filter(|ok| *ok)
        .count();
    assert_eq!(granted, 5);
    assert_eq!(ledger.used(user, QuotaKind::Posts, t0()).await.unwrap(), 5);

    // Larger units race too: 2 + 2 fit in 5, a third pair does not.
    let bob = signed_up(&db.stores(), "bob@example.com").await.id;
    let pairs: Vec<_> = (0..6).map(|_| reservation(bob, 2, t0())).collect();
    let results = join_all(pairs.iter().map(|r| ledger.try_reserve(r, 5))).await;
    assert_eq!(
        results.into_iter().filter(|r| *r.as_ref().unwrap()).count(),
        2
    );
    assert_eq!(ledger.used(bob, QuotaKind::Posts, t0()).await.unwrap(), 4);
    // Other kinds and periods are counted apart.
    assert_eq!(ledger.used(bob, QuotaKind::Images, t0()).await.unwrap(), 0);
    assert_eq!(
        ledger
            .used(bob, QuotaKind::Posts, t0() + Duration::days(30))
            .await
            .unwrap(),
        0
    );
}

pub async fn reservations_commit_release_resubmit_and_expire(db: &TestDb) {
    let clock = clock(db);
    let ledger = ledger(db);
    let user = signed_up(&db.stores(), "ada@example.com").await.id;
    let a = reservation(user, 2, t0());
    let b = reservation(user, 1, t0());
    assert!(ledger.try_reserve(&a, 3).await.unwrap());
    assert!(
        ledger.try_reserve(&a, 3).await.unwrap(),
        "resubmitting is a no-op"
    );
    assert!(ledger.try_reserve(&b, 3).await.unwrap());
    assert!(
        !ledger
            .try_reserve(&reservation(user, 1, t0()), 3)
            .await
            .unwrap()
    );

    ledger.release(b.id).await.unwrap();
    ledger.release(b.id).await.unwrap();
    ledger.commit(a.id).await.unwrap();
    ledger.release(a.id).await.unwrap();
    assert_eq!(
        ledger.used(user, QuotaKind::Posts, t0()).await.unwrap(),
        2,
        "committed stays"
    );
    assert_eq!(ledger.commit(b.id).await, Err(StoreError::NotFound));

    // An abandoned hold stops counting after the TTL; the committed units never do.
    let held = reservation(user, 1, t0());
    assert!(ledger.try_reserve(&held, 3).await.unwrap());
    assert_eq!(ledger.used(user, QuotaKind::Posts, t0()).await.unwrap(), 3);
    clock.advance(Duration::minutes(31));
    assert_eq!(ledger.used(user, QuotaKind::Posts, t0()).await.unwrap(), 2);
    let later = reservation(user, 1, clock.now());
    assert!(ledger.try_reserve(&later, 3).await.unwrap());
    assert_eq!(
        ledger.commit(held.id).await,
        Err(StoreError::NotFound),
        "expired holds are gone"
    );

    let stranger = reservation(UserId::new(), 1, t0());
    assert_eq!(
        ledger.try_reserve(&stranger, 3).await,
        Err(StoreError::NotFound)
    );
}

pub async fn a_stripe_event_is_applied_once_even_when_delivered_concurrently(db: &TestDb) {
    clock(db);
    let store = billing(db);
    let user = signed_up(&db.stores(), "ada@example.com").await.id;
    let event = payment_event(
        "evt_dup",
        payment("in_dup", user, PaymentStatus::Paid, t0()),
    );
    let outcomes: Vec<_> = join_all((0..8).map(|_| store.apply_event(&event)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == ApplyOutcome::Applied)
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == ApplyOutcome::AlreadyApplied)
            .count(),
        7
    );
    assert_eq!(
        store.apply_event(&event).await.unwrap(),
        ApplyOutcome::AlreadyApplied
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM stripe_events".into()).await,
        1
    );
    assert_eq!(store.payment_records(user).await.unwrap().len(), 1);
}

pub async fn a_failure_while_applying_leaves_neither_the_event_id_nor_the_effect(db: &TestDb) {
    clock(db);
    let store = billing(db);
    let user = signed_up(&db.stores(), "ada@example.com").await.id;
    let events = [
        (
            "payment_records",
            payment_event("evt_p", payment("in_p", user, PaymentStatus::Paid, t0())),
        ),
        (
            "billing_customers",
            subscription_event("evt_s", user, view("sub_1", "cus_1", "active", t0())),
        ),
    ];
    for (table, event) in events {
        let (create, drop) = match db.backend() {
            Backend::Sqlite => (
                format!(
                    "CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} \
                     BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                ),
                format!("DROP TRIGGER fail_{table}"),
            ),
            Backend::Postgres => {
                db.exec(
                    "CREATE OR REPLACE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql \
                     AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
                        .into(),
                )
                .await;
                (
                    format!(
                        "CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION fail_insert()"
                    ),
                    format!("DROP TRIGGER fail_{table} ON {table}"),
                )
            }
        };
        db.exec(create).await;
        let failed = store.apply_event(&event).await;
        assert!(
            matches!(failed, Err(StoreError::Unavailable(_))),
            "{failed:?}"
        );
        let recorded = db
            .count(format!(
                "SELECT COUNT(*) FROM stripe_events WHERE event_id = '{}'",
                event.id
            ))
            .await;
        assert_eq!(recorded, 0, "the event id was rolled back with the effect");
        assert_eq!(db.count(format!("SELECT COUNT(*) FROM {table}")).await, 0);

        // Stripe's retry then applies it.
        db.exec(drop).await;
        assert_eq!(
            store.apply_event(&event).await.unwrap(),
            ApplyOutcome::Applied
        );
        assert_eq!(db.count(format!("SELECT COUNT(*) FROM {table}")).await, 1);
    }
}

pub async fn subscription_state_round_trips_and_terminal_states_are_final(db: &TestDb) {
    clock(db);
    let store = billing(db);
    let user = signed_up(&db.stores(), "ada@example.com").await.id;
    let mut past_due = view("sub_1", "cus_1", "past_due", t0() + Duration::seconds(10));
    past_due.cancel_at_period_end = true;
    let created = view("sub_1", "cus_1", "active", t0());
    assert_eq!(
        store
            .apply_event(&subscription_event("evt_1", user, created))
            .await
            .unwrap(),
        ApplyOutcome::Applied
    );
    store
        .apply_event(&subscription_event("evt_2", user, past_due.clone()))
        .await
        .unwrap();
    let account = store.account(user).await.unwrap().unwrap();
    assert_eq!(account.customer, Some(customer("cus_1")));
    let state = account.subscription.unwrap();
    assert_eq!(state.snapshot, past_due, "every field round-trips");
    assert_eq!(state.past_due_since, Some(t0() + Duration::seconds(10)));
    assert_eq!(
        store.user_for_customer(&customer("cus_1")).await.unwrap(),
        Some(user)
    );

    // Deleted arrives, then an older update that still says active: it cannot revive it.
    let deleted = view("sub_1", "cus_1", "canceled", t0() + Duration::seconds(30));
    let older_active = view("sub_1", "cus_1", "active", t0() + Duration::seconds(20));
    store
        .apply_event(&subscription_event("evt_del", user, deleted))
        .await
        .unwrap();
    assert_eq!(
        store
            .apply_event(&subscription_event("evt_old", user, older_active))
            .await
            .unwrap(),
        ApplyOutcome::Superseded
    );
    let status = store
        .account(user)
        .await
        .unwrap()
        .unwrap()
        .subscription
        .unwrap()
        .snapshot
        .status;
    assert_eq!(status, SubscriptionStatus::Canceled);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM stripe_events".into()).await,
        4,
        "superseded events are recorded"
    );
}

pub async fn a_customer_belongs_to_one_user(db: &TestDb) {
    clock(db);
    let store = billing(db);
    let ada = signed_up(&db.stores(), "ada@example.com").await.id;
    let bob = signed_up(&db.stores(), "bob@example.com").await.id;
    store.link_customer(ada, &customer("cus_a")).await.unwrap();
    store.link_customer(ada, &customer("cus_a")).await.unwrap();
    assert!(matches!(
        store.link_customer(bob, &customer("cus_a")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.link_customer(ada, &customer("cus_b")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        store.link_customer(UserId::new(), &customer("cus_z")).await,
        Err(StoreError::NotFound)
    );
    // An event claiming Ada's customer for Bob changes nothing.
    let foreign = subscription_event("evt_f", bob, view("sub_f", "cus_a", "active", t0()));
    assert_eq!(
        store.apply_event(&foreign).await.unwrap(),
        ApplyOutcome::Superseded
    );
    assert!(store.account(bob).await.unwrap().is_none());
    let link = BillingEvent {
        id: "evt_l".into(),
        kind: "checkout.session.completed".into(),
        created: t0(),
        effect: BillingEffect::LinkCustomer {
            user: bob,
            customer: customer("cus_b"),
        },
    };
    assert_eq!(
        store.apply_event(&link).await.unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(
        store.user_for_customer(&customer("cus_b")).await.unwrap(),
        Some(bob)
    );
    assert_eq!(
        store
            .user_for_customer(&customer("cus_none"))
            .await
            .unwrap(),
        None
    );
}

pub async fn payment_records_keep_paid_final_and_outlive_the_account(db: &TestDb) {
    clock(db);
    let store = billing(db);
    let user = signed_up(&db.stores(), "ada@example.com").await.id;
    let at = |s: i64| t0() + Duration::seconds(s);
    let deliveries = [
        ("evt_1", PaymentStatus::Failed, 10, ApplyOutcome::Applied),
        ("evt_2", PaymentStatus::Paid, 20, ApplyOutcome::Applied),
        ("evt_3", PaymentStatus::Failed, 30, ApplyOutcome::Superseded),
    ];
    for (id, status, secs, expected) in deliveries {
        let event = payment_event(id, payment("in_1", user, status, at(secs)));
        assert_eq!(store.apply_event(&event).await.unwrap(), expected, "{id}");
    }
    let records = store.payment_records(user).await.unwrap();
    assert_eq!(
        records,
        vec![payment("in_1", user, PaymentStatus::Paid, at(20))]
    );

    // The purge deletes the user; the ledger stays, unlinked (P17), and a late invoice of
    // the gone user is kept the same way.
    db.exec(format!("DELETE FROM users WHERE id = '{user}'"))
        .await;
    let late = payment_event("evt_4", payment("in_2", user, PaymentStatus::Paid, at(40)));
    assert_eq!(
        store.apply_event(&late).await.unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM payment_records WHERE user_id IS NULL".into())
            .await,
        2
    );
    assert!(store.payment_records(user).await.unwrap().is_empty());
    assert!(store.account(user).await.unwrap().is_none());
    // A subscription event for the gone user records nothing, not even its id (P19).
    let gone = subscription_event("evt_5", user, view("sub_1", "cus_1", "active", at(50)));
    assert_eq!(
        store.apply_event(&gone).await.unwrap(),
        ApplyOutcome::UnknownUser
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM stripe_events WHERE event_id = 'evt_5'".into())
            .await,
        0
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM billing_customers".into())
            .await,
        0
    );
}

pub async fn a_payment_record_whose_stored_status_is_unknown_is_refused_as_corrupt(db: &TestDb) {
    clock(db);
    let store = billing(db);
    let user = signed_up(&db.stores(), "ada@example.com").await.id;
    let event = payment_event("evt_1", payment("in_1", user, PaymentStatus::Paid, t0()));
    assert_eq!(
        store.apply_event(&event).await.unwrap(),
        ApplyOutcome::Applied
    );
    // A status only a later version writes (say, after a rollback).
    db.exec("UPDATE payment_records SET status = 'refunded'".into())
        .await;

    match store.payment_records(user).await {
        Err(StoreError::Corrupt(what)) => {
            assert_eq!(what, "payment_records.status: unknown payment status");
        }
        other => panic!("expected a corrupt row, got {other:?}"),
    }
}

pub async fn pending_intents_are_reused_only_for_the_same_request_in_the_window(db: &TestDb) {
    let store = db.stores();
    let user = signed_up(&store, "ada@example.com").await.id;
    let intent = |request: &str, at: DateTime<Utc>| NewIntent {
        id: Uuid::new_v4(),
        user,
        kind: IntentKind::Checkout,
        request: request.to_owned(),
        at,
        reuse_since: at - Duration::hours(1),
    };
    let first = store
        .intents
        .open_billing_intent(&intent(r#"{"plan":"starter"}"#, t0()))
        .await
        .unwrap();
    assert!(!first.reused);
    assert_eq!(
        first.idempotency_key.as_str(),
        format!("checkout:{user}:{}", first.id)
    );
    let retry = store
        .intents
        .open_billing_intent(&intent(
            r#"{"plan":"starter"}"#,
            t0() + Duration::minutes(5),
        ))
        .await
        .unwrap();
    assert_eq!((retry.id, retry.reused), (first.id, true));
    assert_eq!(retry.idempotency_key, first.idempotency_key);

    let other_plan = store
        .intents
        .open_billing_intent(&intent(r#"{"plan":"pro"}"#, t0()))
        .await
        .unwrap();
    assert_ne!(
        other_plan.id, first.id,
        "another request never reuses a key"
    );

    store
        .intents
        .finish_billing_intent(
            first.id,
            &IntentOutcome::Opened {
                session_id: "cs_1".into(),
            },
            t0(),
        )
        .await
        .unwrap();
    let after = store
        .intents
        .open_billing_intent(&intent(r#"{"plan":"starter"}"#, t0()))
        .await
        .unwrap();
    assert!(!after.reused, "a finished intent is not reused");
    let much_later = store
        .intents
        .open_billing_intent(&intent(r#"{"plan":"starter"}"#, t0() + Duration::hours(2)))
        .await
        .unwrap();
    assert!(
        !much_later.reused,
        "a pending intent older than the window is not reused"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM billing_intents".into())
            .await,
        4
    );
}

pub async fn events_of_unknown_users_record_nothing_and_unreadable_ones_are_marked(db: &TestDb) {
    clock(db);
    let store = billing(db);
    let stranger = UserId::new();
    let link = BillingEvent {
        id: "evt_link_stranger".to_owned(),
        kind: "checkout.session.completed".to_owned(),
        created: t0(),
        effect: BillingEffect::LinkCustomer {
            user: stranger,
            customer: customer("cus_Stranger"),
        },
    };
    let update = subscription_event(
        "evt_sub_stranger",
        stranger,
        view("sub_Stranger", "cus_Stranger", "active", t0()),
    );
    for event in [&link, &update] {
        assert_eq!(
            store.apply_event(event).await.unwrap(),
            ApplyOutcome::UnknownUser,
            "{}",
            event.id
        );
    }
    for table in ["stripe_events", "billing_customers"] {
        assert_eq!(
            db.count(format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table}: nothing recorded, not even the event id"
        );
    }
    assert_eq!(store.account(stranger).await.unwrap(), None);

    // A signed event we cannot read: its id and type, marked, once.
    let unreadable = BillingEvent {
        id: "evt_unreadable".to_owned(),
        kind: "customer.subscription.updated".to_owned(),
        created: t0(),
        effect: BillingEffect::Unprocessable,
    };
    assert_eq!(
        store.apply_event(&unreadable).await.unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(
        store.apply_event(&unreadable).await.unwrap(),
        ApplyOutcome::AlreadyApplied
    );
    let ada = signed_up(&db.stores(), "ada@example.com").await.id;
    let readable = subscription_event(
        "evt_readable",
        ada,
        view("sub_Ada", "cus_Ada", "active", t0()),
    );
    assert_eq!(
        store.apply_event(&readable).await.unwrap(),
        ApplyOutcome::Applied
    );
    assert_eq!(
        db.strings(
            "SELECT event_id FROM stripe_events WHERE unprocessable = TRUE ORDER BY event_id"
                .into()
        )
        .await,
        vec!["evt_unreadable".to_owned()]
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM stripe_events".into()).await,
        2
    );
}
