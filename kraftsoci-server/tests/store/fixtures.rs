//! Shared test data.

use chrono::{DateTime, Duration, TimeZone, Utc};
use kraftsoci_core::ports::{Account, Connection, ConnectionStatus, Preferences};
use kraftsoci_core::{
    AltText, BusinessName, Caption, ConnectionId, Email, Hashtag, IgUserId, MediaDigest, MediaKind,
    Objections, PersonName, PostContent, Restrictions, Sector, UserId,
};
use kraftsoci_server::auth::PasswordHash;
use kraftsoci_server::store::{NewAccount, Stores};

/// A fixed instant at microsecond precision (what both engines keep).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap() + Duration::microseconds(123_456)
}

/// A bcrypt-shaped hash (the schema checks the `$2b$` prefix).
pub fn hash(tag: char) -> PasswordHash {
    PasswordHash::from_stored(format!("$2b$04${}", tag.to_string().repeat(53)))
}

pub fn account(email: &str) -> Account {
    Account {
        id: UserId::new(),
        name: PersonName::parse("Ada Lovelace").unwrap(),
        email: Email::parse(email).unwrap(),
        business_name: BusinessName::parse("Ada's Bakery").unwrap(),
        sector: Sector::parse("bakery").unwrap(),
        created_at: t0(),
        preferences: Preferences::default(),
        restrictions: Restrictions::default(),
        objections: Objections::default(),
        accepted_policy_version: "2026-01".to_owned(),
        closed_at: None,
    }
}

/// Creates an account and returns it.
pub async fn signed_up(store: &Stores, email: &str) -> Account {
    let account = account(email);
    store
        .auth
        .create_account(&NewAccount {
            account: account.clone(),
            password_hash: hash('a'),
            ip: Some("203.0.113.7".to_owned()),
        })
        .await
        .unwrap();
    account
}

pub fn content(caption: &str) -> PostContent {
    PostContent {
        caption: Caption::parse(caption).unwrap(),
        hashtags: vec![
            Hashtag::parse("#simit").unwrap(),
            Hashtag::parse("bakery").unwrap(),
        ],
        alt_text: Some(AltText::parse("Sesame bread rings on a tray").unwrap()),
        media_kind: MediaKind::Image,
        media: vec![MediaDigest::of(caption.as_bytes())],
        target: None,
    }
}

pub fn ig(id: &str) -> IgUserId {
    IgUserId::parse(id).unwrap()
}

/// An active connection of `owner` to `ig_user_id` (its token a stand-in: nothing opens it).
pub async fn connected(store: &Stores, owner: UserId, ig_user_id: &str) -> Connection {
    store
        .connections
        .save_connection(
            &Connection {
                id: ConnectionId::new(),
                owner,
                ig_user_id: ig(ig_user_id),
                page_name: "Simit Corner".to_owned(),
                status: ConnectionStatus::Active,
                token_expires_at: None,
                created_at: t0(),
            },
            b"sealed",
            1,
        )
        .await
        .unwrap()
}
