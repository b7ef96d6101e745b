//! Data-subject rights as services the routes call: requests with their 30-day due date
//! (P33), erasure by closing the account at once (P19, P28, P34) and Meta's signed callbacks
//! (P15, P34).
//!
//! Erasure has two steps. Closing happens here, immediately and in one transaction: sessions
//! end, Instagram tokens are deleted, approved or scheduled posts are withdrawn and their
//! publish jobs deleted, and a billing stop is put on record; right after the commit Stripe is
//! asked to cancel every open subscription ([`attempt_billing_stop`]), and what it does not
//! confirm the sweep retries. The purge of every row and stored object but the payment records
//! follows within 30 days, done by the retention sweep ([`crate::retention`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use kraftsoci_core::retention::RetentionPeriod;
use kraftsoci_core::{
    Clock, DataSubjectRequest, Email, PostId, RequestId, RequestKind, ReviewMessage, StoreError,
    UserId,
};
use rand::RngCore as _;
use secrecy::SecretString;

pub use crate::posts::connect::meta_user_hash;

use crate::auth::invalid_credentials;
use crate::billing::{Billing, StopOutcome};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{
    Closure, ClosureOutcome, ErasureTaskStore, MetaDeletion, MetaDeletionStatus, RightsStore,
};

/// The oldest `signed_request` accepted from Meta. Meta signs each callback when it sends it;
/// the bound limits what a captured request is worth.
pub const MAX_SIGNED_REQUEST_AGE: Duration = Duration::from_secs(3600);

/// Records that `user` exercised `kind` now, still to be answered.
///
/// # Errors
/// Storage failures.
pub async fn receive_request(
    state: &AppState,
    user: UserId,
    kind: RequestKind,
) -> Result<DataSubjectRequest, ApiError> {
    let request = DataSubjectRequest::receive(user, kind, state.clock.now());
    state.stores.rights.record_request(&request).await?;
    Ok(request)
}

/// Records the owner's request that a person review an automated decision (P32): a
/// moderation refusal, or a quota or plan refusal, about `post` if it concerned one. It is
/// due in 30 days like every request and listed for the operator (`requests list`).
///
/// # Errors
/// [`ApiError::NotFound`] when `post` is not one of the owner's posts; storage failures.
pub async fn ask_review(
    state: &AppState,
    user: UserId,
    post: Option<PostId>,
    message: ReviewMessage,
) -> Result<DataSubjectRequest, ApiError> {
    if let Some(post) = post {
        // Another owner's post answers exactly as a missing one: no existence oracle.
        state.stores.posts.post(user, post).await?;
    }
    let request = DataSubjectRequest::ask_review(user, post, message, state.clock.now());
    state.stores.rights.record_request(&request).await?;
    tracing::info!(request = %request.id(), "human review requested");
    Ok(request)
}

/// Records a request that was answered at once (a restriction or objection takes effect as
/// it is saved).
///
/// # Errors
/// Storage failures.
pub async fn record_answered_request(
    state: &AppState,
    user: UserId,
    kind: RequestKind,
) -> Result<DataSubjectRequest, ApiError> {
    let now = state.clock.now();
    let mut request = DataSubjectRequest::receive(user, kind, now);
    request.complete(now);
    state.stores.rights.record_request(&request).await?;
    Ok(request)
}

/// When an account closed at `closed_at` must be purged by (P19: within 30 days).
pub fn purge_deadline(closed_at: DateTime<Utc>) -> DateTime<Utc> {
    RetentionPeriod::THIRTY_DAYS
        .after(closed_at)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Closes `user`'s account now and records the erasure request (P19, P28). Closing a closed
/// account changes nothing and answers the same deadline.
///
/// # Errors
/// 404 when the account does not exist; storage failures.
pub async fn close_account(state: &AppState, user: UserId) -> Result<ClosureOutcome, ApiError> {
    close_account_with(
        &*state.stores.rights,
        &*state.stores.erasure_tasks,
        &state.billing,
        &*state.clock,
        user,
    )
    .await
    .map_err(ApiError::from)
}

/// [`close_account`] over its parts, for the operator's commands (a request that arrives by
/// mail or post, a parent's request to close a minor's account), which run without the HTTP
/// state.
///
/// # Errors
/// [`StoreError::NotFound`] when the account does not exist; storage failures.
pub async fn close_account_with(
    rights: &dyn RightsStore,
    tasks: &dyn ErasureTaskStore,
    billing: &Billing,
    clock: &dyn Clock,
    user: UserId,
) -> Result<ClosureOutcome, StoreError> {
    let at = clock.now();
    let closure = Closure {
        user,
        at,
        purge_after: purge_deadline(at),
        request: DataSubjectRequest::receive(user, RequestKind::Erasure, at),
    };
    let outcome = rights.close_account(&closure).await?;
    if matches!(outcome, ClosureOutcome::Closed { .. }) {
        // The closure is committed with its pending billing stop; what Stripe does not
        // confirm now, the sweep retries.
        attempt_billing_stop(billing, tasks, clock, user, closure.request.id()).await;
    }
    if let ClosureOutcome::Closed {
        sessions_revoked,
        tokens_removed,
        posts_withdrawn,
        jobs_removed,
        purge_after,
    } = outcome
    {
        tracing::info!(
            %user,
            sessions_revoked,
            tokens_removed,
            posts_withdrawn,
            jobs_removed,
            %purge_after,
            "account closed; purge scheduled"
        );
    }
    Ok(outcome)
}

/// Asks Stripe to stop billing the closed account of `user` (P19) and records the attempt: a
/// confirmed stop is settled, anything else stays pending with its reason, for the next sweep
/// to retry with the same erasure `request` (and so the same `Idempotency-Key`s). Never fails:
/// the closure it follows is already committed, and a stop that could not be recorded is
/// still pending, so it is tried again.
pub async fn attempt_billing_stop(
    billing: &Billing,
    tasks: &dyn ErasureTaskStore,
    clock: &dyn Clock,
    user: UserId,
    request: RequestId,
) -> StopOutcome {
    let outcome = billing.stop_billing(user, request).await;
    let error = match &outcome {
        StopOutcome::NothingBilled => None,
        StopOutcome::Stopped {
            canceled,
            already_ended,
        } => {
            tracing::info!(%user, canceled, already_ended, "billing stopped for a closed account");
            None
        }
        StopOutcome::RetryLater { reason } => {
            tracing::warn!(%user, %reason, "stripe did not confirm the billing stop; the sweep retries it");
            Some(reason.as_str())
        }
    };
    if let Err(store_error) = tasks
        .record_billing_stop_attempt(user, clock.now(), error)
        .await
    {
        tracing::error!(%user, error = %store_error, "could not record a billing stop attempt; it stays pending");
    }
    outcome
}

/// `DELETE /v1/me`: closes the caller's account after checking the password again.
///
/// # Errors
/// 401 `invalid_credentials` for a wrong password; as [`close_account`].
pub async fn close_own_account(
    state: &AppState,
    user: UserId,
    password: &SecretString,
) -> Result<ClosureOutcome, ApiError> {
    if !state.auth.verify_password(user, password).await? {
        return Err(invalid_credentials());
    }
    close_account(state, user).await
}

/// `POST /data-deletion`: closes the account of `email` if `password` is its password. An
/// unknown email, a closed account and a wrong password answer the same way, in the same time
/// (bcrypt runs in every case).
///
/// # Errors
/// 401 `invalid_credentials`; as [`close_account`].
pub async fn close_with_credentials(
    state: &AppState,
    email: Option<&Email>,
    password: &SecretString,
) -> Result<ClosureOutcome, ApiError> {
    let credentials = match email {
        Some(email) => {
            state
                .stores
                .auth
                .credentials_by_email(&email.normalized())
                .await?
        }
        None => None,
    };
    let matched = state
        .auth
        .hasher()
        .verify(password, credentials.as_ref().map(|c| &c.password_hash))
        .await?;
    match credentials {
        Some(credentials) if matched => close_account(state, credentials.user).await,
        _ => Err(invalid_credentials()),
    }
}

/// A fresh confirmation code for a Meta data-deletion request: 96 random bits as hex.
fn confirmation_code() -> String {
    let mut bytes = [0_u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn app_secret(state: &AppState) -> Result<&SecretString, ApiError> {
    state.config.meta.app_secret.as_ref().ok_or_else(|| {
        ApiError::dependency_unavailable(
            "meta_callbacks_unavailable",
            "Meta callbacks are not configured on this server (META_APP_SECRET is not set).",
            None,
        )
    })
}

/// Verifies a `signed_request` and returns the hash of its app-scoped user id. Nothing is
/// read from a request whose signature does not verify.
fn verified_meta_user(state: &AppState, signed_request: &str) -> Result<String, ApiError> {
    let secret = app_secret(state)?;
    let verified = kraftsoci_meta::verify_signed_request(
        secret,
        signed_request,
        state.clock.now(),
        MAX_SIGNED_REQUEST_AGE,
    )
    .map_err(|error| {
        tracing::warn!(%error, "meta callback refused");
        ApiError::bad_request(
            "invalid_signed_request",
            "The signed_request is malformed, stale or not signed with this app's secret.",
        )
    })?;
    Ok(meta_user_hash(&verified.user_id))
}

/// Meta's Data Deletion Request callback (P34): closes every account with a connection made
/// by that Meta user (the purge follows within 30 days) and records the request under a new
/// confirmation code. Without a matching account the request is completed at once: nothing
/// is held.
///
/// # Errors
/// 503 without `META_APP_SECRET`; 400 `invalid_signed_request` for anything that does not
/// verify (nothing changes then); storage failures.
pub async fn meta_data_deletion(
    state: &AppState,
    signed_request: &str,
) -> Result<MetaDeletion, ApiError> {
    let meta_user = verified_meta_user(state, signed_request)?;
    let accounts = state
        .stores
        .connections
        .accounts_of_meta_user(&meta_user)
        .await?;
    for &user in &accounts {
        close_account(state, user).await?;
    }
    let now = state.clock.now();
    let (status, completed_at) = if accounts.is_empty() {
        (MetaDeletionStatus::NothingHeld, Some(now))
    } else {
        (MetaDeletionStatus::Received, None)
    };
    let request = MetaDeletion {
        confirmation_code: confirmation_code(),
        app_user_hash: meta_user,
        user: match accounts.as_slice() {
            [only] => Some(*only),
            _ => None,
        },
        status,
        created_at: now,
        completed_at,
    };
    state.stores.rights.insert_meta_deletion(&request).await?;
    tracing::info!(
        accounts = accounts.len(),
        "meta data-deletion request received"
    );
    Ok(request)
}

/// Meta's deauthorize callback (P15): deletes the Instagram tokens of every connection that
/// Meta user made; the connections then need a reconnect. Returns how many were removed.
///
/// # Errors
/// As [`meta_data_deletion`].
pub async fn meta_deauthorize(state: &AppState, signed_request: &str) -> Result<u64, ApiError> {
    let meta_user = verified_meta_user(state, signed_request)?;
    let cut_off = state
        .stores
        .notify
        .meta_user_connections(&meta_user)
        .await?;
    let removed = state
        .stores
        .connections
        .remove_meta_user_tokens(&meta_user)
        .await?;
    tracing::info!(removed, "meta deauthorized the app; tokens removed");
    let notifier = crate::notify::Notifier::new(&state.stores, state.clock.clone());
    for (owner, connection) in cut_off {
        let event = crate::notify::Event::needs_reconnect_now(owner, connection, state.clock.now());
        notifier.record_logged(&event).await;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn a_meta_user_id_is_stored_as_its_sha256() {
        // sha256("218471"), computed independently.
        let expected = "a16eadf35df86bf31b67643469cff09e096fc1823a4d1ad0325462615bfce650";
        assert_eq!(meta_user_hash("218471"), expected);
        assert_eq!(meta_user_hash(" 218471 "), expected);
        assert_ne!(meta_user_hash("218472"), expected);
    }

    #[test]
    fn the_purge_deadline_is_thirty_days_after_closure() {
        let closed = Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap();
        assert_eq!(
            purge_deadline(closed),
            Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
        );
    }

    #[test]
    fn confirmation_codes_are_long_random_and_url_safe() {
        let a = confirmation_code();
        let b = confirmation_code();
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
