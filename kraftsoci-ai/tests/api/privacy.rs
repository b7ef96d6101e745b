//! P11: only the business profile and the topic are sent to OpenAI.

use kraftsoci_core::{BusinessName, Email, IgUserId, PersonName};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request};

use crate::helpers::*;

/// Everything the service knows about the owner besides the profile.
struct Account {
    name: PersonName,
    email: Email,
    business_name: BusinessName,
    instagram_user_id: IgUserId,
    instagram_page: &'static str,
    access_token: &'static str,
    ip: &'static str,
}

fn account() -> Account {
    Account {
        name: PersonName::parse("Ayşe Yılmaz").unwrap(),
        email: Email::parse("ayse.yilmaz@example.com").unwrap(),
        business_name: BusinessName::parse("Yılmaz Fırını").unwrap(),
        instagram_user_id: IgUserId::parse("17841405822304914").unwrap(),
        instagram_page: "Yilmaz Firini Kadikoy",
        access_token: "EAAGm0PX4ZCpsBAKRzZBvU7rIhX0test",
        ip: "203.0.113.7",
    }
}

fn body_of(request: &Request) -> String {
    String::from_utf8(request.body.clone()).expect("utf-8 body")
}

#[tokio::test]
async fn no_account_data_reaches_openai_in_any_request() {
    let app = spawn_openai().await;
    app.chat_answers(chat_post(&post("Fresh today.", &["bread"])))
        .await;
    Mock::given(method("POST"))
        .and(path(IMAGES))
        .respond_with(image_bytes(&jpeg(1024, 1024)))
        .mount(&app.server)
        .await;
    let account = account();
    let request = request();

    let text = app.generator.write_post(&request).await.unwrap();
    app.generator
        .make_image(&request, &text.image_prompt)
        .await
        .unwrap();

    let sent = app.server.received_requests().await.unwrap();
    let endpoints: Vec<&str> = sent.iter().map(|r| r.url.path()).collect();
    assert_eq!(
        endpoints,
        [MODERATIONS, CHAT, MODERATIONS, MODERATIONS, IMAGES],
        "every generator request is captured"
    );
    let forbidden = [
        account.name.as_str(),
        "Ayşe",
        "Yılmaz",
        account.email.as_str(),
        account.business_name.as_str(),
        account.instagram_user_id.as_str(),
        account.instagram_page,
        account.access_token,
        account.ip,
        TEST_KEY,
    ];
    for request in &sent {
        let body = body_of(request);
        for needle in forbidden {
            assert!(
                !body.to_lowercase().contains(&needle.to_lowercase()),
                "{} body contains {needle:?}",
                request.url.path()
            );
        }
        let json: Value = serde_json::from_str(&body).unwrap();
        for field in ["user", "safety_identifier", "metadata"] {
            assert!(
                json.get(field).is_none(),
                "{} sends {field}",
                request.url.path()
            );
        }
        assert!(request.url.query().is_none(), "nothing travels in the url");
    }
}

#[tokio::test]
async fn the_api_key_travels_only_in_the_authorization_header() {
    let app = spawn_openai().await;
    app.chat_answers(chat_post(&post("Fresh today.", &["bread"])))
        .await;

    app.generator.write_post(&request()).await.unwrap();

    let sent = app.server.received_requests().await.unwrap();
    assert!(!sent.is_empty());
    for request in &sent {
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            &format!("Bearer {TEST_KEY}")
        );
        for (name, value) in &request.headers {
            if name != "authorization" {
                assert!(
                    !value.to_str().unwrap_or_default().contains(TEST_KEY),
                    "header {name} carries the key"
                );
            }
        }
        assert!(!body_of(request).contains(TEST_KEY));
        assert!(!request.url.as_str().contains(TEST_KEY));
    }
}

#[tokio::test]
async fn the_chat_request_holds_the_profile_and_topic_and_nothing_more() {
    let app = spawn_openai().await;
    app.chat_answers(chat_post(&post("Fresh today.", &["bread"])))
        .await;

    app.generator.write_post(&request()).await.unwrap();

    let body = &app.bodies(CHAT).await[0];
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "max_completion_tokens",
            "messages",
            "model",
            "n",
            "response_format",
            "store",
            "temperature"
        ]
    );
    // The only user-supplied text is the brief, which is exactly profile + topic (checked
    // field by field in chat::the_prompt_carries_description_audience_tone_sector_language_and_topic).
    let brief: Value =
        serde_json::from_str(body["messages"][1]["content"].as_str().unwrap()).unwrap();
    let mut brief_keys: Vec<&str> = brief
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    brief_keys.sort_unstable();
    assert_eq!(brief_keys, ["business_profile", "topic"]);
}
