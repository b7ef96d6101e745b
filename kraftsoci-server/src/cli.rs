//! The command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::startup::check::{CHECK_TIMEOUT, check_database, describe};

/// The kraftsoci server. Configuration comes from environment variables (see
/// docs/configuration.md).
#[derive(Debug, Parser)]
#[command(name = "kraftsoci-server", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands. Later ones (`worker`, `sweep`, `rotate-key`, `publish-policy`) are added
/// here as variants, each dispatched in `main.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the HTTP API (and, unless `KRAFTSOCI_WORKER=0`, the publish
    /// worker) until SIGTERM or Ctrl-C.
    Serve,
    /// Apply the database migrations and exit (reads only KRAFTSOCI_DATABASE_URL).
    Migrate,
    /// Run the publish worker alone (no HTTP API) until SIGTERM or Ctrl-C.
    Worker,
    /// Ask the server on this host for `/healthz` (the address of KRAFTSOCI_LISTEN) and exit 0
    /// only on 200: a container HEALTHCHECK without curl. Reads no other setting.
    Healthcheck,
    /// Print this server's OpenAPI 3.1 document (the one `/openapi.json` serves) and exit:
    /// generate a client from it without running a server. Reads no setting.
    Openapi,
    /// Run one retention sweep (P17–P19: usage logs after 30 days, closed accounts, expired
    /// sessions, payment records after 10 years) and print what it did.
    Sweep {
        /// Count what is due and delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Data-subject requests that arrive by email or post (P33): record, list, complete.
    Requests {
        /// What to do.
        #[command(subcommand)]
        action: RequestsAction,
    },
    /// Notify the users affected by a security incident (in-app notice and mail, once each)
    /// and print the authority's 72-hour deadline; every run, dry or not, is kept in the
    /// incident register (`breach list`). See docs/security.md, "Breach runbook".
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Breach {
        /// `list`: print the incident register instead.
        #[command(subcommand)]
        action: Option<BreachAction>,
        /// A short label for the incident, e.g. 2026-12-06-media-bucket.
        #[arg(long, required = true)]
        id: Option<String>,
        /// When the incident was detected, RFC 3339.
        #[arg(long, required = true)]
        detected_at: Option<String>,
        /// What happened, which data, what was done and what users should do.
        #[arg(long, required = true)]
        summary: Option<String>,
        /// Every open account is affected.
        #[arg(long, conflicts_with = "emails")]
        all: bool,
        /// The affected accounts' addresses, comma-separated.
        #[arg(long, value_delimiter = ',', required_unless_present = "all")]
        emails: Vec<String>,
        /// Count the recipients and print the draft; send nothing (the run is registered).
        #[arg(long)]
        dry_run: bool,
    },
    /// Inspect the configuration.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Re-encrypt every stored Instagram token with the newest key of KRAFTSOCI_TOKEN_KEYS.
    RotateKey,
    /// Record a new privacy-policy version and announce it to every open account by email
    /// and in-app notice (once per account, so it can be run again safely).
    PublishPolicy {
        /// The version label, e.g. 2026-02.
        #[arg(long)]
        version: String,
        /// What changed, in a few sentences.
        #[arg(long)]
        summary: String,
    },
}

/// `kraftsoci-server requests …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum RequestsAction {
    /// Record a request for the open account of an address, due in 30 days. An erasure (also a
    /// parent's request to close a minor's account) closes the account at once.
    Record {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// access, rectification, erasure, restriction, portability, objection or review (a
        /// person looks again at an automated decision, P32).
        #[arg(long = "type")]
        kind: String,
        /// When the request arrived, RFC 3339 (default: now; not for an erasure).
        #[arg(long)]
        received_at: Option<String>,
    },
    /// List the requests still waiting for an answer, the earliest due first.
    List {
        /// Only those past their due date.
        #[arg(long)]
        overdue: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Mark a request answered now.
    Complete {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// The request id (from `record` or `list`).
        #[arg(long)]
        id: String,
    },
}

impl From<RequestsAction> for crate::requests::Action {
    fn from(action: RequestsAction) -> Self {
        match action {
            RequestsAction::Record {
                email,
                kind,
                received_at,
            } => Self::Record {
                email,
                kind,
                received_at,
            },
            RequestsAction::List { overdue, json } => Self::List { overdue, json },
            RequestsAction::Complete { email, id } => Self::Complete { email, id },
        }
    }
}

/// `kraftsoci-server breach …` other than notifying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum BreachAction {
    /// Print the incident register: every run, newest first (what, when detected, affected
    /// accounts, when they were told, dry run or not).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `kraftsoci-server config …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ConfigAction {
    /// Print the resolved configuration (secrets masked) and every problem with it, try the
    /// database (a few seconds at most; it names a refused or silent host:port and lists the
    /// migrations still pending) and exit non-zero when the server would not start. Changes
    /// nothing.
    Check,
}

/// `config check`: the resolved configuration (secrets masked by its `Debug`) or every
/// problem with it, then the database check (even when the rest is wrong: only
/// `KRAFTSOCI_DATABASE_URL` is needed for it). Problems go to standard error; the exit code is
/// non-zero when there is one.
pub async fn config_check() -> ExitCode {
    let mut ok = true;
    match Config::from_env() {
        Ok(config) => {
            println!("{config:#?}");
            for variable in &config.generated {
                println!("warning: {variable} is not set; a random value is generated per start");
            }
            println!("configuration OK ({:?})", config.environment);
        }
        Err(error) => {
            ok = false;
            eprintln!("the configuration would not start:");
            for problem in error.problems() {
                eprintln!("  - {problem}");
            }
        }
    }
    match Config::database_from_env() {
        Ok(url) => {
            let check = check_database(&url, CHECK_TIMEOUT).await;
            let line = describe(&url, &check);
            if check.is_ok() {
                println!("{line}");
            } else {
                ok = false;
                eprintln!("{line}");
            }
        }
        // Already reported with the configuration's problems.
        Err(_) => ok = false,
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

impl Cli {
    /// The subcommand, `serve` when none was given.
    pub fn command(&self) -> Command {
        self.command.clone().unwrap_or(Command::Serve)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn serve_is_the_default_and_migrate_parses() {
        <Cli as CommandFactory>::command().debug_assert();
        assert_eq!(
            Cli::parse_from(["kraftsoci-server"]).command(),
            Command::Serve
        );
        assert_eq!(
            Cli::parse_from(["kraftsoci-server", "migrate"]).command(),
            Command::Migrate
        );
        assert_eq!(
            Cli::parse_from(["kraftsoci-server", "worker"]).command(),
            Command::Worker
        );
        assert!(matches!(
            Cli::parse_from([
                "kraftsoci-server",
                "breach",
                "--id",
                "2026-12-06-bucket",
                "--detected-at",
                "2026-12-06T10:00:00Z",
                "--summary",
                "A bucket was public.",
                "--emails",
                "a@example.com,b@example.com",
                "--dry-run"
            ])
            .command(),
            Command::Breach { ref emails, dry_run: true, all: false, .. } if emails.len() == 2
        ));
        assert!(
            Cli::try_parse_from([
                "kraftsoci-server",
                "breach",
                "--id",
                "x",
                "--detected-at",
                "2026-12-06T10:00:00Z",
                "--summary",
                "s"
            ])
            .is_err(),
            "--all or --emails is required"
        );
        assert_eq!(
            Cli::parse_from(["kraftsoci-server", "breach", "list", "--json"]).command(),
            Command::Breach {
                action: Some(BreachAction::List { json: true }),
                id: None,
                detected_at: None,
                summary: None,
                all: false,
                emails: Vec::new(),
                dry_run: false,
            }
        );
        assert!(
            Cli::try_parse_from(["kraftsoci-server", "breach", "--id", "x", "list"]).is_err(),
            "a list takes no incident"
        );
        assert!(Cli::try_parse_from(["kraftsoci-server", "frobnicate"]).is_err());
    }

    #[test]
    fn the_operator_commands_parse() {
        assert_eq!(
            Cli::parse_from(["kraftsoci-server", "sweep", "--dry-run"]).command(),
            Command::Sweep {
                dry_run: true,
                json: false
            }
        );
        assert_eq!(
            Cli::parse_from(["kraftsoci-server", "sweep"]).command(),
            Command::Sweep {
                dry_run: false,
                json: false
            }
        );
        assert_eq!(
            Cli::parse_from(["kraftsoci-server", "rotate-key"]).command(),
            Command::RotateKey
        );
        assert_eq!(
            Cli::parse_from([
                "kraftsoci-server",
                "publish-policy",
                "--version",
                "2026-02",
                "--summary",
                "New processor"
            ])
            .command(),
            Command::PublishPolicy {
                version: "2026-02".to_owned(),
                summary: "New processor".to_owned()
            }
        );
        assert!(
            Cli::try_parse_from(["kraftsoci-server", "publish-policy", "--version", "x"]).is_err()
        );
        assert_eq!(
            Cli::parse_from([
                "kraftsoci-server",
                "requests",
                "record",
                "--email",
                "parent@example.com",
                "--type",
                "erasure"
            ])
            .command(),
            Command::Requests {
                action: RequestsAction::Record {
                    email: "parent@example.com".to_owned(),
                    kind: "erasure".to_owned(),
                    received_at: None
                }
            }
        );
        assert_eq!(
            Cli::parse_from(["kraftsoci-server", "requests", "list", "--overdue"]).command(),
            Command::Requests {
                action: RequestsAction::List {
                    overdue: true,
                    json: false
                }
            }
        );
        assert!(
            Cli::try_parse_from(["kraftsoci-server", "requests", "record", "--type", "access"])
                .is_err()
        );
        assert_eq!(
            Cli::parse_from(["kraftsoci-server", "config", "check"]).command(),
            Command::Config {
                action: ConfigAction::Check
            }
        );
        assert!(Cli::try_parse_from(["kraftsoci-server", "config"]).is_err());
    }
}
