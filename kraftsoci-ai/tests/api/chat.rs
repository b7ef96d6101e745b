//! Captions: structured output, refusals, malformed answers, repair and trimming.

use kraftsoci_ai::AiError;
use kraftsoci_core::ports::{ContentGenerator, GenerationError, Usage};
use kraftsoci_core::{MAX_CAPTION_CHARS, MAX_HASHTAGS, PostText, hashtags_in, instagram_length};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

#[tokio::test]
async fn a_post_is_written_from_a_strict_json_schema_answer() {
    let app = spawn_openai().await;
    app.chat_answers(chat_post(&post(
        "Our sourdough is here! Crackly crust, soft crumb, ready at 7.",
        &["sourdough", "#bakery", "Bakery", "freshbread"],
    )))
    .await;

    let text = app.generator.write_post(&request()).await.unwrap();

    assert_eq!(
        text.caption.as_str(),
        "Our sourdough is here! Crackly crust, soft crumb, ready at 7."
    );
    let tags: Vec<String> = text.hashtags.iter().map(ToString::to_string).collect();
    assert_eq!(tags, ["#sourdough", "#bakery", "#freshbread"]);
    assert_eq!(
        text.alt_text.as_str(),
        "A round sourdough loaf on a wooden board"
    );
    assert!(text.image_prompt.contains("sourdough loaf"));
    assert_eq!(
        text.usage,
        Usage {
            prompt_tokens: 120,
            completion_tokens: 80,
            images: 0
        }
    );

    let bodies = app.bodies(CHAT).await;
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["store"], false);
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["strict"], true);
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["required"],
        json!(["caption", "hashtags", "alt_text", "image_prompt"])
    );
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user"]);
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("\"en\"")
    );
}

#[tokio::test]
async fn the_prompt_carries_description_audience_tone_sector_language_and_topic() {
    let app = spawn_openai().await;
    app.chat_answers(chat_post(&post("Fresh today.", &["bread"])))
        .await;

    app.generator.write_post(&request()).await.unwrap();

    let body = &app.bodies(CHAT).await[0];
    let brief: Value =
        serde_json::from_str(body["messages"][1]["content"].as_str().unwrap()).unwrap();
    let request = request();
    assert_eq!(
        brief,
        json!({
            "business_profile": {
                "description": request.profile.description.as_str(),
                "target_audience": request.profile.target_audience.as_str(),
                "tone": request.profile.tone.as_str(),
                "sector": request.profile.sector.as_str(),
                "language": "en",
            },
            "topic": request.topic.as_str(),
        })
    );
}

#[tokio::test]
async fn a_refusal_is_a_typed_error() {
    let app = spawn_openai().await;
    app.chat_answers(chat_refusal("I can't help with that request."))
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(
        matches!(&error, AiError::Refused(reason) if reason == "I can't help with that request."),
        "{error:?}"
    );

    let through_the_port = app.generator.generate_text(&request()).await.unwrap_err();
    assert_eq!(
        through_the_port,
        GenerationError::Refused("I can't help with that request.".into())
    );
}

#[tokio::test]
async fn a_content_filter_stop_is_a_refusal() {
    let app = spawn_openai().await;
    app.chat_answers(chat_message(
        json!({ "role": "assistant", "content": "" }),
        "content_filter",
    ))
    .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(matches!(error, AiError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn malformed_json_is_invalid_output_without_a_second_call() {
    let app = spawn_openai().await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(chat_content(
            "Sure! Here is your post: {\"caption\": \"Fresh",
        ))
        .expect(1)
        .mount(&app.server)
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(matches!(error, AiError::InvalidOutput(_)), "{error:?}");
    assert!(matches!(
        GenerationError::from(error),
        GenerationError::InvalidOutput(_)
    ));
}

#[tokio::test]
async fn an_answer_missing_a_field_is_invalid_output() {
    let app = spawn_openai().await;
    app.chat_answers(chat_content(r#"{"caption": "Fresh", "hashtags": []}"#))
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(matches!(error, AiError::InvalidOutput(_)), "{error:?}");
}

#[tokio::test]
async fn an_answer_cut_off_at_the_token_limit_is_invalid_output() {
    let app = spawn_openai().await;
    app.chat_answers(chat_message(
        json!({ "role": "assistant", "content": "{\"caption\": \"Fresh" }),
        "length",
    ))
    .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(
        matches!(&error, AiError::InvalidOutput(reason) if reason.contains("cut off")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_response_body_that_is_not_a_chat_completion_is_invalid_output() {
    let app = spawn_openai().await;
    app.chat_answers(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(matches!(error, AiError::InvalidOutput(_)), "{error:?}");
}

#[tokio::test]
async fn an_over_limit_answer_is_repaired_in_one_round_trip() {
    let app = spawn_openai().await;
    let too_long = post(&"Crackly crust, soft crumb. ".repeat(100), &["sourdough"]);
    let repaired = post("Crackly crust, soft crumb, ready at 7.", &["sourdough"]);
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(Sequence::of(vec![
            chat_post(&too_long),
            chat_post(&repaired),
        ]))
        .expect(2)
        .mount(&app.server)
        .await;

    let text = app.generator.write_post(&request()).await.unwrap();

    assert_eq!(
        text.caption.as_str(),
        "Crackly crust, soft crumb, ready at 7."
    );
    assert_eq!(text.usage.prompt_tokens, 240, "both calls are metered");
    assert_eq!(text.usage.completion_tokens, 160);

    let bodies = app.bodies(CHAT).await;
    let messages = bodies[1]["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(messages[2]["content"], too_long.to_string());
    let repair = messages[3]["content"].as_str().unwrap();
    assert!(repair.contains("Instagram would reject"), "{repair}");
    assert!(repair.contains("2699 characters"), "{repair}");
    assert_eq!(bodies[1]["response_format"], bodies[0]["response_format"]);
}

#[tokio::test]
async fn an_answer_still_over_limit_after_repair_is_trimmed_to_fit() {
    let app = spawn_openai().await;
    let many_tags: Vec<String> = (0..45).map(|i| format!("bread_{i}")).collect();
    let many_tags: Vec<&str> = many_tags.iter().map(String::as_str).collect();
    let over = post(&"Crackly crust, soft crumb. ".repeat(100), &many_tags);
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(chat_post(&over))
        .expect(2)
        .mount(&app.server)
        .await;

    let text = app.generator.write_post(&request()).await.unwrap();

    let composed = PostText::compose(&text.caption, &text.hashtags).unwrap();
    assert!(instagram_length(composed.as_str()) <= MAX_CAPTION_CHARS);
    assert!(hashtags_in(composed.as_str()).len() <= MAX_HASHTAGS);
    assert!(text.caption.as_str().ends_with('…'));
    assert!(
        text.caption
            .as_str()
            .starts_with("Crackly crust, soft crumb.")
    );
    assert!(!text.hashtags.is_empty());
    assert_eq!(text.usage.completion_tokens, 160);
}

#[tokio::test]
async fn invalid_hashtags_are_sent_back_for_repair() {
    let app = spawn_openai().await;
    let bad_tags = post("Fresh today.", &["fresh bread", "2024"]);
    let fixed = post("Fresh today.", &["freshbread"]);
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(Sequence::of(vec![chat_post(&bad_tags), chat_post(&fixed)]))
        .expect(2)
        .mount(&app.server)
        .await;

    let text = app.generator.write_post(&request()).await.unwrap();

    assert_eq!(text.hashtags[0].as_str(), "freshbread");
    let repair = app.bodies(CHAT).await[1]["messages"][3]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(repair.contains("\"fresh bread\""), "{repair}");
    assert!(repair.contains("\"2024\""), "{repair}");
}

#[tokio::test]
async fn a_chat_completion_in_openai_s_full_shape_is_understood() {
    let app = spawn_openai().await;
    let content = post("Fresh today.", &["bread"]).to_string();
    app.chat_answers(ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1_741_569_952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": content,
                "refusal": null,
                "annotations": []
            },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": 412,
            "completion_tokens": 96,
            "total_tokens": 508,
            "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306"
    })))
    .await;

    let text = app.generator.write_post(&request()).await.unwrap();

    assert_eq!(text.caption.as_str(), "Fresh today.");
    assert_eq!(
        (text.usage.prompt_tokens, text.usage.completion_tokens),
        (412, 96)
    );
}
