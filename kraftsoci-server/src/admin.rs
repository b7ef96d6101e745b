//! The operator subcommands: `sweep` (retention, P17–P19), `rotate-key` (re-encrypt every
//! stored Instagram token with the newest key, P22) and `publish-policy` (a new privacy-policy
//! version, announced by email and in-app notice, P38).
//!
//! Each has a `*_command` entry point that `main.rs` calls with the configuration, and a
//! function over ports that does the work (and that tests call directly).

use std::sync::Arc;

use kraftsoci_core::ports::{ConnectionStore, Mail, Mailer};
use kraftsoci_core::retention::SweepMode;
use kraftsoci_core::vault::{TokenPurpose, key_version_of};
use kraftsoci_core::{Clock, StoreError, SystemClock, TokenContext, TokenVault};
use serde::Serialize;
use uuid::Uuid;

use crate::config::Config;
use crate::error::Error;
use crate::retention;
use crate::startup::vault;
use crate::store::{self, NewNotice, NotifyStore, PolicyStore, PolicyVersion, Stores};

/// Accounts or tokens handled per store call.
pub const ADMIN_BATCH: u32 = 200;

/// The longest policy version label (as sign-up accepts).
const MAX_VERSION_CHARS: usize = 64;

/// The longest policy summary.
const MAX_SUMMARY_CHARS: usize = 2000;

/// The notice kind of a new policy version.
pub const POLICY_NOTICE_KIND: &str = "policy_version";

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// An argument is invalid; the message says which and why.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The version exists already with another summary: publish a new label instead.
    #[error("policy version {0} was already published with another summary")]
    VersionConflict(String),
    /// The database failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The server could not be set up (database, media store, mail, keys).
    #[error(transparent)]
    Setup(#[from] Error),
}

fn command_error(command: &'static str) -> impl Fn(AdminError) -> Error {
    move |error| match error {
        AdminError::Setup(error) => error,
        other => Error::Command {
            command,
            source: other.into(),
        },
    }
}

async fn open_stores(config: &Config, clock: Arc<dyn Clock>) -> Result<Stores, Error> {
    let stores = store::connect(&config.database_url, clock).await?;
    stores.database.migrate().await?;
    Ok(stores)
}

fn setup(what: &'static str) -> impl Fn(anyhow::Error) -> Error {
    move |source| Error::Setup { what, source }
}

// ---- sweep ----

/// `kraftsoci-server sweep [--dry-run] [--json]`: one retention sweep, printed as a table or
/// JSON. A dry run counts what is due and deletes nothing.
///
/// # Errors
/// [`Error::Setup`]/[`Error::Database`] when the database or media store cannot be opened;
/// [`Error::Command`] when a category failed (after printing the report).
pub async fn sweep_command(config: &Config, dry_run: bool, json: bool) -> Result<(), Error> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = open_stores(config, Arc::clone(&clock)).await?;
    let media = crate::media::from_config(&config.media_url).map_err(setup("media store"))?;
    let billing = crate::billing::Billing::from_config(
        config,
        Arc::clone(&stores.billing),
        Arc::clone(&stores.quota),
        Arc::clone(&stores.intents),
        Arc::clone(&clock),
    )
    .map_err(|error| setup("billing")(error.into()))?;
    let command_failed = |source: anyhow::Error| Error::Command {
        command: "sweep",
        source,
    };
    let sweeper = retention::sweeper(stores.retention, media, Arc::clone(&clock), &config.sweep)
        .and_then(|sweeper| retention::with_billing(sweeper, &billing))
        .map_err(|error| command_failed(error.into()))?;
    let sweep = retention::Sweep::new(
        sweeper,
        Arc::new(billing),
        stores.erasure_tasks,
        stores.rights,
        clock,
    );
    let mode = if dry_run {
        SweepMode::DryRun
    } else {
        SweepMode::Purge
    };
    let run = sweep.run(mode).await;
    print_run(&run, json);
    match run.report.failures().next() {
        Some(error) => Err(command_failed(anyhow::anyhow!("{error}"))),
        None if !run.errors.is_empty() => {
            Err(command_failed(anyhow::anyhow!("{}", run.errors.join("; "))))
        }
        None => Ok(()),
    }
}

fn print_run(run: &retention::SweepRun, json: bool) {
    if json {
        let view = retention::RunView::from(run);
        match serde_json::to_string_pretty(&view) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("the report could not be serialized: {error}"),
        }
    } else {
        print!("{}", retention::run_table(run));
    }
}

// ---- rotate-key ----

/// What `rotate-key` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RotationReport {
    /// The key version tokens are now sealed with.
    pub current_key: u32,
    /// Tokens looked at.
    pub examined: u64,
    /// Tokens re-encrypted with the current key.
    pub resealed: u64,
    /// Tokens already on the current key.
    pub already_current: u64,
    /// Tokens replaced by a reconnect while this ran (left as the reconnect stored them).
    pub changed_meanwhile: u64,
    /// Tokens that could not be opened (a key missing from the ring, or a damaged row); their
    /// owners must reconnect.
    pub unreadable: u64,
}

/// Re-encrypts every stored Instagram token with `vault`'s newest key, `batch` connections at
/// a time. Tokens already on it are left alone, so running it twice is harmless.
///
/// # Errors
/// Storage failures (what was re-encrypted before stays re-encrypted).
pub async fn rotate_key(
    store: &dyn ConnectionStore,
    vault: &TokenVault,
    batch: u32,
) -> Result<RotationReport, AdminError> {
    reseal_every(
        vault,
        batch,
        "a stored token cannot be re-encrypted; its owner must reconnect",
        async |after, limit| store.sealed_tokens_after(after, limit).await,
        |token| {
            (
                token.connection,
                &token.sealed[..],
                TokenContext::instagram(token.owner, &token.ig_user_id),
            )
        },
        async |token, resealed| {
            let version = key_version_of(resealed).unwrap_or(vault.key_ring().current_version());
            store
                .replace_sealed_token(token.connection, &token.sealed, resealed, version)
                .await
        },
    )
    .await
}

/// Re-encrypts every webhook endpoint's signing secret with `vault`'s newest key, `batch`
/// endpoints at a time, as [`rotate_key`] does for Instagram tokens (the secrets are sealed
/// with the same vault, so a retired key must not be needed by them either). In the report,
/// "tokens" are signing secrets; an unreadable one stops its endpoint's deliveries until the
/// owner registers the endpoint again.
///
/// # Errors
/// Storage failures (what was re-encrypted before stays re-encrypted).
pub async fn rotate_webhook_secrets(
    store: &dyn NotifyStore,
    vault: &TokenVault,
    batch: u32,
) -> Result<RotationReport, AdminError> {
    reseal_every(
        vault,
        batch,
        "a webhook signing secret cannot be re-encrypted; its owner must register the endpoint again",
        async |after, limit| store.sealed_webhook_secrets_after(after, limit).await,
        |secret| {
            (
                secret.id,
                &secret.sealed[..],
                TokenContext::new(secret.owner, TokenPurpose::WebhookSigning, secret.id.to_string()),
            )
        },
        async |secret, resealed| {
            store
                .replace_webhook_secret(secret.id, &secret.sealed, resealed)
                .await
        },
    )
    .await
}

/// Pages through sealed values (`page(after, limit)`, ordered by their id), re-seals each one
/// not yet on the newest key with its context (`parts`), and stores it with `replace`, which
/// answers `false` when the value changed meanwhile. An unreadable value is counted and logged
/// with `unreadable`, never fatal.
async fn reseal_every<T, K>(
    vault: &TokenVault,
    batch: u32,
    unreadable: &'static str,
    mut page: impl AsyncFnMut(Option<K>, u32) -> Result<Vec<T>, StoreError>,
    parts: impl Fn(&T) -> (K, &[u8], TokenContext),
    mut replace: impl AsyncFnMut(&T, &[u8]) -> Result<bool, StoreError>,
) -> Result<RotationReport, AdminError>
where
    K: Copy + std::fmt::Display,
{
    let batch = batch.max(1);
    let mut report = RotationReport {
        current_key: vault.key_ring().current_version(),
        ..RotationReport::default()
    };
    let mut after: Option<K> = None;
    loop {
        let items = page(after, batch).await?;
        let Some(last) = items.last() else {
            break;
        };
        after = Some(parts(last).0);
        for item in &items {
            report.examined += 1;
            let (id, sealed, context) = parts(item);
            match vault.reseal(sealed, &context) {
                Ok(None) => report.already_current += 1,
                Ok(Some(resealed)) => {
                    if replace(item, &resealed).await? {
                        report.resealed += 1;
                    } else {
                        report.changed_meanwhile += 1;
                    }
                }
                Err(error) => {
                    report.unreadable += 1;
                    tracing::warn!(%id, %error, "{unreadable}");
                }
            }
        }
        if items.len() < batch as usize {
            break;
        }
    }
    Ok(report)
}

/// `kraftsoci-server rotate-key`: re-encrypts every stored token with the newest key of
/// `KRAFTSOCI_TOKEN_KEYS` and prints the counts.
///
/// # Errors
/// As `rotate_key`, and when the database or the key ring cannot be opened.
pub async fn rotate_key_command(config: &Config) -> Result<(), Error> {
    let stores = open_stores(config, Arc::new(SystemClock)).await?;
    let vault = vault(&config.token_keys).map_err(setup("token vault"))?;
    let report = rotate_key(&*stores.connections, &vault, ADMIN_BATCH)
        .await
        .map_err(command_error("rotate-key"))?;
    println!(
        "rotate-key: key {} now seals every token; examined {}, re-encrypted {}, already \
         current {}, changed meanwhile {}, unreadable {}",
        report.current_key,
        report.examined,
        report.resealed,
        report.already_current,
        report.changed_meanwhile,
        report.unreadable
    );
    let secrets = rotate_webhook_secrets(&*stores.notify, &vault, ADMIN_BATCH)
        .await
        .map_err(command_error("rotate-key"))?;
    println!(
        "rotate-key: webhook signing secrets: examined {}, re-encrypted {}, already current {}, \
         changed meanwhile {}, unreadable {}",
        secrets.examined,
        secrets.resealed,
        secrets.already_current,
        secrets.changed_meanwhile,
        secrets.unreadable
    );
    if secrets.unreadable > 0 {
        println!(
            "rotate-key: {} webhook signing secret(s) could not be opened with the configured \
             keys; keep the old keys until their owners register those endpoints again",
            secrets.unreadable
        );
    }
    if report.unreadable > 0 {
        println!(
            "rotate-key: {} token(s) could not be opened with the configured keys; keep the \
             old keys until their owners reconnect",
            report.unreadable
        );
    }
    Ok(())
}

// ---- publish-policy ----

/// What `publish-policy` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyAnnouncement {
    /// The version.
    pub version: String,
    /// Whether this run recorded the version (false: it existed, and this run finished
    /// announcing it).
    pub recorded: bool,
    /// Open accounts looked at.
    pub accounts: u64,
    /// In-app notices created by this run.
    pub notices_created: u64,
    /// Mails sent by this run.
    pub mails_sent: u64,
    /// Mails that failed (run the command again to retry them; nobody gets a second one).
    pub mails_failed: u64,
}

fn check_version(version: &str) -> Result<String, AdminError> {
    let version = version.trim();
    let well_formed = !version.is_empty()
        && version.chars().count() <= MAX_VERSION_CHARS
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if well_formed {
        Ok(version.to_owned())
    } else {
        Err(AdminError::InvalidArgument(format!(
            "--version must be 1–{MAX_VERSION_CHARS} of letters, digits, '.', '-', '_'"
        )))
    }
}

fn check_summary(summary: &str) -> Result<String, AdminError> {
    let summary = summary.trim();
    if summary.is_empty() || summary.chars().count() > MAX_SUMMARY_CHARS {
        return Err(AdminError::InvalidArgument(format!(
            "--summary must be 1–{MAX_SUMMARY_CHARS} characters"
        )));
    }
    Ok(summary.to_owned())
}

fn notice_body(policy: &PolicyVersion) -> String {
    format!(
        "Our privacy policy changed (version {}). {}",
        policy.version, policy.summary
    )
}

fn mail_body(policy: &PolicyVersion) -> String {
    format!(
        "Hello,\n\nwe have published a new version of the kraftsoci privacy policy (version {}, \
         in effect from {}).\n\nWhat changed: {}\n\nYou can read it and accept it in the app. \
         If you do not agree, you can export your data and close your account at any time; \
         closing it deletes your data within 30 days.\n\nThe kraftsoci team\n",
        policy.version,
        policy.published_at.format("%-d %B %Y"),
        policy.summary
    )
}

/// Records policy `version` with `summary` and announces it to every open account by email
/// and in-app notice, once per account: running it again for the same version (after a crash
/// or failed mails) only completes what is missing.
///
/// # Errors
/// [`AdminError::InvalidArgument`] for a malformed version or summary,
/// [`AdminError::VersionConflict`] when the version exists with another summary, storage
/// failures.
pub async fn publish_policy(
    store: &dyn PolicyStore,
    mailer: &dyn Mailer,
    clock: &dyn Clock,
    version: &str,
    summary: &str,
) -> Result<PolicyAnnouncement, AdminError> {
    let version = check_version(version)?;
    let summary = check_summary(summary)?;
    let candidate = PolicyVersion {
        version: version.clone(),
        published_at: clock.now(),
        summary,
    };
    let recorded = store.publish_policy_version(&candidate).await?;
    let policy = if recorded {
        candidate
    } else {
        let stored = store
            .policy_version(&version)
            .await?
            .ok_or(StoreError::NotFound)?;
        if stored.summary != candidate.summary {
            return Err(AdminError::VersionConflict(version));
        }
        stored
    };
    let mut announcement = PolicyAnnouncement {
        version: policy.version.clone(),
        recorded,
        ..PolicyAnnouncement::default()
    };
    let subject_key = format!("policy:{}", policy.version);
    let body = notice_body(&policy);
    let mail_text = mail_body(&policy);
    let mut after = None;
    loop {
        let recipients = store.open_accounts(after, ADMIN_BATCH).await?;
        let Some(last) = recipients.last() else {
            break;
        };
        after = Some(last.user);
        for recipient in &recipients {
            announcement.accounts += 1;
            let id = Uuid::new_v4();
            let delivery = store
                .ensure_notice(&NewNotice {
                    id,
                    user: recipient.user,
                    kind: POLICY_NOTICE_KIND.to_owned(),
                    subject_key: subject_key.clone(),
                    body: body.clone(),
                    created_at: clock.now(),
                })
                .await?;
            if delivery.id == id {
                announcement.notices_created += 1;
            }
            if delivery.mailed {
                continue;
            }
            let mail = Mail {
                to: recipient.email.clone(),
                subject: "Our privacy policy has changed".to_owned(),
                body: mail_text.clone(),
            };
            match mailer.send(&mail).await {
                Ok(()) => {
                    store.mark_notice_mailed(delivery.id, clock.now()).await?;
                    announcement.mails_sent += 1;
                }
                Err(error) => {
                    announcement.mails_failed += 1;
                    tracing::warn!(user = %recipient.user, %error, "policy mail not sent");
                }
            }
        }
        if recipients.len() < ADMIN_BATCH as usize {
            break;
        }
    }
    Ok(announcement)
}

/// The policy version a development server in sandbox mode records when none is published, so
/// that `cargo run` gives a server people can sign up to (sign-up needs a published policy to
/// accept). The README's sandbox walk-through accepts this label.
pub const SANDBOX_POLICY_VERSION: &str = "2026-01";

/// In sandbox mode on a development server: records [`SANDBOX_POLICY_VERSION`] when no policy
/// is published yet, and announces nothing (a fresh sandbox has no one to tell). Production and
/// servers with real providers never call it: there the operator runs `publish-policy`.
///
/// # Errors
/// A storage failure.
pub async fn seed_sandbox_policy(
    store: &dyn PolicyStore,
    clock: &dyn Clock,
) -> Result<Option<String>, StoreError> {
    if store.current_policy().await?.is_some() {
        return Ok(None);
    }
    let policy = PolicyVersion {
        version: SANDBOX_POLICY_VERSION.to_owned(),
        published_at: clock.now(),
        summary: "The kraftsoci privacy policy, recorded automatically because this development \
                  server runs in sandbox mode (no provider credentials). A deployment publishes \
                  its own with `kraftsoci-server publish-policy`."
            .to_owned(),
    };
    let recorded = store.publish_policy_version(&policy).await?;
    Ok(recorded.then_some(policy.version))
}

/// `kraftsoci-server publish-policy --version V --summary S`.
///
/// # Errors
/// As `publish_policy`, and when the database or mail transport cannot be opened.
pub async fn publish_policy_command(
    config: &Config,
    version: &str,
    summary: &str,
) -> Result<(), Error> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = open_stores(config, Arc::clone(&clock)).await?;
    let mailer = crate::mail::for_config(config, Arc::clone(&clock)).map_err(setup("mail"))?;
    let done = publish_policy(&*stores.policy, &*mailer, &*clock, version, summary)
        .await
        .map_err(command_error("publish-policy"))?;
    println!(
        "publish-policy: version {} {}; {} open account(s), {} notice(s) created, {} mail(s) \
         sent, {} failed",
        done.version,
        if done.recorded {
            "recorded"
        } else {
            "already recorded"
        },
        done.accounts,
        done.notices_created,
        done.mails_sent,
        done.mails_failed
    );
    if done.mails_failed > 0 {
        return Err(Error::Command {
            command: "publish-policy",
            source: anyhow::anyhow!(
                "{} mail(s) failed; run the command again to retry them",
                done.mails_failed
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_summaries_are_checked() {
        assert_eq!(check_version(" 2026-02 ").unwrap(), "2026-02");
        for bad in ["", "has space", "<script>", &"v".repeat(65)] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
        assert!(check_summary("  ").is_err());
        assert!(check_summary(&"x".repeat(2001)).is_err());
        assert_eq!(check_summary(" New processor. ").unwrap(), "New processor.");
    }
}
