//! Graph error classification as data: one row per documented `code`/`error_subcode`, read in
//! one place so that every caller reacts to a failure the same way.
//!
//! Rows come from the contract's §3.2 (general codes), §3.3 (auth subcodes) and §3.5
//! (publishing errors). Classification is by `code`/`error_subcode`, never by HTTP status; the
//! status only helps when Meta sent no code at all.

use crate::error::ErrorKind;
use crate::usage::Usage;

/// What a failure means for the caller (the payload-free form of [`ErrorKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    ReconnectNeeded,
    PermissionMissing,
    RateLimited,
    PublishLimit,
    NotReady,
    RecreateContainer,
    Transient,
    MediaFetchFailed,
    InvalidMedia,
    AccountRestricted,
    InvalidRequest,
    Duplicate,
}

/// The codes a row matches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Codes {
    /// Any of these codes.
    Any(&'static [i64]),
    /// Every code in this inclusive range.
    Range(i64, i64),
}

impl Codes {
    fn contains(&self, code: i64) -> bool {
        match self {
            Self::Any(codes) => codes.contains(&code),
            Self::Range(low, high) => (*low..=*high).contains(&code),
        }
    }
}

/// One row of the classification table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// The `code`s the row applies to.
    pub(crate) codes: Codes,
    /// The `error_subcode` it applies to; `None` matches any subcode not listed elsewhere.
    pub(crate) subcode: Option<i64>,
    /// What the caller should do.
    pub(crate) class: Class,
    /// Meta's meaning, in words an owner can read.
    pub(crate) meaning: &'static str,
    /// Whether a `media_publish` failing this way may nevertheless have published the post
    /// (4/2207051: the post was live in public reports), so the container must be read first.
    pub(crate) publish_may_have_happened: bool,
}

const fn row(codes: Codes, subcode: Option<i64>, class: Class, meaning: &'static str) -> Rule {
    Rule {
        codes,
        subcode,
        class,
        meaning,
        publish_may_have_happened: false,
    }
}

const AUTH: Codes = Codes::Any(&[102, 190]);

/// The table. Rows with a subcode win over rows without one.
#[rustfmt::skip]
pub(crate) static RULES: &[Rule] = &[
    // §3.2 general Graph codes.
    row(Codes::Any(&[1]), None, Class::Transient, "unknown error, retry later"),
    row(Codes::Any(&[2]), None, Class::Transient, "service temporarily unavailable"),
    row(Codes::Any(&[3]), None, Class::InvalidRequest, "the app lacks the capability for this method"),
    row(Codes::Any(&[4]), None, Class::RateLimited, "application request limit reached"),
    row(Codes::Any(&[17]), None, Class::RateLimited, "user request limit reached"),
    row(Codes::Any(&[32]), None, Class::RateLimited, "page request limit reached"),
    row(Codes::Any(&[613]), None, Class::RateLimited, "custom rate limit reached"),
    row(Codes::Any(&[341]), None, Class::RateLimited, "application limit reached"),
    row(Codes::Any(&[80001]), None, Class::RateLimited, "page business use case limit reached"),
    row(Codes::Any(&[80002]), None, Class::RateLimited, "instagram business use case limit reached"),
    row(Codes::Any(&[10]), None, Class::PermissionMissing, "a permission is missing"),
    row(Codes::Range(200, 299), None, Class::PermissionMissing, "a permission is missing or was removed"),
    row(Codes::Any(&[100]), None, Class::InvalidRequest, "invalid parameter"),
    row(Codes::Any(&[102]), None, Class::ReconnectNeeded, "the session is invalid"),
    row(Codes::Any(&[190]), None, Class::ReconnectNeeded, "the access token is invalid"),
    row(Codes::Any(&[368]), None, Class::RateLimited, "temporarily blocked for policy reasons"),
    row(Codes::Any(&[506]), None, Class::Duplicate, "duplicate post"),
    row(Codes::Any(&[1609005]), None, Class::InvalidRequest, "the link could not be posted"),
    // §3.3 auth subcodes (code 190 or 102): terminal for the token.
    row(AUTH, Some(458), Class::ReconnectNeeded, "the app is not installed for this user"),
    row(AUTH, Some(459), Class::ReconnectNeeded, "the user is checkpointed and must log in at facebook.com"),
    row(AUTH, Some(460), Class::ReconnectNeeded, "the password was changed"),
    row(AUTH, Some(463), Class::ReconnectNeeded, "the access token has expired"),
    row(AUTH, Some(464), Class::ReconnectNeeded, "the user is not confirmed"),
    row(AUTH, Some(467), Class::ReconnectNeeded, "the access token is invalid"),
    row(AUTH, Some(492), Class::ReconnectNeeded, "the session is invalid (for example after a page role change)"),
    // §3.5 publishing errors.
    // Meta could not download image_url/video_url: the media host may be restarting, so these
    // are retried with back-off for a bounded time (never failed for good at once).
    row(Codes::Any(&[-2]), Some(2207003), Class::MediaFetchFailed, "the media download timed out"),
    row(Codes::Any(&[-2]), Some(2207020), Class::RecreateContainer, "the container has expired"),
    row(Codes::Any(&[-1]), Some(2207001), Class::Transient, "instagram server error"),
    row(Codes::Any(&[-1]), Some(2207032), Class::Transient, "creating the container failed"),
    row(Codes::Any(&[-1]), Some(2207053), Class::RecreateContainer, "unknown upload error"),
    row(Codes::Any(&[1]), Some(2207057), Class::InvalidMedia, "thumb_offset is outside the video"),
    Rule {
        publish_may_have_happened: true,
        ..row(Codes::Any(&[4]), Some(2207051), Class::AccountRestricted, "instagram restricted this activity (spam protection)")
    },
    row(Codes::Any(&[9]), Some(2207042), Class::PublishLimit, "the daily publishing limit is reached"),
    row(Codes::Any(&[24]), Some(2207006), Class::RecreateContainer, "the media was not found (permission or expired token)"),
    row(Codes::Any(&[24]), Some(2207008), Class::NotReady, "the media builder is missing or expired (temporary)"),
    row(Codes::Any(&[25]), Some(2207050), Class::AccountRestricted, "the instagram account is restricted or checkpointed"),
    row(Codes::Any(&[100]), Some(2207023), Class::InvalidRequest, "unknown media type"),
    row(Codes::Any(&[100]), Some(2207028), Class::InvalidMedia, "a carousel needs 2 to 10 items"),
    row(Codes::Any(&[100]), Some(2207035), Class::InvalidMedia, "product tags are not allowed here"),
    row(Codes::Any(&[100]), Some(2207036), Class::InvalidMedia, "a product tag is invalid"),
    row(Codes::Any(&[100]), Some(2207037), Class::InvalidMedia, "too many product tags"),
    row(Codes::Any(&[100]), Some(2207040), Class::InvalidMedia, "more than 20 @mentions"),
    row(Codes::Any(&[352]), Some(2207026), Class::InvalidMedia, "unsupported video format (MOV or MP4 only)"),
    row(Codes::Any(&[9004]), Some(2207052), Class::MediaFetchFailed, "the media could not be fetched from its URL"),
    row(Codes::Any(&[9007]), Some(2207027), Class::NotReady, "the media is not ready for publishing"),
    row(Codes::Any(&[36000]), Some(2207004), Class::InvalidMedia, "the image is larger than 8 MiB"),
    row(Codes::Any(&[36001]), Some(2207005), Class::InvalidMedia, "unsupported image format (JPEG only)"),
    row(Codes::Any(&[36003]), Some(2207009), Class::InvalidMedia, "the aspect ratio is outside 4:5 to 1.91:1"),
    row(Codes::Any(&[36004]), Some(2207010), Class::InvalidMedia, "the caption is too long (2200 characters, 30 hashtags, 20 mentions)"),
    // The same publishing codes when Meta leaves the subcode out.
    row(Codes::Any(&[-1, -2]), None, Class::Transient, "instagram server error"),
    row(Codes::Any(&[9]), None, Class::PublishLimit, "the publishing limit is reached"),
    row(Codes::Any(&[24]), None, Class::RecreateContainer, "the media was not found"),
    row(Codes::Any(&[25]), None, Class::AccountRestricted, "the instagram account is restricted"),
    row(Codes::Any(&[352]), None, Class::InvalidMedia, "unsupported video format"),
    row(Codes::Any(&[9004]), None, Class::MediaFetchFailed, "the media could not be fetched from its URL"),
    row(Codes::Any(&[9007]), None, Class::NotReady, "the media is not ready for publishing"),
    row(Codes::Range(36000, 36004), None, Class::InvalidMedia, "the image or caption was refused"),
];

/// The row for a code and subcode: an exact subcode row first, then the code's general row.
pub(crate) fn lookup(code: i64, subcode: Option<i64>) -> Option<&'static Rule> {
    let matching = |want: Option<i64>| {
        RULES
            .iter()
            .find(|r| r.codes.contains(code) && r.subcode == want)
    };
    subcode
        .and_then(|s| matching(Some(s)))
        .or_else(|| matching(None))
}

/// The row for a subcode found in free text, such as a container's `status` on `ERROR`
/// (its format is undocumented, so any `2207xxx` number in it is tried).
pub(crate) fn lookup_in_text(text: &str) -> Option<&'static Rule> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| run.len() == 7 && run.starts_with("2207"))
        .filter_map(|run| run.parse::<i64>().ok())
        .find_map(|subcode| RULES.iter().find(|r| r.subcode == Some(subcode)))
}

/// Everything the classifier looks at.
pub(crate) struct Observed<'a> {
    pub(crate) code: Option<i64>,
    pub(crate) subcode: Option<i64>,
    pub(crate) http_status: u16,
    pub(crate) is_transient: Option<bool>,
    pub(crate) message: Option<&'a str>,
    pub(crate) usage: &'a Usage,
}

/// Classifies an observed Graph error into the kind a caller acts on.
pub(crate) fn classify(observed: &Observed<'_>) -> (ErrorKind, Option<&'static Rule>) {
    let rule = observed
        .code
        .and_then(|code| lookup(code, observed.subcode));
    let class = match rule {
        Some(rule) => Some(rule.class),
        None if observed.is_transient == Some(true) => Some(Class::Transient),
        None if observed.http_status >= 500 => Some(Class::Transient),
        None if observed.http_status == 429 => Some(Class::RateLimited),
        None => None,
    };
    let kind = match class {
        Some(class) => kind_of(class, rule.map(|r| r.meaning), observed),
        None => ErrorKind::Unknown,
    };
    (kind, rule)
}

/// Turns a class into the caller-facing kind, filling in what the context tells.
pub(crate) fn kind_of(class: Class, meaning: Option<&str>, observed: &Observed<'_>) -> ErrorKind {
    match class {
        Class::ReconnectNeeded => ErrorKind::ReconnectNeeded {
            subcode: observed.subcode,
        },
        Class::PermissionMissing => ErrorKind::PermissionMissing {
            permission: observed.message.and_then(permission_named_in),
        },
        Class::RateLimited => ErrorKind::RateLimited {
            retry_after: observed.usage.regain_access_in(),
        },
        Class::PublishLimit => ErrorKind::PublishLimit { retry_after: None },
        Class::NotReady => ErrorKind::NotReady,
        Class::RecreateContainer => ErrorKind::RecreateContainer,
        Class::Transient => ErrorKind::Transient,
        Class::MediaFetchFailed => ErrorKind::MediaFetchFailed {
            reason: meaning
                .unwrap_or("the media could not be fetched")
                .to_owned(),
        },
        Class::InvalidMedia => ErrorKind::InvalidMedia {
            reason: meaning.unwrap_or("the media was refused").to_owned(),
        },
        Class::AccountRestricted => ErrorKind::AccountRestricted,
        Class::InvalidRequest => ErrorKind::InvalidRequest,
        Class::Duplicate => ErrorKind::Duplicate,
    }
}

/// Finds a permission name in Meta's message ("(#200) Requires instagram_content_publish…").
pub(crate) fn permission_named_in(message: &str) -> Option<String> {
    const OTHERS: [&str; 3] = ["business_management", "ads_management", "ads_read"];
    message
        .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .find(|word| {
            (word.starts_with("instagram_") || word.starts_with("pages_") || OTHERS.contains(word))
                && word.len() > "pages_".len()
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::usage::BusinessUseCaseUsage;

    fn kind(code: i64, subcode: Option<i64>) -> ErrorKind {
        classify(&Observed {
            code: Some(code),
            subcode,
            http_status: 400,
            is_transient: None,
            message: None,
            usage: &Usage::default(),
        })
        .0
    }

    fn media(reason: &str) -> ErrorKind {
        ErrorKind::InvalidMedia {
            reason: reason.to_owned(),
        }
    }

    fn fetch(reason: &str) -> ErrorKind {
        ErrorKind::MediaFetchFailed {
            reason: reason.to_owned(),
        }
    }

    const RATE: ErrorKind = ErrorKind::RateLimited { retry_after: None };
    const PERMISSION: ErrorKind = ErrorKind::PermissionMissing { permission: None };

    #[test]
    fn every_general_code_of_section_3_2_has_its_documented_class() {
        let expected = [
            (1, ErrorKind::Transient),
            (2, ErrorKind::Transient),
            (3, ErrorKind::InvalidRequest),
            (4, RATE),
            (17, RATE),
            (32, RATE),
            (613, RATE),
            (341, RATE),
            (80001, RATE),
            (80002, RATE),
            (10, PERMISSION),
            (200, PERMISSION),
            (250, PERMISSION),
            (299, PERMISSION),
            (100, ErrorKind::InvalidRequest),
            (102, ErrorKind::ReconnectNeeded { subcode: None }),
            (190, ErrorKind::ReconnectNeeded { subcode: None }),
            (368, RATE),
            (506, ErrorKind::Duplicate),
            (1609005, ErrorKind::InvalidRequest),
        ];
        for (code, want) in expected {
            assert_eq!(kind(code, None), want, "code {code}");
        }
    }

    #[test]
    fn every_auth_subcode_of_section_3_3_needs_a_reconnect_for_both_codes() {
        for code in [102, 190] {
            for subcode in [458, 459, 460, 463, 464, 467, 492] {
                assert_eq!(
                    kind(code, Some(subcode)),
                    ErrorKind::ReconnectNeeded {
                        subcode: Some(subcode)
                    },
                    "{code}/{subcode}"
                );
            }
        }
    }

    #[test]
    fn every_publishing_error_of_section_3_5_has_its_documented_class() {
        let expected = [
            (-2, 2207003, fetch("the media download timed out")),
            (-2, 2207020, ErrorKind::RecreateContainer),
            (-1, 2207001, ErrorKind::Transient),
            (-1, 2207032, ErrorKind::Transient),
            (-1, 2207053, ErrorKind::RecreateContainer),
            (1, 2207057, media("thumb_offset is outside the video")),
            (4, 2207051, ErrorKind::AccountRestricted),
            (9, 2207042, ErrorKind::PublishLimit { retry_after: None }),
            (24, 2207006, ErrorKind::RecreateContainer),
            (24, 2207008, ErrorKind::NotReady),
            (25, 2207050, ErrorKind::AccountRestricted),
            (100, 2207023, ErrorKind::InvalidRequest),
            (100, 2207028, media("a carousel needs 2 to 10 items")),
            (100, 2207035, media("product tags are not allowed here")),
            (100, 2207036, media("a product tag is invalid")),
            (100, 2207037, media("too many product tags")),
            (100, 2207040, media("more than 20 @mentions")),
            (
                352,
                2207026,
                media("unsupported video format (MOV or MP4 only)"),
            ),
            (
                9004,
                2207052,
                fetch("the media could not be fetched from its URL"),
            ),
            (9007, 2207027, ErrorKind::NotReady),
            (36000, 2207004, media("the image is larger than 8 MiB")),
            (
                36001,
                2207005,
                media("unsupported image format (JPEG only)"),
            ),
            (
                36003,
                2207009,
                media("the aspect ratio is outside 4:5 to 1.91:1"),
            ),
            (
                36004,
                2207010,
                media("the caption is too long (2200 characters, 30 hashtags, 20 mentions)"),
            ),
        ];
        for (code, subcode, want) in expected {
            assert_eq!(kind(code, Some(subcode)), want, "{code}/{subcode}");
        }
    }

    #[test]
    fn only_the_spam_restriction_marks_a_publish_as_possibly_live() {
        let flagged: Vec<_> = RULES
            .iter()
            .filter(|r| r.publish_may_have_happened)
            .map(|r| r.subcode)
            .collect();
        assert_eq!(flagged, vec![Some(2207051)]);
    }

    #[test]
    fn a_media_fetch_failure_is_its_own_kind_with_or_without_a_subcode() {
        assert_eq!(
            kind(9004, None),
            fetch("the media could not be fetched from its URL")
        );
        assert!(matches!(
            kind(-2, Some(2207003)),
            ErrorKind::MediaFetchFailed { .. }
        ));
        assert_eq!(
            lookup_in_text("Error: Media download has failed (2207052)").map(|r| r.class),
            Some(Class::MediaFetchFailed)
        );
    }

    #[test]
    fn an_unlisted_subcode_falls_back_to_its_code_row() {
        assert_eq!(kind(100, Some(33)), ErrorKind::InvalidRequest);
        assert_eq!(
            kind(190, Some(1)),
            ErrorKind::ReconnectNeeded { subcode: Some(1) }
        );
    }

    #[test]
    fn without_a_known_code_the_transient_flag_and_http_status_decide() {
        let observe = |code, status, is_transient| {
            classify(&Observed {
                code,
                subcode: None,
                http_status: status,
                is_transient,
                message: None,
                usage: &Usage::default(),
            })
            .0
        };
        assert_eq!(observe(Some(777), 400, Some(true)), ErrorKind::Transient);
        assert_eq!(observe(Some(777), 400, Some(false)), ErrorKind::Unknown);
        assert_eq!(observe(None, 503, None), ErrorKind::Transient);
        assert_eq!(observe(None, 429, None), RATE);
        assert_eq!(observe(None, 400, None), ErrorKind::Unknown);
    }

    #[test]
    fn the_transient_flag_never_overrides_a_terminal_row() {
        let kind = classify(&Observed {
            code: Some(190),
            subcode: Some(463),
            http_status: 400,
            is_transient: Some(true),
            message: None,
            usage: &Usage::default(),
        })
        .0;
        assert_eq!(kind, ErrorKind::ReconnectNeeded { subcode: Some(463) });
    }

    #[test]
    fn rate_limits_carry_the_regain_time_from_the_business_header() {
        let usage = Usage {
            app: None,
            business: BusinessUseCaseUsage::parse(
                r#"{"1":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":7}]}"#,
            ),
        };
        let kind = classify(&Observed {
            code: Some(4),
            subcode: None,
            http_status: 400,
            is_transient: None,
            message: None,
            usage: &usage,
        })
        .0;
        assert_eq!(
            kind,
            ErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(420))
            }
        );
    }

    #[test]
    fn a_missing_permission_is_named_when_the_message_names_it() {
        assert_eq!(
            permission_named_in("(#200) Requires instagram_content_publish permission"),
            Some("instagram_content_publish".to_owned())
        );
        assert_eq!(
            permission_named_in("(#10) Application does not have permission for this action"),
            None
        );
    }

    #[test]
    fn a_subcode_in_a_container_status_text_is_found() {
        let rule =
            lookup_in_text("ERROR: Media upload has failed with error code 2207026").unwrap();
        assert_eq!(rule.meaning, "unsupported video format (MOV or MP4 only)");
        assert!(lookup_in_text("Error: 12345678 went wrong").is_none());
        assert!(lookup_in_text("").is_none());
    }
}
