//! The post flow (the click, edits, the queue), the Instagram connection flow and the sandbox
//! publisher's containers, on both engines.

use chrono::Duration;
use kraftsoci_core::ports::{Connection, ConnectionStatus, MediaKey};
use kraftsoci_core::ports::{JOB_RUNNING, JobRequest, PostMedia, PostUpdate, Queued, StoredImage};
use kraftsoci_core::{Approval, IgUserId, Post, PostId, PostStatus, StoreError, UserId};
use kraftsoci_server::store::{NewOAuthState, SandboxContainer, SandboxStatus, Stores};

use crate::fixtures::{connected, content, ig, signed_up, t0};
use crate::support::TestDb;

const IG: &str = "17841405822304914";

async fn generated(store: &Stores, owner: UserId) -> Post {
    let post = Post::generated(owner, content("Fresh simit"), t0()).unwrap();
    let media = PostMedia {
        topic: Some("simit".to_owned()),
        image: Some(StoredImage {
            key: MediaKey::new(owner, &format!("{}.jpg", post.id())).unwrap(),
            width: 1080,
            height: 1350,
        }),
        sandbox: true,
    };
    store
        .posts
        .insert_post(post.snapshot(), &media)
        .await
        .unwrap();
    post
}

fn approved(post: &Post, minutes: i64, scheduled: Option<i64>) -> PostUpdate {
    let expected_updated_at = post.snapshot().updated_at;
    let mut post = post.clone();
    let at = t0() + Duration::minutes(minutes);
    post.approve(Approval {
        user: post.owner(),
        shown_hash: post.content_hash(),
        target: ig(IG),
        at,
        ip: Some("203.0.113.7".to_owned()),
        user_agent: Some("test".to_owned()),
        scheduled_for: scheduled.map(|m| t0() + Duration::minutes(m)),
        api_key: None,
    })
    .unwrap();
    PostUpdate {
        post: post.into_snapshot(),
        expected_updated_at,
    }
}

fn job(connection: &Connection, minutes: i64) -> JobRequest {
    JobRequest {
        connection: connection.id,
        run_after: t0() + Duration::minutes(minutes),
        at: t0() + Duration::minutes(1),
    }
}

pub async fn an_oauth_state_is_spent_once_and_only_before_it_expires(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    for hash in ["a".repeat(64), "b".repeat(64)] {
        store
            .oauth_states
            .insert_oauth_state(&NewOAuthState {
                state_hash: hash,
                user: ada.id,
                created_at: t0(),
                expires_at: t0() + Duration::minutes(10),
            })
            .await
            .unwrap();
    }
    let now = t0() + Duration::minutes(1);
    assert_eq!(
        store
            .oauth_states
            .consume_oauth_state(&"a".repeat(64), now)
            .await
            .unwrap(),
        Some(ada.id)
    );
    assert_eq!(
        store
            .oauth_states
            .consume_oauth_state(&"a".repeat(64), now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .oauth_states
            .consume_oauth_state(&"c".repeat(64), now)
            .await
            .unwrap(),
        None
    );
    let late = t0() + Duration::minutes(10);
    assert_eq!(
        store
            .oauth_states
            .consume_oauth_state(&"b".repeat(64), late)
            .await
            .unwrap(),
        None
    );
}

pub async fn a_connection_is_saved_with_its_key_version_and_found_by_instagram_id(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    let first = connected(&store, ada.id, IG).await;
    let again = connected(&store, ada.id, IG).await;
    assert_eq!(again.id, first.id, "one row per owner and account");
    assert_eq!(
        store
            .connections
            .connection_by_ig_user(ada.id, &ig(IG))
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id
    );
    assert_eq!(
        store
            .connections
            .connection_by_ig_user(bob.id, &ig(IG))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        db.strings("SELECT CAST(token_key_version AS TEXT) FROM instagram_connections".to_owned())
            .await,
        vec!["1".to_owned()]
    );
    store
        .connections
        .mark_needs_reconnect(ada.id, first.id)
        .await
        .unwrap();
    assert_eq!(
        store
            .connections
            .connection(ada.id, first.id)
            .await
            .unwrap()
            .status,
        ConnectionStatus::NeedsReconnect
    );
    assert_eq!(
        store
            .connections
            .mark_needs_reconnect(bob.id, first.id)
            .await,
        Err(StoreError::NotFound)
    );
}

pub async fn a_click_saves_the_post_its_receipt_and_one_job_together(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let connection = connected(&store, ada.id, IG).await;
    let post = generated(&store, ada.id).await;
    let media = store.posts.post_media(ada.id, &[post.id()]).await.unwrap();
    assert_eq!(media.len(), 1);
    assert!(media[0].1.sandbox);
    assert_eq!(media[0].1.image.as_ref().unwrap().height, 1350);

    let click = approved(&post, 2, None);
    assert_eq!(
        store
            .posts
            .approve_and_queue(&click, &job(&connection, 2))
            .await
            .unwrap(),
        Queued::Created
    );
    // The same read, clicked again concurrently: the optimistic check refuses it.
    assert_eq!(
        store
            .posts
            .approve_and_queue(&approved(&post, 3, None), &job(&connection, 3))
            .await,
        Err(StoreError::Stale)
    );
    assert_eq!(
        store
            .posts
            .ensure_queued(ada.id, post.id(), &job(&connection, 2))
            .await
            .unwrap(),
        Queued::Unchanged
    );
    let stored = store.posts.post(ada.id, post.id()).await.unwrap();
    assert_eq!(stored.status, PostStatus::Approved);
    assert_eq!(stored.consent, click.post.consent);
    let view = store
        .posts
        .publish_job(ada.id, post.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((view.state.as_str(), view.attempts), ("queued", 0));
    assert_eq!(
        db.count("SELECT COUNT(*) FROM publish_jobs".to_owned())
            .await,
        1
    );
    // The batched reads of a list page: one post's job and media among others (a post
    // without a job, an unknown id, another owner's post are left out).
    let other = generated(&store, ada.id).await;
    let bob = signed_up(&store, "bob@example.com").await;
    let bobs = generated(&store, bob.id).await;
    let ids = [post.id(), other.id(), PostId::new(), bobs.id()];
    let jobs = store.posts.publish_jobs(ada.id, &ids).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].0, post.id());
    assert_eq!(jobs[0].1, view);
    let mut media: Vec<PostId> = store
        .posts
        .post_media(ada.id, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    media.sort_by_key(|id| id.to_string());
    let mut expected = vec![post.id(), other.id()];
    expected.sort_by_key(|id| id.to_string());
    assert_eq!(media, expected);
    assert!(
        store
            .posts
            .post_media(ada.id, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .posts
            .publish_jobs(ada.id, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM consent_receipts".to_owned())
            .await,
        1
    );

    // A reschedule is a new approval: the job moves.
    let current = Post::restore(stored).unwrap();
    let later = approved(&current, 4, Some(600));
    assert_eq!(
        store
            .posts
            .approve_and_queue(&later, &job(&connection, 600))
            .await
            .unwrap(),
        Queued::Updated
    );
    let view = store
        .posts
        .publish_job(ada.id, post.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.run_after, t0() + Duration::minutes(600));
    assert_eq!(
        db.count("SELECT COUNT(*) FROM publish_jobs".to_owned())
            .await,
        1
    );
}

/// A list page carries, per post, exactly what the single reads give: its media, the
/// connection it targets and its job (approved and publishing posts only), in one statement.
pub async fn a_list_page_carries_each_posts_media_connection_and_job(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let connection = connected(&store, ada.id, IG).await;
    let queued = generated(&store, ada.id).await;
    store
        .posts
        .approve_and_queue(&approved(&queued, 2, None), &job(&connection, 2))
        .await
        .unwrap();
    let ready = generated(&store, ada.id).await;
    let bob = signed_up(&store, "bob@example.com").await;
    connected(&store, bob.id, "17841400000000001").await;
    generated(&store, bob.id).await;

    let page = store
        .posts
        .list_posts_with_details(ada.id, None, None, 10)
        .await
        .unwrap();
    assert_eq!(page.next_cursor, None);
    let plain = store
        .posts
        .list_posts(ada.id, None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        page.posts.iter().map(|l| &l.post).collect::<Vec<_>>(),
        plain.posts.iter().collect::<Vec<_>>(),
        "the same posts as the plain list, in the same order"
    );
    let mut ids: Vec<PostId> = page.posts.iter().map(|l| l.post.id).collect();
    ids.sort_by_key(|id| id.to_string());
    let mut expected = vec![queued.id(), ready.id()];
    expected.sort_by_key(|id| id.to_string());
    assert_eq!(ids, expected, "only ada's posts");
    for listed in &page.posts {
        let id = listed.post.id;
        let media = store.posts.post_media(ada.id, &[id]).await.unwrap();
        assert_eq!(media, vec![(id, listed.media.clone())]);
        assert_eq!(
            listed.job,
            store
                .posts
                .publish_job(ada.id, id)
                .await
                .unwrap()
                .filter(|_| id == queued.id())
        );
    }
    let approved = page
        .posts
        .iter()
        .find(|l| l.post.id == queued.id())
        .unwrap();
    assert_eq!(approved.post.status, PostStatus::Approved);
    assert_eq!(approved.target_connection, Some(connection.id));
    assert_eq!(
        approved.job.as_ref().map(|j| j.state.as_str()),
        Some("queued")
    );
    let waiting = page.posts.iter().find(|l| l.post.id == ready.id()).unwrap();
    assert_eq!((waiting.target_connection, &waiting.job), (None, &None));

    // The same pages and cursors as the plain list.
    let first = store
        .posts
        .list_posts_with_details(ada.id, None, None, 1)
        .await
        .unwrap();
    let plain_first = store.posts.list_posts(ada.id, None, None, 1).await.unwrap();
    assert_eq!(first.next_cursor, plain_first.next_cursor);
    let second = store
        .posts
        .list_posts_with_details(ada.id, None, first.next_cursor.clone(), 1)
        .await
        .unwrap();
    assert_eq!(second.next_cursor, None);
    assert_eq!(
        [first.posts[0].post.id, second.posts[0].post.id],
        [page.posts[0].post.id, page.posts[1].post.id]
    );
    let only_approved = store
        .posts
        .list_posts_with_details(ada.id, Some(PostStatus::Approved), None, 10)
        .await
        .unwrap();
    assert_eq!(only_approved.posts.len(), 1);
    assert_eq!(only_approved.posts[0].post.id, queued.id());
    assert!(matches!(
        store
            .posts
            .list_posts_with_details(ada.id, None, Some("garbage".to_owned()), 2)
            .await,
        Err(StoreError::InvalidInput(_))
    ));
}

pub async fn unqueueing_is_refused_while_a_worker_holds_a_live_lease(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let connection = connected(&store, ada.id, IG).await;
    let post = generated(&store, ada.id).await;
    let click = approved(&post, 2, None);
    store
        .posts
        .approve_and_queue(&click, &job(&connection, 2))
        .await
        .unwrap();
    let lease = t0() + Duration::minutes(10);
    db.exec(format!(
        "UPDATE publish_jobs SET state = 'running', locked_by = 'w', lease_until = '{}'",
        lease.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    ))
    .await;

    let mut withdrawn = Post::restore(click.post.clone()).unwrap();
    withdrawn.withdraw(t0() + Duration::minutes(5)).unwrap();
    let update = PostUpdate {
        post: withdrawn.into_snapshot(),
        expected_updated_at: click.post.updated_at,
    };
    assert_eq!(
        store
            .posts
            .save_and_unqueue(&update, t0() + Duration::minutes(5))
            .await,
        Err(StoreError::Conflict {
            constraint: JOB_RUNNING.to_owned()
        })
    );
    assert_eq!(
        store
            .posts
            .delete_post(ada.id, post.id(), t0() + Duration::minutes(5))
            .await,
        Err(StoreError::Conflict {
            constraint: JOB_RUNNING.to_owned()
        })
    );
    assert_eq!(
        store.posts.post(ada.id, post.id()).await.unwrap().status,
        PostStatus::Approved
    );

    // Once the lease ran out, the job is the owner's to drop.
    store
        .posts
        .save_and_unqueue(&update, t0() + Duration::minutes(11))
        .await
        .unwrap();
    assert_eq!(
        store.posts.post(ada.id, post.id()).await.unwrap().status,
        PostStatus::Withdrawn
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM publish_jobs".to_owned())
            .await,
        0
    );
    store
        .posts
        .delete_post(ada.id, post.id(), t0() + Duration::minutes(12))
        .await
        .unwrap();
    assert_eq!(
        store
            .posts
            .delete_post(ada.id, post.id(), t0() + Duration::minutes(12))
            .await,
        Err(StoreError::NotFound)
    );
}

pub async fn the_publishing_load_counts_what_is_due_around_a_time(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let connection = connected(&store, ada.id, IG).await;
    let now_post = generated(&store, ada.id).await;
    store
        .posts
        .approve_and_queue(&approved(&now_post, 2, None), &job(&connection, 2))
        .await
        .unwrap();
    let later_post = generated(&store, ada.id).await;
    store
        .posts
        .approve_and_queue(
            &approved(&later_post, 2, Some(3 * 24 * 60)),
            &job(&connection, 3 * 24 * 60),
        )
        .await
        .unwrap();
    let other = generated(&store, ada.id).await;
    let day = Duration::hours(24);
    let around = |at: chrono::DateTime<chrono::Utc>| (at - day, at + day);

    let (since, until) = around(t0());
    assert_eq!(
        store
            .posts
            .publishing_load(&ig(IG), since, until, other.id())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .posts
            .publishing_load(&ig(IG), since, until, now_post.id())
            .await
            .unwrap(),
        0
    );
    let (since, until) = around(t0() + Duration::days(3));
    assert_eq!(
        store
            .posts
            .publishing_load(&ig(IG), since, until, other.id())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .posts
            .publishing_load(&IgUserId::parse("1").unwrap(), since, until, other.id())
            .await
            .unwrap(),
        0
    );
    let awaiting = store.posts.posts_queued_for(ada.id, &ig(IG)).await.unwrap();
    assert_eq!(awaiting.len(), 2);
    assert!(
        store
            .posts
            .posts_awaiting_reconnect(ada.id, &ig(IG))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn disconnecting_withdraws_queued_posts_and_deletes_the_token_at_once(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    let connection = connected(&store, ada.id, IG).await;
    let post = generated(&store, ada.id).await;
    let click = approved(&post, 2, None);
    store
        .posts
        .approve_and_queue(&click, &job(&connection, 2))
        .await
        .unwrap();
    let mut withdrawn = Post::restore(click.post.clone()).unwrap();
    withdrawn.withdraw(t0() + Duration::minutes(3)).unwrap();
    let update = PostUpdate {
        post: withdrawn.into_snapshot(),
        expected_updated_at: click.post.updated_at,
    };

    assert_eq!(
        store
            .connections
            .disconnect(bob.id, connection.id, &[], t0())
            .await,
        Err(StoreError::NotFound)
    );
    store
        .connections
        .disconnect(
            ada.id,
            connection.id,
            &[update],
            t0() + Duration::minutes(3),
        )
        .await
        .unwrap();
    assert_eq!(store.connections.connections(ada.id).await.unwrap(), vec![]);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM publish_jobs".to_owned())
            .await,
        0
    );
    assert_eq!(
        store.posts.post(ada.id, post.id()).await.unwrap().status,
        PostStatus::Withdrawn
    );
}

pub async fn a_sandbox_container_is_published_once(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    connected(&store, ada.id, "sandbox-123456").await;
    let sandbox = IgUserId::parse("sandbox-123456").unwrap();
    let container = SandboxContainer {
        id: "sandbox-container-1".to_owned(),
        ig_user_id: sandbox.clone(),
        kind: "image".to_owned(),
        caption: Some("Fresh simit".to_owned()),
        alt_text: None,
        items: 1,
        status: SandboxStatus::InProgress,
        media_id: None,
        permalink: None,
        created_at: t0(),
        published_at: None,
    };
    store
        .sandbox
        .insert_sandbox_container(&container)
        .await
        .unwrap();
    assert_eq!(
        store
            .sandbox
            .sandbox_container(&sandbox, "sandbox-container-1")
            .await
            .unwrap(),
        Some(container.clone())
    );
    assert_eq!(
        store
            .sandbox
            .sandbox_container(&ig(IG), "sandbox-container-1")
            .await
            .unwrap(),
        None,
        "another account's container is not found"
    );
    let at = t0() + Duration::minutes(1);
    assert!(
        !store
            .sandbox
            .publish_sandbox_container("sandbox-container-1", "sandbox-9", "p", at)
            .await
            .unwrap()
    );
    assert!(
        store
            .sandbox
            .advance_sandbox_container(
                "sandbox-container-1",
                SandboxStatus::InProgress,
                SandboxStatus::Finished
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .sandbox
            .publish_sandbox_container("sandbox-container-1", "sandbox-9", "p", at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .sandbox
            .publish_sandbox_container("sandbox-container-1", "sandbox-10", "p", at)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .sandbox
            .sandbox_published_since(&sandbox, t0())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .sandbox
            .sandbox_published_since(&sandbox, at + Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    let published = store
        .sandbox
        .sandbox_publication("sandbox-9")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published.status, SandboxStatus::Published);
    assert_eq!(published.published_at, Some(at));
    // Owned through the connection: an account purge takes it along.
    assert_eq!(
        db.strings("SELECT CAST(owner_id AS TEXT) FROM sandbox_containers".to_owned())
            .await,
        vec![ada.id.to_string()]
    );
}

/// The session check that comes with a page (`access_posts`, `GET /v1/posts` with an access
/// token) reads the same state as the session check alone and the same pages, cursors and
/// filters as `list_posts_with_details`: for a page with posts, an empty one, a closed
/// session, another user's session id, a cursor it did not make (the state is still read,
/// the page is not) and a purged account (not found).
pub async fn the_session_check_with_a_page_reads_what_each_reads_alone(db: &TestDb) {
    use kraftsoci_core::SessionId;
    use kraftsoci_server::store::{NewRefreshToken, TokenHash};

    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    let session = SessionId::new();
    store
        .auth
        .insert_refresh_token(&NewRefreshToken {
            hash: TokenHash::of("ada-rt"),
            session,
            user: ada.id,
            created_at: t0(),
            expires_at: t0() + Duration::days(30),
        })
        .await
        .unwrap();
    let now = t0() + Duration::minutes(1);
    let both = |user: UserId, status, cursor: Option<String>, limit| {
        let store = &store;
        async move {
            let with_page = store
                .auth
                .access_posts(user, session, now, status, cursor.clone(), limit)
                .await
                .unwrap();
            let alone = store.auth.access_state(user, session, now).await.unwrap();
            assert_eq!(
                with_page.access, alone,
                "the state of the session check alone"
            );
            let listed = store
                .posts
                .list_posts_with_details(user, status, cursor, limit)
                .await;
            (with_page, listed)
        }
    };

    // An empty page: the state, no post.
    let (empty, listed) = both(ada.id, None, None, 20).await;
    assert!(empty.access.session_open);
    assert_eq!(empty.page.unwrap(), listed.unwrap());

    let connection = connected(&store, ada.id, IG).await;
    let queued = generated(&store, ada.id).await;
    store
        .posts
        .approve_and_queue(&approved(&queued, 2, None), &job(&connection, 2))
        .await
        .unwrap();
    for _ in 0..4 {
        generated(&store, ada.id).await;
    }
    generated(&store, bob.id).await;

    // Every page of two, cursor after cursor, is the list's page.
    let mut cursor = None;
    let mut seen = Vec::new();
    loop {
        let (with_page, listed) = both(ada.id, None, cursor.clone(), 2).await;
        let page = with_page.page.unwrap();
        assert_eq!(page, listed.unwrap(), "page after {cursor:?}");
        seen.extend(page.posts.iter().map(|l| l.post.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        5,
        "ada's five posts and none of bob's: {seen:?}"
    );
    let (approved_only, listed) = both(ada.id, Some(PostStatus::Approved), None, 20).await;
    let approved_only = approved_only.page.unwrap();
    assert_eq!(approved_only, listed.unwrap());
    assert_eq!(approved_only.posts.len(), 1);
    assert_eq!(
        approved_only.posts[0]
            .job
            .as_ref()
            .map(|j| j.state.as_str()),
        Some("queued"),
        "with its job"
    );

    // Bob's id with ada's session: bob's state (no such session for him), bob's posts only.
    let (bobs, listed) = both(bob.id, None, None, 20).await;
    assert!(!bobs.access.session_open);
    let bobs = bobs.page.unwrap();
    assert_eq!(bobs, listed.unwrap());
    assert_eq!(bobs.posts.len(), 1);
    assert!(bobs.posts.iter().all(|l| l.post.owner == bob.id));

    // A cursor this store did not make: the state is read, the page is refused.
    let garbage = store
        .auth
        .access_posts(ada.id, session, now, None, Some("garbage".to_owned()), 2)
        .await
        .unwrap();
    assert!(garbage.access.session_open);
    assert!(matches!(garbage.page, Err(StoreError::InvalidInput(_))));

    // A logged-out session: its state says so, whatever the page.
    store
        .auth
        .revoke_session_of(&TokenHash::of("ada-rt"), t0() + Duration::minutes(2))
        .await
        .unwrap();
    let later = t0() + Duration::minutes(3);
    let ended = store
        .auth
        .access_posts(ada.id, session, later, None, None, 20)
        .await
        .unwrap();
    assert!(!ended.access.session_open);
    assert_eq!(
        ended.access,
        store
            .auth
            .access_state(ada.id, session, later)
            .await
            .unwrap()
    );

    // An account that is gone: not found, as the session check alone.
    db.exec(format!("DELETE FROM users WHERE id = '{}'", bob.id))
        .await;
    assert!(matches!(
        store
            .auth
            .access_posts(bob.id, session, later, None, None, 20)
            .await,
        Err(StoreError::NotFound)
    ));
}
