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

#[derive(Debug)]
struct Container {
    created: Instant,
    publishes: u32,
    media_id: Option<String>,
    caption: Option<String>,
    published_at: Option<chrono::DateTime<chrono::Utc>>,
    /// From the creation request to the first `media_publish` answer.
    create_to_publish: Option<Duration>,
}

impl Container {
    fn new() -> Self {
        Self {
            created: Instant::now(),
            publishes: 0,
            media_id: None,
            caption: None,
            published_at: None,
            create_to_publish: None,
        }
    }
}

#[derive(Debug)]
struct Graph {
    latency: Duration,
    max_latency: Duration,
    ambiguous_every: Option<u64>,
    next_id: AtomicU64,
    calls: AtomicU64,
    publish_calls: AtomicU64,
    ambiguous_answers: AtomicU64,
    containers: Mutex<HashMap<String, Container>>,
}

impl Graph {
    fn containers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Container>> {
        // The map holds plain counters; a panicking handler cannot leave it half-written.
        self.containers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

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

    fn fresh_id(&self, prefix: u64) -> String {
        format!(
            "{prefix}{:012}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        )
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
        let containers = graph.containers();
        return match containers.get(&id) {
            Some(c) if c.media_id.is_some() => Json(json!({"status_code": "PUBLISHED", "id": id})),
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
        // Newest first, as Meta lists them; one page is enough for a benchmark's posts.
        let containers = graph.containers();
        let mut media: Vec<&Container> = containers
            .values()
            .filter(|c| c.media_id.is_some())
            .collect();
        media.sort_by_key(|c| std::cmp::Reverse(c.published_at));
        let data: Vec<serde_json::Value> = media
            .iter()
            .filter_map(|c| {
                let id = c.media_id.as_ref()?;
                Some(json!({
                    "id": id,
                    "timestamp": c.published_at?.format("%Y-%m-%dT%H:%M:%S+0000").to_string(),
                    "caption": c.caption,
                    "permalink": format!("https://www.instagram.com/p/{id}/"),
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
            let id = graph.fresh_id(17);
            let mut container = Container::new();
            container.created = received;
            container.caption = form.get("caption").cloned();
            graph.containers().insert(id.clone(), container);
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
            let media_id = graph.fresh_id(18);
            {
                let mut containers = graph.containers();
                let Some(container) = containers.get_mut(creation_id) else {
                    return graph_error(
                        StatusCode::BAD_REQUEST,
                        9004,
                        "The media could not be fetched.",
                        false,
                    );
                };
                container.publishes += 1;
                container.media_id.get_or_insert_with(|| media_id.clone());
                container.published_at.get_or_insert_with(chrono::Utc::now);
                let took = container.created.elapsed();
                container.create_to_publish.get_or_insert(took);
            }
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
    pub async fn start(latency: Duration, ambiguous_every: Option<u64>) -> anyhow::Result<Self> {
        Self::start_jittered(latency, latency, ambiguous_every).await
    }

    /// Starts the fake; every call waits a uniformly random time in `[min, max]` before it
    /// answers (a slow, uneven Graph API).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_jittered(
        min: Duration,
        max: Duration,
        ambiguous_every: Option<u64>,
    ) -> anyhow::Result<Self> {
        let graph = Arc::new(Graph {
            latency: min,
            max_latency: max,
            ambiguous_every,
            next_id: AtomicU64::new(1),
            calls: AtomicU64::new(0),
            publish_calls: AtomicU64::new(0),
            ambiguous_answers: AtomicU64::new(0),
            containers: Mutex::new(HashMap::new()),
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
        let containers = self.graph.containers();
        GraphCounts {
            calls: self.graph.calls.load(Ordering::Relaxed),
            containers: containers.len() as u64,
            publish_calls: self.graph.publish_calls.load(Ordering::Relaxed),
            published_containers: containers.values().filter(|c| c.publishes > 0).count() as u64,
            published_twice: containers.values().filter(|c| c.publishes > 1).count() as u64,
            ambiguous_answers: self.graph.ambiguous_answers.load(Ordering::Relaxed),
        }
    }

    /// For every caption, how many of its containers were published (more than one is a
    /// duplicate post on Instagram), and how many `media_publish` calls reached them.
    pub fn publishes_by_caption(&self) -> HashMap<String, (u32, u32)> {
        let mut by_caption: HashMap<String, (u32, u32)> = HashMap::new();
        for container in self.graph.containers().values() {
            let Some(caption) = &container.caption else {
                continue;
            };
            let entry = by_caption.entry(caption.clone()).or_default();
            if container.publishes > 0 {
                entry.0 += 1;
            }
            entry.1 += container.publishes;
        }
        by_caption
    }

    /// For every published container, the time from its creation request to the answer of its
    /// first `media_publish`, in microseconds.
    pub fn create_to_publish(&self) -> Histogram<u64> {
        let mut histogram = crate::load::new_histogram();
        for took in self
            .graph
            .containers()
            .values()
            .filter_map(|c| c.create_to_publish)
        {
            crate::load::record(&mut histogram, took);
        }
        histogram
    }
}
