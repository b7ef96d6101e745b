//! Storage: every port implemented twice, on PostgreSQL ([`PgStore`]) and on SQLite
//! ([`SqliteStore`]), and handed out as [`Stores`], one `Arc<dyn …>` per port.
//!
//! ## The ports
//!
//! One port per table or aggregate, one generation. Core's ports ([`kraftsoci_core::ports`]:
//! `AccountStore`, `ProfileStore`, `ConnectionStore`, `PostStore`, `UsageLogStore`,
//! `PublishJournal`, `RetentionStore`, `BillingStore`, `QuotaLedger`) are implemented
//! directly; the server's own ([`ports`]: `AuthStore`, `OAuthStateStore`, `PolicyStore`,
//! `PublishQueue`, `RightsStore`, `SandboxStore`, `BillingIntentStore`, `ErasureTaskStore`) cover what no core
//! service needs. A store is given a [`Clock`] for the core ports that take no time.
//!
//! ## How the two engines share their SQL
//!
//! The migrations keep both schemas alike (see `migrations/*/0001_initial.sql`), the column
//! types `Id` and `Ts` (in `store/types.rs`) encode ids and times the right way for each
//! engine, and both engines accept `$1` placeholders. So the SQL is written once, in `sql/`,
//! and that directory is compiled twice: as `postgres::sql` with `type Db = Postgres` and as
//! `sqlite::sql` with `type Db = Sqlite`. Every statement there is a function over a
//! connection, called by the pool methods (acquire or begin, call, commit) and by the larger
//! transactions that need it; each file implements one port and is named after it. What
//! differs (pool setup, migrations, how a unique violation names its constraint, and the few
//! statements of the `Dialect` trait) lives in `postgres.rs`, `sqlite.rs` and
//! `dialect.rs`.
//!
//! ## Adding storage for a new feature
//!
//! 1. Add the methods to the port of the table (core's, if a core service needs them; else
//!    one in [`ports`]), or a new port for a new table, with owner-scoped methods.
//! 2. Write each statement once, as a function over a connection in the file of that port
//!    under `sql/`, and the method that calls it.
//! 3. Add the port to [`Stores`] when it is new.
//! 4. Add cases to the contract suite in `tests/store/`; it runs against both engines.

mod cursor;
mod dialect;
pub mod ports;
// Both engine modules compile `sql/` as their own submodule, on purpose: see "How the two
// engines share their SQL" above.
#[allow(clippy::duplicate_mod)]
mod postgres;
pub mod reach;
mod rows;
#[allow(clippy::duplicate_mod)]
mod sqlite;
pub(crate) mod types;
pub mod user_tables;

use std::sync::Arc;

use async_trait::async_trait;
use kraftsoci_core::ports::{
    AccountStore, BillingStore, ConnectionStore, PostStore, ProfileStore, PublishJournal,
    QuotaLedger, UsageLogStore,
};
use kraftsoci_core::{Clock, RetentionStore, StoreError};

pub use ports::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::config::{Backend, DatabaseUrl};
use crate::error::Error;

/// The database itself: which engine, whether it answers, its migrations.
#[async_trait]
pub trait Database: Send + Sync {
    /// Which engine this is.
    fn backend(&self) -> Backend;

    /// Checks that the database answers (`/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies the embedded migrations of this engine.
    async fn migrate(&self) -> Result<(), Error>;
}

/// Every storage port of one database, each behind its own `Arc<dyn …>`. Cloning is cheap.
///
/// A service takes the ports it uses from here, never the whole set.
#[derive(Clone)]
pub struct Stores {
    /// The database: engine, ping, migrations.
    pub database: Arc<dyn Database>,
    /// Accounts (`users`).
    pub accounts: Arc<dyn AccountStore>,
    /// Credentials, refresh-token families and reset tokens.
    pub auth: Arc<dyn AuthStore>,
    /// Business profiles.
    pub profiles: Arc<dyn ProfileStore>,
    /// Instagram connections and their sealed tokens.
    pub connections: Arc<dyn ConnectionStore>,
    /// One-time OAuth states of the connection flow.
    pub oauth_states: Arc<dyn OAuthStateStore>,
    /// Posts, their consent receipts, images and publish jobs.
    pub posts: Arc<dyn PostStore>,
    /// The publish queue as the worker uses it.
    pub queue: Arc<dyn PublishQueue>,
    /// The publish orchestration's recovery points.
    pub journal: Arc<dyn PublishJournal>,
    /// The usage log.
    pub usage_log: Arc<dyn UsageLogStore>,
    /// Privacy-policy versions, acceptances and notices.
    pub policy: Arc<dyn PolicyStore>,
    /// Data-subject requests, closure, the export and Meta's deletion requests.
    pub rights: Arc<dyn RightsStore>,
    /// The retention sweep's bounded deletes.
    pub retention: Arc<dyn RetentionStore>,
    /// Stripe customers, subscription state, events and payment records.
    pub billing: Arc<dyn BillingStore>,
    /// The generation quota ledger.
    pub quota: Arc<dyn QuotaLedger>,
    /// Checkout and portal intents.
    pub intents: Arc<dyn BillingIntentStore>,
    /// The sandbox publisher's containers.
    pub sandbox: Arc<dyn SandboxStore>,
    /// Billing stops after closure and failed purges (P19).
    pub erasure_tasks: Arc<dyn ErasureTaskStore>,
    /// Personal API keys.
    pub api_keys: Arc<dyn ApiKeyStore>,
    /// What `/metrics` reads from the database.
    pub operations: Arc<dyn OperationsStore>,
    /// Generation jobs and the idempotency keys of post creation.
    pub generation: Arc<dyn GenerationQueue>,
    /// Notifications' outbox and preferences, webhook endpoints and deliveries.
    pub notify: Arc<dyn NotifyStore>,
    /// The incident register (`kraftsoci-server breach`).
    pub incidents: Arc<dyn IncidentStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("backend", &self.database.backend())
            .finish_non_exhaustive()
    }
}

impl Stores {
    /// Every port of `store`.
    fn of<S>(store: S) -> Self
    where
        S: Database
            + AccountStore
            + AuthStore
            + ProfileStore
            + ConnectionStore
            + OAuthStateStore
            + PostStore
            + PublishQueue
            + PublishJournal
            + UsageLogStore
            + PolicyStore
            + RightsStore
            + RetentionStore
            + BillingStore
            + QuotaLedger
            + BillingIntentStore
            + SandboxStore
            + ErasureTaskStore
            + ApiKeyStore
            + OperationsStore
            + GenerationQueue
            + NotifyStore
            + IncidentStore
            + 'static,
    {
        let store = Arc::new(store);
        Self {
            database: store.clone(),
            accounts: store.clone(),
            auth: store.clone(),
            profiles: store.clone(),
            connections: store.clone(),
            oauth_states: store.clone(),
            posts: store.clone(),
            queue: store.clone(),
            journal: store.clone(),
            usage_log: store.clone(),
            policy: store.clone(),
            rights: store.clone(),
            retention: store.clone(),
            billing: store.clone(),
            quota: store.clone(),
            intents: store.clone(),
            erasure_tasks: store.clone(),
            api_keys: store.clone(),
            operations: store.clone(),
            generation: store.clone(),
            notify: store.clone(),
            incidents: store.clone(),
            sandbox: store,
        }
    }
}

impl From<PgStore> for Stores {
    fn from(store: PgStore) -> Self {
        Self::of(store)
    }
}

impl From<SqliteStore> for Stores {
    fn from(store: SqliteStore) -> Self {
        Self::of(store)
    }
}

/// Opens a pool for `url`, picking the engine from its scheme. Does not migrate.
///
/// # Errors
/// [`Error::Database`] when the URL is malformed or the database cannot be reached.
pub async fn connect(url: &DatabaseUrl, clock: Arc<dyn Clock>) -> Result<Stores, Error> {
    Ok(match url.backend() {
        Backend::Postgres => PgStore::connect(url, clock).await?.into(),
        Backend::Sqlite => SqliteStore::connect(url, clock).await?.into(),
    })
}

/// The connections a pool gets for the HTTP API (PostgreSQL; SQLite serialises its writers
/// and gets [`SQLITE_API_CONNECTIONS`]).
pub const API_CONNECTIONS: u32 = 10;

/// [`API_CONNECTIONS`] for a SQLite file.
pub const SQLITE_API_CONNECTIONS: u32 = 5;

/// Opens a pool for `url` with the API's connections plus `extra` (a publish worker's, see
/// [`WorkerConfig::connections`](crate::config::WorkerConfig::connections)). Does not migrate.
///
/// # Errors
/// [`Error::Database`] when the URL is malformed or the database cannot be reached.
pub async fn connect_with(
    url: &DatabaseUrl,
    clock: Arc<dyn Clock>,
    extra: u32,
) -> Result<Stores, Error> {
    Ok(match url.backend() {
        Backend::Postgres => {
            PgStore::connect_with(url, clock, API_CONNECTIONS.saturating_add(extra))
                .await?
                .into()
        }
        Backend::Sqlite => {
            SqliteStore::connect_with(url, clock, SQLITE_API_CONNECTIONS.saturating_add(extra))
                .await?
                .into()
        }
    })
}
