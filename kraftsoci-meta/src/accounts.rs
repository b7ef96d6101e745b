//! Finding the Instagram business accounts a user can publish to: the Pages of `/me/accounts`
//! and the Instagram account linked to each.

use kraftsoci_core::IgUserId;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::client::MetaClient;
use crate::error::MetaError;

/// A Page with a linked Instagram business or creator account.
///
/// `Debug` never prints the Page token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InstagramAccount {
    /// The Instagram user id to publish as.
    pub ig_user_id: IgUserId,
    /// The Instagram username, when Meta returned it.
    pub username: Option<String>,
    /// The Facebook Page the account is linked to.
    pub page_id: String,
    /// The Page's name.
    pub page_name: String,
    /// The Page token. It does not expire when `/me/accounts` was read with a long-lived user
    /// token, and lasts about an hour with a short-lived one. `None` when Meta did not return
    /// one (the user lacks a task on the Page); the user token can publish instead.
    pub page_access_token: Option<SecretString>,
}

/// A Page the user manages that has no Instagram account Meta would show.
///
/// The same symptom has two causes: no professional Instagram account is linked to the Page,
/// or `instagram_basic` was not granted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageWithoutInstagram {
    /// The Page id.
    pub page_id: String,
    /// The Page's name.
    pub page_name: String,
}

/// Every Page of the user, split by whether it can be published to.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InstagramAccounts {
    /// The Pages with an Instagram account.
    pub accounts: Vec<InstagramAccount>,
    /// The Pages without one, reported so the owner can link one (never silently dropped).
    pub pages_without_instagram: Vec<PageWithoutInstagram>,
}

/// The fields read from `/me/accounts`.
const PAGE_FIELDS: &str = "id,name,access_token,instagram_business_account{id,username}";

impl MetaClient {
    /// Lists the user's Pages (every page of `/me/accounts`) with their Instagram accounts.
    ///
    /// # Errors
    /// The classified Graph failure; [`MetaError::UnexpectedResponse`] when a Page or
    /// Instagram id is missing or not numeric.
    #[tracing::instrument(skip_all)]
    pub async fn instagram_accounts(
        &self,
        user_token: &SecretString,
    ) -> Result<InstagramAccounts, MetaError> {
        let rows = self
            .paged(
                "accounts",
                vec!["me", "accounts"],
                user_token,
                vec![("fields", PAGE_FIELDS.to_owned())],
            )
            .await?;
        let mut result = InstagramAccounts::default();
        for row in rows {
            let page_id = id(&row).ok_or_else(|| MetaError::UnexpectedResponse {
                call: "accounts",
                detail: "a page without id".into(),
            })?;
            let page_name = row
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let linked = row
                .get("instagram_business_account")
                .and_then(Value::as_object);
            let Some(linked) = linked else {
                tracing::info!(page_id, "page has no instagram business account");
                result
                    .pages_without_instagram
                    .push(PageWithoutInstagram { page_id, page_name });
                continue;
            };
            let ig_user_id = id(linked)
                .and_then(|id| IgUserId::parse(id).ok())
                .ok_or_else(|| MetaError::UnexpectedResponse {
                    call: "accounts",
                    detail: format!("page {page_id} has an unreadable instagram account id"),
                })?;
            result.accounts.push(InstagramAccount {
                ig_user_id,
                username: linked
                    .get("username")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                page_id,
                page_name,
                page_access_token: row
                    .get("access_token")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(|t| SecretString::from(t.to_owned())),
            });
        }
        Ok(result)
    }
}

/// An id sent as a string (documented) or a number (tolerated).
fn id(map: &Map<String, Value>) -> Option<String> {
    match map.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
