//! Storage: one [`Store`] abstraction, two sqlx backends (PostgreSQL and SQLite).
//!
//! [`Store`] is every storage port at once: core's (`AccountStore`, `ProfileStore`,
//! `ConnectionStore`, `PostStore`, `UsageLogStore`) plus the server's own ([`AuthStore`],
//! [`PolicyStore`]). The application holds one `Arc<dyn Store>`; because `Store` has those
//! traits as supertraits, it coerces to `Arc<dyn PostStore>` (etc.) for a core service that
//! wants only one port.
//!
//! ## How the two backends share their queries
//!
//! The migrations keep both schemas alike (see `migrations/*/0001_initial.sql`), the column
//! types [`Id`](types::Id) and [`Ts`](types::Ts) encode ids and times the right way for each
//! engine, and both engines accept `$1` placeholders. So the queries are written once, in
//! `queries.rs`, and that file is compiled twice: as `postgres::queries` with
//! `type Db = Postgres` and as `sqlite::queries` with `type Db = Sqlite`. What differs (pool
//! setup, migrations, how a unique violation names its constraint, and any engine-specific
//! query such as `FOR UPDATE SKIP LOCKED`) lives in `postgres.rs` / `sqlite.rs`.
//!
//! ## Adding storage for a new feature
//!
//! 1. Define a port (a trait here, or in core if core needs it) with owner-scoped methods.
//! 2. Add it to [`Store`]'s supertraits.
//! 3. Implement it once in `queries.rs` (or per backend when the SQL must differ).
//! 4. Add cases to the contract suite in `tests/store/`; it runs against both engines.

mod auth;
pub mod billing;
mod cursor;
pub mod instagram;
pub mod jobs;
pub mod key_rotation;
pub mod policy;
pub mod posts_flow;
// Both backend modules compile `queries.rs` (and the other shared query files) as their own
// submodule, on purpose: see "How the two backends share their queries" above.
#[allow(clippy::duplicate_mod)]
mod postgres;
pub mod retention;
pub mod rights;
mod rows;
#[allow(clippy::duplicate_mod)]
mod sqlite;
pub(crate) mod types;
pub mod user_tables;

use std::sync::Arc;

use async_trait::async_trait;
use kraftsoci_core::StoreError;
use kraftsoci_core::ports::{
    AccountStore, ConnectionStore, PostStore, ProfileStore, PublishJournal, UsageLogStore,
};

pub use auth::{AuthStore, Credentials, NewAccount, NewRefreshToken, Rotation, SessionState};
pub use billing::{BillingStateStore, QuotaStore};
pub use instagram::{InstagramStore, NewOAuthState};
pub use jobs::{PublishQueue, WaitReason};
pub use key_rotation::SealedTokenStore;
pub use policy::PolicyStore;
pub use postgres::PgStore;
pub use posts_flow::{PostFlowStore, SandboxStore};
pub use retention::RetentionOps;
pub use rights::RightsStore;
pub use sqlite::SqliteStore;

use crate::config::{Backend, DatabaseUrl};
use crate::error::Error;

/// Every storage port, implemented by [`PgStore`] and [`SqliteStore`].
#[async_trait]
pub trait Store:
    AccountStore
    + ProfileStore
    + ConnectionStore
    + PostStore
    + UsageLogStore
    + AuthStore
    + PolicyStore
    + InstagramStore
    + PostFlowStore
    + SandboxStore
    + PublishQueue
    + PublishJournal
    + BillingStateStore
    + QuotaStore
    + RightsStore
    + RetentionOps
    + SealedTokenStore
{
    /// Which engine this is.
    fn backend(&self) -> Backend;

    /// Checks that the database answers (`/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies the embedded migrations of this engine.
    async fn migrate(&self) -> Result<(), Error>;
}

/// Opens a pool for `url`, picking the engine from its scheme. Does not migrate.
///
/// # Errors
/// [`Error::Database`] when the URL is malformed or the database cannot be reached.
pub async fn connect(url: &DatabaseUrl) -> Result<Arc<dyn Store>, Error> {
    Ok(match url.backend() {
        Backend::Postgres => Arc::new(PgStore::connect(url).await?),
        Backend::Sqlite => Arc::new(SqliteStore::connect(url).await?),
    })
}
