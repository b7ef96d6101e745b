//! The authenticated caller: [`AuthUser`] (a signed-in session only), [`AuthAccount`] (the same
//! with the account read by the session check), [`ApiCaller`] (a session, or a personal API
//! key with the route's scope) and [`DeferredCaller`] (the same, for a route that reads its
//! data with the session check).

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use kraftsoci_core::ports::Account;
use kraftsoci_core::{ApiKeyId, SessionId, StoreError, UserId};

use super::usage::UsageSubject;
use crate::api_keys::{self, KeyHolder, Scope};
use crate::auth::AccessClaims;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{AccessState, StoredPreferences};

/// A request carrying a valid access token of an open account whose token epoch matches
/// (so a password change or reset has not revoked it since it was issued) and whose login
/// session is still open: logout, a replayed refresh token (its family is revoked), a
/// password change elsewhere and closing the account end the session's access tokens at
/// once, not when they expire (ASVS V3.3).
///
/// Take it as a handler argument to require authentication. Every query a handler makes on
/// the user's data must be scoped by `AuthUser::id`, so another user's object is simply not
/// found (404).
///
/// A personal API key is never an `AuthUser`: a valid key gets 403 `api_key_not_allowed`
/// (an invalid one 401), so every route that takes this extractor — account management
/// among them — is closed to keys. Routes open to keys take [`ApiCaller`].
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

/// Admits the caller of `claims` when the stored `access` state still lets the token in, and
/// tells the request's usage subject (when there is one) who it was.
fn admit(
    usage: Option<&UsageSubject>,
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
    if let Some(subject) = usage {
        subject.set(claims.user, account.objects_to_usage_log);
    }
    Ok(AuthUser {
        id: claims.user,
        session: claims.session,
    })
}

/// A valid personal API key is refused (403 `api_key_not_allowed`, its use logged against the
/// key) where only a signed-in session may come; an invalid one is 401. Anything else passes
/// on to the access-token check.
async fn refuse_api_key(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let Some(token) = bearer(parts) else {
        return Ok(());
    };
    if !api_keys::is_api_key(token) {
        return Ok(());
    }
    let holder = api_keys::authenticate(state, token).await?;
    note_key(parts, &holder);
    Err(api_keys::not_allowed())
}

/// The signed-in session an access token belongs to.
async fn session_user(parts: &Parts, state: &AppState) -> Result<AuthUser, ApiError> {
    let claims = verified(parts, state)?;
    let access = state
        .stores
        .auth
        .access_state(claims.user, claims.session, state.clock.now())
        .await;
    admit(parts.extensions.get::<UsageSubject>(), &claims, access)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_api_key(parts, state).await?;
        session_user(parts, state).await
    }
}

/// [`AuthUser`] together with the caller's account and notification choices, read by the
/// same statement that checks the session: take it instead of `AuthUser` in a handler whose
/// data is the account, and the request runs one statement instead of three. Revocation is
/// checked exactly as `AuthUser` checks it, on every request.
#[derive(Debug, Clone)]
pub struct AuthAccount {
    /// The authenticated caller.
    pub user: AuthUser,
    /// Their account, as stored when the session was checked.
    pub account: Account,
    /// Their stored notification choices (`None`: never saved, the defaults apply).
    pub notifications: Option<StoredPreferences>,
}

impl FromRequestParts<AppState> for AuthAccount {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_api_key(parts, state).await?;
        let claims = verified(parts, state)?;
        let read = state
            .stores
            .auth
            .access_account(claims.user, claims.session, state.clock.now())
            .await;
        let (access, rest) = match read {
            Ok(read) => (Ok(read.access), Some((read.account, read.notifications))),
            Err(error) => (Err(error), None),
        };
        let user = admit(parts.extensions.get::<UsageSubject>(), &claims, access)?;
        // `admit` refused every case without an account.
        let (account, notifications) = rest.ok_or_else(ApiError::unauthorized)?;
        Ok(Self {
            user,
            account,
            notifications,
        })
    }
}

/// Tells the usage log which key the request came with.
fn note_key(parts: &Parts, holder: &KeyHolder) {
    if let Some(subject) = parts.extensions.get::<UsageSubject>() {
        subject.set_with_key(holder.user, holder.objects_to_usage_log, holder.key);
    }
}

/// The scope a route open to API keys requires: implemented by the marker types
/// [`PostsRead`], [`PostsWrite`] and [`PostsPublish`].
pub trait RequiredScope {
    /// The scope.
    const SCOPE: Scope;
}

/// Marker: the route needs `posts:read` from a key.
#[derive(Debug, Clone, Copy)]
pub struct PostsRead;
/// Marker: the route needs `posts:write` from a key.
#[derive(Debug, Clone, Copy)]
pub struct PostsWrite;
/// Marker: the route needs `posts:publish` from a key.
#[derive(Debug, Clone, Copy)]
pub struct PostsPublish;

impl RequiredScope for PostsRead {
    const SCOPE: Scope = Scope::PostsRead;
}
impl RequiredScope for PostsWrite {
    const SCOPE: Scope = Scope::PostsWrite;
}
impl RequiredScope for PostsPublish {
    const SCOPE: Scope = Scope::PostsPublish;
}

/// How an [`ApiCaller`] authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A signed-in session's access token.
    Session(SessionId),
    /// A personal API key.
    ApiKey(ApiKeyId),
}

/// A request from the owner's signed-in session **or** from one of their personal API keys
/// holding the scope `S` (403 `api_key_scope_missing` otherwise). Same checks as
/// [`AuthUser`] for sessions; a key must be live (not revoked) and its account open. Use it
/// only on the routes listed in [`api_keys::KEY_ROUTES`], and scope every query by `id`.
pub struct ApiCaller<S> {
    /// The user.
    pub id: UserId,
    /// The session or key.
    pub via: Via,
    scope: PhantomData<fn() -> S>,
}

impl<S> ApiCaller<S> {
    /// The key the request came with, if it came with one.
    pub fn api_key(&self) -> Option<ApiKeyId> {
        match self.via {
            Via::ApiKey(key) => Some(key),
            Via::Session(_) => None,
        }
    }
}

impl<S> std::fmt::Debug for ApiCaller<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiCaller")
            .field("id", &self.id)
            .field("via", &self.via)
            .finish()
    }
}

impl<S: RequiredScope> FromRequestParts<AppState> for ApiCaller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        if !api_keys::is_api_key(token) {
            let user = session_user(parts, state).await?;
            return Ok(Self {
                id: user.id,
                via: Via::Session(user.session),
                scope: PhantomData,
            });
        }
        let holder = api_keys::authenticate(state, token).await?;
        note_key(parts, &holder);
        if !holder.scopes.contains(S::SCOPE) {
            return Err(api_keys::scope_missing(S::SCOPE));
        }
        Ok(Self {
            id: holder.user,
            via: Via::ApiKey(holder.key),
            scope: PhantomData,
        })
    }
}

/// [`ApiCaller`] for a route that reads its data in the same statement as the session check
/// (`GET /v1/posts`): a personal API key is checked here exactly as [`ApiCaller`] checks it;
/// an access token is only verified (signature, audience, expiry), and the route admits its
/// session with [`PendingSession::admit`] on the state its statement read — the checks of
/// [`AuthUser`], on every request — before it shows anything, or with
/// [`PendingSession::check`] when it reads nothing (a request it refuses as malformed is still
/// answered 401 first when its session is not admitted).
pub enum DeferredCaller<S> {
    /// A personal API key holding the scope `S`: admitted.
    Key(ApiCaller<S>),
    /// A verified access token whose session is still to be checked.
    Session(PendingSession),
}

impl<S> std::fmt::Debug for DeferredCaller<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(caller) => f.debug_tuple("Key").field(caller).finish(),
            Self::Session(pending) => f.debug_tuple("Session").field(pending).finish(),
        }
    }
}

/// A verified access token whose session has not been checked yet: it names who the route
/// may read for ([`PendingSession::user`]), and nothing read may be shown before
/// [`PendingSession::admit`] or [`PendingSession::check`] returns the [`AuthUser`].
#[derive(Debug)]
pub struct PendingSession {
    claims: AccessClaims,
    usage: Option<UsageSubject>,
}

impl PendingSession {
    /// The user the token was issued to: the only user whose data the route may read.
    pub fn user(&self) -> UserId {
        self.claims.user
    }

    /// The login session the token was issued for.
    pub fn session(&self) -> SessionId {
        self.claims.session
    }

    /// Admits the caller on the account and session state read with the route's data (the
    /// checks of [`AuthUser`]): 401 for a purged or closed account, an old token epoch or an
    /// ended session.
    ///
    /// # Errors
    /// [`ApiError`] 401 as above; a store failure as itself.
    pub fn admit(&self, access: Result<AccessState, StoreError>) -> Result<AuthUser, ApiError> {
        admit(self.usage.as_ref(), &self.claims, access)
    }

    /// Runs the session check alone, for a request the route answers without reading.
    ///
    /// # Errors
    /// As [`PendingSession::admit`].
    pub async fn check(&self, state: &AppState) -> Result<AuthUser, ApiError> {
        let access = state
            .stores
            .auth
            .access_state(self.claims.user, self.claims.session, state.clock.now())
            .await;
        self.admit(access)
    }
}

impl<S: RequiredScope> FromRequestParts<AppState> for DeferredCaller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthorized)?;
        if api_keys::is_api_key(token) {
            return ApiCaller::from_request_parts(parts, state)
                .await
                .map(Self::Key);
        }
        let claims = verified(parts, state)?;
        Ok(Self::Session(PendingSession {
            claims,
            usage: parts.extensions.get::<UsageSubject>().cloned(),
        }))
    }
}
