//! Callback parsers under arbitrary input: never a panic, never a false acceptance.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use kraftsoci_meta::{
    LoginCallback, WebhookSubscription, verify_signed_request, verify_webhook_signature,
};
use proptest::prelude::*;
use secrecy::SecretString;
use sha2::Sha256;

const SECRET: &str = "proptest-app-secret";
const HOUR: Duration = Duration::from_secs(3600);

fn secret() -> SecretString {
    SecretString::from(SECRET)
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn mac(data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Signs a payload the way Meta does: base64url without padding, HMAC over the encoded text.
fn signed(payload_json: &str, padded: bool) -> String {
    let engine = if padded { URL_SAFE } else { URL_SAFE_NO_PAD };
    let payload = engine.encode(payload_json);
    format!("{}.{payload}", engine.encode(mac(payload.as_bytes())))
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_verify_as_a_signed_request(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let input = String::from_utf8_lossy(&bytes);
        prop_assert!(verify_signed_request(&secret(), &input, now(), HOUR).is_err());
    }

    #[test]
    fn arbitrary_base64_looking_pairs_never_verify(sig in "[A-Za-z0-9_=-]{0,64}", payload in "[A-Za-z0-9_=-]{0,256}") {
        let input = format!("{sig}.{payload}");
        prop_assert!(verify_signed_request(&secret(), &input, now(), HOUR).is_err());
    }

    #[test]
    fn any_fresh_signed_request_round_trips_with_or_without_padding(
        user_id in "[0-9]{1,20}",
        age in 0i64..3600,
        padded in any::<bool>(),
    ) {
        let issued_at = now().timestamp() - age;
        let json = format!(r#"{{"algorithm":"HMAC-SHA256","issued_at":{issued_at},"user_id":"{user_id}"}}"#);
        let verified = verify_signed_request(&secret(), &signed(&json, padded), now(), HOUR).unwrap();
        prop_assert_eq!(verified.user_id, user_id);
    }

    #[test]
    fn changing_any_character_of_a_signed_request_breaks_it(index in any::<prop::sample::Index>(), replacement in "[A-Za-z0-9_-]") {
        let json = r#"{"algorithm":"HMAC-SHA256","issued_at":1700000000,"user_id":"218471"}"#;
        let original = signed(json, false);
        let at = index.index(original.len());
        let mut tampered = original.clone();
        tampered.replace_range(at..=at, &replacement);
        prop_assume!(tampered != original);
        // Non-canonical trailing bits are refused too, so even a change that decodes to the
        // same bytes fails.
        prop_assert!(verify_signed_request(&secret(), &tampered, now(), HOUR).is_err());
    }

    #[test]
    fn arbitrary_webhook_bodies_verify_only_with_their_own_signature(
        body in proptest::collection::vec(any::<u8>(), 0..1024),
        other in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let header = format!("sha256={}", hex::encode(mac(&body)));
        prop_assert!(verify_webhook_signature(&secret(), &body, Some(&header)).is_ok());
        if other != body {
            prop_assert!(verify_webhook_signature(&secret(), &other, Some(&header)).is_err());
        }
    }

    #[test]
    fn arbitrary_signature_headers_never_panic_or_verify(header in "\\PC{0,100}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
        prop_assert!(verify_webhook_signature(&secret(), &body, Some(&header)).is_err());
    }

    #[test]
    fn arbitrary_query_strings_never_panic(query in "\\PC{0,200}") {
        let subscription = WebhookSubscription::from_query(&query);
        let _ = subscription.verify(&SecretString::from("verify-me"));
        let _ = LoginCallback::parse(&query, "state");
    }
}
