//! Outbound webhooks: which URLs may receive deliveries, how a delivery is signed, and how
//! one attempt is made.
//!
//! ## Signature
//! Each delivery carries `Kraftsoci-Signature: t=<unix seconds>,v1=<hex>` where the hex is
//! HMAC-SHA256 keyed with the endpoint's signing secret over `"{t}.{body}"` (Stripe's scheme).
//! A receiver recomputes it over the raw body, compares in constant time, and refuses a
//! timestamp older than a few minutes (replays); [`verify`] is that check, and
//! `docs/webhooks.md` shows it in a few languages.
//!
//! ## Server-side request forgery
//! An endpoint's host is resolved when it is registered **and before every attempt**; if any
//! address is private, loopback, link-local, unique-local, CGNAT, multicast, unspecified or
//! otherwise not global, the URL is refused, and the attempt connects only to the addresses
//! that were checked (so a DNS answer that changes in between — rebinding — reaches nothing
//! new). Redirects are never followed. Development servers may target loopback and private
//! addresses and plain `http` (tests point endpoints at a local wiremock).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use url::Url;

/// The verification snippet of , compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/webhooks.md")]
pub struct DocumentedVerification;

/// The most endpoints one account may register.
pub const MAX_WEBHOOKS: u32 = 10;

/// How long one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest endpoint URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "Kraftsoci-Signature";

/// Which targets are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Plain `http` is accepted (development only).
    pub allow_http: bool,
    /// Loopback and private addresses are accepted (development only).
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Production: HTTPS to public addresses only.
    pub const STRICT: Self = Self {
        allow_http: false,
        allow_private: false,
    };

    /// The policy of a server: strict in production, open in development.
    pub fn for_production(production: bool) -> Self {
        if production {
            Self::STRICT
        } else {
            Self {
                allow_http: true,
                allow_private: true,
            }
        }
    }
}

/// Why an endpoint URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute URL, too long, or with user info or a fragment.
    #[error("the URL is not a valid absolute URL without credentials or fragment")]
    Invalid,
    /// Not `https`.
    #[error("the URL must use https")]
    NotHttps,
    /// The host resolves to no address.
    #[error("the host does not resolve")]
    Unresolvable,
    /// The host resolves to an address that is not public.
    #[error("the host resolves to a private, loopback or otherwise non-public address")]
    PrivateAddress,
}

/// Whether deliveries must never reach `ip`: anything but a global unicast address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => forbidden_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => forbidden_v4(mapped),
            None => forbidden_v6(ip),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        // CGNAT, 100.64.0.0/10
        || (a == 100 && (b & 0xc0) == 64)
        // IETF protocol assignments, 192.0.0.0/24
        || (a == 192 && b == 0 && c == 0)
        // benchmarking, 198.18.0.0/15
        || (a == 198 && (b & 0xfe) == 18)
        // reserved, 240.0.0.0/4
        || a >= 240
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // unique local fc00::/7
        || (first & 0xfe00) == 0xfc00
        // link-local fe80::/10
        || (first & 0xffc0) == 0xfe80
        // site-local (deprecated) fec0::/10
        || (first & 0xffc0) == 0xfec0
        // documentation 2001:db8::/32
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // NAT64 64:ff9b::/96 and IPv4-compatible ::/96 can reach IPv4 space
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)
        || ip.segments()[..6].iter().all(|s| *s == 0)
}

/// Parses an endpoint URL without resolving it.
///
/// # Errors
/// [`TargetError::Invalid`], [`TargetError::NotHttps`].
pub fn parse_url(raw: &str, policy: TargetPolicy) -> Result<Url, TargetError> {
    if raw.len() > MAX_URL_CHARS {
        return Err(TargetError::Invalid);
    }
    let url = Url::parse(raw.trim()).map_err(|_| TargetError::Invalid)?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(TargetError::Invalid);
    }
    if url.host().is_none() {
        return Err(TargetError::Invalid);
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if policy.allow_http => Ok(url),
        "http" => Err(TargetError::NotHttps),
        _ => Err(TargetError::Invalid),
    }
}

/// Resolves the URL's host and checks every address; the addresses to connect to.
///
/// # Errors
/// [`TargetError::Unresolvable`], [`TargetError::PrivateAddress`].
pub async fn resolve(url: &Url, policy: TargetPolicy) -> Result<Vec<SocketAddr>, TargetError> {
    let port = url.port_or_known_default().ok_or(TargetError::Invalid)?;
    let addresses: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(url::Host::Domain(domain)) => tokio::net::lookup_host((domain, port))
            .await
            .map_err(|_| TargetError::Unresolvable)?
            .collect(),
        None => return Err(TargetError::Invalid),
    };
    if addresses.is_empty() {
        return Err(TargetError::Unresolvable);
    }
    if !policy.allow_private && addresses.iter().any(|a| is_forbidden(a.ip())) {
        return Err(TargetError::PrivateAddress);
    }
    Ok(addresses)
}

/// Parses and resolves an endpoint URL (registration).
///
/// # Errors
/// As [`parse_url`] and [`resolve`].
pub async fn check_target(raw: &str, policy: TargetPolicy) -> Result<Url, TargetError> {
    let url = parse_url(raw, policy)?;
    resolve(&url, policy).await?;
    Ok(url)
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> SecretString {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("whsec_{}", hex::encode(bytes)))
}

fn mac(secret: &str, timestamp: i64, body: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac
}

/// The `Kraftsoci-Signature` value of `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &SecretString, timestamp: i64, body: &str) -> String {
    let digest = mac(secret.expose_secret(), timestamp, body)
        .finalize()
        .into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// The receiver's check: the header's `v1` matches the body and the timestamp is within
/// `tolerance` of `now`.
#[cfg(any(test, feature = "testing"))]
pub fn verify(
    secret: &SecretString,
    header: &str,
    body: &str,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    let age = now.timestamp().abs_diff(timestamp);
    if age > tolerance.as_secs() {
        return false;
    }
    signatures.iter().any(|signature| {
        mac(secret.expose_secret(), timestamp, body)
            .verify_slice(signature)
            .is_ok()
    })
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered {
        /// Its status.
        status: u16,
    },
    /// Another answer: retried.
    Refused {
        /// Its status.
        status: u16,
    },
    /// No answer (connection, timeout): retried.
    Unreachable(String),
    /// The target is not allowed (any more): never retried.
    Forbidden(TargetError),
}

/// One signed POST to `url`, connecting only to the addresses checked just before.
pub async fn deliver(
    url: &str,
    secret: &SecretString,
    delivery_id: uuid::Uuid,
    event: &str,
    body: &str,
    now: DateTime<Utc>,
    policy: TargetPolicy,
) -> Attempt {
    let url = match parse_url(url, policy) {
        Ok(url) => url,
        Err(error) => return Attempt::Forbidden(error),
    };
    let addresses = match resolve(&url, policy).await {
        Ok(addresses) => addresses,
        Err(TargetError::Unresolvable) => {
            return Attempt::Unreachable("the host does not resolve".to_owned());
        }
        Err(error) => return Attempt::Forbidden(error),
    };
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .user_agent("kraftsoci-webhooks/1");
    if let Some(url::Host::Domain(domain)) = url.host() {
        builder = builder.resolve_to_addrs(domain, &addresses);
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(error) => return Attempt::Unreachable(format!("client: {error}")),
    };
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign(secret, now.timestamp(), body))
        .header("Kraftsoci-Event", event)
        .header("Kraftsoci-Delivery", delivery_id.to_string())
        .body(body.to_owned())
        .send()
        .await;
    match response {
        Ok(response) if response.status().is_success() => Attempt::Delivered {
            status: response.status().as_u16(),
        },
        Ok(response) => Attempt::Refused {
            status: response.status().as_u16(),
        },
        // Without the URL: it may carry a token the owner put in its query.
        Err(error) if error.is_timeout() => Attempt::Unreachable("timed out".to_owned()),
        Err(error) if error.is_connect() => Attempt::Unreachable("connection failed".to_owned()),
        Err(_) => Attempt::Unreachable("request failed".to_owned()),
    }
}

/// When attempt `attempts` (1-based) failed: the next try, doubling from 30 seconds up to
/// 2 hours; `None` once that would fall outside 24 hours from `window_start`.
pub fn next_attempt(
    attempts: u32,
    now: DateTime<Utc>,
    window_start: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let exponent = attempts.saturating_sub(1).min(8);
    let delay = (30_i64 << exponent).min(2 * 3600);
    let next = now + chrono::Duration::seconds(delay);
    (next <= window_start + chrono::Duration::hours(24)).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_forbidden_and_public_ones_are_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn production_refuses_http_credentials_and_private_targets() {
        assert_eq!(
            check_target("http://example.com/hook", TargetPolicy::STRICT).await,
            Err(TargetError::NotHttps)
        );
        assert_eq!(
            check_target("https://user:pw@example.com/hook", TargetPolicy::STRICT).await,
            Err(TargetError::Invalid)
        );
        assert_eq!(
            check_target("https://127.0.0.1/hook", TargetPolicy::STRICT).await,
            Err(TargetError::PrivateAddress)
        );
        assert_eq!(
            check_target("https://[::1]:8443/hook", TargetPolicy::STRICT).await,
            Err(TargetError::PrivateAddress)
        );
        assert_eq!(
            check_target("https://localhost/hook", TargetPolicy::STRICT).await,
            Err(TargetError::PrivateAddress)
        );
        assert_eq!(
            check_target("ftp://example.com/", TargetPolicy::STRICT).await,
            Err(TargetError::Invalid)
        );
        let development = TargetPolicy::for_production(false);
        assert!(
            check_target("http://127.0.0.1:9/hook", development)
                .await
                .is_ok()
        );
    }

    #[test]
    fn a_signature_verifies_once_and_fails_when_anything_changes() {
        let secret = new_secret();
        let now = Utc::now();
        let header = sign(&secret, now.timestamp(), "{\"a\":1}");
        let tolerance = Duration::from_secs(300);
        assert!(verify(&secret, &header, "{\"a\":1}", now, tolerance));
        assert!(!verify(&secret, &header, "{\"a\":2}", now, tolerance));
        assert!(!verify(&new_secret(), &header, "{\"a\":1}", now, tolerance));
        let later = now + chrono::Duration::minutes(10);
        assert!(!verify(&secret, &header, "{\"a\":1}", later, tolerance));
        assert!(!verify(&secret, "v1=00", "{\"a\":1}", now, tolerance));
    }

    #[test]
    fn the_known_answer_in_docs_webhooks_md_is_what_the_server_signs() {
        let secret = SecretString::from("whsec_test_0123456789abcdef".to_owned());
        let header = sign(&secret, 1_767_225_600, r#"{"id":"e1","type":"published"}"#);
        let docs = include_str!("../../../docs/webhooks.md");
        assert!(
            docs.contains(&format!(r#"let header = "{header}";"#)),
            "docs/webhooks.md must show {header}"
        );
    }

    #[test]
    fn retries_back_off_and_stop_after_24_hours() {
        let start = Utc::now();
        assert_eq!(
            next_attempt(1, start, start),
            Some(start + chrono::Duration::seconds(30))
        );
        assert_eq!(
            next_attempt(2, start, start),
            Some(start + chrono::Duration::seconds(60))
        );
        assert_eq!(
            next_attempt(20, start, start),
            Some(start + chrono::Duration::hours(2))
        );
        let late = start + chrono::Duration::hours(23);
        assert_eq!(next_attempt(12, late, start), None);
    }
}
