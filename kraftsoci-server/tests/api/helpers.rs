//! `spawn_app()`: a real server on port 0 with its own SQLite database, outbox and media
//! directory, a manual clock, and one method per endpoint so tests read as scenarios.

use std::sync::Arc;
use std::time::Duration;

use chrono::{SubsecRound as _, Utc};
use kraftsoci_core::ManualClock;
use kraftsoci_server::config::{Config, MailTransport, MediaUrl, RateLimit};
use kraftsoci_server::{AppState, Application, ApplicationBuilder};
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{TempDir, TestDb};

/// The JWT secret test servers use (tests forge tokens with it and with others).
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";
/// A password that meets the policy.
pub const PASSWORD: &str = "correct horse battery staple";
/// The policy version tests accept.
pub const POLICY: &str = "2026-01";

/// A running test server.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`.
    pub address: String,
    /// A client without cookies or redirects.
    pub client: reqwest::Client,
    /// The server's clock.
    pub clock: Arc<ManualClock>,
    /// The server's database.
    pub db: TestDb,
    /// The server's state (for counters and direct store access).
    pub state: AppState,
    outbox: TempDir,
    _media: TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

/// The test configuration: fast bcrypt, generous rate limits, own directories.
pub fn test_config(db: &TestDb, outbox: &TempDir, media: &TempDir) -> Config {
    let mut config = Config::development();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = kraftsoci_server::config::DatabaseUrl::parse(&db.url()).unwrap();
    config.jwt_secret = SecretString::from(JWT_SECRET.to_owned());
    config.bcrypt_cost = 4;
    // The password pool's automatic bound follows the measured time of a hash, which on a busy
    // CI machine includes waiting for a core: suites that are not about shedding get a fixed,
    // generous queue (login_storm, web_busy and the browser suite set their own).
    config.password_queue = Some(512);
    // The publish worker stays off unless a test turns it on (`spawn_app_with`): a test that
    // clicks Publish then sees the post as it left the click, not as a background worker made it.
    config.worker.enabled = false;
    // Nor does the periodic retention sweep run: retention tests sweep when they choose.
    config.sweep.enabled = false;
    config.mail.transport = MailTransport::Outbox(outbox.path().to_path_buf());
    config.media_url = MediaUrl::Directory(media.path().to_path_buf());
    let generous = RateLimit {
        burst: 1000,
        refill: Duration::from_millis(10),
    };
    config.auth_rate_per_ip = generous;
    config.auth_rate_per_account = generous;
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose configuration `adjust` may change first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_built(adjust, |builder| builder).await
}

/// A server whose configuration `adjust` and collaborators `build` (publisher, generators,
/// entitlements…) may change first.
pub async fn spawn_app_built(
    adjust: impl FnOnce(&mut Config),
    build: impl FnOnce(ApplicationBuilder) -> ApplicationBuilder,
) -> TestApp {
    spawn_app_on(TestDb::sqlite().await, adjust, build).await
}

/// A server on `db` (SQLite or PostgreSQL) whose configuration `adjust` and collaborators
/// `build` may change first.
pub async fn spawn_app_on(
    db: TestDb,
    adjust: impl FnOnce(&mut Config),
    build: impl FnOnce(ApplicationBuilder) -> ApplicationBuilder,
) -> TestApp {
    let outbox = TempDir::new("outbox");
    let media = TempDir::new("media");
    let mut config = test_config(&db, &outbox, &media);
    adjust(&mut config);
    let clock = Arc::new(ManualClock::new(Utc::now().trunc_subsecs(6)));
    let app = build(Application::builder(config).clock(clock.clone()))
        .build()
        .await
        .expect("the test server builds");
    let port = app.port();
    let state = app.state().clone();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        db,
        state,
        outbox,
        _media: media,
        _shutdown: shutdown,
    }
}

/// A response's status and JSON body (`Null` when there is none).
pub async fn parts(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

/// The error code of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

pub fn signup_body(email: &str) -> Value {
    json!({
        "name": "Ada Lovelace",
        "email": email,
        "password": PASSWORD,
        "business_name": "Ada's Bakery",
        "sector": "bakery",
        "age_confirmed": true,
        "accepted_policy_version": POLICY,
    })
}

impl TestApp {
    /// Where the image of the owner's post is kept (generation names it per claim).
    pub async fn image_key(
        &self,
        owner: kraftsoci_core::UserId,
        post: &str,
    ) -> kraftsoci_core::ports::MediaKey {
        let id: kraftsoci_core::PostId = post.parse().unwrap();
        self.state
            .stores
            .posts
            .post_media(owner, &[id])
            .await
            .unwrap()
            .pop()
            .and_then(|(_, media)| media.image)
            .expect("the post has an image")
            .key
    }

    /// Runs a generation worker until no job is due, then waits until no post is generating
    /// (a server whose own worker runs may have taken the jobs); the reports of this worker.
    pub async fn run_generation(&self) -> Vec<kraftsoci_server::worker::GenerationReport> {
        let worker = kraftsoci_server::worker::GenerationWorker::from_state(
            &self.state,
            kraftsoci_server::worker::WorkerConfig::default(),
        );
        let mut reports = Vec::new();
        while let Some(report) = worker.run_once().await.unwrap() {
            reports.push(report);
        }
        // Bounded: the test fails rather than hangs.
        for _ in 0..3000 {
            let generating = self
                .db
                .count("SELECT COUNT(*) FROM generation_jobs".to_owned())
                .await;
            if generating == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        reports
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        access: &str,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(access);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    // --- auth ---

    pub async fn signup(&self, body: &Value) -> Response {
        self.post_json("/v1/auth/signup", body).await
    }

    /// Signs up `email` with [`PASSWORD`] and returns the session.
    pub async fn signup_user(&self, email: &str) -> TestUser {
        let (status, body) = parts(self.signup(&signup_body(email)).await).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        TestUser {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login_from(&self, forwarded_for: &str, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/v1/auth/login"))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post_json("/v1/auth/refresh", &json!({"refresh_token": refresh_token}))
            .await
    }

    pub async fn logout(&self, refresh_token: &str) -> Response {
        self.post_json("/v1/auth/logout", &json!({"refresh_token": refresh_token}))
            .await
    }

    pub async fn request_reset(&self, email: &str) -> Response {
        self.post_json("/v1/auth/password-reset", &json!({"email": email}))
            .await
    }

    pub async fn confirm_reset(&self, token: &str, new_password: &str) -> Response {
        self.post_json(
            "/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": new_password}),
        )
        .await
    }

    pub async fn change_password(&self, access: &str, current: &str, new: &str) -> Response {
        self.authed(
            reqwest::Method::POST,
            "/v1/auth/password",
            access,
            Some(&json!({"current_password": current, "new_password": new})),
        )
        .await
    }

    // --- account and profile ---

    pub async fn get_me(&self, access: &str) -> Response {
        self.authed(reqwest::Method::GET, "/v1/me", access, None)
            .await
    }

    pub async fn patch_me(&self, access: &str, body: &Value) -> Response {
        self.authed(reqwest::Method::PATCH, "/v1/me", access, Some(body))
            .await
    }

    pub async fn put_restrictions(
        &self,
        access: &str,
        generation: bool,
        publishing: bool,
    ) -> Response {
        self.authed(
            reqwest::Method::PUT,
            "/v1/me/restrictions",
            access,
            Some(&json!({"generation": generation, "publishing": publishing})),
        )
        .await
    }

    pub async fn put_objections(&self, access: &str, usage_log: bool) -> Response {
        self.authed(
            reqwest::Method::PUT,
            "/v1/me/objections",
            access,
            Some(&json!({"usage_log": usage_log})),
        )
        .await
    }

    pub async fn get_profile(&self, access: &str) -> Response {
        self.authed(reqwest::Method::GET, "/v1/profile", access, None)
            .await
    }

    pub async fn put_profile(&self, access: &str, body: &Value) -> Response {
        self.authed(reqwest::Method::PUT, "/v1/profile", access, Some(body))
            .await
    }

    // --- operations ---

    pub async fn healthz(&self) -> Response {
        self.client.get(self.url("/healthz")).send().await.unwrap()
    }

    pub async fn readyz(&self) -> Response {
        self.client.get(self.url("/readyz")).send().await.unwrap()
    }

    pub async fn openapi(&self) -> Response {
        self.client
            .get(self.url("/openapi.json"))
            .send()
            .await
            .unwrap()
    }

    // --- mail ---

    /// Every mail in the outbox, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.outbox.path())
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Waits (polling every few milliseconds, at most 5 s) until `count` mails arrived.
    pub async fn wait_for_mails(&self, count: usize) -> Vec<String> {
        for _ in 0..1000 {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("expected {count} mails, found {}", self.mails().len());
    }

    /// The reset token in the newest mail to `email`.
    pub async fn reset_token_for(&self, email: &str, expected_mails: usize) -> String {
        let mails = self.wait_for_mails(expected_mails).await;
        let mail = mails
            .iter()
            .rev()
            .find(|m| m.contains(&format!("To: {email}")) && m.contains("#token="))
            .unwrap_or_else(|| panic!("no reset mail to {email}"));
        let start = mail.find("#token=").unwrap() + "#token=".len();
        mail[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}
