//! The retention rows beyond accounts and logs: network data reduced after 30 days (P18),
//! completed Meta deletion requests (P34) and the erasure proofs a purge leaves (P28).

use chrono::Duration;
use kraftsoci_core::{DataSubjectRequest, Email, ErasureProof, RequestKind, UserId};
use kraftsoci_server::store::{Closure, MetaDeletion, MetaDeletionStatus};

use crate::fixtures::{signed_up, t0};
use crate::support::{TempDir, TestDb};
use crate::user_data::{seed, sql_time};

fn closure(user: UserId, at: chrono::DateTime<chrono::Utc>) -> Closure {
    Closure {
        user,
        at,
        purge_after: at + Duration::days(30),
        request: DataSubjectRequest::receive(user, RequestKind::Erasure, at),
    }
}

async fn accepted(db: &TestDb, user: UserId, at: chrono::DateTime<chrono::Utc>, ip: &str) {
    db.exec(format!(
        "INSERT INTO policy_acceptances (id, user_id, version, accepted_at, ip) \
         VALUES ('{}', '{user}', '2026-01', '{}', '{ip}')",
        uuid::Uuid::new_v4(),
        sql_time(at)
    ))
    .await;
}

pub async fn network_data_is_reduced_in_one_budget_and_receipts_stay_immutable(db: &TestDb) {
    let dir = TempDir::new("media");
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let media = kraftsoci_server::media::from_config(
        &kraftsoci_server::config::MediaUrl::Directory(dir.path().to_path_buf()),
    )
    .unwrap();
    let vault = kraftsoci_core::TokenVault::new(kraftsoci_core::KeyRing::generate().unwrap());
    // One consent receipt at t0 with an address and an agent.
    let seeded = seed(db, &store, &vault, &*media, ada.id, t0()).await;
    let cutoff = t0() + Duration::days(1);
    // Start from a known set of acceptances: two before the cutoff, one after it.
    db.exec(format!(
        "DELETE FROM policy_acceptances WHERE user_id = '{}'",
        ada.id
    ))
    .await;
    accepted(db, ada.id, t0(), "198.51.100.1").await;
    accepted(
        db,
        ada.id,
        cutoff - Duration::microseconds(1),
        "198.51.100.2",
    )
    .await;
    accepted(db, ada.id, cutoff, "198.51.100.3").await;
    let receipt_hash = db
        .strings(format!(
            "SELECT content_hash FROM consent_receipts WHERE post_id = '{}'",
            seeded.post
        ))
        .await;
    assert_eq!(receipt_hash.len(), 1, "the seed made one receipt");

    let retention = &store.retention;
    assert_eq!(
        retention.count_network_data_before(cutoff).await.unwrap(),
        3
    );
    assert_eq!(
        retention.count_network_data_before(t0()).await.unwrap(),
        0,
        "the cutoff is exclusive"
    );
    // Two records at a time over both tables, until a batch finds less than its limit.
    for expected in [2, 1, 0] {
        let reduced = retention.reduce_network_data_before(cutoff, 2).await;
        assert_eq!(reduced.unwrap(), expected);
    }
    assert_eq!(
        retention.count_network_data_before(cutoff).await.unwrap(),
        0
    );

    let held = |sql: &str| db.count(sql.to_owned());
    assert_eq!(
        held(
            "SELECT COUNT(*) FROM consent_receipts WHERE ip IS NOT NULL OR user_agent IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        db.strings("SELECT ip FROM policy_acceptances WHERE ip IS NOT NULL".to_owned())
            .await,
        vec!["198.51.100.3".to_owned()],
        "the acceptance at the cutoff keeps its address"
    );
    // Everything else of the records stays.
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM consent_receipts WHERE post_id = '{}' AND content_hash = '{}' \
             AND approved_at = '{}' AND user_id = '{}'",
            seeded.post,
            receipt_hash[0],
            sql_time(t0()),
            ada.id
        ))
        .await,
        1
    );
    assert_eq!(
        held("SELECT COUNT(*) FROM policy_acceptances WHERE version = '2026-01'").await,
        3
    );

    // The trigger lets through only the clearing of both network fields.
    for tampering in [
        "UPDATE consent_receipts SET content_hash = 'forged'",
        "UPDATE consent_receipts SET ip = NULL, user_agent = NULL, content_hash = 'forged'",
        "UPDATE consent_receipts SET ip = '192.0.2.1'",
        "UPDATE consent_receipts SET ip = NULL, user_agent = NULL, scheduled_for = NULL",
    ] {
        assert!(
            db.try_exec(tampering.to_owned()).await.is_err(),
            "{tampering} must be refused"
        );
    }
}

async fn meta_request(
    store: &kraftsoci_server::store::Stores,
    code: &str,
    created_at: chrono::DateTime<chrono::Utc>,
    completed_at: Option<chrono::DateTime<chrono::Utc>>,
) {
    store
        .rights
        .insert_meta_deletion(&MetaDeletion {
            confirmation_code: code.to_owned(),
            app_user_hash: "a".repeat(64),
            user: None,
            status: if completed_at.is_some() {
                MetaDeletionStatus::Completed
            } else {
                MetaDeletionStatus::Received
            },
            created_at,
            completed_at,
        })
        .await
        .unwrap();
}

pub async fn completed_meta_deletion_requests_go_after_their_cutoff_and_pending_ones_never(
    db: &TestDb,
) {
    let store = db.stores();
    let cutoff = t0();
    meta_request(
        &store,
        "done-early-1",
        cutoff - Duration::days(200),
        Some(cutoff - Duration::days(1)),
    )
    .await;
    meta_request(
        &store,
        "done-early-2",
        cutoff - Duration::days(200),
        Some(cutoff - Duration::microseconds(1)),
    )
    .await;
    meta_request(
        &store,
        "done-at-cutoff",
        cutoff - Duration::days(200),
        Some(cutoff),
    )
    .await;
    meta_request(&store, "still-pending", cutoff - Duration::days(400), None).await;

    let retention = &store.retention;
    assert_eq!(
        retention
            .count_meta_deletion_requests_before(cutoff)
            .await
            .unwrap(),
        2
    );
    for expected in [1, 1, 0] {
        let purged = retention
            .purge_meta_deletion_requests_before(cutoff, 1)
            .await;
        assert_eq!(purged.unwrap(), expected);
    }
    let mut left = db
        .strings("SELECT confirmation_code FROM meta_deletion_requests".to_owned())
        .await;
    left.sort();
    assert_eq!(left, vec!["done-at-cutoff", "still-pending"]);
    assert!(
        store
            .rights
            .meta_deletion("still-pending")
            .await
            .unwrap()
            .is_some(),
        "a pending request keeps answering Meta's status page"
    );
}

pub async fn a_purge_leaves_an_erasure_proof_that_goes_after_its_cutoff(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "Ada.Lovelace@Example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    let asked = t0();
    store
        .rights
        .close_account(&closure(ada.id, asked))
        .await
        .unwrap();
    let purged_at = asked + Duration::days(29);
    db.clock().set(purged_at);
    store.retention.purge_account(ada.id).await.unwrap();
    // A second run (another replica) neither fails nor leaves a second proof.
    store.retention.purge_account(ada.id).await.unwrap();

    let hash = ErasureProof::hash_email(&Email::parse("ada.lovelace@example.com").unwrap());
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM erasure_proofs WHERE email_hash = '{hash}' \
             AND requested_at = '{}' AND completed_at = '{}'",
            sql_time(asked),
            sql_time(purged_at)
        ))
        .await,
        1,
        "one proof: the address's hash, when it was asked for and when it was done"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM erasure_proofs".to_owned())
            .await,
        1,
        "an open account leaves no proof"
    );
    assert!(
        db.strings("SELECT email_hash FROM erasure_proofs".to_owned())
            .await
            .iter()
            .all(|h| !h.contains("ada") && !h.contains(&ada.id.to_string())),
        "the proof holds neither the address nor the account id"
    );
    let _ = bob;

    let retention = &store.retention;
    assert_eq!(
        retention
            .count_erasure_proofs_before(purged_at)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        retention
            .purge_erasure_proofs_before(purged_at, 10)
            .await
            .unwrap(),
        0,
        "the cutoff is exclusive"
    );
    let later = purged_at + Duration::microseconds(1);
    assert_eq!(
        retention.count_erasure_proofs_before(later).await.unwrap(),
        1
    );
    assert_eq!(
        retention
            .purge_erasure_proofs_before(later, 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM erasure_proofs".to_owned())
            .await,
        0
    );
}

pub async fn a_closure_leaves_a_billing_stop_that_settles_once_and_purge_failures_are_counted(
    db: &TestDb,
) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    let tasks = &store.erasure_tasks;
    assert!(tasks.pending_billing_stops(10).await.unwrap().is_empty());

    let closed = closure(ada.id, t0());
    store.rights.close_account(&closed).await.unwrap();
    // Closing again records nothing new.
    store
        .rights
        .close_account(&closure(ada.id, t0() + Duration::hours(1)))
        .await
        .unwrap();
    let pending = tasks.pending_billing_stops(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].user, pending[0].request, pending[0].requested_at),
        (ada.id, closed.request.id(), t0()),
        "the stop carries the closure's erasure request, whose id keys the cancels"
    );
    assert_eq!(
        (pending[0].attempts, pending[0].last_error.as_deref()),
        (0, None)
    );

    let later = t0() + Duration::minutes(5);
    tasks
        .record_billing_stop_attempt(ada.id, later, Some("stripe answered 503 (req_1)"))
        .await
        .unwrap();
    let pending = tasks.pending_billing_stops(10).await.unwrap();
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(
        pending[0].last_error.as_deref(),
        Some("stripe answered 503 (req_1)")
    );
    tasks
        .record_billing_stop_attempt(ada.id, later, None)
        .await
        .unwrap();
    assert!(tasks.pending_billing_stops(10).await.unwrap().is_empty());
    // A settled stop stays settled; an unknown account changes nothing.
    tasks
        .record_billing_stop_attempt(ada.id, later, Some("late failure"))
        .await
        .unwrap();
    tasks
        .record_billing_stop_attempt(bob.id, later, None)
        .await
        .unwrap();
    assert!(tasks.pending_billing_stops(10).await.unwrap().is_empty());
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM billing_stops WHERE stopped_at IS NOT NULL AND attempts = 2"
                .to_owned()
        )
        .await,
        1
    );

    tasks
        .record_purge_failure(ada.id, later, "media store unavailable")
        .await
        .unwrap();
    tasks
        .record_purge_failure(ada.id, later + Duration::hours(1), "stripe answered 500")
        .await
        .unwrap();
    tasks
        .record_purge_failure(UserId::new(), later, "an account purged meanwhile")
        .await
        .unwrap();
    let failures = tasks.purge_failures().await.unwrap();
    assert_eq!(failures.len(), 1);
    let failure = &failures[0];
    assert_eq!(failure.user, ada.id);
    assert_eq!(failure.failures, 2);
    assert_eq!(failure.first_failed_at, later);
    assert_eq!(failure.last_failed_at, later + Duration::hours(1));
    assert_eq!(failure.error, "stripe answered 500");
    assert_eq!(failure.purge_after, Some(t0() + Duration::days(30)));

    // The purge takes both rows with the account.
    store.retention.purge_account(ada.id).await.unwrap();
    assert!(tasks.purge_failures().await.unwrap().is_empty());
    assert_eq!(
        db.count("SELECT COUNT(*) FROM billing_stops".to_owned())
            .await,
        0
    );
}

pub async fn open_requests_are_listed_earliest_due_first_and_overdue_ones_alone(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    let old = DataSubjectRequest::receive(ada.id, RequestKind::Access, t0() - Duration::days(40));
    let older =
        DataSubjectRequest::receive(bob.id, RequestKind::Objection, t0() - Duration::days(45));
    let fresh = DataSubjectRequest::receive(bob.id, RequestKind::Portability, t0());
    let mut answered = DataSubjectRequest::receive(
        ada.id,
        RequestKind::Rectification,
        t0() - Duration::days(50),
    );
    answered.complete(t0() - Duration::days(49));
    for request in [&old, &older, &fresh, &answered] {
        store.rights.record_request(request).await.unwrap();
    }
    let ids =
        |list: Vec<DataSubjectRequest>| list.iter().map(DataSubjectRequest::id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.rights.open_requests(None, 10).await.unwrap()),
        vec![older.id(), old.id(), fresh.id()],
        "every open request, the earliest due first; answered ones never"
    );
    assert_eq!(
        ids(store.rights.open_requests(Some(t0()), 10).await.unwrap()),
        vec![older.id(), old.id()],
        "overdue at t0"
    );
    assert_eq!(
        ids(store
            .rights
            .open_requests(Some(old.due_at()), 10)
            .await
            .unwrap()),
        vec![older.id()],
        "due exactly then is not yet overdue"
    );
    assert_eq!(store.rights.open_requests(None, 1).await.unwrap().len(), 1);
}
