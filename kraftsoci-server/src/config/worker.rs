//! How the publish worker runs (`KRAFTSOCI_WORKER*`, `KRAFTSOCI_PUBLISH_*`): its lease,
//! cadence and bounds.
//!
//! Two settings decide how fast a post settles after its worker died, and both have a floor
//! that is about Meta, not about us:
//! - the **lease** (`KRAFTSOCI_PUBLISH_LEASE`, 60 s): a dead worker's job is free again once
//!   it runs out. It is renewed every third of it while a run goes on, so it only has to
//!   outlast one renewal interval plus a storage hiccup, not a Graph call;
//! - the **reconcile grace** (`KRAFTSOCI_PUBLISH_RECONCILE_GRACE`, 300 s): how long after a
//!   `media_publish` request a container still `FINISHED` is left alone. Meta is known to
//!   answer `media_publish` with an error after about 2 minutes while the post still goes live
//!   (`shared/specs/meta-graph.md`), so a grace under that risks a second post; production
//!   refuses less than [`MIN_PRODUCTION_RECONCILE_GRACE`].
//!
//! A crashed publish settles within one lease plus the grace (6 minutes with the defaults).

use std::time::Duration;

use kraftsoci_core::PublishPolicy;

use super::ConfigError;
use super::loader::Loader;

/// The shortest reconcile grace production accepts: Meta's delayed `media_publish` errors come
/// after about 2 minutes, and the grace must outlast them with a margin.
pub const MIN_PRODUCTION_RECONCILE_GRACE: Duration = Duration::from_secs(180);

/// The default lease, in seconds.
const DEFAULT_LEASE_SECS: u32 = 60;
/// The default reconcile grace, in seconds.
const DEFAULT_GRACE_SECS: u32 = 300;

/// The publish worker's settings (`KRAFTSOCI_WORKER_*`, see `docs/configuration.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// `KRAFTSOCI_WORKER`: whether `serve` runs the worker beside the HTTP API (default on;
    /// turn it off when dedicated `kraftsoci-server worker` processes publish).
    pub enabled: bool,
    /// `KRAFTSOCI_WORKER_CONCURRENCY`: jobs one process works on at once (default 2).
    pub concurrency: u32,
    /// `KRAFTSOCI_PUBLISH_LEASE` (formerly `KRAFTSOCI_WORKER_LEASE`, still read when the new
    /// name is unset): how long a claim holds a job without renewal, in seconds (default 60).
    /// A worker that dies leaves its job to others once this runs out; a running job renews it
    /// every third of it, so it never has to outlast a slow Graph call.
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
    /// The orchestration's bounds and back-off (core's defaults), with
    /// `KRAFTSOCI_PUBLISH_RECONCILE_GRACE` as [`PublishPolicy::reconcile_grace`] (seconds,
    /// default 300, at least 180 in production).
    pub policy: PublishPolicy,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let lease = Duration::from_secs(u64::from(DEFAULT_LEASE_SECS));
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
    /// The database connections the worker needs beside the API's: one per slot (a job's
    /// statements run one after the other) and one for the claims and lease renewals, so the
    /// pool grows with [`WorkerConfig::concurrency`] instead of slots queueing for it.
    pub fn connections(&self) -> u32 {
        self.concurrency.max(1).saturating_add(1)
    }

    /// Sets the lease and renews it every third of it.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self.renew_every = lease / 3;
        self
    }
}

/// The publish worker's settings; `production` refuses a reconcile grace shorter than
/// [`MIN_PRODUCTION_RECONCILE_GRACE`].
pub(super) fn load<F: Fn(&str) -> Option<String>>(
    loader: &Loader<F>,
    production: bool,
) -> Result<WorkerConfig, ConfigError> {
    let lease = if loader.get("KRAFTSOCI_PUBLISH_LEASE").is_none()
        && loader.get("KRAFTSOCI_WORKER_LEASE").is_some()
    {
        loader.seconds("KRAFTSOCI_WORKER_LEASE", DEFAULT_LEASE_SECS)?
    } else {
        loader.seconds("KRAFTSOCI_PUBLISH_LEASE", DEFAULT_LEASE_SECS)?
    };
    let reconcile_grace =
        loader.seconds("KRAFTSOCI_PUBLISH_RECONCILE_GRACE", DEFAULT_GRACE_SECS)?;
    if production && reconcile_grace < MIN_PRODUCTION_RECONCILE_GRACE {
        return Err(ConfigError::new(
            "KRAFTSOCI_PUBLISH_RECONCILE_GRACE",
            format!(
                "must be at least {} seconds in production: Meta may answer media_publish \
                 with an error after about 2 minutes while the post still goes live, and a \
                 shorter grace would publish it twice",
                MIN_PRODUCTION_RECONCILE_GRACE.as_secs()
            ),
        ));
    }
    Ok(WorkerConfig {
        enabled: loader.flag("KRAFTSOCI_WORKER")?.unwrap_or(true),
        concurrency: loader.positive("KRAFTSOCI_WORKER_CONCURRENCY", 2)?,
        poll_interval: Duration::from_millis(u64::from(
            loader.positive("KRAFTSOCI_WORKER_POLL_MS", 1000)?,
        )),
        recheck: loader.seconds("KRAFTSOCI_WORKER_RECHECK", 900)?,
        max_transient_deferrals: loader.positive("KRAFTSOCI_WORKER_MAX_RETRIES", 5)?,
        policy: PublishPolicy::default().with_reconcile_grace(reconcile_grace),
        ..WorkerConfig::default()
    }
    .with_lease(lease))
}
