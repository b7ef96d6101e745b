//! The languages the web app speaks, and what each implies by default.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;

/// A language the pages, mails and messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locale {
    /// English: the fallback when nothing else is known.
    En,
    /// Turkish.
    Tr,
}

impl Locale {
    /// Every supported locale, English first.
    pub const ALL: [Self; 2] = [Self::En, Self::Tr];

    /// The BCP 47 tag, as used in `<html lang>`, cookies and the locale folders.
    pub const fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Tr => "tr",
        }
    }

    /// The language's own name, as shown in the language switch.
    pub const fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Tr => "Türkçe",
        }
    }

    /// The time zone dates are shown in when the user chose none: Istanbul for Turkish,
    /// UTC otherwise (an English reader may be anywhere, and UTC is labelled as such).
    pub const fn default_zone(self) -> Tz {
        match self {
            Self::En => Tz::UTC,
            Self::Tr => Tz::Europe__Istanbul,
        }
    }

    /// The locale of a language tag (`tr`, `tr-TR`, `EN-gb`): its primary subtag decides.
    /// `None` for languages the app does not speak.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Self::ALL
            .into_iter()
            .find(|locale| primary.eq_ignore_ascii_case(locale.tag()))
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A tag the app does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language; use one of: en, tr")]
pub struct UnsupportedLocale;

impl FromStr for Locale {
    type Err = UnsupportedLocale;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_tag(s).ok_or(UnsupportedLocale)
    }
}

impl From<Locale> for kraftsoci_core::Language {
    fn from(locale: Locale) -> Self {
        // Both tags are valid language tags.
        kraftsoci_core::Language::parse(locale.tag()).expect("a supported locale's tag parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_known_by_its_primary_subtag_in_any_case() {
        assert_eq!(Locale::from_tag("tr"), Some(Locale::Tr));
        assert_eq!(Locale::from_tag("tr-TR"), Some(Locale::Tr));
        assert_eq!(Locale::from_tag("EN_gb"), Some(Locale::En));
        assert_eq!(Locale::from_tag(" en "), Some(Locale::En));
        assert_eq!(Locale::from_tag("de"), None);
        assert_eq!(Locale::from_tag("tur"), None);
        assert_eq!(Locale::from_tag(""), None);
        assert_eq!("xx".parse::<Locale>(), Err(UnsupportedLocale));
    }

    #[test]
    fn turkish_readers_see_istanbul_time_by_default() {
        assert_eq!(Locale::Tr.default_zone(), Tz::Europe__Istanbul);
        assert_eq!(Locale::En.default_zone(), Tz::UTC);
    }

    #[test]
    fn every_locale_converts_to_a_stored_language() {
        for locale in Locale::ALL {
            let language = kraftsoci_core::Language::from(locale);
            assert_eq!(Locale::from_tag(language.as_str()), Some(locale));
        }
    }
}
