//! The password pool: bcrypt on its own threads behind a bounded admission count.
//!
//! bcrypt at cost 12 takes a core for a few hundred milliseconds. Run on tokio's blocking pool
//! with an unbounded wait for a permit, a storm of logins queued without limit (200 concurrent
//! logins waited up to 25 s) and took every core from the reads. Here:
//!
//! - the work runs on `threads` dedicated OS threads (by default `max(1, nproc − 1)`), so at
//!   least one core is left for everything else;
//! - at most `threads + depth` computations are in the pool at once (running or waiting).
//!   Admission is decided when the job is submitted, without waiting: a full pool refuses at
//!   once with [`HashError::Busy`], which the API answers 503 + `Retry-After` (a login that
//!   would wait longer than a client does is better refused while the client can retry).
//!
//! Counting running and waiting jobs together makes admission independent of thread timing:
//! with one thread and a depth of one, two jobs are always admitted and a third is always
//! refused, whether or not the thread has picked the first one up yet.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

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

/// A fixed set of threads running submitted closures, at most `threads + depth` at once.
pub struct HashPool {
    sender: Mutex<mpsc::Sender<Job>>,
    threads: usize,
    capacity: usize,
    admitted: Arc<AtomicUsize>,
    refused: AtomicU64,
}

impl fmt::Debug for HashPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPool")
            .field("threads", &self.threads)
            .field("capacity", &self.capacity)
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
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("kraftsoci-bcrypt-{n}"))
                .spawn(move || {
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
            capacity: threads + depth,
            admitted: Arc::new(AtomicUsize::new(0)),
            refused: AtomicU64::new(0),
        })
    }

    /// The number of threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Jobs admitted at once at most: the threads plus the queue depth.
    pub fn capacity(&self) -> usize {
        self.capacity
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(move |slot| {
            let result = work();
            // Freed before answering: a caller that has its answer finds its slot free again.
            drop(slot);
            // A dropped receiver (the request went away) needs no answer.
            let _ = tx.send(result);
        })?;
        rx.await
            .map_err(|_| HashError::Failed(anyhow::anyhow!("password hashing job failed")))
    }

    /// Admits and queues `job` without waiting for it. The job receives its admission slot and
    /// frees it by dropping it (also when it panics: the slot drops while unwinding).
    fn submit(&self, job: impl FnOnce(Slot) + Send + 'static) -> Result<(), HashError> {
        let admitted = self.admitted.fetch_add(1, Ordering::AcqRel);
        if admitted >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(HashError::Busy);
        }
        let slot = Slot(Arc::clone(&self.admitted));
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
        self.submit(move |slot| {
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

/// An admission slot; frees itself when dropped.
struct Slot(Arc<AtomicUsize>);

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
