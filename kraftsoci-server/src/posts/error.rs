//! What the post flow can refuse or fail with, and how each answers over HTTP (in one place:
//! [`From<PostFlowError> for ApiError`](ApiError)).

use kraftsoci_core::ports::{
    EntitlementError, GenerationError, JOB_RUNNING, MediaStoreError, QuotaKind,
};
use kraftsoci_core::{ImageError, LifecycleError, ParseError, PostStatus, StoreError};

use crate::error::{ApiError, FieldErrors};

/// Why a post-flow operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PostFlowError {
    /// No such post, or not the caller's.
    #[error("no such post")]
    NotFound,
    /// The owner restricted this processing (P29).
    #[error("the owner restricted this processing")]
    Restricted,
    /// Generating needs a business profile.
    #[error("the business profile is missing")]
    ProfileRequired,
    /// The named connection is not one of the owner's.
    #[error("not one of the owner's connections")]
    NotConnected,
    /// The named connection needs a reconnect before anything is published to it.
    #[error("the connection needs a reconnect")]
    ConnectionNeedsReconnect,
    /// The hash the owner clicked is not the hash of the content as it is now.
    #[error("the content changed since it was shown")]
    ContentChanged,
    /// The click names another Instagram account than the post targets.
    #[error("the post targets another instagram account")]
    TargetChanged,
    /// Publishing started or finished: the post can no longer change.
    #[error("publishing started or finished")]
    PublishingStarted,
    /// The post waits for its Instagram account to be reconnected.
    #[error("the post waits for a reconnect")]
    AwaitingReconnect,
    /// The operation makes no sense while the post is in this status.
    #[error("not possible while the post is {0}")]
    InvalidState(PostStatus),
    /// A worker is publishing the post right now.
    #[error("a worker is publishing the post")]
    PublishingInProgress,
    /// The post changed between reading and saving it.
    #[error("the post changed concurrently")]
    Changed,
    /// An `Idempotency-Key` came back with a different request body.
    #[error("the idempotency key was used for another request")]
    IdempotencyKeyReused,
    /// The post kept changing over every retry of a click.
    #[error("the post kept changing")]
    KeptChanging,
    /// The content breaks Instagram's limits (or another field is invalid).
    #[error("invalid content: {0}")]
    InvalidContent(#[from] ParseError),
    /// The plan's quota for this period is used up.
    #[error("the monthly {kind} quota of {limit} is used up")]
    QuotaExceeded {
        /// Which quota.
        kind: QuotaKind,
        /// The plan's limit.
        limit: u32,
    },
    /// The subscription grants no generation.
    #[error("the subscription does not allow generating ({status})")]
    SubscriptionInactive {
        /// The subscription status.
        status: String,
    },
    /// The quota could not be checked.
    #[error("entitlements unavailable: {0}")]
    EntitlementsUnavailable(String),
    /// Moderation flagged the topic or the generated post.
    #[error("moderation flagged the content")]
    ContentFlagged,
    /// The generator declined the topic.
    #[error("the generator declined the topic")]
    ContentRefused,
    /// The generator failed or could not be reached.
    #[error("the generator failed")]
    GeneratorUnavailable(#[source] GenerationError),
    /// The generator returned an image Instagram would refuse.
    #[error("the generated image is unusable")]
    GeneratedImageUnusable(#[source] ImageError),
    /// Publishing needs an image and the post has none.
    #[error("the post has no image")]
    ImageRequired,
    /// The post's image is gone from the media store.
    #[error("the post's image is gone")]
    ImageMissing,
    /// The stored image is one Instagram would refuse.
    #[error("the stored image is invalid: {0}")]
    ImageInvalid(#[source] ImageError),
    /// The stored image is not the one the post was generated with.
    #[error("the stored image changed")]
    ImageChanged,
    /// The Instagram account's daily publishing quota is spoken for around that time.
    #[error("{load} posts are published or queued within 24 hours (limit {limit})")]
    PublishingLimitReached {
        /// Posts published or queued around that time.
        load: u32,
        /// The daily limit.
        limit: u32,
    },
    /// The media store failed.
    #[error("the media store failed")]
    Media(#[source] MediaStoreError),
    /// Storage failed or refused.
    #[error(transparent)]
    Store(StoreError),
    /// Stored data or a generated key is inconsistent: a bug or corruption, not the caller's.
    #[error("internal: {0}")]
    Internal(#[source] anyhow::Error),
}

impl PostFlowError {
    /// An inconsistency that is not the caller's doing.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }
}

impl From<StoreError> for PostFlowError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { constraint } if constraint == JOB_RUNNING => {
                Self::PublishingInProgress
            }
            StoreError::Stale => Self::Changed,
            other => Self::Store(other),
        }
    }
}

impl From<LifecycleError> for PostFlowError {
    fn from(error: LifecycleError) -> Self {
        match error {
            LifecycleError::ContentChanged => Self::ContentChanged,
            LifecycleError::TargetChanged => Self::TargetChanged,
            LifecycleError::NotAllowed {
                status: PostStatus::Publishing | PostStatus::Published,
                ..
            } => Self::PublishingStarted,
            LifecycleError::NotAllowed {
                status: PostStatus::NeedsReconnect,
                ..
            } => Self::AwaitingReconnect,
            LifecycleError::NotAllowed { status, .. } => Self::InvalidState(status),
            LifecycleError::Restricted(_) => Self::Restricted,
            LifecycleError::InvalidContent(parse) => Self::InvalidContent(parse),
            LifecycleError::NotOwner | LifecycleError::NotYetDue(_) => Self::NotFound,
            // A refusal a later core adds (the enum is non-exhaustive): never a success.
            other => Self::Internal(other.into()),
        }
    }
}

impl From<EntitlementError> for PostFlowError {
    fn from(error: EntitlementError) -> Self {
        match error {
            EntitlementError::QuotaExceeded { kind, limit } => Self::QuotaExceeded { kind, limit },
            EntitlementError::NoAccess { status } => Self::SubscriptionInactive { status },
            EntitlementError::Unavailable(reason) => Self::EntitlementsUnavailable(reason),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<GenerationError> for PostFlowError {
    fn from(error: GenerationError) -> Self {
        match error {
            GenerationError::Flagged { .. } => Self::ContentFlagged,
            GenerationError::Refused(_) => Self::ContentRefused,
            other => Self::GeneratorUnavailable(other),
        }
    }
}

/// What every automated refusal adds (P32): that no person decided, and how to ask one.
macro_rules! automated {
    () => {
        "This was decided automatically; you can ask for a person to review it \
         (POST /v1/me/requests with type review)."
    };
}

fn unprocessable(code: &'static str, message: &'static str) -> ApiError {
    ApiError::Unprocessable {
        code,
        message: message.into(),
        fields: FieldErrors::new(),
    }
}

impl From<PostFlowError> for ApiError {
    fn from(error: PostFlowError) -> Self {
        use PostFlowError as E;
        match error {
            E::NotFound => ApiError::NotFound,
            E::Restricted => ApiError::Forbidden {
                code: "processing_restricted",
                message: "You have restricted this processing in your account settings.".into(),
            },
            E::ProfileRequired => unprocessable(
                "profile_required",
                "Describe your business in your profile before generating posts.",
            ),
            E::NotConnected => ApiError::invalid_field(
                "instagram_account_id",
                "is not one of your connected accounts",
            ),
            E::ConnectionNeedsReconnect => ApiError::conflict(
                "connection_needs_reconnect",
                "Reconnect this Instagram account before publishing to it.",
            ),
            E::ContentChanged => ApiError::conflict(
                "content_changed",
                "The post changed since it was shown; review it and click Publish again.",
            ),
            E::TargetChanged => ApiError::conflict(
                "target_changed",
                "The post targets another Instagram account; change its account first.",
            ),
            E::PublishingStarted => ApiError::conflict(
                "publishing_started",
                "Publishing has started or finished; this post can no longer change.",
            ),
            E::AwaitingReconnect => ApiError::conflict(
                "reconnect_required",
                "This post waits for its Instagram account to be reconnected.",
            ),
            E::InvalidState(status) => ApiError::conflict(
                "invalid_state",
                format!("This is not possible while the post is {status}."),
            ),
            E::PublishingInProgress => publishing_in_progress(),
            E::Changed => ApiError::conflict(
                "conflict",
                "The post changed meanwhile; reload it and try again.",
            ),
            E::IdempotencyKeyReused => unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request; use a new key.",
            ),
            E::KeptChanging => ApiError::conflict(
                "conflict",
                "The post kept changing; reload it and try again.",
            ),
            E::InvalidContent(parse) => parse.into(),
            E::QuotaExceeded { kind, limit } => ApiError::PaymentRequired {
                code: "quota_exceeded",
                message: format!(
                    concat!(
                        "Your plan's monthly {kind} quota of {limit} is used up; upgrade or wait \
                         for the next period. ",
                        automated!()
                    ),
                    kind = kind,
                    limit = limit
                )
                .into(),
            },
            E::SubscriptionInactive { status } => ApiError::PaymentRequired {
                code: "subscription_inactive",
                message: format!(
                    concat!(
                        "Your subscription does not allow generating posts ({status}). ",
                        automated!()
                    ),
                    status = status
                )
                .into(),
            },
            E::EntitlementsUnavailable(reason) => {
                ApiError::Unavailable(anyhow::anyhow!("entitlements unavailable: {reason}"))
            }
            E::ContentFlagged => unprocessable(
                "content_flagged",
                concat!(
                    "The topic or the generated post was flagged by moderation; try another \
                     topic. ",
                    automated!()
                ),
            ),
            E::ContentRefused => unprocessable(
                "content_refused",
                concat!(
                    "The AI declined to write about this topic; try another topic. ",
                    automated!()
                ),
            ),
            E::GeneratorUnavailable(source) => ApiError::bad_gateway(
                "generator_unavailable",
                "The post could not be generated right now; try again in a moment.",
                source,
            ),
            E::GeneratedImageUnusable(source) => ApiError::bad_gateway(
                "generator_unavailable",
                "The generated image was unusable; try again.",
                source,
            ),
            E::ImageRequired => unprocessable(
                "image_required",
                "Instagram needs an image; generate a post with an image to publish it.",
            ),
            E::ImageMissing => unprocessable(
                "image_missing",
                "The post's image is gone; generate it again.",
            ),
            E::ImageInvalid(source) => ApiError::Unprocessable {
                code: "image_invalid",
                message: source.to_string().into(),
                fields: FieldErrors::new(),
            },
            E::ImageChanged => unprocessable(
                "image_changed",
                "The stored image is not the one this post was generated with.",
            ),
            E::PublishingLimitReached { load, limit } => ApiError::conflict(
                "publishing_limit_reached",
                format!(
                    "This Instagram account already has {load} posts published or queued within \
                     24 hours of that time (the limit is {limit}); choose another time."
                ),
            ),
            E::Media(source) => ApiError::Unavailable(anyhow::Error::new(source)),
            E::Store(source) => source.into(),
            E::Internal(source) => ApiError::Internal(source),
        }
    }
}

/// 409 `publishing_in_progress`.
pub fn publishing_in_progress() -> ApiError {
    ApiError::conflict(
        "publishing_in_progress",
        "This post is being published right now; wait until it finishes.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: PostFlowError) -> String {
        match ApiError::from(error) {
            ApiError::PaymentRequired { message, .. } | ApiError::Unprocessable { message, .. } => {
                message.into_owned()
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn automated_refusals_say_so_and_name_the_review_request() {
        for error in [
            PostFlowError::QuotaExceeded {
                kind: QuotaKind::Posts,
                limit: 30,
            },
            PostFlowError::SubscriptionInactive {
                status: "canceled".to_owned(),
            },
            PostFlowError::ContentFlagged,
            PostFlowError::ContentRefused,
        ] {
            let text = message(error);
            assert!(text.contains("decided automatically"), "{text}");
            assert!(text.contains("POST /v1/me/requests"), "{text}");
        }
        assert!(
            message(PostFlowError::QuotaExceeded {
                kind: QuotaKind::Posts,
                limit: 30
            })
            .contains("quota of 30")
        );
    }
}
