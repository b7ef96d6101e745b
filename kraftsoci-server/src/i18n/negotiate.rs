//! Which language to answer in: the user's stored preference, else the browser's
//! `Accept-Language`, else English.

use super::Locale;

/// The most `Accept-Language` entries read; the rest are ignored (a header is not a
/// place to make the server sort thousands of entries).
const MAX_ENTRIES: usize = 32;

/// The locale to answer in.
///
/// `stored` is the user's saved choice (the account's language once signed in, else the
/// language cookie the switch sets); it wins when it is a language the app speaks. Otherwise
/// the best entry of `accept_language` that the app speaks, else [`Locale::En`].
pub fn negotiate(stored: Option<&str>, accept_language: Option<&str>) -> Locale {
    stored
        .and_then(Locale::from_tag)
        .or_else(|| accept_language.and_then(from_accept_language))
        .unwrap_or(Locale::En)
}

/// The supported locale the browser prefers most, by quality value (RFC 9110 §12.5.4);
/// among equal weights the earlier entry wins. Malformed entries are skipped, `q=0` means
/// "not this one", and `*` names no language in particular, so it decides nothing.
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(u16, Locale)> = None;
    for entry in header.split(',').take(MAX_ENTRIES) {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let Some(weight) = weight(parts) else {
            continue;
        };
        let Some(locale) = Locale::from_tag(tag) else {
            continue;
        };
        if weight > 0 && best.is_none_or(|(top, _)| weight > top) {
            best = Some((weight, locale));
        }
    }
    best.map(|(_, locale)| locale)
}

/// The `q` parameter in thousandths (1000 when absent); `None` when malformed.
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut weight = 1000;
    for param in params {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        weight = parse_q(value.trim())?;
    }
    Some(weight)
}

/// `0`, `1`, `0.5`, `0.125`, `1.000`: at most three decimals, at most 1.
fn parse_q(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_preference_beats_the_browser() {
        assert_eq!(negotiate(Some("tr"), Some("en-US,en;q=0.9")), Locale::Tr);
        assert_eq!(negotiate(Some("en"), Some("tr-TR")), Locale::En);
    }

    #[test]
    fn an_unsupported_stored_preference_falls_back_to_the_browser() {
        assert_eq!(negotiate(Some("de"), Some("tr-TR,tr;q=0.9")), Locale::Tr);
        assert_eq!(negotiate(Some(""), None), Locale::En);
    }

    #[test]
    fn without_anything_usable_the_answer_is_english() {
        assert_eq!(negotiate(None, None), Locale::En);
        assert_eq!(negotiate(None, Some("")), Locale::En);
        assert_eq!(negotiate(None, Some("de-DE,fr;q=0.8")), Locale::En);
        assert_eq!(negotiate(None, Some("*")), Locale::En);
        assert_eq!(negotiate(None, Some(";;;,,,=")), Locale::En);
    }

    #[test]
    fn the_highest_quality_wins_whatever_the_order() {
        assert_eq!(from_accept_language("en;q=0.4, tr;q=0.8"), Some(Locale::Tr));
        assert_eq!(
            from_accept_language("de, tr;q=0.3, en;q=0.2"),
            Some(Locale::Tr)
        );
        assert_eq!(
            from_accept_language("tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7"),
            Some(Locale::Tr)
        );
    }

    #[test]
    fn equal_weights_keep_the_browsers_order() {
        assert_eq!(from_accept_language("en-GB, tr"), Some(Locale::En));
        assert_eq!(from_accept_language("tr, en"), Some(Locale::Tr));
    }

    #[test]
    fn a_language_refused_with_q_zero_is_never_chosen() {
        assert_eq!(from_accept_language("tr;q=0, en;q=0.1"), Some(Locale::En));
        assert_eq!(from_accept_language("tr;q=0.000"), None);
    }

    #[test]
    fn malformed_weights_skip_only_their_entry() {
        assert_eq!(from_accept_language("tr;q=2, en;q=0.5"), Some(Locale::En));
        assert_eq!(from_accept_language("tr;q=abc, en"), Some(Locale::En));
        assert_eq!(
            from_accept_language("tr;q=0.1234, en;q=0.1"),
            Some(Locale::En)
        );
        assert_eq!(from_accept_language("tr;q, en;q=0.1"), Some(Locale::En));
        assert_eq!(from_accept_language("tr;q=1.5"), None);
        assert_eq!(from_accept_language("tr;level=1;q=0.5"), Some(Locale::Tr));
    }

    #[test]
    fn only_the_first_entries_of_a_huge_header_are_read() {
        let header = format!("{}tr", "de,".repeat(MAX_ENTRIES));
        assert_eq!(from_accept_language(&header), None);
    }

    #[test]
    fn quality_values_parse_to_thousandths() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.125"), Some(125));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("1.001"), None);
        assert_eq!(parse_q("-0.5"), None);
        assert_eq!(parse_q(""), None);
    }
}
