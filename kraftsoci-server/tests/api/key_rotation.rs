//! `kraftsoci-server rotate-key` (P22): every stored token moves to the newest key.

use base64::Engine as _;
use kraftsoci_core::Clock as _;
use kraftsoci_core::vault::{KeyRing, TokenPurpose, key_version_of};
use kraftsoci_core::{TokenContext, TokenVault};
use kraftsoci_server::admin;
use kraftsoci_server::config::TokenKeys;
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::spawn_app;
use crate::rights::user_id;
use crate::user_data::{INSTAGRAM_TOKEN, Seeded};

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

fn vault(keys: &[(u32, u8)]) -> TokenVault {
    let value = keys
        .iter()
        .map(|(id, byte)| format!("{id}:{}", key(*byte)))
        .collect::<Vec<_>>()
        .join(",");
    TokenVault::new(KeyRing::parse(&SecretString::from(value)).unwrap())
}

#[tokio::test]
async fn every_token_is_resealed_with_the_newest_key_and_a_second_run_changes_nothing() {
    let app = spawn_app().await;
    let stores = &app.state.stores;
    let old = vault(&[(1, 7)]);
    let mut seeded: Vec<Seeded> = Vec::new();
    for email in ["ada@example.com", "bob@example.com", "carol@example.com"] {
        let user = app.signup_user(email).await;
        seeded.push(
            crate::user_data::seed(
                &app.db,
                stores,
                &old,
                &*app.state.media,
                user_id(&user),
                app.clock.now(),
            )
            .await,
        );
    }
    // One row was damaged (or sealed with a key that is gone): it is reported, not fatal.
    let damaged = &seeded[2];
    app.db
        .exec(format!(
            "UPDATE instagram_connections SET sealed_token = X'01000000010000' \
             WHERE id = '{}'",
            damaged.connection
        ))
        .await;

    let rotated = vault(&[(1, 7), (2, 9)]);
    // A batch of one exercises the paging.
    let report = admin::rotate_key(&*stores.connections, &rotated, 1)
        .await
        .unwrap();
    assert_eq!(report.current_key, 2);
    assert_eq!(report.examined, 3);
    assert_eq!(report.resealed, 2);
    assert_eq!(report.unreadable, 1);

    let only_new = vault(&[(2, 9)]);
    for seeded in &seeded[..2] {
        let sealed = stores
            .connections
            .sealed_token(seeded.user, seeded.connection)
            .await
            .unwrap();
        assert_eq!(key_version_of(&sealed).unwrap(), 2);
        assert_ne!(sealed, seeded.sealed_token);
        let token = only_new
            .open(
                &sealed,
                &TokenContext::instagram(seeded.user, &seeded.ig_user_id),
            )
            .unwrap();
        assert_eq!(
            token.expose_secret(),
            INSTAGRAM_TOKEN,
            "the old key is no longer needed"
        );
    }
    let versions = app
        .db
        .strings(
            "SELECT CAST(token_key_version AS TEXT) FROM instagram_connections \
             ORDER BY token_key_version DESC"
                .to_owned(),
        )
        .await;
    // The damaged token keeps the key it was sealed with: nothing could reseal it.
    assert_eq!(versions, vec!["2", "2", "1"]);

    let again = admin::rotate_key(&*stores.connections, &rotated, 100)
        .await
        .unwrap();
    assert_eq!(
        (again.examined, again.resealed, again.already_current),
        (3, 0, 2)
    );

    // Webhook signing secrets are sealed with the same vault: they move too, or retiring the
    // old key would stop every delivery.
    let secrets = admin::rotate_webhook_secrets(&*stores.notify, &rotated, 1)
        .await
        .unwrap();
    assert_eq!(
        (secrets.examined, secrets.resealed, secrets.unreadable),
        (3, 3, 0)
    );
    let stored = stores
        .notify
        .sealed_webhook_secrets_after(None, 100)
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    for secret in &stored {
        assert_eq!(key_version_of(&secret.sealed).unwrap(), 2);
        let context = TokenContext::new(
            secret.owner,
            TokenPurpose::WebhookSigning,
            secret.id.to_string(),
        );
        let opened = only_new.open(&secret.sealed, &context).unwrap();
        assert!(
            opened.expose_secret().starts_with("whsec_"),
            "the old key is no longer needed for signing"
        );
    }
    let again = admin::rotate_webhook_secrets(&*stores.notify, &rotated, 100)
        .await
        .unwrap();
    assert_eq!((again.examined, again.already_current), (3, 3));
}

#[tokio::test]
async fn the_rotate_key_command_moves_tokens_to_the_newest_configured_key() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    let seeded = app.seed(&ada).await;
    assert_eq!(key_version_of(&seeded.sealed_token).unwrap(), 1);

    // The operator appends key 2 to KRAFTSOCI_TOKEN_KEYS and runs the command.
    let mut keys: Vec<String> = app
        .state
        .config
        .token_keys
        .iter()
        .map(|(id, key)| {
            format!(
                "{id}:{}",
                base64::engine::general_purpose::STANDARD.encode(key.expose_secret())
            )
        })
        .collect();
    keys.push(format!("2:{}", key(3)));
    let mut config = (*app.state.config).clone();
    config.token_keys = TokenKeys::parse(&keys.join(",")).unwrap();
    admin::rotate_key_command(&config).await.unwrap();

    let sealed = app
        .state
        .stores
        .connections
        .sealed_token(seeded.user, seeded.connection)
        .await
        .unwrap();
    assert_eq!(key_version_of(&sealed).unwrap(), 2);
    let opened = vault(&[(2, 3)])
        .open(
            &sealed,
            &TokenContext::instagram(seeded.user, &seeded.ig_user_id),
        )
        .unwrap();
    assert_eq!(opened.expose_secret(), INSTAGRAM_TOKEN);
}
