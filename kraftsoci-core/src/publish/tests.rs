use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use chrono::TimeZone;
use secrecy::SecretString;

use super::*;
use crate::domain::sample_content;
use crate::ports::{MockSocialPublisher, PublishingQuota};
use crate::{Approval, IgUserId, ManualClock, Post, Restrictions, UserId};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
}

fn account() -> PublishAccount {
    PublishAccount {
        ig_user_id: IgUserId::parse("17841405822304914").unwrap(),
        access_token: SecretString::from("EAAtest-token"),
    }
}

fn media() -> Vec<MediaSource> {
    vec![MediaSource {
        url: "https://media.example/signed/abc".into(),
        is_video: false,
    }]
}

/// An approved, started post and its permit.
fn permit_at(approved_at: DateTime<Utc>) -> PublishPermit {
    let owner = UserId::new();
    let mut post = Post::generated(owner, sample_content(), t0()).unwrap();
    post.approve(Approval {
        user: owner,
        shown_hash: post.content_hash(),
        target: account().ig_user_id,
        at: approved_at,
        ip: None,
        user_agent: None,
        scheduled_for: None,
    })
    .unwrap();
    post.begin_publishing(approved_at, &Restrictions::default())
        .unwrap()
}

fn permit() -> PublishPermit {
    permit_at(t0())
}

/// A journal in memory that can be told to fail ("crash") on its n-th write.
#[derive(Default)]
struct MemoryJournal {
    entries: Mutex<HashMap<PostId, JournalEntry>>,
    writes: AtomicU32,
    fail_on_write: Mutex<Option<u32>>,
    history: Mutex<Vec<PublishStep>>,
}

impl MemoryJournal {
    fn crash_on_write(&self, n: u32) {
        *self.fail_on_write.lock().unwrap() = Some(n);
    }
    fn heal(&self) {
        *self.fail_on_write.lock().unwrap() = None;
    }
    fn step(&self, post: PostId) -> Option<PublishStep> {
        self.entries
            .lock()
            .unwrap()
            .get(&post)
            .map(|e| e.step.clone())
    }
    fn history(&self) -> Vec<&'static str> {
        self.history
            .lock()
            .unwrap()
            .iter()
            .map(|s| match s {
                PublishStep::ContainerCreated { .. } => "created",
                PublishStep::ContainerReady { .. } => "ready",
                PublishStep::PublishSent { .. } => "sent",
                PublishStep::Published { .. } => "published",
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl PublishJournal for MemoryJournal {
    async fn load(&self, post: PostId) -> Result<Option<JournalEntry>, StoreError> {
        Ok(self.entries.lock().unwrap().get(&post).cloned())
    }
    async fn record(&self, post: PostId, entry: &JournalEntry) -> Result<(), StoreError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst);
        if *self.fail_on_write.lock().unwrap() == Some(n) {
            return Err(StoreError::Unavailable("simulated crash".into()));
        }
        self.history.lock().unwrap().push(entry.step.clone());
        self.entries.lock().unwrap().insert(post, entry.clone());
        Ok(())
    }
    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        self.entries.lock().unwrap().remove(&post);
        Ok(())
    }
}

fn quota(used: u32, total: u32) -> PublishingQuota {
    PublishingQuota {
        used,
        total,
        window: Duration::from_secs(86_400),
    }
}

fn err(kind: PublishErrorKind) -> PublishError {
    PublishError::new(kind, "simulated")
}

fn orchestrator(
    publisher: MockSocialPublisher,
    journal: Arc<MemoryJournal>,
    clock: Arc<ManualClock>,
) -> PublishOrchestrator {
    PublishOrchestrator::new(
        Arc::new(publisher),
        journal,
        clock,
        PublishPolicy::default(),
    )
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(t0()))
}

/// A publisher that behaves like Instagram: containers finish after two polls, a published
/// container reports `PUBLISHED`, and every `media_publish` is counted.
fn instagram_like(publishes: Arc<AtomicU32>) -> MockSocialPublisher {
    let mut p = MockSocialPublisher::new();
    let polls = Arc::new(AtomicU32::new(0));
    let published = Arc::new(AtomicBool::new(false));
    p.expect_create_container()
        .returning(|_, _| Ok(ContainerId("c1".into())));
    let seen = published.clone();
    p.expect_container_status().returning(move |_, _| {
        if seen.load(Ordering::SeqCst) {
            return Ok(ContainerStatus::Published);
        }
        Ok(if polls.fetch_add(1, Ordering::SeqCst) < 2 {
            ContainerStatus::InProgress
        } else {
            ContainerStatus::Finished
        })
    });
    p.expect_publishing_quota().returning(|_| Ok(quota(3, 50)));
    p.expect_publish().returning(move |_, _| {
        publishes.fetch_add(1, Ordering::SeqCst);
        published.store(true, Ordering::SeqCst);
        Ok(PublishResult::Published {
            media_id: "m1".into(),
        })
    });
    p.expect_permalink()
        .returning(|_, _| Ok(Some("https://instagram.com/p/x".into())));
    p
}

#[tokio::test]
async fn an_approved_post_is_created_polled_and_published_once() {
    let publishes = Arc::new(AtomicU32::new(0));
    let journal = Arc::new(MemoryJournal::default());
    let clock = clock();
    let o = orchestrator(
        instagram_like(publishes.clone()),
        journal.clone(),
        clock.clone(),
    );
    let permit = permit();
    let outcome = o.run(&permit, &account(), &media()).await.unwrap();
    assert!(matches!(
        outcome,
        PublishOutcome::Published { media_id: Some(ref m), permalink: Some(_), .. } if m == "m1"
    ));
    assert_eq!(publishes.load(Ordering::SeqCst), 1);
    assert_eq!(
        journal.history(),
        ["created", "ready", "sent", "published", "published"]
    );
    // It polled with back-off rather than hammering the API.
    assert_eq!(clock.sleeps().len(), 2);
}

#[tokio::test]
async fn a_crash_at_any_step_never_leads_to_a_second_publish() {
    // The happy path writes five recovery points; crash on each in turn, then restart.
    for crash_at in 0..5 {
        let publishes = Arc::new(AtomicU32::new(0));
        let journal = Arc::new(MemoryJournal::default());
        let o = orchestrator(instagram_like(publishes.clone()), journal.clone(), clock());
        let permit = permit();
        journal.crash_on_write(crash_at);
        let first = o.run(&permit, &account(), &media()).await;
        if crash_at < 4 {
            assert!(first.is_err(), "write {crash_at} failing must stop the run");
        }
        journal.heal();
        let second = o.run(&permit, &account(), &media()).await.unwrap();
        assert!(
            matches!(second, PublishOutcome::Published { .. }),
            "crash at write {crash_at}: {second:?}"
        );
        assert_eq!(
            publishes.load(Ordering::SeqCst),
            1,
            "crash at write {crash_at} caused a second publish"
        );
        // And a third run changes nothing.
        o.run(&permit, &account(), &media()).await.unwrap();
        assert_eq!(publishes.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn a_crash_after_publish_sent_is_reconciled_without_publishing_again() {
    let journal = Arc::new(MemoryJournal::default());
    let permit = permit();
    journal
        .record(
            permit.post(),
            &JournalEntry {
                approved_at: permit.receipt().approved_at(),
                step: PublishStep::PublishSent {
                    container: ContainerId("c9".into()),
                    at: t0(),
                },
            },
        )
        .await
        .unwrap();
    let mut p = MockSocialPublisher::new();
    p.expect_container_status().times(1).returning(|_, c| {
        assert_eq!(c.0, "c9");
        Ok(ContainerStatus::Published)
    });
    p.expect_publish().times(0);
    p.expect_create_container().times(0);
    p.expect_permalink().times(0);
    let o = orchestrator(p, journal.clone(), clock());
    let outcome = o.run(&permit, &account(), &media()).await.unwrap();
    assert!(matches!(
        outcome,
        PublishOutcome::Published { media_id: None, .. }
    ));
    assert!(matches!(
        journal.step(permit.post()),
        Some(PublishStep::Published { .. })
    ));
}

#[tokio::test]
async fn an_ambiguous_publish_answer_is_reconciled_not_retried() {
    for kind in [
        PublishErrorKind::Transient,
        PublishErrorKind::OutcomeUnknown,
        PublishErrorKind::Unknown,
    ] {
        let journal = Arc::new(MemoryJournal::default());
        let mut p = MockSocialPublisher::new();
        p.expect_create_container()
            .times(1)
            .returning(|_, _| Ok(ContainerId("c1".into())));
        let published = Arc::new(AtomicBool::new(false));
        let seen = published.clone();
        p.expect_container_status().returning(move |_, _| {
            Ok(if seen.load(Ordering::SeqCst) {
                ContainerStatus::Published
            } else {
                ContainerStatus::Finished
            })
        });
        p.expect_publishing_quota().returning(|_| Ok(quota(0, 50)));
        let k = kind.clone();
        p.expect_publish().times(1).returning(move |_, _| {
            // The post went live, but the answer was lost.
            published.store(true, Ordering::SeqCst);
            Err(err(k.clone()))
        });
        let o = orchestrator(p, journal, clock());
        let outcome = o.run(&permit(), &account(), &media()).await.unwrap();
        assert!(
            matches!(outcome, PublishOutcome::Published { .. }),
            "{kind:?}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn an_unconfirmed_publish_waits_then_fails_retryably_and_is_never_resent() {
    let journal = Arc::new(MemoryJournal::default());
    let clock = clock();
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .times(1)
        .returning(|_, _| Ok(ContainerId("c1".into())));
    p.expect_container_status()
        .returning(|_, _| Ok(ContainerStatus::Finished));
    p.expect_publishing_quota().returning(|_| Ok(quota(0, 50)));
    p.expect_publish()
        .times(1)
        .returning(|_, _| Err(err(PublishErrorKind::Transient)));
    let o = orchestrator(p, journal, clock.clone());
    let permit = permit();
    let first = o.run(&permit, &account(), &media()).await.unwrap();
    assert!(matches!(
        first,
        PublishOutcome::Deferred {
            reason: DeferReason::OutcomeUnknown,
            ..
        }
    ));
    clock.advance(chrono::Duration::minutes(11));
    let second = o.run(&permit, &account(), &media()).await.unwrap();
    match second {
        PublishOutcome::Failed(f) => {
            assert_eq!(f.code, "publish_unconfirmed");
            assert!(f.retryable);
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn not_ready_on_publish_steps_back_and_publishes_on_the_next_run() {
    let journal = Arc::new(MemoryJournal::default());
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .times(1)
        .returning(|_, _| Ok(ContainerId("c1".into())));
    p.expect_container_status()
        .returning(|_, _| Ok(ContainerStatus::Finished));
    p.expect_publishing_quota().returning(|_| Ok(quota(0, 50)));
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    p.expect_publish().times(2).returning(move |_, _| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(err(PublishErrorKind::NotReady))
        } else {
            Ok(PublishResult::Published {
                media_id: "m1".into(),
            })
        }
    });
    p.expect_permalink().returning(|_, _| Ok(None));
    let o = orchestrator(p, journal.clone(), clock());
    let permit = permit();
    assert!(matches!(
        o.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred {
            reason: DeferReason::NotReady,
            ..
        }
    ));
    assert!(matches!(
        journal.step(permit.post()),
        Some(PublishStep::ContainerReady { .. })
    ));
    assert!(matches!(
        o.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Published { .. }
    ));
}

#[tokio::test]
async fn an_invalid_token_asks_for_a_reconnect_and_publishes_nothing() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .times(1)
        .returning(|_, _| Err(err(PublishErrorKind::ReconnectNeeded)));
    p.expect_publish().times(0);
    let o = orchestrator(p, Arc::new(MemoryJournal::default()), clock());
    assert!(matches!(
        o.run(&permit(), &account(), &media()).await.unwrap(),
        PublishOutcome::NeedsReconnect { .. }
    ));
}

#[tokio::test]
async fn a_spent_quota_defers_before_media_publish() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .returning(|_, _| Ok(ContainerId("c1".into())));
    p.expect_container_status()
        .returning(|_, _| Ok(ContainerStatus::Finished));
    p.expect_publishing_quota().returning(|_| Ok(quota(50, 50)));
    p.expect_publish().times(0);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(p, journal.clone(), clock());
    let permit = permit();
    assert!(matches!(
        o.run(&permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred {
            reason: DeferReason::QuotaSpent,
            ..
        }
    ));
    assert_eq!(journal.history(), ["created", "ready"]);
}

#[tokio::test]
async fn transient_create_failures_are_retried_up_to_the_bound() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .times(3)
        .returning(|_, _| Err(err(PublishErrorKind::Transient)));
    p.expect_publish().times(0);
    let clock = clock();
    let o = orchestrator(p, Arc::new(MemoryJournal::default()), clock.clone());
    assert!(matches!(
        o.run(&permit(), &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred {
            reason: DeferReason::Transient,
            ..
        }
    ));
    assert_eq!(clock.sleeps().len(), 2);
    assert!(clock.sleeps().iter().all(|d| *d <= Duration::from_secs(30)));
}

#[tokio::test]
async fn polling_stops_at_its_bound_and_defers() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .times(1)
        .returning(|_, _| Ok(ContainerId("c1".into())));
    p.expect_container_status()
        .times(10)
        .returning(|_, _| Ok(ContainerStatus::InProgress));
    p.expect_publish().times(0);
    let o = orchestrator(p, Arc::new(MemoryJournal::default()), clock());
    assert!(matches!(
        o.run(&permit(), &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred {
            reason: DeferReason::NotReady,
            ..
        }
    ));
}

#[tokio::test]
async fn an_expired_container_is_recreated_once() {
    let mut p = MockSocialPublisher::new();
    let created = Arc::new(AtomicU32::new(0));
    let c = created.clone();
    p.expect_create_container().times(2).returning(move |_, _| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        Ok(ContainerId(format!("c{n}")))
    });
    p.expect_container_status().returning(|_, c| {
        Ok(if c.0 == "c0" {
            ContainerStatus::Expired
        } else {
            ContainerStatus::Finished
        })
    });
    p.expect_publishing_quota().returning(|_| Ok(quota(0, 50)));
    p.expect_publish().times(1).returning(|_, c| {
        assert_eq!(c.0, "c1");
        Ok(PublishResult::Published {
            media_id: "m1".into(),
        })
    });
    p.expect_permalink().returning(|_, _| Ok(None));
    let o = orchestrator(p, Arc::new(MemoryJournal::default()), clock());
    assert!(matches!(
        o.run(&permit(), &account(), &media()).await.unwrap(),
        PublishOutcome::Published { .. }
    ));
}

#[tokio::test]
async fn a_container_error_fails_with_its_reason() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .returning(|_, _| Ok(ContainerId("c1".into())));
    p.expect_container_status().returning(|_, _| {
        Ok(ContainerStatus::Error {
            reason: "2207026".into(),
        })
    });
    p.expect_publish().times(0);
    let o = orchestrator(p, Arc::new(MemoryJournal::default()), clock());
    match o.run(&permit(), &account(), &media()).await.unwrap() {
        PublishOutcome::Failed(f) => {
            assert_eq!(f.code, "media_processing_failed");
            assert!(f.message.contains("2207026"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failed_permalink_read_never_fails_a_live_post() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .returning(|_, _| Ok(ContainerId("c1".into())));
    p.expect_container_status()
        .returning(|_, _| Ok(ContainerStatus::Finished));
    p.expect_publishing_quota().returning(|_| Ok(quota(0, 50)));
    p.expect_publish().times(1).returning(|_, _| {
        Ok(PublishResult::Published {
            media_id: "m1".into(),
        })
    });
    p.expect_permalink()
        .returning(|_, _| Err(err(PublishErrorKind::Invalid)));
    let o = orchestrator(p, Arc::new(MemoryJournal::default()), clock());
    assert!(matches!(
        o.run(&permit(), &account(), &media()).await.unwrap(),
        PublishOutcome::Published {
            media_id: Some(_),
            permalink: None,
            ..
        }
    ));
}

#[tokio::test]
async fn progress_from_an_earlier_approval_is_not_reused() {
    let journal = Arc::new(MemoryJournal::default());
    let new_permit = permit_at(t0() + chrono::Duration::hours(1));
    // An earlier approval of the same post ended with a sent-but-unconfirmed publish.
    journal.entries.lock().unwrap().insert(
        new_permit.post(),
        JournalEntry {
            approved_at: t0(),
            step: PublishStep::PublishSent {
                container: ContainerId("old".into()),
                at: t0(),
            },
        },
    );
    let mut p = MockSocialPublisher::new();
    p.expect_create_container()
        .times(1)
        .returning(|_, _| Ok(ContainerId("new".into())));
    p.expect_container_status().returning(|_, c| {
        assert_eq!(c.0, "new");
        Ok(ContainerStatus::Finished)
    });
    p.expect_publishing_quota().returning(|_| Ok(quota(0, 50)));
    p.expect_publish().times(1).returning(|_, c| {
        assert_eq!(c.0, "new");
        Ok(PublishResult::Published {
            media_id: "m2".into(),
        })
    });
    p.expect_permalink().returning(|_, _| Ok(None));
    let o = orchestrator(p, journal, clock());
    assert!(matches!(
        o.run(&new_permit, &account(), &media()).await.unwrap(),
        PublishOutcome::Published { .. }
    ));
}

#[tokio::test]
async fn a_permit_for_another_account_publishes_nothing() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container().times(0);
    p.expect_publish().times(0);
    let o = orchestrator(p, Arc::new(MemoryJournal::default()), clock());
    let mut other = account();
    other.ig_user_id = IgUserId::parse("42").unwrap();
    assert!(matches!(
        o.run(&permit(), &other, &media()).await.unwrap(),
        PublishOutcome::Failed(_)
    ));
}

#[tokio::test]
async fn a_post_without_media_fails_before_any_call() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container().times(0);
    p.expect_publish().times(0);
    let o = orchestrator(p, Arc::new(MemoryJournal::default()), clock());
    match o.run(&permit(), &account(), &[]).await.unwrap() {
        PublishOutcome::Failed(f) => assert_eq!(f.code, "media_missing"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn backoff_is_capped_and_jittered() {
    let policy = PublishPolicy::default();
    for attempt in 0..40 {
        let d = policy.backoff(attempt);
        assert!(d <= policy.max_backoff);
        assert!(d >= Duration::from_millis(10));
    }
}

#[test]
fn debug_of_an_account_hides_the_token() {
    let shown = format!("{:?}", account());
    assert!(!shown.contains("EAAtest-token"));
    assert!(shown.contains("REDACTED"));
}
