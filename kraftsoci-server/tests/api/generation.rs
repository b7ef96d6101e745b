//! Generation as a background job (issue 15 §1), on both engines: `POST /v1/posts` answers
//! 202 with the post in `generating`, the events stream follows it to `ready`, a worker that
//! dies mid-generation is taken over and the post gets exactly one result, `Idempotency-Key`
//! makes a repeated create harmless, a failed generation says why and gives the quota back,
//! regenerating keeps the other part and voids the consent, and nobody follows another
//! owner's post.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use kraftsoci_core::ports::{
    ContentGenerator, GeneratedText, GenerationError, GenerationRequest, Usage,
};
use kraftsoci_core::{AltText, Caption, Hashtag};
use kraftsoci_server::worker::{GenerationWorker, WorkerConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, parts, spawn_app_on};
use crate::support::TestDb;

/// Runs `scenario` on a fresh SQLite database and on PostgreSQL.
macro_rules! on_both_engines {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario(crate::support::TestDb::sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$scenario(crate::support::TestDb::postgres().await).await;
            }
        }
    };
}

/// A text generator that writes a different caption each time ("take 1", "take 2", …).
#[derive(Default)]
struct Takes(AtomicU32);

#[async_trait]
impl ContentGenerator for Takes {
    async fn generate_text(
        &self,
        _request: &GenerationRequest,
    ) -> Result<GeneratedText, GenerationError> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(GeneratedText {
            caption: Caption::parse(&format!("Fresh sourdough this morning, take {n}.")).unwrap(),
            hashtags: vec![Hashtag::parse("sourdough").unwrap()],
            alt_text: AltText::parse("A round sourdough loaf on a wooden board").unwrap(),
            image_prompt: "A sourdough loaf in morning light".to_owned(),
            usage: Usage::default(),
        })
    }
}

/// A text generator that always fails with the same error.
struct Failing(GenerationError);

#[async_trait]
impl ContentGenerator for Failing {
    async fn generate_text(
        &self,
        _request: &GenerationRequest,
    ) -> Result<GeneratedText, GenerationError> {
        Err(self.0.clone())
    }
}

async fn app_on(db: TestDb, generator: Option<Arc<dyn ContentGenerator>>) -> TestApp {
    spawn_app_on(
        db,
        |_| {},
        move |builder| match generator {
            Some(generator) => builder.generator(generator),
            None => builder,
        },
    )
    .await
}

impl TestApp {
    async fn create_post(
        &self,
        access: &str,
        key: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.url("/v1/posts"))
            .bearer_auth(access)
            .json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        parts(request.send().await.unwrap()).await
    }

    /// Held or committed quota of `kind` for everyone.
    async fn quota_units(&self, kind: &str) -> i64 {
        self.count(&format!("quota_reservations WHERE kind = '{kind}'"))
            .await
    }
}

fn topic() -> Value {
    json!({"topic": "Our new sourdough, out of the oven at 7"})
}

fn id(post: &Value) -> String {
    post["id"].as_str().unwrap().to_owned()
}

/// The `data` of each `step` event in an SSE body, in order.
fn step_events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter(|event| event.lines().any(|l| l == "event: step"))
        .map(|event| {
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            serde_json::from_str(&data).unwrap()
        })
        .collect()
}

async fn a_post_is_accepted_generating_and_its_events_stream_to_ready(db: TestDb) {
    let app = app_on(db, None).await;
    let flow = app.flow_user("ada@example.com").await;
    let response = app
        .client
        .post(app.url("/v1/posts"))
        .bearer_auth(&flow.user.access)
        .json(&topic())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let post: Value = response.json().await.unwrap();
    assert_eq!(post["status"], "generating");
    assert_eq!(post["generation_step"], "queued");
    assert_eq!(post["caption"], "");
    assert_eq!(location, format!("/v1/posts/{}", id(&post)));
    assert_eq!(app.count("generation_jobs").await, 1);

    let events = app
        .call(
            Method::GET,
            &format!("/v1/posts/{}/events", id(&post)),
            &flow.user.access,
            None,
        )
        .await;
    assert_eq!(events.status(), StatusCode::OK);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut events = events;
    let mut body = String::new();
    // The first event says where the post is now, before any worker ran.
    while !body.contains("\n\n") {
        let chunk = events.chunk().await.unwrap().expect("the first event");
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let first = step_events(&body);
    assert_eq!(first[0]["step"], "queued", "{body}");
    assert_eq!(first[0]["status"], "generating");

    let reports = app.run_generation().await;
    assert_eq!(reports.len(), 1);
    // The stream ends by itself once the post settles (a hang fails the test).
    let rest = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(chunk) = events.chunk().await.unwrap() {
            body.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await;
    assert!(rest.is_ok(), "the stream ended after the final step");
    let steps = step_events(&body);
    let last = steps.last().unwrap();
    assert_eq!(last["step"], "ready", "{body}");
    assert_eq!(last["status"], "ready");
    assert_eq!(last["failure"], Value::Null);

    // Polling sees the same.
    let (status, ready) = app.get_post(&flow.user.access, &id(&post)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["generation_step"], "ready");
    assert_ne!(ready["caption"], "");
    assert!(ready["image_url"].is_string());
    assert_eq!(ready["instagram_account_id"], flow.account_id.as_str());
    assert_eq!(app.count("generation_jobs").await, 0);
    assert_eq!(app.quota_units("posts").await, 1);

    // A settled post's stream answers its final step at once and ends.
    let (status, again) = parts_text(
        app.call(
            Method::GET,
            &format!("/v1/posts/{}/events", id(&post)),
            &flow.user.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let steps = step_events(&again);
    assert_eq!(steps.len(), 1, "{again}");
    assert_eq!(steps[0]["step"], "ready");
}
on_both_engines!(a_post_is_accepted_generating_and_its_events_stream_to_ready);

async fn parts_text(response: reqwest::Response) -> (StatusCode, String) {
    (response.status(), response.text().await.unwrap())
}

/// The owner's in-app notices of the "generation failed" event.
async fn generation_failed_notices(app: &TestApp, access: &str) -> Vec<Value> {
    let (status, body) = parts_text(app.call(Method::GET, "/v1/notices", access, None).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|notice| notice["kind"] == "generation_failed")
        .cloned()
        .collect()
}

async fn a_worker_killed_mid_generation_is_taken_over_and_the_post_gets_exactly_one_result(
    db: TestDb,
) {
    let app = app_on(db, Some(Arc::new(Takes::default()))).await;
    let flow = app.flow_user("ada@example.com").await;
    let (status, post) = app.create_post(&flow.user.access, None, &topic()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{post}");

    let config = WorkerConfig::default();
    let lease = config.lease;
    let dying = GenerationWorker::from_state(&app.state, config.clone());
    let claimed = dying.claim_only().await.unwrap().expect("a job to claim");
    // The first worker dies here, holding the job. While its lease lasts nobody else takes it.
    let second = GenerationWorker::from_state(&app.state, config);
    assert!(second.run_once().await.unwrap().is_none());

    app.clock
        .advance(chrono::Duration::from_std(lease).unwrap() + chrono::Duration::seconds(1));
    let report = second
        .run_once()
        .await
        .unwrap()
        .expect("the job taken over");
    assert_eq!(report.attempt, 2);
    assert_eq!(
        report.outcome,
        kraftsoci_server::posts::GenerationSettled::Ready
    );

    // The first worker wakes up and carries on with its stale claim: it writes nothing.
    let late = app
        .state
        .posts
        .run_generation(&*app.state.stores.generation, &claimed)
        .await
        .unwrap();
    assert_eq!(late, kraftsoci_server::posts::GenerationSettled::LeaseLost);

    let (_, ready) = app.get_post(&flow.user.access, &id(&post)).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["caption"], "Fresh sourdough this morning, take 1.");
    assert_eq!(app.count("posts").await, 1);
    assert_eq!(app.count("generation_jobs").await, 0);
    assert_eq!(
        app.count("quota_reservations WHERE kind = 'posts' AND committed = TRUE")
            .await,
        1
    );
    assert_eq!(app.quota_units("posts").await, 1);
    assert_eq!(app.quota_units("images").await, 1);
}
on_both_engines!(a_worker_killed_mid_generation_is_taken_over_and_the_post_gets_exactly_one_result);

async fn the_same_idempotency_key_gives_one_post_and_one_quota_use(db: TestDb) {
    let app = Arc::new(app_on(db, None).await);
    let flow = app.flow_user("ada@example.com").await;
    let access = flow.user.access.clone();

    let (first_status, first) = app
        .create_post(&access, Some("order-7-retry"), &topic())
        .await;
    let (again_status, again) = app
        .create_post(&access, Some("order-7-retry"), &topic())
        .await;
    assert_eq!(first_status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(again_status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(id(&first), id(&again));
    assert_eq!(app.count("posts").await, 1);
    assert_eq!(app.quota_units("posts").await, 1);

    // The same key with another body is refused, clearly.
    let (status, body) = app
        .create_post(
            &access,
            Some("order-7-retry"),
            &json!({"topic": "Something else entirely"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), "idempotency_key_reused");

    // Concurrent requests with one key: one post, one quota use.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let app = Arc::clone(&app);
        let access = access.clone();
        tasks.push(tokio::spawn(async move {
            app.create_post(&access, Some("burst-key"), &topic()).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, post) = task.await.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED, "{post}");
        ids.insert(id(&post));
    }
    assert_eq!(ids.len(), 1, "every concurrent request got the same post");
    assert_eq!(app.count("posts").await, 2);
    assert_eq!(app.quota_units("posts").await, 2);

    // A key that is not 1–255 visible ASCII characters is a clear 400.
    let (status, body) = app
        .create_post(&access, Some(&"k".repeat(256)), &topic())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "invalid_idempotency_key");

    // After 24 hours the keys are swept and the key is free again (the keys are aged in the
    // database: the server's clock stays, so that the access token stays valid).
    app.db
        .exec("UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00Z'".to_owned())
        .await;
    let worker = GenerationWorker::from_state(&app.state, WorkerConfig::default());
    assert_eq!(worker.sweep_idempotency_keys().await.unwrap(), 2);
    assert_eq!(app.count("idempotency_keys").await, 0);
    let (status, later) = app
        .create_post(&access, Some("order-7-retry"), &topic())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_ne!(id(&later), id(&first));
}
on_both_engines!(the_same_idempotency_key_gives_one_post_and_one_quota_use);

async fn a_flagged_generation_fails_with_its_reason_and_gives_the_quota_back(db: TestDb) {
    let flagged = GenerationError::Flagged {
        categories: vec!["violence".to_owned()],
    };
    let app = app_on(db, Some(Arc::new(Failing(flagged)))).await;
    let flow = app.flow_user("ada@example.com").await;
    let (status, post) = app
        .generate(&flow.user.access, "A topic moderation flags")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{post}");
    assert_eq!(post["status"], "generation_failed", "{post}");
    assert_eq!(post["generation_step"], "failed");
    assert_eq!(post["failure"]["code"], "content_flagged");
    assert_eq!(post["failure"]["retryable"], false);
    assert_eq!(
        app.quota_units("posts").await,
        0,
        "the reservation is released"
    );
    assert_eq!(app.quota_units("images").await, 0);
    assert_eq!(app.count("generation_jobs").await, 0);

    // Its stream says why at once.
    let (_, body) = parts_text(
        app.call(
            Method::GET,
            &format!("/v1/posts/{}/events", id(&post)),
            &flow.user.access,
            None,
        )
        .await,
    )
    .await;
    let steps = step_events(&body);
    assert_eq!(steps.len(), 1, "{body}");
    assert_eq!(steps[0]["step"], "failed");
    assert_eq!(steps[0]["failure"]["code"], "content_flagged");

    // The owner is told once, with a link to the post.
    let told = generation_failed_notices(&app, &flow.user.access).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["link"], format!("/posts/{}", id(&post)));

    // It cannot be approved; it can be retried (and fails again, giving the quota back again).
    let (status, _) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, retry) = app
        .regenerate(&flow.user.access, &id(&post), true, false)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retry}");
    assert_eq!(retry["status"], "generating");
    app.run_generation().await;
    let (_, failed) = app.get_post(&flow.user.access, &id(&post)).await;
    assert_eq!(failed["status"], "generation_failed");
    assert_eq!(app.quota_units("posts").await, 0);
    // The retry is a job of its own, failing on its own: one more notice, not a repeat.
    assert_eq!(
        generation_failed_notices(&app, &flow.user.access)
            .await
            .len(),
        2
    );
}
on_both_engines!(a_flagged_generation_fails_with_its_reason_and_gives_the_quota_back);

async fn an_unavailable_generator_fails_the_generation_as_retryable(db: TestDb) {
    let down = GenerationError::Unavailable("HTTP 500 after 3 attempts".to_owned());
    let app = app_on(db, Some(Arc::new(Failing(down)))).await;
    let flow = app.flow_user("ada@example.com").await;
    let (status, post) = app.generate(&flow.user.access, "Our new sourdough").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{post}");
    assert_eq!(post["status"], "generation_failed", "{post}");
    assert_eq!(post["failure"]["code"], "generator_unavailable");
    assert_eq!(post["failure"]["retryable"], true);
    assert!(!post.to_string().contains("HTTP 500"), "no upstream detail");
    assert_eq!(app.quota_units("posts").await, 0);
}
on_both_engines!(an_unavailable_generator_fails_the_generation_as_retryable);

async fn regenerating_the_caption_keeps_the_image_and_voids_the_consent(db: TestDb) {
    let app = app_on(db, Some(Arc::new(Takes::default()))).await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let (status, approved) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{approved}");

    // An approved post is not regenerated in place: withdraw first.
    let (status, body) = app
        .regenerate(&flow.user.access, &id(&post), true, false)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "invalid_state");

    // Publishing failed: the consent is still on file, and regenerating voids it.
    app.db
        .exec(format!(
            "UPDATE posts SET status = 'failed', failure_code = 'x', failure_message = 'x', \
             failure_retryable = TRUE WHERE id = '{}'",
            id(&post)
        ))
        .await;
    app.db.exec("DELETE FROM publish_jobs".to_owned()).await;
    let image_before = media_key(&post);

    let neither = app
        .call(
            Method::POST,
            &format!("/v1/posts/{}/regenerate", id(&post)),
            &flow.user.access,
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        neither.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "neither part asked for"
    );

    let (status, regenerating) = app
        .regenerate(&flow.user.access, &id(&post), true, false)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{regenerating}");
    assert_eq!(regenerating["status"], "generating");
    assert_eq!(regenerating["consent"], Value::Null);
    app.run_generation().await;

    let (_, after) = app.get_post(&flow.user.access, &id(&post)).await;
    assert_eq!(after["status"], "ready", "{after}");
    assert_eq!(after["caption"], "Fresh sourdough this morning, take 2.");
    assert_eq!(media_key(&after), image_before, "the image is kept");
    assert_ne!(after["content_hash"], post["content_hash"]);
    let consent = app
        .call(
            Method::GET,
            &format!("/v1/posts/{}/consent", id(&post)),
            &flow.user.access,
            None,
        )
        .await;
    assert_eq!(
        consent.status(),
        StatusCode::NOT_FOUND,
        "no current consent"
    );
    // The old preview's Publish click is refused.
    let (status, body) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "content_changed");

    // Regenerating the image keeps the caption and draws a new image.
    let (status, _) = app
        .regenerate(&flow.user.access, &id(&post), false, true)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.run_generation().await;
    let (_, redrawn) = app.get_post(&flow.user.access, &id(&post)).await;
    assert_eq!(redrawn["status"], "ready");
    assert_eq!(redrawn["caption"], "Fresh sourdough this morning, take 2.");
    assert_ne!(media_key(&redrawn), image_before, "a new image");
    // Quota: two posts (generate, caption) and two images (generate, image).
    assert_eq!(app.quota_units("posts").await, 2);
    assert_eq!(app.quota_units("images").await, 2);
}
on_both_engines!(regenerating_the_caption_keeps_the_image_and_voids_the_consent);

/// The media key inside a post's signed image link.
fn media_key(post: &Value) -> String {
    let url = post["image_url"].as_str().unwrap();
    url.split('?').next().unwrap().to_owned()
}

async fn another_owners_post_has_no_events_stream_and_cannot_be_regenerated(db: TestDb) {
    let app = app_on(db, None).await;
    let ada = app.flow_user("ada@example.com").await;
    let eve = app.profiled_user("eve@example.com").await;
    let (_, post) = app.create_post(&ada.user.access, None, &topic()).await;

    let events = app
        .call(
            Method::GET,
            &format!("/v1/posts/{}/events", id(&post)),
            &eve.access,
            None,
        )
        .await;
    assert_eq!(events.status(), StatusCode::NOT_FOUND);
    let (status, _) = app.regenerate(&eve.access, &id(&post), true, true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nor does anyone without a token.
    let anonymous = app
        .client
        .get(app.url(&format!("/v1/posts/{}/events", id(&post))))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
on_both_engines!(another_owners_post_has_no_events_stream_and_cannot_be_regenerated);

impl TestApp {
    async fn regenerate(
        &self,
        access: &str,
        post: &str,
        caption: bool,
        image: bool,
    ) -> (StatusCode, Value) {
        parts(
            self.call(
                Method::POST,
                &format!("/v1/posts/{post}/regenerate"),
                access,
                Some(&json!({"caption": caption, "image": image})),
            )
            .await,
        )
        .await
    }
}

async fn a_post_deleted_while_it_is_generated_gets_no_result_and_its_quota_back(db: TestDb) {
    let app = app_on(db, None).await;
    let flow = app.flow_user("ada@example.com").await;
    let (status, post) = app.create_post(&flow.user.access, None, &topic()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{post}");
    let worker = GenerationWorker::from_state(&app.state, WorkerConfig::default());
    let claimed = worker.claim_only().await.unwrap().expect("a job to claim");
    assert_eq!(app.quota_units("posts").await, 1, "held while generating");

    let (status, _) = app.delete_post(&flow.user.access, &id(&post)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let outcome = app
        .state
        .posts
        .run_generation(&*app.state.stores.generation, &claimed)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        kraftsoci_server::posts::GenerationSettled::LeaseLost
    );
    assert_eq!(app.count("posts").await, 0);
    assert_eq!(app.count("generation_jobs").await, 0);
    assert_eq!(app.quota_units("posts").await, 0, "the quota is given back");
    assert_eq!(app.quota_units("images").await, 0);
}
on_both_engines!(a_post_deleted_while_it_is_generated_gets_no_result_and_its_quota_back);
