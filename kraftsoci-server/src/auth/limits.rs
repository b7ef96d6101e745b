//! Rate limiting (GCRA) for the authentication routes.
//!
//! A small generic cell rate algorithm rather than `tower_governor`: time here comes from the
//! [`Clock`] port, so tests can prove that a throttled user gets back in once the bucket
//! refills, without sleeping; and the key is the client address as [`client_ip`] resolves it,
//! so a spoofed `X-Forwarded-For` from an untrusted peer cannot buy a fresh bucket.
//!
//! Two limiters guard `/v1/auth/*` (see [`AuthLimits`]): one per client address (many
//! accounts from one address), one per account email on login and reset (one account from
//! many addresses). Both throttle rather than lock: a bucket refills by itself, so an
//! attacker cannot lock the real user out for longer than the refill time. State is per
//! process; several replicas each keep their own.
//!
//! [`client_ip`]: crate::http::client::client_ip

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use kraftsoci_core::Clock;

use crate::config::RateLimit;
use crate::error::ApiError;

/// Above this many keys, buckets that have fully refilled are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// A keyed GCRA limiter.
pub struct RateLimiter<K> {
    interval: Duration,
    tolerance: Duration,
    clock: Arc<dyn Clock>,
    /// Per key, the theoretical arrival time of the next request.
    tats: Mutex<HashMap<K, DateTime<Utc>>>,
}

impl<K> std::fmt::Debug for RateLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("interval", &self.interval)
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// A limiter allowing `rate.burst` requests at once, then one per `rate.refill`.
    pub fn new(rate: RateLimit, clock: Arc<dyn Clock>) -> Self {
        let interval = Duration::from_std(rate.refill).unwrap_or(Duration::seconds(1));
        Self {
            interval,
            tolerance: interval * (rate.burst.max(1) as i32 - 1),
            clock,
            tats: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`.
    ///
    /// # Errors
    /// The wait until a request would be allowed, when the bucket is empty (the refused
    /// request is not counted).
    pub fn check(&self, key: K) -> Result<(), Duration> {
        let now = self.clock.now();
        let mut tats = self.tats.lock().unwrap_or_else(|e| e.into_inner());
        if tats.len() > PRUNE_ABOVE {
            tats.retain(|_, tat| *tat > now);
        }
        let tat = tats.get(&key).copied().unwrap_or(now).max(now);
        let allowed_at = tat - self.tolerance;
        if now < allowed_at {
            return Err(allowed_at - now);
        }
        tats.insert(key, tat + self.interval);
        Ok(())
    }
}

/// The limiters of the authentication routes.
#[derive(Debug)]
pub struct AuthLimits {
    /// Per client address, on every `/v1/auth/*` request.
    pub per_ip: RateLimiter<IpAddr>,
    /// Per account email, on login and password-reset requests.
    pub per_account: RateLimiter<String>,
}

impl AuthLimits {
    /// Both limiters on one clock.
    pub fn new(per_ip: RateLimit, per_account: RateLimit, clock: Arc<dyn Clock>) -> Self {
        Self {
            per_ip: RateLimiter::new(per_ip, Arc::clone(&clock)),
            per_account: RateLimiter::new(per_account, clock),
        }
    }

    /// Counts an attempt on the account `email` (already normalized).
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] when its bucket is empty.
    pub fn check_account(&self, kind: &str, email: &str) -> Result<(), ApiError> {
        self.per_account
            .check(format!("{kind}:{email}"))
            .map_err(rate_limited)
    }
}

/// 429 with the wait rounded up to whole seconds.
pub(crate) fn rate_limited(wait: Duration) -> ApiError {
    // Round up: retrying after a truncated wait would be refused again.
    let millis = wait.num_milliseconds().max(0);
    ApiError::RateLimited {
        retry_after_secs: u64::try_from((millis + 999) / 1000).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use kraftsoci_core::ManualClock;

    use super::*;

    fn limiter(burst: u32, refill_secs: u64) -> (RateLimiter<&'static str>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let rate = RateLimit {
            burst,
            refill: std::time::Duration::from_secs(refill_secs),
        };
        (RateLimiter::new(rate, clock.clone()), clock)
    }

    #[test]
    fn a_burst_is_allowed_then_one_request_per_interval() {
        let (limiter, clock) = limiter(3, 10);
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        let wait = limiter.check("a").unwrap_err();
        assert_eq!(wait, Duration::seconds(10));
        assert!(limiter.check("b").is_ok(), "keys have their own buckets");
        clock.advance(Duration::seconds(10));
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_err());
    }

    #[test]
    fn refused_requests_do_not_extend_the_wait() {
        let (limiter, clock) = limiter(1, 60);
        assert!(limiter.check("a").is_ok());
        for _ in 0..100 {
            assert!(limiter.check("a").is_err());
        }
        clock.advance(Duration::seconds(60));
        assert!(
            limiter.check("a").is_ok(),
            "hammering does not lock the key out"
        );
    }

    #[test]
    fn a_fully_refilled_bucket_allows_the_whole_burst_again() {
        let (limiter, clock) = limiter(2, 5);
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        clock.advance(Duration::hours(1));
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        assert!(
            limiter.check("a").is_err(),
            "idle time does not bank beyond the burst"
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        assert!(matches!(
            rate_limited(Duration::milliseconds(1001)),
            ApiError::RateLimited {
                retry_after_secs: 2
            }
        ));
    }
}
