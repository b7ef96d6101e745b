//! Accounts (P01): exactly the fields the policy lists, plus settings the user controls.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    BusinessName, Email, Objections, PersonName, Restrictions, Sector, StoreError, UserId,
};

/// The account's display and UI preferences (P36: functional storage only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// UI language.
    pub language: crate::Language,
    /// UI theme: `light`, `dark` or `system`.
    pub theme: Theme,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            language: crate::Language::english(),
            theme: Theme::System,
        }
    }
}

/// UI theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Light.
    Light,
    /// Dark.
    Dark,
    /// Follow the system.
    System,
}

/// An account (P01): exactly the fields the policy lists, plus settings the user controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The id.
    pub id: UserId,
    /// The person's name.
    pub name: PersonName,
    /// Login email.
    pub email: Email,
    /// Business name.
    pub business_name: BusinessName,
    /// Sector.
    pub sector: Sector,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// UI preferences.
    pub preferences: Preferences,
    /// Paused processing (P29).
    pub restrictions: Restrictions,
    /// Objections (P31).
    pub objections: Objections,
    /// The privacy-policy version last accepted (P38).
    pub accepted_policy_version: String,
    /// When the account was closed (P19), if it was.
    pub closed_at: Option<DateTime<Utc>>,
}

/// Changes to an account's mutable fields; `None` leaves a field as it is. Each change is
/// applied to the stored row as it is at that moment, so two concurrent updates of different
/// fields both stick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountUpdate {
    /// A new name.
    pub name: Option<PersonName>,
    /// A new login email (unique among open accounts).
    pub email: Option<Email>,
    /// A new business name.
    pub business_name: Option<BusinessName>,
    /// A new sector.
    pub sector: Option<Sector>,
    /// A new UI language.
    pub language: Option<crate::Language>,
    /// A new UI theme.
    pub theme: Option<Theme>,
    /// New restrictions of processing (P29), both at once.
    pub restrictions: Option<Restrictions>,
    /// New objections (P31).
    pub objections: Option<Objections>,
}

/// Accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Reads an open or closed account.
    async fn account(&self, id: UserId) -> Result<Account, StoreError>;

    /// Applies `changes` to an open account in one statement (no read-modify-write) and
    /// returns the account as stored. [`StoreError::NotFound`] for a closed or unknown
    /// account, [`StoreError::Conflict`] (`users_email_key`) for a taken email.
    async fn update_account(
        &self,
        id: UserId,
        changes: &AccountUpdate,
    ) -> Result<Account, StoreError>;
}
