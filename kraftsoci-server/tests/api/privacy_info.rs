//! The privacy information and security.txt: who is responsible and how to reach them, the
//! processors, the retention table, the rights with their routes, where to complain.

use kraftsoci_core::Clock as _;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_privacy_information_names_the_controller_processors_retention_rights_and_authorities()
{
    let app = spawn_app_with(|config| {
        config.privacy.contact = "privacy@example.org".to_owned();
        config.privacy.controller = "Simit Corner Ltd".to_owned();
    })
    .await;
    let response = app.client.get(app.url("/v1/privacy")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["controller"]["name"], "Simit Corner Ltd");
    assert_eq!(body["controller"]["contact"], "privacy@example.org");
    let processors: Vec<&str> = body["processors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for declared in ["meta", "openai", "stripe"] {
        assert!(processors.contains(&declared), "{processors:?}");
    }
    assert!(
        !processors.contains(&"smtp") && !processors.contains(&"object_store"),
        "the test server writes mail to files and images to a directory: {processors:?}"
    );
    let retention = body["retention"].as_array().unwrap();
    assert_eq!(
        retention.len(),
        kraftsoci_core::retention::RetentionPolicy::privacy_policy()
            .rows()
            .len(),
        "the whole table"
    );
    let rights: Vec<&str> = body["rights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["right"].as_str().unwrap())
        .collect();
    for right in [
        "access",
        "rectification",
        "erasure",
        "restriction",
        "portability",
        "objection",
    ] {
        assert!(rights.contains(&right), "{rights:?}");
    }
    let authorities = body["complaints"].to_string();
    assert!(
        authorities.contains("Kişisel Verileri Koruma Kurulu"),
        "{authorities}"
    );
    assert!(authorities.contains("EU member state"), "{authorities}");
    assert!(body["policy_version"].is_null() || body["policy_version"].is_string());
}

#[tokio::test]
async fn security_txt_follows_rfc_9116_with_the_configured_contact() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/.well-known/security.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
    };
    assert_eq!(
        field("Contact"),
        Some(format!("mailto:{}", app.state.config.privacy.contact))
    );
    let expires: chrono::DateTime<chrono::Utc> = field("Expires").unwrap().parse().unwrap();
    assert!(expires > app.clock.now(), "RFC 9116: Expires lies ahead");
    assert!(
        expires <= app.clock.now() + chrono::Duration::days(366),
        "and less than a year ahead"
    );
    assert!(
        field("Canonical")
            .unwrap()
            .ends_with("/.well-known/security.txt")
    );
}

#[tokio::test]
async fn every_mail_ends_with_the_privacy_contact_line() {
    let app = spawn_app_with(|config| config.privacy.contact = "dpo@example.org".to_owned()).await;
    let ada = app.signup_user("ada@example.com").await;
    let before = app.mails().len();
    app.request_reset(&ada.email).await;
    let mails = app.wait_for_mails(before + 1).await;
    let mail = mails.last().unwrap();
    assert!(mail.contains("#token="), "the reset mail itself: {mail}");
    assert!(
        mail.trim_end()
            .ends_with(&kraftsoci_server::mail::contact_line("dpo@example.org")),
        "{mail}"
    );
}
