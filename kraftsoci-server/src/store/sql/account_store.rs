//! [`AccountStore`]: reading an account and saving its mutable fields.

use async_trait::async_trait;
use kraftsoci_core::ports::{Account, AccountStore};
use kraftsoci_core::{StoreError, UserId};

use super::{Conn, Db, ThisStore, db_error, found};
use crate::store::rows::{AccountRow, theme_str};
use crate::store::types::Id;

/// The account, open or closed.
pub(super) async fn select_account(conn: &mut Conn, id: UserId) -> Result<Account, StoreError> {
    sqlx::query_as::<Db, AccountRow>(concat!(
        "SELECT ",
        account_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(Id::from(id))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or(StoreError::NotFound)?
    .try_into()
}

/// Saves the mutable fields of an open account; the rows touched.
async fn update_account(conn: &mut Conn, account: &Account) -> Result<u64, StoreError> {
    Ok(sqlx::query::<Db>(
        "UPDATE users SET name = $2, email = $3, email_normalized = $4, business_name = $5, \
         sector = $6, language = $7, theme = $8, restrict_generation = $9, \
         restrict_publishing = $10, object_usage_log = $11 \
         WHERE id = $1 AND closed_at IS NULL",
    )
    .bind(Id::from(account.id))
    .bind(account.name.as_str())
    .bind(account.email.as_str())
    .bind(account.email.normalized())
    .bind(account.business_name.as_str())
    .bind(account.sector.as_str())
    .bind(account.preferences.language.as_str())
    .bind(theme_str(account.preferences.theme))
    .bind(account.restrictions.generation)
    .bind(account.restrictions.publishing)
    .bind(account.objections.usage_log)
    .execute(conn)
    .await
    .map_err(db_error)?
    .rows_affected())
}

#[async_trait]
impl AccountStore for ThisStore {
    async fn account(&self, id: UserId) -> Result<Account, StoreError> {
        select_account(&mut *self.conn().await?, id).await
    }

    async fn update_account(&self, account: &Account) -> Result<(), StoreError> {
        found(update_account(&mut *self.conn().await?, account).await?)
    }
}
