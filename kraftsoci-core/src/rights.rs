//! The data-subject rights model: restriction of processing (P29), objection (P31), request
//! records with a 30-day due date (P33) and the minimal proof an erasure leaves (P28).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{Email, ParseError, PostId, RequestId, UserId};

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

/// The rights a data-subject request exercises (GDPR arts. 15–22, KVKK art. 11). More rights
/// may be added, so matches need a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    /// Human review of an automated decision (P32; GDPR art. 22(3), KVKK art. 11(1)(g)): a
    /// moderation refusal or a quota or plan refusal, looked at again by a person.
    Review,
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
            Self::Review => "review",
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
            "review" => Self::Review,
            _ => return Err(ParseError::new("type", "unknown request type")),
        })
    }
}

/// Where a data-subject request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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

/// The most characters a review request's message may have.
pub const REVIEW_MESSAGE_MAX_CHARS: usize = 2000;

/// What the owner writes when asking for a human review (P32): trimmed, 1 to
/// [`REVIEW_MESSAGE_MAX_CHARS`] characters, no control characters but line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReviewMessage(String);

impl ReviewMessage {
    /// Checks `text`.
    ///
    /// # Errors
    /// [`ParseError`] on field `message` when it is empty, too long or holds control
    /// characters.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ParseError::new("message", "say what should be reviewed"));
        }
        if text.chars().count() > REVIEW_MESSAGE_MAX_CHARS {
            return Err(ParseError::new(
                "message",
                format!("at most {REVIEW_MESSAGE_MAX_CHARS} characters"),
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(ParseError::new("message", "contains control characters"));
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReviewMessage {
    type Error = ParseError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ReviewMessage> for String {
    fn from(value: ReviewMessage) -> Self {
        value.0
    }
}

/// A recorded data-subject request. The due date is derived, never typed in.
///
/// A [`RequestKind::Review`] request may name the post the decision was about and carry the
/// owner's message; no other kind has either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSubjectRequest {
    id: RequestId,
    user: UserId,
    kind: RequestKind,
    received_at: DateTime<Utc>,
    status: RequestStatus,
    completed_at: Option<DateTime<Utc>>,
    post: Option<PostId>,
    message: Option<ReviewMessage>,
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
            post: None,
            message: None,
        }
    }

    /// The owner's request, received at `received_at`, that a person review an automated
    /// decision (P32), about `post` if it concerned one.
    pub fn ask_review(
        user: UserId,
        post: Option<PostId>,
        message: ReviewMessage,
        received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            post,
            message: Some(message),
            ..Self::receive(user, RequestKind::Review, received_at)
        }
    }

    /// This stored request with its stored review details.
    ///
    /// # Errors
    /// [`ParseError`] on field `type` when a request that is not a review has details.
    pub fn with_review_details(
        mut self,
        post: Option<PostId>,
        message: Option<ReviewMessage>,
    ) -> Result<Self, ParseError> {
        if self.kind != RequestKind::Review && (post.is_some() || message.is_some()) {
            return Err(ParseError::new(
                "type",
                "only a review request names a post or has a message",
            ));
        }
        self.post = post;
        self.message = message;
        Ok(self)
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
            post: None,
            message: None,
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
    /// For a review request: the post the decision was about, if any.
    pub fn post(&self) -> Option<PostId> {
        self.post
    }
    /// For a review request: what the owner wrote.
    pub fn message(&self) -> Option<&ReviewMessage> {
        self.message.as_ref()
    }
    /// Whether it is open past its due date at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == RequestStatus::Received && now > self.due_at()
    }
}

/// The minimal proof that an erasure was done (P28, P33): a hash of the email address and the
/// dates the request was received and completed, nothing else.
///
/// It is made when a purge completes an erasure request and is kept on purpose after every
/// other trace of the account is gone, so that the operator can show, if the erasure is ever
/// disputed, that it happened and when. The retention table deletes it after three years
/// ([`DataCategory::ErasureProof`](crate::DataCategory::ErasureProof), where the period is
/// justified).
///
/// The hash is SHA-256 over a fixed, versioned prefix and the normalised address
/// ([`Email::normalized`]): whoever asks about an address can be answered by hashing it again
/// ([`ErasureProof::is_for`]), and the stored value says nothing by itself. It is pseudonymous,
/// not anonymous (anyone who knows an address can test it), which is why the proof does not
/// live for ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureProof {
    email_hash: String,
    requested_at: DateTime<Utc>,
    completed_at: DateTime<Utc>,
}

/// Domain separation of [`ErasureProof`] hashes: the same address hashed for another purpose
/// never collides with a proof.
const ERASURE_PROOF_HASH_PREFIX: &[u8] = b"kraftsoci/erasure-proof/v1\0";

impl ErasureProof {
    /// The proof of an erasure of the account of `email`, requested at `requested_at` and
    /// completed at `completed_at`.
    ///
    /// # Errors
    /// [`ParseError`] on field `completed_at` when the erasure would have completed before it
    /// was requested.
    pub fn record(
        email: &Email,
        requested_at: DateTime<Utc>,
        completed_at: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        Self::checked(Self::hash_email(email), requested_at, completed_at)
    }

    /// A proof as stored.
    ///
    /// # Errors
    /// [`ParseError`] on field `email_hash` when it is not 64 lowercase hex digits, or on
    /// field `completed_at` when the dates contradict each other.
    pub fn restore(
        email_hash: &str,
        requested_at: DateTime<Utc>,
        completed_at: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        let is_hash = email_hash.len() == 64
            && email_hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hash {
            return Err(ParseError::new(
                "email_hash",
                "must be 64 lowercase hex digits",
            ));
        }
        Self::checked(email_hash.to_owned(), requested_at, completed_at)
    }

    fn checked(
        email_hash: String,
        requested_at: DateTime<Utc>,
        completed_at: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        if completed_at < requested_at {
            return Err(ParseError::new(
                "completed_at",
                "must not be before the request",
            ));
        }
        Ok(Self {
            email_hash,
            requested_at,
            completed_at,
        })
    }

    /// The hash an erasure proof stores for `email` (64 lowercase hex digits).
    pub fn hash_email(email: &Email) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(ERASURE_PROOF_HASH_PREFIX);
        hasher.update(email.normalized().as_bytes());
        hex::encode(hasher.finalize())
    }

    /// Whether this proof is about `email` (however its case was typed).
    pub fn is_for(&self, email: &Email) -> bool {
        Self::hash_email(email) == self.email_hash
    }

    /// The stored hash.
    pub fn email_hash(&self) -> &str {
        &self.email_hash
    }
    /// When the erasure was requested.
    pub fn requested_at(&self) -> DateTime<Utc> {
        self.requested_at
    }
    /// When the erasure completed: the instant the retention period counts from.
    pub fn completed_at(&self) -> DateTime<Utc> {
        self.completed_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_erasure_proof_holds_a_hash_and_two_dates_and_recognises_its_address() {
        let asked = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let done = asked + Duration::days(12);
        let email = Email::parse("Ada.Lovelace@Example.COM").unwrap();
        let proof = ErasureProof::record(&email, asked, done).unwrap();
        assert_eq!(proof.email_hash().len(), 64);
        assert!(!proof.email_hash().contains("ada"));
        let json = serde_json::to_string(&proof).unwrap();
        assert!(!json.to_lowercase().contains("lovelace"), "{json}");
        assert!(!json.to_lowercase().contains("example"), "{json}");
        assert!(proof.is_for(&Email::parse("Ada.Lovelace@example.com").unwrap()));
        assert!(!proof.is_for(&Email::parse("grace@example.com").unwrap()));
        assert_eq!((proof.requested_at(), proof.completed_at()), (asked, done));
        assert_eq!(
            ErasureProof::restore(proof.email_hash(), asked, done),
            Ok(proof.clone())
        );
    }

    #[test]
    fn an_erasure_proof_refuses_impossible_dates_and_malformed_hashes() {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let email = Email::parse("ada@example.com").unwrap();
        assert!(ErasureProof::record(&email, at, at - Duration::seconds(1)).is_err());
        assert!(ErasureProof::restore("ab", at, at).is_err());
        assert!(ErasureProof::restore(&"G".repeat(64), at, at).is_err());
        assert!(ErasureProof::restore(&"A".repeat(64), at, at).is_err());
        // The same address hashed for another purpose is not a proof's hash.
        use sha2::{Digest, Sha256};
        let plain = hex::encode(Sha256::digest(email.normalized().as_bytes()));
        assert_ne!(ErasureProof::hash_email(&email), plain);
    }

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
            RequestKind::Review,
        ] {
            assert_eq!(RequestKind::parse(kind.as_str()).unwrap(), kind);
        }
    }

    #[test]
    fn a_review_message_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(
            ReviewMessage::parse("  Please look again.\nIt was a recipe. ")
                .unwrap()
                .as_str(),
            "Please look again.\nIt was a recipe."
        );
        assert!(ReviewMessage::parse(" \n ").is_err());
        assert!(ReviewMessage::parse("a\u{0}b").is_err());
        assert!(ReviewMessage::parse(&"x".repeat(REVIEW_MESSAGE_MAX_CHARS)).is_ok());
        assert!(ReviewMessage::parse(&"x".repeat(REVIEW_MESSAGE_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn only_a_review_request_carries_a_post_and_a_message() {
        let at = Utc::now();
        let message = ReviewMessage::parse("the quota was wrong").unwrap();
        let post = PostId::new();
        let review = DataSubjectRequest::ask_review(UserId::new(), Some(post), message.clone(), at);
        assert_eq!(review.kind(), RequestKind::Review);
        assert_eq!(review.post(), Some(post));
        assert_eq!(review.message(), Some(&message));
        assert_eq!(review.due_at(), at + Duration::days(REQUEST_DEADLINE_DAYS));
        let access = DataSubjectRequest::receive(UserId::new(), RequestKind::Access, at);
        assert!(
            access
                .clone()
                .with_review_details(None, Some(message))
                .is_err()
        );
        assert!(access.with_review_details(None, None).is_ok());
    }
}
