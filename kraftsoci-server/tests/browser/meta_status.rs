//! Meta's deletion status page in both languages.

use chrono::{DateTime, Utc};
use kraftsoci_server::store::{MetaDeletion, MetaDeletionStatus};

use crate::harness::{Browser, Language, open, screenshot, text};
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_status_of_a_deletion_meta_asked_for_reads_in_both_languages() {
    let app = spawn_app().await;
    let created_at: DateTime<Utc> = "2026-03-05T09:15:00Z".parse().unwrap();
    app.state
        .stores
        .rights
        .insert_meta_deletion(&MetaDeletion {
            confirmation_code: "5e1f0c2a9b7d4e36a8c1".to_owned(),
            app_user_hash: "ab".repeat(32),
            user: None,
            status: MetaDeletionStatus::Received,
            created_at,
            completed_at: None,
        })
        .await
        .unwrap();
    let url = app.url("/meta/data-deletion/status?code=5e1f0c2a9b7d4e36a8c1");
    for (language, state, received) in [
        (Language::English, "In progress", "5 March 2026"),
        (Language::Turkish, "Sürüyor", "5 Mart 2026"),
    ] {
        let url = url.clone();
        Browser::run(language, |browser| async move {
            open(&browser, &url, ".facts").await;
            assert_eq!(text(&browser, ".badge").await, state);
            assert!(text(&browser, ".facts").await.contains(received));
            assert!(
                text(&browser, ".facts")
                    .await
                    .contains("5e1f0c2a9b7d4e36a8c1")
            );
            screenshot(&browser, &format!("meta-status-{}", language.tag()), 1280).await;
        })
        .await;
    }
}
