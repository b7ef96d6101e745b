//! Moderation of the topic, the generated text and the image prompt.

use kraftsoci_ai::{AiError, ModeratedText, Moderation};
use kraftsoci_core::ports::{ContentGenerator, GenerationError};
use kraftsoci_core::{PostText, Topic};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

async fn flag(app: &TestOpenAi, words: &[&str]) {
    Mock::given(method("POST"))
        .and(path(MODERATIONS))
        .respond_with(ModerationResponder::flagging(words))
        .mount(&app.server)
        .await;
}

#[tokio::test]
async fn clean_text_is_checked_before_and_after_generation() {
    let app = spawn_openai().await;
    app.chat_answers(chat_post(&post("Fresh today.", &["bread"])))
        .await;

    let text = app.generator.write_post(&request()).await.unwrap();

    let checks = app.bodies(MODERATIONS).await;
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[0]["model"], "omni-moderation-latest");
    assert_eq!(checks[0]["input"], json!([request().topic.as_str()]));
    let composed = PostText::compose(&text.caption, &text.hashtags).unwrap();
    assert_eq!(
        checks[1]["input"],
        json!([composed.as_str(), text.alt_text.as_str()])
    );
}

#[tokio::test]
async fn a_flagged_topic_stops_generation_before_any_chat_call() {
    let app = spawn_openai().await;
    flag(&app, &["rival"]).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(chat_post(&post("x", &[])))
        .expect(0)
        .mount(&app.server)
        .await;
    let mut request = request();
    request.topic = Topic::parse("Why our rival's bread is garbage").unwrap();

    let error = app.generator.write_post(&request).await.unwrap_err();

    let AiError::Flagged {
        subject,
        categories,
    } = &error
    else {
        panic!("expected a moderation refusal, got {error:?}");
    };
    assert_eq!(*subject, ModeratedText::Topic);
    assert_eq!(categories, &["harassment", "violence"]);
    assert_eq!(
        app.generator.generate_text(&request).await.unwrap_err(),
        GenerationError::Flagged {
            categories: vec!["harassment".into(), "violence".into()]
        }
    );
}

#[tokio::test]
async fn a_flagged_caption_is_never_returned() {
    let app = spawn_openai().await;
    flag(&app, &["threatening remark"]).await;
    app.chat_answers(chat_post(&post(
        "Fresh today, and a threatening remark.",
        &["bread"],
    )))
    .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();

    assert!(
        matches!(
            error,
            AiError::Flagged {
                subject: ModeratedText::Caption,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_flagged_image_prompt_stops_the_image_call() {
    let app = spawn_openai().await;
    flag(&app, &["gore"]).await;
    Mock::given(method("POST"))
        .and(path(IMAGES))
        .respond_with(image_bytes(&jpeg(1024, 1024)))
        .expect(0)
        .mount(&app.server)
        .await;

    let error = app
        .generator
        .make_image(&request(), "A loaf covered in gore")
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            AiError::Flagged {
                subject: ModeratedText::ImagePrompt,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn moderation_can_be_turned_off() {
    let app = spawn_with(|config| config.with_moderation(Moderation::disabled())).await;
    Mock::given(method("POST"))
        .and(path(MODERATIONS))
        .respond_with(ModerationResponder::flagging(&[""]))
        .expect(0)
        .mount(&app.server)
        .await;
    app.chat_answers(chat_post(&post("Fresh today.", &["bread"])))
        .await;

    app.generator.write_post(&request()).await.unwrap();
}

#[tokio::test]
async fn a_moderation_answer_that_misses_an_input_is_no_clearance() {
    let app = spawn_openai().await;
    Mock::given(method("POST"))
        .and(path(MODERATIONS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "modr-1", "model": "omni-moderation-latest", "results": []
        })))
        .mount(&app.server)
        .await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(chat_post(&post("x", &[])))
        .expect(0)
        .mount(&app.server)
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(matches!(error, AiError::InvalidOutput(_)), "{error:?}");
}

#[tokio::test]
async fn a_failing_moderation_endpoint_fails_the_generation() {
    let app = spawn_openai().await;
    Mock::given(method("POST"))
        .and(path(MODERATIONS))
        .respond_with(openai_error(
            401,
            "invalid_api_key",
            "Incorrect API key provided",
        ))
        .expect(1)
        .mount(&app.server)
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(
        matches!(error, AiError::Rejected { status: 401, .. }),
        "{error:?}"
    );
}
