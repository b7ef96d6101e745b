//! [`ProfileStore`]: one business profile per user (P02).

use async_trait::async_trait;
use kraftsoci_core::ports::ProfileStore;
use kraftsoci_core::{BusinessProfile, StoreError, UserId};

use super::{Conn, Db, ThisStore, db_error};
use crate::store::rows::ProfileRow;
use crate::store::types::Id;

async fn select_profile(
    conn: &mut Conn,
    user: UserId,
) -> Result<Option<BusinessProfile>, StoreError> {
    sqlx::query_as::<Db, ProfileRow>(
        "SELECT description, target_audience, tone, sector, language FROM profiles \
         WHERE user_id = $1",
    )
    .bind(Id::from(user))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .map(BusinessProfile::try_from)
    .transpose()
}

async fn upsert_profile(
    conn: &mut Conn,
    user: UserId,
    profile: &BusinessProfile,
) -> Result<(), StoreError> {
    sqlx::query::<Db>(
        "INSERT INTO profiles (user_id, description, target_audience, tone, sector, language) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET description = excluded.description, \
         target_audience = excluded.target_audience, tone = excluded.tone, \
         sector = excluded.sector, language = excluded.language",
    )
    .bind(Id::from(user))
    .bind(profile.description.as_str())
    .bind(profile.target_audience.as_str())
    .bind(profile.tone.as_str())
    .bind(profile.sector.as_str())
    .bind(profile.language.as_str())
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

#[async_trait]
impl ProfileStore for ThisStore {
    async fn profile(&self, user: UserId) -> Result<Option<BusinessProfile>, StoreError> {
        select_profile(&mut *self.conn().await?, user).await
    }

    async fn put_profile(&self, user: UserId, profile: &BusinessProfile) -> Result<(), StoreError> {
        upsert_profile(&mut *self.conn().await?, user, profile).await
    }
}
