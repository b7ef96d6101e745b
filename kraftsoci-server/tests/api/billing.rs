//! Billing over HTTP against a wiremock Stripe: the webhook checklist (reliability-security
//! §8 rows 1–12), checkout and portal idempotency, the overview, and P05/P13 (no card or payer
//! detail is ever stored).

use std::sync::Arc;
use std::time::Duration;

use chrono::{SubsecRound as _, TimeZone as _, Utc};
use kraftsoci_billing::{PlanTable, signature_header};
use kraftsoci_core::ports::{EntitlementError, QuotaKind};
use kraftsoci_core::{Clock, ManualClock, UserId};
use kraftsoci_server::Application;
use kraftsoci_server::config::Config;
use kraftsoci_server::store::SqliteStore;
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, TestUser, code, parts, spawn_app, spawn_app_with, test_config};
use crate::support::{TempDir, TestDb};

const WEBHOOK_SECRET: &str = "whsec_live_0f3c9a7e5b1d4c2a8e6f0b9d7c5a3e1f";
const DAY: i64 = 86_400;

/// A free plan (3 posts, 1 image) and two sold plans.
const PLANS: &str = r#"[
    {"name": "free", "monthly_posts": 3, "monthly_images": 1},
    {"name": "starter", "price_id": "price_starter", "monthly_posts": 10, "monthly_images": 4},
    {"name": "pro", "price_id": "price_pro", "monthly_posts": 100, "monthly_images": 40}
]"#;

/// The tables billing writes.
const BILLING_TABLES: [&str; 5] = [
    "billing_customers",
    "billing_intents",
    "payment_records",
    "stripe_events",
    "quota_reservations",
];

fn configure_stripe(config: &mut Config, api_base: &str) {
    config.stripe.secret_key = Some(SecretString::from(
        "sk_test_kraftsoci_4eC39HqLyjWDarjtT1zdp7dc",
    ));
    config.stripe.webhook_secret = Some(SecretString::from(WEBHOOK_SECRET));
    config.stripe.api_base = url::Url::parse(api_base).unwrap();
    config.billing.plans = PlanTable::from_json(PLANS).unwrap();
    config.billing.stripe_timeout = Duration::from_millis(300);
}

/// A server with Stripe configured against a wiremock server.
async fn spawn_billing_app() -> (TestApp, MockServer) {
    let stripe = MockServer::start().await;
    let uri = stripe.uri();
    let app = spawn_app_with(|config| configure_stripe(config, &uri)).await;
    (app, stripe)
}

// --- Stripe payloads, shaped like the real ones ---

fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2026-09-30.endive",
        "created": created,
        "data": { "object": object, "previous_attributes": {} },
        "livemode": true,
        "pending_webhooks": 1,
        "request": { "id": "req_8hXq2Lm0aPq1Zt", "idempotency_key": null },
        "type": kind
    })
}

fn subscription(
    id: &str,
    customer: &str,
    status: &str,
    price: &str,
    start: i64,
    user: &str,
) -> Value {
    json!({
        "id": id,
        "object": "subscription",
        "cancel_at_period_end": false,
        "collection_method": "charge_automatically",
        "created": start,
        "currency": "eur",
        "customer": customer,
        "default_payment_method": "pm_1QzX8e2eZvKYlo2C0n6q9rNa",
        "items": {
            "object": "list",
            "data": [{
                "id": "si_RsT9kq3Lw2pXy1",
                "object": "subscription_item",
                "current_period_start": start,
                "current_period_end": start + 30 * DAY,
                "price": { "id": price, "object": "price", "currency": "eur", "unit_amount": 1900,
                           "recurring": { "interval": "month", "interval_count": 1 } },
                "quantity": 1
            }],
            "has_more": false
        },
        "livemode": true,
        "metadata": { "kraftsoci_user_id": user },
        "start_date": start,
        "status": status
    })
}

fn checkout_completed(user: &str, customer: &str) -> Value {
    json!({
        "id": "cs_live_a1B2c3D4e5F6",
        "object": "checkout.session",
        "client_reference_id": user,
        "customer": customer,
        "customer_details": {
            "email": "ayse.payer@example.com", "name": "Ayse Payer",
            "address": { "city": "Izmir", "country": "TR", "line1": "Kordon Boyu 12" }
        },
        "mode": "subscription",
        "payment_status": "paid",
        "status": "complete",
        "subscription": "sub_card"
    })
}

/// An invoice whose payment details are expanded, card and payer included.
fn invoice_with_card(id: &str, customer: &str, paid: bool, at: i64) -> Value {
    let card = json!({
        "brand": "visa", "country": "TR", "exp_month": 11, "exp_year": 2031,
        "fingerprint": "Xt5EWLLDS7FJjR1c", "funding": "credit", "last4": "4242",
        "checks": { "cvc_check": "pass" }
    });
    json!({
        "id": id,
        "object": "invoice",
        "amount_due": 1900,
        "amount_paid": if paid { 1900 } else { 0 },
        "currency": "eur",
        "customer": customer,
        "customer_email": "ayse.payer@example.com",
        "customer_name": "Ayse Payer",
        "customer_phone": "+905551112233",
        "customer_address": { "city": "Izmir", "country": "TR", "line1": "Kordon Boyu 12" },
        "default_payment_method": {
            "id": "pm_1QzX8e2eZvKYlo2C0n6q9rNa", "object": "payment_method",
            "billing_details": { "email": "ayse.payer@example.com", "name": "Ayse Payer" },
            "card": card.clone(), "type": "card"
        },
        "lines": { "object": "list", "data": [{
            "id": "il_1", "object": "line_item", "amount": 1900, "currency": "eur",
            "period": { "start": at, "end": at + 30 * DAY }
        }]},
        "parent": { "type": "subscription_details",
                    "subscription_details": { "metadata": {}, "subscription": "sub_card" } },
        "payments": { "object": "list", "data": [{ "payment": { "payment_intent": {
            "latest_charge": { "payment_method_details": { "card": card, "type": "card" },
                               "billing_details": { "name": "Ayse Payer" } } } } }] },
        "period_start": at - 30 * DAY,
        "period_end": at,
        "status": if paid { "paid" } else { "open" },
        "status_transitions": { "paid_at": if paid { json!(at + 60) } else { json!(null) } }
    })
}

// --- TestApp helpers for these routes ---

impl TestApp {
    fn unix_now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    pub async fn get_billing(&self, access: &str) -> Response {
        self.client
            .get(self.url("/v1/billing"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    pub async fn start_checkout(&self, access: &str, plan: &str) -> Response {
        self.client
            .post(self.url("/v1/billing/checkout"))
            .bearer_auth(access)
            .json(&json!({ "plan": plan }))
            .send()
            .await
            .unwrap()
    }

    pub async fn open_portal(&self, access: &str) -> Response {
        self.client
            .post(self.url("/v1/billing/portal"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    /// Posts raw bytes to the webhook with the given `Stripe-Signature` (none when `None`).
    pub async fn send_webhook(&self, body: &[u8], signature: Option<&str>) -> Response {
        let mut request = self
            .client
            .post(self.url("/webhooks/stripe"))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        request.send().await.unwrap()
    }

    /// Signs `event` now with the endpoint secret and delivers it.
    pub async fn deliver_event(&self, event: &Value) -> (StatusCode, Value) {
        let body = serde_json::to_vec(event).unwrap();
        let header = signature_header(&SecretString::from(WEBHOOK_SECRET), self.unix_now(), &body);
        parts(self.send_webhook(&body, Some(&header)).await).await
    }

    /// Delivers an event and asserts that it was applied.
    async fn deliver_applied(&self, event: &Value) {
        let (status, body) = self.deliver_event(event).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"], "applied", "{body}");
    }

    /// Links `user` to `customer`, as Checkout's completion event does.
    async fn link_customer(&self, user: &TestUser, customer: &str) {
        let id = format!("evt_link_{customer}");
        let at = self.unix_now() - 60;
        self.deliver_applied(&event(
            &id,
            "checkout.session.completed",
            at,
            checkout_completed(&user.id, customer),
        ))
        .await;
    }

    /// Every row of every billing table, as text: what "no DB change" compares.
    async fn billing_rows(&self) -> Vec<String> {
        let mut rows = Vec::new();
        for table in BILLING_TABLES {
            let columns = self
                .db
                .strings(format!(
                    "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
                ))
                .await;
            let joined = columns
                .iter()
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '-')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let mut table_rows = self
                .db
                .strings(format!("SELECT '{table}|' || {joined} FROM {table}"))
                .await;
            table_rows.sort();
            rows.extend(table_rows);
        }
        rows
    }

    async fn rows_in(&self, table: &str) -> i64 {
        self.db.count(format!("SELECT COUNT(*) FROM {table}")).await
    }
}

fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    signature_header(&SecretString::from(secret.to_owned()), t, body)
}

/// The `v1` value of a header `signature_header` made.
fn v1(header: &str) -> &str {
    header
        .split(',')
        .find_map(|p| p.strip_prefix("v1="))
        .unwrap()
}

// --- Checklist rows 1–11: webhooks ---

#[tokio::test]
async fn a_validly_signed_event_is_applied_once_and_a_redelivery_changes_nothing() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let created = event(
        "evt_sub_created",
        "customer.subscription.created",
        now - 10,
        subscription(
            "sub_1",
            "cus_ada",
            "active",
            "price_starter",
            now - 20,
            &user.id,
        ),
    );
    app.deliver_applied(&created).await;
    let rows = app.billing_rows().await;

    let (status, body) = app.deliver_event(&created).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"], "already_applied");
    assert_eq!(
        app.billing_rows().await,
        rows,
        "the redelivery changed nothing"
    );
    assert_eq!(app.rows_in("stripe_events").await, 1);

    let (status, billing) = parts(app.get_billing(&user.access).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(billing["plan"], "starter");
    assert_eq!(billing["status"], "active");
    assert_eq!(billing["access"], "granted");
    assert_eq!(billing["usage"]["posts_limit"], 10);
}

#[tokio::test]
async fn a_body_changed_by_one_byte_is_refused_and_nothing_is_written() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let body = serde_json::to_vec(&event(
        "evt_tampered",
        "customer.subscription.created",
        now,
        subscription("sub_1", "cus_ada", "active", "price_pro", now, &user.id),
    ))
    .unwrap();
    let header = sign(WEBHOOK_SECRET, now, &body);
    let before = app.billing_rows().await;

    // "price_pro" becomes "price_prp": one byte.
    let mut tampered = body.clone();
    let at = tampered.windows(9).position(|w| w == b"price_pro").unwrap() + 8;
    tampered[at] = b'p';
    let (status, answer) = parts(app.send_webhook(&tampered, Some(&header)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&answer), "invalid_signature");
    assert_eq!(app.billing_rows().await, before);
    assert_eq!(app.rows_in("stripe_events").await, 0);

    // The untouched body with the same header is fine.
    let (status, _) = parts(app.send_webhook(&body, Some(&header)).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_missing_or_malformed_signature_header_is_refused() {
    let (app, _stripe) = spawn_billing_app().await;
    let now = app.unix_now();
    let body = serde_json::to_vec(&event("evt_x", "invoice.paid", now, json!({}))).unwrap();
    let valid = sign(WEBHOOK_SECRET, now, &body);
    let signature = v1(&valid).to_owned();
    let headers = [
        None,
        Some(String::new()),
        Some("garbage".to_owned()),
        Some(format!("t={now}")),
        Some(format!("v1={signature}")),
        Some(format!("t=yesterday,v1={signature}")),
        Some(format!("t={now},v0={signature}")),
        Some(format!("t={now},v1=")),
    ];
    for header in headers {
        let (status, answer) = parts(app.send_webhook(&body, header.as_deref()).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{header:?}: {answer}");
        assert_eq!(code(&answer), "invalid_signature");
    }
    assert_eq!(app.rows_in("stripe_events").await, 0);
}

#[tokio::test]
async fn a_replayed_signature_older_than_300_seconds_is_refused() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let body = serde_json::to_vec(&event(
        "evt_replay",
        "customer.subscription.created",
        now - 400,
        subscription(
            "sub_1",
            "cus_ada",
            "active",
            "price_starter",
            now - 400,
            &user.id,
        ),
    ))
    .unwrap();
    let (status, answer) = parts(
        app.send_webhook(&body, Some(&sign(WEBHOOK_SECRET, now - 301, &body)))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&answer), "invalid_signature");
    assert_eq!(app.rows_in("stripe_events").await, 0);

    let (status, _) = parts(
        app.send_webhook(&body, Some(&sign(WEBHOOK_SECRET, now - 299, &body)))
            .await,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "inside the window the same body is accepted"
    );
}

#[tokio::test]
async fn during_secret_rotation_a_header_whose_second_v1_is_valid_is_accepted() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let body = serde_json::to_vec(&event(
        "evt_rotated",
        "customer.subscription.created",
        now,
        subscription(
            "sub_1",
            "cus_ada",
            "trialing",
            "price_starter",
            now,
            &user.id,
        ),
    ))
    .unwrap();
    let old = sign("whsec_previous_secret_being_rolled", now, &body);
    let new = sign(WEBHOOK_SECRET, now, &body);
    let header = format!("t={now},v1={},v1={}", v1(&old), v1(&new));
    let (status, answer) = parts(app.send_webhook(&body, Some(&header)).await).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["result"], "applied");
}

#[tokio::test]
async fn an_event_signed_with_another_endpoint_secret_is_refused() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let body = serde_json::to_vec(&event(
        "evt_test_mode",
        "customer.subscription.created",
        now,
        subscription("sub_1", "cus_ada", "active", "price_starter", now, &user.id),
    ))
    .unwrap();
    let test_mode = sign("whsec_test_0000aaaabbbbccccddddeeeeffff", now, &body);
    let (status, answer) = parts(app.send_webhook(&body, Some(&test_mode)).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&answer), "invalid_signature");
    assert_eq!(app.billing_rows().await, Vec::<String>::new());
}

#[tokio::test]
async fn the_same_event_delivered_twice_at_once_has_one_effect_and_both_answers_are_2xx() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    app.link_customer(&user, "cus_ada").await;
    let now = app.unix_now();
    let paid = event(
        "evt_invoice_paid",
        "invoice.paid",
        now,
        invoice_with_card("in_1", "cus_ada", true, now - 100),
    );
    let (first, second) = tokio::join!(app.deliver_event(&paid), app.deliver_event(&paid));
    assert!(
        first.0.is_success() && second.0.is_success(),
        "{first:?} {second:?}"
    );
    let mut results = [first.1["result"].clone(), second.1["result"].clone()];
    results.sort_by_key(|r| r.to_string());
    assert_eq!(results, [json!("already_applied"), json!("applied")]);
    assert_eq!(app.rows_in("payment_records").await, 1);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM stripe_events WHERE event_id = 'evt_invoice_paid'".into())
            .await,
        1
    );
}

#[tokio::test]
async fn a_deletion_that_arrives_before_an_older_active_update_leaves_no_access() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let sub = |status| {
        subscription(
            "sub_1",
            "cus_ada",
            status,
            "price_starter",
            now - 200,
            &user.id,
        )
    };
    app.deliver_applied(&event(
        "evt_1",
        "customer.subscription.created",
        now - 100,
        sub("active"),
    ))
    .await;
    app.deliver_applied(&event(
        "evt_3",
        "customer.subscription.deleted",
        now - 10,
        sub("canceled"),
    ))
    .await;
    let (status, late) = app
        .deliver_event(&event(
            "evt_2",
            "customer.subscription.updated",
            now - 50,
            sub("active"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(late["result"], "superseded");

    let (_, billing) = parts(app.get_billing(&user.access).await).await;
    assert_eq!(billing["status"], "canceled");
    assert_eq!(billing["access"], "denied");
    assert_eq!(billing["plan"], "free", "back on the free plan");
    assert_eq!(billing["usage"]["posts_limit"], 3);
}

#[tokio::test]
async fn a_database_failure_during_the_webhook_answers_5xx_and_writes_nothing() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let created = event(
        "evt_during_outage",
        "customer.subscription.created",
        now,
        subscription("sub_1", "cus_ada", "active", "price_starter", now, &user.id),
    );
    // The write of the effect fails after the event id was inserted in the same transaction.
    app.db
        .exec(
            "CREATE TRIGGER fail_billing BEFORE INSERT ON billing_customers \
             BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
                .into(),
        )
        .await;
    let (status, answer) = app.deliver_event(&created).await;
    assert!(status.is_server_error(), "{status}: {answer}");
    assert_eq!(
        app.billing_rows().await,
        Vec::<String>::new(),
        "no partial write"
    );

    // Stripe retries once the database is back: applied, once.
    app.db.exec("DROP TRIGGER fail_billing".into()).await;
    app.deliver_applied(&created).await;
    let (_, billing) = parts(app.get_billing(&user.access).await).await;
    assert_eq!(billing["status"], "active");
}

#[tokio::test]
async fn an_unreachable_database_answers_5xx_so_that_stripe_retries() {
    let db = TestDb::sqlite().await;
    let (outbox, media) = (TempDir::new("outbox"), TempDir::new("media"));
    let mut config = test_config(&db, &outbox, &media);
    configure_stripe(&mut config, "http://127.0.0.1:9");
    let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(6)));
    let store = SqliteStore::connect(&config.database_url, clock.clone())
        .await
        .unwrap();
    let app = Application::builder(config)
        .stores(store.clone().into())
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    store.pool().close().await;

    let now = clock.now().timestamp();
    let body = serde_json::to_vec(&event(
        "evt_db_down",
        "customer.subscription.created",
        now,
        subscription(
            "sub_1",
            "cus_1",
            "active",
            "price_starter",
            now,
            &UserId::new().to_string(),
        ),
    ))
    .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{address}/webhooks/stripe"))
        .header("stripe-signature", sign(WEBHOOK_SECRET, now, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM stripe_events".into()).await,
        0
    );
    let _ = stop.send(());
}

#[tokio::test]
async fn unknown_event_types_are_acknowledged_and_unknown_statuses_grant_nothing() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let (status, answer) = app
        .deliver_event(&event(
            "evt_tax",
            "customer.tax_id.created",
            now,
            json!({"id": "txi_1"}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["result"], "ignored");
    assert_eq!(app.billing_rows().await, Vec::<String>::new());

    app.deliver_applied(&event(
        "evt_frozen",
        "customer.subscription.updated",
        now,
        subscription("sub_1", "cus_ada", "frozen", "price_pro", now, &user.id),
    ))
    .await;
    let (_, billing) = parts(app.get_billing(&user.access).await).await;
    assert_eq!(billing["status"], "frozen");
    assert_eq!(billing["access"], "denied");
    assert_eq!(billing["plan"], "free");
}

#[tokio::test]
async fn every_subscription_status_gives_the_documented_access() {
    let (app, _stripe) = spawn_billing_app().await;
    let now = app.unix_now();
    let table = [
        ("trialing", "granted", "starter"),
        ("active", "granted", "starter"),
        ("past_due", "grace", "starter"),
        ("incomplete", "denied", "free"),
        ("incomplete_expired", "denied", "free"),
        ("unpaid", "denied", "free"),
        ("canceled", "denied", "free"),
        ("paused", "denied", "free"),
    ];
    for (i, (status, access, plan)) in table.into_iter().enumerate() {
        let user = app.signup_user(&format!("user{i}@example.com")).await;
        app.deliver_applied(&event(
            &format!("evt_status_{i}"),
            "customer.subscription.updated",
            now - 60,
            subscription(
                &format!("sub_{i}"),
                &format!("cus_{i}"),
                status,
                "price_starter",
                now - 60,
                &user.id,
            ),
        ))
        .await;
        let (code, billing) = parts(app.get_billing(&user.access).await).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(billing["status"], status);
        assert_eq!(billing["access"], access, "{status}");
        assert_eq!(billing["plan"], plan, "{status}");
        assert_eq!(
            billing["grace_until"].is_string(),
            status == "past_due",
            "{status}"
        );
        // What generation may reserve follows the same table.
        let uid: UserId = user.id.parse().unwrap();
        let limit = if plan == "starter" { 4 } else { 1 };
        let over = app
            .state
            .entitlements
            .reserve(uid, QuotaKind::Images, limit + 1)
            .await;
        assert_eq!(
            over,
            Err(EntitlementError::QuotaExceeded {
                kind: QuotaKind::Images,
                limit
            })
        );
    }
}

// --- Checklist row 12 and the checkout / portal routes ---

fn checkout_session_body() -> Value {
    json!({
        "id": "cs_live_b7C8d9",
        "object": "checkout.session",
        "mode": "subscription",
        "url": "https://checkout.stripe.com/c/pay/cs_live_b7C8d9"
    })
}

async fn mount_customer(stripe: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(header_exists("idempotency-key"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "cus_new", "object": "customer"})),
        )
        .expect(1)
        .mount(stripe)
        .await;
}

fn keys_sent_to(requests: &[Request], to: &str) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.url.path() == to)
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("<none>")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_checkout_retried_after_a_timeout_and_a_500_sends_the_same_idempotency_key() {
    let (app, stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    mount_customer(&stripe).await;
    let sessions = || Mock::given(method("POST")).and(path("/v1/checkout/sessions"));
    sessions()
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(1)))
        .up_to_n_times(1)
        .mount(&stripe)
        .await;
    sessions()
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"error": {"type": "api_error"}})),
        )
        .up_to_n_times(1)
        .mount(&stripe)
        .await;
    sessions()
        .respond_with(ResponseTemplate::new(200).set_body_json(checkout_session_body()))
        .mount(&stripe)
        .await;

    let (status, body) = parts(app.start_checkout(&user.access, "starter").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["url"],
        "https://checkout.stripe.com/c/pay/cs_live_b7C8d9"
    );

    let requests = stripe.received_requests().await.unwrap();
    let keys = keys_sent_to(&requests, "/v1/checkout/sessions");
    let intent = app
        .db
        .strings("SELECT id FROM billing_intents".into())
        .await;
    assert_eq!(intent.len(), 1);
    let expected = format!("checkout:{}:{}", user.id, intent[0]);
    assert_eq!(
        keys,
        vec![expected.clone(); 3],
        "timeout, 500, success: one key"
    );
    assert_eq!(
        keys_sent_to(&requests, "/v1/customers"),
        vec![format!("customer:{}", user.id)]
    );
    // Stripe learns the price and our user id, nothing else about the user.
    let form = String::from_utf8(
        requests
            .iter()
            .rfind(|r| r.url.path() == "/v1/checkout/sessions")
            .unwrap()
            .body
            .clone(),
    )
    .unwrap();
    assert!(
        form.contains("price_starter") && form.contains(&user.id),
        "{form}"
    );
    assert!(
        !form.contains("ada@example.com") && !form.contains("Ada"),
        "{form}"
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM billing_intents WHERE completed_at IS NOT NULL".into())
            .await,
        1
    );
}

#[tokio::test]
async fn a_checkout_that_failed_is_retried_by_the_client_with_the_same_key() {
    let (app, stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    mount_customer(&stripe).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .expect(3)
        .mount(&stripe)
        .await;
    let (status, body) = parts(app.start_checkout(&user.access, "starter").await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(code(&body), "payment_provider_unavailable");
    assert!(
        !body.to_string().contains("503"),
        "no upstream detail: {body}"
    );

    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(checkout_session_body()))
        .up_to_n_times(1)
        .expect(1)
        .mount(&stripe)
        .await;
    let (status, _) = parts(app.start_checkout(&user.access, "starter").await).await;
    assert_eq!(status, StatusCode::OK);

    let keys = keys_sent_to(
        &stripe.received_requests().await.unwrap(),
        "/v1/checkout/sessions",
    );
    assert_eq!(keys.len(), 4);
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(
        app.rows_in("billing_intents").await,
        1,
        "the click reused the pending intent"
    );

    // Once a session was opened, the next click is a new intent with a new key.
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(checkout_session_body()))
        .mount(&stripe)
        .await;
    let (status, _) = parts(app.start_checkout(&user.access, "starter").await).await;
    assert_eq!(status, StatusCode::OK);
    let keys = keys_sent_to(
        &stripe.received_requests().await.unwrap(),
        "/v1/checkout/sessions",
    );
    assert_ne!(keys[4], keys[0]);
    assert_eq!(app.rows_in("billing_intents").await, 2);
}

#[tokio::test]
async fn checkout_refuses_plans_that_are_not_sold_and_accounts_already_subscribed() {
    let (app, stripe) = spawn_billing_app().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(checkout_session_body()))
        .expect(0)
        .mount(&stripe)
        .await;
    let user = app.signup_user("ada@example.com").await;
    for plan in ["gold", "free", ""] {
        let (status, body) = parts(app.start_checkout(&user.access, plan).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{plan}");
        assert_eq!(
            body["error"]["fields"]["plan"][0],
            "is not a plan that can be bought"
        );
    }
    let now = app.unix_now();
    app.deliver_applied(&event(
        "evt_live",
        "customer.subscription.created",
        now,
        subscription("sub_1", "cus_ada", "active", "price_starter", now, &user.id),
    ))
    .await;
    let (status, body) = parts(app.start_checkout(&user.access, "pro").await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "already_subscribed");

    let (status, _) = parts(
        app.client
            .post(app.url("/v1/billing/checkout"))
            .json(&json!({"plan": "starter"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_portal_opens_for_a_customer_and_is_refused_before_the_first_checkout() {
    let (app, stripe) = spawn_billing_app().await;
    Mock::given(method("POST"))
        .and(path("/v1/billing_portal/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "bps_1", "object": "billing_portal.session",
            "url": "https://billing.stripe.com/p/session/bps_1"
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let user = app.signup_user("ada@example.com").await;
    let (status, body) = parts(app.open_portal(&user.access).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "no_subscription");

    app.link_customer(&user, "cus_ada").await;
    let (status, body) = parts(app.open_portal(&user.access).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["url"], "https://billing.stripe.com/p/session/bps_1");
    let requests = stripe.received_requests().await.unwrap();
    let keys = keys_sent_to(&requests, "/v1/billing_portal/sessions");
    let intent = app
        .db
        .strings("SELECT id FROM billing_intents WHERE kind = 'portal' AND completed_at IS NOT NULL AND result LIKE '%bps_1%'".into())
        .await;
    assert_eq!(keys, vec![format!("portal:{}:{}", user.id, intent[0])]);
    let form = String::from_utf8(requests[0].body.clone()).unwrap();
    assert!(form.contains("customer=cus_ada"), "{form}");
}

#[tokio::test]
async fn a_provider_refusal_is_a_502_without_upstream_details() {
    let (app, stripe) = spawn_billing_app().await;
    mount_customer(&stripe).await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing",
            "message": "No such price: 'price_starter'"
        }})))
        .expect(1)
        .mount(&stripe)
        .await;
    let user = app.signup_user("ada@example.com").await;
    let (status, body) = parts(app.start_checkout(&user.access, "starter").await).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(code(&body), "payment_provider_error");
    assert!(!body.to_string().contains("price_starter"), "{body}");
    assert_eq!(
        app.db
            .count(
                "SELECT COUNT(*) FROM billing_intents WHERE result LIKE '%provider_rejected%'"
                    .into()
            )
            .await,
        1,
        "a definite refusal finishes the intent"
    );
}

#[tokio::test]
async fn without_stripe_checkout_and_portal_are_unavailable_and_the_unbilled_plan_applies() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    for response in [
        app.start_checkout(&user.access, "starter").await,
        app.open_portal(&user.access).await,
    ] {
        let (status, body) = parts(response).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(code(&body), "billing_unavailable");
    }
    let (status, body) = parts(app.send_webhook(b"{}", Some("t=1,v1=00")).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(code(&body), "billing_unavailable");

    let (status, billing) = parts(app.get_billing(&user.access).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(billing["plan"], "development");
    assert_eq!(billing["status"], "none");
    assert_eq!(billing["usage"]["posts_limit"], 1000);
    assert_eq!(billing["usage"]["images_limit"], 1000);
}

#[tokio::test]
async fn usage_counts_held_and_committed_generations_in_the_database() {
    let (app, _stripe) = spawn_billing_app().await;
    let user = app.signup_user("ada@example.com").await;
    let uid: UserId = user.id.parse().unwrap();
    let entitlements = &app.state.entitlements;
    let kept = entitlements
        .reserve(uid, QuotaKind::Posts, 1)
        .await
        .unwrap();
    entitlements.commit(&kept).await.unwrap();
    let failed = entitlements
        .reserve(uid, QuotaKind::Posts, 1)
        .await
        .unwrap();
    let _held = entitlements
        .reserve(uid, QuotaKind::Posts, 1)
        .await
        .unwrap();
    entitlements.release(&failed).await.unwrap();
    assert_eq!(
        entitlements.reserve(uid, QuotaKind::Posts, 2).await,
        Err(EntitlementError::QuotaExceeded {
            kind: QuotaKind::Posts,
            limit: 3
        }),
        "the free plan allows 3; 2 are used"
    );
    assert_eq!(
        app.rows_in("quota_reservations").await,
        2,
        "the ledger is the database"
    );

    let (_, billing) = parts(app.get_billing(&user.access).await).await;
    assert_eq!(billing["plan"], "free");
    assert_eq!(billing["usage"]["posts_used"], 2);
    assert_eq!(billing["usage"]["posts_limit"], 3);
    assert_eq!(billing["usage"]["images_used"], 0);

    // A hold abandoned by a crashed generation stops counting after its TTL. (The access
    // token has expired by then, so the overview is read from the service.)
    app.clock.advance(chrono::Duration::minutes(31));
    let overview = app.state.billing.overview(uid).await.unwrap();
    assert_eq!(overview.usage.posts_used, 1);
    assert!(
        entitlements.reserve(uid, QuotaKind::Posts, 2).await.is_ok(),
        "the expired hold's unit is free again"
    );
    assert_eq!(
        app.rows_in("quota_reservations").await,
        2,
        "the expired hold was deleted"
    );
    let (status, _) = parts(app.get_billing("not-a-token").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

// --- P05, P13: card and payer details never stored ---

#[tokio::test]
async fn card_and_payer_details_in_stripe_payloads_are_never_stored() {
    let (app, _stripe) = spawn_billing_app().await;
    // A whole-second clock, so that no stored time or id can contain a card's digits by chance.
    app.clock
        .set(Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).unwrap());
    let user = app.signup_user("ada@example.com").await;
    let now = app.unix_now();
    let deliveries = [
        event(
            "evt_c1",
            "checkout.session.completed",
            now - 50,
            checkout_completed(&user.id, "cus_card"),
        ),
        event(
            "evt_c2",
            "customer.subscription.created",
            now - 40,
            subscription(
                "sub_card",
                "cus_card",
                "active",
                "price_starter",
                now - 40,
                &user.id,
            ),
        ),
        event(
            "evt_c3",
            "invoice.payment_failed",
            now - 30,
            invoice_with_card("in_card", "cus_card", false, now - 40),
        ),
        event(
            "evt_c4",
            "invoice.paid",
            now - 20,
            invoice_with_card("in_card", "cus_card", true, now - 40),
        ),
        event(
            "evt_c5",
            "invoice.paid",
            now - 10,
            invoice_with_card("in_card2", "cus_card", true, now - 10),
        ),
    ];
    for delivery in &deliveries {
        let (status, body) = app.deliver_event(delivery).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let needles = [
        "4242",
        "visa",
        "Xt5EWLLDS7FJjR1c",
        "2031",
        "cvc",
        "ayse.payer@example.com",
        "Ayse Payer",
        "Kordon",
        "+905551112233",
        "pm_1QzX8e2eZvKYlo2C0n6q9rNa",
    ];
    let sent = serde_json::to_string(&deliveries).unwrap();
    for needle in needles {
        assert!(sent.contains(needle), "the fixture lacks {needle}");
    }

    // What is kept: the customer, the subscription, two card-free payment records.
    let rows = app.billing_rows().await;
    assert!(
        rows.iter()
            .any(|r| r.contains("cus_card") && r.contains("active")),
        "{rows:#?}"
    );
    assert_eq!(app.rows_in("payment_records").await, 2);
    let (_, billing) = parts(app.get_billing(&user.access).await).await;
    // Random UUIDs (row ids, user ids) are left out: they could hold "4242" by chance.
    let fields: Vec<&str> = rows
        .iter()
        .flat_map(|row| row.split('|'))
        .filter(|field| uuid::Uuid::parse_str(field).is_err())
        .collect();
    let stored = format!("{fields:?} {billing}");
    for needle in needles {
        assert!(!stored.contains(needle), "{needle} is stored: {stored}");
    }
    // The database file as a whole (every table, the write-ahead log) holds none of the
    // distinctive ones either.
    let raw = String::from_utf8_lossy(&app.db.raw_bytes()).into_owned();
    for needle in [
        "Xt5EWLLDS7FJjR1c",
        "ayse.payer",
        "Ayse Payer",
        "Kordon",
        "+905551112233",
        "pm_1QzX8e2eZvKYlo2C",
    ] {
        assert!(!raw.contains(needle), "{needle} is in the database file");
    }
    // And the schema has nowhere to put them.
    for table in BILLING_TABLES {
        for column in app
            .db
            .strings(format!("SELECT name FROM pragma_table_info('{table}')"))
            .await
        {
            for word in [
                "card",
                "last4",
                "brand",
                "fingerprint",
                "exp_",
                "cvc",
                "email",
                "name",
            ] {
                assert!(!column.contains(word), "{table}.{column}");
            }
        }
    }
}

// --- The OpenAPI document describes the routes ---

#[tokio::test]
async fn the_openapi_document_describes_the_billing_routes() {
    let app = spawn_app().await;
    let (_, doc) = parts(app.openapi().await).await;
    for route in [
        "/v1/billing",
        "/v1/billing/checkout",
        "/v1/billing/portal",
        "/webhooks/stripe",
    ] {
        assert!(doc["paths"][route].is_object(), "{route} is missing");
    }
}
