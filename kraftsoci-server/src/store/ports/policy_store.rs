//! Privacy-policy versions, each user's acceptances and in-app notices (P38).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::{Email, StoreError, UserId};
use uuid::Uuid;

/// A published version of the privacy policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// Its label, e.g. `2026-02`.
    pub version: String,
    /// When it took effect.
    pub published_at: DateTime<Utc>,
    /// What changed, in a few sentences.
    pub summary: String,
}

/// One acceptance of a policy version by a user (P38).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAcceptance {
    /// The version accepted.
    pub version: String,
    /// When.
    pub accepted_at: DateTime<Utc>,
}

/// Someone to notify: an open account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The account.
    pub user: UserId,
    /// Where its mail goes.
    pub email: Email,
}

/// An in-app notice to create, once per user and `subject_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    /// Its id, if it is created.
    pub id: Uuid,
    /// Whom it is for.
    pub user: UserId,
    /// What kind of notice (`policy_version`).
    pub kind: String,
    /// What it is about (`policy:2026-02`): a user gets one notice per subject.
    pub subject_key: String,
    /// The text shown.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The stored notice of a user and subject, and whether its mail went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeDelivery {
    /// The notice.
    pub id: Uuid,
    /// Whether its email was sent.
    pub mailed: bool,
}

/// An in-app notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Its id.
    pub id: Uuid,
    /// What kind of notice.
    pub kind: String,
    /// The text.
    pub body: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the user marked it read.
    pub read_at: Option<DateTime<Utc>>,
    /// Where to act on it (a permalink, or a path of the web app).
    pub link: Option<String>,
}

/// Policy versions, acceptances and notices.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The most recently published version's label, if any was published.
    async fn current_policy_version(&self) -> Result<Option<String>, StoreError>;

    /// The most recently published version, if any was published.
    async fn current_policy(&self) -> Result<Option<PolicyVersion>, StoreError>;

    /// A version by its label.
    async fn policy_version(&self, version: &str) -> Result<Option<PolicyVersion>, StoreError>;

    /// Records a version; `false` (and nothing changes) when that label exists already.
    async fn publish_policy_version(&self, policy: &PolicyVersion) -> Result<bool, StoreError>;

    /// Records that an open account accepted `version` (time and address) and makes it the
    /// account's accepted version. [`StoreError::NotFound`] for a closed or unknown account.
    async fn accept_policy(
        &self,
        user: UserId,
        version: &str,
        at: DateTime<Utc>,
        ip: Option<&str>,
    ) -> Result<(), StoreError>;

    /// When the user last accepted `version`, if ever.
    async fn policy_accepted_at(
        &self,
        user: UserId,
        version: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Up to `limit` open accounts after `after`, in id order (for paging through everyone).
    async fn open_accounts(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<Recipient>, StoreError>;

    /// Creates the notice unless the user already has one about its subject; returns the
    /// stored one either way.
    async fn ensure_notice(&self, notice: &NewNotice) -> Result<NoticeDelivery, StoreError>;

    /// Records that a notice's email went out.
    async fn mark_notice_mailed(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// The user's notices, newest first, at most `limit`.
    async fn notices(&self, user: UserId, limit: u32) -> Result<Vec<Notice>, StoreError>;

    /// Marks one of the user's notices read (a read one keeps its time).
    /// [`StoreError::NotFound`] when it is not the user's.
    async fn mark_notice_read(
        &self,
        user: UserId,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Every published version, newest first, at most `limit` (the policy history).
    async fn policy_versions(&self, limit: u32) -> Result<Vec<PolicyVersion>, StoreError>;

    /// The user's acceptances of any version, newest first, at most `limit`.
    async fn policy_acceptances(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<PolicyAcceptance>, StoreError>;
}
