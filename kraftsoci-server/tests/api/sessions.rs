//! Checklist rows 31 and 32: refresh rotation, replay, logout, password change.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, code, parts, spawn_app};

#[tokio::test]
async fn a_refresh_token_is_spent_on_use_and_a_replay_revokes_the_whole_session() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (_, other) = parts(app.login(&user.email, PASSWORD).await).await;
    let other_refresh = other["refresh_token"].as_str().unwrap();

    let (status, rotated) = parts(app.refresh(&user.refresh).await).await;
    assert_eq!(status, StatusCode::OK);
    let rt2 = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(rt2, user.refresh);
    let access2 = rotated["access_token"].as_str().unwrap();
    assert_eq!(app.get_me(access2).await.status(), StatusCode::OK);

    let (status, body) = parts(app.refresh(&user.refresh).await).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert_eq!(
        app.refresh(rt2).await.status(),
        StatusCode::UNAUTHORIZED,
        "the replay revoked the family, including the legitimate successor"
    );
    assert_eq!(
        app.refresh(other_refresh).await.status(),
        StatusCode::OK,
        "another login session is not affected"
    );
}

#[tokio::test]
async fn logout_ends_the_session_of_its_refresh_token() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (_, rotated) = parts(app.refresh(&user.refresh).await).await;
    let current = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(app.logout(current).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.refresh(current).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.logout("never-issued").await.status(),
        StatusCode::NO_CONTENT,
        "logout reveals nothing about unknown tokens"
    );
}

#[tokio::test]
async fn a_password_change_revokes_other_sessions_and_every_older_access_token() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (_, other) = parts(app.login(&user.email, PASSWORD).await).await;
    let other_access = other["access_token"].as_str().unwrap();
    let other_refresh = other["refresh_token"].as_str().unwrap();
    let new_password = "a brand new passphrase";

    let (status, body) = parts(
        app.change_password(&user.access, "wrong password!", new_password)
            .await,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let (status, body) = parts(
        app.change_password(&user.access, PASSWORD, "password123")
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["new_password"].is_array());

    assert_eq!(
        app.change_password(&user.access, PASSWORD, new_password)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get_me(&user.access).await.status(),
        StatusCode::UNAUTHORIZED,
        "older epoch"
    );
    assert_eq!(
        app.get_me(other_access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(other_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let (status, renewed) = parts(app.refresh(&user.refresh).await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the session that changed the password goes on"
    );
    let access = renewed["access_token"].as_str().unwrap();
    assert_eq!(app.get_me(access).await.status(), StatusCode::OK);

    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&user.email, new_password).await.status(),
        StatusCode::OK
    );
}
