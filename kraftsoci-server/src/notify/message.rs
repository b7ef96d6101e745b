//! What an event says: the in-app notice's sentence and the mail (subject, plain text and
//! HTML), in the owner's language, from the messages in `locales/*/notify.ftl` and the
//! templates `templates/mail/notify.{txt,html}`.

use std::collections::BTreeMap;

use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use url::Url;

use super::EventKind;
use crate::i18n::{Args, Locale, format};

/// A mail to send: subject, plain text and HTML alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

#[derive(Template)]
#[template(path = "mail/notify.txt")]
struct TextMail<'a> {
    greeting: &'a str,
    body: &'a str,
    action_label: &'a str,
    action_url: Option<&'a str>,
    footer: &'a str,
    footer_mandatory: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notify.html")]
struct HtmlMail<'a> {
    lang: &'a str,
    subject: &'a str,
    greeting: &'a str,
    body: &'a str,
    action_label: &'a str,
    action_url: Option<&'a str>,
    footer: &'a str,
    footer_mandatory: &'a str,
}

/// The message `{prefix}-{part}` of `kind`.
fn message_key(kind: EventKind, part: &str) -> String {
    format!("{}-{part}", kind.message_prefix())
}

fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    params.get(name).map_or("", String::as_str)
}

/// The event's sentence (the notice's text and the mail's paragraph).
pub fn sentence(
    kind: EventKind,
    params: &BTreeMap<String, String>,
    locale: Locale,
    zone: Tz,
) -> String {
    let number = |name: &str| param(params, name).parse::<u32>().unwrap_or(0);
    let quota = match param(params, "quota") {
        "images" => locale.t("notify-quota-images"),
        _ => locale.t("notify-quota-posts"),
    };
    let time = DateTime::parse_from_rfc3339(param(params, "scheduled_for"))
        .map(|at| format::date_time(locale, zone, at.with_timezone(&Utc)))
        .unwrap_or_default();
    let args = Args::new()
        .text("reason", param(params, "reason"))
        .text("time", time)
        .text("quota", quota)
        .number("used", number("used"))
        .number("limit", number("limit"));
    locale.t_with(&message_key(kind, "body"), &args)
}

/// The absolute form of a notice link: a path of the web app joined to the public URL.
pub fn absolute_link(link: &str, public_url: &Url) -> Option<String> {
    if link.starts_with('/') {
        public_url.join(link).ok().map(String::from)
    } else {
        Url::parse(link).ok().map(String::from)
    }
}

/// The mail of an event for `name`.
pub fn mail(
    kind: EventKind,
    params: &BTreeMap<String, String>,
    link: Option<&str>,
    name: &str,
    locale: Locale,
    zone: Tz,
    public_url: &Url,
) -> RenderedMail {
    let subject = locale.t(&message_key(kind, "subject"));
    let greeting = locale.t_with("notify-greeting", &Args::new().text("name", name));
    let body = sentence(kind, params, locale, zone);
    let action_label = locale.t(&message_key(kind, "action"));
    let action_url = link.and_then(|link| absolute_link(link, public_url));
    let settings = public_url
        .join("/settings/notifications")
        .map_or_else(|_| public_url.to_string(), String::from);
    let footer = locale.t_with("notify-footer", &Args::new().text("settings", settings));
    let footer_mandatory = locale.t("notify-footer-mandatory");
    let text = TextMail {
        greeting: &greeting,
        body: &body,
        action_label: &action_label,
        action_url: action_url.as_deref(),
        footer: &footer,
        footer_mandatory: &footer_mandatory,
    }
    .render()
    .unwrap_or_else(|_| body.clone());
    let html = HtmlMail {
        lang: locale.tag(),
        subject: &subject,
        greeting: &greeting,
        body: &body,
        action_label: &action_label,
        action_url: action_url.as_deref(),
        footer: &footer,
        footer_mandatory: &footer_mandatory,
    }
    .render()
    .unwrap_or_else(|_| body.clone());
    RenderedMail {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Catalog;

    #[test]
    fn every_event_has_its_messages_in_both_languages() {
        for locale in Locale::ALL {
            for kind in EventKind::ALL {
                for part in ["subject", "body", "action"] {
                    let key = message_key(kind, part);
                    assert!(
                        Catalog::get().has(locale, &key),
                        "{key} missing in {locale}"
                    );
                }
                let event = format!("notify-event-{}", kind.as_str().replace('_', "-"));
                assert!(
                    Catalog::get().has(locale, &event),
                    "{event} missing in {locale}"
                );
            }
        }
    }

    #[test]
    fn a_failure_mail_names_the_reason_links_the_post_and_escapes_html() {
        let params = BTreeMap::from([("reason".to_owned(), "the image is <too small>".to_owned())]);
        let public = Url::parse("https://app.example.com").unwrap();
        let mail = mail(
            EventKind::PublishFailed,
            &params,
            Some("/posts/42"),
            "Ada",
            Locale::En,
            chrono_tz::UTC,
            &public,
        );
        assert_eq!(mail.subject, "Your post could not be published");
        assert!(mail.text.contains("Hello Ada,"));
        assert!(mail.text.contains("the image is <too small>"));
        assert!(mail.text.contains("https://app.example.com/posts/42"));
        assert!(
            mail.html.contains("the image is &#60;too small&#62;")
                || mail.html.contains("&lt;too small&gt;")
        );
        assert!(!mail.html.contains("<too small>"));
        let turkish = super::mail(
            EventKind::PublishFailed,
            &params,
            None,
            "Ada",
            Locale::Tr,
            chrono_tz::UTC,
            &public,
        );
        assert_eq!(turkish.subject, "Gönderiniz yayımlanamadı");
        assert!(turkish.html.contains("lang=\"tr\""));
    }
}
