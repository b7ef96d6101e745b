//! Requests Meta sends to the app: `signed_request` (data deletion and deauthorize callbacks)
//! and webhooks (the subscription check and `X-Hub-Signature-256`).
//!
//! Every check is constant-time where a secret is compared, and malformed input is an error,
//! never a panic.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use url::Url;

use crate::error::{CallbackRejection, MetaError};

/// How far in the future `issued_at` may be (clock skew between Meta and this server).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// The longest `signed_request` accepted (real ones are a few hundred bytes).
pub const MAX_SIGNED_REQUEST_LEN: usize = 16 * 1024;

/// base64url, with or without `=` padding (Meta sends it without).
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A verified `signed_request`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SignedRequest {
    /// The app-scoped user id the callback is about.
    pub user_id: String,
    /// The payload's `algorithm` (HMAC-SHA256, in any case).
    pub algorithm: String,
    /// When Meta issued the request.
    pub issued_at: DateTime<Utc>,
    /// The payload's `expires`, when present and non-zero.
    pub expires: Option<DateTime<Utc>>,
    /// The whole decoded payload, for fields not modelled here.
    pub payload: Map<String, Value>,
}

fn reject(reason: CallbackRejection) -> MetaError {
    MetaError::CallbackRejected(reason)
}

fn malformed(what: &'static str) -> MetaError {
    reject(CallbackRejection::Malformed(what))
}

/// Verifies a `signed_request` (`<sig>.<payload>`, both base64url): HMAC-SHA256 keyed by the
/// app secret over the payload **as received**, compared in constant time; then the algorithm,
/// the age (`now - issued_at <= max_age`) and the `user_id`.
///
/// # Errors
/// [`MetaError::CallbackRejected`] with the reason: malformed input, a bad signature, another
/// algorithm, a stale or future `issued_at`, or no `user_id`.
pub fn verify_signed_request(
    app_secret: &SecretString,
    signed_request: &str,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<SignedRequest, MetaError> {
    let signed_request = signed_request.trim();
    if signed_request.len() > MAX_SIGNED_REQUEST_LEN {
        return Err(malformed("signed_request is too long"));
    }
    let (signature, payload) = signed_request
        .split_once('.')
        .ok_or_else(|| malformed("signed_request has no '.'"))?;
    let signature = BASE64URL
        .decode(signature)
        .map_err(|_| malformed("signature is not base64url"))?;
    // Verify before decoding anything of the payload: untrusted bytes are not parsed.
    let mut mac = hmac_sha256(app_secret);
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| reject(CallbackRejection::BadSignature))?;

    let decoded = BASE64URL
        .decode(payload)
        .map_err(|_| malformed("payload is not base64url"))?;
    let payload: Map<String, Value> =
        serde_json::from_slice(&decoded).map_err(|_| malformed("payload is not a json object"))?;
    let algorithm = payload
        .get("algorithm")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("payload has no algorithm"))?
        .to_owned();
    if !algorithm.eq_ignore_ascii_case("HMAC-SHA256") {
        return Err(reject(CallbackRejection::UnsupportedAlgorithm));
    }
    let issued_at = seconds(&payload, "issued_at")
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or_else(|| malformed("payload has no issued_at"))?;
    let age = now.signed_duration_since(issued_at);
    let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let skew = chrono::Duration::from_std(MAX_CLOCK_SKEW).unwrap_or(chrono::Duration::zero());
    if age > max_age {
        return Err(reject(CallbackRejection::Stale));
    }
    if -age > skew {
        return Err(reject(CallbackRejection::IssuedInTheFuture));
    }
    let user_id = match payload.get("user_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err(malformed("payload has no user_id")),
    };
    let expires = seconds(&payload, "expires")
        .filter(|t| *t > 0)
        .and_then(|t| DateTime::from_timestamp(t, 0));
    Ok(SignedRequest {
        user_id,
        algorithm,
        issued_at,
        expires,
        payload,
    })
}

fn seconds(payload: &Map<String, Value>, key: &str) -> Option<i64> {
    match payload.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn hmac_sha256(app_secret: &SecretString) -> Hmac<Sha256> {
    // Infallible: HMAC accepts keys of any length.
    Hmac::<Sha256>::new_from_slice(app_secret.expose_secret().as_bytes())
        .expect("hmac accepts any key length")
}

/// Verifies `X-Hub-Signature-256: sha256=<hex>` over the **raw** request body (never a
/// re-serialized one: Meta signs its own escaping of the JSON).
///
/// # Errors
/// [`MetaError::CallbackRejected`]: a missing or malformed header, or a signature that does not
/// match.
pub fn verify_webhook_signature(
    app_secret: &SecretString,
    raw_body: &[u8],
    signature_header: Option<&str>,
) -> Result<(), MetaError> {
    let header = signature_header
        .map(str::trim)
        .ok_or_else(|| malformed("no X-Hub-Signature-256 header"))?;
    let (scheme, hex_signature) = header
        .split_once('=')
        .ok_or_else(|| malformed("signature header is not sha256=<hex>"))?;
    if !scheme.eq_ignore_ascii_case("sha256") {
        return Err(malformed("signature header is not sha256=<hex>"));
    }
    let signature =
        hex::decode(hex_signature).map_err(|_| malformed("signature is not hexadecimal"))?;
    let mut mac = hmac_sha256(app_secret);
    mac.update(raw_body);
    mac.verify_slice(&signature)
        .map_err(|_| reject(CallbackRejection::BadSignature))
}

/// The query of a webhook subscription check (`GET <callback>?hub.mode=subscribe&…`), ready to
/// be extracted from a request's query string.
///
/// `Debug` never prints the verify token.
#[derive(Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct WebhookSubscription {
    /// `hub.mode`; must be `subscribe`.
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    /// `hub.verify_token`: the string set in the app dashboard.
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// `hub.challenge`: echoed back as the plain-text body on success.
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

impl fmt::Debug for WebhookSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSubscription")
            .field("mode", &self.mode)
            .field("verify_token", &"[REDACTED]")
            .field("challenge", &self.challenge)
            .finish()
    }
}

/// The longest challenge echoed back.
const MAX_CHALLENGE_LEN: usize = 256;

impl WebhookSubscription {
    /// Parses a raw query string.
    pub fn from_query(query: &str) -> Self {
        let mut subscription = Self::default();
        let query = query.trim_start_matches('?');
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = Some(value.into_owned());
            match key.as_ref() {
                "hub.mode" => subscription.mode = value,
                "hub.verify_token" => subscription.verify_token = value,
                "hub.challenge" => subscription.challenge = value,
                _ => {}
            }
        }
        subscription
    }

    /// Checks the mode and the verify token (in constant time) and returns the challenge to
    /// reply with (status 200, plain text). Any error means: reply 403.
    ///
    /// # Errors
    /// [`MetaError::CallbackRejected`]: not `subscribe`, a wrong token, or a missing or
    /// implausible challenge (only short runs of letters, digits, `-` and `_` are echoed).
    pub fn verify(&self, expected_verify_token: &SecretString) -> Result<&str, MetaError> {
        if self.mode.as_deref() != Some("subscribe") {
            return Err(reject(CallbackRejection::NotASubscription));
        }
        let expected = expected_verify_token.expose_secret().as_bytes();
        let given = self.verify_token.as_deref().unwrap_or_default().as_bytes();
        if expected.is_empty() || !bool::from(given.ct_eq(expected)) {
            return Err(reject(CallbackRejection::VerifyTokenMismatch));
        }
        match self.challenge.as_deref() {
            Some(challenge)
                if !challenge.is_empty()
                    && challenge.len() <= MAX_CHALLENGE_LEN
                    && challenge
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Ok(challenge)
            }
            _ => Err(malformed("hub.challenge is missing or implausible")),
        }
    }
}

/// The JSON reply to a Data Deletion Request callback: a status page URL and a confirmation
/// code, as standard JSON (`Content-Type: application/json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DataDeletionResponse {
    /// A human-readable status page of this request.
    pub url: String,
    /// The code the user can quote.
    pub confirmation_code: String,
}

impl DataDeletionResponse {
    /// The reply for a request: `status_page` with `?id=<confirmation_code>` appended.
    pub fn new(status_page: &Url, confirmation_code: &str) -> Self {
        let mut url = status_page.clone();
        url.query_pairs_mut().append_pair("id", confirmation_code);
        Self {
            url: url.into(),
            confirmation_code: confirmation_code.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed independently with Python's hmac and base64 modules:
    //   payload = base64url_nopad(b'{"algorithm":"HMAC-SHA256","issued_at":1700000000,"user_id":"218471"}')
    //   sig = base64url_nopad(hmac.new(b"test-app-secret", payload, sha256).digest())
    const SECRET: &str = "test-app-secret";
    const PAYLOAD: &str = "eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsImlzc3VlZF9hdCI6MTcwMDAwMDAwMCwidXNlcl9pZCI6IjIxODQ3MSJ9";
    const SIGNATURE: &str = "uiQD17XJ2YDwXIdwgx-TftglC4_9G1kw1WV3CXkiYSY";
    const ISSUED_AT: i64 = 1_700_000_000;

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_known_signed_request_verifies_and_yields_the_user_id() {
        let request = format!("{SIGNATURE}.{PAYLOAD}");
        let verified =
            verify_signed_request(&secret(), &request, at(ISSUED_AT + 60), HOUR).unwrap();
        assert_eq!(verified.user_id, "218471");
        assert_eq!(verified.issued_at, at(ISSUED_AT));
        assert_eq!(verified.expires, None);
    }

    #[test]
    fn a_signed_request_with_padding_verifies_too() {
        let pad = |s: &str| format!("{s}{}", "=".repeat((4 - s.len() % 4) % 4));
        let request = format!("{}.{}", pad(SIGNATURE), PAYLOAD);
        assert!(verify_signed_request(&secret(), &request, at(ISSUED_AT), HOUR).is_ok());
    }

    #[test]
    fn a_tampered_signature_or_payload_or_secret_is_rejected() {
        let mut sig = SIGNATURE.to_owned();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        sig.replace_range(0..1, flipped);
        let bad_sig = format!("{sig}.{PAYLOAD}");
        assert!(matches!(
            verify_signed_request(&secret(), &bad_sig, at(ISSUED_AT), HOUR),
            Err(MetaError::CallbackRejected(CallbackRejection::BadSignature))
        ));
        let other_payload = BASE64URL
            .encode(br#"{"algorithm":"HMAC-SHA256","issued_at":1700000000,"user_id":"1"}"#);
        let bad_payload = format!("{SIGNATURE}.{other_payload}");
        assert!(matches!(
            verify_signed_request(&secret(), &bad_payload, at(ISSUED_AT), HOUR),
            Err(MetaError::CallbackRejected(CallbackRejection::BadSignature))
        ));
        let good = format!("{SIGNATURE}.{PAYLOAD}");
        assert!(matches!(
            verify_signed_request(&SecretString::from("other"), &good, at(ISSUED_AT), HOUR),
            Err(MetaError::CallbackRejected(CallbackRejection::BadSignature))
        ));
    }

    fn sign(payload_json: &str) -> String {
        let payload = BASE64URL.encode(payload_json);
        let mut mac = hmac_sha256(&secret());
        mac.update(payload.as_bytes());
        format!(
            "{}.{payload}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn a_stale_or_future_request_is_rejected() {
        let request = format!("{SIGNATURE}.{PAYLOAD}");
        assert!(matches!(
            verify_signed_request(&secret(), &request, at(ISSUED_AT + 3601), HOUR),
            Err(MetaError::CallbackRejected(CallbackRejection::Stale))
        ));
        assert!(matches!(
            verify_signed_request(&secret(), &request, at(ISSUED_AT - 301), HOUR),
            Err(MetaError::CallbackRejected(
                CallbackRejection::IssuedInTheFuture
            ))
        ));
        assert!(verify_signed_request(&secret(), &request, at(ISSUED_AT + 3600), HOUR).is_ok());
    }

    #[test]
    fn another_algorithm_is_rejected_even_when_signed() {
        let request = sign(r#"{"algorithm":"HMAC-SHA1","issued_at":1700000000,"user_id":"1"}"#);
        assert!(matches!(
            verify_signed_request(&secret(), &request, at(ISSUED_AT), HOUR),
            Err(MetaError::CallbackRejected(
                CallbackRejection::UnsupportedAlgorithm
            ))
        ));
    }

    #[test]
    fn the_algorithm_name_is_case_insensitive_and_numeric_user_ids_are_accepted() {
        let request = sign(
            r#"{"algorithm":"hmac-sha256","issued_at":"1700000000","user_id":218471,"expires":1700003600}"#,
        );
        let verified = verify_signed_request(&secret(), &request, at(ISSUED_AT), HOUR).unwrap();
        assert_eq!(verified.user_id, "218471");
        assert_eq!(verified.expires, Some(at(ISSUED_AT + 3600)));
    }

    #[test]
    fn signed_payloads_missing_required_fields_are_malformed() {
        for json in [
            r#"{"issued_at":1700000000,"user_id":"1"}"#,
            r#"{"algorithm":"HMAC-SHA256","user_id":"1"}"#,
            r#"{"algorithm":"HMAC-SHA256","issued_at":1700000000}"#,
            r#"{"algorithm":"HMAC-SHA256","issued_at":1700000000,"user_id":""}"#,
            r#"[1,2,3]"#,
            "not json",
        ] {
            assert!(
                matches!(
                    verify_signed_request(&secret(), &sign(json), at(ISSUED_AT), HOUR),
                    Err(MetaError::CallbackRejected(CallbackRejection::Malformed(_)))
                ),
                "{json}"
            );
        }
    }

    #[test]
    fn structurally_broken_signed_requests_are_malformed_not_panics() {
        for input in [
            "",
            ".",
            "abc",
            "a.b.c",
            "!!!.???",
            &"A".repeat(MAX_SIGNED_REQUEST_LEN + 1),
        ] {
            assert!(
                verify_signed_request(&secret(), input, at(ISSUED_AT), HOUR).is_err(),
                "{input:?}"
            );
        }
    }

    // Webhook vector, computed with Python:
    //   hmac.new(b"test-app-secret", b'{"object":"instagram","entry":[{"id":"1","time":1700000000,"changes":[]}],"text":"caf\\u00e9"}', sha256).hexdigest()
    const WEBHOOK_BODY: &[u8] = br#"{"object":"instagram","entry":[{"id":"1","time":1700000000,"changes":[]}],"text":"caf\u00e9"}"#;
    const WEBHOOK_SIGNATURE: &str =
        "2a66dc2b3d38f22960c2aed1fb9e27060f835851b3a19f47d0d30233b9b74d67";

    #[test]
    fn a_known_webhook_signature_verifies_over_the_raw_bytes() {
        let header = format!("sha256={WEBHOOK_SIGNATURE}");
        assert!(verify_webhook_signature(&secret(), WEBHOOK_BODY, Some(&header)).is_ok());
        let upper = format!("sha256={}", WEBHOOK_SIGNATURE.to_uppercase());
        assert!(verify_webhook_signature(&secret(), WEBHOOK_BODY, Some(&upper)).is_ok());
    }

    #[test]
    fn a_re_serialized_body_no_longer_matches_the_signature() {
        let value: Value = serde_json::from_slice(WEBHOOK_BODY).unwrap();
        let reencoded = serde_json::to_vec(&value).unwrap();
        assert_ne!(reencoded, WEBHOOK_BODY);
        let header = format!("sha256={WEBHOOK_SIGNATURE}");
        assert!(matches!(
            verify_webhook_signature(&secret(), &reencoded, Some(&header)),
            Err(MetaError::CallbackRejected(CallbackRejection::BadSignature))
        ));
    }

    #[test]
    fn missing_or_malformed_webhook_signature_headers_are_rejected() {
        for header in [
            None,
            Some(""),
            Some("sha1=abcd"),
            Some("sha256=zz"),
            Some("sha256"),
        ] {
            assert!(
                matches!(
                    verify_webhook_signature(&secret(), WEBHOOK_BODY, header),
                    Err(MetaError::CallbackRejected(CallbackRejection::Malformed(_)))
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_subscription_check_with_the_right_token_echoes_the_challenge() {
        let subscription = WebhookSubscription::from_query(
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock",
        );
        let expected = SecretString::from("meatyhamhock");
        assert_eq!(subscription.verify(&expected).unwrap(), "1158201444");
        assert!(!format!("{subscription:?}").contains("meatyhamhock"));
    }

    #[test]
    fn a_subscription_check_with_a_wrong_token_or_mode_is_refused() {
        let expected = SecretString::from("meatyhamhock");
        let wrong = WebhookSubscription::from_query(
            "hub.mode=subscribe&hub.challenge=1&hub.verify_token=other",
        );
        assert!(matches!(
            wrong.verify(&expected),
            Err(MetaError::CallbackRejected(
                CallbackRejection::VerifyTokenMismatch
            ))
        ));
        let mode = WebhookSubscription::from_query(
            "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock",
        );
        assert!(matches!(
            mode.verify(&expected),
            Err(MetaError::CallbackRejected(
                CallbackRejection::NotASubscription
            ))
        ));
        let script = WebhookSubscription::from_query(
            "hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=meatyhamhock",
        );
        assert!(script.verify(&expected).is_err());
        let empty_expected = WebhookSubscription::from_query("hub.mode=subscribe&hub.challenge=1");
        assert!(empty_expected.verify(&SecretString::from("")).is_err());
    }

    #[test]
    fn a_data_deletion_reply_is_standard_json_with_the_code_in_the_url() {
        let reply = DataDeletionResponse::new(
            &Url::parse("https://kraftsoci.example/deletion").unwrap(),
            "abc123",
        );
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"url":"https://kraftsoci.example/deletion?id=abc123","confirmation_code":"abc123"}"#
        );
    }
}
