use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{code, parts, spawn_app};

pub fn profile_body(description: &str) -> serde_json::Value {
    json!({
        "description": description,
        "target_audience": "Neighbours on their way to work",
        "tone": "warm and playful",
        "sector": "bakery",
        "language": "tr",
    })
}

#[tokio::test]
async fn the_profile_is_created_read_and_replaced() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (status, body) = parts(app.get_profile(&user.access).await).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));

    let (status, saved) = parts(
        app.put_profile(&user.access, &profile_body("Simit since 1980"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(saved, profile_body("Simit since 1980"));
    let (status, read) = parts(app.get_profile(&user.access).await).await;
    assert_eq!(
        (status, read),
        (StatusCode::OK, profile_body("Simit since 1980"))
    );

    app.put_profile(&user.access, &profile_body("Simit and tea since 1980"))
        .await;
    let (_, read) = parts(app.get_profile(&user.access).await).await;
    assert_eq!(read["description"], "Simit and tea since 1980");
}

#[tokio::test]
async fn an_invalid_profile_is_refused_per_field() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let mut body = profile_body("");
    body["language"] = json!("not a language");
    let (status, error) = parts(app.put_profile(&user.access, &body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["error"]["fields"]["description"].is_array());
    assert!(error["error"]["fields"]["language"].is_array());
    assert_eq!(
        app.get_profile(&user.access).await.status(),
        StatusCode::NOT_FOUND
    );
}
