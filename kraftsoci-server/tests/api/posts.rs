//! The consent-gated post flow: generate, preview, edit, the Publish click, withdraw, delete,
//! and the two-user isolation matrix of every route here.

use std::sync::Arc;

use chrono::{Duration, Utc};
use kraftsoci_ai::{Moderation, OpenAiConfig, OpenAiGenerator, RetryPolicy};
use kraftsoci_billing::{
    BillingEntitlements, BillingPeriod, InMemoryBillingStore, InMemoryQuotaLedger, PlanTable,
};
use kraftsoci_core::ports::{QuotaKind, QuotaLedger};
use kraftsoci_core::{Clock, UserId};

use reqwest::{Method, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, TestUser, code, parts, spawn_app, spawn_app_built, spawn_app_with};

/// The profile every flow test uses.
pub fn profile_body() -> Value {
    json!({
        "description": "A family bakery baking simit and sourdough since 1982",
        "target_audience": "Neighbours and morning commuters",
        "tone": "warm and friendly",
        "sector": "bakery",
        "language": "en",
    })
}

/// A sandbox user with a profile and a connected sandbox account.
pub struct FlowUser {
    pub user: TestUser,
    pub account_id: String,
    pub ig_user_id: String,
}

/// The public URL test servers are configured with (they listen on another port).
pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";

impl TestApp {
    /// A URL the server handed out (under its configured public URL), pointed at this test
    /// server.
    pub fn local(&self, url: &str) -> String {
        let rest = url
            .strip_prefix(PUBLIC_URL)
            .unwrap_or_else(|| panic!("{url} is not ours"));
        format!("{}{rest}", self.address)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        access: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(access)
            .header("user-agent", "kraftsoci-tests/1.0");
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// Signs up `email` and saves the business profile.
    pub async fn profiled_user(&self, email: &str) -> TestUser {
        let user = self.signup_user(email).await;
        let (status, body) = parts(self.put_profile(&user.access, &profile_body()).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        user
    }

    /// Connects the sandbox account of `user` by following the authorize URL.
    pub async fn connect_sandbox(&self, user: &TestUser) -> Value {
        let (status, start) = parts(
            self.call(Method::POST, "/v1/instagram/connect", &user.access, None)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{start}");
        assert_eq!(start["sandbox"], true);
        let url = self.local(start["authorize_url"].as_str().unwrap());
        let (status, connected) = parts(self.client.get(url).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{connected}");
        connected["accounts"][0].clone()
    }

    /// A profiled sandbox user with a connected account.
    pub async fn flow_user(&self, email: &str) -> FlowUser {
        let user = self.profiled_user(email).await;
        let account = self.connect_sandbox(&user).await;
        FlowUser {
            user,
            account_id: account["id"].as_str().unwrap().to_owned(),
            ig_user_id: account["ig_user_id"].as_str().unwrap().to_owned(),
        }
    }

    /// `POST /v1/posts`; when it is accepted (202), runs the generation worker until the
    /// queue is empty and answers the post as it is then (`ready` or `generation_failed`).
    pub async fn generate(&self, access: &str, topic: &str) -> (StatusCode, Value) {
        self.generate_body(access, &json!({"topic": topic})).await
    }

    /// As [`TestApp::generate`], with a whole request body.
    pub async fn generate_body(&self, access: &str, body: &Value) -> (StatusCode, Value) {
        let (status, post) = parts(
            self.call(Method::POST, "/v1/posts", access, Some(body))
                .await,
        )
        .await;
        if status != StatusCode::ACCEPTED {
            return (status, post);
        }
        assert_eq!(post["status"], "generating", "{post}");
        self.run_generation().await;
        let (_, settled) = self.get_post(access, id(&post)).await;
        (status, settled)
    }

    /// Generates a post and returns it (asserting 202, then `ready`).
    pub async fn generated(&self, access: &str) -> Value {
        let (status, post) = self
            .generate(access, "Our new sourdough, out of the oven at 7")
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{post}");
        assert_eq!(post["status"], "ready", "{post}");
        post
    }

    pub async fn get_post(&self, access: &str, id: &str) -> (StatusCode, Value) {
        parts(
            self.call(Method::GET, &format!("/v1/posts/{id}"), access, None)
                .await,
        )
        .await
    }

    pub async fn patch_post(&self, access: &str, id: &str, body: &Value) -> (StatusCode, Value) {
        parts(
            self.call(
                Method::PATCH,
                &format!("/v1/posts/{id}"),
                access,
                Some(body),
            )
            .await,
        )
        .await
    }

    pub async fn click(&self, access: &str, id: &str, body: &Value) -> (StatusCode, Value) {
        parts(
            self.call(
                Method::POST,
                &format!("/v1/posts/{id}/publish"),
                access,
                Some(body),
            )
            .await,
        )
        .await
    }

    /// The Publish click on `post` as shown, for `account`.
    pub async fn click_publish(
        &self,
        access: &str,
        post: &Value,
        account: &str,
    ) -> (StatusCode, Value) {
        let body = json!({
            "content_hash": post["content_hash"],
            "instagram_account_id": account,
        });
        self.click(access, post["id"].as_str().unwrap(), &body)
            .await
    }

    pub async fn withdraw(&self, access: &str, id: &str) -> (StatusCode, Value) {
        parts(
            self.call(
                Method::POST,
                &format!("/v1/posts/{id}/withdraw"),
                access,
                None,
            )
            .await,
        )
        .await
    }

    pub async fn delete_post(&self, access: &str, id: &str) -> (StatusCode, Value) {
        parts(
            self.call(Method::DELETE, &format!("/v1/posts/{id}"), access, None)
                .await,
        )
        .await
    }

    pub async fn consent(&self, access: &str, id: &str) -> (StatusCode, Value) {
        parts(
            self.call(
                Method::GET,
                &format!("/v1/posts/{id}/consent"),
                access,
                None,
            )
            .await,
        )
        .await
    }

    pub async fn list_posts(&self, access: &str, query: &str) -> (StatusCode, Value) {
        parts(
            self.call(Method::GET, &format!("/v1/posts{query}"), access, None)
                .await,
        )
        .await
    }

    pub async fn count(&self, table_and_filter: &str) -> i64 {
        self.db
            .count(format!("SELECT COUNT(*) FROM {table_and_filter}"))
            .await
    }
}

fn id(post: &Value) -> &str {
    post["id"].as_str().unwrap()
}

// --- generation ---------------------------------------------------------------------------

#[tokio::test]
async fn a_generated_post_is_ready_with_its_preview_hash_image_and_sandbox_flag() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;

    assert_eq!(post["status"], "ready");
    assert_eq!(post["sandbox"], true);
    assert!(!post["caption"].as_str().unwrap().is_empty());
    assert!(!post["hashtags"].as_array().unwrap().is_empty());
    assert!(post["alt_text"].is_string());
    assert_eq!(post["content_hash"].as_str().unwrap().len(), 64);
    assert!(
        post["image_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{PUBLIC_URL}/media/"))
    );
    assert_eq!(post["image"]["width"], 1080);
    assert_eq!(post["consent"], Value::Null);
    // The only active account is the default target.
    assert_eq!(post["instagram_account_id"], flow.account_id.as_str());
    assert_eq!(post["ig_user_id"], flow.ig_user_id.as_str());
    assert_eq!(app.count("publish_jobs").await, 0);

    let (status, preview) = app.get_post(&flow.user.access, id(&post)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(preview["content_hash"], post["content_hash"]);
}

#[tokio::test]
async fn generating_needs_a_profile() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let (status, body) = app
        .generate(&user.access, "Fresh simit every morning")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&body), "profile_required");
}

#[tokio::test]
async fn restricted_generation_and_publishing_are_403() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;

    app.put_restrictions(&flow.user.access, true, false).await;
    let (status, body) = app
        .generate(&flow.user.access, "Fresh simit every morning")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "processing_restricted");

    app.put_restrictions(&flow.user.access, false, true).await;
    let (status, body) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "processing_restricted");
    assert_eq!(app.count("publish_jobs").await, 0);
    assert_eq!(app.count("consent_receipts").await, 0);
}

#[tokio::test]
async fn generation_past_the_plan_quota_is_402() {
    let (app, _ledger) = spawn_with_ledger(|_| {}, None).await;
    let flow = app.flow_user("ada@example.com").await;
    // The free plan: 5 images a month.
    for _ in 0..5 {
        app.generated(&flow.user.access).await;
    }
    let (status, body) = app.generate(&flow.user.access, "One post too many").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert_eq!(code(&body), "quota_exceeded");
    assert_eq!(app.count("posts").await, 5);
}

/// A server whose entitlements count in a ledger the test can read: the development plans
/// (free: 10 posts and 5 images a month), everyone on the free plan.
async fn spawn_with_ledger(
    adjust: impl FnOnce(&mut kraftsoci_server::config::Config),
    openai: Option<Arc<OpenAiGenerator>>,
) -> (TestApp, Arc<InMemoryQuotaLedger>) {
    let slot: Arc<std::sync::Mutex<Option<Arc<InMemoryQuotaLedger>>>> = Arc::default();
    let filled = slot.clone();
    let app = spawn_app_built(adjust, move |builder| {
        let clock: Arc<dyn Clock> = Arc::new(kraftsoci_core::SystemClock);
        let ledger = Arc::new(InMemoryQuotaLedger::with_clock(clock.clone()));
        *filled.lock().unwrap() = Some(ledger.clone());
        let builder = builder.entitlements(Arc::new(BillingEntitlements::new(
            Arc::new(InMemoryBillingStore::new()),
            Arc::new(PlanTable::development()),
            ledger,
            clock,
        )));
        match openai {
            Some(openai) => builder.generator(openai.clone()).images(openai),
            None => builder,
        }
    })
    .await;
    let ledger = slot.lock().unwrap().clone().unwrap();
    (app, ledger)
}

/// A fake OpenAI and the quota ledger of a server (sandbox off) whose generators use it (fast
/// retries, no moderation).
struct OpenAiSetup {
    server: MockServer,
    ledger: Arc<InMemoryQuotaLedger>,
}

async fn spawn_with_openai() -> (TestApp, OpenAiSetup) {
    let server = MockServer::start().await;
    let config = OpenAiConfig::new(SecretString::from("sk-test-server-0000"))
        .with_base_url(format!("{}/v1", server.uri()))
        .with_moderation(Moderation::disabled())
        .with_retry(
            RetryPolicy::default()
                .with_initial_backoff(std::time::Duration::from_millis(1))
                .with_max_backoff(std::time::Duration::from_millis(2)),
        );
    let openai = Arc::new(OpenAiGenerator::new(config).unwrap());
    let (app, ledger) = spawn_with_ledger(|config| config.sandbox = false, Some(openai)).await;
    (app, OpenAiSetup { server, ledger })
}

fn chat_post() -> ResponseTemplate {
    let post = json!({
        "caption": "Our sourdough is out of the oven at 7 every morning.",
        "hashtags": ["sourdough", "bakery", "istanbul"],
        "alt_text": "A round sourdough loaf on a wooden board",
        "image_prompt": "A crusty sourdough loaf on a rustic table in morning light",
    });
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_762_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": post.to_string(), "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 120, "completion_tokens": 80, "total_tokens": 200},
    }))
}

async fn card_jpeg() -> Vec<u8> {
    use kraftsoci_core::ports::{GenerationRequest, ImageGenerator};
    let request = GenerationRequest {
        profile: kraftsoci_core::BusinessProfile {
            description: kraftsoci_core::BusinessDescription::parse("A bakery").unwrap(),
            target_audience: kraftsoci_core::TargetAudience::parse("Neighbours").unwrap(),
            tone: kraftsoci_core::Tone::parse("warm").unwrap(),
            sector: kraftsoci_core::Sector::parse("bakery").unwrap(),
            language: kraftsoci_core::Language::parse("en").unwrap(),
        },
        topic: kraftsoci_core::Topic::parse("Fresh bread").unwrap(),
    };
    kraftsoci_ai::OfflineGenerator::new()
        .generate_image(&request, "bread")
        .await
        .unwrap()
        .jpeg
}

fn image_answer(jpeg: &[u8]) -> ResponseTemplate {
    use base64::Engine as _;
    ResponseTemplate::new(200).set_body_json(json!({
        "created": 1_762_000_000,
        "data": [{"b64_json": base64::engine::general_purpose::STANDARD.encode(jpeg)}],
        "output_format": "jpeg",
        "size": "1024x1024",
    }))
}

async fn used(
    app: &TestApp,
    ledger: &InMemoryQuotaLedger,
    user: &TestUser,
    kind: QuotaKind,
) -> u32 {
    let _ = app;
    let start = BillingPeriod::calendar_month(Utc::now()).start();
    ledger
        .used(user.id.parse::<UserId>().unwrap(), kind, start)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_openai_failure_past_its_retries_fails_the_generation_and_gives_the_reserved_quota_back()
{
    let (app, openai) = spawn_with_openai().await;
    let user = app.profiled_user("ada@example.com").await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .mount(&openai.server)
        .await;

    let (status, body) = app.generate(&user.access, "Our new sourdough").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "generation_failed", "{body}");
    assert_eq!(body["generation_step"], "failed");
    assert_eq!(body["failure"]["code"], "generator_unavailable");
    assert_eq!(body["failure"]["retryable"], true);
    assert!(
        !body.to_string().contains("exploded"),
        "no upstream body in the failure"
    );
    assert_eq!(used(&app, &openai.ledger, &user, QuotaKind::Posts).await, 0);
    assert_eq!(
        used(&app, &openai.ledger, &user, QuotaKind::Images).await,
        0
    );
    assert_eq!(app.count("generation_jobs").await, 0, "the job is settled");
}

#[tokio::test]
async fn a_successful_generation_keeps_its_quota_and_a_refusal_fails_it_and_gives_it_back() {
    let (app, openai) = spawn_with_openai().await;
    let user = app.profiled_user("ada@example.com").await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(chat_post())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&openai.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(image_answer(&card_jpeg().await))
        .mount(&openai.server)
        .await;
    let post = app.generated(&user.access).await;
    assert_eq!(post["sandbox"], false);
    assert_eq!(post["hashtags"], json!(["sourdough", "bakery", "istanbul"]));
    assert_eq!(used(&app, &openai.ledger, &user, QuotaKind::Posts).await, 1);
    assert_eq!(
        used(&app, &openai.ledger, &user, QuotaKind::Images).await,
        1
    );

    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1_762_000_000,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
                "refusal": "I can't help with that."}, "logprobs": null, "finish_reason": "stop"}],
        })))
        .with_priority(2)
        .mount(&openai.server)
        .await;
    let (status, body) = app
        .generate(&user.access, "Something the model refuses")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "generation_failed", "{body}");
    assert_eq!(body["failure"]["code"], "content_refused");
    assert_eq!(body["failure"]["retryable"], false);
    assert_eq!(used(&app, &openai.ledger, &user, QuotaKind::Posts).await, 1);
}

#[tokio::test]
async fn openai_requests_carry_only_the_profile_and_topic_never_name_email_or_business_name() {
    let (app, openai) = spawn_with_openai().await;
    let user = app.profiled_user("ada.lovelace@example.com").await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(chat_post())
        .mount(&openai.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(image_answer(&card_jpeg().await))
        .mount(&openai.server)
        .await;
    app.generated(&user.access).await;

    let requests = openai.server.received_requests().await.unwrap();
    assert!(requests.len() >= 2, "chat and image were called");
    let bodies: String = requests
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(bodies.contains("sourdough"), "the topic is sent");
    assert!(bodies.contains("family bakery"), "the profile is sent");
    for personal in [
        "Ada Lovelace",
        "Ada's Bakery",
        "ada.lovelace@example.com",
        &user.id,
        "127.0.0.1",
    ] {
        assert!(!bodies.contains(personal), "{personal} was sent to OpenAI");
    }
}

// --- the Publish click ---------------------------------------------------------------------

#[tokio::test]
async fn the_click_records_the_consent_receipt_and_queues_one_job() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;

    let (status, approved) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["consent"]["content_hash"], post["content_hash"]);
    assert_eq!(approved["job"]["state"], "queued");
    assert_eq!(app.count("publish_jobs").await, 1);

    let (status, receipt) = app.consent(&flow.user.access, id(&post)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(receipt["user_id"], flow.user.id.as_str());
    assert_eq!(receipt["content_hash"], post["content_hash"]);
    assert_eq!(receipt["ig_user_id"], flow.ig_user_id.as_str());
    assert_eq!(receipt["ip"], "127.0.0.1");
    assert_eq!(receipt["user_agent"], "kraftsoci-tests/1.0");
    assert_eq!(receipt["scheduled_for"], Value::Null);

    // The same click again: same post, one job, one receipt.
    let (status, again) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["consent"], approved["consent"]);
    assert_eq!(app.count("publish_jobs").await, 1);
    assert_eq!(app.count("consent_receipts").await, 1);
}

#[tokio::test]
async fn two_concurrent_clicks_queue_exactly_one_job() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;

    let (a, b) = tokio::join!(
        app.click_publish(&flow.user.access, &post, &flow.account_id),
        app.click_publish(&flow.user.access, &post, &flow.account_id),
    );
    assert_eq!(a.0, StatusCode::ACCEPTED, "{}", a.1);
    assert_eq!(b.0, StatusCode::ACCEPTED, "{}", b.1);
    assert_eq!(app.count("publish_jobs").await, 1);
    assert_eq!(app.count("consent_receipts").await, 1);
    let (_, now) = app.get_post(&flow.user.access, id(&post)).await;
    assert_eq!(now["status"], "approved");
}

#[tokio::test]
async fn an_edit_after_approval_voids_it_and_the_old_hash_is_refused() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let (status, _) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let (status, edited) = app
        .patch_post(
            &flow.user.access,
            id(&post),
            &json!({"caption": "Now with olives!"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["status"], "ready");
    assert_eq!(edited["consent"], Value::Null);
    assert_ne!(edited["content_hash"], post["content_hash"]);
    assert_eq!(
        app.count("publish_jobs").await,
        0,
        "the job went with the approval"
    );

    let (status, body) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "content_changed");
    assert_eq!(app.count("publish_jobs").await, 0);

    let (status, _) = app
        .click_publish(&flow.user.access, &edited, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "the new hash is accepted");
}

#[tokio::test]
async fn edits_are_checked_and_refused_once_publishing_started() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;

    let (status, body) = app
        .patch_post(
            &flow.user.access,
            id(&post),
            &json!({"hashtags": ["ok", "not ok!"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["hashtags"].is_array(), "{body}");

    let (status, edited) = app
        .patch_post(
            &flow.user.access,
            id(&post),
            &json!({"alt_text": null, "hashtags": ["#simit"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["alt_text"], Value::Null);
    assert_eq!(edited["hashtags"], json!(["simit"]));

    let (status, _) = app
        .click_publish(&flow.user.access, &edited, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.db
        .exec(format!(
            "UPDATE posts SET status = 'publishing' WHERE id = '{}'",
            id(&post)
        ))
        .await;
    let (status, body) = app
        .patch_post(
            &flow.user.access,
            id(&post),
            &json!({"caption": "Too late"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "publishing_started");
}

#[tokio::test]
async fn malformed_clicks_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let past = (Utc::now() - Duration::hours(1)).to_rfc3339();
    for body in [
        json!({"content_hash": "abc", "instagram_account_id": flow.account_id}),
        json!({"content_hash": post["content_hash"], "instagram_account_id": "not-an-id"}),
        json!({"content_hash": post["content_hash"], "instagram_account_id": uuid::Uuid::new_v4().to_string()}),
        json!({"content_hash": post["content_hash"], "instagram_account_id": flow.account_id, "scheduled_for": past}),
    ] {
        let (status, answer) = app.click(&flow.user.access, id(&post), &body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {answer}"
        );
    }
    let (status, body) = app
        .click(
            &flow.user.access,
            id(&post),
            &json!({"content_hash": "0".repeat(64), "instagram_account_id": flow.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "content_changed");
    assert_eq!(app.count("consent_receipts").await, 0);
    assert_eq!(app.count("publish_jobs").await, 0);
}

#[tokio::test]
async fn a_scheduled_approval_waits_and_can_be_withdrawn_until_its_time() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let at = (app.clock.now() + Duration::days(2)).to_rfc3339();

    let (status, approved) = app
        .click(
            &flow.user.access,
            id(&post),
            &json!({"content_hash": post["content_hash"], "instagram_account_id": flow.account_id, "scheduled_for": at}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{approved}");
    assert!(approved["scheduled_for"].is_string());
    let run_after = app
        .db
        .strings("SELECT run_after FROM publish_jobs".to_owned())
        .await;
    assert_eq!(run_after.len(), 1);

    let (status, withdrawn) = app.withdraw(&flow.user.access, id(&post)).await;
    assert_eq!(status, StatusCode::OK, "{withdrawn}");
    assert_eq!(withdrawn["status"], "ready");
    assert_eq!(withdrawn["consent"], Value::Null);
    assert_eq!(app.count("publish_jobs").await, 0);
    assert_eq!(
        app.count("consent_receipts").await,
        1,
        "the receipt stays in history"
    );

    let (status, body) = app.withdraw(&flow.user.access, id(&post)).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nothing left to withdraw: {body}"
    );
}

#[tokio::test]
async fn withdrawing_is_refused_while_the_worker_holds_the_job() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    app.click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    let lease = (app.clock.now() + Duration::minutes(5)).format("%Y-%m-%dT%H:%M:%S%.6fZ");
    app.db
        .exec(format!(
            "UPDATE publish_jobs SET state = 'running', locked_by = 'worker-1', lease_until = '{lease}'"
        ))
        .await;
    let (status, body) = app.withdraw(&flow.user.access, id(&post)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "publishing_in_progress");
    let (_, now) = app.get_post(&flow.user.access, id(&post)).await;
    assert_eq!(now["status"], "approved");
}

#[tokio::test]
async fn preflight_refuses_a_post_without_an_image_and_an_account_that_needs_reconnecting() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let (status, text_only) = app
        .generate_body(
            &flow.user.access,
            &json!({"topic": "A text-only thought", "with_image": false}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text_only}");
    assert_eq!(text_only["status"], "ready", "{text_only}");
    assert_eq!(text_only["image_url"], Value::Null);
    let (status, body) = app
        .click_publish(&flow.user.access, &text_only, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&body), "image_required");

    let post = app.generated(&flow.user.access).await;
    app.db
        .exec("UPDATE instagram_connections SET status = 'needs_reconnect'".to_owned())
        .await;
    let (status, body) = app
        .click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "connection_needs_reconnect");
    assert_eq!(app.count("publish_jobs").await, 0);
}

#[tokio::test]
async fn preflight_refuses_once_the_daily_publishing_limit_is_spoken_for() {
    let app = spawn_app_with(|config| config.daily_publish_limit = 1).await;
    let flow = app.flow_user("ada@example.com").await;
    let first = app.generated(&flow.user.access).await;
    let second = app.generated(&flow.user.access).await;
    let (status, _) = app
        .click_publish(&flow.user.access, &first, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = app
        .click_publish(&flow.user.access, &second, &flow.account_id)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "publishing_limit_reached");

    // Scheduled for two days later, it fits.
    let at = (app.clock.now() + Duration::days(2)).to_rfc3339();
    let (status, body) = app
        .click(
            &flow.user.access,
            id(&second),
            &json!({"content_hash": second["content_hash"], "instagram_account_id": flow.account_id, "scheduled_for": at}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

// --- listing and deleting -----------------------------------------------------------------

#[tokio::test]
async fn the_list_is_newest_first_cursor_paged_and_filtered_by_status() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(id(&app.generated(&flow.user.access).await).to_owned());
        app.clock.advance(Duration::seconds(1));
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    let (status, page) = app.list_posts(&flow.user.access, "?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let got: Vec<&str> = page["posts"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(
        got,
        newest_first[..2]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .list_posts(&flow.user.access, &format!("?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["posts"][0]["id"], newest_first[2].as_str());
    assert_eq!(rest["next_cursor"], Value::Null);

    let (_, oldest) = app.get_post(&flow.user.access, &ids[0]).await;
    app.click_publish(&flow.user.access, &oldest, &flow.account_id)
        .await;
    let (_, approved) = app.list_posts(&flow.user.access, "?status=approved").await;
    assert_eq!(approved["posts"].as_array().unwrap().len(), 1);
    assert_eq!(approved["posts"][0]["id"], ids[0].as_str());

    for bad in [
        "?status=bogus",
        "?limit=0",
        "?limit=101",
        "?cursor=not-a-cursor",
    ] {
        let (status, _) = app.list_posts(&flow.user.access, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn deleting_a_post_removes_its_row_receipts_job_and_image_bytes() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    app.click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    let image_url = app.local(post["image_url"].as_str().unwrap());
    assert_eq!(
        app.client.get(&image_url).send().await.unwrap().status(),
        StatusCode::OK
    );
    let key = app
        .image_key(flow.user.id.parse().unwrap(), id(&post))
        .await;

    let (status, _) = app.delete_post(&flow.user.access, id(&post)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.count("posts").await, 0);
    assert_eq!(app.count("consent_receipts").await, 0);
    assert_eq!(app.count("publish_jobs").await, 0);
    assert_eq!(
        app.client.get(&image_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.state.media.get(&key).await.unwrap(),
        None,
        "the bytes are gone"
    );
    let (status, _) = app.get_post(&flow.user.access, id(&post)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_post_being_published_cannot_be_deleted() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    app.click_publish(&flow.user.access, &post, &flow.account_id)
        .await;
    app.db
        .exec(format!(
            "UPDATE posts SET status = 'publishing' WHERE id = '{}'",
            id(&post)
        ))
        .await;
    let (status, body) = app.delete_post(&flow.user.access, id(&post)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "publishing_in_progress");
    assert_eq!(app.count("posts").await, 1);
    let image = app
        .client
        .get(app.local(post["image_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        image.status(),
        StatusCode::OK,
        "the image stays while Meta may fetch it"
    );
}

// --- isolation ----------------------------------------------------------------------------

#[tokio::test]
async fn another_users_posts_and_accounts_are_404_on_every_route() {
    let app = spawn_app().await;
    let ada = app.flow_user("ada@example.com").await;
    let bob = app.flow_user("bob@example.com").await;
    let post = app.generated(&ada.user.access).await;
    let pid = id(&post);
    let click =
        json!({"content_hash": post["content_hash"], "instagram_account_id": bob.account_id});

    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/posts/{pid}"), None),
        (
            Method::PATCH,
            format!("/v1/posts/{pid}"),
            Some(json!({"caption": "mine now"})),
        ),
        (
            Method::POST,
            format!("/v1/posts/{pid}/publish"),
            Some(click),
        ),
        (Method::POST, format!("/v1/posts/{pid}/withdraw"), None),
        (Method::GET, format!("/v1/posts/{pid}/consent"), None),
        (Method::DELETE, format!("/v1/posts/{pid}"), None),
        (
            Method::DELETE,
            format!("/v1/instagram/accounts/{}", ada.account_id),
            None,
        ),
    ];
    for (method, path, body) in attempts {
        let (status, answer) = parts(
            app.call(method.clone(), &path, &bob.user.access, body.as_ref())
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(code(&answer), "not_found");
    }
    let (_, bobs) = app.list_posts(&bob.user.access, "").await;
    assert_eq!(bobs["posts"], json!([]));
    let (_, accounts) = parts(
        app.call(
            Method::GET,
            "/v1/instagram/accounts",
            &bob.user.access,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(accounts.as_array().unwrap().len(), 1);
    assert_eq!(accounts[0]["id"], bob.account_id.as_str());

    // Bob cannot aim his own post at Ada's account either.
    let his = app.generated(&bob.user.access).await;
    let (status, body) = app
        .click_publish(&bob.user.access, &his, &ada.account_id)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = app
        .patch_post(
            &bob.user.access,
            id(&his),
            &json!({"instagram_account_id": ada.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // And Ada's post is untouched.
    let (status, mine) = app.get_post(&ada.user.access, pid).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["caption"], post["caption"]);
    assert_eq!(app.count("consent_receipts").await, 0);
    assert_eq!(app.count("instagram_connections").await, 2);
}

#[tokio::test]
async fn every_posts_route_requires_a_token() {
    let app = spawn_app().await;
    let pid = uuid::Uuid::new_v4();
    for (method, path) in [
        (Method::POST, "/v1/posts".to_owned()),
        (Method::GET, "/v1/posts".to_owned()),
        (Method::GET, format!("/v1/posts/{pid}")),
        (Method::PATCH, format!("/v1/posts/{pid}")),
        (Method::DELETE, format!("/v1/posts/{pid}")),
        (Method::POST, format!("/v1/posts/{pid}/publish")),
        (Method::POST, format!("/v1/posts/{pid}/withdraw")),
        (Method::GET, format!("/v1/posts/{pid}/consent")),
        (Method::POST, "/v1/instagram/connect".to_owned()),
        (Method::GET, "/v1/instagram/accounts".to_owned()),
        (Method::DELETE, format!("/v1/instagram/accounts/{pid}")),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(&path))
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

#[test]
fn the_post_flow_settings_are_checked_and_name_their_variable() {
    use kraftsoci_server::config::Config;
    let load = |name: &'static str, value: &'static str| {
        Config::from_lookup(|n| (n == name).then(|| value.to_owned()))
    };
    let config = Config::from_lookup(|_| None).unwrap();
    assert_eq!(config.daily_publish_limit, 50);
    assert_eq!(
        config.media_preview_ttl,
        std::time::Duration::from_secs(3600)
    );
    assert_eq!(
        config.media_publish_ttl,
        std::time::Duration::from_secs(86_400)
    );
    assert!(
        config.media_signing_key.is_none(),
        "derived from the JWT secret"
    );
    for (name, value) in [
        ("KRAFTSOCI_MEDIA_SIGNING_KEY", "too short"),
        ("KRAFTSOCI_DAILY_PUBLISH_LIMIT", "0"),
        ("KRAFTSOCI_DAILY_PUBLISH_LIMIT", "many"),
        ("KRAFTSOCI_MEDIA_PREVIEW_TTL", "0"),
        ("KRAFTSOCI_MEDIA_PUBLISH_TTL", "-5"),
    ] {
        let error = load(name, value).unwrap_err();
        assert_eq!(error.variable, name, "{value}");
        assert!(
            !error.to_string().contains(value) || value == "0",
            "{error}"
        );
    }
    let config = load("KRAFTSOCI_DAILY_PUBLISH_LIMIT", "25").unwrap();
    assert_eq!(config.daily_publish_limit, 25);
}
