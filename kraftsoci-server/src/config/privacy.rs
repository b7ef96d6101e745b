//! Who is responsible for the data and how to reach them (`KRAFTSOCI_PRIVACY_*`): what
//! `GET /v1/privacy` and `/.well-known/security.txt` publish.

use super::ConfigError;
use super::loader::Loader;

/// The controller and its contact address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacySettings {
    /// `KRAFTSOCI_PRIVACY_CONTROLLER`: the controller's name (default `kraftsoci`).
    pub controller: String,
    /// `KRAFTSOCI_PRIVACY_CONTACT`: the address for privacy requests, complaints and security
    /// reports (default: the address of `KRAFTSOCI_MAIL_FROM`, which the operator controls).
    pub contact: String,
}

/// Whether `value` looks like one plain mail address (no display name, no spaces).
fn is_address(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && (domain.contains('.') || domain == "localhost")
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | ','))
        && !domain.contains('@')
}

/// The address inside a mailbox such as `kraftsoci <no-reply@example.com>`.
fn address_of(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(start), Some(end)) if start < end => &mailbox[start + 1..end],
        _ => mailbox.trim(),
    }
}

/// The privacy settings; `mail_from` is the sender mailbox already checked.
pub(super) fn load<F: Fn(&str) -> Option<String>>(
    loader: &Loader<F>,
    mail_from: &str,
) -> Result<PrivacySettings, ConfigError> {
    let contact = loader
        .get("KRAFTSOCI_PRIVACY_CONTACT")
        .unwrap_or_else(|| address_of(mail_from).to_owned());
    if !is_address(&contact) {
        return Err(ConfigError::new(
            "KRAFTSOCI_PRIVACY_CONTACT",
            "must be one mail address, e.g. privacy@example.com",
        ));
    }
    let controller = loader
        .get("KRAFTSOCI_PRIVACY_CONTROLLER")
        .unwrap_or_else(|| "kraftsoci".to_owned());
    if controller.chars().count() > 200 || controller.chars().any(char::is_control) {
        return Err(ConfigError::new(
            "KRAFTSOCI_PRIVACY_CONTROLLER",
            "must be a name of at most 200 characters",
        ));
    }
    Ok(PrivacySettings {
        controller,
        contact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contact_is_one_plain_address_defaulting_to_the_senders() {
        assert!(is_address("privacy@example.com"));
        assert!(is_address("no-reply@localhost"));
        for bad in [
            "",
            "privacy",
            "@example.com",
            "privacy@",
            "a b@example.com",
            "Privacy <privacy@example.com>",
            "a@b@example.com",
            "privacy@example.",
        ] {
            assert!(!is_address(bad), "{bad}");
        }
        assert_eq!(
            address_of("kraftsoci <no-reply@example.com>"),
            "no-reply@example.com"
        );
        assert_eq!(address_of("ops@example.com"), "ops@example.com");
    }
}
