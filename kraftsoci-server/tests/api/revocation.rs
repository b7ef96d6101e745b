//! Access tokens end with their session (issue 18, ASVS V3.3): after logout, a replayed
//! refresh token, a password change or closing the account, the access tokens of the ended
//! session are refused on the very next request, not when they expire. Each scenario runs on
//! both engines, since the check is a query on every authenticated request.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, parts, spawn_app, spawn_app_on};
use crate::support::TestDb;

async fn on_postgres() -> TestApp {
    spawn_app_on(TestDb::postgres().await, |_| {}, |builder| builder).await
}

macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::spawn_app().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::on_postgres().await).await;
                }
            )*
        }
    };
}

on_both_engines!(
    logout_ends_the_access_token_of_its_session_at_once,
    a_replayed_refresh_token_ends_every_access_token_of_its_session,
    a_password_change_ends_the_access_tokens_of_every_other_session,
    closing_the_account_ends_every_access_token,
);

async fn logout_ends_the_access_token_of_its_session_at_once(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (_, other) = parts(app.login(&user.email, PASSWORD).await).await;
    let other_access = other["access_token"].as_str().unwrap();
    assert_eq!(app.get_me(&user.access).await.status(), StatusCode::OK);

    assert_eq!(
        app.logout(&user.refresh).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get_me(&user.access).await.status(),
        StatusCode::UNAUTHORIZED,
        "the logged-out session's access token is refused within its lifetime"
    );
    assert_eq!(
        app.get_me(other_access).await.status(),
        StatusCode::OK,
        "another login session goes on"
    );
}

async fn a_replayed_refresh_token_ends_every_access_token_of_its_session(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (_, other) = parts(app.login(&user.email, PASSWORD).await).await;
    let other_access = other["access_token"].as_str().unwrap();
    let (status, rotated) = parts(app.refresh(&user.refresh).await).await;
    assert_eq!(status, StatusCode::OK);
    let fresh_access = rotated["access_token"].as_str().unwrap();
    assert_eq!(app.get_me(fresh_access).await.status(), StatusCode::OK);

    // Someone replays the spent token: the family is revoked.
    assert_eq!(
        app.refresh(&user.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for access in [user.access.as_str(), fresh_access] {
        assert_eq!(
            app.get_me(access).await.status(),
            StatusCode::UNAUTHORIZED,
            "every access token of the revoked family is refused"
        );
    }
    assert_eq!(app.get_me(other_access).await.status(), StatusCode::OK);
}

async fn a_password_change_ends_the_access_tokens_of_every_other_session(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (_, other) = parts(app.login(&user.email, PASSWORD).await).await;
    let other_access = other["access_token"].as_str().unwrap();
    assert_eq!(app.get_me(other_access).await.status(), StatusCode::OK);

    assert_eq!(
        app.change_password(&user.access, PASSWORD, "a brand new passphrase")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get_me(other_access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The changing session renews its access token and goes on; the other one cannot.
    let (status, renewed) = parts(app.refresh(&user.refresh).await).await;
    assert_eq!(status, StatusCode::OK);
    let renewed = renewed["access_token"].as_str().unwrap();
    assert_eq!(app.get_me(renewed).await.status(), StatusCode::OK);
    assert_eq!(
        app.refresh(other["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn closing_the_account_ends_every_access_token(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (_, other) = parts(app.login(&user.email, PASSWORD).await).await;
    let other_access = other["access_token"].as_str().unwrap();

    let closed = app.close_me(&user.access, PASSWORD).await;
    assert!(closed.status().is_success(), "{}", closed.status());
    for access in [user.access.as_str(), other_access] {
        assert_eq!(app.get_me(access).await.status(), StatusCode::UNAUTHORIZED);
    }
}
