use chrono::Duration;
use kraftsoci_core::ports::{Connection, ConnectionStatus};
use kraftsoci_core::{ConnectionId, StoreError, UserId};
use kraftsoci_server::config::Backend;

use crate::fixtures::{ig, signed_up, t0};
use crate::support::TestDb;

fn connection(owner: UserId, ig_user_id: &str, page: &str) -> Connection {
    Connection {
        id: ConnectionId::new(),
        owner,
        ig_user_id: ig(ig_user_id),
        page_name: page.to_owned(),
        status: ConnectionStatus::Active,
        token_expires_at: Some(t0() + Duration::days(60)),
        created_at: t0(),
    }
}

pub async fn connections_are_upserted_per_owner_and_instagram_account(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let first = connection(ada.id, "17841405822304914", "Ada's Bakery");
    let stored = store
        .connections
        .save_connection(&first, b"sealed-1", 1)
        .await
        .unwrap();
    assert_eq!(stored, first);

    let mut renewed = connection(ada.id, "17841405822304914", "Ada's Bakery & Cafe");
    renewed.token_expires_at = None;
    let stored = store
        .connections
        .save_connection(&renewed, b"sealed-2", 1)
        .await
        .unwrap();
    assert_eq!(
        stored.id, first.id,
        "same owner and account: the row is refreshed"
    );
    assert_eq!(stored.page_name, "Ada's Bakery & Cafe");
    assert_eq!(stored.token_expires_at, None);
    assert_eq!(
        store
            .connections
            .sealed_token(ada.id, first.id)
            .await
            .unwrap(),
        b"sealed-2"
    );

    let second = store
        .connections
        .save_connection(
            &connection(ada.id, "17841400000000001", "Second page"),
            b"s",
            1,
        )
        .await
        .unwrap();
    let all = store.connections.connections(ada.id).await.unwrap();
    assert_eq!(all.len(), 2);

    store
        .connections
        .mark_needs_reconnect(ada.id, second.id)
        .await
        .unwrap();
    assert_eq!(
        store
            .connections
            .connection(ada.id, second.id)
            .await
            .unwrap()
            .status,
        ConnectionStatus::NeedsReconnect
    );
    store
        .connections
        .disconnect(ada.id, second.id, &[], t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .connections
            .connection(ada.id, second.id)
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store
            .connections
            .sealed_token(ada.id, second.id)
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store.connections.connections(ada.id).await.unwrap().len(),
        1
    );
}

pub async fn another_owners_connection_is_never_reached(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let eve = signed_up(&store, "eve@example.com").await;
    let adas = store
        .connections
        .save_connection(
            &connection(ada.id, "17841405822304914", "Ada's"),
            b"ada-token",
            1,
        )
        .await
        .unwrap();
    // Eve connecting the same Instagram account gets a row of her own.
    let eves = store
        .connections
        .save_connection(
            &connection(eve.id, "17841405822304914", "Eve's"),
            b"eve-token",
            1,
        )
        .await
        .unwrap();
    assert_ne!(adas.id, eves.id);
    assert_eq!(
        store
            .connections
            .sealed_token(ada.id, adas.id)
            .await
            .unwrap(),
        b"ada-token"
    );

    assert_eq!(
        store.connections.connections(eve.id).await.unwrap(),
        vec![eves.clone()]
    );
    assert_eq!(
        store
            .connections
            .connection(eve.id, adas.id)
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store
            .connections
            .sealed_token(eve.id, adas.id)
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store
            .connections
            .mark_needs_reconnect(eve.id, adas.id)
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store
            .connections
            .disconnect(eve.id, adas.id, &[], t0())
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store
            .connections
            .connection(ada.id, adas.id)
            .await
            .unwrap()
            .status,
        ConnectionStatus::Active,
        "Ada's connection is untouched"
    );
}

pub async fn a_connection_whose_stored_status_is_unknown_is_refused_as_corrupt(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let saved = store
        .connections
        .save_connection(
            &connection(ada.id, "17841405822304914", "Ada's Bakery"),
            b"sealed",
            1,
        )
        .await
        .unwrap();
    // A status only a later version writes: past this schema's CHECK, as after a rollback.
    let update = "UPDATE instagram_connections SET status = 'revoked_by_meta'";
    db.exec(match db.backend() {
        Backend::Postgres => format!(
            "ALTER TABLE instagram_connections DROP CONSTRAINT instagram_connections_status_check; \
             {update}"
        ),
        Backend::Sqlite => format!("PRAGMA ignore_check_constraints = ON; {update}"),
    })
    .await;

    let refused = |result: Result<_, StoreError>| match result {
        Err(StoreError::Corrupt(what)) => {
            assert_eq!(
                what,
                "instagram_connections.status: unknown connection status"
            );
        }
        other => panic!("expected a corrupt row, got {other:?}"),
    };
    refused(
        store
            .connections
            .connection(ada.id, saved.id)
            .await
            .map(drop),
    );
    refused(store.connections.connections(ada.id).await.map(drop));
}
