//! Images: gpt-image-1, base64 JPEG, sizes Instagram accepts, and core's image check.

use kraftsoci_ai::{AiError, ImageSize};
use kraftsoci_core::ImageError;
use kraftsoci_core::ports::{GenerationError, ImageGenerator, Usage};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const PROMPT: &str = "A crusty sourdough loaf on a rustic wooden table in morning light";

#[tokio::test]
async fn an_image_is_asked_for_as_a_square_jpeg_and_returned_checked() {
    let app = spawn_openai().await;
    let bytes = jpeg(1024, 1024);
    app.image_answers(image_bytes(&bytes)).await;

    let image = app.generator.make_image(&request(), PROMPT).await.unwrap();

    assert_eq!(image.jpeg, bytes);
    assert_eq!(
        (image.checked.width(), image.checked.height()),
        (1024, 1024)
    );
    assert_eq!(
        image.usage,
        Usage {
            prompt_tokens: 50,
            completion_tokens: 1056,
            images: 1
        }
    );

    let body = &app.bodies(IMAGES).await[0];
    assert_eq!(body["model"], "gpt-image-1");
    assert_eq!(body["size"], "1024x1024");
    assert_eq!(body["output_format"], "jpeg");
    assert_eq!(body["n"], 1);
    assert!(
        body.get("response_format").is_none(),
        "gpt-image-1 rejects response_format"
    );
    let prompt = body["prompt"].as_str().unwrap();
    assert!(prompt.starts_with(PROMPT));
    assert!(prompt.contains("bakery"));
}

#[tokio::test]
async fn the_landscape_size_is_three_by_two() {
    let app = spawn_with(|config| config.with_image_size(ImageSize::Landscape)).await;
    app.image_answers(image_bytes(&jpeg(1536, 1024))).await;

    let image = app.generator.make_image(&request(), PROMPT).await.unwrap();

    assert_eq!(image.checked.width(), 1536);
    assert_eq!(app.bodies(IMAGES).await[0]["size"], "1536x1024");
}

#[tokio::test]
async fn a_png_is_rejected_before_it_reaches_the_owner() {
    let app = spawn_openai().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x04\0\0\0\x04\0\x08\x02\0\0\0";
    app.image_answers(image_bytes(png)).await;

    let error = app
        .generator
        .make_image(&request(), PROMPT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AiError::InvalidImage(ImageError::NotJpeg)),
        "{error:?}"
    );
    let through_the_port = app
        .generator
        .generate_image(&request(), PROMPT)
        .await
        .unwrap_err();
    assert!(matches!(
        through_the_port,
        GenerationError::InvalidOutput(_)
    ));
}

#[tokio::test]
async fn a_portrait_two_by_three_jpeg_is_rejected() {
    let app = spawn_openai().await;
    app.image_answers(image_bytes(&jpeg(1024, 1536))).await;

    let error = app
        .generator
        .make_image(&request(), PROMPT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            AiError::InvalidImage(ImageError::AspectRatio {
                width: 1024,
                height: 1536
            })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn bytes_that_are_not_base64_are_invalid_output() {
    let app = spawn_openai().await;
    app.image_answers(ResponseTemplate::new(200).set_body_json(json!({
        "created": 1, "data": [{ "b64_json": "not base64!!" }]
    })))
    .await;

    let error = app
        .generator
        .make_image(&request(), PROMPT)
        .await
        .unwrap_err();
    assert!(matches!(error, AiError::InvalidOutput(_)), "{error:?}");
}

#[tokio::test]
async fn a_url_instead_of_base64_is_invalid_output() {
    let app = spawn_openai().await;
    app.image_answers(ResponseTemplate::new(200).set_body_json(json!({
        "created": 1, "data": [{ "url": "https://example.invalid/a.png", "revised_prompt": null }]
    })))
    .await;

    let error = app
        .generator
        .make_image(&request(), PROMPT)
        .await
        .unwrap_err();
    assert!(matches!(error, AiError::InvalidOutput(_)), "{error:?}");
}

#[tokio::test]
async fn an_empty_image_list_is_invalid_output() {
    let app = spawn_openai().await;
    app.image_answers(
        ResponseTemplate::new(200).set_body_json(json!({ "created": 1, "data": [] })),
    )
    .await;

    let error = app
        .generator
        .make_image(&request(), PROMPT)
        .await
        .unwrap_err();
    assert!(matches!(error, AiError::InvalidOutput(_)), "{error:?}");
}

#[tokio::test]
async fn a_prompt_blocked_by_the_image_safety_system_is_a_refusal_and_not_retried() {
    let app = spawn_openai().await;
    Mock::given(method("POST"))
        .and(path(IMAGES))
        .respond_with(openai_error(
            400,
            "moderation_blocked",
            "Your request was rejected by the safety system.",
        ))
        .expect(1)
        .mount(&app.server)
        .await;

    let error = app
        .generator
        .make_image(&request(), PROMPT)
        .await
        .unwrap_err();
    assert!(matches!(error, AiError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn an_empty_image_prompt_falls_back_to_the_topic() {
    let app = spawn_openai().await;
    app.image_answers(image_bytes(&jpeg(1024, 1024))).await;

    app.generator.make_image(&request(), "  ").await.unwrap();

    let prompt = app.bodies(IMAGES).await[0]["prompt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(prompt.contains(request().topic.as_str()), "{prompt}");
}
