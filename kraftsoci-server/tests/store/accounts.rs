use futures::future::join_all;
use kraftsoci_core::ports::{AccountUpdate, Preferences, Theme};
use kraftsoci_core::{Email, Language, Objections, PersonName, Restrictions, StoreError, UserId};
use kraftsoci_server::store::NewAccount;

use crate::fixtures::{account, hash, signed_up};
use crate::support::TestDb;

pub async fn an_account_round_trips_every_field(db: &TestDb) {
    let store = db.stores();
    let created = signed_up(&store, "Ada@Example.com").await;
    let read = store.accounts.account(created.id).await.unwrap();
    assert_eq!(read, created);
    assert_eq!(read.email.as_str(), "Ada@example.com");
    let acceptances = db
        .count(format!(
            "SELECT COUNT(*) FROM policy_acceptances WHERE user_id = '{}' AND version = '2026-01' \
             AND ip = '203.0.113.7'",
            created.id
        ))
        .await;
    assert_eq!(
        acceptances, 1,
        "sign-up records the policy acceptance (P38)"
    );
    let stored_hash = db
        .strings(format!(
            "SELECT password_hash FROM users WHERE id = '{}'",
            created.id
        ))
        .await;
    assert!(stored_hash[0].starts_with("$2b$"));
}

pub async fn rectification_updates_the_mutable_fields(db: &TestDb) {
    let store = db.stores();
    let mut account = signed_up(&store, "ada@example.com").await;
    account.name = PersonName::parse("Ada King").unwrap();
    account.email = Email::parse("countess@example.org").unwrap();
    account.preferences = Preferences {
        language: Language::parse("tr").unwrap(),
        theme: Theme::Dark,
    };
    account.restrictions = Restrictions {
        generation: true,
        publishing: false,
    };
    account.objections = Objections { usage_log: true };
    let changes = AccountUpdate {
        name: Some(account.name.clone()),
        email: Some(account.email.clone()),
        business_name: None,
        sector: None,
        language: Some(account.preferences.language.clone()),
        theme: Some(account.preferences.theme),
        restrictions: Some(account.restrictions),
        objections: Some(account.objections),
    };
    let stored = store
        .accounts
        .update_account(account.id, &changes)
        .await
        .unwrap();
    assert_eq!(stored, account, "the update answers the account as stored");
    assert_eq!(store.accounts.account(account.id).await.unwrap(), account);
    let unchanged = store
        .accounts
        .update_account(account.id, &AccountUpdate::default())
        .await
        .unwrap();
    assert_eq!(unchanged, account, "no change leaves every field alone");
    let credentials = store
        .auth
        .credentials_by_email("countess@example.org")
        .await
        .unwrap()
        .expect("the new email logs in");
    assert_eq!(credentials.user, account.id);
    assert!(
        store
            .auth
            .credentials_by_email("ada@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let state = store.auth.session_state(account.id).await.unwrap();
    assert!(state.objects_to_usage_log);
    assert!(!state.closed);
}

pub async fn a_taken_email_is_a_conflict_named_users_email_key(db: &TestDb) {
    let store = db.stores();
    signed_up(&store, "ada@example.com").await;
    let duplicate = account("ADA@example.com");
    let err = store
        .auth
        .create_account(&NewAccount {
            account: duplicate,
            password_hash: hash('b'),
            ip: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Conflict {
            constraint: "users_email_key".to_owned()
        }
    );
    let other = signed_up(&store, "other@example.com").await;
    let taken = AccountUpdate {
        email: Some(Email::parse("Ada@Example.com").unwrap()),
        ..AccountUpdate::default()
    };
    assert_eq!(
        store
            .accounts
            .update_account(other.id, &taken)
            .await
            .unwrap_err(),
        StoreError::Conflict {
            constraint: "users_email_key".to_owned()
        }
    );
}

pub async fn a_closed_account_frees_its_email_and_has_no_credentials(db: &TestDb) {
    let store = db.stores();
    let closed = signed_up(&store, "ada@example.com").await;
    db.exec(format!(
        "UPDATE users SET closed_at = '2026-03-02T00:00:00.000000Z', \
         purge_after = '2026-04-01T00:00:00.000000Z' WHERE id = '{}'",
        closed.id
    ))
    .await;
    assert!(
        store
            .auth
            .credentials_by_email("ada@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.auth.credentials(closed.id).await.unwrap_err(),
        StoreError::NotFound
    );
    assert!(store.auth.session_state(closed.id).await.unwrap().closed);
    assert!(
        store
            .accounts
            .account(closed.id)
            .await
            .unwrap()
            .closed_at
            .is_some()
    );
    assert_eq!(
        store
            .accounts
            .update_account(closed.id, &rename())
            .await
            .unwrap_err(),
        StoreError::NotFound,
        "a closed account is not rectified"
    );
    let again = signed_up(&store, "ada@example.com").await;
    assert_ne!(again.id, closed.id);
}

pub async fn unknown_accounts_are_not_found(db: &TestDb) {
    let store = db.stores();
    let nobody = UserId::new();
    assert_eq!(
        store.accounts.account(nobody).await.unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store.auth.session_state(nobody).await.unwrap_err(),
        StoreError::NotFound
    );
    assert_eq!(
        store
            .accounts
            .update_account(nobody, &rename())
            .await
            .unwrap_err(),
        StoreError::NotFound
    );
}

fn rename() -> AccountUpdate {
    AccountUpdate {
        name: Some(PersonName::parse("Ada King").unwrap()),
        ..AccountUpdate::default()
    }
}

/// Rectifications, restrictions and objections of one account, many at once: each touches
/// only its own fields, so the last of each kind is what is stored, whatever the order.
pub async fn concurrent_updates_of_different_fields_are_all_kept(db: &TestDb) {
    let store = db.stores();
    let ada = signed_up(&store, "ada@example.com").await;
    for round in 0..10 {
        let name = PersonName::parse(&format!("Ada Round {round}")).unwrap();
        let restrictions = Restrictions {
            generation: round % 2 == 0,
            publishing: round % 3 == 0,
        };
        let objections = Objections {
            usage_log: round % 2 == 1,
        };
        let changes = [
            AccountUpdate {
                name: Some(name.clone()),
                ..AccountUpdate::default()
            },
            AccountUpdate {
                restrictions: Some(restrictions),
                ..AccountUpdate::default()
            },
            AccountUpdate {
                objections: Some(objections),
                ..AccountUpdate::default()
            },
        ];
        let results = join_all(
            changes
                .iter()
                .map(|change| store.accounts.update_account(ada.id, change)),
        )
        .await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let stored = store.accounts.account(ada.id).await.unwrap();
        assert_eq!(
            (stored.name, stored.restrictions, stored.objections),
            (name, restrictions, objections),
            "round {round}"
        );
    }
}
