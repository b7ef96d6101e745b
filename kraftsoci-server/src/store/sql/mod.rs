//! The SQL of every port, written once for both engines.
//!
//! This directory is compiled twice, once inside `postgres.rs` and once inside `sqlite.rs`
//! (see `store/mod.rs`). Each of those modules provides `Db` (the sqlx database), `ThisStore`
//! (the store, with its `pool` and `clock`) and `db_error` (its error mapping); the SQL here
//! must therefore run unchanged on both engines: `$n` placeholders, `ON CONFLICT … DO UPDATE`,
//! `RETURNING`, no engine functions, and every timestamp bound from a clock. The few
//! statements that differ come from [`Dialect`].
//!
//! Every statement is a function over a connection (`&mut Conn`), written once: the port
//! methods acquire a connection (or begin a write transaction) and call it, and a larger
//! transaction of another port calls the same function (a click queues a job; closing an
//! account revokes sessions, spends OAuth states, removes tokens, drops jobs and withdraws
//! posts). Each file implements one port and is named after it, and holds the statements on
//! that port's tables (`users`, shared by several ports, is written by each for its own
//! columns).

/// The columns of an account, as [`AccountRow`](crate::store::rows::AccountRow) reads them.
macro_rules! account_columns {
    () => {
        "id, name, email, business_name, sector, language, theme, restrict_generation, \
         restrict_publishing, object_usage_log, accepted_policy_version, created_at, closed_at"
    };
}

/// The columns of a connection, as [`ConnectionRow`](crate::store::rows::ConnectionRow) reads
/// them.
macro_rules! connection_columns {
    () => {
        "id, owner_id, ig_user_id, page_name, status, token_expires_at, created_at"
    };
}

/// The columns of a post (`p`) with its current consent receipt (`c`), as
/// [`PostRow`](crate::store::rows::PostRow) reads them.
macro_rules! post_columns {
    () => {
        "p.id, p.owner_id, p.caption, p.hashtags, p.alt_text, p.media_kind, \
         p.media_digests, p.target_ig_user_id, p.status, p.created_at, p.updated_at, \
         p.published_at, p.instagram_media_id, p.permalink, p.failure_code, p.failure_message, \
         p.failure_retryable, p.generation_step, c.user_id AS c_user_id, c.content_hash AS c_content_hash, \
         c.target_ig_user_id AS c_target_ig_user_id, c.approved_at AS c_approved_at, \
         c.ip AS c_ip, c.user_agent AS c_user_agent, c.scheduled_for AS c_scheduled_for, \
         c.api_key_id AS c_api_key_id"
    };
}

/// A post with its current consent receipt, as [`PostRow`](crate::store::rows::PostRow) reads
/// it; the query goes on with a `WHERE` on `p`.
macro_rules! post_select {
    () => {
        concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts p LEFT JOIN consent_receipts c ON c.id = p.consent_id"
        )
    };
}

mod account_store;
mod api_key_store;
mod auth_store;
mod billing_intent_store;
mod billing_store;
mod connection_store;
mod erasure_task_store;
mod generation_queue;
mod incident_store;
mod notify_store;
mod oauth_state_store;
mod operations_store;
mod policy_store;
mod post_store;
mod profile_store;
mod publish_journal;
mod publish_queue;
mod quota_ledger;
mod retention_store;
mod rights_store;
mod sandbox_store;
mod usage_log_store;

use kraftsoci_core::StoreError;

use super::{Db, ThisStore, db_error};
use crate::store::dialect::Dialect;

type Conn = <Db as sqlx::Database>::Connection;
type Tx = sqlx::Transaction<'static, Db>;
type PoolConn = sqlx::pool::PoolConnection<Db>;

impl ThisStore {
    /// A connection from the pool, for one statement or a few that need no transaction.
    async fn conn(&self) -> Result<PoolConn, StoreError> {
        self.pool.acquire().await.map_err(db_error)
    }

    /// A transaction that will write (on SQLite, holding the write lock from its start).
    async fn begin_write(&self) -> Result<Tx, StoreError> {
        self.pool
            .begin_with(<Db as Dialect>::BEGIN_WRITE)
            .await
            .map_err(db_error)
    }
}

/// Commits `tx`.
async fn commit(tx: Tx) -> Result<(), StoreError> {
    tx.commit().await.map_err(db_error)
}

/// Whether the database answers.
pub(super) async fn ping(conn: &mut Conn) -> Result<(), StoreError> {
    sqlx::query::<Db>("SELECT 1")
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// `NotFound` when a statement that must touch a row touched none.
fn found(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A value stored as JSON text.
fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A count read back from `COUNT(*)` or `SUM(…)`, saturating.
fn count_u32(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

/// A count read back from `COUNT(*)`.
fn count_u64(value: i64) -> u64 {
    value.max(0).unsigned_abs()
}

/// A non-negative number for an `INTEGER` column (32-bit on PostgreSQL).
fn small(value: u32) -> Result<i32, StoreError> {
    i32::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{value} does not fit an integer column")))
}
