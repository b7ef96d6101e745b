//! Checklist row 37 for the routes built here: every account route is scoped to the token's
//! user, so another user's data is never read or changed (and their profile is 404).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};
use crate::profile::profile_body;

#[tokio::test]
async fn another_users_data_is_never_reached_through_any_route() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let eve = app.signup_user("eve@example.com").await;
    app.put_profile(&ada.access, &profile_body("Ada's secret sourdough recipe"))
        .await;
    app.patch_me(&ada.access, &json!({"name": "Ada King"}))
        .await;
    app.put_restrictions(&ada.access, true, true).await;
    let before_me = app.get_me(&ada.access).await.text().await.unwrap();
    let before_profile = app.get_profile(&ada.access).await.text().await.unwrap();

    let matrix = [
        (Method::GET, "/v1/me", None),
        (Method::PATCH, "/v1/me", Some(json!({"name": "Eve"}))),
        (
            Method::PUT,
            "/v1/me/restrictions",
            Some(json!({"generation": false, "publishing": false})),
        ),
        (
            Method::PUT,
            "/v1/me/objections",
            Some(json!({"usage_log": true})),
        ),
        (Method::GET, "/v1/profile", None),
        (
            Method::PUT,
            "/v1/profile",
            Some(profile_body("Eve's bakery")),
        ),
        (Method::GET, "/v1/profile", None),
        (
            Method::POST,
            "/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": "eve's new passphrase"})),
        ),
    ];
    let mut first_profile_read = true;
    for (method, path, body) in matrix {
        let mut request = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&eve.access);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        for ada_data in [ada.id.as_str(), "ada@example.com", "Ada King", "sourdough"] {
            assert!(
                !text.contains(ada_data),
                "{method} {path} leaked Ada's data: {text}"
            );
        }
        if method == Method::GET && path == "/v1/profile" && first_profile_read {
            first_profile_read = false;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "Eve has no profile; Ada's is not hers"
            );
        } else {
            assert!(status.is_success(), "{method} {path}: {status} {text}");
        }
    }

    assert_eq!(
        app.get_me(&ada.access).await.text().await.unwrap(),
        before_me
    );
    assert_eq!(
        app.get_profile(&ada.access).await.text().await.unwrap(),
        before_profile
    );
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK,
        "Eve's password change did not touch Ada's"
    );
}
