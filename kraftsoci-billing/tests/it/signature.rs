//! `Stripe-Signature` verification: checklist rows 1–6.

use std::time::Duration;

use kraftsoci_billing::*;
use serde_json::json;

use crate::helpers::*;

fn body(h: &Harness) -> Vec<u8> {
    let object = subscription("sub_1", "cus_sig", "active", "price_starter", h.now(), None);
    serde_json::to_vec(&event(
        "evt_sig_1",
        "customer.subscription.updated",
        h.now(),
        object,
    ))
    .unwrap()
}

async fn handle(
    h: &Harness,
    header: Option<&str>,
    body: &[u8],
) -> Result<WebhookOutcome, BillingError> {
    h.webhooks.handle(header, body).await
}

#[tokio::test]
async fn a_validly_signed_event_is_processed_once() {
    let h = Harness::new();
    h.customer("cus_sig").await;
    let body = body(&h);
    let header = signature_header(&h.secret, h.now(), &body);
    let outcome = handle(&h, Some(&header), &body).await.unwrap();
    assert_eq!(outcome.result, WebhookResult::Applied);
    assert_eq!(outcome.event_id, "evt_sig_1");
    assert_eq!(h.store.recorded_events(), 1);
}

#[tokio::test]
async fn a_body_changed_by_one_byte_is_rejected_and_nothing_is_written() {
    let h = Harness::new();
    h.customer("cus_sig").await;
    let body = body(&h);
    let header = signature_header(&h.secret, h.now(), &body);
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'a').unwrap();
    tampered[at] = b'b';
    let err = handle(&h, Some(&header), &tampered).await.unwrap_err();
    assert!(matches!(err, BillingError::SignatureMismatch), "{err:?}");
    assert!(err.is_bad_webhook());
    // Re-serialised JSON (same meaning, different bytes) fails too: only raw bytes verify.
    let reserialised =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&body).unwrap())
            .unwrap();
    assert!(matches!(
        handle(&h, Some(&header), &reserialised).await,
        Err(BillingError::SignatureMismatch)
    ));
    assert_eq!(h.store.recorded_events(), 0);
    assert!(
        h.store
            .calls()
            .iter()
            .all(|c| matches!(c, StoreCall::LinkCustomer { .. }))
    );
}

#[tokio::test]
async fn a_missing_or_malformed_header_is_rejected() {
    let h = Harness::new();
    let body = body(&h);
    let valid = signature_header(&h.secret, h.now(), &body);
    let v1 = valid.split_once(",v1=").unwrap().1.to_owned();
    let t = h.now();

    assert!(matches!(
        handle(&h, None, &body).await,
        Err(BillingError::MissingSignature)
    ));
    let malformed = [
        String::new(),
        "garbage".to_owned(),
        format!("v1={v1}"),                             // no t
        format!("t={t}"),                               // no v1
        format!("t={t},v0={v1}"),                       // only another scheme
        format!("t=yesterday,v1={v1}"),                 // t not a number
        format!("t={t},t={t},v1={v1}"),                 // t twice
        format!("t={t},v1={v1},{}", "x=".repeat(2100)), // oversized
    ];
    for header in malformed {
        let err = handle(&h, Some(&header), &body).await.unwrap_err();
        assert!(
            matches!(err, BillingError::MalformedSignature(_)),
            "{header:?}: {err:?}"
        );
        assert!(err.is_bad_webhook());
    }
    // A v1 that is not hex can never match.
    let not_hex = format!("t={t},v1=zz{}", &v1[2..]);
    assert!(matches!(
        handle(&h, Some(&not_hex), &body).await,
        Err(BillingError::SignatureMismatch)
    ));
    assert_eq!(h.store.recorded_events(), 0);
}

#[tokio::test]
async fn a_replayed_event_older_than_the_tolerance_is_rejected() {
    let h = Harness::new();
    h.customer("cus_sig").await;
    let body = body(&h);
    let stale = signature_header(&h.secret, h.now() - 301, &body);
    let err = handle(&h, Some(&stale), &body).await.unwrap_err();
    assert!(
        matches!(err, BillingError::StaleTimestamp { age_secs: 301 }),
        "{err:?}"
    );

    // Exactly at the edge of the window is still accepted.
    let edge = signature_header(&h.secret, h.now() - 300, &body);
    assert!(handle(&h, Some(&edge), &body).await.is_ok());
}

#[tokio::test]
async fn the_tolerance_is_configurable() {
    let h = Harness::new();
    let body = body(&h);
    let verifier = WebhookVerifier::new(h.secret.clone()).with_tolerance(Duration::from_secs(30));
    let header = signature_header(&h.secret, h.now() - 31, &body);
    assert!(matches!(
        verifier.verify(Some(&header), &body, helpers_now(&h)),
        Err(BillingError::StaleTimestamp { age_secs: 31 })
    ));
    let ok = signature_header(&h.secret, h.now() - 30, &body);
    assert!(verifier.verify(Some(&ok), &body, helpers_now(&h)).is_ok());
}

fn helpers_now(h: &Harness) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(h.now(), 0).unwrap()
}

#[tokio::test]
async fn a_timestamp_far_in_the_future_is_rejected() {
    let h = Harness::new();
    let body = body(&h);
    let future = signature_header(&h.secret, h.now() + 3_600, &body);
    let err = handle(&h, Some(&future), &body).await.unwrap_err();
    assert!(
        matches!(err, BillingError::FutureTimestamp { ahead_secs: 3_600 }),
        "{err:?}"
    );
    // Small clock skew is tolerated.
    let skewed = signature_header(&h.secret, h.now() + 30, &body);
    assert!(handle(&h, Some(&skewed), &body).await.is_ok());
}

#[tokio::test]
async fn two_v1_signatures_are_accepted_when_only_the_second_is_valid() {
    let h = Harness::new();
    h.customer("cus_sig").await;
    let body = body(&h);
    let old_secret = random_secret();
    let valid = signature_header(&h.secret, h.now(), &body);
    let stale_sig = signature_header(&old_secret, h.now(), &body);
    let old_v1 = stale_sig.split_once(",v1=").unwrap().1;
    let new_v1 = valid.split_once(",v1=").unwrap().1;
    let header = format!("t={},v1={old_v1},v1={new_v1},v0=deadbeef", h.now());
    assert_eq!(
        handle(&h, Some(&header), &body).await.unwrap().result,
        WebhookResult::Applied
    );
    // Both present but neither valid: refused.
    let neither = format!("t={},v1={old_v1},v1={old_v1}", h.now());
    assert!(matches!(
        handle(&h, Some(&neither), &body).await,
        Err(BillingError::SignatureMismatch)
    ));
}

#[tokio::test]
async fn an_event_signed_with_another_endpoints_secret_is_rejected() {
    let h = Harness::new();
    let body = body(&h);
    let test_mode_secret = random_secret();
    let header = signature_header(&test_mode_secret, h.now(), &body);
    assert!(matches!(
        handle(&h, Some(&header), &body).await,
        Err(BillingError::SignatureMismatch)
    ));
    assert_eq!(h.store.recorded_events(), 0);
}

#[tokio::test]
async fn a_correctly_signed_body_that_is_not_an_event_is_acknowledged_never_refused() {
    // Stripe retries a 4xx for days and a signed body never reads better: 2xx, logged.
    let h = Harness::new();
    for body in [
        b"not json".to_vec(),
        serde_json::to_vec(&json!({"id": "evt_1"})).unwrap(),
    ] {
        let header = signature_header(&h.secret, h.now(), &body);
        let outcome = handle(&h, Some(&header), &body).await.unwrap();
        assert_eq!(outcome.result, WebhookResult::Unprocessable);
        assert_eq!(outcome.event_type, "");
    }
    // Without an id and a type there is nothing to record it by.
    assert_eq!(h.store.recorded_events(), 0);
    assert!(h.store.calls().is_empty());
}

#[tokio::test]
async fn a_signed_event_without_a_field_we_expect_is_recorded_as_unprocessable_by_id_and_type() {
    let h = Harness::new();
    h.customer("cus_sig").await;
    // An invoice.paid whose invoice lacks `amount_due`, `currency`…: what an API version
    // change could send.
    let wrong = serde_json::to_vec(&event(
        "evt_2",
        "invoice.paid",
        h.now(),
        json!({"id": "in_1", "customer": "cus_sig", "customer_email": "ayse.payer@example.com"}),
    ))
    .unwrap();
    let header = signature_header(&h.secret, h.now(), &wrong);
    for _ in 0..2 {
        let outcome = handle(&h, Some(&header), &wrong).await.unwrap();
        assert_eq!(outcome.result, WebhookResult::Unprocessable);
        assert_eq!(
            (outcome.event_id.as_str(), outcome.event_type.as_str()),
            ("evt_2", "invoice.paid")
        );
    }
    // Recorded once, by id and type only.
    assert_eq!(
        h.store.unprocessable_events(),
        vec![("evt_2".to_owned(), "invoice.paid".to_owned())]
    );
    assert_eq!(h.store.recorded_events(), 1);
    let calls = serde_json::to_value(h.store.calls()).unwrap();
    let applied: Vec<&serde_json::Value> = calls
        .as_array()
        .unwrap()
        .iter()
        .filter(|call| call["call"] == "apply_event")
        .collect();
    assert_eq!(applied.len(), 2, "both deliveries asked the store: {calls}");
    for call in applied {
        assert_eq!(call["event"]["effect"], json!({"effect": "unprocessable"}));
        let mut fields: Vec<&str> = call["event"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, ["created", "effect", "id", "kind"]);
    }
    assert!(!calls.to_string().contains("ayse"), "{calls}");
    assert!(!calls.to_string().contains("in_1"), "{calls}");

    // The same body under a bad signature is still refused, and records nothing.
    let forged = signature_header(&random_secret(), h.now(), &wrong);
    assert!(matches!(
        handle(&h, Some(&forged), &wrong).await,
        Err(BillingError::SignatureMismatch)
    ));
    assert_eq!(h.store.recorded_events(), 1);
}

#[tokio::test]
async fn every_handled_type_with_an_unreadable_object_is_acknowledged_as_unprocessable() {
    let h = Harness::new();
    h.customer("cus_sig").await;
    let broken = [
        (
            "checkout.session.completed",
            json!({"object": "checkout.session"}),
        ),
        (
            "customer.subscription.created",
            json!({"id": "sub_1", "customer": "cus_sig"}),
        ),
        (
            "customer.subscription.updated",
            json!({"id": "sub_1", "customer": 42, "status": "active"}),
        ),
        ("customer.subscription.deleted", json!("not an object")),
        (
            "invoice.paid",
            json!({"id": "in_1", "customer": "cus_sig", "amount_due": 5, "amount_paid": 5, "currency": "euro!"}),
        ),
        (
            "invoice.payment_failed",
            json!({"id": "in_2", "amount_due": 5, "amount_paid": 0, "currency": "eur"}),
        ),
    ];
    for (i, (kind, object)) in broken.into_iter().enumerate() {
        let body = serde_json::to_vec(&event(&format!("evt_u{i}"), kind, h.now(), object)).unwrap();
        let header = signature_header(&h.secret, h.now(), &body);
        let outcome = handle(&h, Some(&header), &body).await.unwrap();
        assert_eq!(outcome.result, WebhookResult::Unprocessable, "{kind}");
    }
    assert_eq!(h.store.unprocessable_events().len(), 6);
}
