//! Breach notification (KVKK art. 12(5), GDPR arts. 33 and 34): `kraftsoci-server breach`
//! tells the affected users through the existing notice and mail path and prints the
//! authority's timeline; `docs/security.md` ("Breach runbook") says when and how.
//!
//! Each affected user gets one in-app notice per incident (`subject_key` `breach:{id}`) and one
//! mail, however often the command runs: a run that failed halfway is simply run again. A dry
//! run counts the recipients and prints the draft, and creates no notice and sends nothing.
//! The authority must hear within 72 hours of detection; the command prints that deadline and
//! the operator notifies the KVKK Board and the EU authority through their own channels.
//!
//! Every run, dry or not, is kept in the incident register (`security_incidents`: what, when
//! detected, how many accounts, when they were told), which `kraftsoci-server breach list`
//! shows: the controller's record of breaches (GDPR art. 33(5)). It names no person.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use kraftsoci_core::ports::{AccountStore, Mail, Mailer};
use kraftsoci_core::{Clock, Email, StoreError, SystemClock};
use serde::Serialize;
use uuid::Uuid;

use crate::config::Config;
use crate::error::Error;
use crate::store::{self, AuthStore, IncidentRecord, NewNotice, PolicyStore, Recipient, Stores};

/// The notice kind of a breach notice.
pub const BREACH_NOTICE_KIND: &str = "security_incident";

/// Hours within which the authority must be told (KVKK Board decision 2019/10; GDPR art. 33).
pub const AUTHORITY_DEADLINE_HOURS: i64 = 72;

/// Recipients per store call.
const BATCH: u32 = 200;

/// The most register entries `breach list` shows.
pub const MAX_LISTED: u32 = 1000;

/// Who is affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    /// Every open account.
    All,
    /// The open accounts of these addresses.
    Emails(Vec<String>),
}

/// An incident as the operator describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// A short label, e.g. `2026-12-06-media-bucket` (letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// When it was detected.
    pub detected_at: DateTime<Utc>,
    /// What happened, what data, what we did and what the user should do.
    pub summary: String,
    /// Who is affected.
    pub affected: Affected,
}

impl Incident {
    /// An incident from the command line's arguments.
    ///
    /// # Errors
    /// `BreachError::InvalidArgument` for a time that is not RFC 3339, or for neither or
    /// both of `all` and `emails`.
    pub fn from_args(
        id: String,
        detected_at: &str,
        summary: String,
        all: bool,
        emails: Vec<String>,
    ) -> Result<Self, BreachError> {
        let detected_at = DateTime::parse_from_rfc3339(detected_at.trim())
            .map_err(|_| {
                BreachError::InvalidArgument("--detected-at must be an RFC 3339 time".to_owned())
            })?
            .with_timezone(&Utc);
        let affected = match (all, emails.is_empty()) {
            (true, true) => Affected::All,
            (false, false) => Affected::Emails(emails),
            _ => {
                return Err(BreachError::InvalidArgument(
                    "give either --all or --emails".to_owned(),
                ));
            }
        };
        Ok(Self {
            id,
            detected_at,
            summary,
            affected,
        })
    }
}

/// Why the command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    /// An argument is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The database failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// What a run did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BreachReport {
    /// The incident.
    pub incident: String,
    /// When the authorities must have been told by.
    pub authority_deadline: Option<DateTime<Utc>>,
    /// Whether nothing was recorded or sent.
    pub dry_run: bool,
    /// Affected open accounts found.
    pub recipients: u64,
    /// Addresses given that match no open account.
    pub unknown_addresses: u64,
    /// Notices created in this run.
    pub notices_created: u64,
    /// Mails sent in this run.
    pub mails_sent: u64,
    /// Mails that failed (run again to retry them).
    pub mails_failed: u64,
    /// The incident register's entry for this run.
    pub register_id: Option<Uuid>,
    /// The mail users get.
    pub mail_subject: String,
    /// Its text.
    pub mail_body: String,
}

fn check(incident: &Incident, now: DateTime<Utc>) -> Result<(), BreachError> {
    let id_ok = !incident.id.is_empty()
        && incident.id.len() <= 64
        && incident
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !id_ok {
        return Err(BreachError::InvalidArgument(
            "--id must be 1-64 letters, digits, '-', '_' or '.'".to_owned(),
        ));
    }
    let summary = incident.summary.trim();
    if summary.is_empty() || summary.chars().count() > 4000 {
        return Err(BreachError::InvalidArgument(
            "--summary must say what happened, in at most 4000 characters".to_owned(),
        ));
    }
    if incident.detected_at > now {
        return Err(BreachError::InvalidArgument(
            "--detected-at lies in the future".to_owned(),
        ));
    }
    Ok(())
}

fn mail_body(incident: &Incident, contact: &str) -> String {
    format!(
        "We are writing to tell you about a security incident that affects your kraftsoci \
         account.\n\n{}\n\nIf you have questions, or want to exercise your rights, write to \
         {contact}. You may also complain to the Turkish Personal Data Protection Board (Kişisel \
         Verileri Koruma Kurulu) or to the data protection authority of your EU member state.\n\n\
         Reference: {}\n",
        incident.summary.trim(),
        incident.id
    )
}

/// The affected open accounts, in pages; and how many given addresses matched none.
async fn recipients(
    policy: &dyn PolicyStore,
    auth: &dyn AuthStore,
    accounts: &dyn AccountStore,
    affected: &Affected,
) -> Result<(Vec<Recipient>, u64), BreachError> {
    match affected {
        Affected::All => {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let page = policy.open_accounts(after, BATCH).await?;
                let full = page.len() >= BATCH as usize;
                after = page.last().map(|r| r.user);
                all.extend(page);
                if !full {
                    return Ok((all, 0));
                }
            }
        }
        Affected::Emails(addresses) => {
            let (mut found, mut unknown) = (Vec::new(), 0_u64);
            for address in addresses {
                let email = Email::parse(address.trim()).map_err(|e| {
                    BreachError::InvalidArgument(format!("{address:?}: {}", e.reason()))
                })?;
                match auth.credentials_by_email(&email.normalized()).await? {
                    Some(credentials)
                        if !found.iter().any(|r: &Recipient| r.user == credentials.user) =>
                    {
                        // The account's own address, not the one as the operator typed it.
                        let account = accounts.account(credentials.user).await?;
                        found.push(Recipient {
                            user: credentials.user,
                            email: account.email,
                        });
                    }
                    Some(_) => {}
                    None => unknown += 1,
                }
            }
            Ok((found, unknown))
        }
    }
}

/// Notifies the affected users of `incident` by notice and mail, once each; a dry run only
/// counts them and returns the draft.
///
/// # Errors
/// [`BreachError`]: invalid input, storage (what was sent stays sent; run again).
pub async fn notify(
    stores: &Stores,
    mailer: &dyn Mailer,
    clock: &dyn Clock,
    contact: &str,
    incident: &Incident,
    dry_run: bool,
) -> Result<BreachReport, BreachError> {
    check(incident, clock.now())?;
    let policy = &*stores.policy;
    let (found, unknown) =
        recipients(policy, &*stores.auth, &*stores.accounts, &incident.affected).await?;
    let mut report = BreachReport {
        incident: incident.id.clone(),
        authority_deadline: Some(incident.detected_at + Duration::hours(AUTHORITY_DEADLINE_HOURS)),
        dry_run,
        recipients: found.len() as u64,
        unknown_addresses: unknown,
        mail_subject: "A security incident affecting your kraftsoci account".to_owned(),
        mail_body: mail_body(incident, contact),
        ..BreachReport::default()
    };
    if dry_run {
        register(stores, clock, incident, &mut report).await?;
        return Ok(report);
    }
    let subject_key = format!("breach:{}", incident.id);
    for recipient in &found {
        let id = Uuid::new_v4();
        let delivery = policy
            .ensure_notice(&NewNotice {
                id,
                user: recipient.user,
                kind: BREACH_NOTICE_KIND.to_owned(),
                subject_key: subject_key.clone(),
                body: incident.summary.trim().to_owned(),
                created_at: clock.now(),
            })
            .await?;
        if delivery.id == id {
            report.notices_created += 1;
        }
        if delivery.mailed {
            continue;
        }
        let mail = Mail {
            to: recipient.email.clone(),
            subject: report.mail_subject.clone(),
            body: report.mail_body.clone(),
        };
        match mailer.send(&mail).await {
            Ok(()) => {
                policy.mark_notice_mailed(delivery.id, clock.now()).await?;
                report.mails_sent += 1;
            }
            Err(error) => {
                report.mails_failed += 1;
                tracing::warn!(user = %recipient.user, %error, "breach mail not sent");
            }
        }
    }
    register(stores, clock, incident, &mut report).await?;
    Ok(report)
}

/// Records the run in the incident register.
async fn register(
    stores: &Stores,
    clock: &dyn Clock,
    incident: &Incident,
    report: &mut BreachReport,
) -> Result<(), BreachError> {
    let now = clock.now();
    let record = IncidentRecord {
        id: Uuid::new_v4(),
        incident: incident.id.clone(),
        summary: incident.summary.trim().to_owned(),
        detected_at: incident.detected_at,
        recorded_at: now,
        dry_run: report.dry_run,
        affected: report.recipients,
        notices_created: report.notices_created,
        mails_sent: report.mails_sent,
        mails_failed: report.mails_failed,
        notified_at: (!report.dry_run && report.recipients > 0).then_some(now),
    };
    stores.incidents.record_incident(&record).await?;
    report.register_id = Some(record.id);
    Ok(())
}

/// One entry of the incident register, as `breach list` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterEntry {
    /// The run's id.
    pub id: Uuid,
    /// The incident's label.
    pub incident: String,
    /// What happened.
    pub summary: String,
    /// When it was detected.
    pub detected_at: DateTime<Utc>,
    /// When the run was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Whether the run only counted.
    pub dry_run: bool,
    /// Affected open accounts.
    pub affected: u64,
    /// Notices created by the run.
    pub notices_created: u64,
    /// Mails sent by the run.
    pub mails_sent: u64,
    /// Mails that failed in the run.
    pub mails_failed: u64,
    /// When the affected users were told.
    pub notified_at: Option<DateTime<Utc>>,
}

impl From<IncidentRecord> for RegisterEntry {
    fn from(r: IncidentRecord) -> Self {
        Self {
            id: r.id,
            incident: r.incident,
            summary: r.summary,
            detected_at: r.detected_at,
            recorded_at: r.recorded_at,
            dry_run: r.dry_run,
            affected: r.affected,
            notices_created: r.notices_created,
            mails_sent: r.mails_sent,
            mails_failed: r.mails_failed,
            notified_at: r.notified_at,
        }
    }
}

/// The incident register, newest run first.
///
/// # Errors
/// Storage failures.
pub async fn register_entries(stores: &Stores) -> Result<Vec<RegisterEntry>, StoreError> {
    Ok(stores
        .incidents
        .incidents(MAX_LISTED)
        .await?
        .into_iter()
        .map(RegisterEntry::from)
        .collect())
}

/// The register as a table, one run per line, its summary indented below.
pub fn register_table(entries: &[RegisterEntry]) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{:<25}  {:<25}  {:<6}  {:>8}  {:>6}  {:<25}  incident\n",
        "recorded", "detected", "dry", "affected", "mails", "notified"
    );
    for e in entries {
        let _ = writeln!(
            out,
            "{:<25}  {:<25}  {:<6}  {:>8}  {:>6}  {:<25}  {}",
            e.recorded_at.to_rfc3339(),
            e.detected_at.to_rfc3339(),
            if e.dry_run { "yes" } else { "no" },
            e.affected,
            e.mails_sent,
            e.notified_at
                .map_or_else(|| "-".to_owned(), |at| at.to_rfc3339()),
            e.incident
        );
        for line in e.summary.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

/// `kraftsoci-server breach list`: prints the incident register.
///
/// # Errors
/// [`Error::Command`] on storage failures; setup failures.
pub async fn list_command(config: &Config, json: bool) -> Result<(), Error> {
    let failed = |source: anyhow::Error| Error::Command {
        command: "breach list",
        source,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = store::connect(&config.database_url, clock).await?;
    stores.database.migrate().await?;
    let entries = register_entries(&stores)
        .await
        .map_err(|e| failed(e.into()))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entries).map_err(|e| failed(e.into()))?
        );
    } else {
        print!("{}", register_table(&entries));
    }
    Ok(())
}

/// `kraftsoci-server breach …`.
///
/// # Errors
/// [`Error::Command`] naming what went wrong (also when mails failed: run again); setup
/// failures.
pub async fn breach_command(
    config: &Config,
    incident: Incident,
    dry_run: bool,
) -> Result<(), Error> {
    let failed = |source: anyhow::Error| Error::Command {
        command: "breach",
        source,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let stores = store::connect(&config.database_url, Arc::clone(&clock)).await?;
    stores.database.migrate().await?;
    let mailer =
        crate::mail::for_config(config, Arc::clone(&clock)).map_err(|source| Error::Setup {
            what: "mail",
            source,
        })?;
    let report = notify(
        &stores,
        &*mailer,
        &*clock,
        &config.privacy.contact,
        &incident,
        dry_run,
    )
    .await
    .map_err(|e| failed(e.into()))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| failed(e.into()))?
    );
    if report.mails_failed > 0 {
        return Err(failed(anyhow::anyhow!(
            "{} mail(s) failed; run the command again to retry them",
            report.mails_failed
        )));
    }
    Ok(())
}
