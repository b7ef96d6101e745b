//! Operational metrics in Prometheus' text format (`GET /metrics`, issue 18).
//!
//! A small registry of our own rather than the `metrics` + `metrics-exporter-prometheus`
//! crates: those bring `metrics-util` and its dependencies (quanta, crossbeam, sketches,
//! hashbrown…) and a global recorder, for a dozen series. Here the request series live in
//! this process ([`Metrics::observe_request`], called by a middleware); everything else is
//! read when scraped, from where it already is: the database (publish jobs and their age,
//! posts by status — so a separate `worker` process's results are counted too), the usage-log
//! writer's counters, the password pool and the database pool. A scrape costs two small
//! queries.
//!
//! The calls to Graph, OpenAI and Stripe and the generation series are counted by decorators
//! around the ports the server already uses (`observe`): each call's outcome is labelled with
//! the port error's classification, so no library crate knows about metrics.

mod observe;

pub use observe::{ObservedBilling, ObservedGenerator, ObservedOpenAi, ObservedPublisher};

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{OperationalCounts, OperationsStore, PoolStats};

/// The upper bounds of the request-latency histogram, in seconds.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    method: String,
    route: String,
    status: u16,
}

/// The request series by method, then route template, then status: a request whose series
/// exists is counted without allocating (its method and route are looked up as `&str`),
/// since every request passes here.
type RequestSeriesMap = BTreeMap<String, BTreeMap<String, BTreeMap<u16, RequestSeries>>>;

#[derive(Debug, Clone, Default)]
struct RequestSeries {
    count: u64,
    sum_seconds: f64,
    /// Observations at or under each bound of [`LATENCY_BUCKETS`] (not cumulative).
    buckets: [u64; LATENCY_BUCKETS.len()],
}

/// The upper bounds of the generation-latency histogram, in seconds (a caption takes a few
/// seconds, an image up to a minute or two).
pub const GENERATION_BUCKETS: [f64; 11] =
    [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0];

/// One call through a provider port: which provider, which operation, and how it ended
/// (`ok` or the classification of its error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct CallKey {
    provider: &'static str,
    operation: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone)]
struct Histogram<const N: usize> {
    count: u64,
    sum_seconds: f64,
    /// Observations at or under each bound (not cumulative).
    buckets: [u64; N],
}

impl<const N: usize> Default for Histogram<N> {
    fn default() -> Self {
        Self {
            count: 0,
            sum_seconds: 0.0,
            buckets: [0; N],
        }
    }
}

impl<const N: usize> Histogram<N> {
    fn observe(&mut self, bounds: &[f64; N], elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        self.count += 1;
        self.sum_seconds += seconds;
        if let Some(bucket) = bounds.iter().position(|bound| seconds <= *bound) {
            self.buckets[bucket] += 1;
        }
    }
}

/// The in-process series: requests by method, route template and status; calls to the
/// providers by outcome; generation latency and failures; connections closed by the write
/// deadline.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<RequestSeriesMap>,
    calls: Mutex<BTreeMap<CallKey, u64>>,
    generation: Mutex<BTreeMap<&'static str, Histogram<{ GENERATION_BUCKETS.len() }>>>,
    generation_failures: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    write_timeouts: AtomicU64,
}

/// What a scrape reads besides the request series.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Publish jobs and posts, from the database (`None` when it did not answer).
    pub counts: Option<OperationalCounts>,
    /// When the snapshot was taken (for the oldest job's age).
    pub now: DateTime<Utc>,
    /// The usage-log writer: events written, dropped (channel full), failed writes.
    pub usage_written: u64,
    /// See `usage_written`.
    pub usage_dropped: u64,
    /// See `usage_written`.
    pub usage_failed: u64,
    /// Password-pool jobs admitted and not finished (running or queued).
    pub password_in_pool: usize,
    /// The password pool's capacity (threads + queue).
    pub password_capacity: usize,
    /// Password jobs refused because the pool was full (503 `overloaded`).
    pub password_refused: u64,
    /// The database pool.
    pub pool: PoolStats,
}

/// What the database says at `now` (publish jobs, posts, the pool); the process counters
/// left at zero (a `worker` process has no usage-log writer or password pool).
pub async fn database_snapshot(operations: &dyn OperationsStore, now: DateTime<Utc>) -> Snapshot {
    let counts = match operations.operational_counts(now).await {
        Ok(counts) => Some(counts),
        Err(error) => {
            tracing::warn!(%error, "metrics: the database did not answer");
            None
        }
    };
    Snapshot {
        counts,
        now,
        pool: operations.pool_stats(),
        ..Snapshot::default()
    }
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one answered request. `route` is the matched route template (never the raw
    /// path, so ids do not multiply the series); unmatched paths share one series.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if !requests.contains_key(method) {
            requests.insert(method.to_owned(), BTreeMap::new());
        }
        let Some(routes) = requests.get_mut(method) else {
            return;
        };
        if !routes.contains_key(route) {
            routes.insert(route.to_owned(), BTreeMap::new());
        }
        let Some(statuses) = routes.get_mut(route) else {
            return;
        };
        let series = statuses.entry(status).or_default();
        series.count += 1;
        series.sum_seconds += seconds;
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            series.buckets[bucket] += 1;
        }
    }

    /// Counts one call to `provider` (`graph`, `openai`, `stripe`): `result` is `ok` or the
    /// classification of its error (`reconnect_needed`, `rate_limited`, `timeout`…).
    pub fn observe_call(
        &self,
        provider: &'static str,
        operation: &'static str,
        result: &'static str,
    ) {
        let key = CallKey {
            provider,
            operation,
            result,
        };
        *self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default() += 1;
    }

    /// Counts one generation step (`text` or `image`) that took `elapsed`, and its failure
    /// reason when it failed (`flagged`, `refused`, `invalid_output`, `unavailable`,
    /// `rejected`).
    pub fn observe_generation(
        &self,
        kind: &'static str,
        elapsed: Duration,
        failure: Option<&'static str>,
    ) {
        self.generation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default()
            .observe(&GENERATION_BUCKETS, elapsed);
        if let Some(reason) = failure {
            *self
                .generation_failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry((kind, reason))
                .or_default() += 1;
        }
    }

    /// Counts a connection closed because its client stopped reading the response
    /// (`KRAFTSOCI_HTTP_WRITE_TIMEOUT`).
    pub fn observe_write_timeout(&self) {
        self.write_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections closed by the write deadline so far.
    pub fn write_timeouts(&self) -> u64 {
        self.write_timeouts.load(Ordering::Relaxed)
    }

    /// The exposition: every series, in Prometheus text format 0.0.4.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(4096);
        self.render_requests(&mut out);
        self.render_calls(&mut out);
        self.render_generation(&mut out);
        header(
            &mut out,
            "kraftsoci_http_write_timeouts_total",
            "counter",
            "Connections closed because the client read none of the response for KRAFTSOCI_HTTP_WRITE_TIMEOUT.",
        );
        let _ = writeln!(
            out,
            "kraftsoci_http_write_timeouts_total {}",
            self.write_timeouts()
        );
        render_snapshot(&mut out, snapshot);
        out
    }

    fn render_calls(&self, out: &mut String) {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
        header(
            out,
            "kraftsoci_provider_calls_total",
            "counter",
            "Calls through the Graph, OpenAI and Stripe ports by provider, operation and result (ok, or the error's classification).",
        );
        for (key, count) in &calls {
            let _ = writeln!(
                out,
                "kraftsoci_provider_calls_total{{provider=\"{}\",operation=\"{}\",result=\"{}\"}} {count}",
                escape(key.provider),
                escape(key.operation),
                escape(key.result),
            );
        }
    }

    fn render_generation(&self, out: &mut String) {
        let generation = self
            .generation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        header(
            out,
            "kraftsoci_generation_duration_seconds",
            "histogram",
            "Time one generation step took (text: caption, hashtags and alt text; image), failed or not.",
        );
        for (kind, series) in &generation {
            let labels = format!("kind=\"{}\"", escape(kind));
            write_histogram(
                out,
                "kraftsoci_generation_duration_seconds",
                &labels,
                &GENERATION_BUCKETS,
                series,
            );
        }
        let failures = self
            .generation_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        header(
            out,
            "kraftsoci_generation_failures_total",
            "counter",
            "Generation steps that failed, by kind and reason.",
        );
        for ((kind, reason), count) in &failures {
            let _ = writeln!(
                out,
                "kraftsoci_generation_failures_total{{kind=\"{}\",reason=\"{}\"}} {count}",
                escape(kind),
                escape(reason)
            );
        }
    }

    fn render_requests(&self, out: &mut String) {
        // Flattened in the order the series always had: method, route, status.
        let requests: Vec<(RequestKey, RequestSeries)> = {
            let nested = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            nested
                .iter()
                .flat_map(|(method, routes)| {
                    routes.iter().flat_map(move |(route, statuses)| {
                        statuses.iter().map(move |(status, series)| {
                            (
                                RequestKey {
                                    method: method.clone(),
                                    route: route.clone(),
                                    status: *status,
                                },
                                series.clone(),
                            )
                        })
                    })
                })
                .collect()
        };
        header(
            out,
            "kraftsoci_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route template and status.",
        );
        for (key, series) in &requests {
            let _ = writeln!(
                out,
                "kraftsoci_http_requests_total{{{}}} {}",
                labels(key),
                series.count
            );
        }
        header(
            out,
            "kraftsoci_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its response head, by method, route template and status.",
        );
        for (key, series) in &requests {
            let labels = labels(key);
            let mut cumulative = 0;
            for (bound, count) in LATENCY_BUCKETS.iter().zip(series.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "kraftsoci_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "kraftsoci_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                series.count
            );
            let _ = writeln!(
                out,
                "kraftsoci_http_request_duration_seconds_sum{{{labels}}} {}",
                series.sum_seconds
            );
            let _ = writeln!(
                out,
                "kraftsoci_http_request_duration_seconds_count{{{labels}}} {}",
                series.count
            );
        }
    }
}

fn render_snapshot(out: &mut String, s: &Snapshot) {
    header(
        out,
        "kraftsoci_database_up",
        "gauge",
        "1 when the database answered this scrape's queries.",
    );
    let _ = writeln!(
        out,
        "kraftsoci_database_up {}",
        u8::from(s.counts.is_some())
    );
    if let Some(counts) = &s.counts {
        header(
            out,
            "kraftsoci_publish_jobs",
            "gauge",
            "Publish jobs by state (done and failed are the publish outcomes kept in the database).",
        );
        for (state, count) in &counts.jobs_by_state {
            let _ = writeln!(
                out,
                "kraftsoci_publish_jobs{{state=\"{}\"}} {count}",
                escape(state)
            );
        }
        header(
            out,
            "kraftsoci_publish_queue_due",
            "gauge",
            "Queued publish jobs whose time has come (the queue depth the worker must work off).",
        );
        let _ = writeln!(out, "kraftsoci_publish_queue_due {}", counts.due_jobs);
        header(
            out,
            "kraftsoci_publish_queue_oldest_due_seconds",
            "gauge",
            "How long the oldest due job has waited; 0 when none waits.",
        );
        let age = counts.oldest_due_at.map_or(0.0, |at| {
            (s.now - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        let _ = writeln!(out, "kraftsoci_publish_queue_oldest_due_seconds {age}");
        header(out, "kraftsoci_posts", "gauge", "Posts by status.");
        for (status, count) in &counts.posts_by_status {
            let _ = writeln!(
                out,
                "kraftsoci_posts{{status=\"{}\"}} {count}",
                escape(status)
            );
        }
    }
    for (name, help, value) in [
        (
            "kraftsoci_usage_log_events_written_total",
            "Usage-log events written to the database.",
            s.usage_written,
        ),
        (
            "kraftsoci_usage_log_events_dropped_total",
            "Usage-log events dropped because the writer's channel was full.",
            s.usage_dropped,
        ),
        (
            "kraftsoci_usage_log_events_failed_total",
            "Usage-log events whose write failed.",
            s.usage_failed,
        ),
        (
            "kraftsoci_password_jobs_refused_total",
            "Logins, sign-ups and password changes answered 503 overloaded because the password pool was full.",
            s.password_refused,
        ),
    ] {
        header(out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
    for (name, help, value) in [
        (
            "kraftsoci_password_pool_jobs",
            "Password hashing jobs admitted and not finished (running or queued).",
            s.password_in_pool,
        ),
        (
            "kraftsoci_password_pool_capacity",
            "Password hashing jobs admitted at most (threads plus queue).",
            s.password_capacity,
        ),
        (
            "kraftsoci_db_pool_connections",
            "Database connections open (idle or in use).",
            s.pool.size as usize,
        ),
        (
            "kraftsoci_db_pool_idle_connections",
            "Open database connections not in use.",
            s.pool.idle,
        ),
        (
            "kraftsoci_db_pool_max_connections",
            "The database pool's maximum size.",
            s.pool.max as usize,
        ),
    ] {
        header(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
}

fn write_histogram<const N: usize>(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64; N],
    series: &Histogram<N>,
) {
    let mut cumulative = 0;
    for (bound, count) in bounds.iter().zip(series.buckets) {
        cumulative += count;
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{{labels},le=\"+Inf\"}} {}",
        series.count
    );
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", series.sum_seconds);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", series.count);
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn labels(key: &RequestKey) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        escape(&key.method),
        escape(&key.route),
        key.status
    )
}

/// A label value as the text format needs it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_lands_in_its_bucket_and_the_histogram_is_cumulative() {
        let metrics = Metrics::new();
        metrics.observe_request("GET", "/v1/posts/{id}", 200, Duration::from_millis(30));
        metrics.observe_request("GET", "/v1/posts/{id}", 200, Duration::from_millis(3));
        metrics.observe_request("GET", "/v1/posts/{id}", 404, Duration::from_secs(20));
        let text = metrics.render(&Snapshot::default());
        let ok = "method=\"GET\",route=\"/v1/posts/{id}\",status=\"200\"";
        assert!(text.contains(&format!("kraftsoci_http_requests_total{{{ok}}} 2\n")));
        assert!(text.contains(&format!(
            "kraftsoci_http_request_duration_seconds_bucket{{{ok},le=\"0.005\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "kraftsoci_http_request_duration_seconds_bucket{{{ok},le=\"0.025\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "kraftsoci_http_request_duration_seconds_bucket{{{ok},le=\"0.05\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "kraftsoci_http_request_duration_seconds_count{{{ok}}} 2\n"
        )));
        let slow = "method=\"GET\",route=\"/v1/posts/{id}\",status=\"404\"";
        assert!(text.contains(&format!(
            "kraftsoci_http_request_duration_seconds_bucket{{{slow},le=\"10\"}} 0\n"
        )));
        assert!(text.contains(&format!(
            "kraftsoci_http_request_duration_seconds_bucket{{{slow},le=\"+Inf\"}} 1\n"
        )));
    }

    #[test]
    fn every_sample_line_belongs_to_a_declared_family() {
        let metrics = Metrics::new();
        metrics.observe_request("POST", "/v1/posts", 202, Duration::from_millis(1));
        let snapshot = Snapshot {
            counts: Some(OperationalCounts {
                jobs_by_state: vec![("queued".into(), 2), ("done".into(), 5)],
                due_jobs: 1,
                oldest_due_at: Some(DateTime::<Utc>::UNIX_EPOCH),
                posts_by_status: vec![("ready".into(), 3)],
            }),
            now: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(90),
            ..Snapshot::default()
        };
        let text = metrics.render(&snapshot);
        assert!(text.contains("kraftsoci_publish_queue_oldest_due_seconds 90\n"));
        assert!(text.contains("kraftsoci_publish_jobs{state=\"done\"} 5\n"));
        let declared: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(
                declared.iter().any(|family| name == *family
                    || name
                        .strip_prefix(family)
                        .is_some_and(|rest| ["_bucket", "_sum", "_count"].contains(&rest))),
                "{line}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
