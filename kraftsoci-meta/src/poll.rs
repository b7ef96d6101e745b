//! Waiting for a container: capped exponential backoff with jitter, on tokio's clock (so tests
//! run on paused time).

use std::time::Duration;

use kraftsoci_core::ports::{ContainerId, ContainerStatus};
use rand::Rng;
use secrecy::SecretString;

use crate::client::MetaClient;
use crate::config::PollPolicy;
use crate::error::{ErrorKind, MetaError};

/// What a container turned out to be once it stopped processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Readiness {
    /// `FINISHED`: ready for `media_publish`.
    Finished,
    /// `PUBLISHED`: already live; never publish it again.
    Published,
}

/// The wait before poll number `attempt + 1` (0-based): exponential, capped, then cut by a
/// random fraction of at most `policy.jitter`.
pub(crate) fn backoff_delay(policy: &PollPolicy, attempt: u32, rng: &mut impl Rng) -> Duration {
    let exponent = i32::try_from(attempt.min(64)).unwrap_or(64);
    let grown = policy.initial_delay.as_secs_f64() * policy.multiplier.max(1.0).powi(exponent);
    let capped = grown.min(policy.max_delay.as_secs_f64());
    let jitter = policy.jitter.clamp(0.0, 1.0);
    let cut = if jitter > 0.0 {
        rng.gen_range(0.0..=jitter)
    } else {
        0.0
    };
    Duration::try_from_secs_f64(capped * (1.0 - cut)).unwrap_or(policy.max_delay)
}

impl MetaClient {
    /// Reads the container until it is `FINISHED` or `PUBLISHED`.
    ///
    /// The first read happens at once, the next ones after [`PollPolicy`] waits. Transient read
    /// failures (timeouts, 5xx, transient codes) are absorbed while the budget lasts.
    ///
    /// # Errors
    /// [`MetaError::ContainerExpired`] on `EXPIRED` (create a new container),
    /// [`MetaError::ContainerFailed`] on `ERROR` with the classified reason,
    /// [`MetaError::NotReady`] when the waiting budget is spent, and any non-transient read
    /// failure as is.
    pub async fn wait_until_ready(
        &self,
        token: &SecretString,
        container: &ContainerId,
    ) -> Result<Readiness, MetaError> {
        let policy = self.config().poll_policy();
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            match self.container_status(token, container).await {
                Ok(ContainerStatus::Finished) => return Ok(Readiness::Finished),
                Ok(ContainerStatus::Published) => return Ok(Readiness::Published),
                Ok(ContainerStatus::Expired) => {
                    return Err(MetaError::ContainerExpired {
                        container: container.clone(),
                    });
                }
                Ok(ContainerStatus::Error { reason, .. }) => {
                    return Err(crate::publish::container_failed(container, &reason));
                }
                // A status this version does not know is waited on like "in progress", within
                // the same bound.
                Ok(ContainerStatus::InProgress | _) => {}
                Err(error) if error.kind() == ErrorKind::Transient => {
                    tracing::debug!(%container, %error, "container read failed; polling on");
                }
                Err(error) => return Err(error),
            }
            let remaining = policy.max_wait.saturating_sub(waited);
            if remaining.is_zero() {
                return Err(MetaError::NotReady {
                    container: container.clone(),
                    waited,
                });
            }
            let delay = backoff_delay(&policy, attempt, &mut rand::thread_rng()).min(remaining);
            tokio::time::sleep(delay).await;
            waited += delay;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn policy(jitter: f64) -> PollPolicy {
        PollPolicy {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            multiplier: 2.0,
            jitter,
            max_wait: Duration::from_secs(300),
        }
    }

    #[test]
    fn without_jitter_the_delays_double_up_to_the_cap() {
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<u64> = (0..7)
            .map(|n| backoff_delay(&policy(0.0), n, &mut rng).as_secs())
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10, 10]);
    }

    #[test]
    fn jitter_only_shortens_a_delay_and_by_at_most_its_fraction() {
        let mut rng = StdRng::seed_from_u64(42);
        let policy = policy(0.25);
        for attempt in 0..200 {
            let full = backoff_delay(
                &PollPolicy {
                    jitter: 0.0,
                    ..policy
                },
                attempt,
                &mut rng,
            );
            let cut = backoff_delay(&policy, attempt, &mut rng);
            assert!(cut <= full, "{cut:?} > {full:?}");
            assert!(cut >= full.mul_f64(0.75), "{cut:?} < 75% of {full:?}");
        }
    }

    #[test]
    fn jitter_spreads_delays_apart() {
        let mut rng = StdRng::seed_from_u64(1);
        let delays: std::collections::HashSet<Duration> = (0..20)
            .map(|_| backoff_delay(&policy(0.5), 3, &mut rng))
            .collect();
        assert!(delays.len() > 10);
    }

    #[test]
    fn a_huge_attempt_number_stays_at_the_cap() {
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(
            backoff_delay(&policy(0.0), u32::MAX, &mut rng),
            Duration::from_secs(10)
        );
    }
}
