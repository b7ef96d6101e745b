//! The outside services the server talks to: media storage, Facebook Login and the Graph API,
//! OpenAI, Stripe and outgoing mail.

use std::path::PathBuf;
use std::str::FromStr;

use secrecy::SecretString;
use url::Url;

/// `KRAFTSOCI_MEDIA_URL`: where image bytes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaUrl {
    /// A local directory (`file:///var/lib/kraftsoci/media`, `file://./media`).
    Directory(PathBuf),
    /// An S3-compatible bucket (`s3://bucket/prefix`); credentials come from the standard
    /// `AWS_*` variables.
    S3 {
        /// The bucket.
        bucket: String,
        /// A key prefix inside it (may be empty).
        prefix: String,
    },
}

impl FromStr for MediaUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("file://") {
            if path.is_empty() {
                return Err("file:// needs a directory".to_owned());
            }
            return Ok(Self::Directory(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3:// needs a bucket name".to_owned());
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        Err("must be file:///dir or s3://bucket/prefix".to_owned())
    }
}

/// Facebook Login and the Graph API (`META_*`).
#[derive(Debug, Clone)]
pub struct MetaConfig {
    /// `META_APP_ID`.
    pub app_id: Option<String>,
    /// `META_APP_SECRET`.
    pub app_secret: Option<SecretString>,
    /// `META_REDIRECT_URI`; defaults to `{KRAFTSOCI_PUBLIC_URL}/v1/instagram/callback`.
    pub redirect_uri: Url,
    /// `META_GRAPH_URL`.
    pub graph_url: Url,
    /// `META_GRAPH_VERSION`, e.g. `v25.0`.
    pub graph_version: String,
    /// `META_DIALOG_URL`.
    pub dialog_url: Url,
}

/// OpenAI (`OPENAI_*`).
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_API_KEY`.
    pub api_key: Option<SecretString>,
    /// `OPENAI_BASE_URL`.
    pub base_url: Url,
}

/// Stripe (`STRIPE_*`).
#[derive(Debug, Clone)]
pub struct StripeConfig {
    /// `STRIPE_SECRET_KEY`.
    pub secret_key: Option<SecretString>,
    /// `STRIPE_WEBHOOK_SECRET`.
    pub webhook_secret: Option<SecretString>,
    /// `STRIPE_API_BASE`.
    pub api_base: Url,
}

/// How mail leaves the server.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// `KRAFTSOCI_SMTP_URL`, e.g. `smtps://user:pass@smtp.example.com:465` (it may carry a
    /// password, so it is secret).
    Smtp(SecretString),
    /// No SMTP configured: every mail is written as a file into this directory
    /// (`KRAFTSOCI_OUTBOX_DIR`, default `./outbox`).
    Outbox(PathBuf),
}

/// Outgoing mail.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The transport.
    pub transport: MailTransport,
    /// `KRAFTSOCI_MAIL_FROM`: the sender mailbox, e.g. `kraftsoci <no-reply@example.com>`.
    pub from: String,
}
