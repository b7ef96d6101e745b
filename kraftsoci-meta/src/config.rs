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

/// The production host of resumable video uploads (`rupload`).
pub const DEFAULT_RUPLOAD_BASE_URL: &str = "https://rupload.facebook.com/";

/// Everything the client needs to talk to Meta: app credentials, hosts, the API version,
/// timeouts and the polling, publishing, usage and upload policies.
///
/// Built with [`MetaConfig::new`] (the full login flow) or [`MetaConfig::token_only`]
/// (publishing with a token obtained elsewhere), then adjusted with the `with_*` setters. The
/// values are checked when the client is built ([`crate::MetaClient::new`]), which refuses a
/// malformed API version, a base URL that is not http(s), or a policy value out of range.
///
/// `Debug` never prints the app secret (it is a [`SecretString`]).
///
/// ```
/// use std::time::Duration;
///
/// use kraftsoci_meta::{MetaConfig, PollPolicy};
/// use secrecy::SecretString;
///
/// let config = MetaConfig::token_only()
///     .with_app_secret(SecretString::from("app-secret"))
///     .with_api_version("v24.0")
///     .with_publish_timeout(Some(Duration::from_secs(180)))
///     .with_poll_policy(PollPolicy::default().with_max_wait(Duration::from_secs(600)));
/// assert_eq!(config.api_version(), "v24.0");
/// assert_eq!(config.poll_policy().max_wait(), Duration::from_secs(600));
/// ```
#[derive(Debug, Clone)]
pub struct MetaConfig {
    app_id: Option<String>,
    app_secret: Option<SecretString>,
    redirect_uri: Option<Url>,
    graph_base_url: Url,
    dialog_base_url: Url,
    rupload_base_url: Url,
    api_version: String,
    scopes: Vec<String>,
    required_permissions: Vec<String>,
    request_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    publish_timeout: Option<Duration>,
    poll: PollPolicy,
    publish: PublishPolicy,
    usage: UsagePolicy,
    upload: UploadPolicy,
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
            rupload_base_url: parse_constant(DEFAULT_RUPLOAD_BASE_URL),
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
            upload: UploadPolicy::default(),
        }
    }

    /// Sets the Meta app id (`client_id`), needed for the login dialog, the code exchange and
    /// `debug_token`.
    pub fn with_app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// Sets the app secret. With it, every Graph call carries an `appsecret_proof`; it is also
    /// needed for the code exchange, `fb_exchange_token`, `debug_token` and callback checks.
    pub fn with_app_secret(mut self, app_secret: SecretString) -> Self {
        self.app_secret = Some(app_secret);
        self
    }

    /// Sets the redirect URI registered in the app settings (the code exchange repeats it byte
    /// for byte).
    pub fn with_redirect_uri(mut self, redirect_uri: Url) -> Self {
        self.redirect_uri = Some(redirect_uri);
        self
    }

    /// Points Graph calls at another host (a wiremock server in tests). Default
    /// [`DEFAULT_GRAPH_BASE_URL`].
    pub fn with_graph_base_url(mut self, url: Url) -> Self {
        self.graph_base_url = url;
        self
    }

    /// Points the login dialog at another host. Default [`DEFAULT_DIALOG_BASE_URL`].
    pub fn with_dialog_base_url(mut self, url: Url) -> Self {
        self.dialog_base_url = url;
        self
    }

    /// Points resumable video uploads at another host (a wiremock server in tests). Default
    /// [`DEFAULT_RUPLOAD_BASE_URL`]. Tokens are only ever sent to this host for uploads,
    /// whatever upload address Meta names.
    pub fn with_rupload_base_url(mut self, url: Url) -> Self {
        self.rupload_base_url = url;
        self
    }

    /// Sets the Graph API version (`"vNN.N"`). Default [`DEFAULT_API_VERSION`].
    pub fn with_api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Sets the permissions the login dialog asks for. Default [`DEFAULT_SCOPES`].
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the permissions [`crate::MetaClient::check_permissions`] requires. Default
    /// [`REQUIRED_PERMISSIONS`].
    pub fn with_required_permissions<S: Into<String>>(
        mut self,
        permissions: impl IntoIterator<Item = S>,
    ) -> Self {
        self.required_permissions = permissions.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the deadline of one ordinary Graph call (`None`: no deadline). Default 30 s.
    pub fn with_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the deadline of establishing a connection, for the built-in HTTP client only
    /// (`None`: no deadline). Default 10 s.
    pub fn with_connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the deadline of a `media_publish` call (`None`: the request timeout applies).
    /// Default 120 s.
    pub fn with_publish_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Sets the timeouts of ordinary calls, of connecting, and of `media_publish` at once.
    ///
    /// `None` everywhere exists for tests on paused tokio time, where any pending deadline
    /// fires as soon as the runtime waits on a real socket.
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

    /// Sets the resumable upload policy.
    pub fn with_upload_policy(mut self, upload: UploadPolicy) -> Self {
        self.upload = upload;
        self
    }

    /// The Meta app id, when configured.
    pub fn app_id(&self) -> Option<&str> {
        self.app_id.as_deref()
    }

    /// The app secret, when configured.
    pub fn app_secret(&self) -> Option<&SecretString> {
        self.app_secret.as_ref()
    }

    /// The registered redirect URI, when configured.
    pub fn redirect_uri(&self) -> Option<&Url> {
        self.redirect_uri.as_ref()
    }

    /// The Graph host.
    pub fn graph_base_url(&self) -> &Url {
        &self.graph_base_url
    }

    /// The login dialog host.
    pub fn dialog_base_url(&self) -> &Url {
        &self.dialog_base_url
    }

    /// The resumable upload host.
    pub fn rupload_base_url(&self) -> &Url {
        &self.rupload_base_url
    }

    /// The Graph API version.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The permissions the login dialog asks for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The permissions that must be granted.
    pub fn required_permissions(&self) -> &[String] {
        &self.required_permissions
    }

    /// The deadline of one ordinary Graph call.
    pub fn request_timeout(&self) -> Option<Duration> {
        self.request_timeout
    }

    /// The deadline of establishing a connection (built-in HTTP client only).
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// The deadline of a `media_publish` call.
    pub fn publish_timeout(&self) -> Option<Duration> {
        self.publish_timeout
    }

    /// The polling policy.
    pub fn poll_policy(&self) -> PollPolicy {
        self.poll
    }

    /// The publishing policy.
    pub fn publish_policy(&self) -> PublishPolicy {
        self.publish
    }

    /// The usage policy.
    pub fn usage_policy(&self) -> UsagePolicy {
        self.usage
    }

    /// The resumable upload policy.
    pub fn upload_policy(&self) -> UploadPolicy {
        self.upload
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
///
/// [`crate::MetaClient::new`] refuses a multiplier below 1 and a jitter outside 0–1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    pub(crate) initial_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) multiplier: f64,
    pub(crate) jitter: f64,
    pub(crate) max_wait: Duration,
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

impl PollPolicy {
    /// Sets the first wait. Default 1 s (images usually finish in 1–5 s).
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the cap of one wait. Default 15 s.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets the growth factor between waits (at least 1). Default 2.
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets the fraction (0–1) of a wait that may be randomly cut, so that many workers do not
    /// poll in lockstep. Default 0.25.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the total waiting budget before giving up. Default 5 minutes.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The first wait.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The cap of one wait.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The growth factor between waits.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }

    /// The fraction of a wait that may be randomly cut.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// The total waiting budget.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }
}

/// How [`crate::MetaClient::publish`] and [`crate::MetaClient::publish_container`] (the
/// all-in-one path for callers that do not use kraftsoci-core) avoid double posts and wasted
/// calls.
///
/// The [`crate::GraphPublisher`] adapter uses none of these but `create_attempts` for carousel
/// children: it sends each request once and leaves quota, retries and reconciliation to
/// `kraftsoci_core::PublishOrchestrator`.
///
/// [`crate::MetaClient::new`] refuses `create_attempts` of 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishPolicy {
    pub(crate) check_quota: bool,
    pub(crate) fallback_quota_total: u32,
    pub(crate) reconcile_delay: Duration,
    pub(crate) reconcile_attempts: u32,
    pub(crate) not_ready_retries: u32,
    pub(crate) create_attempts: u32,
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

impl PublishPolicy {
    /// Sets whether `content_publishing_limit` is read before `media_publish` (a spent quota
    /// is then refused locally). Default `true`.
    pub fn with_check_quota(mut self, check: bool) -> Self {
        self.check_quota = check;
        self
    }

    /// Sets the cap assumed when Meta's answer has no `config.quota_total`. Default 50, the
    /// value most of Meta's pages give (the real cap is read at run time whenever Meta sends
    /// it).
    pub fn with_fallback_quota_total(mut self, total: u32) -> Self {
        self.fallback_quota_total = total;
        self
    }

    /// Sets how long to wait after an ambiguous `media_publish` failure before reading the
    /// container, so that Meta's side settles. Default 5 s.
    pub fn with_reconcile_delay(mut self, delay: Duration) -> Self {
        self.reconcile_delay = delay;
        self
    }

    /// Sets how many times the container is read to resolve an ambiguous failure. Default 3.
    pub fn with_reconcile_attempts(mut self, attempts: u32) -> Self {
        self.reconcile_attempts = attempts;
        self
    }

    /// Sets how many times "media not ready" (9007/2207027) is answered by polling and
    /// publishing again. Default 2.
    pub fn with_not_ready_retries(mut self, retries: u32) -> Self {
        self.not_ready_retries = retries;
        self
    }

    /// Sets how many times creating a container is attempted when Meta fails transiently (at
    /// least 1; the worst outcome of a retry is an orphan container). Default 3.
    pub fn with_create_attempts(mut self, attempts: u32) -> Self {
        self.create_attempts = attempts;
        self
    }

    /// Whether the quota is read before `media_publish`.
    pub fn check_quota(&self) -> bool {
        self.check_quota
    }

    /// The cap assumed when Meta does not send one.
    pub fn fallback_quota_total(&self) -> u32 {
        self.fallback_quota_total
    }

    /// The wait before reading the container after an ambiguous failure.
    pub fn reconcile_delay(&self) -> Duration {
        self.reconcile_delay
    }

    /// How many times the container is read to resolve an ambiguous failure.
    pub fn reconcile_attempts(&self) -> u32 {
        self.reconcile_attempts
    }

    /// How many times "media not ready" is answered by polling and publishing again.
    pub fn not_ready_retries(&self) -> u32 {
        self.not_ready_retries
    }

    /// How many times creating a container is attempted.
    pub fn create_attempts(&self) -> u32 {
        self.create_attempts
    }
}

/// How the client reacts to `X-App-Usage` and `X-Business-Use-Case-Usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsagePolicy {
    pub(crate) slow_down_at_percent: u32,
    pub(crate) slow_down_delay: Duration,
    pub(crate) fail_fast_while_throttled: bool,
    pub(crate) reading_ttl: Duration,
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

impl UsagePolicy {
    /// Sets the percentage of any usage figure from which calls are spaced out. Default 80.
    pub fn with_slow_down_at_percent(mut self, percent: u32) -> Self {
        self.slow_down_at_percent = percent;
        self
    }

    /// Sets the pause before each call while usage is at or above the threshold. Default 2 s.
    pub fn with_slow_down_delay(mut self, delay: Duration) -> Self {
        self.slow_down_delay = delay;
        self
    }

    /// Sets whether calls with a token Meta reports as throttled (with
    /// `estimated_time_to_regain_access`) fail locally instead of reaching Meta (calling while
    /// throttled prolongs the block). Default `true`.
    pub fn with_fail_fast_while_throttled(mut self, fail_fast: bool) -> Self {
        self.fail_fast_while_throttled = fail_fast;
        self
    }

    /// Sets how long a usage reading is trusted; Meta's windows are hourly. Default 1 h.
    pub fn with_reading_ttl(mut self, ttl: Duration) -> Self {
        self.reading_ttl = ttl;
        self
    }

    /// The percentage from which calls are spaced out.
    pub fn slow_down_at_percent(&self) -> u32 {
        self.slow_down_at_percent
    }

    /// The pause before each call at high usage.
    pub fn slow_down_delay(&self) -> Duration {
        self.slow_down_delay
    }

    /// Whether calls with a throttled token fail locally.
    pub fn fail_fast_while_throttled(&self) -> bool {
        self.fail_fast_while_throttled
    }

    /// How long a usage reading is trusted.
    pub fn reading_ttl(&self) -> Duration {
        self.reading_ttl
    }
}

/// How a resumable video upload ([`crate::MetaClient::upload_video`]) rides out interruptions.
///
/// An upload request that ends without Meta's answer (a dropped connection, a timeout, a 5xx,
/// an answer Meta marks retriable) is followed, after a back-off, by a status read that says how
/// many bytes Meta holds, and the upload resumes from there. Authentication and permission
/// failures, refusals of the media, and a file that changed are never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPolicy {
    pub(crate) max_retries: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) attempt_timeout: Option<Duration>,
}

impl Default for UploadPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            attempt_timeout: Some(Duration::from_secs(15 * 60)),
        }
    }
}

impl UploadPolicy {
    /// Sets how many interruptions (a failed upload request or a failed status read) one call
    /// rides out before it gives up with [`crate::MetaError::UploadInterrupted`]. Default 5.
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the wait before the first resumption; it doubles up to the maximum. Default 1 s.
    pub fn with_initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Sets the longest wait between two attempts. Default 30 s.
    pub fn with_max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// Sets the deadline of one upload request, body included (`None`: no deadline). Default
    /// 15 minutes: a 300 MB reel at about 3 Mbit/s. A request cut by it is resumed like a
    /// dropped connection, so a shorter deadline only costs a status read per cut.
    pub fn with_attempt_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// How many interruptions one call rides out.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before the first resumption.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The longest wait between two attempts.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The deadline of one upload request.
    pub fn attempt_timeout(&self) -> Option<Duration> {
        self.attempt_timeout
    }

    /// The wait before resumption number `attempt + 1` (0-based): doubling, capped.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.max_backoff)
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
            config.graph_base_url().as_str(),
            "https://graph.facebook.com/"
        );
        assert_eq!(
            config.dialog_base_url().as_str(),
            "https://www.facebook.com/"
        );
        assert_eq!(
            config.rupload_base_url().as_str(),
            "https://rupload.facebook.com/"
        );
        assert_eq!(config.api_version(), "v25.0");
    }

    #[test]
    fn the_default_scopes_are_exactly_the_five_publishing_permissions() {
        let config = MetaConfig::token_only();
        assert_eq!(
            config.scopes(),
            [
                "instagram_basic",
                "instagram_content_publish",
                "pages_show_list",
                "pages_read_engagement",
                "business_management",
            ]
        );
    }

    #[test]
    fn upload_back_offs_double_up_to_their_cap() {
        let policy = UploadPolicy::default()
            .with_initial_backoff(Duration::from_secs(1))
            .with_max_backoff(Duration::from_secs(10));
        let waits: Vec<u64> = (0..6).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 10, 10]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn setters_change_only_their_own_setting() {
        let config = MetaConfig::token_only()
            .with_app_id("42")
            .with_scopes(["instagram_basic"])
            .with_publish_timeout(None);
        assert_eq!(config.app_id(), Some("42"));
        assert_eq!(config.scopes(), ["instagram_basic"]);
        assert_eq!(config.publish_timeout(), None);
        assert_eq!(config.request_timeout(), Some(Duration::from_secs(30)));
        assert_eq!(config.required_permissions().len(), 4);
    }

    #[test]
    fn debug_output_never_contains_the_app_secret() {
        let config = MetaConfig::new(
            "123",
            SecretString::from("super-secret-value"),
            Url::parse("https://app.example/callback").unwrap(),
        );
        assert_eq!(
            config.app_secret().unwrap().expose_secret(),
            "super-secret-value"
        );
        assert!(!format!("{config:?}").contains("super-secret-value"));
    }
}
