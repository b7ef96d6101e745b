//! Verifies and applies a Stripe webhook, self-contained: a freshly generated endpoint secret
//! signs a sample `customer.subscription.created` event, which is delivered to an in-memory
//! store; then a duplicate and a tampered copy show idempotency and signature checking.
//!
//! Run with `cargo run -p kraftsoci-examples --example billing_webhook`.

use std::sync::Arc;

use chrono::Utc;
use kraftsoci_billing::{
    BillingCustomerId, BillingEntitlements, BillingStore, InMemoryBillingStore,
    InMemoryQuotaLedger, PlanTable, WebhookProcessor, WebhookVerifier, signature_header,
};
use kraftsoci_core::{Clock, SystemClock, UserId};
use secrecy::SecretString;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // What Stripe shows once as `whsec_…` when the endpoint is created.
    let secret = SecretString::from(format!("whsec_{}", hex::encode(rand::random::<[u8; 24]>())));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(InMemoryBillingStore::new());
    let webhooks = WebhookProcessor::new(
        WebhookVerifier::new(secret.clone()),
        store.clone(),
        clock.clone(),
    );

    // Checkout stored the user's Stripe customer before redirecting them to Stripe.
    let user = UserId::new();
    store
        .link_customer(user, &BillingCustomerId::parse("cus_Example123")?)
        .await?;

    let now = Utc::now().timestamp();
    let body = json!({
        "id": "evt_1ExampleSubscriptionCreated",
        "object": "event",
        "api_version": "2026-09-30.endive",
        "created": now,
        "type": "customer.subscription.created",
        "livemode": false,
        "data": { "object": {
            "id": "sub_1Example",
            "object": "subscription",
            "customer": "cus_Example123",
            "status": "active",
            "cancel_at_period_end": false,
            "items": { "object": "list", "data": [{
                "id": "si_Example",
                "price": { "id": "price_dev_starter", "object": "price", "unit_amount": 1900, "currency": "eur" },
                "current_period_start": now,
                "current_period_end": now + 30 * 86_400
            }]},
            "metadata": { "kraftsoci_user_id": user.to_string() }
        }}
    })
    .to_string();
    let header = signature_header(&secret, now, body.as_bytes());
    println!("Stripe-Signature: {}…", &header[..24]);

    let first = webhooks.handle(Some(&header), body.as_bytes()).await?;
    println!("first delivery:    {first:?}");
    let again = webhooks.handle(Some(&header), body.as_bytes()).await?;
    println!("duplicate:         {again:?}");
    let tampered = body.replace("active", "trialing");
    match webhooks.handle(Some(&header), tampered.as_bytes()).await {
        Ok(outcome) => println!("tampered ACCEPTED (unexpected): {outcome:?}"),
        Err(err) => println!("tampered body:     rejected ({err}); answer 400"),
    }

    let entitlements = BillingEntitlements::new(
        store.clone(),
        Arc::new(PlanTable::development()),
        Arc::new(InMemoryQuotaLedger::new()),
        clock,
    );
    let overview = entitlements.overview(user).await?;
    println!(
        "GET /v1/billing => {}",
        serde_json::to_string_pretty(&overview)?
    );
    Ok(())
}
