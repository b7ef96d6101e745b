//! Typed configuration, read from the environment variables of the API contract.
//!
//! Every variable is documented in `docs/configuration.md` and listed in `.env.example`.
//! [`Config::from_env`] reads the process environment; [`Config::from_lookup`] reads any
//! source (tests pass a map). Development fills in what is missing (generated keys, with a
//! warning); production refuses to start without its secrets or with a plain-http external
//! URL, and the error names the variable.

mod billing;
mod net;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use base64::Engine as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use url::Url;

pub use billing::{BillingConfig, DEFAULT_UNBILLED_PLAN};
pub use net::{CorsConfig, CorsOrigins, IpNet, RateLimit, canonical as canonical_ip};

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
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
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

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// SQLite (`sqlite:`).
    Sqlite,
}

/// `KRAFTSOCI_DATABASE_URL`. It may carry a password, so it is kept secret and printed
/// with the password masked.
#[derive(Clone)]
pub struct DatabaseUrl {
    url: SecretString,
    backend: Backend,
}

impl DatabaseUrl {
    /// Parses a `sqlite:` or `postgres://` URL.
    ///
    /// # Errors
    /// A reason when the scheme is neither.
    pub fn parse(value: &str) -> Result<Self, String> {
        let backend = if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Backend::Postgres
        } else if value.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err("must start with sqlite: or postgres://".to_owned());
        };
        Ok(Self {
            url: value.to_owned().into(),
            backend,
        })
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The full URL, for the driver only.
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }

    /// The URL with any password replaced by `***`, safe to log.
    pub fn redacted(&self) -> String {
        match Url::parse(self.expose()) {
            Ok(mut url) if url.password().is_some() => {
                // Setting a password only fails on URLs that cannot have one, and this one has.
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            Ok(url) => url.to_string(),
            Err(_) => "<unparsable database url>".to_owned(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

/// `KRAFTSOCI_MEDIA_URL`: where image bytes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaUrl {
    /// A local directory (`file:///var/lib/kraftsoci/media`, `file://./media`).
    Directory(PathBuf),
    /// An S3-compatible bucket (`s3://bucket/prefix`); credentials come from the standard
    /// `AWS_*` variables.
    S3 {
        /// The bucket.
        bucket: String,
        /// A key prefix inside it (may be empty).
        prefix: String,
    },
}

impl FromStr for MediaUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("file://") {
            if path.is_empty() {
                return Err("file:// needs a directory".to_owned());
            }
            return Ok(Self::Directory(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3:// needs a bucket name".to_owned());
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        Err("must be file:///dir or s3://bucket/prefix".to_owned())
    }
}

/// The length of a token-encryption key (AES-256).
pub const TOKEN_KEY_BYTES: usize = 32;

/// `KRAFTSOCI_TOKEN_KEYS`: the OAuth-token encryption key ring (P22). The highest id encrypts;
/// every id decrypts, so a key can be rotated in without losing old tokens.
#[derive(Clone)]
pub struct TokenKeys {
    keys: BTreeMap<u32, SecretSlice<u8>>,
}

impl TokenKeys {
    /// Parses `ID:BASE64(32 bytes)` entries separated by commas.
    ///
    /// # Errors
    /// A reason (never containing key material) when an entry is malformed, a key is not 32
    /// bytes, an id repeats or the list is empty.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut keys = BTreeMap::new();
        for (index, entry) in value.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let position = index + 1;
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| format!("entry {position} is not ID:BASE64"))?;
            let id: u32 = id
                .trim()
                .parse()
                .map_err(|_| format!("entry {position} has a non-numeric id"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .map_err(|_| format!("key {id} is not valid base64"))?;
            if bytes.len() != TOKEN_KEY_BYTES {
                return Err(format!("key {id} must decode to {TOKEN_KEY_BYTES} bytes"));
            }
            if keys.insert(id, SecretSlice::from(bytes)).is_some() {
                return Err(format!("key id {id} appears twice"));
            }
        }
        if keys.is_empty() {
            return Err("no keys given".to_owned());
        }
        Ok(Self { keys })
    }

    /// One fresh random key with id 1 (development only: tokens sealed with it cannot be
    /// read after a restart).
    pub fn generate() -> Self {
        let mut key = vec![0u8; TOKEN_KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self {
            keys: BTreeMap::from([(1, SecretSlice::from(key))]),
        }
    }

    /// The id and key that encrypt new tokens: the highest id.
    pub fn current(&self) -> (u32, &SecretSlice<u8>) {
        // `parse` and `generate` never build an empty ring.
        let (id, key) = self
            .keys
            .last_key_value()
            .expect("a token key ring is never empty");
        (*id, key)
    }

    /// The key with `id`, for decrypting.
    pub fn get(&self, id: u32) -> Option<&SecretSlice<u8>> {
        self.keys.get(&id)
    }

    /// Every key, lowest id first.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &SecretSlice<u8>)> {
        self.keys.iter().map(|(id, key)| (*id, key))
    }
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Facebook Login and the Graph API (`META_*`).
#[derive(Debug, Clone)]
pub struct MetaConfig {
    /// `META_APP_ID`.
    pub app_id: Option<String>,
    /// `META_APP_SECRET`.
    pub app_secret: Option<SecretString>,
    /// `META_REDIRECT_URI`; defaults to `{KRAFTSOCI_PUBLIC_URL}/v1/instagram/callback`.
    pub redirect_uri: Url,
    /// `META_GRAPH_URL`.
    pub graph_url: Url,
    /// `META_GRAPH_VERSION`, e.g. `v25.0`.
    pub graph_version: String,
    /// `META_DIALOG_URL`.
    pub dialog_url: Url,
}

/// OpenAI (`OPENAI_*`).
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_API_KEY`.
    pub api_key: Option<SecretString>,
    /// `OPENAI_BASE_URL`.
    pub base_url: Url,
}

/// Stripe (`STRIPE_*`).
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// `STRIPE_SECRET_KEY`.
    pub secret_key: Option<SecretString>,
    /// `STRIPE_WEBHOOK_SECRET`.
    pub webhook_secret: Option<SecretString>,
    /// `STRIPE_API_BASE`.
    pub api_base: Url,
}

/// How mail leaves the server.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// `KRAFTSOCI_SMTP_URL`, e.g. `smtps://user:pass@smtp.example.com:465` (it may carry a
    /// password, so it is secret).
    Smtp(SecretString),
    /// No SMTP configured: every mail is written as a file into this directory
    /// (`KRAFTSOCI_OUTBOX_DIR`, default `./outbox`).
    Outbox(PathBuf),
}

/// Outgoing mail.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The transport.
    pub transport: MailTransport,
    /// `KRAFTSOCI_MAIL_FROM`: the sender mailbox, e.g. `kraftsoci <no-reply@example.com>`.
    pub from: String,
}

/// The whole configuration. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct Config {
    /// `KRAFTSOCI_ENV`.
    pub environment: Environment,
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
    pub worker: crate::worker::WorkerConfig,
    /// The periodic retention sweep inside `serve` (`KRAFTSOCI_SWEEP*`).
    pub sweep: crate::retention::SweepSettings,
    /// The variables that were generated because they were unset (development only).
    pub generated: Vec<&'static str>,
}

/// bcrypt's own bounds on the work factor (the crate keeps them private).
const MIN_BCRYPT_COST: u32 = 4;
const MAX_BCRYPT_COST: u32 = 31;
/// The smallest bcrypt cost production accepts (OWASP: ≥ 10).
pub const MIN_PRODUCTION_BCRYPT_COST: u32 = 10;
/// The smallest JWT secret, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

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
        Loader::new(lookup).load()
    }

    /// The development defaults, as if no variable were set.
    pub fn development() -> Self {
        // Every development default parses; a failure here is a bug in the defaults.
        Self::from_lookup(|_| None).expect("the development defaults are valid")
    }
}

struct Loader<F> {
    lookup: F,
    generated: Vec<&'static str>,
}

impl<F: Fn(&str) -> Option<String>> Loader<F> {
    fn new(lookup: F) -> Self {
        Self {
            lookup,
            generated: Vec::new(),
        }
    }

    fn get(&self, name: &'static str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn secret(&self, name: &'static str) -> Option<SecretString> {
        self.get(name).map(SecretString::from)
    }

    fn parse<T: FromStr>(&self, name: &'static str, default: &str) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        let value = self.get(name).unwrap_or_else(|| default.to_owned());
        value
            .parse()
            .map_err(|e| ConfigError::new(name, format!("invalid value: {e}")))
    }

    fn url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        let value = self.get(name).unwrap_or_else(|| default.to_owned());
        let url =
            Url::parse(&value).map_err(|_| ConfigError::new(name, "is not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::new(name, "must be an http(s) URL with a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::new(name, "must not carry credentials"));
        }
        Ok(url)
    }

    fn media_signing_key(&self) -> Result<Option<SecretString>, ConfigError> {
        let key = self.secret("KRAFTSOCI_MEDIA_SIGNING_KEY");
        if key
            .as_ref()
            .is_some_and(|k| k.expose_secret().len() < MIN_JWT_SECRET_BYTES)
        {
            return Err(ConfigError::new(
                "KRAFTSOCI_MEDIA_SIGNING_KEY",
                format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
            ));
        }
        Ok(key)
    }

    /// A whole number of seconds, at least 1.
    fn seconds(
        &self,
        name: &'static str,
        default: u32,
    ) -> Result<std::time::Duration, ConfigError> {
        Ok(std::time::Duration::from_secs(u64::from(
            self.positive(name, default)?,
        )))
    }

    /// A whole number, at least 1.
    fn positive(&self, name: &'static str, default: u32) -> Result<u32, ConfigError> {
        let value: u32 = self.parse(name, &default.to_string())?;
        if value == 0 {
            return Err(ConfigError::new(name, "must be at least 1"));
        }
        Ok(value)
    }

    /// The retention sweep's settings: on by default, hourly, 500 rows per statement.
    fn sweep(&self) -> Result<crate::retention::SweepSettings, ConfigError> {
        let settings = crate::retention::SweepSettings {
            enabled: self.flag("KRAFTSOCI_SWEEP")?.unwrap_or(true),
            interval: self.seconds("KRAFTSOCI_SWEEP_INTERVAL", 3600)?,
            // `positive` refuses 0, so the fallback is never taken.
            batch_size: std::num::NonZeroU32::new(self.positive("KRAFTSOCI_SWEEP_BATCH", 500)?)
                .unwrap_or(std::num::NonZeroU32::MIN),
        };
        settings.planner().map_err(|_| {
            ConfigError::new(
                "KRAFTSOCI_SWEEP_INTERVAL",
                "must be shorter than 30 days (the shortest deletion period)",
            )
        })?;
        Ok(settings)
    }

    /// The publish worker's settings.
    fn worker(&self) -> Result<crate::worker::WorkerConfig, ConfigError> {
        let defaults = crate::worker::WorkerConfig::default();
        Ok(crate::worker::WorkerConfig {
            enabled: self.flag("KRAFTSOCI_WORKER")?.unwrap_or(true),
            concurrency: self.positive("KRAFTSOCI_WORKER_CONCURRENCY", 2)?,
            poll_interval: std::time::Duration::from_millis(u64::from(
                self.positive("KRAFTSOCI_WORKER_POLL_MS", 1000)?,
            )),
            recheck: self.seconds("KRAFTSOCI_WORKER_RECHECK", 900)?,
            max_transient_deferrals: self.positive("KRAFTSOCI_WORKER_MAX_RETRIES", 5)?,
            ..defaults
        }
        .with_lease(self.seconds("KRAFTSOCI_WORKER_LEASE", 120)?))
    }

    fn flag(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::new(name, "must be 1 or 0")),
            })
            .transpose()
    }

    fn load(mut self) -> Result<Config, ConfigError> {
        let environment = match self.get("KRAFTSOCI_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(_) => {
                return Err(ConfigError::new(
                    "KRAFTSOCI_ENV",
                    "must be development or production",
                ));
            }
        };
        let production = environment.is_production();

        let listen = self.parse("KRAFTSOCI_LISTEN", "127.0.0.1:8080")?;
        let public_url = self.url("KRAFTSOCI_PUBLIC_URL", "http://127.0.0.1:8080")?;
        let frontend_url = self.url("KRAFTSOCI_FRONTEND_URL", public_url.as_str())?;
        let database_url = self
            .get("KRAFTSOCI_DATABASE_URL")
            .map_or_else(
                || DatabaseUrl::parse("sqlite://kraftsoci.db?mode=rwc"),
                |v| DatabaseUrl::parse(&v),
            )
            .map_err(|e| ConfigError::new("KRAFTSOCI_DATABASE_URL", e))?;
        let media_url = self.parse("KRAFTSOCI_MEDIA_URL", "file://./media")?;

        let jwt_secret = match self.secret("KRAFTSOCI_JWT_SECRET") {
            Some(secret) if secret.expose_secret().len() < MIN_JWT_SECRET_BYTES => {
                return Err(ConfigError::new(
                    "KRAFTSOCI_JWT_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
                ));
            }
            Some(secret) => secret,
            None if production => {
                return Err(ConfigError::new(
                    "KRAFTSOCI_JWT_SECRET",
                    "is required in production",
                ));
            }
            None => {
                self.generated.push("KRAFTSOCI_JWT_SECRET");
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                SecretString::from(hex::encode(bytes))
            }
        };
        let token_keys = match self.get("KRAFTSOCI_TOKEN_KEYS") {
            Some(v) => {
                TokenKeys::parse(&v).map_err(|e| ConfigError::new("KRAFTSOCI_TOKEN_KEYS", e))?
            }
            None if production => {
                return Err(ConfigError::new(
                    "KRAFTSOCI_TOKEN_KEYS",
                    "is required in production",
                ));
            }
            None => {
                self.generated.push("KRAFTSOCI_TOKEN_KEYS");
                TokenKeys::generate()
            }
        };

        let callback = public_url
            .join("v1/instagram/callback")
            .map_err(|_| ConfigError::new("KRAFTSOCI_PUBLIC_URL", "cannot be a base URL"))?;
        let meta = MetaConfig {
            app_id: self.get("META_APP_ID"),
            app_secret: self.secret("META_APP_SECRET"),
            redirect_uri: self.url("META_REDIRECT_URI", callback.as_str())?,
            graph_url: self.url("META_GRAPH_URL", "https://graph.facebook.com")?,
            graph_version: self
                .get("META_GRAPH_VERSION")
                .unwrap_or_else(|| "v25.0".to_owned()),
            dialog_url: self.url("META_DIALOG_URL", "https://www.facebook.com")?,
        };
        if !is_graph_version(&meta.graph_version) {
            return Err(ConfigError::new(
                "META_GRAPH_VERSION",
                "must look like v25.0",
            ));
        }
        let openai = OpenAiConfig {
            api_key: self.secret("OPENAI_API_KEY"),
            base_url: self.url("OPENAI_BASE_URL", "https://api.openai.com/v1")?,
        };
        let stripe = StripeConfig {
            secret_key: self.secret("STRIPE_SECRET_KEY"),
            webhook_secret: self.secret("STRIPE_WEBHOOK_SECRET"),
            api_base: self.url("STRIPE_API_BASE", "https://api.stripe.com")?,
        };
        let billing = billing::load(|name| self.get(name), production)?;

        let sandbox = match self.flag("KRAFTSOCI_SANDBOX")? {
            Some(true) if production => {
                return Err(ConfigError::new(
                    "KRAFTSOCI_SANDBOX",
                    "is refused in production",
                ));
            }
            Some(on) => on,
            None => !production && openai.api_key.is_none() && meta.app_id.is_none(),
        };

        let transport = match self.secret("KRAFTSOCI_SMTP_URL") {
            Some(url) => {
                check_smtp_url(url.expose_secret(), production)
                    .map_err(|e| ConfigError::new("KRAFTSOCI_SMTP_URL", e))?;
                MailTransport::Smtp(url)
            }
            None => MailTransport::Outbox(PathBuf::from(
                self.get("KRAFTSOCI_OUTBOX_DIR")
                    .unwrap_or_else(|| "./outbox".to_owned()),
            )),
        };
        let default_from = match public_url.host_str() {
            Some(host) if production => format!("kraftsoci <no-reply@{host}>"),
            _ => "kraftsoci <no-reply@localhost>".to_owned(),
        };
        let from = self.get("KRAFTSOCI_MAIL_FROM").unwrap_or(default_from);
        from.parse::<lettre::message::Mailbox>()
            .map_err(|_| ConfigError::new("KRAFTSOCI_MAIL_FROM", "is not a mailbox"))?;

        let cors = CorsConfig {
            origins: net::parse_origins(&self.get("KRAFTSOCI_CORS_ORIGINS").unwrap_or_default())
                .map_err(|e| ConfigError::new("KRAFTSOCI_CORS_ORIGINS", e))?,
            allow_credentials: self.flag("KRAFTSOCI_CORS_CREDENTIALS")?.unwrap_or(false),
        };
        cors.validate()
            .map_err(|e| ConfigError::new("KRAFTSOCI_CORS_ORIGINS", e))?;

        let trusted_proxies = self
            .get("KRAFTSOCI_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(IpNet::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::new("KRAFTSOCI_TRUSTED_PROXIES", e))?;

        let bcrypt_cost: u32 = self.parse("KRAFTSOCI_BCRYPT_COST", "12")?;
        let min_cost = if production {
            MIN_PRODUCTION_BCRYPT_COST
        } else {
            MIN_BCRYPT_COST
        };
        if !(min_cost..=MAX_BCRYPT_COST).contains(&bcrypt_cost) {
            return Err(ConfigError::new(
                "KRAFTSOCI_BCRYPT_COST",
                format!("must be between {min_cost} and {}", MAX_BCRYPT_COST),
            ));
        }

        let config = Config {
            environment,
            listen,
            public_url,
            frontend_url,
            database_url,
            media_url,
            jwt_secret,
            token_keys,
            sandbox,
            meta,
            openai,
            stripe,
            billing,
            mail: MailConfig { transport, from },
            cors,
            trusted_proxies,
            auth_rate_per_ip: self.parse("KRAFTSOCI_AUTH_RATE_PER_IP", "10/6")?,
            auth_rate_per_account: self.parse("KRAFTSOCI_AUTH_RATE_PER_ACCOUNT", "5/60")?,
            bcrypt_cost,
            media_signing_key: self.media_signing_key()?,
            media_preview_ttl: self.seconds("KRAFTSOCI_MEDIA_PREVIEW_TTL", 3600)?,
            media_publish_ttl: self.seconds("KRAFTSOCI_MEDIA_PUBLISH_TTL", 86_400)?,
            daily_publish_limit: self.positive("KRAFTSOCI_DAILY_PUBLISH_LIMIT", 50)?,
            worker: self.worker()?,
            sweep: self.sweep()?,
            generated: self.generated,
        };
        if production {
            check_production(&config)?;
        }
        Ok(config)
    }
}

fn is_graph_version(v: &str) -> bool {
    v.strip_prefix('v').is_some_and(|rest| {
        let mut parts = rest.split('.');
        let ok = |p: Option<&str>| {
            p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
    })
}

fn check_smtp_url(url: &str, production: bool) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|_| "is not a URL".to_owned())?;
    let tls_required = parsed.scheme() == "smtps"
        || parsed
            .query_pairs()
            .any(|(k, v)| k == "tls" && v == "required");
    match parsed.scheme() {
        "smtp" | "smtps" => {}
        _ => return Err("must be smtp:// or smtps://".to_owned()),
    }
    if production && !tls_required {
        return Err("must use TLS in production (smtps:// or ?tls=required)".to_owned());
    }
    Ok(())
}

/// Production refuses what development tolerates (P20, P22).
fn check_production(config: &Config) -> Result<(), ConfigError> {
    let https = [
        ("KRAFTSOCI_PUBLIC_URL", &config.public_url),
        ("KRAFTSOCI_FRONTEND_URL", &config.frontend_url),
        ("META_REDIRECT_URI", &config.meta.redirect_uri),
        ("META_GRAPH_URL", &config.meta.graph_url),
        ("META_DIALOG_URL", &config.meta.dialog_url),
        ("OPENAI_BASE_URL", &config.openai.base_url),
        ("STRIPE_API_BASE", &config.stripe.api_base),
    ];
    for (variable, url) in https {
        if url.scheme() != "https" {
            return Err(ConfigError::new(
                variable,
                "must be an https URL in production",
            ));
        }
    }
    let required = [
        ("META_APP_ID", config.meta.app_id.is_some()),
        ("META_APP_SECRET", config.meta.app_secret.is_some()),
        ("OPENAI_API_KEY", config.openai.api_key.is_some()),
        ("STRIPE_SECRET_KEY", config.stripe.secret_key.is_some()),
        (
            "STRIPE_WEBHOOK_SECRET",
            config.stripe.webhook_secret.is_some(),
        ),
    ];
    for (variable, present) in required {
        if !present {
            return Err(ConfigError::new(variable, "is required in production"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn production() -> Vec<(&'static str, &'static str)> {
        vec![
            ("KRAFTSOCI_ENV", "production"),
            ("KRAFTSOCI_PUBLIC_URL", "https://api.example.com"),
            (
                "KRAFTSOCI_JWT_SECRET",
                "0123456789abcdef0123456789abcdef-jwt",
            ),
            (
                "KRAFTSOCI_TOKEN_KEYS",
                "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
            ("META_APP_ID", "123"),
            ("META_APP_SECRET", "meta-secret-value"),
            ("OPENAI_API_KEY", "sk-openai-secret-value"),
            ("STRIPE_SECRET_KEY", "sk_test_stripe-secret-value"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_stripe-webhook-value"),
            (
                "KRAFTSOCI_PLANS",
                r#"[{"name":"starter","price_id":"price_1Q","monthly_posts":60,"monthly_images":30}]"#,
            ),
        ]
    }

    fn without(
        vars: &[(&'static str, &'static str)],
        name: &str,
    ) -> Vec<(&'static str, &'static str)> {
        vars.iter().copied().filter(|(k, _)| *k != name).collect()
    }

    fn with(
        vars: &[(&'static str, &'static str)],
        name: &'static str,
        value: &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        let mut vars = without(vars, name);
        vars.push((name, value));
        vars
    }

    #[test]
    fn development_starts_with_nothing_set_and_generates_its_keys() {
        let config = load(&[]).unwrap();
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url.backend(), Backend::Sqlite);
        assert_eq!(
            config.database_url.expose(),
            "sqlite://kraftsoci.db?mode=rwc"
        );
        assert_eq!(
            config.media_url,
            MediaUrl::Directory(PathBuf::from("./media"))
        );
        assert_eq!(
            config.generated,
            vec!["KRAFTSOCI_JWT_SECRET", "KRAFTSOCI_TOKEN_KEYS"]
        );
        assert!(config.sandbox, "no provider credentials: sandbox on");
        assert!(matches!(config.mail.transport, MailTransport::Outbox(_)));
        assert_eq!(
            config.meta.redirect_uri.as_str(),
            "http://127.0.0.1:8080/v1/instagram/callback"
        );
        assert_eq!(config.meta.graph_version, "v25.0");
    }

    #[test]
    fn production_accepts_a_complete_https_configuration() {
        let config = load(&production()).unwrap();
        assert!(config.environment.is_production());
        assert!(!config.sandbox);
        assert!(config.generated.is_empty());
        assert_eq!(config.token_keys.current().0, 1);
    }

    #[test]
    fn production_refuses_to_start_without_each_secret_and_names_it() {
        for variable in [
            "KRAFTSOCI_JWT_SECRET",
            "KRAFTSOCI_TOKEN_KEYS",
            "META_APP_ID",
            "META_APP_SECRET",
            "OPENAI_API_KEY",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "KRAFTSOCI_PLANS",
        ] {
            let err = load(&without(&production(), variable)).unwrap_err();
            assert_eq!(err.variable, variable);
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn production_refuses_plain_http_external_urls() {
        for variable in [
            "KRAFTSOCI_PUBLIC_URL",
            "KRAFTSOCI_FRONTEND_URL",
            "META_REDIRECT_URI",
            "META_GRAPH_URL",
            "META_DIALOG_URL",
            "OPENAI_BASE_URL",
            "STRIPE_API_BASE",
        ] {
            let err = load(&with(
                &production(),
                variable,
                "http://insecure.example.com",
            ))
            .unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
        }
    }

    #[test]
    fn production_refuses_the_sandbox_weak_bcrypt_and_plain_smtp() {
        let err = load(&with(&production(), "KRAFTSOCI_SANDBOX", "1")).unwrap_err();
        assert_eq!(err.variable, "KRAFTSOCI_SANDBOX");
        let err = load(&with(&production(), "KRAFTSOCI_BCRYPT_COST", "4")).unwrap_err();
        assert_eq!(err.variable, "KRAFTSOCI_BCRYPT_COST");
        let err = load(&with(
            &production(),
            "KRAFTSOCI_SMTP_URL",
            "smtp://mail.example.com",
        ))
        .unwrap_err();
        assert_eq!(err.variable, "KRAFTSOCI_SMTP_URL");
        assert!(
            load(&with(
                &production(),
                "KRAFTSOCI_SMTP_URL",
                "smtps://u:p@mail.example.com"
            ))
            .is_ok()
        );
        assert!(
            load(&[("KRAFTSOCI_BCRYPT_COST", "4")]).is_ok(),
            "tests may use cost 4"
        );
    }

    #[test]
    fn a_short_jwt_secret_is_refused_even_in_development() {
        let err = load(&[("KRAFTSOCI_JWT_SECRET", "short")]).unwrap_err();
        assert_eq!(err.variable, "KRAFTSOCI_JWT_SECRET");
    }

    #[test]
    fn token_keys_parse_and_the_highest_id_encrypts() {
        let keys = TokenKeys::parse(&format!("1:{KEY}, 3:{KEY},2:{KEY}")).unwrap();
        assert_eq!(keys.current().0, 3);
        assert_eq!(
            keys.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(keys.get(2).unwrap().expose_secret().len(), 32);
        for bad in [
            "",
            "1",
            "x:AAAA",
            "1:not base64!",
            "1:AAAA",
            &format!("1:{KEY},1:{KEY}"),
        ] {
            let err = TokenKeys::parse(bad).unwrap_err();
            assert!(!err.contains(KEY), "{err}");
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let vars = with(
            &with(
                &production(),
                "KRAFTSOCI_DATABASE_URL",
                "postgres://kraft:db-password-value@db/kraftsoci",
            ),
            "KRAFTSOCI_SMTP_URL",
            "smtps://mailer:smtp-password-value@mail.example.com",
        );
        let config = load(&vars).unwrap();
        let debug = format!("{config:?}");
        for secret in [
            "0123456789abcdef0123456789abcdef-jwt",
            KEY,
            "meta-secret-value",
            "sk-openai-secret-value",
            "sk_test_stripe-secret-value",
            "whsec_stripe-webhook-value",
            "db-password-value",
            "smtp-password-value",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked into {debug}");
        }
        assert!(debug.contains("REDACTED"));
        assert!(debug.contains("postgres://kraft:***@db/kraftsoci"));
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (variable, value) in [
            ("KRAFTSOCI_ENV", "staging"),
            ("KRAFTSOCI_LISTEN", "localhost"),
            ("KRAFTSOCI_PUBLIC_URL", "not a url"),
            ("KRAFTSOCI_DATABASE_URL", "mysql://x"),
            ("KRAFTSOCI_MEDIA_URL", "ftp://x"),
            ("KRAFTSOCI_SANDBOX", "maybe"),
            ("KRAFTSOCI_TRUSTED_PROXIES", "10.0.0.0/99"),
            ("KRAFTSOCI_AUTH_RATE_PER_IP", "fast"),
            ("KRAFTSOCI_MAIL_FROM", "not a mailbox"),
            ("META_GRAPH_VERSION", "25"),
            ("KRAFTSOCI_SMTP_URL", "http://mail.example.com"),
        ] {
            let err = load(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
        }
    }

    #[test]
    fn cors_wildcard_with_credentials_fails_at_load() {
        let err = load(&[
            ("KRAFTSOCI_CORS_ORIGINS", "*"),
            ("KRAFTSOCI_CORS_CREDENTIALS", "1"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "KRAFTSOCI_CORS_ORIGINS");
    }

    #[test]
    fn the_publish_worker_settings_are_read_and_zero_is_refused() {
        let defaults = load(&[]).unwrap().worker;
        assert!(defaults.enabled);
        assert_eq!(defaults.lease, std::time::Duration::from_secs(120));
        assert_eq!(defaults.renew_every, std::time::Duration::from_secs(40));
        let worker = load(&[
            ("KRAFTSOCI_WORKER", "0"),
            ("KRAFTSOCI_WORKER_CONCURRENCY", "4"),
            ("KRAFTSOCI_WORKER_POLL_MS", "250"),
            ("KRAFTSOCI_WORKER_LEASE", "300"),
            ("KRAFTSOCI_WORKER_RECHECK", "60"),
            ("KRAFTSOCI_WORKER_MAX_RETRIES", "8"),
        ])
        .unwrap()
        .worker;
        assert!(!worker.enabled);
        assert_eq!(worker.concurrency, 4);
        assert_eq!(worker.poll_interval, std::time::Duration::from_millis(250));
        assert_eq!(worker.lease, std::time::Duration::from_secs(300));
        assert_eq!(worker.renew_every, std::time::Duration::from_secs(100));
        assert_eq!(worker.recheck, std::time::Duration::from_secs(60));
        assert_eq!(worker.max_transient_deferrals, 8);
        for variable in [
            "KRAFTSOCI_WORKER_CONCURRENCY",
            "KRAFTSOCI_WORKER_LEASE",
            "KRAFTSOCI_WORKER_MAX_RETRIES",
        ] {
            assert_eq!(load(&[(variable, "0")]).unwrap_err().variable, variable);
        }
        assert_eq!(
            load(&[("KRAFTSOCI_WORKER", "maybe")]).unwrap_err().variable,
            "KRAFTSOCI_WORKER"
        );
    }

    #[test]
    fn media_urls_are_directories_or_buckets() {
        assert_eq!(
            "s3://bucket/some/prefix/".parse::<MediaUrl>().unwrap(),
            MediaUrl::S3 {
                bucket: "bucket".to_owned(),
                prefix: "some/prefix".to_owned()
            }
        );
        assert_eq!(
            "file:///var/media".parse::<MediaUrl>().unwrap(),
            MediaUrl::Directory(PathBuf::from("/var/media"))
        );
        assert!("s3://".parse::<MediaUrl>().is_err());
    }
}
