//! `KRAFTSOCI_DATABASE_URL`: which engine, and the URL kept secret.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

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

/// The default database: a SQLite file in the working directory.
pub(super) const DEFAULT_DATABASE_URL: &str = "sqlite://kraftsoci.db?mode=rwc";

/// `KRAFTSOCI_DATABASE_URL` through `lookup` (empty counts as unset).
pub(super) fn from_lookup(
    lookup: impl Fn(&'static str) -> Option<String>,
) -> Result<DatabaseUrl, super::ConfigError> {
    let value = lookup("KRAFTSOCI_DATABASE_URL")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    DatabaseUrl::parse(&value).map_err(|e| super::ConfigError::new("KRAFTSOCI_DATABASE_URL", e))
}
