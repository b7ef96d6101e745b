//! The crate's error type, the Graph error envelope and the kinds a caller acts on.

use std::fmt;
use std::time::Duration;

use kraftsoci_core::ports::{ContainerId, PublishingQuota};

use crate::usage::Usage;

/// How a caller should react to a failure. Every [`MetaError`] has one ([`MetaError::kind`]).
///
/// Non-exhaustive: Meta adds error codes, and a kind may be added for one that calls for a new
/// reaction. Match the kinds you act on and treat the rest like [`ErrorKind::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The token is expired or revoked (Graph 190/102): the owner must log in again. Never
    /// retry with the same token.
    ReconnectNeeded {
        /// Meta's `error_subcode` (463 expired, 460 password changed, …), when sent.
        subcode: Option<i64>,
    },
    /// A permission is missing or was removed: the owner must grant it again.
    PermissionMissing {
        /// The permission, when known.
        permission: Option<String>,
    },
    /// Throttled by Meta: wait before calling again.
    RateLimited {
        /// How long Meta says to wait (from `estimated_time_to_regain_access`), when known.
        retry_after: Option<Duration>,
    },
    /// The account's publishing quota over the rolling 24 h window is spent.
    PublishLimit {
        /// How long to wait, when known.
        retry_after: Option<Duration>,
    },
    /// The container is not ready: poll it, then publish.
    NotReady,
    /// The container is unusable (expired or lost by Meta): create a new one.
    RecreateContainer,
    /// A temporary failure; a retry with backoff is safe for calls that are safe to retry.
    Transient,
    /// Meta could not download the media from its URL (9004/2207052, -2/2207003): temporary
    /// when the media host is restarting; worth a new container after a back-off.
    MediaFetchFailed {
        /// Why, in words an owner can read.
        reason: String,
    },
    /// Meta refused the media or its caption; not retryable as is.
    InvalidMedia {
        /// Why, in words an owner can read.
        reason: String,
    },
    /// The Instagram account is restricted: the owner must act in Instagram.
    AccountRestricted,
    /// The request was malformed or the client is misconfigured; not retryable.
    InvalidRequest,
    /// Meta reported a duplicate post (Graph 506).
    Duplicate,
    /// A publish may or may not have happened and could not be resolved now; do not publish
    /// again before the container says so.
    OutcomeUnknown,
    /// Anything else.
    Unknown,
}

/// Meta's error envelope (`{"error":{…}}`), as received, with its classification.
///
/// Messages are kept for logs; any secret of the call (token, code, app secret) is redacted
/// from them before they are stored. `Display` gives a one-line summary with the codes and
/// `fbtrace_id`, for logs rather than for API clients.
///
/// The upload host (`rupload`) answers in another shape (`{"debug_info":{"type","message",
/// "retriable"}}`); such an answer is kept here too, with its `type` as
/// [`GraphError::error_type`], its `retriable` as [`GraphError::is_transient`] and no code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GraphError {
    /// How a caller should react.
    pub kind: ErrorKind,
    /// The Graph call that failed (such as `media_publish`).
    pub call: &'static str,
    /// The HTTP status.
    pub http_status: u16,
    /// Meta's `code`.
    pub code: Option<i64>,
    /// Meta's `error_subcode`.
    pub subcode: Option<i64>,
    /// Meta's `type` (such as `OAuthException`).
    pub error_type: Option<String>,
    /// Meta's `message` (redacted).
    pub message: Option<String>,
    /// Meta's `error_user_title` (redacted).
    pub user_title: Option<String>,
    /// Meta's `error_user_msg` (redacted).
    pub user_message: Option<String>,
    /// Meta's `is_transient`.
    pub is_transient: Option<bool>,
    /// Meta's short-lived support id; log it.
    pub fbtrace_id: Option<String>,
    /// What the table says the code means, when the code is documented.
    pub meaning: Option<&'static str>,
    /// The usage headers of the failed response.
    pub usage: Usage,
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed with http {}", self.call, self.http_status)?;
        if let Some(code) = self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(subcode) = self.subcode {
            write!(f, "/{subcode}")?;
        }
        if let Some(meaning) = self.meaning {
            write!(f, " ({meaning})")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(trace) = &self.fbtrace_id {
            write!(f, " [fbtrace_id {trace}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for GraphError {}

/// Why a callback (signed request or webhook) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackRejection {
    /// The input is not in the documented format.
    Malformed(&'static str),
    /// The signature does not match the app secret.
    BadSignature,
    /// The payload names an algorithm other than HMAC-SHA256.
    UnsupportedAlgorithm,
    /// The request was issued longer ago than the accepted age.
    Stale,
    /// The request claims to be issued in the future (beyond clock skew).
    IssuedInTheFuture,
    /// A webhook subscription check carried a wrong verify token.
    VerifyTokenMismatch,
    /// A webhook subscription check with a mode other than `subscribe`.
    NotASubscription,
}

impl fmt::Display for CallbackRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed: {what}"),
            Self::BadSignature => f.write_str("signature does not match"),
            Self::UnsupportedAlgorithm => f.write_str("unsupported algorithm"),
            Self::Stale => f.write_str("issued too long ago"),
            Self::IssuedInTheFuture => f.write_str("issued in the future"),
            Self::VerifyTokenMismatch => f.write_str("verify token does not match"),
            Self::NotASubscription => f.write_str("hub.mode is not subscribe"),
        }
    }
}

/// Every failure of this crate.
///
/// Non-exhaustive: a variant may be added in a minor release. [`MetaError::kind`] classifies
/// every variant, present and future, into how a caller should react.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// Meta answered with an error.
    #[error(transparent)]
    Graph(Box<GraphError>),
    /// The call did not complete in time. For `media_publish` the outcome is then unknown
    /// until the container is read.
    #[error("{call} timed out")]
    Timeout {
        /// The Graph call.
        call: &'static str,
    },
    /// The call could not be made or its answer not read (no URL is kept in the cause).
    #[error("{call} could not reach meta")]
    Transport {
        /// The Graph call.
        call: &'static str,
        /// The HTTP client's error, without the URL.
        #[source]
        source: reqwest::Error,
    },
    /// Meta answered with a success status but a body that does not match its documentation.
    #[error("unexpected response to {call}: {detail}")]
    UnexpectedResponse {
        /// The Graph call.
        call: &'static str,
        /// What was wrong (never the body itself, which may hold tokens).
        detail: String,
    },
    /// A setting the operation needs is not configured.
    #[error("missing configuration: {field}")]
    MissingConfig {
        /// The [`crate::MetaConfig`] field.
        field: &'static str,
    },
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The caller's input cannot be sent (carousel size, tag position, empty id…).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Permissions required for publishing are not granted: send the user through the login
    /// dialog again (with `auth_type=rerequest`) asking for these.
    #[error("permissions not granted, ask the user to grant again: {}", .missing.join(", "))]
    PermissionsMissing {
        /// The permissions to grant again.
        missing: Vec<String>,
    },
    /// The login dialog came back with an error (the user declined, or the app is misconfigured).
    #[error("login was not completed: {error}")]
    LoginDenied {
        /// Meta's `error` (such as `access_denied`).
        error: String,
        /// Meta's `error_reason` (such as `user_denied`).
        reason: Option<String>,
        /// Meta's `error_description`.
        description: Option<String>,
    },
    /// The login redirect's `state` is not the one this login started with (possible CSRF).
    #[error("login state does not match")]
    StateMismatch,
    /// Meta reported that calls with this token are throttled, and the client refused to call
    /// before access returns.
    #[error("meta is throttling this token; retry in {} s", .retry_after.as_secs())]
    Throttled {
        /// How long until Meta accepts calls again.
        retry_after: Duration,
    },
    /// The publishing quota is spent; `media_publish` was not called.
    #[error("publishing quota spent ({} of {})", .quota.used, .quota.total)]
    QuotaSpent {
        /// The quota as Meta reported it.
        quota: PublishingQuota,
    },
    /// The container ended in `ERROR`.
    #[error("container {container} failed: {reason}")]
    ContainerFailed {
        /// The container.
        container: ContainerId,
        /// Meta's `status` text, or the documented meaning of the subcode in it.
        reason: String,
        /// The classification of the subcode in the status, when there is one.
        kind: ErrorKind,
    },
    /// The container expired (24 h without publishing): create a new one.
    #[error("container {container} expired")]
    ContainerExpired {
        /// The container.
        container: ContainerId,
    },
    /// The container was still `IN_PROGRESS` when the polling budget ran out.
    #[error("container {container} was not ready after {} s of polling", .waited.as_secs())]
    NotReady {
        /// The container.
        container: ContainerId,
        /// How long polling waited.
        waited: Duration,
    },
    /// `media_publish` failed ambiguously, and reading the container showed it is still
    /// unpublished: publishing the same container again is safe.
    #[error("publishing container {container} failed and it is still unpublished")]
    PublishNotApplied {
        /// The container.
        container: ContainerId,
        /// The publish failure.
        #[source]
        cause: Box<MetaError>,
    },
    /// `media_publish` failed ambiguously and the container could not tell whether the post
    /// went live: do not publish again until its status says so.
    #[error("the outcome of publishing container {container} is unknown")]
    OutcomeUnknown {
        /// The container.
        container: ContainerId,
        /// The publish failure.
        #[source]
        cause: Box<MetaError>,
    },
    /// A signed request or webhook was refused.
    #[error("callback rejected: {0}")]
    CallbackRejected(CallbackRejection),
    /// The video file to upload could not be opened or read.
    #[error("the video file cannot be read")]
    VideoUnreadable {
        /// The I/O error (its message may name the file; it never holds a secret).
        #[source]
        source: std::io::Error,
    },
    /// The video file changed (size or modification time) while it was being uploaded: Meta
    /// may hold bytes of both versions, so the container must not be published. Create a new
    /// container and upload the file again.
    #[error(
        "the video file changed during the upload ({size_at_start} bytes at the start, {size_now} now)"
    )]
    VideoChanged {
        /// The size the upload started with (and announced to Meta as `file_size`).
        size_at_start: u64,
        /// The size found later.
        size_now: u64,
    },
    /// A resumable upload was interrupted more often than the upload policy allows. The
    /// container keeps what Meta received: resume it later with
    /// [`crate::MetaClient::resume_video_upload`] (containers expire after 24 h).
    #[error("the upload to container {container} stopped at {uploaded} of {total} bytes")]
    UploadInterrupted {
        /// The container.
        container: ContainerId,
        /// The bytes Meta last reported holding (0 when it did not say).
        uploaded: u64,
        /// The size of the file.
        total: u64,
        /// The last interruption.
        #[source]
        cause: Box<MetaError>,
    },
}

impl MetaError {
    /// How a caller should react to this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Graph(graph) => graph.kind.clone(),
            Self::Timeout { .. } | Self::Transport { .. } => ErrorKind::Transient,
            Self::UnexpectedResponse { .. } => ErrorKind::Unknown,
            Self::MissingConfig { .. }
            | Self::InvalidConfig(_)
            | Self::InvalidInput(_)
            | Self::StateMismatch
            | Self::CallbackRejected(_)
            | Self::VideoUnreadable { .. } => ErrorKind::InvalidRequest,
            Self::VideoChanged { .. } => ErrorKind::RecreateContainer,
            Self::UploadInterrupted { .. } => ErrorKind::Transient,
            Self::PermissionsMissing { missing } => ErrorKind::PermissionMissing {
                permission: missing.first().cloned(),
            },
            Self::LoginDenied { .. } => ErrorKind::PermissionMissing { permission: None },
            Self::Throttled { retry_after } => ErrorKind::RateLimited {
                retry_after: Some(*retry_after),
            },
            Self::QuotaSpent { .. } => ErrorKind::PublishLimit { retry_after: None },
            Self::ContainerFailed { kind, .. } => kind.clone(),
            Self::ContainerExpired { .. } => ErrorKind::RecreateContainer,
            Self::NotReady { .. } => ErrorKind::NotReady,
            Self::PublishNotApplied { .. } => ErrorKind::Transient,
            Self::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
        }
    }

    /// The Graph error envelope, when Meta sent one.
    pub fn graph(&self) -> Option<&GraphError> {
        match self {
            Self::Graph(graph) => Some(graph),
            _ => None,
        }
    }

    /// Meta's `fbtrace_id`, when sent (log it with the failure).
    pub fn fbtrace_id(&self) -> Option<&str> {
        self.graph().and_then(|g| g.fbtrace_id.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> GraphError {
        GraphError {
            kind: ErrorKind::ReconnectNeeded { subcode: Some(463) },
            call: "container status",
            http_status: 400,
            code: Some(190),
            subcode: Some(463),
            error_type: Some("OAuthException".into()),
            message: Some("Error validating access token: Session has expired".into()),
            user_title: None,
            user_message: None,
            is_transient: Some(false),
            fbtrace_id: Some("A6LJylpZRKw2xKLFsAP-cJh".into()),
            meaning: Some("the access token has expired"),
            usage: Usage::default(),
        }
    }

    #[test]
    fn a_graph_error_displays_codes_meaning_message_and_trace_id_in_one_line() {
        assert_eq!(
            graph().to_string(),
            "container status failed with http 400, code 190/463 (the access token has expired): \
             Error validating access token: Session has expired [fbtrace_id A6LJylpZRKw2xKLFsAP-cJh]"
        );
    }

    #[test]
    fn the_kind_and_trace_id_are_reachable_from_the_crate_error() {
        let error = MetaError::Graph(Box::new(graph()));
        assert_eq!(
            error.kind(),
            ErrorKind::ReconnectNeeded { subcode: Some(463) }
        );
        assert_eq!(error.fbtrace_id(), Some("A6LJylpZRKw2xKLFsAP-cJh"));
    }

    #[test]
    fn a_missing_permission_error_says_what_to_grant_again() {
        let error = MetaError::PermissionsMissing {
            missing: vec!["instagram_content_publish".into()],
        };
        assert_eq!(
            error.to_string(),
            "permissions not granted, ask the user to grant again: instagram_content_publish"
        );
        assert_eq!(
            error.kind(),
            ErrorKind::PermissionMissing {
                permission: Some("instagram_content_publish".into())
            }
        );
    }
}
