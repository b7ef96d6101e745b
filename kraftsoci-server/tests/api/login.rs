use reqwest::StatusCode;

use crate::helpers::{PASSWORD, code, parts, spawn_app};

#[tokio::test]
async fn login_returns_a_fresh_session() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (status, body) = parts(app.login("ADA@example.com", PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK);
    let access = body["access_token"].as_str().unwrap();
    assert_ne!(access, user.access);
    assert_ne!(body["refresh_token"].as_str().unwrap(), user.refresh);
    assert_eq!(app.get_me(access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer_and_both_run_bcrypt() {
    let app = spawn_app().await;
    app.signup_user("ada@example.com").await;
    let hasher = app.state.auth.hasher();

    let before = hasher.verifications();
    let wrong = app.login("ada@example.com", "not the password").await;
    let wrong_headers = wrong.headers().clone();
    let (wrong_status, wrong_body) = parts(wrong).await;
    assert_eq!(hasher.verifications(), before + 1);

    let unknown = app.login("nobody@example.com", "not the password").await;
    let unknown_headers = unknown.headers().clone();
    let (unknown_status, unknown_body) = parts(unknown).await;
    assert_eq!(
        hasher.verifications(),
        before + 2,
        "the unknown email was checked against the dummy hash"
    );

    let malformed = app.login("not-an-email", "not the password").await;
    let (malformed_status, malformed_body) = parts(malformed).await;
    assert_eq!(hasher.verifications(), before + 3);

    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&wrong_body), "invalid_credentials");
    assert_eq!((unknown_status, &unknown_body), (wrong_status, &wrong_body));
    assert_eq!(
        (malformed_status, &malformed_body),
        (wrong_status, &wrong_body)
    );
    for header in ["content-type", "content-length", "www-authenticate"] {
        assert_eq!(
            wrong_headers.get(header),
            unknown_headers.get(header),
            "{header}"
        );
    }
}

#[tokio::test]
async fn a_password_with_extra_bytes_beyond_72_does_not_log_in() {
    let app = spawn_app().await;
    let exactly_72 = "p".repeat(64) + "12345678";
    assert_eq!(exactly_72.len(), 72);
    let mut body = crate::helpers::signup_body("ada@example.com");
    body["password"] = serde_json::json!(exactly_72);
    assert_eq!(app.signup(&body).await.status(), StatusCode::CREATED);

    assert_eq!(
        app.login("ada@example.com", &exactly_72).await.status(),
        StatusCode::OK
    );
    for tail in ["9", "-something-else"] {
        let longer = format!("{exactly_72}{tail}");
        assert_eq!(
            app.login("ada@example.com", &longer).await.status(),
            StatusCode::UNAUTHORIZED,
            "bcrypt would silently truncate this to the real password"
        );
    }
}

#[tokio::test]
async fn a_closed_account_cannot_log_in() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    app.db
        .exec(format!(
            "UPDATE users SET closed_at = '2026-01-01T00:00:00.000000Z', \
             purge_after = '2026-01-31T00:00:00.000000Z' WHERE id = '{}'",
            user.id
        ))
        .await;
    let (status, body) = parts(app.login(&user.email, PASSWORD).await).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    assert_eq!(
        app.get_me(&user.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&user.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
