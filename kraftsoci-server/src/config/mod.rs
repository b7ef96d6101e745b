//! Typed configuration, read from the environment variables of the API contract.
//!
//! Every variable is documented in `docs/configuration.md` and listed in `.env.example`.
//! [`Config::from_env`] reads the process environment; [`Config::from_lookup`] reads any
//! source (tests pass a map). Development fills in what is missing (generated keys, with a
//! warning); production refuses to start without its secrets or with a plain-http external
//! URL, and the error names the variable.
//!
//! This module is a leaf of the server: it imports nothing from the rest of it, so every other
//! module may depend on it. One file per group of settings: [`loader`](self) reads the
//! variables, `database`, `secrets`, `providers`, `net`, `billing`, `worker`, `sweep` and
//! `server` hold the typed values.

mod billing;
mod database;
mod loader;
mod metrics;
mod net;
mod privacy;
mod processors;
mod providers;
mod secrets;
mod server;
mod sweep;
mod worker;

use std::net::SocketAddr;

use secrecy::SecretString;
use url::Url;

pub use billing::{BillingConfig, DEFAULT_UNBILLED_PLAN};
pub use database::{Backend, DatabaseUrl};
pub use loader::MIN_PRODUCTION_BCRYPT_COST;
pub use metrics::{MIN_PRODUCTION_METRICS_TOKEN_CHARS, MetricsConfig};
pub use net::{CorsConfig, CorsOrigins, IpNet, RateLimit, canonical as canonical_ip};
pub use privacy::PrivacySettings;
pub use processors::{Destination, PROCESSORS, Processor};
pub use providers::{MailConfig, MailTransport, MediaUrl, MetaConfig, OpenAiConfig, StripeConfig};
pub use secrets::{MIN_JWT_SECRET_BYTES, TOKEN_KEY_BYTES, TokenKeys};
pub use server::ServerConfig;
pub use sweep::{DEFAULT_SWEEP_INTERVAL, SweepSettings};
pub use worker::{MIN_PRODUCTION_RECONCILE_GRACE, WorkerConfig};

/// A variable that is missing or malformed; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it (never its value, which may be a secret).
    pub reason: String,
}

impl ConfigError {
    /// An error about `variable`.
    pub fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }

    /// Several problems as one error: the first one's variable, and every problem on its own
    /// line, so an operator fixes them all in one go; `None` when there is none.
    pub fn all(problems: Vec<Self>) -> Option<Self> {
        let mut problems = problems.into_iter();
        let first = problems.next()?;
        let mut reason = first.reason;
        for other in problems {
            reason.push_str(&format!("\n{other}"));
        }
        Some(Self {
            variable: first.variable,
            reason,
        })
    }

    /// Each problem this error reports, one per line (`VARIABLE: reason`).
    pub fn problems(&self) -> Vec<String> {
        self.to_string().lines().map(str::to_owned).collect()
    }
}

/// `KRAFTSOCI_ENV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local work: SQLite, generated keys, mails written to files, sandbox providers.
    Development,
    /// A real deployment: every secret required, https everywhere, HSTS.
    Production,
}

impl Environment {
    /// Whether this is production.
    pub fn is_production(self) -> bool {
        self == Self::Production
    }
}

/// `KRAFTSOCI_LOG_FORMAT`: how log lines are written, whatever the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Compact human-readable text (the default).
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = &'static str;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("must be text or json"),
        }
    }
}

/// The whole configuration. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct Config {
    /// `KRAFTSOCI_ENV`.
    pub environment: Environment,
    /// `KRAFTSOCI_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `KRAFTSOCI_LISTEN`: the address to bind (port 0 picks a free port).
    pub listen: SocketAddr,
    /// `KRAFTSOCI_PUBLIC_URL`: the external base URL.
    pub public_url: Url,
    /// `KRAFTSOCI_FRONTEND_URL`: where the browser app lives (links in mails, redirects after
    /// the Instagram callback); defaults to the public URL.
    pub frontend_url: Url,
    /// `KRAFTSOCI_DATABASE_URL`.
    pub database_url: DatabaseUrl,
    /// `KRAFTSOCI_MEDIA_URL`.
    pub media_url: MediaUrl,
    /// `KRAFTSOCI_JWT_SECRET`: the HS256 key for access tokens (at least 32 bytes).
    pub jwt_secret: SecretString,
    /// `KRAFTSOCI_TOKEN_KEYS`.
    pub token_keys: TokenKeys,
    /// `KRAFTSOCI_SANDBOX`: offline generators and the sandbox publisher.
    pub sandbox: bool,
    /// Facebook Login / Graph API.
    pub meta: MetaConfig,
    /// OpenAI.
    pub openai: OpenAiConfig,
    /// Stripe.
    pub stripe: StripeConfig,
    /// Plans, the plan used without Stripe, and Stripe call timeouts.
    pub billing: BillingConfig,
    /// Outgoing mail.
    pub mail: MailConfig,
    /// `KRAFTSOCI_CORS_ORIGINS` and `KRAFTSOCI_CORS_CREDENTIALS`.
    pub cors: CorsConfig,
    /// `KRAFTSOCI_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `KRAFTSOCI_AUTH_RATE_PER_IP`: the limit on `/v1/auth/*` per client address.
    pub auth_rate_per_ip: RateLimit,
    /// `KRAFTSOCI_AUTH_RATE_PER_ACCOUNT`: the limit on login and reset attempts per email.
    pub auth_rate_per_account: RateLimit,
    /// `KRAFTSOCI_BCRYPT_COST`: bcrypt work factor (≥ 10 in production).
    pub bcrypt_cost: u32,
    /// `KRAFTSOCI_PASSWORD_THREADS`: threads of the password pool (default: one fewer than
    /// the machine's cores, at least 1).
    pub password_threads: Option<u32>,
    /// `KRAFTSOCI_PASSWORD_QUEUE`: password jobs admitted beyond the running ones; a login,
    /// sign-up or password change arriving when the queue is full is answered 503 +
    /// `Retry-After` (default: no fixed depth; the pool admits what its threads finish
    /// within 1.5 s at the average time of a hash, timed at start-up and on every hash since).
    pub password_queue: Option<u32>,
    /// `KRAFTSOCI_MEDIA_SIGNING_KEY`: the key of signed media links (at least 32 bytes); when
    /// unset it is derived from the JWT secret under a fixed label.
    pub media_signing_key: Option<SecretString>,
    /// `KRAFTSOCI_MEDIA_PREVIEW_TTL`: seconds a preview's image link works (default 3600).
    pub media_preview_ttl: std::time::Duration,
    /// `KRAFTSOCI_MEDIA_PUBLISH_TTL`: seconds the image link handed to Meta's fetcher works
    /// (default 86400: a container may be created well before it is published).
    pub media_publish_ttl: std::time::Duration,
    /// `KRAFTSOCI_DAILY_PUBLISH_LIMIT`: posts per Instagram account per rolling 24 hours,
    /// checked before queuing (default 50, Meta's current cap); also the sandbox publisher's
    /// quota.
    pub daily_publish_limit: u32,
    /// The publish worker (`KRAFTSOCI_WORKER*`).
    pub worker: WorkerConfig,
    /// The periodic retention sweep inside `serve` (`KRAFTSOCI_SWEEP*`).
    pub sweep: SweepSettings,
    /// The controller and its contact (`KRAFTSOCI_PRIVACY_*`), published by `GET /v1/privacy`.
    pub privacy: PrivacySettings,
    /// Connection deadlines and caps, and the shutdown drain (`KRAFTSOCI_HTTP_*`,
    /// `KRAFTSOCI_MAX_CONNECTIONS*`, `KRAFTSOCI_SHUTDOWN_*`).
    pub server: ServerConfig,
    /// `GET /metrics` (`KRAFTSOCI_METRICS_TOKEN`).
    pub metrics: MetricsConfig,
    /// The variables that were generated because they were unset (development only).
    pub generated: Vec<&'static str>,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first variable that is malformed or, in production,
    /// missing.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (empty values count as unset).
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        loader::load(lookup)
    }

    /// `KRAFTSOCI_DATABASE_URL` alone (its default when unset), for commands that need
    /// nothing else (`migrate`).
    ///
    /// # Errors
    /// [`ConfigError`] when the URL is malformed.
    pub fn database_from_env() -> Result<DatabaseUrl, ConfigError> {
        database::from_lookup(|name| std::env::var(name).ok())
    }

    /// The development defaults, as if no variable were set.
    pub fn development() -> Self {
        // Every development default parses; a failure here is a bug in the defaults.
        Self::from_lookup(|_| None).expect("the development defaults are valid")
    }
}

#[cfg(test)]
mod tests;
