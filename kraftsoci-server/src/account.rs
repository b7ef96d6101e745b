//! The account's own settings: rectification (P27), restriction of processing (P29),
//! objection (P31) and preferences (P36).

use kraftsoci_core::ports::{Account, AccountUpdate, Theme};
use kraftsoci_core::{
    BusinessName, Email, Language, Objections, PersonName, RequestKind, Restrictions, Sector,
    UserId,
};
use secrecy::SecretString;

use crate::auth::{EMAIL_CONSTRAINT, email_taken, invalid_credentials};
use crate::error::{ApiError, ResultExt as _};
use crate::state::AppState;

/// A rectification: `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AccountChanges {
    /// New name.
    pub name: Option<PersonName>,
    /// New business name.
    pub business_name: Option<BusinessName>,
    /// New sector.
    pub sector: Option<Sector>,
    /// New UI language.
    pub language: Option<Language>,
    /// New UI theme.
    pub theme: Option<Theme>,
    /// New login email; needs `current_password` (ASVS 7.5.1: re-authenticate first).
    pub email: Option<Email>,
    /// The current password, for an email change.
    pub current_password: Option<SecretString>,
}

/// Applies a rectification and returns the account as stored. Only the fields given change,
/// in one statement, so a concurrent change of another field (a restriction, an objection)
/// is never lost.
///
/// # Errors
/// 422 when the email changes without `current_password`, 401 `invalid_credentials` when it
/// is wrong, 409 `email_taken`.
pub async fn rectify(
    state: &AppState,
    user: UserId,
    changes: AccountChanges,
) -> Result<Account, ApiError> {
    let current = state.stores.accounts.account(user).await?;
    let email = changes.email.filter(|email| *email != current.email);
    if email.is_some() {
        let Some(password) = changes.current_password else {
            return Err(ApiError::invalid_field(
                "current_password",
                "is required to change the email",
            ));
        };
        if !state.auth.verify_password(user, &password).await? {
            return Err(invalid_credentials());
        }
    }
    let account = state
        .stores
        .accounts
        .update_account(
            user,
            &AccountUpdate {
                name: changes.name,
                email,
                business_name: changes.business_name,
                sector: changes.sector,
                language: changes.language,
                theme: changes.theme,
                ..AccountUpdate::default()
            },
        )
        .await
        .on_constraint(EMAIL_CONSTRAINT, email_taken)?;
    crate::rights::record_answered_request(state, user, RequestKind::Rectification).await?;
    Ok(account)
}

/// Pauses or resumes AI generation and publishing (P29).
///
/// # Errors
/// Storage failures.
pub async fn set_restrictions(
    state: &AppState,
    user: UserId,
    restrictions: Restrictions,
) -> Result<Restrictions, ApiError> {
    let changes = AccountUpdate {
        restrictions: Some(restrictions),
        ..AccountUpdate::default()
    };
    let account = apply_answered(state, user, &changes, RequestKind::Restriction).await?;
    Ok(account.restrictions)
}

/// Records objections to optional processing (P31).
///
/// # Errors
/// Storage failures.
pub async fn set_objections(
    state: &AppState,
    user: UserId,
    objections: Objections,
) -> Result<Objections, ApiError> {
    let changes = AccountUpdate {
        objections: Some(objections),
        ..AccountUpdate::default()
    };
    let account = apply_answered(state, user, &changes, RequestKind::Objection).await?;
    Ok(account.objections)
}

/// Applies `changes` and records the request they answer at once.
async fn apply_answered(
    state: &AppState,
    user: UserId,
    changes: &AccountUpdate,
    kind: RequestKind,
) -> Result<Account, ApiError> {
    let account = state.stores.accounts.update_account(user, changes).await?;
    crate::rights::record_answered_request(state, user, kind).await?;
    Ok(account)
}
