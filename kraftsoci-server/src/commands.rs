//! The operator subcommands of the `kraftsoci-server` binary, for a binary of your own: parse
//! [`Cli`](crate::cli::Cli), read the [`Config`], start [`telemetry`](crate::telemetry), then
//! call one of these.
//!
//! ```no_run
//! use kraftsoci_server::config::Config;
//!
//! # async fn run() -> Result<(), kraftsoci_server::Error> {
//! let config = Config::from_env().expect("a valid configuration");
//! kraftsoci_server::telemetry::init(config.log_format);
//! // `kraftsoci-server serve`: the HTTP API with the publish worker beside it.
//! kraftsoci_server::commands::serve(config).await
//! # }
//! ```

use std::sync::Arc;

use crate::config::Config;
use crate::error::Error;
use crate::startup::Application;
use crate::worker::{GenerationWorker, Worker, WorkerDeps};

pub use crate::admin::{publish_policy_command, rotate_key_command, sweep_command};
pub use crate::breach::{Incident, breach_command, list_command as breach_list_command};
pub use crate::requests::{Action as RequestsAction, requests_command};
pub use crate::routes::openapi;

/// `kraftsoci-server serve`: builds the [`Application`] and serves until a shutdown signal.
/// In sandbox mode outside production it first records the sandbox privacy policy when none
/// is published, so that sign-up works.
///
/// # Errors
/// What [`Application::build`] and [`Application::run_until_stopped`] return, or
/// [`Error::Database`] when the sandbox policy cannot be recorded.
pub async fn serve(config: Config) -> Result<(), Error> {
    let database = config.database_url.redacted();
    let seed = config.sandbox && !config.environment.is_production();
    let app = Application::build(config).await?;
    if seed {
        let clock = kraftsoci_core::SystemClock;
        if let Some(version) =
            crate::admin::seed_sandbox_policy(&*app.state().stores.policy, &clock)
                .await
                .map_err(|error| Error::Database(error.into()))?
        {
            tracing::warn!(
                version,
                "sandbox mode: no privacy policy was published; recorded the sandbox policy so \
                 that sign-up works (production: `kraftsoci-server publish-policy`)"
            );
        }
    }
    tracing::info!(address = %app.local_addr()?, database, "kraftsoci-server listening");
    if let Some(address) = app.metrics_addr() {
        tracing::info!(%address, "metrics listening");
    }
    app.run_until_stopped().await
}

/// `kraftsoci-server worker`: the publish worker, the generation worker and the notification
/// dispatcher, side by side without the HTTP API, until a shutdown signal.
///
/// # Errors
/// [`Error`] when a collaborator cannot be built from `config`.
pub async fn worker(config: Config) -> Result<(), Error> {
    // The Graph, OpenAI and Stripe calls of this process, served on KRAFTSOCI_METRICS_LISTEN.
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let deps = WorkerDeps::from_config_observed(&config, Some(&metrics)).await?;
    // Publishing and generation run side by side and stop on the same signal.
    let generation = GenerationWorker::from_config_observed(
        &config,
        &deps.stores,
        Arc::clone(&deps.clock),
        Some(&metrics),
    )?;
    let metrics_listener =
        crate::WorkerMetrics::bind(&config, deps.stores.clone(), deps.clock.clone(), metrics)
            .await?;
    // Notification mails and webhook deliveries go out from worker processes too.
    let mailer =
        crate::mail::for_config(&config, deps.clock.clone()).map_err(|source| Error::Setup {
            what: "mailer",
            source,
        })?;
    let dispatcher = crate::notify::Dispatcher::new(crate::notify::DispatchDeps {
        stores: deps.stores.clone(),
        mailer,
        vault: deps.vault.clone(),
        clock: deps.clock.clone(),
        public_url: config.public_url.clone(),
        targets: crate::notify::webhooks::TargetPolicy::for_production(
            config.environment.is_production(),
        ),
    })
    .spawn(crate::notify::DISPATCH_INTERVAL);
    let worker = Worker::new(deps, config.worker.clone());
    tracing::info!(
        worker = worker.id(),
        generation = generation.id(),
        database = config.database_url.redacted(),
        "kraftsoci-server publish and generation workers running"
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics_listener = match metrics_listener {
        Some(listener) => {
            tracing::info!(address = %listener.local_addr()?, "metrics listening");
            let mut metrics_stopped = stopped.clone();
            Some(tokio::spawn(listener.run_until(async move {
                let _ = metrics_stopped.wait_for(|stop| *stop).await;
            })))
        }
        None => None,
    };
    let mut generation_stopped = stopped.clone();
    let generation = tokio::spawn(async move {
        generation
            .run_until(async move {
                let _ = generation_stopped.wait_for(|stop| *stop).await;
            })
            .await;
    });
    worker
        .run_until(async move {
            crate::shutdown_signal().await;
            let _ = stop.send(true);
        })
        .await;
    if let Err(error) = generation.await {
        tracing::error!(%error, "the generation worker task failed");
    }
    dispatcher.stop().await;
    if let Some(metrics_listener) = metrics_listener {
        let _ = metrics_listener.await;
    }
    Ok(())
}
