//! Fresh databases for tests: a temp SQLite file, or a new PostgreSQL database per test.
//!
//! PostgreSQL is reached at `KRAFTSOCI_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test creates its own
//! `kraftsoci_test_<uuid>` database, so tests run in parallel, and drops it afterwards. If the
//! server is unreachable the test FAILS: CI relies on the PostgreSQL suite actually running.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{SubsecRound as _, Utc};
use kraftsoci_core::ManualClock;
use kraftsoci_server::config::{Backend, DatabaseUrl};
use kraftsoci_server::store::{Database as _, PgStore, SqliteStore, Stores};
use sha2::{Digest as _, Sha256};
use sqlx::{AssertSqlSafe, Connection as _, Executor as _};

/// The default PostgreSQL server for tests.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!("kraftsoci-{label}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        Self(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

enum Engine {
    Sqlite(SqliteStore, TempDir),
    Postgres {
        store: PgStore,
        admin_url: String,
        name: String,
    },
}

/// A migrated, empty database of its own, its stores on a manual clock (which starts at the
/// current time, to the microsecond).
pub struct TestDb {
    engine: Engine,
    clock: Arc<ManualClock>,
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now().trunc_subsecs(6)))
}

impl TestDb {
    /// A fresh SQLite file in a temp dir.
    pub async fn sqlite() -> Self {
        let dir = TempDir::new("sqlite");
        let url = DatabaseUrl::parse(&format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("test.db").display()
        ))
        .unwrap();
        let clock = clock();
        let store = SqliteStore::connect(&url, clock.clone())
            .await
            .expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        Self {
            engine: Engine::Sqlite(store, dir),
            clock,
        }
    }

    /// The URL a test server should use for this database.
    pub fn url(&self) -> String {
        match &self.engine {
            Engine::Sqlite(_, dir) => {
                format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display())
            }
            Engine::Postgres {
                admin_url, name, ..
            } => with_database(admin_url, name),
        }
    }

    /// A fresh PostgreSQL database. Panics (fails the test) when the server is unreachable.
    ///
    /// The database is a copy of a migrated template (see [`postgres_template`]), so a test
    /// pays for `CREATE DATABASE`, not for running every migration again.
    pub async fn postgres() -> Self {
        let admin_url = std::env::var("KRAFTSOCI_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
        let template = postgres_template(&admin_url).await;
        let name = format!("kraftsoci_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_connection(&admin_url).await;
        admin
            .execute(AssertSqlSafe(format!(
                "CREATE DATABASE {name} TEMPLATE {template}"
            )))
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let url = DatabaseUrl::parse(&with_database(&admin_url, &name)).unwrap();
        let clock = clock();
        let store = PgStore::connect(&url, clock.clone())
            .await
            .expect("connect to the test database");
        // Already migrated through the template; this only confirms it is current.
        store.migrate().await.expect("migrate postgres");
        Self {
            engine: Engine::Postgres {
                store,
                admin_url,
                name,
            },
            clock,
        }
    }

    /// Every storage port of this database.
    pub fn stores(&self) -> Stores {
        match &self.engine {
            Engine::Sqlite(store, _) => store.clone().into(),
            Engine::Postgres { store, .. } => store.clone().into(),
        }
    }

    /// The clock the stores date what they record by.
    pub fn clock(&self) -> &Arc<ManualClock> {
        &self.clock
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match &self.engine {
            Engine::Sqlite(..) => Backend::Sqlite,
            Engine::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The bytes of a SQLite database's files (main file and write-ahead log), to prove that
    /// something is stored nowhere in plain text. Empty for PostgreSQL.
    pub fn raw_bytes(&self) -> Vec<u8> {
        let Engine::Sqlite(_, dir) = &self.engine else {
            return Vec::new();
        };
        let mut bytes = Vec::new();
        for name in ["test.db", "test.db-wal"] {
            if let Ok(content) = std::fs::read(dir.path().join(name)) {
                bytes.extend(content);
            }
        }
        bytes
    }

    /// Runs raw SQL (tests only: for setup the ports do not offer, such as closing an account).
    pub async fn exec(&self, sql: String) {
        match &self.engine {
            Engine::Sqlite(store, _) => {
                store
                    .pool()
                    .execute(AssertSqlSafe(sql))
                    .await
                    .expect("exec");
            }
            Engine::Postgres { store, .. } => {
                store
                    .pool()
                    .execute(AssertSqlSafe(sql))
                    .await
                    .expect("exec");
            }
        }
    }

    /// Runs raw SQL and reports whether the database refused it.
    pub async fn try_exec(&self, sql: String) -> Result<(), String> {
        match &self.engine {
            Engine::Sqlite(store, _) => store.pool().execute(AssertSqlSafe(sql)).await.map(drop),
            Engine::Postgres { store, .. } => {
                store.pool().execute(AssertSqlSafe(sql)).await.map(drop)
            }
        }
        .map_err(|e| e.to_string())
    }

    /// `SELECT COUNT(*) …`.
    pub async fn count(&self, sql: String) -> i64 {
        match &self.engine {
            Engine::Sqlite(store, _) => sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql))
                .fetch_one(store.pool())
                .await
                .expect("count"),
            Engine::Postgres { store, .. } => sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql))
                .fetch_one(store.pool())
                .await
                .expect("count"),
        }
    }

    /// Every value of one text column (`SELECT col FROM …`).
    pub async fn strings(&self, sql: String) -> Vec<String> {
        match &self.engine {
            Engine::Sqlite(store, _) => sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
                .fetch_all(store.pool())
                .await
                .expect("strings"),
            Engine::Postgres { store, .. } => sqlx::query_scalar::<_, String>(AssertSqlSafe(sql))
                .fetch_all(store.pool())
                .await
                .expect("strings"),
        }
    }
}

async fn admin_connection(admin_url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL for tests is unreachable at KRAFTSOCI_TEST_DATABASE_URL ({e}); \
                 start one or point the variable at it"
            )
        })
}

/// The fingerprint of the migrations compiled into this test binary (the ones the server
/// applies): a template is reused only while they are unchanged.
fn migrations_fingerprint() -> String {
    let migrator = sqlx::migrate!("./migrations/postgres");
    let mut hash = Sha256::new();
    for migration in migrator.iter() {
        hash.update(migration.version.to_be_bytes());
        hash.update(&migration.checksum);
    }
    hex::encode(&hash.finalize()[..8])
}

static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

/// The name of a database holding every migration, from which test databases are copied.
///
/// It is named after the migrations' fingerprint and kept between runs, so only the first run
/// after a migration changes pays for migrating. It is built under a temporary name and
/// renamed when complete, so a concurrent process never copies a half-migrated template.
/// Templates of older migrations are left alone (another checkout may still use them); drop
/// `kraftsoci_template_*` databases by hand when they pile up.
async fn postgres_template(admin_url: &str) -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("kraftsoci_template_{}", migrations_fingerprint());
            let mut admin = admin_connection(admin_url).await;
            let existing: Vec<String> =
                sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname = $1")
                    .bind(&name)
                    .fetch_all(&mut admin)
                    .await
                    .expect("list templates");
            if existing.contains(&name) {
                return name;
            }
            let building = format!("kraftsoci_building_{}", uuid::Uuid::new_v4().simple());
            admin
                .execute(AssertSqlSafe(format!("CREATE DATABASE {building}")))
                .await
                .expect("create the template database");
            let url = DatabaseUrl::parse(&with_database(admin_url, &building)).unwrap();
            let store = PgStore::connect(&url, clock())
                .await
                .expect("connect to the template");
            store.migrate().await.expect("migrate the template");
            store.pool().close().await;
            let renamed = admin
                .execute(AssertSqlSafe(format!(
                    "ALTER DATABASE {building} RENAME TO {name}"
                )))
                .await;
            if renamed.is_err() {
                // Another process finished the same template first: use theirs.
                let _ = admin
                    .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {building}")))
                    .await;
            }
            let _ = admin.close().await;
            name
        })
        .await
        .clone()
}

fn with_database(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("KRAFTSOCI_TEST_DATABASE_URL is a URL");
    url.set_path(name);
    url.to_string()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Engine::Postgres {
            admin_url, name, ..
        } = &self.engine
        {
            // Drop runs inside the test's runtime; a short-lived runtime on another thread
            // does the async cleanup without blocking it.
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = admin
                            .execute(AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}
