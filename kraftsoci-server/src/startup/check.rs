//! `kraftsoci-server config check`'s database check: connect with a short timeout, name why
//! that failed in the operator's words ("connection refused to db:5432"), and list the
//! migrations `migrate` (or `serve`, at start) would still apply. Never prints the URL's
//! password and never changes the database: a SQLite file is opened read-only and not
//! created.

use std::collections::HashSet;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::{Connection as _, PgConnection, SqliteConnection};

use crate::config::{Backend, DatabaseUrl};
use crate::store::reach;

/// How long `config check` waits for the database.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

// The same directories the stores embed; a check compiled with the server sees the same list.
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// What the database check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseCheck {
    /// Connected: `applied` migrations are in place, `pending` ones (`version description`)
    /// are not yet.
    Ready {
        /// Migrations applied.
        applied: usize,
        /// Migrations still to apply, oldest first.
        pending: Vec<String>,
    },
    /// A SQLite file that does not exist yet and that the URL lets `migrate`/`serve` create
    /// (`mode=rwc`); every migration is pending.
    WillBeCreated {
        /// The file.
        path: String,
        /// Every migration.
        pending: Vec<String>,
    },
    /// The database cannot be used; the reason never carries the password.
    Unreachable(String),
}

impl DatabaseCheck {
    /// Whether the server could start on this database.
    pub fn is_ok(&self) -> bool {
        !matches!(self, Self::Unreachable(_))
    }
}

fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Postgres => &POSTGRES_MIGRATIONS,
        Backend::Sqlite => &SQLITE_MIGRATIONS,
    }
}

/// The migrations of `backend` not in `applied`, as `version description`.
fn pending(backend: Backend, applied: &HashSet<i64>) -> Vec<String> {
    migrator(backend)
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(|m| format!("{} {}", m.version, m.description))
        .collect()
}

/// Connects to `url` within `timeout` and reads which migrations are applied.
pub async fn check_database(url: &DatabaseUrl, timeout: Duration) -> DatabaseCheck {
    match url.backend() {
        Backend::Postgres => check_postgres(url, timeout).await,
        Backend::Sqlite => check_sqlite(url, timeout).await,
    }
}

async fn check_postgres(url: &DatabaseUrl, timeout: Duration) -> DatabaseCheck {
    let Ok(options) = sqlx::postgres::PgConnectOptions::from_str(url.expose()) else {
        return DatabaseCheck::Unreachable("the database URL cannot be parsed".to_owned());
    };
    let connected = tokio::time::timeout(timeout, PgConnection::connect_with(&options)).await;
    let mut connection = match connected {
        Ok(Ok(connection)) => connection,
        failed => {
            // The probe names a refused or silent port with its address; when the port
            // answers, the driver's own error (a refused password, an unknown database) says
            // the rest, and it never repeats the password.
            let reason = match reach::unreachable_reason(url).await {
                Some(reason) => reason,
                None => match failed {
                    Ok(Err(error)) => error.to_string(),
                    _ => format!("no answer within {} s", timeout.as_secs()),
                },
            };
            return DatabaseCheck::Unreachable(reason);
        }
    };
    let result = async {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut connection)
            .await?;
        if !exists {
            return Ok(HashSet::new());
        }
        sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut connection)
            .await
            .map(|versions| versions.into_iter().collect())
    }
    .await;
    let _ = connection.close().await;
    ready(Backend::Postgres, result)
}

async fn check_sqlite(url: &DatabaseUrl, timeout: Duration) -> DatabaseCheck {
    let Ok(options) = sqlx::sqlite::SqliteConnectOptions::from_str(url.expose()) else {
        return DatabaseCheck::Unreachable("the database URL cannot be parsed".to_owned());
    };
    let path = options.get_filename().to_string_lossy().into_owned();
    let in_memory = path.is_empty() || path == ":memory:" || url.expose().contains(":memory:");
    if !in_memory && !std::path::Path::new(&path).exists() {
        return if url.expose().contains("mode=rwc") {
            DatabaseCheck::WillBeCreated {
                path,
                pending: pending(Backend::Sqlite, &HashSet::new()),
            }
        } else {
            DatabaseCheck::Unreachable(format!("the SQLite file {path} does not exist"))
        };
    }
    let options = options.create_if_missing(false).read_only(true);
    let mut connection =
        match tokio::time::timeout(timeout, SqliteConnection::connect_with(&options)).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => {
                return DatabaseCheck::Unreachable(format!("cannot open {path}: {error}"));
            }
            Err(_) => {
                return DatabaseCheck::Unreachable(format!(
                    "{path} did not open within {} s",
                    timeout.as_secs()
                ));
            }
        };
    let result = async {
        let exists: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&mut connection)
        .await?;
        if exists == 0 {
            return Ok(HashSet::new());
        }
        sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut connection)
            .await
            .map(|versions| versions.into_iter().collect())
    }
    .await;
    let _ = connection.close().await;
    ready(Backend::Sqlite, result)
}

fn ready(backend: Backend, applied: Result<HashSet<i64>, sqlx::Error>) -> DatabaseCheck {
    match applied {
        Ok(applied) => DatabaseCheck::Ready {
            applied: applied.len(),
            pending: pending(backend, &applied),
        },
        Err(error) => DatabaseCheck::Unreachable(format!("cannot read the migrations: {error}")),
    }
}

/// The check's report, one line (`database: …`), with the URL masked.
pub fn describe(url: &DatabaseUrl, check: &DatabaseCheck) -> String {
    let at = url.redacted();
    match check {
        DatabaseCheck::Ready { applied, pending } if pending.is_empty() => {
            format!("database: {at} answers; all {applied} migrations applied")
        }
        DatabaseCheck::Ready { applied, pending } => format!(
            "database: {at} answers; {applied} migrations applied, {} pending (`kraftsoci-server migrate` or the next start applies them): {}",
            pending.len(),
            pending.join(", ")
        ),
        DatabaseCheck::WillBeCreated { path, pending } => format!(
            "database: {path} does not exist yet; `kraftsoci-server migrate` or the first start creates it and applies {} migrations",
            pending.len()
        ),
        DatabaseCheck::Unreachable(reason) => format!("database: {reason} ({at})"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn url(value: &str) -> DatabaseUrl {
        DatabaseUrl::parse(value).unwrap()
    }

    fn temp_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kraftsoci-check-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[tokio::test]
    async fn a_missing_sqlite_file_is_reported_and_not_created() {
        let path = temp_file("absent.db");
        let creatable = url(&format!("sqlite://{}?mode=rwc", path.display()));
        let check = check_database(&creatable, CHECK_TIMEOUT).await;
        let DatabaseCheck::WillBeCreated { pending, .. } = &check else {
            panic!("{check:?}");
        };
        assert_eq!(pending.len(), SQLITE_MIGRATIONS.iter().count());
        assert!(check.is_ok());
        assert!(!path.exists(), "the check creates nothing");

        let fixed = url(&format!("sqlite://{}", path.display()));
        let check = check_database(&fixed, CHECK_TIMEOUT).await;
        assert!(matches!(check, DatabaseCheck::Unreachable(_)), "{check:?}");
        assert!(!check.is_ok());
    }

    #[tokio::test]
    async fn a_sqlite_file_lists_its_pending_migrations_until_migrated() {
        let path = temp_file("kraftsoci.db");
        let database = url(&format!("sqlite://{}?mode=rwc", path.display()));
        let stores = crate::store::connect(&database, Arc::new(kraftsoci_core::SystemClock))
            .await
            .unwrap();
        let all = SQLITE_MIGRATIONS.iter().count();
        let check = check_database(&database, CHECK_TIMEOUT).await;
        assert!(
            matches!(&check, DatabaseCheck::Ready { applied: 0, pending } if pending.len() == all),
            "{check:?}"
        );
        assert!(describe(&database, &check).contains(&format!("{all} pending")));

        stores.database.migrate().await.unwrap();
        let check = check_database(&database, CHECK_TIMEOUT).await;
        assert_eq!(
            check,
            DatabaseCheck::Ready {
                applied: all,
                pending: Vec::new()
            }
        );
        assert!(describe(&database, &check).contains(&format!("all {all} migrations applied")));
    }

    #[tokio::test]
    async fn a_refused_postgres_port_is_named_without_the_password() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let database = url(&format!(
            "postgres://app:hunter2@127.0.0.1:{port}/kraftsoci"
        ));
        let check = check_database(&database, CHECK_TIMEOUT).await;
        assert_eq!(
            check,
            DatabaseCheck::Unreachable(format!("connection refused to 127.0.0.1:{port}"))
        );
        let line = describe(&database, &check);
        assert!(line.contains(&format!("connection refused to 127.0.0.1:{port}")));
        assert!(line.contains("app:***@"), "{line}");
        assert!(!line.contains("hunter2"), "{line}");
    }
}
