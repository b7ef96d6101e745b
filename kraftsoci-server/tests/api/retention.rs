//! The retention sweep over a running server (P17, P18, P19), on the server's manual clock.

use chrono::Duration;
use kraftsoci_core::Clock as _;
use kraftsoci_core::ports::UsageEvent;
use kraftsoci_core::retention::{DataCategory, SweepMode};
use kraftsoci_server::config::MediaUrl;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};
use crate::rights::user_id;
use crate::support::TempDir;
use crate::user_data::find_everywhere;

impl TestApp {
    /// Logs one anonymous request `age` ago.
    async fn log_request_aged(&self, route: &str, age: Duration) {
        self.state
            .stores
            .usage_log
            .append(&UsageEvent {
                user: None,
                method: "GET".to_owned(),
                route: route.to_owned(),
                status: 200,
                ip: Some("198.51.100.1".to_owned()),
                user_agent: None,
                security: false,
                at: self.clock.now() - age,
                api_key: None,
                channel: kraftsoci_core::ports::UsageChannel::Api,
            })
            .await
            .unwrap();
    }

    async fn logged_routes(&self) -> Vec<String> {
        self.db
            .strings(
                "SELECT route FROM usage_log WHERE route LIKE '/aged/%' ORDER BY route".to_owned(),
            )
            .await
    }
}

#[tokio::test]
async fn a_dry_run_deletes_nothing_and_a_sweep_deletes_31_day_old_logs_but_keeps_29_day_old_ones() {
    let app = spawn_app().await;
    app.log_request_aged("/aged/31-days", Duration::days(31))
        .await;
    app.log_request_aged("/aged/29-days", Duration::days(29))
        .await;
    app.log_request_aged("/aged/today", Duration::zero()).await;

    let dry = app.sweep(SweepMode::DryRun).await;
    let usage = dry.category(DataCategory::UsageLog).unwrap();
    assert_eq!(usage.removed, 1, "one line is due");
    assert_eq!(usage.batches, 0, "a dry run makes no delete");
    assert_eq!(
        app.logged_routes().await.len(),
        3,
        "a dry run deletes nothing"
    );

    let swept = app.sweep(SweepMode::Purge).await;
    assert_eq!(swept.category(DataCategory::UsageLog).unwrap().removed, 1);
    assert_eq!(
        app.logged_routes().await,
        vec!["/aged/29-days", "/aged/today"]
    );

    // Two days later the 29-day-old line is past 30 days, and goes too.
    app.clock.advance(Duration::days(2));
    app.sweep(SweepMode::Purge).await;
    assert_eq!(app.logged_routes().await, vec!["/aged/today"]);
}

#[tokio::test]
async fn a_closed_account_is_purged_before_its_thirty_days_are_over_images_included() {
    let media = TempDir::new("purge-media");
    let media_path = media.path().to_path_buf();
    let app = spawn_app_with(|config| config.media_url = MediaUrl::Directory(media_path)).await;
    let ada = app.signup_user("ada@example.com").await;
    let bob = app.signup_user("bob@example.com").await;
    let seeded = app.seed(&ada).await;
    app.seed(&bob).await;
    let image_file = media.path().join(seeded.image_key.as_str());
    assert!(image_file.exists(), "{}", image_file.display());

    assert_eq!(
        app.close_me(&ada.access, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    let closed_at = app.clock.now();

    // 29 days on, the data is still there (closure is not yet a purge)...
    app.clock.set(closed_at + Duration::days(29));
    let early = app.sweep(SweepMode::Purge).await;
    assert_eq!(
        early.category(DataCategory::ClosedAccount).unwrap().removed,
        0
    );
    assert!(image_file.exists());

    // ...and a sweep in the last hour before day 30 purges it: within 30 days (P19), even
    // though sweeps run only hourly.
    app.clock
        .set(closed_at + Duration::days(30) - Duration::hours(1) + Duration::seconds(1));
    let purge = app.sweep(SweepMode::Purge).await;
    let closed = purge.category(DataCategory::ClosedAccount).unwrap();
    assert_eq!(closed.removed, 1);
    assert_eq!(closed.accounts[0].user, user_id(&ada));
    assert_eq!(closed.accounts[0].media_objects_deleted, 1);
    assert!(closed.accounts[0].rows_deleted > 10);

    for needle in [ada.id.clone(), ada.email.clone()] {
        let traces = find_everywhere(&app.db, &needle).await;
        assert!(traces.is_empty(), "{needle} remains in {traces:?}");
    }
    assert!(!image_file.exists(), "the image bytes are deleted");
    assert!(
        !media.path().join("u").join(&ada.id).exists(),
        "no object of the user is left in the media store"
    );
    assert_eq!(
        app.db
            .count(format!(
                "SELECT COUNT(*) FROM payment_records WHERE stripe_customer_id = '{}' \
                 AND user_id IS NULL",
                seeded.stripe_customer
            ))
            .await,
        1,
        "only the payment record remains, without its user (P17)"
    );
    let bobs = find_everywhere(&app.db, &bob.id).await;
    for table in [
        "users.id",
        "posts.owner_id",
        "instagram_connections.owner_id",
    ] {
        assert!(
            bobs.iter().any(|(column, _)| column == table),
            "other accounts are untouched: {bobs:?}"
        );
    }

    // Ten years after payment the record goes too.
    app.clock.advance(Duration::days(3653));
    let late = app.sweep(SweepMode::Purge).await;
    assert!(late.category(DataCategory::PaymentRecord).unwrap().removed >= 1);
    assert_eq!(
        app.db
            .count(format!(
                "SELECT COUNT(*) FROM payment_records WHERE stripe_customer_id = '{}'",
                seeded.stripe_customer
            ))
            .await,
        0
    );
}

#[tokio::test]
async fn expired_sessions_are_swept_and_live_ones_kept() {
    let app = spawn_app().await;
    let ada = app.signup_user("ada@example.com").await;
    assert_eq!(
        app.request_reset(&ada.email).await.status(),
        StatusCode::ACCEPTED
    );
    app.wait_for_mails(1).await;
    let dry = app.sweep(SweepMode::DryRun).await;
    assert_eq!(dry.category(DataCategory::AuthArtifact).unwrap().removed, 0);

    // The reset token lives 30 minutes at most, the refresh token much longer.
    app.clock.advance(Duration::hours(2));
    let swept = app.sweep(SweepMode::Purge).await;
    assert_eq!(
        swept.category(DataCategory::AuthArtifact).unwrap().removed,
        1
    );
    assert_eq!(
        app.db
            .count(format!(
                "SELECT COUNT(*) FROM password_reset_tokens WHERE user_id = '{}'",
                ada.id
            ))
            .await,
        0
    );
    assert_eq!(
        app.refresh(&ada.refresh).await.status(),
        StatusCode::OK,
        "the live session is kept"
    );
}

#[tokio::test]
async fn the_sweep_command_counts_on_a_dry_run_and_deletes_on_a_real_one() {
    let app = spawn_app().await;
    app.log_request_aged("/aged/40-days", Duration::days(40))
        .await;
    app.log_request_aged("/aged/today", Duration::zero()).await;
    let config = (*app.state.config).clone();
    kraftsoci_server::admin::sweep_command(&config, true, true)
        .await
        .unwrap();
    assert_eq!(
        app.logged_routes().await.len(),
        2,
        "a dry run deletes nothing"
    );
    kraftsoci_server::admin::sweep_command(&config, false, false)
        .await
        .unwrap();
    assert_eq!(app.logged_routes().await, vec!["/aged/today"]);
}
