//! Fixtures shaped like Stripe's real payloads, and a harness that signs and delivers them.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use kraftsoci_billing::*;
use kraftsoci_core::{Clock, ManualClock, UserId};
use secrecy::SecretString;
use serde_json::{Value, json};

pub const DAY: i64 = 86_400;

/// A fixed "now" for every test: 2027-03-01 12:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).single().unwrap()
}

/// A fresh random endpoint secret, as Stripe would issue.
pub fn random_secret() -> SecretString {
    SecretString::from(format!("whsec_{}", hex::encode(rand::random::<[u8; 24]>())))
}

/// Plans without a free tier, so "no access" is visible as a refusal.
pub fn paid_only_plans() -> PlanTable {
    PlanTable::from_json(
        r#"[{"name":"starter","price_id":"price_starter","monthly_posts":10,"monthly_images":4},
            {"name":"pro","price_id":"price_pro","monthly_posts":100,"monthly_images":40}]"#,
    )
    .unwrap()
}

pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub store: Arc<InMemoryBillingStore>,
    pub secret: SecretString,
    pub webhooks: WebhookProcessor,
    pub entitlements: BillingEntitlements,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_plans(paid_only_plans())
    }

    pub fn with_plans(plans: PlanTable) -> Self {
        let clock = Arc::new(ManualClock::new(t0()));
        let store = Arc::new(InMemoryBillingStore::new());
        let secret = random_secret();
        let webhooks = WebhookProcessor::new(
            WebhookVerifier::new(secret.clone()),
            store.clone(),
            clock.clone(),
        );
        let entitlements = BillingEntitlements::new(
            store.clone(),
            Arc::new(plans),
            Arc::new(InMemoryQuotaLedger::with_clock(clock.clone())),
            clock.clone(),
        );
        Self {
            clock,
            store,
            secret,
            webhooks,
            entitlements,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// A user already linked to `customer` (as checkout does before redirecting).
    pub async fn customer(&self, customer: &str) -> UserId {
        let user = UserId::new();
        self.store
            .link_customer(user, &BillingCustomerId::parse(customer).unwrap())
            .await
            .unwrap();
        user
    }

    /// Signs `event` now with the endpoint secret and delivers it.
    pub async fn deliver(&self, event: &Value) -> Result<WebhookOutcome, BillingError> {
        let body = serde_json::to_vec(event).unwrap();
        let header = signature_header(&self.secret, self.now(), &body);
        self.webhooks.handle(Some(&header), &body).await
    }

    pub async fn grants(&self, user: UserId) -> bool {
        self.entitlements
            .entitlement(user)
            .await
            .unwrap()
            .access
            .grants()
    }
}

/// A Stripe event envelope around `object`.
pub fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2026-09-30.endive",
        "created": created,
        "data": { "object": object, "previous_attributes": {} },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": "req_8hXq2Lm0aPq1Zt", "idempotency_key": "0b1f7c5e-7e53-4a0b-9a3c-2c1c7f3b8f11" },
        "type": kind
    })
}

/// A subscription object as API version 2026-09-30 sends it (periods on the item).
pub fn subscription(
    id: &str,
    customer: &str,
    status: &str,
    price: &str,
    period_start: i64,
    metadata_user: Option<UserId>,
) -> Value {
    let metadata = match metadata_user {
        Some(user) => json!({ "kraftsoci_user_id": user.to_string() }),
        None => json!({}),
    };
    json!({
        "id": id,
        "object": "subscription",
        "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": period_start,
        "billing_cycle_anchor_config": null,
        "billing_mode": { "type": "flexible", "flexible": { "proration_discounts": "included" } },
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": if status == "canceled" { json!(period_start + 5 * DAY) } else { json!(null) },
        "cancellation_details": { "comment": null, "feedback": null, "reason": null },
        "collection_method": "charge_automatically",
        "created": period_start,
        "currency": "eur",
        "customer": customer,
        "days_until_due": null,
        "default_payment_method": "pm_1QzX8e2eZvKYlo2C0n6q9rNa",
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "ended_at": null,
        "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
        "items": {
            "object": "list",
            "data": [{
                "id": "si_RsT9kq3Lw2pXy1",
                "object": "subscription_item",
                "created": period_start,
                "current_period_end": period_start + 30 * DAY,
                "current_period_start": period_start,
                "discounts": [],
                "metadata": {},
                "price": {
                    "id": price,
                    "object": "price",
                    "active": true,
                    "billing_scheme": "per_unit",
                    "created": 1_790_000_000,
                    "currency": "eur",
                    "livemode": false,
                    "lookup_key": null,
                    "metadata": {},
                    "nickname": null,
                    "product": "prod_RsT9Starter",
                    "recurring": { "interval": "month", "interval_count": 1, "meter": null, "usage_type": "licensed" },
                    "tax_behavior": "unspecified",
                    "type": "recurring",
                    "unit_amount": 1900,
                    "unit_amount_decimal": "1900"
                },
                "quantity": 1,
                "subscription": id,
                "tax_rates": []
            }],
            "has_more": false,
            "total_count": 1,
            "url": format!("/v1/subscription_items?subscription={id}")
        },
        "latest_invoice": "in_1QzX9a2eZvKYlo2CfW3tUx7b",
        "livemode": false,
        "metadata": metadata,
        "next_pending_invoice_item_invoice": null,
        "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": {
            "payment_method_options": { "card": { "network": null, "request_three_d_secure": "automatic" } },
            "payment_method_types": null,
            "save_default_payment_method": "off"
        },
        "pending_invoice_item_interval": null,
        "pending_setup_intent": null,
        "pending_update": null,
        "schedule": null,
        "start_date": period_start,
        "status": status,
        "test_clock": null,
        "transfer_data": null,
        "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null
    })
}

/// A paid subscription invoice whose payment details are expanded, card and payer included,
/// as a careless `expand[]` or a future API version could deliver it.
pub fn invoice_with_card(
    id: &str,
    customer: &str,
    subscription: &str,
    paid: bool,
    at: i64,
) -> Value {
    let card = json!({
        "brand": "visa",
        "checks": { "address_line1_check": null, "address_postal_code_check": "pass", "cvc_check": "pass" },
        "country": "TR",
        "exp_month": 11,
        "exp_year": 2031,
        "fingerprint": "Xt5EWLLDS7FJjR1c",
        "funding": "credit",
        "last4": "4242",
        "networks": { "available": ["visa"], "preferred": null },
        "wallet": null
    });
    json!({
        "id": id,
        "object": "invoice",
        "account_country": "TR",
        "account_name": "kraftsoci",
        "amount_due": 1900,
        "amount_paid": if paid { 1900 } else { 0 },
        "amount_remaining": if paid { 0 } else { 1900 },
        "attempt_count": 1,
        "attempted": true,
        "auto_advance": false,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": at,
        "currency": "eur",
        "customer": customer,
        "customer_address": { "city": "Izmir", "country": "TR", "line1": "Kordon Boyu 12", "line2": null, "postal_code": "35210", "state": null },
        "customer_email": "ayse.payer@example.com",
        "customer_name": "Ayse Payer",
        "customer_phone": "+905551112233",
        "default_payment_method": {
            "id": "pm_1QzX8e2eZvKYlo2C0n6q9rNa",
            "object": "payment_method",
            "billing_details": { "email": "ayse.payer@example.com", "name": "Ayse Payer", "phone": null },
            "card": card.clone(),
            "type": "card"
        },
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test_x",
        "lines": {
            "object": "list",
            "data": [{
                "id": "il_1QzX9a2eZvKYlo2C",
                "object": "line_item",
                "amount": 1900,
                "currency": "eur",
                "description": "1 × Starter (at €19.00 / month)",
                "period": { "end": at + 30 * DAY, "start": at },
                "pricing": { "price_details": { "price": "price_starter", "product": "prod_RsT9Starter" }, "type": "price_details" }
            }],
            "has_more": false,
            "total_count": 1,
            "url": format!("/v1/invoices/{id}/lines")
        },
        "livemode": false,
        "number": "KRAFT-0001",
        "parent": {
            "quote_details": null,
            "subscription_details": { "metadata": {}, "subscription": subscription },
            "type": "subscription_details"
        },
        "payments": {
            "object": "list",
            "data": [{
                "id": "inpay_1QzX9b2eZvKYlo2C",
                "object": "invoice_payment",
                "amount_paid": if paid { 1900 } else { 0 },
                "payment": {
                    "type": "payment_intent",
                    "payment_intent": {
                        "id": "pi_3QzX9b2eZvKYlo2C1",
                        "object": "payment_intent",
                        "latest_charge": {
                            "id": "ch_3QzX9b2eZvKYlo2C1",
                            "object": "charge",
                            "billing_details": { "email": "ayse.payer@example.com", "name": "Ayse Payer" },
                            "payment_method_details": { "card": card, "type": "card" },
                            "receipt_email": "ayse.payer@example.com"
                        }
                    }
                },
                "status": if paid { "paid" } else { "open" }
            }]
        },
        "period_end": at,
        "period_start": at - 30 * DAY,
        "status": if paid { "paid" } else { "open" },
        "status_transitions": {
            "finalized_at": at,
            "marked_uncollectible_at": null,
            "paid_at": if paid { json!(at + 60) } else { json!(null) },
            "voided_at": null
        },
        "subtotal": 1900,
        "total": 1900
    })
}

/// A `charge.succeeded` payload: card details and payer all over it.
pub fn charge_with_card(customer: &str, at: i64) -> Value {
    json!({
        "id": "ch_3QzX9b2eZvKYlo2C1",
        "object": "charge",
        "amount": 1900,
        "billing_details": {
            "address": { "city": "Izmir", "country": "TR", "line1": "Kordon Boyu 12", "postal_code": "35210" },
            "email": "ayse.payer@example.com",
            "name": "Ayse Payer",
            "phone": "+905551112233"
        },
        "created": at,
        "currency": "eur",
        "customer": customer,
        "paid": true,
        "payment_intent": "pi_3QzX9b2eZvKYlo2C1",
        "payment_method": "pm_1QzX8e2eZvKYlo2C0n6q9rNa",
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "exp_month": 11,
                "exp_year": 2031,
                "fingerprint": "Xt5EWLLDS7FJjR1c",
                "last4": "4242",
                "network": "visa"
            },
            "type": "card"
        },
        "receipt_email": "ayse.payer@example.com",
        "status": "succeeded"
    })
}

/// A completed subscription Checkout session for `user`.
pub fn checkout_session(user: UserId, customer: &str, subscription: &str) -> Value {
    json!({
        "id": "cs_test_a1B2c3D4e5F6",
        "object": "checkout.session",
        "client_reference_id": user.to_string(),
        "customer": customer,
        "customer_details": { "email": "ayse.payer@example.com", "name": "Ayse Payer", "address": { "country": "TR" } },
        "livemode": false,
        "metadata": { "kraftsoci_user_id": user.to_string() },
        "mode": "subscription",
        "payment_status": "paid",
        "status": "complete",
        "subscription": subscription,
        "url": null
    })
}
