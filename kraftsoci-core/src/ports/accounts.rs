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

/// Accounts.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Reads an open or closed account.
    async fn account(&self, id: UserId) -> Result<Account, StoreError>;
    /// Saves the mutable fields of an account.
    async fn update_account(&self, account: &Account) -> Result<(), StoreError>;
}
