//! A closed-loop load driver: a fixed number of workers, each sending its next request as soon
//! as the previous one answered, until a bounded number of requests or a time limit is reached.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

/// The largest latency recorded (longer ones are clamped to it): one minute, in microseconds.
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// How much load to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSpec {
    /// Requests to send in total (the run also ends at `time_limit`).
    pub requests: u64,
    /// Requests in flight at once (workers).
    pub concurrency: usize,
    /// The run stops starting requests after this long, whatever is left.
    pub time_limit: Duration,
}

impl LoadSpec {
    /// `requests` requests, `concurrency` at a time, for at most `time_limit`.
    pub fn new(requests: u64, concurrency: usize, time_limit: Duration) -> Self {
        Self {
            requests,
            concurrency: concurrency.max(1),
            time_limit,
        }
    }
}

/// Latencies in microseconds, with the count of failed requests.
#[derive(Debug, Clone)]
pub struct Summary {
    latencies: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
}

/// A histogram of microseconds from 1 µs to one minute, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts (low ≥ 1, high ≥ 2·low, 3 digits).
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3).expect("valid histogram bounds")
}

/// Records `elapsed` in `histogram`, clamped to its range.
pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(MAX_LATENCY_MICROS);
    histogram.saturating_record(micros.clamp(1, MAX_LATENCY_MICROS));
}

impl Summary {
    /// A summary of latencies gathered elsewhere.
    pub fn from_parts(
        latencies: Histogram<u64>,
        errors: u64,
        first_error: Option<String>,
        elapsed: Duration,
    ) -> Self {
        Self {
            latencies,
            errors,
            first_error,
            elapsed,
        }
    }

    /// Requests that succeeded.
    pub fn succeeded(&self) -> u64 {
        self.latencies.len()
    }

    /// Requests that failed.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The first failure seen, for the report.
    pub fn first_error(&self) -> Option<&str> {
        self.first_error.as_deref()
    }

    /// Wall-clock time of the run.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.succeeded() as f64 / seconds
        } else {
            0.0
        }
    }

    /// The latency at quantile `q` (0–1) of the successful requests.
    pub fn quantile(&self, q: f64) -> Duration {
        Duration::from_micros(self.latencies.value_at_quantile(q))
    }

    /// The longest successful request.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.latencies.max())
    }
}

/// Runs `request(i)` for `i` in `0..spec.requests`, `spec.concurrency` at a time, until every
/// request ran or `spec.time_limit` passed. A request fails by returning `Err(reason)`; only
/// successful ones are in the latencies.
pub async fn closed_loop<F, Fut>(spec: &LoadSpec, request: F) -> Summary
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    closed_loop_while(spec, Arc::new(AtomicBool::new(true)), request).await
}

/// As [`closed_loop`], and also stops starting requests once `running` turns false (to load a
/// server exactly while something else happens).
pub async fn closed_loop_while<F, Fut>(
    spec: &LoadSpec,
    running: Arc<AtomicBool>,
    request: F,
) -> Summary
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + spec.time_limit;
    let total = spec.requests;
    let workers: Vec<_> = (0..spec.concurrency)
        .map(|_| {
            let request = Arc::clone(&request);
            let next = Arc::clone(&next);
            let running = Arc::clone(&running);
            tokio::spawn(async move {
                let mut latencies = new_histogram();
                let mut errors = 0;
                let mut first_error = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total || Instant::now() >= deadline || !running.load(Ordering::Relaxed)
                    {
                        break;
                    }
                    let sent = Instant::now();
                    match request(i).await {
                        Ok(()) => record(&mut latencies, sent.elapsed()),
                        Err(reason) => {
                            errors += 1;
                            first_error.get_or_insert(reason);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut latencies = new_histogram();
    let mut errors = 0;
    let mut first_error = None;
    for worker in workers {
        match worker.await {
            Ok((worker_latencies, worker_errors, worker_error)) => {
                // Both histograms have the same bounds, so adding cannot fail.
                let _ = latencies.add(&worker_latencies);
                errors += worker_errors;
                if first_error.is_none() {
                    first_error = worker_error;
                }
            }
            Err(join) => {
                errors += 1;
                first_error.get_or_insert(format!("a load worker died: {join}"));
            }
        }
    }
    Summary::from_parts(latencies, errors, first_error, started.elapsed())
}

/// A request's outcome from a reqwest call: `Ok` on the expected status, else the reason.
pub async fn expect_status(
    response: Result<reqwest::Response, reqwest::Error>,
    expected: reqwest::StatusCode,
) -> Result<(), String> {
    match response {
        Ok(response) if response.status() == expected => {
            // Read the body, as a real client would, so the server's serialisation counts.
            response.bytes().await.map(drop).map_err(|e| e.to_string())
        }
        Ok(response) => Err(format!("status {}", response.status())),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_driver_sends_exactly_the_requested_count_and_counts_failures() {
        let sent = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&sent);
        let spec = LoadSpec::new(100, 4, Duration::from_secs(60));
        let summary = closed_loop(&spec, move |i| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                if i % 10 == 0 {
                    Err(format!("request {i} refused"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert_eq!(sent.load(Ordering::Relaxed), 100);
        assert_eq!(summary.succeeded(), 90);
        assert_eq!(summary.errors(), 10);
        assert!(
            summary
                .first_error()
                .is_some_and(|e| e.ends_with("refused"))
        );
    }

    #[tokio::test]
    async fn the_driver_starts_nothing_once_the_time_limit_has_passed() {
        let spec = LoadSpec::new(u64::MAX, 2, Duration::ZERO);
        let summary = closed_loop(&spec, |_| async { Ok(()) }).await;
        assert_eq!(summary.succeeded() + summary.errors(), 0);
    }

    #[tokio::test]
    async fn the_driver_stops_when_told_to() {
        let running = Arc::new(AtomicBool::new(true));
        let flag = Arc::clone(&running);
        let spec = LoadSpec::new(u64::MAX, 1, Duration::from_secs(60));
        let summary = closed_loop_while(&spec, running, move |i| {
            if i == 9 {
                flag.store(false, Ordering::Relaxed);
            }
            async { Ok(()) }
        })
        .await;
        assert_eq!(summary.succeeded(), 10);
    }
}
