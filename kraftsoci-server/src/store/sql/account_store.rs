//! [`AccountStore`]: reading an account and changing its mutable fields, each in one
//! statement.

use async_trait::async_trait;
use kraftsoci_core::ports::{Account, AccountStore, AccountUpdate};
use kraftsoci_core::{StoreError, UserId};

use super::{Conn, Db, ThisStore, db_error};
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

/// Applies the changes given to an open account, each column set from the row as it is now
/// (`COALESCE` keeps every column no change names); the account as stored, or `None` when it
/// is not open.
async fn update_account(
    conn: &mut Conn,
    id: UserId,
    changes: &AccountUpdate,
) -> Result<Option<Account>, StoreError> {
    let restrictions = changes.restrictions.as_ref();
    sqlx::query_as::<Db, AccountRow>(concat!(
        "UPDATE users SET name = COALESCE($2, name), email = COALESCE($3, email), \
         email_normalized = COALESCE($4, email_normalized), \
         business_name = COALESCE($5, business_name), sector = COALESCE($6, sector), \
         language = COALESCE($7, language), theme = COALESCE($8, theme), \
         restrict_generation = COALESCE($9, restrict_generation), \
         restrict_publishing = COALESCE($10, restrict_publishing), \
         object_usage_log = COALESCE($11, object_usage_log) \
         WHERE id = $1 AND closed_at IS NULL RETURNING ",
        account_columns!()
    ))
    .bind(Id::from(id))
    .bind(changes.name.as_ref().map(|n| n.as_str()))
    .bind(changes.email.as_ref().map(|e| e.as_str()))
    .bind(changes.email.as_ref().map(|e| e.normalized()))
    .bind(changes.business_name.as_ref().map(|b| b.as_str()))
    .bind(changes.sector.as_ref().map(|s| s.as_str()))
    .bind(changes.language.as_ref().map(|l| l.as_str()))
    .bind(changes.theme.map(theme_str))
    .bind(restrictions.map(|r| r.generation))
    .bind(restrictions.map(|r| r.publishing))
    .bind(changes.objections.map(|o| o.usage_log))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(Account::try_from)
    .transpose()
}

#[async_trait]
impl AccountStore for ThisStore {
    async fn account(&self, id: UserId) -> Result<Account, StoreError> {
        select_account(&mut *self.conn().await?, id).await
    }

    async fn update_account(
        &self,
        id: UserId,
        changes: &AccountUpdate,
    ) -> Result<Account, StoreError> {
        update_account(&mut *self.conn().await?, id, changes)
            .await?
            .ok_or(StoreError::NotFound)
    }
}
