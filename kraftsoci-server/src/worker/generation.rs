//! The generation worker: takes queued generation jobs (posts in `generating`) to `ready` or
//! `generation_failed` through [`PostFlow::run_generation`].
//!
//! It runs beside the publish worker — inside `serve`, and in `kraftsoci-server worker` — and
//! any number of processes may run it against one database. Claims are exclusive and leased
//! like publish jobs: the lease is renewed while the generator works, a dead worker's job is
//! taken over once its lease runs out, and every write of the holder is fenced by its claim
//! token, so a post gets exactly one result however many workers touched its job. The worker
//! only writes to the database: a slow client of the events stream never holds it.
//!
//! It also sweeps the idempotency keys of `POST /v1/posts` once their 24 hours are over.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kraftsoci_core::{Clock, PostId, StoreError};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::lease::after;
use crate::config::WorkerConfig;
use crate::notify::{Event, Notifier};
use crate::posts::{GenerationSettled, IDEMPOTENCY_WINDOW, PostFlow};
use crate::store::{ClaimedGeneration, GenerationLease, GenerationQueue};

/// How often the idempotency keys are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// One claimed generation job and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationReport {
    /// The post.
    pub post: PostId,
    /// Claims of its job so far, this one included.
    pub attempt: u32,
    /// The outcome.
    pub outcome: GenerationSettled,
}

struct Inner {
    flow: Arc<PostFlow>,
    queue: Arc<dyn GenerationQueue>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
    id: String,
    /// Tells the owner when generation fails (mail and notice, as they chose).
    notifier: Option<Notifier>,
}

/// A generation worker. Cheap to clone; clones share their identity.
#[derive(Clone)]
pub struct GenerationWorker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GenerationWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerationWorker")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

/// The one place a generation job settles for good (`ready` or `generation_failed`): hooks
/// that tell the owner (a "generation failed" notification, a webhook) belong here. It runs
/// after the outcome is committed, once per job, never for a worker that lost its lease.
pub async fn on_generation_settled(post: PostId, outcome: &GenerationSettled) {
    match outcome {
        GenerationSettled::Ready => tracing::info!(%post, "post generated"),
        GenerationSettled::Failed(failure) => {
            tracing::info!(%post, code = failure.code, "post generation failed");
        }
        GenerationSettled::LeaseLost => {}
    }
}

impl GenerationWorker {
    /// A worker over the post flow (which holds the generators, the quota and the stores) and
    /// the queue, with a fresh identity written into every claim.
    pub fn new(
        flow: Arc<PostFlow>,
        queue: Arc<dyn GenerationQueue>,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
    ) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            inner: Arc::new(Inner {
                flow,
                queue,
                clock,
                config,
                id: format!("gen-{}-{}", std::process::id(), &random[..8]),
                notifier: None,
            }),
        }
    }

    /// The same worker, telling owners through `notifier` when their post could not be
    /// generated (the "generation failed" event, once per job).
    pub fn with_notifier(self, notifier: Notifier) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                flow: Arc::clone(&inner.flow),
                queue: Arc::clone(&inner.queue),
                clock: Arc::clone(&inner.clock),
                config: inner.config.clone(),
                id: inner.id.clone(),
                notifier: Some(notifier),
            }),
        }
    }

    /// The worker of a running application's state.
    pub fn from_state(state: &crate::state::AppState, config: WorkerConfig) -> Self {
        Self::new(
            Arc::clone(&state.posts),
            Arc::clone(&state.stores.generation),
            Arc::clone(&state.clock),
            config,
        )
        .with_notifier(Notifier::new(&state.stores, Arc::clone(&state.clock)))
    }

    /// This worker's identity.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Claims the earliest due generation job, if any, and runs it to its end.
    ///
    /// # Errors
    /// [`StoreError`] when no job could be claimed, or when the job failed on storage and
    /// could not even be released (its lease then runs out and another claim resumes it).
    pub async fn run_once(&self) -> Result<Option<GenerationReport>, StoreError> {
        let Some(job) = self.claim().await? else {
            return Ok(None);
        };
        let outcome = self.work(&job).await?;
        Ok(Some(self.report(&job, outcome).await))
    }

    /// Claims a job with `claim` as token, as [`GenerationWorker::run_once`] does, without
    /// running it (tests that play a worker dying mid-generation).
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    #[doc(hidden)]
    pub async fn claim_only(&self) -> Result<Option<ClaimedGeneration>, StoreError> {
        self.claim().await
    }

    async fn claim(&self) -> Result<Option<ClaimedGeneration>, StoreError> {
        let now = self.inner.clock.now();
        let token = format!("{}/{}", self.inner.id, uuid::Uuid::new_v4().simple());
        self.inner
            .queue
            .claim_generation_job(&token, now, after(now, self.inner.config.lease))
            .await
    }

    /// Runs a claimed job while renewing its lease; on a storage failure, releases it for a
    /// later retry.
    async fn work(&self, job: &ClaimedGeneration) -> Result<GenerationSettled, StoreError> {
        let run = self.inner.flow.run_generation(&*self.inner.queue, job);
        let result = tokio::select! {
            result = run => result,
            () = self.hold(&job.lease) => Ok(GenerationSettled::LeaseLost),
        };
        match result {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                tracing::warn!(post = %job.post, %error, "generation job hit a storage failure; releasing it");
                let now = self.inner.clock.now();
                let until = after(now, self.inner.config.retry_after);
                if self
                    .inner
                    .queue
                    .release_generation_job(&job.lease, until, &error.to_string(), now)
                    .await?
                {
                    Err(error)
                } else {
                    Ok(GenerationSettled::LeaseLost)
                }
            }
        }
    }

    /// Renews the lease until it is lost; never returns while it holds.
    async fn hold(&self, lease: &GenerationLease) {
        let every = self.inner.config.renew_every.max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(every).await;
            let until = after(self.inner.clock.now(), self.inner.config.lease);
            match self.inner.queue.renew_generation_lease(lease, until).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job = %lease.job, "generation lease lost to another worker");
                    return;
                }
                Err(error) => {
                    tracing::warn!(job = %lease.job, %error, "generation lease could not be renewed");
                }
            }
        }
    }

    async fn report(
        &self,
        job: &ClaimedGeneration,
        outcome: GenerationSettled,
    ) -> GenerationReport {
        tracing::info!(worker = self.id(), post = %job.post, attempt = job.attempts, ?outcome, "generation job settled");
        on_generation_settled(job.post, &outcome).await;
        if let (GenerationSettled::Failed(failure), Some(notifier)) =
            (&outcome, &self.inner.notifier)
        {
            // After the outcome is committed; keyed by the job, so a job settles into one
            // notification whatever happens to this worker afterwards.
            let event = Event::generation_failed(
                job.owner,
                job.post,
                &job.lease.job.to_string(),
                &failure.message,
            );
            notifier.record_logged(&event).await;
        }
        GenerationReport {
            post: job.post,
            attempt: job.attempts,
            outcome,
        }
    }

    /// Deletes the idempotency keys whose 24 hours are over; how many.
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    pub async fn sweep_idempotency_keys(&self) -> Result<u64, StoreError> {
        let before = self.inner.clock.now() - IDEMPOTENCY_WINDOW;
        self.inner.queue.sweep_idempotency_keys(before).await
    }

    /// Runs [`WorkerConfig::concurrency`] claim loops until `shutdown` completes, then lets
    /// running jobs finish for [`WorkerConfig::shutdown_grace`] and releases the others.
    pub async fn run_until(&self, shutdown: impl Future<Output = ()> + Send) {
        let (stop, stopped) = watch::channel(false);
        let mut loops = JoinSet::new();
        for _ in 0..self.inner.config.concurrency.max(1) {
            loops.spawn(self.clone().claim_loop(stopped.clone()));
        }
        loops.spawn(self.clone().sweep_loop(stopped.clone()));
        tracing::info!(worker = self.id(), "generation worker started");
        shutdown.await;
        let _ = stop.send(true);
        while let Some(joined) = loops.join_next().await {
            if let Err(error) = joined {
                tracing::error!(worker = self.id(), %error, "a generation worker loop crashed");
            }
        }
        tracing::info!(worker = self.id(), "generation worker stopped");
    }

    /// Runs the worker on its own task; stop it with [`GenerationWorkerHandle::stop`].
    pub fn spawn(&self) -> GenerationWorkerHandle {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = self.clone();
        let task = tokio::spawn(async move {
            worker
                .run_until(async {
                    let _ = stopped.await;
                })
                .await;
        });
        GenerationWorkerHandle { stop, task }
    }

    async fn sweep_loop(self, mut stopped: watch::Receiver<bool>) {
        loop {
            match self.sweep_idempotency_keys().await {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "expired idempotency keys deleted"),
                Err(error) => tracing::warn!(%error, "idempotency keys could not be swept"),
            }
            tokio::select! {
                () = tokio::time::sleep(SWEEP_EVERY) => {}
                () = super::until_stopped(&mut stopped) => return,
            }
        }
    }

    async fn claim_loop(self, mut stopped: watch::Receiver<bool>) {
        loop {
            if *stopped.borrow() {
                return;
            }
            let pause = match self.claim().await {
                Ok(Some(job)) => {
                    self.work_until_stopped(&job, &mut stopped).await;
                    continue;
                }
                Ok(None) => self.inner.config.poll_interval,
                Err(error) => {
                    tracing::warn!(worker = self.id(), %error, "could not claim a generation job");
                    self.inner
                        .config
                        .poll_interval
                        .max(self.inner.config.retry_after / 10)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = super::until_stopped(&mut stopped) => return,
            }
        }
    }

    async fn work_until_stopped(
        &self,
        job: &ClaimedGeneration,
        stopped: &mut watch::Receiver<bool>,
    ) {
        let work = self.work(job);
        tokio::pin!(work);
        let result = tokio::select! {
            result = &mut work => result,
            () = super::until_stopped(stopped) => {
                match tokio::time::timeout(self.inner.config.shutdown_grace, &mut work).await {
                    Ok(result) => result,
                    Err(_) => {
                        // Nothing is committed before the outcome: the next claim starts over.
                        let now = self.inner.clock.now();
                        match self
                            .inner
                            .queue
                            .release_generation_job(&job.lease, now, "interrupted by shutdown", now)
                            .await
                        {
                            Ok(_) => Ok(GenerationSettled::LeaseLost),
                            Err(error) => Err(error),
                        }
                    }
                }
            }
        };
        match result {
            Ok(outcome) => {
                self.report(job, outcome).await;
            }
            Err(error) => {
                tracing::error!(worker = self.id(), post = %job.post, %error, "generation job left to its lease");
            }
        }
    }
}

/// A generation worker running on its own task.
#[derive(Debug)]
pub struct GenerationWorkerHandle {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl GenerationWorkerHandle {
    /// Asks the worker to stop and waits until it has.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the generation worker task failed");
        }
    }
}
