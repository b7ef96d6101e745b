//! Closing an account stops billing at once and the purge erases the Stripe customer (P19,
//! P28), against a wiremock Stripe: exactly one cancel per subscription, retries with the same
//! key until Stripe confirms, and purges Stripe does not confirm listed for the operator.

use std::time::Duration;

use chrono::Duration as Days;
use kraftsoci_billing::PlanTable;
use kraftsoci_core::Clock as _;
use kraftsoci_core::ports::BillingCustomerId;
use kraftsoci_core::retention::SweepMode;
use kraftsoci_server::config::Config;
use kraftsoci_server::retention::{Sweep, SweepRun};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{PASSWORD, TestApp, TestUser, spawn_app_with};
use crate::rights::user_id;

const WEBHOOK_SECRET: &str = "whsec_closure_6d1e0a9c4b7f2e5d8a3c1b0f";

const PLANS: &str = r#"[
    {"name": "free", "monthly_posts": 3, "monthly_images": 1},
    {"name": "starter", "price_id": "price_starter", "monthly_posts": 10, "monthly_images": 4}
]"#;

fn configure_stripe(config: &mut Config, api_base: &str) {
    config.stripe.secret_key = Some(SecretString::from(
        "sk_test_kraftsoci_9fK2mQx7Lp4Rt8Wz1Vb6Nc3d",
    ));
    config.stripe.webhook_secret = Some(SecretString::from(WEBHOOK_SECRET));
    config.stripe.api_base = url::Url::parse(api_base).unwrap();
    config.billing.plans = PlanTable::from_json(PLANS).unwrap();
    config.billing.stripe_timeout = Duration::from_millis(300);
}

async fn spawn_closure_app() -> (TestApp, MockServer) {
    let stripe = MockServer::start().await;
    let uri = stripe.uri();
    let app = spawn_app_with(|config| configure_stripe(config, &uri)).await;
    (app, stripe)
}

fn subscription(id: &str, customer: &str, status: &str) -> Value {
    let start = 1_780_000_000_i64;
    json!({
        "id": id,
        "object": "subscription",
        "cancel_at_period_end": false,
        "created": start,
        "currency": "eur",
        "customer": customer,
        "items": {
            "object": "list",
            "data": [{
                "id": "si_Close1",
                "object": "subscription_item",
                "current_period_start": start,
                "current_period_end": start + 30 * 86_400,
                "price": { "id": "price_starter", "object": "price", "currency": "eur",
                           "unit_amount": 1900,
                           "recurring": { "interval": "month", "interval_count": 1 } },
                "quantity": 1
            }],
            "has_more": false
        },
        "livemode": false,
        "metadata": {},
        "start_date": start,
        "status": status
    })
}

/// A signed-up user whose account is linked to the Stripe customer `customer`, which has one
/// live subscription `subscription`.
async fn subscribed(
    app: &TestApp,
    stripe: &MockServer,
    email: &str,
    customer: &str,
    sub: &str,
) -> TestUser {
    let user = app.signup_user(email).await;
    app.state
        .stores
        .billing
        .link_customer(user_id(&user), &BillingCustomerId::parse(customer).unwrap())
        .await
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .and(query_param("customer", customer))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "url": "/v1/subscriptions", "has_more": false,
            "data": [subscription(sub, customer, "active")]
        })))
        .mount(stripe)
        .await;
    user
}

fn cancel(sub: &str) -> wiremock::MockBuilder {
    Mock::given(method("DELETE")).and(path(format!("/v1/subscriptions/{sub}")))
}

fn stripe_500() -> ResponseTemplate {
    ResponseTemplate::new(500)
        .insert_header("request-id", "req_Down1")
        .set_body_json(json!({ "error": {
            "type": "api_error", "message": "Something went wrong on Stripe's end."
        }}))
}

async fn requests_to(stripe: &MockServer, http_method: &str, url_path: &str) -> Vec<Request> {
    stripe
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == http_method && r.url.path() == url_path)
        .collect()
}

fn key_of(request: &Request) -> String {
    request.headers["idempotency-key"]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn sweep(app: &TestApp) -> SweepRun {
    Sweep::for_state(&app.state)
        .unwrap()
        .run(SweepMode::Purge)
        .await
}

#[tokio::test]
async fn closing_cancels_the_subscription_once_at_once_and_the_purge_deletes_the_customer() {
    let (app, stripe) = spawn_closure_app().await;
    let ada = subscribed(&app, &stripe, "ada@example.com", "cus_Close1", "sub_Close1").await;
    cancel("sub_Close1")
        .and(header_exists("idempotency-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription(
            "sub_Close1",
            "cus_Close1",
            "canceled",
        )))
        .expect(1)
        .mount(&stripe)
        .await;

    let response = app.close_me(&ada.access, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    // Cancelled before the closure answered: nothing waits.
    let stopped = format!(
        "SELECT COUNT(*) FROM billing_stops WHERE user_id = '{}' AND stopped_at IS NOT NULL \
         AND attempts = 1 AND last_error IS NULL",
        ada.id
    );
    assert_eq!(app.db.count(stopped).await, 1);
    // A sweep has nothing to retry and sends no second cancel.
    let run = sweep(&app).await;
    assert_eq!(run.billing_stops_retried, 0);
    assert!(run.billing_stops_pending.is_empty());
    assert_eq!(
        requests_to(&stripe, "DELETE", "/v1/subscriptions/sub_Close1")
            .await
            .len(),
        1
    );

    // The purge asks Stripe to delete the customer before the rows go.
    Mock::given(method("DELETE"))
        .and(path("/v1/customers/cus_Close1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cus_Close1", "object": "customer", "deleted": true
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    app.clock.advance(Days::days(30));
    let run = sweep(&app).await;
    assert!(run.is_clean(), "{run:?}");
    for table in ["users", "billing_customers", "billing_stops"] {
        let left = format!("SELECT COUNT(*) FROM {table} WHERE user_id = '{}'", ada.id)
            .replace("users WHERE user_id", "users WHERE id");
        assert_eq!(app.db.count(left).await, 0, "{table}");
    }
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM erasure_proofs".to_owned())
            .await,
        1
    );

    // A late event of the purged customer is acknowledged and recreates nothing.
    let events_before = app
        .db
        .count("SELECT COUNT(*) FROM stripe_events".to_owned())
        .await;
    let mut late = subscription("sub_Close1", "cus_Close1", "active");
    late["metadata"] = json!({ "kraftsoci_user_id": ada.id });
    let body = serde_json::to_vec(&json!({
        "id": "evt_LateClose1", "object": "event", "api_version": "2026-09-30.endive",
        "created": app.clock.now().timestamp(), "livemode": false, "pending_webhooks": 1,
        "data": { "object": late, "previous_attributes": {} },
        "request": { "id": null, "idempotency_key": null },
        "type": "customer.subscription.updated"
    }))
    .unwrap();
    let signature = kraftsoci_billing::signature_header(
        &SecretString::from(WEBHOOK_SECRET),
        app.clock.now().timestamp(),
        &body,
    );
    let response = app.send_webhook(&body, Some(&signature)).await;
    assert_eq!(response.status(), StatusCode::OK);
    for (table, expected) in [
        ("stripe_events", events_before),
        ("billing_customers", 0),
        ("users", 0),
    ] {
        assert_eq!(
            app.db.count(format!("SELECT COUNT(*) FROM {table}")).await,
            expected,
            "{table}"
        );
    }
}

#[tokio::test]
async fn a_stop_stripe_does_not_confirm_keeps_the_closure_and_the_sweep_retries_it_with_the_same_key()
 {
    let (app, stripe) = spawn_closure_app().await;
    let bob = subscribed(&app, &stripe, "bob@example.com", "cus_Down1", "sub_Down1").await;
    cancel("sub_Down1")
        .respond_with(stripe_500())
        .mount(&stripe)
        .await;

    let response = app.close_me(&bob.access, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "Stripe being down never loses the closure"
    );
    assert_eq!(
        app.get_me(&bob.access).await.status(),
        StatusCode::UNAUTHORIZED,
        "the account is closed"
    );
    let tried = requests_to(&stripe, "DELETE", "/v1/subscriptions/sub_Down1").await;
    assert!(!tried.is_empty());
    let key = key_of(&tried[0]);
    assert!(
        tried.iter().all(|r| key_of(r) == key),
        "one key per closure"
    );

    // A dry run lists the stop as pending, with Stripe's answer, and sends nothing.
    let sent = tried.len();
    let dry = Sweep::for_state(&app.state)
        .unwrap()
        .run(SweepMode::DryRun)
        .await;
    assert_eq!(dry.billing_stops_pending.len(), 1);
    let pending = &dry.billing_stops_pending[0];
    assert_eq!(pending.user, user_id(&bob));
    assert!(
        pending.last_error.as_deref().unwrap_or("").contains("500"),
        "{pending:?}"
    );
    assert!(
        !pending
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("sk_test"),
        "never a key"
    );
    assert_eq!(
        requests_to(&stripe, "DELETE", "/v1/subscriptions/sub_Down1")
            .await
            .len(),
        sent
    );

    // Stripe recovers: the next sweep cancels with the same key, once, and settles the stop.
    stripe.reset().await;
    subscribed_again(&stripe, "cus_Down1", "sub_Down1").await;
    cancel("sub_Down1")
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription(
            "sub_Down1",
            "cus_Down1",
            "canceled",
        )))
        .expect(1)
        .mount(&stripe)
        .await;
    let run = sweep(&app).await;
    assert_eq!(
        (run.billing_stops_retried, run.billing_stops_settled),
        (1, 1)
    );
    assert!(run.billing_stops_pending.is_empty());
    let retried = requests_to(&stripe, "DELETE", "/v1/subscriptions/sub_Down1").await;
    assert_eq!(retried.len(), 1);
    assert_eq!(
        key_of(&retried[0]),
        key,
        "the retry sends the closure's key"
    );
    // Settled stops are not tried again.
    let run = sweep(&app).await;
    assert_eq!(run.billing_stops_retried, 0);
}

/// Mounts the subscription list again after a reset.
async fn subscribed_again(stripe: &MockServer, customer: &str, sub: &str) {
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .and(query_param("customer", customer))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "url": "/v1/subscriptions", "has_more": false,
            "data": [subscription(sub, customer, "active")]
        })))
        .mount(stripe)
        .await;
}

#[tokio::test]
async fn a_purge_stripe_does_not_confirm_is_listed_for_the_operator_and_done_next_run() {
    let (app, stripe) = spawn_closure_app().await;
    let cara = subscribed(
        &app,
        &stripe,
        "cara@example.com",
        "cus_Stuck1",
        "sub_Stuck1",
    )
    .await;
    let dan = app.signup_user("dan@example.com").await;
    cancel("sub_Stuck1")
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription(
            "sub_Stuck1",
            "cus_Stuck1",
            "canceled",
        )))
        .mount(&stripe)
        .await;
    assert_eq!(
        app.close_me(&cara.access, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.close_me(&dan.access, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    Mock::given(method("DELETE"))
        .and(path("/v1/customers/cus_Stuck1"))
        .respond_with(stripe_500())
        .mount(&stripe)
        .await;

    app.clock.advance(Days::days(30));
    let run = sweep(&app).await;
    // Dan, behind Cara, is purged; Cara is kept, listed, with Stripe's answer.
    assert_eq!(
        app.db
            .count(format!(
                "SELECT COUNT(*) FROM users WHERE id = '{}'",
                dan.id
            ))
            .await,
        0
    );
    assert_eq!(run.purge_failures.len(), 1, "{run:?}");
    let failure = &run.purge_failures[0];
    assert_eq!(failure.user, user_id(&cara));
    assert_eq!(failure.failures, 1);
    assert!(failure.error.contains("500"), "{}", failure.error);
    assert!(!run.is_clean());
    let table = kraftsoci_server::retention::run_table(&run);
    assert!(table.contains(&cara.id), "{table}");

    // A second failing run counts; once Stripe answers, the account goes and so does its row.
    let run = sweep(&app).await;
    assert_eq!(run.purge_failures[0].failures, 2);
    stripe.reset().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/customers/cus_Stuck1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cus_Stuck1", "object": "customer", "deleted": true
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let run = sweep(&app).await;
    assert!(run.purge_failures.is_empty(), "{run:?}");
    assert!(run.is_clean(), "{run:?}");
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM purge_failures".to_owned())
            .await,
        0
    );
}
