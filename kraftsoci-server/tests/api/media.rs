//! `GET /media/{token}`: the image a preview shows and Meta's fetcher downloads, without
//! credentials; a tampered, expired or foreign token, or deleted media, is 404.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use kraftsoci_core::CheckedJpeg;
use reqwest::StatusCode;

use crate::helpers::{code, parts, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_image_url_is_fetchable_without_credentials_and_returns_the_jpeg() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let url = app.local(post["image_url"].as_str().unwrap());

    // A plain client: no bearer token, no cookies.
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let cache = headers["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.starts_with("private, max-age="), "{cache}");
    let max_age: u64 = cache
        .trim_start_matches("private, max-age=")
        .parse()
        .unwrap();
    assert!(max_age <= 3600, "never cached past the link's expiry");
    let length: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.len(), length);
    let checked = CheckedJpeg::check(&bytes).expect("an Instagram-ready JPEG");
    assert_eq!((checked.width(), checked.height()), (1080, 1080));

    let head = app.client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        length.to_string()
    );
    assert_eq!(head.headers()["content-type"], "image/jpeg");
}

#[tokio::test]
async fn a_tampered_foreign_or_expired_token_is_404() {
    let app =
        spawn_app_with(|config| config.media_preview_ttl = std::time::Duration::from_secs(60))
            .await;
    let ada = app.flow_user("ada@example.com").await;
    let bob = app.flow_user("bob@example.com").await;
    let post = app.generated(&ada.user.access).await;
    let url = app.local(post["image_url"].as_str().unwrap());
    let token = url.rsplit('/').next().unwrap().to_owned();
    let (payload, signature) = token.split_once('.').unwrap();

    // Ada's signature on a payload naming Bob's object (or any other change) does not verify.
    let forged = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap())
        .unwrap()
        .replace(&ada.user.id, &bob.user.id);
    let mut flipped = signature.to_owned().into_bytes();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    for bad in [
        format!("{}.{signature}", URL_SAFE_NO_PAD.encode(forged)),
        format!("{payload}.{}", String::from_utf8(flipped).unwrap()),
        format!("{payload}."),
        "not-a-token".to_owned(),
        "a".repeat(600),
    ] {
        let (status, body) = parts(
            app.client
                .get(app.url(&format!("/media/{bad}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(code(&body), "not_found");
    }

    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::seconds(61));
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "preview links expire"
    );
    let (status, fresh) = app
        .get_post(&ada.user.access, post["id"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    let renewed = app.local(fresh["image_url"].as_str().unwrap());
    assert_ne!(renewed, url);
    assert_eq!(
        app.client.get(&renewed).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn deleted_media_is_404_even_with_a_valid_token() {
    let app = spawn_app().await;
    let flow = app.flow_user("ada@example.com").await;
    let post = app.generated(&flow.user.access).await;
    let url = app.local(post["image_url"].as_str().unwrap());
    let (status, _) = app
        .delete_post(&flow.user.access, post["id"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = parts(app.client.get(&url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "not_found");
}
