//! Reading the variables: empty values count as unset, every failure names its variable,
//! development generates what is missing and production refuses it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{
    Config, ConfigError, CorsConfig, Environment, IpNet, MIN_JWT_SECRET_BYTES, MailConfig,
    MailTransport, MetaConfig, OpenAiConfig, StripeConfig, TokenKeys,
};

/// bcrypt's own bounds on the work factor (the crate keeps them private).
const MIN_BCRYPT_COST: u32 = 4;
const MAX_BCRYPT_COST: u32 = 31;
/// The smallest bcrypt cost production accepts (OWASP: ≥ 10).
pub const MIN_PRODUCTION_BCRYPT_COST: u32 = 10;

/// Reads every variable through `lookup`.
pub(super) fn load(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    Loader::new(lookup).load()
}

pub(super) struct Loader<F> {
    lookup: F,
    generated: Vec<&'static str>,
    /// Missing or unsafe production settings, reported together at the end.
    problems: Vec<ConfigError>,
    /// Values that do not parse. Each is recorded and its default used instead, so that the
    /// next malformed value is found too: every one is reported at once, not one per start.
    malformed: std::cell::RefCell<Vec<ConfigError>>,
}

impl<F: Fn(&str) -> Option<String>> Loader<F> {
    fn new(lookup: F) -> Self {
        Self {
            lookup,
            generated: Vec::new(),
            problems: Vec::new(),
            malformed: std::cell::RefCell::default(),
        }
    }

    pub(super) fn get(&self, name: &'static str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn secret(&self, name: &'static str) -> Option<SecretString> {
        self.get(name).map(SecretString::from)
    }

    pub(super) fn parse<T: FromStr>(
        &self,
        name: &'static str,
        default: &str,
    ) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        let value = self.get(name).unwrap_or_else(|| default.to_owned());
        match value.parse() {
            Ok(value) => Ok(value),
            Err(e) => {
                let error = ConfigError::new(name, format!("invalid value: {e}"));
                match default.parse() {
                    // Go on with the default; the value is reported with the others.
                    Ok(fallback) => {
                        self.malformed.borrow_mut().push(error);
                        Ok(fallback)
                    }
                    Err(_) => Err(error),
                }
            }
        }
    }

    /// An optional value: `None` when unset; a malformed one is recorded with `reason` (and
    /// reported with the others, see `malformed`) and counts as unset.
    pub(super) fn optional<T: FromStr>(&self, name: &'static str, reason: &str) -> Option<T> {
        let value = self.get(name)?;
        match value.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.malformed
                    .borrow_mut()
                    .push(ConfigError::new(name, reason));
                None
            }
        }
    }

    /// Records a malformed value and goes on with `fallback` (see `malformed`).
    fn malformed<T>(&self, error: ConfigError, fallback: T) -> Result<T, ConfigError> {
        self.malformed.borrow_mut().push(error);
        Ok(fallback)
    }

    pub(super) fn url(&self, name: &'static str, default: &str) -> Result<Url, ConfigError> {
        match self.checked_url(name, self.get(name).as_deref().unwrap_or(default)) {
            Err(error) if self.get(name).is_some() => match self.checked_url(name, default) {
                // Go on with the default; the value is reported with the others.
                Ok(fallback) => self.malformed(error, fallback),
                Err(_) => Err(error),
            },
            other => other,
        }
    }

    fn checked_url(&self, name: &'static str, value: &str) -> Result<Url, ConfigError> {
        let value = value.to_owned();
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
    pub(super) fn seconds(
        &self,
        name: &'static str,
        default: u32,
    ) -> Result<std::time::Duration, ConfigError> {
        Ok(std::time::Duration::from_secs(u64::from(
            self.positive(name, default)?,
        )))
    }

    /// A whole number, at least 1.
    pub(super) fn positive(&self, name: &'static str, default: u32) -> Result<u32, ConfigError> {
        let value: u32 = self.parse(name, &default.to_string())?;
        if value == 0 {
            return self.malformed(ConfigError::new(name, "must be at least 1"), default.max(1));
        }
        Ok(value)
    }

    /// An optional positive number: `None` when unset, an error when 0 or not a number.
    pub(super) fn optional_positive(&self, name: &'static str) -> Result<Option<u32>, ConfigError> {
        self.get(name).map(|_| self.positive(name, 1)).transpose()
    }

    pub(super) fn flag(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(Some(true)),
                "0" | "false" | "no" | "off" => Ok(Some(false)),
                _ => self.malformed(ConfigError::new(name, "must be 1 or 0"), None),
            })
            .transpose()
            .map(Option::flatten)
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

        let listen: std::net::SocketAddr = self.parse("KRAFTSOCI_LISTEN", "127.0.0.1:8080")?;
        let public_url = self.url("KRAFTSOCI_PUBLIC_URL", &listen_url(listen))?;
        let frontend_url = self.url("KRAFTSOCI_FRONTEND_URL", public_url.as_str())?;
        let database_url = super::database::from_lookup(|name| self.get(name))?;
        let media_url = self.parse("KRAFTSOCI_MEDIA_URL", "file://./media")?;

        let jwt_secret = match self.secret("KRAFTSOCI_JWT_SECRET") {
            Some(secret) if secret.expose_secret().len() < MIN_JWT_SECRET_BYTES => {
                return Err(ConfigError::new(
                    "KRAFTSOCI_JWT_SECRET",
                    format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
                ));
            }
            Some(secret) => secret,
            None => {
                if production {
                    self.problems.push(ConfigError::new(
                        "KRAFTSOCI_JWT_SECRET",
                        "is required in production",
                    ));
                }
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
            None => {
                if production {
                    self.problems.push(ConfigError::new(
                        "KRAFTSOCI_TOKEN_KEYS",
                        "is required in production",
                    ));
                }
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
        // A missing or unsafe plan table is one more production problem, reported with the
        // others; a malformed one stops here.
        let billing = match super::billing::load(|name| self.get(name), production) {
            Err(error) if production && error.reason.contains("production") => {
                self.problems.push(error);
                super::billing::load(|name| self.get(name), false)?
            }
            other => other?,
        };

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
        let privacy = super::privacy::load(&self, &from)?;

        let cors = CorsConfig {
            origins: super::net::parse_origins(
                &self.get("KRAFTSOCI_CORS_ORIGINS").unwrap_or_default(),
            )
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

        let allow_sqlite = self.flag("KRAFTSOCI_ALLOW_SQLITE")?.unwrap_or(false);
        let allow_local_media = self.flag("KRAFTSOCI_ALLOW_LOCAL_MEDIA")?.unwrap_or(false);
        let config = Config {
            environment,
            log_format: self.parse("KRAFTSOCI_LOG_FORMAT", "text")?,
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
            password_threads: self.optional_positive("KRAFTSOCI_PASSWORD_THREADS")?,
            password_queue: self
                .get("KRAFTSOCI_PASSWORD_QUEUE")
                .map(|_| self.parse("KRAFTSOCI_PASSWORD_QUEUE", "0"))
                .transpose()?,
            media_signing_key: self.media_signing_key()?,
            media_preview_ttl: self.seconds("KRAFTSOCI_MEDIA_PREVIEW_TTL", 3600)?,
            media_publish_ttl: self.seconds("KRAFTSOCI_MEDIA_PUBLISH_TTL", 86_400)?,
            daily_publish_limit: self.positive("KRAFTSOCI_DAILY_PUBLISH_LIMIT", 50)?,
            worker: super::worker::load(&self, production)?,
            sweep: super::sweep::load(&self)?,
            privacy,
            server: super::server::load(&self)?,
            metrics: super::metrics::load(&self, production)?,
            generated: self.generated,
        };
        let malformed = self.malformed.take();
        if production {
            let mut problems = malformed;
            problems.extend(self.problems);
            problems.extend(check_production(&config));
            if !allow_sqlite && config.database_url.backend() == super::Backend::Sqlite {
                problems.push(ConfigError::new(
                    "KRAFTSOCI_DATABASE_URL",
                    "is SQLite: use PostgreSQL, or set KRAFTSOCI_ALLOW_SQLITE=1 for a \
                     single-machine deployment",
                ));
            }
            if !allow_local_media && matches!(config.media_url, super::MediaUrl::Directory(_)) {
                problems.push(ConfigError::new(
                    "KRAFTSOCI_MEDIA_URL",
                    "is a local directory: use s3://, or set KRAFTSOCI_ALLOW_LOCAL_MEDIA=1 for a \
                     single-machine deployment",
                ));
            }
            if matches!(config.mail.transport, MailTransport::Outbox(_)) {
                problems.push(ConfigError::new(
                    "KRAFTSOCI_SMTP_URL",
                    "is required in production (without it mails are only written to files)",
                ));
            }
            if let Some(error) = ConfigError::all(problems) {
                return Err(error);
            }
        } else if let Some(error) = ConfigError::all(malformed) {
            return Err(error);
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

/// Production refuses what development tolerates (P20, P22): every problem, not the first.
fn check_production(config: &Config) -> Vec<ConfigError> {
    let mut problems = Vec::new();
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
            problems.push(ConfigError::new(
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
            problems.push(ConfigError::new(variable, "is required in production"));
        }
    }
    problems
}

/// The URL a browser on this machine reaches `listen` at (the development default of
/// `KRAFTSOCI_PUBLIC_URL`, so changing the port does not break links).
fn listen_url(listen: std::net::SocketAddr) -> String {
    let host = match listen.ip() {
        ip if ip.is_unspecified() || ip.is_loopback() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    format!("http://{host}:{}", listen.port())
}
