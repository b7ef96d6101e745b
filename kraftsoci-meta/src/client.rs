//! The Graph transport: one place that builds every request (Bearer token, `appsecret_proof`,
//! encoded parameters), reads the usage headers and turns error envelopes into [`MetaError`]s.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::Sha256;
use tokio::time::Instant;
use url::Url;

use crate::classify::{self, Observed};
use crate::config::MetaConfig;
use crate::error::{GraphError, MetaError};
use crate::usage::{Gate, TokenKey, Usage, UsageTracker, token_key};

/// `lowercase_hex(HMAC-SHA256(key = app_secret, msg = access_token))`: the proof Meta requires
/// on every call when "Require App Secret" is on. Each token (user or Page) has its own proof.
pub fn appsecret_proof(app_secret: &SecretString, access_token: &SecretString) -> String {
    // Infallible: HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.expose_secret().as_bytes())
        .expect("hmac accepts any key length");
    mac.update(access_token.expose_secret().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A client of the Instagram Graph API (Instagram API with Facebook Login).
///
/// Cheap to clone (the HTTP pool and usage readings are shared). Tokens travel only in the
/// `Authorization` header; responses' usage headers are tracked to slow down before Meta
/// throttles.
///
/// # Timeouts
///
/// Each deadline covers one request (connect, send and the whole answer) and is set on that
/// request, so it holds for a client given with [`MetaClient::with_http_client`] too:
///
/// | request | default | set with |
/// |---|---|---|
/// | an ordinary Graph call | 30 s | [`MetaConfig::with_request_timeout`] |
/// | `media_publish` (Meta sometimes answers after minutes; a timeout here is an ambiguous outcome, resolved by reading the container) | 120 s | [`MetaConfig::with_publish_timeout`] |
/// | one resumable upload request (a cut one is resumed) | 15 min | [`UploadPolicy::with_attempt_timeout`](crate::UploadPolicy::with_attempt_timeout) |
/// | establishing a connection (built-in client only) | 10 s | [`MetaConfig::with_connect_timeout`] |
///
/// The built-in client sets no other timeout, follows no redirect (Graph never redirects an
/// API call) and sends `User-Agent: kraftsoci-meta/<version>`.
///
/// # Example
///
/// From the login to a first image post:
///
/// ```no_run
/// use kraftsoci_core::ports::PublishAccount;
/// use kraftsoci_meta::{ImagePost, LoginCallback, MediaSpec, MetaClient, MetaConfig};
/// use secrecy::SecretString;
/// use url::Url;
///
/// # async fn run(redirect_query: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let client = MetaClient::new(MetaConfig::new(
///     "1234567890",
///     SecretString::from("app-secret"),
///     Url::parse("https://kraftsoci.example/connect/instagram/callback")?,
/// ))?;
///
/// // 1. Send the owner to Facebook Login; keep the state in their session.
/// let login = client.login_url("b9c4e1d2a7f0")?;
/// println!("redirect to {login}");
///
/// // 2. Facebook redirects back with a one-time code: exchange it.
/// let callback = LoginCallback::parse(redirect_query, "b9c4e1d2a7f0")?;
/// let short = client.exchange_code(&callback.code).await?;
/// let long = client.exchange_long_lived(&short.token).await?;
/// client.check_permissions(&long.token).await?;
/// let found = client.instagram_accounts(&long.token).await?;
/// let Some(ig) = found.accounts.into_iter().next() else {
///     return Err("no Instagram business account is linked to the owner's Pages".into());
/// };
///
/// // 3. Publish an image with the Page token (the owner clicked Publish).
/// let account = PublishAccount {
///     ig_user_id: ig.ig_user_id,
///     access_token: ig.page_access_token.unwrap_or(long.token),
/// };
/// let post = ImagePost::new("https://cdn.example/simit.jpg")
///     .with_caption("Fresh simit, straight from the oven #simit");
/// let published = client.publish(&account, &MediaSpec::Image(post)).await?;
/// println!("{:?} {:?}", published.result, published.permalink);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MetaClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: MetaConfig,
    usage: Mutex<UsageTracker>,
}

impl std::fmt::Debug for MetaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl MetaClient {
    /// Builds a client with the built-in HTTP client (see [Timeouts](#timeouts)).
    ///
    /// # Errors
    /// [`MetaError::InvalidConfig`] when the API version is not `vNN.N`, a base URL is not an
    /// http(s) URL that can carry a path, a policy value is out of range, or the TLS backend
    /// cannot be set up;
    /// [`MetaError::Transport`] when the HTTP client cannot be built.
    pub fn new(config: MetaConfig) -> Result<Self, MetaError> {
        validate(&config)?;
        let mut builder = crate::tls::client_builder()
            .map_err(|reason| MetaError::InvalidConfig(format!("tls: {reason}")))?
            .user_agent(concat!("kraftsoci-meta/", env!("CARGO_PKG_VERSION")))
            // Graph never redirects API calls; following one could only leak headers.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(timeout) = config.connect_timeout() {
            builder = builder.connect_timeout(timeout);
        }
        let http = builder.build().map_err(|source| MetaError::Transport {
            call: "client setup",
            source: source.without_url(),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                usage: Mutex::new(UsageTracker::default()),
            }),
        })
    }

    /// Sends every request through `client`, so that the embedder decides proxies, TLS roots,
    /// connection pools and instrumentation (async-openai's `Client::with_http_client`).
    ///
    /// The client still adds what each call needs: the `Authorization` header, the
    /// `appsecret_proof`, the parameters, and the per-request deadlines of
    /// [Timeouts](#timeouts) (the connect timeout excepted: that one is the given client's).
    /// Everything else is the given client's: its own timeouts (a shorter one fires first; on
    /// `media_publish` that is an ambiguous outcome, resolved by reading the container), its
    /// default headers, its `User-Agent`, and its redirect policy. Prefer
    /// `reqwest::redirect::Policy::none()`: Graph never redirects an API call (reqwest drops
    /// `Authorization` on a redirect to another host anyway).
    ///
    /// Call it right after [`MetaClient::new`]: the returned client starts with fresh usage
    /// readings, and clones made before keep the previous HTTP client.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use kraftsoci_meta::{MetaClient, MetaConfig};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Your own client: a proxy, your CA roots, your pool settings…
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .connect_timeout(Duration::from_secs(5))
    ///     .pool_max_idle_per_host(4)
    ///     .build()?;
    /// let client = MetaClient::new(MetaConfig::token_only())?.with_http_client(http);
    /// # let _ = client;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_http_client(self, client: reqwest::Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                http: client,
                config: self.inner.config.clone(),
                usage: Mutex::new(UsageTracker::default()),
            }),
        }
    }

    /// The HTTP client requests go through.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &MetaConfig {
        &self.inner.config
    }

    /// The last usage headers Meta sent (on any call, with any token).
    pub fn last_usage(&self) -> Usage {
        self.tracker().last()
    }

    fn tracker(&self) -> std::sync::MutexGuard<'_, UsageTracker> {
        // The tracker holds plain readings; a panic elsewhere cannot leave it inconsistent.
        self.inner
            .usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The versioned Graph URL of a path.
    pub(crate) fn graph_url(&self, segments: &[&str]) -> Result<Url, MetaError> {
        versioned(
            self.inner.config.graph_base_url(),
            self.inner.config.api_version(),
            segments,
        )
    }

    /// Sends one Graph request and decodes its success body.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        request: GraphRequest<'_>,
    ) -> Result<T, MetaError> {
        let config = &self.inner.config;
        let key: Option<TokenKey> = request.token.map(|t| token_key(t.expose_secret()));
        let gate = self
            .tracker()
            .gate(key, Instant::now(), &config.usage_policy());
        match gate {
            Gate::Proceed => {}
            Gate::SlowDown(delay) => {
                tracing::debug!(
                    call = request.call,
                    delay_ms = delay.as_millis() as u64,
                    "slowing down: high usage"
                );
                tokio::time::sleep(delay).await;
            }
            Gate::Blocked(retry_after) => {
                tracing::warn!(
                    call = request.call,
                    retry_after_s = retry_after.as_secs(),
                    "not calling: token is throttled"
                );
                return Err(MetaError::Throttled { retry_after });
            }
        }

        let url = self.graph_url(&request.path)?;
        let mut builder = self.inner.http.request(request.method.clone(), url);
        let mut query = request.query.clone();
        if let Some(token) = request.token {
            builder = builder.bearer_auth(token.expose_secret());
            if let Some(secret) = config.app_secret() {
                query.push(("appsecret_proof", appsecret_proof(secret, token)));
            }
        }
        if !query.is_empty() {
            builder = builder.query(&query);
        }
        if !request.form.is_empty() {
            builder = builder.form(&request.form);
        }
        // Set per request, so that a client given with `with_http_client` keeps them too.
        if let Some(timeout) = request.timeout.or(config.request_timeout()) {
            builder = builder.timeout(timeout);
        }

        let call = request.call;
        let response = builder.send().await.map_err(|e| transport(call, e))?;
        let status = response.status();
        let usage = Usage::from_headers(response.headers());
        self.tracker()
            .record(key, &usage, Instant::now(), &config.usage_policy());
        let body = response.bytes().await.map_err(|e| transport(call, e))?;

        let secrets = request.secrets();
        if !status.is_success() {
            let error = envelope_error(call, status, &body, usage, &secrets);
            tracing::debug!(call, http_status = error.http_status, code = ?error.code, subcode = ?error.subcode, fbtrace_id = ?error.fbtrace_id, "graph error");
            return Err(MetaError::Graph(Box::new(error)));
        }
        let value: Value = serde_json::from_slice(&body).map_err(|e| unexpected(call, &e))?;
        // Batch-style answers can carry an error with status 200.
        if value.get("error").is_some_and(Value::is_object) {
            let error = envelope_error(call, status, &body, usage, &secrets);
            return Err(MetaError::Graph(Box::new(error)));
        }
        serde_json::from_value(value).map_err(|e| unexpected(call, &e))
    }
}

/// The most pages a listing follows before giving up (a guard against cursor loops).
const MAX_PAGES: usize = 100;

impl MetaClient {
    /// Reads every page of a listing, following `paging.cursors.after` while `paging.next`
    /// is present. Meta's `next` URL itself is never requested: it carries the token in its
    /// query string and points at the production host.
    pub(crate) async fn paged(
        &self,
        call: &'static str,
        path: Vec<&str>,
        token: &SecretString,
        query: Vec<(&'static str, String)>,
    ) -> Result<Vec<Map<String, Value>>, MetaError> {
        match self
            .paged_while(call, path, token, query, MAX_PAGES, |_| true)
            .await?
        {
            Paged::Complete(rows) => Ok(rows),
            Paged::Truncated(_) => Err(MetaError::UnexpectedResponse {
                call,
                detail: format!("more than {MAX_PAGES} pages"),
            }),
        }
    }

    /// Reads pages of a listing (as [`MetaClient::paged`]) while `more` says the page just
    /// read calls for the next one, and at most `max_pages` of them.
    pub(crate) async fn paged_while(
        &self,
        call: &'static str,
        path: Vec<&str>,
        token: &SecretString,
        query: Vec<(&'static str, String)>,
        max_pages: usize,
        mut more: impl FnMut(&[Map<String, Value>]) -> bool,
    ) -> Result<Paged, MetaError> {
        let mut rows = Vec::new();
        let mut after: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..max_pages {
            let mut request = GraphRequest::get(call, path.clone()).token(token);
            request.query.clone_from(&query);
            if let Some(cursor) = &after {
                request = request.query("after", cursor.clone());
            }
            let page: Map<String, Value> = self.send(request).await?;
            let items: Vec<Map<String, Value>> = match page.get("data") {
                Some(Value::Array(items)) => {
                    items.iter().filter_map(Value::as_object).cloned().collect()
                }
                _ => {
                    return Err(MetaError::UnexpectedResponse {
                        call,
                        detail: "no data array".into(),
                    });
                }
            };
            let wanted = more(&items);
            rows.extend(items);
            if !wanted {
                return Ok(Paged::Complete(rows));
            }
            match next_cursor(&page) {
                Ok(None) => return Ok(Paged::Complete(rows)),
                Ok(Some(cursor)) if seen.insert(cursor.clone()) => after = Some(cursor),
                Ok(Some(_)) => {
                    return Err(MetaError::UnexpectedResponse {
                        call,
                        detail: "a paging cursor repeats".into(),
                    });
                }
                Err(detail) => return Err(MetaError::UnexpectedResponse { call, detail }),
            }
        }
        Ok(Paged::Truncated(rows))
    }
}

/// The rows of a listing, and whether it was read to its end.
pub(crate) enum Paged {
    /// Every page that was wanted.
    Complete(Vec<Map<String, Value>>),
    /// The page budget ran out while more pages were wanted.
    Truncated(Vec<Map<String, Value>>),
}

/// The cursor of the next page: `None` on the last page (no `paging.next`).
fn next_cursor(page: &Map<String, Value>) -> Result<Option<String>, String> {
    let Some(paging) = page.get("paging").and_then(Value::as_object) else {
        return Ok(None);
    };
    let Some(next) = paging.get("next").and_then(Value::as_str) else {
        return Ok(None);
    };
    let from_cursors = paging
        .get("cursors")
        .and_then(|c| c.get("after"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let from_next = || {
        Url::parse(next).ok().and_then(|url| {
            url.query_pairs()
                .find(|(k, _)| k == "after")
                .map(|(_, v)| v.into_owned())
        })
    };
    match from_cursors.or_else(from_next) {
        Some(cursor) if !cursor.is_empty() => Ok(Some(cursor)),
        _ => Err("a next page without an after cursor".into()),
    }
}

/// One Graph call, described before it is sent.
pub(crate) struct GraphRequest<'a> {
    /// A name for logs and errors (never the URL, which may carry secrets).
    pub(crate) call: &'static str,
    pub(crate) method: Method,
    pub(crate) path: Vec<&'a str>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) form: Vec<(&'static str, String)>,
    /// The token for the `Authorization` header (and the `appsecret_proof`).
    pub(crate) token: Option<&'a SecretString>,
    /// A per-call timeout that overrides the client's.
    pub(crate) timeout: Option<Duration>,
    /// Values that must never appear in an error (codes, secrets sent as parameters).
    pub(crate) redact: Vec<String>,
}

impl<'a> GraphRequest<'a> {
    pub(crate) fn get(call: &'static str, path: Vec<&'a str>) -> Self {
        Self {
            call,
            method: Method::GET,
            path,
            query: Vec::new(),
            form: Vec::new(),
            token: None,
            timeout: None,
            redact: Vec::new(),
        }
    }

    pub(crate) fn post(call: &'static str, path: Vec<&'a str>) -> Self {
        Self {
            method: Method::POST,
            ..Self::get(call, path)
        }
    }

    pub(crate) fn token(mut self, token: &'a SecretString) -> Self {
        self.token = Some(token);
        self
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    /// A query parameter that is a secret (client secret, code, token being inspected).
    pub(crate) fn secret_query(mut self, key: &'static str, value: &SecretString) -> Self {
        let value = value.expose_secret().to_owned();
        self.redact.push(value.clone());
        self.query.push((key, value));
        self
    }

    pub(crate) fn form(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.form.push((key, value.into()));
        self
    }

    pub(crate) fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    fn secrets(&self) -> Vec<String> {
        let mut secrets = self.redact.clone();
        if let Some(token) = self.token {
            secrets.push(token.expose_secret().to_owned());
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }
}

/// `{base}/{version}/{segments…}`, each segment percent-encoded.
pub(crate) fn versioned(base: &Url, version: &str, segments: &[&str]) -> Result<Url, MetaError> {
    let mut all = Vec::with_capacity(segments.len() + 1);
    all.push(version);
    all.extend_from_slice(segments);
    joined(base, &all)
}

/// `{base}/{segments…}`, each segment percent-encoded, without query or fragment.
pub(crate) fn joined(base: &Url, segments: &[&str]) -> Result<Url, MetaError> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| MetaError::InvalidConfig("base url cannot carry a path".into()))?;
        path.pop_if_empty();
        for segment in segments {
            path.push(segment);
        }
    }
    Ok(url)
}

/// Checks a Graph object id given by a caller before it becomes a path segment.
pub(crate) fn checked_id<'a>(what: &str, id: &'a str) -> Result<&'a str, MetaError> {
    let valid = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(id)
    } else {
        Err(MetaError::InvalidInput(format!("{what} is not a graph id")))
    }
}

fn validate(config: &MetaConfig) -> Result<(), MetaError> {
    let version_ok = config
        .api_version()
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        });
    if !version_ok {
        return Err(MetaError::InvalidConfig(
            "api_version must look like v25.0".into(),
        ));
    }
    for (name, url) in [
        ("graph_base_url", config.graph_base_url()),
        ("dialog_base_url", config.dialog_base_url()),
        ("rupload_base_url", config.rupload_base_url()),
    ] {
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(MetaError::InvalidConfig(format!(
                "{name} must be an http(s) url"
            )));
        }
    }
    let poll = config.poll_policy();
    if !(poll.multiplier().is_finite() && poll.multiplier() >= 1.0) {
        return Err(MetaError::InvalidConfig(
            "poll.multiplier must be at least 1".into(),
        ));
    }
    if !(0.0..=1.0).contains(&poll.jitter()) {
        return Err(MetaError::InvalidConfig(
            "poll.jitter must be between 0 and 1".into(),
        ));
    }
    if config.publish_policy().create_attempts() == 0 {
        return Err(MetaError::InvalidConfig(
            "publish.create_attempts must be at least 1".into(),
        ));
    }
    // A zero deadline fails every call; `None` is how a deadline is switched off.
    for (name, timeout) in [
        ("request_timeout", config.request_timeout()),
        ("connect_timeout", config.connect_timeout()),
        ("publish_timeout", config.publish_timeout()),
        (
            "upload.attempt_timeout",
            config.upload_policy().attempt_timeout(),
        ),
    ] {
        if timeout.is_some_and(|t| t.is_zero()) {
            return Err(MetaError::InvalidConfig(format!(
                "{name} must be longer than zero (None switches it off)"
            )));
        }
    }
    Ok(())
}

pub(crate) fn transport(call: &'static str, error: reqwest::Error) -> MetaError {
    if error.is_timeout() {
        MetaError::Timeout { call }
    } else {
        MetaError::Transport {
            call,
            source: error.without_url(),
        }
    }
}

/// A decoding failure, described without the body's values (a token may be among them).
pub(crate) fn unexpected(call: &'static str, error: &serde_json::Error) -> MetaError {
    let mut detail = String::new();
    let mut quoted = false;
    for c in error.to_string().chars() {
        if c == '"' {
            if !quoted {
                detail.push_str("\"…");
            }
            quoted = !quoted;
            if !quoted {
                detail.push('"');
            }
        } else if !quoted {
            detail.push(c);
        }
    }
    MetaError::UnexpectedResponse { call, detail }
}

/// Builds a [`GraphError`] from a failed response, tolerating any missing or mistyped field.
pub(crate) fn envelope_error(
    call: &'static str,
    status: StatusCode,
    body: &[u8],
    usage: Usage,
    secrets: &[String],
) -> GraphError {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| match v {
            Value::Object(mut top) => match top.remove("error") {
                Some(Value::Object(error)) => Some(error),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_default();
    let text = |key: &str| redact(string_field(&error, key), secrets);
    let code = int_field(&error, "code");
    let subcode = int_field(&error, "error_subcode");
    let is_transient = error.get("is_transient").and_then(Value::as_bool);
    let message = text("message");
    let (kind, rule) = classify::classify(&Observed {
        code,
        subcode,
        http_status: status.as_u16(),
        is_transient,
        message: message.as_deref(),
        usage: &usage,
    });
    GraphError {
        kind,
        call,
        http_status: status.as_u16(),
        code,
        subcode,
        error_type: text("type"),
        message,
        user_title: text("error_user_title"),
        user_message: text("error_user_msg"),
        is_transient,
        fbtrace_id: string_field(&error, "fbtrace_id"),
        meaning: rule.map(|r| r.meaning),
        usage,
    }
}

pub(crate) fn string_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer sent as a number or a numeric string.
pub(crate) fn int_field(map: &Map<String, Value>, key: &str) -> Option<i64> {
    match map.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Replaces every secret of the call in a text Meta sent (Meta echoes malformed tokens).
pub(crate) fn redact(text: Option<String>, secrets: &[String]) -> Option<String> {
    text.map(|mut text| {
        for secret in secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "[redacted]");
            }
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appsecret_proof_matches_an_independent_hmac_sha256_vector() {
        // Computed with Python's hmac module: hmac.new(b"app-secret", b"EAAtoken", sha256).
        let proof = appsecret_proof(
            &SecretString::from("app-secret"),
            &SecretString::from("EAAtoken"),
        );
        assert_eq!(
            proof,
            "9f9f0867bc3df2d00cecd6aa6fb78e65b64c050401bd6ec5b84d98503d443d34"
        );
    }

    #[test]
    fn graph_urls_are_versioned_and_percent_encode_segments() {
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        let url = versioned(&base, "v25.0", &["1784", "media_publish"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/v25.0/1784/media_publish");
        let nested = Url::parse("http://h/prefix/").unwrap();
        let url = versioned(&nested, "v25.0", &["a/b"]).unwrap();
        assert_eq!(url.as_str(), "http://h/prefix/v25.0/a%2Fb");
    }

    #[test]
    fn ids_with_path_characters_are_refused() {
        assert!(checked_id("container", "17841405822304914").is_ok());
        assert!(checked_id("container", "c1").is_ok());
        for bad in ["", "..", "1/2", "1?x=2", "a b", "é"] {
            assert!(checked_id("container", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_client_refuses_a_malformed_api_version() {
        let config = MetaConfig::token_only().with_api_version("25");
        assert!(matches!(
            MetaClient::new(config),
            Err(MetaError::InvalidConfig(_))
        ));
    }

    #[test]
    fn a_client_refuses_a_zero_deadline_and_a_non_http_upload_host() {
        let zero = MetaConfig::token_only().with_request_timeout(Some(Duration::ZERO));
        assert!(matches!(
            MetaClient::new(zero),
            Err(MetaError::InvalidConfig(_))
        ));
        let zero_upload = MetaConfig::token_only().with_upload_policy(
            crate::UploadPolicy::default().with_attempt_timeout(Some(Duration::ZERO)),
        );
        assert!(matches!(
            MetaClient::new(zero_upload),
            Err(MetaError::InvalidConfig(_))
        ));
        let ftp = MetaConfig::token_only()
            .with_rupload_base_url(Url::parse("ftp://rupload.example/").unwrap());
        assert!(matches!(
            MetaClient::new(ftp),
            Err(MetaError::InvalidConfig(_))
        ));
        let none = MetaConfig::token_only().with_timeouts(None, None, None);
        assert!(MetaClient::new(none).is_ok());
    }

    #[test]
    fn upload_urls_put_the_version_after_the_upload_prefix() {
        let base = Url::parse("https://rupload.facebook.com/").unwrap();
        let url = joined(&base, &["ig-api-upload", "v25.0", "17889455560051444"]).unwrap();
        assert_eq!(
            url.as_str(),
            "https://rupload.facebook.com/ig-api-upload/v25.0/17889455560051444"
        );
    }

    #[test]
    fn an_envelope_with_every_optional_field_missing_is_still_an_error() {
        let error = envelope_error(
            "test",
            StatusCode::BAD_REQUEST,
            br#"{"error":{}}"#,
            Usage::default(),
            &[],
        );
        assert_eq!(error.code, None);
        assert_eq!(error.message, None);
        assert_eq!(error.kind, crate::ErrorKind::Unknown);
    }

    #[test]
    fn an_envelope_with_string_codes_and_an_echoed_token_is_parsed_and_redacted() {
        let error = envelope_error(
            "test",
            StatusCode::BAD_REQUEST,
            br#"{"error":{"message":"Malformed access token EAAsecret","type":"OAuthException","code":"190","error_subcode":467,"fbtrace_id":"T1","error_data":"x"}}"#,
            Usage::default(),
            &["EAAsecret".to_owned()],
        );
        assert_eq!(error.code, Some(190));
        assert_eq!(error.subcode, Some(467));
        assert_eq!(
            error.message.as_deref(),
            Some("Malformed access token [redacted]")
        );
        assert_eq!(error.fbtrace_id.as_deref(), Some("T1"));
    }

    #[test]
    fn decoding_errors_never_quote_body_values() {
        let error = serde_json::from_str::<u32>(r#""EAAsecret""#).unwrap_err();
        let MetaError::UnexpectedResponse { detail, .. } = unexpected("test", &error) else {
            panic!("expected an unexpected-response error");
        };
        assert!(!detail.contains("EAAsecret"), "{detail}");
        assert!(detail.contains("invalid type"), "{detail}");
    }
}
