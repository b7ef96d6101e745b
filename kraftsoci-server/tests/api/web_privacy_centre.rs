//! The privacy centre over HTTP, signed in with a browser session: the download, pausing and
//! objecting (each a request answered at once and listed), and closing the account with its
//! confirmation, which ends the session.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::helpers::{PASSWORD, spawn_app};
use crate::web_session::post_page;

#[tokio::test]
async fn the_centre_shows_the_rights_and_saves_choices_as_answered_requests() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let (status, html, _) = owner.get(&app, "/privacy").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "Download my data",
        "href=\"/privacy/export\"",
        "Pause AI writing",
        "KVKK Board",
        "action=\"/privacy/close\"",
        "You have not made any requests yet.",
    ] {
        assert!(html.contains(expected), "{expected}");
    }
    assert!(html.len() < 100_000);

    let saved = owner
        .post(
            &app,
            "/privacy/choices",
            &[("publishing", "true"), ("usage_log", "true")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(saved.headers()[LOCATION], "/privacy?done=saved");
    let (status, me) = crate::helpers::parts(app.get_me(&owner.flow.user.access).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["restrictions"]["publishing"], true);
    assert_eq!(me["restrictions"]["generation"], false);
    assert_eq!(me["objections"]["usage_log"], true);
    let (_, html, _) = owner.get(&app, "/privacy?done=saved").await;
    assert!(html.contains("Choices saved"));
    assert!(html.contains("Restriction") && html.contains("Objection"));
    assert!(html.contains(
        "id=\"publishing\" name=\"publishing\" type=\"checkbox\" value=\"true\" checked"
    ));

    // Saving the same choices again records no new request.
    let requests = app.count("data_subject_requests").await;
    owner
        .post(
            &app,
            "/privacy/choices",
            &[("publishing", "true"), ("usage_log", "true")],
        )
        .await;
    assert_eq!(app.count("data_subject_requests").await, requests);

    // Paused publishing is refused on the post page, in the owner's words.
    let post = app.generated(&owner.flow.user.access).await;
    let id = post["id"].as_str().unwrap();
    let refused = owner
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", post["content_hash"].as_str().unwrap()),
                ("instagram_account_id", &owner.flow.account_id),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("You paused publishing in the privacy centre.")
    );
    assert_eq!(app.count("publish_jobs").await, 0);

    let forged = post_page(&app, "/privacy/choices", &owner.browser.cookie, &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (_, me) = crate::helpers::parts(app.get_me(&owner.flow.user.access).await).await;
    assert_eq!(
        me["restrictions"]["publishing"], true,
        "a forged form changes nothing"
    );
}

#[tokio::test]
async fn the_download_is_the_export_and_is_listed_as_an_access_request() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let response = app
        .client
        .get(app.url("/privacy/export"))
        .header(reqwest::header::COOKIE, &owner.browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"kraftsoci-export-")
    );
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["format"], "kraftsoci.export.v1");
    assert!(!export.to_string().contains(&owner.flow.user.access));
    let (_, html, _) = owner.get(&app, "/privacy").await;
    assert!(html.contains("Access"));
    assert!(html.contains("Completed"), "{html}");
}

#[tokio::test]
async fn closing_asks_for_the_password_and_the_box_then_ends_the_session() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;

    let unticked = owner
        .post(&app, "/privacy/close", &[("password", PASSWORD)])
        .await;
    assert_eq!(unticked.status(), StatusCode::BAD_REQUEST);
    assert!(
        unticked
            .text()
            .await
            .unwrap()
            .contains("Tick this box to confirm.")
    );

    let wrong = owner
        .post(
            &app,
            "/privacy/close",
            &[("password", "not the password"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("The password is not right."));
    assert!(
        !html.contains("not the password"),
        "a password is never shown again"
    );
    let (status, _) = crate::helpers::parts(app.get_me(&owner.flow.user.access).await).await;
    assert_eq!(status, StatusCode::OK, "still open");

    let closed = owner
        .post(
            &app,
            "/privacy/close",
            &[("password", PASSWORD), ("confirm", "yes")],
        )
        .await;
    assert_eq!(closed.status(), StatusCode::ACCEPTED);
    let cleared: Vec<String> = closed
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("kraftsoci-session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    let html = closed.text().await.unwrap();
    assert!(html.contains("Your account is closed"));
    assert!(
        html.contains("will be permanently deleted by"),
        "the purge date is shown"
    );

    // The session ended with the account: the old cookie opens nothing.
    let (status, _, _) = owner.get(&app, "/posts").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = crate::helpers::parts(app.get_me(&owner.flow.user.access).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
