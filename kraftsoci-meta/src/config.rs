//! Typed configuration of the Graph client: app credentials, hosts, timeouts and the
//! polling, publishing and usage policies.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// The Graph API version used when none is configured (the IG reference pages call it "latest").
pub const DEFAULT_API_VERSION: &str = "v25.0";

/// The production Graph host.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com/";

/// The production host of the Facebook Login dialog.
pub const DEFAULT_DIALOG_BASE_URL: &str = "https://www.facebook.com/";

/// The permissions the login dialog asks for by default (privacy promise P08: nothing more).
///
/// `business_management` is needed to read the publishing limit when the user's Page role was
/// granted through Business Manager.
pub const DEFAULT_SCOPES: [&str; 5] = [
    "instagram_basic",
    "instagram_content_publish",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
];

/// The permissions without which publishing cannot work; [`crate::MetaClient::check_permissions`]
/// reports any of them that is not granted.
pub const REQUIRED_PERMISSIONS: [&str; 4] = [
    "instagram_basic",
    "instagram_content_publish",
    "pages_show_list",
    "pages_read_engagement",
];

/// Everything the client needs to talk to Meta.
///
/// `Debug` never prints the app secret (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub struct MetaConfig {
    /// The Meta app id (`client_id`). Needed for the login dialog, the code exchange and
    /// `debug_token`; not needed to publish with a token obtained elsewhere.
    pub app_id: Option<String>,
    /// The app secret. When present, every Graph call carries an `appsecret_proof`; it is also
    /// needed for the code exchange, `fb_exchange_token`, `debug_token` and callback checks.
    pub app_secret: Option<SecretString>,
    /// The redirect URI registered in the app settings; the code exchange repeats it byte for
    /// byte.
    pub redirect_uri: Option<Url>,
    /// The Graph host (the test seam); default [`DEFAULT_GRAPH_BASE_URL`].
    pub graph_base_url: Url,
    /// The login dialog host; default [`DEFAULT_DIALOG_BASE_URL`].
    pub dialog_base_url: Url,
    /// The Graph API version, such as `"v25.0"`.
    pub api_version: String,
    /// The permissions the login dialog asks for; default [`DEFAULT_SCOPES`].
    pub scopes: Vec<String>,
    /// The permissions that must be granted; default [`REQUIRED_PERMISSIONS`].
    pub required_permissions: Vec<String>,
    /// Timeout of one HTTP call (`None`: no timeout). Default 30 s.
    pub request_timeout: Option<Duration>,
    /// Timeout of establishing a connection (`None`: no timeout). Default 10 s.
    pub connect_timeout: Option<Duration>,
    /// Timeout of a `media_publish` call, which Meta sometimes answers only after minutes.
    /// Default 120 s; `None`: `request_timeout` applies. A timeout here is an ambiguous outcome,
    /// resolved by reading the container.
    pub publish_timeout: Option<Duration>,
    /// How containers are polled until they are ready.
    pub poll: PollPolicy,
    /// How publishing guards against duplicates and spent quotas.
    pub publish: PublishPolicy,
    /// How the client reacts to Meta's usage headers.
    pub usage: UsagePolicy,
}

impl MetaConfig {
    /// A configuration for the full Facebook Login flow, with production hosts and defaults.
    pub fn new(app_id: impl Into<String>, app_secret: SecretString, redirect_uri: Url) -> Self {
        Self {
            app_id: Some(app_id.into()),
            app_secret: Some(app_secret),
            redirect_uri: Some(redirect_uri),
            ..Self::token_only()
        }
    }

    /// A configuration for calls made with a token obtained elsewhere (no app credentials):
    /// publishing works, the login flow does not. Add the app secret with
    /// [`MetaConfig::with_app_secret`] when the app requires `appsecret_proof`.
    pub fn token_only() -> Self {
        Self {
            app_id: None,
            app_secret: None,
            redirect_uri: None,
            graph_base_url: parse_constant(DEFAULT_GRAPH_BASE_URL),
            dialog_base_url: parse_constant(DEFAULT_DIALOG_BASE_URL),
            api_version: DEFAULT_API_VERSION.to_owned(),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            required_permissions: REQUIRED_PERMISSIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            request_timeout: Some(Duration::from_secs(30)),
            connect_timeout: Some(Duration::from_secs(10)),
            publish_timeout: Some(Duration::from_secs(120)),
            poll: PollPolicy::default(),
            publish: PublishPolicy::default(),
            usage: UsagePolicy::default(),
        }
    }

    /// Sets the app secret (enables `appsecret_proof`).
    pub fn with_app_secret(mut self, app_secret: SecretString) -> Self {
        self.app_secret = Some(app_secret);
        self
    }

    /// Points Graph calls at another host (a wiremock server in tests).
    pub fn with_graph_base_url(mut self, url: Url) -> Self {
        self.graph_base_url = url;
        self
    }

    /// Points the login dialog at another host.
    pub fn with_dialog_base_url(mut self, url: Url) -> Self {
        self.dialog_base_url = url;
        self
    }

    /// Sets the Graph API version (`"vNN.N"`).
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Sets the polling policy.
    pub fn with_poll_policy(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    /// Sets the publishing policy.
    pub fn with_publish_policy(mut self, publish: PublishPolicy) -> Self {
        self.publish = publish;
        self
    }

    /// Sets the usage policy.
    pub fn with_usage_policy(mut self, usage: UsagePolicy) -> Self {
        self.usage = usage;
        self
    }

    /// Sets the timeouts of ordinary calls, of connecting, and of `media_publish`.
    pub fn with_timeouts(
        mut self,
        request: Option<Duration>,
        connect: Option<Duration>,
        publish: Option<Duration>,
    ) -> Self {
        self.request_timeout = request;
        self.connect_timeout = connect;
        self.publish_timeout = publish;
        self
    }
}

/// Parses one of this module's URL constants.
fn parse_constant(url: &str) -> Url {
    // Infallible: only called with the `DEFAULT_*_URL` constants above, which a unit test parses.
    Url::parse(url).expect("constant URL is valid")
}

/// Capped exponential backoff with jitter, used while a container is `IN_PROGRESS`.
///
/// The first status read happens at once; the n-th wait is
/// `min(initial_delay × multiplier^n, max_delay)`, shortened by up to `jitter` of itself. Polling
/// stops once the waits add up to `max_wait` (Meta suggests at most 5 minutes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    /// The first wait. Default 1 s (images usually finish in 1–5 s).
    pub initial_delay: Duration,
    /// The cap of one wait. Default 15 s.
    pub max_delay: Duration,
    /// The growth factor between waits (values below 1 are treated as 1). Default 2.
    pub multiplier: f64,
    /// The fraction (0–1) of a wait that may be randomly cut, so that many workers do not poll
    /// in lockstep. Default 0.25.
    pub jitter: f64,
    /// The total waiting budget before giving up. Default 5 minutes.
    pub max_wait: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15),
            multiplier: 2.0,
            jitter: 0.25,
            max_wait: Duration::from_secs(300),
        }
    }
}

/// How [`crate::MetaClient::publish`] and [`crate::MetaClient::publish_container`] (the
/// all-in-one path for callers that do not use kraftsoci-core) avoid double posts and wasted
/// calls.
///
/// The [`crate::GraphPublisher`] adapter uses none of these but `create_attempts` for carousel
/// children: it sends each request once and leaves quota, retries and reconciliation to
/// `kraftsoci_core::PublishOrchestrator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishPolicy {
    /// Whether `content_publishing_limit` is read before `media_publish` (a spent quota is then
    /// refused locally). Default `true`.
    pub check_quota: bool,
    /// The cap assumed when Meta's answer has no `config.quota_total`. Default 50, the value
    /// most of Meta's pages give (the real cap is read at run time whenever Meta sends it).
    pub fallback_quota_total: u32,
    /// How long to wait after an ambiguous `media_publish` failure before reading the container,
    /// so that Meta's side settles. Default 5 s.
    pub reconcile_delay: Duration,
    /// How many times the container is read to resolve an ambiguous failure. Default 3.
    pub reconcile_attempts: u32,
    /// How many times "media not ready" (9007/2207027) is answered by polling and publishing
    /// again. Default 2.
    pub not_ready_retries: u32,
    /// How many times creating a container is attempted when Meta fails transiently (the worst
    /// outcome of a retry is an orphan container). Default 3.
    pub create_attempts: u32,
}

impl Default for PublishPolicy {
    fn default() -> Self {
        Self {
            check_quota: true,
            fallback_quota_total: 50,
            reconcile_delay: Duration::from_secs(5),
            reconcile_attempts: 3,
            not_ready_retries: 2,
            create_attempts: 3,
        }
    }
}

/// How the client reacts to `X-App-Usage` and `X-Business-Use-Case-Usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsagePolicy {
    /// From this percentage of any usage figure on, calls are spaced out. Default 80.
    pub slow_down_at_percent: u32,
    /// The pause before each call while usage is at or above the threshold. Default 2 s.
    pub slow_down_delay: Duration,
    /// While Meta reports `estimated_time_to_regain_access` for a token, calls with that token
    /// fail locally instead of reaching Meta (calling while throttled prolongs the block).
    /// Default `true`.
    pub fail_fast_while_throttled: bool,
    /// How long a usage reading is trusted; Meta's windows are hourly. Default 1 h.
    pub reading_ttl: Duration,
}

impl Default for UsagePolicy {
    fn default() -> Self {
        Self {
            slow_down_at_percent: 80,
            slow_down_delay: Duration::from_secs(2),
            fail_fast_while_throttled: true,
            reading_ttl: Duration::from_secs(3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn the_default_hosts_are_meta_production_hosts() {
        let config = MetaConfig::token_only();
        assert_eq!(
            config.graph_base_url.as_str(),
            "https://graph.facebook.com/"
        );
        assert_eq!(config.dialog_base_url.as_str(), "https://www.facebook.com/");
        assert_eq!(config.api_version, "v25.0");
    }

    #[test]
    fn the_default_scopes_are_exactly_the_five_publishing_permissions() {
        let config = MetaConfig::token_only();
        assert_eq!(
            config.scopes,
            vec![
                "instagram_basic",
                "instagram_content_publish",
                "pages_show_list",
                "pages_read_engagement",
                "business_management",
            ]
        );
    }

    #[test]
    fn debug_output_never_contains_the_app_secret() {
        let config = MetaConfig::new(
            "123",
            SecretString::from("super-secret-value"),
            Url::parse("https://app.example/callback").unwrap(),
        );
        assert_eq!(
            config.app_secret.as_ref().unwrap().expose_secret(),
            "super-secret-value"
        );
        assert!(!format!("{config:?}").contains("super-secret-value"));
    }
}
