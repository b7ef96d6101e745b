//! Posts through the paths production takes: a generated post is inserted, a click saves it
//! with its consent and job, an edit saves it and drops the job.

use chrono::Duration;
use kraftsoci_core::ports::{Connection, JobRequest, PostMedia, PostUpdate};
use kraftsoci_core::{Approval, Caption, Edit, Post, PostId, PostStatus, StoreError, UserId};
use kraftsoci_server::store::Stores;

use crate::fixtures::{connected, content, ig, signed_up, t0};
use crate::support::TestDb;

const IG: &str = "17841405822304914";

fn approval(post: &Post, minutes: i64) -> Approval {
    Approval {
        user: post.owner(),
        shown_hash: post.content_hash(),
        target: ig(IG),
        at: t0() + Duration::minutes(minutes),
        ip: Some("203.0.113.9".to_owned()),
        user_agent: Some("Mozilla/5.0 (X11)".to_owned()),
        scheduled_for: Some(t0() + Duration::days(1)),
        api_key: None,
    }
}

fn update(post: &Post, expected_updated_at: chrono::DateTime<chrono::Utc>) -> PostUpdate {
    PostUpdate {
        post: post.snapshot().clone(),
        expected_updated_at,
    }
}

/// The click: saves the approved post, its receipt and its job.
async fn click(
    store: &Stores,
    post: &Post,
    seen: chrono::DateTime<chrono::Utc>,
    connection: &Connection,
) -> Result<(), StoreError> {
    let job = JobRequest {
        connection: connection.id,
        run_after: t0() + Duration::days(1),
        at: t0(),
    };
    store
        .posts
        .approve_and_queue(&update(post, seen), &job)
        .await
        .map(drop)
}

/// An edit or withdrawal: saves the post and drops its job.
async fn save(
    store: &Stores,
    post: &Post,
    seen: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    store
        .posts
        .save_and_unqueue(&update(post, seen), t0())
        .await
}

pub async fn a_post_round_trips_with_its_consent_receipt(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let mut post = Post::generated(ada.id, content("Fresh simit"), t0()).unwrap();
    store
        .posts
        .insert_post(post.snapshot(), &PostMedia::default())
        .await
        .unwrap();
    assert_eq!(
        &store.posts.post(ada.id, post.id()).await.unwrap(),
        post.snapshot()
    );

    let connection = connected(&store, ada.id, IG).await;
    let before = post.snapshot().updated_at;
    post.approve(approval(&post, 5)).unwrap();
    click(&store, &post, before, &connection).await.unwrap();
    let read = store.posts.post(ada.id, post.id()).await.unwrap();
    assert_eq!(&read, post.snapshot());
    assert_eq!(read.status, PostStatus::Approved);
    let restored = Post::restore(read).unwrap();
    assert_eq!(restored.consent(), post.consent());
    assert_eq!(restored.content_hash(), post.content_hash());
}

pub async fn a_stale_save_is_refused(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let mut post = Post::generated(ada.id, content("Fresh simit"), t0()).unwrap();
    store
        .posts
        .insert_post(post.snapshot(), &PostMedia::default())
        .await
        .unwrap();
    let seen = post.snapshot().updated_at;
    post.edit(
        Edit {
            caption: Some(Caption::parse("Edited elsewhere").unwrap()),
            ..Edit::default()
        },
        t0() + Duration::minutes(1),
    )
    .unwrap();
    save(&store, &post, seen).await.unwrap();
    // A second writer that also read the original version loses.
    assert_eq!(
        save(&store, &post, seen).await.unwrap_err(),
        StoreError::Stale
    );
}

pub async fn receipts_are_kept_as_immutable_history(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let mut post = Post::generated(ada.id, content("Fresh simit"), t0()).unwrap();
    store
        .posts
        .insert_post(post.snapshot(), &PostMedia::default())
        .await
        .unwrap();

    let connection = connected(&store, ada.id, IG).await;
    let mut seen = post.snapshot().updated_at;
    post.approve(approval(&post, 1)).unwrap();
    click(&store, &post, seen, &connection).await.unwrap();
    // Saving the same approved state again does not duplicate the receipt.
    seen = post.snapshot().updated_at;
    click(&store, &post, seen, &connection).await.unwrap();

    post.edit(
        Edit {
            caption: Some(Caption::parse("Fresh simit, now with tea").unwrap()),
            ..Edit::default()
        },
        t0() + Duration::minutes(2),
    )
    .unwrap();
    save(&store, &post, seen).await.unwrap();
    assert_eq!(
        store.posts.post(ada.id, post.id()).await.unwrap().consent,
        None,
        "an edit voids consent"
    );

    seen = post.snapshot().updated_at;
    post.approve(approval(&post, 3)).unwrap();
    click(&store, &post, seen, &connection).await.unwrap();

    let receipts = format!(
        "SELECT COUNT(*) FROM consent_receipts WHERE post_id = '{}'",
        post.id()
    );
    assert_eq!(db.count(receipts).await, 2, "both clicks are on record");
    assert_eq!(
        store
            .posts
            .post(ada.id, post.id())
            .await
            .unwrap()
            .consent
            .as_ref(),
        post.consent(),
        "the post points at the latest click"
    );
    let tampering = db
        .try_exec(format!(
            "UPDATE consent_receipts SET content_hash = 'forged' WHERE post_id = '{}'",
            post.id()
        ))
        .await;
    assert!(tampering.is_err(), "receipts cannot be rewritten");
}

pub async fn posts_list_newest_first_in_pages_filtered_by_status(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let eve = signed_up(&store, "eve@example.com").await;
    let mut adas = Vec::new();
    for i in 0..5 {
        // Two posts share a creation time, so the id breaks the tie.
        let at = t0() + Duration::minutes(i.min(3));
        let post = Post::generated(ada.id, content(&format!("Post {i}")), at).unwrap();
        store
            .posts
            .insert_post(post.snapshot(), &PostMedia::default())
            .await
            .unwrap();
        adas.push(post);
    }
    let eves = Post::generated(eve.id, content("Eve's"), t0() + Duration::hours(1)).unwrap();
    store
        .posts
        .insert_post(eves.snapshot(), &PostMedia::default())
        .await
        .unwrap();
    let connection = connected(&store, ada.id, IG).await;
    let mut approved = adas[1].clone();
    let seen = approved.snapshot().updated_at;
    approved.approve(approval(&approved, 10)).unwrap();
    click(&store, &approved, seen, &connection).await.unwrap();

    let mut expected: Vec<(chrono::DateTime<chrono::Utc>, PostId)> = adas
        .iter()
        .map(|p| (p.snapshot().created_at, p.id()))
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.as_uuid().cmp(&a.1.as_uuid())));
    let expected: Vec<PostId> = expected.into_iter().map(|(_, id)| id).collect();

    let mut seen_ids = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .posts
            .list_posts(ada.id, None, cursor.clone(), 2)
            .await
            .unwrap();
        assert!(page.posts.len() <= 2);
        seen_ids.extend(page.posts.iter().map(|p| p.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen_ids, expected,
        "every post once, newest first, Eve's never"
    );

    let approved_only = store
        .posts
        .list_posts(ada.id, Some(PostStatus::Approved), None, 10)
        .await
        .unwrap();
    assert_eq!(approved_only.posts.len(), 1);
    assert_eq!(approved_only.posts[0].id, approved.id());
    assert!(approved_only.posts[0].consent.is_some());
    assert_eq!(approved_only.next_cursor, None);
    assert_eq!(
        store
            .posts
            .list_posts(ada.id, None, Some("garbage".to_owned()), 2)
            .await
            .unwrap_err(),
        StoreError::InvalidInput("the cursor is not one this server produced".to_owned()),
        "a cursor the store did not produce is the caller's mistake, not a missing row"
    );
}

pub async fn another_owners_post_is_never_reached(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let eve = signed_up(&store, "eve@example.com").await;
    let post = Post::generated(ada.id, content("Ada's"), t0()).unwrap();
    store
        .posts
        .insert_post(post.snapshot(), &PostMedia::default())
        .await
        .unwrap();

    assert_eq!(
        store.posts.post(eve.id, post.id()).await.unwrap_err(),
        StoreError::NotFound
    );
    let mut hijack = post.snapshot().clone();
    hijack.owner = eve.id;
    assert_eq!(
        store
            .posts
            .save_and_unqueue(
                &PostUpdate {
                    post: hijack,
                    expected_updated_at: post.snapshot().updated_at,
                },
                t0(),
            )
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store
            .posts
            .delete_post(eve.id, post.id(), t0())
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert!(
        store
            .posts
            .list_posts(eve.id, None, None, 10)
            .await
            .unwrap()
            .posts
            .is_empty()
    );
    assert_eq!(
        &store.posts.post(ada.id, post.id()).await.unwrap(),
        post.snapshot()
    );

    store
        .posts
        .delete_post(ada.id, post.id(), t0())
        .await
        .unwrap();
    assert_eq!(
        store.posts.post(ada.id, post.id()).await.unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store
            .posts
            .post(UserId::new(), PostId::new())
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
}
