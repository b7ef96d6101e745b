//! The fake Meta and the client pointed at it.

use std::time::Duration;

use kraftsoci_core::IgUserId;
use kraftsoci_core::ports::PublishAccount;
use kraftsoci_meta::{
    MetaClient, MetaConfig, PollPolicy, PublishPolicy, UploadPolicy, UsagePolicy, appsecret_proof,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const APP_ID: &str = "1234567890";
pub const APP_SECRET: &str = "test-app-secret";
pub const REDIRECT_URI: &str = "https://kraftsoci.example/connect/instagram/callback";
pub const IG_USER: &str = "17841405822304914";
pub const TOKEN: &str = "EAAtest-page-token";
pub const TRACE: &str = "A6LJylpZRKw2xKLFsAP-cJh";

/// A fake Meta and a client configured against it, with no HTTP timeouts (the tests run on
/// paused tokio time, where a pending timeout would fire while a real socket is read).
pub struct TestGraph {
    pub server: MockServer,
    pub client: MetaClient,
}

pub fn poll_policy() -> PollPolicy {
    PollPolicy::default()
        .with_initial_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(8))
        .with_multiplier(2.0)
        .with_jitter(0.2)
        .with_max_wait(Duration::from_secs(60))
}

pub fn publish_policy() -> PublishPolicy {
    PublishPolicy::default()
        .with_check_quota(true)
        .with_fallback_quota_total(50)
        .with_reconcile_delay(Duration::from_secs(2))
        .with_reconcile_attempts(3)
        .with_not_ready_retries(2)
        .with_create_attempts(3)
}

pub fn config(server: &MockServer) -> MetaConfig {
    let base = Url::parse(&server.uri()).unwrap();
    MetaConfig::new(
        APP_ID,
        SecretString::from(APP_SECRET),
        Url::parse(REDIRECT_URI).unwrap(),
    )
    .with_graph_base_url(base.clone())
    .with_dialog_base_url(base.clone())
    .with_rupload_base_url(base)
    .with_timeouts(None, None, None)
    .with_poll_policy(poll_policy())
    .with_publish_policy(publish_policy())
    .with_usage_policy(UsagePolicy::default())
    .with_upload_policy(upload_policy())
}

/// Resumptions a millisecond apart and no deadline per request (tests that need one set it).
pub fn upload_policy() -> UploadPolicy {
    UploadPolicy::default()
        .with_max_retries(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(4))
        .with_attempt_timeout(None)
}

impl TestGraph {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let client = MetaClient::new(config(&server)).unwrap();
        Self { server, client }
    }

    pub async fn with_config(edit: impl FnOnce(MetaConfig) -> MetaConfig) -> Self {
        let server = MockServer::start().await;
        let client = MetaClient::new(edit(config(&server))).unwrap();
        Self { server, client }
    }

    pub fn account(&self) -> PublishAccount {
        account()
    }

    /// `GET /v25.0/{container}?fields=status_code,status` answers these statuses in order,
    /// each exactly once.
    pub async fn statuses(&self, container: &str, codes: &[&str]) {
        for code in codes {
            Mock::given(method("GET"))
                .and(path(format!("/v25.0/{container}")))
                .and(query_param("fields", "status_code,status"))
                .respond_with(status_body(container, code))
                .up_to_n_times(1)
                .expect(1)
                .mount(&self.server)
                .await;
        }
    }

    pub async fn quota(&self, used: u32, total: u32) {
        Mock::given(method("GET"))
            .and(path(format!("/v25.0/{IG_USER}/content_publishing_limit")))
            .and(query_param("fields", "config,quota_usage"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"quota_usage": used, "config": {"quota_total": total, "quota_duration": 86400}}]
            })))
            .mount(&self.server)
            .await;
    }

    /// `POST media_publish` for `container`, answered with `response`, expected `times` times.
    pub async fn publish(
        &self,
        container: &str,
        response: ResponseTemplate,
        times: impl Into<wiremock::Times>,
    ) {
        Mock::given(method("POST"))
            .and(path(format!("/v25.0/{IG_USER}/media_publish")))
            .and(form("creation_id", container))
            .respond_with(response)
            .expect(times)
            .named("media_publish")
            .mount(&self.server)
            .await;
    }

    /// `POST media` answering these container ids in order, each once.
    pub async fn creates(&self, ids: &[&str]) {
        for id in ids {
            Mock::given(method("POST"))
                .and(path(format!("/v25.0/{IG_USER}/media")))
                .respond_with(id_body(id))
                .up_to_n_times(1)
                .expect(1)
                .mount(&self.server)
                .await;
        }
    }

    pub async fn permalink(&self, media: &str, response: ResponseTemplate) {
        Mock::given(method("GET"))
            .and(path(format!("/v25.0/{media}")))
            .and(query_param("fields", "permalink"))
            .respond_with(response)
            .expect(1)
            .mount(&self.server)
            .await;
    }

    pub async fn requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    /// Asserts that no request URL contains a token, and every request carrying one sends it
    /// in the Authorization header with its own appsecret_proof.
    pub async fn assert_tokens_only_in_headers(&self, token: &str) {
        let expected_proof = proof(token);
        for request in self.requests().await {
            assert!(
                !request.url.as_str().contains(token),
                "token in url {}",
                request.url.path()
            );
            assert!(
                !request
                    .body
                    .windows(token.len())
                    .any(|w| w == token.as_bytes()),
                "token in body of {}",
                request.url.path()
            );
            let auth = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert_eq!(auth, format!("Bearer {token}"), "{}", request.url.path());
            let proof = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "appsecret_proof")
                .map(|(_, v)| v.into_owned());
            assert_eq!(
                proof.as_deref(),
                Some(expected_proof.as_str()),
                "{}",
                request.url.path()
            );
            assert!(request.url.query_pairs().all(|(k, _)| k != "access_token"));
        }
    }
}

pub fn account() -> PublishAccount {
    PublishAccount {
        ig_user_id: IgUserId::parse(IG_USER).unwrap(),
        access_token: SecretString::from(TOKEN),
    }
}

pub fn proof(token: &str) -> String {
    appsecret_proof(&SecretString::from(APP_SECRET), &SecretString::from(token))
}

pub fn status_body(container: &str, code: &str) -> ResponseTemplate {
    let status = match code {
        "ERROR" => "Error: Media upload has failed with error code 2207026",
        "FINISHED" => "Finished: Media has been uploaded and it is complete.",
        _ => "In Progress: Media is still being processed.",
    };
    ResponseTemplate::new(200)
        .set_body_json(json!({"status_code": code, "status": status, "id": container}))
}

pub fn id_body(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "id": id }))
}

/// Meta's error envelope with HTTP 400.
pub fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> ResponseTemplate {
    graph_error_with_status(400, code, subcode, message)
}

pub fn graph_error_with_status(
    status: u16,
    code: i64,
    subcode: Option<i64>,
    message: &str,
) -> ResponseTemplate {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "is_transient": false,
        "fbtrace_id": TRACE,
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = Value::from(subcode);
    }
    ResponseTemplate::new(status).set_body_json(json!({ "error": error }))
}

/// The decoded form body of a request.
pub fn form_of(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Matches a form-encoded body field exactly (after decoding).
pub fn form(key: &str, value: &str) -> impl wiremock::Match + 'static {
    let (key, value) = (key.to_owned(), value.to_owned());
    move |request: &Request| {
        form_of(request)
            .iter()
            .any(|(k, v)| *k == key && *v == value)
    }
}

/// Matches a form body without this field.
pub fn no_form(key: &str) -> impl wiremock::Match + 'static {
    let key = key.to_owned();
    move |request: &Request| form_of(request).iter().all(|(k, _)| *k != key)
}

/// A file in the system's temporary directory, removed when dropped.
pub struct TempFile {
    pub path: std::path::PathBuf,
}

impl TempFile {
    pub fn with_bytes(bytes: &[u8]) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "kraftsoci-meta-test-{}-{n}-{}.mp4",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::write(&path, bytes).unwrap();
        Self { path }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
