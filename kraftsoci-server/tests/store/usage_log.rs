use kraftsoci_core::ports::UsageEvent;

use crate::fixtures::{signed_up, t0};
use crate::support::TestDb;

pub async fn usage_events_are_appended_with_and_without_a_user(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let event = |user, security| UsageEvent {
        user,
        method: "GET".to_owned(),
        route: "/v1/me".to_owned(),
        status: 200,
        ip: Some("198.51.100.1".to_owned()),
        user_agent: Some("Mozilla/5.0".to_owned()),
        security,
        at: t0(),
        api_key: None,
        channel: kraftsoci_core::ports::UsageChannel::Api,
    };
    store
        .usage_log
        .append(&event(Some(ada.id), false))
        .await
        .unwrap();
    store.usage_log.append(&event(None, true)).await.unwrap();
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM usage_log WHERE user_id = '{}'",
            ada.id
        ))
        .await,
        1
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM usage_log WHERE user_id IS NULL".to_owned())
            .await,
        1
    );
    assert_eq!(
        db.strings("SELECT route FROM usage_log".to_owned()).await,
        vec!["/v1/me".to_owned(), "/v1/me".to_owned()]
    );
}

pub async fn usage_events_are_appended_in_batches_in_order(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    // More than one INSERT's worth (500 rows), with and without a user, nulls included.
    let events: Vec<UsageEvent> = (0..1203)
        .map(|n| UsageEvent {
            user: (n % 2 == 0).then_some(ada.id),
            method: "GET".to_owned(),
            route: format!("/r/{n:04}"),
            status: 200 + u16::try_from(n % 3).unwrap(),
            ip: (n % 3 == 0).then(|| "198.51.100.1".to_owned()),
            user_agent: (n % 7 == 0).then(|| format!("agent {n}")),
            security: n % 5 == 0,
            at: t0() + chrono::Duration::seconds(n),
            api_key: None,
            channel: if n % 4 == 0 {
                kraftsoci_core::ports::UsageChannel::Web
            } else {
                kraftsoci_core::ports::UsageChannel::Api
            },
        })
        .collect();
    store.usage_log.append_many(&events).await.unwrap();
    store.usage_log.append_many(&[]).await.unwrap();
    // Every column comes back as it went in (PostgreSQL sends a batch as arrays).
    assert_eq!(
        db.count("SELECT COUNT(*) FROM usage_log WHERE status = 202".to_owned())
            .await,
        401
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM usage_log WHERE channel = 'web'".to_owned())
            .await,
        301
    );
    assert_eq!(
        db.strings("SELECT user_agent FROM usage_log WHERE route = '/r/0014'".to_owned())
            .await,
        vec!["agent 14".to_owned()]
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM usage_log WHERE user_agent IS NULL".to_owned())
            .await,
        1203 - 172
    );
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM usage_log WHERE method = 'GET' AND api_key_id IS NULL".to_owned()
        )
        .await,
        1203
    );
    let stamps = db
        .strings(
            "SELECT CAST(at AS TEXT) FROM usage_log WHERE route IN ('/r/0000', '/r/1202') ORDER BY id"
                .to_owned(),
        )
        .await;
    assert_eq!(stamps.len(), 2);
    assert_ne!(
        stamps[0], stamps[1],
        "each row keeps its own time: {stamps:?}"
    );
    let routes = db
        .strings("SELECT route FROM usage_log ORDER BY id".to_owned())
        .await;
    assert_eq!(routes.len(), 1203);
    assert!(routes.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(
        db.count(format!(
            "SELECT COUNT(*) FROM usage_log WHERE user_id = '{}'",
            ada.id
        ))
        .await,
        602
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM usage_log WHERE security AND ip IS NULL".to_owned())
            .await,
        160
    );

    // A batch of one is a batch too.
    store.usage_log.append_many(&events[..1]).await.unwrap();
    assert_eq!(
        db.count("SELECT COUNT(*) FROM usage_log WHERE route = '/r/0000'".to_owned())
            .await,
        2
    );
}
