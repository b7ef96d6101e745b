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

use base64::Engine as _;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{Connection, ConnectionStatus};
use kraftsoci_core::vault::key_version_of;
use kraftsoci_core::{ConnectionId, IgUserId, Post, PostStatus, StoreError, TokenContext, UserId};
use kraftsoci_meta::{ErrorKind, MetaError, PageWithoutInstagram};
use rand::RngCore as _;
use rand::rngs::OsRng;
use secrecy::SecretString;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::posts::flow;
use crate::state::AppState;
use kraftsoci_core::ports::{JOB_RUNNING, JobRequest, PostUpdate};

use crate::store::NewOAuthState;

/// How long a login `state` is accepted.
pub const STATE_TTL_MINUTES: i64 = 10;

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

fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

fn invalid_state() -> ApiError {
    ApiError::bad_request(
        "invalid_state",
        "The login link is invalid, expired or was already used; start connecting again.",
    )
}

fn meta_failed(error: MetaError) -> ApiError {
    match error.kind() {
        ErrorKind::Transient | ErrorKind::RateLimited { .. } => ApiError::bad_gateway(
            "meta_unavailable",
            "Instagram could not be reached; try connecting again in a moment.",
            anyhow::Error::new(error),
        ),
        ErrorKind::PermissionMissing { .. } => {
            tracing::info!(error = %error, "instagram connection without the needed permissions");
            ApiError::bad_request(
                "permissions_missing",
                "Every requested permission is needed to publish; connect again and allow them.",
            )
        }
        ErrorKind::InvalidRequest | ErrorKind::ReconnectNeeded { .. } => {
            tracing::info!(error = %error, "instagram login code refused");
            ApiError::bad_request(
                "invalid_code",
                "Facebook did not accept the login; start connecting again.",
            )
        }
        _ => ApiError::bad_gateway(
            "meta_unavailable",
            "Instagram answered unexpectedly; try connecting again.",
            anyhow::Error::new(error),
        ),
    }
}

/// Issues a one-time state for `user` and the URL to send them to.
///
/// # Errors
/// 503 `instagram_unavailable` when Facebook Login is not configured (outside sandbox mode);
/// storage failures.
pub async fn start(state: &AppState, user: UserId) -> Result<ConnectStart, ApiError> {
    if !state.config.sandbox && state.meta.is_none() {
        return Err(ApiError::dependency_unavailable(
            "instagram_unavailable",
            "Connecting Instagram is not configured on this server.",
            None,
        ));
    }
    let value = random_token();
    let now = state.clock.now();
    state
        .stores
        .oauth_states
        .insert_oauth_state(&NewOAuthState {
            state_hash: state_hash(&value),
            user,
            created_at: now,
            expires_at: now + chrono::Duration::minutes(STATE_TTL_MINUTES),
        })
        .await?;
    if state.config.sandbox {
        let mut url = state.config.meta.redirect_uri.clone();
        url.query_pairs_mut()
            .append_pair("code", &format!("sandbox-{}", random_token()))
            .append_pair("state", &value);
        return Ok(ConnectStart {
            authorize_url: url.into(),
            sandbox: true,
        });
    }
    let meta = state.meta.as_ref().ok_or_else(|| {
        ApiError::dependency_unavailable(
            "instagram_unavailable",
            "Connecting Instagram is not configured on this server.",
            None,
        )
    })?;
    let url = meta.login_url(&value).map_err(ApiError::internal)?;
    Ok(ConnectStart {
        authorize_url: url.into(),
        sandbox: false,
    })
}

/// Completes a connection from Meta's redirect.
///
/// # Errors
/// 400 `invalid_state` (missing, unknown, expired or reused state), `access_denied` or
/// `login_failed` (the dialog returned an error), `invalid_code`, `permissions_missing`;
/// 502 `meta_unavailable`. Nothing is stored on any of them.
pub async fn callback(state: &AppState, params: CallbackParams) -> Result<Connected, ApiError> {
    let now = state.clock.now();
    let presented = params.state.as_deref().filter(|s| !s.is_empty());
    let Some(presented) = presented else {
        return Err(invalid_state());
    };
    // Spent first, whatever follows: a state works once, also when the login failed.
    let user = state
        .stores
        .oauth_states
        .consume_oauth_state(&state_hash(presented), now)
        .await?
        .ok_or_else(invalid_state)?;
    if let Some(error) = params.error {
        tracing::info!(%user, error, "facebook login returned an error");
        return Err(if error == "access_denied" {
            ApiError::bad_request(
                "access_denied",
                "Access was not granted; nothing was connected.",
            )
        } else {
            ApiError::bad_request(
                "login_failed",
                "Facebook Login did not complete; nothing was connected.",
            )
        });
    }
    let session = state.stores.auth.session_state(user).await?;
    if session.closed {
        return Err(invalid_state());
    }
    let code = params.code.ok_or_else(|| {
        ApiError::bad_request("invalid_code", "The login redirect carried no code.")
    })?;
    if state.config.sandbox {
        return connect_sandbox(state, user, now).await;
    }
    let meta = state.meta.as_ref().ok_or_else(|| {
        ApiError::dependency_unavailable(
            "instagram_unavailable",
            "Connecting Instagram is not configured on this server.",
            None,
        )
    })?;
    let short = meta.exchange_code(&code).await.map_err(meta_failed)?;
    let long = meta
        .exchange_long_lived(&short.token)
        .await
        .map_err(meta_failed)?;
    let received_at = state.clock.now();
    meta.check_permissions(&long.token)
        .await
        .map_err(meta_failed)?;
    let found = meta
        .instagram_accounts(&long.token)
        .await
        .map_err(meta_failed)?;
    // Meta's data-deletion and deauthorize callbacks name the person by their app-scoped id:
    // its hash is kept with each connection so they can be found (P15, P34).
    let meta_user = meta_user_hash(meta, &long.token, user).await;
    let mut accounts = Vec::with_capacity(found.accounts.len());
    for account in found.accounts {
        // A Page token read with a long-lived user token does not expire; without one, the
        // user token publishes and expires with itself.
        let (token, expires_at) = match account.page_access_token {
            Some(page_token) => (page_token, None),
            None => (long.token.clone(), long.expires_at(received_at)),
        };
        let connection = save(
            state,
            user,
            account.ig_user_id,
            account.page_name,
            &token,
            expires_at,
        )
        .await?;
        if let Some(meta_user) = &meta_user {
            state
                .stores
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

/// The hashed app-scoped id of the person who logged in, from `debug_token`. Its failure does
/// not stop the connection (the token works); it is logged, since Meta's callbacks will not
/// find this connection until the next reconnect.
async fn meta_user_hash(
    meta: &kraftsoci_meta::MetaClient,
    token: &SecretString,
    user: UserId,
) -> Option<String> {
    match meta.debug_token(token).await {
        Ok(info) => {
            let hash = info.user_id.as_deref().map(crate::rights::meta_user_hash);
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

async fn connect_sandbox(
    state: &AppState,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Connected, ApiError> {
    // One sandbox account per user: connecting again renews it (and its waiting posts).
    let existing = state
        .stores
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
            IgUserId::parse(format!("sandbox-{digits}")).map_err(ApiError::internal)?
        }
    };
    let token = SecretString::from(format!("sandbox-token-{}", random_token()));
    let connection = save(
        state,
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
    state: &AppState,
    owner: UserId,
    ig_user_id: IgUserId,
    page_name: String,
    token: &SecretString,
    token_expires_at: Option<DateTime<Utc>>,
) -> Result<Connection, ApiError> {
    let now = state.clock.now();
    let existing = state
        .stores
        .connections
        .connection_by_ig_user(owner, &ig_user_id)
        .await?;
    let sealed = state
        .vault
        .seal(token, &TokenContext::instagram(owner, &ig_user_id))
        .map_err(ApiError::internal)?;
    let key_version = key_version_of(&sealed).map_err(ApiError::internal)?;
    let connection = Connection {
        id: existing.as_ref().map_or_else(ConnectionId::new, |c| c.id),
        owner,
        ig_user_id,
        page_name,
        status: ConnectionStatus::Active,
        token_expires_at,
        created_at: existing.as_ref().map_or(now, |c| c.created_at),
    };
    let saved = state
        .stores
        .connections
        .save_connection(&connection, &sealed, key_version)
        .await?;
    resume_waiting_posts(state, &saved).await?;
    Ok(saved)
}

/// `Post::reconnected` for every post of this account waiting in `needs_reconnect`: one whose
/// consent still matches is queued again, any other returns to `ready`.
async fn resume_waiting_posts(state: &AppState, connection: &Connection) -> Result<(), ApiError> {
    let waiting = state
        .stores
        .posts
        .posts_awaiting_reconnect(connection.owner, &connection.ig_user_id)
        .await?;
    for snapshot in waiting {
        let expected_updated_at = snapshot.updated_at;
        let mut post = Post::restore(snapshot).map_err(ApiError::internal)?;
        let now = state.clock.now();
        post.reconnected(now).map_err(ApiError::internal)?;
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
            state
                .stores
                .posts
                .approve_and_queue(
                    &update,
                    &JobRequest {
                        connection: connection.id,
                        run_after,
                        at: now,
                    },
                )
                .await
                .map(|_| ())
        } else {
            state.stores.posts.save_and_unqueue(&update, now).await
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
/// consent is void and their jobs are dropped): an approval names one account, and the owner
/// decides again once an account is connected, rather than finding them failed.
///
/// # Errors
/// 404 when it is not the owner's; 409 `publishing_in_progress` while a post is being
/// published to it, `conflict` when a post changed meanwhile.
pub async fn disconnect(state: &AppState, owner: UserId, id: ConnectionId) -> Result<(), ApiError> {
    let connection = state.stores.connections.connection(owner, id).await?;
    let now = state.clock.now();
    let mut withdrawn = Vec::new();
    for snapshot in state
        .stores
        .posts
        .posts_queued_for(owner, &connection.ig_user_id)
        .await?
    {
        let expected_updated_at = snapshot.updated_at;
        let mut post = Post::restore(snapshot).map_err(ApiError::internal)?;
        post.withdraw(now).map_err(ApiError::internal)?;
        withdrawn.push(PostUpdate {
            expected_updated_at,
            post: post.into_snapshot(),
        });
    }
    state
        .stores
        .connections
        .disconnect(owner, id, &withdrawn, now)
        .await
        .map_err(|error| match error {
            StoreError::Conflict { constraint } if constraint == JOB_RUNNING => {
                flow::publishing_in_progress()
            }
            other => other.into(),
        })?;
    tracing::info!(%owner, connection = %id, withdrawn = withdrawn.len(), "instagram disconnected");
    Ok(())
}
