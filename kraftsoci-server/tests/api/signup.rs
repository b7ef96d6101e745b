use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{POLICY, code, parts, signup_body, spawn_app};

#[tokio::test]
async fn sign_up_creates_the_account_and_a_session() {
    let app = spawn_app().await;
    let (status, body) = parts(app.signup(&signup_body("Ada@Example.com")).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = &body["user"];
    assert_eq!(user["email"], "Ada@example.com");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["business_name"], "Ada's Bakery");
    assert_eq!(user["sector"], "bakery");
    assert_eq!(user["accepted_policy_version"], POLICY);
    assert_eq!(user["preferences"]["theme"], "system");
    assert_eq!(user["restrictions"]["generation"], false);
    assert_eq!(user["objections"]["usage_log"], false);
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);

    let access = body["access_token"].as_str().unwrap();
    let (status, me) = parts(app.get_me(access).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, body["user"], "the session belongs to the new account");
    let acceptances = app
        .db
        .count(format!(
            "SELECT COUNT(*) FROM policy_acceptances WHERE user_id = '{}' AND version = '{POLICY}'",
            me["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(acceptances, 1, "P38: the accepted version is recorded");
}

#[tokio::test]
async fn sign_up_requires_confirming_the_age_of_eighteen() {
    let app = spawn_app().await;
    let mut body = signup_body("young@example.com");
    body["age_confirmed"] = json!(false);
    let (status, error) = parts(app.signup(&body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&error), "age_requirement");
    assert!(error["error"]["fields"]["age_confirmed"].is_array());
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM users".to_owned()).await,
        0
    );
}

#[tokio::test]
async fn invalid_fields_are_reported_per_field() {
    let app = spawn_app().await;
    let body = json!({
        "name": "",
        "email": "not-an-email",
        "password": "short",
        "business_name": "Bakery",
        "sector": "bakery",
        "age_confirmed": true,
        "accepted_policy_version": "",
    });
    let (status, error) = parts(app.signup(&body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&error), "validation_failed");
    let fields = error["error"]["fields"].as_object().unwrap();
    for field in ["name", "email", "password", "accepted_policy_version"] {
        assert!(fields.contains_key(field), "{field} missing from {error}");
    }
    assert!(
        !error.to_string().contains("short"),
        "the password is never echoed"
    );
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let app = spawn_app().await;
    app.signup_user("ada@example.com").await;
    let (status, error) = parts(app.signup(&signup_body("ADA@example.COM")).await).await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::CONFLICT, "email_taken")
    );
}

#[tokio::test]
async fn sign_up_must_accept_the_current_policy_version_once_one_is_published() {
    let app = spawn_app().await;
    app.db
        .exec(
            "INSERT INTO policy_versions (version, published_at, summary) VALUES \
             ('2026-02', '2026-02-01T00:00:00.000000Z', 'Clearer retention terms')"
                .to_owned(),
        )
        .await;
    let (status, error) = parts(app.signup(&signup_body("ada@example.com")).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["error"]["fields"]["accepted_policy_version"][0]
            .as_str()
            .unwrap()
            .contains("2026-02")
    );
    let mut body = signup_body("ada@example.com");
    body["accepted_policy_version"] = json!("2026-02");
    assert_eq!(app.signup(&body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn common_and_over_long_passwords_are_refused_explicitly() {
    let app = spawn_app().await;
    for (password, needle) in [
        ("password123", "common"),
        ("Qwertyuiop", "common"),
        (&*"x".repeat(73), "72 bytes"),
        (&*"ğ".repeat(37), "72 bytes"),
        ("seven77", "at least 8"),
    ] {
        let mut body = signup_body("ada@example.com");
        body["password"] = json!(password);
        let (status, error) = parts(app.signup(&body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        let reason = error["error"]["fields"]["password"][0].as_str().unwrap();
        assert!(reason.contains(needle), "{reason}");
    }
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM users".to_owned()).await,
        0
    );
}
