use reqwest::StatusCode;

use crate::helpers::{code, parts, spawn_app};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let (status, body) = parts(app.healthz().await).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = parts(app.readyz().await).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_built_here() {
    let app = spawn_app().await;
    let (status, doc) = parts(app.openapi().await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes = [
        ("/v1/auth/signup", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/auth/password-reset", "post"),
        ("/v1/auth/password-reset/confirm", "post"),
        ("/v1/auth/password", "post"),
        ("/v1/me", "get"),
        ("/v1/me", "patch"),
        ("/v1/me/restrictions", "put"),
        ("/v1/me/objections", "put"),
        ("/v1/profile", "get"),
        ("/v1/profile", "put"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/openapi.json", "get"),
    ];
    for (path, method) in routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["schemas"]["SignupRequest"].is_object());
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_envelope() {
    let app = spawn_app().await;
    let (status, body) = parts(app.client.get(app.url("/v1/nothing")).send().await.unwrap()).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = parts(
        app.client
            .delete(app.url("/v1/profile"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn the_reference_page_renders_the_document_from_this_server_alone() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let html = response.text().await.unwrap();
    // Every operation of the document has its entry, and nothing comes from elsewhere.
    let (_, doc) = parts(app.openapi().await).await;
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(
                html.contains(&format!("operationId <code>{id}</code>")),
                "{id} is not on the page"
            );
        }
    }
    assert!(!html.contains("<script"));
    for attribute in ["src=\"", "href=\""] {
        for value in html.split(attribute).skip(1) {
            let value = value.split('"').next().unwrap();
            assert!(
                value.starts_with('#') || value.starts_with('/'),
                "{attribute}{value}\" is not first-party"
            );
        }
    }
}

#[tokio::test]
async fn a_json_body_must_be_an_object() {
    let app = spawn_app().await;
    let user = app.signup_user("array@example.com").await;
    for body in ["[null, null]", "[]", "\"text\"", "null"] {
        let response = app
            .client
            .patch(app.url("/v1/me"))
            .bearer_auth(&user.access)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, json) = parts(response).await;
        assert_eq!(
            (status, json["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")),
            "{body}"
        );
    }
}
