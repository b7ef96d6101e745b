//! The password pool: bcrypt on its own threads behind a bounded admission count.
//!
//! bcrypt at cost 12 takes a core for a few hundred milliseconds. Run on tokio's blocking pool
//! with an unbounded wait for a permit, a storm of logins queued without limit (200 concurrent
//! logins waited up to 25 s) and took every core from the reads. Here:
//!
//! - the work runs on `threads` dedicated OS threads (by default `max(1, nproc − 1)`), so at
//!   least one core is left for everything else;
//! - a bounded number of computations are in the pool at once (running or waiting).
//!   Admission is decided when the job is submitted, without waiting: a full pool refuses at
//!   once with [`HashError::Busy`], which the API answers 503 + `Retry-After` (a login that
//!   would wait longer than a client does is better refused while the client can retry).
//!
//! The bound is either fixed (`threads + depth`, [`HashPool::start`]) or follows the time a
//! hash takes ([`HashPool::with_budget`]): the pool keeps a moving average of how long its
//! jobs take on their threads — under load too, so it includes the time the threads wait for
//! a core — and admits a job only while the jobs ahead of it and the job itself fit in the
//! time budget: `threads × max(1, budget ÷ average)` in the pool at once. A job admitted into
//! a pool that keeps its bound is therefore answered within about the budget, whatever the
//! cost factor and however busy the machine is; when one hash alone takes longer than the
//! budget, one job per thread is still admitted.
//!
//! Counting running and waiting jobs together makes admission independent of thread timing:
//! with one thread and a depth of one, two jobs are always admitted and a third is always
//! refused, whether or not the thread has picked the first one up yet.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::error::ApiError;

/// Why the pool did not run a job.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every thread is busy and the queue is full: refused without waiting.
    #[error("the password pool is full")]
    Busy,
    /// The pool is shut down, the job panicked, or bcrypt failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// How many seconds a refused caller is told to wait before retrying.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Overloaded {
                retry_after_secs: BUSY_RETRY_AFTER_SECS,
            },
            HashError::Failed(source) => Self::Internal(source),
        }
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of threads running submitted closures, a bounded number at once.
pub struct HashPool {
    sender: Mutex<mpsc::Sender<Job>>,
    threads: usize,
    bound: Bound,
    admitted: Arc<AtomicUsize>,
    refused: AtomicU64,
}

/// How many jobs the pool admits at once.
#[derive(Debug)]
enum Bound {
    /// `threads + depth`.
    Fixed(usize),
    /// As many as fit in `budget` at the average time of a job (see the module docs).
    Budget {
        budget: Duration,
        /// The moving average of a job's time on its thread, in nanoseconds.
        average_nanos: Arc<AtomicU64>,
    },
}

/// The most jobs a time budget admits per thread (fast hashing at a test's cost 4).
const MAX_PER_THREAD: usize = 1024;

/// Jobs admitted at once by `threads` threads when a job takes `average` and every admitted
/// job must be done within `budget`: `threads × max(1, ⌊budget ÷ average⌋)`, at most
/// [`MAX_PER_THREAD`] per thread.
fn budget_capacity(threads: usize, budget: Duration, average: Duration) -> usize {
    let per_thread = budget.as_nanos() / average.as_nanos().max(1);
    let per_thread = usize::try_from(per_thread)
        .unwrap_or(usize::MAX)
        .clamp(1, MAX_PER_THREAD);
    threads.saturating_mul(per_thread)
}

impl fmt::Debug for HashPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPool")
            .field("threads", &self.threads)
            .field("capacity", &self.capacity())
            .field("in_pool", &self.in_pool())
            .field("refused", &self.refused())
            .finish()
    }
}

/// The default thread count: every core but one, at least one.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

impl HashPool {
    /// Starts `threads` threads (at least one) admitting `depth` waiting jobs beyond them.
    /// The threads end when the pool is dropped, after finishing the jobs already admitted.
    ///
    /// # Errors
    /// When the operating system refuses a thread.
    pub fn start(threads: usize, depth: usize) -> anyhow::Result<Self> {
        let threads = threads.max(1);
        Self::spawn(threads, Bound::Fixed(threads + depth))
    }

    /// Starts `threads` threads (at least one) admitting as many jobs as they finish within
    /// `budget`, at the moving average of a job's time, which starts at `first_estimate`
    /// (a job timed before, e.g. at start-up) and follows every job run since.
    ///
    /// # Errors
    /// When the operating system refuses a thread.
    pub fn with_budget(
        threads: usize,
        budget: Duration,
        first_estimate: Duration,
    ) -> anyhow::Result<Self> {
        let nanos = u64::try_from(first_estimate.as_nanos()).unwrap_or(u64::MAX);
        Self::spawn(
            threads.max(1),
            Bound::Budget {
                budget,
                average_nanos: Arc::new(AtomicU64::new(nanos)),
            },
        )
    }

    fn spawn(threads: usize, bound: Bound) -> anyhow::Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("kraftsoci-bcrypt-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while taking the next job, not while running it.
                        let next = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match next {
                            // A panicking job fails its caller (its answer channel drops) but
                            // must not take the thread with it.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => break,
                        }
                    }
                })
                .context("could not start a password hashing thread")?;
        }
        Ok(Self {
            sender: Mutex::new(sender),
            threads,
            bound,
            admitted: Arc::new(AtomicUsize::new(0)),
            refused: AtomicU64::new(0),
        })
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Jobs admitted at once at most, now: the threads plus the queue depth, or what the
    /// threads finish within the time budget at the current average time of a job.
    pub fn capacity(&self) -> usize {
        match &self.bound {
            Bound::Fixed(capacity) => *capacity,
            Bound::Budget {
                budget,
                average_nanos,
            } => budget_capacity(
                self.threads,
                *budget,
                Duration::from_nanos(average_nanos.load(Ordering::Relaxed)),
            ),
        }
    }

    /// The moving average of a job's time on its thread, when the bound follows it.
    pub fn average_job_time(&self) -> Option<Duration> {
        match &self.bound {
            Bound::Fixed(_) => None,
            Bound::Budget { average_nanos, .. } => {
                Some(Duration::from_nanos(average_nanos.load(Ordering::Relaxed)))
            }
        }
    }

    /// Jobs admitted and not yet finished (running or waiting).
    pub fn in_pool(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// Jobs refused because the pool was full, since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Runs `work` on a pool thread and waits for its result; refuses at once when full.
    ///
    /// # Errors
    /// [`HashError::Busy`] when `capacity` jobs are already in the pool;
    /// [`HashError::Failed`] when the pool is gone or `work` panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let admission = self.admit()?;
        self.run_admitted(admission, work).await
    }

    /// Takes a place in the pool now, for a job that will be known later: a caller that must
    /// read something before it can hash (the stored hash of a login) asks first, so that a
    /// full pool refuses it before that read is made — the excess of a login storm then costs
    /// no database round trip and is answered at once. The place counts against the
    /// capacity like a job in the pool, and frees itself when the [`Admission`] is dropped
    /// unused (the read failed).
    ///
    /// # Errors
    /// [`HashError::Busy`] when `capacity` jobs (and admissions) are already in the pool.
    pub fn admit(&self) -> Result<Admission, HashError> {
        let admitted = self.admitted.fetch_add(1, Ordering::AcqRel);
        if admitted >= self.capacity() {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(HashError::Busy);
        }
        Ok(Admission {
            slot: Slot(Arc::clone(&self.admitted)),
        })
    }

    /// Runs `work` in the place `admission` holds and waits for its result; never refused
    /// for capacity (the place was taken by [`HashPool::admit`]).
    ///
    /// # Errors
    /// [`HashError::Failed`] when the pool is gone or `work` panicked.
    pub async fn run_admitted<T: Send + 'static>(
        &self,
        admission: Admission,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let average = match &self.bound {
            Bound::Budget { average_nanos, .. } => Some(Arc::clone(average_nanos)),
            Bound::Fixed(_) => None,
        };
        self.submit(admission, move |slot| {
            let started = Instant::now();
            let result = work();
            if let Some(average) = average {
                record_job_time(&average, started.elapsed());
            }
            // Freed before answering: a caller that has its answer finds its slot free again.
            drop(slot);
            // A dropped receiver (the request went away) needs no answer.
            let _ = tx.send(result);
        })?;
        rx.await
            .map_err(|_| HashError::Failed(anyhow::anyhow!("password hashing job failed")))
    }

    /// Queues `job` in the place `admission` holds, without waiting for it. The job receives
    /// the admission's slot and frees it by dropping it (also when it panics: the slot drops
    /// while unwinding).
    fn submit(
        &self,
        admission: Admission,
        job: impl FnOnce(Slot) + Send + 'static,
    ) -> Result<(), HashError> {
        let slot = admission.slot;
        let job: Job = Box::new(move || job(slot));
        self.sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| HashError::Failed(anyhow::anyhow!("the password pool is shut down")))
    }

    /// Occupies one admission slot with a job that runs until the returned [`Hold`] is
    /// dropped. For tests and drills that need a full pool deterministically: with one thread
    /// and a depth of one, two holds fill it. Drop holds in the order they were taken (a
    /// later hold waits behind an earlier one on a single thread).
    ///
    /// # Errors
    /// [`HashError::Busy`] when the pool is already full.
    #[doc(hidden)]
    pub fn hold(&self) -> Result<Hold, HashError> {
        let (release, wait) = mpsc::channel::<()>();
        let (ended, on_end) = mpsc::channel::<()>();
        let admission = self.admit()?;
        self.submit(admission, move |slot| {
            // Returns when the `Hold` drops its sender.
            let _ = wait.recv();
            drop(slot);
            let _ = ended.send(());
        })?;
        Ok(Hold {
            release: Some(release),
            ended: on_end,
        })
    }
}

/// How much lower the pool's threads run than the thread that starts them, in nice steps,
/// where the idle policy below cannot be had.
const NICER_BY: i32 = 10;
/// The lowest priority there is.
const MAX_NICE: i32 = 19;

/// Runs the calling thread (a password thread) under Linux's idle scheduling policy
/// (`SCHED_IDLE`): it gets a core only when nothing else of the machine wants it, and a read
/// that becomes runnable preempts it at once rather than waiting out its time slice. A login
/// storm therefore slows the logins — which the time budget then admits fewer of — rather
/// than every other request. Where the policy cannot be set (another system, a sandbox
/// forbidding the call), the thread's nice value is raised by [`NICER_BY`] instead (never
/// lowered); failing that too only loses the preference.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        );
        match idle {
            Ok(()) => return,
            Err(error) => {
                tracing::debug!(?error, "no idle scheduling for the password thread");
            }
        }
        use rustix::process::{getpriority_process, setpriority_process};
        let me = Some(rustix::thread::gettid());
        let lowered = getpriority_process(me).and_then(|nice| {
            let target = nice.saturating_add(NICER_BY).min(MAX_NICE);
            if target > nice {
                setpriority_process(me, target)
            } else {
                Ok(())
            }
        });
        if let Err(error) = lowered {
            tracing::debug!(%error, "could not lower the password thread's priority");
        }
    }
}

/// Folds one job's time into the moving average (weight 1/8: a storm moves it within a few
/// jobs, one slow job does not double it).
fn record_job_time(average: &AtomicU64, took: Duration) {
    let sample = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
    let _ = average.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
        Some(old - old / 8 + sample / 8)
    });
}

/// An admission slot; frees itself when dropped.
struct Slot(Arc<AtomicUsize>);

/// A place in the pool taken by [`HashPool::admit`] before its job is known; frees itself
/// when dropped unused.
#[must_use = "the place is freed when the admission is dropped"]
pub struct Admission {
    slot: Slot,
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission").finish_non_exhaustive()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A slot of the pool held by [`HashPool::hold`]. Dropping it ends the job and waits until
/// the slot is free again (a hold waiting behind another job waits for that job first), so
/// that what a test does next finds the pool as it expects.
#[derive(Debug)]
pub struct Hold {
    release: Option<mpsc::Sender<()>>,
    ended: mpsc::Receiver<()>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        drop(self.release.take());
        // Err: the pool is gone, nothing to wait for.
        let _ = self.ended.recv();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_refuses_at_once_and_admits_again_when_a_job_ends() {
        let pool = HashPool::start(1, 1).unwrap();
        let first = pool.hold().unwrap();
        let second = pool.hold().unwrap();
        assert_eq!(pool.in_pool(), 2);
        assert!(matches!(pool.run(|| 1).await, Err(HashError::Busy)));
        assert!(matches!(pool.hold(), Err(HashError::Busy)));
        assert_eq!(pool.refused(), 2);
        drop(first);
        drop(second);
        // Both holds end; the thread is free again and the job runs.
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
        assert_eq!(pool.in_pool(), 0);
    }

    #[tokio::test]
    async fn an_admitted_job_waits_for_a_thread_and_then_runs() {
        let pool = HashPool::start(1, 1).unwrap();
        let hold = pool.hold().unwrap();
        let waiting = pool.run(|| "done");
        tokio::pin!(waiting);
        // Admitted (the second slot) but not runnable while the thread is held.
        assert!(
            futures_poll_once(waiting.as_mut()).await.is_none(),
            "runs only after the hold ends"
        );
        assert!(matches!(pool.run(|| "third").await, Err(HashError::Busy)));
        drop(hold);
        assert_eq!(waiting.await.unwrap(), "done");
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_caller_and_frees_its_slot() {
        let pool = HashPool::start(1, 0).unwrap();
        let result = pool.run(|| -> u32 { panic!("bcrypt exploded") }).await;
        assert!(matches!(result, Err(HashError::Failed(_))));
        assert_eq!(pool.in_pool(), 0);
        assert_eq!(pool.run(|| 3).await.unwrap(), 3);
    }

    #[test]
    fn a_time_budget_admits_what_the_threads_finish_within_it() {
        let budget = Duration::from_millis(1500);
        // Cost 12 at 250 ms: six per thread, the sixth done after 1.5 s.
        assert_eq!(budget_capacity(1, budget, Duration::from_millis(250)), 6);
        assert_eq!(budget_capacity(3, budget, Duration::from_millis(250)), 18);
        // On a busy machine a hash takes 560 ms: two per thread (the old floor of four
        // waiting jobs made the fifth wait 2.8 s).
        assert_eq!(budget_capacity(1, budget, Duration::from_millis(560)), 2);
        // Slower than the budget: still one per thread; fast hashing is capped.
        assert_eq!(budget_capacity(2, budget, Duration::from_secs(2)), 2);
        assert_eq!(
            budget_capacity(2, budget, Duration::from_micros(500)),
            2 * MAX_PER_THREAD
        );
        assert_eq!(budget_capacity(1, budget, Duration::ZERO), MAX_PER_THREAD);
    }

    #[test]
    fn the_average_follows_the_jobs_times() {
        let average = AtomicU64::new(Duration::from_millis(100).as_nanos() as u64);
        for _ in 0..40 {
            record_job_time(&average, Duration::from_millis(500));
        }
        let now = Duration::from_nanos(average.load(Ordering::Relaxed));
        assert!(
            now > Duration::from_millis(490) && now <= Duration::from_millis(501),
            "{now:?}"
        );
    }

    #[tokio::test]
    async fn a_budgeted_pool_admits_less_as_its_jobs_take_longer() {
        let pool = HashPool::with_budget(1, Duration::from_millis(200), Duration::from_millis(50))
            .unwrap();
        assert_eq!(pool.capacity(), 4);
        let holds: Vec<_> = (0..4).map(|_| pool.hold().unwrap()).collect();
        assert!(matches!(pool.hold(), Err(HashError::Busy)));
        drop(holds);
        // Eight jobs of at least 100 ms bring the average above 80 ms (a sleep never ends
        // early): at most two fit in 200 ms.
        for _ in 0..8 {
            pool.run(|| std::thread::sleep(Duration::from_millis(100)))
                .await
                .unwrap();
        }
        let capacity = pool.capacity();
        assert!((1..=2).contains(&capacity), "{:?}", pool.average_job_time());
        let holds: Vec<_> = (0..capacity).map(|_| pool.hold().unwrap()).collect();
        assert!(matches!(pool.run(|| ()).await, Err(HashError::Busy)));
        drop(holds);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_pool_threads_run_under_the_idle_scheduling_policy() {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy,
        };
        let here = thread_schedule_policy().unwrap();
        let pool = HashPool::start(1, 0).unwrap();
        let there = pool.run(thread_schedule_policy).await.unwrap().unwrap();
        assert_eq!(
            there,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
            "from {here:?}"
        );
        // The thread that started the pool keeps its own.
        assert_eq!(thread_schedule_policy().unwrap(), here);
    }

    #[test]
    fn the_default_leaves_a_core_free() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(default_threads(), cores.saturating_sub(1).max(1));
    }

    /// Polls a future once; `None` when it is pending.
    async fn futures_poll_once<F: std::future::Future + Unpin>(future: F) -> Option<F::Output> {
        let mut future = future;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
                std::task::Poll::Ready(value) => Some(value),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
