//! The whole kraftsoci flow in sandbox mode, in one process, printing each step.
//!
//! It starts the reference server on a fresh SQLite database in a temporary folder (sandbox
//! mode: offline caption and image generators, a sandbox Instagram account, the local
//! publisher), then acts as the business owner over HTTP: sign up, describe the business, connect
//! Instagram, ask for a post, look at it, click Publish, and watch the worker publish it.
//!
//! ```text
//! cargo run -p kraftsoci-examples --example quickstart
//! ```
//! Nothing leaves the machine: no Meta, OpenAI or Stripe account is needed.

use std::time::Duration;

use kraftsoci_server::Application;
use kraftsoci_server::config::Config;
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Owner {
    http: reqwest::Client,
    api: String,
    token: Option<String>,
}

impl Owner {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.api));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        };
        if !status.is_success() {
            return Err(format!("{method} {path} answered {status}: {value}").into());
        }
        Ok(value)
    }
}

fn show(step: &str, value: &Value, fields: &[&str]) {
    println!("\n== {step}");
    for field in fields {
        let shown = match &value[field] {
            Value::String(s) => s.clone(),
            Value::Null => "—".to_owned(),
            other => other.to_string(),
        };
        println!("   {field:<16} {shown}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // A free port, so the public URL (used in media links) is the one we listen on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = std::env::temp_dir().join(format!("kraftsoci-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let vars = [
        ("KRAFTSOCI_LISTEN", format!("127.0.0.1:{port}")),
        ("KRAFTSOCI_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        (
            "KRAFTSOCI_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("quickstart.db").display()),
        ),
        (
            "KRAFTSOCI_MEDIA_URL",
            format!("file://{}", dir.join("media").display()),
        ),
        (
            "KRAFTSOCI_OUTBOX_DIR",
            dir.join("outbox").display().to_string(),
        ),
        ("KRAFTSOCI_SANDBOX", "1".to_owned()),
    ];
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    })?;
    let app = Application::build(config).await?;
    println!(
        "kraftsoci sandbox server on http://127.0.0.1:{} (data in {})",
        app.port(),
        dir.display()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let mut owner = Owner {
        http: reqwest::Client::builder()
            .user_agent("kraftsoci-quickstart/1.0")
            .build()?,
        api: format!("http://127.0.0.1:{port}"),
        token: None,
    };
    use reqwest::Method;

    let session = owner
        .call(
            Method::POST,
            "/v1/auth/signup",
            Some(json!({
                "name": "Ayşe Yılmaz",
                "email": "ayse@example.com",
                "password": "correct horse battery staple",
                "business_name": "Ayşe Fırın",
                "sector": "bakery",
                "age_confirmed": true,
                "accepted_policy_version": "2026-01"
            })),
        )
        .await?;
    owner.token = session["access_token"].as_str().map(str::to_owned);
    show(
        "1. signed up",
        &session["user"],
        &["id", "email", "business_name"],
    );

    let profile = owner
        .call(
            Method::PUT,
            "/v1/profile",
            Some(json!({
                "description": "A family bakery baking simit and pastries since 1987",
                "target_audience": "neighbours and morning commuters",
                "tone": "warm and cheerful",
                "sector": "bakery",
                "language": "en"
            })),
        )
        .await?;
    show(
        "2. business profile (all the AI ever sees)",
        &profile,
        &["description", "tone", "language"],
    );

    let connect = owner
        .call(Method::POST, "/v1/instagram/connect", None)
        .await?;
    let authorize = connect["authorize_url"]
        .as_str()
        .ok_or("no authorize_url")?;
    let callback: Value = owner.http.get(authorize).send().await?.json().await?;
    let account = &callback["accounts"][0];
    show(
        "3. Instagram connected (sandbox account)",
        account,
        &["id", "ig_user_id", "page_name", "status"],
    );
    let account_id = account["id"].as_str().ok_or("no account id")?.to_owned();

    // 202: the post is `generating`; the worker inside the server writes it (a client can
    // follow `GET /v1/posts/{id}/events` instead of polling).
    let accepted = owner
        .call(
            Method::POST,
            "/v1/posts",
            Some(json!({"topic": "our new pistachio croissant"})),
        )
        .await?;
    let id = accepted["id"].as_str().ok_or("no post id")?.to_owned();
    let mut post = accepted;
    for _ in 0..120 {
        if post["status"] != "generating" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        post = owner
            .call(Method::GET, &format!("/v1/posts/{id}"), None)
            .await?;
    }
    show(
        "4. generated, waiting for you",
        &post,
        &[
            "id",
            "status",
            "caption",
            "hashtags",
            "alt_text",
            "content_hash",
            "sandbox",
        ],
    );
    let hash = post["content_hash"].as_str().ok_or("no hash")?.to_owned();

    let image = owner
        .http
        .get(post["image_url"].as_str().ok_or("no image")?)
        .send()
        .await?;
    let status = image.status();
    let kind = image
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("?")
        .to_owned();
    let bytes = image.bytes().await?.len();
    println!("\n== 5. the preview image (no credentials needed): {status} {kind}, {bytes} bytes");

    let stale = owner
        .call(
            Method::PATCH,
            &format!("/v1/posts/{id}"),
            Some(json!({"caption": "Pistachio croissants, warm from the oven!"})),
        )
        .await?;
    let refused = owner
        .call(
            Method::POST,
            &format!("/v1/posts/{id}/publish"),
            Some(json!({"content_hash": hash, "instagram_account_id": account_id})),
        )
        .await;
    println!(
        "\n== 6. edited after seeing it: the old hash is refused\n   {}",
        refused.err().map(|e| e.to_string()).unwrap_or_default()
    );

    let fresh = stale["content_hash"].as_str().ok_or("no hash")?;
    let queued = owner
        .call(
            Method::POST,
            &format!("/v1/posts/{id}/publish"),
            Some(json!({"content_hash": fresh, "instagram_account_id": account_id})),
        )
        .await?;
    show(
        "7. Publish clicked: consent recorded, post queued",
        &queued,
        &["status"],
    );
    let receipt = owner
        .call(Method::GET, &format!("/v1/posts/{id}/consent"), None)
        .await?;
    show(
        "   the consent receipt",
        &receipt,
        &[
            "content_hash",
            "ig_user_id",
            "approved_at",
            "ip",
            "user_agent",
        ],
    );

    let mut latest = Value::Null;
    for _ in 0..40 {
        latest = owner
            .call(Method::GET, &format!("/v1/posts/{id}"), None)
            .await?;
        if matches!(latest["status"].as_str(), Some("published" | "failed")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    show(
        "8. the worker published it",
        &latest,
        &[
            "status",
            "published_at",
            "instagram_media_id",
            "permalink",
            "sandbox",
        ],
    );

    let _ = stop.send(());
    server.await??;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
