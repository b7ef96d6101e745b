//! The data-subject rights model: restriction of processing (P29), objection (P31) and request
//! records with a 30-day due date (P33).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{ParseError, RequestId, UserId};

/// Which processing the user has paused (P29). Both off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restrictions {
    /// AI generation of captions and images is paused.
    pub generation: bool,
    /// Publishing to Instagram is paused (already approved posts wait).
    pub publishing: bool,
}

/// A kind of processing that a restriction can pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Processing {
    /// AI generation.
    Generation,
    /// Publishing to Instagram.
    Publishing,
}

/// The user has restricted the processing they asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is restricted by the account owner")]
pub struct ProcessingRestricted(pub Processing);

impl Restrictions {
    /// Refuses `processing` when it is restricted.
    ///
    /// # Errors
    /// [`ProcessingRestricted`] naming the paused processing.
    pub fn allow(&self, processing: Processing) -> Result<(), ProcessingRestricted> {
        let restricted = match processing {
            Processing::Generation => self.generation,
            Processing::Publishing => self.publishing,
        };
        if restricted {
            Err(ProcessingRestricted(processing))
        } else {
            Ok(())
        }
    }
}

/// Optional processing the user objects to (P31).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objections {
    /// While set, the usage log keeps only security-relevant events.
    pub usage_log: bool,
}

/// The rights a data-subject request exercises (GDPR arts. 15–21, KVKK art. 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Access (P26).
    Access,
    /// Rectification (P27).
    Rectification,
    /// Erasure (P28).
    Erasure,
    /// Restriction of processing (P29).
    Restriction,
    /// Portability (P30).
    Portability,
    /// Objection (P31).
    Objection,
}

impl RequestKind {
    /// The stable name used in storage and the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Rectification => "rectification",
            Self::Erasure => "erasure",
            Self::Restriction => "restriction",
            Self::Portability => "portability",
            Self::Objection => "objection",
        }
    }

    /// Parses [`RequestKind::as_str`]'s output.
    ///
    /// # Errors
    /// [`ParseError`] on field `type`.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        Ok(match value {
            "access" => Self::Access,
            "rectification" => Self::Rectification,
            "erasure" => Self::Erasure,
            "restriction" => Self::Restriction,
            "portability" => Self::Portability,
            "objection" => Self::Objection,
            _ => return Err(ParseError::new("type", "unknown request type")),
        })
    }
}

/// Where a data-subject request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Received, not yet done.
    Received,
    /// Done.
    Completed,
}

impl RequestStatus {
    /// The stable name used in storage and the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Completed => "completed",
        }
    }

    /// Parses [`RequestStatus::as_str`]'s output.
    ///
    /// # Errors
    /// [`ParseError`] on field `status`.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        match value {
            "received" => Ok(Self::Received),
            "completed" => Ok(Self::Completed),
            _ => Err(ParseError::new("status", "unknown request status")),
        }
    }
}

/// How long the service has to answer a request (P33): 30 days.
pub const REQUEST_DEADLINE_DAYS: i64 = 30;

/// A recorded data-subject request. The due date is derived, never typed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSubjectRequest {
    id: RequestId,
    user: UserId,
    kind: RequestKind,
    received_at: DateTime<Utc>,
    status: RequestStatus,
    completed_at: Option<DateTime<Utc>>,
}

impl DataSubjectRequest {
    /// A request received at `received_at`.
    pub fn receive(user: UserId, kind: RequestKind, received_at: DateTime<Utc>) -> Self {
        Self {
            id: RequestId::new(),
            user,
            kind,
            received_at,
            status: RequestStatus::Received,
            completed_at: None,
        }
    }

    /// A request as stored. `completed_at` must be present exactly when the status is
    /// completed, and not before `received_at`.
    ///
    /// # Errors
    /// [`ParseError`] on field `status` when the stored fields contradict each other.
    pub fn restore(
        id: RequestId,
        user: UserId,
        kind: RequestKind,
        received_at: DateTime<Utc>,
        status: RequestStatus,
        completed_at: Option<DateTime<Utc>>,
    ) -> Result<Self, ParseError> {
        let consistent = match (status, completed_at) {
            (RequestStatus::Received, None) => true,
            (RequestStatus::Completed, Some(at)) => at >= received_at,
            _ => false,
        };
        if !consistent {
            return Err(ParseError::new(
                "status",
                "completion time contradicts status",
            ));
        }
        Ok(Self {
            id,
            user,
            kind,
            received_at,
            status,
            completed_at,
        })
    }

    /// Marks the request done at `at` (idempotent: a second call keeps the first time).
    pub fn complete(&mut self, at: DateTime<Utc>) {
        if self.status == RequestStatus::Received {
            self.status = RequestStatus::Completed;
            self.completed_at = Some(at.max(self.received_at));
        }
    }

    /// The id.
    pub fn id(&self) -> RequestId {
        self.id
    }
    /// Whose request.
    pub fn user(&self) -> UserId {
        self.user
    }
    /// Which right.
    pub fn kind(&self) -> RequestKind {
        self.kind
    }
    /// When it arrived.
    pub fn received_at(&self) -> DateTime<Utc> {
        self.received_at
    }
    /// Received + 30 days (P33).
    pub fn due_at(&self) -> DateTime<Utc> {
        self.received_at + Duration::days(REQUEST_DEADLINE_DAYS)
    }
    /// Where it stands.
    pub fn status(&self) -> RequestStatus {
        self.status
    }
    /// When it was completed.
    pub fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at
    }
    /// Whether it is open past its due date at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == RequestStatus::Received && now > self.due_at()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn restrictions_refuse_only_what_is_paused() {
        let r = Restrictions {
            generation: true,
            publishing: false,
        };
        assert_eq!(
            r.allow(Processing::Generation),
            Err(ProcessingRestricted(Processing::Generation))
        );
        assert!(r.allow(Processing::Publishing).is_ok());
        assert!(
            Restrictions::default()
                .allow(Processing::Generation)
                .is_ok()
        );
    }

    #[test]
    fn requests_are_due_thirty_days_after_receipt() {
        let at = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
        let mut req = DataSubjectRequest::receive(UserId::new(), RequestKind::Access, at);
        assert_eq!(
            req.due_at(),
            Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
        );
        assert!(!req.is_overdue(req.due_at()));
        assert!(req.is_overdue(req.due_at() + Duration::seconds(1)));
        req.complete(at + Duration::days(2));
        req.complete(at + Duration::days(9));
        assert_eq!(req.completed_at(), Some(at + Duration::days(2)));
        assert!(!req.is_overdue(at + Duration::days(90)));
    }

    #[test]
    fn restore_refuses_contradictions() {
        let at = Utc::now();
        assert!(
            DataSubjectRequest::restore(
                RequestId::new(),
                UserId::new(),
                RequestKind::Erasure,
                at,
                RequestStatus::Completed,
                None
            )
            .is_err()
        );
        assert!(
            DataSubjectRequest::restore(
                RequestId::new(),
                UserId::new(),
                RequestKind::Erasure,
                at,
                RequestStatus::Received,
                Some(at)
            )
            .is_err()
        );
        assert!(
            DataSubjectRequest::restore(
                RequestId::new(),
                UserId::new(),
                RequestKind::Erasure,
                at,
                RequestStatus::Completed,
                Some(at - Duration::days(1))
            )
            .is_err()
        );
        for kind in [
            RequestKind::Access,
            RequestKind::Rectification,
            RequestKind::Erasure,
            RequestKind::Restriction,
            RequestKind::Portability,
            RequestKind::Objection,
        ] {
            assert_eq!(RequestKind::parse(kind.as_str()).unwrap(), kind);
        }
    }
}
