//! The `kraftsoci-server` binary: reads configuration, starts logging, runs a subcommand.

use std::process::ExitCode;

use clap::Parser;
use kraftsoci_server::cli::{Cli, Command};
use kraftsoci_server::config::Config;
use kraftsoci_server::worker::{Worker, WorkerDeps};
use kraftsoci_server::{Application, admin, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Command::Migrate => kraftsoci_server::migrate(&config).await,
        Command::Worker => worker(config).await,
        Command::Sweep { dry_run, json } => admin::sweep_command(&config, dry_run, json).await,
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

async fn serve(config: Config) -> Result<(), kraftsoci_server::Error> {
    let database = config.database_url.redacted();
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr()?, database, "kraftsoci-server listening");
    app.run_until_stopped().await
}

async fn worker(config: Config) -> Result<(), kraftsoci_server::Error> {
    let deps = WorkerDeps::from_config(&config).await?;
    let worker = Worker::new(deps, config.worker.clone());
    tracing::info!(
        worker = worker.id(),
        database = config.database_url.redacted(),
        "kraftsoci-server publish worker running"
    );
    worker.run_until(kraftsoci_server::shutdown_signal()).await;
    Ok(())
}
