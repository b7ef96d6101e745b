//! Credentials and sessions (P24): the password hash and token epoch of each account, refresh
//! token families and password-reset tokens. Tokens are stored only as their SHA-256.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{Account, ListedPage};
use kraftsoci_core::{PostStatus, SessionId, StoreError, UserId};
use sha2::{Digest as _, Sha256};

use super::StoredPreferences;

/// A bcrypt hash (`$2b$…`), as stored in `users.password_hash`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash made by the password hasher or read back from storage.
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    /// The hash text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the password, but an offline-crackable stand-in for it: keep it out of logs.
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// The stored form of an opaque token (refresh, password reset): its SHA-256, hex. At 256
/// bits of entropy a plain hash is enough: there is nothing to brute-force.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes a presented or issued token.
    pub fn of(token: &str) -> Self {
        Self(hex::encode(Sha256::digest(token.as_bytes())))
    }

    /// Wraps a stored hash.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", self.0.get(..8).unwrap_or(&self.0))
    }
}

/// An account as sign-up creates it.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The account (open: `closed_at` is ignored).
    pub account: Account,
    /// The bcrypt hash of its password.
    pub password_hash: PasswordHash,
    /// The client address the policy was accepted from (P38's acceptance record).
    pub ip: Option<String>,
}

/// What a login checks.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account.
    pub user: UserId,
    /// Its bcrypt hash.
    pub password_hash: PasswordHash,
    /// Its current token epoch.
    pub token_epoch: i64,
}

/// What every authenticated request checks about its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    /// The current token epoch; access tokens with another one are refused.
    pub token_epoch: i64,
    /// Whether the account is closed (every request refused).
    pub closed: bool,
    /// Whether the user objects to usage logging (P31).
    pub objects_to_usage_log: bool,
}

/// What every request with an access token checks: its account, and whether the login
/// session the token was issued for is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessState {
    /// The account's state.
    pub account: SessionState,
    /// Whether the session still has a live token (not revoked by logout, a password change,
    /// a replayed refresh token or closing the account, and not expired). Access tokens of a
    /// session that is not open are refused at once, not when they expire.
    pub session_open: bool,
}

/// [`AccessState`] with what `GET /v1/me` shows, read by the same statement.
#[derive(Debug, Clone)]
pub struct AccessAccount {
    /// The account's and the session's state.
    pub access: AccessState,
    /// The account.
    pub account: Account,
    /// Its stored notification choices (`None`: never saved, the defaults apply).
    pub notifications: Option<StoredPreferences>,
}

/// [`AccessState`] with a page of the caller's posts, read by the same statement
/// ([`AuthStore::access_posts`]).
#[derive(Debug, Clone)]
pub struct AccessPosts {
    /// The account's and the session's state: check it before showing anything of `page`.
    pub access: AccessState,
    /// The page ([`StoreError::InvalidInput`] for a cursor this store did not produce; then
    /// no page was read, the state still was).
    pub page: Result<ListedPage, StoreError>,
}

/// A refresh token to store (only its hash).
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// Its family (login session).
    pub session: SessionId,
    /// Its user.
    pub user: UserId,
    /// When issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working if unused.
    pub expires_at: DateTime<Utc>,
}

/// A live browser session, as the sign-in cookie finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    /// The signed-in user.
    pub user: UserId,
    /// The session (refresh-token family of kind `browser`).
    pub session: SessionId,
    /// The account's language (`en`, `tr`).
    pub language: String,
    /// The account holder's name, for the page header.
    pub name: String,
    /// The account's theme (`light`, `dark`, `system`).
    pub theme: String,
    /// Whether the user objects to usage logging (P31): the usage log keeps only their
    /// security events.
    pub objects_to_usage_log: bool,
    /// The time zone the owner chose (an IANA name), if they saved their choices; pages
    /// show times in it.
    pub time_zone: Option<String>,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now spent and its successor stored.
    Rotated {
        /// The user.
        user: UserId,
        /// The session, unchanged across rotations.
        session: SessionId,
        /// The user's current token epoch, for the new access token.
        token_epoch: i64,
    },
    /// The token was already spent: someone replayed it, so its whole family is now revoked.
    Reused {
        /// The user whose session was revoked.
        user: UserId,
        /// The revoked session.
        session: SessionId,
    },
    /// Unknown, expired, revoked, or the account is closed.
    Invalid,
}

/// Credentials, refresh-token families and password-reset tokens.
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Creates an account and records its policy acceptance, atomically.
    /// A taken email is [`StoreError::Conflict`] on `users_email_key`.
    async fn create_account(&self, new: &NewAccount) -> Result<(), StoreError>;

    /// The credentials of the open account with this normalized email.
    async fn credentials_by_email(
        &self,
        email_normalized: &str,
    ) -> Result<Option<Credentials>, StoreError>;

    /// The credentials of an open account.
    async fn credentials(&self, user: UserId) -> Result<Credentials, StoreError>;

    /// The per-request state of an account ([`StoreError::NotFound`] once purged).
    async fn session_state(&self, user: UserId) -> Result<SessionState, StoreError>;

    /// The per-request state of an account and of its login `session` at `now`
    /// ([`StoreError::NotFound`] once the account is purged). One query: it runs on every
    /// authenticated request.
    async fn access_state(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<AccessState, StoreError>;

    /// [`AuthStore::access_state`], the account itself and its stored notification choices,
    /// read by the same single query: for a request whose data is the account
    /// (`GET /v1/me`), so that it runs one statement instead of three
    /// ([`StoreError::NotFound`] once the account is purged).
    async fn access_account(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<AccessAccount, StoreError>;

    /// [`AuthStore::access_state`] and a page of `user`'s posts with what a list shows of each
    /// (as [`PostStore::list_posts_with_details`] reads them, with the same cursors), read by
    /// one statement: for `GET /v1/posts` with an access token, so that it runs one statement
    /// instead of two ([`StoreError::NotFound`] once the account is purged). The page is read
    /// whatever the session's state, and only `user`'s: the caller admits the session on
    /// `access` before it shows any of it.
    ///
    /// [`PostStore::list_posts_with_details`]: kraftsoci_core::ports::PostStore::list_posts_with_details
    #[allow(clippy::too_many_arguments)]
    async fn access_posts(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
        status: Option<PostStatus>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<AccessPosts, StoreError>;

    /// Stores a new refresh token (the first of a family, at login).
    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> Result<(), StoreError>;

    /// Stores the token of a new browser session (sign-in cookie): a family of kind
    /// `browser`, never rotated, refused by [`AuthStore::rotate_refresh_token`].
    async fn insert_browser_session(&self, token: &NewRefreshToken) -> Result<(), StoreError>;

    /// The browser session of `presented` when it is live at `now` (not revoked, not
    /// expired, of an open account); `None` otherwise, API refresh tokens included.
    async fn browser_session(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<BrowserSession>, StoreError>;

    /// Spends `presented` and stores `next` in its family, atomically; a replayed token
    /// revokes its family instead. Only API refresh tokens rotate; a browser session's
    /// token is [`Rotation::Invalid`] here.
    async fn rotate_refresh_token(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: DateTime<Utc>,
        next_expires_at: DateTime<Utc>,
    ) -> Result<Rotation, StoreError>;

    /// Revokes the family of `presented` (logout, API or browser). Unknown tokens are
    /// ignored.
    async fn revoke_session_of(
        &self,
        presented: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Sets a new password hash, bumps the token epoch, voids pending reset tokens and
    /// revokes every session except `keep`; returns the new epoch.
    async fn change_password(
        &self,
        user: UserId,
        hash: &PasswordHash,
        keep: Option<SessionId>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;

    /// Stores a password-reset token (only its hash).
    async fn insert_reset_token(
        &self,
        user: UserId,
        token: &TokenHash,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Spends a live reset token and sets the password, bumping the epoch and revoking every
    /// session, atomically. `None` when the token is unknown, spent or expired.
    async fn reset_password(
        &self,
        token: &TokenHash,
        hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError>;
}
