//! [`BillingStore`]: Stripe customers and subscription state (P05), verified Stripe events
//! applied once, and payment records kept 10 years (P17).
//!
//! Two writes must never interleave for one user: applying an event to their account and
//! reserving quota. Each runs in one write transaction that first takes the user's lock
//! ([`Dialect::LOCK_USER`]: on PostgreSQL the user's row, `FOR NO KEY UPDATE`; on SQLite the
//! immediate transaction's write lock). The merge rules themselves are core's
//! ([`BillingAccount::merge`], [`PaymentRecord::supersedes`]), applied here under that lock in
//! the transaction that records the event id; times come from the store's clock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    ApplyOutcome, BillingAccount, BillingCustomerId, BillingEffect, BillingEvent, BillingStore,
    MergeOutcome, PaymentRecord,
};
use kraftsoci_core::{StoreError, UserId};
use uuid::Uuid;

use super::{Conn, Db, ThisStore, commit, db_error};
use crate::store::dialect::Dialect;
use crate::store::rows::{BillingRow, PaymentRow};
use crate::store::types::{Id, Ts};

type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>;

macro_rules! billing_select {
    () => {
        "SELECT user_id, stripe_customer_id, subscription_id, status, price_id, \
         current_period_start, current_period_end, cancel_at_period_end, past_due_since, \
         state_updated_at FROM billing_customers"
    };
}

macro_rules! payment_select {
    () => {
        "SELECT invoice_id, user_id, stripe_customer_id, subscription_id, status, amount, \
         amount_paid, currency, period_start, period_end, paid_at, created_at, reported_at \
         FROM payment_records"
    };
}

/// Locks the user for the rest of the transaction; `false` when there is no such user.
pub(super) async fn lock_user(conn: &mut Conn, user: UserId) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<Db, Id>(<Db as Dialect>::LOCK_USER)
        .bind(Id::from(user))
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .is_some())
}

async fn load_account(conn: &mut Conn, user: UserId) -> Result<Option<BillingAccount>, StoreError> {
    sqlx::query_as::<Db, BillingRow>(concat!(billing_select!(), " WHERE user_id = $1"))
        .bind(Id::from(user))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?
        .map(BillingAccount::try_from)
        .transpose()
}

async fn customer_owner(
    conn: &mut Conn,
    customer: &BillingCustomerId,
) -> Result<Option<UserId>, StoreError> {
    Ok(sqlx::query_scalar::<Db, Id>(
        "SELECT user_id FROM billing_customers WHERE stripe_customer_id = $1",
    )
    .bind(customer.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?
    .map(|id| UserId::from_uuid(id.0)))
}

/// Writes the whole account. An account without a customer has nothing to store (the table
/// exists per customer).
async fn save_account(
    conn: &mut Conn,
    account: &BillingAccount,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(customer) = &account.customer else {
        return Ok(());
    };
    let state = account.subscription.as_ref();
    let snapshot = state.map(|s| &s.snapshot);
    sqlx::query::<Db>(
        "INSERT INTO billing_customers (user_id, stripe_customer_id, subscription_id, status, \
         price_id, current_period_start, current_period_end, cancel_at_period_end, \
         past_due_since, state_updated_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (user_id) DO UPDATE SET stripe_customer_id = excluded.stripe_customer_id, \
         subscription_id = excluded.subscription_id, status = excluded.status, \
         price_id = excluded.price_id, current_period_start = excluded.current_period_start, \
         current_period_end = excluded.current_period_end, \
         cancel_at_period_end = excluded.cancel_at_period_end, \
         past_due_since = excluded.past_due_since, state_updated_at = excluded.state_updated_at, \
         updated_at = excluded.updated_at",
    )
    .bind(Id::from(account.user))
    .bind(customer.as_str())
    .bind(snapshot.map(|s| s.subscription_id.as_str()))
    .bind(snapshot.map_or("none", |s| s.status.as_str()))
    .bind(
        snapshot
            .and_then(|s| s.price_id.as_ref())
            .map(|p| p.as_str()),
    )
    .bind(snapshot.and_then(|s| s.current_period_start).map(Ts))
    .bind(snapshot.and_then(|s| s.current_period_end).map(Ts))
    .bind(snapshot.is_some_and(|s| s.cancel_at_period_end))
    .bind(state.and_then(|s| s.past_due_since).map(Ts))
    .bind(snapshot.map(|s| Ts(s.as_of)))
    .bind(Ts(at))
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Applies a change to the user's account under their lock: a customer owned by someone else
/// changes nothing; `None` when the user does not exist (never known, or purged), so that the
/// caller records nothing at all.
async fn change_account(
    conn: &mut Conn,
    user: UserId,
    customer: &BillingCustomerId,
    at: DateTime<Utc>,
    change: impl FnOnce(&mut BillingAccount) -> MergeOutcome,
) -> Result<Option<MergeOutcome>, StoreError> {
    if !lock_user(conn, user).await? {
        return Ok(None);
    }
    if customer_owner(conn, customer)
        .await?
        .is_some_and(|owner| owner != user)
    {
        return Ok(Some(MergeOutcome::Superseded));
    }
    let mut account = load_account(conn, user)
        .await?
        .unwrap_or_else(|| BillingAccount::new(user));
    let outcome = change(&mut account);
    if outcome == MergeOutcome::Changed {
        save_account(conn, &account, at).await?;
    }
    Ok(Some(outcome))
}

/// Records a verified event's id; `false` when it was recorded before. The unique id goes
/// first: a concurrent delivery of the same event waits here until this transaction ends,
/// then finds the id and does nothing.
async fn insert_event(
    conn: &mut Conn,
    event: &BillingEvent,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(sqlx::query::<Db>(
        "INSERT INTO stripe_events (event_id, event_type, received_at, unprocessable) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event.id.as_str())
    .bind(event.kind.as_str())
    .bind(Ts(at))
    .bind(event.effect == BillingEffect::Unprocessable)
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected()
        > 0)
}

/// Binds what a payment report says, in this order: `stripe_customer_id, subscription_id,
/// status, amount, amount_paid, currency, period_start, period_end, paid_at`, then the
/// report's time.
fn bind_payment<'q>(query: Query<'q>, record: &PaymentRecord) -> Query<'q> {
    query
        .bind(record.customer.as_str())
        .bind(record.subscription_id.as_ref().map(|s| s.as_str()))
        .bind(record.status.as_str())
        .bind(record.amount_due)
        .bind(record.amount_paid)
        .bind(record.currency.as_str())
        .bind(record.period_start.map(Ts))
        .bind(record.period_end.map(Ts))
        .bind(record.paid_at.map(Ts))
        .bind(Ts(record.as_of))
}

async fn select_payment(
    conn: &mut Conn,
    record: &PaymentRecord,
) -> Result<Option<PaymentRecord>, StoreError> {
    sqlx::query_as::<Db, PaymentRow>(concat!(payment_select!(), " WHERE invoice_id = $1"))
        .bind(record.invoice_id.as_str())
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .map(|row| row.into_record(record.user))
        .transpose()
}

async fn insert_payment(
    conn: &mut Conn,
    record: &PaymentRecord,
    linked: bool,
) -> Result<(), StoreError> {
    let query = sqlx::query::<Db>(
        "INSERT INTO payment_records (id, invoice_id, user_id, stripe_customer_id, \
         subscription_id, status, amount, amount_paid, currency, period_start, period_end, \
         paid_at, created_at, reported_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(Id(Uuid::new_v4()))
    .bind(record.invoice_id.as_str())
    .bind(linked.then(|| Id::from(record.user)));
    bind_payment(query, record)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Replaces what is known of an invoice. The user link is left as it is: set at the first
/// report, cut only by a purge.
async fn update_payment(conn: &mut Conn, record: &PaymentRecord) -> Result<(), StoreError> {
    let query = sqlx::query::<Db>(
        "UPDATE payment_records SET stripe_customer_id = $2, subscription_id = $3, \
         status = $4, amount = $5, amount_paid = $6, currency = $7, period_start = $8, \
         period_end = $9, paid_at = $10, reported_at = $11 WHERE invoice_id = $1",
    )
    .bind(record.invoice_id.as_str());
    bind_payment(query, record)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Upserts a payment record by invoice when it supersedes the stored one. The record is kept
/// even when its user no longer exists, without the link (P17).
async fn record_payment(
    conn: &mut Conn,
    record: &PaymentRecord,
) -> Result<MergeOutcome, StoreError> {
    let user_exists = lock_user(conn, record.user).await?;
    match select_payment(conn, record).await? {
        None => insert_payment(conn, record, user_exists).await?,
        Some(stored) if record.supersedes(&stored) => update_payment(conn, record).await?,
        Some(_) => return Ok(MergeOutcome::Superseded),
    }
    Ok(MergeOutcome::Changed)
}

async fn select_payment_records(
    conn: &mut Conn,
    user: UserId,
) -> Result<Vec<PaymentRecord>, StoreError> {
    sqlx::query_as::<Db, PaymentRow>(concat!(
        payment_select!(),
        " WHERE user_id = $1 ORDER BY COALESCE(reported_at, created_at), invoice_id"
    ))
    .bind(Id::from(user))
    .fetch_all(conn)
    .await
    .map_err(db_error)?
    .into_iter()
    .map(|row| row.into_record(user))
    .collect()
}

#[async_trait]
impl BillingStore for ThisStore {
    async fn account(&self, user: UserId) -> Result<Option<BillingAccount>, StoreError> {
        load_account(&mut *self.conn().await?, user).await
    }

    async fn user_for_customer(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Option<UserId>, StoreError> {
        customer_owner(&mut *self.conn().await?, customer).await
    }

    async fn link_customer(
        &self,
        user: UserId,
        customer: &BillingCustomerId,
    ) -> Result<(), StoreError> {
        let at = self.clock.now();
        let mut tx = self.begin_write().await?;
        if !lock_user(&mut tx, user).await? {
            return Err(StoreError::NotFound);
        }
        if customer_owner(&mut tx, customer)
            .await?
            .is_some_and(|owner| owner != user)
        {
            return Err(StoreError::Conflict {
                constraint: "billing_customers_stripe_customer_key".to_owned(),
            });
        }
        let mut account = load_account(&mut tx, user)
            .await?
            .unwrap_or_else(|| BillingAccount::new(user));
        match &account.customer {
            Some(existing) if existing == customer => return Ok(()),
            Some(_) => {
                return Err(StoreError::Conflict {
                    constraint: "billing_customers_pkey".to_owned(),
                });
            }
            None => account.customer = Some(customer.clone()),
        }
        save_account(&mut tx, &account, at).await?;
        commit(tx).await
    }
    async fn apply_event(&self, event: &BillingEvent) -> Result<ApplyOutcome, StoreError> {
        let at = self.clock.now();
        let mut tx = self.begin_write().await?;
        // The unique id first: a concurrent delivery of the same event waits here until this
        // transaction ends, then finds the id and does nothing.
        if !insert_event(&mut tx, event, at).await? {
            return Ok(ApplyOutcome::AlreadyApplied);
        }
        let outcome = match &event.effect {
            BillingEffect::LinkCustomer { user, customer } => {
                change_account(&mut tx, *user, customer, at, |account| {
                    account.link_customer(customer)
                })
                .await?
            }
            BillingEffect::Subscription { user, snapshot } => {
                change_account(&mut tx, *user, &snapshot.customer, at, |account| {
                    account.merge(snapshot)
                })
                .await?
            }
            // Kept detached when the user is gone (P17).
            BillingEffect::Payment(record) => Some(record_payment(&mut tx, record).await?),
            // The event row above (id, type, marked unprocessable) is all that is kept of it.
            BillingEffect::Unprocessable => Some(MergeOutcome::Changed),
        };
        let Some(outcome) = outcome else {
            // A user the store does not hold (never known, or purged): the transaction is
            // dropped, so not even the event id stays, and nothing is (re)created (P19).
            drop(tx);
            return Ok(ApplyOutcome::UnknownUser);
        };
        commit(tx).await?;
        Ok(match outcome {
            MergeOutcome::Changed => ApplyOutcome::Applied,
            MergeOutcome::Superseded => ApplyOutcome::Superseded,
        })
    }
    async fn payment_records(&self, user: UserId) -> Result<Vec<PaymentRecord>, StoreError> {
        select_payment_records(&mut *self.conn().await?, user).await
    }
}
