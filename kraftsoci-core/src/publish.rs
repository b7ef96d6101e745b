//! Publish orchestration: from a [`PublishPermit`] to a post on Instagram, exactly once.
//!
//! Publishing takes two Graph calls, neither idempotent: create a container, then
//! `media_publish`. Exactly-once delivery is impossible against such an API, so the
//! orchestration persists a recovery point ([`PublishStep`]) before and after every external
//! call and **never sends `media_publish` twice for one approval**:
//!
//! ```text
//! (none) ─create─► ContainerCreated ─poll FINISHED─► ContainerReady ─record─► PublishSent ─► Published
//!                        ▲    EXPIRED: recreate            │ quota spent: defer     │
//!                        └─────────────────────────────────┘                        │ ambiguous answer
//!                                                                                   ▼ or crash
//!                                                         reconcile: container PUBLISHED → done,
//!                                                         anything else → never published again
//! ```
//!
//! A post found in `PublishSent` (after a crash, a timeout, a 5xx…) is *reconciled* by asking
//! for the container's status; `PUBLISHED` means done. If the container is still unpublished,
//! the approval is spent: after a grace period the post fails with a retryable reason, and the
//! owner's next click starts a new approval with a new container.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::ports::{
    ContainerId, ContainerSpec, ContainerStatus, JournalEntry, MediaSource, PublishAccount,
    PublishError, PublishErrorKind, PublishJournal, PublishResult, PublishStep, SocialPublisher,
};
use crate::{Clock, MediaKind, PostId, PublishFailure, PublishPermit, StoreError};

/// Bounds and back-off of one orchestration run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPolicy {
    /// Container-creation attempts per run on transient errors.
    pub max_create_attempts: u32,
    /// Status polls per run before deferring.
    pub max_polls: u32,
    /// First back-off delay (polls and retries).
    pub initial_backoff: Duration,
    /// Largest back-off delay.
    pub max_backoff: Duration,
    /// How long to wait before retrying when Meta gives no hint.
    pub default_deferral: Duration,
    /// How long a container found unpublished after `media_publish` was sent is given before the
    /// post is failed (a publish may still be landing).
    pub unconfirmed_grace: Duration,
    /// How many times an `EXPIRED` container is recreated in one run.
    pub max_recreations: u32,
}

impl Default for PublishPolicy {
    fn default() -> Self {
        Self {
            max_create_attempts: 3,
            max_polls: 10,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            default_deferral: Duration::from_secs(300),
            unconfirmed_grace: Duration::from_secs(600),
            max_recreations: 1,
        }
    }
}

impl PublishPolicy {
    /// Full-jitter exponential back-off: a random delay in `[0, min(max, initial·2^attempt)]`,
    /// never less than 10 ms.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.max_backoff);
        let millis = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(10);
        Duration::from_millis(rand::thread_rng().gen_range(10..=millis))
    }
}

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
    /// `media_publish` was sent and its outcome is not yet known: the next run reconciles.
    OutcomeUnknown,
}

/// The result of one orchestration run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Live on Instagram.
    Published {
        /// Instagram's media id (unknown when confirmed by reconciliation).
        media_id: Option<String>,
        /// The permalink, when the best-effort read worked.
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

/// Drives a [`PublishPermit`] to Instagram through the [`SocialPublisher`] port.
pub struct PublishOrchestrator {
    publisher: Arc<dyn SocialPublisher>,
    journal: Arc<dyn PublishJournal>,
    clock: Arc<dyn Clock>,
    policy: PublishPolicy,
}

enum Flow {
    Done(PublishOutcome),
    Continue(ContainerId),
}

impl PublishOrchestrator {
    /// A new orchestrator.
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
        }
    }

    /// Runs (or resumes) the publish of `permit`'s post as `account`, with its media at
    /// `media` (public, signed URLs, in the order of the content's media digests).
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
        let post = permit.post();
        let approved_at = permit.receipt().approved_at();
        let entry = self
            .journal
            .load(post)
            .await?
            .filter(|entry| entry.approved_at == approved_at);

        let container = match entry.map(|e| e.step) {
            Some(PublishStep::Published {
                media_id,
                permalink,
                at,
                ..
            }) => {
                return Ok(PublishOutcome::Published {
                    media_id,
                    permalink,
                    at,
                });
            }
            Some(PublishStep::PublishSent { container, at }) => {
                return self
                    .reconcile(post, approved_at, account, container, at)
                    .await;
            }
            Some(PublishStep::ContainerCreated { container, .. })
            | Some(PublishStep::ContainerReady { container, .. }) => container,
            None => match self
                .create(post, approved_at, permit, account, media)
                .await?
            {
                Flow::Done(outcome) => return Ok(outcome),
                Flow::Continue(container) => container,
            },
        };

        let mut container = container;
        let mut recreations = 0;
        loop {
            match self.poll(post, approved_at, account, &container).await? {
                Poll::Ready => break,
                Poll::Done(outcome) => return Ok(outcome),
                Poll::Expired if recreations < self.policy.max_recreations => {
                    recreations += 1;
                    match self
                        .create(post, approved_at, permit, account, media)
                        .await?
                    {
                        Flow::Done(outcome) => return Ok(outcome),
                        Flow::Continue(fresh) => container = fresh,
                    }
                }
                Poll::Expired => return Ok(self.defer(None, DeferReason::NotReady)),
            }
        }
        self.publish(post, approved_at, account, container).await
    }

    async fn record(
        &self,
        post: PostId,
        approved_at: DateTime<Utc>,
        step: PublishStep,
    ) -> Result<(), OrchestrationError> {
        self.journal
            .record(post, &JournalEntry { approved_at, step })
            .await
            .map_err(OrchestrationError)
    }

    fn defer(&self, retry_after: Option<Duration>, reason: DeferReason) -> PublishOutcome {
        let wait = retry_after.unwrap_or(self.policy.default_deferral);
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1));
        PublishOutcome::Deferred {
            until: self.clock.now() + wait,
            reason,
        }
    }

    /// Maps an error on a call that certainly did not publish anything.
    fn settle(&self, error: PublishError) -> PublishOutcome {
        match error.kind {
            PublishErrorKind::ReconnectNeeded => PublishOutcome::NeedsReconnect {
                message: error.message,
            },
            PublishErrorKind::PermissionMissing { permission } => PublishOutcome::NeedsReconnect {
                message: match permission {
                    Some(p) => format!("the Instagram permission {p} must be granted again"),
                    None => error.message,
                },
            },
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
            PublishErrorKind::InvalidMedia { reason } => PublishOutcome::Failed(failure(
                "invalid_media",
                &format!("Instagram refused the media: {reason}"),
                false,
            )),
            PublishErrorKind::AccountRestricted => PublishOutcome::Failed(failure(
                "account_restricted",
                "the Instagram account is restricted; resolve it in Instagram, then approve again",
                true,
            )),
            PublishErrorKind::Invalid => PublishOutcome::Failed(failure(
                "invalid_request",
                &format!("Instagram rejected the post: {}", error.message),
                false,
            )),
        }
    }

    async fn create(
        &self,
        post: PostId,
        approved_at: DateTime<Utc>,
        permit: &PublishPermit,
        account: &PublishAccount,
        media: &[MediaSource],
    ) -> Result<Flow, OrchestrationError> {
        let spec = match container_spec(permit, media) {
            Ok(spec) => spec,
            Err(outcome) => return Ok(Flow::Done(outcome)),
        };
        let mut attempt = 0;
        loop {
            match self.publisher.create_container(account, &spec).await {
                Ok(container) => {
                    let at = self.clock.now();
                    self.record(
                        post,
                        approved_at,
                        PublishStep::ContainerCreated {
                            container: container.clone(),
                            at,
                        },
                    )
                    .await?;
                    return Ok(Flow::Continue(container));
                }
                Err(e) if is_transient(&e) && attempt + 1 < self.policy.max_create_attempts => {
                    self.clock.sleep(self.policy.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Ok(Flow::Done(self.settle(e))),
            }
        }
    }

    async fn poll(
        &self,
        post: PostId,
        approved_at: DateTime<Utc>,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<Poll, OrchestrationError> {
        for attempt in 0..self.policy.max_polls {
            match self.publisher.container_status(account, container).await {
                Ok(ContainerStatus::Finished) => {
                    let at = self.clock.now();
                    self.record(
                        post,
                        approved_at,
                        PublishStep::ContainerReady {
                            container: container.clone(),
                            at,
                        },
                    )
                    .await?;
                    return Ok(Poll::Ready);
                }
                Ok(ContainerStatus::Published) => {
                    // Published by someone else before we sent media_publish: it is live.
                    return Ok(Poll::Done(
                        self.confirm_published(post, approved_at, container, None, account)
                            .await?,
                    ));
                }
                Ok(ContainerStatus::Expired) => return Ok(Poll::Expired),
                Ok(ContainerStatus::Error { reason }) => {
                    return Ok(Poll::Done(PublishOutcome::Failed(failure(
                        "media_processing_failed",
                        &format!("Instagram could not process the media: {reason}"),
                        false,
                    ))));
                }
                Ok(ContainerStatus::InProgress) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => return Ok(Poll::Done(self.settle(e))),
            }
            if attempt + 1 < self.policy.max_polls {
                self.clock.sleep(self.policy.backoff(attempt)).await;
            }
        }
        Ok(Poll::Done(self.defer(
            Some(self.policy.max_backoff),
            DeferReason::NotReady,
        )))
    }

    async fn publish(
        &self,
        post: PostId,
        approved_at: DateTime<Utc>,
        account: &PublishAccount,
        container: ContainerId,
    ) -> Result<PublishOutcome, OrchestrationError> {
        match self.publisher.publishing_quota(account).await {
            Ok(quota) if quota.is_spent() => {
                return Ok(self.defer(Some(self.policy.default_deferral), DeferReason::QuotaSpent));
            }
            Ok(_) => {}
            Err(e) => return Ok(self.settle(e)),
        }

        let sent_at = self.clock.now();
        self.record(
            post,
            approved_at,
            PublishStep::PublishSent {
                container: container.clone(),
                at: sent_at,
            },
        )
        .await?;

        match self.publisher.publish(account, &container).await {
            Ok(PublishResult::Published { media_id }) => {
                self.confirm_published(post, approved_at, &container, Some(media_id), account)
                    .await
            }
            Ok(PublishResult::AlreadyPublished) => {
                self.confirm_published(post, approved_at, &container, None, account)
                    .await
            }
            Err(e) => match e.kind {
                // Refused before anything was published: step back so the next run can publish.
                PublishErrorKind::NotReady
                | PublishErrorKind::PublishLimit { .. }
                | PublishErrorKind::RateLimited { .. }
                | PublishErrorKind::ReconnectNeeded
                | PublishErrorKind::PermissionMissing { .. } => {
                    self.record(
                        post,
                        approved_at,
                        PublishStep::ContainerReady {
                            container,
                            at: self.clock.now(),
                        },
                    )
                    .await?;
                    Ok(self.settle(e))
                }
                PublishErrorKind::InvalidMedia { .. }
                | PublishErrorKind::AccountRestricted
                | PublishErrorKind::Invalid => Ok(self.settle(e)),
                // Ambiguous: the publish may have happened. Never send it again; reconcile.
                PublishErrorKind::Transient
                | PublishErrorKind::OutcomeUnknown
                | PublishErrorKind::Unknown => {
                    self.reconcile(post, approved_at, account, container, sent_at)
                        .await
                }
            },
        }
    }

    /// Resolves a post whose `media_publish` was sent, without ever sending it again.
    async fn reconcile(
        &self,
        post: PostId,
        approved_at: DateTime<Utc>,
        account: &PublishAccount,
        container: ContainerId,
        sent_at: DateTime<Utc>,
    ) -> Result<PublishOutcome, OrchestrationError> {
        let unconfirmed = |this: &Self| {
            let grace = chrono::Duration::from_std(this.policy.unconfirmed_grace)
                .unwrap_or(chrono::Duration::hours(1));
            if this.clock.now() >= sent_at + grace {
                PublishOutcome::Failed(failure(
                    "publish_unconfirmed",
                    "Instagram did not take the post and it is not live; approve it again to retry",
                    true,
                ))
            } else {
                PublishOutcome::Deferred {
                    until: sent_at + grace,
                    reason: DeferReason::OutcomeUnknown,
                }
            }
        };
        match self.publisher.container_status(account, &container).await {
            Ok(ContainerStatus::Published) => {
                self.confirm_published(post, approved_at, &container, None, account)
                    .await
            }
            Ok(ContainerStatus::Finished) | Ok(ContainerStatus::InProgress) => {
                Ok(unconfirmed(self))
            }
            Ok(ContainerStatus::Expired) => Ok(PublishOutcome::Failed(failure(
                "publish_expired",
                "the post was not published before Instagram discarded it; approve it again",
                true,
            ))),
            Ok(ContainerStatus::Error { reason }) => Ok(PublishOutcome::Failed(failure(
                "media_processing_failed",
                &format!("Instagram could not process the media: {reason}"),
                false,
            ))),
            Err(e) if e.kind == PublishErrorKind::ReconnectNeeded => {
                Ok(PublishOutcome::NeedsReconnect { message: e.message })
            }
            Err(e) => {
                let retry_after = match e.kind {
                    PublishErrorKind::RateLimited { retry_after } => retry_after,
                    _ => None,
                };
                Ok(self.defer(retry_after, DeferReason::OutcomeUnknown))
            }
        }
    }

    async fn confirm_published(
        &self,
        post: PostId,
        approved_at: DateTime<Utc>,
        container: &ContainerId,
        media_id: Option<String>,
        account: &PublishAccount,
    ) -> Result<PublishOutcome, OrchestrationError> {
        let at = self.clock.now();
        self.record(
            post,
            approved_at,
            PublishStep::Published {
                container: container.clone(),
                media_id: media_id.clone(),
                permalink: None,
                at,
            },
        )
        .await?;
        // Best effort: a failed follow-up read never turns a live post into a failed one.
        let mut permalink = None;
        if let Some(id) = &media_id
            && let Ok(Some(link)) = self.publisher.permalink(account, id).await
        {
            let step = PublishStep::Published {
                container: container.clone(),
                media_id: media_id.clone(),
                permalink: Some(link.clone()),
                at,
            };
            // Losing this write only loses the link, which the next read can fetch again.
            let _ = self
                .journal
                .record(post, &JournalEntry { approved_at, step })
                .await;
            permalink = Some(link);
        }
        Ok(PublishOutcome::Published {
            media_id,
            permalink,
            at,
        })
    }
}

enum Poll {
    Ready,
    Expired,
    Done(PublishOutcome),
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
    let caption = match content.media_kind {
        MediaKind::Story => None,
        _ => Some(permit.text().as_str().to_owned()),
    };
    let alt_text = match content.media_kind {
        MediaKind::Image | MediaKind::Carousel => {
            content.alt_text.as_ref().map(|a| a.as_str().to_owned())
        }
        MediaKind::Reel | MediaKind::Story => None,
    };
    Ok(ContainerSpec {
        kind: content.media_kind,
        caption,
        alt_text,
        items: media.to_vec(),
    })
}

#[cfg(test)]
mod tests;
