//! `/calendar`: the owner's approved, publishing and published posts, one week at a time,
//! by day in the owner's time zone; a scheduled post can be withdrawn from here.

use askama::Template;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use kraftsoci_core::PostStatus;

use super::posts::{Badge, Shown, badge, excerpt};
use crate::i18n::Args;
use crate::web::{Page, PageContext};

/// How many characters of a caption a calendar entry shows.
const EXCERPT_CHARS: usize = 70;

/// When a post appears in the calendar: when it went live, else when it is due to go (its
/// job's time, else its chosen time, else its approval); `None` for posts that are not
/// approved, publishing or published.
pub fn when(shown: &Shown<'_>) -> Option<DateTime<Utc>> {
    let post = &shown.view.post;
    match post.status {
        PostStatus::Published => post.published_at.or(Some(post.updated_at)),
        PostStatus::Approved | PostStatus::Publishing => shown
            .view
            .job
            .as_ref()
            .map(|job| job.run_after)
            .or_else(|| post.consent.as_ref().and_then(|c| c.scheduled_for()))
            .or_else(|| post.consent.as_ref().map(|c| c.approved_at())),
        _ => None,
    }
}

/// The Monday of the week `day` is in.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The instants a week starting on `monday` (local midnight in `zone`) covers, as
/// `[start, end)`.
pub fn week_bounds(monday: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |day: NaiveDate| {
        day.and_hms_opt(0, 0, 0)
            .and_then(|midnight| midnight.and_local_timezone(zone).earliest())
            .map_or_else(
                || day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
                |at| at.with_timezone(&Utc),
            )
    };
    (start(monday), start(monday + Duration::days(7)))
}

struct Entry {
    id: String,
    time: String,
    excerpt: String,
    badge: Badge,
    withdrawable: bool,
}

struct Day {
    heading: String,
    today: bool,
    entries: Vec<Entry>,
}

#[derive(Template)]
#[template(path = "calendar/week.html")]
struct WeekPage<'a> {
    ctx: &'a PageContext,
    title: String,
    range: String,
    days: Vec<Day>,
    previous: String,
    next: String,
    this_week: Option<String>,
    here: String,
    empty: bool,
}

/// 200: the week starting on `monday`, each post under its day in `zone`, earliest first.
pub fn week(
    ctx: &PageContext,
    monday: NaiveDate,
    today: NaiveDate,
    zone: Tz,
    posts: &[Shown<'_>],
) -> Page {
    let mut dated: Vec<(DateTime<Tz>, &Shown<'_>)> = posts
        .iter()
        .filter_map(|shown| when(shown).map(|at| (at.with_timezone(&zone), shown)))
        .collect();
    dated.sort_by_key(|(at, _)| *at);
    let days: Vec<Day> = (0..7)
        .map(|offset| {
            let day = monday + Duration::days(offset);
            let noon = day.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc();
            let entries = dated
                .iter()
                .filter(|(at, _)| at.date_naive() == day)
                .map(|(at, shown)| {
                    let post = &shown.view.post;
                    let scheduled = post.consent.as_ref().and_then(|c| c.scheduled_for());
                    Entry {
                        id: post.id.to_string(),
                        time: crate::i18n::format::time(zone, at.with_timezone(&chrono::Utc)),
                        excerpt: excerpt(post.content.caption.as_str(), EXCERPT_CHARS),
                        badge: badge(ctx, post.status, scheduled.is_some()),
                        withdrawable: post.status == PostStatus::Approved,
                    }
                })
                .collect();
            Day {
                heading: weekday_heading(ctx, day, noon),
                today: day == today,
                entries,
            }
        })
        .collect();
    let sunday = monday + Duration::days(6);
    let range = ctx.t_with(
        "calendar-range",
        &Args::new()
            .text("from", ctx.date(noon_of(monday)))
            .text("to", ctx.date(noon_of(sunday))),
    );
    let link = |day: NaiveDate| format!("/calendar?week={}", day.format("%Y-%m-%d"));
    let page = WeekPage {
        ctx,
        title: ctx.t("calendar-title"),
        range,
        empty: days.iter().all(|d| d.entries.is_empty()),
        days,
        previous: link(monday - Duration::days(7)),
        next: link(monday + Duration::days(7)),
        this_week: (monday_of(today) != monday).then(|| "/calendar".to_owned()),
        here: link(monday),
    };
    Page::render(ctx, StatusCode::OK, &page)
}

fn noon_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc()
}

/// "Monday, 7 December 2026" in the reader's language (the weekday from the catalog).
fn weekday_heading(ctx: &PageContext, day: NaiveDate, noon: DateTime<Utc>) -> String {
    let key = match day.weekday() {
        chrono::Weekday::Mon => "calendar-monday",
        chrono::Weekday::Tue => "calendar-tuesday",
        chrono::Weekday::Wed => "calendar-wednesday",
        chrono::Weekday::Thu => "calendar-thursday",
        chrono::Weekday::Fri => "calendar-friday",
        chrono::Weekday::Sat => "calendar-saturday",
        chrono::Weekday::Sun => "calendar-sunday",
    };
    ctx.t_with(
        "calendar-day",
        &Args::new()
            .text("weekday", ctx.t(key))
            .text("date", ctx.date(noon)),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn a_week_starts_on_monday() {
        let sunday = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(
            monday_of(sunday),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(monday_of(monday), monday);
    }

    #[test]
    fn a_week_is_bounded_by_local_midnights() {
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let (start, end) = week_bounds(monday, Tz::Europe__Istanbul);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 6, 21, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 12, 13, 21, 0, 0).unwrap());
        // A week with a clock change is 167 hours long in Berlin.
        let (start, end) = week_bounds(
            NaiveDate::from_ymd_opt(2027, 3, 22).unwrap(),
            Tz::Europe__Berlin,
        );
        assert_eq!((end - start).num_hours(), 167);
    }
}
