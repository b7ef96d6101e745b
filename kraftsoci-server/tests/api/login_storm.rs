//! Login storms: bcrypt runs on the password pool, and a full pool refuses logins, sign-ups
//! and password changes at once with 503 `overloaded` + `Retry-After`, while the requests it
//! admitted still succeed and the rest of the API keeps answering. The pool is filled
//! deterministically: one thread, a queue of one, and the pool's test hold.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

use crate::helpers::{PASSWORD, TestApp, code, parts, signup_body, spawn_app_with};

async fn one_thread_queue_of_one() -> TestApp {
    spawn_app_with(|config| {
        config.password_threads = Some(1);
        config.password_queue = Some(1);
    })
    .await
}

/// Waits until `n` jobs are in the pool (the spawned request reached the hasher).
async fn until_in_pool(app: &TestApp, n: usize) {
    while app.state.auth.hasher().pool().in_pool() < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn assert_overloaded(response: reqwest::Response) {
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, body) = parts(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(code(&body), "overloaded", "{body}");
    assert!(body["error"]["message"].as_str().is_some(), "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_full_pool_answers_503_with_retry_after_and_an_admitted_login_still_succeeds() {
    let app = Arc::new(one_thread_queue_of_one().await);
    let user = app.signup_user("ada@example.com").await;
    let pool = app.state.auth.hasher().pool();
    assert_eq!((pool.threads(), pool.capacity()), (1, 2));

    // The thread is busy; one login is admitted and waits in the queue.
    let busy = pool.hold().unwrap();
    let admitted = tokio::spawn({
        let app = Arc::clone(&app);
        async move { parts(app.login("ada@example.com", PASSWORD).await).await }
    });
    until_in_pool(&app, 2).await;

    // Full: refused at once, whether the account exists, is new, or changes its password.
    let refused_before = pool.refused();
    let verifications = app.state.auth.hasher().verifications();
    assert_overloaded(app.login("ada@example.com", PASSWORD).await).await;
    assert_overloaded(app.login("nobody@example.com", "not the password").await).await;
    assert_overloaded(app.signup(&signup_body("grace@example.com")).await).await;
    assert_overloaded(
        app.change_password(&user.access, PASSWORD, "another long passphrase")
            .await,
    )
    .await;
    assert_eq!(pool.refused(), refused_before + 4);
    assert_eq!(
        app.state.auth.hasher().verifications(),
        verifications,
        "a refused login runs no bcrypt"
    );
    // Reads do not go through the pool.
    assert_eq!(app.get_me(&user.access).await.status(), StatusCode::OK);

    // The admitted login is answered once the thread is free.
    drop(busy);
    let (status, body) = admitted.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());

    // Nothing was lost: the refused sign-up can be retried, and so can the login.
    let (status, body) = parts(app.signup(&signup_body("grace@example.com")).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = parts(app.login("ada@example.com", PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pool.in_pool(), 0);
}

#[tokio::test]
async fn a_storm_of_logins_gets_only_successes_and_overloaded_refusals() {
    let app = Arc::new(one_thread_queue_of_one().await);
    app.signup_user("ada@example.com").await;
    let logins = (0..24).map(|_| {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let response = app.login("ada@example.com", PASSWORD).await;
            let retry_after = response.headers().contains_key(RETRY_AFTER);
            let (status, body) = parts(response).await;
            (status, code(&body).to_owned(), retry_after)
        })
    });
    let mut ok = 0;
    for login in logins.collect::<Vec<_>>() {
        let (status, code, retry_after) = login.await.unwrap();
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(code, "overloaded");
                assert!(retry_after);
            }
            other => panic!("unexpected {other} {code}"),
        }
    }
    assert!(ok >= 1, "the first login is always admitted");
    assert_eq!(app.state.auth.hasher().pool().in_pool(), 0);
}
