//! How the publish worker runs (`KRAFTSOCI_WORKER*`): its lease, cadence and bounds.

use std::time::Duration;

use kraftsoci_core::PublishPolicy;

use super::ConfigError;
use super::loader::Loader;

/// The publish worker's settings (`KRAFTSOCI_WORKER_*`, see `docs/configuration.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// `KRAFTSOCI_WORKER`: whether `serve` runs the worker beside the HTTP API (default on;
    /// turn it off when dedicated `kraftsoci-server worker` processes publish).
    pub enabled: bool,
    /// `KRAFTSOCI_WORKER_CONCURRENCY`: jobs one process works on at once (default 2).
    pub concurrency: u32,
    /// `KRAFTSOCI_WORKER_LEASE`: how long a claim holds a job without renewal, in seconds
    /// (default 120). A worker that dies leaves its job to others once this runs out.
    pub lease: Duration,
    /// How often a running job's lease is renewed (default a third of the lease), so a long
    /// container poll never outlives it.
    pub renew_every: Duration,
    /// `KRAFTSOCI_WORKER_POLL_MS`: the pause after finding nothing to do, in milliseconds
    /// (default 1000).
    pub poll_interval: Duration,
    /// `KRAFTSOCI_WORKER_RECHECK`: how long a job waits before it is looked at again while
    /// its owner restricts publishing (P29) or its connection needs a reconnect, in seconds
    /// (default 900). Nothing is sent to Meta by such a check.
    pub recheck: Duration,
    /// The pause before retrying after a storage failure or a concurrent change (default 30 s).
    pub retry_after: Duration,
    /// `KRAFTSOCI_WORKER_MAX_RETRIES`: transient deferrals (Meta failing temporarily, a
    /// container that never finishes) after which the post fails with a retryable reason
    /// (default 5). Quota, rate-limit and unknown-outcome waits are not counted: they end on
    /// their own, and an unknown outcome must never be failed blindly.
    pub max_transient_deferrals: u32,
    /// On shutdown, how long a running job may take to finish before it is interrupted
    /// (default 10 s). Interrupting is safe: the next claim resumes from the journal.
    pub shutdown_grace: Duration,
    /// The orchestration's bounds and back-off (core's defaults).
    pub policy: PublishPolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let lease = Duration::from_secs(120);
        Self {
            enabled: true,
            concurrency: 2,
            lease,
            renew_every: lease / 3,
            poll_interval: Duration::from_secs(1),
            recheck: Duration::from_secs(900),
            retry_after: Duration::from_secs(30),
            max_transient_deferrals: 5,
            shutdown_grace: Duration::from_secs(10),
            policy: PublishPolicy::default(),
        }
    }
}

impl WorkerConfig {
    /// Sets the lease and renews it every third of it.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self.renew_every = lease / 3;
        self
    }
}

/// The publish worker's settings.
pub(super) fn load<F: Fn(&str) -> Option<String>>(
    loader: &Loader<F>,
) -> Result<WorkerConfig, ConfigError> {
    Ok(WorkerConfig {
        enabled: loader.flag("KRAFTSOCI_WORKER")?.unwrap_or(true),
        concurrency: loader.positive("KRAFTSOCI_WORKER_CONCURRENCY", 2)?,
        poll_interval: Duration::from_millis(u64::from(
            loader.positive("KRAFTSOCI_WORKER_POLL_MS", 1000)?,
        )),
        recheck: loader.seconds("KRAFTSOCI_WORKER_RECHECK", 900)?,
        max_transient_deferrals: loader.positive("KRAFTSOCI_WORKER_MAX_RETRIES", 5)?,
        ..WorkerConfig::default()
    }
    .with_lease(loader.seconds("KRAFTSOCI_WORKER_LEASE", 120)?))
}
