//! The authenticated caller.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use kraftsoci_core::{SessionId, StoreError, UserId};

use super::usage::UsageSubject;
use crate::error::ApiError;
use crate::state::AppState;

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

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        let claims = state
            .auth
            .tokens()
            .verify(token, state.clock.now())
            .map_err(|reason| {
                tracing::debug!(%reason, "access token refused");
                ApiError::unauthorized()
            })?;
        let access = match state
            .stores
            .auth
            .access_state(claims.user, claims.session, state.clock.now())
            .await
        {
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
        Ok(Self {
            id: claims.user,
            session: claims.session,
        })
    }
}
