//! The consent-gated post lifecycle (P09, P32).
//!
//! ```text
//!            edit                 withdraw
//!   ┌────┐ ◄──────── ┌──────────┐ ───────► ┌───────────┐
//!   │ready│ ───────► │ approved │          │ withdrawn │ ─ reopen/edit ─► ready
//!   └────┘  approve  └──────────┘ ◄─────── └───────────┘
//!                         │ begin_publishing   approve
//!                         ▼
//!                   ┌────────────┐  token invalid  ┌─────────────────┐
//!                   │ publishing │ ──────────────► │ needs_reconnect │ ─ reconnected ─► approved
//!                   └────────────┘                 └─────────────────┘
//!                     │        │
//!                     ▼        ▼
//!               published    failed ─ edit ─► ready, ─ approve ─► approved
//! ```
//!
//! Generation runs before all of this, as a background job:
//!
//! ```text
//!   new ─► generating ─► ready                 regenerate (caption, image or both):
//!              │  ▲                            ready | failed | withdrawn | generation_failed
//!              ▼  │ retry (regenerate)                   ─► generating
//!        generation_failed
//! ```
//!
//! An approved post (or one waiting for a reconnect) is not regenerated in place: its owner
//! consented to exactly that content and it is queued, so the approval is withdrawn first. A
//! post being published or published is never regenerated. Regenerating voids any consent,
//! because the content hash changes.
//!
//! The only way into `publishing` is [`Post::begin_publishing`], which demands an approval whose
//! consent receipt carries the hash of the content *as it is now*, whose scheduled time has come,
//! and an owner who has not restricted publishing. It returns the [`PublishPermit`] that the
//! publish orchestration requires; a permit cannot be built any other way, so code that
//! publishes an unapproved post does not compile.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::rights::{Processing, ProcessingRestricted, Restrictions};
use crate::{
    AltText, ApiKeyId, Caption, ContentHash, Hashtag, IgUserId, ParseError, PostContent, PostId,
    PostText, UserId,
};

/// Where a post stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PostStatus {
    /// A generation job is writing (or drawing) the content.
    Generating,
    /// Generation failed; the reason is the post's failure. It can be retried.
    GenerationFailed,
    /// Generated, shown to the owner, not approved.
    Ready,
    /// The owner clicked Publish for exactly this content (maybe for a later time).
    Approved,
    /// The publish orchestration is running.
    Publishing,
    /// Live on Instagram.
    Published,
    /// Publishing failed; the owner can edit and approve again.
    Failed,
    /// The owner withdrew the approval before publishing started.
    Withdrawn,
    /// The Instagram connection must be renewed before the approved post can go out.
    NeedsReconnect,
}

impl PostStatus {
    /// Every status, for exhaustive tests and documentation.
    pub const ALL: [PostStatus; 9] = [
        Self::Generating,
        Self::GenerationFailed,
        Self::Ready,
        Self::Approved,
        Self::Publishing,
        Self::Published,
        Self::Failed,
        Self::Withdrawn,
        Self::NeedsReconnect,
    ];

    /// The stable name used in storage and the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Generating => "generating",
            Self::GenerationFailed => "generation_failed",
            Self::Ready => "ready",
            Self::Approved => "approved",
            Self::Publishing => "publishing",
            Self::Published => "published",
            Self::Failed => "failed",
            Self::Withdrawn => "withdrawn",
            Self::NeedsReconnect => "needs_reconnect",
        }
    }

    /// Parses [`PostStatus::as_str`]'s output.
    ///
    /// # Errors
    /// [`ParseError`] on field `status`.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| ParseError::new("status", "unknown post status"))
    }
}

impl fmt::Display for PostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a post, as named in [`LifecycleError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PostEvent {
    /// The owner edited the content.
    Edit,
    /// The owner clicked Publish.
    Approve,
    /// The owner withdrew an approval.
    Withdraw,
    /// A withdrawn post was reopened for editing.
    Reopen,
    /// The worker started publishing.
    BeginPublishing,
    /// The worker resumed a publish after a crash or deferral.
    ResumePublishing,
    /// Instagram accepted the post.
    Published,
    /// Publishing failed for good.
    Failed,
    /// Meta said the token is invalid.
    TokenInvalid,
    /// The connection was renewed.
    Reconnected,
    /// The owner asked for a new caption or image (or retried a failed generation).
    Regenerate,
    /// The generation job produced the content.
    Generated,
    /// The generation job failed for good.
    GenerationFailed,
}

impl PostEvent {
    /// Every event, for exhaustive tests.
    pub const ALL: [PostEvent; 13] = [
        Self::Edit,
        Self::Approve,
        Self::Withdraw,
        Self::Reopen,
        Self::BeginPublishing,
        Self::ResumePublishing,
        Self::Published,
        Self::Failed,
        Self::TokenInvalid,
        Self::Reconnected,
        Self::Regenerate,
        Self::Generated,
        Self::GenerationFailed,
    ];
}

/// How far a post's generation has come, as the owner watches it (`GET
/// /v1/posts/{id}/events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GenerationStep {
    /// Waiting for a worker.
    Queued,
    /// The caption, hashtags and alt text are being written (the generator moderates the
    /// topic and its own text as part of this).
    Writing,
    /// The written text is being checked: moderation's verdict and Instagram's limits.
    Moderating,
    /// The image is being drawn (its prompt moderated first).
    Drawing,
    /// Done: the post is `ready`.
    Ready,
    /// Generation failed; the post is `generation_failed` with a reason.
    Failed,
}

impl GenerationStep {
    /// Every step, in order.
    pub const ALL: [GenerationStep; 6] = [
        Self::Queued,
        Self::Writing,
        Self::Moderating,
        Self::Drawing,
        Self::Ready,
        Self::Failed,
    ];

    /// The stable name used in storage, the API and the event stream.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Writing => "writing",
            Self::Moderating => "moderating",
            Self::Drawing => "drawing",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    /// Parses [`GenerationStep::as_str`]'s output.
    ///
    /// # Errors
    /// [`ParseError`] on field `generation_step`.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| ParseError::new("generation_step", "unknown generation step"))
    }

    /// Whether generation is over (the stream of steps ends here).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Ready | Self::Failed)
    }
}

impl fmt::Display for GenerationStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused lifecycle call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// The event makes no sense in the post's current status.
    #[error("a post that is {status} cannot take the {event:?} event")]
    NotAllowed {
        /// The status the post is in.
        status: PostStatus,
        /// The refused event.
        event: PostEvent,
    },
    /// The hash the owner approved is not the hash of the content as it is now.
    #[error("the content changed since it was shown; review it and approve again")]
    ContentChanged,
    /// The approval names a different Instagram account than the post targets.
    #[error("the post targets another Instagram account; review it and approve again")]
    TargetChanged,
    /// Someone other than the owner tried to approve.
    #[error("only the post's owner can approve it")]
    NotOwner,
    /// A scheduled approval whose time has not come.
    #[error("the post is scheduled for {0}")]
    NotYetDue(DateTime<Utc>),
    /// The owner restricted publishing (P29).
    #[error(transparent)]
    Restricted(#[from] ProcessingRestricted),
    /// The edited content breaks Instagram's limits.
    #[error("invalid content: {0}")]
    InvalidContent(#[from] ParseError),
}

/// The immutable record of an owner's Publish click (P09): who approved which exact content, for
/// which account, when, from where, and for when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentReceipt {
    user: UserId,
    post: PostId,
    content_hash: ContentHash,
    target: IgUserId,
    approved_at: DateTime<Utc>,
    ip: Option<String>,
    user_agent: Option<String>,
    scheduled_for: Option<DateTime<Utc>>,
    /// The personal API key the click came from; `None` for a signed-in person.
    #[serde(default)]
    api_key: Option<ApiKeyId>,
}

impl ConsentReceipt {
    /// A receipt read back from storage. Receipts are only *created* by [`Post::approve`].
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        user: UserId,
        post: PostId,
        content_hash: ContentHash,
        target: IgUserId,
        approved_at: DateTime<Utc>,
        ip: Option<String>,
        user_agent: Option<String>,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            user,
            post,
            content_hash,
            target,
            approved_at,
            ip,
            user_agent,
            scheduled_for,
            api_key: None,
        }
    }

    /// The receipt with the API key its click came from (as read back from storage).
    #[must_use]
    pub fn with_api_key(mut self, api_key: Option<ApiKeyId>) -> Self {
        self.api_key = api_key;
        self
    }

    /// Who clicked.
    pub fn user(&self) -> UserId {
        self.user
    }
    /// Which post.
    pub fn post(&self) -> PostId {
        self.post
    }
    /// The hash of the content that was approved (including the target account).
    pub fn content_hash(&self) -> ContentHash {
        self.content_hash
    }
    /// The Instagram account it was approved for.
    pub fn target(&self) -> &IgUserId {
        &self.target
    }
    /// When.
    pub fn approved_at(&self) -> DateTime<Utc> {
        self.approved_at
    }
    /// From which address.
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }
    /// With which browser.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }
    /// The time the owner chose, if scheduled.
    pub fn scheduled_for(&self) -> Option<DateTime<Utc>> {
        self.scheduled_for
    }
    /// The personal API key the click came from (a program acting for the owner), or `None`
    /// when the owner clicked in a signed-in session.
    pub fn api_key(&self) -> Option<ApiKeyId> {
        self.api_key
    }
}

/// A Publish click, as the server receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The authenticated user who clicked.
    pub user: UserId,
    /// The `content_hash` the client was shown.
    pub shown_hash: ContentHash,
    /// The Instagram account chosen.
    pub target: IgUserId,
    /// When the click arrived.
    pub at: DateTime<Utc>,
    /// The client's address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// Publish at this time instead of as soon as possible.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The personal API key that sent the click, when a program clicked for the owner.
    pub api_key: Option<ApiKeyId>,
}

/// What an accepted Publish click did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApproveOutcome {
    /// A new consent receipt was recorded.
    Approved,
    /// The same click again: nothing changed (P09: repeating it is harmless).
    Unchanged,
}

/// A change the owner makes to a post. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    /// New caption.
    pub caption: Option<Caption>,
    /// New hashtag list.
    pub hashtags: Option<Vec<Hashtag>>,
    /// New alt text (`Some(None)` removes it).
    pub alt_text: Option<Option<AltText>>,
    /// New target account (`Some(None)` clears it).
    pub target: Option<Option<IgUserId>>,
}

/// The notice on a post whose scheduled time passed while its account was disconnected (see
/// [`Post::reconnected`]).
pub const SCHEDULE_MISSED: &str = "schedule_missed";

/// Why publishing failed, in words the owner can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishFailure {
    /// A stable snake_case code.
    pub code: String,
    /// A sentence for the owner.
    pub message: String,
    /// Whether approving again may succeed.
    pub retryable: bool,
}

/// The only key to the publish orchestration: proof that a post is approved for exactly this
/// content. Built only by [`Post::begin_publishing`] and [`Post::resume_publishing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPermit {
    post: PostId,
    owner: UserId,
    receipt: ConsentReceipt,
    content: PostContent,
    text: PostText,
}

impl PublishPermit {
    /// The post.
    pub fn post(&self) -> PostId {
        self.post
    }
    /// Its owner.
    pub fn owner(&self) -> UserId {
        self.owner
    }
    /// The consent this permit rests on.
    pub fn receipt(&self) -> &ConsentReceipt {
        &self.receipt
    }
    /// The approved content.
    pub fn content(&self) -> &PostContent {
        &self.content
    }
    /// The caption and hashtags exactly as they will be sent.
    pub fn text(&self) -> &PostText {
        &self.text
    }
    /// The Instagram account to publish to.
    pub fn target(&self) -> &IgUserId {
        self.receipt.target()
    }
}

/// A post's stored form: what a store reads and writes. [`Post::restore`] checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostSnapshot {
    /// The id.
    pub id: PostId,
    /// The owner.
    pub owner: UserId,
    /// The content.
    pub content: PostContent,
    /// The status.
    pub status: PostStatus,
    /// The current consent, if any.
    pub consent: Option<ConsentReceipt>,
    /// When it was generated.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it went live.
    pub published_at: Option<DateTime<Utc>>,
    /// Instagram's media id, when known (a reconciled publish may not know it).
    pub instagram_media_id: Option<String>,
    /// The post's Instagram link, when read.
    pub permalink: Option<String>,
    /// Why publishing (or, in `generation_failed`, generation) failed.
    pub failure: Option<PublishFailure>,
    /// The last step of its generation job; `None` for posts generated before generation ran
    /// as a job.
    pub generation_step: Option<GenerationStep>,
}

/// A post and its lifecycle. See the module docs for the state diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    s: PostSnapshot,
}

impl Post {
    /// A freshly generated post in `ready`.
    ///
    /// # Errors
    /// [`ParseError`] when caption and hashtags together break Instagram's limits.
    pub fn generated(
        owner: UserId,
        content: PostContent,
        at: DateTime<Utc>,
    ) -> Result<Self, ParseError> {
        content.post_text()?;
        Ok(Self {
            s: PostSnapshot {
                id: PostId::new(),
                owner,
                content,
                status: PostStatus::Ready,
                consent: None,
                created_at: at,
                updated_at: at,
                published_at: None,
                instagram_media_id: None,
                permalink: None,
                failure: None,
                generation_step: None,
            },
        })
    }

    /// A new post whose content a generation job is about to write: `generating`, step
    /// `queued`, with empty content (no caption, hashtags, alt text or image) until then.
    pub fn generating(owner: UserId, at: DateTime<Utc>) -> Self {
        Self {
            s: PostSnapshot {
                id: PostId::new(),
                owner,
                content: PostContent {
                    caption: Caption::empty(),
                    hashtags: Vec::new(),
                    alt_text: None,
                    media_kind: crate::MediaKind::Image,
                    media: Vec::new(),
                    target: None,
                },
                status: PostStatus::Generating,
                consent: None,
                created_at: at,
                updated_at: at,
                published_at: None,
                instagram_media_id: None,
                permalink: None,
                failure: None,
                generation_step: Some(GenerationStep::Queued),
            },
        }
    }

    /// A post read back from storage, after checking that its fields agree with each other:
    /// statuses past `ready` carry a consent for this post and owner, `published` has a time.
    ///
    /// # Errors
    /// [`ParseError`] on field `status` when the snapshot is inconsistent.
    pub fn restore(snapshot: PostSnapshot) -> Result<Self, ParseError> {
        let needs_consent = matches!(
            snapshot.status,
            PostStatus::Approved | PostStatus::Publishing | PostStatus::Published
        );
        if needs_consent && snapshot.consent.is_none() {
            return Err(ParseError::new(
                "status",
                "an approved post needs its consent",
            ));
        }
        if let Some(consent) = &snapshot.consent
            && (consent.post != snapshot.id || consent.user != snapshot.owner)
        {
            return Err(ParseError::new(
                "consent",
                "belongs to another post or owner",
            ));
        }
        if matches!(
            snapshot.status,
            PostStatus::Generating | PostStatus::GenerationFailed
        ) && snapshot.consent.is_some()
        {
            return Err(ParseError::new(
                "status",
                "a post being generated has no consent",
            ));
        }
        if snapshot.status == PostStatus::Published && snapshot.published_at.is_none() {
            return Err(ParseError::new("status", "a published post needs its time"));
        }
        snapshot.content.post_text()?;
        Ok(Self { s: snapshot })
    }

    /// The stored form.
    pub fn snapshot(&self) -> &PostSnapshot {
        &self.s
    }

    /// Consumes the post into its stored form.
    pub fn into_snapshot(self) -> PostSnapshot {
        self.s
    }

    /// The id.
    pub fn id(&self) -> PostId {
        self.s.id
    }
    /// The owner.
    pub fn owner(&self) -> UserId {
        self.s.owner
    }
    /// The status.
    pub fn status(&self) -> PostStatus {
        self.s.status
    }
    /// The content.
    pub fn content(&self) -> &PostContent {
        &self.s.content
    }
    /// The last generation step.
    pub fn generation_step(&self) -> Option<GenerationStep> {
        self.s.generation_step
    }
    /// The current consent receipt.
    pub fn consent(&self) -> Option<&ConsentReceipt> {
        self.s.consent.as_ref()
    }
    /// The hash of the content as it is now: what the preview shows and a click must echo.
    pub fn content_hash(&self) -> ContentHash {
        self.s.content.hash()
    }

    fn refuse(&self, event: PostEvent) -> LifecycleError {
        LifecycleError::NotAllowed {
            status: self.s.status,
            event,
        }
    }

    /// Whether the consent on file approves the content as it is now.
    fn consent_matches(&self) -> bool {
        self.s.consent.as_ref().is_some_and(|c| {
            c.content_hash.matches(&self.content_hash())
                && self.s.content.target.as_ref() == Some(&c.target)
        })
    }

    /// Applies an edit. An approved (or waiting) post returns to `ready` and its consent is void.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] once publishing has started or finished;
    /// [`LifecycleError::InvalidContent`] when the result breaks Instagram's limits (the post is
    /// left unchanged).
    pub fn edit(&mut self, edit: Edit, at: DateTime<Utc>) -> Result<(), LifecycleError> {
        match self.s.status {
            PostStatus::Publishing
            | PostStatus::Published
            | PostStatus::Generating
            | PostStatus::GenerationFailed => {
                return Err(self.refuse(PostEvent::Edit));
            }
            PostStatus::Ready
            | PostStatus::Approved
            | PostStatus::Failed
            | PostStatus::Withdrawn
            | PostStatus::NeedsReconnect => {}
        }
        let mut content = self.s.content.clone();
        if let Some(caption) = edit.caption {
            content.caption = caption;
        }
        if let Some(hashtags) = edit.hashtags {
            content.hashtags = hashtags;
        }
        if let Some(alt_text) = edit.alt_text {
            content.alt_text = alt_text;
        }
        if let Some(target) = edit.target {
            content.target = target;
        }
        content.post_text()?;
        self.s.content = content;
        self.s.status = PostStatus::Ready;
        self.s.consent = None;
        self.s.failure = None;
        self.s.updated_at = at;
        Ok(())
    }

    /// Records the owner's Publish click (P09).
    ///
    /// The click must echo the hash of the content as it is now; when the post has no target
    /// yet, the click's account becomes its target and the receipt binds the hash that includes
    /// it. Repeating an identical click is harmless.
    ///
    /// # Errors
    /// [`LifecycleError::ContentChanged`] on a stale hash, [`LifecycleError::TargetChanged`] when
    /// the post targets another account, [`LifecycleError::NotOwner`], and
    /// [`LifecycleError::NotAllowed`] once publishing started with another approval.
    pub fn approve(&mut self, approval: Approval) -> Result<ApproveOutcome, LifecycleError> {
        if approval.user != self.s.owner {
            return Err(LifecycleError::NotOwner);
        }
        let same_click = |c: &ConsentReceipt| {
            c.content_hash.matches(&approval.shown_hash)
                && c.target == approval.target
                && c.scheduled_for == approval.scheduled_for
        };
        match self.s.status {
            PostStatus::Publishing | PostStatus::Published => {
                return match &self.s.consent {
                    Some(c) if same_click(c) => Ok(ApproveOutcome::Unchanged),
                    _ => Err(self.refuse(PostEvent::Approve)),
                };
            }
            PostStatus::Approved => {
                if self.s.consent.as_ref().is_some_and(same_click) && self.consent_matches() {
                    return Ok(ApproveOutcome::Unchanged);
                }
            }
            PostStatus::NeedsReconnect | PostStatus::Generating | PostStatus::GenerationFailed => {
                return Err(self.refuse(PostEvent::Approve));
            }
            PostStatus::Ready | PostStatus::Failed | PostStatus::Withdrawn => {}
        }
        if !approval.shown_hash.matches(&self.content_hash()) {
            return Err(LifecycleError::ContentChanged);
        }
        let mut content = self.s.content.clone();
        match &content.target {
            Some(target) if *target != approval.target => {
                return Err(LifecycleError::TargetChanged);
            }
            Some(_) => {}
            None => content.target = Some(approval.target.clone()),
        }
        let receipt = ConsentReceipt {
            user: approval.user,
            post: self.s.id,
            content_hash: content.hash(),
            target: approval.target,
            approved_at: approval.at,
            ip: approval.ip,
            user_agent: approval.user_agent,
            scheduled_for: approval.scheduled_for,
            api_key: approval.api_key,
        };
        self.s.content = content;
        self.s.consent = Some(receipt);
        self.s.status = PostStatus::Approved;
        self.s.failure = None;
        self.s.updated_at = approval.at;
        Ok(ApproveOutcome::Approved)
    }

    /// Withdraws an approval that has not started publishing (a scheduled one until its time
    /// comes). The consent is void; the receipt stays in the store's history.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless the post is approved or waiting for a reconnect.
    pub fn withdraw(&mut self, at: DateTime<Utc>) -> Result<(), LifecycleError> {
        match self.s.status {
            PostStatus::Approved | PostStatus::NeedsReconnect => {
                self.s.status = PostStatus::Withdrawn;
                self.s.consent = None;
                self.s.updated_at = at;
                Ok(())
            }
            _ => Err(self.refuse(PostEvent::Withdraw)),
        }
    }

    /// Moves a withdrawn post back to `ready`.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless withdrawn.
    pub fn reopen(&mut self, at: DateTime<Utc>) -> Result<(), LifecycleError> {
        if self.s.status != PostStatus::Withdrawn {
            return Err(self.refuse(PostEvent::Reopen));
        }
        self.s.status = PostStatus::Ready;
        self.s.updated_at = at;
        Ok(())
    }

    fn permit(&self) -> Result<PublishPermit, LifecycleError> {
        let receipt = match &self.s.consent {
            Some(receipt) if self.consent_matches() => receipt.clone(),
            _ => return Err(LifecycleError::ContentChanged),
        };
        Ok(PublishPermit {
            post: self.s.id,
            owner: self.s.owner,
            receipt,
            text: self.s.content.post_text()?,
            content: self.s.content.clone(),
        })
    }

    /// Starts publishing: `approved` → `publishing`, returning the permit the orchestration
    /// needs. This is the only door into `publishing`.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless approved; [`LifecycleError::ContentChanged`] when
    /// the consent does not match the content; [`LifecycleError::NotYetDue`] before the
    /// scheduled time; [`LifecycleError::Restricted`] when the owner paused publishing.
    pub fn begin_publishing(
        &mut self,
        now: DateTime<Utc>,
        restrictions: &Restrictions,
    ) -> Result<PublishPermit, LifecycleError> {
        if self.s.status != PostStatus::Approved {
            return Err(self.refuse(PostEvent::BeginPublishing));
        }
        restrictions.allow(Processing::Publishing)?;
        let permit = self.permit()?;
        if let Some(at) = permit.receipt.scheduled_for
            && at > now
        {
            return Err(LifecycleError::NotYetDue(at));
        }
        self.s.status = PostStatus::Publishing;
        self.s.updated_at = now;
        Ok(permit)
    }

    /// A permit for a post already in `publishing` (the worker resuming after a crash or a
    /// deferral; the orchestration then reconciles before doing anything).
    ///
    /// # Errors
    /// As [`Post::begin_publishing`], for a post in `publishing`.
    pub fn resume_publishing(
        &self,
        restrictions: &Restrictions,
    ) -> Result<PublishPermit, LifecycleError> {
        if self.s.status != PostStatus::Publishing {
            return Err(self.refuse(PostEvent::ResumePublishing));
        }
        restrictions.allow(Processing::Publishing)?;
        self.permit()
    }

    /// Records that Instagram has the post.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless publishing.
    pub fn mark_published(
        &mut self,
        media_id: Option<String>,
        permalink: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        if self.s.status != PostStatus::Publishing {
            return Err(self.refuse(PostEvent::Published));
        }
        self.s.status = PostStatus::Published;
        self.s.instagram_media_id = media_id;
        self.s.permalink = permalink;
        self.s.published_at = Some(at);
        self.s.failure = None;
        self.s.updated_at = at;
        Ok(())
    }

    /// Records a failure the owner must act on.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless publishing.
    pub fn mark_failed(
        &mut self,
        failure: PublishFailure,
        at: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        if self.s.status != PostStatus::Publishing {
            return Err(self.refuse(PostEvent::Failed));
        }
        self.s.status = PostStatus::Failed;
        self.s.failure = Some(failure);
        self.s.updated_at = at;
        Ok(())
    }

    /// Meta said the token is invalid: the approved post waits for a reconnect.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless approved or publishing.
    pub fn mark_needs_reconnect(&mut self, at: DateTime<Utc>) -> Result<(), LifecycleError> {
        match self.s.status {
            PostStatus::Approved | PostStatus::Publishing => {
                self.s.status = PostStatus::NeedsReconnect;
                self.s.updated_at = at;
                Ok(())
            }
            _ => Err(self.refuse(PostEvent::TokenInvalid)),
        }
    }

    /// The connection was renewed: a post whose consent still matches goes back to `approved`,
    /// any other to `ready`.
    ///
    /// A **scheduled** approval whose time passed while the account was disconnected also goes
    /// back to `ready`, with the notice [`SCHEDULE_MISSED`] as its failure: the owner consented
    /// to that time, not to whenever the account comes back, so it takes a fresh click. The
    /// exception is `publish_sent`: a `media_publish` request may already have made the post
    /// live, so it stays `approved` and the worker settles it by its container.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless waiting for a reconnect.
    pub fn reconnected(
        &mut self,
        at: DateTime<Utc>,
        publish_sent: bool,
    ) -> Result<(), LifecycleError> {
        if self.s.status != PostStatus::NeedsReconnect {
            return Err(self.refuse(PostEvent::Reconnected));
        }
        let missed = self
            .s
            .consent
            .as_ref()
            .and_then(ConsentReceipt::scheduled_for)
            .filter(|scheduled| *scheduled < at && !publish_sent);
        if let Some(scheduled) = missed {
            self.s.status = PostStatus::Ready;
            self.s.consent = None;
            self.s.failure = Some(PublishFailure {
                code: SCHEDULE_MISSED.to_owned(),
                message: format!(
                    "this post was approved for {} and the Instagram account was disconnected \
                     until after that time, so it was not published; approve it again to \
                     publish it now or at a new time",
                    scheduled.format("%Y-%m-%d %H:%M UTC")
                ),
                retryable: true,
            });
        } else if self.consent_matches() {
            self.s.status = PostStatus::Approved;
        } else {
            self.s.status = PostStatus::Ready;
            self.s.consent = None;
        }
        self.s.updated_at = at;
        Ok(())
    }

    /// Sends the post back through generation (the owner's Regenerate, or a retry of a failed
    /// generation): `generating`, step `queued`. Any consent is void, because the content hash
    /// will change.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] while generating, approved (withdraw first: the owner
    /// consented to exactly that content and it is queued), waiting for a reconnect, publishing
    /// or published.
    pub fn regenerate(&mut self, at: DateTime<Utc>) -> Result<(), LifecycleError> {
        match self.s.status {
            PostStatus::Ready
            | PostStatus::Failed
            | PostStatus::Withdrawn
            | PostStatus::GenerationFailed => {}
            PostStatus::Generating
            | PostStatus::Approved
            | PostStatus::NeedsReconnect
            | PostStatus::Publishing
            | PostStatus::Published => return Err(self.refuse(PostEvent::Regenerate)),
        }
        self.s.status = PostStatus::Generating;
        self.s.generation_step = Some(GenerationStep::Queued);
        self.s.consent = None;
        self.s.failure = None;
        self.s.updated_at = at;
        Ok(())
    }

    /// The generation job wrote the content: `generating` → `ready`.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless generating; [`LifecycleError::InvalidContent`]
    /// when the content breaks Instagram's limits (the post is left unchanged).
    pub fn finish_generation(
        &mut self,
        content: PostContent,
        at: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        if self.s.status != PostStatus::Generating {
            return Err(self.refuse(PostEvent::Generated));
        }
        content.post_text()?;
        self.s.content = content;
        self.s.status = PostStatus::Ready;
        self.s.generation_step = Some(GenerationStep::Ready);
        self.s.consent = None;
        self.s.failure = None;
        self.s.updated_at = at;
        Ok(())
    }

    /// The generation job failed for good: `generating` → `generation_failed`, with the
    /// reason. Content a regeneration started from is kept.
    ///
    /// # Errors
    /// [`LifecycleError::NotAllowed`] unless generating.
    pub fn fail_generation(
        &mut self,
        failure: PublishFailure,
        at: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        if self.s.status != PostStatus::Generating {
            return Err(self.refuse(PostEvent::GenerationFailed));
        }
        self.s.status = PostStatus::GenerationFailed;
        self.s.generation_step = Some(GenerationStep::Failed);
        self.s.failure = Some(failure);
        self.s.updated_at = at;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
