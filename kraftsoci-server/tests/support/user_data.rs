//! A user with a row in every table that holds user data, and schema-wide searches, for the
//! export, erasure and purge tests on both engines.
#![allow(dead_code)]

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use kraftsoci_core::ports::{
    Connection, ConnectionStatus, JobRequest, MediaKey, MediaStore, PostMedia, PostUpdate,
    StoredImage, UsageEvent,
};
use kraftsoci_core::vault::key_version_of;
use kraftsoci_core::{
    Approval, BusinessDescription, BusinessProfile, Caption, ConnectionId, DataSubjectRequest,
    IgUserId, Language, MediaDigest, MediaKind, Post, PostContent, PostId, RequestKind, Sector,
    TargetAudience, TokenContext, TokenVault, Tone, UserId,
};
use kraftsoci_server::auth::TokenHash;
use kraftsoci_server::config::Backend;
use kraftsoci_server::store::{
    ApiKeyRecord, GenerationSpec, IdempotencyRecord, KeyCreation, MetaDeletion, MetaDeletionStatus,
    NewApiKey, NewEvent, NewNotice, NewOAuthState, NewRefreshToken, NewWebhook, StoredPreferences,
    Stores,
};
use secrecy::SecretString;

use crate::support::TestDb;

/// The Instagram token the seeded connection holds (it must never leave the vault).
pub const INSTAGRAM_TOKEN: &str = "EAAG-instagram-page-token-that-must-never-leak-0123456789";
/// The refresh token seeded besides the sign-up's.
pub const REFRESH_TOKEN: &str = "seeded-refresh-token-that-must-never-leak-9876543210";
/// The reset token seeded.
pub const RESET_TOKEN: &str = "seeded-reset-token-that-must-never-leak-1357924680";
/// The personal API key seeded (a key's shape is not needed: only its hash is stored).
pub const API_KEY: &str = "ks_seeded-api-key-that-must-never-leak-97531";
/// The OAuth state value seeded.
pub const OAUTH_STATE: &str = "seeded-oauth-state-that-must-never-leak-2468013579";
/// The idempotency key of the seeded billing intent.
pub const IDEMPOTENCY_KEY: &str = "idem-seeded-key-that-must-never-leak-5555";
/// The Checkout URL Stripe answered for the seeded intent.
pub const CHECKOUT_URL: &str = "https://checkout.stripe.com/c/pay/cs_test_must_never_leak";
/// The app-scoped Meta user id of the seeded connection.
pub const META_USER_ID: &str = "10225872318645123";
/// The bytes of the seeded image.
pub const IMAGE: &[u8] = b"\xff\xd8\xff\xe0 seeded jpeg bytes \xff\xd9";

/// What [`seed`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub user: UserId,
    /// The secrets stored for this user (each unique, as the schema requires), in clear:
    /// none of them, nor its hash, may appear outside the table that keeps it.
    pub refresh_token: String,
    pub reset_token: String,
    pub oauth_state: String,
    pub idempotency_key: String,
    pub api_key: String,
    pub connection: ConnectionId,
    pub ig_user_id: IgUserId,
    pub meta_user_hash: String,
    /// An approved post with an image, a consent receipt, a publish job and a journal entry.
    pub post: PostId,
    pub image_key: MediaKey,
    pub sealed_token: Vec<u8>,
    /// The Stripe customer of the payment record.
    pub stripe_customer: String,
}

/// SQL text of a time, as both engines accept it.
pub fn sql_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Gives `user` (an existing, open account) a row in every table that holds user data, and an
/// image in `media`, through the ports where they exist and SQL elsewhere.
pub async fn seed(
    db: &TestDb,
    store: &Stores,
    vault: &TokenVault,
    media: &dyn MediaStore,
    user: UserId,
    now: DateTime<Utc>,
) -> Seeded {
    let t = sql_time(now);
    let refresh_token = format!("{REFRESH_TOKEN}-{user}");
    let reset_token = format!("{RESET_TOKEN}-{user}");
    let oauth_state = format!("{OAUTH_STATE}-{user}");
    let idempotency_key = format!("{IDEMPOTENCY_KEY}-{user}");
    let api_key = format!("{API_KEY}-{user}");
    store
        .profiles
        .put_profile(
            user,
            &BusinessProfile {
                description: BusinessDescription::parse("A family bakery since 1952").unwrap(),
                target_audience: TargetAudience::parse("Neighbours and commuters").unwrap(),
                tone: Tone::parse("warm").unwrap(),
                sector: Sector::parse("bakery").unwrap(),
                language: Language::english(),
            },
        )
        .await
        .unwrap();

    let ig_user_id = IgUserId::parse(format!(
        "1784{:012}",
        user.as_uuid().as_u128() % 1_000_000_000_000
    ))
    .unwrap();
    let sealed_token = vault
        .seal(
            &SecretString::from(INSTAGRAM_TOKEN),
            &TokenContext::instagram(user, &ig_user_id),
        )
        .unwrap();
    let connection = store
        .connections
        .save_connection(
            &Connection {
                id: ConnectionId::new(),
                owner: user,
                ig_user_id: ig_user_id.clone(),
                page_name: "Ada's Bakery Page".to_owned(),
                status: ConnectionStatus::Active,
                token_expires_at: Some(now + Duration::days(60)),
                created_at: now,
            },
            &sealed_token,
            key_version_of(&sealed_token).unwrap(),
        )
        .await
        .unwrap();
    let meta_user_hash = kraftsoci_server::rights::meta_user_hash(META_USER_ID);
    store
        .connections
        .set_meta_user_hash(user, connection.id, &meta_user_hash)
        .await
        .unwrap();

    let content = PostContent {
        caption: Caption::parse("Fresh simit from the oven").unwrap(),
        hashtags: Vec::new(),
        alt_text: None,
        media_kind: MediaKind::Image,
        media: vec![MediaDigest::of(IMAGE)],
        target: None,
    };
    let mut post = Post::generated(user, content, now).unwrap();
    let post_id = post.id();
    let image_key = MediaKey::new(user, &format!("{post_id}.jpg")).unwrap();
    media
        .put(&image_key, IMAGE.to_vec(), "image/jpeg")
        .await
        .unwrap();
    store
        .posts
        .insert_post(
            post.snapshot(),
            &PostMedia {
                topic: Some("Fresh simit".to_owned()),
                image: Some(StoredImage {
                    key: image_key.clone(),
                    width: 1080,
                    height: 1350,
                }),
                sandbox: false,
            },
        )
        .await
        .unwrap();
    let generated_at = post.snapshot().updated_at;
    post.approve(Approval {
        user,
        shown_hash: post.content_hash(),
        target: ig_user_id.clone(),
        at: now,
        ip: Some("203.0.113.9".to_owned()),
        user_agent: Some("seed-agent/1.0".to_owned()),
        scheduled_for: Some(now + Duration::days(1)),
        api_key: None,
    })
    .unwrap();
    store
        .posts
        .approve_and_queue(
            &PostUpdate {
                post: post.snapshot().clone(),
                expected_updated_at: generated_at,
            },
            &JobRequest {
                connection: connection.id,
                run_after: now,
                at: now,
            },
        )
        .await
        .unwrap();
    db.exec(format!(
        "INSERT INTO publish_journal (post_id, step, updated_at) VALUES ('{post_id}', \
         '{{\"step\":\"approved\"}}', '{t}')"
    ))
    .await;
    // A second post, still being generated, with its job and the idempotency key that
    // created it.
    let generating = Post::generating(user, now);
    store
        .generation
        .create_generating(
            generating.snapshot(),
            &PostMedia {
                topic: Some("Simit and tea for the commute".to_owned()),
                image: None,
                sandbox: false,
            },
            &GenerationSpec {
                topic: "Simit and tea for the commute".to_owned(),
                caption: true,
                image: true,
                reservations: Vec::new(),
            },
            Some(&IdempotencyRecord {
                key: "seeded-create-key".to_owned(),
                request_hash: "0".repeat(64),
            }),
            now - Duration::hours(24),
        )
        .await
        .unwrap();
    db.exec(format!(
        "INSERT INTO sandbox_containers (id, ig_user_id, owner_id, kind, caption, item_count, \
         status, created_at) VALUES ('sandbox-container-{}', 'sandbox-1', '{user}', 'image', \
         'Fresh simit from the oven', 1, 'finished', '{t}')",
        uuid::Uuid::new_v4().simple()
    ))
    .await;
    db.exec(format!(
        "INSERT INTO quota_reservations (id, user_id, kind, amount, period_start, committed, \
         created_at) VALUES ('{}', '{user}', 'posts', 1, '{t}', TRUE, '{t}')",
        uuid::Uuid::new_v4()
    ))
    .await;
    let stripe_customer = format!("cus_{}", &uuid::Uuid::new_v4().simple().to_string()[..14]);
    db.exec(format!(
        "INSERT INTO billing_customers (user_id, stripe_customer_id, plan, subscription_id, \
         status, created_at, updated_at) VALUES ('{user}', '{stripe_customer}', 'starter', \
         'sub_seeded', 'active', '{t}', '{t}')"
    ))
    .await;
    db.exec(format!(
        "INSERT INTO billing_intents (id, user_id, kind, idempotency_key, request, result, \
         created_at) VALUES ('{}', '{user}', 'checkout', '{idempotency_key}', \
         '{{\"plan\":\"starter\"}}', '{{\"url\":\"{CHECKOUT_URL}\"}}', '{t}')",
        uuid::Uuid::new_v4()
    ))
    .await;
    db.exec(format!(
        "INSERT INTO payment_records (id, invoice_id, user_id, stripe_customer_id, amount, \
         amount_paid, currency, status, paid_at, created_at) VALUES ('{}', 'in_{}', '{user}', \
         '{stripe_customer}', 1900, 1900, 'eur', 'paid', '{t}', '{t}')",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4().simple()
    ))
    .await;
    // A billing stop and a failed purge, as a closure and a failing sweep leave them.
    db.exec(format!(
        "INSERT INTO billing_stops (user_id, request_id, requested_at, attempts, last_error) \
         VALUES ('{user}', '{}', '{t}', 1, 'stripe answered 503 (req_seeded)')",
        uuid::Uuid::new_v4()
    ))
    .await;
    db.exec(format!(
        "INSERT INTO purge_failures (user_id, first_failed_at, last_failed_at, failures, error) \
         VALUES ('{user}', '{t}', '{t}', 1, 'media store unavailable')"
    ))
    .await;
    store
        .usage_log
        .append(&UsageEvent {
            user: Some(user),
            method: "GET".to_owned(),
            route: "/v1/me".to_owned(),
            status: 200,
            ip: Some("203.0.113.9".to_owned()),
            user_agent: Some("seed-agent/1.0".to_owned()),
            security: false,
            at: now,
            api_key: None,
            channel: kraftsoci_core::ports::UsageChannel::Api,
        })
        .await
        .unwrap();
    store
        .rights
        .record_request(&DataSubjectRequest::receive(user, RequestKind::Access, now))
        .await
        .unwrap();
    store
        .rights
        .insert_meta_deletion(&MetaDeletion {
            confirmation_code: uuid::Uuid::new_v4().simple().to_string(),
            app_user_hash: meta_user_hash.clone(),
            user: None,
            status: MetaDeletionStatus::NothingHeld,
            created_at: now,
            completed_at: Some(now),
        })
        .await
        .unwrap();
    store
        .policy
        .ensure_notice(&NewNotice {
            id: uuid::Uuid::new_v4(),
            user,
            kind: "policy_version".to_owned(),
            subject_key: "policy:seeded".to_owned(),
            body: "Our privacy policy changed.".to_owned(),
            created_at: now,
        })
        .await
        .unwrap();
    // Notifications: choices, a webhook endpoint (its secret sealed) and an event delivered
    // to it.
    store
        .notify
        .set_preferences(
            user,
            &StoredPreferences {
                time_zone: "Europe/Istanbul".to_owned(),
                channels: r#"{"published":{"mail":false,"in_app":true}}"#.to_owned(),
            },
            now,
        )
        .await
        .unwrap();
    let endpoint = uuid::Uuid::new_v4();
    let webhook_secret = SecretString::from(format!("whsec_seeded_{}", endpoint.simple()));
    store
        .notify
        .create_webhook(
            &NewWebhook {
                id: endpoint,
                user,
                url: "https://hooks.example.com/seeded".to_owned(),
                events: vec!["published".to_owned()],
                sealed_secret: vault
                    .seal(
                        &webhook_secret,
                        &TokenContext::new(
                            user,
                            kraftsoci_core::vault::TokenPurpose::WebhookSigning,
                            endpoint.to_string(),
                        ),
                    )
                    .unwrap(),
                created_at: now,
            },
            10,
        )
        .await
        .unwrap();
    assert!(
        store
            .notify
            .record_event(&NewEvent {
                id: uuid::Uuid::new_v4(),
                user,
                kind: "published".to_owned(),
                key: format!("published:{post_id}"),
                body: "Your post was published on Instagram.".to_owned(),
                link: Some("https://www.instagram.com/p/seeded/".to_owned()),
                params: r#"{"post_id":"seeded"}"#.to_owned(),
                in_app: true,
                mail: false,
                webhook_payload: r#"{"type":"published"}"#.to_owned(),
                at: now,
            })
            .await
            .unwrap()
    );
    store
        .auth
        .insert_refresh_token(&NewRefreshToken {
            hash: TokenHash::of(&refresh_token),
            session: kraftsoci_core::SessionId::new(),
            user,
            created_at: now,
            expires_at: now + Duration::days(30),
        })
        .await
        .unwrap();
    let created = store
        .api_keys
        .create_api_key(
            &NewApiKey {
                record: ApiKeyRecord {
                    id: kraftsoci_core::ApiKeyId::new(),
                    user,
                    name: "Seeded shop publisher".to_owned(),
                    prefix: api_key[..11].to_owned(),
                    scopes: "posts:read posts:publish".to_owned(),
                    created_at: now,
                    last_used_at: None,
                },
                hash: TokenHash::of(&api_key),
            },
            20,
        )
        .await
        .unwrap();
    assert_eq!(created, KeyCreation::Created);
    store
        .auth
        .insert_reset_token(
            user,
            &TokenHash::of(&reset_token),
            now,
            now + Duration::minutes(30),
        )
        .await
        .unwrap();
    store
        .oauth_states
        .insert_oauth_state(&NewOAuthState {
            state_hash: TokenHash::of(&oauth_state).as_str().to_owned(),
            user,
            created_at: now,
            expires_at: now + Duration::minutes(10),
        })
        .await
        .unwrap();
    Seeded {
        user,
        refresh_token,
        reset_token,
        oauth_state,
        idempotency_key,
        api_key,
        connection: connection.id,
        ig_user_id,
        meta_user_hash,
        post: post_id,
        image_key,
        sealed_token,
        stripe_customer,
    }
}

/// The database's tables (without SQLite's internal ones).
pub async fn tables(db: &TestDb) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             ORDER BY table_name"
        }
    };
    db.strings(sql.to_owned()).await
}

/// The columns of `table`.
pub async fn columns(db: &TestDb, table: &str) -> Vec<String> {
    let sql = match db.backend() {
        Backend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
        Backend::Postgres => format!(
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}' \
             ORDER BY ordinal_position"
        ),
    };
    db.strings(sql).await
}

/// Every `table.column` (over the whole schema, every column read as text) whose value
/// contains `needle`, with how many rows match.
pub async fn find_everywhere(db: &TestDb, needle: &str) -> Vec<(String, i64)> {
    let needle = needle.replace('\'', "''").to_lowercase();
    let mut found = Vec::new();
    for table in tables(db).await {
        for column in columns(db, &table).await {
            let sql = format!(
                "SELECT COUNT(*) FROM \"{table}\" WHERE LOWER(CAST(\"{column}\" AS TEXT)) \
                 LIKE '%{needle}%'"
            );
            let n = db.count(sql).await;
            if n > 0 {
                found.push((format!("{table}.{column}"), n));
            }
        }
    }
    found
}
