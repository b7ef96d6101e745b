//! How a failed `media_publish` or container is classified, in one place for both publish
//! paths.

use super::*;

/// How a `media_publish` failure must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Meta says the post already exists.
    Duplicate,
    /// Not ready: poll, then publish again (no duplicate risk).
    NotReady,
    /// The post may be live: read the container, never publish again blindly.
    Ambiguous,
    /// Meta refused before publishing.
    Definite,
}

/// Classifies a failed `media_publish`, the one place both publish paths (the all-in-one
/// [`MetaClient::publish_container`] and the `SocialPublisher` adapter) take it from.
pub(crate) fn publish_failure(error: &MetaError) -> Failure {
    match error {
        MetaError::Timeout { .. } | MetaError::UnexpectedResponse { .. } => Failure::Ambiguous,
        // A connection that never opened carried nothing; any other transport failure may have
        // happened after Meta received the request.
        MetaError::Transport { source, .. } if source.is_connect() => Failure::Definite,
        MetaError::Transport { .. } => Failure::Ambiguous,
        MetaError::Graph(graph) => {
            let flagged = graph
                .code
                .and_then(|code| classify::lookup(code, graph.subcode))
                .is_some_and(|rule| rule.publish_may_have_happened);
            match &graph.kind {
                ErrorKind::Duplicate => Failure::Duplicate,
                _ if graph.http_status >= 500 || flagged => Failure::Ambiguous,
                ErrorKind::NotReady => Failure::NotReady,
                ErrorKind::Transient | ErrorKind::Unknown => Failure::Ambiguous,
                _ => Failure::Definite,
            }
        }
        _ => Failure::Definite,
    }
}

/// The answer when the container is still `FINISHED` after an ambiguous failure.
pub(super) fn still_unpublished(container: &ContainerId, cause: MetaError) -> MetaError {
    match &cause {
        // Meta answered: its work on this call is over, so publishing again is not blind.
        MetaError::Graph(graph)
            if graph.http_status >= 500 || graph.kind == ErrorKind::Transient =>
        {
            MetaError::PublishNotApplied {
                container: container.clone(),
                cause: Box::new(cause),
            }
        }
        // A definite refusal that is known to come with live posts (4/2207051): the container
        // shows it was a refusal after all.
        MetaError::Graph(_) => cause,
        // No answer: Meta may still be working on the call and flip the container later.
        _ => MetaError::OutcomeUnknown {
            container: container.clone(),
            cause: Box::new(cause),
        },
    }
}

/// The error for a container in `ERROR`, classified by the subcode in its status text.
pub(crate) fn container_failed(container: &ContainerId, status: &str) -> MetaError {
    let status = truncate(status, 500);
    let (reason, kind) = match classify::lookup_in_text(&status) {
        Some(rule) => {
            let observed = Observed {
                code: None,
                subcode: rule.subcode,
                http_status: 200,
                is_transient: None,
                message: Some(&status),
                usage: &Usage::default(),
            };
            let kind = classify::kind_of(rule.class, Some(rule.meaning), &observed);
            (format!("{} ({status})", rule.meaning), kind)
        }
        None => (
            status.clone(),
            ErrorKind::InvalidMedia {
                reason: status.clone(),
            },
        ),
    };
    MetaError::ContainerFailed {
        container: container.clone(),
        reason,
        kind,
    }
}

pub(super) fn create_is_retryable(error: &MetaError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Transient | ErrorKind::MediaFetchFailed { .. }
    )
}
