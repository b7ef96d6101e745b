//! Data-subject requests that arrive by email or post (P33), for the operator:
//! `kraftsoci-server requests record|list|complete`.
//!
//! A request is recorded against the open account of its email address with the 30-day due
//! date core gives it (`DataSubjectRequest::receive`). An erasure request, including a parent's
//! request to close a minor's account (the policy's under-18 clause), closes the account at
//! once, without its password, exactly as `DELETE /v1/me` does: sessions end, tokens go,
//! billing stops, and the purge follows within 30 days. `list --overdue` shows what is past its
//! due date; the retention sweep reports the same list.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use kraftsoci_core::{
    Clock, DataSubjectRequest, Email, RequestId, RequestKind, StoreError, SystemClock,
};
use serde::Serialize;

use crate::billing::Billing;
use crate::config::Config;
use crate::error::Error;
use crate::rights::close_account_with;
use crate::store::{self, ClosureOutcome, Stores};

/// The most requests one listing shows.
pub const MAX_LISTED: u32 = 1000;

/// Why an operator's request command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No open account has this address.
    #[error("no open account has this email address")]
    UnknownAccount,
    /// The address is not one.
    #[error("invalid email address: {0}")]
    InvalidEmail(String),
    /// The type is not a request type.
    #[error(
        "unknown request type {0:?}: one of access, rectification, erasure, restriction, portability, objection, review"
    )]
    UnknownType(String),
    /// The receipt time is malformed or in the future.
    #[error("--received-at must be an RFC 3339 time not in the future")]
    InvalidReceipt,
    /// An erasure is carried out at once, so its receipt is now.
    #[error("an erasure closes the account at once; it takes no --received-at")]
    ErasureReceivedEarlier,
    /// No such request of that account.
    #[error("that account has no request with this id")]
    UnknownRequest,
    /// The database failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// What recording did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recorded {
    /// The request id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// When it must be answered (30 days later).
    pub due_at: DateTime<Utc>,
    /// For an erasure: when the account will have been purged by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_by: Option<DateTime<Utc>>,
}

/// Records a request received for the open account of `email`; an erasure closes the account
/// at once (see the module docs).
///
/// # Errors
/// [`RequestError`]: unknown account, malformed input, storage.
pub async fn record(
    stores: &Stores,
    billing: &Billing,
    clock: &dyn Clock,
    email: &str,
    kind: &str,
    received_at: Option<&str>,
) -> Result<Recorded, RequestError> {
    let email =
        Email::parse(email).map_err(|e| RequestError::InvalidEmail(e.reason().to_owned()))?;
    let kind =
        RequestKind::parse(kind.trim()).map_err(|_| RequestError::UnknownType(kind.to_owned()))?;
    let now = clock.now();
    let received_at = match received_at {
        None => None,
        Some(text) => {
            let at = DateTime::parse_from_rfc3339(text.trim())
                .map_err(|_| RequestError::InvalidReceipt)?
                .with_timezone(&Utc);
            if at > now {
                return Err(RequestError::InvalidReceipt);
            }
            Some(at)
        }
    };
    let user = stores
        .auth
        .credentials_by_email(&email.normalized())
        .await?
        .ok_or(RequestError::UnknownAccount)?
        .user;
    if kind == RequestKind::Erasure {
        if received_at.is_some() {
            return Err(RequestError::ErasureReceivedEarlier);
        }
        let outcome = close_account_with(
            &*stores.rights,
            &*stores.erasure_tasks,
            billing,
            clock,
            user,
        )
        .await?;
        let request = stores
            .rights
            .requests(user)
            .await?
            .into_iter()
            .find(|r| r.kind() == RequestKind::Erasure)
            .ok_or(RequestError::Store(StoreError::NotFound))?;
        return Ok(recorded(&request, Some(outcome)));
    }
    let request = DataSubjectRequest::receive(user, kind, received_at.unwrap_or(now));
    stores.rights.record_request(&request).await?;
    Ok(recorded(&request, None))
}

fn recorded(request: &DataSubjectRequest, closure: Option<ClosureOutcome>) -> Recorded {
    Recorded {
        id: request.id().to_string(),
        kind: request.kind().as_str(),
        received_at: request.received_at(),
        due_at: request.due_at(),
        purge_by: closure.map(|c| c.purge_after()),
    }
}

/// Marks a request of the account of `email` answered now.
///
/// # Errors
/// [`RequestError`]: unknown account or request, storage.
pub async fn complete(
    stores: &Stores,
    clock: &dyn Clock,
    email: &str,
    id: &str,
) -> Result<(), RequestError> {
    let email =
        Email::parse(email).map_err(|e| RequestError::InvalidEmail(e.reason().to_owned()))?;
    let id: RequestId = id
        .trim()
        .parse()
        .map_err(|_| RequestError::UnknownRequest)?;
    let user = stores
        .auth
        .credentials_by_email(&email.normalized())
        .await?
        .ok_or(RequestError::UnknownAccount)?
        .user;
    match stores.rights.complete_request(user, id, clock.now()).await {
        Err(StoreError::NotFound) => Err(RequestError::UnknownRequest),
        other => Ok(other?),
    }
}

/// One listed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// The request id.
    pub id: String,
    /// The account.
    pub user: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// When it must be answered.
    pub due_at: DateTime<Utc>,
    /// Whether that is past.
    pub overdue: bool,
    /// A review request's post (P32), when it named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    /// A review request's message (P32): what the owner wants a person to look at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The requests still waiting for an answer (only the overdue ones with `overdue_only`), the
/// earliest due first.
///
/// # Errors
/// Storage failures.
pub async fn open(
    stores: &Stores,
    clock: &dyn Clock,
    overdue_only: bool,
) -> Result<Vec<Listed>, StoreError> {
    let now = clock.now();
    let requests = stores
        .rights
        .open_requests(overdue_only.then_some(now), MAX_LISTED)
        .await?;
    Ok(requests
        .iter()
        .map(|r| Listed {
            id: r.id().to_string(),
            user: r.user().to_string(),
            kind: r.kind().as_str(),
            received_at: r.received_at(),
            due_at: r.due_at(),
            overdue: r.due_at() < now,
            post: r.post().map(|p| p.to_string()),
            message: r.message().map(|m| m.as_str().to_owned()),
        })
        .collect())
}

/// What `kraftsoci-server requests` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Record a request.
    Record {
        /// The account's address.
        email: String,
        /// The request type.
        kind: String,
        /// When it arrived (default: now).
        received_at: Option<String>,
    },
    /// List the open (or only the overdue) requests.
    List {
        /// Only the overdue ones.
        overdue: bool,
        /// As JSON.
        json: bool,
    },
    /// Mark one answered.
    Complete {
        /// The account's address.
        email: String,
        /// The request id.
        id: String,
    },
}

/// `kraftsoci-server requests …`.
///
/// # Errors
/// [`Error::Command`] naming what went wrong; setup failures.
pub async fn requests_command(config: &Config, action: Action) -> Result<(), Error> {
    let failed = |source: anyhow::Error| Error::Command {
        command: "requests",
        source,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = store::connect(&config.database_url, Arc::clone(&clock)).await?;
    stores.database.migrate().await?;
    match action {
        Action::Record {
            email,
            kind,
            received_at,
        } => {
            let billing = Billing::from_config(
                config,
                Arc::clone(&stores.billing),
                Arc::clone(&stores.quota),
                Arc::clone(&stores.intents),
                Arc::clone(&clock),
            )
            .map_err(|e| failed(e.into()))?;
            let recorded = record(
                &stores,
                &billing,
                &*clock,
                &email,
                &kind,
                received_at.as_deref(),
            )
            .await
            .map_err(|e| failed(e.into()))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&recorded).map_err(|e| failed(e.into()))?
            );
            Ok(())
        }
        Action::List { overdue, json } => {
            let listed = open(&stores, &*clock, overdue)
                .await
                .map_err(|e| failed(e.into()))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&listed).map_err(|e| failed(e.into()))?
                );
            } else {
                println!(
                    "{:<36}  {:<36}  {:<13}  {:<25}  overdue",
                    "request", "account", "type", "due"
                );
                for r in &listed {
                    println!(
                        "{:<36}  {:<36}  {:<13}  {:<25}  {}",
                        r.id,
                        r.user,
                        r.kind,
                        r.due_at.to_rfc3339(),
                        if r.overdue { "yes" } else { "no" }
                    );
                    if let Some(post) = &r.post {
                        println!("    post: {post}");
                    }
                    if let Some(message) = &r.message {
                        // One line per line of the owner's text, indented under its request.
                        for line in message.lines() {
                            println!("    > {line}");
                        }
                    }
                }
            }
            Ok(())
        }
        Action::Complete { email, id } => complete(&stores, &*clock, &email, &id)
            .await
            .map_err(|e| failed(e.into())),
    }
}
