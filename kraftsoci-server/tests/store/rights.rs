//! The data-subject rights, retention and policy storage (P17–P19, P22, P26–P34, P38).

use std::collections::{BTreeSet, HashSet};

use chrono::Duration;
use kraftsoci_core::ports::{Connection, ConnectionStatus, MediaStore, UsageEvent};
use kraftsoci_core::vault::KeyRing;
use kraftsoci_core::{
    ConnectionId, DataSubjectRequest, RequestKind, RequestStatus, StoreError, TokenVault, UserId,
};
use kraftsoci_server::auth::TokenHash;
use kraftsoci_server::config::MediaUrl;
use kraftsoci_server::store::user_tables::{Erasure, NON_USER_TABLES, USER_TABLES, UserTable};
use kraftsoci_server::store::{
    Closure, ClosureOutcome, ExportKey, MetaDeletion, MetaDeletionStatus,
};
use kraftsoci_server::store::{NewNotice, PolicyVersion};
use kraftsoci_server::store::{NewRefreshToken, Stores};
use serde_json::Value;

use crate::fixtures::{ig, signed_up, t0};
use crate::support::{TempDir, TestDb};
use crate::user_data::{self, Seeded, find_everywhere, seed};

fn vault() -> TokenVault {
    TokenVault::new(KeyRing::generate().unwrap())
}

fn media(dir: &TempDir) -> std::sync::Arc<dyn MediaStore> {
    kraftsoci_server::media::from_config(&MediaUrl::Directory(dir.path().to_path_buf())).unwrap()
}

async fn seed_user(db: &TestDb, email: &str, dir: &TempDir) -> (UserId, Seeded) {
    let store = db.stores();
    let account = signed_up(&store, email).await;
    let seeded = seed(db, &store, &vault(), &*media(dir), account.id, t0()).await;
    (account.id, seeded)
}

fn closure(user: UserId, at: chrono::DateTime<chrono::Utc>) -> Closure {
    Closure {
        user,
        at,
        purge_after: at + Duration::days(30),
        request: DataSubjectRequest::receive(user, RequestKind::Erasure, at),
    }
}

/// Every row of `table` the export shows for `user`.
async fn export_all(store: &Stores, table: &UserTable, user: UserId) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after: Option<ExportKey> = None;
    loop {
        let page = store
            .rights
            .export_page(table, user, after.as_ref(), 2)
            .await
            .unwrap_or_else(|e| panic!("exporting {}: {e}", table.name));
        rows.extend(page.rows.into_iter().map(Value::Object));
        match page.next {
            Some(next) => after = Some(next),
            None => return rows,
        }
    }
}

pub async fn every_table_and_column_holding_user_data_is_listed(db: &TestDb) {
    let tables = user_data::tables(db).await;
    assert!(tables.contains(&"users".to_owned()), "{tables:?}");
    for table in &tables {
        if NON_USER_TABLES.contains(&table.as_str()) {
            continue;
        }
        assert!(
            UserTable::named(table).is_some(),
            "table {table} holds user data but is not in USER_TABLES: add it (export and purge)"
        );
    }
    for table in USER_TABLES {
        assert!(
            tables.contains(&table.name.to_owned()),
            "{} does not exist",
            table.name
        );
        let actual = user_data::columns(db, table.name).await;
        for column in &actual {
            let known = table.columns.iter().any(|c| c.name == column)
                || table.withheld.contains(&column.as_str());
            assert!(
                known,
                "{}.{column} is neither exported nor withheld: decide which",
                table.name
            );
        }
        for column in table.columns {
            assert!(
                actual.contains(&column.name.to_owned()),
                "{}.{} is exported but does not exist",
                table.name,
                column.name
            );
        }
    }
}

pub async fn the_export_reads_every_seeded_table_and_never_a_secret(db: &TestDb) {
    let dir = TempDir::new("media");
    let (user, seeded) = seed_user(db, "ada@example.com", &dir).await;
    let store = db.stores();
    let mut everything = Vec::new();
    for table in USER_TABLES {
        let rows = export_all(&store, table, user).await;
        assert!(
            !rows.is_empty(),
            "{} exported nothing for a seeded user",
            table.name
        );
        everything.extend(rows);
    }
    let text = serde_json::to_string(&everything).unwrap();
    assert!(text.contains("ada@example.com"));
    assert!(text.contains(&seeded.stripe_customer));
    assert!(text.contains(seeded.ig_user_id.as_str()));
    let password_hash = db
        .strings(format!(
            "SELECT password_hash FROM users WHERE id = '{user}'"
        ))
        .await
        .remove(0);
    for secret in [
        user_data::INSTAGRAM_TOKEN.to_owned(),
        user_data::REFRESH_TOKEN.to_owned(),
        user_data::RESET_TOKEN.to_owned(),
        user_data::OAUTH_STATE.to_owned(),
        TokenHash::of(&seeded.refresh_token).as_str().to_owned(),
        TokenHash::of(&seeded.reset_token).as_str().to_owned(),
        TokenHash::of(&seeded.oauth_state).as_str().to_owned(),
        seeded.api_key.clone(),
        TokenHash::of(&seeded.api_key).as_str().to_owned(),
        user_data::IDEMPOTENCY_KEY.to_owned(),
        user_data::CHECKOUT_URL.to_owned(),
        password_hash,
    ] {
        assert!(
            !text.contains(&secret),
            "the export holds a secret: {secret}"
        );
    }
    // Another user's rows are never part of it.
    let (_, other) = seed_user(db, "bob@example.com", &dir).await;
    for table in USER_TABLES {
        let rows = export_all(&store, table, user).await;
        let text = serde_json::to_string(&rows).unwrap();
        assert!(!text.contains(&other.user.to_string()), "{}", table.name);
        assert!(!text.contains("bob@example.com"), "{}", table.name);
    }
}

pub async fn export_pages_follow_the_key_without_gaps_or_repeats(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    for i in 0..45 {
        store
            .usage_log
            .append(&UsageEvent {
                user: Some(ada.id),
                method: "GET".to_owned(),
                route: format!("/v1/posts/{i}"),
                status: 200,
                ip: None,
                user_agent: None,
                security: false,
                at: t0() + Duration::seconds(i),
                api_key: None,
                channel: kraftsoci_core::ports::UsageChannel::Api,
            })
            .await
            .unwrap();
    }
    let table = UserTable::named("usage_log").unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store
            .rights
            .export_page(table, ada.id, after.as_ref(), 20)
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.rows.iter().map(|row| row["id"].as_i64().unwrap()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 45);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {seen:?}"
    );
}

pub async fn closing_an_account_ends_everything_at_once_and_only_once(db: &TestDb) {
    let dir = TempDir::new("media");
    let (user, seeded) = seed_user(db, "ada@example.com", &dir).await;
    let store = db.stores();
    let at = t0() + Duration::hours(1);
    let epoch_before = store.auth.session_state(user).await.unwrap().token_epoch;
    let outcome = store
        .rights
        .close_account(&closure(user, at))
        .await
        .unwrap();
    let ClosureOutcome::Closed {
        purge_after,
        sessions_revoked,
        tokens_removed,
        posts_withdrawn,
        jobs_removed,
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(purge_after, at + Duration::days(30));
    assert_eq!(sessions_revoked, 1, "the seeded refresh token");
    assert_eq!((tokens_removed, posts_withdrawn, jobs_removed), (1, 1, 1));

    let session = store.auth.session_state(user).await.unwrap();
    assert!(session.closed);
    assert_eq!(session.token_epoch, epoch_before + 1);
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = '{user}' AND revoked_at IS NULL"
        ))
        .await,
        0
    );
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM instagram_connections WHERE owner_id = '{user}' \
             AND sealed_token IS NOT NULL"
        ))
        .await,
        0
    );
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM publish_jobs WHERE owner_id = '{user}'"
        ))
        .await,
        0
    );
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM posts WHERE id = '{}' AND status = 'withdrawn' \
             AND consent_id IS NULL",
            seeded.post
        ))
        .await,
        1
    );
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM consent_receipts WHERE post_id = '{}'",
            seeded.post
        ))
        .await,
        1,
        "the receipt stays in history until the purge"
    );
    let erasures = format!(
        "SELECT COUNT(*) FROM data_subject_requests WHERE user_id = '{user}' \
         AND type = 'erasure' AND status = 'received'"
    );
    assert_eq!(db.count(erasures.clone()).await, 1);
    assert!(
        store.auth.credentials(user).await.is_err(),
        "no login any more"
    );

    let again = store
        .rights
        .close_account(&closure(user, at + Duration::days(2)))
        .await
        .unwrap();
    assert_eq!(again, ClosureOutcome::AlreadyClosed { purge_after });
    assert_eq!(db.count(erasures).await, 1);
    assert_eq!(
        store
            .rights
            .close_account(&closure(UserId::new(), at))
            .await,
        Err(StoreError::NotFound)
    );
}

pub async fn an_open_account_is_never_purged(db: &TestDb) {
    let dir = TempDir::new("media");
    let (user, _) = seed_user(db, "ada@example.com", &dir).await;
    let store = db.stores();
    assert_eq!(
        store.retention.purge_account(user).await,
        Err(StoreError::NotFound)
    );
    assert!(store.accounts.account(user).await.is_ok());
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM posts WHERE owner_id = '{user}'"
        ))
        .await,
        2,
        "the seeded posts: one ready and approved, one being generated"
    );
    // An account that is gone already is fine: another replica purged it.
    assert_eq!(
        store
            .retention
            .purge_account(UserId::new())
            .await
            .unwrap()
            .rows_deleted,
        0
    );
}

pub async fn a_purge_leaves_only_detached_payment_records(db: &TestDb) {
    let dir = TempDir::new("media");
    let (ada, seeded_ada) = seed_user(db, "ada@example.com", &dir).await;
    let (bob, _) = seed_user(db, "bob@example.com", &dir).await;
    let store = db.stores();
    store
        .rights
        .close_account(&closure(ada, t0()))
        .await
        .unwrap();
    let mut rows = 0;
    for table in USER_TABLES {
        if table.erasure == Erasure::Delete {
            let owner = table.owner.replace("$1", &format!("'{ada}'"));
            rows += db
                .count(format!("SELECT COUNT(*) FROM {} WHERE {owner}", table.name))
                .await;
        }
    }
    db.clock().set(t0() + Duration::days(30));
    let report = store.retention.purge_account(ada).await.unwrap();
    assert_eq!(report.rows_deleted, u64::try_from(rows).unwrap());

    for needle in [ada.to_string(), "ada@example.com".to_owned()] {
        let traces = find_everywhere(db, &needle).await;
        assert!(traces.is_empty(), "{needle} is still in {traces:?}");
    }
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM payment_records WHERE stripe_customer_id = '{}' \
             AND user_id IS NULL AND amount = 1900",
            seeded_ada.stripe_customer
        ))
        .await,
        1,
        "the payment record stays, without its user (P17)"
    );
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM meta_deletion_requests WHERE app_user_hash = '{}'",
            seeded_ada.meta_user_hash
        ))
        .await,
        2,
        "Meta's requests outlive the account so their status pages keep answering"
    );
    // Bob is untouched.
    let bobs = find_everywhere(db, &bob.to_string()).await;
    let tables: BTreeSet<&str> = bobs
        .iter()
        .map(|(column, _)| column.split('.').next().unwrap())
        .collect();
    for table in [
        "users",
        "posts",
        "instagram_connections",
        "payment_records",
        "usage_log",
    ] {
        assert!(tables.contains(table), "bob lost his {table}: {bobs:?}");
    }
    // A second purge finds nothing to do.
    db.clock().set(t0() + Duration::days(31));
    assert_eq!(
        store
            .retention
            .purge_account(ada)
            .await
            .unwrap()
            .rows_deleted,
        0
    );
}

pub async fn a_purge_completes_the_meta_requests_waiting_for_it(db: &TestDb) {
    let dir = TempDir::new("media");
    let (ada, seeded) = seed_user(db, "ada@example.com", &dir).await;
    let store = db.stores();
    let code = "00112233445566778899aabb".to_owned();
    store
        .rights
        .insert_meta_deletion(&MetaDeletion {
            confirmation_code: code.clone(),
            app_user_hash: seeded.meta_user_hash.clone(),
            user: Some(ada),
            status: MetaDeletionStatus::Received,
            created_at: t0(),
            completed_at: None,
        })
        .await
        .unwrap();
    store
        .rights
        .close_account(&closure(ada, t0()))
        .await
        .unwrap();
    let purged_at = t0() + Duration::days(29);
    db.clock().set(purged_at);
    store.retention.purge_account(ada).await.unwrap();
    let request = store.rights.meta_deletion(&code).await.unwrap().unwrap();
    assert_eq!(request.status, MetaDeletionStatus::Completed);
    assert_eq!(request.completed_at, Some(purged_at));
    assert_eq!(request.user, None, "the link to the purged user is gone");
    assert_eq!(store.rights.meta_deletion("ffff").await.unwrap(), None);
}

pub async fn meta_users_are_found_and_their_tokens_removed(db: &TestDb) {
    let dir = TempDir::new("media");
    let (ada, seeded) = seed_user(db, "ada@example.com", &dir).await;
    let (bob, _) = seed_user(db, "bob@example.com", &dir).await;
    let store = db.stores();
    // Both connected with the same Facebook login (the seed uses one Meta user).
    let mut found = store
        .connections
        .accounts_of_meta_user(&seeded.meta_user_hash)
        .await
        .unwrap();
    found.sort();
    let mut expected = vec![ada, bob];
    expected.sort();
    assert_eq!(found, expected);
    assert!(
        store
            .connections
            .accounts_of_meta_user("0000")
            .await
            .unwrap()
            .is_empty()
    );

    let carol = signed_up(&store, "carol@example.com").await;
    store
        .connections
        .save_connection(
            &Connection {
                id: ConnectionId::new(),
                owner: carol.id,
                ig_user_id: ig("17841400000000001"),
                page_name: "Carol".to_owned(),
                status: ConnectionStatus::Active,
                token_expires_at: None,
                created_at: t0(),
            },
            b"carol's sealed token",
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .connections
            .remove_meta_user_tokens(&seeded.meta_user_hash)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .connections
            .remove_meta_user_tokens(&seeded.meta_user_hash)
            .await
            .unwrap(),
        0
    );
    let connection = store
        .connections
        .connection(ada, seeded.connection)
        .await
        .unwrap();
    assert_eq!(connection.status, ConnectionStatus::NeedsReconnect);
    assert_eq!(
        store.connections.sealed_token(ada, seeded.connection).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.connections.connections(carol.id).await.unwrap()[0].status,
        ConnectionStatus::Active
    );
    assert_eq!(
        store
            .connections
            .set_meta_user_hash(carol.id, seeded.connection, "x")
            .await,
        Err(StoreError::NotFound),
        "another owner's connection"
    );
}

pub async fn usage_log_purges_are_bounded_and_keep_the_cutoff_instant(db: &TestDb) {
    let store = db.stores();
    let cutoff = t0();
    let event = |at| UsageEvent {
        user: None,
        method: "GET".to_owned(),
        route: "/healthz".to_owned(),
        status: 200,
        ip: None,
        user_agent: None,
        security: false,
        at,
        api_key: None,
        channel: kraftsoci_core::ports::UsageChannel::Api,
    };
    for _ in 0..5 {
        store
            .usage_log
            .append(&event(cutoff - Duration::microseconds(1)))
            .await
            .unwrap();
    }
    store.usage_log.append(&event(cutoff)).await.unwrap();
    assert_eq!(
        store
            .retention
            .count_usage_log_before(cutoff)
            .await
            .unwrap(),
        5
    );
    // Two at a time, until a batch finds less than its limit.
    for expected in [2, 2, 1, 0] {
        let purged = store.retention.purge_usage_log_before(cutoff, 2).await;
        assert_eq!(purged.unwrap(), expected);
    }
    assert_eq!(
        db.count("SELECT COUNT(*) FROM usage_log".to_owned()).await,
        1
    );
}

pub async fn expired_auth_artifacts_are_purged_within_one_budget(db: &TestDb) {
    let dir = TempDir::new("media");
    // The seed's tokens expire after t0 (30 min to 30 days later).
    let (ada, _) = seed_user(db, "ada@example.com", &dir).await;
    let store = db.stores();
    let expired = t0() - Duration::seconds(1);
    store
        .auth
        .insert_refresh_token(&NewRefreshToken {
            hash: TokenHash::of("expired refresh"),
            session: kraftsoci_core::SessionId::new(),
            user: ada,
            created_at: expired - Duration::days(30),
            expires_at: expired,
        })
        .await
        .unwrap();
    store
        .auth
        .insert_reset_token(ada, &TokenHash::of("expired reset"), expired, expired)
        .await
        .unwrap();
    db.exec(format!(
        "INSERT INTO oauth_states (state_hash, user_id, created_at, expires_at) VALUES \
         ('expired-state', '{ada}', '{e}', '{e}')",
        e = user_data::sql_time(expired)
    ))
    .await;
    assert_eq!(
        store
            .retention
            .count_expired_auth_artifacts(t0())
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .retention
            .purge_expired_auth_artifacts(t0(), 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .retention
            .purge_expired_auth_artifacts(t0(), 2)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .retention
            .purge_expired_auth_artifacts(t0(), 2)
            .await
            .unwrap(),
        0
    );
    for table in ["refresh_tokens", "password_reset_tokens", "oauth_states"] {
        assert!(
            db.count(format!(
                "SELECT COUNT(*) FROM {table} WHERE user_id = '{ada}'"
            ))
            .await
                >= 1,
            "live {table} are kept"
        );
    }
}

pub async fn payment_records_are_purged_after_their_cutoff_paid_else_reported(db: &TestDb) {
    let store = db.stores();
    let cutoff = t0();
    let old = user_data::sql_time(cutoff - Duration::days(1));
    let new = user_data::sql_time(cutoff + Duration::days(1));
    for (invoice, paid_at, created_at) in [
        ("in_old_paid", Some(&old), &new),
        ("in_old_unpaid", None, &old),
        ("in_new_paid", Some(&new), &old),
        ("in_new_unpaid", None, &new),
    ] {
        let paid = paid_at.map_or_else(|| "NULL".to_owned(), |t| format!("'{t}'"));
        db.exec(format!(
            "INSERT INTO payment_records (id, invoice_id, stripe_customer_id, amount, currency, \
             status, paid_at, created_at) VALUES ('{}', '{invoice}', 'cus_x', 100, 'eur', 'paid', \
             {paid}, '{created_at}')",
            uuid::Uuid::new_v4()
        ))
        .await;
    }
    assert_eq!(
        store
            .retention
            .count_payment_records_before(cutoff)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .retention
            .purge_payment_records_before(cutoff, 10)
            .await
            .unwrap(),
        2
    );
    let left = db
        .strings("SELECT invoice_id FROM payment_records ORDER BY invoice_id".to_owned())
        .await;
    assert_eq!(left, vec!["in_new_paid", "in_new_unpaid"]);
}

pub async fn closed_accounts_are_due_oldest_closure_first(db: &TestDb) {
    let store = db.stores();
    let mut closed = Vec::new();
    for (i, email) in ["a@example.com", "b@example.com", "c@example.com"]
        .iter()
        .enumerate()
    {
        let account = signed_up(&store, email).await;
        let at = t0() - Duration::days(10 - i64::try_from(i).unwrap());
        store
            .rights
            .close_account(&closure(account.id, at))
            .await
            .unwrap();
        closed.push(account.id);
    }
    signed_up(&store, "open@example.com").await;
    assert_eq!(
        store
            .retention
            .count_closed_accounts_due(t0())
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .retention
            .closed_accounts_due(t0(), &[], 2)
            .await
            .unwrap(),
        closed[..2]
    );
    assert_eq!(
        store
            .retention
            .closed_accounts_due(t0(), &[closed[0]], 2)
            .await
            .unwrap(),
        closed[1..3],
        "an account the sweep skipped in this run is left out and the next ones take its place"
    );
    assert_eq!(
        store
            .retention
            .closed_accounts_due(t0() - Duration::days(9), &[], 10)
            .await
            .unwrap(),
        closed[..1],
        "closed exactly at the cutoff is not due yet"
    );
}

pub async fn requests_are_listed_newest_first_and_completed_once(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    let first = DataSubjectRequest::receive(ada.id, RequestKind::Access, t0());
    let second =
        DataSubjectRequest::receive(ada.id, RequestKind::Portability, t0() + Duration::hours(1));
    store.rights.record_request(&first).await.unwrap();
    store.rights.record_request(&second).await.unwrap();
    let listed = store.rights.requests(ada.id).await.unwrap();
    assert_eq!(listed, vec![second.clone(), first.clone()]);
    assert_eq!(listed[1].due_at(), t0() + Duration::days(30));

    let done = t0() + Duration::days(2);
    store
        .rights
        .complete_request(ada.id, first.id(), done)
        .await
        .unwrap();
    store
        .rights
        .complete_request(ada.id, first.id(), done + Duration::days(1))
        .await
        .unwrap();
    let listed = store.rights.requests(ada.id).await.unwrap();
    assert_eq!(listed[1].status(), RequestStatus::Completed);
    assert_eq!(listed[1].completed_at(), Some(done));
    assert_eq!(
        store
            .rights
            .complete_request(bob.id, second.id(), done)
            .await,
        Err(StoreError::NotFound),
        "another user's request"
    );
    assert!(store.rights.requests(bob.id).await.unwrap().is_empty());
}

pub async fn policy_versions_acceptances_and_notices_round_trip(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    let v1 = PolicyVersion {
        version: "2026-01".to_owned(),
        published_at: t0(),
        summary: "First.".to_owned(),
    };
    let v2 = PolicyVersion {
        version: "2026-02".to_owned(),
        published_at: t0() + Duration::days(30),
        summary: "New processor.".to_owned(),
    };
    assert!(store.policy.publish_policy_version(&v1).await.unwrap());
    assert!(store.policy.publish_policy_version(&v2).await.unwrap());
    assert!(
        !store.policy.publish_policy_version(&v2).await.unwrap(),
        "once per label"
    );
    assert_eq!(
        store.policy.current_policy().await.unwrap(),
        Some(v2.clone())
    );
    assert_eq!(
        store.policy.current_policy_version().await.unwrap(),
        Some("2026-02".to_owned())
    );
    assert_eq!(
        store.policy.policy_version("2026-01").await.unwrap(),
        Some(v1)
    );
    assert_eq!(store.policy.policy_version("nope").await.unwrap(), None);

    let at = t0() + Duration::days(31);
    store
        .policy
        .accept_policy(ada.id, "2026-02", at, Some("198.51.100.4"))
        .await
        .unwrap();
    assert_eq!(
        store
            .policy
            .policy_accepted_at(ada.id, "2026-02")
            .await
            .unwrap(),
        Some(at)
    );
    assert_eq!(
        store
            .policy
            .policy_accepted_at(bob.id, "2026-02")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .accounts
            .account(ada.id)
            .await
            .unwrap()
            .accepted_policy_version,
        "2026-02"
    );

    let mut seen = HashSet::new();
    let mut after = None;
    loop {
        let page = store.policy.open_accounts(after, 1).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.user);
        seen.extend(page.iter().map(|r| r.email.as_str().to_owned()));
    }
    assert_eq!(seen.len(), 2);
    store
        .rights
        .close_account(&closure(bob.id, at))
        .await
        .unwrap();
    assert_eq!(store.policy.open_accounts(None, 10).await.unwrap().len(), 1);
    assert_eq!(
        store
            .policy
            .accept_policy(bob.id, "2026-02", at, None)
            .await,
        Err(StoreError::NotFound),
        "a closed account accepts nothing"
    );

    let notice = |id| NewNotice {
        id,
        user: ada.id,
        kind: "policy_version".to_owned(),
        subject_key: "policy:2026-02".to_owned(),
        body: "Our privacy policy changed.".to_owned(),
        created_at: at,
    };
    let first = store
        .policy
        .ensure_notice(&notice(uuid::Uuid::new_v4()))
        .await
        .unwrap();
    assert!(!first.mailed);
    store.policy.mark_notice_mailed(first.id, at).await.unwrap();
    let again = store
        .policy
        .ensure_notice(&notice(uuid::Uuid::new_v4()))
        .await
        .unwrap();
    assert_eq!(again.id, first.id, "one notice per user and subject");
    assert!(again.mailed);
    let listed = store.policy.notices(ada.id, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].read_at, None);
    store
        .policy
        .mark_notice_read(ada.id, first.id, at)
        .await
        .unwrap();
    store
        .policy
        .mark_notice_read(ada.id, first.id, at + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        store.policy.notices(ada.id, 10).await.unwrap()[0].read_at,
        Some(at)
    );
    assert_eq!(
        store.policy.mark_notice_read(bob.id, first.id, at).await,
        Err(StoreError::NotFound)
    );
}

pub async fn sealed_tokens_page_in_id_order_and_are_replaced_only_if_unchanged(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    for i in 0..3 {
        store
            .connections
            .save_connection(
                &Connection {
                    id: ConnectionId::new(),
                    owner: ada.id,
                    ig_user_id: ig(&format!("1784140000000000{i}")),
                    page_name: format!("Page {i}"),
                    status: ConnectionStatus::Active,
                    token_expires_at: None,
                    created_at: t0(),
                },
                format!("sealed-{i}").as_bytes(),
                1,
            )
            .await
            .unwrap();
    }
    let first = store
        .connections
        .sealed_tokens_after(None, 2)
        .await
        .unwrap();
    let rest = store
        .connections
        .sealed_tokens_after(Some(first[1].connection), 2)
        .await
        .unwrap();
    assert_eq!((first.len(), rest.len()), (2, 1));
    let token = &rest[0];
    assert!(
        store
            .connections
            .replace_sealed_token(token.connection, &token.sealed, b"resealed", 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .connections
            .replace_sealed_token(token.connection, &token.sealed, b"again", 2)
            .await
            .unwrap(),
        "the stored token changed since it was read"
    );
    assert_eq!(
        store
            .connections
            .sealed_token(ada.id, token.connection)
            .await
            .unwrap(),
        b"resealed"
    );
}
