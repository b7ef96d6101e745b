//! The orchestration against an in-memory Instagram that behaves like the real one where it
//! matters: containers, `media_publish` applied or not whatever the answer says, a media
//! listing with timestamps and captions, a quota, and every call counted.

mod faults;
mod lookup;
mod policy;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeZone;
use secrecy::SecretString;
use tokio::sync::Notify;

use super::*;
use crate::domain::sample_content;
use crate::ports::{
    FoundMedia, ListedMedia, MediaReach, MockMediaProbe, MockSocialPublisher, PublishingQuota,
};
use crate::{Approval, IgUserId, ManualClock, Post, Restrictions, UserId};

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap()
}

pub(super) fn account() -> PublishAccount {
    PublishAccount {
        ig_user_id: IgUserId::parse("17841405822304914").unwrap(),
        access_token: SecretString::from("EAAtest-token"),
    }
}

pub(super) fn media() -> Vec<MediaSource> {
    vec![MediaSource {
        url: "https://media.example/signed/abc".into(),
        is_video: false,
    }]
}

/// An approved, started post and its permit.
pub(super) fn permit_at(approved_at: DateTime<Utc>) -> PublishPermit {
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
        api_key: None,
    })
    .unwrap();
    post.begin_publishing(approved_at, &Restrictions::default())
        .unwrap()
}

pub(super) fn permit() -> PublishPermit {
    permit_at(t0())
}

/// The caption the sample post is published with.
pub(super) fn sent_caption() -> String {
    permit().text().as_str().to_owned()
}

pub(super) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(t0()))
}

/// A crash: whoever holds the switch stops answering and signals it.
#[derive(Default)]
pub(super) struct CrashSwitch {
    fired: Notify,
}

impl CrashSwitch {
    /// Signals the crash and never returns: the run that made the call is dropped.
    async fn fire(&self) -> ! {
        self.fired.notify_one();
        std::future::pending::<()>().await;
        unreachable!("a pending future never completes")
    }
}

/// A journal in memory that can fail a write (the process died before it was durable) or
/// crash right after one (durable, then the process died).
#[derive(Default)]
pub(super) struct MemoryJournal {
    entries: Mutex<HashMap<PostId, JournalEntry>>,
    writes: AtomicU32,
    fail_on_write: Mutex<Option<u32>>,
    crash_after_write: Mutex<Option<(u32, Arc<CrashSwitch>)>>,
    history: Mutex<Vec<PublishStep>>,
}

impl MemoryJournal {
    pub(super) fn fail_write(&self, n: u32) {
        *self.fail_on_write.lock().unwrap() = Some(n);
    }
    pub(super) fn crash_after_write(&self, n: u32, switch: Arc<CrashSwitch>) {
        *self.crash_after_write.lock().unwrap() = Some((n, switch));
    }
    pub(super) fn heal(&self) {
        *self.fail_on_write.lock().unwrap() = None;
        *self.crash_after_write.lock().unwrap() = None;
    }
    pub(super) fn step(&self, post: PostId) -> Option<PublishStep> {
        self.entries
            .lock()
            .unwrap()
            .get(&post)
            .map(|e| e.step.clone())
    }
    pub(super) fn put(&self, post: PostId, entry: JournalEntry) {
        self.entries.lock().unwrap().insert(post, entry);
    }
    pub(super) fn history(&self) -> Vec<&'static str> {
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

#[async_trait]
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
        let crash = self
            .crash_after_write
            .lock()
            .unwrap()
            .as_ref()
            .filter(|(at, _)| *at == n)
            .map(|(_, switch)| Arc::clone(switch));
        if let Some(switch) = crash {
            switch.fire().await;
        }
        Ok(())
    }
    async fn clear(&self, post: PostId) -> Result<(), StoreError> {
        self.entries.lock().unwrap().remove(&post);
        Ok(())
    }
}

/// The Graph calls the fake counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Call {
    Quota,
    Create,
    Status,
    Publish,
    Permalink,
    FindMedia,
}

/// What the fake does with one `media_publish`.
#[derive(Debug, Clone)]
pub(super) enum Answer {
    /// Publishes and returns the media id.
    Ok,
    /// Publishes, but answers with this error (a timeout, a 5xx, Meta's 4/2207051).
    LiveBut(PublishErrorKind),
    /// Publishes, and answers "already published" (Graph 506).
    LiveDuplicate,
    /// Does not publish, yet answers "already published".
    ClaimsDuplicate,
    /// Does not publish; answers with this error.
    NotLive(PublishErrorKind),
    /// Does not publish now, answers with this error, and the container goes live this much
    /// later (Meta's delayed error).
    LiveLater(chrono::Duration, PublishErrorKind),
}

#[derive(Debug, Clone)]
struct FakeContainer {
    caption: Option<String>,
    media: Option<String>,
    goes_live_at: Option<DateTime<Utc>>,
    expired: bool,
    error: Option<PublishErrorKind>,
}

#[derive(Default)]
struct State {
    next: u64,
    containers: HashMap<String, FakeContainer>,
    media: Vec<ListedMedia>,
    calls: HashMap<Call, u32>,
    successful_publishes: u32,
    publish_answers: VecDeque<Answer>,
    create_errors: VecDeque<PublishErrorKind>,
    statuses: VecDeque<ContainerStatus>,
    status_failures: u32,
    permalink_failures: u32,
    quota: Option<Result<PublishingQuota, PublishErrorKind>>,
    crash_after: Option<(Call, u32)>,
}

/// An Instagram in memory.
pub(super) struct FakeInstagram {
    clock: Arc<ManualClock>,
    state: Mutex<State>,
    pub(super) crash: Arc<CrashSwitch>,
}

impl FakeInstagram {
    pub(super) fn new(clock: Arc<ManualClock>) -> Arc<Self> {
        Arc::new(Self {
            clock,
            state: Mutex::new(State::default()),
            crash: Arc::new(CrashSwitch::default()),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The next `media_publish` requests are answered like this, in order (then `Ok`).
    pub(super) fn answer_publish(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state().publish_answers.extend(answers);
    }

    /// The next container creations fail like this, in order.
    pub(super) fn fail_creates(&self, kinds: impl IntoIterator<Item = PublishErrorKind>) {
        self.state().create_errors.extend(kinds);
    }

    /// The next status reads answer these instead of the truth.
    pub(super) fn answer_statuses(&self, statuses: impl IntoIterator<Item = ContainerStatus>) {
        self.state().statuses.extend(statuses);
    }

    /// The next `n` status reads fail transiently.
    pub(super) fn fail_statuses(&self, n: u32) {
        self.state().status_failures = n;
    }

    /// The next `n` permalink reads fail transiently.
    pub(super) fn fail_permalinks(&self, n: u32) {
        self.state().permalink_failures = n;
    }

    pub(super) fn set_quota(&self, quota: Result<PublishingQuota, PublishErrorKind>) {
        self.state().quota = Some(quota);
    }

    /// Makes the container expire (24 h without publishing).
    pub(super) fn expire(&self, container: &ContainerId) {
        if let Some(c) = self.state().containers.get_mut(container.as_str()) {
            c.expired = true;
        }
    }

    /// A media item the owner published some other way.
    pub(super) fn seed_media(&self, caption: &str, at: DateTime<Utc>) -> String {
        let mut state = self.state();
        state.next += 1;
        let id = format!("m{}", state.next);
        state.media.push(ListedMedia {
            id: id.clone(),
            timestamp: at,
            caption: Some(caption.to_owned()),
            permalink: Some(permalink_of(&id)),
        });
        id
    }

    /// The process dies right after the `n`-th (1-based) call of this kind took effect.
    pub(super) fn crash_after(&self, call: Call, n: u32) {
        self.state().crash_after = Some((call, n));
    }

    pub(super) fn calls(&self, call: Call) -> u32 {
        self.state().calls.get(&call).copied().unwrap_or(0)
    }

    pub(super) fn graph_calls(&self) -> u32 {
        self.state().calls.values().sum()
    }

    /// `media_publish` requests that put a post live.
    pub(super) fn successful_publishes(&self) -> u32 {
        self.state().successful_publishes
    }

    /// Posts live on the account that came from containers (not seeded).
    pub(super) fn live_posts(&self) -> Vec<String> {
        let state = self.state();
        let mut live: Vec<String> = state
            .containers
            .values()
            .filter_map(|c| c.media.clone())
            .collect();
        live.sort();
        live
    }

    pub(super) fn containers(&self) -> usize {
        self.state().containers.len()
    }

    /// The media id a container became.
    pub(super) fn media_of(&self, container: &str) -> Option<String> {
        self.state()
            .containers
            .get(container)
            .and_then(|c| c.media.clone())
    }

    /// Counts the call; crashes after it when told to.
    async fn after_call(&self, call: Call) {
        let crash = {
            let mut state = self.state();
            let n = state.calls.entry(call).or_default();
            *n += 1;
            let n = *n;
            if state.crash_after == Some((call, n)) {
                state.crash_after = None;
                true
            } else {
                false
            }
        };
        if crash {
            self.crash.fire().await;
        }
    }

    /// Puts a container live now.
    fn go_live(state: &mut State, container: &str, at: DateTime<Utc>) -> String {
        state.next += 1;
        let id = format!("m{}", state.next);
        let c = state
            .containers
            .get_mut(container)
            .expect("a container of ours");
        c.media = Some(id.clone());
        c.goes_live_at = None;
        let caption = c.caption.clone();
        state.successful_publishes += 1;
        state.media.push(ListedMedia {
            id: id.clone(),
            timestamp: at,
            caption,
            permalink: Some(permalink_of(&id)),
        });
        id
    }

    /// Delayed publishes that are due by now.
    fn settle_delayed(&self, state: &mut State) {
        let now = self.clock.now();
        let due: Vec<(String, DateTime<Utc>)> = state
            .containers
            .iter()
            .filter_map(|(id, c)| {
                c.goes_live_at
                    .filter(|at| *at <= now)
                    .map(|at| (id.clone(), at))
            })
            .collect();
        for (id, at) in due {
            Self::go_live(state, &id, at);
        }
    }
}

pub(super) fn permalink_of(media: &str) -> String {
    format!("https://www.instagram.com/p/{media}/")
}

fn err(kind: PublishErrorKind) -> PublishError {
    PublishError::new(kind, "simulated")
}

#[async_trait]
impl SocialPublisher for FakeInstagram {
    async fn create_container(
        &self,
        _account: &PublishAccount,
        spec: &ContainerSpec,
    ) -> Result<ContainerId, PublishError> {
        let result = {
            let mut state = self.state();
            match state.create_errors.pop_front() {
                Some(kind) => Err(err(kind)),
                None => {
                    state.next += 1;
                    let id = format!("c{}", state.next);
                    state.containers.insert(
                        id.clone(),
                        FakeContainer {
                            caption: spec.caption.clone(),
                            media: None,
                            goes_live_at: None,
                            expired: false,
                            error: None,
                        },
                    );
                    Ok(ContainerId::new(id))
                }
            }
        };
        self.after_call(Call::Create).await;
        result
    }

    async fn container_status(
        &self,
        _account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError> {
        let result = {
            let mut state = self.state();
            self.settle_delayed(&mut state);
            if state.status_failures > 0 {
                state.status_failures -= 1;
                Err(err(PublishErrorKind::Transient))
            } else {
                match state.statuses.pop_front() {
                    Some(status) => Ok(status),
                    None => match state.containers.get(container.as_str()) {
                        None => Err(err(PublishErrorKind::Invalid)),
                        Some(c) if c.media.is_some() => Ok(ContainerStatus::Published),
                        Some(c) if c.expired => Ok(ContainerStatus::Expired),
                        Some(FakeContainer {
                            error: Some(kind), ..
                        }) => Ok(ContainerStatus::Error {
                            reason: "simulated".into(),
                            kind: kind.clone(),
                        }),
                        Some(_) => Ok(ContainerStatus::Finished),
                    },
                }
            }
        };
        self.after_call(Call::Status).await;
        result
    }

    async fn publish(
        &self,
        _account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<PublishResult, PublishError> {
        let result = {
            let mut state = self.state();
            self.settle_delayed(&mut state);
            let answer = state.publish_answers.pop_front().unwrap_or(Answer::Ok);
            let now = self.clock.now();
            match state.containers.get(container.as_str()) {
                None => Err(err(PublishErrorKind::Invalid)),
                // Meta refuses to publish a container twice.
                Some(c) if c.media.is_some() => Ok(PublishResult::AlreadyPublished),
                Some(c) if c.expired => Err(err(PublishErrorKind::NotReady)),
                Some(_) => match answer {
                    Answer::Ok => Ok(PublishResult::Published {
                        media_id: Self::go_live(&mut state, container.as_str(), now),
                    }),
                    Answer::LiveBut(kind) => {
                        Self::go_live(&mut state, container.as_str(), now);
                        Err(err(kind))
                    }
                    Answer::LiveDuplicate => {
                        Self::go_live(&mut state, container.as_str(), now);
                        Ok(PublishResult::AlreadyPublished)
                    }
                    Answer::NotLive(kind) => Err(err(kind)),
                    Answer::ClaimsDuplicate => Ok(PublishResult::AlreadyPublished),
                    Answer::LiveLater(delay, kind) => {
                        if let Some(c) = state.containers.get_mut(container.as_str()) {
                            c.goes_live_at = Some(now + delay);
                        }
                        Err(err(kind))
                    }
                },
            }
        };
        self.after_call(Call::Publish).await;
        result
    }

    async fn publishing_quota(
        &self,
        _account: &PublishAccount,
    ) -> Result<PublishingQuota, PublishError> {
        let result = match self.state().quota.clone() {
            None => Ok(quota(0, 100)),
            Some(Ok(quota)) => Ok(quota),
            Some(Err(kind)) => Err(err(kind)),
        };
        self.after_call(Call::Quota).await;
        result
    }

    async fn permalink(
        &self,
        _account: &PublishAccount,
        media_id: &str,
    ) -> Result<Option<String>, PublishError> {
        let result = {
            let mut state = self.state();
            if state.permalink_failures > 0 {
                state.permalink_failures -= 1;
                Err(err(PublishErrorKind::Transient))
            } else {
                Ok(state
                    .media
                    .iter()
                    .find(|m| m.id == media_id)
                    .and_then(|m| m.permalink.clone()))
            }
        };
        self.after_call(Call::Permalink).await;
        result
    }

    async fn find_media(
        &self,
        _account: &PublishAccount,
        query: &MediaQuery,
    ) -> Result<MediaLookup, PublishError> {
        let result = {
            let mut state = self.state();
            self.settle_delayed(&mut state);
            // Newest first, as Instagram lists them.
            let mut listed = state.media.clone();
            listed.sort_by_key(|m| std::cmp::Reverse(m.timestamp));
            Ok(query.pick(&listed))
        };
        self.after_call(Call::FindMedia).await;
        result
    }
}

pub(super) fn quota(used: u32, total: u32) -> PublishingQuota {
    PublishingQuota {
        used,
        total,
        window: Duration::from_secs(86_400),
    }
}

pub(super) fn orchestrator_with(
    publisher: Arc<dyn SocialPublisher>,
    journal: Arc<MemoryJournal>,
    clock: Arc<ManualClock>,
    policy: PublishPolicy,
) -> PublishOrchestrator {
    PublishOrchestrator::new(publisher, journal, clock, policy)
}

pub(super) fn orchestrator(
    fake: &Arc<FakeInstagram>,
    journal: &Arc<MemoryJournal>,
    clock: &Arc<ManualClock>,
) -> PublishOrchestrator {
    orchestrator_with(
        Arc::clone(fake) as Arc<dyn SocialPublisher>,
        Arc::clone(journal),
        Arc::clone(clock),
        PublishPolicy::default(),
    )
}

/// Runs until the outcome is not a deferral, moving the clock to each deferral's end.
pub(super) async fn run_to_the_end(
    o: &PublishOrchestrator,
    permit: &PublishPermit,
    clock: &ManualClock,
) -> PublishOutcome {
    for _ in 0..100 {
        match o.run(permit, &account(), &media()).await.unwrap() {
            PublishOutcome::Deferred { until, .. } => {
                if until > clock.now() {
                    clock.set(until);
                }
            }
            settled => return settled,
        }
    }
    panic!("the publish never settled");
}

/// The media id and permalink of a published outcome; panics otherwise.
pub(super) fn published(outcome: &PublishOutcome) -> (String, String) {
    match outcome {
        PublishOutcome::Published {
            media_id: Some(media_id),
            permalink: Some(permalink),
            ..
        } => (media_id.clone(), permalink.clone()),
        other => panic!("expected a publish with media id and permalink, got {other:?}"),
    }
}

pub(super) fn failed(outcome: &PublishOutcome) -> &PublishFailure {
    match outcome {
        PublishOutcome::Failed(failure) => failure,
        other => panic!("expected a failure, got {other:?}"),
    }
}

// --- the happy path -------------------------------------------------------------------------

#[tokio::test]
async fn an_approved_image_takes_four_graph_calls_and_ends_with_its_media_id_and_permalink() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);
    let permit = permit();

    let outcome = o.run(&permit, &account(), &media()).await.unwrap();

    let (media_id, permalink) = published(&outcome);
    assert_eq!(fake.media_of("c1"), Some(media_id.clone()));
    assert_eq!(permalink, permalink_of(&media_id));
    for call in [Call::Create, Call::Status, Call::Publish, Call::Permalink] {
        assert_eq!(fake.calls(call), 1, "{call:?}");
    }
    assert_eq!(fake.calls(Call::Quota), 1, "the book's one read");
    assert_eq!(fake.graph_calls(), 5);
    assert_eq!(
        journal.history(),
        ["created", "ready", "sent", "published", "published"]
    );
    // It waited once for the container to process, then read it.
    assert_eq!(clock.sleeps(), [PublishPolicy::default().first_poll_after]);
}

#[tokio::test]
async fn a_shared_quota_book_reads_the_quota_once_for_a_batch_of_one_account() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let journal = Arc::new(MemoryJournal::default());
    let book = Arc::new(QuotaBook::new(Duration::from_secs(600)));

    for _ in 0..10 {
        // One orchestrator per job, as a worker builds them, sharing the worker's book.
        let o = orchestrator(&fake, &journal, &clock).with_quotas(Arc::clone(&book));
        let outcome = o.run(&permit(), &account(), &media()).await.unwrap();
        published(&outcome);
    }

    assert_eq!(fake.calls(Call::Quota), 1);
    assert_eq!(fake.graph_calls(), 10 * 4 + 1);
    assert_eq!(fake.successful_publishes(), 10);
    assert_eq!(book.remaining(&account().ig_user_id).await, Some(90));
}

#[tokio::test]
async fn a_container_still_processing_is_polled_with_back_off_until_it_finishes() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_statuses([ContainerStatus::InProgress, ContainerStatus::InProgress]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    published(&o.run(&permit(), &account(), &media()).await.unwrap());

    assert_eq!(fake.calls(Call::Status), 3);
    assert_eq!(fake.calls(Call::Publish), 1);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    assert!(
        sleeps[1..]
            .iter()
            .all(|d| *d <= PublishPolicy::default().max_backoff)
    );
}

#[tokio::test]
async fn polling_stops_at_its_bound_and_defers_without_publishing() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_statuses(vec![ContainerStatus::InProgress; 10]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    let outcome = o.run(&permit(), &account(), &media()).await.unwrap();

    assert!(matches!(
        outcome,
        PublishOutcome::Deferred {
            reason: DeferReason::NotReady,
            ..
        }
    ));
    assert_eq!(fake.calls(Call::Status), 10);
    assert_eq!(fake.calls(Call::Publish), 0);
}

// --- quota ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_spent_quota_defers_before_media_publish_until_the_book_reads_again() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.set_quota(Ok(quota(50, 50)));
    let journal = Arc::new(MemoryJournal::default());
    let book = Arc::new(QuotaBook::new(Duration::from_secs(300)));
    let o = orchestrator(&fake, &journal, &clock).with_quotas(Arc::clone(&book));
    let permit = permit();

    let outcome = o.run(&permit, &account(), &media()).await.unwrap();

    let read_at = t0() + chrono::Duration::seconds(2);
    assert_eq!(
        outcome,
        PublishOutcome::Deferred {
            until: read_at + chrono::Duration::minutes(5),
            reason: DeferReason::QuotaSpent
        }
    );
    assert_eq!(fake.calls(Call::Publish), 0);
    assert_eq!(journal.history(), ["created", "ready"]);
    // The window moved on: the next run reads again and publishes the same container.
    fake.set_quota(Ok(quota(49, 50)));
    clock.set(read_at + chrono::Duration::minutes(5));
    published(&o.run(&permit, &account(), &media()).await.unwrap());
    assert_eq!(fake.calls(Call::Quota), 2);
    assert_eq!(fake.containers(), 1);
}

#[tokio::test]
async fn the_book_counts_its_own_publishes_against_the_cap_it_read() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.set_quota(Ok(quota(48, 50)));
    let journal = Arc::new(MemoryJournal::default());
    let book = Arc::new(QuotaBook::default());

    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let o = orchestrator(&fake, &journal, &clock).with_quotas(Arc::clone(&book));
        outcomes.push(o.run(&permit(), &account(), &media()).await.unwrap());
    }

    published(&outcomes[0]);
    published(&outcomes[1]);
    assert!(matches!(
        outcomes[2],
        PublishOutcome::Deferred {
            reason: DeferReason::QuotaSpent,
            ..
        }
    ));
    assert_eq!(fake.calls(Call::Quota), 1);
    assert_eq!(fake.calls(Call::Publish), 2);
    // The third post did not even spend a container: the book knew.
    assert_eq!(fake.containers(), 2);
}

#[tokio::test]
async fn a_quota_the_token_may_not_read_is_read_once_and_meta_enforces_it_at_publish() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.set_quota(Err(PublishErrorKind::PermissionMissing {
        permission: Some("business_management".into()),
    }));
    let journal = Arc::new(MemoryJournal::default());
    let book = Arc::new(QuotaBook::default());

    for _ in 0..3 {
        let o = orchestrator(&fake, &journal, &clock).with_quotas(Arc::clone(&book));
        published(&o.run(&permit(), &account(), &media()).await.unwrap());
    }

    assert_eq!(fake.calls(Call::Quota), 1);
    assert_eq!(book.remaining(&account().ig_user_id).await, None);
}

#[tokio::test]
async fn metas_publish_limit_steps_back_and_stops_the_book_until_it_reads_again() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish([Answer::NotLive(PublishErrorKind::PublishLimit {
        retry_after: None,
    })]);
    let journal = Arc::new(MemoryJournal::default());
    let book = Arc::new(QuotaBook::default());
    let o = orchestrator(&fake, &journal, &clock).with_quotas(Arc::clone(&book));
    let permit = permit();

    let outcome = o.run(&permit, &account(), &media()).await.unwrap();

    assert!(matches!(
        outcome,
        PublishOutcome::Deferred {
            reason: DeferReason::QuotaSpent,
            ..
        }
    ));
    assert!(matches!(
        journal.step(permit.post()),
        Some(PublishStep::ContainerReady { .. })
    ));
    assert_eq!(book.remaining(&account().ig_user_id).await, Some(0));
    // Another post of the account is not even tried while the book says spent.
    let other = orchestrator(&fake, &journal, &clock).with_quotas(Arc::clone(&book));
    assert!(matches!(
        other
            .run(&permit_at(t0()), &account(), &media())
            .await
            .unwrap(),
        PublishOutcome::Deferred {
            reason: DeferReason::QuotaSpent,
            ..
        }
    ));
    assert_eq!(fake.calls(Call::Publish), 1);
    // Once the reading is stale, the first post publishes its container.
    clock.advance(chrono::Duration::minutes(6));
    published(&o.run(&permit, &account(), &media()).await.unwrap());
    assert_eq!(fake.successful_publishes(), 1);
}

#[tokio::test]
async fn an_invalid_token_found_by_the_quota_read_asks_for_a_reconnect_and_publishes_nothing() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.set_quota(Err(PublishErrorKind::ReconnectNeeded));
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    let outcome = o.run(&permit(), &account(), &media()).await.unwrap();

    assert!(matches!(outcome, PublishOutcome::NeedsReconnect { .. }));
    assert_eq!(fake.calls(Call::Publish), 0);
}

// --- refusals and failures ------------------------------------------------------------------

#[tokio::test]
async fn an_invalid_token_at_creation_asks_for_a_reconnect_and_publishes_nothing() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.fail_creates([PublishErrorKind::ReconnectNeeded]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    assert!(matches!(
        o.run(&permit(), &account(), &media()).await.unwrap(),
        PublishOutcome::NeedsReconnect { .. }
    ));
    assert_eq!(fake.graph_calls(), 1);
}

#[tokio::test]
async fn not_ready_at_publish_steps_back_and_the_next_run_publishes_the_same_container() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish([Answer::NotLive(PublishErrorKind::NotReady)]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);
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
    published(&o.run(&permit, &account(), &media()).await.unwrap());
    assert_eq!(fake.containers(), 1);
    assert_eq!(fake.calls(Call::Publish), 2);
    assert_eq!(fake.successful_publishes(), 1);
}

#[tokio::test]
async fn a_definite_refusal_at_publish_fails_the_post_and_leaves_no_request_in_flight() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_publish([Answer::NotLive(PublishErrorKind::AccountRestricted)]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);
    let permit = permit();

    let outcome = o.run(&permit, &account(), &media()).await.unwrap();

    assert_eq!(failed(&outcome).code, "account_restricted");
    assert!(matches!(
        journal.step(permit.post()),
        Some(PublishStep::ContainerReady { .. })
    ));
    // A new approval starts at once: nothing was in flight.
    let again = permit_at(t0() + chrono::Duration::minutes(1));
    journal.put(
        again.post(),
        JournalEntry {
            approved_at: t0(),
            step: journal.step(permit.post()).unwrap(),
        },
    );
    published(&o.run(&again, &account(), &media()).await.unwrap());
}

#[tokio::test]
async fn transient_create_failures_are_retried_up_to_the_bound_then_deferred() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.fail_creates(vec![PublishErrorKind::Transient; 3]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    assert!(matches!(
        o.run(&permit(), &account(), &media()).await.unwrap(),
        PublishOutcome::Deferred {
            reason: DeferReason::Transient,
            ..
        }
    ));
    assert_eq!(fake.calls(Call::Create), 3);
    assert_eq!(fake.calls(Call::Publish), 0);
    assert_eq!(clock.sleeps().len(), 2);
}

#[tokio::test]
async fn a_container_error_with_a_permanent_reason_fails_with_it_and_is_not_recreated() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_statuses([ContainerStatus::Error {
        reason: "unsupported video format (2207026)".into(),
        kind: PublishErrorKind::InvalidMedia {
            reason: "unsupported video format".into(),
        },
    }]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    let outcome = o.run(&permit(), &account(), &media()).await.unwrap();

    let failure = failed(&outcome);
    assert_eq!(failure.code, "media_processing_failed");
    assert!(failure.message.contains("2207026"));
    assert!(!failure.retryable);
    assert_eq!(fake.containers(), 1);
    assert_eq!(fake.calls(Call::Publish), 0);
}

#[tokio::test]
async fn an_expired_container_is_replaced_within_the_recreation_budget_then_fails_retryably() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_statuses(vec![ContainerStatus::Expired; 3]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    let outcome = o.run(&permit(), &account(), &media()).await.unwrap();

    let failure = failed(&outcome);
    assert_eq!(failure.code, "publish_expired");
    assert!(failure.retryable);
    assert_eq!(fake.containers(), 3, "the first and two replacements");
    assert_eq!(fake.calls(Call::Publish), 0);
}

#[tokio::test]
async fn a_permit_for_another_account_publishes_nothing() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container().times(0);
    p.expect_publish().times(0);
    let o = orchestrator_with(
        Arc::new(p),
        Arc::new(MemoryJournal::default()),
        clock(),
        PublishPolicy::default(),
    );
    let mut other = account();
    other.ig_user_id = IgUserId::parse("42").unwrap();
    assert_eq!(
        failed(&o.run(&permit(), &other, &media()).await.unwrap()).code,
        "wrong_account"
    );
}

#[tokio::test]
async fn a_post_without_media_fails_before_any_call() {
    let mut p = MockSocialPublisher::new();
    p.expect_create_container().times(0);
    p.expect_publish().times(0);
    let o = orchestrator_with(
        Arc::new(p),
        Arc::new(MemoryJournal::default()),
        clock(),
        PublishPolicy::default(),
    );
    assert_eq!(
        failed(&o.run(&permit(), &account(), &[]).await.unwrap()).code,
        "media_missing"
    );
}

// --- media the fetcher cannot reach ---------------------------------------------------------

#[tokio::test]
async fn a_media_fetch_failure_is_retried_with_back_off_and_published_once_the_media_answers() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let fetch_failed = PublishErrorKind::MediaFetchFailed {
        reason: "the media could not be fetched from its URL".into(),
    };
    fake.fail_creates(vec![fetch_failed; 4]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    published(&o.run(&permit(), &account(), &media()).await.unwrap());

    assert_eq!(fake.calls(Call::Create), 5);
    let waits = &clock.sleeps()[..4];
    assert!(waits.windows(2).all(|w| w[0] <= w[1] * 2), "{waits:?}");
    assert!(clock.now() - t0() < chrono::Duration::minutes(5));
}

#[tokio::test]
async fn media_that_stays_unreachable_fails_retryably_once_the_configured_time_is_spent() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let fetch_failed = PublishErrorKind::MediaFetchFailed {
        reason: "the media download timed out".into(),
    };
    fake.fail_creates(vec![fetch_failed; 1000]);
    let journal = Arc::new(MemoryJournal::default());
    let policy = PublishPolicy {
        media_fetch_retry_for: Duration::from_secs(120),
        ..PublishPolicy::default()
    };
    let o = orchestrator_with(fake.clone(), journal, clock.clone(), policy);

    let outcome = o.run(&permit(), &account(), &media()).await.unwrap();

    let failure = failed(&outcome);
    assert_eq!(failure.code, "media_unreachable");
    assert!(failure.retryable);
    assert!(failure.message.contains("timed out"), "{}", failure.message);
    let waited = clock.now() - t0();
    assert!(waited >= chrono::Duration::minutes(2), "{waited}");
    assert!(waited < chrono::Duration::minutes(3), "{waited}");
    assert!(
        fake.calls(Call::Create) <= 20,
        "{}",
        fake.calls(Call::Create)
    );
    assert_eq!(fake.calls(Call::Publish), 0);
}

#[tokio::test]
async fn the_probe_holds_container_creation_back_while_the_media_url_does_not_answer() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let answers = Arc::new(Mutex::new(VecDeque::from([
        MediaReach::Unreachable {
            reason: "connection refused".into(),
        },
        MediaReach::Unreachable {
            reason: "502 from the proxy".into(),
        },
        MediaReach::Reachable,
    ])));
    let mut probe = MockMediaProbe::new();
    probe.expect_probe().times(3).returning(move |item| {
        assert_eq!(item.url, "https://media.example/signed/abc");
        answers.lock().unwrap().pop_front().unwrap()
    });
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock).with_media_probe(Arc::new(probe));

    published(&o.run(&permit(), &account(), &media()).await.unwrap());

    assert_eq!(fake.calls(Call::Create), 1, "no failed container was spent");
}

#[tokio::test]
async fn media_the_probe_finds_gone_fails_before_any_call_to_meta() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let mut probe = MockMediaProbe::new();
    probe
        .expect_probe()
        .times(1)
        .returning(|_| MediaReach::Gone {
            reason: "404 not found".into(),
        });
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock).with_media_probe(Arc::new(probe));

    let outcome = o.run(&permit(), &account(), &media()).await.unwrap();

    assert_eq!(failed(&outcome).code, "media_missing");
    assert_eq!(fake.graph_calls(), 0);
}

#[tokio::test]
async fn a_container_that_failed_to_fetch_its_media_is_replaced_by_a_new_one() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    fake.answer_statuses([ContainerStatus::Error {
        reason: "Error: 2207052".into(),
        kind: PublishErrorKind::MediaFetchFailed {
            reason: "the media could not be fetched from its URL".into(),
        },
    }]);
    let journal = Arc::new(MemoryJournal::default());
    let o = orchestrator(&fake, &journal, &clock);

    published(&o.run(&permit(), &account(), &media()).await.unwrap());

    assert_eq!(fake.containers(), 2);
    assert_eq!(fake.live_posts().len(), 1);
}

// --- earlier approvals ----------------------------------------------------------------------

#[tokio::test]
async fn progress_from_an_earlier_approval_is_not_reused() {
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let journal = Arc::new(MemoryJournal::default());
    let new_permit = permit_at(t0() + chrono::Duration::hours(1));
    journal.put(
        new_permit.post(),
        JournalEntry {
            approved_at: t0(),
            step: PublishStep::ContainerReady {
                container: ContainerId::new("old"),
                at: t0(),
            },
        },
    );
    let o = orchestrator(&fake, &journal, &clock);

    published(&o.run(&new_permit, &account(), &media()).await.unwrap());

    assert_eq!(
        fake.containers(),
        1,
        "a fresh container, the old one untouched"
    );
}

#[tokio::test]
async fn a_new_approval_waits_out_the_grace_of_an_earlier_approvals_request_before_a_new_container()
{
    let clock = clock();
    let fake = FakeInstagram::new(clock.clone());
    let journal = Arc::new(MemoryJournal::default());
    let new_permit = permit_at(t0());
    let sent_at = t0() - chrono::Duration::minutes(1);
    journal.put(
        new_permit.post(),
        JournalEntry {
            approved_at: t0() - chrono::Duration::hours(1),
            step: PublishStep::PublishSent {
                container: ContainerId::new("old"),
                at: sent_at,
                sends: 1,
                first_at: None,
                refused: None,
            },
        },
    );
    let o = orchestrator(&fake, &journal, &clock);

    let first = o.run(&new_permit, &account(), &media()).await.unwrap();

    assert_eq!(
        first,
        PublishOutcome::Deferred {
            until: sent_at + chrono::Duration::minutes(5),
            reason: DeferReason::OutcomeUnknown
        }
    );
    assert_eq!(fake.graph_calls(), 0);
    clock.set(sent_at + chrono::Duration::minutes(5));
    published(&o.run(&new_permit, &account(), &media()).await.unwrap());
}

#[test]
fn debug_of_an_account_hides_the_token() {
    let shown = format!("{:?}", account());
    assert!(!shown.contains("EAAtest-token"));
    assert!(shown.contains("REDACTED"));
}
