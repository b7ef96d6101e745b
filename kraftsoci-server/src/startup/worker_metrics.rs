//! The metrics listener of a `kraftsoci-server worker` process (`KRAFTSOCI_METRICS_LISTEN`):
//! publishing and generation may run in their own processes, and their Graph, OpenAI and
//! Stripe calls and generation series live there, so those processes serve `/metrics` too —
//! without a token, on the private address, with the database's counts beside them.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse as _, Response};
use kraftsoci_core::Clock;
use tokio::net::TcpListener;

use super::serve;
use crate::config::{Config, ServerConfig};
use crate::error::Error;
use crate::metrics::{Metrics, database_snapshot};
use crate::routes::metrics::CONTENT_TYPE_TEXT;
use crate::state::Readiness;
use crate::store::Stores;

#[derive(Clone)]
struct Scrape {
    stores: Stores,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
}

async fn exposition(State(scrape): State<Scrape>) -> Response {
    let snapshot = database_snapshot(scrape.stores.operations.as_ref(), scrape.clock.now()).await;
    (
        [(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_TEXT))],
        scrape.metrics.render(&snapshot),
    )
        .into_response()
}

/// A worker process's metrics listener, bound and not yet serving.
pub struct WorkerMetrics {
    listener: TcpListener,
    router: Router,
    settings: ServerConfig,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for WorkerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerMetrics")
            .field("address", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl WorkerMetrics {
    /// Binds `KRAFTSOCI_METRICS_LISTEN`; `None` when it is unset.
    ///
    /// # Errors
    /// [`Error::Io`] when the address cannot be bound.
    pub async fn bind(
        config: &Config,
        stores: Stores,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Result<Option<Self>, Error> {
        let Some(address) = config.metrics.listen else {
            return Ok(None);
        };
        let listener = TcpListener::bind(address).await?;
        let router = Router::new()
            .route("/metrics", axum::routing::get(exposition))
            .with_state(Scrape {
                stores,
                clock,
                metrics: Arc::clone(&metrics),
            });
        Ok(Some(Self {
            listener,
            router,
            settings: config.server,
            metrics,
        }))
    }

    /// The bound address.
    ///
    /// # Errors
    /// When the socket cannot report it.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `/metrics` until `signal`, then drains as `serve` does.
    pub async fn run_until(self, signal: impl Future<Output = ()> + Send + 'static) {
        serve::serve(
            self.listener,
            self.router,
            self.settings,
            Vec::new(),
            Readiness::default(),
            self.metrics,
            signal,
        )
        .await;
    }
}
