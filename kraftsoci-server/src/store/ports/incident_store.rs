//! The incident register (KVKK art. 12(5), GDPR art. 33(5)): every run of
//! `kraftsoci-server breach`, dry or not, as the controller's record of what happened, when it
//! was detected, how many accounts it affected and when they were told. It names no person.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::StoreError;
use uuid::Uuid;

/// One run of the breach command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    /// The run's id.
    pub id: Uuid,
    /// The incident's label, e.g. `2026-12-06-media-bucket` (several runs may share it).
    pub incident: String,
    /// What happened, as the users were told.
    pub summary: String,
    /// When it was detected.
    pub detected_at: DateTime<Utc>,
    /// When this run was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Whether the run only counted (nothing was sent).
    pub dry_run: bool,
    /// Affected open accounts found.
    pub affected: u64,
    /// Notices this run created.
    pub notices_created: u64,
    /// Mails this run sent.
    pub mails_sent: u64,
    /// Mails this run failed to send.
    pub mails_failed: u64,
    /// When the affected users were told (the run's time, unless it was dry or reached no one).
    pub notified_at: Option<DateTime<Utc>>,
}

/// The incident register.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Records one run.
    async fn record_incident(&self, record: &IncidentRecord) -> Result<(), StoreError>;

    /// The runs, newest first, at most `limit`.
    async fn incidents(&self, limit: u32) -> Result<Vec<IncidentRecord>, StoreError>;
}
