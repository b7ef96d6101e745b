//! The Stripe adapter and the billing service against a fake Stripe (wiremock).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kraftsoci_billing::*;
use kraftsoci_core::{ManualClock, UserId};
use secrecy::SecretString;
use serde_json::json;
use uuid::Uuid;
use wiremock::matchers::{body_string_contains, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::*;

const KEY: &str = "sk_test_51FakeKeyForWiremockOnly";

struct Fake {
    server: MockServer,
    clock: Arc<ManualClock>,
    stripe: Arc<StripeBilling>,
}

async fn fake() -> Fake {
    fake_with(|c| c).await
}

async fn fake_with(tune: impl FnOnce(StripeConfig) -> StripeConfig) -> Fake {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let config = StripeConfig::new(SecretString::from(KEY))
        .with_api_base(&server.uri())
        .unwrap();
    let stripe = StripeBilling::new(tune(config), clock.clone()).unwrap();
    Fake {
        server,
        clock,
        stripe: Arc::new(stripe),
    }
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

fn idempotency_key(request: &Request) -> String {
    request
        .headers
        .get("idempotency-key")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

fn checkout_request(user: UserId) -> CheckoutRequest {
    CheckoutRequest {
        user,
        customer: BillingCustomerId::parse("cus_W").unwrap(),
        price_id: PriceId::parse("price_starter").unwrap(),
        success_url: "https://app.kraftsoci.test/billing/done?session={CHECKOUT_SESSION_ID}".into(),
        cancel_url: "https://app.kraftsoci.test/billing".into(),
    }
}

fn session_json() -> serde_json::Value {
    json!({
        "id": "cs_test_a1B2c3",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": "cus_W",
        "client_reference_id": null,
        "status": "open",
        "url": "https://checkout.stripe.com/c/pay/cs_test_a1B2c3"
    })
}

fn stripe_error(kind: &str, code: &str, message: &str) -> serde_json::Value {
    json!({ "error": { "type": kind, "code": code, "message": message, "request_log_url": "https://dashboard.stripe.com/test/logs/req_x" } })
}

#[tokio::test]
async fn a_checkout_session_is_created_with_the_callers_idempotency_key() {
    let f = fake().await;
    let user = UserId::new();
    let key = IdempotencyKey::for_intent("checkout", user, Uuid::new_v4()).unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("idempotency-key", key.as_str()))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header_exists("stripe-version"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json()))
        .expect(1)
        .mount(&f.server)
        .await;

    let session = f
        .stripe
        .create_checkout_session(&checkout_request(user), &key)
        .await
        .unwrap();
    assert_eq!(
        session.url,
        "https://checkout.stripe.com/c/pay/cs_test_a1B2c3"
    );
    assert_eq!(session.id, "cs_test_a1B2c3");

    let requests = f.server.received_requests().await.unwrap();
    let sent = form(&requests[0]);
    assert_eq!(sent["mode"], "subscription");
    assert_eq!(sent["customer"], "cus_W");
    assert_eq!(sent["client_reference_id"], user.to_string());
    assert_eq!(sent["line_items[0][price]"], "price_starter");
    assert_eq!(sent["line_items[0][quantity]"], "1");
    assert_eq!(
        sent["subscription_data[metadata][kraftsoci_user_id]"],
        user.to_string()
    );
    assert_eq!(
        sent["success_url"],
        "https://app.kraftsoci.test/billing/done?session={CHECKOUT_SESSION_ID}"
    );
    assert_eq!(sent["cancel_url"], "https://app.kraftsoci.test/billing");
    // Nothing about the person but their id goes to Stripe.
    assert!(
        !sent
            .keys()
            .any(|k| k.contains("email") || k.contains("name"))
    );
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_idempotency_key() {
    let f = fake().await;
    let key = IdempotencyKey::parse("checkout:retry-case:1").unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(stripe_error(
            "api_error",
            "internal",
            "Something went wrong",
        )))
        .up_to_n_times(1)
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("idempotency-key", key.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json()))
        .expect(1)
        .mount(&f.server)
        .await;

    let session = f
        .stripe
        .create_checkout_session(&checkout_request(UserId::new()), &key)
        .await
        .unwrap();
    assert_eq!(session.id, "cs_test_a1B2c3");
    let keys: Vec<_> = f
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(idempotency_key)
        .collect();
    assert_eq!(keys, vec![key.as_str(); 2]);
    // The backoff went through the clock, not a real sleep.
    assert_eq!(f.clock.sleeps(), vec![Duration::from_millis(500)]);
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried_with_the_same_idempotency_key() {
    let f = fake_with(|c| c.with_attempt_timeout(Duration::from_millis(150))).await;
    let key = IdempotencyKey::parse("checkout:timeout-case:1").unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(session_json())
                .set_delay(Duration::from_secs(10)),
        )
        .up_to_n_times(1)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json()))
        .mount(&f.server)
        .await;

    f.stripe
        .create_checkout_session(&checkout_request(UserId::new()), &key)
        .await
        .unwrap();
    let keys: Vec<_> = f
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(idempotency_key)
        .collect();
    assert_eq!(keys, vec![key.as_str(); 2]);
}

#[tokio::test]
async fn retries_are_bounded_and_end_in_a_typed_error() {
    let f = fake().await;
    Mock::given(method("POST"))
        .and(path("/v1/billing_portal/sessions"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<html>upstream unavailable</html>"),
        )
        .expect(3)
        .mount(&f.server)
        .await;
    let request = PortalRequest {
        customer: BillingCustomerId::parse("cus_W").unwrap(),
        return_url: "https://app.kraftsoci.test/billing".into(),
    };
    let err = f
        .stripe
        .create_portal_session(&request, &IdempotencyKey::parse("portal:x:1").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind, BillingProviderErrorKind::Unavailable);
    assert!(err.message.contains("503"), "{}", err.message);
    assert_eq!(
        f.clock.sleeps(),
        vec![Duration::from_millis(500), Duration::from_millis(1000)]
    );
}

#[tokio::test]
async fn a_429_is_retried_but_a_400_is_not() {
    let f = fake().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(429).set_body_json(stripe_error(
            "invalid_request_error",
            "rate_limit",
            "Too many requests",
        )))
        .up_to_n_times(1)
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "cus_New", "object": "customer"})),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let user = UserId::new();
    let customer = f
        .stripe
        .create_customer(user, &IdempotencyKey::for_customer(user))
        .await
        .unwrap();
    assert_eq!(customer.as_str(), "cus_New");
    let sent = form(&f.server.received_requests().await.unwrap()[1]);
    assert_eq!(sent.len(), 1, "only our user id is sent: {sent:?}");
    assert_eq!(sent["metadata[kraftsoci_user_id]"], user.to_string());

    let rejecting = fake().await;
    Mock::given(method("POST"))
        .and(path("/v1/billing_portal/sessions"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("request-id", "req_abc123")
                .set_body_json(stripe_error(
                    "invalid_request_error",
                    "resource_missing",
                    "No such customer: 'cus_W'",
                )),
        )
        .expect(1)
        .mount(&rejecting.server)
        .await;
    let request = PortalRequest {
        customer: BillingCustomerId::parse("cus_W").unwrap(),
        return_url: "https://app.kraftsoci.test/billing".into(),
    };
    let err = rejecting
        .stripe
        .create_portal_session(&request, &IdempotencyKey::parse("portal:x:2").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        err.kind,
        BillingProviderErrorKind::Rejected {
            status: 400,
            code: Some("resource_missing".into())
        }
    );
    assert!(err.message.contains("req_abc123"));
    assert!(rejecting.clock.sleeps().is_empty());
}

#[tokio::test]
async fn stripe_should_retry_false_stops_retries_even_on_a_5xx() {
    let f = fake().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("stripe-should-retry", "false")
                .set_body_json(stripe_error("api_error", "internal", "Do not retry")),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let user = UserId::new();
    let err = f
        .stripe
        .create_customer(user, &IdempotencyKey::for_customer(user))
        .await
        .unwrap_err();
    assert!(matches!(
        err.kind,
        BillingProviderErrorKind::Rejected { status: 500, .. }
    ));
}

#[tokio::test]
async fn a_malformed_success_body_is_a_typed_error_not_a_retry() {
    let f = fake().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": 42"))
        .expect(1)
        .mount(&f.server)
        .await;
    let err = f
        .stripe
        .create_checkout_session(
            &checkout_request(UserId::new()),
            &IdempotencyKey::parse("k").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, BillingProviderErrorKind::MalformedResponse);

    let no_url = fake().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "cs_1", "url": null})))
        .mount(&no_url.server)
        .await;
    let err = no_url
        .stripe
        .create_checkout_session(
            &checkout_request(UserId::new()),
            &IdempotencyKey::parse("k").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, BillingProviderErrorKind::MalformedResponse);
}

#[tokio::test]
async fn a_subscription_is_read_in_the_current_and_the_legacy_shape() {
    let f = fake().await;
    let start = t0().timestamp() - DAY;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_R"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription(
            "sub_R",
            "cus_W",
            "past_due",
            "price_pro",
            start,
            None,
        )))
        .expect(1)
        .mount(&f.server)
        .await;
    let snapshot = f
        .stripe
        .fetch_subscription(&SubscriptionId::parse("sub_R").unwrap())
        .await
        .unwrap();
    assert_eq!(snapshot.status, SubscriptionStatus::PastDue);
    assert_eq!(snapshot.price_id.unwrap().as_str(), "price_pro");
    assert_eq!(snapshot.current_period_start.unwrap().timestamp(), start);
    assert_eq!(
        snapshot.current_period_end.unwrap().timestamp(),
        start + 30 * DAY
    );
    assert_eq!(snapshot.as_of, t0());
    let requests = f.server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("idempotency-key").is_none());

    let legacy = fake().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .and(query_param("customer", "cus_W"))
        .and(query_param("status", "all"))
        .and(query_param("limit", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [{
                "id": "sub_L", "object": "subscription", "customer": "cus_W", "status": "active",
                "cancel_at_period_end": true,
                "current_period_start": start, "current_period_end": start + 31 * DAY,
                "items": { "object": "list", "data": [{ "price": { "id": "price_starter" } }] }
            }],
            "has_more": false
        })))
        .expect(1)
        .mount(&legacy.server)
        .await;
    let latest = legacy
        .stripe
        .latest_subscription(&BillingCustomerId::parse("cus_W").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        latest.current_period_end.unwrap().timestamp(),
        start + 31 * DAY
    );
    assert!(latest.cancel_at_period_end);
}

// ----- Bring your own HTTP client -----

/// A client as an embedder would build it: its own default header (as a proxy might demand),
/// its own user agent, and no timeout of its own.
fn embedders_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-embedder-route",
        reqwest::header::HeaderValue::from_static("eu-proxy-7"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .user_agent("bakery-suite/2.1")
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_request_goes_through_the_supplied_client_with_the_stripe_headers_added() {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let config = StripeConfig::new(SecretString::from(KEY))
        .with_api_base(&server.uri())
        .unwrap();
    let stripe = StripeBilling::new(config, clock)
        .unwrap()
        .with_http_client(embedders_client());
    let key = IdempotencyKey::parse("checkout:byo-client:1").unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("x-embedder-route", "eu-proxy-7"))
        .and(header("user-agent", "bakery-suite/2.1"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("idempotency-key", key.as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header_exists("stripe-version"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json()))
        .expect(1)
        .mount(&server)
        .await;

    let session = stripe
        .create_checkout_session(&checkout_request(UserId::new()), &key)
        .await
        .unwrap();

    assert_eq!(session.id, "cs_test_a1B2c3");
}

#[tokio::test]
async fn the_built_in_client_names_itself_and_carries_no_embedder_header() {
    let f = fake().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json()))
        .expect(1)
        .mount(&f.server)
        .await;

    f.stripe
        .create_checkout_session(
            &checkout_request(UserId::new()),
            &IdempotencyKey::parse("checkout:built-in:1").unwrap(),
        )
        .await
        .unwrap();

    let requests = f.server.received_requests().await.unwrap();
    let agent = requests[0].headers["user-agent"].to_str().unwrap();
    assert!(agent.starts_with("kraftsoci-billing/"), "{agent}");
    assert!(!requests[0].headers.contains_key("x-embedder-route"));
}

#[tokio::test]
async fn the_attempt_timeout_also_bounds_a_supplied_client() {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let config = StripeConfig::new(SecretString::from(KEY))
        .with_api_base(&server.uri())
        .unwrap()
        .with_attempt_timeout(Duration::from_millis(150))
        .with_max_attempts(2);
    let stripe = StripeBilling::new(config, clock)
        .unwrap()
        .with_http_client(embedders_client());
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(session_json())
                .set_delay(Duration::from_secs(10)),
        )
        .expect(2)
        .mount(&server)
        .await;

    let error = stripe
        .create_checkout_session(
            &checkout_request(UserId::new()),
            &IdempotencyKey::parse("checkout:byo-timeout:1").unwrap(),
        )
        .await
        .unwrap_err();

    assert_eq!(error.kind, BillingProviderErrorKind::Timeout, "{error}");
}

#[test]
fn the_stripe_config_hides_the_key_and_refuses_plain_http_off_loopback() {
    let config = StripeConfig::new(SecretString::from(KEY));
    assert_eq!(config.api_base(), STRIPE_API_BASE);
    assert!(!format!("{config:?}").contains("FakeKey"));
    for bad in [
        "http://api.stripe.com",
        "ftp://127.0.0.1/",
        "https://user:pw@api.stripe.com/",
        "https://api.stripe.com/?x=1",
        "not a url",
    ] {
        assert!(
            matches!(
                StripeConfig::new(SecretString::from(KEY)).with_api_base(bad),
                Err(BillingError::Config(_))
            ),
            "{bad}"
        );
    }
    let local = StripeConfig::new(SecretString::from(KEY))
        .with_api_base("http://127.0.0.1:12111/stripe")
        .unwrap();
    assert_eq!(local.api_base(), "http://127.0.0.1:12111/stripe/");
    let clock = Arc::new(ManualClock::new(t0()));
    assert!(matches!(
        StripeBilling::new(StripeConfig::new(SecretString::from("")), clock),
        Err(BillingError::Config(_))
    ));
}

// ----- BillingService: the use cases the billing routes call -----

fn urls() -> BillingUrls {
    BillingUrls::new(
        "https://app.kraftsoci.test/billing/done",
        "https://app.kraftsoci.test/billing",
        "https://app.kraftsoci.test/settings",
    )
    .unwrap()
}

fn service(f: &Fake, store: Arc<InMemoryBillingStore>) -> BillingService {
    BillingService::new(
        f.stripe.clone(),
        store,
        Arc::new(paid_only_plans()),
        f.clock.clone(),
        urls(),
    )
}

#[tokio::test]
async fn a_first_checkout_creates_and_stores_the_customer_before_the_session() {
    let f = fake().await;
    let store = Arc::new(InMemoryBillingStore::new());
    let billing = service(&f, store.clone());
    let user = UserId::new();
    let intent = Uuid::new_v4();
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(header(
            "idempotency-key",
            format!("customer:{user}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "cus_W", "object": "customer"})),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header(
            "idempotency-key",
            format!("checkout:{user}:{intent}").as_str(),
        ))
        .and(body_string_contains("price_pro"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json()))
        .expect(1)
        .mount(&f.server)
        .await;

    let session = billing.checkout(user, "pro", intent).await.unwrap();
    assert!(session.url.starts_with("https://checkout.stripe.com/"));
    let account = store.account(user).await.unwrap().unwrap();
    assert_eq!(account.customer.unwrap().as_str(), "cus_W");

    assert!(matches!(
        billing.checkout(user, "gold", intent).await,
        Err(BillingError::UnknownPlan(_))
    ));
}

#[tokio::test]
async fn a_live_subscriber_is_sent_to_the_portal_instead_of_a_second_checkout() {
    let f = fake().await;
    let h = Harness::new();
    let billing = service(&f, h.store.clone());
    let user = h.customer("cus_W").await;
    let object = subscription(
        "sub_W",
        "cus_W",
        "active",
        "price_starter",
        h.now() - DAY,
        None,
    );
    h.deliver(&event(
        "evt_w",
        "customer.subscription.created",
        h.now(),
        object,
    ))
    .await
    .unwrap();
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json()))
        .expect(0)
        .mount(&f.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/billing_portal/sessions"))
        .and(body_string_contains("customer=cus_W"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "bps_1", "object": "billing_portal.session",
            "url": "https://billing.stripe.com/p/session/test_1"
        })))
        .expect(1)
        .mount(&f.server)
        .await;

    assert!(matches!(
        billing.checkout(user, "pro", Uuid::new_v4()).await,
        Err(BillingError::AlreadySubscribed)
    ));
    let portal = billing.portal(user, Uuid::new_v4()).await.unwrap();
    assert_eq!(portal.url, "https://billing.stripe.com/p/session/test_1");
    assert!(matches!(
        billing.portal(UserId::new(), Uuid::new_v4()).await,
        Err(BillingError::NoCustomer)
    ));
}

#[tokio::test]
async fn sync_applies_the_latest_subscription_from_stripe() {
    let f = fake().await;
    let store = Arc::new(InMemoryBillingStore::new());
    let billing = service(&f, store.clone());
    let user = UserId::new();
    assert_eq!(billing.sync(user).await.unwrap(), None);
    store
        .link_customer(user, &BillingCustomerId::parse("cus_W").unwrap())
        .await
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [subscription("sub_S", "cus_W", "trialing", "price_starter", t0().timestamp(), None)],
            "has_more": false
        })))
        .mount(&f.server)
        .await;
    assert_eq!(
        billing.sync(user).await.unwrap(),
        Some(ApplyOutcome::Applied)
    );
    let state = store
        .account(user)
        .await
        .unwrap()
        .unwrap()
        .subscription
        .unwrap();
    assert_eq!(state.snapshot.status, SubscriptionStatus::Trialing);
}

#[test]
fn return_urls_must_be_https() {
    assert!(BillingUrls::new("http://evil.test/", "https://a.test/", "https://a.test/").is_err());
    assert!(BillingUrls::new("https://a.test/", "https://a.test/", "nope").is_err());
    assert!(
        BillingUrls::new(
            "http://localhost:3000/ok",
            "http://localhost:3000/",
            "http://localhost:3000/"
        )
        .is_ok()
    );
}

#[tokio::test]
async fn ensure_customer_creates_the_customer_once_and_then_reuses_it() {
    let f = fake().await;
    let store = Arc::new(InMemoryBillingStore::new());
    let billing = service(&f, store.clone());
    let user = UserId::new();
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .and(header(
            "idempotency-key",
            format!("customer:{user}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "cus_Once", "object": "customer"})),
        )
        .expect(1)
        .mount(&f.server)
        .await;
    let first = billing.ensure_customer(user).await.unwrap();
    let second = billing.ensure_customer(user).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("cus_Once", "cus_Once"));
    assert_eq!(store.user_for_customer(&first).await.unwrap(), Some(user));
}
