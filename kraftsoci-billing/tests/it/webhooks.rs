//! Event handling: idempotency, ordering, unknown types and statuses, storage failures.

use std::sync::Arc;

use kraftsoci_billing::*;
use kraftsoci_core::ports::MockBillingStore;
use kraftsoci_core::{Clock, StoreError, UserId};
use serde_json::json;

use crate::helpers::*;

fn sub_event(
    id: &str,
    kind: &str,
    created: i64,
    status: &str,
    period_start: i64,
) -> serde_json::Value {
    event(
        id,
        kind,
        created,
        subscription(
            "sub_A",
            "cus_A",
            status,
            "price_starter",
            period_start,
            None,
        ),
    )
}

#[tokio::test]
async fn the_same_event_delivered_twice_has_one_effect() {
    let h = Harness::new();
    let user = h.customer("cus_A").await;
    let e = sub_event(
        "evt_1",
        "customer.subscription.created",
        h.now(),
        "active",
        h.now(),
    );
    assert_eq!(h.deliver(&e).await.unwrap().result, WebhookResult::Applied);
    assert_eq!(
        h.deliver(&e).await.unwrap().result,
        WebhookResult::AlreadyApplied
    );
    assert_eq!(h.store.recorded_events(), 1);
    assert!(h.grants(user).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_delivered_concurrently_is_applied_exactly_once() {
    let h = Arc::new(Harness::new());
    h.customer("cus_A").await;
    let e = sub_event(
        "evt_race",
        "customer.subscription.created",
        h.now(),
        "active",
        h.now(),
    );
    let deliveries: Vec<_> = (0..8)
        .map(|_| {
            let (h, e) = (h.clone(), e.clone());
            tokio::spawn(async move { h.deliver(&e).await })
        })
        .collect();
    let mut results = Vec::new();
    for d in deliveries {
        results.push(d.await.unwrap().unwrap().result);
    }
    assert_eq!(
        results
            .iter()
            .filter(|r| **r == WebhookResult::Applied)
            .count(),
        1
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| **r == WebhookResult::AlreadyApplied)
            .count(),
        7
    );
    assert_eq!(h.store.recorded_events(), 1);
}

#[tokio::test]
async fn a_deletion_arriving_before_an_older_active_update_leaves_no_access() {
    let h = Harness::new();
    let user = h.customer("cus_A").await;
    let start = h.now() - 10 * DAY;
    let created = sub_event(
        "evt_c",
        "customer.subscription.created",
        start,
        "active",
        start,
    );
    let updated = sub_event(
        "evt_u",
        "customer.subscription.updated",
        h.now() - 60,
        "active",
        start,
    );
    let deleted = sub_event(
        "evt_d",
        "customer.subscription.deleted",
        h.now() - 30,
        "canceled",
        start,
    );

    assert_eq!(
        h.deliver(&created).await.unwrap().result,
        WebhookResult::Applied
    );
    assert_eq!(
        h.deliver(&deleted).await.unwrap().result,
        WebhookResult::Applied
    );
    assert!(!h.grants(user).await);
    // The older update arrives last: recorded, but it cannot revive the subscription.
    assert_eq!(
        h.deliver(&updated).await.unwrap().result,
        WebhookResult::Superseded
    );
    assert!(!h.grants(user).await);
    assert!(matches!(
        h.entitlements.reserve(user, QuotaKind::Posts, 1).await,
        Err(EntitlementError::NoAccess { status }) if status == "canceled"
    ));
}

#[tokio::test]
async fn every_arrival_order_of_a_subscription_lifecycle_ends_in_the_same_state() {
    let start = t0().timestamp() - 20 * DAY;
    let events = [
        sub_event(
            "evt_1",
            "customer.subscription.created",
            start,
            "incomplete",
            start,
        ),
        sub_event(
            "evt_2",
            "customer.subscription.updated",
            start + 60,
            "active",
            start,
        ),
        sub_event(
            "evt_3",
            "customer.subscription.updated",
            start + 2 * DAY,
            "past_due",
            start,
        ),
        sub_event(
            "evt_4",
            "customer.subscription.updated",
            start + 3 * DAY,
            "active",
            start,
        ),
    ];
    let orders: [[usize; 4]; 6] = [
        [0, 1, 2, 3],
        [3, 2, 1, 0],
        [1, 3, 0, 2],
        [2, 0, 3, 1],
        [3, 0, 2, 1],
        [0, 3, 1, 2],
    ];
    for order in orders {
        let h = Harness::new();
        let user = h.customer("cus_A").await;
        for i in order {
            h.deliver(&events[i]).await.unwrap();
        }
        let account = h.store.account(user).await.unwrap().unwrap();
        let state = account.subscription.unwrap();
        assert_eq!(
            state.snapshot.status,
            SubscriptionStatus::Active,
            "order {order:?}"
        );
        assert_eq!(state.past_due_since, None);
        assert!(h.grants(user).await);
    }
}

#[tokio::test]
async fn statuses_grant_access_as_the_table_says_end_to_end() {
    let table = [
        ("trialing", true),
        ("active", true),
        ("past_due", true),
        ("incomplete", false),
        ("incomplete_expired", false),
        ("unpaid", false),
        ("canceled", false),
        ("paused", false),
        ("suspended_by_a_future_api", false),
    ];
    for (status, grants) in table {
        let h = Harness::new();
        let user = h.customer("cus_A").await;
        let e = sub_event(
            "evt_s",
            "customer.subscription.updated",
            h.now(),
            status,
            h.now() - DAY,
        );
        assert_eq!(
            h.deliver(&e).await.unwrap().result,
            WebhookResult::Applied,
            "{status}"
        );
        assert_eq!(h.grants(user).await, grants, "{status}");
        let reserved = h.entitlements.reserve(user, QuotaKind::Posts, 1).await;
        assert_eq!(reserved.is_ok(), grants, "{status}: {reserved:?}");
    }
}

#[tokio::test]
async fn past_due_keeps_access_for_the_grace_period_only() {
    let h = Harness::new();
    let user = h.customer("cus_A").await;
    let start = h.now() - 5 * DAY;
    h.deliver(&sub_event(
        "evt_a",
        "customer.subscription.created",
        start,
        "active",
        start,
    ))
    .await
    .unwrap();
    h.deliver(&sub_event(
        "evt_p",
        "customer.subscription.updated",
        h.now(),
        "past_due",
        start,
    ))
    .await
    .unwrap();
    h.clock
        .advance(chrono::Duration::days(3) - chrono::Duration::seconds(1));
    assert!(h.grants(user).await);
    // A later past_due update (another failed retry) does not restart the grace period.
    h.deliver(&sub_event(
        "evt_p2",
        "customer.subscription.updated",
        h.now(),
        "past_due",
        start,
    ))
    .await
    .unwrap();
    h.clock.advance(chrono::Duration::seconds(1));
    assert!(!h.grants(user).await);
}

#[tokio::test]
async fn unknown_event_types_are_acknowledged_and_ignored() {
    let h = Harness::new();
    let user = h.customer("cus_A").await;
    let e = event(
        "evt_x",
        "customer.tax_id.created",
        h.now(),
        json!({"id": "txi_1", "object": "tax_id"}),
    );
    let outcome = h.deliver(&e).await.unwrap();
    assert!(matches!(outcome.result, WebhookResult::Ignored(_)));
    assert_eq!(h.store.recorded_events(), 0);
    assert!(!h.grants(user).await);
}

#[tokio::test]
async fn a_completed_checkout_links_the_customer_and_metadata_finds_the_user() {
    let h = Harness::new();
    let user = UserId::new();
    // The subscription event comes first and carries our metadata; checkout comes later.
    let object = subscription("sub_B", "cus_B", "active", "price_pro", h.now(), Some(user));
    let sub = event("evt_s", "customer.subscription.created", h.now(), object);
    assert_eq!(
        h.deliver(&sub).await.unwrap().result,
        WebhookResult::Applied
    );
    let done = event(
        "evt_k",
        "checkout.session.completed",
        h.now(),
        checkout_session(user, "cus_B", "sub_B"),
    );
    assert_eq!(
        h.deliver(&done).await.unwrap().result,
        WebhookResult::Superseded
    );
    let account = h.store.account(user).await.unwrap().unwrap();
    assert_eq!(account.customer.unwrap().as_str(), "cus_B");
    let entitlement = h.entitlements.entitlement(user).await.unwrap();
    assert_eq!(entitlement.plan.unwrap().name.as_str(), "pro");
}

#[tokio::test]
async fn a_checkout_links_a_new_customer() {
    let h = Harness::new();
    let user = UserId::new();
    let done = event(
        "evt_k",
        "checkout.session.completed",
        h.now(),
        checkout_session(user, "cus_C", "sub_C"),
    );
    assert_eq!(
        h.deliver(&done).await.unwrap().result,
        WebhookResult::Applied
    );
    let owner = h
        .store
        .user_for_customer(&BillingCustomerId::parse("cus_C").unwrap())
        .await;
    assert_eq!(owner.unwrap(), Some(user));
    // A one-off payment checkout is not about subscriptions.
    let mut payment = checkout_session(user, "cus_C", "sub_C");
    payment["mode"] = json!("payment");
    let outcome = h
        .deliver(&event(
            "evt_k2",
            "checkout.session.completed",
            h.now(),
            payment,
        ))
        .await;
    assert!(matches!(outcome.unwrap().result, WebhookResult::Ignored(_)));
}

#[tokio::test]
async fn a_subscription_of_a_customer_that_is_not_ours_is_ignored() {
    let h = Harness::new();
    let e = sub_event(
        "evt_f",
        "customer.subscription.created",
        h.now(),
        "active",
        h.now(),
    );
    assert_eq!(
        h.deliver(&e).await.unwrap().result,
        WebhookResult::IgnoredUnknownCustomer
    );
    assert_eq!(h.store.recorded_events(), 0);
    assert!(h.store.calls().is_empty());
}

#[tokio::test]
async fn events_of_a_customer_that_was_never_ours_reach_no_store_write_at_all() {
    let clock = std::sync::Arc::new(kraftsoci_core::ManualClock::new(t0()));
    let mut store = MockBillingStore::new();
    store.expect_user_for_customer().returning(|_| Ok(None));
    store.expect_apply_event().never();
    store.expect_link_customer().never();
    let secret = random_secret();
    let webhooks = WebhookProcessor::new(
        WebhookVerifier::new(secret.clone()),
        Arc::new(store),
        clock.clone(),
    );
    let now = clock.now().timestamp();
    let strangers = [
        sub_event(
            "evt_s1",
            "customer.subscription.updated",
            now,
            "active",
            now,
        ),
        event(
            "evt_s2",
            "invoice.paid",
            now,
            invoice_with_card("in_S", "cus_Stranger", "sub_S", true, now),
        ),
    ];
    for stranger in strangers {
        let body = serde_json::to_vec(&stranger).unwrap();
        let outcome = webhooks
            .handle(Some(&signature_header(&secret, now, &body)), &body)
            .await
            .unwrap();
        assert_eq!(outcome.result, WebhookResult::IgnoredUnknownCustomer);
        assert_eq!(outcome.result.as_str(), "ignored_unknown_customer");
    }
}

#[tokio::test]
async fn events_for_a_purged_customer_are_acknowledged_and_never_recreate_the_account() {
    let h = Harness::new();
    let user = h.customer("cus_Purged").await;
    let at = h.now() - 120;
    let created = event(
        "evt_g1",
        "customer.subscription.created",
        at,
        subscription(
            "sub_G",
            "cus_Purged",
            "active",
            "price_starter",
            at,
            Some(user),
        ),
    );
    assert_eq!(
        h.deliver(&created).await.unwrap().result,
        WebhookResult::Applied
    );
    let recorded = h.store.recorded_events();

    // The purge forgets the account; Stripe's late and retried events then arrive, each still
    // carrying our user id in its metadata.
    h.store.erase_user(user);
    let late = [
        event(
            "evt_g2",
            "customer.subscription.deleted",
            h.now(),
            subscription(
                "sub_G",
                "cus_Purged",
                "canceled",
                "price_starter",
                at,
                Some(user),
            ),
        ),
        event(
            "evt_g3",
            "customer.subscription.updated",
            h.now(),
            subscription(
                "sub_G",
                "cus_Purged",
                "active",
                "price_starter",
                at,
                Some(user),
            ),
        ),
        event(
            "evt_g4",
            "checkout.session.completed",
            h.now(),
            checkout_session(user, "cus_Purged", "sub_G"),
        ),
        created,
    ];
    for delivery in &late {
        let outcome = h.deliver(delivery).await.unwrap();
        assert_eq!(
            outcome.result,
            WebhookResult::IgnoredUnknownCustomer,
            "{}",
            outcome.event_type
        );
    }
    assert_eq!(h.store.account(user).await.unwrap(), None);
    assert_eq!(
        h.store
            .user_for_customer(&BillingCustomerId::parse("cus_Purged").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(h.store.recorded_events(), recorded, "nothing was recorded");
    assert!(!h.grants(user).await);
}

#[tokio::test]
async fn a_late_payment_of_a_purged_customer_is_kept_in_the_ledger_detached_from_any_account() {
    // P17: payment records outlive the account; the invoice is Stripe's final one.
    let h = Harness::new();
    let user = h.customer("cus_Final").await;
    h.store.erase_user(user);
    let mut invoice = invoice_with_card("in_Final", "cus_Final", "sub_F", true, h.now());
    invoice["parent"]["subscription_details"]["metadata"] =
        json!({ "kraftsoci_user_id": user.to_string() });
    let outcome = h
        .deliver(&event("evt_final", "invoice.paid", h.now(), invoice))
        .await
        .unwrap();
    assert_eq!(outcome.result, WebhookResult::Applied);
    assert_eq!(h.store.account(user).await.unwrap(), None);
    assert!(h.store.payment_records(user).await.unwrap().is_empty());
}

#[tokio::test]
async fn invoices_become_payment_records_and_a_paid_invoice_stays_paid() {
    let h = Harness::new();
    let user = h.customer("cus_A").await;
    let paid_at = h.now() - 120;
    let paid = event(
        "evt_paid",
        "invoice.paid",
        h.now() - 100,
        invoice_with_card("in_1", "cus_A", "sub_A", true, paid_at),
    );
    let failed = event(
        "evt_fail",
        "invoice.payment_failed",
        h.now() - 200,
        invoice_with_card("in_1", "cus_A", "sub_A", false, paid_at),
    );
    assert_eq!(
        h.deliver(&paid).await.unwrap().result,
        WebhookResult::Applied
    );
    assert_eq!(
        h.deliver(&failed).await.unwrap().result,
        WebhookResult::Superseded
    );

    let records = h.store.payment_records(user).await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.invoice_id.as_str(), "in_1");
    assert_eq!(record.status, PaymentStatus::Paid);
    assert_eq!((record.amount_due, record.amount_paid), (1900, 1900));
    assert_eq!(record.currency, "eur");
    assert_eq!(record.subscription_id.as_ref().unwrap().as_str(), "sub_A");
    assert_eq!(record.paid_at.unwrap().timestamp(), paid_at + 60);
    assert_eq!(record.period_start.unwrap().timestamp(), paid_at);
    assert_eq!(record.period_end.unwrap().timestamp(), paid_at + 30 * DAY);
    assert!(record.retain_until() >= h.clock.now() + chrono::Duration::days(365 * 10 - 1));
}

#[tokio::test]
async fn a_storage_failure_is_not_a_bad_webhook_so_stripe_retries() {
    let clock = Arc::new(kraftsoci_core::ManualClock::new(t0()));
    let mut store = MockBillingStore::new();
    store
        .expect_user_for_customer()
        .returning(|_| Ok(Some(UserId::new())));
    store
        .expect_apply_event()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("connection refused".into())));
    let secret = random_secret();
    let webhooks = WebhookProcessor::new(
        WebhookVerifier::new(secret.clone()),
        Arc::new(store),
        clock.clone(),
    );
    let now = clock.now().timestamp();
    let body = serde_json::to_vec(&sub_event(
        "evt_db",
        "customer.subscription.updated",
        now,
        "active",
        now,
    ))
    .unwrap();
    let err = webhooks
        .handle(Some(&signature_header(&secret, now, &body)), &body)
        .await
        .unwrap_err();
    assert!(
        matches!(err, BillingError::Store(StoreError::Unavailable(_))),
        "{err:?}"
    );
    assert!(!err.is_bad_webhook());
    assert!(err.is_transient());
}
