//! Numbers, dates and times as the reader writes them, in the reader's time zone.
//!
//! The words (month names, the order of day, month and year) live in `dates.ftl`; the digits
//! and separators are decided here: English `1,234.5`, Turkish `1.234,5`.

use chrono::{DateTime, Datelike as _, Offset as _, TimeZone as _, Timelike as _, Utc};
use chrono_tz::Tz;

use super::{Args, Catalog, Locale};

/// The thousands separator and decimal mark of `locale`.
const fn separators(locale: Locale) -> (char, char) {
    match locale {
        Locale::En => (',', '.'),
        Locale::Tr => ('.', ','),
    }
}

/// `value` with grouped thousands and between `min_fraction` and `max_fraction` decimals
/// (rounded to the nearest, trailing zeros dropped down to `min_fraction`).
pub fn decimal(locale: Locale, value: f64, min_fraction: usize, max_fraction: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let max_fraction = max_fraction.clamp(min_fraction, 20);
    let rendered = format!("{:.*}", max_fraction, value.abs());
    let (int, all_decimals) = rendered.split_once('.').unwrap_or((&rendered, ""));
    let trimmed = all_decimals.trim_end_matches('0');
    // `all_decimals` has `max_fraction >= min_fraction` digits.
    let frac = if trimmed.len() < min_fraction {
        &all_decimals[..min_fraction]
    } else {
        trimmed
    };
    let (group, mark) = separators(locale);
    let mut out = String::with_capacity(rendered.len() + rendered.len() / 3 + 1);
    let negative = value < 0.0 && int.bytes().chain(frac.bytes()).any(|b| b != b'0');
    if negative {
        out.push('-');
    }
    push_grouped(&mut out, int, group);
    if !frac.is_empty() {
        out.push(mark);
        out.push_str(frac);
    }
    out
}

/// A whole number with grouped thousands.
pub fn integer(locale: Locale, value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let (group, _) = separators(locale);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    push_grouped(&mut out, &digits, group);
    out
}

/// Appends the ASCII `digits` with `group` between each three, counted from the right.
fn push_grouped(out: &mut String, digits: &str, group: char) {
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(group);
        }
        out.push(digit);
    }
}

/// The day `at` falls on in `zone`: "5 March 2026", "5 Mart 2026".
pub fn date(locale: Locale, zone: Tz, at: DateTime<Utc>) -> String {
    let local = zone.from_utc_datetime(&at.naive_utc());
    let catalog = Catalog::get();
    let month = catalog.format(
        locale,
        "date-month",
        Some(&Args::new().number("month", local.month())),
    );
    catalog.format(
        locale,
        "date-long",
        Some(
            &Args::new()
                .text("day", local.day().to_string())
                .text("month", month)
                .text("year", local.year().to_string()),
        ),
    )
}

/// The time of `at` in `zone`, on the 24-hour clock both languages use: "14:05".
pub fn time(zone: Tz, at: DateTime<Utc>) -> String {
    let local = zone.from_utc_datetime(&at.naive_utc());
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// `zone`'s offset at `at` as readers know it: "UTC", "GMT+3", "GMT-3:30".
pub fn zone_label(zone: Tz, at: DateTime<Utc>) -> String {
    if zone == Tz::UTC {
        return "UTC".to_owned();
    }
    let seconds = zone
        .offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let (hours, minutes) = (
        seconds.unsigned_abs() / 3600,
        seconds.unsigned_abs() % 3600 / 60,
    );
    match (hours, minutes) {
        (0, 0) => "GMT".to_owned(),
        (h, 0) => format!("GMT{sign}{h}"),
        (h, m) => format!("GMT{sign}{h}:{m:02}"),
    }
}

/// Date, time and zone: "5 March 2026 at 14:05 (GMT+3)", "5 Mart 2026, 14:05 (GMT+3)".
pub fn date_time(locale: Locale, zone: Tz, at: DateTime<Utc>) -> String {
    Catalog::get().format(
        locale,
        "date-time",
        Some(
            &Args::new()
                .text("date", date(locale, zone, at))
                .text("time", time(zone, at))
                .text("zone", zone_label(zone, at)),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn numbers_use_each_languages_separators() {
        assert_eq!(decimal(Locale::En, 1234.5, 0, 2), "1,234.5");
        assert_eq!(decimal(Locale::Tr, 1234.5, 0, 2), "1.234,5");
        assert_eq!(decimal(Locale::Tr, 1_234_567.0, 0, 2), "1.234.567");
        assert_eq!(decimal(Locale::En, 999.0, 0, 0), "999");
        assert_eq!(decimal(Locale::En, 0.0, 0, 3), "0");
    }

    #[test]
    fn decimals_are_rounded_and_padded_as_asked() {
        assert_eq!(decimal(Locale::En, 2.0, 2, 2), "2.00");
        assert_eq!(decimal(Locale::Tr, 2.5, 2, 2), "2,50");
        assert_eq!(decimal(Locale::En, 1.23456, 0, 3), "1.235");
        assert_eq!(decimal(Locale::En, 1.2, 0, 3), "1.2");
        assert_eq!(decimal(Locale::En, 999.9996, 0, 3), "1,000");
        assert_eq!(decimal(Locale::En, 1.5, 3, 1), "1.500");
    }

    #[test]
    fn negative_numbers_keep_their_sign_unless_they_round_to_zero() {
        assert_eq!(decimal(Locale::Tr, -1234.25, 0, 2), "-1.234,25");
        assert_eq!(decimal(Locale::En, -0.0001, 0, 2), "0");
        assert_eq!(integer(Locale::En, -1_000_000), "-1,000,000");
        assert_eq!(integer(Locale::Tr, i64::MIN), "-9.223.372.036.854.775.808");
        assert_eq!(integer(Locale::Tr, 12), "12");
    }

    #[test]
    fn numbers_that_are_not_finite_are_written_as_such() {
        assert_eq!(decimal(Locale::En, f64::NAN, 0, 2), "NaN");
        assert_eq!(decimal(Locale::En, f64::INFINITY, 0, 2), "inf");
    }

    #[test]
    fn dates_name_the_month_in_the_readers_language() {
        let when = at("2026-03-05T09:00:00Z");
        assert_eq!(date(Locale::En, Tz::UTC, when), "5 March 2026");
        assert_eq!(date(Locale::Tr, Tz::Europe__Istanbul, when), "5 Mart 2026");
        let months: Vec<String> = (1..=12)
            .map(|m| {
                date(
                    Locale::Tr,
                    Tz::UTC,
                    at(&format!("2026-{m:02}-01T12:00:00Z")),
                )
            })
            .collect();
        assert_eq!(months[1], "1 Şubat 2026");
        assert_eq!(months[7], "1 Ağustos 2026");
        assert_eq!(months[11], "1 Aralık 2026");
    }

    #[test]
    fn dates_and_times_are_shown_in_the_readers_time_zone() {
        // 22:30 in UTC is already the next day in Istanbul (UTC+3 all year).
        let when = at("2026-12-31T22:30:00Z");
        assert_eq!(date(Locale::En, Tz::UTC, when), "31 December 2026");
        assert_eq!(date(Locale::Tr, Tz::Europe__Istanbul, when), "1 Ocak 2027");
        assert_eq!(time(Tz::Europe__Istanbul, when), "01:30");
        assert_eq!(
            date_time(Locale::Tr, Tz::Europe__Istanbul, when),
            "1 Ocak 2027, 01:30 (GMT+3)"
        );
        assert_eq!(
            date_time(Locale::En, Tz::UTC, when),
            "31 December 2026 at 22:30 (UTC)"
        );
    }

    #[test]
    fn zone_labels_follow_daylight_saving_time() {
        let winter = at("2026-01-15T12:00:00Z");
        let summer = at("2026-07-15T12:00:00Z");
        assert_eq!(zone_label(Tz::Europe__London, winter), "GMT");
        assert_eq!(zone_label(Tz::Europe__London, summer), "GMT+1");
        assert_eq!(zone_label(Tz::America__St_Johns, winter), "GMT-3:30");
        assert_eq!(zone_label(Tz::Asia__Kolkata, summer), "GMT+5:30");
        assert_eq!(zone_label(Tz::UTC, summer), "UTC");
    }
}
