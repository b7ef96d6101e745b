//! Recovery of the publish worker against a wiremock Graph API, on SQLite and PostgreSQL: a
//! worker that died after each step, Meta unable to fetch the image for a while, a media host
//! that is down, and the queue's loose ends (a re-click after a worker died, a reconnect).
//!
//! Time is the harness's manual clock: the orchestration's waits advance it instead of
//! sleeping, and the tests move it past leases and the reconcile grace by hand. Nothing here
//! asserts how long anything took on the wall clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    ContainerId, JobRequest, JournalEntry, PostUpdate, PublishStep, Queued,
};
use kraftsoci_core::{ManualClock, Post, PostId, PostStatus, PublishPolicy, Restrictions};
use kraftsoci_server::media::PresignedMedia;
use kraftsoci_server::store::{ClaimedJob, JobChange, Settled, Settlement, WaitReason};
use kraftsoci_server::worker::{CONSENT_MISMATCH, HttpMediaProbe, JobOutcome, WorkerConfig};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::TestDb;
use crate::worker::{FakeInstagram, Harness, Owner, expect_none, fast_config, t0};

async fn sqlite() -> Harness {
    Harness::sqlite().await
}

async fn postgres() -> Harness {
    let manual = Arc::new(ManualClock::new(t0()));
    Harness::with(TestDb::postgres().await, manual.clone(), Some(manual)).await
}

/// Runs a scenario on both engines.
macro_rules! on_both_engines {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test]
            async fn on_sqlite() {
                super::$scenario(super::sqlite().await).await;
            }

            #[tokio::test]
            async fn on_postgres() {
                super::$scenario(super::postgres().await).await;
            }
        }
    };
}

fn chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap()
}

/// The worker's lease and grace in these tests: the production defaults.
fn config() -> WorkerConfig {
    fast_config()
}

/// A worker claimed the job, saved the post as `publishing`, recorded `step(now)` and died
/// before writing anything else. Returns its claim.
async fn crash_after(
    h: &Harness,
    owner: &Owner,
    id: PostId,
    step: impl FnOnce(DateTime<Utc>) -> PublishStep,
) -> ClaimedJob {
    let lease = chrono(config().lease);
    let dead = h
        .stores
        .queue
        .claim_publish_job("dead-worker/1", h.now(), h.now() + lease)
        .await
        .unwrap()
        .expect("the due job");
    let snapshot = h.post(owner, id).await;
    let read_at = snapshot.updated_at;
    let mut post = Post::restore(snapshot).unwrap();
    let permit = post
        .begin_publishing(h.now(), &Restrictions::default())
        .unwrap();
    let saved = h
        .stores
        .queue
        .settle_publish_job(
            &dead.lease,
            &Settlement {
                post: Some(PostUpdate {
                    post: post.snapshot().clone(),
                    expected_updated_at: read_at,
                }),
                reconnect: None,
                job: JobChange::Keep,
                journal: None,
                notice: None,
                now: h.now(),
            },
        )
        .await
        .unwrap();
    assert_eq!(saved, Settled::Applied);
    h.stores
        .queue
        .record_publish_step(
            &dead.lease,
            id,
            &JournalEntry {
                approved_at: permit.receipt().approved_at(),
                step: step(h.now()),
            },
        )
        .await
        .unwrap();
    dead
}

fn sent(container: &str) -> impl FnOnce(DateTime<Utc>) -> PublishStep {
    let container = ContainerId::new(container.to_owned());
    move |at| PublishStep::PublishSent {
        container,
        at,
        sends: 1,
        first_at: Some(at),
        refused: None,
    }
}

/// The container answers `status` whatever happens (ahead of the fake's own status mock).
async fn container_reads(h: &Harness, container: &str, status: &str) {
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{container}")))
        .and(query_param("fields", "status_code,status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status_code": status})))
        .with_priority(1)
        .named("the crashed container's status")
        .mount(&h.graph)
        .await;
}

/// Moves the clock past the dead worker's lease.
fn lease_runs_out(h: &Harness) {
    h.advance(chrono(config().lease) + chrono::Duration::seconds(1));
}

on_both_engines!(a_container_published_before_the_crash_settles_with_its_recovered_media_id);
async fn a_container_published_before_the_crash_settles_with_its_recovered_media_id(h: Harness) {
    let owner = h.owner("17841400000000301").await;
    let id = h.approved_post(&owner, None).await;
    let crashed_at = h.now();
    crash_after(&h, &owner, id, sent("178955560001")).await;
    container_reads(&h, "178955560001", "PUBLISHED").await;
    let live_at = (crashed_at + chrono::Duration::seconds(4))
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string();
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{}/media", owner.ig.as_str())))
        .and(query_param("fields", "id,timestamp,caption,permalink"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "17900000000000302", "timestamp": live_at,
             "caption": "Fresh simit, straight from the oven\n\n#simit",
             "permalink": "https://www.instagram.com/p/RECOVERED302/"},
            {"id": "17900000000000301", "timestamp": "2026-01-01T09:00:00+0000",
             "caption": "Fresh simit, straight from the oven\n\n#simit",
             "permalink": "https://www.instagram.com/p/OLDER/"},
        ]})))
        .expect(1)
        .named("media lookup")
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;
    expect_none("create container", "POST", r"/media$")
        .mount(&h.graph)
        .await;

    assert!(h.worker().run_once().await.unwrap().is_none(), "leased");
    lease_runs_out(&h);
    let report = h.worker().run_once().await.unwrap().expect("taken over");

    assert_eq!(
        report.outcome,
        JobOutcome::Published {
            media_id: Some("17900000000000302".into())
        }
    );
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Published);
    assert_eq!(
        post.instagram_media_id.as_deref(),
        Some("17900000000000302")
    );
    assert_eq!(
        post.permalink.as_deref(),
        Some("https://www.instagram.com/p/RECOVERED302/")
    );
    assert!(h.job(id).await.is_none());
    // Settled within one lease of the crash: a PUBLISHED container needs no grace.
    assert!(h.now() - crashed_at <= chrono(config().lease) + chrono::Duration::seconds(1));
}

on_both_engines!(a_finished_container_after_the_crash_is_published_once_after_the_grace);
async fn a_finished_container_after_the_crash_is_published_once_after_the_grace(h: Harness) {
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000302").await;
    let id = h.approved_post(&owner, None).await;
    let crashed_at = h.now();
    // The worker recorded PublishSent and died before its request left: Meta has nothing.
    crash_after(&h, &owner, id, sent("178955560002")).await;
    let grace = chrono(config().policy.reconcile_grace());

    lease_runs_out(&h);
    let report = h.worker().run_once().await.unwrap().expect("taken over");

    // Meta may still answer the lost request for a while: the container is left alone.
    assert_eq!(
        report.outcome,
        JobOutcome::Waiting {
            until: crashed_at + grace,
            reason: WaitReason::OutcomeUnknown
        }
    );
    assert_eq!(instagram.publish_count(), 0);
    let job = h.job(id).await.unwrap();
    assert_eq!(
        (job.run_after, job.transient_deferrals),
        (crashed_at + grace, 0)
    );
    h.manual()
        .set(crashed_at + grace - chrono::Duration::seconds(1));
    assert!(
        h.worker().run_once().await.unwrap().is_none(),
        "not before the grace"
    );

    h.manual().set(crashed_at + grace);
    let report = h.worker().run_once().await.unwrap().expect("due");

    assert_eq!(
        report.outcome,
        JobOutcome::Published {
            media_id: Some("179055560002".into())
        }
    );
    assert_eq!(
        instagram.publishes(),
        [("178955560002".to_owned(), 1)].into_iter().collect(),
        "the same container, published once"
    );
    assert!(instagram.image_urls().is_empty(), "no new container");
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Published);
    assert_eq!(post.instagram_media_id.as_deref(), Some("179055560002"));
    assert_eq!(
        post.permalink.as_deref(),
        Some("https://www.instagram.com/p/179055560002/")
    );
    // Settled within one lease plus the grace of the crash.
    assert!(h.now() - crashed_at <= chrono(config().lease) + grace);
}

on_both_engines!(an_expired_container_is_replaced_under_the_matching_receipt);
async fn an_expired_container_is_replaced_under_the_matching_receipt(h: Harness) {
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000303").await;
    let id = h.approved_post(&owner, None).await;
    crash_after(&h, &owner, id, sent("178955560003")).await;
    // Meta discarded the container: it can never go live.
    container_reads(&h, "178955560003", "EXPIRED").await;

    lease_runs_out(&h);
    let report = h.worker().run_once().await.unwrap().expect("taken over");

    assert!(
        matches!(report.outcome, JobOutcome::Published { media_id: Some(_) }),
        "{report:?}"
    );
    let publishes = instagram.publishes();
    assert_eq!(publishes.len(), 1);
    assert!(
        !publishes.contains_key("178955560003"),
        "never the expired one"
    );
    assert_eq!(publishes.values().sum::<u32>(), 1);
    // The new container carries exactly the approved post's image.
    let urls = instagram.image_urls();
    assert_eq!(urls.len(), 1);
    let granted = h.links.verify(h.links.token_of(&urls[0]).unwrap()).unwrap();
    assert_eq!(granted.key.as_str(), format!("u/{}/{id}.jpg", owner.id));
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Published);
}

on_both_engines!(a_container_whose_receipt_no_longer_matches_is_not_replaced_and_fails_retryably);
async fn a_container_whose_receipt_no_longer_matches_is_not_replaced_and_fails_retryably(
    h: Harness,
) {
    let owner = h.owner("17841400000000304").await;
    let id = h.approved_post(&owner, None).await;
    crash_after(&h, &owner, id, |at| PublishStep::ContainerCreated {
        container: ContainerId::new("178955560004"),
        at,
    })
    .await;
    // The content changed in storage behind the lifecycle's back: the receipt is for other words.
    h.db.exec(format!(
        "UPDATE posts SET caption = 'Words the owner never approved' WHERE id = '{id}'"
    ))
    .await;
    expect_none("create container", "POST", r"/media$")
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;

    lease_runs_out(&h);
    let report = h.worker().run_once().await.unwrap().expect("taken over");

    assert_eq!(
        report.outcome,
        JobOutcome::Failed {
            code: CONSENT_MISMATCH.to_owned(),
            retryable: true
        }
    );
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Failed);
    let failure = post.failure.expect("a reason the owner can read");
    assert!(failure.retryable);
    assert!(
        failure.message.contains("approve it again"),
        "{}",
        failure.message
    );
    assert!(h.job(id).await.is_none());
    assert_eq!(h.requests().await, 0, "nothing reached Meta");
}

/// Meta cannot fetch the image (9004/2207052) until the manual clock reaches `recovers_at`;
/// then containers are created with increasing ids.
struct FetchFailsUntil {
    clock: Arc<ManualClock>,
    recovers_at: DateTime<Utc>,
    calls: Arc<Mutex<u32>>,
}

impl Respond for FetchFailsUntil {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        use kraftsoci_core::Clock as _;
        let mut calls = self.calls.lock().unwrap();
        *calls += 1;
        if self.clock.now() < self.recovers_at {
            return ResponseTemplate::new(400).set_body_json(json!({"error": {
                "message": "Media download has failed.: The media could not be fetched from the URI.",
                "type": "OAuthException", "code": 9004, "error_subcode": 2207052,
                "fbtrace_id": "AfetchTrace01"
            }}));
        }
        ResponseTemplate::new(200).set_body_json(json!({ "id": format!("17897777{:04}", *calls) }))
    }
}

/// Back-off in seconds, as in production, so that the manual clock walks through real spans.
fn fetch_config() -> WorkerConfig {
    WorkerConfig {
        policy: PublishPolicy::default()
            .with_backoff(Duration::from_secs(1), Duration::from_secs(8))
            .with_first_poll_after(Duration::from_millis(1)),
        ..fast_config()
    }
}

on_both_engines!(an_image_meta_cannot_fetch_for_fifteen_seconds_is_published_once_it_recovers);
async fn an_image_meta_cannot_fetch_for_fifteen_seconds_is_published_once_it_recovers(h: Harness) {
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000305").await;
    let id = h.approved_post(&owner, None).await;
    let started = h.now();
    let calls = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path_regex(r"^/v25\.0/\d+/media$"))
        .respond_with(FetchFailsUntil {
            clock: Arc::clone(h.manual.as_ref().unwrap()),
            recovers_at: started + chrono::Duration::seconds(15),
            calls: Arc::clone(&calls),
        })
        .with_priority(1)
        .mount(&h.graph)
        .await;

    let report = h
        .worker_with(fetch_config())
        .run_once()
        .await
        .unwrap()
        .unwrap();

    assert!(
        matches!(report.outcome, JobOutcome::Published { media_id: Some(_) }),
        "{report:?}"
    );
    let attempts = *calls.lock().unwrap();
    assert!(attempts >= 4, "retried with back-off, {attempts} tries");
    assert!(h.now() >= started + chrono::Duration::seconds(15));
    let waited = h.manual().sleeps();
    assert!(
        waited.iter().all(|d| *d <= Duration::from_secs(8)),
        "bounded back-off: {waited:?}"
    );
    assert_eq!(instagram.publish_count(), 1);
    let post = h.post(&owner, id).await;
    assert_eq!(post.status, PostStatus::Published);
    assert!(post.instagram_media_id.is_some() && post.permalink.is_some());
}

#[tokio::test]
async fn an_image_meta_never_fetches_fails_retryably_after_the_bounded_retry() {
    let h = sqlite().await;
    let owner = h.owner("17841400000000306").await;
    let id = h.approved_post(&owner, None).await;
    let started = h.now();
    let calls = Arc::new(Mutex::new(0));
    Mock::given(method("POST"))
        .and(path_regex(r"^/v25\.0/\d+/media$"))
        .respond_with(FetchFailsUntil {
            clock: Arc::clone(h.manual.as_ref().unwrap()),
            recovers_at: DateTime::<Utc>::MAX_UTC,
            calls: Arc::clone(&calls),
        })
        .mount(&h.graph)
        .await;
    expect_none("media_publish", "POST", r"/media_publish$")
        .mount(&h.graph)
        .await;
    let config = fetch_config();

    let report = h
        .worker_with(config.clone())
        .run_once()
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        report.outcome,
        JobOutcome::Failed {
            code: "media_unreachable".into(),
            retryable: true
        }
    );
    let retry_for = chrono(config.policy.media_fetch_retry_for());
    assert!(h.now() >= started + retry_for);
    assert!(h.now() <= started + retry_for + chrono::Duration::seconds(8));
    let attempts = *calls.lock().unwrap();
    assert!(
        (10..=80).contains(&attempts),
        "bounded: {attempts} containers tried in {retry_for}"
    );
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Failed);
}

/// The media host: 503 until the manual clock reaches `recovers_at`, then the image.
struct HostDownUntil {
    clock: Arc<ManualClock>,
    recovers_at: DateTime<Utc>,
}

impl Respond for HostDownUntil {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        use kraftsoci_core::Clock as _;
        if self.clock.now() < self.recovers_at {
            ResponseTemplate::new(503)
        } else {
            ResponseTemplate::new(200)
                .insert_header("content-type", "image/jpeg")
                .set_body_bytes(b"\xff\xd8\xff\xe0jpeg".to_vec())
        }
    }
}

#[tokio::test]
async fn meta_fetches_a_presigned_bucket_url_that_the_worker_probed_first() {
    let mut h = sqlite().await;
    let instagram = FakeInstagram::mount(&h.graph).await;
    let bucket = MockServer::start().await;
    let owner = h.owner("17841400000000307").await;
    let id = h.approved_post(&owner, None).await;
    let started = h.now();
    // The bucket is unreachable for 20 s (an S3 outage, a proxy restarting).
    Mock::given(method("GET"))
        .and(path_regex(r"^/kraftsoci-media/prod/u/.+\.jpg$"))
        .and(query_param("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        .respond_with(HostDownUntil {
            clock: Arc::clone(h.manual.as_ref().unwrap()),
            recovers_at: started + chrono::Duration::seconds(20),
        })
        .mount(&bucket)
        .await;
    let signer = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(bucket.uri())
        .with_allow_http(true)
        .with_region("eu-central-1")
        .with_bucket_name("kraftsoci-media")
        .with_access_key_id("AKIAFAKEKEYID0000000")
        .with_secret_access_key("fake-secret-access-key-never-in-a-url")
        .build()
        .unwrap();
    h.presigned = Some(Arc::new(PresignedMedia::new(Arc::new(signer), "prod")));
    h.probe = Some(Arc::new(
        HttpMediaProbe::new(Duration::from_secs(5)).unwrap(),
    ));

    let report = h
        .worker_with(fetch_config())
        .run_once()
        .await
        .unwrap()
        .unwrap();

    assert!(
        matches!(report.outcome, JobOutcome::Published { media_id: Some(_) }),
        "{report:?}"
    );
    // No container was spent while the bucket was down: one, created after it recovered.
    let urls = instagram.image_urls();
    assert_eq!(urls.len(), 1, "{urls:?}");
    let url = url::Url::parse(&urls[0]).unwrap();
    assert_eq!(
        url.path(),
        format!("/kraftsoci-media/prod/u/{}/{id}.jpg", owner.id)
    );
    assert!(
        urls[0].starts_with(&bucket.uri()),
        "Meta fetches from the bucket"
    );
    assert!(url.query_pairs().any(|(k, _)| k == "X-Amz-Signature"));
    assert!(!urls[0].contains("fake-secret-access-key"));
    let probes = bucket.received_requests().await.unwrap().len();
    assert!(probes >= 3, "probed until the bucket answered ({probes})");
    assert!(h.now() >= started + chrono::Duration::seconds(20));
    assert_eq!(instagram.publish_count(), 1);
}

#[tokio::test]
async fn a_media_link_that_answers_404_fails_the_post_without_spending_a_container() {
    let mut h = sqlite().await;
    let media_host = MockServer::start().await;
    let owner = h.owner("17841400000000308").await;
    let id = h.approved_post(&owner, None).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&media_host)
        .await;
    expect_none("create container", "POST", r"/media$")
        .mount(&h.graph)
        .await;
    h.links = Arc::new(kraftsoci_server::media_links::MediaLinks::new(
        &secrecy::SecretString::from("worker test media signing key 0123456789"),
        url::Url::parse(&media_host.uri()).unwrap(),
        Arc::clone(&h.clock),
    ));
    h.probe = Some(Arc::new(
        HttpMediaProbe::new(Duration::from_secs(5)).unwrap(),
    ));

    let report = h.worker().run_once().await.unwrap().unwrap();

    assert_eq!(
        report.outcome,
        JobOutcome::Failed {
            code: "media_missing".into(),
            retryable: false
        }
    );
    assert_eq!(h.post(&owner, id).await.status, PostStatus::Failed);
    assert_eq!(media_host.received_requests().await.unwrap().len(), 1);
}

// --- the queue's loose ends ----------------------------------------------------------------

on_both_engines!(a_reclick_right_after_a_worker_died_is_claimable_once_its_lease_runs_out);
async fn a_reclick_right_after_a_worker_died_is_claimable_once_its_lease_runs_out(h: Harness) {
    let instagram = FakeInstagram::mount(&h.graph).await;
    let owner = h.owner("17841400000000309").await;
    let id = h.approved_post(&owner, None).await;
    let lease = chrono(config().lease);
    // The worker claimed the job and died at once (the post is still `approved`).
    h.stores
        .queue
        .claim_publish_job("dead-worker/9", h.now(), h.now() + lease)
        .await
        .unwrap()
        .unwrap();
    // The owner clicks again right away: the job is still held, the click changes nothing.
    let click = |at: DateTime<Utc>, run_after: DateTime<Utc>| JobRequest {
        connection: owner.connection,
        run_after,
        at,
    };
    let again = h
        .stores
        .posts
        .ensure_queued(owner.id, id, &click(h.now(), h.now()))
        .await
        .unwrap();
    assert_eq!(again, Queued::Unchanged);
    assert!(h.worker().run_once().await.unwrap().is_none(), "leased");

    // Its lease ran out: the very next claim takes it.
    h.advance(lease);
    let report = h.worker().run_once().await.unwrap().expect("claimable");
    assert!(
        matches!(report.outcome, JobOutcome::Published { .. }),
        "{report:?}"
    );
    assert_eq!(instagram.publish_count(), 1);
}

on_both_engines!(a_reschedule_after_a_worker_died_takes_the_job_back_once_its_lease_runs_out);
async fn a_reschedule_after_a_worker_died_takes_the_job_back_once_its_lease_runs_out(h: Harness) {
    let owner = h.owner("17841400000000310").await;
    let id = h.approved_post(&owner, None).await;
    let lease = chrono(config().lease);
    h.stores
        .queue
        .claim_publish_job("dead-worker/10", h.now(), h.now() + lease)
        .await
        .unwrap()
        .unwrap();
    h.advance(lease);
    // The owner approves again for a later time (a new receipt, a new run_after).
    let at = h.now() + chrono::Duration::hours(1);
    let snapshot = h.post(&owner, id).await;
    let read_at = snapshot.updated_at;
    let mut post = Post::restore(snapshot).unwrap();
    post.approve(kraftsoci_core::Approval {
        user: owner.id,
        shown_hash: post.content_hash(),
        target: owner.ig.clone(),
        at: h.now(),
        ip: None,
        user_agent: None,
        scheduled_for: Some(at),
        api_key: None,
    })
    .unwrap();

    let queued = h
        .stores
        .posts
        .approve_and_queue(
            &PostUpdate {
                post: post.snapshot().clone(),
                expected_updated_at: read_at,
            },
            &JobRequest {
                connection: owner.connection,
                run_after: at,
                at: h.now(),
            },
        )
        .await
        .expect("a dead worker's expired lease does not hold the click up");

    assert_eq!(queued, Queued::Updated);
    let job = h.job(id).await.unwrap();
    assert_eq!(
        (
            job.state.as_str(),
            job.run_after,
            job.locked_by,
            job.attempts
        ),
        ("queued", at, None, 0)
    );
    assert!(
        h.worker().run_once().await.unwrap().is_none(),
        "not before its new time"
    );
}

on_both_engines!(a_requeue_on_reconnect_starts_with_no_transient_deferrals);
async fn a_requeue_on_reconnect_starts_with_no_transient_deferrals(h: Harness) {
    let owner = h.owner("17841400000000311").await;
    let id = h.approved_post(&owner, None).await;
    // Meta failed temporarily several times, then said the token is gone (190).
    h.db.exec(format!(
        "UPDATE publish_jobs SET transient_deferrals = 4 WHERE post_id = '{id}'"
    ))
    .await;
    Mock::given(method("POST"))
        .and(path_regex(r"/media$"))
        .respond_with(crate::worker::graph_error(
            400,
            190,
            "Error validating access token: Session has expired",
        ))
        .mount(&h.graph)
        .await;
    let report = h.worker().run_once().await.unwrap().unwrap();
    assert_eq!(report.outcome, JobOutcome::NeedsReconnect);
    let parked = h.job(id).await.unwrap();
    assert_eq!(parked.transient_deferrals, 4);
    assert_eq!(parked.wait_reason, Some(WaitReason::Reconnect));

    // The owner reconnects: the post is approved again and its job re-queued, as
    // `InstagramConnect` does it.
    let snapshot = h.post(&owner, id).await;
    let read_at = snapshot.updated_at;
    let mut post = Post::restore(snapshot).unwrap();
    post.reconnected(h.now(), false).unwrap();
    assert_eq!(post.status(), PostStatus::Approved);
    let queued = h
        .stores
        .posts
        .approve_and_queue(
            &PostUpdate {
                post: post.snapshot().clone(),
                expected_updated_at: read_at,
            },
            &JobRequest {
                connection: owner.connection,
                run_after: h.now(),
                at: h.now(),
            },
        )
        .await
        .unwrap();

    assert_eq!(queued, Queued::Updated);
    let job = h.job(id).await.unwrap();
    assert_eq!(
        job.transient_deferrals, 0,
        "a fresh start, not one failure from the end"
    );
    assert_eq!(job.wait_reason, None);
    assert_eq!((job.state.as_str(), job.run_after), ("queued", h.now()));
}
