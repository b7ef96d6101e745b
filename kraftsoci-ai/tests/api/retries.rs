//! Retries on paused tokio time: 429 honours Retry-After, 5xx and timeouts back off, attempts
//! are bounded, 400 and 401 are never repeated.

use std::time::Duration;

use kraftsoci_ai::{AiError, RetryPolicy, Timeouts};
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

fn policy() -> RetryPolicy {
    RetryPolicy::default()
}

#[tokio::test(start_paused = true)]
async fn a_429_with_retry_after_waits_at_least_that_long_then_succeeds() {
    let app = spawn_for_paused_time(policy()).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(
            openai_error(429, "rate_limit_exceeded", "Rate limit reached")
                .insert_header("retry-after", "2"),
        )
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&app.server)
        .await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(chat_post(&post("Fresh today.", &["bread"])))
        .expect(1)
        .mount(&app.server)
        .await;

    let started = Instant::now();
    let text = app.generator.write_post(&request()).await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited only {:?}",
        started.elapsed()
    );
    assert_eq!(text.caption.as_str(), "Fresh today.");
}

#[tokio::test(start_paused = true)]
async fn three_500s_end_in_a_typed_error_after_max_attempts() {
    let app = spawn_for_paused_time(policy()).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&app.server)
        .await;

    let started = Instant::now();
    let error = app.generator.write_post(&request()).await.unwrap_err();

    assert!(
        matches!(&error, AiError::Unavailable { attempts: 3, reason } if reason == "status 500"),
        "{error:?}"
    );
    assert!(error.is_transient());
    // Two backoffs of at least half of 500 ms and 1 s.
    assert!(started.elapsed() >= Duration::from_millis(750));
}

#[tokio::test(start_paused = true)]
async fn a_5xx_then_success_recovers() {
    let app = spawn_for_paused_time(policy()).await;
    Mock::given(method("POST"))
        .and(path(IMAGES))
        .respond_with(Sequence::of(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(502),
            image_bytes(&jpeg(1024, 1024)),
        ]))
        .expect(3)
        .mount(&app.server)
        .await;

    let image = app.generator.make_image(&request(), "bread").await.unwrap();
    assert_eq!(image.checked.width(), 1024);
}

#[tokio::test(start_paused = true)]
async fn answers_slower_than_the_deadline_end_in_a_typed_error_after_max_attempts() {
    // Here the deadline is wanted: on paused time it fires as soon as the runtime waits on the
    // mock server, which holds every answer for a minute.
    let app = spawn_with(|config| {
        config
            .with_timeouts(Timeouts::all(Duration::from_secs(10)))
            .with_moderation(kraftsoci_ai::Moderation::disabled())
            .with_retry(policy())
    })
    .await;
    app.chat_answers(chat_post(&post("late", &[])).set_delay(Duration::from_secs(60)))
        .await;

    let started = Instant::now();
    let error = app.generator.write_post(&request()).await.unwrap_err();

    assert!(
        matches!(&error, AiError::Unavailable { attempts: 3, reason } if reason.contains("timed out")),
        "{error:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_400_is_not_retried() {
    let app = spawn_for_paused_time(policy()).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(openai_error(
            400,
            "invalid_value",
            "Invalid schema for response_format",
        ))
        .expect(1)
        .mount(&app.server)
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();

    assert!(
        matches!(&error, AiError::Rejected { status: 400, code: Some(code), .. } if code == "invalid_value"),
        "{error:?}"
    );
    assert!(!error.is_transient());
}

#[tokio::test(start_paused = true)]
async fn a_401_is_not_retried_and_never_echoes_the_key() {
    let app = spawn_for_paused_time(policy()).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(
            openai_error(
                401,
                "invalid_api_key",
                &format!("Incorrect API key provided: {TEST_KEY}."),
            )
            .insert_header("x-request-id", "req_abc123"),
        )
        .expect(1)
        .mount(&app.server)
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();

    let AiError::Rejected {
        status: 401,
        code,
        request_id,
        ..
    } = &error
    else {
        panic!("expected a 401 rejection, got {error:?}");
    };
    assert_eq!(code.as_deref(), Some("invalid_api_key"));
    assert_eq!(request_id.as_deref(), Some("req_abc123"));
    assert!(!error.to_string().contains(TEST_KEY));
    assert!(!format!("{error:?}").contains(TEST_KEY));
}

#[tokio::test(start_paused = true)]
async fn a_429_for_an_exhausted_quota_is_not_retried() {
    let app = spawn_for_paused_time(policy()).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(openai_error(
            429,
            "insufficient_quota",
            "You exceeded your current quota",
        ))
        .expect(1)
        .mount(&app.server)
        .await;

    let error = app.generator.write_post(&request()).await.unwrap_err();
    assert!(
        matches!(error, AiError::Rejected { status: 429, .. }),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_longer_than_we_accept_gives_up_at_once() {
    let app = spawn_for_paused_time(policy()).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(
            openai_error(429, "rate_limit_exceeded", "Rate limit reached")
                .insert_header("retry-after", "3600"),
        )
        .expect(1)
        .mount(&app.server)
        .await;

    let started = Instant::now();
    let error = app.generator.write_post(&request()).await.unwrap_err();

    assert!(
        matches!(error, AiError::RateLimited { attempts: 1, retry_after: Some(wait) } if wait == Duration::from_secs(3600)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn persistent_throttling_ends_in_rate_limited_after_max_attempts() {
    let app = spawn_for_paused_time(policy().with_max_attempts(4)).await;
    Mock::given(method("POST"))
        .and(path(CHAT))
        .respond_with(
            openai_error(429, "rate_limit_exceeded", "Rate limit reached")
                .insert_header("retry-after", "1"),
        )
        .expect(4)
        .mount(&app.server)
        .await;

    let started = Instant::now();
    let error = app.generator.write_post(&request()).await.unwrap_err();

    assert!(
        matches!(error, AiError::RateLimited { attempts: 4, .. }),
        "{error:?}"
    );
    assert!(started.elapsed() >= Duration::from_secs(3));
}
