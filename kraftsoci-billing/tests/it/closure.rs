//! P19/P28: closing an account stops billing at Stripe at once, and the purge deletes the Stripe
//! customer (a fake Stripe in wiremock).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kraftsoci_billing::*;
use kraftsoci_core::{ManualClock, RequestId, UserId};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::*;

const KEY: &str = "sk_live_51ClosureKeyThatMustNeverLeak";

struct Closure {
    server: MockServer,
    clock: Arc<ManualClock>,
    store: Arc<InMemoryBillingStore>,
    stripe: Arc<StripeBilling>,
    service: BillingService,
}

async fn closure() -> Closure {
    closure_with(|c| c).await
}

async fn closure_with(tune: impl FnOnce(StripeConfig) -> StripeConfig) -> Closure {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new(t0()));
    let config = StripeConfig::new(SecretString::from(KEY))
        .with_api_base(&server.uri())
        .unwrap();
    let stripe = Arc::new(StripeBilling::new(tune(config), clock.clone()).unwrap());
    let store = Arc::new(InMemoryBillingStore::new());
    let service = BillingService::new(
        stripe.clone(),
        store.clone(),
        Arc::new(paid_only_plans()),
        clock.clone(),
        BillingUrls::new(
            "https://app.kraftsoci.test/billing/done",
            "https://app.kraftsoci.test/billing",
            "https://app.kraftsoci.test/billing",
        )
        .unwrap(),
    );
    Closure {
        server,
        clock,
        store,
        stripe,
        service,
    }
}

impl Closure {
    /// A user whose Stripe customer is `customer`.
    async fn customer(&self, customer: &str) -> UserId {
        let user = UserId::new();
        self.store
            .link_customer(user, &BillingCustomerId::parse(customer).unwrap())
            .await
            .unwrap();
        user
    }

    /// Stripe lists `subscriptions` (not cancelled) for `customer`, once per call.
    async fn lists(&self, customer: &str, subscriptions: Vec<Value>) {
        Mock::given(method("GET"))
            .and(path("/v1/subscriptions"))
            .and(query_param("customer", customer))
            .respond_with(ResponseTemplate::new(200).set_body_json(list(subscriptions, false)))
            .mount(&self.server)
            .await;
    }

    async fn requests(&self, http_method: &str, url_path: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.method.as_str() == http_method && r.url.path() == url_path)
            .collect()
    }
}

fn list(data: Vec<Value>, has_more: bool) -> Value {
    json!({ "object": "list", "url": "/v1/subscriptions", "has_more": has_more, "data": data })
}

fn live(id: &str, customer: &str) -> Value {
    subscription(
        id,
        customer,
        "active",
        "price_starter",
        t0().timestamp(),
        None,
    )
}

fn ended(id: &str, customer: &str) -> Value {
    subscription(
        id,
        customer,
        "canceled",
        "price_starter",
        t0().timestamp(),
        None,
    )
}

fn missing(what: &str, id: &str) -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({ "error": {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "param": "id",
        "message": format!("No such {what}: '{id}'"),
        "request_log_url": "https://dashboard.stripe.com/logs/req_Missing1"
    }}))
}

fn key_of(request: &Request) -> String {
    request.headers["idempotency-key"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn form(request: &Request) -> HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

#[tokio::test]
async fn closing_cancels_the_live_subscription_immediately_once_with_a_key_from_the_closure() {
    let c = closure().await;
    let user = c.customer("cus_Close1").await;
    let closure = RequestId::new();
    let key = format!("cancel:{closure}:sub_Live1");
    c.lists("cus_Close1", vec![live("sub_Live1", "cus_Close1")])
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/subscriptions/sub_Live1"))
        .and(header("idempotency-key", key.as_str()))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(ended("sub_Live1", "cus_Close1")))
        .expect(1)
        .mount(&c.server)
        .await;

    let stop = c.service.stop_billing(user, closure).await.unwrap();

    assert_eq!(
        stop,
        BillingStop::Stopped {
            canceled: vec![SubscriptionId::parse("sub_Live1").unwrap()],
            already_ended: vec![],
        }
    );
    let cancels = c.requests("DELETE", "/v1/subscriptions/sub_Live1").await;
    assert_eq!(cancels.len(), 1);
    // Immediately, with no final invoice and no credit (documented defaults), said explicitly.
    let sent = form(&cancels[0]);
    assert_eq!(sent["invoice_now"], "false");
    assert_eq!(sent["prorate"], "false");
    assert!(!sent.contains_key("cancel_at_period_end"));
}

#[tokio::test]
async fn a_500_and_a_timeout_are_retried_with_the_same_key_until_stripe_confirms() {
    let c = closure_with(|config| config.with_attempt_timeout(Duration::from_millis(150))).await;
    let user = c.customer("cus_Retry").await;
    let closure = RequestId::new();
    c.lists("cus_Retry", vec![live("sub_Retry", "cus_Retry")])
        .await;
    let cancel = || Mock::given(method("DELETE")).and(path("/v1/subscriptions/sub_Retry"));
    cancel()
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({ "error": {
            "type": "api_error", "message": "Something went wrong on Stripe's end."
        }})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&c.server)
        .await;
    cancel()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(ended("sub_Retry", "cus_Retry"))
                .set_delay(Duration::from_secs(10)),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&c.server)
        .await;
    cancel()
        .respond_with(ResponseTemplate::new(200).set_body_json(ended("sub_Retry", "cus_Retry")))
        .expect(1)
        .mount(&c.server)
        .await;

    let stop = c.service.stop_billing(user, closure).await.unwrap();

    assert!(
        matches!(&stop, BillingStop::Stopped { canceled, .. } if canceled.len() == 1),
        "{stop:?}"
    );
    let keys: Vec<String> = c
        .requests("DELETE", "/v1/subscriptions/sub_Retry")
        .await
        .iter()
        .map(key_of)
        .collect();
    assert_eq!(keys, vec![format!("cancel:{closure}:sub_Retry"); 3]);
    // Backed off through the clock between the attempts.
    assert_eq!(
        c.clock.sleeps(),
        vec![Duration::from_millis(500), Duration::from_millis(1000)]
    );
}

#[tokio::test]
async fn when_stripe_never_confirms_the_closure_is_told_to_retry_later_with_the_same_key() {
    let c = closure().await;
    let user = c.customer("cus_Down").await;
    let closure = RequestId::new();
    c.lists("cus_Down", vec![live("sub_Down", "cus_Down")])
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/subscriptions/sub_Down"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>upstream down</html>"))
        .expect(6)
        .mount(&c.server)
        .await;

    for _ in 0..2 {
        let stop = c.service.stop_billing(user, closure).await.unwrap();
        let BillingStop::RetryLater { error } = stop else {
            panic!("stripe confirmed nothing, yet: {stop:?}");
        };
        assert_eq!(error.kind, BillingProviderErrorKind::Unavailable);
        assert!(error.message.contains("503"), "{}", error.message);
    }
    // Three bounded attempts per call, one key for every attempt of every call.
    let keys: Vec<String> = c
        .requests("DELETE", "/v1/subscriptions/sub_Down")
        .await
        .iter()
        .map(key_of)
        .collect();
    assert_eq!(keys, vec![format!("cancel:{closure}:sub_Down"); 6]);
}

#[tokio::test]
async fn a_subscription_stripe_no_longer_knows_counts_as_already_cancelled() {
    let c = closure().await;
    let user = c.customer("cus_Gone").await;
    c.lists("cus_Gone", vec![live("sub_Gone", "cus_Gone")])
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/subscriptions/sub_Gone"))
        .respond_with(missing("subscription", "sub_Gone"))
        .expect(1)
        .mount(&c.server)
        .await;

    let stop = c
        .service
        .stop_billing(user, RequestId::new())
        .await
        .unwrap();
    assert_eq!(
        stop,
        BillingStop::Stopped {
            canceled: vec![],
            already_ended: vec![SubscriptionId::parse("sub_Gone").unwrap()],
        }
    );
}

#[tokio::test]
async fn a_bare_404_is_never_taken_for_a_cancelled_subscription() {
    // A proxy or a wrong base path answers 404 without Stripe's error: billing has not stopped.
    let c = closure().await;
    let user = c.customer("cus_Proxy").await;
    c.lists("cus_Proxy", vec![live("sub_Proxy", "cus_Proxy")])
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/subscriptions/sub_Proxy"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .expect(1)
        .mount(&c.server)
        .await;

    let stop = c
        .service
        .stop_billing(user, RequestId::new())
        .await
        .unwrap();
    let BillingStop::RetryLater { error } = stop else {
        panic!("a bare 404 was taken for a cancellation: {stop:?}");
    };
    assert_eq!(
        error.kind,
        BillingProviderErrorKind::Rejected {
            status: 404,
            code: None
        }
    );
}

#[tokio::test]
async fn every_open_subscription_is_cancelled_across_pages_and_ended_ones_are_left_alone() {
    let c = closure().await;
    let user = c.customer("cus_Many").await;
    let mut expired = live("sub_Expired", "cus_Many");
    expired["status"] = json!("incomplete_expired");
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .and(query_param("starting_after", "sub_Page1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            vec![
                subscription(
                    "sub_Page2",
                    "cus_Many",
                    "past_due",
                    "price_pro",
                    t0().timestamp(),
                    None,
                ),
                expired,
            ],
            false,
        )))
        .expect(1)
        .mount(&c.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .and(query_param("customer", "cus_Many"))
        .and(query_param("limit", "100"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(list(vec![live("sub_Page1", "cus_Many")], true)),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&c.server)
        .await;
    for id in ["sub_Page1", "sub_Page2"] {
        Mock::given(method("DELETE"))
            .and(path(format!("/v1/subscriptions/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(ended(id, "cus_Many")))
            .expect(1)
            .mount(&c.server)
            .await;
    }
    Mock::given(method("DELETE"))
        .and(path("/v1/subscriptions/sub_Expired"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&c.server)
        .await;

    let stop = c
        .service
        .stop_billing(user, RequestId::new())
        .await
        .unwrap();
    assert_eq!(
        stop,
        BillingStop::Stopped {
            canceled: vec![
                SubscriptionId::parse("sub_Page1").unwrap(),
                SubscriptionId::parse("sub_Page2").unwrap(),
            ],
            already_ended: vec![],
        }
    );
}

#[tokio::test]
async fn a_user_who_never_had_a_customer_sends_nothing_to_stripe() {
    let c = closure().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&c.server)
        .await;
    let user = UserId::new();
    assert_eq!(
        c.service
            .stop_billing(user, RequestId::new())
            .await
            .unwrap(),
        BillingStop::NoCustomer
    );
    assert_eq!(
        c.service.erase_customer(user).await.unwrap(),
        CustomerErasure::NoCustomer
    );
}

#[tokio::test]
async fn the_cancellation_options_are_sent_as_configured() {
    let c = closure().await;
    let service = BillingService::new(
        c.stripe.clone(),
        c.store.clone(),
        Arc::new(paid_only_plans()),
        c.clock.clone(),
        BillingUrls::new(
            "https://app.kraftsoci.test/a",
            "https://app.kraftsoci.test/b",
            "https://app.kraftsoci.test/c",
        )
        .unwrap(),
    )
    .with_cancel_options(
        CancelOptions::default()
            .with_invoice_now(true)
            .with_prorate(true),
    );
    let user = c.customer("cus_Prorate").await;
    c.lists("cus_Prorate", vec![live("sub_Prorate", "cus_Prorate")])
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/subscriptions/sub_Prorate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ended("sub_Prorate", "cus_Prorate")))
        .expect(1)
        .mount(&c.server)
        .await;

    service.stop_billing(user, RequestId::new()).await.unwrap();
    let sent = form(&c.requests("DELETE", "/v1/subscriptions/sub_Prorate").await[0]);
    assert_eq!(sent["invoice_now"], "true");
    assert_eq!(sent["prorate"], "true");
}

#[tokio::test]
async fn an_answer_that_does_not_confirm_the_cancellation_is_not_taken_for_one() {
    let c = closure().await;
    let user = c.customer("cus_Odd").await;
    c.lists("cus_Odd", vec![live("sub_Odd", "cus_Odd")]).await;
    Mock::given(method("DELETE"))
        .and(path("/v1/subscriptions/sub_Odd"))
        .respond_with(ResponseTemplate::new(200).set_body_json(live("sub_Odd", "cus_Odd")))
        .expect(1)
        .mount(&c.server)
        .await;

    let stop = c
        .service
        .stop_billing(user, RequestId::new())
        .await
        .unwrap();
    let BillingStop::RetryLater { error } = stop else {
        panic!("a still-active answer was taken for a cancellation: {stop:?}");
    };
    assert_eq!(error.kind, BillingProviderErrorKind::MalformedResponse);
}

#[tokio::test]
async fn the_purge_deletes_the_stripe_customer_and_a_404_counts_as_done() {
    let c = closure().await;
    let deleted = c.customer("cus_Purge").await;
    let gone = c.customer("cus_Earlier").await;
    Mock::given(method("DELETE"))
        .and(path("/v1/customers/cus_Purge"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cus_Purge", "object": "customer", "deleted": true
        })))
        .expect(1)
        .mount(&c.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/customers/cus_Earlier"))
        .respond_with(missing("customer", "cus_Earlier"))
        .expect(2)
        .mount(&c.server)
        .await;

    assert_eq!(
        c.service.erase_customer(deleted).await.unwrap(),
        CustomerErasure::Deleted
    );
    assert_eq!(
        c.service.erase_customer(gone).await.unwrap(),
        CustomerErasure::AlreadyGone
    );
    // As the retention sweeper sees it (asking again, as a later run would): erased.
    assert_eq!(c.service.processor(), "stripe");
    assert_eq!(c.service.erase_account(gone).await, Ok(()));
}

#[tokio::test]
async fn a_customer_deletion_stripe_does_not_confirm_keeps_the_account_for_the_next_run() {
    let c = closure().await;
    let user = c.customer("cus_Busy").await;
    Mock::given(method("DELETE"))
        .and(path("/v1/customers/cus_Busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("request-id", "req_Busy1"))
        .expect(3)
        .mount(&c.server)
        .await;

    let erasure = c.service.erase_account(user).await;
    let error = erasure.unwrap_err();
    assert!(error.message.contains("429"), "{}", error.message);
    assert!(error.message.contains("req_Busy1"), "{}", error.message);
    // The customer is still known, so the next run can try again.
    assert!(
        c.store
            .account(user)
            .await
            .unwrap()
            .and_then(|a| a.customer)
            .is_some()
    );
}

#[tokio::test]
async fn the_secret_key_appears_in_no_error_outcome_or_url_of_a_closure() {
    let c = closure().await;
    let user = c.customer("cus_Secret").await;
    // Stripe refuses the key, echoing a redacted form of it the way it does.
    let refusal = ResponseTemplate::new(401).set_body_json(json!({ "error": {
        "type": "invalid_request_error",
        "message": "Invalid API Key provided: sk_live_********************Leak"
    }}));
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .respond_with(refusal.clone())
        .mount(&c.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/customers/cus_Secret"))
        .respond_with(refusal)
        .mount(&c.server)
        .await;

    let stop = c
        .service
        .stop_billing(user, RequestId::new())
        .await
        .unwrap();
    assert!(matches!(
        &stop,
        BillingStop::RetryLater { error } if error.kind == BillingProviderErrorKind::Rejected { status: 401, code: None }
    ));
    let erasure = c.service.erase_customer(user).await.unwrap();
    let processor = c.service.erase_account(user).await.unwrap_err();
    let seen = format!(
        "{stop:?} {erasure:?} {processor} {processor:?} {:?} {:?}",
        c.service, c.stripe
    );
    assert!(!seen.contains(KEY), "{seen}");
    assert!(!seen.contains("ClosureKey"), "{seen}");
    for request in c.server.received_requests().await.unwrap() {
        assert!(!request.url.as_str().contains("sk_live"), "{}", request.url);
    }
}
