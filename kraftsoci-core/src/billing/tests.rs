use chrono::{DateTime, Datelike, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::UserId;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
}

fn view(sub: &str, status: &str, as_of: i64) -> SubscriptionSnapshot {
    SubscriptionSnapshot {
        subscription_id: SubscriptionId::parse(sub).unwrap(),
        customer: BillingCustomerId::parse("cus_1").unwrap(),
        status: SubscriptionStatus::parse(status),
        price_id: Some(PriceId::parse("price_1").unwrap()),
        current_period_start: Some(at(0)),
        current_period_end: Some(at(30 * 86_400)),
        cancel_at_period_end: false,
        as_of: at(as_of),
    }
}

fn status_of(account: &BillingAccount) -> &str {
    account
        .subscription
        .as_ref()
        .map(|s| s.snapshot.status.as_str())
        .unwrap_or("none")
}

#[test]
fn statuses_round_trip_and_unknown_ones_are_kept() {
    for status in SubscriptionStatus::KNOWN {
        assert_eq!(SubscriptionStatus::parse(status.as_str()), status);
    }
    let odd = SubscriptionStatus::parse("frozen");
    assert_eq!(odd, SubscriptionStatus::Unknown("frozen".into()));
    assert_eq!(serde_json::to_string(&odd).unwrap(), "\"frozen\"");
}

#[test]
fn an_older_view_of_the_same_subscription_is_ignored() {
    let mut account = BillingAccount::new(UserId::new());
    assert_eq!(
        account.merge(&view("sub_1", "past_due", 20)),
        MergeOutcome::Changed
    );
    assert_eq!(
        account.merge(&view("sub_1", "active", 10)),
        MergeOutcome::Superseded
    );
    assert_eq!(status_of(&account), "past_due");
}

#[test]
fn a_canceled_subscription_is_never_revived_even_by_a_same_second_view() {
    let mut account = BillingAccount::new(UserId::new());
    account.merge(&view("sub_1", "canceled", 10));
    assert_eq!(
        account.merge(&view("sub_1", "active", 10)),
        MergeOutcome::Superseded
    );
    assert_eq!(
        account.merge(&view("sub_1", "active", 99)),
        MergeOutcome::Superseded
    );
    assert_eq!(status_of(&account), "canceled");
}

#[test]
fn a_new_live_subscription_replaces_an_ended_one_in_any_order() {
    let mut account = BillingAccount::new(UserId::new());
    account.merge(&view("sub_old", "canceled", 50));
    assert_eq!(
        account.merge(&view("sub_new", "active", 40)),
        MergeOutcome::Changed
    );
    // The old one's late cancellation does not touch the new subscription.
    assert_eq!(
        account.merge(&view("sub_old", "canceled", 60)),
        MergeOutcome::Superseded
    );
    assert_eq!(status_of(&account), "active");
}

#[test]
fn past_due_remembers_when_it_started() {
    let mut account = BillingAccount::new(UserId::new());
    account.merge(&view("sub_1", "active", 0));
    account.merge(&view("sub_1", "past_due", 100));
    account.merge(&view("sub_1", "past_due", 200));
    let state = account.subscription.as_ref().unwrap();
    assert_eq!(state.past_due_since, Some(at(100)));
    account.merge(&view("sub_1", "active", 300));
    assert_eq!(account.subscription.as_ref().unwrap().past_due_since, None);
}

#[test]
fn a_view_for_another_customer_is_ignored() {
    let mut account = BillingAccount::new(UserId::new());
    account.link_customer(&BillingCustomerId::parse("cus_mine").unwrap());
    assert_eq!(
        account.merge(&view("sub_1", "active", 0)),
        MergeOutcome::Superseded
    );
    assert!(account.subscription.is_none());
}

#[test]
fn a_paid_invoice_stays_paid() {
    let paid = PaymentRecord {
        invoice_id: InvoiceId::parse("in_1").unwrap(),
        user: UserId::new(),
        customer: BillingCustomerId::parse("cus_1").unwrap(),
        subscription_id: None,
        status: PaymentStatus::Paid,
        amount_due: 900,
        amount_paid: 900,
        currency: "eur".into(),
        period_start: None,
        period_end: None,
        paid_at: Some(at(10)),
        as_of: at(10),
    };
    let failed = PaymentRecord {
        status: PaymentStatus::Failed,
        amount_paid: 0,
        paid_at: None,
        as_of: at(20),
        ..paid.clone()
    };
    assert!(!failed.supersedes(&paid));
    assert!(paid.supersedes(&failed));
    assert_eq!(paid.retain_until().year(), 2027 + 10);
}

#[test]
fn a_cancellation_key_is_the_same_for_every_retry_of_one_closure_and_differs_between_closures() {
    let closure = crate::RequestId::new();
    let sub = SubscriptionId::parse("sub_1QzX8e2eZvKYlo2C").unwrap();
    let first = IdempotencyKey::for_cancellation(closure, &sub).unwrap();
    let again = IdempotencyKey::for_cancellation(closure, &sub).unwrap();
    assert_eq!(first, again);
    assert_eq!(
        first.as_str(),
        format!("cancel:{closure}:sub_1QzX8e2eZvKYlo2C")
    );
    let later = IdempotencyKey::for_cancellation(crate::RequestId::new(), &sub).unwrap();
    assert_ne!(first, later);
    let other = SubscriptionId::parse("sub_other").unwrap();
    assert_ne!(
        first,
        IdempotencyKey::for_cancellation(closure, &other).unwrap()
    );
    let long = SubscriptionId::parse("s".repeat(255)).unwrap();
    assert!(IdempotencyKey::for_cancellation(closure, &long).is_err());
}

#[test]
fn idempotency_keys_are_checked() {
    let user = UserId::new();
    let intent = Uuid::new_v4();
    let key = IdempotencyKey::for_intent("checkout", user, intent).unwrap();
    assert_eq!(key.as_str(), format!("checkout:{user}:{intent}"));
    assert!(IdempotencyKey::parse("").is_err());
    assert!(IdempotencyKey::parse("a b").is_err());
    assert!(IdempotencyKey::parse("k".repeat(256)).is_err());
    assert!(BillingCustomerId::parse("cus_ 1").is_err());
}
