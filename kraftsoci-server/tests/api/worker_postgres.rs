//! The publish worker on PostgreSQL: several workers, each with its own connection pool, on
//! one database. Fails (does not skip) when PostgreSQL is unreachable, like the store suite.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use kraftsoci_core::{ManualClock, PostStatus, SystemClock};
use kraftsoci_server::config::DatabaseUrl;
use kraftsoci_server::store::{PgStore, Stores};
use kraftsoci_server::worker::Worker;

use crate::support::TestDb;
use crate::worker::{FakeInstagram, Harness, fast_config, lease_takeover, t0};

/// The stores over a pool of their own on the test database.
async fn own_pool(db: &TestDb) -> Stores {
    let url = DatabaseUrl::parse(&db.url()).unwrap();
    PgStore::connect(&url, Arc::new(SystemClock))
        .await
        .expect("a second pool")
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_with_their_own_pools_publish_200_posts_exactly_once() {
    let h = Harness::with(TestDb::postgres().await, Arc::new(SystemClock), None).await;
    let instagram = FakeInstagram::mount(&h.graph).await;
    let mut owners = Vec::new();
    for n in 0..4 {
        owners.push(h.owner(&format!("1784140000000010{n}")).await);
    }
    let mut posts = Vec::new();
    for i in 0..200 {
        let owner = &owners[i % owners.len()];
        posts.push((owner.clone(), h.approved_post(owner, None).await));
    }
    let first = Worker::new(h.deps_with(own_pool(&h.db).await), fast_config());
    let second = Worker::new(h.deps_with(own_pool(&h.db).await), fast_config());
    assert_ne!(first.id(), second.id());
    let (a, b) = (first.spawn(), second.spawn());

    // Poll until the queue drains (bounded: the test fails rather than hangs).
    let mut left = i64::MAX;
    for _ in 0..6000 {
        left =
            h.db.count("SELECT COUNT(*) FROM publish_jobs".to_owned())
                .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.stop().await;
    b.stop().await;

    assert_eq!(left, 0, "the queue drained");
    let publishes = instagram.publishes();
    assert_eq!(
        instagram.publish_count(),
        200,
        "exactly one media_publish per post"
    );
    assert_eq!(publishes.len(), 200, "every container published");
    assert!(
        publishes.values().all(|calls| *calls == 1),
        "a creation_id was published twice: {publishes:?}"
    );
    let mut media = HashSet::new();
    for (owner, id) in &posts {
        let post = h.post(owner, *id).await;
        assert_eq!(post.status, PostStatus::Published, "{id}");
        assert!(media.insert(post.instagram_media_id.clone().unwrap()));
    }
    assert_eq!(
        h.db.count("SELECT COUNT(*) FROM posts WHERE status = 'published'".to_owned())
            .await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_on_postgres_never_hand_one_job_to_two_claimants() {
    let h = Harness::with(TestDb::postgres().await, Arc::new(SystemClock), None).await;
    let owner = h.owner("17841400000000120").await;
    for _ in 0..10 {
        h.approved_post(&owner, None).await;
    }
    let stores = [own_pool(&h.db).await, own_pool(&h.db).await];
    let mut claims = Vec::new();
    for n in 0..20 {
        let queue = Arc::clone(&stores[n % 2].queue);
        claims.push(tokio::spawn(async move {
            let now = chrono::Utc::now();
            queue
                .claim_publish_job(
                    &format!("claimant/{n}"),
                    now,
                    now + chrono::Duration::minutes(2),
                )
                .await
                .unwrap()
        }));
    }
    let mut jobs = HashSet::new();
    let mut empty = 0;
    for claim in claims {
        match claim.await.unwrap() {
            Some(job) => assert!(
                jobs.insert(job.lease.job),
                "{} claimed twice",
                job.lease.job
            ),
            None => empty += 1,
        }
    }
    assert_eq!((jobs.len(), empty), (10, 10));
}

#[tokio::test]
async fn a_dead_workers_lease_expires_and_another_worker_takes_the_job_over_on_postgres() {
    let manual = Arc::new(ManualClock::new(t0()));
    lease_takeover(Harness::with(TestDb::postgres().await, manual.clone(), Some(manual)).await)
        .await;
}
