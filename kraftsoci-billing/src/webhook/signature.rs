//! `Stripe-Signature` verification over the raw body.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::BillingError;

type HmacSha256 = Hmac<Sha256>;

/// Headers longer than this are refused before any parsing (a real one is ~150 bytes, a few
/// hundred while a secret is rotated).
const MAX_HEADER_LEN: usize = 4096;

/// Checks `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` against the endpoint secret.
///
/// The signed payload is `"{t}.{raw body}"`, the signature the hex HMAC-SHA256 of it under the
/// `whsec_…` secret. Any matching `v1` is enough (several appear while a secret is rolled);
/// other schemes (`v0`) are ignored; comparisons are constant-time. `t` must lie within
/// `tolerance` in the past (replay window, default 300 s) and `max_future_skew` in the future
/// (default 300 s; Stripe's own SDKs do not check the future, this is extra hardening).
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: SecretString,
    tolerance: Duration,
    max_future_skew: Duration,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret", &"[REDACTED]")
            .field("tolerance", &self.tolerance)
            .field("max_future_skew", &self.max_future_skew)
            .finish()
    }
}

impl WebhookVerifier {
    /// The default replay window.
    pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

    /// A verifier for one endpoint secret, with the default windows.
    pub fn new(secret: SecretString) -> Self {
        Self {
            secret,
            tolerance: Self::DEFAULT_TOLERANCE,
            max_future_skew: Self::DEFAULT_TOLERANCE,
        }
    }

    /// Sets the replay window.
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Sets how far in the future a timestamp may be.
    pub fn with_max_future_skew(mut self, skew: Duration) -> Self {
        self.max_future_skew = skew;
        self
    }

    /// Verifies `header` (the `Stripe-Signature` value, `None` when absent) over `body` at
    /// `now`.
    ///
    /// # Errors
    /// [`BillingError::MissingSignature`], [`BillingError::MalformedSignature`],
    /// [`BillingError::StaleTimestamp`], [`BillingError::FutureTimestamp`] or
    /// [`BillingError::SignatureMismatch`].
    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), BillingError> {
        let header = header.ok_or(BillingError::MissingSignature)?;
        let parsed = ParsedHeader::parse(header)?;

        let age = now.timestamp().saturating_sub(parsed.timestamp);
        if age > secs(self.tolerance) {
            return Err(BillingError::StaleTimestamp { age_secs: age });
        }
        if -age > secs(self.max_future_skew) {
            return Err(BillingError::FutureTimestamp { ahead_secs: -age });
        }

        let expected = mac(&self.secret, parsed.timestamp, body);
        // Every candidate is compared, so timing does not reveal which one matched.
        let matched = parsed
            .signatures
            .iter()
            .fold(subtle::Choice::from(0), |acc, candidate| {
                acc | candidate.as_slice().ct_eq(expected.as_slice())
            });
        if bool::from(matched) {
            Ok(())
        } else {
            Err(BillingError::SignatureMismatch)
        }
    }
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

fn mac(secret: &SecretString, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for HMAC.
    let mut mac = match HmacSha256::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("hmac takes keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// The `Stripe-Signature` value Stripe would send for `body` signed at `timestamp` with
/// `secret`: for tests, examples and local tools that post events to a webhook route.
pub fn signature_header(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body))
    )
}

struct ParsedHeader {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

impl ParsedHeader {
    fn parse(header: &str) -> Result<Self, BillingError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(BillingError::MalformedSignature("the header is too long"));
        }
        let mut timestamp = None;
        let mut signatures = Vec::new();
        let mut saw_v1 = false;
        for item in header.split(',') {
            let Some((key, value)) = item.trim().split_once('=') else {
                return Err(BillingError::MalformedSignature("an item is not key=value"));
            };
            match key.trim() {
                "t" => {
                    if timestamp.is_some() {
                        return Err(BillingError::MalformedSignature("`t` appears twice"));
                    }
                    let t = value
                        .trim()
                        .parse::<i64>()
                        .map_err(|_| BillingError::MalformedSignature("`t` is not a number"))?;
                    timestamp = Some(t);
                }
                "v1" => {
                    saw_v1 = true;
                    // A value that is not hex can never match; it is skipped, not fatal, so a
                    // garbled old signature does not hide a valid new one.
                    if let Ok(bytes) = hex::decode(value.trim()) {
                        signatures.push(bytes);
                    }
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(BillingError::MalformedSignature("`t` is missing"))?;
        if !saw_v1 {
            return Err(BillingError::MalformedSignature("no `v1` signature"));
        }
        Ok(Self {
            timestamp,
            signatures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_stripes_documented_construction() {
        // HMAC-SHA256("whsec_test", "1700000000.{}") computed independently.
        let secret = SecretString::from("whsec_test");
        let header = signature_header(&secret, 1_700_000_000, b"{}");
        let expected = {
            let mut m = HmacSha256::new_from_slice(b"whsec_test").unwrap();
            m.update(b"1700000000.{}");
            hex::encode(m.finalize().into_bytes())
        };
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let verifier = WebhookVerifier::new(SecretString::from("whsec_do_not_print"));
        assert!(!format!("{verifier:?}").contains("do_not_print"));
    }
}
