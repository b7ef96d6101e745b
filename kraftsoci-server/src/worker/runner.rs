//! One claimed job, from the stored post to a settled outcome.
//!
//! The order matters:
//! 1. the post must still be `approved` (or `publishing`, after a crash or a deferral);
//! 2. the lifecycle issues the permit (consent matches, the scheduled time has come, the owner
//!    has not restricted publishing) — otherwise the job just waits;
//! 3. the connection must be active and its token must open, else the post (and the
//!    connection) need a reconnect;
//! 4. the post is saved as `publishing` **before** anything is sent to Meta;
//! 5. the orchestration runs with a journal fenced by the claim, while the lease is renewed;
//! 6. its outcome, the post's new state, the job's fate and the recovery point held back
//!    during the run (see `lease.rs`) are written in one transaction.

use std::sync::Arc;

use kraftsoci_core::ports::{
    Account as OwnerAccount, ConnectionStatus, PostUpdate, PublishAccount, PublishStep,
};
use kraftsoci_core::vault::TokenContext;
use kraftsoci_core::{
    ConnectionId, DeferReason, IgUserId, LifecycleError, OrchestrationError, Post, PostStatus,
    PublishFailure, PublishOrchestrator, PublishOutcome, StoreError,
};

use super::lease::{LeasedJournal, after, hold};
use super::{JobOutcome, Worker};
use crate::notify::{Event, Notifier};
use crate::store::{ClaimedJob, JobChange, NewEvent, Settled, Settlement, WaitReason};

/// The failure recorded when transient deferrals reach the worker's bound.
pub const RETRIES_EXHAUSTED: &str = "publish_retries_exhausted";

/// The failure of a post in `publishing` whose content no longer matches its consent.
pub const CONSENT_MISMATCH: &str = "consent_mismatch";

/// The account to publish as, or why there is none.
enum Account {
    Ready {
        account: PublishAccount,
        connection: ConnectionId,
    },
    /// The owner must reconnect; `connection` is the row to mark, when there is one.
    Reconnect {
        connection: Option<ConnectionId>,
        why: &'static str,
    },
    /// The token could not be opened for a reason that is ours, not the owner's (the key
    /// ring is misconfigured): wait and retry, never bother the owner.
    Unavailable(String),
}

impl Worker {
    /// Processes one claimed job. Storage failures are returned; the caller releases the job.
    pub(super) async fn process(&self, job: &ClaimedJob) -> Result<JobOutcome, StoreError> {
        let deps = &self.inner.deps;
        let now = deps.clock.now();
        // The post, its image and its last recovery point in one read.
        let read = match deps.stores.queue.job_post(job.owner, job.post).await {
            Ok(read) => read,
            Err(StoreError::NotFound) => {
                return self.finish(job, "the post no longer exists").await;
            }
            Err(StoreError::Corrupt(error)) => return self.abandon(job, error).await,
            Err(error) => return Err(error),
        };
        let read_at = read.post.updated_at;
        let mut post = match Post::restore(read.post) {
            Ok(post) => post,
            Err(error) => {
                return self
                    .abandon(job, format!("the stored post is inconsistent: {error}"))
                    .await;
            }
        };
        let status = post.status();
        match status {
            PostStatus::Approved | PostStatus::Publishing => {}
            PostStatus::NeedsReconnect => {
                let until = after(now, self.inner.config.recheck);
                return self.wait(job, WaitReason::Reconnect, until, None).await;
            }
            // Generating and generation_failed posts were never approved; a status a later core
            // adds is treated as nothing to publish, never as a go-ahead.
            _ => {
                // The approval was withdrawn or voided by an edit, or the post is finished:
                // there is nothing left to publish (P09).
                return self
                    .finish(job, &format!("the post is {status}; nothing to publish"))
                    .await;
            }
        }
        let owner = match deps.stores.accounts.account(job.owner).await {
            Ok(account) => account,
            Err(StoreError::NotFound) => return self.finish(job, "the account is gone").await,
            Err(error) => return Err(error),
        };
        if owner.closed_at.is_some() {
            // P19: a closed account's processing stops.
            return self.finish(job, "the account is closed").await;
        }

        let permit = if status == PostStatus::Approved {
            post.begin_publishing(now, &owner.restrictions)
        } else {
            post.resume_publishing(&owner.restrictions)
        };
        let permit = match permit {
            Ok(permit) => permit,
            Err(LifecycleError::NotYetDue(at)) => {
                return self.wait(job, WaitReason::Scheduled, at, None).await;
            }
            Err(LifecycleError::Restricted(_)) => {
                // P29: an approved post waits while its owner pauses publishing.
                let until = after(now, self.inner.config.recheck);
                return self.wait(job, WaitReason::Restricted, until, None).await;
            }
            Err(LifecycleError::ContentChanged) if status == PostStatus::Publishing => {
                return self.consent_broken(job, post, read_at, &owner, now).await;
            }
            Err(error) => {
                return self
                    .abandon(
                        job,
                        format!("the post cannot be published as approved: {error}"),
                    )
                    .await;
            }
        };

        let (account, connection) = match self.account_for(job, permit.target()).await? {
            Account::Ready {
                account,
                connection,
            } => (account, connection),
            Account::Reconnect { connection, why } => {
                if let Err(error) = post.mark_needs_reconnect(now) {
                    return self.abandon(job, error.to_string()).await;
                }
                let change = PostUpdate {
                    post: post.into_snapshot(),
                    expected_updated_at: read_at,
                };
                return self
                    .park_for_reconnect(job, change, Some(&owner), connection, why)
                    .await;
            }
            Account::Unavailable(note) => {
                tracing::error!(job = %job.lease.job, post = %job.post, note, "publish token unavailable");
                let until = after(now, self.inner.config.retry_after);
                return self
                    .wait(job, WaitReason::Transient, until, Some(note))
                    .await;
            }
        };
        let media = match self.media_for(job, &permit, read.media).await {
            Ok(media) => media,
            Err(note) => {
                tracing::warn!(job = %job.lease.job, post = %job.post, note, "media link unavailable");
                let until = after(now, self.inner.config.retry_after);
                return self
                    .wait(job, WaitReason::Transient, until, Some(note))
                    .await;
            }
        };

        // The post is `publishing` in storage before anything reaches Meta: from here on an
        // edit or a withdrawal is refused, and a crash resumes with `resume_publishing`.
        let mut read_at = read_at;
        if status == PostStatus::Approved {
            let change = PostUpdate {
                post: post.snapshot().clone(),
                expected_updated_at: read_at,
            };
            match self
                .apply(job, Some(change), None, None, JobChange::Keep)
                .await?
            {
                Settled::Applied => read_at = post.snapshot().updated_at,
                Settled::LeaseLost => return Ok(JobOutcome::LeaseLost),
                Settled::PostChanged => return self.retry_soon(job).await,
            }
        }

        let orchestrator = PublishOrchestrator::new(
            Arc::clone(&deps.publisher),
            Arc::new(
                LeasedJournal::new(
                    Arc::clone(&deps.stores.journal),
                    Arc::clone(&deps.stores.queue),
                    job.lease.clone(),
                    Arc::clone(&self.inner.held),
                )
                .with_last_entry(job.post, read.journal),
            ),
            Arc::clone(&deps.clock),
            self.inner.config.policy.clone(),
        )
        .with_quotas(Arc::clone(&self.inner.quotas));
        let orchestrator = match &deps.probe {
            Some(probe) => orchestrator.with_media_probe(Arc::clone(probe)),
            None => orchestrator,
        };
        let outcome = tokio::select! {
            outcome = orchestrator.run(&permit, &account, &media) => outcome,
            () = hold(
                &*deps.stores.queue,
                &*deps.clock,
                &job.lease,
                self.inner.config.lease,
                self.inner.config.renew_every,
            ) => return Ok(JobOutcome::LeaseLost),
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            // The fence refused a recovery point: another worker holds the job now.
            Err(OrchestrationError(StoreError::Stale)) => return Ok(JobOutcome::LeaseLost),
            Err(OrchestrationError(error)) => return Err(error),
        };
        self.conclude(job, post, read_at, &owner, connection, outcome)
            .await
    }

    /// Applies the orchestration's outcome to the post and the job.
    async fn conclude(
        &self,
        job: &ClaimedJob,
        mut post: Post,
        read_at: chrono::DateTime<chrono::Utc>,
        owner: &OwnerAccount,
        connection: ConnectionId,
        outcome: PublishOutcome,
    ) -> Result<JobOutcome, StoreError> {
        let now = self.inner.deps.clock.now();
        match outcome {
            PublishOutcome::Published {
                media_id,
                permalink,
                at,
            } => {
                if let Err(error) = post.mark_published(media_id.clone(), permalink, at) {
                    return self.abandon(job, error.to_string()).await;
                }
                let change = PostUpdate {
                    post: post.into_snapshot(),
                    expected_updated_at: read_at,
                };
                self.settle(
                    job,
                    Some(change),
                    Some(owner),
                    None,
                    JobChange::Done,
                    JobOutcome::Published { media_id },
                )
                .await
            }
            PublishOutcome::Deferred { until, reason } => {
                let (wait, counted) = match reason {
                    DeferReason::RateLimited => (WaitReason::RateLimited, false),
                    DeferReason::QuotaSpent => (WaitReason::Quota, false),
                    DeferReason::OutcomeUnknown | DeferReason::RecoveringMedia => {
                        (WaitReason::OutcomeUnknown, false)
                    }
                    DeferReason::NotReady => (WaitReason::NotReady, true),
                    DeferReason::Transient => (WaitReason::Transient, true),
                };
                let bound = self.inner.config.max_transient_deferrals;
                if counted && job.transient_deferrals.saturating_add(1) >= bound {
                    // Never reached with `media_publish` sent: those deferrals are
                    // `OutcomeUnknown`, which is not counted.
                    let failure = PublishFailure {
                        code: RETRIES_EXHAUSTED.to_owned(),
                        message: "Instagram kept failing temporarily; approve the post again \
                                  to retry"
                            .to_owned(),
                        retryable: true,
                    };
                    return self.fail(job, post, read_at, owner, failure, now).await;
                }
                let change = JobChange::Requeue {
                    run_after: until,
                    wait: Some(wait),
                    transient: counted,
                    note: Some(format!("deferred: {wait}")),
                };
                self.settle(
                    job,
                    None,
                    None,
                    None,
                    change,
                    JobOutcome::Waiting {
                        until,
                        reason: wait,
                    },
                )
                .await
            }
            PublishOutcome::NeedsReconnect { message } => {
                if let Err(error) = post.mark_needs_reconnect(now) {
                    return self.abandon(job, error.to_string()).await;
                }
                let change = PostUpdate {
                    post: post.into_snapshot(),
                    expected_updated_at: read_at,
                };
                tracing::warn!(job = %job.lease.job, post = %job.post, message, "instagram asks for a reconnect");
                self.park_for_reconnect(
                    job,
                    change,
                    Some(owner),
                    Some(connection),
                    "meta refused the token",
                )
                .await
            }
            PublishOutcome::Failed(failure) => {
                self.fail(job, post, read_at, owner, failure, now).await
            }
        }
    }

    /// A post in `publishing` whose content no longer matches its consent receipt (changed in
    /// storage behind the lifecycle's back): no permit, so no new container and no request.
    /// Unless a `media_publish` may already have been sent (then only an operator can tell),
    /// it fails with the retryable [`CONSENT_MISMATCH`], and the owner approves what they see.
    async fn consent_broken(
        &self,
        job: &ClaimedJob,
        post: Post,
        read_at: chrono::DateTime<chrono::Utc>,
        owner: &OwnerAccount,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<JobOutcome, StoreError> {
        let sent = self
            .inner
            .deps
            .stores
            .journal
            .load(job.post)
            .await?
            .is_some_and(|entry| {
                matches!(
                    entry.step,
                    PublishStep::PublishSent { .. } | PublishStep::Published { .. }
                )
            });
        if sent {
            return self
                .abandon(
                    job,
                    "the content changed after media_publish was sent; the container decides \
                     whether it is live"
                        .to_owned(),
                )
                .await;
        }
        let failure = PublishFailure {
            code: CONSENT_MISMATCH.to_owned(),
            message: "the post changed after it was approved and was not published; check it \
                      and approve it again"
                .to_owned(),
            retryable: true,
        };
        self.fail(job, post, read_at, owner, failure, now).await
    }

    async fn fail(
        &self,
        job: &ClaimedJob,
        mut post: Post,
        read_at: chrono::DateTime<chrono::Utc>,
        owner: &OwnerAccount,
        failure: PublishFailure,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<JobOutcome, StoreError> {
        let reported = JobOutcome::Failed {
            code: failure.code.clone(),
            retryable: failure.retryable,
        };
        if let Err(error) = post.mark_failed(failure, now) {
            return self.abandon(job, error.to_string()).await;
        }
        let change = PostUpdate {
            post: post.into_snapshot(),
            expected_updated_at: read_at,
        };
        self.settle(
            job,
            Some(change),
            Some(owner),
            None,
            JobChange::Done,
            reported,
        )
        .await
    }

    /// Finds the connection the post was approved for and opens its token.
    async fn account_for(
        &self,
        job: &ClaimedJob,
        target: &IgUserId,
    ) -> Result<Account, StoreError> {
        let connections = &*self.inner.deps.stores.connections;
        // The connection the job names, with its token, in one read (the usual case).
        let named = match job.connection {
            Some(id) => self
                .inner
                .deps
                .stores
                .queue
                .job_connection(job.owner, id)
                .await?
                .filter(|(connection, _)| connection.ig_user_id == *target),
            None => None,
        };
        let (connection, sealed) = match named {
            Some(found) => found,
            None => match connections.connection_by_ig_user(job.owner, target).await? {
                Some(connection) => {
                    let sealed = if connection.status == ConnectionStatus::Active {
                        match connections.sealed_token(job.owner, connection.id).await {
                            Ok(sealed) => Some(sealed),
                            Err(StoreError::NotFound) => None,
                            Err(error) => return Err(error),
                        }
                    } else {
                        None
                    };
                    (connection, sealed)
                }
                None => {
                    return Ok(Account::Reconnect {
                        connection: None,
                        why: "the instagram account is not connected",
                    });
                }
            },
        };
        if connection.status != ConnectionStatus::Active {
            return Ok(Account::Reconnect {
                connection: Some(connection.id),
                why: "the connection needs a reconnect",
            });
        }
        let Some(sealed) = sealed else {
            // P15: Meta revoked it (deauthorize callback) and the token was removed.
            return Ok(Account::Reconnect {
                connection: Some(connection.id),
                why: "the connection has no token",
            });
        };
        let context = TokenContext::instagram(job.owner, &connection.ig_user_id);
        match self.inner.deps.vault.open(&sealed, &context) {
            Ok(access_token) => Ok(Account::Ready {
                account: PublishAccount {
                    ig_user_id: connection.ig_user_id,
                    access_token,
                },
                connection: connection.id,
            }),
            Err(error) if error.needs_reconnect() => Ok(Account::Reconnect {
                connection: Some(connection.id),
                why: "the stored token cannot be opened",
            }),
            Err(error) => Ok(Account::Unavailable(format!(
                "the token vault failed: {error}"
            ))),
        }
    }

    async fn park_for_reconnect(
        &self,
        job: &ClaimedJob,
        change: PostUpdate,
        owner: Option<&OwnerAccount>,
        connection: Option<ConnectionId>,
        why: &str,
    ) -> Result<JobOutcome, StoreError> {
        let now = self.inner.deps.clock.now();
        let job_change = JobChange::Requeue {
            run_after: after(now, self.inner.config.recheck),
            wait: Some(WaitReason::Reconnect),
            transient: false,
            note: Some(why.to_owned()),
        };
        self.settle(
            job,
            Some(change),
            owner,
            connection,
            job_change,
            JobOutcome::NeedsReconnect,
        )
        .await
    }

    async fn wait(
        &self,
        job: &ClaimedJob,
        reason: WaitReason,
        until: chrono::DateTime<chrono::Utc>,
        note: Option<String>,
    ) -> Result<JobOutcome, StoreError> {
        let change = JobChange::Requeue {
            run_after: until,
            wait: Some(reason),
            transient: false,
            note,
        };
        self.settle(
            job,
            None,
            None,
            None,
            change,
            JobOutcome::Waiting { until, reason },
        )
        .await
    }

    /// The job has nothing left to do: it is deleted, nothing is published.
    async fn finish(&self, job: &ClaimedJob, why: &str) -> Result<JobOutcome, StoreError> {
        self.settle(
            job,
            None,
            None,
            None,
            JobChange::Done,
            JobOutcome::Dropped {
                reason: why.to_owned(),
            },
        )
        .await
    }

    async fn abandon(&self, job: &ClaimedJob, error: String) -> Result<JobOutcome, StoreError> {
        tracing::error!(job = %job.lease.job, post = %job.post, error, "publish job abandoned");
        let change = JobChange::Abandon {
            error: error.clone(),
        };
        self.settle(
            job,
            None,
            None,
            None,
            change,
            JobOutcome::Abandoned { error },
        )
        .await
    }

    /// Releases the job to run again at once (the post changed while it was held).
    async fn retry_soon(&self, job: &ClaimedJob) -> Result<JobOutcome, StoreError> {
        let now = self.inner.deps.clock.now();
        let change = JobChange::Requeue {
            run_after: now,
            wait: Some(WaitReason::Conflict),
            transient: false,
            note: Some("the post changed while the job was held".to_owned()),
        };
        match self.apply(job, None, None, None, change).await? {
            Settled::LeaseLost => Ok(JobOutcome::LeaseLost),
            Settled::Applied | Settled::PostChanged => Ok(JobOutcome::Waiting {
                until: now,
                reason: WaitReason::Conflict,
            }),
        }
    }

    /// Releases the job without touching the post: to run again at `run_after`.
    pub(super) async fn release(
        &self,
        job: &ClaimedJob,
        run_after: chrono::DateTime<chrono::Utc>,
        wait: Option<WaitReason>,
        note: String,
    ) -> Result<Settled, StoreError> {
        let change = JobChange::Requeue {
            run_after,
            wait,
            transient: false,
            note: Some(note),
        };
        self.apply(job, None, None, None, change).await
    }

    /// Settles and reports `outcome` (or what happened instead). The owner's notification of
    /// a settled post (published, failed, needs reconnect) is written by the settlement, in
    /// its transaction; `owner` is the account read for this run, when there is one.
    async fn settle(
        &self,
        job: &ClaimedJob,
        post: Option<PostUpdate>,
        owner: Option<&OwnerAccount>,
        reconnect: Option<ConnectionId>,
        change: JobChange,
        outcome: JobOutcome,
    ) -> Result<JobOutcome, StoreError> {
        let now = self.inner.deps.clock.now();
        let event = post
            .as_ref()
            .and_then(|update| Event::of_settled_post(&update.post, reconnect, now));
        let notice = match event {
            Some(event) => {
                let notifier =
                    Notifier::new(&self.inner.deps.stores, Arc::clone(&self.inner.deps.clock));
                // A storage failure here releases the job like any other: the outcome is
                // settled (with its notification) by the next run, never without it.
                match owner {
                    // Read for this run and checked open.
                    Some(account) => Some(notifier.prepare_for(&event, account).await?),
                    None => notifier.prepare(&event).await?,
                }
            }
            None => None,
        };
        match self.apply(job, post, notice, reconnect, change).await? {
            // Recorded once per event key: a job settled again after a lost answer records
            // nothing new.
            Settled::Applied => Ok(outcome),
            Settled::LeaseLost => Ok(JobOutcome::LeaseLost),
            // The owner changed the post meanwhile (e.g. withdrew it): re-read it at once. A
            // publish that already happened is in the journal, so the next run confirms it.
            Settled::PostChanged => self.retry_soon(job).await,
        }
    }

    async fn apply(
        &self,
        job: &ClaimedJob,
        post: Option<PostUpdate>,
        notice: Option<NewEvent>,
        reconnect: Option<ConnectionId>,
        change: JobChange,
    ) -> Result<Settled, StoreError> {
        // The recovery point held back during the run is written with the settlement.
        let settlement = Settlement {
            post,
            reconnect,
            job: change,
            journal: self.inner.held.pending(job.lease.job),
            notice,
            now: self.inner.deps.clock.now(),
        };
        let settled = self
            .inner
            .deps
            .stores
            .queue
            .settle_publish_job(&job.lease, &settlement)
            .await?;
        if settled != Settled::PostChanged {
            // Written, or the job is another worker's now; after `PostChanged` nothing was
            // written and the re-queue that follows records it.
            self.inner.held.forget(job.lease.job);
        }
        Ok(settled)
    }
}
