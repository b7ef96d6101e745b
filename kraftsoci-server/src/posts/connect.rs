//! Connecting Instagram business accounts through Facebook Login (P03, P08, P10, P15, P22).
//!
//! `start` issues a one-time `state` (256 random bits, stored only as its SHA-256, bound to the
//! user, 10 minutes) and the login dialog URL; `callback` spends the state, exchanges the code
//! for a long-lived token, finds every Page with a linked Instagram business account and stores
//! one connection each, its token sealed by the vault for that owner and account. Tokens never
//! leave this module except sealed (to the store) or inside the Meta client's requests.
//!
//! In sandbox mode no Meta call is made: the dialog URL points straight at our own callback
//! with a valid state, and the callback creates the user's sandbox account
//! (`sandbox-<digits>`, "Sandbox Page").

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    Connection, ConnectionStatus, ConnectionStore, JOB_RUNNING, JobRequest, PostStore, PostUpdate,
    PublishJournal, PublishStep,
};
use kraftsoci_core::vault::key_version_of;
use kraftsoci_core::{
    Clock, ConnectionId, IgUserId, Post, PostStatus, StoreError, TokenContext, TokenVault, UserId,
};
use kraftsoci_meta::{ErrorKind, MetaClient, MetaError, PageWithoutInstagram};
use rand::RngCore as _;
use rand::rngs::OsRng;
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::error::publishing_in_progress;
use crate::error::ApiError;
use crate::store::{AuthStore, NewOAuthState, OAuthStateStore};

/// How long a login `state` is accepted.
pub const STATE_TTL_MINUTES: i64 = 10;

/// The prefix of a `state` issued to the web app (a browser flow): its callback redirects
/// back into the app instead of answering JSON. The prefix is part of the hashed value, so
/// it cannot be added to or stripped from a state without invalidating it.
pub const BROWSER_STATE_PREFIX: &str = "w.";

/// Whether a presented `state` was issued to the web app (see [`BROWSER_STATE_PREFIX`]).
pub fn is_browser_state(state: &str) -> bool {
    state.starts_with(BROWSER_STATE_PREFIX)
}

/// Who started a connection: an API client (the callback answers JSON) or the web app (it
/// redirects back into the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFlow {
    /// `POST /v1/instagram/connect`.
    Api,
    /// The web app's "Connect Instagram" button.
    Browser,
}

/// The page name of sandbox accounts.
pub const SANDBOX_PAGE_NAME: &str = "Sandbox Page";

/// Where the owner goes to grant access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectStart {
    /// The login dialog (or, in sandbox mode, our own callback).
    pub authorize_url: String,
    /// Whether this is the sandbox flow.
    pub sandbox: bool,
}

/// What Meta's redirect carried.
#[derive(Debug, Clone, Default)]
pub struct CallbackParams {
    /// The one-time code.
    pub code: Option<SecretString>,
    /// Our state.
    pub state: Option<String>,
    /// `error` (e.g. `access_denied`).
    pub error: Option<String>,
}

/// The accounts a callback connected, and the Pages it could not use.
#[derive(Debug, Clone)]
pub struct Connected {
    /// One connection per Page with an Instagram business account.
    pub accounts: Vec<Connection>,
    /// Pages without one (reported so the owner can link one, never silently dropped).
    pub pages_without_instagram: Vec<PageWithoutInstagram>,
    /// Whether this is the sandbox flow.
    pub sandbox: bool,
}

/// Why connecting or disconnecting did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Facebook Login is not configured (outside sandbox mode).
    #[error("facebook login is not configured")]
    Unconfigured,
    /// The `state` is missing, unknown, expired, spent, or its account is closed.
    #[error("the login state is invalid")]
    InvalidState,
    /// The owner did not grant access.
    #[error("access was not granted")]
    AccessDenied,
    /// The login dialog returned another error.
    #[error("facebook login did not complete")]
    LoginFailed,
    /// The redirect carried no code.
    #[error("the redirect carried no code")]
    NoCode,
    /// Meta refused the code.
    #[error("meta refused the login code")]
    CodeRefused(#[source] MetaError),
    /// The owner did not grant every permission.
    #[error("permissions are missing")]
    PermissionsMissing(#[source] MetaError),
    /// Meta could not be reached or throttled.
    #[error("meta is unavailable")]
    MetaUnavailable(#[source] MetaError),
    /// Meta answered something unexpected.
    #[error("meta answered unexpectedly")]
    MetaUnexpected(#[source] MetaError),
    /// A worker is publishing a post to the account right now.
    #[error("a post is being published to this account")]
    PublishingInProgress,
    /// Storage failed or refused.
    #[error(transparent)]
    Store(StoreError),
    /// Sealing a token, building a URL or restoring a stored post failed: not the caller's
    /// doing.
    #[error("internal: {0}")]
    Internal(#[source] anyhow::Error),
}

impl ConnectError {
    fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }
}

impl From<StoreError> for ConnectError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { constraint } if constraint == JOB_RUNNING => {
                Self::PublishingInProgress
            }
            other => Self::Store(other),
        }
    }
}

impl From<ConnectError> for ApiError {
    fn from(error: ConnectError) -> Self {
        use ConnectError as E;
        match error {
            E::Unconfigured => ApiError::dependency_unavailable(
                "instagram_unavailable",
                "Connecting Instagram is not configured on this server.",
                None,
            ),
            E::InvalidState => ApiError::bad_request(
                "invalid_state",
                "The login link is invalid, expired or was already used; start connecting again.",
            ),
            E::AccessDenied => ApiError::bad_request(
                "access_denied",
                "Access was not granted; nothing was connected.",
            ),
            E::LoginFailed => ApiError::bad_request(
                "login_failed",
                "Facebook Login did not complete; nothing was connected.",
            ),
            E::NoCode => {
                ApiError::bad_request("invalid_code", "The login redirect carried no code.")
            }
            E::CodeRefused(_) => ApiError::bad_request(
                "invalid_code",
                "Facebook did not accept the login; start connecting again.",
            ),
            E::PermissionsMissing(_) => ApiError::bad_request(
                "permissions_missing",
                "Every requested permission is needed to publish; connect again and allow them.",
            ),
            E::MetaUnavailable(source) => ApiError::bad_gateway(
                "meta_unavailable",
                "Instagram could not be reached; try connecting again in a moment.",
                source,
            ),
            E::MetaUnexpected(source) => ApiError::bad_gateway(
                "meta_unavailable",
                "Instagram answered unexpectedly; try connecting again.",
                source,
            ),
            E::PublishingInProgress => publishing_in_progress(),
            E::Store(source) => source.into(),
            E::Internal(source) => ApiError::Internal(source),
        }
    }
}

/// Classifies a Meta failure of the login exchange; the refusals that are the owner's are
/// logged here, since they answer 400 and are never logged as server errors.
fn meta_failed(error: MetaError) -> ConnectError {
    match error.kind() {
        ErrorKind::Transient | ErrorKind::RateLimited { .. } => {
            ConnectError::MetaUnavailable(error)
        }
        ErrorKind::PermissionMissing { .. } => {
            tracing::info!(error = %error, "instagram connection without the needed permissions");
            ConnectError::PermissionsMissing(error)
        }
        ErrorKind::InvalidRequest | ErrorKind::ReconnectNeeded { .. } => {
            tracing::info!(error = %error, "instagram login code refused");
            ConnectError::CodeRefused(error)
        }
        _ => ConnectError::MetaUnexpected(error),
    }
}

/// The stored form of an app-scoped Meta user id: lowercase hex SHA-256, so the id itself is
/// never kept. Each connection keeps the one of whoever made it, so Meta's data-deletion and
/// deauthorize callbacks can find it (P15, P34).
pub fn meta_user_hash(app_scoped_user_id: &str) -> String {
    hex::encode(Sha256::digest(app_scoped_user_id.trim().as_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// What connecting is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSettings {
    /// Sandbox mode: no Meta call, a sandbox account per user.
    pub sandbox: bool,
    /// Where the login dialog sends the owner back (our callback).
    pub redirect_uri: Url,
}

/// The collaborators of [`InstagramConnect`].
pub struct ConnectPorts {
    /// One-time OAuth states.
    pub oauth_states: Arc<dyn OAuthStateStore>,
    /// Connections and their sealed tokens.
    pub connections: Arc<dyn ConnectionStore>,
    /// Posts waiting for a reconnect, or approved for an account being disconnected.
    pub posts: Arc<dyn PostStore>,
    /// The publish journal: whether a waiting post's `media_publish` may already have been
    /// sent (such a post is settled by its container, never sent back to `ready`).
    pub journal: Arc<dyn PublishJournal>,
    /// Whether the account that started connecting is still open.
    pub auth: Arc<dyn AuthStore>,
    /// Seals the tokens (P10, P22).
    pub vault: Arc<TokenVault>,
    /// Facebook Login, when configured.
    pub meta: Option<Arc<MetaClient>>,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
}

/// Connecting and disconnecting Instagram accounts.
pub struct InstagramConnect {
    ports: ConnectPorts,
    settings: ConnectSettings,
}

impl std::fmt::Debug for InstagramConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstagramConnect")
            .field("settings", &self.settings)
            .field("meta", &self.ports.meta.is_some())
            .finish_non_exhaustive()
    }
}

impl InstagramConnect {
    /// The service over `ports`.
    pub fn new(ports: ConnectPorts, settings: ConnectSettings) -> Self {
        Self { ports, settings }
    }

    fn meta(&self) -> Result<&MetaClient, ConnectError> {
        self.ports.meta.as_deref().ok_or(ConnectError::Unconfigured)
    }

    /// Issues a one-time state for `user` and the URL to send them to.
    ///
    /// # Errors
    /// [`ConnectError::Unconfigured`] when Facebook Login is not configured (outside sandbox
    /// mode); storage failures.
    pub async fn start(&self, user: UserId) -> Result<ConnectStart, ConnectError> {
        self.start_flow(user, ConnectFlow::Api).await
    }

    /// [`InstagramConnect::start`] for `flow`: a browser flow's state carries
    /// [`BROWSER_STATE_PREFIX`].
    ///
    /// # Errors
    /// As [`InstagramConnect::start`].
    pub async fn start_flow(
        &self,
        user: UserId,
        flow: ConnectFlow,
    ) -> Result<ConnectStart, ConnectError> {
        if !self.settings.sandbox {
            self.meta()?;
        }
        let value = match flow {
            ConnectFlow::Api => random_token(),
            ConnectFlow::Browser => format!("{BROWSER_STATE_PREFIX}{}", random_token()),
        };
        let now = self.ports.clock.now();
        self.ports
            .oauth_states
            .insert_oauth_state(&NewOAuthState {
                state_hash: state_hash(&value),
                user,
                created_at: now,
                expires_at: now + chrono::Duration::minutes(STATE_TTL_MINUTES),
            })
            .await?;
        if self.settings.sandbox {
            let mut url = self.settings.redirect_uri.clone();
            url.query_pairs_mut()
                .append_pair("code", &format!("sandbox-{}", random_token()))
                .append_pair("state", &value);
            return Ok(ConnectStart {
                authorize_url: url.into(),
                sandbox: true,
            });
        }
        let url = self
            .meta()?
            .login_url(&value)
            .map_err(ConnectError::internal)?;
        Ok(ConnectStart {
            authorize_url: url.into(),
            sandbox: false,
        })
    }

    /// Completes a connection from Meta's redirect.
    ///
    /// # Errors
    /// [`ConnectError::InvalidState`] (missing, unknown, expired or reused state),
    /// `AccessDenied` or `LoginFailed` (the dialog returned an error), `NoCode`,
    /// `CodeRefused`, `PermissionsMissing`, `MetaUnavailable`. Nothing is stored on any of
    /// them.
    pub async fn callback(&self, params: CallbackParams) -> Result<Connected, ConnectError> {
        let now = self.ports.clock.now();
        let presented = params.state.as_deref().filter(|s| !s.is_empty());
        let Some(presented) = presented else {
            return Err(ConnectError::InvalidState);
        };
        // Spent first, whatever follows: a state works once, also when the login failed.
        let user = self
            .ports
            .oauth_states
            .consume_oauth_state(&state_hash(presented), now)
            .await?
            .ok_or(ConnectError::InvalidState)?;
        if let Some(error) = params.error {
            tracing::info!(%user, error, "facebook login returned an error");
            return Err(if error == "access_denied" {
                ConnectError::AccessDenied
            } else {
                ConnectError::LoginFailed
            });
        }
        if self.ports.auth.session_state(user).await?.closed {
            return Err(ConnectError::InvalidState);
        }
        let code = params.code.ok_or(ConnectError::NoCode)?;
        if self.settings.sandbox {
            return self.connect_sandbox(user, now).await;
        }
        let meta = self.meta()?;
        let short = meta.exchange_code(&code).await.map_err(meta_failed)?;
        let long = meta
            .exchange_long_lived(&short.token)
            .await
            .map_err(meta_failed)?;
        let received_at = self.ports.clock.now();
        meta.check_permissions(&long.token)
            .await
            .map_err(meta_failed)?;
        let found = meta
            .instagram_accounts(&long.token)
            .await
            .map_err(meta_failed)?;
        // Meta's data-deletion and deauthorize callbacks name the person by their app-scoped
        // id: its hash is kept with each connection so they can be found (P15, P34).
        let meta_user = meta_user_of(meta, &long.token, user).await;
        let mut accounts = Vec::with_capacity(found.accounts.len());
        for account in found.accounts {
            // A Page token read with a long-lived user token does not expire; without one, the
            // user token publishes and expires with itself.
            let (token, expires_at) = match account.page_access_token {
                Some(page_token) => (page_token, None),
                None => (long.token.clone(), long.expires_at(received_at)),
            };
            let connection = self
                .save(
                    user,
                    account.ig_user_id,
                    account.page_name,
                    &token,
                    expires_at,
                )
                .await?;
            if let Some(meta_user) = &meta_user {
                self.ports
                    .connections
                    .set_meta_user_hash(user, connection.id, meta_user)
                    .await?;
            }
            accounts.push(connection);
        }
        tracing::info!(
            %user,
            connected = accounts.len(),
            pages_without_instagram = found.pages_without_instagram.len(),
            "instagram connected"
        );
        Ok(Connected {
            accounts,
            pages_without_instagram: found.pages_without_instagram,
            sandbox: false,
        })
    }

    async fn connect_sandbox(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Connected, ConnectError> {
        // One sandbox account per user: connecting again renews it (and its waiting posts).
        let existing = self
            .ports
            .connections
            .connections(user)
            .await?
            .into_iter()
            .find(|c| c.ig_user_id.is_sandbox());
        let ig_user_id = match existing {
            Some(connection) => connection.ig_user_id,
            None => {
                let digits: u64 = rand::Rng::gen_range(
                    &mut rand::thread_rng(),
                    10_000_000_000_000..100_000_000_000_000,
                );
                IgUserId::parse(format!("sandbox-{digits}")).map_err(ConnectError::internal)?
            }
        };
        let token = SecretString::from(format!("sandbox-token-{}", random_token()));
        let connection = self
            .save(
                user,
                ig_user_id,
                SANDBOX_PAGE_NAME.to_owned(),
                &token,
                Some(now + chrono::Duration::days(60)),
            )
            .await?;
        tracing::info!(%user, "sandbox instagram account connected");
        Ok(Connected {
            accounts: vec![connection],
            pages_without_instagram: Vec::new(),
            sandbox: true,
        })
    }

    /// Seals the token and creates or refreshes the connection; a connection that needed a
    /// reconnect is active again and its waiting posts move on.
    async fn save(
        &self,
        owner: UserId,
        ig_user_id: IgUserId,
        page_name: String,
        token: &SecretString,
        token_expires_at: Option<DateTime<Utc>>,
    ) -> Result<Connection, ConnectError> {
        let now = self.ports.clock.now();
        let existing = self
            .ports
            .connections
            .connection_by_ig_user(owner, &ig_user_id)
            .await?;
        let sealed = self
            .ports
            .vault
            .seal(token, &TokenContext::instagram(owner, &ig_user_id))
            .map_err(ConnectError::internal)?;
        let key_version = key_version_of(&sealed).map_err(ConnectError::internal)?;
        let connection = Connection {
            id: existing.as_ref().map_or_else(ConnectionId::new, |c| c.id),
            owner,
            ig_user_id,
            page_name,
            status: ConnectionStatus::Active,
            token_expires_at,
            created_at: existing.as_ref().map_or(now, |c| c.created_at),
        };
        let saved = self
            .ports
            .connections
            .save_connection(&connection, &sealed, key_version)
            .await?;
        self.resume_waiting_posts(&saved).await?;
        Ok(saved)
    }

    /// `Post::reconnected` for every post of this account waiting in `needs_reconnect`: one
    /// whose consent still matches is queued again, any other returns to `ready`, and so does
    /// a scheduled one whose time passed meanwhile (with a notice; the owner consented to that
    /// time), unless its journal shows a `media_publish` already sent for this approval.
    async fn resume_waiting_posts(&self, connection: &Connection) -> Result<(), ConnectError> {
        let posts = &self.ports.posts;
        let waiting = posts
            .posts_awaiting_reconnect(connection.owner, &connection.ig_user_id)
            .await?;
        for snapshot in waiting {
            let expected_updated_at = snapshot.updated_at;
            let mut post = Post::restore(snapshot).map_err(ConnectError::internal)?;
            let now = self.ports.clock.now();
            let publish_sent = match (self.ports.journal.load(post.id()).await?, post.consent()) {
                (Some(entry), Some(consent)) => {
                    entry.approved_at == consent.approved_at()
                        && matches!(
                            entry.step,
                            PublishStep::PublishSent { .. } | PublishStep::Published { .. }
                        )
                }
                _ => false,
            };
            post.reconnected(now, publish_sent)
                .map_err(ConnectError::internal)?;
            let post_id = post.id();
            let update = PostUpdate {
                expected_updated_at,
                post: post.into_snapshot(),
            };
            let saved = if update.post.status == PostStatus::Approved {
                let run_after = update
                    .post
                    .consent
                    .as_ref()
                    .and_then(|c| c.scheduled_for())
                    .map_or(now, |at| at.max(now));
                let job = JobRequest {
                    connection: connection.id,
                    run_after,
                    at: now,
                };
                posts.approve_and_queue(&update, &job).await.map(drop)
            } else {
                posts.save_and_unqueue(&update, now).await
            };
            match saved {
                Ok(()) => {
                    tracing::info!(post = %post_id, status = %update.post.status, "post resumed after reconnect")
                }
                // The worker moved it meanwhile; it decides what happens next.
                Err(StoreError::Stale) => {
                    tracing::info!(post = %post_id, "post changed during reconnect; left as is");
                }
                Err(StoreError::Conflict { constraint }) if constraint == JOB_RUNNING => {
                    tracing::info!(post = %post_id, "post being published during reconnect");
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }

    /// Disconnects one of the owner's accounts (P15): the connection and its sealed token are
    /// deleted. Posts approved for it that have not started publishing are withdrawn (their
    /// consent is void and their jobs are dropped): an approval names one account, and the
    /// owner decides again once an account is connected, rather than finding them failed.
    ///
    /// # Errors
    /// Not found when it is not the owner's; [`ConnectError::PublishingInProgress`] while a
    /// post is being published to it; a storage conflict when a post changed meanwhile.
    pub async fn disconnect(&self, owner: UserId, id: ConnectionId) -> Result<(), ConnectError> {
        let connection = self.ports.connections.connection(owner, id).await?;
        let now = self.ports.clock.now();
        let mut withdrawn = Vec::new();
        for snapshot in self
            .ports
            .posts
            .posts_queued_for(owner, &connection.ig_user_id)
            .await?
        {
            let expected_updated_at = snapshot.updated_at;
            let mut post = Post::restore(snapshot).map_err(ConnectError::internal)?;
            post.withdraw(now).map_err(ConnectError::internal)?;
            withdrawn.push(PostUpdate {
                expected_updated_at,
                post: post.into_snapshot(),
            });
        }
        self.ports
            .connections
            .disconnect(owner, id, &withdrawn, now)
            .await?;
        tracing::info!(%owner, connection = %id, withdrawn = withdrawn.len(), "instagram disconnected");
        Ok(())
    }
}

/// The hashed app-scoped id of the person who logged in, from `debug_token`. Its failure does
/// not stop the connection (the token works); it is logged, since Meta's callbacks will not
/// find this connection until the next reconnect.
async fn meta_user_of(meta: &MetaClient, token: &SecretString, user: UserId) -> Option<String> {
    match meta.debug_token(token).await {
        Ok(info) => {
            let hash = info.user_id.as_deref().map(meta_user_hash);
            if hash.is_none() {
                tracing::warn!(%user, "debug_token named no user; Meta's callbacks cannot find this connection");
            }
            hash
        }
        Err(error) => {
            tracing::warn!(%user, %error, "debug_token failed; Meta's callbacks cannot find this connection");
            None
        }
    }
}
