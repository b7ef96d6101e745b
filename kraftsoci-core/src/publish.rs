//! Publish orchestration: from a [`PublishPermit`] to a post on Instagram, exactly once.
//!
//! Publishing takes two Graph calls, neither idempotent: create a container, then
//! `media_publish`. This module is the **one** place that decides what happens between and
//! after them; the [`SocialPublisher`] adapter sends each request once and only classifies the
//! answer. A recovery point ([`PublishStep`]) is persisted after every call that created
//! something and immediately before `media_publish`, and the container is the witness of what
//! happened:
//!
//! ```text
//!        ┌─── EXPIRED / ERROR (never live): a new container, bounded ───┐
//!        ▼                                                             │
//! (none) ─create─► ContainerCreated ─poll: FINISHED─► ContainerReady ─record─► PublishSent ─send─► Published
//!                                                          ▲   quota spent: defer  │              (media id,
//!                                          definite refusal│                       │ ambiguous      permalink)
//!                                                          └───────────────────────┤ answer or crash   ▲
//!                                                                                  ▼                   │
//!                                           reconcile by the container: PUBLISHED ─────────────────────┘
//!                                           FINISHED before the grace → wait; after it → send again (same container)
//! ```
//!
//! - **Never a second container while the first may still go live.** A new container is
//!   created only when the old one is `EXPIRED` or in `ERROR` (it can never go live), or when
//!   it belongs to an earlier approval whose last `media_publish` is older than the grace.
//! - **`media_publish` is sent again only on the same container**, and only after
//!   [`PublishPolicy::reconcile_grace`] has passed since the last request with the container
//!   still `FINISHED`: Meta's delayed answers are over by then, so the container's status is
//!   final.
//! - **Every published post ends with its media id and permalink.** A publish confirmed by the
//!   container (after a crash or an ambiguous answer) recovers them from the account's media,
//!   matched on caption and publish time ([`MediaQuery::pick`]); never "the first item".
//! - **The quota is read at most once per account** per [`QuotaBook::max_age`], shared by every
//!   run that uses the same book.
//!
//! On the happy path a single image costs four Graph calls: create, status, publish, permalink
//! (plus one quota read per account and book reading).

mod policy;
mod quota;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ports::{
    ContainerId, ContainerSpec, ContainerStatus, JournalEntry, MediaLookup, MediaProbe, MediaQuery,
    MediaReach, MediaSource, PublishAccount, PublishError, PublishErrorKind, PublishJournal,
    PublishResult, PublishStep, SocialPublisher,
};
use crate::{Clock, MediaKind, PostId, PublishFailure, PublishPermit, StoreError};
use policy::{after, before};
use quota::Reservation;

pub use policy::PublishPolicy;
pub use quota::QuotaBook;

/// Why a publish was put off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferReason {
    /// Meta throttled the app or account.
    RateLimited,
    /// The account's publishing quota is spent.
    QuotaSpent,
    /// The container is still processing.
    NotReady,
    /// A temporary failure outlasted this run's retries.
    Transient,
    /// `media_publish` was sent and its outcome is not settled yet: the container is read again
    /// once the reconcile grace has passed.
    OutcomeUnknown,
    /// The post is live; its media id or permalink is still being recovered.
    RecoveringMedia,
}

/// The result of one orchestration run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Live on Instagram.
    Published {
        /// Instagram's media id: `None` only when no media item of the account matched the
        /// post unambiguously for [`PublishPolicy::media_lookup_for`] (a wrong id is never
        /// guessed).
        media_id: Option<String>,
        /// The permalink; `None` only when it could not be read within the same time.
        permalink: Option<String>,
        /// When the orchestration learned it.
        at: DateTime<Utc>,
    },
    /// Try again later; progress is saved.
    Deferred {
        /// Not before this instant.
        until: DateTime<Utc>,
        /// Why.
        reason: DeferReason,
    },
    /// The token is invalid or a permission is missing: the owner must reconnect.
    NeedsReconnect {
        /// What Meta said (safe to show; no token).
        message: String,
    },
    /// Failed for good; the owner may edit and approve again when `retryable`.
    Failed(PublishFailure),
}

/// The orchestration could not persist its progress. Nothing after the failed write was done;
/// run it again later (it resumes from the last recorded step).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publish progress could not be recorded: {0}")]
pub struct OrchestrationError(#[from] pub StoreError);

/// How many times one run reads the account's media (or a permalink) before deferring.
const LOOKUPS_PER_RUN: u32 = 3;

/// How far back a container can have been published when the journal does not say: its
/// lifetime.
const CONTAINER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Drives a [`PublishPermit`] to Instagram through the [`SocialPublisher`] port.
///
/// Each [`PublishOrchestrator::run`] goes as far as it can and records a recovery point in the
/// [`PublishJournal`] after every step; a run that ends [`PublishOutcome::Deferred`] (or a
/// process that dies mid-way) is resumed by running the same permit again, and never posts
/// twice. In production the publisher is kraftsoci-meta's `GraphPublisher`, the journal a
/// durable store and the clock [`crate::SystemClock`]; here all three are stand-ins:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// use async_trait::async_trait;
/// use chrono::Utc;
/// use kraftsoci_core::ports::{
///     ContainerId, ContainerSpec, ContainerStatus, JournalEntry, MediaLookup, MediaQuery,
///     MediaSource, PublishAccount, PublishError, PublishJournal, PublishResult, PublishStep,
///     PublishingQuota, SocialPublisher,
/// };
/// use kraftsoci_core::*;
/// use secrecy::SecretString;
///
/// /// Recovery points in memory. A real journal commits each entry durably before `record`
/// /// returns (kraftsoci-server's SQL stores do).
/// #[derive(Default)]
/// struct MemoryJournal(Mutex<HashMap<PostId, JournalEntry>>);
///
/// #[async_trait]
/// impl PublishJournal for MemoryJournal {
///     async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
///         Ok(self.0.lock().unwrap().get(&post).cloned())
///     }
///     async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
///         self.0.lock().unwrap().insert(post, entry.clone());
///         Ok(())
///     }
///     async fn clear(&self, post: PostId) -> Result<(), StoreError> {
///         self.0.lock().unwrap().remove(&post);
///         Ok(())
///     }
/// }
///
/// /// An Instagram where every container is ready at once and every publish succeeds.
/// struct InstantInstagram;
///
/// #[async_trait]
/// impl SocialPublisher for InstantInstagram {
///     async fn create_container(
///         &self,
///         _: &PublishAccount,
///         spec: &ContainerSpec,
///     ) -> Result<ContainerId, PublishError> {
///         assert_eq!(spec.items.len(), 1);
///         Ok(ContainerId::new("c1"))
///     }
///     async fn container_status(
///         &self,
///         _: &PublishAccount,
///         _: &ContainerId,
///     ) -> Result<ContainerStatus, PublishError> {
///         Ok(ContainerStatus::Finished)
///     }
///     async fn publish(
///         &self,
///         _: &PublishAccount,
///         _: &ContainerId,
///     ) -> Result<PublishResult, PublishError> {
///         Ok(PublishResult::Published { media_id: "m1".into() })
///     }
///     async fn publishing_quota(
///         &self,
///         _: &PublishAccount,
///     ) -> Result<PublishingQuota, PublishError> {
///         Ok(PublishingQuota { used: 3, total: 50, window: Duration::from_secs(86_400) })
///     }
///     async fn permalink(
///         &self,
///         _: &PublishAccount,
///         _: &str,
///     ) -> Result<Option<String>, PublishError> {
///         Ok(Some("https://www.instagram.com/p/m1/".into()))
///     }
///     async fn find_media(
///         &self,
///         _: &PublishAccount,
///         _: &MediaQuery,
///     ) -> Result<MediaLookup, PublishError> {
///         Ok(MediaLookup::NotFound)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The owner approved exactly this content for this account; the permit proves it.
/// let owner = UserId::new();
/// let target = IgUserId::parse("17841405822304914")?;
/// let content = PostContent {
///     caption: Caption::parse("Fresh simit, straight from the oven")?,
///     hashtags: vec![Hashtag::parse("#simit")?],
///     alt_text: None,
///     media_kind: MediaKind::Image,
///     media: vec![MediaDigest::of(b"jpeg bytes")],
///     target: None,
/// };
/// let mut post = Post::generated(owner, content, Utc::now())?;
/// post.approve(Approval {
///     user: owner,
///     shown_hash: post.content_hash(),
///     target: target.clone(),
///     at: Utc::now(),
///     ip: None,
///     user_agent: None,
///     scheduled_for: None,
///     api_key: None,
/// })?;
/// let permit = post.begin_publishing(Utc::now(), &Restrictions::default())?;
///
/// let journal = Arc::new(MemoryJournal::default());
/// let orchestrator = PublishOrchestrator::new(
///     Arc::new(InstantInstagram),
///     journal.clone(),
///     // Waits advance this clock instead of sleeping; use `SystemClock` in production.
///     Arc::new(ManualClock::new(Utc::now())),
///     PublishPolicy::default(),
/// )
/// // One book for every run of a worker: the quota is read once per account and max age.
/// .with_quotas(Arc::new(QuotaBook::default()));
///
/// let account = PublishAccount { ig_user_id: target, access_token: SecretString::from("EAAG…") };
/// let media = [MediaSource { url: "https://media.example/signed/simit.jpg".into(), is_video: false }];
/// match orchestrator.run(&permit, &account, &media).await? {
///     PublishOutcome::Published { media_id, permalink, .. } => {
///         assert_eq!(media_id.as_deref(), Some("m1"));
///         assert_eq!(permalink.as_deref(), Some("https://www.instagram.com/p/m1/"));
///     }
///     // Progress is in the journal: run the same permit again after `until`.
///     PublishOutcome::Deferred { until, reason } => panic!("deferred to {until}: {reason:?}"),
///     other => panic!("{other:?}"),
/// }
/// let recorded = journal.0.lock().unwrap().get(&permit.post()).map(|entry| entry.step.clone());
/// assert!(matches!(recorded, Some(PublishStep::Published { .. })));
/// # Ok(())
/// # }
/// ```
pub struct PublishOrchestrator {
    publisher: Arc<dyn SocialPublisher>,
    journal: Arc<dyn PublishJournal>,
    clock: Arc<dyn Clock>,
    policy: PublishPolicy,
    quotas: Arc<QuotaBook>,
    probe: Option<Arc<dyn MediaProbe>>,
}

/// One run's fixed inputs.
struct Run<'a> {
    permit: &'a PublishPermit,
    account: &'a PublishAccount,
    media: &'a [MediaSource],
    post: PostId,
    approved_at: DateTime<Utc>,
}

/// A `media_publish` request recorded in the journal.
#[derive(Debug, Clone)]
struct Sent {
    container: ContainerId,
    at: DateTime<Utc>,
    sends: u32,
    first_at: DateTime<Utc>,
    refused: Option<PublishFailure>,
}

impl Sent {
    fn step(&self) -> PublishStep {
        PublishStep::PublishSent {
            container: self.container.clone(),
            at: self.at,
            sends: self.sends,
            first_at: Some(self.first_at),
            refused: self.refused.clone(),
        }
    }
}

/// A post known to be live, with what is known of it.
#[derive(Debug, Clone)]
struct Live {
    container: ContainerId,
    media_id: Option<String>,
    permalink: Option<String>,
    at: DateTime<Utc>,
    since: DateTime<Utc>,
}

impl Live {
    fn step(&self) -> PublishStep {
        PublishStep::Published {
            container: self.container.clone(),
            media_id: self.media_id.clone(),
            permalink: self.permalink.clone(),
            at: self.at,
            since: Some(self.since),
        }
    }
}

/// The orchestration as a state machine: each state does one thing and names the next.
#[derive(Debug)]
enum Next {
    /// Create a new container.
    Create,
    /// Wait for the container to finish processing; `fresh` waits before the first read.
    Poll { container: ContainerId, fresh: bool },
    /// Send `media_publish`: the first time (`previous` is `None`) or again.
    Publish {
        container: ContainerId,
        previous: Option<Sent>,
    },
    /// A request was sent and its outcome is open: ask the container.
    Reconcile(Sent),
    /// Live: recover the media id and permalink.
    Complete(Live),
    /// The container can never go live: a new one, or this failure when the budget is spent.
    Recreate(PublishFailure),
    /// Settled for this run.
    Done(PublishOutcome),
}

type Step = Result<Next, OrchestrationError>;

impl PublishOrchestrator {
    /// A new orchestrator, with its own [`QuotaBook`] (share one with
    /// [`PublishOrchestrator::with_quotas`]) and no media probe.
    pub fn new(
        publisher: Arc<dyn SocialPublisher>,
        journal: Arc<dyn PublishJournal>,
        clock: Arc<dyn Clock>,
        policy: PublishPolicy,
    ) -> Self {
        Self {
            publisher,
            journal,
            clock,
            policy,
            quotas: Arc::new(QuotaBook::default()),
            probe: None,
        }
    }

    /// Uses `quotas` for the publishing quota, so that the runs sharing it read each account's
    /// quota at most once per [`QuotaBook::max_age`] (for example one book per claim batch, or
    /// one per worker process).
    pub fn with_quotas(mut self, quotas: Arc<QuotaBook>) -> Self {
        self.quotas = quotas;
        self
    }

    /// Probes each media URL before a container is created, and waits with back-off while
    /// one is unreachable ([`PublishPolicy::media_fetch_retry_for`]).
    pub fn with_media_probe(mut self, probe: Arc<dyn MediaProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// The policy.
    pub fn policy(&self) -> &PublishPolicy {
        &self.policy
    }

    /// Runs (or resumes) the publish of `permit`'s post as `account`, with its media at
    /// `media` (public, signed URLs, in the order of the content's media digests).
    ///
    /// The permit is the proof that the owner's consent matches the content as it is now; a
    /// new container (after `EXPIRED` or `ERROR`) is only ever created under it, for the
    /// approval the journal's entry was written for.
    ///
    /// # Errors
    /// [`OrchestrationError`] when a recovery point could not be written; the run stopped before
    /// any further external call.
    pub async fn run(
        &self,
        permit: &PublishPermit,
        account: &PublishAccount,
        media: &[MediaSource],
    ) -> Result<PublishOutcome, OrchestrationError> {
        if account.ig_user_id != *permit.target() {
            return Ok(PublishOutcome::Failed(failure(
                "wrong_account",
                "the connected account is not the one this post was approved for",
                false,
            )));
        }
        let run = Run {
            permit,
            account,
            media,
            post: permit.post(),
            approved_at: permit.receipt().approved_at(),
        };
        let mut next = match self.journal.load(run.post).await? {
            None => Next::Create,
            Some(entry) if entry.approved_at == run.approved_at => self.resume(entry.step),
            Some(earlier) => match self.earlier_send_open_until(&earlier) {
                // An earlier approval's request may still make its container go live: never a
                // second container before its grace is over.
                Some(until) => Next::Done(PublishOutcome::Deferred {
                    until,
                    reason: DeferReason::OutcomeUnknown,
                }),
                None => Next::Create,
            },
        };
        let mut recreations = 0;
        loop {
            next = match next {
                Next::Create => self.create(&run).await?,
                Next::Poll { container, fresh } => self.poll(&run, container, fresh).await?,
                Next::Publish {
                    container,
                    previous,
                } => self.publish(&run, container, previous).await?,
                Next::Reconcile(sent) => self.reconcile(&run, sent).await?,
                Next::Complete(live) => self.complete(&run, live).await?,
                Next::Recreate(_) if recreations < self.policy.max_recreations => {
                    recreations += 1;
                    Next::Create
                }
                Next::Recreate(failure) => Next::Done(PublishOutcome::Failed(failure)),
                Next::Done(outcome) => return Ok(outcome),
            };
        }
    }

    /// Where a run resumes from its approval's last recovery point.
    fn resume(&self, step: PublishStep) -> Next {
        match step {
            PublishStep::ContainerCreated { container, .. }
            | PublishStep::ContainerReady { container, .. } => Next::Poll {
                container,
                fresh: false,
            },
            PublishStep::PublishSent {
                container,
                at,
                sends,
                first_at,
                refused,
            } => Next::Reconcile(Sent {
                container,
                at,
                sends: sends.max(1),
                first_at: first_at.unwrap_or(at),
                refused,
            }),
            PublishStep::Published {
                container,
                media_id,
                permalink,
                at,
                since,
            } => Next::Complete(Live {
                container,
                media_id,
                permalink,
                at,
                since: since.unwrap_or_else(|| before(at, CONTAINER_LIFETIME)),
            }),
        }
    }

    /// When an earlier approval's last `media_publish` stops mattering, if that is still ahead.
    fn earlier_send_open_until(&self, earlier: &JournalEntry) -> Option<DateTime<Utc>> {
        match earlier.step {
            PublishStep::PublishSent { at, .. } => {
                let until = after(at, self.policy.reconcile_grace);
                (self.clock.now() < until).then_some(until)
            }
            _ => None,
        }
    }

    async fn record(&self, run: &Run<'_>, step: PublishStep) -> Result<(), OrchestrationError> {
        let entry = JournalEntry {
            approved_at: run.approved_at,
            step,
        };
        self.journal
            .record(run.post, &entry)
            .await
            .map_err(OrchestrationError)
    }

    fn defer(&self, retry_after: Option<std::time::Duration>, reason: DeferReason) -> Next {
        let wait = retry_after.unwrap_or(self.policy.default_deferral);
        Next::Done(PublishOutcome::Deferred {
            until: after(self.clock.now(), wait),
            reason,
        })
    }

    /// Maps an error on a call that certainly did not publish anything.
    fn settle(&self, error: PublishError) -> Next {
        let failed = |code: &str, message: &str, retryable| {
            Next::Done(PublishOutcome::Failed(failure(code, message, retryable)))
        };
        match error.kind {
            PublishErrorKind::ReconnectNeeded => Next::Done(PublishOutcome::NeedsReconnect {
                message: error.message,
            }),
            PublishErrorKind::PermissionMissing { permission } => {
                Next::Done(PublishOutcome::NeedsReconnect {
                    message: match permission {
                        Some(p) => format!("the Instagram permission {p} must be granted again"),
                        None => error.message,
                    },
                })
            }
            PublishErrorKind::RateLimited { retry_after } => {
                self.defer(retry_after, DeferReason::RateLimited)
            }
            PublishErrorKind::PublishLimit { retry_after } => {
                self.defer(retry_after, DeferReason::QuotaSpent)
            }
            PublishErrorKind::NotReady => self.defer(None, DeferReason::NotReady),
            PublishErrorKind::Transient
            | PublishErrorKind::OutcomeUnknown
            | PublishErrorKind::Unknown => self.defer(None, DeferReason::Transient),
            PublishErrorKind::MediaFetchFailed { reason } => failed(
                "media_unreachable",
                &format!(
                    "Instagram could not download the image ({reason}); approve it again once \
                     the image is reachable"
                ),
                true,
            ),
            PublishErrorKind::InvalidMedia { reason } => failed(
                "invalid_media",
                &format!("Instagram refused the media: {reason}"),
                false,
            ),
            PublishErrorKind::AccountRestricted => failed(
                "account_restricted",
                "the Instagram account is restricted; resolve it in Instagram, then approve again",
                true,
            ),
            PublishErrorKind::ActivityRestricted => {
                Next::Done(PublishOutcome::Failed(activity_restricted()))
            }
            PublishErrorKind::Invalid => failed(
                "invalid_request",
                &format!("Instagram rejected the post: {}", error.message),
                false,
            ),
        }
    }

    /// Creates a container: probes the media first (when a probe is set), waits with back-off
    /// while the media cannot be fetched, retries transient failures a bounded number of times.
    async fn create(&self, run: &Run<'_>) -> Step {
        let spec = match container_spec(run.permit, run.media) {
            Ok(spec) => spec,
            Err(outcome) => return Ok(Next::Done(outcome)),
        };
        // A container made now could not be published: do not spend one of the 400 a day.
        if let Some(until) = self
            .quotas
            .known_spent(&run.account.ig_user_id, self.clock.now())
            .await
        {
            return Ok(Next::Done(PublishOutcome::Deferred {
                until,
                reason: DeferReason::QuotaSpent,
            }));
        }
        let mut fetch = FetchWait::default();
        let mut attempt = 0;
        loop {
            if let Some(probe) = &self.probe {
                match probe_all(&**probe, &spec.items).await {
                    MediaReach::Reachable => {}
                    MediaReach::Gone { reason } => {
                        return Ok(Next::Done(PublishOutcome::Failed(failure(
                            "media_missing",
                            &format!(
                                "the image cannot be served to Instagram ({reason}); generate \
                                 it again and approve the post"
                            ),
                            false,
                        ))));
                    }
                    MediaReach::Unreachable { reason } => {
                        match self.wait_for_media(&mut fetch, &reason).await {
                            Some(done) => return Ok(done),
                            None => continue,
                        }
                    }
                }
            }
            match self.publisher.create_container(run.account, &spec).await {
                Ok(container) => {
                    let at = self.clock.now();
                    self.record(
                        run,
                        PublishStep::ContainerCreated {
                            container: container.clone(),
                            at,
                        },
                    )
                    .await?;
                    return Ok(Next::Poll {
                        container,
                        fresh: true,
                    });
                }
                Err(PublishError {
                    kind: PublishErrorKind::MediaFetchFailed { reason },
                    ..
                }) => {
                    if let Some(done) = self.wait_for_media(&mut fetch, &reason).await {
                        return Ok(done);
                    }
                }
                Err(e) if is_transient(&e) && attempt + 1 < self.policy.max_create_attempts => {
                    self.clock.sleep(self.policy.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Ok(self.settle(e)),
            }
        }
    }

    /// Sleeps before the next try while the media-fetch budget lasts; the failure once it is
    /// spent.
    async fn wait_for_media(&self, fetch: &mut FetchWait, reason: &str) -> Option<Next> {
        let now = self.clock.now();
        let since = *fetch.since.get_or_insert(now);
        if now >= after(since, self.policy.media_fetch_retry_for) {
            let minutes = self.policy.media_fetch_retry_for.as_secs().div_ceil(60);
            return Some(Next::Done(PublishOutcome::Failed(failure(
                "media_unreachable",
                &format!(
                    "Instagram could not download the image for {minutes} minutes ({reason}); \
                     approve the post again once the image is reachable"
                ),
                true,
            ))));
        }
        self.clock
            .sleep(self.policy.spaced_backoff(fetch.attempt))
            .await;
        fetch.attempt += 1;
        None
    }

    /// Reads the container until it is `FINISHED`, with back-off.
    async fn poll(&self, run: &Run<'_>, container: ContainerId, fresh: bool) -> Step {
        for attempt in 0..self.policy.max_polls {
            if attempt > 0 {
                self.clock.sleep(self.policy.backoff(attempt - 1)).await;
            } else if fresh && !self.policy.first_poll_after.is_zero() {
                self.clock.sleep(self.policy.first_poll_after).await;
            }
            match self
                .publisher
                .container_status(run.account, &container)
                .await
            {
                Ok(ContainerStatus::Finished) => {
                    let at = self.clock.now();
                    self.record(
                        run,
                        PublishStep::ContainerReady {
                            container: container.clone(),
                            at,
                        },
                    )
                    .await?;
                    return Ok(Next::Publish {
                        container,
                        previous: None,
                    });
                }
                Ok(ContainerStatus::Published) => {
                    // Live although this approval sent no media_publish for it: no lower bound
                    // but the container's lifetime.
                    let since = before(self.clock.now(), CONTAINER_LIFETIME);
                    return self.live(run, container, None, since).await;
                }
                Ok(ContainerStatus::Expired) => return Ok(Next::Recreate(expired())),
                Ok(ContainerStatus::Error { reason, kind }) => return Ok(dead(&reason, &kind)),
                Ok(ContainerStatus::InProgress) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => return Ok(self.settle(e)),
            }
        }
        Ok(self.defer(Some(self.policy.max_backoff), DeferReason::NotReady))
    }

    /// Sends `media_publish` once: the quota first (from the book), then the recovery point,
    /// then the request, and nothing in between.
    async fn publish(&self, run: &Run<'_>, container: ContainerId, previous: Option<Sent>) -> Step {
        match self
            .quotas
            .reserve(&*self.publisher, &*self.clock, run.account)
            .await
        {
            Reservation::Granted => {}
            Reservation::Spent { until } => {
                return Ok(Next::Done(PublishOutcome::Deferred {
                    until,
                    reason: DeferReason::QuotaSpent,
                }));
            }
            Reservation::Refused(error) => return Ok(self.settle(error)),
        }
        let now = self.clock.now();
        let sent = Sent {
            container,
            at: now,
            sends: previous.as_ref().map_or(1, |p| p.sends.saturating_add(1)),
            first_at: previous.as_ref().map_or(now, |p| p.first_at),
            refused: None,
        };
        self.record(run, sent.step()).await?;

        let answer = self.publisher.publish(run.account, &sent.container).await;
        let error = match answer {
            Ok(PublishResult::Published { media_id }) => {
                return self
                    .live(run, sent.container, Some(media_id), sent.first_at)
                    .await;
            }
            // Meta says it is live already: the container confirms it.
            Ok(PublishResult::AlreadyPublished) => return Ok(Next::Reconcile(sent)),
            Err(error) => error,
        };
        match error.kind {
            // Refused before anything was published: step back, so the next run polls and
            // publishes (the journal no longer claims a request in flight).
            PublishErrorKind::NotReady
            | PublishErrorKind::PublishLimit { .. }
            | PublishErrorKind::RateLimited { .. }
            | PublishErrorKind::ReconnectNeeded
            | PublishErrorKind::PermissionMissing { .. }
            | PublishErrorKind::InvalidMedia { .. }
            | PublishErrorKind::AccountRestricted
            | PublishErrorKind::Invalid => {
                self.quotas.release(&run.account.ig_user_id).await;
                if matches!(error.kind, PublishErrorKind::PublishLimit { .. }) {
                    self.quotas
                        .mark_spent(&run.account.ig_user_id, self.clock.now())
                        .await;
                }
                let at = self.clock.now();
                self.record(
                    run,
                    PublishStep::ContainerReady {
                        container: sent.container,
                        at,
                    },
                )
                .await?;
                Ok(self.settle(error))
            }
            // A refusal known to come with live posts: remembered, then the container decides.
            PublishErrorKind::ActivityRestricted => {
                let sent = Sent {
                    refused: Some(activity_restricted()),
                    ..sent
                };
                self.record(run, sent.step()).await?;
                Ok(Next::Reconcile(sent))
            }
            // Ambiguous: the publish may have happened. The container decides.
            PublishErrorKind::Transient
            | PublishErrorKind::OutcomeUnknown
            | PublishErrorKind::Unknown
            | PublishErrorKind::MediaFetchFailed { .. } => Ok(Next::Reconcile(sent)),
        }
    }

    /// Settles a sent request by the container's status, sending again (same container) only
    /// once the grace is over and the container is still unpublished.
    async fn reconcile(&self, run: &Run<'_>, sent: Sent) -> Step {
        let now = self.clock.now();
        let grace_ends = after(sent.at, self.policy.reconcile_grace);
        let status = match self
            .publisher
            .container_status(run.account, &sent.container)
            .await
        {
            Ok(status) => status,
            Err(e) => {
                return Ok(match e.kind {
                    PublishErrorKind::ReconnectNeeded => {
                        Next::Done(PublishOutcome::NeedsReconnect { message: e.message })
                    }
                    PublishErrorKind::RateLimited { retry_after } => {
                        self.defer(retry_after, DeferReason::OutcomeUnknown)
                    }
                    _ if now < grace_ends => Next::Done(PublishOutcome::Deferred {
                        until: grace_ends,
                        reason: DeferReason::OutcomeUnknown,
                    }),
                    _ => self.defer(None, DeferReason::OutcomeUnknown),
                });
            }
        };
        match status {
            ContainerStatus::Published => self.live(run, sent.container, None, sent.first_at).await,
            ContainerStatus::Finished | ContainerStatus::InProgress if now < grace_ends => {
                Ok(Next::Done(PublishOutcome::Deferred {
                    until: grace_ends,
                    reason: DeferReason::OutcomeUnknown,
                }))
            }
            // After the grace a container still processing is not ready for a request.
            ContainerStatus::InProgress => Ok(self.defer(None, DeferReason::OutcomeUnknown)),
            // After the grace: no earlier request published it, and none will.
            ContainerStatus::Finished => Ok(match sent.refused {
                Some(refused) => Next::Done(PublishOutcome::Failed(refused)),
                None if sent.sends >= self.policy.max_publish_sends => {
                    Next::Done(PublishOutcome::Failed(failure(
                        "publish_unconfirmed",
                        "Instagram did not take the post after several tries and it is not \
                         live; approve it again to retry",
                        true,
                    )))
                }
                None => Next::Publish {
                    container: sent.container.clone(),
                    previous: Some(sent),
                },
            }),
            // Never live, and never will be: a new container under the same permit.
            ContainerStatus::Expired => Ok(Next::Recreate(expired())),
            ContainerStatus::Error { reason, kind } => Ok(dead(&reason, &kind)),
        }
    }

    /// Records that the post is live, then goes on to recover what is missing.
    async fn live(
        &self,
        run: &Run<'_>,
        container: ContainerId,
        media_id: Option<String>,
        since: DateTime<Utc>,
    ) -> Step {
        let live = Live {
            container,
            media_id,
            permalink: None,
            at: self.clock.now(),
            since,
        };
        self.record(run, live.step()).await?;
        Ok(Next::Complete(live))
    }

    /// Recovers the media id (from the account's media) and the permalink of a live post. A
    /// failed read never makes a live post fail: it is tried again for
    /// [`PublishPolicy::media_lookup_for`], then the post settles with what is known.
    async fn complete(&self, run: &Run<'_>, mut live: Live) -> Step {
        if live.media_id.is_none() {
            let query = MediaQuery {
                container: live.container.clone(),
                kind: run.permit.content().media_kind,
                caption: caption_of(run.permit),
                published_after: live.since,
                published_before: self.clock.now(),
            };
            for attempt in 0..LOOKUPS_PER_RUN {
                if attempt > 0 {
                    self.clock.sleep(self.policy.backoff(attempt - 1)).await;
                }
                match self.publisher.find_media(run.account, &query).await {
                    Ok(MediaLookup::Found(found)) => {
                        live.media_id = Some(found.media_id);
                        live.permalink = found.permalink;
                        self.record(run, live.step()).await?;
                        break;
                    }
                    // Waiting will not tell two equal posts apart.
                    Ok(MediaLookup::Ambiguous { .. }) => break,
                    Err(e) if e.kind == PublishErrorKind::ReconnectNeeded => break,
                    Ok(MediaLookup::NotFound) | Err(_) => {}
                }
            }
        }
        if let (Some(media_id), None) = (&live.media_id, &live.permalink) {
            for attempt in 0..LOOKUPS_PER_RUN {
                if attempt > 0 {
                    self.clock.sleep(self.policy.backoff(attempt - 1)).await;
                }
                match self.publisher.permalink(run.account, media_id).await {
                    Ok(Some(link)) => {
                        live.permalink = Some(link);
                        self.record(run, live.step()).await?;
                        break;
                    }
                    Err(e) if e.kind == PublishErrorKind::ReconnectNeeded => break,
                    Ok(None) | Err(_) => {}
                }
            }
        }
        let complete = live.media_id.is_some() && live.permalink.is_some();
        let now = self.clock.now();
        let lookup_ends = after(live.at, self.policy.media_lookup_for);
        if !complete && now < lookup_ends {
            return Ok(Next::Done(PublishOutcome::Deferred {
                until: after(now, self.policy.media_lookup_every).min(lookup_ends),
                reason: DeferReason::RecoveringMedia,
            }));
        }
        Ok(Next::Done(PublishOutcome::Published {
            media_id: live.media_id,
            permalink: live.permalink,
            at: live.at,
        }))
    }
}

/// The media-fetch budget of one `create`.
#[derive(Debug, Default)]
struct FetchWait {
    since: Option<DateTime<Utc>>,
    attempt: u32,
}

/// Probes every item; the first one that is not reachable decides.
async fn probe_all(probe: &dyn MediaProbe, items: &[MediaSource]) -> MediaReach {
    for item in items {
        match probe.probe(item).await {
            MediaReach::Reachable => {}
            other => return other,
        }
    }
    MediaReach::Reachable
}

/// A container that failed processing: a new one when the reason is passing (the media could
/// not be fetched, Meta failed), the failure otherwise.
fn dead(reason: &str, kind: &PublishErrorKind) -> Next {
    match kind {
        PublishErrorKind::MediaFetchFailed { .. } => Next::Recreate(failure(
            "media_unreachable",
            &format!("Instagram could not download the image: {reason}; approve it again"),
            true,
        )),
        PublishErrorKind::Transient | PublishErrorKind::Unknown | PublishErrorKind::NotReady => {
            Next::Recreate(failure(
                "media_processing_failed",
                &format!("Instagram could not process the media: {reason}; approve it again"),
                true,
            ))
        }
        _ => Next::Done(PublishOutcome::Failed(failure(
            "media_processing_failed",
            &format!("Instagram could not process the media: {reason}"),
            false,
        ))),
    }
}

fn expired() -> PublishFailure {
    failure(
        "publish_expired",
        "Instagram discarded the prepared post before it could be published; approve it again",
        true,
    )
}

fn activity_restricted() -> PublishFailure {
    failure(
        "activity_restricted",
        "Instagram blocked the post as restricted or spam-like activity and it is not live; \
         wait a while, then approve it again",
        true,
    )
}

fn is_transient(error: &PublishError) -> bool {
    matches!(error.kind, PublishErrorKind::Transient)
}

fn failure(code: &str, message: &str, retryable: bool) -> PublishFailure {
    PublishFailure {
        code: code.to_owned(),
        message: message.to_owned(),
        retryable,
    }
}

/// The caption exactly as the container was created with it (stories have none).
fn caption_of(permit: &PublishPermit) -> Option<String> {
    match permit.content().media_kind {
        MediaKind::Story => None,
        _ => Some(permit.text().as_str().to_owned()),
    }
}

/// Builds the container request from the approved content; refuses content that cannot be
/// published as approved (no media, or media that does not match the approved digests).
fn container_spec(
    permit: &PublishPermit,
    media: &[MediaSource],
) -> Result<ContainerSpec, PublishOutcome> {
    let content = permit.content();
    if media.is_empty() || media.len() != content.media.len() {
        return Err(PublishOutcome::Failed(failure(
            "media_missing",
            "an Instagram post needs its image; generate one and approve again",
            false,
        )));
    }
    let valid_count = match content.media_kind {
        MediaKind::Carousel => (2..=10).contains(&media.len()),
        MediaKind::Image | MediaKind::Reel | MediaKind::Story => media.len() == 1,
    };
    if !valid_count {
        return Err(PublishOutcome::Failed(failure(
            "invalid_media",
            "the number of media items does not fit the post type",
            false,
        )));
    }
    let alt_text = match content.media_kind {
        MediaKind::Image | MediaKind::Carousel => {
            content.alt_text.as_ref().map(|a| a.as_str().to_owned())
        }
        MediaKind::Reel | MediaKind::Story => None,
    };
    Ok(ContainerSpec {
        kind: content.media_kind,
        caption: caption_of(permit),
        alt_text,
        items: media.to_vec(),
    })
}

#[cfg(test)]
mod tests;
