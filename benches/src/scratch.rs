//! A throw-away PostgreSQL database (`kraftsoci_bench_<uuid>`) for one run.

use anyhow::Context as _;
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};
use url::Url;

/// The PostgreSQL server the harness uses unless `--database-url` says otherwise.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database created for one run. Call [`ScratchDb::drop_database`] at the end; a run that
/// crashes leaves it behind, and the name says what it was for.
#[derive(Debug)]
pub struct ScratchDb {
    admin_url: Url,
    name: String,
}

impl ScratchDb {
    /// Creates `kraftsoci_bench_<uuid>` on the server of `admin_url` (any existing database
    /// there to connect to).
    ///
    /// # Errors
    /// When the URL is not a URL, or the server refuses the connection or the `CREATE`.
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let admin_url = Url::parse(admin_url).context("the database url is not a url")?;
        let name = format!("kraftsoci_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(admin_url.as_str())
            .await
            .with_context(|| format!("PostgreSQL at {} is unreachable", redacted(&admin_url)))?;
        // The name is built above from a UUID: no quoting issue is possible.
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .context("creating the benchmark database")?;
        let _ = admin.close().await;
        Ok(Self { admin_url, name })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the scratch database.
    pub fn url(&self) -> String {
        let mut url = self.admin_url.clone();
        url.set_path(&format!("/{}", self.name));
        url.to_string()
    }

    /// Drops the database, closing whatever connections are left.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses.
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(self.admin_url.as_str())
            .await
            .context("reconnecting to drop the benchmark database")?;
        admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .await
            .context("dropping the benchmark database")?;
        let _ = admin.close().await;
        Ok(())
    }
}

/// `url` without its password, for messages.
pub fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        // A URL that has a password can have it replaced.
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}

/// Creates a scratch database, runs `body` with its URL, and drops the database whether
/// `body` succeeded or not.
///
/// # Errors
/// The body's error, else a failure to create or drop the database.
pub async fn with_scratch_db<F, Fut, T>(admin_url: &str, body: F) -> anyhow::Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let db = ScratchDb::create(admin_url).await?;
    eprintln!("using scratch database {}", db.name());
    let outcome = body(db.url()).await;
    let dropped = db.drop_database().await;
    let value = outcome?;
    dropped?;
    Ok(value)
}
