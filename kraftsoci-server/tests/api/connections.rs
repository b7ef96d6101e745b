//! Issue 18: slow and stalled clients cannot hold the server, connections are capped, and
//! shutdown drains. The clients here speak raw HTTP/1.1 over TCP so they can misbehave; every
//! wait is bounded (`closes_within`), and only proves that something happened, never how fast.

use std::time::Duration;

use kraftsoci_server::config::{Config, IpNet};
use kraftsoci_server::{Application, Error};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::test_config;
use crate::support::{TempDir, TestDb};

/// How long a test waits for the server to do something before calling it a failure. Far
/// beyond the one-second deadlines the servers here are given.
const BOUND: Duration = Duration::from_secs(30);

/// A server this test stops itself.
struct Served {
    address: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Error>>,
    _db: TestDb,
    _dirs: (TempDir, TempDir),
}

async fn serve(adjust: impl FnOnce(&mut Config)) -> Served {
    let db = TestDb::sqlite().await;
    let outbox = TempDir::new("outbox");
    let media = TempDir::new("media");
    let mut config = test_config(&db, &outbox, &media);
    adjust(&mut config);
    let app = Application::build(config).await.expect("the server builds");
    let address = format!("127.0.0.1:{}", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    Served {
        address,
        stop: Some(stop),
        task,
        _db: db,
        _dirs: (outbox, media),
    }
}

impl Served {
    async fn connect(&self) -> TcpStream {
        TcpStream::connect(&self.address).await.unwrap()
    }

    /// Sends SIGTERM's stand-in.
    fn shut_down(&mut self) {
        let _ = self.stop.take().unwrap().send(());
    }

    /// `GET path` on a fresh connection: the status, or `None` when the connection was
    /// refused or closed without an answer.
    async fn get(&self, path: &str, forwarded_for: Option<&str>) -> Option<u16> {
        let mut stream = TcpStream::connect(&self.address).await.ok()?;
        let forwarded = forwarded_for
            .map(|ip| format!("X-Forwarded-For: {ip}\r\n"))
            .unwrap_or_default();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: x\r\n{forwarded}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        status_of(&read_to_close(&mut stream).await)
    }
}

/// Everything the server sends until it closes the connection (a reset counts as closed);
/// fails the test if it keeps the connection open past [`BOUND`].
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    tokio::time::timeout(BOUND, async {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
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

fn status_of(response: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(response).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Reads one interim or final response head (up to the blank line).
async fn read_head(stream: &mut TcpStream) -> String {
    tokio::time::timeout(BOUND, async {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "closed early");
            head.push(byte[0]);
        }
        String::from_utf8(head).unwrap()
    })
    .await
    .expect("the server answered")
}

const LOGIN_BODY: &str = r#"{"email":"ada@example.com","password":"not the password"}"#;

/// Starts a login whose body is announced and not sent, and waits until the handler is
/// reading it (the server asks for it with `100 Continue`): a request in progress.
async fn login_in_progress(served: &Served, forwarded_for: Option<&str>) -> TcpStream {
    let mut stream = served.connect().await;
    let forwarded = forwarded_for
        .map(|ip| format!("X-Forwarded-For: {ip}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n{forwarded}\r\n",
        LOGIN_BODY.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = read_head(&mut stream).await;
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    stream
}

fn short_deadlines(config: &mut Config) {
    config.server.header_timeout = Duration::from_secs(1);
    config.server.body_timeout = Duration::from_secs(1);
}

#[tokio::test]
async fn a_body_announced_and_never_sent_is_cut_off_and_the_server_still_answers() {
    let served = serve(short_deadlines).await;
    let mut stream = served.connect().await;
    let head = "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 500\r\n\r\n{\"email\":";
    stream.write_all(head.as_bytes()).await.unwrap();

    let response = read_to_close(&mut stream).await;
    let status = status_of(&response);
    assert!(
        status.is_some_and(|s| (400..500).contains(&s)),
        "the handler answers a client error, then the connection closes: {:?}",
        String::from_utf8_lossy(&response)
    );
    assert_eq!(served.get("/healthz", None).await, Some(200));
}

#[tokio::test]
async fn a_slowly_dripped_chunked_body_is_cut_off_too() {
    let served = serve(short_deadlines).await;
    let stream = served.connect().await;
    let (mut reader, mut writer) = stream.into_split();
    let head = "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    writer.write_all(head.as_bytes()).await.unwrap();
    // One byte every 100 ms: each chunk arrives well within any per-read timeout, so only a
    // deadline on the whole body ends it.
    let dripping = tokio::spawn(async move {
        while writer.write_all(b"1\r\n \r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let response = tokio::time::timeout(BOUND, async {
        let mut received = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return received,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .expect("the server closed the dripping connection");
    assert!(
        status_of(&response).is_some_and(|s| (400..500).contains(&s)),
        "{:?}",
        String::from_utf8_lossy(&response)
    );
    dripping.abort();
    assert_eq!(served.get("/healthz", None).await, Some(200));
}

#[tokio::test]
async fn a_request_head_never_finished_and_an_idle_connection_are_closed() {
    let served = serve(short_deadlines).await;
    let mut stalled = served.connect().await;
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = served.connect().await;

    assert_eq!(status_of(&read_to_close(&mut stalled).await), None);
    assert!(read_to_close(&mut idle).await.is_empty());
    assert_eq!(served.get("/healthz", None).await, Some(200));
}

#[tokio::test]
async fn connections_beyond_the_per_address_cap_are_closed_until_one_ends() {
    let served = serve(|config| {
        config.server.max_connections_per_client = 2;
    })
    .await;
    let first = login_in_progress(&served, None).await;
    let _second = login_in_progress(&served, None).await;

    let mut third = served.connect().await;
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(
        read_to_close(&mut third).await.is_empty(),
        "closed without an answer"
    );

    drop(first);
    // The server notices the closed connection on its own time; wait (bounded) for the slot.
    let served_again = tokio::time::timeout(BOUND, async {
        loop {
            if served.get("/healthz", None).await == Some(200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        served_again.is_ok(),
        "a slot is free again once a connection ends"
    );
}

#[tokio::test]
async fn connections_beyond_the_total_cap_are_closed() {
    let served = serve(|config| {
        // Trusted-proxy connections are not counted per address, only in total.
        config.trusted_proxies = vec!["127.0.0.1".parse::<IpNet>().unwrap()];
        config.server.max_connections = 2;
        config.server.max_connections_per_client = 2;
    })
    .await;
    let _first = login_in_progress(&served, Some("203.0.113.1")).await;
    let _second = login_in_progress(&served, Some("203.0.113.2")).await;
    assert_eq!(served.get("/healthz", Some("203.0.113.3")).await, None);
}

#[tokio::test]
async fn behind_a_trusted_proxy_requests_in_progress_are_capped_per_forwarded_client() {
    let served = serve(|config| {
        config.trusted_proxies = vec!["127.0.0.1".parse::<IpNet>().unwrap()];
        config.server.max_connections_per_client = 1;
    })
    .await;
    let _busy = login_in_progress(&served, Some("203.0.113.7")).await;

    assert_eq!(
        served.get("/healthz", Some("203.0.113.7")).await,
        Some(429),
        "the same client through the proxy waits for its request in progress"
    );
    assert_eq!(
        served.get("/healthz", Some("198.51.100.2")).await,
        Some(200),
        "another client through the same proxy is served"
    );
}

#[tokio::test]
async fn readyz_answers_503_as_soon_as_shutdown_begins_while_requests_are_still_served() {
    let mut served = serve(|config| {
        config.server.shutdown_delay = Duration::from_secs(600);
    })
    .await;
    assert_eq!(served.get("/readyz", None).await, Some(200));
    served.shut_down();

    let not_ready = tokio::time::timeout(BOUND, async {
        while served.get("/readyz", None).await != Some(503) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(not_ready.is_ok(), "/readyz turned 503");
    assert_eq!(
        served.get("/healthz", None).await,
        Some(200),
        "during the delay new requests are still served"
    );
}

#[tokio::test]
async fn a_request_in_progress_at_shutdown_finishes_and_then_the_server_stops() {
    let mut served = serve(|_| {}).await;
    let mut in_progress = login_in_progress(&served, None).await;
    served.shut_down();

    // The listener closes: new connections are refused (bounded wait for the close).
    let refused = tokio::time::timeout(BOUND, async {
        while TcpStream::connect(&served.address).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "the listener closed");

    in_progress.write_all(LOGIN_BODY.as_bytes()).await.unwrap();
    let response = read_to_close(&mut in_progress).await;
    let text = String::from_utf8_lossy(&response);
    assert_eq!(status_of(&response), Some(401), "{text}");
    assert!(text.contains("invalid_credentials"), "{text}");

    let stopped = tokio::time::timeout(BOUND, served.task).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "run_until returned after the drain: {stopped:?}"
    );
}

#[tokio::test]
async fn a_request_still_in_progress_at_the_shutdown_deadline_is_cut_off() {
    let mut served = serve(|config| {
        config.server.shutdown_timeout = Duration::from_secs(1);
    })
    .await;
    let mut stuck = login_in_progress(&served, None).await;
    served.shut_down();

    let stopped = tokio::time::timeout(BOUND, served.task).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "run_until returned at the deadline although a request never finished: {stopped:?}"
    );
    read_to_close(&mut stuck).await;
}
