//! The usage log's writer (P06), off the request path. The middleware that builds the events
//! is `http::usage`.
//!
//! A request used to wait for its own `INSERT INTO usage_log` (a committed statement, a WAL
//! flush on PostgreSQL) before its response left. Now the middleware hands the event to a
//! bounded channel and returns; one task drains the channel into batch `INSERT`s (on
//! PostgreSQL one `UNNEST` statement per batch whose commit does not wait for the WAL flush;
//! on SQLite multi-row `INSERT`s; see `Dialect::insert_usage` in `store/dialect.rs`):
//!
//! - it writes as soon as [`BATCH`] events are waiting, or [`LINGER`] after the first event
//!   of a batch arrived, whichever comes first;
//! - when the channel is full (the database is slower than the traffic), the event is
//!   dropped and counted ([`UsageWriter::dropped`]); a request never waits for the log;
//! - [`UsageWriter::flush`] waits until everything recorded before it is written (the export
//!   uses it so that a user's document holds their latest requests), and
//!   [`UsageWriter::shutdown`] stops accepting events, writes what is waiting and ends the
//!   task (the server calls it after its last request is answered).
//!
//! Losing the events of the last few milliseconds in a crash is acceptable for a usage log
//! (and, on PostgreSQL, the last few hundred milliseconds of written batches if the database
//! server itself crashes); losing them in an orderly shutdown is not, hence the drain.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kraftsoci_core::ports::{UsageEvent, UsageLogStore};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Events written in one statement at most.
pub const BATCH: usize = 500;
/// How long the first event of a batch waits for others before the batch is written.
pub const LINGER: Duration = Duration::from_millis(5);
/// Events the channel holds by default before dropping.
pub const CAPACITY: usize = 10_000;

enum Message {
    Event(UsageEvent),
    /// Answered once everything before it is written.
    Flush(oneshot::Sender<()>),
    /// Close the channel, write what is in it, end.
    Close,
}

/// The sending side, shared by every request; see the module documentation.
#[derive(Clone)]
pub struct UsageWriter {
    sender: mpsc::Sender<Message>,
    counters: Arc<Counters>,
    task: Arc<tokio::sync::Mutex<Option<JoinHandle<()>>>>,
}

#[derive(Default)]
struct Counters {
    dropped: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
}

impl std::fmt::Debug for UsageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageWriter")
            .field("written", &self.written())
            .field("dropped", &self.dropped())
            .field("failed", &self.failed())
            .finish_non_exhaustive()
    }
}

impl UsageWriter {
    /// Starts the draining task on the current runtime, writing to `store`, with room for
    /// `capacity` waiting events.
    pub fn spawn(store: Arc<dyn UsageLogStore>, capacity: usize) -> Self {
        let (writer, drain) = Self::unstarted(capacity);
        *writer.task.try_lock().expect("a new writer is not locked") =
            Some(tokio::spawn(drain.run(store)));
        writer
    }

    /// A writer whose draining task has not started: tests fill its channel first.
    fn unstarted(capacity: usize) -> (Self, Drain) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let counters = Arc::new(Counters::default());
        let writer = Self {
            sender,
            counters: Arc::clone(&counters),
            task: Arc::new(tokio::sync::Mutex::new(None)),
        };
        (writer, Drain { receiver, counters })
    }

    /// Queues `event` without waiting; when the channel is full or closed it is dropped and
    /// counted.
    pub fn record(&self, event: UsageEvent) {
        if self.sender.try_send(Message::Event(event)).is_err() {
            let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // One line per thousand drops, not one per request.
            if dropped % 1000 == 1 {
                tracing::warn!(dropped, "usage log channel full: events dropped");
            }
        }
    }

    /// Waits until every event recorded before this call has been written (or its write has
    /// failed). Returns at once after [`UsageWriter::shutdown`].
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// Stops accepting events, writes every waiting one and ends the task. Later events are
    /// dropped and counted.
    pub async fn shutdown(&self) {
        let Some(task) = self.task.lock().await.take() else {
            return;
        };
        if self.sender.send(Message::Close).await.is_ok() {
            let _ = task.await;
        } else {
            task.abort();
        }
    }

    /// Events dropped because the channel was full (or the writer shut down), since start.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Events written, since start.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    /// Events whose batch the database refused, since start.
    pub fn failed(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }
}

/// The receiving side: one task.
struct Drain {
    receiver: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
}

impl Drain {
    async fn run(mut self, store: Arc<dyn UsageLogStore>) {
        let mut batch = Vec::with_capacity(BATCH);
        let mut flushes = Vec::new();
        while let Some(first) = self.receiver.recv().await {
            match first {
                Message::Event(event) => batch.push(event),
                Message::Flush(done) => flushes.push(done),
                // No more sends are accepted; what is buffered is still received below.
                Message::Close => self.receiver.close(),
            }
            if !batch.is_empty() {
                // Linger for more, up to a full batch; a flush request ends the wait.
                let deadline = tokio::time::Instant::now() + LINGER;
                while batch.len() < BATCH && flushes.is_empty() {
                    match tokio::time::timeout_at(deadline, self.receiver.recv()).await {
                        Ok(Some(Message::Event(event))) => batch.push(event),
                        Ok(Some(Message::Flush(done))) => flushes.push(done),
                        Ok(Some(Message::Close)) => self.receiver.close(),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
            self.write(store.as_ref(), &mut batch).await;
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
    }

    async fn write(&self, store: &dyn UsageLogStore, batch: &mut Vec<UsageEvent>) {
        if batch.is_empty() {
            return;
        }
        let count = batch.len() as u64;
        match store.append_many(batch).await {
            Ok(()) => {
                self.counters.written.fetch_add(count, Ordering::Relaxed);
            }
            Err(error) => {
                // One bad row (say, the user was purged meanwhile: a foreign key) fails the
                // whole statement; one by one, only the bad rows are lost. Losing log lines
                // must not stop the writer; the count says how many.
                tracing::warn!(%error, count, "usage batch refused; writing its events one by one");
                for event in batch.iter() {
                    match store.append(event).await {
                        Ok(()) => self.counters.written.fetch_add(1, Ordering::Relaxed),
                        Err(error) => {
                            tracing::warn!(%error, "usage event not recorded");
                            self.counters.failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            }
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::Utc;
    use kraftsoci_core::StoreError;

    use super::*;

    /// Keeps the batches it is given; fails while `failing` is set.
    #[derive(Default)]
    struct Recorder {
        batches: Mutex<Vec<Vec<String>>>,
        failing: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl UsageLogStore for Recorder {
        async fn append(&self, event: &UsageEvent) -> Result<(), StoreError> {
            self.append_many(std::slice::from_ref(event)).await
        }

        async fn append_many(&self, events: &[UsageEvent]) -> Result<(), StoreError> {
            if self.failing.load(Ordering::Relaxed) {
                return Err(StoreError::Unavailable("database down".into()));
            }
            self.batches
                .lock()
                .unwrap()
                .push(events.iter().map(|e| e.route.clone()).collect());
            Ok(())
        }
    }

    impl Recorder {
        fn routes(&self) -> Vec<String> {
            self.batches.lock().unwrap().concat()
        }
    }

    fn event(route: &str) -> UsageEvent {
        UsageEvent {
            user: None,
            method: "GET".to_owned(),
            route: route.to_owned(),
            status: 200,
            ip: None,
            user_agent: None,
            security: false,
            at: Utc::now(),
            api_key: None,
            channel: kraftsoci_core::ports::UsageChannel::Api,
        }
    }

    #[tokio::test]
    async fn a_full_channel_drops_without_waiting_and_the_rest_is_written_at_shutdown() {
        let (writer, drain) = UsageWriter::unstarted(3);
        // Nothing drains yet: three fit, the next two are dropped at once.
        for n in 0..5 {
            writer.record(event(&format!("/r/{n}")));
        }
        assert_eq!(writer.dropped(), 2);
        let store = Arc::new(Recorder::default());
        *writer.task.lock().await = Some(tokio::spawn(drain.run(store.clone())));
        writer.shutdown().await;
        assert_eq!(store.routes(), ["/r/0", "/r/1", "/r/2"]);
        assert_eq!(writer.written(), 3);
        // After shutdown nothing is accepted, nothing waits.
        writer.record(event("/late"));
        writer.flush().await;
        assert_eq!(writer.dropped(), 3);
        assert_eq!(store.routes().len(), 3);
    }

    #[tokio::test]
    async fn shutdown_drains_everything_recorded_before_it_in_batches() {
        let store = Arc::new(Recorder::default());
        let writer = UsageWriter::spawn(store.clone(), 2 * BATCH);
        for n in 0..(BATCH + 20) {
            writer.record(event(&format!("/r/{n}")));
        }
        writer.shutdown().await;
        let routes = store.routes();
        assert_eq!(routes.len(), BATCH + 20, "every event is written");
        assert_eq!(routes[BATCH + 19], format!("/r/{}", BATCH + 19), "in order");
        assert!(
            store
                .batches
                .lock()
                .unwrap()
                .iter()
                .all(|b| b.len() <= BATCH),
            "no statement holds more than a batch"
        );
        assert_eq!(writer.dropped(), 0);
    }

    #[tokio::test]
    async fn flush_waits_for_the_write_and_a_failed_batch_is_counted_not_fatal() {
        let store = Arc::new(Recorder::default());
        let writer = UsageWriter::spawn(store.clone(), 16);
        writer.record(event("/one"));
        writer.flush().await;
        assert_eq!(store.routes(), ["/one"]);

        store.failing.store(true, Ordering::Relaxed);
        writer.record(event("/lost"));
        writer.flush().await;
        assert_eq!(writer.failed(), 1);

        store.failing.store(false, Ordering::Relaxed);
        writer.record(event("/two"));
        writer.flush().await;
        assert_eq!(store.routes(), ["/one", "/two"]);
        assert_eq!(writer.written(), 2);
        writer.shutdown().await;
    }
}
