//! P05/P13: nothing about the card or the payer survives into storage.

use kraftsoci_billing::*;

use crate::helpers::*;

#[tokio::test]
async fn card_and_payer_details_in_payloads_never_reach_the_store() {
    let h = Harness::new();
    let user = h.customer("cus_P").await;
    let at = h.now() - 300;
    let deliveries = [
        event(
            "evt_p1",
            "invoice.payment_failed",
            at,
            invoice_with_card("in_P", "cus_P", "sub_P", false, at),
        ),
        event(
            "evt_p2",
            "invoice.paid",
            at + 60,
            invoice_with_card("in_P", "cus_P", "sub_P", true, at),
        ),
        event(
            "evt_p3",
            "charge.succeeded",
            at + 61,
            charge_with_card("cus_P", at),
        ),
        event(
            "evt_p4",
            "checkout.session.completed",
            at + 62,
            checkout_session(user, "cus_P", "sub_P"),
        ),
        event(
            "evt_p5",
            "customer.subscription.created",
            at + 63,
            subscription("sub_P", "cus_P", "active", "price_starter", at, Some(user)),
        ),
    ];
    for d in &deliveries {
        h.deliver(d).await.unwrap();
    }
    // The payloads really carried the details…
    let sent = serde_json::to_string(&deliveries).unwrap();
    for needle in ["4242", "Xt5EWLLDS7FJjR1c", "2031", "ayse.payer@example.com"] {
        assert!(sent.contains(needle), "fixture lacks {needle}");
    }

    // …and nothing of them is in what the store was given or holds.
    let stored = serde_json::to_string(&serde_json::json!({
        "calls": h.store.calls(),
        "account": h.store.account(user).await.unwrap(),
        "payments": h.store.payment_records(user).await.unwrap(),
    }))
    .unwrap();
    assert!(
        stored.contains("in_P"),
        "the payment record is missing: {stored}"
    );
    for needle in [
        "visa",
        "brand",
        "4242",
        "last4",
        "exp_month",
        "exp_year",
        "2031",
        "Xt5EWLLDS7FJjR1c",
        "fingerprint",
        "card",
        "pm_1QzX8e2eZvKYlo2C0n6q9rNa",
        "ayse.payer@example.com",
        "Ayse Payer",
        "Kordon",
        "+905551112233",
    ] {
        assert!(
            !stored.contains(needle),
            "`{needle}` reached the store: {stored}"
        );
    }
}
