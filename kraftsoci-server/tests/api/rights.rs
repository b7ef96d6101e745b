//! Access and portability (P26, P30), requests with due dates (P33), erasure by closing the
//! account and the `/data-deletion` page (P19, P28, P34, P36).

use kraftsoci_core::Clock as _;
use std::collections::HashSet;

use chrono::Duration;
use kraftsoci_core::retention::{SweepMode, SweepReport};
use kraftsoci_core::{MediaDigest, UserId};
use kraftsoci_server::auth::TokenHash;
use kraftsoci_server::store::user_tables::{NON_USER_TABLES, USER_TABLES};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::helpers::{JWT_SECRET, PASSWORD, TestApp, TestUser, code, parts, spawn_app};
use crate::user_data::{self, Seeded};
use crate::web::FormSession;

impl TestApp {
    fn with_token(
        &self,
        method: reqwest::Method,
        path: &str,
        access: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(access)
    }

    pub async fn close_me(&self, access: &str, password: &str) -> Response {
        self.with_token(reqwest::Method::DELETE, "/v1/me", access)
            .json(&json!({ "password": password }))
            .send()
            .await
            .unwrap()
    }

    pub async fn export_me(&self, access: &str) -> Response {
        self.with_token(reqwest::Method::GET, "/v1/me/export", access)
            .send()
            .await
            .unwrap()
    }

    /// The export, parsed, and its raw text.
    pub async fn export_json(&self, access: &str) -> (Value, String) {
        let response = self.export_me(access).await;
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (json, text)
    }

    pub async fn my_requests(&self, access: &str) -> Value {
        let response = self
            .with_token(reqwest::Method::GET, "/v1/me/requests", access)
            .send()
            .await
            .unwrap();
        let (status, body) = parts(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn deletion_page(&self) -> Response {
        self.client
            .get(self.url("/data-deletion"))
            .send()
            .await
            .unwrap()
    }

    /// Posts the deletion form as the browser of `session` (its cookie and CSRF token).
    pub async fn deletion_form(
        &self,
        session: &FormSession,
        email: &str,
        password: &str,
    ) -> Response {
        self.post_form(
            "/data-deletion",
            Some(session),
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub async fn deletion_json(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/data-deletion",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Runs the server's own retention sweeper once, at the server's clock.
    pub async fn sweep(&self, mode: SweepMode) -> SweepReport {
        let report = kraftsoci_server::retention::sweeper_for(&self.state)
            .unwrap()
            .run(mode)
            .await;
        assert!(report.failures().next().is_none(), "{report:?}");
        report
    }

    /// Gives `user` a row in every table that holds user data, and an image.
    pub async fn seed(&self, user: &TestUser) -> Seeded {
        user_data::seed(
            &self.db,
            &self.state.stores,
            &self.state.vault,
            &*self.state.media,
            user_id(user),
            self.clock.now(),
        )
        .await
    }
}

pub fn user_id(user: &TestUser) -> UserId {
    user.id.parse().unwrap()
}

/// Every value that must never leave the server, for `user` and what was seeded for them.
async fn secrets(app: &TestApp, user: &TestUser, seeded: &Seeded) -> Vec<String> {
    let password_hash = app
        .db
        .strings(format!(
            "SELECT password_hash FROM users WHERE id = '{}'",
            user.id
        ))
        .await
        .remove(0);
    vec![
        PASSWORD.to_owned(),
        JWT_SECRET.to_owned(),
        user.access.clone(),
        user.refresh.clone(),
        TokenHash::of(&user.refresh).as_str().to_owned(),
        password_hash,
        user_data::INSTAGRAM_TOKEN.to_owned(),
        seeded.refresh_token.clone(),
        TokenHash::of(&seeded.refresh_token).as_str().to_owned(),
        seeded.reset_token.clone(),
        TokenHash::of(&seeded.reset_token).as_str().to_owned(),
        seeded.oauth_state.clone(),
        TokenHash::of(&seeded.oauth_state).as_str().to_owned(),
        seeded.idempotency_key.clone(),
        seeded.api_key.clone(),
        TokenHash::of(&seeded.api_key).as_str().to_owned(),
        user_data::CHECKOUT_URL.to_owned(),
    ]
}

#[tokio::test]
async fn the_export_holds_the_users_data_and_no_secret() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let seeded = app.seed(&ada).await;

    let response = app.export_me(&ada.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let disposition = response.headers()[CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"kraftsoci-export-"),
        "{disposition}"
    );
    let text = response.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();

    assert_eq!(export["format"], "kraftsoci.export.v1");
    assert_eq!(export["user_id"], ada.id);
    let tables = &export["tables"];
    let account = &tables["users"][0];
    assert_eq!(account["email"], "ada@example.com");
    assert_eq!(account["business_name"], "Ada's Bakery");
    assert_eq!(account["theme"], "system");
    assert_eq!(account["restrict_generation"], false);
    assert!(account.get("password_hash").is_none());
    assert_eq!(tables["profiles"][0]["tone"], "warm");
    let connection = &tables["instagram_connections"][0];
    assert_eq!(connection["ig_user_id"], seeded.ig_user_id.as_str());
    assert!(connection.get("sealed_token").is_none());
    assert_eq!(
        tables["consent_receipts"][0]["post_id"],
        seeded.post.to_string()
    );
    assert_eq!(tables["consent_receipts"][0]["ip"], "203.0.113.9");
    assert_eq!(
        tables["billing_customers"][0]["stripe_customer_id"],
        seeded.stripe_customer
    );
    assert_eq!(tables["payment_records"][0]["amount"], 1900);
    assert!(
        tables["billing_intents"][0]
            .get("idempotency_key")
            .is_none()
    );
    assert!(!tables["usage_log"].as_array().unwrap().is_empty());
    assert!(!tables["policy_acceptances"].as_array().unwrap().is_empty());
    assert!(!tables["notices"].as_array().unwrap().is_empty());
    assert!(
        tables["data_subject_requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "portability"),
        "the export itself is a recorded request"
    );
    for table in USER_TABLES {
        assert!(
            tables[table.name].is_array(),
            "section {} is missing",
            table.name
        );
    }

    // The image: a signed link and the SHA-256 of exactly the bytes it serves.
    // The seeded user has two posts (one still being generated): this is the published one.
    let post = tables["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|post| post["id"] == seeded.post.to_string())
        .expect("the seeded post is exported");
    assert_eq!(post["caption"], "Fresh simit from the oven");
    let expected_sha = MediaDigest::of(user_data::IMAGE).to_hex();
    assert_eq!(post["image_sha256"], expected_sha);
    let link = post["image_url"].as_str().unwrap();
    let token = link.rsplit_once("/media/").unwrap().1;
    let image = app
        .client
        .get(app.url(&format!("/media/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    let bytes = image.bytes().await.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), expected_sha);

    for secret in secrets(&app, &ada, &seeded).await {
        assert!(
            !text.contains(&secret),
            "the export holds a secret: {secret}"
        );
    }
}

#[tokio::test]
async fn every_table_of_the_database_that_holds_user_data_is_in_the_export() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let (export, _) = app.export_json(&ada.access).await;
    let sections: HashSet<&str> = export["tables"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let tables = user_data::tables(&app.db).await;
    assert!(tables.len() > 15, "{tables:?}");
    for table in &tables {
        if NON_USER_TABLES.contains(&table.as_str()) {
            continue;
        }
        assert!(
            sections.contains(table.as_str()),
            "table {table} may hold user data but is not exported: add it to \
             store/user_tables.rs (or, if it holds none, to NON_USER_TABLES)"
        );
    }
}

#[tokio::test]
async fn an_export_of_many_posts_streams_every_one_of_them() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let user = user_id(&ada);
    let count = usize::try_from(kraftsoci_server::export::PAGE_ROWS).unwrap() * 2 + 50;
    for i in 0..count {
        let content = kraftsoci_core::PostContent {
            caption: kraftsoci_core::Caption::parse(&format!("Post number {i}")).unwrap(),
            hashtags: Vec::new(),
            alt_text: None,
            media_kind: kraftsoci_core::MediaKind::Image,
            media: vec![MediaDigest::of(format!("image {i}").as_bytes())],
            target: None,
        };
        let post = kraftsoci_core::Post::generated(user, content, app.clock.now()).unwrap();
        app.state
            .stores
            .posts
            .insert_post(
                post.snapshot(),
                &kraftsoci_core::ports::PostMedia::default(),
            )
            .await
            .unwrap();
    }
    let response = app.export_me(&ada.access).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.content_length(),
        None,
        "the document is streamed, not buffered to learn its length"
    );
    let export: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let posts = export["tables"]["posts"].as_array().unwrap();
    assert_eq!(posts.len(), count);
    let captions: HashSet<&str> = posts
        .iter()
        .map(|p| p["caption"].as_str().unwrap())
        .collect();
    assert_eq!(captions.len(), count, "no post twice, none missing");
}

#[tokio::test]
async fn an_export_is_recorded_as_a_request_completed_once_sent_and_due_in_thirty_days() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let first_at = app.clock.now();
    app.export_json(&ada.access).await;
    app.clock.advance(Duration::minutes(1));
    let response = app
        .with_token(
            reqwest::Method::GET,
            "/v1/me/export?right=access",
            &ada.access,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap();

    // Completion is recorded right after the last byte left; give it a moment.
    let mut requests = Value::Null;
    for _ in 0..200 {
        requests = app.my_requests(&ada.access).await;
        let all = requests["requests"].as_array().unwrap();
        if all.len() == 2 && all.iter().all(|r| r["status"] == "completed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let all = requests["requests"].as_array().unwrap();
    let kinds: Vec<&str> = all.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["access", "portability"], "newest first");
    for (request, received_at) in all.iter().zip([first_at + Duration::minutes(1), first_at]) {
        assert_eq!(request["status"], "completed", "{request}");
        let received: chrono::DateTime<chrono::Utc> =
            request["received_at"].as_str().unwrap().parse().unwrap();
        let due: chrono::DateTime<chrono::Utc> =
            request["due_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(received, received_at);
        assert_eq!(due, received + Duration::days(30));
        assert!(request["completed_at"].is_string());
    }
    let bad = app
        .with_token(
            reqwest::Method::GET,
            "/v1/me/export?right=everything",
            &ada.access,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn restrictions_objections_and_rectifications_are_recorded_as_requests() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let bob = app.signup_user("bob@example.com").await;
    assert_eq!(
        app.put_restrictions(&ada.access, true, false)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.put_objections(&ada.access, true).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.patch_me(&ada.access, &json!({"name": "Ada King"}))
            .await
            .status(),
        StatusCode::OK
    );
    let requests = app.my_requests(&ada.access).await;
    let mut kinds: Vec<&str> = requests["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "completed", "applied at once: {r}");
            r["type"].as_str().unwrap()
        })
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, vec!["objection", "rectification", "restriction"]);
    assert_eq!(
        app.my_requests(&bob.access).await["requests"],
        json!([]),
        "another user's requests are not listed"
    );
    let anonymous = app
        .client
        .get(app.url("/v1/me/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn closing_the_account_ends_sessions_tokens_and_scheduled_posts_at_once() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let seeded = app.seed(&ada).await;

    let (status, body) = parts(app.close_me(&ada.access, "not the password").await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "invalid_credentials");
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::OK,
        "nothing changed"
    );

    let (status, body) = parts(app.close_me(&ada.access, PASSWORD).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let purge_by: chrono::DateTime<chrono::Utc> =
        body["purge_by"].as_str().unwrap().parse().unwrap();
    assert_eq!(purge_by, app.clock.now() + Duration::days(30));

    // Every session ends at once: the access token, the refresh token, a new login.
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh(&ada.refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&ada.email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.close_me(&ada.access, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let db = &app.db;
    let count = |sql: String| async move { db.count(sql).await };
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM instagram_connections WHERE owner_id = '{}' \
             AND sealed_token IS NOT NULL",
            ada.id
        ))
        .await,
        0,
        "the Instagram tokens are deleted"
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM posts WHERE id = '{}' AND status = 'withdrawn'",
            seeded.post
        ))
        .await,
        1,
        "the scheduled post is withdrawn"
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM publish_jobs WHERE owner_id = '{}'",
            ada.id
        ))
        .await,
        0
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM data_subject_requests WHERE user_id = '{}' AND type = 'erasure'",
            ada.id
        ))
        .await,
        1
    );
    // The email is free again for a new account.
    app.signup_user("ada@example.com").await;
}

#[tokio::test]
async fn the_deletion_page_is_html_under_a_strict_policy_loading_only_first_party_files() {
    let app = spawn_app().await;
    let response = app.deletion_page().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = response.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = response.text().await.unwrap().to_lowercase();
    assert!(html.contains("<form method=\"post\""), "{html}");
    assert!(html.contains("name=\"email\"") && html.contains("name=\"password\""));
    assert!(html.contains("name=\"csrf_token\""));
    assert!(html.contains("30 days"));
    for forbidden in ["http://", "https://", "@import", "url(", "style=", "<style"] {
        assert!(
            !html.contains(forbidden),
            "the page loads something from elsewhere or inline: {forbidden}"
        );
    }
    assert!(
        html.split("<script")
            .skip(1)
            .all(|s| s.starts_with(" src=\"/static/")),
        "no inline script"
    );
}

#[tokio::test]
async fn the_deletion_form_closes_the_account_and_answers_unknown_emails_like_wrong_passwords() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let browser = app.form_session("/data-deletion").await;

    let wrong = app
        .deletion_form(&browser, "ada@example.com", "wrong password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let csp = wrong.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"));
    let wrong = wrong.text().await.unwrap();
    let unknown = app
        .deletion_form(&browser, "nobody@example.com", "wrong password")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    // The pages differ only in the email typed in, which the form keeps.
    assert_eq!(
        unknown
            .text()
            .await
            .unwrap()
            .replace("nobody@example.com", "EMAIL"),
        wrong.replace("ada@example.com", "EMAIL"),
        "no existence oracle"
    );
    assert_eq!(app.get_me(&ada.access).await.status(), StatusCode::OK);

    let closed = app
        .deletion_form(&browser, "ADA@example.com", PASSWORD)
        .await;
    assert_eq!(closed.status(), StatusCode::ACCEPTED);
    let html = closed.text().await.unwrap();
    assert!(html.contains("Your account is closed"), "{html}");
    assert!(!html.contains("<script"));
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.deletion_form(&browser, "ada@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "a closed account cannot be found any more"
    );
}

#[tokio::test]
async fn the_deletion_endpoint_takes_json_like_delete_me() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let (status, body) = parts(app.deletion_json("nobody@example.com", PASSWORD).await).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let (status, body) = parts(app.deletion_json("ada@example.com", PASSWORD).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        body["purge_by"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        app.clock.now() + Duration::days(30)
    );
    assert_eq!(
        app.get_me(&ada.access).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let plain = app
        .client
        .post(app.url("/data-deletion"))
        .header(CONTENT_TYPE, "text/plain")
        .body("email=ada@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn an_export_that_fails_halfway_is_cut_off_rather_than_looking_complete() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let seeded = app.seed(&ada).await;
    // A row the export cannot read, in a table after the account's first sections.
    app.db
        .exec(format!(
            "UPDATE posts SET created_at = 'not a time' WHERE id = '{}'",
            seeded.post
        ))
        .await;
    let response = app.export_me(&ada.access).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the first bytes were already sent"
    );
    assert!(
        response.text().await.is_err(),
        "the transfer breaks off instead of ending like a whole document"
    );
    let requests = app.my_requests(&ada.access).await;
    let export = requests["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "portability")
        .unwrap()
        .clone();
    assert_eq!(
        export["status"], "received",
        "a failed export is not an answered request"
    );
}
