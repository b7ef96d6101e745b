//! The command line.

use clap::{Parser, Subcommand};

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

/// `kraftsoci-server config …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ConfigAction {
    /// Print the resolved configuration (secrets masked) and every problem with it; exit
    /// non-zero when it would not start. Connects to nothing.
    Check,
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
            Cli::parse_from(["kraftsoci-server", "config", "check"]).command(),
            Command::Config {
                action: ConfigAction::Check
            }
        );
        assert!(Cli::try_parse_from(["kraftsoci-server", "config"]).is_err());
    }
}
