//! Building and running the application: every collaborator is built here from the
//! configuration (`providers`), and every service is handed the ports it uses.

pub(crate) mod check;
mod providers;
mod serve;
mod worker;
mod worker_metrics;

pub(crate) use providers::vault;
pub use worker_metrics::WorkerMetrics;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use kraftsoci_core::ports::{
    ContentGenerator, Entitlements, ImageGenerator, Mailer, MediaStore, SocialPublisher,
};
use kraftsoci_core::{Clock, SystemClock};
use tokio::net::TcpListener;

use crate::auth::{AccessTokens, AuthLimits, AuthService, PasswordHasher};
use crate::billing::Billing;
use crate::config::Config;
use crate::error::Error;
use crate::http::layers;
use crate::posts::{
    ConnectPorts, ConnectSettings, FlowPorts, FlowSettings, InstagramConnect, PostFlow,
};
use crate::state::{AppServices, AppState};
use crate::store::{self, Stores};
use crate::worker::{Worker, WorkerDeps};
use crate::{mail, media, routes};

/// A built application: bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    /// `KRAFTSOCI_METRICS_LISTEN`'s listener, serving only `/metrics`.
    metrics_listener: Option<TcpListener>,
    router: Router,
    state: AppState,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

/// Builds an [`Application`], letting tests (and later features) replace collaborators.
pub struct ApplicationBuilder {
    config: Config,
    stores: Option<Stores>,
    clock: Option<Arc<dyn Clock>>,
    mailer: Option<Arc<dyn Mailer>>,
    media: Option<Arc<dyn MediaStore>>,
    publisher: Option<Arc<dyn SocialPublisher>>,
    generator: Option<Arc<dyn ContentGenerator>>,
    images: Option<Arc<dyn ImageGenerator>>,
    entitlements: Option<Arc<dyn Entitlements>>,
}

impl ApplicationBuilder {
    /// Uses these stores instead of connecting to `KRAFTSOCI_DATABASE_URL`. They are still
    /// migrated; they should run on the same clock as the application.
    pub fn stores(mut self, stores: Stores) -> Self {
        self.stores = Some(stores);
        self
    }

    /// Uses this clock instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses this mailer instead of the configured transport.
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Uses this media store instead of `KRAFTSOCI_MEDIA_URL`.
    pub fn media(mut self, media: Arc<dyn MediaStore>) -> Self {
        self.media = Some(media);
        self
    }

    /// Uses this publisher instead of the sandbox or Graph one the configuration picks.
    pub fn publisher(mut self, publisher: Arc<dyn SocialPublisher>) -> Self {
        self.publisher = Some(publisher);
        self
    }

    /// Uses this text generator instead of the configured one.
    pub fn generator(mut self, generator: Arc<dyn ContentGenerator>) -> Self {
        self.generator = Some(generator);
        self
    }

    /// Uses this image generator instead of the configured one.
    pub fn images(mut self, images: Arc<dyn ImageGenerator>) -> Self {
        self.images = Some(images);
        self
    }

    /// Uses these entitlements instead of the default ones (billing's: the stored
    /// subscription, the plan table and the database quota ledger).
    pub fn entitlements(mut self, entitlements: Arc<dyn Entitlements>) -> Self {
        self.entitlements = Some(entitlements);
        self
    }

    /// Connects, migrates, assembles the state and binds the listener (port 0 picks a free
    /// port).
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable configuration (e.g. CORS `*` with credentials),
    /// [`Error::Database`]/[`Error::Migration`] when storage is not ready,
    /// [`Error::Setup`] for mail or media, [`Error::Io`] when the address cannot be bound.
    pub async fn build(self) -> Result<Application, Error> {
        let config = self.config;
        // Fail fast, before touching anything, on a CORS setup browsers would refuse.
        layers::cors_layer(&config.cors)?;
        for variable in &config.generated {
            tracing::warn!(
                variable,
                "not set: a random value was generated for this run (development only); \
                 sessions and sealed tokens will not survive a restart"
            );
        }
        if config.sandbox {
            tracing::warn!("sandbox mode: offline generators and a sandbox Instagram publisher");
        }

        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let stores = match self.stores {
            Some(stores) => stores,
            None => {
                // The worker runs beside the API (unless turned off): its slots get their own
                // connections.
                let worker = match config.worker.enabled {
                    true => config.worker.connections(),
                    false => 0,
                };
                store::connect_with(&config.database_url, Arc::clone(&clock), worker).await?
            }
        };
        stores.database.migrate().await?;
        let mailer = match self.mailer {
            Some(mailer) => mailer,
            None => {
                mail::for_config(&config, Arc::clone(&clock)).map_err(|source| Error::Setup {
                    what: "mail",
                    source,
                })?
            }
        };
        let media = match self.media {
            Some(media) => media,
            None => media::from_config(&config.media_url).map_err(|source| Error::Setup {
                what: "media store",
                source,
            })?,
        };
        let threads = config
            .password_threads
            .map_or_else(crate::auth::default_threads, |n| n as usize);
        let depth = config.password_queue.map(|n| n as usize);
        let hasher = PasswordHasher::new(config.bcrypt_cost, threads, depth)
            .await
            .map_err(|source| Error::Setup {
                what: "password hashing",
                source,
            })?;
        let issuer = config.public_url.origin().ascii_serialization();
        let tokens = AccessTokens::new(&config.jwt_secret, &issuer);
        let auth = Arc::new(AuthService::new(
            Arc::clone(&stores.auth),
            Arc::clone(&stores.accounts),
            Arc::clone(&clock),
            Arc::clone(&mailer),
            hasher,
            tokens,
            config.frontend_url.clone(),
        ));
        let limits = Arc::new(AuthLimits::new(
            config.auth_rate_per_ip,
            config.auth_rate_per_account,
            Arc::clone(&clock),
        ));
        let setup = |what: &'static str| move |source: anyhow::Error| Error::Setup { what, source };
        // The registry of `/metrics`; the providers built here count their calls in it.
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let media_links = Arc::new(providers::media_links(&config, Arc::clone(&clock)));
        let vault = Arc::new(providers::vault(&config.token_keys).map_err(setup("token vault"))?);
        let meta = providers::meta_client(&config).map_err(setup("meta client"))?;
        let publisher = match self.publisher {
            Some(publisher) => publisher,
            None => crate::metrics::ObservedPublisher::wrap(
                providers::publisher(
                    &config,
                    meta.as_ref(),
                    &stores.sandbox,
                    &media,
                    &media_links,
                    &clock,
                )
                .map_err(setup("publisher"))?,
                if config.sandbox { "sandbox" } else { "graph" },
                Arc::clone(&metrics),
            ),
        };
        let (generator, images) = match (self.generator, self.images) {
            (Some(generator), Some(images)) => (generator, images),
            (generator, images) => {
                let (default_text, default_images) =
                    providers::generators(&config, Some(&metrics)).map_err(setup("generators"))?;
                (
                    generator.unwrap_or(default_text),
                    images.unwrap_or(default_images),
                )
            }
        };
        // Every generation step is timed and its failures counted, whichever generator runs.
        let generator = crate::metrics::ObservedGenerator::text(generator, Arc::clone(&metrics));
        let images = crate::metrics::ObservedGenerator::images(images, Arc::clone(&metrics));
        let billing = Arc::new(
            Billing::from_config_observed(
                &config,
                Arc::clone(&stores.billing),
                Arc::clone(&stores.quota),
                Arc::clone(&stores.intents),
                Arc::clone(&clock),
                Some(Arc::clone(&metrics)),
            )
            .map_err(|e| setup("billing")(e.into()))?,
        );
        // The plan's own entitlements also tell the owner at 80 % and 100 % of the allowance;
        // entitlements a test substitutes are used as they are.
        let entitlements = self.entitlements.unwrap_or_else(|| {
            crate::notify::NotifyingEntitlements::wrap(
                billing.entitlements(),
                Arc::clone(&billing),
                crate::notify::Notifier::new(&stores, Arc::clone(&clock)),
            )
        });
        let posts = Arc::new(PostFlow::new(
            FlowPorts {
                posts: Arc::clone(&stores.posts),
                accounts: Arc::clone(&stores.accounts),
                profiles: Arc::clone(&stores.profiles),
                connections: Arc::clone(&stores.connections),
                entitlements: Arc::clone(&entitlements),
                generator: Arc::clone(&generator),
                images: Arc::clone(&images),
                media: Arc::clone(&media),
                clock: Arc::clone(&clock),
                generation: Arc::clone(&stores.generation),
            },
            FlowSettings {
                sandbox: config.sandbox,
                daily_publish_limit: config.daily_publish_limit,
            },
        ));
        let instagram = Arc::new(InstagramConnect::new(
            ConnectPorts {
                oauth_states: Arc::clone(&stores.oauth_states),
                connections: Arc::clone(&stores.connections),
                posts: Arc::clone(&stores.posts),
                journal: Arc::clone(&stores.journal),
                auth: Arc::clone(&stores.auth),
                vault: Arc::clone(&vault),
                meta: meta.clone(),
                clock: Arc::clone(&clock),
            },
            ConnectSettings {
                sandbox: config.sandbox,
                redirect_uri: config.meta.redirect_uri.clone(),
            },
        ));
        let usage_log = Arc::clone(&stores.usage_log);
        let state = AppState::new(AppServices {
            config: Arc::new(config),
            stores,
            clock,
            mailer,
            media,
            auth,
            limits,
            media_links,
            publisher,
            generator,
            images,
            entitlements,
            billing,
            vault,
            meta,
            posts,
            instagram,
            usage: crate::usage_log::UsageWriter::spawn(
                Arc::clone(&usage_log),
                crate::usage_log::CAPACITY,
            ),
            readiness: crate::state::Readiness::default(),
            metrics,
        });
        let router = layers::apply(
            routes::router(state.clone()),
            &state.config.cors,
            state.config.environment,
        )?;
        let listener = TcpListener::bind(state.config.listen).await?;
        let metrics_listener = match state.config.metrics.listen {
            Some(address) => Some(TcpListener::bind(address).await?),
            None => None,
        };
        Ok(Application {
            listener,
            metrics_listener,
            router,
            state,
        })
    }
}

impl Application {
    /// Starts building with `config`.
    pub fn builder(config: Config) -> ApplicationBuilder {
        ApplicationBuilder {
            config,
            stores: None,
            clock: None,
            mailer: None,
            media: None,
            publisher: None,
            generator: None,
            images: None,
            entitlements: None,
        }
    }

    /// Builds with every collaborator from `config`.
    ///
    /// # Errors
    /// As [`ApplicationBuilder::build`].
    pub async fn build(config: Config) -> Result<Self, Error> {
        Self::builder(config).build().await
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.local_addr().map_or(0, |a| a.port())
    }

    /// The bound address.
    ///
    /// # Errors
    /// When the socket cannot report it.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address of the separate metrics listener (`KRAFTSOCI_METRICS_LISTEN`), when
    /// there is one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The state handlers see.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then drains as [`Application::run_until`] does.
    ///
    /// # Errors
    /// As [`Application::run_until`].
    pub async fn run_until_stopped(self) -> Result<(), Error> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes, then drains: `/readyz` answers 503 at once, new
    /// connections are served for `KRAFTSOCI_SHUTDOWN_DELAY`, requests in progress get
    /// `KRAFTSOCI_SHUTDOWN_TIMEOUT` to finish while the worker releases its jobs and stops,
    /// then mails still being sent get up to `KRAFTSOCI_SHUTDOWN_TIMEOUT` more.
    ///
    /// # Errors
    /// [`Error::Config`] when the sweep or the worker cannot be set up.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        // The publish worker runs beside the API and stops with it (KRAFTSOCI_WORKER=0 leaves
        // publishing to dedicated `kraftsoci-server worker` processes).
        let config = &self.state.config;
        let worker = match config.worker.enabled {
            true => Some(
                Worker::new(
                    WorkerDeps::try_from_state(&self.state)?,
                    config.worker.clone(),
                )
                .spawn(),
            ),
            false => None,
        };
        // So does the generation worker (posts in `generating`), under the same switch.
        let generation = config.worker.enabled.then(|| {
            crate::worker::GenerationWorker::from_state(&self.state, config.worker.clone()).spawn()
        });
        // Notification mails and webhook deliveries go out beside the worker.
        let dispatcher = config.worker.enabled.then(|| {
            crate::notify::Dispatcher::new(dispatch_deps(&self.state))
                .spawn(crate::notify::DISPATCH_INTERVAL)
        });
        // So does the retention sweep (KRAFTSOCI_SWEEP=0 leaves it to a scheduled
        // `kraftsoci-server sweep`).
        let sweep = if config.sweep.enabled {
            let sweep = crate::retention::Sweep::for_state(&self.state).map_err(|error| {
                crate::config::ConfigError {
                    variable: "KRAFTSOCI_SWEEP_INTERVAL",
                    reason: error.to_string(),
                }
            })?;
            Some(crate::retention::PeriodicSweep::spawn(sweep, &config.sweep))
        } else {
            None
        };
        // One signal, two listeners: the HTTP drain and the background work stop together.
        let (signalled, on_signal) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            signal.await;
            let _ = signalled.send(true);
        });
        let mut http_signal = on_signal.clone();
        let http = serve::serve(
            self.listener,
            self.router,
            config.server,
            config.trusted_proxies.clone(),
            self.state.readiness.clone(),
            Arc::clone(&self.state.metrics),
            async move {
                let _ = http_signal.wait_for(|signalled| *signalled).await;
            },
        );
        // The metrics listener: the same deadlines and drain, `/metrics` alone, no token.
        let metrics = self.metrics_listener.map(|listener| {
            let mut metrics_signal = on_signal.clone();
            let router = Router::new()
                .route(
                    "/metrics",
                    axum::routing::get(crate::routes::metrics::exposition),
                )
                .with_state(self.state.clone());
            serve::serve(
                listener,
                router,
                config.server,
                Vec::new(),
                crate::state::Readiness::default(),
                Arc::clone(&self.state.metrics),
                async move {
                    let _ = metrics_signal.wait_for(|signalled| *signalled).await;
                },
            )
        });
        let http = async move {
            match metrics {
                Some(metrics) => {
                    tokio::join!(http, metrics);
                }
                None => http.await,
            }
        };
        let mut background_signal = on_signal;
        let background = async move {
            let _ = background_signal.wait_for(|signalled| *signalled).await;
            if let Some(worker) = worker {
                worker.stop().await;
            }
            if let Some(generation) = generation {
                generation.stop().await;
            }
            if let Some(dispatcher) = dispatcher {
                dispatcher.stop().await;
            }
            if let Some(sweep) = sweep {
                sweep.stop().await;
            }
        };
        tokio::join!(http, background);
        // Every request is answered: write the usage events still waiting.
        self.state.usage.shutdown().await;
        // Requests that finished during the drain may have left a mail on its way.
        self.state
            .auth
            .mail_tasks()
            .drain(config.server.shutdown_timeout)
            .await;
        Ok(())
    }
}

/// What the notification dispatcher of a running application uses: its stores, mailer,
/// vault and clock, and the webhook target policy of its environment.
pub fn dispatch_deps(state: &AppState) -> crate::notify::DispatchDeps {
    crate::notify::DispatchDeps {
        stores: state.stores.clone(),
        mailer: Arc::clone(&state.mailer),
        vault: Arc::clone(&state.vault),
        clock: Arc::clone(&state.clock),
        public_url: state.config.public_url.clone(),
        targets: crate::notify::webhooks::TargetPolicy::for_production(
            state.config.environment.is_production(),
        ),
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
