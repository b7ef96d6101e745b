//! The publish worker: takes queued publish jobs to Instagram through core's
//! [`PublishOrchestrator`](kraftsoci_core::PublishOrchestrator), exactly once per approval.
//!
//! It runs inside `serve` (beside the HTTP API, stopped with it) and alone as
//! `kraftsoci-server worker`; any number of processes may run it against one database.
//!
//! - **Claiming is exclusive.** Jobs are claimed with a lease, as many in one statement as the
//!   worker has free slots (PostgreSQL: `FOR UPDATE SKIP LOCKED LIMIT n`; SQLite: its single
//!   writer); the lease is renewed while a container is polled, and a dead worker's job is
//!   taken over once its lease runs out. Every write of the holder —
//!   each recovery point, the final outcome — is fenced by its claim token, so a worker that
//!   lost its lease can neither reach `media_publish` nor overwrite the new holder's work (see
//!   [`PublishQueue`](crate::store::PublishQueue)).
//! - **Consent first (P09, P32).** A job only publishes through the lifecycle's permit: the
//!   post must be approved for exactly its current content, the scheduled time must have come,
//!   and the owner must not have restricted publishing (P29); otherwise the job waits and
//!   nothing reaches Meta.
//! - **Never twice.** The post is saved as `publishing` before any call to Meta; the
//!   orchestration records `PublishSent` immediately before `media_publish` and reconciles by
//!   the container; it sends again only on the same container, once the reconcile grace has
//!   shown the earlier request had no effect.
//! - **Outcomes in one transaction** (with the recovery point the run held back, see
//!   `lease.rs`): published (job deleted), failed (job deleted; the owner may approve again), deferred (job re-queued with `run_after`; temporary Meta failures are
//!   bounded, quota and rate-limit waits are not), needs reconnect (post and connection marked,
//!   job parked and re-checked without calling Meta; Graph 190, P15).
//!
//! ```no_run
//! use kraftsoci_server::worker::{Worker, WorkerDeps};
//! use kraftsoci_server::{Application, config::Config};
//!
//! # async fn run() -> Result<(), kraftsoci_server::Error> {
//! let config = Config::development();
//! // Alone, as `kraftsoci-server worker` does it:
//! let deps = WorkerDeps::from_config(&config).await?;
//! let worker = Worker::new(deps, config.worker.clone());
//! worker.run_until(kraftsoci_server::shutdown_signal()).await;
//!
//! // Or one job at a time (tests, tools):
//! let app = Application::build(Config::development()).await?;
//! let worker = Worker::new(WorkerDeps::from_state(app.state()), Default::default());
//! if let Ok(Some(report)) = worker.run_once().await {
//!     println!("{}: {:?}", report.post, report.outcome);
//! }
//! # Ok(())
//! # }
//! ```

mod generation;
mod lease;
mod links;
mod probe;
mod runner;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{MediaProbe, SocialPublisher};
use kraftsoci_core::{Clock, PostId, QuotaBook, StoreError, TokenVault};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

pub use crate::config::WorkerConfig;
pub use generation::{
    GenerationReport, GenerationWorker, GenerationWorkerHandle, on_generation_settled,
};
pub use probe::{DEFAULT_PROBE_TIMEOUT, HttpMediaProbe};
pub use runner::{CONSENT_MISMATCH, RETRIES_EXHAUSTED};

use crate::media::PresignedMedia;
use crate::media_links::MediaLinks;
use crate::store::{ClaimedJob, JobId, Settled, Stores, WaitReason};
use lease::{HeldSteps, after};

/// What the worker needs from the rest of the server.
#[derive(Clone)]
pub struct WorkerDeps {
    /// The storage ports; the worker uses the queue, the journal, posts, accounts and
    /// connections.
    pub stores: Stores,
    /// Instagram: the Graph adapter, or the sandbox publisher in sandbox mode.
    pub publisher: Arc<dyn SocialPublisher>,
    /// Opens the connections' tokens (P10, P22).
    pub vault: Arc<TokenVault>,
    /// Signs the image links Meta's fetcher downloads (the API's `/media/` route), unless
    /// `presigned` is set.
    pub links: Arc<MediaLinks>,
    /// With `KRAFTSOCI_MEDIA_URL` on a bucket: Meta fetches the image from a URL presigned by
    /// the bucket, so an API restart does not fail a container.
    pub presigned: Option<Arc<PresignedMedia>>,
    /// Checks that each media URL answers before a container is created (the Graph
    /// publisher; `None` in sandbox mode, where nothing is fetched).
    pub probe: Option<Arc<dyn MediaProbe>>,
    /// How long those links work (`KRAFTSOCI_MEDIA_PUBLISH_TTL`, 24 h by default: a container
    /// may be created well before it is published).
    pub link_ttl: Duration,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WorkerDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerDeps")
            .field("stores", &self.stores)
            .field("links", &self.links)
            .field("presigned", &self.presigned)
            .field("probe", &self.probe.is_some())
            .finish_non_exhaustive()
    }
}

/// What happened to one claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Live on Instagram; the job is done.
    Published {
        /// Instagram's media id (unknown when confirmed by reconciliation).
        media_id: Option<String>,
    },
    /// Failed for good; the job is done and the owner sees why.
    Failed {
        /// The failure's code.
        code: String,
        /// Whether approving again may succeed.
        retryable: bool,
    },
    /// Back in the queue until `until`.
    Waiting {
        /// Not before this instant.
        until: DateTime<Utc>,
        /// Why.
        reason: WaitReason,
    },
    /// The post and its connection wait for the owner to reconnect; the job is parked.
    NeedsReconnect,
    /// Nothing to publish any more (withdrawn, edited, deleted, account closed); job done.
    Dropped {
        /// Why.
        reason: String,
    },
    /// The job cannot be processed (inconsistent data); kept as `failed` for an operator.
    Abandoned {
        /// Why.
        error: String,
    },
    /// Another worker took the job over; this one wrote nothing more.
    LeaseLost,
    /// Shutdown interrupted the job; it was released and resumes from its journal.
    Interrupted,
}

/// One claimed job and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// The job.
    pub job: JobId,
    /// Its post.
    pub post: PostId,
    /// The outcome.
    pub outcome: JobOutcome,
}

struct Inner {
    deps: WorkerDeps,
    config: WorkerConfig,
    id: String,
    /// The publishing quota, read at most once per account per reading age for all jobs.
    quotas: Arc<QuotaBook>,
    /// The recovery points the running jobs hold back for their settlements.
    held: Arc<HeldSteps>,
}

/// A publish worker. Cheap to clone; clones share their identity.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.inner.id)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker with a fresh identity (`{pid}-{random}`), written into every claim it makes.
    pub fn new(deps: WorkerDeps, config: WorkerConfig) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("{}-{}", std::process::id(), &random[..8]);
        Self {
            inner: Arc::new(Inner {
                deps,
                config,
                id,
                quotas: Arc::new(QuotaBook::default()),
                held: Arc::new(HeldSteps::default()),
            }),
        }
    }

    /// This worker's identity.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The settings.
    pub fn config(&self) -> &WorkerConfig {
        &self.inner.config
    }

    /// Claims the earliest due job, if any, and takes it as far as it goes now.
    ///
    /// # Errors
    /// [`StoreError`] when no job could be claimed, or when a job's processing failed on
    /// storage and it could not even be released (its lease then runs out and another claim
    /// resumes it).
    pub async fn run_once(&self) -> Result<Option<JobReport>, StoreError> {
        let Some(job) = self.claim(1).await?.pop() else {
            return Ok(None);
        };
        let outcome = self.work(&job).await?;
        Ok(Some(self.report(&job, outcome)))
    }

    /// Works on up to [`WorkerConfig::concurrency`] jobs at once until `shutdown` completes,
    /// claiming as many due jobs in one round trip as there are free slots; then lets running
    /// jobs finish for [`WorkerConfig::shutdown_grace`] and releases the others.
    pub async fn run_until(&self, shutdown: impl Future<Output = ()> + Send) {
        let (stop, stopped) = watch::channel(false);
        let dispatcher = tokio::spawn(self.clone().dispatch(stopped));
        tracing::info!(
            worker = self.id(),
            concurrency = self.inner.config.concurrency,
            "publish worker started"
        );
        shutdown.await;
        let _ = stop.send(true);
        if let Err(error) = dispatcher.await {
            tracing::error!(worker = self.id(), %error, "the publish worker's claim loop crashed");
        }
        tracing::info!(worker = self.id(), "publish worker stopped");
    }

    /// Runs the worker on its own task; stop it with [`WorkerHandle::stop`].
    pub fn spawn(&self) -> WorkerHandle {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = self.clone();
        let task = tokio::spawn(async move {
            worker
                .run_until(async {
                    let _ = stopped.await;
                })
                .await;
        });
        WorkerHandle { stop, task }
    }

    /// Claims up to `slots` due jobs in one round trip, under one claim token.
    async fn claim(&self, slots: u32) -> Result<Vec<ClaimedJob>, StoreError> {
        let now = self.inner.deps.clock.now();
        let token = format!("{}/{}", self.inner.id, uuid::Uuid::new_v4().simple());
        self.inner
            .deps
            .stores
            .queue
            .claim_publish_jobs(&token, now, after(now, self.inner.config.lease), slots)
            .await
    }

    /// Processes a claimed job; on a storage failure, releases it for a later retry.
    async fn work(&self, job: &ClaimedJob) -> Result<JobOutcome, StoreError> {
        let outcome = self.work_on(job).await;
        // Whatever happened, nothing of this run is held back any more.
        self.inner.held.forget(job.lease.job);
        outcome
    }

    async fn work_on(&self, job: &ClaimedJob) -> Result<JobOutcome, StoreError> {
        match self.process(job).await {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                tracing::warn!(job = %job.lease.job, post = %job.post, %error, "publish job hit a storage failure; releasing it");
                let until = after(self.inner.deps.clock.now(), self.inner.config.retry_after);
                match self
                    .release(job, until, Some(WaitReason::Conflict), error.to_string())
                    .await?
                {
                    Settled::LeaseLost => Ok(JobOutcome::LeaseLost),
                    Settled::Applied | Settled::PostChanged => Ok(JobOutcome::Waiting {
                        until,
                        reason: WaitReason::Conflict,
                    }),
                }
            }
        }
    }

    fn report(&self, job: &ClaimedJob, outcome: JobOutcome) -> JobReport {
        tracing::info!(worker = self.id(), job = %job.lease.job, post = %job.post, attempt = job.attempts, ?outcome, "publish job settled");
        JobReport {
            job: job.lease.job,
            post: job.post,
            outcome,
        }
    }

    /// The claim loop: waits for a free slot, claims as many due jobs as there are free slots
    /// in one round trip, runs each on its own task, and pauses for the poll interval when
    /// fewer were due than asked for.
    async fn dispatch(self, mut stopped: watch::Receiver<bool>) {
        let concurrency = self.inner.config.concurrency.max(1);
        let slots = Arc::new(Semaphore::new(
            usize::try_from(concurrency).unwrap_or(usize::MAX),
        ));
        let mut running = JoinSet::new();
        loop {
            while let Some(joined) = running.try_join_next() {
                self.log_crash(joined);
            }
            let first = tokio::select! {
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    // Never closed while this loop runs.
                    Err(_) => break,
                },
                () = until_stopped(&mut stopped) => break,
            };
            let mut permits = vec![first];
            while let Ok(permit) = Arc::clone(&slots).try_acquire_owned() {
                permits.push(permit);
            }
            let asked = u32::try_from(permits.len()).unwrap_or(concurrency);
            let pause = match self.claim(asked).await {
                Ok(jobs) => {
                    let short = jobs.len() < permits.len();
                    for (job, permit) in jobs.into_iter().zip(permits.drain(..)) {
                        let worker = self.clone();
                        let mut stopped = stopped.clone();
                        running.spawn(async move {
                            worker.work_until_stopped(&job, &mut stopped).await;
                            drop(permit);
                        });
                    }
                    if !short {
                        continue;
                    }
                    self.inner.config.poll_interval
                }
                Err(error) => {
                    tracing::warn!(worker = self.id(), %error, "could not claim publish jobs");
                    self.inner
                        .config
                        .poll_interval
                        .max(self.inner.config.retry_after / 10)
                }
            };
            // The slots not used are free again for the next claim.
            drop(permits);
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = until_stopped(&mut stopped) => break,
            }
        }
        while let Some(joined) = running.join_next().await {
            self.log_crash(joined);
        }
    }

    fn log_crash(&self, joined: Result<(), tokio::task::JoinError>) {
        if let Err(error) = joined {
            tracing::error!(worker = self.id(), %error, "a publish job's task crashed");
        }
    }

    async fn work_until_stopped(&self, job: &ClaimedJob, stopped: &mut watch::Receiver<bool>) {
        let work = self.work(job);
        tokio::pin!(work);
        let result = tokio::select! {
            result = &mut work => result,
            () = until_stopped(stopped) => {
                match tokio::time::timeout(self.inner.config.shutdown_grace, &mut work).await {
                    Ok(result) => result,
                    Err(_) => {
                        // Dropping the run is safe at any await point: every step is in the
                        // journal, and `PublishSent` is recorded before `media_publish`.
                        let now = self.inner.deps.clock.now();
                        let note = "interrupted by shutdown".to_owned();
                        let released = self.release(job, now, None, note).await;
                        self.inner.held.forget(job.lease.job);
                        match released {
                            Ok(_) => Ok(JobOutcome::Interrupted),
                            Err(error) => Err(error),
                        }
                    }
                }
            }
        };
        match result {
            Ok(outcome) => {
                self.report(job, outcome);
            }
            Err(error) => {
                tracing::error!(worker = self.id(), job = %job.lease.job, %error, "publish job left to its lease");
            }
        }
    }
}

/// Completes once the stop flag is set (or its sender is gone).
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// A worker running on its own task.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Asks the worker to stop and waits until it has (running jobs get the shutdown grace).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the publish worker task failed");
        }
    }
}
