//! The publish worker's round trips (issue 17): several jobs claimed in one statement, and the
//! recovery points that can wait written with the settlement instead of in transactions of
//! their own — on SQLite and on PostgreSQL, with the exactly-once rules unchanged.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{Connection, ContainerId, JournalEntry, PostUpdate, PublishStep};
use kraftsoci_core::{ConnectionId, ManualClock, PostId, PostStatus, StoreError, UserId};
use kraftsoci_server::notify::{Event, Notifier};
use kraftsoci_server::store::{
    ClaimedJob, JobChange, JobLease, JobPost, PublishJobRecord, PublishQueue, Settled, Settlement,
};
use kraftsoci_server::worker::{JobOutcome, Worker};

use crate::support::TestDb;
use crate::worker::{FakeInstagram, Harness, fast_config, t0};

async fn sqlite() -> Harness {
    Harness::sqlite().await
}

async fn postgres() -> Harness {
    let manual = Arc::new(ManualClock::new(t0()));
    Harness::with(TestDb::postgres().await, manual.clone(), Some(manual)).await
}

fn step_name(step: &PublishStep) -> &'static str {
    match step {
        PublishStep::ContainerCreated { .. } => "container_created",
        PublishStep::ContainerReady { .. } => "container_ready",
        PublishStep::PublishSent { .. } => "publish_sent",
        PublishStep::Published { .. } => "published",
    }
}

/// The store's queue, with every fenced write the worker makes written down; it can refuse
/// the `PublishSent` write once, as a database failing right before `media_publish` would.
struct Recording {
    inner: Arc<dyn PublishQueue>,
    /// `read:post` and `read:connection` for the job's reads (the post with its image and
    /// journal entry, the connection with its token: one statement each), `record:{step}`
    /// for each recovery point written on its own, `settle:{step or -}` for each settlement
    /// (with ` notify:{event}` when it records a notification), in order.
    writes: Mutex<Vec<String>>,
    fail_publish_sent: Mutex<bool>,
}

impl Recording {
    fn new(inner: Arc<dyn PublishQueue>, fail_publish_sent: bool) -> Arc<Self> {
        Arc::new(Self {
            inner,
            writes: Mutex::new(Vec::new()),
            fail_publish_sent: Mutex::new(fail_publish_sent),
        })
    }

    fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }
}

#[async_trait]
impl PublishQueue for Recording {
    async fn claim_publish_jobs(
        &self,
        claim: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        self.inner
            .claim_publish_jobs(claim, now, lease_until, limit)
            .await
    }

    async fn renew_publish_lease(
        &self,
        lease: &JobLease,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.renew_publish_lease(lease, until).await
    }

    async fn record_publish_step(
        &self,
        lease: &JobLease,
        post: PostId,
        entry: &JournalEntry,
    ) -> Result<(), StoreError> {
        let name = step_name(&entry.step);
        if name == "publish_sent" && std::mem::take(&mut *self.fail_publish_sent.lock().unwrap()) {
            return Err(StoreError::Unavailable(
                "injected: the database went away".into(),
            ));
        }
        self.writes.lock().unwrap().push(format!("record:{name}"));
        self.inner.record_publish_step(lease, post, entry).await
    }

    async fn settle_publish_job(
        &self,
        lease: &JobLease,
        settlement: &Settlement,
    ) -> Result<Settled, StoreError> {
        let name = settlement
            .journal
            .as_ref()
            .map_or("-", |entry| step_name(&entry.step));
        let write = match &settlement.notice {
            Some(notice) => format!("settle:{name} notify:{}", notice.kind),
            None => format!("settle:{name}"),
        };
        self.writes.lock().unwrap().push(write);
        self.inner.settle_publish_job(lease, settlement).await
    }

    async fn job_post(&self, owner: UserId, post: PostId) -> Result<JobPost, StoreError> {
        self.writes.lock().unwrap().push("read:post".to_owned());
        self.inner.job_post(owner, post).await
    }

    async fn job_connection(
        &self,
        owner: UserId,
        id: ConnectionId,
    ) -> Result<Option<(Connection, Option<Vec<u8>>)>, StoreError> {
        self.writes
            .lock()
            .unwrap()
            .push("read:connection".to_owned());
        self.inner.job_connection(owner, id).await
    }

    async fn publish_job_record(
        &self,
        post: PostId,
    ) -> Result<Option<PublishJobRecord>, StoreError> {
        self.inner.publish_job_record(post).await
    }
}

fn worker_over(h: &Harness, queue: Arc<Recording>) -> Worker {
    let mut stores = h.stores.clone();
    stores.queue = queue;
    Worker::new(h.deps_with(stores), fast_config())
}

async fn several_jobs_are_claimed_in_one_statement(h: Harness) {
    let owner = h.owner("17841400000000301").await;
    let mut posts = Vec::new();
    for _ in 0..5 {
        posts.push(h.approved_post(&owner, None).await);
        h.advance(chrono::Duration::milliseconds(1));
    }
    let lease_until = h.now() + chrono::Duration::minutes(2);
    let queue = &h.stores.queue;

    let first = queue
        .claim_publish_jobs("batch/1", h.now(), lease_until, 3)
        .await
        .unwrap();
    let second = queue
        .claim_publish_jobs("batch/2", h.now(), lease_until, 3)
        .await
        .unwrap();
    let third = queue
        .claim_publish_jobs("batch/3", h.now(), lease_until, 3)
        .await
        .unwrap();

    assert_eq!((first.len(), second.len(), third.len()), (3, 2, 0));
    // Earliest due first, each job once, and the first batch before the second.
    let claimed: Vec<PostId> = first.iter().chain(&second).map(|job| job.post).collect();
    assert_eq!(claimed, posts);
    let jobs: HashSet<_> = first
        .iter()
        .chain(&second)
        .map(|job| job.lease.job)
        .collect();
    assert_eq!(jobs.len(), 5);
    for (batch, token) in [(&first, "batch/1"), (&second, "batch/2")] {
        for job in batch.iter() {
            assert_eq!(job.lease.claim, token);
            assert_eq!((job.attempts, job.lease_until), (1, lease_until));
            let stored = h.job(job.post).await.unwrap();
            assert_eq!(
                (stored.state.as_str(), stored.locked_by.as_deref()),
                ("running", Some(token))
            );
        }
    }
    // Sharing a token does not share a lease: the fence names the job too.
    let foreign = JobLease {
        job: second[0].lease.job,
        claim: "batch/1".to_owned(),
    };
    assert!(
        !queue
            .renew_publish_lease(&foreign, lease_until)
            .await
            .unwrap()
    );
    assert!(
        queue
            .claim_publish_jobs("batch/4", h.now(), lease_until, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn several_due_jobs_are_claimed_in_one_statement_each_once_in_queue_order() {
    several_jobs_are_claimed_in_one_statement(sqlite().await).await;
}

#[tokio::test]
async fn several_due_jobs_are_claimed_in_one_statement_each_once_in_queue_order_on_postgres() {
    several_jobs_are_claimed_in_one_statement(postgres().await).await;
}

async fn a_settlement_records_its_step_only_under_its_lease(h: Harness) {
    let owner = h.owner("17841400000000302").await;
    let id = h.approved_post(&owner, None).await;
    let job = h
        .stores
        .queue
        .claim_publish_jobs("w/1", h.now(), h.now() + chrono::Duration::minutes(2), 4)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let entry = |container: &str| JournalEntry {
        approved_at: h.now(),
        step: PublishStep::ContainerReady {
            container: ContainerId::new(container),
            at: h.now(),
        },
    };
    let requeue = JobChange::Requeue {
        run_after: h.now(),
        wait: None,
        transient: false,
        note: None,
    };

    // Another claim's settlement writes nothing, its journal entry included.
    let stale = JobLease {
        job: job.lease.job,
        claim: "w/0".to_owned(),
    };
    let settled = h
        .stores
        .queue
        .settle_publish_job(
            &stale,
            &Settlement {
                post: None,
                reconnect: None,
                job: requeue.clone(),
                journal: Some(entry("17890000000001")),
                notice: None,
                now: h.now(),
            },
        )
        .await
        .unwrap();
    assert_eq!(settled, Settled::LeaseLost);
    assert_eq!(h.stores.journal.load(id).await.unwrap(), None);

    let settled = h
        .stores
        .queue
        .settle_publish_job(
            &job.lease,
            &Settlement {
                post: None,
                reconnect: None,
                job: requeue,
                journal: Some(entry("17890000000002")),
                notice: None,
                now: h.now(),
            },
        )
        .await
        .unwrap();
    assert_eq!(settled, Settled::Applied);
    assert_eq!(
        h.stores.journal.load(id).await.unwrap(),
        Some(entry("17890000000002"))
    );
    assert_eq!(h.job(id).await.unwrap().state, "queued");
}

#[tokio::test]
async fn a_settlement_records_its_journal_entry_only_while_its_lease_holds() {
    a_settlement_records_its_step_only_under_its_lease(sqlite().await).await;
}

#[tokio::test]
async fn a_settlement_records_its_journal_entry_only_while_its_lease_holds_on_postgres() {
    a_settlement_records_its_step_only_under_its_lease(postgres().await).await;
}

async fn a_publish_writes_two_steps_on_their_own(h: Harness) {
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000303").await;
    let id = h.approved_post(&owner, None).await;
    let queue = Recording::new(Arc::clone(&h.stores.queue), false);

    let report = worker_over(&h, Arc::clone(&queue))
        .run_once()
        .await
        .unwrap()
        .expect("a due job");

    assert!(matches!(report.outcome, JobOutcome::Published { .. }));
    assert_eq!(
        queue.writes(),
        [
            // One read for the post, its image and its last recovery point; one for the
            // connection and its token.
            "read:post",
            "read:connection",
            // The post saved as `publishing` before Meta hears of it.
            "settle:-",
            "record:container_created",
            "record:publish_sent",
            // `Published`, with its media id and permalink, comes with the settlement, and so
            // does the owner's notification.
            "settle:published notify:published",
        ]
    );
    let notices = h.stores.policy.notices(owner.id, 10).await.unwrap();
    assert_eq!(
        notices.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
        ["published"]
    );
    let Some(PublishStep::Published {
        media_id: Some(_),
        permalink: Some(_),
        ..
    }) = h.stores.journal.load(id).await.unwrap().map(|e| e.step)
    else {
        panic!("the journal ends with the publish and its permalink");
    };
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Published);
    assert_eq!(instagram.publish_count(), 1);
}

#[tokio::test]
async fn a_publish_commits_two_recovery_points_on_their_own_and_the_rest_with_its_settlement() {
    a_publish_writes_two_steps_on_their_own(sqlite().await).await;
}

#[tokio::test]
async fn a_publish_commits_two_recovery_points_on_their_own_and_the_rest_with_its_settlement_on_postgres()
 {
    a_publish_writes_two_steps_on_their_own(postgres().await).await;
}

async fn a_failed_publish_sent_write_keeps_the_container(h: Harness) {
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000304").await;
    let id = h.approved_post(&owner, None).await;
    let queue = Recording::new(Arc::clone(&h.stores.queue), true);
    let worker = worker_over(&h, Arc::clone(&queue));

    let report = worker.run_once().await.unwrap().expect("a due job");

    // The write before media_publish failed: nothing was sent, the job is released and the
    // step held back (the container is ready) is recorded by that release.
    assert!(
        matches!(report.outcome, JobOutcome::Waiting { .. }),
        "{:?}",
        report.outcome
    );
    assert_eq!(instagram.publish_count(), 0);
    assert_eq!(
        queue.writes(),
        [
            "read:post",
            "read:connection",
            "settle:-",
            "record:container_created",
            "settle:container_ready"
        ]
    );
    assert!(matches!(
        h.stores.journal.load(id).await.unwrap().map(|e| e.step),
        Some(PublishStep::ContainerReady { .. })
    ));

    // The next run publishes that same container, once.
    h.advance(chrono::Duration::minutes(1));
    let report = worker.run_once().await.unwrap().expect("due again");
    assert!(
        matches!(report.outcome, JobOutcome::Published { .. }),
        "{:?}",
        report.outcome
    );
    assert_eq!(instagram.image_urls().len(), 1, "one container in all");
    assert_eq!(instagram.publish_count(), 1);
    assert!(instagram.publishes().values().all(|n| *n == 1));
}

#[tokio::test]
async fn a_failed_write_before_media_publish_releases_the_job_with_its_ready_container() {
    a_failed_publish_sent_write_keeps_the_container(sqlite().await).await;
}

#[tokio::test]
async fn a_failed_write_before_media_publish_releases_the_job_with_its_ready_container_on_postgres()
{
    a_failed_publish_sent_write_keeps_the_container(postgres().await).await;
}

async fn a_settlement_records_its_notification_with_the_rest(h: Harness) {
    let owner = h.owner("17841400000000305").await;
    let id = h.approved_post(&owner, None).await;
    let job = h
        .stores
        .queue
        .claim_publish_jobs("w/1", h.now(), h.now() + chrono::Duration::minutes(2), 1)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let stored = h.post(&owner, id).await;
    let notice = Notifier::new(&h.stores, Arc::clone(&h.clock))
        .prepare(&Event::published(
            owner.id,
            id,
            Some("https://www.instagram.com/p/1/"),
        ))
        .await
        .unwrap()
        .expect("an open account");
    let mut published = stored.clone();
    published.status = PostStatus::Published;
    published.updated_at = h.now() + chrono::Duration::seconds(1);
    let settlement = |expected_updated_at| Settlement {
        post: Some(PostUpdate {
            post: published.clone(),
            expected_updated_at,
        }),
        reconnect: None,
        job: JobChange::Done,
        journal: None,
        notice: Some(notice.clone()),
        now: h.now(),
    };
    let notices = || async { h.stores.policy.notices(owner.id, 10).await.unwrap() };

    // Another claim's settlement records no notification, like nothing else of it.
    let stale = JobLease {
        job: job.lease.job,
        claim: "w/0".to_owned(),
    };
    let settled = h
        .stores
        .queue
        .settle_publish_job(&stale, &settlement(stored.updated_at))
        .await
        .unwrap();
    assert_eq!(settled, Settled::LeaseLost);
    assert!(notices().await.is_empty());

    // A settlement the post refuses (it changed meanwhile) is rolled back with its notification.
    let changed = stored.updated_at - chrono::Duration::seconds(1);
    let settled = h
        .stores
        .queue
        .settle_publish_job(&job.lease, &settlement(changed))
        .await
        .unwrap();
    assert_eq!(settled, Settled::PostChanged);
    assert!(notices().await.is_empty());
    assert_eq!(h.post(&owner, id).await.status, stored.status);

    // Applied: the post, the job and the notification commit together.
    let settled = h
        .stores
        .queue
        .settle_publish_job(&job.lease, &settlement(stored.updated_at))
        .await
        .unwrap();
    assert_eq!(settled, Settled::Applied);
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Published);
    assert!(h.job(id).await.is_none());
    let recorded = notices().await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].id, notice.id);
    assert_eq!(recorded[0].kind, "published");
}

#[tokio::test]
async fn a_settlement_commits_the_owners_notification_with_the_outcome_or_not_at_all() {
    a_settlement_records_its_notification_with_the_rest(sqlite().await).await;
}

#[tokio::test]
async fn a_settlement_commits_the_owners_notification_with_the_outcome_or_not_at_all_on_postgres() {
    a_settlement_records_its_notification_with_the_rest(postgres().await).await;
}
