use serde_json::json;

use super::*;

fn status(code: &str, received: Option<u64>) -> UploadStatus {
    UploadStatus {
        container: parse_status(&ContainerId::new("c1"), Some(code.into()), None).unwrap(),
        bytes_received: received,
    }
}

#[test]
fn a_resumption_starts_where_meta_says_it_stopped() {
    let c = ContainerId::new("c1");
    assert_eq!(
        resume_point(&c, 100, &status("IN_PROGRESS", Some(40))).unwrap(),
        Some(40)
    );
    assert_eq!(
        resume_point(&c, 100, &status("IN_PROGRESS", Some(100))).unwrap(),
        None
    );
    assert_eq!(
        resume_point(&c, 100, &status("IN_PROGRESS", None)).unwrap(),
        Some(0)
    );
    assert_eq!(
        resume_point(&c, 100, &status("FINISHED", None)).unwrap(),
        None
    );
    assert!(resume_point(&c, 100, &status("IN_PROGRESS", Some(101))).is_err());
    assert!(matches!(
        resume_point(&c, 100, &status("EXPIRED", None)),
        Err(MetaError::ContainerExpired { .. })
    ));
}

#[test]
fn bytes_received_are_read_in_both_spellings_and_as_strings() {
    let body = |value: Value| value.as_object().cloned().unwrap();
    assert_eq!(
        bytes_received(&body(json!({
            "video_status": {"uploading_phase": {"status": "in_progress", "bytes_transferred": 50002}}
        }))),
        Some(50002)
    );
    assert_eq!(
        bytes_received(&body(json!({
            "video_status": {"uploading_phase": {"bytes_transfered": "7"}}
        }))),
        Some(7)
    );
    assert_eq!(
        bytes_received(&body(
            json!({"video_status": {"uploading_phase": {"bytes_transferred": -1}}})
        )),
        None
    );
    assert_eq!(
        bytes_received(&body(json!({"status_code": "IN_PROGRESS"}))),
        None
    );
}

#[test]
fn rupload_debug_info_answers_are_classified_and_redacted() {
    let answer = |status: u16, body: Value| {
        upload_answer(
            StatusCode::from_u16(status).unwrap(),
            body.to_string().as_bytes(),
            Usage::default(),
            &["EAAsecret".to_owned()],
        )
        .unwrap_err()
    };
    let busy = answer(
        503,
        json!({"debug_info": {"retriable": true, "type": "ServiceUnavailable", "message": "busy"}}),
    );
    assert_eq!(busy.kind(), ErrorKind::Transient);
    let denied = answer(
        400,
        json!({"debug_info": {"retriable": false, "type": "NotAuthorizedError", "message": "token EAAsecret"}}),
    );
    assert_eq!(denied.kind(), ErrorKind::ReconnectNeeded { subcode: None });
    assert!(!denied.to_string().contains("EAAsecret"), "{denied}");
    let refused = answer(
        400,
        json!({"debug_info": {"retriable": false, "type": "ProcessingFailedError", "message": "bad moov atom"}}),
    );
    assert_eq!(
        refused.kind(),
        ErrorKind::InvalidMedia {
            reason: "bad moov atom".into()
        }
    );
    let ours = answer(
        400,
        json!({"debug_info": {"retriable": false, "type": "ParameterValidationError", "message": "offset"}}),
    );
    assert_eq!(ours.kind(), ErrorKind::InvalidRequest);
    assert_eq!(answer(502, json!("gateway")).kind(), ErrorKind::Transient);
    assert!(matches!(
        answer(200, json!({"success": false})),
        MetaError::UnexpectedResponse { .. }
    ));
}

#[test]
fn progress_is_reported_only_forwards_and_capped_at_the_total() {
    let mut seen = Vec::new();
    let mut progress = Progress::new(|p: UploadProgress| seen.push(p.sent), 100);
    for sent in [0, 10, 10, 60, 30, 60, 100, 150] {
        progress.report(sent);
    }
    assert_eq!(seen, vec![10, 60, 100]);
}

#[test]
fn the_story_container_asks_for_a_resumable_story_without_a_caption() {
    let params = ResumableVideo::Story(StoryUpload::new().with_user_tags([UserTag::mention("a")]))
        .params()
        .unwrap();
    assert!(params.contains(&("media_type", "STORIES".to_owned())));
    assert!(params.contains(&("upload_type", "resumable".to_owned())));
    assert!(
        params
            .iter()
            .all(|(k, _)| *k != "caption" && *k != "video_url")
    );
}
