//! P05/P13: nothing about the card or the payer survives into storage; P19: nothing personal
//! about a purged or unknown customer reaches it either.

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

/// Everything personal the fixtures carry.
const PERSONAL: [&str; 12] = [
    "4242",
    "Xt5EWLLDS7FJjR1c",
    "2031",
    "fingerprint",
    "last4",
    "pm_1QzX8e2eZvKYlo2C0n6q9rNa",
    "ayse.payer@example.com",
    "Ayse Payer",
    "Kordon",
    "+905551112233",
    "Izmir",
    "35210",
];

#[tokio::test]
async fn events_of_purged_and_unknown_customers_leave_nothing_personal_in_the_store() {
    let h = Harness::new();
    let purged = h.customer("cus_Erased").await;
    h.store.erase_user(purged);
    let before = h.store.calls().len();
    let at = h.now() - 60;
    let deliveries = [
        // A purged customer's checkout, subscription and a charge.
        event(
            "evt_e1",
            "checkout.session.completed",
            at,
            checkout_session(purged, "cus_Erased", "sub_E"),
        ),
        event(
            "evt_e2",
            "customer.subscription.deleted",
            at + 1,
            subscription(
                "sub_E",
                "cus_Erased",
                "canceled",
                "price_starter",
                at,
                Some(purged),
            ),
        ),
        event(
            "evt_e3",
            "charge.succeeded",
            at + 2,
            charge_with_card("cus_Erased", at),
        ),
        // A customer we never had, with card and payer all over the invoice.
        event(
            "evt_e4",
            "invoice.payment_failed",
            at + 3,
            invoice_with_card("in_Stranger", "cus_Stranger", "sub_X", false, at),
        ),
        // A signed event missing a field we need, full of personal data: unprocessable.
        event("evt_e5", "invoice.paid", at + 4, {
            let mut invoice = invoice_with_card("in_Broken", "cus_Erased", "sub_E", true, at);
            invoice.as_object_mut().unwrap().remove("amount_due");
            invoice
        }),
    ];
    let sent = serde_json::to_string(&deliveries).unwrap();
    for needle in PERSONAL {
        assert!(sent.contains(needle), "fixture lacks {needle}");
    }
    let mut results = Vec::new();
    for d in &deliveries {
        results.push(h.deliver(d).await.unwrap().result);
    }
    assert_eq!(
        results,
        vec![
            WebhookResult::IgnoredUnknownCustomer,
            WebhookResult::IgnoredUnknownCustomer,
            WebhookResult::Ignored("unhandled event type"),
            WebhookResult::IgnoredUnknownCustomer,
            WebhookResult::Unprocessable,
        ]
    );

    let calls = h.store.calls();
    let reached = serde_json::to_string(&calls[before..]).unwrap();
    for needle in PERSONAL {
        assert!(
            !reached.contains(needle),
            "`{needle}` reached the store: {reached}"
        );
    }
    // What reached it at all: the purged user's two events (refused, nothing recorded) and the
    // unprocessable one's id and type.
    assert_eq!(
        h.store.unprocessable_events(),
        vec![("evt_e5".to_owned(), "invoice.paid".to_owned())]
    );
    assert_eq!(h.store.recorded_events(), 1);
    assert_eq!(h.store.account(purged).await.unwrap(), None);
    assert!(!reached.contains("in_Stranger"), "{reached}");
    assert!(!reached.contains("in_Broken"), "{reached}");
}
