//! Checklist rows 29 and 30: forged, confused, expired and mistyped access tokens.

use base64::Engine as _;
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, TestApp, TestUser, code, parts, spawn_app};

fn b64(value: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The login session (`sid`) of the access token the server issued to `user`.
fn session_of(user: &TestUser) -> String {
    let payload = user.access.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

/// Claims exactly like the server's, for `user` in their open session, at the app's clock.
fn claims(app: &TestApp, user: &TestUser) -> Value {
    let now = app.clock_now().timestamp();
    json!({
        "iss": "http://127.0.0.1:8080",
        "aud": "kraftsoci-api",
        "sub": user.id,
        "exp": now + 900,
        "nbf": now,
        "iat": now,
        "jti": "test",
        "typ": "access",
        "sid": session_of(user),
        "epoch": 0,
    })
}

fn sign(claims: &Value, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let response = app.get_me(token).await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer"),
        "{why}"
    );
    let (status, body) = parts(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}");
    assert_eq!(code(&body), "unauthorized", "{why}");
    if token.len() > 8 {
        assert!(
            !body.to_string().contains(token),
            "{why}: the token is not echoed"
        );
    }
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<Utc>;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> chrono::DateTime<Utc> {
        use kraftsoci_core::Clock as _;
        self.clock.now()
    }
}

#[tokio::test]
async fn a_well_formed_token_signed_like_the_server_is_accepted() {
    // Control case: the forgeries below fail for their flaw, not for a mistake in `claims`.
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let mut claims = claims(&app, &user);
    let token = sign(&claims, Algorithm::HS256, JWT_SECRET);
    assert_eq!(app.get_me(&token).await.status(), StatusCode::OK);

    // A correctly signed token naming a session that was never opened is refused too.
    claims["sid"] = json!(uuid::Uuid::new_v4().to_string());
    let token = sign(&claims, Algorithm::HS256, JWT_SECRET);
    assert_refused(&app, &token, "unknown session").await;
}

#[tokio::test]
async fn unsigned_wrongly_signed_and_algorithm_confused_tokens_are_refused() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let claims = claims(&app, &user);

    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    assert_refused(&app, &none, "alg none").await;

    let wrong_key = sign(
        &claims,
        Algorithm::HS256,
        "another-secret-0123456789abcdef0123",
    );
    assert_refused(&app, &wrong_key, "wrong key").await;

    // RS/HS confusion: a header claiming RS256 over an HMAC made with the server's secret.
    let honest = sign(&claims, Algorithm::HS256, JWT_SECRET);
    let mut pieces = honest.split('.');
    let (_, payload, signature) = (
        pieces.next().unwrap(),
        pieces.next().unwrap(),
        pieces.next().unwrap(),
    );
    let rs_header = b64(&json!({"alg": "RS256", "typ": "JWT"}));
    assert_refused(
        &app,
        &format!("{rs_header}.{payload}.{signature}"),
        "RS256 header",
    )
    .await;

    let hs512 = sign(&claims, Algorithm::HS512, JWT_SECRET);
    assert_refused(&app, &hs512, "HS512 is not the pinned algorithm").await;

    // A key smuggled in the header is ignored: keys come only from configuration.
    let jwk_header =
        b64(&json!({"alg": "HS256", "typ": "JWT", "jwk": {"kty": "oct", "k": "YXR0YWNrZXI"}}));
    let attacker = sign(&claims, Algorithm::HS256, "attacker");
    let attacker_signature = attacker.rsplit('.').next().unwrap();
    assert_refused(
        &app,
        &format!("{jwk_header}.{payload}.{attacker_signature}"),
        "jwk header",
    )
    .await;

    for garbage in ["", "x", "a.b.c", "Bearer"] {
        assert_refused(&app, garbage, "garbage").await;
    }
    let (status, _) = parts(app.client.get(app.url("/v1/me")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token at all");
    let basic = app
        .client
        .get(app.url("/v1/me"))
        .header("authorization", format!("Basic {}", user.access))
        .send()
        .await
        .unwrap();
    assert_eq!(
        basic.status(),
        StatusCode::UNAUTHORIZED,
        "only the Bearer scheme"
    );
}

#[tokio::test]
async fn expired_mistargeted_and_mistyped_tokens_are_refused() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let base = claims(&app, &user);

    let mut wrong_audience = base.clone();
    wrong_audience["aud"] = json!("another-api");
    assert_refused(
        &app,
        &sign(&wrong_audience, Algorithm::HS256, JWT_SECRET),
        "aud",
    )
    .await;

    let mut wrong_issuer = base.clone();
    wrong_issuer["iss"] = json!("https://evil.example.com");
    assert_refused(
        &app,
        &sign(&wrong_issuer, Algorithm::HS256, JWT_SECRET),
        "iss",
    )
    .await;

    let mut refresh_typed = base.clone();
    refresh_typed["typ"] = json!("refresh");
    assert_refused(
        &app,
        &sign(&refresh_typed, Algorithm::HS256, JWT_SECRET),
        "typ",
    )
    .await;

    let mut no_subject = base.clone();
    no_subject.as_object_mut().unwrap().remove("sub");
    assert_refused(
        &app,
        &sign(&no_subject, Algorithm::HS256, JWT_SECRET),
        "sub",
    )
    .await;

    let mut no_expiry = base.clone();
    no_expiry.as_object_mut().unwrap().remove("exp");
    assert_refused(&app, &sign(&no_expiry, Algorithm::HS256, JWT_SECRET), "exp").await;

    assert_refused(
        &app,
        &user.refresh,
        "a refresh token is not an access token",
    )
    .await;

    // Expiry follows the server's clock: valid now, refused 15 minutes and the leeway later.
    assert_eq!(app.get_me(&user.access).await.status(), StatusCode::OK);
    app.clock
        .advance(Duration::minutes(15) + Duration::seconds(6));
    assert_refused(&app, &user.access, "expired beyond the leeway").await;
}

#[tokio::test]
async fn a_token_for_a_user_that_does_not_exist_is_refused() {
    let app = spawn_app().await;
    let user = app.signup_user("ada@example.com").await;
    let mut ghost = claims(&app, &user);
    ghost["sub"] = json!(uuid::Uuid::new_v4().to_string());
    assert_refused(
        &app,
        &sign(&ghost, Algorithm::HS256, JWT_SECRET),
        "unknown subject",
    )
    .await;
}
