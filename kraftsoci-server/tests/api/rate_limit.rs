//! Checklist rows 33 and 40: throttling on the auth routes.

use std::time::Duration as StdDuration;

use chrono::Duration;
use kraftsoci_server::config::RateLimit;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, code, parts, spawn_app_with};

fn rate(burst: u32, refill_secs: u64) -> RateLimit {
    RateLimit {
        burst,
        refill: StdDuration::from_secs(refill_secs),
    }
}

#[tokio::test]
async fn a_burst_from_one_address_is_throttled_with_retry_after() {
    let app = spawn_app_with(|c| c.auth_rate_per_ip = rate(3, 60)).await;
    for i in 0..3 {
        let status = app
            .login(&format!("user{i}@example.com"), "whatever pass")
            .await
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = app.login("user9@example.com", "whatever pass").await;
    assert_eq!(response.headers().get("retry-after").unwrap(), "60");
    let (status, body) = parts(response).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    // Every auth route shares the address's bucket, password resets included.
    assert_eq!(
        app.request_reset("user1@example.com").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other routes are not throttled.
    assert_eq!(app.healthz().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_spoofed_forwarded_for_does_not_buy_a_fresh_bucket() {
    // No trusted proxies: X-Forwarded-For is the client's word, and is ignored.
    let app = spawn_app_with(|c| c.auth_rate_per_ip = rate(2, 60)).await;
    for i in 0..2 {
        app.login_from(&format!("198.51.100.{i}"), "a@example.com", "whatever pass")
            .await;
    }
    for i in 10..15 {
        let status = app
            .login_from(&format!("198.51.100.{i}"), "a@example.com", "whatever pass")
            .await
            .status();
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "spoofed address {i}");
    }
}

#[tokio::test]
async fn one_account_attacked_from_many_addresses_is_throttled_but_not_locked_out() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.auth_rate_per_ip = rate(100, 1);
        c.auth_rate_per_account = rate(3, 60);
    })
    .await;
    let user = app.signup_user("ada@example.com").await;
    for i in 0..3 {
        let status = app
            .login_from(&format!("203.0.113.{i}"), &user.email, "guessing wrong")
            .await
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = app
        .login_from("203.0.113.99", &user.email, "guessing wrong")
        .await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "per-account limit"
    );
    let (status, _) = parts(
        app.login_from("203.0.113.100", "ADA@example.com", PASSWORD)
            .await,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the bucket is per account, any case"
    );
    assert_eq!(
        app.login_from("203.0.113.101", "someone-else@example.com", "guess")
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "other accounts are unaffected"
    );

    // The bucket refills by itself: the real user gets back in.
    app.clock.advance(Duration::seconds(60));
    let (status, _) = parts(app.login_from("192.0.2.1", &user.email, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn many_accounts_from_one_address_are_throttled_behind_a_trusted_proxy() {
    let app = spawn_app_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.auth_rate_per_ip = rate(3, 30);
    })
    .await;
    for i in 0..3 {
        app.login_from(
            "203.0.113.5",
            &format!("victim{i}@example.com"),
            "pass word",
        )
        .await;
    }
    assert_eq!(
        app.login_from("203.0.113.5", "victim9@example.com", "pass word")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        app.login_from("203.0.113.6", "victim9@example.com", "pass word")
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "a proxied client has its own bucket"
    );
}
