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
async fn a_correctly_signed_body_that_is_not_an_event_is_rejected_as_malformed() {
    let h = Harness::new();
    for body in [
        b"not json".to_vec(),
        serde_json::to_vec(&json!({"id": "evt_1"})).unwrap(),
    ] {
        let header = signature_header(&h.secret, h.now(), &body);
        let err = handle(&h, Some(&header), &body).await.unwrap_err();
        assert!(matches!(err, BillingError::MalformedEvent(_)), "{err:?}");
        assert!(err.is_bad_webhook());
    }
    // A handled type whose object is not what the type promises.
    let wrong = serde_json::to_vec(&event(
        "evt_2",
        "invoice.paid",
        h.now(),
        json!({"id": "in_1"}),
    ))
    .unwrap();
    let header = signature_header(&h.secret, h.now(), &wrong);
    assert!(matches!(
        handle(&h, Some(&header), &wrong).await,
        Err(BillingError::MalformedEvent(_))
    ));
    assert_eq!(h.store.recorded_events(), 0);
}
