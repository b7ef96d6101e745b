//! The authenticated caller.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use kraftsoci_core::ports::Account;
use kraftsoci_core::{SessionId, StoreError, UserId};

use super::usage::UsageSubject;
use crate::auth::AccessClaims;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::AccessState;

/// A request carrying a valid access token of an open account whose token epoch matches
/// (so a password change or reset has not revoked it since it was issued) and whose login
/// session is still open: logout, a replayed refresh token (its family is revoked), a
/// password change elsewhere and closing the account end the session's access tokens at
/// once, not when they expire (ASVS V3.3).
///
/// Take it as a handler argument to require authentication. Every query a handler makes on
/// the user's data must be scoped by `AuthUser::id`, so another user's object is simply not
/// found (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    /// The user.
    pub id: UserId,
    /// The login session the token was issued for.
    pub session: SessionId,
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The access token's claims, verified (signature, audience, expiry).
fn verified(parts: &Parts, state: &AppState) -> Result<AccessClaims, ApiError> {
    let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
    state
        .auth
        .tokens()
        .verify(token, state.clock.now())
        .map_err(|reason| {
            tracing::debug!(%reason, "access token refused");
            ApiError::unauthorized()
        })
}

/// Admits the caller of `claims` when the stored `access` state still lets the token in.
fn admit(
    parts: &Parts,
    claims: &AccessClaims,
    access: Result<AccessState, StoreError>,
) -> Result<AuthUser, ApiError> {
    let access = match access {
        Ok(access) => access,
        Err(StoreError::NotFound) => return Err(ApiError::unauthorized()),
        Err(other) => return Err(other.into()),
    };
    let account = access.account;
    if account.closed || account.token_epoch != claims.epoch {
        tracing::debug!(user = %claims.user, "access token of a closed account or an old epoch");
        return Err(ApiError::unauthorized());
    }
    if !access.session_open {
        tracing::debug!(user = %claims.user, "access token of an ended session");
        return Err(ApiError::unauthorized());
    }
    if let Some(subject) = parts.extensions.get::<UsageSubject>() {
        subject.set(claims.user, account.objects_to_usage_log);
    }
    Ok(AuthUser {
        id: claims.user,
        session: claims.session,
    })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let claims = verified(parts, state)?;
        let access = state
            .stores
            .auth
            .access_state(claims.user, claims.session, state.clock.now())
            .await;
        admit(parts, &claims, access)
    }
}

/// [`AuthUser`] together with the caller's account, read by the same statement that checks
/// the session: take it instead of `AuthUser` in a handler whose data is the account, and the
/// request runs one statement instead of two. Revocation is checked exactly as `AuthUser`
/// checks it, on every request.
#[derive(Debug, Clone)]
pub struct AuthAccount {
    /// The authenticated caller.
    pub user: AuthUser,
    /// Their account, as stored when the session was checked.
    pub account: Account,
}

impl FromRequestParts<AppState> for AuthAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let claims = verified(parts, state)?;
        let read = state
            .stores
            .auth
            .access_account(claims.user, claims.session, state.clock.now())
            .await;
        let (access, account) = match read {
            Ok((access, account)) => (Ok(access), Some(account)),
            Err(error) => (Err(error), None),
        };
        let user = admit(parts, &claims, access)?;
        // `admit` refused every case without an account.
        let account = account.ok_or_else(ApiError::unauthorized)?;
        Ok(Self { user, account })
    }
}
