//! The post pages' form bodies, read into domain values: the edit (caption, hashtags, alt
//! text), and the Publish click's schedule in the owner's time zone.

use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use kraftsoci_core::{AltText, Caption, Hashtag};
use serde::Deserialize;

use crate::i18n::{self, Locale};
use crate::posts::EditRequest;
use crate::web::form::FieldErrors;
use crate::web::views::posts_preview::{Draft, schedule_format};

#[derive(Debug, Default, Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    pub(super) content_hash: String,
    #[serde(default)]
    caption: String,
    #[serde(default)]
    hashtags: String,
    #[serde(default)]
    alt_text: String,
}

impl EditForm {
    pub(super) fn draft(&self) -> Draft {
        Draft {
            caption: self.caption.clone(),
            hashtags: self.hashtags.clone(),
            alt_text: self.alt_text.clone(),
            schedule: String::new(),
        }
    }

    /// The edit as domain values, or an error next to each bad field.
    pub(super) fn parse(&self) -> Result<EditRequest, FieldErrors> {
        let mut errors = FieldErrors::new();
        let caption = Caption::parse(self.caption.trim())
            .map_err(|_| errors.add("caption", i18n::key("preview-caption-invalid")))
            .ok();
        let hashtags = parse_hashtags(&self.hashtags)
            .map_err(|()| errors.add("hashtags", i18n::key("preview-hashtags-invalid")))
            .ok();
        let alt_text = match self.alt_text.trim() {
            "" => Some(None),
            alt => AltText::parse(alt)
                .map(Some)
                .map_err(|_| errors.add("alt_text", i18n::key("preview-alt-invalid")))
                .ok(),
        };
        match (caption, hashtags, alt_text) {
            (Some(caption), Some(hashtags), Some(alt_text)) if errors.is_empty() => {
                Ok(EditRequest {
                    caption: Some(caption),
                    hashtags: Some(hashtags),
                    alt_text: Some(alt_text),
                    connection: None,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Hashtags as typed: separated by spaces or commas, each with or without `#`, at most 30.
fn parse_hashtags(typed: &str) -> Result<Vec<Hashtag>, ()> {
    let tags: Vec<Hashtag> = typed
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(Hashtag::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| ())?;
    if tags.len() > kraftsoci_core::MAX_HASHTAGS {
        return Err(());
    }
    Ok(tags)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PublishForm {
    #[serde(default)]
    pub(super) content_hash: String,
    #[serde(default)]
    pub(super) instagram_account_id: String,
    /// Present (maybe empty) only in the Schedule form.
    pub(super) scheduled_for: Option<String>,
}

/// Why a schedule field was not a time to publish at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScheduleError {
    Required,
    Invalid,
    Past,
}

impl ScheduleError {
    pub(super) fn key(self) -> i18n::MessageKey {
        match self {
            Self::Required => i18n::key("preview-schedule-required"),
            Self::Invalid => i18n::key("preview-schedule-invalid"),
            Self::Past => i18n::key("preview-schedule-past"),
        }
    }
}

/// Other ways a schedule is read: the other language's field and ISO 8601 (what a
/// `datetime-local` field sent, for a page rendered before the field changed).
const OTHER_SCHEDULE_FORMATS: [&str; 4] = [
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
];

/// The schedule field, written as the page in `locale` asks (`24.12.2026 09:30` in Turkish,
/// `24/12/2026 09:30` in English), read in `zone` as an instant after `now`. A local time
/// that does not exist (skipped by a clock change) is refused; one that exists twice is the
/// earlier.
pub(super) fn parse_schedule(
    typed: &str,
    locale: Locale,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ScheduleError> {
    let typed = typed.split_whitespace().collect::<Vec<_>>().join(" ");
    if typed.is_empty() {
        return Err(ScheduleError::Required);
    }
    let local = std::iter::once(schedule_format(locale).chrono)
        .chain(OTHER_SCHEDULE_FORMATS)
        .find_map(|format| NaiveDateTime::parse_from_str(&typed, format).ok())
        .ok_or(ScheduleError::Invalid)?;
    let at = zone
        .from_local_datetime(&local)
        .earliest()
        .ok_or(ScheduleError::Invalid)?
        .with_timezone(&Utc);
    if at <= now {
        return Err(ScheduleError::Past);
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_schedule_is_read_in_the_pages_format_and_the_owners_zone() {
        let istanbul = Tz::Europe__Istanbul;
        let at = parse_schedule("24.12.2026 09:30", Locale::Tr, istanbul, now()).unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2026, 12, 24, 6, 30, 0).unwrap());
        let at = parse_schedule(" 24/12/2026   9:30 ", Locale::En, Tz::UTC, now()).unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2026, 12, 24, 9, 30, 0).unwrap());
        // Late in the evening in UTC is the next morning in Istanbul, and the other way round.
        let at = parse_schedule("25.12.2026 01:30", Locale::Tr, istanbul, now()).unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2026, 12, 24, 22, 30, 0).unwrap());
        let at = parse_schedule("2026-12-24T09:30:00", Locale::En, Tz::UTC, now()).unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2026, 12, 24, 9, 30, 0).unwrap());
    }

    #[test]
    fn a_schedule_must_be_a_future_time_that_exists() {
        let zone = Tz::UTC;
        assert_eq!(
            parse_schedule("  ", Locale::Tr, zone, now()),
            Err(ScheduleError::Required)
        );
        for typed in [
            "31.02.2027 10:00",
            "24.12.2026",
            "12/24/2026 09:30",
            "yarın 09:30",
        ] {
            assert_eq!(
                parse_schedule(typed, Locale::Tr, zone, now()),
                Err(ScheduleError::Invalid),
                "{typed}"
            );
        }
        assert_eq!(
            parse_schedule("06.12.2026 12:00", Locale::Tr, zone, now()),
            Err(ScheduleError::Past)
        );
        // 02:30 on the last Sunday of March 2027 does not exist in Berlin.
        assert_eq!(
            parse_schedule("28/03/2027 02:30", Locale::En, Tz::Europe__Berlin, now()),
            Err(ScheduleError::Invalid)
        );
    }

    #[test]
    fn hashtags_are_read_as_typed() {
        let tags = parse_hashtags("#simit, kadıköy  #taze_ekmek").unwrap();
        let names: Vec<&str> = tags.iter().map(Hashtag::as_str).collect();
        assert_eq!(names, ["simit", "kadıköy", "taze_ekmek"]);
        assert!(parse_hashtags("").unwrap().is_empty());
        assert!(parse_hashtags("#bad-tag").is_err());
        let too_many = (0..31)
            .map(|i| format!("#t{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(parse_hashtags(&too_many).is_err());
    }

    #[test]
    fn an_edit_reports_every_bad_field_at_once() {
        let form = EditForm {
            content_hash: String::new(),
            caption: "a".repeat(2201),
            hashtags: "#ok #not-ok".to_owned(),
            alt_text: "a".repeat(1001),
        };
        let errors = form.parse().unwrap_err();
        assert_eq!(
            errors.fields().collect::<Vec<_>>(),
            ["caption", "hashtags", "alt_text"]
        );
        let form = EditForm {
            content_hash: String::new(),
            caption: "Taze simit".to_owned(),
            hashtags: String::new(),
            alt_text: " ".to_owned(),
        };
        let request = form.parse().unwrap();
        assert_eq!(request.alt_text, Some(None), "an empty alt text removes it");
        assert_eq!(request.hashtags.map(|h| h.len()), Some(0));
    }
}
