use chrono::Duration;
use kraftsoci_core::SessionId;
use kraftsoci_server::auth::TokenHash;
use kraftsoci_server::store::{NewRefreshToken, Rotation, Stores};

use crate::fixtures::{hash, signed_up, t0};
use crate::support::TestDb;

async fn login(store: &Stores, user: kraftsoci_core::UserId, token: &str) -> SessionId {
    let session = SessionId::new();
    store
        .auth
        .insert_refresh_token(&NewRefreshToken {
            hash: TokenHash::of(token),
            session,
            user,
            created_at: t0(),
            expires_at: t0() + Duration::days(30),
        })
        .await
        .unwrap();
    session
}

async fn rotate(store: &Stores, from: &str, to: &str, minutes: i64) -> Rotation {
    store
        .auth
        .rotate_refresh_token(
            &TokenHash::of(from),
            &TokenHash::of(to),
            t0() + Duration::minutes(minutes),
            t0() + Duration::days(30),
        )
        .await
        .unwrap()
}

pub async fn a_refresh_token_rotates_once_and_a_replay_revokes_its_family(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let session = login(&store, ada.id, "rt1").await;
    let other_session = login(&store, ada.id, "other-device").await;

    assert_eq!(
        rotate(&store, "rt1", "rt2", 1).await,
        Rotation::Rotated {
            user: ada.id,
            session,
            token_epoch: 0
        }
    );
    assert_eq!(
        rotate(&store, "rt1", "rt2-stolen", 2).await,
        Rotation::Reused {
            user: ada.id,
            session
        },
        "presenting a spent token is a replay"
    );
    assert_eq!(
        rotate(&store, "rt2", "rt3", 3).await,
        Rotation::Invalid,
        "the whole family is revoked, including the legitimate successor"
    );
    assert!(
        matches!(rotate(&store, "other-device", "od2", 4).await, Rotation::Rotated { session, .. } if session == other_session),
        "other sessions are untouched"
    );
    let stored = db
        .count("SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = 'rt1'".to_owned())
        .await;
    assert_eq!(stored, 0, "only hashes are stored");
}

pub async fn expired_unknown_and_logged_out_refresh_tokens_are_invalid(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    login(&store, ada.id, "old").await;
    assert_eq!(
        rotate(&store, "old", "x", 60 * 24 * 31).await,
        Rotation::Invalid,
        "expired after 30 days"
    );
    assert_eq!(
        rotate(&store, "never-issued", "x", 1).await,
        Rotation::Invalid
    );

    login(&store, ada.id, "to-log-out").await;
    assert!(matches!(
        rotate(&store, "to-log-out", "next", 1).await,
        Rotation::Rotated { .. }
    ));
    store
        .auth
        .revoke_session_of(&TokenHash::of("to-log-out"), t0() + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(
        rotate(&store, "next", "after", 3).await,
        Rotation::Invalid,
        "logout with any token of the family ends the session"
    );
    store
        .auth
        .revoke_session_of(&TokenHash::of("unknown"), t0())
        .await
        .unwrap();
}

pub async fn a_password_change_bumps_the_epoch_and_keeps_only_the_current_session(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let current = login(&store, ada.id, "this-device").await;
    login(&store, ada.id, "other-device").await;
    store
        .auth
        .insert_reset_token(
            ada.id,
            &TokenHash::of("pending-reset"),
            t0(),
            t0() + Duration::minutes(30),
        )
        .await
        .unwrap();

    let epoch = store
        .auth
        .change_password(
            ada.id,
            &hash('n'),
            Some(current),
            t0() + Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(epoch, 1);
    assert_eq!(
        store.auth.session_state(ada.id).await.unwrap().token_epoch,
        1
    );
    assert_eq!(
        store.auth.credentials(ada.id).await.unwrap().password_hash,
        hash('n')
    );
    assert!(matches!(
        rotate(&store, "this-device", "this-2", 2).await,
        Rotation::Rotated { token_epoch: 1, .. }
    ));
    assert_eq!(
        rotate(&store, "other-device", "other-2", 2).await,
        Rotation::Invalid
    );
    assert_eq!(
        store
            .auth
            .reset_password(
                &TokenHash::of("pending-reset"),
                &hash('r'),
                t0() + Duration::minutes(3)
            )
            .await
            .unwrap(),
        None,
        "a password change voids pending reset links"
    );
    let epoch = store
        .auth
        .change_password(ada.id, &hash('m'), None, t0() + Duration::minutes(4))
        .await
        .unwrap();
    assert_eq!(epoch, 2);
    assert_eq!(
        rotate(&store, "this-2", "this-3", 5).await,
        Rotation::Invalid
    );
}

pub async fn a_reset_token_works_once_before_it_expires_and_revokes_every_session(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    login(&store, ada.id, "device").await;
    let expires = t0() + Duration::minutes(30);
    store
        .auth
        .insert_reset_token(ada.id, &TokenHash::of("late"), t0(), expires)
        .await
        .unwrap();
    assert_eq!(
        store
            .auth
            .reset_password(
                &TokenHash::of("late"),
                &hash('x'),
                expires + Duration::seconds(1)
            )
            .await
            .unwrap(),
        None,
        "expired"
    );
    store
        .auth
        .insert_reset_token(ada.id, &TokenHash::of("reset"), t0(), expires)
        .await
        .unwrap();
    assert_eq!(
        store
            .auth
            .reset_password(
                &TokenHash::of("reset"),
                &hash('r'),
                t0() + Duration::minutes(5)
            )
            .await
            .unwrap(),
        Some(ada.id)
    );
    assert_eq!(
        store.auth.credentials(ada.id).await.unwrap().password_hash,
        hash('r')
    );
    assert_eq!(
        store.auth.session_state(ada.id).await.unwrap().token_epoch,
        1
    );
    assert_eq!(
        rotate(&store, "device", "device-2", 6).await,
        Rotation::Invalid
    );
    assert_eq!(
        store
            .auth
            .reset_password(
                &TokenHash::of("reset"),
                &hash('s'),
                t0() + Duration::minutes(7)
            )
            .await
            .unwrap(),
        None,
        "single use"
    );
    assert_eq!(
        store
            .auth
            .reset_password(&TokenHash::of("unknown"), &hash('s'), t0())
            .await
            .unwrap(),
        None
    );
}

pub async fn closed_accounts_cannot_refresh(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    login(&store, ada.id, "device").await;
    db.exec(format!(
        "UPDATE users SET closed_at = '2026-03-02T00:00:00.000000Z', \
         purge_after = '2026-04-01T00:00:00.000000Z' WHERE id = '{}'",
        ada.id
    ))
    .await;
    assert_eq!(rotate(&store, "device", "next", 1).await, Rotation::Invalid);
}

async fn browser_login(
    store: &Stores,
    user: kraftsoci_core::UserId,
    token: &str,
    days: i64,
) -> SessionId {
    let session = SessionId::new();
    store
        .auth
        .insert_browser_session(&NewRefreshToken {
            hash: TokenHash::of(token),
            session,
            user,
            created_at: t0(),
            expires_at: t0() + Duration::days(days),
        })
        .await
        .unwrap();
    session
}

async fn browser(store: &Stores, token: &str, minutes: i64) -> Option<SessionId> {
    store
        .auth
        .browser_session(&TokenHash::of(token), t0() + Duration::minutes(minutes))
        .await
        .unwrap()
        .map(|found| found.session)
}

pub async fn browser_sessions_are_found_until_they_expire_and_never_rotate(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let session = browser_login(&store, ada.id, "cookie", 14).await;
    let found = store
        .auth
        .browser_session(&TokenHash::of("cookie"), t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.user, found.session), (ada.id, session));
    assert_eq!(found.language, "en");
    assert_eq!(found.name, ada.name.as_str());
    assert_eq!(
        browser(&store, "cookie", 14 * 24 * 60 + 1).await,
        None,
        "expired"
    );
    assert_eq!(browser(&store, "unknown", 1).await, None);
    // A browser token is not a refresh token: refused, and nothing is revoked.
    assert_eq!(rotate(&store, "cookie", "next", 1).await, Rotation::Invalid);
    assert_eq!(browser(&store, "cookie", 2).await, Some(session));
    // An API refresh token is not a browser session.
    login(&store, ada.id, "api").await;
    assert_eq!(browser(&store, "api", 1).await, None);
}

pub async fn logout_password_change_and_closure_end_browser_sessions(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let first = browser_login(&store, ada.id, "first", 14).await;
    let second = browser_login(&store, ada.id, "second", 14).await;
    browser_login(&store, ada.id, "third", 14).await;
    store
        .auth
        .revoke_session_of(&TokenHash::of("first"), t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(browser(&store, "first", 2).await, None, "signed out");
    assert_eq!(browser(&store, "second", 2).await, Some(second));
    store
        .auth
        .change_password(
            ada.id,
            &hash('n'),
            Some(second),
            t0() + Duration::minutes(3),
        )
        .await
        .unwrap();
    assert_eq!(
        browser(&store, "second", 4).await,
        Some(second),
        "the changing one stays"
    );
    assert_eq!(
        browser(&store, "third", 4).await,
        None,
        "every other one ends"
    );
    assert_ne!(first, second);
    db.exec(format!(
        "UPDATE users SET closed_at = '2026-03-02T00:00:00.000000Z', \
         purge_after = '2026-04-01T00:00:00.000000Z' WHERE id = '{}'",
        ada.id
    ))
    .await;
    assert_eq!(
        browser(&store, "second", 5).await,
        None,
        "a closed account has none"
    );
}

/// Whether `session` is open at `minutes`, by the session check of every request — and the
/// same by the session check that comes with a page of posts (`access_posts`), on the same
/// state.
async fn session_open(
    store: &Stores,
    user: kraftsoci_core::UserId,
    session: SessionId,
    minutes: i64,
) -> bool {
    let now = t0() + Duration::minutes(minutes);
    let access = store.auth.access_state(user, session, now).await.unwrap();
    let with_page = store
        .auth
        .access_posts(user, session, now, None, None, 20)
        .await
        .unwrap();
    assert_eq!(with_page.access, access, "the same state, read with a page");
    assert!(with_page.page.unwrap().posts.is_empty());
    access.session_open
}

pub async fn a_session_is_open_until_logout_replay_password_change_or_expiry(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    let rotated = login(&store, ada.id, "rt1").await;
    let logged_out = login(&store, ada.id, "lo1").await;
    let replayed = login(&store, ada.id, "rp1").await;
    let kept = login(&store, ada.id, "kept").await;
    let elsewhere = login(&store, ada.id, "elsewhere").await;

    for session in [rotated, logged_out, replayed, kept, elsewhere] {
        assert!(session_open(&store, ada.id, session, 1).await);
    }
    assert!(
        !session_open(&store, ada.id, SessionId::new(), 1).await,
        "a session never opened is not open"
    );
    let bob = signed_up(&store, "bob@example.com").await;
    assert!(
        !session_open(&store, bob.id, rotated, 1).await,
        "another user's session does not count"
    );

    assert!(matches!(
        rotate(&store, "rt1", "rt2", 2).await,
        Rotation::Rotated { .. }
    ));
    assert!(
        session_open(&store, ada.id, rotated, 3).await,
        "rotation keeps the session open"
    );
    assert!(
        !session_open(&store, ada.id, rotated, 60 * 24 * 31).await,
        "an expired session is not open"
    );

    store
        .auth
        .revoke_session_of(&TokenHash::of("lo1"), t0() + Duration::minutes(4))
        .await
        .unwrap();
    assert!(!session_open(&store, ada.id, logged_out, 5).await, "logout");

    assert!(matches!(
        rotate(&store, "rp1", "rp2", 6).await,
        Rotation::Rotated { .. }
    ));
    assert!(matches!(
        rotate(&store, "rp1", "rp2-stolen", 7).await,
        Rotation::Reused { .. }
    ));
    assert!(!session_open(&store, ada.id, replayed, 8).await, "replay");

    store
        .auth
        .change_password(ada.id, &hash('n'), Some(kept), t0() + Duration::minutes(9))
        .await
        .unwrap();
    assert!(
        session_open(&store, ada.id, kept, 10).await,
        "the session that changed the password stays"
    );
    assert!(
        !session_open(&store, ada.id, elsewhere, 10).await,
        "every other one ends"
    );
    assert!(
        !session_open(&store, ada.id, rotated, 10).await,
        "the rotated session was another one too"
    );
}
