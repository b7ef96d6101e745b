//! Quotas: reserve / commit / release, concurrency, the free plan, the overview.

use std::sync::Arc;

use kraftsoci_billing::*;
use kraftsoci_core::UserId;

use crate::helpers::*;

async fn subscribed(h: &Harness, customer: &str, price: &str) -> UserId {
    let user = h.customer(customer).await;
    let object = subscription("sub_Q", customer, "active", price, h.now() - DAY, None);
    h.deliver(&event(
        "evt_q",
        "customer.subscription.created",
        h.now(),
        object,
    ))
    .await
    .unwrap();
    user
}

#[tokio::test]
async fn a_failed_generation_gives_its_reservation_back() {
    let h = Harness::new();
    let user = subscribed(&h, "cus_Q", "price_starter").await; // 4 images
    let first = h
        .entitlements
        .reserve(user, QuotaKind::Images, 3)
        .await
        .unwrap();
    assert!(matches!(
        h.entitlements.reserve(user, QuotaKind::Images, 2).await,
        Err(EntitlementError::QuotaExceeded {
            kind: QuotaKind::Images,
            limit: 4
        })
    ));
    h.entitlements.release(&first).await.unwrap();
    h.entitlements.release(&first).await.unwrap();
    let second = h
        .entitlements
        .reserve(user, QuotaKind::Images, 4)
        .await
        .unwrap();
    h.entitlements.commit(&second).await.unwrap();
    // Releasing a committed reservation does not give it back.
    h.entitlements.release(&second).await.unwrap();
    assert!(
        h.entitlements
            .reserve(user, QuotaKind::Images, 1)
            .await
            .is_err()
    );
    // Posts are counted separately.
    assert!(
        h.entitlements
            .reserve(user, QuotaKind::Posts, 10)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_request_larger_than_the_plan_is_refused_outright() {
    let h = Harness::new();
    let user = subscribed(&h, "cus_Q", "price_starter").await;
    assert!(matches!(
        h.entitlements.reserve(user, QuotaKind::Posts, 11).await,
        Err(EntitlementError::QuotaExceeded { limit: 10, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reservations_never_exceed_the_limit() {
    let h = Arc::new(Harness::new());
    let user = subscribed(&h, "cus_Q", "price_starter").await; // 10 posts
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move { h.entitlements.reserve(user, QuotaKind::Posts, 1).await })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => granted += 1,
            Err(EntitlementError::QuotaExceeded { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(granted, 10);
    assert_eq!(
        h.entitlements
            .overview(user)
            .await
            .unwrap()
            .usage
            .posts_used,
        10
    );
}

#[tokio::test]
async fn the_quota_resets_with_the_next_billing_period() {
    let h = Harness::new();
    let user = subscribed(&h, "cus_Q", "price_starter").await;
    let r = h
        .entitlements
        .reserve(user, QuotaKind::Posts, 10)
        .await
        .unwrap();
    h.entitlements.commit(&r).await.unwrap();
    assert!(
        h.entitlements
            .reserve(user, QuotaKind::Posts, 1)
            .await
            .is_err()
    );
    // Renewal: Stripe reports the new period.
    h.clock
        .advance(chrono::Duration::days(29) + chrono::Duration::hours(1));
    let renewed = subscription(
        "sub_Q",
        "cus_Q",
        "active",
        "price_starter",
        h.now() - 3_600,
        None,
    );
    h.deliver(&event(
        "evt_r",
        "customer.subscription.updated",
        h.now(),
        renewed,
    ))
    .await
    .unwrap();
    assert!(
        h.entitlements
            .reserve(user, QuotaKind::Posts, 10)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn without_a_subscription_the_free_plan_applies_when_configured() {
    let h = Harness::with_plans(PlanTable::development());
    let user = UserId::new();
    let overview = h.entitlements.overview(user).await.unwrap();
    assert_eq!(overview.plan.as_deref(), Some("free"));
    assert_eq!(overview.status, "none");
    assert_eq!(
        (overview.usage.posts_limit, overview.usage.images_limit),
        (10, 5)
    );
    assert!(
        h.entitlements
            .reserve(user, QuotaKind::Posts, 1)
            .await
            .is_ok()
    );

    let paid_only = Harness::new();
    assert!(matches!(
        paid_only.entitlements.reserve(user, QuotaKind::Posts, 1).await,
        Err(EntitlementError::NoAccess { status }) if status == "none"
    ));
    let overview = paid_only.entitlements.overview(user).await.unwrap();
    assert_eq!(overview.plan, None);
    assert_eq!(overview.usage.posts_limit, 0);
}

#[tokio::test]
async fn the_overview_reports_plan_status_period_and_usage() {
    let h = Harness::new();
    let user = subscribed(&h, "cus_Q", "price_pro").await;
    let r = h
        .entitlements
        .reserve(user, QuotaKind::Images, 2)
        .await
        .unwrap();
    h.entitlements.commit(&r).await.unwrap();
    let overview = h.entitlements.overview(user).await.unwrap();
    assert_eq!(overview.plan.as_deref(), Some("pro"));
    assert_eq!(overview.status, "active");
    assert_eq!(overview.access, Access::Granted);
    assert_eq!(
        overview.current_period_end.unwrap().timestamp(),
        h.now() - DAY + 30 * DAY
    );
    let usage = overview.usage;
    assert_eq!(
        (
            usage.posts_used,
            usage.posts_limit,
            usage.images_used,
            usage.images_limit
        ),
        (0, 100, 2, 40)
    );
    let json = serde_json::to_value(&overview).unwrap();
    assert_eq!(json["usage"]["images_limit"], 40);
}

#[tokio::test]
async fn a_subscription_to_an_unconfigured_price_grants_no_quota() {
    let h = Harness::new();
    let user = subscribed(&h, "cus_Q", "price_removed_plan").await;
    assert!(matches!(
        h.entitlements.reserve(user, QuotaKind::Posts, 1).await,
        Err(EntitlementError::NoAccess { status }) if status == "unknown_plan"
    ));
}
