//! The billing queries: Stripe state, events, payment records, intents and quotas.
//!
//! Compiled twice like `queries.rs` (inside `postgres.rs` and `sqlite.rs`), so the SQL runs
//! unchanged on both engines; what differs (how a per-user write transaction starts and locks)
//! comes from [`SerialWrites`]. The merge rules themselves are core's
//! ([`BillingAccount::merge`], [`PaymentRecord::supersedes`]), applied here under the user's
//! lock in the transaction that records the event id.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    ApplyOutcome, BillingAccount, BillingCustomerId, BillingEffect, BillingEvent, IdempotencyKey,
    InvoiceId, MergeOutcome, PaymentRecord, PaymentStatus, PriceId, QuotaKind, QuotaReservation,
    RESERVATION_TTL, SubscriptionId, SubscriptionSnapshot, SubscriptionState, SubscriptionStatus,
};
use kraftsoci_core::{ParseError, StoreError, UserId};
use uuid::Uuid;

use super::{Db, ThisStore, db_error};
use crate::store::billing::{
    BillingIntent, BillingStateStore, IntentOutcome, NewIntent, QuotaStore, SerialWrites,
};
use crate::store::types::{Id, Ts};

type Conn = <Db as sqlx::Database>::Connection;

macro_rules! account_select {
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

/// A transaction holding the write lock its engine uses for per-user billing writes.
async fn begin(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    match <Db as SerialWrites>::BEGIN {
        Some(statement) => pool.begin_with(statement).await,
        None => pool.begin().await,
    }
    .map_err(db_error)
}

/// Locks the user for the rest of the transaction; `false` when there is no such user.
async fn lock_user(conn: &mut Conn, user: UserId) -> Result<bool, StoreError> {
    Ok(
        sqlx::query_scalar::<Db, Id>(<Db as SerialWrites>::LOCK_USER)
            .bind(Id::from(user))
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?
            .is_some(),
    )
}

fn corrupt(table: &'static str) -> impl Fn(ParseError) -> StoreError {
    move |e| StoreError::Corrupt(format!("{table}.{}: {}", e.field(), e.reason()))
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    user_id: Id,
    stripe_customer_id: String,
    subscription_id: Option<String>,
    status: String,
    price_id: Option<String>,
    current_period_start: Option<Ts>,
    current_period_end: Option<Ts>,
    cancel_at_period_end: bool,
    past_due_since: Option<Ts>,
    state_updated_at: Option<Ts>,
}

impl TryFrom<AccountRow> for BillingAccount {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> Result<Self, StoreError> {
        let bad = corrupt("billing_customers");
        let customer = BillingCustomerId::parse(row.stripe_customer_id).map_err(&bad)?;
        let subscription = match row.subscription_id {
            None => None,
            Some(id) => Some(SubscriptionState {
                snapshot: SubscriptionSnapshot {
                    subscription_id: SubscriptionId::parse(id).map_err(&bad)?,
                    // Merging ignores views of other customers, so the stored subscription is
                    // always the account's customer's.
                    customer: customer.clone(),
                    status: SubscriptionStatus::parse(&row.status),
                    price_id: row.price_id.map(PriceId::parse).transpose().map_err(&bad)?,
                    current_period_start: row.current_period_start.map(|t| t.0),
                    current_period_end: row.current_period_end.map(|t| t.0),
                    cancel_at_period_end: row.cancel_at_period_end,
                    as_of: row
                        .state_updated_at
                        .ok_or_else(|| {
                            StoreError::Corrupt(
                                "billing_customers.state_updated_at: missing for a subscription"
                                    .to_owned(),
                            )
                        })?
                        .0,
                },
                past_due_since: row.past_due_since.map(|t| t.0),
            }),
        };
        Ok(BillingAccount {
            user: UserId::from_uuid(row.user_id.0),
            customer: Some(customer),
            subscription,
        })
    }
}

async fn load_account(conn: &mut Conn, user: UserId) -> Result<Option<BillingAccount>, StoreError> {
    sqlx::query_as::<Db, AccountRow>(concat!(account_select!(), " WHERE user_id = $1"))
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

/// Applies a change to the user's account under their lock: a customer owned by someone else,
/// or a user who no longer exists, changes nothing.
async fn change_account(
    conn: &mut Conn,
    user: UserId,
    customer: &BillingCustomerId,
    at: DateTime<Utc>,
    change: impl FnOnce(&mut BillingAccount) -> MergeOutcome,
) -> Result<MergeOutcome, StoreError> {
    if !lock_user(conn, user).await? {
        return Ok(MergeOutcome::Superseded);
    }
    if customer_owner(conn, customer)
        .await?
        .is_some_and(|owner| owner != user)
    {
        return Ok(MergeOutcome::Superseded);
    }
    let mut account = load_account(conn, user)
        .await?
        .unwrap_or_else(|| BillingAccount::new(user));
    let outcome = change(&mut account);
    if outcome == MergeOutcome::Changed {
        save_account(conn, &account, at).await?;
    }
    Ok(outcome)
}

fn payment_status_str(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Paid => "paid",
        PaymentStatus::Failed => "failed",
    }
}

fn parse_payment_status(value: &str) -> Result<PaymentStatus, ParseError> {
    match value {
        "paid" => Ok(PaymentStatus::Paid),
        "failed" => Ok(PaymentStatus::Failed),
        _ => Err(ParseError::new("status", "unknown payment status")),
    }
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    invoice_id: String,
    user_id: Option<Id>,
    stripe_customer_id: String,
    subscription_id: Option<String>,
    status: String,
    amount: i64,
    amount_paid: i64,
    currency: String,
    period_start: Option<Ts>,
    period_end: Option<Ts>,
    paid_at: Option<Ts>,
    created_at: Ts,
    reported_at: Option<Ts>,
}

impl PaymentRow {
    /// The record; `owner` stands in for the user link when it was cut by an account purge.
    fn into_record(self, owner: UserId) -> Result<PaymentRecord, StoreError> {
        let bad = corrupt("payment_records");
        Ok(PaymentRecord {
            invoice_id: InvoiceId::parse(self.invoice_id).map_err(&bad)?,
            user: self.user_id.map_or(owner, |id| UserId::from_uuid(id.0)),
            customer: BillingCustomerId::parse(self.stripe_customer_id).map_err(&bad)?,
            subscription_id: self
                .subscription_id
                .map(SubscriptionId::parse)
                .transpose()
                .map_err(&bad)?,
            status: parse_payment_status(&self.status).map_err(&bad)?,
            amount_due: self.amount,
            amount_paid: self.amount_paid,
            currency: self.currency,
            period_start: self.period_start.map(|t| t.0),
            period_end: self.period_end.map(|t| t.0),
            paid_at: self.paid_at.map(|t| t.0),
            as_of: self.reported_at.unwrap_or(self.created_at).0,
        })
    }
}

/// Upserts a payment record by invoice when it supersedes the stored one. The record is kept
/// even when its user no longer exists, without the link (P17).
async fn record_payment(
    conn: &mut Conn,
    record: &PaymentRecord,
) -> Result<MergeOutcome, StoreError> {
    let user_exists = lock_user(conn, record.user).await?;
    let existing =
        sqlx::query_as::<Db, PaymentRow>(concat!(payment_select!(), " WHERE invoice_id = $1"))
            .bind(record.invoice_id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
    match existing {
        None => {
            sqlx::query::<Db>(
                "INSERT INTO payment_records (id, invoice_id, user_id, stripe_customer_id, \
                 subscription_id, status, amount, amount_paid, currency, period_start, \
                 period_end, paid_at, created_at, reported_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
            )
            .bind(Id(Uuid::new_v4()))
            .bind(record.invoice_id.as_str())
            .bind(user_exists.then(|| Id::from(record.user)))
            .bind(record.customer.as_str())
            .bind(record.subscription_id.as_ref().map(|s| s.as_str()))
            .bind(payment_status_str(record.status))
            .bind(record.amount_due)
            .bind(record.amount_paid)
            .bind(record.currency.as_str())
            .bind(record.period_start.map(Ts))
            .bind(record.period_end.map(Ts))
            .bind(record.paid_at.map(Ts))
            .bind(Ts(record.as_of))
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
            Ok(MergeOutcome::Changed)
        }
        Some(row) => {
            if !record.supersedes(&row.into_record(record.user)?) {
                return Ok(MergeOutcome::Superseded);
            }
            // The user link is left as it is: set at first report, cut only by a purge.
            sqlx::query::<Db>(
                "UPDATE payment_records SET stripe_customer_id = $2, subscription_id = $3, \
                 status = $4, amount = $5, amount_paid = $6, currency = $7, period_start = $8, \
                 period_end = $9, paid_at = $10, reported_at = $11 WHERE invoice_id = $1",
            )
            .bind(record.invoice_id.as_str())
            .bind(record.customer.as_str())
            .bind(record.subscription_id.as_ref().map(|s| s.as_str()))
            .bind(payment_status_str(record.status))
            .bind(record.amount_due)
            .bind(record.amount_paid)
            .bind(record.currency.as_str())
            .bind(record.period_start.map(Ts))
            .bind(record.period_end.map(Ts))
            .bind(record.paid_at.map(Ts))
            .bind(Ts(record.as_of))
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
            Ok(MergeOutcome::Changed)
        }
    }
}

fn intent_key(intent: &NewIntent, id: Uuid) -> Result<IdempotencyKey, StoreError> {
    IdempotencyKey::for_intent(intent.kind.as_str(), intent.user, id)
        .map_err(|e| StoreError::Corrupt(format!("billing_intents.{}: {}", e.field(), e.reason())))
}

#[async_trait]
impl BillingStateStore for ThisStore {
    async fn billing_account(&self, user: UserId) -> Result<Option<BillingAccount>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        load_account(&mut conn, user).await
    }

    async fn billing_customer_owner(
        &self,
        customer: &BillingCustomerId,
    ) -> Result<Option<UserId>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        customer_owner(&mut conn, customer).await
    }

    async fn link_billing_customer(
        &self,
        user: UserId,
        customer: &BillingCustomerId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool).await?;
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
        tx.commit().await.map_err(db_error)
    }

    async fn apply_billing_event(
        &self,
        event: &BillingEvent,
        at: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        let mut tx = begin(&self.pool).await?;
        // The unique id first: a concurrent delivery of the same event waits here until this
        // transaction ends, then finds the id and does nothing.
        let recorded = sqlx::query::<Db>(
            "INSERT INTO stripe_events (event_id, event_type, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.id.as_str())
        .bind(event.kind.as_str())
        .bind(Ts(at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?
        .rows_affected();
        if recorded == 0 {
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
            BillingEffect::Payment(record) => record_payment(&mut tx, record).await?,
            // The event row above (id and type) is all that is kept of it.
            BillingEffect::Unprocessable => MergeOutcome::Changed,
        };
        tx.commit().await.map_err(db_error)?;
        Ok(match outcome {
            MergeOutcome::Changed => ApplyOutcome::Applied,
            MergeOutcome::Superseded => ApplyOutcome::Superseded,
        })
    }

    async fn billing_payment_records(
        &self,
        user: UserId,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        sqlx::query_as::<Db, PaymentRow>(concat!(
            payment_select!(),
            " WHERE user_id = $1 ORDER BY COALESCE(reported_at, created_at), invoice_id"
        ))
        .bind(Id::from(user))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|row| row.into_record(user))
        .collect()
    }

    async fn open_billing_intent(&self, intent: &NewIntent) -> Result<BillingIntent, StoreError> {
        // Under the user's lock, so that a double click reuses one pending intent too.
        let mut tx = begin(&self.pool).await?;
        if !lock_user(&mut tx, intent.user).await? {
            return Err(StoreError::NotFound);
        }
        let pending = sqlx::query_scalar::<Db, Id>(
            "SELECT id FROM billing_intents WHERE user_id = $1 AND kind = $2 AND request = $3 \
             AND completed_at IS NULL AND created_at >= $4 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(Id::from(intent.user))
        .bind(intent.kind.as_str())
        .bind(intent.request.as_str())
        .bind(Ts(intent.reuse_since))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        if let Some(Id(id)) = pending {
            return Ok(BillingIntent {
                id,
                idempotency_key: intent_key(intent, id)?,
                reused: true,
            });
        }
        let key = intent_key(intent, intent.id)?;
        sqlx::query::<Db>(
            "INSERT INTO billing_intents (id, user_id, kind, idempotency_key, request, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Id(intent.id))
        .bind(Id::from(intent.user))
        .bind(intent.kind.as_str())
        .bind(key.as_str())
        .bind(intent.request.as_str())
        .bind(Ts(intent.at))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(BillingIntent {
            id: intent.id,
            idempotency_key: key,
            reused: false,
        })
    }

    async fn finish_billing_intent(
        &self,
        id: Uuid,
        outcome: &IntentOutcome,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = match outcome {
            IntentOutcome::Opened { session_id } => {
                serde_json::json!({ "session_id": session_id })
            }
            IntentOutcome::Refused { reason } => serde_json::json!({ "refused": reason }),
        };
        sqlx::query::<Db>(
            "UPDATE billing_intents SET completed_at = $2, result = $3 \
             WHERE id = $1 AND completed_at IS NULL",
        )
        .bind(Id(id))
        .bind(Ts(at))
        .bind(result.to_string())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

fn hold_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    let ttl = chrono::Duration::from_std(RESERVATION_TTL).unwrap_or(chrono::Duration::MAX);
    now.checked_sub_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn units(sum: i64) -> u32 {
    u32::try_from(sum.max(0)).unwrap_or(u32::MAX)
}

#[async_trait]
impl QuotaStore for ThisStore {
    async fn try_reserve_quota(
        &self,
        reservation: &QuotaReservation,
        limit: u32,
    ) -> Result<bool, StoreError> {
        if reservation.amount == 0 {
            // The schema only holds positive amounts; nothing asks for zero units.
            return Err(StoreError::Conflict {
                constraint: "quota_reservations_amount_check".to_owned(),
            });
        }
        let mut tx = begin(&self.pool).await?;
        if !lock_user(&mut tx, reservation.user).await? {
            return Err(StoreError::NotFound);
        }
        let known = sqlx::query_scalar::<Db, Id>("SELECT id FROM quota_reservations WHERE id = $1")
            .bind(Id(reservation.id))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
        if known.is_some() {
            return Ok(true);
        }
        let now = reservation.reserved_at;
        sqlx::query::<Db>(
            "DELETE FROM quota_reservations WHERE user_id = $1 AND committed = $2 \
             AND created_at < $3",
        )
        .bind(Id::from(reservation.user))
        .bind(false)
        .bind(Ts(hold_cutoff(now)))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let used: i64 = sqlx::query_scalar::<Db, i64>(
            "SELECT COALESCE(SUM(amount), 0) FROM quota_reservations \
             WHERE user_id = $1 AND kind = $2 AND period_start = $3",
        )
        .bind(Id::from(reservation.user))
        .bind(reservation.kind.as_str())
        .bind(Ts(reservation.period_start))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        if used.saturating_add(i64::from(reservation.amount)) > i64::from(limit) {
            return Ok(false);
        }
        sqlx::query::<Db>(
            "INSERT INTO quota_reservations (id, user_id, kind, amount, period_start, committed, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Id(reservation.id))
        .bind(Id::from(reservation.user))
        .bind(reservation.kind.as_str())
        .bind(i64::from(reservation.amount))
        .bind(Ts(reservation.period_start))
        .bind(false)
        .bind(Ts(now))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(true)
    }

    async fn commit_quota(&self, id: Uuid) -> Result<(), StoreError> {
        let updated =
            sqlx::query::<Db>("UPDATE quota_reservations SET committed = $2 WHERE id = $1")
                .bind(Id(id))
                .bind(true)
                .execute(&self.pool)
                .await
                .map_err(db_error)?
                .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn release_quota(&self, id: Uuid) -> Result<(), StoreError> {
        sqlx::query::<Db>("DELETE FROM quota_reservations WHERE id = $1 AND committed = $2")
            .bind(Id(id))
            .bind(false)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn quota_used(
        &self,
        user: UserId,
        kind: QuotaKind,
        period_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let used = sqlx::query_scalar::<Db, i64>(
            "SELECT COALESCE(SUM(amount), 0) FROM quota_reservations \
             WHERE user_id = $1 AND kind = $2 AND period_start = $3 \
             AND (committed = $4 OR created_at >= $5)",
        )
        .bind(Id::from(user))
        .bind(kind.as_str())
        .bind(Ts(period_start))
        .bind(true)
        .bind(Ts(hold_cutoff(now)))
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(units(used))
    }
}
