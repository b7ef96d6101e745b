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
///
/// Start from [`PublishPolicy::default`] and change what you need with the `with_*` setters;
/// they keep the invariants (every count at least 1, the largest back-off never below the
/// first). The getters of the same names read the values.
///
/// ```
/// use std::time::Duration;
/// use kraftsoci_core::PublishPolicy;
///
/// let policy = PublishPolicy::default()
///     .with_backoff(Duration::from_millis(500), Duration::from_secs(10))
///     .with_max_create_attempts(5);
/// assert_eq!(policy.max_backoff(), Duration::from_secs(10));
/// assert_eq!(policy.max_create_attempts(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPolicy {
    /// Container-creation attempts per run on transient errors. Default 3.
    pub(crate) max_create_attempts: u32,
    /// The wait before a new container's first status read. Default 2 s: images usually finish
    /// processing in 1–5 s, so a read at once mostly answers `IN_PROGRESS` and costs a call.
    pub(crate) first_poll_after: Duration,
    /// Status polls per run before deferring. Default 10.
    pub(crate) max_polls: u32,
    /// First back-off delay (polls and retries). Default 1 s.
    pub(crate) initial_backoff: Duration,
    /// Largest back-off delay. Default 30 s.
    pub(crate) max_backoff: Duration,
    /// How long to wait before retrying when Meta gives no hint. Default 5 minutes.
    pub(crate) default_deferral: Duration,
    /// How long after a `media_publish` request its outcome is treated as open. Until then a
    /// container still `FINISHED` is left alone (Meta may still publish it); after it, the
    /// container's status is final and the same container is published again.
    ///
    /// Default 5 minutes, counted from when the request was sent: Meta is known to answer
    /// `media_publish` with an error after about 2 minutes while the post still goes live, and
    /// kraftsoci-meta's `media_publish` timeout is 120 s. Five minutes outlasts both with three
    /// minutes to spare; a shorter grace risks a second post, a longer one only delays.
    pub(crate) reconcile_grace: Duration,
    /// `media_publish` requests per container before the post fails with the retryable
    /// `publish_unconfirmed` (each later one only after the grace showed the earlier one had no
    /// effect). Default 3.
    pub(crate) max_publish_sends: u32,
    /// New containers per run after one `EXPIRED` or failed in `ERROR` for a reason worth a
    /// retry. Default 2.
    pub(crate) max_recreations: u32,
    /// How long a media URL Meta cannot fetch (or the [`crate::ports::MediaProbe`] finds
    /// unreachable) is retried with back-off before the post fails with the retryable
    /// `media_unreachable`. Default 5 minutes: long enough for the media host to restart,
    /// short enough that an owner hears about a real outage the same hour. Without a probe
    /// every retry creates a container, which counts against Meta's 400 a day.
    pub(crate) media_fetch_retry_for: Duration,
    /// How long after a post was seen live its media id and permalink are looked for (Meta's
    /// media listing can lag a publish) before it is settled without them. Default 15 minutes.
    pub(crate) media_lookup_for: Duration,
    /// The pause between two lookups while that goes on. Default 1 minute.
    pub(crate) media_lookup_every: Duration,
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
    /// Container-creation attempts per run on transient errors (at least 1).
    pub fn max_create_attempts(&self) -> u32 {
        self.max_create_attempts
    }

    /// Sets [`max_create_attempts`](Self::max_create_attempts) (0 counts as 1).
    #[must_use]
    pub fn with_max_create_attempts(mut self, value: u32) -> Self {
        self.max_create_attempts = value.max(1);
        self
    }

    /// The wait before a new container's first status read.
    pub fn first_poll_after(&self) -> Duration {
        self.first_poll_after
    }

    /// Sets [`first_poll_after`](Self::first_poll_after).
    #[must_use]
    pub fn with_first_poll_after(mut self, value: Duration) -> Self {
        self.first_poll_after = value;
        self
    }

    /// Status polls per run before deferring (at least 1).
    pub fn max_polls(&self) -> u32 {
        self.max_polls
    }

    /// Sets [`max_polls`](Self::max_polls) (0 counts as 1).
    #[must_use]
    pub fn with_max_polls(mut self, value: u32) -> Self {
        self.max_polls = value.max(1);
        self
    }

    /// How long to wait before retrying when Meta gives no hint.
    pub fn default_deferral(&self) -> Duration {
        self.default_deferral
    }

    /// Sets [`default_deferral`](Self::default_deferral).
    #[must_use]
    pub fn with_default_deferral(mut self, value: Duration) -> Self {
        self.default_deferral = value;
        self
    }

    /// How long after a `media_publish` request its outcome is treated as open (see the field's reasoning in [`PublishPolicy`]).
    pub fn reconcile_grace(&self) -> Duration {
        self.reconcile_grace
    }

    /// Sets [`reconcile_grace`](Self::reconcile_grace).
    #[must_use]
    pub fn with_reconcile_grace(mut self, value: Duration) -> Self {
        self.reconcile_grace = value;
        self
    }

    /// `media_publish` requests per container before the post fails as `publish_unconfirmed` (at least 1).
    pub fn max_publish_sends(&self) -> u32 {
        self.max_publish_sends
    }

    /// Sets [`max_publish_sends`](Self::max_publish_sends) (0 counts as 1).
    #[must_use]
    pub fn with_max_publish_sends(mut self, value: u32) -> Self {
        self.max_publish_sends = value.max(1);
        self
    }

    /// New containers per run after one expired or failed for a retryable reason.
    pub fn max_recreations(&self) -> u32 {
        self.max_recreations
    }

    /// Sets [`max_recreations`](Self::max_recreations).
    #[must_use]
    pub fn with_max_recreations(mut self, value: u32) -> Self {
        self.max_recreations = value;
        self
    }

    /// How long a media URL Meta cannot fetch is retried before the post fails as `media_unreachable`.
    pub fn media_fetch_retry_for(&self) -> Duration {
        self.media_fetch_retry_for
    }

    /// Sets [`media_fetch_retry_for`](Self::media_fetch_retry_for).
    #[must_use]
    pub fn with_media_fetch_retry_for(mut self, value: Duration) -> Self {
        self.media_fetch_retry_for = value;
        self
    }

    /// How long after a post was seen live its media id and permalink are looked for.
    pub fn media_lookup_for(&self) -> Duration {
        self.media_lookup_for
    }

    /// Sets [`media_lookup_for`](Self::media_lookup_for).
    #[must_use]
    pub fn with_media_lookup_for(mut self, value: Duration) -> Self {
        self.media_lookup_for = value;
        self
    }

    /// The pause between two media lookups.
    pub fn media_lookup_every(&self) -> Duration {
        self.media_lookup_every
    }

    /// Sets [`media_lookup_every`](Self::media_lookup_every).
    #[must_use]
    pub fn with_media_lookup_every(mut self, value: Duration) -> Self {
        self.media_lookup_every = value;
        self
    }

    /// The first back-off delay (polls and retries).
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The largest back-off delay (never below [`initial_backoff`](Self::initial_backoff)).
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// Sets the first and the largest back-off delay; a largest below the first is raised to it.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setters_keep_counts_positive_and_the_backoff_ordered() {
        let policy = PublishPolicy::default()
            .with_max_create_attempts(0)
            .with_max_polls(0)
            .with_max_publish_sends(0)
            .with_backoff(Duration::from_secs(4), Duration::from_secs(1));
        assert_eq!(policy.max_create_attempts(), 1);
        assert_eq!(policy.max_polls(), 1);
        assert_eq!(policy.max_publish_sends(), 1);
        assert_eq!(policy.initial_backoff(), Duration::from_secs(4));
        assert_eq!(policy.max_backoff(), Duration::from_secs(4));
        let grace = PublishPolicy::default().with_reconcile_grace(Duration::from_secs(600));
        assert_eq!(grace.reconcile_grace(), Duration::from_secs(600));
        assert_eq!(grace.max_polls(), PublishPolicy::default().max_polls());
    }
}
