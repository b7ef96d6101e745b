//! When and how long to wait before trying a failed call again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::HeaderMap;

/// How failed attempts are retried.
///
/// Retried: 429 (unless OpenAI says `insufficient_quota`), 408, 5xx, timeouts and connection
/// failures. Never retried: any other 4xx, such as 400 and 401. A 429 waits what `Retry-After`
/// (or OpenAI's `retry-after-ms`) says; everything else backs off exponentially with jitter.
///
/// ```
/// use std::time::Duration;
///
/// use kraftsoci_ai::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .with_max_attempts(5)
///     .with_initial_backoff(Duration::from_secs(1))
///     .with_max_retry_after(Duration::from_secs(60));
/// assert_eq!(patient.max_backoff(), Duration::from_secs(8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Attempts in total, the first included. Default 3. Zero is refused by
    /// [`OpenAiGenerator::new`](crate::OpenAiGenerator::new) with
    /// [`AiError::Config`](crate::AiError::Config).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The backoff before the second attempt; doubled for each later one. Default 500 ms.
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest backoff. Default 8 s.
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest `Retry-After` honoured. A longer demand ends the call at once with
    /// [`AiError::RateLimited`](crate::AiError::RateLimited), carrying the demanded wait, rather
    /// than holding the owner's request open. Default 30 s.
    pub fn with_max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Attempts in total, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff before the second attempt.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The longest backoff.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The longest `Retry-After` honoured.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
}

/// Why an attempt failed in a way that may pass on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transient {
    /// 429 without `insufficient_quota`.
    Throttled { retry_after: Option<Duration> },
    /// 408 or 5xx.
    Status(u16),
    /// The attempt's deadline passed.
    TimedOut,
    /// The connection failed or broke.
    Connection(String),
}

impl Transient {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Throttled { .. } => "status 429".to_owned(),
            Self::Status(status) => format!("status {status}"),
            Self::TimedOut => "the request timed out".to_owned(),
            Self::Connection(reason) => reason.clone(),
        }
    }
}

/// The extra wait added to a server-demanded `Retry-After`, so that many clients told the same
/// instant do not all come back at once.
const RETRY_AFTER_JITTER: Duration = Duration::from_millis(250);

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, or `None` when attempt `attempt` was the last one
    /// allowed (or the server asked for more patience than we have).
    pub(crate) fn delay_after(&self, attempt: u32, failure: &Transient) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let mut rng = rand::thread_rng();
        match failure {
            Transient::Throttled {
                retry_after: Some(wait),
            } => {
                if *wait > self.max_retry_after {
                    return None;
                }
                Some(*wait + rng.gen_range(Duration::ZERO..=RETRY_AFTER_JITTER))
            }
            _ => Some(self.backoff(attempt, rng.gen_range(0.0..=1.0))),
        }
    }

    /// Exponential backoff with "equal jitter": half the step is fixed, the other half random
    /// (`unit` in 0..=1), so retries spread out but never come back immediately.
    fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        let step = self
            .initial_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff);
        let half = step / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// How long the server asks us to wait: OpenAI's `retry-after-ms`, else `Retry-After` in
/// seconds or as an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn retry_after_is_read_in_seconds_milliseconds_or_as_a_date() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")]), now()),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")]), now()),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after-ms", "250"), ("retry-after", "9")]),
                now()
            ),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Tue, 03 Nov 2026 10:00:07 GMT")]),
                now()
            ),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Tue, 03 Nov 2026 09:00:00 GMT")]),
                now()
            ),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn unreadable_retry_after_headers_are_ignored() {
        for bad in ["soon", "-3", "NaN", ""] {
            assert_eq!(
                retry_after(&headers(&[("retry-after", bad)]), now()),
                None,
                "{bad}"
            );
        }
        assert_eq!(retry_after(&HeaderMap::new(), now()), None);
    }

    #[test]
    fn a_demanded_wait_is_honoured_with_a_little_jitter_on_top() {
        let policy = RetryPolicy::default();
        let throttled = Transient::Throttled {
            retry_after: Some(Duration::from_secs(2)),
        };
        for _ in 0..50 {
            let delay = policy.delay_after(1, &throttled).unwrap();
            assert!(delay >= Duration::from_secs(2));
            assert!(delay <= Duration::from_secs(2) + RETRY_AFTER_JITTER);
        }
    }

    #[test]
    fn a_wait_longer_than_we_accept_ends_the_retries() {
        let policy = RetryPolicy::default();
        let throttled = Transient::Throttled {
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(policy.delay_after(1, &throttled), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_keeps_half_of_each_step() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        };
        assert_eq!(policy.backoff(1, 0.0), Duration::from_millis(500));
        assert_eq!(policy.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(policy.backoff(2, 1.0), Duration::from_secs(2));
        assert_eq!(policy.backoff(3, 0.0), Duration::from_secs(2));
        assert_eq!(policy.backoff(4, 1.0), Duration::from_secs(5));
        assert_eq!(policy.backoff(40, 1.0), Duration::from_secs(5));
        for _ in 0..50 {
            let delay = policy.delay_after(2, &Transient::Status(503)).unwrap();
            assert!(delay >= Duration::from_secs(1) && delay <= Duration::from_secs(2));
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let policy = RetryPolicy::default();
        assert!(policy.delay_after(2, &Transient::TimedOut).is_some());
        assert_eq!(policy.delay_after(3, &Transient::TimedOut), None);
        let single = RetryPolicy {
            max_attempts: 1,
            ..policy
        };
        assert_eq!(single.delay_after(1, &Transient::Status(500)), None);
    }
}
