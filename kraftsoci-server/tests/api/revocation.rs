//! Access tokens end with their session (issue 18, ASVS V3.3): after logout, a replayed
//! refresh token, a password change or closing the account, the access tokens of the ended
//! session are refused on the very next request, not when they expire. Each scenario runs on
//! both engines, since the check is a query on every authenticated request — and it checks
//! `GET /v1/posts` beside `GET /v1/me`, since that route reads its page in the statement
//! that checks the session, and must show nothing of it (nor judge its query) before the
//! session is admitted.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, parts, spawn_app, spawn_app_on};
use crate::support::TestDb;

async fn on_postgres() -> TestApp {
    spawn_app_on(TestDb::postgres().await, |_| {}, |builder| builder).await
}

/// The routes whose data comes with the session check, and malformed requests to them.
const READS: [&str; 6] = [
    "/v1/me",
    "/v1/posts",
    "/v1/posts?limit=5",
    "/v1/posts?limit=0",
    "/v1/posts?limit=many",
    "/v1/posts?cursor=not-a-cursor",
];

async fn get(app: &TestApp, access: &str, path: &str) -> (StatusCode, serde_json::Value) {
    parts(
        app.client
            .get(app.url(path))
            .bearer_auth(access)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Every read answers `access` 401, and shows nothing.
async fn assert_refused(app: &TestApp, access: &str, why: &str) {
    for path in READS {
        let (status, body) = get(app, access, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {why}: {body}");
        assert!(body.get("posts").is_none(), "{path}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{path}: {body}");
    }
}

/// Every read lets `access` in: the well-formed ones answer 200, the malformed ones 400.
async fn assert_admitted(app: &TestApp, access: &str) {
    for path in READS {
        let (status, body) = get(app, access, path).await;
        let expected = if path.contains("limit=0")
            || path.contains("limit=many")
            || path.contains("cursor=")
        {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        assert_eq!(status, expected, "{path}: {body}");
    }
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
    assert_refused(
        &app,
        &user.access,
        "the logged-out session's access token is refused within its lifetime",
    )
    .await;
    // Another login session goes on.
    assert_admitted(&app, other_access).await;
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
        assert_refused(
            &app,
            access,
            "every access token of the revoked family is refused",
        )
        .await;
    }
    assert_admitted(&app, other_access).await;
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
    assert_refused(
        &app,
        other_access,
        "a password change ends the other sessions",
    )
    .await;
    // The changing session renews its access token and goes on; the other one cannot.
    let (status, renewed) = parts(app.refresh(&user.refresh).await).await;
    assert_eq!(status, StatusCode::OK);
    let renewed = renewed["access_token"].as_str().unwrap();
    assert_admitted(&app, renewed).await;
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
        assert_refused(&app, access, "the account is closed").await;
    }
}
