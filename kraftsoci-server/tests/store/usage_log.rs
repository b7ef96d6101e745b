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
