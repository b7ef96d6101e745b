use kraftsoci_core::ports::{Connection, ConnectionStatus, PostMedia, UsageEvent};
use kraftsoci_core::{
    BusinessDescription, BusinessProfile, ConnectionId, Language, Post, Sector, TargetAudience,
    Tone,
};

use crate::fixtures::{content, ig, signed_up, t0};
use crate::support::TestDb;

pub async fn deleting_a_user_removes_their_rows_but_keeps_payment_records(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let bob = signed_up(&store, "bob@example.com").await;
    for user in [ada.id, bob.id] {
        store
            .profiles
            .put_profile(
                user,
                &BusinessProfile {
                    description: BusinessDescription::parse("Bakery").unwrap(),
                    target_audience: TargetAudience::parse("Locals").unwrap(),
                    tone: Tone::parse("warm").unwrap(),
                    sector: Sector::parse("bakery").unwrap(),
                    language: Language::english(),
                },
            )
            .await
            .unwrap();
        store
            .connections
            .save_connection(
                &Connection {
                    id: ConnectionId::new(),
                    owner: user,
                    ig_user_id: ig("17841405822304914"),
                    page_name: "Page".to_owned(),
                    status: ConnectionStatus::Active,
                    token_expires_at: None,
                    created_at: t0(),
                },
                b"sealed",
                1,
            )
            .await
            .unwrap();
        let post = Post::generated(user, content("Fresh simit"), t0()).unwrap();
        store
            .posts
            .insert_post(post.snapshot(), &PostMedia::default())
            .await
            .unwrap();
        store
            .usage_log
            .append(&UsageEvent {
                user: Some(user),
                method: "GET".to_owned(),
                route: "/v1/me".to_owned(),
                status: 200,
                ip: None,
                user_agent: None,
                security: false,
                at: t0(),
                api_key: None,
                channel: kraftsoci_core::ports::UsageChannel::Api,
            })
            .await
            .unwrap();
        db.exec(format!(
            "INSERT INTO payment_records (id, invoice_id, user_id, stripe_customer_id, amount, \
             currency, status, created_at) VALUES ('{}', 'in_{}', '{user}', 'cus_1', 1900, 'eur', \
             'paid', '2026-03-01T00:00:00.000000Z')",
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4().simple()
        ))
        .await;
    }

    db.exec(format!("DELETE FROM users WHERE id = '{}'", ada.id))
        .await;

    for table in [
        "profiles",
        "policy_acceptances",
        "usage_log",
        "refresh_tokens",
        "password_reset_tokens",
        "oauth_states",
        "consent_receipts",
        "quota_reservations",
        "billing_customers",
        "billing_intents",
        "data_subject_requests",
        "notices",
    ] {
        let count = db
            .count(format!(
                "SELECT COUNT(*) FROM {table} WHERE user_id = '{}'",
                ada.id
            ))
            .await;
        assert_eq!(count, 0, "{table} keeps nothing of a deleted user");
    }
    for table in ["instagram_connections", "posts", "publish_jobs"] {
        let count = db
            .count(format!(
                "SELECT COUNT(*) FROM {table} WHERE owner_id = '{}'",
                ada.id
            ))
            .await;
        assert_eq!(count, 0, "{table} keeps nothing of a deleted user");
    }
    assert_eq!(
        db.count("SELECT COUNT(*) FROM payment_records WHERE user_id IS NULL".to_owned())
            .await,
        1,
        "the ledger outlives the account (P17)"
    );
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM posts WHERE owner_id = '{}'",
            bob.id
        ))
        .await,
        1,
        "other users are untouched"
    );
}

pub async fn the_current_policy_version_is_the_latest_published(db: &TestDb) {
    let store = db.stores();
    assert_eq!(store.policy.current_policy_version().await.unwrap(), None);
    db.exec(
        "INSERT INTO policy_versions (version, published_at, summary) VALUES \
         ('2026-01', '2026-01-01T00:00:00.000000Z', 'first'), \
         ('2026-03', '2026-03-01T00:00:00.000000Z', 'second')"
            .to_owned(),
    )
    .await;
    assert_eq!(
        store
            .policy
            .current_policy_version()
            .await
            .unwrap()
            .as_deref(),
        Some("2026-03")
    );
}

pub async fn the_database_answers_pings(db: &TestDb) {
    db.stores().database.ping().await.unwrap();
}
