//! Upper and lower case by the rules of the reader's language.
//!
//! Rust's `to_uppercase`/`to_lowercase` follow Unicode's default mapping, which is wrong for
//! Turkish: the dotted `i` upper-cases to `İ` and the dotless `ı` to `I`, and back. Unicode
//! keeps these as the language-specific rules of `SpecialCasing.txt`, which `std` does not
//! apply. "çiçekçi" must become "ÇİÇEKÇİ", not "ÇICEKÇI", and "IRMAK" must become "ırmak".

use super::Locale;

/// `text` in capitals, as `locale` writes them.
pub fn to_upper(locale: Locale, text: &str) -> String {
    match locale {
        Locale::Tr => text
            .chars()
            .map(|c| match c {
                'i' => 'İ'.to_string(),
                c => c.to_uppercase().collect(),
            })
            .collect(),
        Locale::En => text.to_uppercase(),
    }
}

/// `text` in small letters, as `locale` writes them.
#[cfg(any(test, feature = "testing"))]
pub fn to_lower(locale: Locale, text: &str) -> String {
    match locale {
        Locale::Tr => {
            let mut out = String::with_capacity(text.len());
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    'I' => {
                        // "I" followed by a combining dot above is a decomposed "İ".
                        if chars.peek() == Some(&'\u{307}') {
                            chars.next();
                            out.push('i');
                        } else {
                            out.push('ı');
                        }
                    }
                    'İ' => out.push('i'),
                    c => out.extend(c.to_lowercase()),
                }
            }
            out
        }
        Locale::En => text.to_lowercase(),
    }
}

/// `text` with its first letter in capitals, as `locale` writes them (for a word that starts a
/// sentence or a heading).
#[cfg(any(test, feature = "testing"))]
pub fn capitalize(locale: Locale, text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let mut out = to_upper(locale, first.encode_utf8(&mut [0; 4]));
            out.push_str(chars.as_str());
            out
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turkish_dotted_and_dotless_i_keep_their_dots_in_capitals() {
        assert_eq!(to_upper(Locale::Tr, "çiçekçi"), "ÇİÇEKÇİ");
        assert_eq!(to_upper(Locale::Tr, "ılık ıhlamur"), "ILIK IHLAMUR");
        assert_eq!(to_upper(Locale::Tr, "kadıköy fırını"), "KADIKÖY FIRINI");
        assert_eq!(to_upper(Locale::Tr, "ğüşöç"), "ĞÜŞÖÇ");
    }

    #[test]
    fn turkish_capitals_lower_to_the_right_i() {
        assert_eq!(to_lower(Locale::Tr, "IRMAK"), "ırmak");
        assert_eq!(to_lower(Locale::Tr, "İSTANBUL"), "istanbul");
        assert_eq!(to_lower(Locale::Tr, "I\u{307}ZMIR"), "izmır");
        assert_eq!(to_lower(Locale::Tr, "ĞÜŞÖÇ"), "ğüşöç");
    }

    #[test]
    fn english_uses_the_default_mapping() {
        assert_eq!(to_upper(Locale::En, "istanbul"), "ISTANBUL");
        assert_eq!(to_lower(Locale::En, "IRMAK"), "irmak");
        assert_eq!(to_upper(Locale::En, "straße"), "STRASSE");
    }

    #[test]
    fn the_round_trip_is_lossless_for_turkish_words() {
        for word in ["iğne", "ılık", "şişli", "üsküdar", "ırmak"] {
            assert_eq!(to_lower(Locale::Tr, &to_upper(Locale::Tr, word)), word);
        }
    }

    #[test]
    fn capitalizing_changes_only_the_first_letter() {
        assert_eq!(capitalize(Locale::Tr, "izmir çiçekçisi"), "İzmir çiçekçisi");
        assert_eq!(capitalize(Locale::En, "izmir"), "Izmir");
        assert_eq!(capitalize(Locale::Tr, ""), "");
    }
}
