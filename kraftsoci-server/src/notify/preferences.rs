//! The owner's notification choices: per event, mail and/or in-app notice, and the time zone
//! times are written in. Security and policy notices cannot be turned off.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::EventKind;
use crate::i18n::Locale;
use crate::store::StoredPreferences;

/// The channels of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channels {
    /// One mail per event.
    pub mail: bool,
    /// A notice in the app.
    pub in_app: bool,
}

impl Channels {
    /// Both channels.
    pub const BOTH: Self = Self {
        mail: true,
        in_app: true,
    };
}

/// Why a choice was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreferencesError {
    /// No such event.
    #[error("unknown event `{0}`")]
    UnknownEvent(String),
    /// A security or legal notice cannot be turned off.
    #[error("`{0}` notices cannot be turned off")]
    Mandatory(String),
    /// Not an IANA time-zone name.
    #[error("`{0}` is not a time zone")]
    UnknownTimeZone(String),
}

/// The owner's choices; events never chosen get both channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPreferences {
    /// The zone times are shown in.
    pub time_zone: Tz,
    channels: BTreeMap<EventKind, Channels>,
}

/// The default zone of a language: Istanbul for Turkish, UTC otherwise.
pub fn default_time_zone(locale: Locale) -> Tz {
    locale.default_zone()
}

/// Parses an IANA time-zone name.
///
/// # Errors
/// [`PreferencesError::UnknownTimeZone`].
pub fn parse_time_zone(name: &str) -> Result<Tz, PreferencesError> {
    name.parse::<Tz>()
        .map_err(|_| PreferencesError::UnknownTimeZone(name.to_owned()))
}

impl NotificationPreferences {
    /// Everything on, in the language's default zone.
    pub fn defaults(locale: Locale) -> Self {
        Self {
            time_zone: default_time_zone(locale),
            channels: BTreeMap::new(),
        }
    }

    /// The stored choices (defaults for what is missing or unreadable).
    pub fn from_stored(stored: Option<&StoredPreferences>, locale: Locale) -> Self {
        let mut preferences = Self::defaults(locale);
        let Some(stored) = stored else {
            return preferences;
        };
        if let Ok(zone) = parse_time_zone(&stored.time_zone) {
            preferences.time_zone = zone;
        }
        let chosen: BTreeMap<String, Channels> =
            serde_json::from_str(&stored.channels).unwrap_or_default();
        for (name, channels) in chosen {
            if let Some(kind) = EventKind::parse(&name).filter(|kind| !kind.is_mandatory()) {
                preferences.channels.insert(kind, channels);
            }
        }
        preferences
    }

    /// The channels of `kind` (both, for mandatory events).
    pub fn channels(&self, kind: EventKind) -> Channels {
        if kind.is_mandatory() {
            return Channels::BOTH;
        }
        self.channels.get(&kind).copied().unwrap_or(Channels::BOTH)
    }

    /// Sets the channels of the event named `name`.
    ///
    /// # Errors
    /// [`PreferencesError::UnknownEvent`]; [`PreferencesError::Mandatory`] when a mandatory
    /// event would lose a channel (choosing both for it is accepted and changes nothing).
    pub fn choose(&mut self, name: &str, channels: Channels) -> Result<(), PreferencesError> {
        let kind = EventKind::parse(name)
            .ok_or_else(|| PreferencesError::UnknownEvent(name.to_owned()))?;
        if kind.is_mandatory() {
            if channels != Channels::BOTH {
                return Err(PreferencesError::Mandatory(name.to_owned()));
            }
            return Ok(());
        }
        self.channels.insert(kind, channels);
        Ok(())
    }

    /// Every event with its channels, in [`EventKind::ALL`] order.
    pub fn all(&self) -> Vec<(EventKind, Channels)> {
        EventKind::ALL
            .into_iter()
            .map(|kind| (kind, self.channels(kind)))
            .collect()
    }

    /// The storage form.
    pub fn to_stored(&self) -> StoredPreferences {
        let chosen: BTreeMap<&str, Channels> = self
            .channels
            .iter()
            .map(|(kind, channels)| (kind.as_str(), *channels))
            .collect();
        StoredPreferences {
            time_zone: self.time_zone.name().to_owned(),
            channels: serde_json::to_string(&chosen).unwrap_or_else(|_| "{}".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mandatory_notices_cannot_lose_a_channel_and_unknown_events_are_refused() {
        let mut preferences = NotificationPreferences::defaults(Locale::En);
        let off = Channels {
            mail: false,
            in_app: true,
        };
        assert_eq!(
            preferences.choose("security", off),
            Err(PreferencesError::Mandatory("security".to_owned()))
        );
        assert_eq!(preferences.choose("security", Channels::BOTH), Ok(()));
        assert_eq!(
            preferences.choose("nope", off),
            Err(PreferencesError::UnknownEvent("nope".to_owned()))
        );
        preferences.choose("published", off).unwrap();
        assert_eq!(preferences.channels(EventKind::Published), off);
        assert_eq!(preferences.channels(EventKind::Security), Channels::BOTH);
    }

    #[test]
    fn choices_survive_storage_and_a_stored_mandatory_opt_out_is_ignored() {
        let mut preferences = NotificationPreferences::defaults(Locale::Tr);
        assert_eq!(preferences.time_zone, chrono_tz::Europe::Istanbul);
        preferences.time_zone = parse_time_zone("America/New_York").unwrap();
        let quiet = Channels {
            mail: false,
            in_app: false,
        };
        preferences.choose("scheduled_soon", quiet).unwrap();
        let stored = preferences.to_stored();
        assert_eq!(
            NotificationPreferences::from_stored(Some(&stored), Locale::En),
            preferences
        );
        let tampered = StoredPreferences {
            time_zone: "Mars/Olympus".to_owned(),
            channels: r#"{"security":{"mail":false,"in_app":false}}"#.to_owned(),
        };
        let read = NotificationPreferences::from_stored(Some(&tampered), Locale::En);
        assert_eq!(read.channels(EventKind::Security), Channels::BOTH);
        assert_eq!(read.time_zone, chrono_tz::UTC);
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
