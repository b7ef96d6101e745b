//! The `kraftsoci-server` binary: reads configuration, starts logging, runs a subcommand.

use std::process::ExitCode;

use clap::Parser;
use kraftsoci_server::cli::{BreachAction, Cli, Command, ConfigAction};
use kraftsoci_server::config::Config;
use kraftsoci_server::{commands, healthcheck, telemetry};

/// mimalloc rather than the system allocator: a request allocates many small strings (rows,
/// JSON, headers) and frees them at once, and with glibc's allocator the API served about a
/// sixth fewer requests per second (`docs/performance.md`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Command::Serve => commands::serve(config).await,
        Command::Migrate | Command::Config { .. } => Ok(()),
        Command::Worker => commands::worker(config).await,
        Command::Healthcheck | Command::Openapi => {
            unreachable!("answered before the configuration is read")
        }
        Command::Sweep { dry_run, json } => commands::sweep_command(&config, dry_run, json).await,
        Command::Requests { action } => commands::requests_command(&config, action.into()).await,
        Command::Breach {
            action: Some(BreachAction::List { json }),
            ..
        } => commands::breach_list_command(&config, json).await,
        Command::Breach {
            action: None,
            id,
            detected_at,
            summary,
            all,
            emails,
            dry_run,
        } => match commands::Incident::from_args(
            id.unwrap_or_default(),
            detected_at.as_deref().unwrap_or_default(),
            summary.unwrap_or_default(),
            all,
            emails,
        ) {
            Ok(incident) => commands::breach_command(&config, incident, dry_run).await,
            Err(error) => Err(kraftsoci_server::error::Error::Command {
                command: "breach",
                source: error.into(),
            }),
        },
        Command::RotateKey => commands::rotate_key_command(&config).await,
        Command::PublishPolicy { version, summary } => {
            commands::publish_policy_command(&config, &version, &summary).await
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
    match serde_json::to_string_pretty(&commands::openapi()) {
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
