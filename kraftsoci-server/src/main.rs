//! The `kraftsoci-server` binary: reads configuration, starts logging, runs a subcommand.

use std::process::ExitCode;

use clap::Parser;
use kraftsoci_server::cli::{BreachAction, Cli, Command, ConfigAction};
use kraftsoci_server::config::Config;
use kraftsoci_server::worker::{Worker, WorkerDeps};
use kraftsoci_server::{Application, admin, healthcheck, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // A `.env` file in the working directory, when there is one, fills in what the real
    // environment leaves unset.
    match dotenvy::dotenv() {
        Ok(_) => {}
        Err(error) if error.not_found() => {}
        Err(error) => {
            eprintln!("kraftsoci-server: .env: {error}");
            return ExitCode::FAILURE;
        }
    }
    match cli.command() {
        Command::Healthcheck => return healthcheck().await,
        Command::Openapi => return openapi(),
        Command::Config {
            action: ConfigAction::Check,
        } => return kraftsoci_server::cli::config_check().await,
        Command::Migrate => return migrate().await,
        _ => {}
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kraftsoci-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(config.log_format);
    let result = match cli.command() {
        Command::Serve => serve(config).await,
        Command::Migrate | Command::Config { .. } => Ok(()),
        Command::Worker => worker(config).await,
        Command::Healthcheck | Command::Openapi => {
            unreachable!("answered before the configuration is read")
        }
        Command::Sweep { dry_run, json } => admin::sweep_command(&config, dry_run, json).await,
        Command::Requests { action } => {
            kraftsoci_server::requests::requests_command(&config, action.into()).await
        }
        Command::Breach {
            action: Some(BreachAction::List { json }),
            ..
        } => kraftsoci_server::breach::list_command(&config, json).await,
        Command::Breach {
            action: None,
            id,
            detected_at,
            summary,
            all,
            emails,
            dry_run,
        } => match kraftsoci_server::breach::Incident::from_args(
            id.unwrap_or_default(),
            detected_at.as_deref().unwrap_or_default(),
            summary.unwrap_or_default(),
            all,
            emails,
        ) {
            Ok(incident) => {
                kraftsoci_server::breach::breach_command(&config, incident, dry_run).await
            }
            Err(error) => Err(kraftsoci_server::error::Error::Command {
                command: "breach",
                source: error.into(),
            }),
        },
        Command::RotateKey => admin::rotate_key_command(&config).await,
        Command::PublishPolicy { version, summary } => {
            admin::publish_policy_command(&config, &version, &summary).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "kraftsoci-server failed");
            eprintln!("kraftsoci-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `healthcheck`: only `KRAFTSOCI_LISTEN` matters, so a container whose full configuration is
/// being fixed still reports honestly whether the server answers.
async fn healthcheck() -> ExitCode {
    let listen = std::env::var("KRAFTSOCI_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let result = match healthcheck::target(&listen) {
        Ok(address) => healthcheck::probe(address).await,
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kraftsoci-server healthcheck: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `openapi`: the document `/openapi.json` serves, on standard output.
fn openapi() -> ExitCode {
    match serde_json::to_string_pretty(&kraftsoci_server::routes::openapi()) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("kraftsoci-server openapi: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `migrate`: only the database settings are read.
async fn migrate() -> ExitCode {
    let database = match Config::database_from_env() {
        Ok(database) => database,
        Err(error) => {
            eprintln!("kraftsoci-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(
        std::env::var("KRAFTSOCI_LOG_FORMAT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default(),
    );
    match kraftsoci_server::migrate_database(&database).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "migrations failed");
            eprintln!("kraftsoci-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), kraftsoci_server::Error> {
    let database = config.database_url.redacted();
    let seed = config.sandbox && !config.environment.is_production();
    let app = Application::build(config).await?;
    if seed {
        let clock = kraftsoci_core::SystemClock;
        if let Some(version) = admin::seed_sandbox_policy(&*app.state().stores.policy, &clock)
            .await
            .map_err(|error| kraftsoci_server::Error::Database(error.into()))?
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

async fn worker(config: Config) -> Result<(), kraftsoci_server::Error> {
    // The Graph, OpenAI and Stripe calls of this process, served on KRAFTSOCI_METRICS_LISTEN.
    let metrics = std::sync::Arc::new(kraftsoci_server::metrics::Metrics::new());
    let deps = WorkerDeps::from_config_observed(&config, Some(&metrics)).await?;
    // Publishing and generation run side by side and stop on the same signal.
    let generation = kraftsoci_server::worker::GenerationWorker::from_config_observed(
        &config,
        &deps.stores,
        std::sync::Arc::clone(&deps.clock),
        Some(&metrics),
    )?;
    let metrics_listener = kraftsoci_server::WorkerMetrics::bind(
        &config,
        deps.stores.clone(),
        deps.clock.clone(),
        metrics,
    )
    .await?;
    // Notification mails and webhook deliveries go out from worker processes too.
    let mailer =
        kraftsoci_server::mail::for_config(&config, deps.clock.clone()).map_err(|source| {
            kraftsoci_server::Error::Setup {
                what: "mailer",
                source,
            }
        })?;
    let dispatcher =
        kraftsoci_server::notify::Dispatcher::new(kraftsoci_server::notify::DispatchDeps {
            stores: deps.stores.clone(),
            mailer,
            vault: deps.vault.clone(),
            clock: deps.clock.clone(),
            public_url: config.public_url.clone(),
            targets: kraftsoci_server::notify::webhooks::TargetPolicy::for_production(
                config.environment.is_production(),
            ),
        })
        .spawn(kraftsoci_server::notify::DISPATCH_INTERVAL);
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
            kraftsoci_server::shutdown_signal().await;
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
