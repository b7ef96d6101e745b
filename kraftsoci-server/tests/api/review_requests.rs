//! Human review of automated decisions (P32): `POST /v1/me/requests` of type `review` is
//! recorded as a data-subject request due in 30 days, shown to the owner, listed for the
//! operator (overdue too), exported, and outlives the post it named; bad input is refused
//! field by field; automated refusals say they were automated and how to ask for review.

use chrono::Duration;
use kraftsoci_core::Clock as _;
use kraftsoci_server::requests;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, parts, spawn_app, spawn_app_on};
use crate::support::TestDb;

impl TestApp {
    /// `POST /v1/me/requests`.
    pub async fn ask_request(&self, access: &str, body: &Value) -> (StatusCode, Value) {
        parts(
            self.call(Method::POST, "/v1/me/requests", access, Some(body))
                .await,
        )
        .await
    }
}

async fn a_review_is_due_listed_exported_and_outlives_its_post(app: TestApp) {
    let owner = app.flow_user("ada@example.com").await;
    let access = &owner.user.access;
    let post = app.generated(access).await;
    let post_id = post["id"].as_str().unwrap();
    let message = "The topic was our pistachio baklava; please have a person look at it.";

    let (status, request) = app
        .ask_request(
            access,
            &json!({"type": "review", "post_id": post_id, "message": format!("  {message}\n")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["type"], "review");
    assert_eq!(request["status"], "received");
    assert_eq!(request["post_id"], post_id);
    assert_eq!(request["message"], message);
    let received: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(request["received_at"].clone()).unwrap();
    let due: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(request["due_at"].clone()).unwrap();
    assert_eq!(due, received + Duration::days(30));
    let id = request["id"].as_str().unwrap().to_owned();

    // The owner sees it among their requests.
    let mine = app.my_requests(access).await;
    let listed = mine["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{mine}"));
    assert_eq!(listed["message"], message);

    // The operator lists it with the post and the message, and as overdue after 30 days.
    let (stores, clock) = (&app.state.stores, &*app.state.clock);
    let open = requests::open(stores, clock, false).await.unwrap();
    let entry = open.iter().find(|r| r.id == id).expect("listed");
    assert_eq!(entry.kind, "review");
    assert_eq!(entry.post.as_deref(), Some(post_id));
    assert_eq!(entry.message.as_deref(), Some(message));
    assert!(
        requests::open(stores, clock, true)
            .await
            .unwrap()
            .is_empty()
    );

    // The message is the owner's data: it is in the export.
    let (_, text) = app.export_json(access).await;
    assert!(
        text.contains(message),
        "the export holds the review message"
    );

    // Deleting the post keeps the request, without the link.
    let (status, body) = app.delete_post(access, post_id).await;
    assert!(status.is_success(), "{status} {body}");
    let mine = app.my_requests(access).await;
    let listed = mine["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{mine}"));
    assert!(listed.get("post_id").is_none(), "{listed}");
    assert_eq!(listed["message"], message);

    // Past its due date it is listed as overdue.
    app.clock.advance(Duration::days(30) + Duration::seconds(1));
    let overdue = requests::open(stores, clock, true).await.unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].id, id);
    assert!(overdue[0].overdue);

    // Answered by the operator, it is no longer open.
    requests::complete(stores, clock, "ada@example.com", &id)
        .await
        .unwrap();
    assert!(
        requests::open(stores, clock, false)
            .await
            .unwrap()
            .iter()
            .all(|r| r.id != id)
    );
}

#[tokio::test]
async fn a_review_request_is_due_in_thirty_days_listed_exported_and_outlives_its_post_on_sqlite() {
    a_review_is_due_listed_exported_and_outlives_its_post(
        spawn_app_on(TestDb::sqlite().await, |_| {}, |b| b).await,
    )
    .await;
}

#[tokio::test]
async fn a_review_request_is_due_in_thirty_days_listed_exported_and_outlives_its_post_on_postgres()
{
    a_review_is_due_listed_exported_and_outlives_its_post(
        spawn_app_on(TestDb::postgres().await, |_| {}, |b| b).await,
    )
    .await;
}

#[tokio::test]
async fn a_review_request_is_refused_field_by_field_and_another_owners_post_is_not_found() {
    let app = spawn_app().await;
    let ada = app.flow_user("ada@example.com").await;
    let bob = app.flow_user("bob@example.com").await;
    let bobs_post = app.generated(&bob.user.access).await;
    let access = &ada.user.access;
    let before = app.count("data_subject_requests").await;

    let (status, body) = app
        .ask_request(access, &json!({"type": "access", "message": "hello"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["fields"]["type"].is_array(), "{body}");

    let (status, body) = app
        .ask_request(access, &json!({"type": "review", "post_id": "nope"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["fields"]["post_id"].is_array(), "{body}");
    assert!(body["error"]["fields"]["message"].is_array(), "{body}");

    let (status, body) = app
        .ask_request(
            access,
            &json!({"type": "review", "message": "x".repeat(2001)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, body) = app
        .ask_request(
            access,
            &json!({"type": "review", "post_id": bobs_post["id"], "message": "look"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(code(&body), "not_found");

    let anonymous = app
        .client
        .post(app.url("/v1/me/requests"))
        .json(&json!({"type": "review", "message": "look"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("data_subject_requests").await, before);

    // A review without a post is fine.
    let (status, body) = app
        .ask_request(
            access,
            &json!({"type": "review", "message": "My quota ran out too early."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("post_id").is_none());
}

#[tokio::test]
async fn the_operator_records_a_review_that_arrives_by_mail() {
    let app = spawn_app().await;
    app.signup_user("ada@example.com").await;
    let (stores, billing, clock) = (&app.state.stores, &app.state.billing, &*app.state.clock);
    let recorded = requests::record(stores, billing, clock, "ada@example.com", "review", None)
        .await
        .unwrap();
    assert_eq!(recorded.kind, "review");
    assert_eq!(recorded.due_at, app.clock.now() + Duration::days(30));
}
