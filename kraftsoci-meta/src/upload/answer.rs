//! Reading rupload's answers: success, `debug_info` failures, Graph envelopes, and where to
//! resume.

use super::*;

/// Where to resume after a status read: `None` when Meta holds the whole file.
pub(super) fn resume_point(
    container: &ContainerId,
    total: u64,
    status: &UploadStatus,
) -> Result<Option<u64>, MetaError> {
    match &status.container {
        ContainerStatus::Error { reason, .. } => Err(container_failed(container, reason)),
        ContainerStatus::Expired => Err(MetaError::ContainerExpired {
            container: container.clone(),
        }),
        // Meta processes a video only once it has all of it.
        ContainerStatus::Finished | ContainerStatus::Published => Ok(None),
        ContainerStatus::InProgress => match status.bytes_received {
            Some(received) if received > total => Err(MetaError::UnexpectedResponse {
                call: "upload status",
                detail: format!("meta holds {received} bytes of a {total}-byte file"),
            }),
            Some(received) if received == total => Ok(None),
            Some(received) => Ok(Some(received)),
            None => {
                tracing::info!(%container, "meta did not say how much it holds; the upload restarts from the first byte");
                Ok(Some(0))
            }
        },
        other => Err(MetaError::UnexpectedResponse {
            call: "upload status",
            detail: format!("a container status this version does not know: {other:?}"),
        }),
    }
}

/// Reads rupload's answer: `{"success":true}`, a Graph envelope or a `debug_info`.
pub(super) fn upload_answer(
    status: StatusCode,
    body: &[u8],
    usage: Usage,
    secrets: &[String],
) -> Result<(), MetaError> {
    let value = serde_json::from_slice::<Value>(body).ok();
    if let Some(object) = value.as_ref().and_then(Value::as_object) {
        if object.get("error").is_some_and(Value::is_object) {
            let error = envelope_error(UPLOAD, status, body, usage, secrets);
            return Err(MetaError::Graph(Box::new(error)));
        }
        if let Some(info) = object.get("debug_info").and_then(Value::as_object) {
            return Err(debug_info_error(status, info, usage, secrets));
        }
        if status.is_success() && object.get("success") == Some(&Value::Bool(true)) {
            return Ok(());
        }
    }
    if status.is_success() {
        return Err(MetaError::UnexpectedResponse {
            call: UPLOAD,
            detail: "the upload answer does not report success".into(),
        });
    }
    Err(MetaError::Graph(Box::new(GraphError {
        kind: kind_of_status(status),
        call: UPLOAD,
        http_status: status.as_u16(),
        code: None,
        subcode: None,
        error_type: None,
        message: None,
        user_title: None,
        user_message: None,
        is_transient: None,
        fbtrace_id: None,
        meaning: None,
        usage,
    })))
}

/// rupload's own error shape, `{"debug_info":{"retriable","type","message"}}`, classified by
/// what public clients observed (unconfirmed by Meta's reference).
pub(super) fn debug_info_error(
    status: StatusCode,
    info: &Map<String, Value>,
    usage: Usage,
    secrets: &[String],
) -> MetaError {
    let error_type = text(info, "type");
    let message = redact(text(info, "message"), secrets);
    let retriable = info.get("retriable").and_then(Value::as_bool);
    let lowered = error_type
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = if lowered.contains("notauthorized") || lowered.contains("oauth") {
        ErrorKind::ReconnectNeeded { subcode: None }
    } else if retriable == Some(true) {
        ErrorKind::Transient
    } else if lowered.contains("processing") {
        ErrorKind::InvalidMedia {
            reason: message
                .clone()
                .unwrap_or_else(|| "meta could not process the video".into()),
        }
    } else if status.is_success() || status.is_client_error() {
        match kind_of_status(status) {
            ErrorKind::Unknown => ErrorKind::InvalidRequest,
            kind => kind,
        }
    } else {
        kind_of_status(status)
    };
    MetaError::Graph(Box::new(GraphError {
        kind,
        call: UPLOAD,
        http_status: status.as_u16(),
        code: None,
        subcode: None,
        error_type,
        message,
        user_title: None,
        user_message: None,
        is_transient: retriable,
        fbtrace_id: None,
        meaning: None,
        usage,
    }))
}

/// The kind of an upload failure that says no more than its HTTP status.
pub(super) fn kind_of_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        401 => ErrorKind::ReconnectNeeded { subcode: None },
        403 => ErrorKind::PermissionMissing { permission: None },
        408 | 429 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Unknown,
    }
}

/// Whether Meta refused the read's `fields` (code 100), as it would a field it does not know.
pub(super) fn refuses_a_field(error: &MetaError) -> bool {
    error
        .graph()
        .is_some_and(|graph| graph.code == Some(100) && graph.kind == ErrorKind::InvalidRequest)
}

/// `video_status.uploading_phase.bytes_transferred` (or Meta's misspelling), when sent.
pub(super) fn bytes_received(body: &Map<String, Value>) -> Option<u64> {
    let phase = body
        .get("video_status")?
        .get("uploading_phase")?
        .as_object()?;
    int_field(phase, "bytes_transferred")
        .or_else(|| int_field(phase, "bytes_transfered"))
        .and_then(|n| u64::try_from(n).ok())
}

pub(super) fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(super) fn unreadable(source: io::Error) -> MetaError {
    MetaError::VideoUnreadable { source }
}
