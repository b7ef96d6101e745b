//! Serving connections with the limits `axum::serve` does not set (it reads request heads and
//! bodies without any deadline, so a client that announces a body and never sends it holds a
//! connection forever): HTTP/1.1 through hyper with
//!
//! - a deadline for each request's head, which also closes kept-alive connections left idle
//!   ([`ServerConfig::header_timeout`]);
//! - a deadline for each whole request body, so neither a stalled nor a dripped body can hold
//!   a handler ([`ServerConfig::body_timeout`]); the handler sees a body error and hyper closes
//!   the connection after the answer, since the body was not read to its end;
//! - a deadline for each response write ([`ServerConfig::write_timeout`]): a client that
//!   sends requests and stops reading the answers (its receive window stays full) has its
//!   connection closed once a write has waited that long, instead of holding it, its buffers
//!   and its handler forever;
//! - caps on open connections, in total and per client address; a connection beyond a cap is
//!   closed as soon as it is accepted. Connections from trusted proxies carry many clients, so
//!   they are not counted per address; instead the requests in progress per forwarded client
//!   address (the same trusted-proxy logic as the rate limits) are capped, with a 429;
//! - a drain on shutdown: `/readyz` answers 503 at once, new connections are still served for
//!   [`ServerConfig::shutdown_delay`], then the listener closes, idle connections close, and
//!   requests in progress get [`ServerConfig::shutdown_timeout`] to finish before their
//!   connections are dropped.
//!
//! HTTP/2 is not served: the API sits behind a TLS-terminating proxy that speaks HTTP/1.1 to
//! it, and hyper's HTTP/2 server has no head deadline.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::config::{IpNet, ServerConfig, canonical_ip};
use crate::error::ApiError;
use crate::http::client::client_ip;
use crate::metrics::Metrics;
use crate::state::Readiness;

/// Counts what each client address holds open, up to a limit.
#[derive(Debug)]
struct ClientSlots {
    limit: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection or request of a client; released when dropped.
#[derive(Debug)]
struct Slot {
    slots: Arc<ClientSlots>,
    ip: IpAddr,
}

impl ClientSlots {
    fn new(limit: u32) -> Arc<Self> {
        Arc::new(Self {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            held: Mutex::new(HashMap::new()),
        })
    }

    fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(ip).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.ip);
            }
        }
    }
}

/// The request body was not received within [`ServerConfig::body_timeout`].
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyTimeout;

/// A request body that fails once its deadline passes, however the bytes trickle in.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            tracing::debug!("request body timed out");
            return Poll::Ready(Some(Err(BodyTimeout.into())));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection whose writes fail once one has waited [`ServerConfig::write_timeout`] for the
/// client to read. Any progress restarts the clock; hyper then drops the connection.
struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    expired: bool,
    metrics: Arc<Metrics>,
}

impl<S> WriteDeadline<S> {
    fn new(inner: S, timeout: Duration, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            timeout,
            deadline: None,
            expired: false,
            metrics,
        }
    }

    /// What a write that is not ready answers: still pending, or the deadline's error.
    fn wait<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.expired {
            let timeout = self.timeout;
            let deadline = self
                .deadline
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
            if deadline.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.expired = true;
            self.deadline = None;
            self.metrics.observe_write_timeout();
            tracing::debug!("connection closed: the client stopped reading the response");
        }
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client read nothing for KRAFTSOCI_HTTP_WRITE_TIMEOUT",
        )))
    }

    /// Passes a write's answer on, restarting the clock when it made progress.
    fn settle<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if self.expired {
            return self.wait(cx);
        }
        match polled {
            Poll::Ready(result) => {
                self.deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.wait(cx),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.settle(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.settle(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.settle(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What every request on one connection shares.
struct Connection {
    router: Router,
    peer: SocketAddr,
    body_timeout: Duration,
    trusted: Arc<[IpNet]>,
    /// Per forwarded client, for connections from a trusted proxy.
    forwarded: Option<Arc<ClientSlots>>,
}

impl Connection {
    async fn handle(self: Arc<Self>, request: http::Request<Incoming>) -> Response {
        let _slot = match &self.forwarded {
            Some(slots) => {
                let client = client_ip(Some(self.peer.ip()), request.headers(), &self.trusted)
                    .unwrap_or_else(|| self.peer.ip());
                match slots.try_take(client) {
                    Some(slot) => Some(slot),
                    None => {
                        tracing::debug!(%client, "too many requests in progress for one client");
                        return ApiError::RateLimited {
                            retry_after_secs: 1,
                        }
                        .into_response();
                    }
                }
            }
            None => None,
        };
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ConnectInfo(self.peer));
        let body = Body::new(DeadlineBody {
            inner: body,
            deadline: Box::pin(tokio::time::sleep(self.body_timeout)),
        });
        match self
            .router
            .clone()
            .oneshot(http::Request::from_parts(parts, body))
            .await
        {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// Serves `router` on `listener` until `signal`, then drains (see the module docs).
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServerConfig,
    trusted: Vec<IpNet>,
    readiness: Readiness,
    metrics: Arc<Metrics>,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let trusted: Arc<[IpNet]> = trusted.into();
    let total = Arc::new(Semaphore::new(
        usize::try_from(settings.max_connections).unwrap_or(usize::MAX),
    ));
    let per_peer = ClientSlots::new(settings.max_connections_per_client);
    let per_forwarded = ClientSlots::new(settings.max_connections_per_client);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout);
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();

    // Readiness flips the moment the signal arrives; the listener stays open for the delay.
    let (listening, mut closed) = watch::channel(false);
    let signal_readiness = readiness.clone();
    let delay = settings.shutdown_delay;
    tokio::spawn(async move {
        signal.await;
        signal_readiness.start_draining();
        tracing::info!(
            delay_secs = delay.as_secs(),
            "shutting down: /readyz answers 503, new connections served for the delay"
        );
        tokio::time::sleep(delay).await;
        let _ = listening.send(true);
    });

    loop {
        let accepted = tokio::select! {
            () = async { let _ = closed.wait_for(|closed| *closed).await; } => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Per-connection failures (reset before accept) and descriptor exhaustion:
                // pause briefly instead of spinning.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&total).try_acquire_owned() else {
            tracing::warn!(%peer, "connection closed: KRAFTSOCI_MAX_CONNECTIONS reached");
            continue;
        };
        let peer_ip = canonical_ip(peer.ip());
        let from_proxy = trusted.iter().any(|net| net.contains(peer_ip));
        let peer_slot = if from_proxy {
            None
        } else {
            match per_peer.try_take(peer_ip) {
                Some(slot) => Some(slot),
                None => {
                    tracing::debug!(%peer, "connection closed: too many from one address");
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = Arc::new(Connection {
            router: router.clone(),
            peer,
            body_timeout: settings.body_timeout,
            trusted: Arc::clone(&trusted),
            forwarded: from_proxy.then(|| Arc::clone(&per_forwarded)),
        });
        let service = hyper::service::service_fn(move |request| {
            let connection = Arc::clone(&connection);
            async move { Ok::<_, Infallible>(connection.handle(request).await) }
        });
        let stream = WriteDeadline::new(stream, settings.write_timeout, Arc::clone(&metrics));
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let _held = (permit, peer_slot);
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                () = async { let _ = stopping.wait_for(|stop| *stop).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }

    drop(listener);
    let _ = stop.send(true);
    let in_progress = connections.len();
    tracing::info!(
        connections = in_progress,
        "listener closed; finishing requests in progress"
    );
    let drained = tokio::time::timeout(settings.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "KRAFTSOCI_SHUTDOWN_TIMEOUT passed; closing the connections still busy"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}
