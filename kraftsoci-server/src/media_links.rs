//! Signed, expiring links to stored images, served without credentials at `GET /media/{token}`.
//!
//! Meta's fetcher downloads the image of a post from a public URL at publish time and carries no
//! credentials, and previews are shown in `<img>` tags that cannot send a bearer token. So the
//! URL itself is the credential: a token that names one media key and an expiry, signed with
//! HMAC-SHA256 under a server key. It is unguessable (256-bit MAC), bound to one object, and
//! stops working at its expiry; a tampered or expired token is simply "not found".
//!
//! Token: `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`, with
//! `payload = "v1\n{expiry unix seconds}\n{media key}"`.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use chrono::Utc;
//! use kraftsoci_core::ports::MediaKey;
//! use kraftsoci_core::{ManualClock, UserId};
//! use kraftsoci_server::media_links::MediaLinks;
//! use secrecy::SecretString;
//! use url::Url;
//!
//! let clock = Arc::new(ManualClock::new(Utc::now()));
//! let links = MediaLinks::new(
//!     &SecretString::from("a media signing key of at least 32 bytes"),
//!     Url::parse("https://api.example.com").unwrap(),
//!     clock.clone(),
//! );
//! let key = MediaKey::new(UserId::new(), "post.jpg").unwrap();
//! let url = links.sign(&key, Duration::from_secs(3600));
//! assert!(url.starts_with("https://api.example.com/media/"));
//! let token = url.rsplit('/').next().unwrap();
//! assert_eq!(links.verify(token).unwrap().key, key);
//!
//! clock.advance(chrono::Duration::hours(2));
//! assert!(links.verify(token).is_err());
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use kraftsoci_core::Clock;
use kraftsoci_core::ports::MediaKey;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::Sha256;
use url::Url;

type HmacSha256 = Hmac<Sha256>;

/// The label under which the link key is derived from the JWT secret when
/// `KRAFTSOCI_MEDIA_SIGNING_KEY` is not set, so the two keys are never the same bytes.
const DERIVATION_LABEL: &[u8] = b"kraftsoci.media-links.v1";

/// The payload's version tag.
const VERSION: &str = "v1";

/// The longest token accepted before any decoding (a real one is about 150 characters).
const MAX_TOKEN_LEN: usize = 512;

/// Why a token was refused. Every variant answers 404: the caller learns nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token of this server's shape.
    #[error("malformed media token")]
    Malformed,
    /// The signature does not match (tampered, or signed with another key).
    #[error("media token signature mismatch")]
    BadSignature,
    /// Past its expiry.
    #[error("media token expired")]
    Expired,
}

/// A verified token: which object, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLink {
    /// The media key the token grants.
    pub key: MediaKey,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Signs and verifies media links.
#[derive(Clone)]
pub struct MediaLinks {
    /// The MAC with the key already absorbed (HMAC's inner and outer pads hashed once, here,
    /// rather than for every link: a posts page signs one per post). As secret as the key.
    keyed: HmacSha256,
    base: Url,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for MediaLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaLinks")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl MediaLinks {
    /// Links signed with `key`, served under `{public_url}/media/`.
    pub fn new(key: &SecretString, public_url: Url, clock: Arc<dyn Clock>) -> Self {
        Self::from_bytes(key.expose_secret().as_bytes().to_vec(), public_url, clock)
    }

    /// Links whose key is derived from another secret (the JWT secret) under a fixed label, for
    /// deployments that do not set `KRAFTSOCI_MEDIA_SIGNING_KEY`.
    pub fn derived_from(secret: &SecretString, public_url: Url, clock: Arc<dyn Clock>) -> Self {
        let mut mac = new_mac(secret.expose_secret().as_bytes());
        mac.update(DERIVATION_LABEL);
        Self::from_bytes(mac.finalize().into_bytes().to_vec(), public_url, clock)
    }

    fn from_bytes(key: Vec<u8>, public_url: Url, clock: Arc<dyn Clock>) -> Self {
        let mut base = public_url;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let key = SecretSlice::from(key);
        Self {
            keyed: new_mac(key.expose_secret()),
            base,
            clock,
        }
    }

    /// A token for `key`, valid for `ttl` from now.
    pub fn token(&self, key: &MediaKey, ttl: Duration) -> String {
        let mut token = String::with_capacity(160);
        self.write_token(key, ttl, &mut token);
        token
    }

    /// Appends the token of [`MediaLinks::token`] to `out`.
    fn write_token(&self, key: &MediaKey, ttl: Duration, out: &mut String) {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let expires = self
            .clock
            .now()
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
            .timestamp();
        let payload = format!("{VERSION}\n{expires}\n{}", key.as_str());
        let mut mac = self.keyed.clone();
        mac.update(payload.as_bytes());
        let signature = mac.finalize().into_bytes();
        URL_SAFE_NO_PAD.encode_string(payload.as_bytes(), out);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, out);
    }

    /// The full URL (under `KRAFTSOCI_PUBLIC_URL`) of a link to `key`, valid for `ttl`: what
    /// a preview shows and what Meta's fetcher downloads.
    pub fn sign(&self, key: &MediaKey, ttl: Duration) -> String {
        let mut url = String::with_capacity(self.base.as_str().len() + 170);
        url.push_str(self.base.as_str());
        url.push_str("media/");
        self.write_token(key, ttl, &mut url);
        url
    }

    /// Checks a token (the last path segment of a link) and returns what it grants.
    ///
    /// # Errors
    /// [`LinkError`]: malformed, bad signature (checked in constant time, before anything in
    /// the payload is believed) or expired.
    pub fn verify(&self, token: &str) -> Result<VerifiedLink, LinkError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(LinkError::Malformed);
        }
        let (payload, signature) = token.split_once('.').ok_or(LinkError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Malformed)?;
        let mut mac = self.keyed.clone();
        mac.update(&payload);
        mac.verify_slice(&signature)
            .map_err(|_| LinkError::BadSignature)?;
        let payload = String::from_utf8(payload).map_err(|_| LinkError::Malformed)?;
        let mut parts = payload.splitn(3, '\n');
        let (Some(VERSION), Some(expires), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Malformed);
        };
        let expires_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0))
            .ok_or(LinkError::Malformed)?;
        if self.clock.now() >= expires_at {
            return Err(LinkError::Expired);
        }
        let key = MediaKey::parse(key).map_err(|_| LinkError::Malformed)?;
        Ok(VerifiedLink { key, expires_at })
    }

    /// The token of a URL this server handed out (its last path segment), if it is one.
    pub fn token_of<'a>(&self, url: &'a str) -> Option<&'a str> {
        url.strip_prefix(self.base.as_str())?
            .strip_prefix("media/")
            .filter(|token| !token.is_empty() && !token.contains('/'))
    }

    /// How long a verified link may still be cached, in whole seconds.
    pub fn remaining(&self, link: &VerifiedLink) -> u64 {
        let left = link.expires_at.signed_duration_since(self.clock.now());
        u64::try_from(left.num_seconds()).unwrap_or(0)
    }
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("hmac takes any key"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use kraftsoci_core::{ManualClock, UserId};

    use super::*;

    fn links(clock: Arc<ManualClock>) -> MediaLinks {
        MediaLinks::new(
            &SecretString::from("test media signing key, 32 bytes or more"),
            Url::parse("https://api.example.com/base").unwrap(),
            clock,
        )
    }

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        ))
    }

    #[test]
    fn a_signed_link_verifies_until_its_expiry_and_not_after() {
        let clock = clock();
        let links = links(clock.clone());
        let key = MediaKey::new(UserId::new(), "post-1.jpg").unwrap();
        let url = links.sign(&key, Duration::from_secs(3600));
        assert!(
            url.starts_with("https://api.example.com/base/media/"),
            "{url}"
        );
        let token = links.token_of(&url).unwrap();
        let verified = links.verify(token).unwrap();
        assert_eq!(verified.key, key);
        assert_eq!(links.remaining(&verified), 3600);
        clock.advance(chrono::Duration::seconds(3599));
        assert!(links.verify(token).is_ok());
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(links.verify(token), Err(LinkError::Expired));
    }

    #[test]
    fn any_changed_byte_breaks_the_signature() {
        let links = links(clock());
        let key = MediaKey::new(UserId::new(), "post-1.jpg").unwrap();
        let token = links.token(&key, Duration::from_secs(60));
        let (payload, signature) = token.split_once('.').unwrap();
        // Point the payload at another user's object, keep the signature.
        let other = MediaKey::new(UserId::new(), "post-1.jpg").unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(format!("v1\n9999999999\n{}", other.as_str()));
        assert_eq!(
            links.verify(&format!("{forged_payload}.{signature}")),
            Err(LinkError::BadSignature)
        );
        let mut flipped = signature.as_bytes().to_vec();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            links.verify(&format!("{payload}.{flipped}")),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn another_key_does_not_verify_and_garbage_is_malformed() {
        let clock = clock();
        let ours = links(clock.clone());
        let theirs = MediaLinks::derived_from(
            &SecretString::from("another secret entirely"),
            Url::parse("https://api.example.com").unwrap(),
            clock,
        );
        let key = MediaKey::new(UserId::new(), "a.jpg").unwrap();
        assert_eq!(
            ours.verify(&theirs.token(&key, Duration::from_secs(60))),
            Err(LinkError::BadSignature)
        );
        for garbage in [
            "",
            ".",
            "abc",
            "a.b.c",
            "!!!.???",
            &"A".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(ours.verify(garbage).is_err(), "{garbage}");
        }
    }

    #[test]
    fn urls_of_other_hosts_have_no_token() {
        let links = links(clock());
        assert_eq!(
            links.token_of("https://evil.example.com/base/media/abc"),
            None
        );
        assert_eq!(links.token_of("https://api.example.com/base/media/"), None);
        assert_eq!(
            links.token_of("https://api.example.com/base/media/abc"),
            Some("abc")
        );
    }
}
