//! [`BillingIntentStore`]: checkout and portal intents, whose ids derive Stripe's
//! `Idempotency-Key`s.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::StoreError;
use kraftsoci_core::ports::IdempotencyKey;
use uuid::Uuid;

use super::billing_store::lock_user;
use super::{Conn, Db, ThisStore, commit, db_error};
use crate::store::ports::{BillingIntent, BillingIntentStore, IntentOutcome, NewIntent};
use crate::store::types::{Id, Ts};

fn intent_key(intent: &NewIntent, id: Uuid) -> Result<IdempotencyKey, StoreError> {
    IdempotencyKey::for_intent(intent.kind.as_str(), intent.user, id)
        .map_err(|e| StoreError::Corrupt(format!("billing_intents.{}: {}", e.field(), e.reason())))
}

/// The user's newest pending intent for the same request, made at or after `reuse_since`.
async fn select_pending(conn: &mut Conn, intent: &NewIntent) -> Result<Option<Uuid>, StoreError> {
    Ok(sqlx::query_scalar::<Db, Id>(
        "SELECT id FROM billing_intents WHERE user_id = $1 AND kind = $2 AND request = $3 \
         AND completed_at IS NULL AND created_at >= $4 ORDER BY created_at DESC LIMIT 1",
    )
    .bind(Id::from(intent.user))
    .bind(intent.kind.as_str())
    .bind(intent.request.as_str())
    .bind(Ts(intent.reuse_since))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(|id| id.0))
}

async fn insert_intent(
    conn: &mut Conn,
    intent: &NewIntent,
    key: &IdempotencyKey,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO billing_intents (id, user_id, kind, idempotency_key, request, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Id(intent.id))
    .bind(Id::from(intent.user))
    .bind(intent.kind.as_str())
    .bind(key.as_str())
    .bind(intent.request.as_str())
    .bind(Ts(intent.at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn finish_intent(
    conn: &mut Conn,
    id: Uuid,
    outcome: &IntentOutcome,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let result = match outcome {
        IntentOutcome::Opened { session_id } => serde_json::json!({ "session_id": session_id }),
        IntentOutcome::Refused { reason } => serde_json::json!({ "refused": reason }),
    };
    sqlx::query::<Db>(
        "UPDATE billing_intents SET completed_at = $2, result = $3 \
         WHERE id = $1 AND completed_at IS NULL",
    )
    .bind(Id(id))
    .bind(Ts(at))
    .bind(result.to_string())
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl BillingIntentStore for ThisStore {
    async fn open_billing_intent(&self, intent: &NewIntent) -> Result<BillingIntent, StoreError> {
        // Under the user's lock, so that a double click reuses one pending intent too.
        let mut tx = self.begin_write().await?;
        if !lock_user(&mut tx, intent.user).await? {
            return Err(StoreError::NotFound);
        }
        if let Some(id) = select_pending(&mut tx, intent).await? {
            return Ok(BillingIntent {
                id,
                idempotency_key: intent_key(intent, id)?,
                reused: true,
            });
        }
        let key = intent_key(intent, intent.id)?;
        insert_intent(&mut tx, intent, &key).await?;
        commit(tx).await?;
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
        finish_intent(&mut *self.conn().await?, id, outcome, at).await
    }
}
