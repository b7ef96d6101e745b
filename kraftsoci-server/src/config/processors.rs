//! The processors: every outside service the configuration can make the server send data to
//! (P07, P37). The privacy information names exactly these; a test checks that every outbound
//! URL the configuration holds belongs to one of them, so a new outbound client cannot be added
//! without declaring its processor here.

use secrecy::ExposeSecret as _;
use serde::Serialize;
use url::Url;

use super::{Config, MailTransport, MediaUrl};

/// An outside service that processes personal data on the operator's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Processor {
    /// Meta Platforms (Facebook Login, the Instagram Graph API): tokens, the Instagram
    /// account id, page name, the posts the user publishes (P03, P08, P10).
    Meta,
    /// OpenAI: the business profile and the topic, nothing else (P11).
    OpenAi,
    /// Stripe: the customer id, subscriptions and invoices; card entry on its own pages (P05,
    /// P13).
    Stripe,
    /// The operator's mail relay: addresses and mail bodies (P38).
    Smtp,
    /// The operator's S3-compatible object store: generated images (P04).
    ObjectStore,
}

/// Every processor this server may be configured with.
pub const PROCESSORS: [Processor; 5] = [
    Processor::Meta,
    Processor::OpenAi,
    Processor::Stripe,
    Processor::Smtp,
    Processor::ObjectStore,
];

impl Processor {
    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Meta => "meta",
            Self::OpenAi => "openai",
            Self::Stripe => "stripe",
            Self::Smtp => "smtp",
            Self::ObjectStore => "object_store",
        }
    }

    /// Who it is and what it receives, for the privacy information.
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Meta => {
                "Meta Platforms: Facebook Login and the Instagram Graph API, to publish the \
                 posts the user approves"
            }
            Self::OpenAi => {
                "OpenAI: generates captions and images from the business profile and the topic \
                 only"
            }
            Self::Stripe => {
                "Stripe: payments, subscriptions and invoices; cards are entered at Stripe"
            }
            Self::Smtp => "the operator's mail relay: account and policy mails",
            Self::ObjectStore => "the operator's object store: the generated images",
        }
    }
}

/// One place the server can send data to, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// The processor.
    pub processor: Processor,
    /// Scheme and host (and port), never a path, user or password.
    pub origin: String,
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl Config {
    /// Every destination this configuration can make the server send data to: the Graph
    /// API and the login dialog, OpenAI, Stripe, the SMTP relay when one is set and the S3
    /// bucket when images live there. Local directories and the outbox are not destinations.
    pub fn outbound_destinations(&self) -> Vec<Destination> {
        let mut out = vec![
            Destination {
                processor: Processor::Meta,
                origin: origin(&self.meta.graph_url),
            },
            Destination {
                processor: Processor::Meta,
                origin: origin(&self.meta.dialog_url),
            },
            Destination {
                processor: Processor::OpenAi,
                origin: origin(&self.openai.base_url),
            },
            Destination {
                processor: Processor::Stripe,
                origin: origin(&self.stripe.api_base),
            },
        ];
        if let MailTransport::Smtp(url) = &self.mail.transport
            && let Ok(url) = Url::parse(url.expose_secret())
        {
            out.push(Destination {
                processor: Processor::Smtp,
                origin: format!(
                    "{}://{}{}",
                    url.scheme(),
                    url.host_str().unwrap_or(""),
                    url.port().map_or_else(String::new, |p| format!(":{p}"))
                ),
            });
        }
        if let MediaUrl::S3 { bucket, .. } = &self.media_url {
            out.push(Destination {
                processor: Processor::ObjectStore,
                origin: format!("s3://{bucket}"),
            });
        }
        out
    }

    /// The processors this configuration actually uses, each once, in [`PROCESSORS`] order.
    pub fn processors_in_use(&self) -> Vec<Processor> {
        let used = self.outbound_destinations();
        PROCESSORS
            .into_iter()
            .filter(|p| used.iter().any(|d| d.processor == *p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn production_with_everything() -> Config {
        let vars: HashMap<&str, &str> = [
            ("KRAFTSOCI_ENV", "production"),
            // The default SQLite database needs its opt-in in production; the database is no
            // outbound processor either way.
            ("KRAFTSOCI_ALLOW_SQLITE", "1"),
            ("KRAFTSOCI_PUBLIC_URL", "https://api.example.com"),
            ("KRAFTSOCI_FRONTEND_URL", "https://app.example.com"),
            ("KRAFTSOCI_JWT_SECRET", "0123456789abcdef0123456789abcdef-jwt"),
            (
                "KRAFTSOCI_TOKEN_KEYS",
                "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
            ("KRAFTSOCI_MEDIA_URL", "s3://kraftsoci-media/images"),
            (
                "KRAFTSOCI_SMTP_URL",
                "smtps://mailer:mail-password@smtp.mail.example.net:465",
            ),
            ("META_APP_ID", "123"),
            ("META_APP_SECRET", "meta-secret-value"),
            ("OPENAI_API_KEY", "sk-openai-secret-value"),
            ("STRIPE_SECRET_KEY", "sk_test_stripe-secret-value"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_stripe-webhook-value"),
            (
                "KRAFTSOCI_PLANS",
                r#"[{"name":"starter","price_id":"price_1Q","monthly_posts":60,"monthly_images":30}]"#,
            ),
        ]
        .into_iter()
        .collect();
        Config::from_lookup(|name| vars.get(name).map(|v| (*v).to_owned())).unwrap()
    }

    /// Every URL held anywhere in the configuration, read from its debug output (a `Url`
    /// prints as `Url { scheme: "https", …, host: Some(Domain("api.stripe.com")), port:
    /// None, … }`): whatever field a future client adds, its base URL shows up here.
    fn urls_in(config: &Config) -> Vec<String> {
        let text = format!("{config:?}");
        let quoted = |rest: &str, after: &str| -> Option<String> {
            let start = rest.find(after)? + after.len();
            let end = rest[start..].find('"')?;
            Some(rest[start..start + end].to_owned())
        };
        let mut urls = Vec::new();
        for (start, _) in text.match_indices("Url { scheme: ") {
            let rest = &text[start..];
            let end = rest.find('}').unwrap_or(rest.len());
            let one = &rest[..end];
            let scheme = quoted(one, "scheme: \"").unwrap_or_default();
            let host = quoted(one, "Domain(\"")
                .or_else(|| {
                    one.find("Ipv4(")
                        .map(|at| one[at + 5..].split(')').next().unwrap_or("").to_owned())
                })
                .unwrap_or_default();
            let port = one
                .find("port: Some(")
                .map(|at| format!(":{}", one[at + 11..].split(')').next().unwrap_or("")))
                .unwrap_or_default();
            urls.push(format!("{scheme}://{host}{port}"));
        }
        urls
    }

    #[test]
    fn every_outbound_url_the_configuration_holds_belongs_to_a_declared_processor() {
        let config = production_with_everything();
        let declared = config.outbound_destinations();
        // The server's own addresses: where browsers and Meta's fetcher come to us.
        let own = [
            origin(&config.public_url),
            origin(&config.frontend_url),
            origin(&config.meta.redirect_uri),
        ];
        let urls = urls_in(&config);
        assert!(urls.len() >= 5, "the debug output lists the URLs: {urls:?}");
        for at in urls {
            let url = &at;
            assert!(
                own.contains(&at) || declared.iter().any(|d| d.origin == at),
                "{url} is neither this server nor a declared processor: declare it in \
                 config/processors.rs (and in the privacy information) or do not call it"
            );
        }
        // The production defaults are the processors' own hosts.
        let origins: Vec<(&str, &str)> = declared
            .iter()
            .map(|d| (d.processor.as_str(), d.origin.as_str()))
            .collect();
        assert!(
            origins.contains(&("meta", "https://graph.facebook.com")),
            "{origins:?}"
        );
        assert!(
            origins.contains(&("openai", "https://api.openai.com")),
            "{origins:?}"
        );
        assert!(
            origins.contains(&("stripe", "https://api.stripe.com")),
            "{origins:?}"
        );
        assert!(
            origins.contains(&("smtp", "smtps://smtp.mail.example.net:465")),
            "{origins:?}"
        );
        assert!(
            origins.contains(&("object_store", "s3://kraftsoci-media")),
            "{origins:?}"
        );
        assert_eq!(config.processors_in_use(), PROCESSORS.to_vec());
    }

    #[test]
    fn a_destination_never_carries_the_smtp_password_or_user() {
        let config = production_with_everything();
        let text = serde_json::to_string(&config.outbound_destinations()).unwrap();
        assert!(!text.contains("mail-password"), "{text}");
        assert!(!text.contains("mailer"), "{text}");
    }

    #[test]
    fn development_sends_nothing_to_a_mail_relay_or_bucket() {
        let config = Config::development();
        let used = config.processors_in_use();
        assert!(!used.contains(&Processor::Smtp), "{used:?}");
        assert!(!used.contains(&Processor::ObjectStore), "{used:?}");
    }
}
