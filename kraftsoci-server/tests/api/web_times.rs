//! Times on the owner's pages are in the time zone they saved (else their language's) and
//! written the way their language writes them, with the formatter their mail uses; the
//! schedule field is written in the page's own format and read in that zone. On SQLite and
//! PostgreSQL (the zone comes with the session lookup).

use chrono::{Datelike as _, Duration, NaiveDate, TimeZone as _, Utc};
use reqwest::StatusCode;
use reqwest::header::LOCATION;

use crate::helpers::{TestApp, spawn_app_on};
use crate::support::TestDb;
use crate::web_posts::{Signed, generate};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "25 December 2026 at 01:30 (GMT+3)", as the English pages write an Istanbul time.
fn istanbul_english(day: NaiveDate, time: &str) -> String {
    format!(
        "{} {} {} at {time} (GMT+3)",
        day.day(),
        MONTHS[day.month0() as usize],
        day.year()
    )
}

async fn save_zone(app: &TestApp, owner: &Signed, zone: &str) {
    let saved = owner
        .post(app, "/settings/notifications", &[("time_zone", zone)])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
}

async fn a_post_at_half_past_ten_utc_shows_half_past_one_the_next_day_in_istanbul(db: TestDb) {
    let app = spawn_app_on(db, |_| {}, |builder| builder).await;
    let owner = app.signed_owner("ada@example.com").await;
    let id = generate(&app, &owner, "Fresh simit at dawn").await;
    // Before the owner chose a zone, an English page shows UTC.
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    assert!(html.contains("in your time zone (UTC)"), "{html}");
    save_zone(&app, &owner, "Europe/Istanbul").await;

    // 22:30 UTC tomorrow is 01:30 the day after in Istanbul (UTC+3 all year): scheduled for
    // then, typed as an English page asks, in the owner's zone.
    let utc_day = (app.state.clock.now() + Duration::days(1)).date_naive();
    let local_day = utc_day.succ_opt().unwrap();
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    assert!(
        html.contains("Europe/Istanbul, GMT+3"),
        "the schedule field names its zone: {html}"
    );
    let hash = crate::web_session::input_value(&html, "content_hash").unwrap();
    let typed = format!("{} 01:30", local_day.format("%d/%m/%Y"));
    let click = owner
        .post(
            &app,
            &format!("/posts/{id}/publish"),
            &[
                ("content_hash", &hash),
                ("instagram_account_id", &owner.flow.account_id),
                ("scheduled_for", &typed),
            ],
        )
        .await;
    assert_eq!(click.status(), StatusCode::SEE_OTHER, "{typed}");
    assert_eq!(
        click.headers()[LOCATION],
        format!("/posts/{id}?done=scheduled").as_str()
    );
    let (_, receipt) = app.consent(&owner.flow.user.access, &id).await;
    let stored = Utc.from_utc_datetime(&utc_day.and_hms_opt(22, 30, 0).unwrap());
    assert_eq!(
        receipt["scheduled_for"],
        stored
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .as_str(),
        "stored in UTC"
    );

    // The list and the receipt say when, in Istanbul time, on the Istanbul day.
    let expected = istanbul_english(local_day, "01:30");
    let (status, html, _) = owner.get(&app, "/posts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&expected), "the list: {expected}\n{html}");
    assert!(!html.contains("22:30"), "{html}");
    let (_, html, _) = owner.get(&app, &format!("/posts/{id}")).await;
    assert!(html.contains(&expected), "the receipt: {expected}\n{html}");
    let scheduled_day = local_day;

    // The calendar's days are Istanbul days: the post is under the day it is there.
    let week = format!("/calendar?week={}", scheduled_day.format("%Y-%m-%d"));
    let (status, html, _) = owner.get(&app, &week).await;
    assert_eq!(status, StatusCode::OK);
    let day_heading = format!(
        ", {} {}",
        scheduled_day.day(),
        MONTHS[scheduled_day.month0() as usize]
    );
    let under = html
        .split("<h2")
        .find(|section| section.contains(&day_heading))
        .unwrap_or_else(|| panic!("no heading for {day_heading}\n{html}"));
    assert!(under.contains(&format!("/posts/{id}")), "{under}");
    assert!(under.contains("01:30"), "{under}");
}

#[tokio::test]
async fn a_post_at_half_past_ten_utc_shows_half_past_one_the_next_day_in_istanbul_on_sqlite() {
    a_post_at_half_past_ten_utc_shows_half_past_one_the_next_day_in_istanbul(
        TestDb::sqlite().await,
    )
    .await;
}

#[tokio::test]
async fn a_post_at_half_past_ten_utc_shows_half_past_one_the_next_day_in_istanbul_on_postgres() {
    a_post_at_half_past_ten_utc_shows_half_past_one_the_next_day_in_istanbul(
        TestDb::postgres().await,
    )
    .await;
}
