//! The billing page against a wiremock Stripe: plan and usage, Checkout and Portal
//! redirects, and the return page syncing the subscription at once (no webhook needed).

use std::time::Duration;

use kraftsoci_billing::PlanTable;
use kraftsoci_server::web::BILLING_CSP;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::web_session::{BrowserSession, browser_sign_up, get_page, post_page};

const PLANS: &str = r#"[
    {"name": "free", "monthly_posts": 3, "monthly_images": 1},
    {"name": "starter", "price_id": "price_starter", "monthly_posts": 10, "monthly_images": 4},
    {"name": "pro", "price_id": "price_pro", "monthly_posts": 100, "monthly_images": 40}
]"#;

async fn spawn_billing_app() -> (TestApp, MockServer) {
    let stripe = MockServer::start().await;
    let uri = stripe.uri();
    let app = spawn_app_with(|config| {
        config.stripe.secret_key = Some(SecretString::from(
            "sk_test_kraftsoci_4eC39HqLyjWDarjtT1zdp7dc",
        ));
        config.stripe.webhook_secret = Some(SecretString::from("whsec_web_0f3c9a7e5b1d4c2a"));
        config.stripe.api_base = url::Url::parse(&uri).unwrap();
        config.billing.plans = PlanTable::from_json(PLANS).unwrap();
        config.billing.stripe_timeout = Duration::from_millis(300);
    })
    .await;
    (app, stripe)
}

fn subscription(customer: &str, status: &str, user: &str) -> Value {
    let start = chrono::Utc::now().timestamp() - 3600;
    json!({
        "id": "sub_web_1", "object": "subscription", "cancel_at_period_end": false,
        "collection_method": "charge_automatically", "created": start, "currency": "eur",
        "customer": customer,
        "items": {"object": "list", "has_more": false, "data": [{
            "id": "si_web_1", "object": "subscription_item",
            "current_period_start": start, "current_period_end": start + 30 * 86_400,
            "price": {"id": "price_starter", "object": "price", "currency": "eur",
                      "unit_amount": 1900, "recurring": {"interval": "month", "interval_count": 1}},
            "quantity": 1}]},
        "livemode": false, "metadata": {"kraftsoci_user_id": user},
        "start_date": start, "status": status
    })
}

async fn mount_checkout(stripe: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "cus_web", "object": "customer"})),
        )
        .mount(stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cs_test_web", "object": "checkout.session", "mode": "subscription",
            "url": "https://checkout.stripe.com/c/pay/cs_test_web"
        })))
        .expect(1)
        .mount(stripe)
        .await;
}

async fn user_id(app: &TestApp, email: &str) -> String {
    let (_, body) = crate::helpers::parts(app.login(email, PASSWORD).await).await;
    let (_, me) =
        crate::helpers::parts(app.get_me(body["access_token"].as_str().unwrap()).await).await;
    me["id"].as_str().unwrap().to_owned()
}

async fn choose(app: &TestApp, browser: &BrowserSession, plan: &str) -> reqwest::Response {
    post_page(
        app,
        "/billing/checkout",
        &browser.cookie,
        &[("csrf_token", &browser.token), ("plan", plan)],
    )
    .await
}

#[tokio::test]
async fn the_page_shows_plan_usage_and_offers_under_a_policy_that_allows_only_stripe() {
    let (app, _stripe) = spawn_billing_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let response = app
        .client
        .get(app.url("/billing"))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_SECURITY_POLICY], BILLING_CSP);
    assert!(
        BILLING_CSP
            .contains("form-action 'self' https://checkout.stripe.com https://billing.stripe.com;")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("Not subscribed"));
    assert!(html.contains("Posts: 0 of 3"), "the free plan's meter");
    assert!(html.contains("<meter"));
    assert!(html.contains("Choose starter") && html.contains("Choose pro"));
    assert!(
        !html.contains("Choose free"),
        "the free plan is never bought"
    );
    assert!(
        !html.contains("/billing/portal"),
        "nothing to manage before a subscription"
    );
}

#[tokio::test]
async fn upgrading_redirects_to_checkout_and_the_return_page_syncs_at_once() {
    let (app, stripe) = spawn_billing_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    mount_checkout(&stripe).await;
    let response = choose(&app, &browser, "starter").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "https://checkout.stripe.com/c/pay/cs_test_web"
    );
    // The customer pays; no webhook arrives before the browser is back.
    let user = user_id(&app, "ada@example.com").await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .and(query_param("customer", "cus_web"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "has_more": false, "url": "/v1/subscriptions",
            "data": [subscription("cus_web", "active", &user)]
        })))
        .expect(1)
        .mount(&stripe)
        .await;
    let (status, html, _) = get_page(
        &app,
        "/billing?checkout=success&session_id=cs_test_web",
        &browser.cookie,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Your starter plan is active."), "{html}");
    assert!(html.contains("Posts: 0 of 10"));
    assert!(
        html.contains("/billing/portal"),
        "now there is something to manage"
    );
    // The API sees the same state.
    let (_, body) = crate::helpers::parts(app.login("ada@example.com", PASSWORD).await).await;
    let overview = app
        .client
        .get(app.url("/v1/billing"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(overview["plan"], "starter");
    assert_eq!(overview["status"], "active");
}

#[tokio::test]
async fn a_return_while_stripe_is_down_says_it_is_pending_and_a_cancel_charges_nothing() {
    let (app, stripe) = spawn_billing_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    mount_checkout(&stripe).await;
    assert_eq!(
        choose(&app, &browser, "starter").await.status(),
        StatusCode::SEE_OTHER
    );
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&stripe)
        .await;
    let (status, html, _) = get_page(&app, "/billing?checkout=success", &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("We could not reach Stripe to confirm just now."));
    assert!(!html.contains("sk_test"), "no secret on the page");
    let (_, html, _) = get_page(&app, "/billing?checkout=canceled", &browser.cookie).await;
    assert!(html.contains("Checkout canceled"));
}

#[tokio::test]
async fn refusals_are_explained_and_a_post_without_its_token_opens_nothing() {
    let (app, stripe) = spawn_billing_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let portal = post_page(
        &app,
        "/billing/portal",
        &browser.cookie,
        &[("csrf_token", &browser.token)],
    )
    .await;
    assert_eq!(portal.status(), StatusCode::CONFLICT);
    assert!(portal.text().await.unwrap().contains("choose a plan first"));
    let unknown = choose(&app, &browser, "free").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("This plan cannot be bought.")
    );
    let forged = post_page(
        &app,
        "/billing/checkout",
        &browser.cookie,
        &[("plan", "starter")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({
            "error": {"type": "invalid_request_error", "message": "secret upstream detail"}
        })))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "cus_web", "object": "customer"})),
        )
        .mount(&stripe)
        .await;
    let refused = choose(&app, &browser, "pro").await;
    assert!(refused.status().is_server_error(), "{}", refused.status());
    let html = refused.text().await.unwrap();
    assert!(html.contains("Stripe could not be reached or refused the request."));
    assert!(!html.contains("secret upstream detail"));
}

#[tokio::test]
async fn without_stripe_the_page_says_every_account_has_the_unbilled_plan() {
    let app = spawn_app().await;
    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (status, html, _) = get_page(&app, "/billing", &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Payments are not set up on this server"));
    assert!(!html.contains("/billing/checkout"));
}
