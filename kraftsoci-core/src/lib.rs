//! # kraftsoci-core
//!
//! The domain of kraftsoci: AI-assisted, consent-gated Instagram publishing for small
//! businesses. This crate has no HTTP, SQL or vendor SDK in it; adapters plug into its
//! [`ports`].
//!
//! - **Domain types, parsed not validated**: [`Email`], [`Caption`], [`Hashtag`], [`AltText`],
//!   [`CheckedJpeg`], [`BusinessProfile`]… A value that exists is valid.
//! - **The consent gate (P09)**: a [`Post`] reaches `publishing` only through
//!   [`Post::begin_publishing`], which requires a [`ConsentReceipt`] whose [`ContentHash`]
//!   matches the content as it is now. The resulting [`PublishPermit`] is the only way into
//!   the [`PublishOrchestrator`].
//! - **Publish orchestration**: one policy for the whole publish ([`PublishOrchestrator`]):
//!   persisted recovery points, reconciliation by the container after a crash or an ambiguous
//!   answer, `media_publish` sent again only on the same container once the reconcile grace
//!   shows the earlier request had no effect, the media id and permalink recovered for every
//!   published post, and the quota read once per account ([`QuotaBook`]).
//! - **Token vault**: AES-256-GCM with owner-bound associated data and a rotating key ring.
//! - **Retention**: the privacy policy's retention table as data, a planner and a sweeper.
//! - **Billing** ([`billing`]): quotas and reservations, provider ids, subscription state
//!   that merges the same whatever order views arrive in, card-free payment records.
//!
//! ## Quick start
//!
//! ```
//! use chrono::Utc;
//! use kraftsoci_core::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let owner = UserId::new();
//! let content = PostContent {
//!     caption: Caption::parse("Fresh simit, straight from the oven")?,
//!     hashtags: vec![Hashtag::parse("#simit")?],
//!     alt_text: Some(AltText::parse("Sesame bread rings on a tray")?),
//!     media_kind: MediaKind::Image,
//!     media: vec![MediaDigest::of(b"jpeg bytes")],
//!     target: None,
//! };
//! let mut post = Post::generated(owner, content, Utc::now())?;
//!
//! // Nothing can be published before the owner clicks Publish:
//! assert!(post.begin_publishing(Utc::now(), &Restrictions::default()).is_err());
//!
//! // The click echoes the hash of what the owner saw.
//! post.approve(Approval {
//!     user: owner,
//!     shown_hash: post.content_hash(),
//!     target: IgUserId::parse("17841405822304914")?,
//!     at: Utc::now(),
//!     ip: None,
//!     user_agent: None,
//!     scheduled_for: None,
//!     api_key: None,
//! })?;
//! let permit = post.begin_publishing(Utc::now(), &Restrictions::default())?;
//! assert_eq!(permit.post(), post.id());
//! # Ok(())
//! # }
//! ```
//!
//! ## Dependencies
//!
//! 56 crates besides this one (`cargo tree -p kraftsoci-core -e normal --prefix none`, unique,
//! default features; 62 before tokio was cut down to its timer). No HTTP, SQL or vendor SDK;
//! from tokio only the `time` feature, for [`SystemClock`]'s sleep, inside the runtime the
//! embedder brings, and `sync`; `tracing` is the facade only (the embedder picks the
//! subscriber).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

// The README's example, compiled and run with the doctests so that it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod billing;
mod clock;
pub mod domain;
mod error;
mod ids;
pub mod ports;
mod post;
mod publish;
pub mod retention;
mod rights;
pub mod vault;

#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
pub use clock::{Clock, ManualClock, SystemClock};
pub use domain::*;
pub use error::ParseError;
pub use ids::{ApiKeyId, ConnectionId, IgUserId, PostId, RequestId, SessionId, UserId};
pub use ports::StoreError;
pub use post::{
    Approval, ApproveOutcome, ConsentReceipt, Edit, GenerationStep, LifecycleError, Post,
    PostEvent, PostSnapshot, PostStatus, PublishFailure, PublishPermit, SCHEDULE_MISSED,
};
pub use publish::*;
pub use retention::{
    DataCategory, RetentionError, RetentionPlanner, RetentionPolicy, RetentionStore,
    RetentionSweeper, SweepMode,
};
pub use rights::{
    DataSubjectRequest, ErasureProof, Objections, Processing, ProcessingRestricted,
    REQUEST_DEADLINE_DAYS, REVIEW_MESSAGE_MAX_CHARS, RequestKind, RequestStatus, Restrictions,
    ReviewMessage,
};
pub use vault::{KeyRing, TokenContext, TokenPurpose, TokenVault, VaultError};
