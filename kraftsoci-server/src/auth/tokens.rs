//! Access tokens (JWT, HS256 pinned) and opaque tokens (refresh, password reset, OAuth state).
//!
//! Access tokens are checked by [`AccessTokens::verify`]: signature with the one configured
//! key and only HS256 (no `none`, no RS/HS confusion, no `jku`/`jwk` header keys), then
//! `iss`, `aud`, `sub`, `exp` (against the injected [`Clock`](kraftsoci_core::Clock) as well as
//! the wall clock), `nbf`, and the token type, so a refresh token or any other JWT is never
//! taken for an access token (ASVS 9.1–9.2). The user's `token_epoch` and the session id ride
//! along; the caller compares the epoch with the stored one (password change revokes).
//!
//! Opaque tokens are 256 random bits, base64url; only their SHA-256 is stored.

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kraftsoci_core::{SessionId, UserId};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How long an access token lives.
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
/// How long a refresh token lives if unused (each use replaces it).
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
/// How long a browser session (the web app's sign-in cookie) lasts; signing in again starts
/// a new one.
pub const BROWSER_SESSION_TTL: Duration = Duration::days(14);
/// How long a password-reset link works.
pub const RESET_TOKEN_TTL: Duration = Duration::minutes(30);
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: i64 = 5;
/// The `aud` of every access token.
pub const AUDIENCE: &str = "kraftsoci-api";
/// The `typ` claim of an access token.
const ACCESS_TYPE: &str = "access";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    typ: String,
    sid: String,
    epoch: i64,
}

/// What a verified access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub user: UserId,
    /// The login session (refresh-token family) it was issued for.
    pub session: SessionId,
    /// The user's token epoch when it was issued.
    pub epoch: i64,
}

/// Why an access token was refused. Clients only ever see a plain 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, algorithm, audience, issuer, shape…
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Past `exp` (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// Not an access token.
    #[error("wrong token type")]
    WrongType,
}

/// A freshly signed access token.
pub struct IssuedAccess {
    /// The JWT.
    pub token: SecretString,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Signs and verifies access tokens with the configured HS256 key.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
}

impl fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokens")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Keys from `secret`; tokens name `issuer` (the public URL) as `iss`.
    pub fn new(secret: &SecretString, issuer: &str) -> Self {
        let key = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            issuer: issuer.to_owned(),
        }
    }

    /// Signs an access token for `user` in `session` at `epoch`, valid from `now`.
    ///
    /// # Errors
    /// When signing fails (it does not with an HMAC key; kept for honesty).
    pub fn issue(
        &self,
        user: UserId,
        session: SessionId,
        epoch: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<IssuedAccess> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: user.to_string(),
            exp: (now + ACCESS_TOKEN_TTL).timestamp(),
            nbf: now.timestamp(),
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            typ: ACCESS_TYPE.to_owned(),
            sid: session.to_string(),
            epoch,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(IssuedAccess {
            token: SecretString::from(token),
            expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        })
    }

    /// Verifies a presented access token at `now`.
    ///
    /// # Errors
    /// [`TokenError`] saying why; never echoes the token.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                kind => TokenError::Invalid(format!("{kind:?}")),
            })?;
        let claims = data.claims;
        // jsonwebtoken checks `exp` against the wall clock; time in this server comes from
        // the Clock port (tests move it), so check it against that as well.
        if claims.exp + LEEWAY_SECS < now.timestamp() {
            return Err(TokenError::Expired);
        }
        if claims.nbf - LEEWAY_SECS > now.timestamp() {
            return Err(TokenError::Invalid("not yet valid".to_owned()));
        }
        if claims.typ != ACCESS_TYPE {
            return Err(TokenError::WrongType);
        }
        let user = claims
            .sub
            .parse()
            .map_err(|_| TokenError::Invalid("subject".to_owned()))?;
        let session = claims
            .sid
            .parse()
            .map_err(|_| TokenError::Invalid("session".to_owned()))?;
        Ok(AccessClaims {
            user,
            session,
            epoch: claims.epoch,
        })
    }
}

/// A new opaque token: 256 bits from the OS generator, base64url without padding.
pub fn opaque_token() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TokenHash;

    fn keys() -> AccessTokens {
        AccessTokens::new(
            &SecretString::from("0123456789abcdef0123456789abcdef".to_owned()),
            "https://api.example.com/",
        )
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let keys = keys();
        let (user, session) = (UserId::new(), SessionId::new());
        let now = Utc::now();
        let issued = keys.issue(user, session, 3, now).unwrap();
        assert_eq!(issued.expires_in, 900);
        let claims = keys.verify(issued.token.expose_secret(), now).unwrap();
        assert_eq!(
            claims,
            AccessClaims {
                user,
                session,
                epoch: 3
            }
        );
        let later = now + ACCESS_TOKEN_TTL + Duration::seconds(LEEWAY_SECS + 1);
        assert_eq!(
            keys.verify(issued.token.expose_secret(), later),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn another_issuer_or_key_is_refused() {
        let now = Utc::now();
        let issued = keys()
            .issue(UserId::new(), SessionId::new(), 0, now)
            .unwrap();
        let other_issuer = AccessTokens::new(
            &SecretString::from("0123456789abcdef0123456789abcdef".to_owned()),
            "https://evil.example.com/",
        );
        assert!(matches!(
            other_issuer.verify(issued.token.expose_secret(), now),
            Err(TokenError::Invalid(_))
        ));
        let other_key = AccessTokens::new(
            &SecretString::from("ffffffffffffffffffffffffffffffff".to_owned()),
            "https://api.example.com/",
        );
        assert!(other_key.verify(issued.token.expose_secret(), now).is_err());
    }

    #[test]
    fn opaque_tokens_are_random_and_hash_to_hex() {
        let a = opaque_token();
        let b = opaque_token();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 43);
        let hash = TokenHash::of(a.expose_secret());
        assert_eq!(hash.as_str().len(), 64);
        assert_eq!(hash, TokenHash::of(a.expose_secret()));
        assert!(!format!("{hash:?}").contains(&hash.as_str()[8..]));
    }
}
