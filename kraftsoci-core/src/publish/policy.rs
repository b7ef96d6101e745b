//! The orchestration's timings and bounds, and why their defaults are what they are.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// Bounds, back-off and waits of the publish orchestration.
///
/// Recovery after a crash settles within **one lease plus [`PublishPolicy::reconcile_grace`]**:
/// the worker's lease (60 s by default in `kraftsoci-server`, `KRAFTSOCI_PUBLISH_LEASE`) frees
/// the job, and the next run reads the container: `PUBLISHED` settles at once; `FINISHED`
/// waits out the grace counted from the recorded send, then publishes the same container. With
/// the defaults that is at most 6 minutes, plus the Graph calls themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPolicy {
    /// Container-creation attempts per run on transient errors. Default 3.
    pub max_create_attempts: u32,
    /// The wait before a new container's first status read. Default 2 s: images usually finish
    /// processing in 1–5 s, so a read at once mostly answers `IN_PROGRESS` and costs a call.
    pub first_poll_after: Duration,
    /// Status polls per run before deferring. Default 10.
    pub max_polls: u32,
    /// First back-off delay (polls and retries). Default 1 s.
    pub initial_backoff: Duration,
    /// Largest back-off delay. Default 30 s.
    pub max_backoff: Duration,
    /// How long to wait before retrying when Meta gives no hint. Default 5 minutes.
    pub default_deferral: Duration,
    /// How long after a `media_publish` request its outcome is treated as open. Until then a
    /// container still `FINISHED` is left alone (Meta may still publish it); after it, the
    /// container's status is final and the same container is published again.
    ///
    /// Default 5 minutes, counted from when the request was sent: Meta is known to answer
    /// `media_publish` with an error after about 2 minutes while the post still goes live, and
    /// kraftsoci-meta's `media_publish` timeout is 120 s. Five minutes outlasts both with three
    /// minutes to spare; a shorter grace risks a second post, a longer one only delays.
    pub reconcile_grace: Duration,
    /// `media_publish` requests per container before the post fails with the retryable
    /// `publish_unconfirmed` (each later one only after the grace showed the earlier one had no
    /// effect). Default 3.
    pub max_publish_sends: u32,
    /// New containers per run after one `EXPIRED` or failed in `ERROR` for a reason worth a
    /// retry. Default 2.
    pub max_recreations: u32,
    /// How long a media URL Meta cannot fetch (or the [`crate::ports::MediaProbe`] finds
    /// unreachable) is retried with back-off before the post fails with the retryable
    /// `media_unreachable`. Default 5 minutes: long enough for the media host to restart,
    /// short enough that an owner hears about a real outage the same hour. Without a probe
    /// every retry creates a container, which counts against Meta's 400 a day.
    pub media_fetch_retry_for: Duration,
    /// How long after a post was seen live its media id and permalink are looked for (Meta's
    /// media listing can lag a publish) before it is settled without them. Default 15 minutes.
    pub media_lookup_for: Duration,
    /// The pause between two lookups while that goes on. Default 1 minute.
    pub media_lookup_every: Duration,
}

impl Default for PublishPolicy {
    fn default() -> Self {
        Self {
            max_create_attempts: 3,
            first_poll_after: Duration::from_secs(2),
            max_polls: 10,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            default_deferral: Duration::from_secs(300),
            reconcile_grace: Duration::from_secs(300),
            max_publish_sends: 3,
            max_recreations: 2,
            media_fetch_retry_for: Duration::from_secs(300),
            media_lookup_for: Duration::from_secs(900),
            media_lookup_every: Duration::from_secs(60),
        }
    }
}

impl PublishPolicy {
    /// Full-jitter exponential back-off: a random delay in `[0, min(max, initial·2^attempt)]`,
    /// never less than 10 ms.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        Duration::from_millis(rand::thread_rng().gen_range(10..=ceiling))
    }

    /// Exponential back-off with half of it jittered: a random delay in
    /// `[ceiling/2, ceiling]`, for waits that each cost a call to Meta (media fetch retries).
    pub fn spaced_backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        Duration::from_millis(rand::thread_rng().gen_range(ceiling / 2..=ceiling))
    }

    fn ceiling(&self, attempt: u32) -> u64 {
        let ceiling = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.max_backoff);
        u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(10)
    }
}

/// `at + duration`, saturating instead of overflowing.
pub(super) fn after(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|span| at.checked_add_signed(span))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at - duration`, saturating instead of overflowing.
pub(super) fn before(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|span| at.checked_sub_signed(span))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
