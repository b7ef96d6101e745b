//! Checklist row 35: password reset by email.

use chrono::Duration;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::helpers::{PASSWORD, code, parts, spawn_app};

#[tokio::test]
async fn reset_requests_for_unknown_and_known_emails_look_the_same() {
    let app = spawn_app().await;
    app.signup_user("ada@example.com").await;

    let unknown = app.request_reset("nobody@example.com").await;
    let unknown_headers = unknown.headers().clone();
    let (unknown_status, unknown_body) = parts(unknown).await;
    let known = app.request_reset("ada@example.com").await;
    let known_headers = known.headers().clone();
    let (known_status, known_body) = parts(known).await;
    let malformed = app.request_reset("not an email").await.status();

    assert_eq!(known_status, StatusCode::ACCEPTED);
    assert_eq!((unknown_status, &unknown_body), (known_status, &known_body));
    assert_eq!(malformed, StatusCode::ACCEPTED);
    for header in ["content-type", "content-length"] {
        assert_eq!(
            unknown_headers.get(header),
            known_headers.get(header),
            "{header}"
        );
    }

    let mails = app.wait_for_mails(1).await;
    assert_eq!(mails.len(), 1, "only the existing account gets a mail");
    assert!(mails[0].contains("To: ada@example.com"));
    assert!(mails[0].contains("/reset-password#token="));
}

#[tokio::test]
async fn a_reset_token_works_once_and_ends_every_session() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    assert_eq!(
        app.request_reset(&user.email).await.status(),
        StatusCode::ACCEPTED
    );
    let token = app.reset_token_for(&user.email, 1).await;

    // Stored only as its SHA-256.
    assert!(
        !app.db
            .raw_bytes()
            .windows(token.len())
            .any(|w| w == token.as_bytes())
    );
    let stored = app
        .db
        .strings("SELECT token_hash FROM password_reset_tokens".to_owned())
        .await;
    assert_eq!(stored, vec![hex::encode(Sha256::digest(token.as_bytes()))]);

    // A policy violation is refused without spending the token.
    let (status, _) = parts(app.confirm_reset(&token, "password1").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let new_password = "reset to something new";
    assert_eq!(
        app.confirm_reset(&token, new_password).await.status(),
        StatusCode::NO_CONTENT
    );
    let (status, body) = parts(app.confirm_reset(&token, "and once more please").await).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token"),
        "single use"
    );

    assert_eq!(
        app.get_me(&user.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&user.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&user.email, new_password).await.status(),
        StatusCode::OK
    );

    let mails = app.wait_for_mails(2).await;
    assert!(
        mails.iter().any(|m| m.contains("password was changed")),
        "the owner is told about the reset"
    );
}

#[tokio::test]
async fn a_reset_token_expires_after_thirty_minutes() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    app.request_reset(&user.email).await;
    let token = app.reset_token_for(&user.email, 1).await;
    app.clock
        .advance(Duration::minutes(30) + Duration::seconds(1));
    let (status, body) = parts(app.confirm_reset(&token, "too late for this one").await).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token")
    );
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_reset_tokens_are_invalid() {
    let app = spawn_app().await;
    let (status, body) = parts(
        app.confirm_reset("made-up-token", "a fine new password")
            .await,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_token")
    );
}
