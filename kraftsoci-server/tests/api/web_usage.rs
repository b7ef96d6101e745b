//! The usage log (P06) records the web app's requests like the API's: with the signed-in
//! user, tagged `web` (the API's are `api`), and, while the user objects (P31), only the
//! security-relevant ones (the sign-in form among them). On SQLite and PostgreSQL.

use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, parts, spawn_app_on};
use crate::support::TestDb;
use crate::web_session::{browser_sign_in, browser_sign_up, get_page};

async fn user_id(app: &TestApp, email: &str) -> (String, String) {
    let (status, body) = parts(app.login(email, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (_, me) = parts(app.get_me(&access).await).await;
    (me["id"].as_str().unwrap().to_owned(), access)
}

/// Rows of the usage log for `route` with `user` (or none) and `channel`.
async fn logged(app: &TestApp, route: &str, user: Option<&str>, channel: &str) -> i64 {
    app.state.usage.flush().await;
    let who = user.map_or_else(
        || "user_id IS NULL".to_owned(),
        |u| format!("user_id = '{u}'"),
    );
    app.db
        .count(format!(
            "SELECT COUNT(*) FROM usage_log WHERE route = '{route}' AND {who} \
             AND channel = '{channel}'"
        ))
        .await
}

async fn web_requests_are_logged_with_their_user_and_tagged_web(db: TestDb) {
    let app = spawn_app_on(db, |_| {}, |builder| builder).await;
    // Anonymous pages are the web app's too.
    let signed_out = app.client.get(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(signed_out.status(), StatusCode::OK);
    assert_eq!(logged(&app, "/sign-in", None, "web").await, 1);

    let browser = browser_sign_up(&app, "ada@example.com", PASSWORD).await;
    let (ada, access) = user_id(&app, "ada@example.com").await;
    assert_eq!(
        logged(&app, "/sign-up", Some(&ada), "web").await,
        1,
        "the sign-up that created the user is theirs"
    );
    let (status, _, _) = get_page(&app, "/settings", &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(logged(&app, "/settings", Some(&ada), "web").await, 1);
    // The API's requests stay `api` (`user_id` asked `GET /v1/me` once).
    assert_eq!(logged(&app, "/v1/me", Some(&ada), "api").await, 1);
    assert_eq!(logged(&app, "/v1/me", Some(&ada), "web").await, 0);

    // While Ada objects, her page views are not kept; her sign-in still is.
    let objected = app.put_objections(&access, true).await;
    assert!(objected.status().is_success(), "{}", objected.status());
    let (status, _, _) = get_page(&app, "/settings", &browser.cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(logged(&app, "/settings", Some(&ada), "web").await, 1);
    browser_sign_in(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(logged(&app, "/sign-in", Some(&ada), "web").await, 1);

    // The export carries the tag.
    let export = app
        .client
        .get(app.url("/v1/me/export"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    let document: serde_json::Value = export.json().await.unwrap();
    let rows = document["tables"]["usage_log"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|row| row["route"] == "/settings" && row["channel"] == "web"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn web_requests_are_logged_with_their_user_and_tagged_web_on_sqlite() {
    web_requests_are_logged_with_their_user_and_tagged_web(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn web_requests_are_logged_with_their_user_and_tagged_web_on_postgres() {
    web_requests_are_logged_with_their_user_and_tagged_web(TestDb::postgres().await).await;
}
