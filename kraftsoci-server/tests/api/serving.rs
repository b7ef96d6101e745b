//! Issue 18, serving: the separate metrics listener (`KRAFTSOCI_METRICS_LISTEN`) and the
//! response-write deadline (`KRAFTSOCI_HTTP_WRITE_TIMEOUT`). Every wait is bounded and only
//! proves that something happened, never how fast.

use std::net::SocketAddr;
use std::time::Duration;

use kraftsoci_server::config::Config;
use kraftsoci_server::{Application, Error};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::test_config;
use crate::provider_metrics::sample;
use crate::support::{TempDir, TestDb};

/// How long a test waits for the server to do something before calling it a failure; far
/// beyond the one-second deadline the server here is given.
const BOUND: Duration = Duration::from_secs(60);

/// A server with a metrics listener, stopped when dropped.
struct Served {
    address: SocketAddr,
    metrics: SocketAddr,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
    _task: JoinHandle<Result<(), Error>>,
    _db: TestDb,
    _dirs: (TempDir, TempDir),
}

async fn serve(adjust: impl FnOnce(&mut Config)) -> Served {
    let db = TestDb::sqlite().await;
    let outbox = TempDir::new("outbox");
    let media = TempDir::new("media");
    let mut config = test_config(&db, &outbox, &media);
    config.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
    adjust(&mut config);
    let app = Application::build(config).await.expect("the server builds");
    let address = app.local_addr().unwrap();
    let metrics = app.metrics_addr().expect("a metrics listener");
    assert_ne!(address, metrics);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Served {
        address,
        metrics,
        client: reqwest::Client::new(),
        _stop: stop,
        _task: task,
        _db: db,
        _dirs: (outbox, media),
    }
}

impl Served {
    async fn get(&self, at: SocketAddr, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("http://{at}{path}"))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_without_a_token_and_nothing_else() {
    let served = serve(|_| {}).await;
    let (status, _) = served.get(served.address, "/healthz").await;
    assert_eq!(status, 200);

    let (status, text) = served.get(served.metrics, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains(
            "kraftsoci_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("kraftsoci_database_up 1\n"));
    assert!(text.contains("# TYPE kraftsoci_provider_calls_total counter\n"));
    for path in ["/healthz", "/v1/privacy", "/openapi.json"] {
        let (status, _) = served.get(served.metrics, path).await;
        assert_eq!(status, 404, "{path} is not served on the metrics listener");
    }
    // Without a token the public listener still has no /metrics.
    let (status, _) = served.get(served.address, "/metrics").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_by_the_write_deadline_while_others_are_answered() {
    let served = serve(|config| {
        config.server.write_timeout = Duration::from_secs(1);
    })
    .await;
    let (status, document) = served.get(served.address, "/openapi.json").await;
    assert_eq!(status, 200);
    // Enough pipelined answers to overflow any socket buffers between the two ends, to a
    // client with a small receive window that reads none of them.
    let requests = 16 + (64 << 20) / document.len().max(1);
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(served.address).await.unwrap();
    let pipeline = "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n".repeat(requests);
    stalled.write_all(pipeline.as_bytes()).await.unwrap();

    // The server gives up on it, and answers everyone else meanwhile.
    tokio::time::timeout(BOUND, async {
        loop {
            let (status, _) = served.get(served.address, "/healthz").await;
            assert_eq!(status, 200);
            let (_, text) = served.get(served.metrics, "/metrics").await;
            if sample(&text, "kraftsoci_http_write_timeouts_total") >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the stalled connection was closed by the write deadline");

    // Reading now drains what was already on its way, then finds the connection closed.
    let received = read_to_close(&mut stalled).await;
    let answers = received
        .windows(b"HTTP/1.1 200".len())
        .filter(|w| w == b"HTTP/1.1 200")
        .count();
    assert!(answers < requests, "{answers} of {requests} answers");
    let (status, _) = served.get(served.address, "/healthz").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_worker_process_serves_its_own_calls_and_the_database_counts_on_the_metrics_listener() {
    let db = TestDb::sqlite().await;
    let outbox = TempDir::new("outbox");
    let media = TempDir::new("media");
    let mut config = test_config(&db, &outbox, &media);
    config.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
    let metrics = std::sync::Arc::new(kraftsoci_server::metrics::Metrics::new());
    // What the worker's observed publisher records for an expired token.
    metrics.observe_call("graph", "create_container", "reconnect_needed");
    let listener = kraftsoci_server::WorkerMetrics::bind(
        &config,
        db.stores(),
        std::sync::Arc::new(kraftsoci_core::SystemClock),
        metrics,
    )
    .await
    .unwrap()
    .expect("KRAFTSOCI_METRICS_LISTEN is set");
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(listener.run_until(async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let response = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            "kraftsoci_provider_calls_total{provider=\"graph\",operation=\"create_container\",result=\"reconnect_needed\"}"
        ),
        1,
        "{text}"
    );
    assert!(text.contains("kraftsoci_database_up 1\n"), "{text}");
    assert!(text.contains("kraftsoci_publish_queue_due 0\n"), "{text}");
    let other = client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);

    let _ = stop.send(());
    tokio::time::timeout(BOUND, served)
        .await
        .expect("the listener stops on the signal")
        .unwrap();

    config.metrics.listen = None;
    let none = kraftsoci_server::WorkerMetrics::bind(
        &config,
        db.stores(),
        std::sync::Arc::new(kraftsoci_core::SystemClock),
        std::sync::Arc::new(kraftsoci_server::metrics::Metrics::new()),
    )
    .await
    .unwrap();
    assert!(none.is_none());
}

/// Everything the server sends until it closes the connection (a reset counts as closed);
/// fails the test if it keeps the connection open past [`BOUND`].
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    tokio::time::timeout(BOUND, async {
        let mut received = Vec::new();
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return received,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .expect("the server closed the connection")
}
