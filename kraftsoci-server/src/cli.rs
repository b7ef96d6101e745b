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
    /// Apply the database migrations and exit.
    Migrate,
    /// Run the publish worker alone (no HTTP API) until SIGTERM or Ctrl-C.
    Worker,
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
}
