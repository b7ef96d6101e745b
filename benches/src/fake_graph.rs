//! A fake Instagram Graph API on 127.0.0.1 with a latency per call (fixed, or drawn uniformly
//! from a range), which counts every call and every `media_publish` per container (the
//! exactly-once check) and per caption (a post published through two containers).
//!
//! It answers the calls of the publish flow: container creation (`POST /{ig}/media`), container
//! status (`GET /{container}?fields=status_code,status`, `FINISHED` until published), the quota
//! (`GET /{ig}/content_publishing_limit`), `POST /{ig}/media_publish` and the permalink read
//! (`GET /{media}?fields=permalink`), and the media listing (`GET /{ig}/media`) a post confirmed
//! by its container is recovered from. With `ambiguous_every = n`, every n-th `media_publish`
//! publishes and then answers a transient 500, as Meta sometimes does: the client must find
//! the post live by reading the container, not by publishing again.
//!
//! Its memory does not grow with a run but by one byte per container (the publish count the
//! exactly-once check reads): a container's creation time travels in its id, and captions are
//! kept only when the scenario lists the account's media. So a 10,000-post run with the fake in
//! the bench process measures the worker's memory, not the fake's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// What the fake counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphCounts {
    /// Every call answered.
    pub calls: u64,
    /// Containers created.
    pub containers: u64,
    /// `media_publish` calls.
    pub publish_calls: u64,
    /// Containers published at least once.
    pub published_containers: u64,
    /// Containers that received more than one `media_publish` (must be zero).
    pub published_twice: u64,
    /// `media_publish` calls answered with a 500 after publishing.
    pub ambiguous_answers: u64,
}

/// What the fake remembers of a container beyond its counters, when the scenario reads the
/// account's media (ambiguous answers, chaos): its caption, and its media id and publish time
/// once published.
#[derive(Debug, Default)]
struct MediaRecord {
    caption: Option<String>,
    published_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A container id: `17`, its sequence number (12 digits), then the microseconds from the
/// fake's start to its creation request (14 digits). The creation time travels in the id so
/// that the fake keeps no record per container for it.
fn container_id(seq: u64, created_us: u64) -> String {
    format!("17{seq:012}{created_us:014}")
}

/// The sequence number and creation time of a container id made by [`container_id`].
fn parse_container_id(id: &str) -> Option<(u64, u64)> {
    if id.len() != 28 || !id.starts_with("17") {
        return None;
    }
    Some((id[2..14].parse().ok()?, id[14..].parse().ok()?))
}

/// The media id of the container with sequence number `seq`.
fn media_id_of(seq: u64) -> String {
    format!("18{seq:012}")
}

#[derive(Debug)]
struct Graph {
    latency: Duration,
    max_latency: Duration,
    ambiguous_every: Option<u64>,
    started: Instant,
    calls: AtomicU64,
    publish_calls: AtomicU64,
    ambiguous_answers: AtomicU64,
    /// `media_publish` calls per container (saturating), indexed by sequence number − 1: one
    /// byte per container, the exactly-once check's whole memory.
    publishes: Mutex<Vec<u8>>,
    /// From each container's creation request to its first `media_publish` answer (µs).
    create_to_publish: Mutex<Histogram<u64>>,
    /// Captions and publish times, only when the scenario lists the account's media; `None`
    /// keeps the fake's memory fixed apart from the byte per container above, so that a
    /// long run in one process shows the worker's own memory.
    media: Option<Mutex<HashMap<u64, MediaRecord>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain counters and records: a panicking handler cannot leave them half-written.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Graph {
    async fn answer(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let latency = if self.max_latency > self.latency {
            use rand::Rng as _;
            rand::thread_rng().gen_range(self.latency..=self.max_latency)
        } else {
            self.latency
        };
        tokio::time::sleep(latency).await;
    }

    /// The publish count of the container `id`, if the fake made it.
    fn publishes_of(&self, id: &str) -> Option<u8> {
        let (seq, _) = parse_container_id(id)?;
        let index = usize::try_from(seq.checked_sub(1)?).ok()?;
        lock(&self.publishes).get(index).copied()
    }

    fn micros_since_start(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.started).as_micros()).unwrap_or(u64::MAX)
    }
}

fn graph_error(status: StatusCode, code: u32, message: &str, transient: bool) -> Response {
    (
        status,
        Json(json!({"error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "is_transient": transient,
            "fbtrace_id": "AbenchFakeTrace",
        }})),
    )
        .into_response()
}

async fn read_node(
    State(graph): State<Arc<Graph>>,
    Path((_version, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    graph.answer().await;
    let fields = query.get("fields").map_or("", String::as_str);
    if fields.contains("status_code") {
        return match graph.publishes_of(&id) {
            Some(n) if n > 0 => Json(json!({"status_code": "PUBLISHED", "id": id})),
            Some(_) => Json(json!({"status_code": "FINISHED", "id": id})),
            None => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    "Unsupported get request.",
                    false,
                );
            }
        }
        .into_response();
    }
    if fields.contains("permalink") {
        return Json(json!({"permalink": format!("https://www.instagram.com/p/{id}/"), "id": id}))
            .into_response();
    }
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        "Unsupported get request.",
        false,
    )
}

async fn read_edge(
    State(graph): State<Arc<Graph>>,
    Path((_version, _node, edge)): Path<(String, String, String)>,
) -> Response {
    graph.answer().await;
    if edge == "content_publishing_limit" {
        return Json(json!({"data": [{
            "quota_usage": 0,
            "config": {"quota_total": 100, "quota_duration": 86_400},
        }]}))
        .into_response();
    }
    if edge == "media" {
        // Newest first, as Meta lists them; one page is enough for a benchmark's posts. Empty
        // when the fake keeps no captions (the scenario never lists media then).
        let Some(media) = &graph.media else {
            return Json(json!({ "data": [] })).into_response();
        };
        let media = lock(media);
        let mut published: Vec<(u64, &MediaRecord)> = media
            .iter()
            .filter(|(_, record)| record.published_at.is_some())
            .map(|(seq, record)| (*seq, record))
            .collect();
        published.sort_by_key(|(_, record)| std::cmp::Reverse(record.published_at));
        let data: Vec<serde_json::Value> = published
            .iter()
            .filter_map(|(seq, record)| {
                let id = media_id_of(*seq);
                Some(json!({
                    "timestamp": record.published_at?.format("%Y-%m-%dT%H:%M:%S+0000").to_string(),
                    "caption": record.caption,
                    "permalink": format!("https://www.instagram.com/p/{id}/"),
                    "id": id,
                }))
            })
            .collect();
        return Json(json!({ "data": data })).into_response();
    }
    graph_error(StatusCode::BAD_REQUEST, 100, "Unknown edge.", false)
}

async fn write_edge(
    State(graph): State<Arc<Graph>>,
    Path((_version, _node, edge)): Path<(String, String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let received = Instant::now();
    graph.answer().await;
    match edge.as_str() {
        "media" => {
            let seq = {
                let mut publishes = lock(&graph.publishes);
                publishes.push(0);
                publishes.len() as u64
            };
            if let Some(media) = &graph.media {
                let record = MediaRecord {
                    caption: form.get("caption").cloned(),
                    published_at: None,
                };
                lock(media).insert(seq, record);
            }
            let id = container_id(seq, graph.micros_since_start(received));
            Json(json!({"id": id})).into_response()
        }
        "media_publish" => {
            let Some(creation_id) = form.get("creation_id") else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    "creation_id is required",
                    false,
                );
            };
            let call = graph.publish_calls.fetch_add(1, Ordering::Relaxed) + 1;
            let known = parse_container_id(creation_id).and_then(|(seq, created_us)| {
                let index = usize::try_from(seq.checked_sub(1)?).ok()?;
                let mut publishes = lock(&graph.publishes);
                let count = publishes.get_mut(index)?;
                let first = *count == 0;
                *count = count.saturating_add(1);
                Some((seq, created_us, first))
            });
            let Some((seq, created_us, first)) = known else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    9004,
                    "The media could not be fetched.",
                    false,
                );
            };
            if first {
                let took = graph
                    .micros_since_start(Instant::now())
                    .saturating_sub(created_us);
                crate::load::record(
                    &mut lock(&graph.create_to_publish),
                    Duration::from_micros(took),
                );
                if let Some(media) = &graph.media
                    && let Some(record) = lock(media).get_mut(&seq)
                {
                    record.published_at = Some(chrono::Utc::now());
                }
            }
            let media_id = media_id_of(seq);
            if graph
                .ambiguous_every
                .is_some_and(|n| n > 0 && call % n == 0)
            {
                graph.ambiguous_answers.fetch_add(1, Ordering::Relaxed);
                return graph_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    2,
                    "An unexpected error has occurred. Please retry your request later.",
                    true,
                );
            }
            Json(json!({"id": media_id})).into_response()
        }
        _ => graph_error(StatusCode::BAD_REQUEST, 100, "Unknown edge.", false),
    }
}

/// A running fake Graph API; it stops when dropped.
#[derive(Debug)]
pub struct FakeGraph {
    base_url: url::Url,
    graph: Arc<Graph>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl FakeGraph {
    /// Starts the fake on a free port of 127.0.0.1; every call waits `latency` before it
    /// answers.
    ///
    /// # Errors
    /// When no port can be bound.
    /// It keeps the captions it needs to list the account's media only with
    /// `ambiguous_every` (a post confirmed by its container is recovered from that list);
    /// otherwise its memory is fixed but for one byte per container.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(latency: Duration, ambiguous_every: Option<u64>) -> anyhow::Result<Self> {
        Self::serve(latency, latency, ambiguous_every, ambiguous_every.is_some()).await
    }

    /// Starts the fake; every call waits a uniformly random time in `[min, max]` before it
    /// answers (a slow, uneven Graph API). It keeps every container's caption, for the media
    /// listing and [`FakeGraph::publishes_by_caption`].
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_jittered(
        min: Duration,
        max: Duration,
        ambiguous_every: Option<u64>,
    ) -> anyhow::Result<Self> {
        Self::serve(min, max, ambiguous_every, true).await
    }

    async fn serve(
        min: Duration,
        max: Duration,
        ambiguous_every: Option<u64>,
        keep_media: bool,
    ) -> anyhow::Result<Self> {
        let graph = Arc::new(Graph {
            latency: min,
            max_latency: max,
            ambiguous_every,
            started: Instant::now(),
            calls: AtomicU64::new(0),
            publish_calls: AtomicU64::new(0),
            ambiguous_answers: AtomicU64::new(0),
            publishes: Mutex::new(Vec::new()),
            create_to_publish: Mutex::new(crate::load::new_histogram()),
            media: keep_media.then(|| Mutex::new(HashMap::new())),
        });
        let router = Router::new()
            .route("/{version}/{id}", get(read_node))
            .route("/{version}/{node}/{edge}", get(read_edge).post(write_edge))
            .with_state(Arc::clone(&graph));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = url::Url::parse(&format!("http://{}/", listener.local_addr()?))?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            base_url,
            graph,
            _shutdown: shutdown,
        })
    }

    /// The base URL to give the Graph client (`http://127.0.0.1:{port}/`).
    pub fn base_url(&self) -> &url::Url {
        &self.base_url
    }

    /// What was counted so far.
    pub fn counts(&self) -> GraphCounts {
        let publishes = lock(&self.graph.publishes);
        GraphCounts {
            calls: self.graph.calls.load(Ordering::Relaxed),
            containers: publishes.len() as u64,
            publish_calls: self.graph.publish_calls.load(Ordering::Relaxed),
            published_containers: publishes.iter().filter(|n| **n > 0).count() as u64,
            published_twice: publishes.iter().filter(|n| **n > 1).count() as u64,
            ambiguous_answers: self.graph.ambiguous_answers.load(Ordering::Relaxed),
        }
    }

    /// For every caption, how many of its containers were published (more than one is a
    /// duplicate post on Instagram), and how many `media_publish` calls reached them. Empty
    /// when the fake keeps no captions (see [`FakeGraph::start`]).
    pub fn publishes_by_caption(&self) -> HashMap<String, (u32, u32)> {
        let mut by_caption: HashMap<String, (u32, u32)> = HashMap::new();
        let Some(media) = &self.graph.media else {
            return by_caption;
        };
        let publishes = lock(&self.graph.publishes);
        for (seq, record) in lock(media).iter() {
            let Some(caption) = &record.caption else {
                continue;
            };
            let count = usize::try_from(seq - 1)
                .ok()
                .and_then(|index| publishes.get(index).copied())
                .unwrap_or(0);
            let entry = by_caption.entry(caption.clone()).or_default();
            if count > 0 {
                entry.0 += 1;
            }
            entry.1 += u32::from(count);
        }
        by_caption
    }

    /// For every published container, the time from its creation request to the answer of its
    /// first `media_publish`, in microseconds.
    pub fn create_to_publish(&self) -> Histogram<u64> {
        lock(&self.graph.create_to_publish).clone()
    }
}
