//! Resumable video uploads (`rupload`): the request shapes, resumption from the offset Meta
//! reports, and what is never retried. The fake upload host is the same wiremock server as the
//! Graph host (`with_rupload_base_url`). These tests run on real time with millisecond
//! back-offs: file reads go through tokio's blocking pool, which paused time does not wait for.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kraftsoci_core::ports::{ContainerId, PublishResult};
use kraftsoci_meta::{
    ErrorKind, MetaError, ReelUpload, ResumableVideo, StoryUpload, UploadPolicy, UploadProgress,
    UserTag, VideoFile,
};
use serde_json::json;
use wiremock::matchers::{body_bytes, header, method, path, query_param};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::helpers::*;

const UPLOAD_PATH: &str = "/ig-api-upload/v25.0/c1";
const UPLOAD_FIELDS: &str = "status_code,status,video_status";

/// A file of `size` bytes that differ from their neighbours, so that a wrong offset shows.
fn video_bytes(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

fn c1() -> ContainerId {
    ContainerId::new("c1")
}

fn reel() -> ResumableVideo {
    ResumableVideo::Reel(
        ReelUpload::new()
            .with_caption("Morning bake #simit")
            .with_share_to_feed(true),
    )
}

fn success() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"success": true, "message": "Upload successful."}))
}

fn busy() -> ResponseTemplate {
    ResponseTemplate::new(503).set_body_json(json!({
        "debug_info": {"retriable": true, "type": "ServiceUnavailable", "message": "Upload service busy"}
    }))
}

/// The status read answering that Meta holds `received` bytes.
fn holding(received: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "c1",
        "status_code": "IN_PROGRESS",
        "video_status": {
            "uploading_phase": {"status": "in_progress", "bytes_transferred": received},
            "processing_phase": {"status": "not_started"}
        }
    }))
}

/// `POST /ig-api-upload/v25.0/c1` from `offset`, carrying exactly the file's bytes from there.
fn upload_from(offset: usize, file: &[u8]) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path(UPLOAD_PATH))
        .and(header("authorization", format!("OAuth {TOKEN}").as_str()))
        .and(header("offset", offset.to_string().as_str()))
        .and(header("file_size", file.len().to_string().as_str()))
        .and(body_bytes(file[offset..].to_vec()))
}

/// The status read of `c1`, answered `times` times (0: never asked).
async fn mount_upload_status(graph: &TestGraph, response: ResponseTemplate, times: u64) {
    let mock = Mock::given(method("GET"))
        .and(path("/v25.0/c1"))
        .and(query_param("fields", UPLOAD_FIELDS))
        .respond_with(response);
    let mock = if times > 0 {
        mock.up_to_n_times(times)
    } else {
        mock
    };
    mock.expect(times)
        .named("upload status")
        .mount(&graph.server)
        .await;
}

/// A resumable reel container `c1`.
async fn mount_create(graph: &TestGraph) {
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "REELS"))
        .and(form("upload_type", "resumable"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1",
            "uri": "https://rupload.facebook.com/ig-api-upload/v25.0/c1"
        })))
        .expect(1)
        .mount(&graph.server)
        .await;
}

/// Every progress report, in order.
#[derive(Clone, Default)]
struct Reports(Arc<Mutex<Vec<UploadProgress>>>);

impl Reports {
    fn callback(&self) -> impl FnMut(UploadProgress) + Send + use<> {
        let seen = Arc::clone(&self.0);
        move |progress| seen.lock().unwrap().push(progress)
    }

    fn sent(&self) -> Vec<u64> {
        self.0.lock().unwrap().iter().map(|p| p.sent).collect()
    }

    /// Non-decreasing, never past the size, ending at the size.
    fn assert_monotonic_to(&self, size: usize) {
        let sent = self.sent();
        assert!(!sent.is_empty(), "no progress was reported");
        assert!(
            sent.windows(2).all(|w| w[0] <= w[1]),
            "progress went backwards: {sent:?}"
        );
        assert!(sent.iter().all(|s| *s <= size as u64), "{sent:?}");
        assert_eq!(sent.last().copied(), Some(size as u64), "{sent:?}");
        assert!(
            self.0
                .lock()
                .unwrap()
                .iter()
                .all(|p| p.total == size as u64),
            "every report carries the file size"
        );
    }
}

#[tokio::test]
async fn a_reel_file_is_uploaded_with_the_documented_headers_then_published_once() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(300_000);
    let file = TempFile::with_bytes(&bytes);
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "REELS"))
        .and(form("upload_type", "resumable"))
        .and(form("caption", "Morning bake #simit"))
        .and(form("share_to_feed", "true"))
        .and(no_form("video_url"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1",
            "uri": "https://rupload.facebook.com/ig-api-upload/v25.0/c1"
        })))
        .expect(1)
        .mount(&graph.server)
        .await;
    upload_from(0, &bytes)
        .and(header("content-type", "application/octet-stream"))
        .and(header("content-length", "300000"))
        .respond_with(success())
        .expect(1)
        .named("rupload")
        .mount(&graph.server)
        .await;
    graph.statuses("c1", &["IN_PROGRESS", "FINISHED"]).await;
    graph.quota(0, 50).await;
    graph.publish("c1", id_body("m1"), 1).await;
    graph
        .permalink(
            "m1",
            ResponseTemplate::new(200)
                .set_body_json(json!({"permalink": "https://www.instagram.com/reel/m1/"})),
        )
        .await;
    let reports = Reports::default();

    let published = graph
        .client
        .publish_video_file(
            &graph.account(),
            &reel(),
            &VideoFile::open(&file.path).await.unwrap(),
            reports.callback(),
        )
        .await
        .unwrap();

    assert_eq!(
        published.result,
        PublishResult::Published {
            media_id: "m1".into()
        }
    );
    assert_eq!(
        published.permalink.as_deref(),
        Some("https://www.instagram.com/reel/m1/")
    );
    reports.assert_monotonic_to(bytes.len());
    let requests = graph.requests().await;
    let upload = requests
        .iter()
        .find(|r| r.url.path() == UPLOAD_PATH)
        .unwrap();
    // The token only in the header: no query string, no Bearer, no appsecret_proof.
    assert_eq!(upload.url.query(), None);
    assert!(!upload.url.as_str().contains(TOKEN));
    assert!(upload.headers.get("transfer-encoding").is_none());
    // Every Graph call (create, status, quota, publish, permalink) kept its usual shape.
    let graph_calls: Vec<&Request> = requests
        .iter()
        .filter(|r| r.url.path() != UPLOAD_PATH)
        .collect();
    assert_eq!(graph_calls.len(), 6);
    for request in graph_calls {
        assert_eq!(
            request.headers.get("authorization").unwrap(),
            format!("Bearer {TOKEN}").as_str()
        );
    }
}

#[tokio::test]
async fn an_upload_cut_by_a_5xx_resumes_from_the_offset_meta_reports() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(200_000);
    let file = TempFile::with_bytes(&bytes);
    upload_from(0, &bytes)
        .respond_with(busy())
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(&graph, holding(131_072), 1).await;
    upload_from(131_072, &bytes)
        .and(header(
            "content-length",
            (200_000 - 131_072).to_string().as_str(),
        ))
        .respond_with(success())
        .expect(1)
        .mount(&graph.server)
        .await;
    let reports = Reports::default();

    graph
        .client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            reports.callback(),
        )
        .await
        .unwrap();

    reports.assert_monotonic_to(bytes.len());
}

#[tokio::test]
async fn an_upload_whose_answer_never_comes_is_cut_by_its_deadline_and_resumed() {
    // Real time: the first request's answer is held back far beyond its 300 ms deadline, as a
    // dropped connection would leave it.
    let graph = TestGraph::with_config(|c| {
        c.with_upload_policy(upload_policy().with_attempt_timeout(Some(Duration::from_millis(300))))
    })
    .await;
    let bytes = video_bytes(100_000);
    let file = TempFile::with_bytes(&bytes);
    upload_from(0, &bytes)
        .respond_with(success().set_delay(Duration::from_secs(5)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(&graph, holding(65_536), 1).await;
    upload_from(65_536, &bytes)
        .respond_with(success())
        .expect(1)
        .mount(&graph.server)
        .await;

    graph
        .client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn an_expired_token_during_the_upload_stops_at_once_and_publishes_nothing() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(10_000);
    let file = TempFile::with_bytes(&bytes);
    mount_create(&graph).await;
    upload_from(0, &bytes)
        .respond_with(graph_error(
            190,
            Some(463),
            &format!("Error validating access token: Session has expired ({TOKEN})"),
        ))
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(&graph, holding(0), 0).await;
    graph.publish("c1", id_body("m1"), 0).await;

    let error = graph
        .client
        .publish_video_file(
            &graph.account(),
            &reel(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap_err();

    assert_eq!(
        error.kind(),
        ErrorKind::ReconnectNeeded { subcode: Some(463) }
    );
    assert_eq!(error.fbtrace_id(), Some(TRACE));
    assert!(!error.to_string().contains(TOKEN), "{error}");
    assert!(!format!("{error:?}").contains(TOKEN));
}

#[tokio::test]
async fn an_upload_host_that_refuses_the_token_in_its_own_shape_asks_for_a_reconnect() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(10_000);
    let file = TempFile::with_bytes(&bytes);
    upload_from(0, &bytes)
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "debug_info": {
                "retriable": false,
                "type": "NotAuthorizedError",
                "message": "User not authorized to perform this request"
            }
        })))
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(&graph, holding(0), 0).await;

    let error = graph
        .client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::ReconnectNeeded { subcode: None });
    let graph_error = error.graph().unwrap();
    assert_eq!(
        graph_error.error_type.as_deref(),
        Some("NotAuthorizedError")
    );
    assert_eq!(graph_error.http_status, 400);
}

/// Appends to the file, then answers: the file changes while Meta holds part of it.
struct GrowTheFile {
    path: PathBuf,
    then: ResponseTemplate,
}

impl Respond for GrowTheFile {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .unwrap();
        file.write_all(b"a re-encoded tail").unwrap();
        self.then.clone()
    }
}

#[tokio::test]
async fn a_file_that_changes_size_between_attempts_is_refused_and_not_sent_again() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(50_000);
    let file = TempFile::with_bytes(&bytes);
    mount_create(&graph).await;
    upload_from(0, &bytes)
        .respond_with(GrowTheFile {
            path: file.path.clone(),
            then: busy(),
        })
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(&graph, holding(20_000), 1).await;
    Mock::given(method("POST"))
        .and(path(UPLOAD_PATH))
        .and(header("offset", "20000"))
        .respond_with(success())
        .expect(0)
        .mount(&graph.server)
        .await;
    graph.publish("c1", id_body("m1"), 0).await;

    let error = graph
        .client
        .publish_video_file(
            &graph.account(),
            &reel(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap_err();

    let grown = 50_000 + b"a re-encoded tail".len() as u64;
    assert!(
        matches!(
            error,
            MetaError::VideoChanged {
                size_at_start: 50_000,
                size_now,
            } if size_now == grown
        ),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::RecreateContainer);
}

#[tokio::test]
async fn a_file_that_changes_during_the_last_request_is_not_reported_uploaded() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(30_000);
    let file = TempFile::with_bytes(&bytes);
    upload_from(0, &bytes)
        .respond_with(GrowTheFile {
            path: file.path.clone(),
            then: success(),
        })
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap_err();

    assert!(matches!(error, MetaError::VideoChanged { .. }), "{error:?}");
}

#[tokio::test]
async fn progress_never_goes_back_when_meta_holds_less_than_was_sent() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(1024 * 1024);
    let file = TempFile::with_bytes(&bytes);
    // The whole file went out, then the answer was a 500: Meta kept only the first 64 KiB.
    upload_from(0, &bytes)
        .respond_with(graph_error_with_status(
            500,
            2,
            None,
            "Service temporarily unavailable",
        ))
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(&graph, holding(65_536), 1).await;
    upload_from(65_536, &bytes)
        .respond_with(success())
        .expect(1)
        .mount(&graph.server)
        .await;
    let reports = Reports::default();

    graph
        .client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            reports.callback(),
        )
        .await
        .unwrap();

    // How many reports arrive depends on scheduling: progress is coalesced (a watch channel),
    // so a body the connection takes in one go may be reported once. What must hold is that
    // the reports never go back below what Meta said it holds and end at the size.
    reports.assert_monotonic_to(bytes.len());
}

#[tokio::test]
async fn resuming_later_asks_meta_first_and_sends_only_the_rest() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(40_000);
    let file = TempFile::with_bytes(&bytes);
    mount_upload_status(&graph, holding(30_000), 1).await;
    upload_from(30_000, &bytes)
        .respond_with(success())
        .expect(1)
        .mount(&graph.server)
        .await;
    let reports = Reports::default();

    graph
        .client
        .resume_video_upload(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            reports.callback(),
        )
        .await
        .unwrap();

    // The first report is what Meta already holds.
    assert_eq!(reports.sent().first().copied(), Some(30_000));
    reports.assert_monotonic_to(bytes.len());
}

#[tokio::test]
async fn a_container_that_already_holds_the_whole_file_is_not_uploaded_again() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(5_000);
    let file = TempFile::with_bytes(&bytes);
    mount_upload_status(
        &graph,
        ResponseTemplate::new(200).set_body_json(json!({"id": "c1", "status_code": "FINISHED"})),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(UPLOAD_PATH))
        .respond_with(success())
        .expect(0)
        .mount(&graph.server)
        .await;
    let reports = Reports::default();

    graph
        .client
        .resume_video_upload(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            reports.callback(),
        )
        .await
        .unwrap();

    assert_eq!(reports.sent(), vec![5_000]);
}

#[tokio::test]
async fn a_status_read_that_does_not_know_video_status_restarts_from_the_first_byte() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(20_000);
    let file = TempFile::with_bytes(&bytes);
    upload_from(0, &bytes)
        .respond_with(busy())
        .up_to_n_times(1)
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(
        &graph,
        graph_error(
            100,
            None,
            "(#100) Tried accessing nonexisting field (video_status)",
        ),
        1,
    )
    .await;
    graph.statuses("c1", &["IN_PROGRESS"]).await;
    upload_from(0, &bytes)
        .respond_with(success())
        .expect(1)
        .mount(&graph.server)
        .await;

    graph
        .client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn interruptions_beyond_the_policy_end_with_what_meta_holds() {
    let graph =
        TestGraph::with_config(|c| c.with_upload_policy(upload_policy().with_max_retries(1))).await;
    let bytes = video_bytes(20_000);
    let file = TempFile::with_bytes(&bytes);
    upload_from(0, &bytes)
        .respond_with(busy())
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(&graph, holding(8_000), 1).await;
    upload_from(8_000, &bytes)
        .respond_with(busy())
        .expect(1)
        .mount(&graph.server)
        .await;

    let error = graph
        .client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            &error,
            MetaError::UploadInterrupted {
                uploaded: 8_000,
                total: 20_000,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Transient);
}

#[tokio::test]
async fn an_expired_container_found_while_resuming_is_reported_not_uploaded_into() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(5_000);
    let file = TempFile::with_bytes(&bytes);
    upload_from(0, &bytes)
        .respond_with(busy())
        .expect(1)
        .mount(&graph.server)
        .await;
    mount_upload_status(
        &graph,
        ResponseTemplate::new(200).set_body_json(json!({"id": "c1", "status_code": "EXPIRED"})),
        1,
    )
    .await;

    let error = graph
        .client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap_err();

    assert!(
        matches!(error, MetaError::ContainerExpired { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_video_story_over_the_size_limit_is_refused_before_any_call() {
    let graph = TestGraph::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(success())
        .expect(0)
        .mount(&graph.server)
        .await;
    let file = TempFile::with_bytes(b"");
    // A sparse file one byte over the limit: nothing is written to disk.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file.path)
        .unwrap()
        .set_len(kraftsoci_meta::MAX_STORY_VIDEO_BYTES + 1)
        .unwrap();
    let story = ResumableVideo::Story(StoryUpload::new().with_user_tags([UserTag::mention("tea")]));

    let error = graph
        .client
        .publish_video_file(
            &graph.account(),
            &story,
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap_err();

    assert!(matches!(error, MetaError::InvalidInput(_)), "{error:?}");
}

#[tokio::test]
async fn an_empty_or_missing_file_is_refused_before_any_call() {
    let empty = TempFile::with_bytes(b"");
    assert!(matches!(
        VideoFile::open(&empty.path).await,
        Err(MetaError::InvalidInput(_))
    ));
    let missing = std::env::temp_dir().join("kraftsoci-meta-test-no-such-video.mp4");
    let error = VideoFile::open(&missing).await.unwrap_err();
    assert!(
        matches!(error, MetaError::VideoUnreadable { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn the_token_goes_only_to_the_configured_upload_host_whatever_address_meta_names() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(4_000);
    let file = TempFile::with_bytes(&bytes);
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IG_USER}/media")))
        .and(form("media_type", "STORIES"))
        .and(form("upload_type", "resumable"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "c1",
            "uri": "https://uploads.attacker.example/collect/c1"
        })))
        .expect(1)
        .mount(&graph.server)
        .await;
    upload_from(0, &bytes)
        .respond_with(success())
        .expect(1)
        .mount(&graph.server)
        .await;
    let account = graph.account();
    let story = ResumableVideo::Story(StoryUpload::new());

    let container = graph
        .client
        .create_upload_container(&account, &story)
        .await
        .unwrap();
    graph
        .client
        .upload_video(
            &account,
            &container,
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap();

    assert_eq!(container, c1());
}

#[tokio::test]
async fn without_retries_the_first_interruption_ends_the_upload() {
    let graph = TestGraph::start().await;
    let bytes = video_bytes(1_000);
    let file = TempFile::with_bytes(&bytes);
    upload_from(0, &bytes)
        .respond_with(busy())
        .expect(1)
        .mount(&graph.server)
        .await;
    let client = kraftsoci_meta::MetaClient::new(
        config(&graph.server).with_upload_policy(UploadPolicy::default().with_max_retries(0)),
    )
    .unwrap();

    let error = client
        .upload_video(
            &graph.account(),
            &c1(),
            &VideoFile::open(&file.path).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap_err();

    assert!(
        matches!(error, MetaError::UploadInterrupted { uploaded: 0, .. }),
        "{error:?}"
    );
}
