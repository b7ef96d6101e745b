//! Personal API keys (issue 15 §3): shown once, stored hashed, scoped per route, revoked at
//! once (by the owner, a password change or reset, closure), never reaching account
//! management, each use in the usage log, and the Publish click of a key recorded on the
//! consent receipt. Every scenario runs on both engines: each request looks the key up.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, code, parts, spawn_app, spawn_app_on};
use crate::support::TestDb;

async fn on_postgres() -> TestApp {
    spawn_app_on(TestDb::postgres().await, |_| {}, |builder| builder).await
}

macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::spawn_app().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::on_postgres().await).await;
                }
            )*
        }
    };
}

on_both_engines!(
    a_key_is_shown_once_and_never_listed_or_exported,
    each_route_takes_only_the_scope_it_needs,
    keys_never_reach_account_management,
    revoking_a_key_refuses_its_next_request,
    a_password_change_a_reset_and_closure_revoke_every_key,
    malformed_unknown_and_revoked_keys_are_401,
    the_21st_key_is_refused_until_one_is_revoked,
    bad_names_and_scopes_are_422_with_every_field,
    a_publish_click_by_key_is_on_the_consent_receipt,
    a_restricted_account_stays_restricted_for_its_keys,
    each_use_of_a_key_is_in_the_usage_log_with_the_key,
    another_users_key_cannot_be_revoked_or_seen,
);

impl TestApp {
    /// `POST /v1/me/api-keys` with a session token.
    pub async fn create_key(
        &self,
        access: &str,
        name: &str,
        scopes: &[&str],
    ) -> (StatusCode, Value) {
        parts(
            self.call(
                Method::POST,
                "/v1/me/api-keys",
                access,
                Some(&json!({"name": name, "scopes": scopes})),
            )
            .await,
        )
        .await
    }

    /// Makes a key (asserting 201) and returns its id and the key.
    pub async fn key(&self, access: &str, scopes: &[&str]) -> (String, String) {
        let (status, body) = self.create_key(access, "test program", scopes).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            body["key"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn list_keys(&self, access: &str) -> (StatusCode, Value) {
        parts(
            self.call(Method::GET, "/v1/me/api-keys", access, None)
                .await,
        )
        .await
    }

    pub async fn revoke_key(&self, access: &str, id: &str) -> StatusCode {
        self.call(
            Method::DELETE,
            &format!("/v1/me/api-keys/{id}"),
            access,
            None,
        )
        .await
        .status()
    }

    /// `GET /v1/posts` with `credential`.
    async fn list_posts_with(&self, credential: &str) -> (StatusCode, Value) {
        parts(self.call(Method::GET, "/v1/posts", credential, None).await).await
    }
}

async fn a_key_is_shown_once_and_never_listed_or_exported(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (status, created) = app
        .create_key(
            &user.access,
            "Shop publisher",
            &["posts:read", "posts:publish"],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("ks_") && key.len() == 46, "{key}");
    assert_eq!(created["name"], "Shop publisher");
    assert_eq!(created["scopes"], json!(["posts:read", "posts:publish"]));
    assert_eq!(created["prefix"].as_str().unwrap(), &key[..11]);
    assert!(created["last_used_at"].is_null());

    let (status, list) = app.list_keys(&user.access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["limit"], 20);
    assert_eq!(list["keys"].as_array().unwrap().len(), 1);
    assert_eq!(list["keys"][0]["id"], created["id"]);
    assert!(list["keys"][0].get("key").is_none());
    assert!(
        !list.to_string().contains(&key),
        "the list never shows the key"
    );

    let (_, export) = app.export_json(&user.access).await;
    assert!(!export.contains(&key), "the export never holds the key");
    let stored = app
        .db
        .strings("SELECT key_hash FROM api_keys".to_owned())
        .await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], key, "only a hash is stored");
    assert!(!export.contains(&stored[0]), "nor its hash");
    let everything = app
        .db
        .strings("SELECT name || prefix || scopes FROM api_keys".to_owned())
        .await
        .join(" ");
    assert!(!everything.contains(&key));
}

async fn each_route_takes_only_the_scope_it_needs(app: TestApp) {
    let owner = app.flow_user("ada@example.com").await;
    let access = owner.user.access.clone();
    let post = app.generated(&access).await;
    let id = post["id"].as_str().unwrap();
    let (_, reader) = app.key(&access, &["posts:read"]).await;
    let (_, writer) = app.key(&access, &["posts:write"]).await;

    // posts:read
    for path in [
        "/v1/posts".to_owned(),
        format!("/v1/posts/{id}"),
        "/v1/instagram/accounts".to_owned(),
    ] {
        let (status, body) = parts(app.call(Method::GET, &path, &reader, None).await).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let (status, body) = parts(app.call(Method::GET, &path, &writer, None).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(code(&body), "api_key_scope_missing");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("posts:read")
        );
    }
    // posts:write
    let (status, body) = app.generate(&reader, "A topic").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "api_key_scope_missing");
    let (status, body) = app.generate(&writer, "Fresh simit this morning").await;
    assert!(status.is_success(), "a writer makes posts: {status} {body}");
    let (status, body) = app
        .patch_post(&reader, id, &json!({"caption": "Edited by a reader"}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "api_key_scope_missing")
    );
    let (status, body) = app
        .patch_post(&writer, id, &json!({"caption": "Edited by a program"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // posts:publish
    let (_, post) = app.get_post(&access, id).await;
    for key in [&reader, &writer] {
        let (status, body) = app.click_publish(key, &post, &owner.account_id).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "api_key_scope_missing")
        );
        let (status, _) = app.withdraw(key, id).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = app.delete_post(&reader, id).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.delete_post(&writer, id).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The owner's session still reaches everything.
    let (status, _) = app.list_posts_with(&access).await;
    assert_eq!(status, StatusCode::OK);
}

async fn keys_never_reach_account_management(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (_, key) = app
        .key(
            &user.access,
            &["posts:read", "posts:write", "posts:publish"],
        )
        .await;
    let routes: &[(Method, &str, Option<Value>)] = &[
        (Method::GET, "/v1/me", None),
        (Method::PATCH, "/v1/me", Some(json!({"name": "Mallory"}))),
        (Method::GET, "/v1/me/export", None),
        (
            Method::DELETE,
            "/v1/me",
            Some(json!({"password": PASSWORD})),
        ),
        (
            Method::POST,
            "/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": "another long passphrase"})),
        ),
        (
            Method::PUT,
            "/v1/me/restrictions",
            Some(json!({"generation": false, "publishing": false})),
        ),
        (
            Method::PUT,
            "/v1/me/objections",
            Some(json!({"usage_log": true})),
        ),
        (Method::GET, "/v1/me/api-keys", None),
        (
            Method::POST,
            "/v1/me/api-keys",
            Some(json!({"name": "child", "scopes": ["posts:read"]})),
        ),
        (Method::GET, "/v1/billing", None),
        (
            Method::POST,
            "/v1/billing/checkout",
            Some(json!({"plan": "pro"})),
        ),
        (Method::POST, "/v1/billing/portal", None),
        (Method::GET, "/v1/profile", None),
        (Method::POST, "/v1/instagram/connect", None),
    ];
    for (method, path, body) in routes {
        let (status, answer) =
            parts(app.call(method.clone(), path, &key, body.as_ref()).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(code(&answer), "api_key_not_allowed", "{method} {path}");
    }
    // Nothing changed: the account is open, its password and its single key are as before.
    let (status, me) = parts(app.get_me(&user.access).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], "Ada Lovelace");
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let (_, list) = app.list_keys(&user.access).await;
    assert_eq!(list["keys"].as_array().unwrap().len(), 1);
}

async fn revoking_a_key_refuses_its_next_request(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (id, key) = app.key(&user.access, &["posts:read"]).await;
    let (_, other) = app.key(&user.access, &["posts:read"]).await;
    assert_eq!(app.list_posts_with(&key).await.0, StatusCode::OK);

    assert_eq!(
        app.revoke_key(&user.access, &id).await,
        StatusCode::NO_CONTENT
    );
    let (status, body) = app.list_posts_with(&key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&body), "invalid_api_key");
    assert_eq!(
        app.list_posts_with(&other).await.0,
        StatusCode::OK,
        "the other key goes on"
    );
    assert_eq!(
        app.revoke_key(&user.access, &id).await,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app.list_keys(&user.access).await;
    assert_eq!(list["keys"].as_array().unwrap().len(), 1);
}

async fn a_password_change_a_reset_and_closure_revoke_every_key(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (_, first) = app.key(&user.access, &["posts:read"]).await;
    let new_password = "a different long passphrase";
    assert_eq!(
        app.change_password(&user.access, PASSWORD, new_password)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.list_posts_with(&first).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (_, login) = parts(app.login(&user.email, new_password).await).await;
    let access = login["access_token"].as_str().unwrap().to_owned();
    let (_, second) = app.key(&access, &["posts:read"]).await;
    assert_eq!(app.list_posts_with(&second).await.0, StatusCode::OK);
    assert_eq!(
        app.request_reset(&user.email).await.status(),
        StatusCode::ACCEPTED
    );
    let token = app.reset_token_for(&user.email, 1).await;
    assert_eq!(
        app.confirm_reset(&token, PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.list_posts_with(&second).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (_, login) = parts(app.login(&user.email, PASSWORD).await).await;
    let access = login["access_token"].as_str().unwrap().to_owned();
    let (_, third) = app.key(&access, &["posts:read"]).await;
    let closed = app
        .call(
            Method::DELETE,
            "/v1/me",
            &access,
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::ACCEPTED);
    assert_eq!(
        app.list_posts_with(&third).await.0,
        StatusCode::UNAUTHORIZED
    );
    let left = app.db.strings("SELECT id FROM api_keys".to_owned()).await;
    assert!(left.is_empty(), "closure deletes the keys: {left:?}");
}

async fn malformed_unknown_and_revoked_keys_are_401(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (_, key) = app.key(&user.access, &["posts:read"]).await;
    let unknown = format!("ks_{}", "A".repeat(43));
    let cases = [
        "ks_".to_owned(),
        "ks_short".to_owned(),
        format!("{key}x"),
        format!("{}!", &key[..45]),
        unknown,
        key.replacen("ks_", "KS_", 1),
    ];
    for credential in &cases {
        let (status, body) = app.list_posts_with(credential).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{credential}: {body}");
        assert!(
            matches!(code(&body), "invalid_api_key" | "unauthorized"),
            "{body}"
        );
        assert!(!body.to_string().contains(credential.as_str()));
    }
    // On a session-only route too: an invalid key is 401, not 403.
    let (status, body) = parts(app.get_me(&format!("ks_{}", "B".repeat(43))).await).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_api_key")
    );
    assert_eq!(app.list_posts_with(&key).await.0, StatusCode::OK);
}

async fn the_21st_key_is_refused_until_one_is_revoked(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let mut first = None;
    for _ in 0..20 {
        let (id, _) = app.key(&user.access, &["posts:read"]).await;
        first.get_or_insert(id);
    }
    let (status, body) = app
        .create_key(&user.access, "one too many", &["posts:read"])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "api_key_limit_reached");
    assert!(body.get("key").is_none());
    let (_, list) = app.list_keys(&user.access).await;
    assert_eq!(list["keys"].as_array().unwrap().len(), 20);

    assert_eq!(
        app.revoke_key(&user.access, first.as_deref().unwrap())
            .await,
        StatusCode::NO_CONTENT
    );
    let (status, _) = app
        .create_key(&user.access, "a replacement", &["posts:read"])
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn bad_names_and_scopes_are_422_with_every_field(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (status, body) = app
        .create_key(&user.access, "  ", &["posts:read", "admin:everything"])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = &body["error"]["fields"];
    assert!(fields["name"].is_array(), "{body}");
    assert!(
        fields["scopes"][0]
            .as_str()
            .unwrap()
            .contains("admin:everything"),
        "{body}"
    );
    let (status, body) = app.create_key(&user.access, "publisher", &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["scopes"].is_array());
    let (status, body) = app
        .create_key(&user.access, "blind publisher", &["posts:publish"])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["fields"]["scopes"][0]
            .as_str()
            .unwrap()
            .contains("posts:read")
    );
    let (status, _) = app
        .create_key(&user.access, &"n".repeat(101), &["posts:read"])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = app.list_keys(&user.access).await;
    assert!(list["keys"].as_array().unwrap().is_empty());
}

async fn a_publish_click_by_key_is_on_the_consent_receipt(app: TestApp) {
    let owner = app.flow_user("ada@example.com").await;
    let access = owner.user.access.clone();
    let created = app.generated(&access).await;
    let id = created["id"].as_str().unwrap();
    let (key_id, key) = app.key(&access, &["posts:read", "posts:publish"]).await;

    // The key reads the post back and clicks with the hash it read.
    let (status, post) = app.get_post(&key, id).await;
    assert_eq!(status, StatusCode::OK);
    let stale = json!({
        "content_hash": "0".repeat(64),
        "instagram_account_id": owner.account_id,
    });
    let (status, body) = app.click(&key, id, &stale).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), "content_changed");
    let (status, body) = app.click_publish(&key, &post, &owner.account_id).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let (status, receipt) = app.consent(&key, id).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    assert_eq!(receipt["api_key_id"], key_id.as_str());
    assert_eq!(receipt["user_id"], owner.user.id.as_str());
    let (export, _) = app.export_json(&access).await;
    let receipts = &export["tables"]["consent_receipts"];
    assert_eq!(receipts[0]["api_key_id"], key_id.as_str(), "{receipts}");

    // The receipt outlives the key; a click in a session records none.
    assert_eq!(
        app.revoke_key(&access, &key_id).await,
        StatusCode::NO_CONTENT
    );
    let (_, receipt) = app.consent(&access, id).await;
    assert_eq!(receipt["api_key_id"], key_id.as_str());
    let second = app.generated(&access).await;
    let (status, _) = app.click_publish(&access, &second, &owner.account_id).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, receipt) = app.consent(&access, second["id"].as_str().unwrap()).await;
    assert!(receipt["api_key_id"].is_null(), "{receipt}");
}

async fn a_restricted_account_stays_restricted_for_its_keys(app: TestApp) {
    let owner = app.flow_user("ada@example.com").await;
    let access = owner.user.access.clone();
    let post = app.generated(&access).await;
    let (_, key) = app
        .key(&access, &["posts:read", "posts:write", "posts:publish"])
        .await;
    let (status, _) = parts(app.put_restrictions(&access, true, true).await).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = app.click_publish(&key, &post, &owner.account_id).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "processing_restricted")
    );
    let (status, body) = app.generate(&key, "Fresh simit this morning").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "processing_restricted")
    );
    let (status, _) = app.get_post(&key, post["id"].as_str().unwrap()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "reading is not processing that P29 pauses"
    );
}

async fn each_use_of_a_key_is_in_the_usage_log_with_the_key(app: TestApp) {
    let user = app.signup_user("ada@example.com").await;
    let (key_id, key) = app.key(&user.access, &["posts:read"]).await;
    assert_eq!(app.list_posts_with(&key).await.0, StatusCode::OK);
    assert_eq!(app.get_me(&key).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get_me(&user.access).await.status(), StatusCode::OK);

    app.state.usage.flush().await;
    let with_key = app
        .db
        .strings(format!(
            "SELECT method || ' ' || route || ' ' || status FROM usage_log \
             WHERE api_key_id = '{key_id}' AND user_id = '{}' ORDER BY id",
            user.id
        ))
        .await;
    assert_eq!(with_key, ["GET /v1/posts 200", "GET /v1/me 403"]);
    let without = app
        .db
        .strings(format!(
            "SELECT route FROM usage_log WHERE api_key_id IS NULL AND user_id = '{}' \
             AND route = '/v1/me'",
            user.id
        ))
        .await;
    assert_eq!(without.len(), 1, "the session's request names no key");
    let logged = app
        .db
        .strings("SELECT COALESCE(user_agent, '') || route FROM usage_log".to_owned())
        .await
        .join(" ");
    assert!(!logged.contains(&key), "the key itself is never logged");
    let (_, list) = app.list_keys(&user.access).await;
    assert!(
        list["keys"][0]["last_used_at"].is_string(),
        "the key's last use is recorded: {list}"
    );
}

async fn another_users_key_cannot_be_revoked_or_seen(app: TestApp) {
    let ada = app.signup_user("ada@example.com").await;
    let bob = app.signup_user("bob@example.com").await;
    let (ada_key_id, ada_key) = app.key(&ada.access, &["posts:read"]).await;
    assert_eq!(
        app.revoke_key(&bob.access, &ada_key_id).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.revoke_key(&bob.access, "not-a-uuid").await,
        StatusCode::NOT_FOUND
    );
    let (_, bobs) = app.list_keys(&bob.access).await;
    assert!(bobs["keys"].as_array().unwrap().is_empty());
    assert_eq!(app.list_posts_with(&ada_key).await.0, StatusCode::OK);

    // Ada's key sees Ada's posts only: Bob's post is 404 to it.
    let bob_flow = app.flow_user("bob2@example.com").await;
    let bobs_post = app.generated(&bob_flow.user.access).await;
    let (status, _) = app
        .get_post(&ada_key, bobs_post["id"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
