//! P01/P21 and checklist row 28: no password or token in plain text, in the database or in
//! the logs. A binary of its own, because it installs a process-wide log subscriber at TRACE
//! level to capture everything the server writes.

#[path = "../support/mod.rs"]
mod support;

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::sync::{Arc, Mutex};

use helpers::{PASSWORD, spawn_app};
use reqwest::StatusCode;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn passwords_and_tokens_appear_nowhere_in_the_database_or_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (status, second) = helpers::parts(app.login(&user.email, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK);
    // The replay below revokes the second session only: the first one changes the password.
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.login(&user.email, "wrong password!").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, rotated) = helpers::parts(app.refresh(&second_refresh).await).await;
    let rotated_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.refresh(&second_refresh).await.status(),
        StatusCode::UNAUTHORIZED,
        "replay"
    );
    let new_password = "an entirely new passphrase";
    assert_eq!(
        app.change_password(&user.access, PASSWORD, new_password)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    app.request_reset(&user.email).await;
    let reset_token = app.reset_token_for(&user.email, 1).await;
    let reset_password = "reset to another passphrase";
    assert_eq!(
        app.confirm_reset(&reset_token, reset_password)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    app.wait_for_mails(2).await;

    let hashes = app
        .db
        .strings("SELECT password_hash FROM users".to_owned())
        .await;
    assert_eq!(hashes.len(), 1);
    assert!(hashes[0].starts_with("$2b$"), "P01: a bcrypt hash");

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("/v1/auth/login"),
        "the capture sees the requests"
    );
    assert!(
        logs.contains("refresh token replayed"),
        "the replay is logged, without the token"
    );
    let db = app.db.raw_bytes();
    assert!(!db.is_empty());
    for secret in [
        PASSWORD,
        new_password,
        reset_password,
        "wrong password!",
        user.refresh.as_str(),
        second_refresh.as_str(),
        rotated_refresh.as_str(),
        user.access.as_str(),
        reset_token.as_str(),
        helpers::JWT_SECRET,
    ] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret is stored in plain text"
        );
        assert!(!logs.contains(secret), "a secret was logged");
    }
}
