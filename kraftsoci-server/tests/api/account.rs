use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, code, parts, spawn_app};

#[tokio::test]
async fn the_account_can_be_read_and_rectified() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (status, me) = parts(
        app.patch_me(
            &user.access,
            &json!({
                "name": "Ada King",
                "business_name": "King's Bakery",
                "sector": "patisserie",
                "preferences": {"language": "tr", "theme": "dark"},
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "Ada King");
    assert_eq!(me["business_name"], "King's Bakery");
    assert_eq!(me["sector"], "patisserie");
    assert_eq!(me["preferences"]["language"], "tr");
    assert_eq!(me["preferences"]["theme"], "dark");
    // The notification choices come along: Turkish defaults to Istanbul's time zone.
    assert_eq!(me["preferences"]["time_zone"], "Europe/Istanbul");
    assert_eq!(
        me["preferences"]["notifications"]["security"],
        json!({"mail": true, "in_app": true, "mandatory": true})
    );
    let (_, read) = parts(app.get_me(&user.access).await).await;
    assert_eq!(read, me);

    let (status, error) = parts(
        app.patch_me(
            &user.access,
            &json!({"name": " ", "preferences": {"language": "klingon!"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["error"]["fields"]["name"].is_array());
    assert!(error["error"]["fields"]["language"].is_array());
}

#[tokio::test]
async fn changing_the_email_needs_the_current_password() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    app.signup_user("taken@example.com").await;

    let (status, error) = parts(
        app.patch_me(&user.access, &json!({"email": "new@example.com"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["error"]["fields"]["current_password"].is_array());

    let (status, error) = parts(
        app.patch_me(
            &user.access,
            &json!({"email": "new@example.com", "current_password": "not it at all"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );

    let (status, error) = parts(
        app.patch_me(
            &user.access,
            &json!({"email": "Taken@example.com", "current_password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, code(&error)),
        (StatusCode::CONFLICT, "email_taken")
    );

    let (status, me) = parts(
        app.patch_me(
            &user.access,
            &json!({"email": "new@example.com", "current_password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, me["email"].as_str()),
        (StatusCode::OK, Some("new@example.com"))
    );
    assert_eq!(
        app.login("new@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Re-sending the unchanged email needs no password.
    assert_eq!(
        app.patch_me(&user.access, &json!({"email": "new@example.com"}))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn restrictions_and_objections_are_stored_and_shown() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (status, body) = parts(app.put_restrictions(&user.access, true, false).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"generation": true, "publishing": false}));
    let (status, body) = parts(app.put_objections(&user.access, true).await).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"usage_log": true})));
    let (_, me) = parts(app.get_me(&user.access).await).await;
    assert_eq!(
        me["restrictions"],
        json!({"generation": true, "publishing": false})
    );
    assert_eq!(me["objections"], json!({"usage_log": true}));
    let (status, _) = parts(
        app.client
            .put(app.url("/v1/me/restrictions"))
            .bearer_auth(&user.access)
            .json(&json!({"generation": "yes"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rectification_and_a_restriction_at_the_same_time_both_stick() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    for round in 0..20 {
        let name = format!("Ada Round {round}");
        let (generation, publishing) = (round % 2 == 0, round % 3 == 0);
        let patch = json!({ "name": name });
        let (rectified, restricted) = tokio::join!(
            app.patch_me(&user.access, &patch),
            app.put_restrictions(&user.access, generation, publishing),
        );
        assert_eq!(rectified.status(), StatusCode::OK, "round {round}");
        assert_eq!(restricted.status(), StatusCode::OK, "round {round}");
        let (_, me) = parts(app.get_me(&user.access).await).await;
        assert_eq!(
            me["name"],
            name.as_str(),
            "round {round}: the name was lost"
        );
        assert_eq!(
            me["restrictions"],
            json!({"generation": generation, "publishing": publishing}),
            "round {round}: the restriction was lost"
        );
    }
}

#[tokio::test]
async fn every_account_route_requires_authentication() {
    let app = spawn_app().await;
    for (method, path) in [
        (reqwest::Method::GET, "/v1/me"),
        (reqwest::Method::PATCH, "/v1/me"),
        (reqwest::Method::PUT, "/v1/me/restrictions"),
        (reqwest::Method::PUT, "/v1/me/objections"),
        (reqwest::Method::GET, "/v1/profile"),
        (reqwest::Method::PUT, "/v1/profile"),
        (reqwest::Method::POST, "/v1/auth/password"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
    }
}
