//! The privacy centre's review form (P32) with its CSRF check, the policy history with the
//! owner's acceptances (P38), and the controller and contact line in every page's footer and
//! on `/data-deletion`.

use chrono::Duration;
use kraftsoci_core::Clock as _;
use kraftsoci_server::store::PolicyVersion;
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, parts, spawn_app, spawn_app_on, spawn_app_with};
use crate::support::TestDb;
use crate::web_session::post_page;

async fn the_review_form_records_a_request(app: TestApp) {
    let owner = app.signed_owner("ada@example.com").await;
    let (status, html, _) = owner.get(&app, "/privacy").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("action=\"/privacy/review\""), "{html}");
    assert!(html.contains("Ask a person to review a decision"));
    let before = app.count("data_subject_requests").await;

    // Empty: refused next to the field, nothing recorded.
    let refused = owner
        .post(&app, "/privacy/review", &[("message", "   ")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Tell us what to review."), "{html}");
    assert!(html.contains("id=\"message\" name=\"message\""));

    // Too long: refused with the text kept.
    let long = "x".repeat(2001);
    let refused = owner
        .post(&app, "/privacy/review", &[("message", long.as_str())])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains(&long));

    // Without the form's token: refused, nothing recorded.
    let forged = post_page(
        &app,
        "/privacy/review",
        &owner.browser.cookie,
        &[("message", "please look")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("data_subject_requests").await, before);

    // Opened from a refused post, the form names the post.
    let post = app.generated(&owner.flow.user.access).await;
    let post_id = post["id"].as_str().unwrap();
    let (_, html, _) = owner
        .get(&app, &format!("/privacy?review_post={post_id}"))
        .await;
    assert!(
        html.contains(&format!("name=\"post_id\" value=\"{post_id}\"")),
        "{html}"
    );
    let asked = owner
        .post(
            &app,
            "/privacy/review",
            &[
                ("post_id", post_id),
                ("message", "The content check refused a baklava recipe."),
            ],
        )
        .await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(asked.headers()[LOCATION], "/privacy?done=review#requests");
    assert_eq!(app.count("data_subject_requests").await, before + 1);
    let (_, html, _) = owner.get(&app, "/privacy?done=review").await;
    assert!(html.contains("Your request is recorded"), "{html}");
    assert!(html.contains("Human review"));

    let mine = app.my_requests(&owner.flow.user.access).await;
    let review = mine["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "review")
        .unwrap_or_else(|| panic!("{mine}"));
    assert_eq!(review["post_id"], post_id);
    assert_eq!(
        review["message"],
        "The content check refused a baklava recipe."
    );
}

#[tokio::test]
async fn the_review_form_checks_its_token_and_input_and_records_a_request_on_sqlite() {
    the_review_form_records_a_request(spawn_app_on(TestDb::sqlite().await, |_| {}, |b| b).await)
        .await;
}

#[tokio::test]
async fn the_review_form_checks_its_token_and_input_and_records_a_request_on_postgres() {
    the_review_form_records_a_request(spawn_app_on(TestDb::postgres().await, |_| {}, |b| b).await)
        .await;
}

async fn the_history_lists_versions_and_acceptances(app: TestApp) {
    // The first version, accepted at sign-up.
    crate::web_session::ensure_policy(&app).await;
    let owner = app.signed_owner("ada@example.com").await;
    app.state
        .stores
        .policy
        .publish_policy_version(&PolicyVersion {
            version: "2026-02".to_owned(),
            // Later than whichever first version the server recorded.
            published_at: app.clock.now() + Duration::hours(1),
            summary: "A new mail relay.".to_owned(),
        })
        .await
        .unwrap();
    let (status, html, _) = owner.get(&app, "/privacy").await;
    assert_eq!(status, StatusCode::OK);
    let history = &html[html.find("Policy history").expect("the history")..];
    let history = &history[..history
        .find("</table>")
        .unwrap_or_else(|| panic!("{history}"))];
    let newer = history
        .find(">2026-02")
        .unwrap_or_else(|| panic!("the new version: {history}"));
    let older = history
        .find(">2026-01")
        .unwrap_or_else(|| panic!("the first version: {history}"));
    assert!(newer < older, "newest first: {history}");
    assert!(history[newer..older].contains("current"), "{history}");
    assert!(
        history[newer..older].contains("Not accepted"),
        "the new version is not accepted yet: {history}"
    );
    assert!(
        !history[older..].contains("Not accepted"),
        "accepted at sign-up: {history}"
    );

    app.clock.advance(Duration::minutes(1));
    let (status, body) = parts(
        app.call(
            Method::POST,
            "/v1/policy/accept",
            &owner.flow.user.access,
            Some(&json!({"version": "2026-02"})),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    let (_, html, _) = owner.get(&app, "/privacy").await;
    let history = &html[html.find("Policy history").unwrap()..];
    let end = history.find("</table>").unwrap();
    assert!(
        !history[..end].contains("Not accepted"),
        "{}",
        &history[..end]
    );
}

#[tokio::test]
async fn the_centre_shows_the_policy_history_with_the_owners_acceptances_on_sqlite() {
    the_history_lists_versions_and_acceptances(
        spawn_app_on(TestDb::sqlite().await, |_| {}, |b| b).await,
    )
    .await;
}

#[tokio::test]
async fn the_centre_shows_the_policy_history_with_the_owners_acceptances_on_postgres() {
    the_history_lists_versions_and_acceptances(
        spawn_app_on(TestDb::postgres().await, |_| {}, |b| b).await,
    )
    .await;
}

#[tokio::test]
async fn the_footer_and_the_deletion_page_name_the_controller_and_the_contact() {
    let app = spawn_app_with(|config| {
        config.privacy.controller = "Ada's Bakery Ltd".to_owned();
        config.privacy.contact = "privacy@bakery.example".to_owned();
    })
    .await;
    let page = app.deletion_page().await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let footer = &html[html.find("<footer").expect("a footer")..];
    assert!(
        footer.contains("Ada&#39;s Bakery Ltd is responsible for your data")
            || footer.contains("Ada&#x27;s Bakery Ltd is responsible for your data"),
        "{footer}"
    );
    assert!(footer.contains("privacy@bakery.example"), "{footer}");
    let body = &html[..html.find("<footer").unwrap()];
    assert!(
        body.contains("id=\"deletion-contact\"")
            && body[body.find("id=\"deletion-contact\"").unwrap()..]
                .contains("<strong>privacy@bakery.example</strong>"),
        "the deletion page itself names the contact: {body}"
    );
    assert!(body.contains("id=\"deletion-controller\""));

    // Every page's footer carries it, in Turkish too.
    let turkish = app
        .client
        .get(app.url("/sign-in"))
        .header(reqwest::header::ACCEPT_LANGUAGE, "tr")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(turkish.contains("(veri sorumlusu)"), "{turkish}");
    assert!(turkish.contains("privacy@bakery.example"));
}

#[tokio::test]
async fn an_anonymous_visitor_cannot_post_a_review() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/privacy/review"))
        .form(&[("message", "hello")])
        .send()
        .await
        .unwrap();
    assert!(
        response.status() == StatusCode::SEE_OTHER || response.status() == StatusCode::FORBIDDEN,
        "{}",
        response.status()
    );
    assert_eq!(app.count("data_subject_requests").await, 0);
}
