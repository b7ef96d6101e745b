//! The owner's post pages and calendar over HTTP, signed in with a browser session: the list,
//! the topic form, the preview whose Publish form carries the hash of exactly what it shows
//! (a stale one is refused), publishing through the worker to the permalink, scheduling and
//! withdrawing from the calendar, deleting, and another owner's posts.

use chrono::Duration;
use kraftsoci_server::worker::{Worker, WorkerDeps};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, spawn_app};
use crate::posts::FlowUser;
use crate::web_session::{BrowserSession, browser_sign_in, get_page, input_value, post_page};
use crate::worker::fast_config;

/// A signed-up owner with a profile and a sandbox account, signed in in a browser.
pub struct Signed {
    pub flow: FlowUser,
    pub browser: BrowserSession,
}

impl TestApp {
    pub async fn signed_owner(&self, email: &str) -> Signed {
        let flow = self.flow_user(email).await;
        let browser = browser_sign_in(self, email, PASSWORD).await;
        Signed { flow, browser }
    }
}

impl Signed {
    /// GETs `path`: status, HTML and the page's form token.
    pub async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, String, String) {
        get_page(app, path, &self.browser.cookie).await
    }

    /// POSTs `fields` with the session's form token.
    pub async fn post(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &self.browser.token));
        post_page(app, path, &self.browser.cookie, &fields).await
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// Generates a post through the topic form, runs the generation worker, and returns its id.
pub(crate) async fn generate(app: &TestApp, owner: &Signed, topic: &str) -> String {
    let response = owner
        .post(
            app,
            "/posts/new",
            &[("topic", topic), ("with_image", "true")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    let id = to
        .strip_prefix("/posts/")
        .filter(|rest| !rest.contains('?'))
        .unwrap_or_else(|| panic!("{to}"))
        .to_owned();
    app.run_generation().await;
    id
}

async fn status_of(app: &TestApp, owner: &Signed, id: &str) -> String {
    let (status, post) = app.get_post(&owner.flow.user.access, id).await;
    assert_eq!(status, StatusCode::OK, "{post}");
    post["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_come_back() {
    let app = spawn_app().await;
    for path in [
        "/posts",
        "/posts/new",
        "/calendar",
        "/privacy",
        "/privacy/export",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let encoded: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(location(&response), format!("/sign-in?next={encoded}"));
    }
}

#[tokio::test]
async fn the_empty_list_leads_to_new_post_and_a_generated_post_shows_with_its_badge() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let (status, html, _) = owner.get(&app, "/posts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No posts yet"), "{html}");
    assert!(html.contains("href=\"/posts/new\""));

    let (status, html, _) = owner.get(&app, "/posts/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("about 20 seconds"), "the wait is announced");

    let id = generate(&app, &owner, "Our new sourdough, out of the oven at 7").await;
    let (status, html, _) = owner.get(&app, "/posts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("href=\"/posts/{id}\"")));
    assert!(html.contains("badge--neutral\">Ready to review"), "{html}");
    assert!(html.contains("Our new sourdough, out of the oven at 7"));

    // Filtered by another status, the list is empty and says so.
    let (_, html, _) = owner.get(&app, "/posts?status=published").await;
    assert!(html.contains("No posts with this status"));
    assert!(!html.contains(&format!("href=\"/posts/{id}\"")));
    assert!(html.len() < 100_000);
}

#[tokio::test]
async fn the_preview_shows_what_instagram_will_and_its_forms_carry_its_hash() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let id = generate(&app, &owner, "Simit and tea for the morning commute").await;
    let (status, api) = app.get_post(&owner.flow.user.access, &id).await;
    assert_eq!(status, StatusCode::OK);

    let (status, html, _) = owner
        .get(&app, &format!("/posts/{id}?done=generated"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Your post is ready"));
    let hash = input_value(&html, "content_hash").unwrap();
    assert_eq!(hash, api["content_hash"].as_str().unwrap());
    // The image at its real size from a same-origin signed link, with its alt text.
    let image = api["image"].clone();
    assert!(html.contains(&format!(
        "width=\"{}\" height=\"{}\"",
        image["width"], image["height"]
    )));
    assert!(html.contains("src=\"/media/"));
    let alt = api["alt_text"].as_str().unwrap();
    assert!(
        html.contains(&format!("alt=\"{}\"", askama_escape(alt))),
        "{html}"
    );
    // Every Publish form names the account and the hash; the page is small.
    assert!(html.contains(&format!(
        "name=\"instagram_account_id\" value=\"{}\"",
        owner.flow.account_id
    )));
    assert!(html.len() < 100_000, "{} bytes", html.len());
}

/// The escaping askama applies to attribute values.
fn askama_escape(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test]
async fn a_publish_form_made_stale_by_an_edit_elsewhere_is_refused_with_the_new_preview() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let id = generate(&app, &owner, "Pistachio baklava, only this weekend").await;
    let (_, first_tab, _) = owner.get(&app, &format!("/posts/{id}")).await;
    let shown = input_value(&first_tab, "content_hash").unwrap();

    // A second tab edits the caption.
    let edited = owner
        .post(
            &app,
            &format!("/posts/{id}/edit"),
            &[
                ("content_hash", &shown),
                ("caption", "Pistachio baklava, baked this morning."),
                ("hashtags", "#baklava #kadıköy"),
                ("alt_text", "A tray of baklava"),
            ],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&edited), format!("/posts/{id}?done=saved"));

    // The first tab's Publish is refused: nothing is queued, the current preview is shown.
    let stale = owner
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", &shown),
                ("instagram_account_id", &owner.flow.account_id),
            ],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    let html = stale.text().await.unwrap();
    assert!(
        html.contains("The post changed since you opened this page"),
        "{html}"
    );
    assert!(html.contains("Pistachio baklava, baked this morning."));
    assert!(
        !html.contains("What you typed"),
        "nothing was typed on a Publish click"
    );
    let current = input_value(&html, "content_hash").unwrap();
    assert_ne!(current, shown);
    assert_eq!(app.count("publish_jobs").await, 0);
    assert_eq!(status_of(&app, &owner, &id).await, "ready");

    // The first tab's old edit form is refused too, and what it typed is kept.
    let overwrite = owner
        .post(
            &app,
            &format!("/posts/{id}/edit"),
            &[
                ("content_hash", &shown),
                ("caption", "An older caption typed in the first tab"),
                ("hashtags", ""),
                ("alt_text", ""),
            ],
        )
        .await;
    assert_eq!(overwrite.status(), StatusCode::CONFLICT);
    let html = overwrite.text().await.unwrap();
    assert!(html.contains("An older caption typed in the first tab"));
    assert!(html.contains("What you typed is still in the form."));

    // Publishing the preview as it is now works; the receipt and the status follow.
    let click = owner
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", &current),
                ("instagram_account_id", &owner.flow.account_id),
            ],
        )
        .await;
    assert_eq!(click.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&click), format!("/posts/{id}?done=approved"));
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}?done=approved")).await;
    assert!(html.contains("Your approval"));
    assert!(
        html.contains(&current),
        "the receipt names the approved content"
    );
    assert!(html.contains("data-poll"), "the page follows the status");
    let (status, receipt) = app.consent(&owner.flow.user.access, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(receipt["content_hash"], current.as_str());

    let worker = Worker::new(WorkerDeps::from_state(&app.state), fast_config());
    while worker.run_once().await.unwrap().is_some() {}
    assert_eq!(status_of(&app, &owner, &id).await, "published");
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("Published on Instagram"), "{html}");
    assert!(
        html.contains("/sandbox/instagram/sandbox-"),
        "the permalink is linked"
    );
    assert!(!html.contains("data-poll"));
    assert!(!html.contains(&format!("action=\"/posts/{id}/publish\"")));
}

#[tokio::test]
async fn bad_input_is_answered_next_to_its_field_and_nothing_typed_is_lost() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;

    let short = owner.post(&app, "/posts/new", &[("topic", "ab")]).await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    let html = short.text().await.unwrap();
    assert!(html.contains("3 to 500 characters"));
    assert!(html.contains(">ab</textarea>"));

    // Without the form token nothing is generated and the topic is kept.
    let forged = post_page(
        &app,
        "/posts/new",
        &owner.browser.cookie,
        &[("topic", "A topic typed before the form expired")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("A topic typed before the form expired")
    );
    assert_eq!(app.count("posts").await, 0);

    let id = generate(&app, &owner, "Sourdough workshop on Saturday").await;
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    let hash = input_value(&html, "content_hash").unwrap();
    let bad = owner
        .post(
            &app,
            &format!("/posts/{id}/edit"),
            &[
                ("content_hash", &hash),
                ("caption", "Kept caption"),
                ("hashtags", "#fine #not-fine"),
                ("alt_text", ""),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Each hashtag is one word"));
    assert!(html.contains(">Kept caption</textarea>"));
    assert!(html.contains("value=\"#fine #not-fine\""));

    let past = owner
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", &hash),
                ("instagram_account_id", &owner.flow.account_id),
                ("scheduled_for", "2020-01-01T09:30"),
            ],
        )
        .await;
    assert_eq!(past.status(), StatusCode::BAD_REQUEST);
    let html = past.text().await.unwrap();
    assert!(html.contains("Choose a time in the future."));
    assert!(html.contains("value=\"2020-01-01T09:30\""));
    assert_eq!(app.count("publish_jobs").await, 0);
}

#[tokio::test]
async fn a_scheduled_post_is_in_the_calendar_in_turkish_and_withdrawn_from_there() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let response = app
        .patch_me(
            &owner.flow.user.access,
            &json!({"preferences": {"language": "tr"}}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = generate(&app, &owner, "Yılbaşı pastaları için sipariş zamanı").await;
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("Şimdi yayınla"), "the account's language");
    let hash = input_value(&html, "content_hash").unwrap();

    // Tomorrow at 09:30 in Istanbul.
    let istanbul = chrono_tz::Europe::Istanbul;
    let tomorrow =
        (app.state.clock.now().with_timezone(&istanbul) + Duration::days(1)).date_naive();
    let typed = format!("{}T09:30", tomorrow.format("%Y-%m-%d"));
    let click = owner
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", &hash),
                ("instagram_account_id", &owner.flow.account_id),
                ("scheduled_for", &typed),
            ],
        )
        .await;
    assert_eq!(click.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&click), format!("/posts/{id}?done=scheduled"));
    let (_, receipt) = app.consent(&owner.flow.user.access, &id).await;
    let expected = tomorrow
        .and_hms_opt(6, 30, 0)
        .unwrap()
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    assert_eq!(receipt["scheduled_for"], expected.as_str());

    let week = format!("/calendar?week={}", tomorrow.format("%Y-%m-%d"));
    let (status, html, _) = owner.get(&app, &week).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Takvim"));
    assert!(html.contains("09:30"), "{html}");
    assert!(html.contains("Zamanlandı"));
    assert!(html.contains(&format!("action=\"/posts/{id}/withdraw\"")));

    let withdrawn = owner
        .post(&app, &format!("/posts/{id}/withdraw"), &[("next", &week)])
        .await;
    assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&withdrawn), week);
    assert_eq!(status_of(&app, &owner, &id).await, "ready");
    assert_eq!(app.count("publish_jobs").await, 0);
    let (_, html, _) = owner.get(&app, &week).await;
    assert!(!html.contains(&format!("/posts/{id}")));

    // A withdraw form cannot send the browser elsewhere.
    let hash = input_value(
        &owner.get(&app, &format!("/posts/{id}")).await.1,
        "content_hash",
    )
    .unwrap();
    owner
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", &hash),
                ("instagram_account_id", &owner.flow.account_id),
                ("scheduled_for", &typed),
            ],
        )
        .await;
    let away = owner
        .post(
            &app,
            &format!("/posts/{id}/withdraw"),
            &[("next", "//evil.example/")],
        )
        .await;
    assert_eq!(location(&away), format!("/posts/{id}?done=withdrawn"));
}

#[tokio::test]
async fn deleting_asks_first_and_another_owners_post_is_not_found() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let other = app.signed_owner("grace@example.com").await;
    let id = generate(&app, &owner, "Fresh flowers for the weekend market").await;

    for path in [format!("/posts/{id}"), format!("/posts/{id}/delete")] {
        let (status, html, _) = other.get(&app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!html.contains("Fresh flowers"));
    }
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    let hash = input_value(&html, "content_hash").unwrap();
    let foreign = other
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", &hash),
                ("instagram_account_id", &other.flow.account_id),
            ],
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .post(&app, &format!("/posts/{id}/delete"), &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count("publish_jobs").await, 0);

    let (status, html, _) = owner.get(&app, &format!("/posts/{id}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Delete this post?"));
    assert_eq!(
        status_of(&app, &owner, &id).await,
        "ready",
        "asking deletes nothing"
    );
    let deleted = owner.post(&app, &format!("/posts/{id}/delete"), &[]).await;
    assert_eq!(location(&deleted), "/posts?done=deleted");
    let (_, html, _) = owner.get(&app, "/posts?done=deleted").await;
    assert!(html.contains("Post deleted"));
    let (status, _) = app.get_post(&owner.flow.user.access, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        !owner
            .get(&app, "/posts")
            .await
            .1
            .contains(&format!("/posts/{id}"))
    );
}

/// A writing service that is down, and says more than an owner should read.
struct Down;

#[async_trait::async_trait]
impl kraftsoci_core::ports::ContentGenerator for Down {
    async fn generate_text(
        &self,
        _: &kraftsoci_core::ports::GenerationRequest,
    ) -> Result<kraftsoci_core::ports::GeneratedText, kraftsoci_core::ports::GenerationError> {
        Err(kraftsoci_core::ports::GenerationError::Unavailable(
            "upstream exploded: 503 from api.openai.example".to_owned(),
        ))
    }
}

#[tokio::test]
async fn a_generator_failure_reads_plainly_on_the_preview_keeps_the_topic_and_uses_no_quota() {
    let app = crate::helpers::spawn_app_built(
        |_| {},
        |builder| builder.generator(std::sync::Arc::new(Down)),
    )
    .await;
    let owner = app.signed_owner("ada@example.com").await;
    let response = owner
        .post(
            &app,
            "/posts/new",
            &[
                ("topic", "Kadıköy market day specials"),
                ("with_image", "true"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    // While it is written, the preview shows the progress and a refresh link (no script
    // needed), and the script's event stream address.
    let (status, html, _) = owner.get(&app, &to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Your post is being written"), "{html}");
    assert!(html.contains(&format!("data-events=\"{to}/events\"")));
    assert!(html.contains("Refresh the progress"));

    app.run_generation().await;
    let (status, html, _) = owner.get(&app, &to).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The post could not be generated"), "{html}");
    assert!(html.contains("Something went wrong while writing this post."));
    assert!(
        html.contains("Kadıköy market day specials"),
        "the topic is kept"
    );
    assert!(html.contains("Regenerate caption"), "it can be tried again");
    assert!(
        !html.contains("exploded") && !html.contains("openai"),
        "no upstream detail"
    );
    assert_eq!(app.count("quota_reservations").await, 0);
}

#[tokio::test]
async fn a_double_click_on_publish_queues_the_post_once() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let id = generate(&app, &owner, "Two clicks, one post").await;
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    let hash = input_value(&html, "content_hash").unwrap();
    let path = format!("/posts/{id}/publish");
    let fields = [
        ("content_hash", hash.as_str()),
        ("instagram_account_id", owner.flow.account_id.as_str()),
    ];
    let (first, second) = tokio::join!(
        owner.post(&app, &path, &fields),
        owner.post(&app, &path, &fields)
    );
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("publish_jobs").await, 1);
    assert_eq!(status_of(&app, &owner, &id).await, "approved");
}

#[tokio::test]
async fn a_malformed_post_address_is_the_not_found_page() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    for path in ["/posts/not-a-post", "/posts/12/delete"] {
        let (status, html, _) = owner.get(&app, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("Post not found"), "{path}: an HTML page");
    }
    let response = owner
        .post(&app, "/posts/not-a-post/publish", &[("content_hash", "00")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_post_without_an_image_says_so_and_its_publish_is_refused_plainly() {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let response = owner
        .post(&app, "/posts/new", &[("topic", "Words only, no picture")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.run_generation().await;
    let id = location(&response)
        .trim_start_matches("/posts/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("This post has no image."));
    let hash = input_value(&html, "content_hash").unwrap();
    let refused = owner
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", &hash),
                ("instagram_account_id", &owner.flow.account_id),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("image cannot be published")
    );
    assert_eq!(app.count("publish_jobs").await, 0);
}

#[tokio::test]
async fn regenerate_image_from_the_preview_keeps_the_caption_and_a_form_without_its_token_is_refused()
 {
    let app = spawn_app().await;
    let owner = app.signed_owner("ada@example.com").await;
    let id = generate(&app, &owner, "Simit and tea for the commute").await;
    let (_, before) = app.get_post(&owner.flow.user.access, &id).await;
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("Regenerate caption") && html.contains("Regenerate image"));

    // Without the form token nothing happens.
    let forged = post_page(
        &app,
        &format!("/posts/{id}/regenerate"),
        &owner.browser.cookie,
        &[("part", "image")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, &owner, &id).await, "ready");

    let response = owner
        .post(
            &app,
            &format!("/posts/{id}/regenerate"),
            &[("part", "image")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/posts/{id}"));
    assert_eq!(status_of(&app, &owner, &id).await, "generating");
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("Your post is being written"));
    assert!(!html.contains(&format!("action=\"/posts/{id}/publish\"")));

    app.run_generation().await;
    let (_, after) = app.get_post(&owner.flow.user.access, &id).await;
    assert_eq!(after["status"], "ready");
    assert_eq!(after["caption"], before["caption"], "the caption is kept");
    // The offline generator draws the same picture for the same prompt, but it is a new image,
    // stored anew.
    let path = |post: &serde_json::Value| {
        post["image_url"]
            .as_str()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_ne!(path(&after), path(&before));

    // Another owner's progress stream is a 404 page.
    let eve = app.signed_owner("eve@example.com").await;
    let (status, _, _) = eve.get(&app, &format!("/posts/{id}/events")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
