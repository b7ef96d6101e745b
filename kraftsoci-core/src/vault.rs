//! Token vault: AES-256-GCM encryption of OAuth tokens at rest (P10, P22).
//!
//! A sealed token is `format (1 byte) || key version (u32, big-endian) || nonce (12 bytes) ||
//! ciphertext || tag (16 bytes)`:
//!
//! - **A fresh random nonce per encryption**, from the operating system's CSPRNG. Encryptions
//!   are counted per key version so that rotation happens long before the 2³² limit NIST sets
//!   for random nonces ([`KeyRing::rotation_advised`], [`MAX_ENCRYPTIONS_PER_KEY`]).
//! - **Bound to its owner.** The associated data names the purpose, the owning user, the subject
//!   (e.g. the Instagram account) and the key version; a ciphertext copied into another row
//!   does not open ([`VaultError::Unreadable`]).
//! - **Rotation.** The [`KeyRing`] encrypts with its highest version and decrypts with any;
//!   [`TokenVault::reseal`] moves a ciphertext to the current key.
//! - Plaintext exists only as [`SecretString`]; key bytes only in zeroizing secrets; neither
//!   appears in `Debug` output or errors. No input makes the vault panic.
//! - **Cheap.** The AES-GCM cipher is built once per key version, the associated data is written
//!   on the stack, and a seal or an open allocates only its output, so a seal + open costs
//!   about what the bare AES-256-GCM work does (`docs/performance.md`).
//!
//! ```
//! use kraftsoci_core::vault::{KeyRing, TokenContext, TokenVault, VaultError};
//! use kraftsoci_core::{IgUserId, UserId};
//! use secrecy::{ExposeSecret, SecretString};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Production: KeyRing::parse(&SecretString::from(std::env::var("KRAFTSOCI_TOKEN_KEYS")?))
//! let vault = TokenVault::new(KeyRing::generate()?);
//! let owner = UserId::new();
//! let ig = IgUserId::parse("17841405822304914")?;
//! let ctx = TokenContext::instagram(owner, &ig);
//!
//! let sealed = vault.seal(&SecretString::from("EAAG-long-lived-token"), &ctx)?;
//! assert_eq!(vault.open(&sealed, &ctx)?.expose_secret(), "EAAG-long-lived-token");
//!
//! // The same bytes in another user's row do not open.
//! let intruder = TokenContext::instagram(UserId::new(), &ig);
//! assert!(matches!(vault.open(&sealed, &intruder), Err(VaultError::Unreadable)));
//! # Ok(())
//! # }
//! ```

mod keyring;
#[cfg(test)]
mod tests;

use std::fmt;

use aes_gcm::aead::AeadInPlace as _;
use aes_gcm::aead::consts::U12;
use aes_gcm::{Nonce, Tag};
use rand::RngCore as _;
use rand::rngs::OsRng;
use secrecy::zeroize::{Zeroize as _, Zeroizing};
use secrecy::{ExposeSecret, SecretString};

use crate::{ConnectionId, IgUserId, UserId};

pub use keyring::{KEY_LEN, KeyRing, KeyUsage, MAX_ENCRYPTIONS_PER_KEY, ROTATION_ADVISED_AFTER};

/// The first byte of every sealed token in the current format.
pub const FORMAT_V1: u8 = 1;

/// Length of the AES-GCM nonce.
pub const NONCE_LEN: usize = 12;

/// Length of the AES-GCM authentication tag.
pub const TAG_LEN: usize = 16;

/// Format byte, key version and nonce.
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// The largest token the vault seals. Meta's tokens are a few hundred bytes; the bound keeps a
/// misuse (sealing a document) from going unnoticed and keeps AES-GCM far from its length limit.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token could not be sealed or opened.
///
/// Messages never contain a token, a key or ciphertext bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Authentication failed: the ciphertext was altered, belongs to another owner, subject or
    /// purpose, or was sealed with a different key of the same version. The owner must
    /// reconnect.
    #[error("the token is unreadable: tampered, bound to another owner or sealed with another key")]
    Unreadable,
    /// The ciphertext names a key version that is not in the ring (a key was removed too
    /// early, or the ring is misconfigured).
    #[error("the token was sealed with key version {0}, which is not configured")]
    UnknownKeyVersion(u32),
    /// The bytes are not a sealed token of a known format.
    #[error("the sealed token is malformed: {0}")]
    Malformed(&'static str),
    /// An entry of the key configuration is invalid. `entry` counts from 1; the reason never
    /// contains key material.
    #[error("token key entry {entry} is invalid: {reason}")]
    InvalidKey {
        /// The 1-based position of the entry in the comma-separated list.
        entry: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The key configuration has no key.
    #[error("no token encryption key is configured")]
    EmptyKeyRing,
    /// The current key has done [`MAX_ENCRYPTIONS_PER_KEY`] encryptions; rotate before sealing
    /// more.
    #[error("token key version {0} reached its encryption limit; rotate the key")]
    KeyExhausted(u32),
    /// The current key version is `u32::MAX`, so no newer version can be added.
    #[error("no key version is left above the current one")]
    NoVersionLeft,
    /// The operating system's random number generator failed.
    #[error("the system random number generator is unavailable")]
    RandomnessUnavailable,
    /// The token is longer than [`MAX_TOKEN_BYTES`].
    #[error("the token is longer than {max} bytes")]
    TokenTooLarge {
        /// The limit in bytes.
        max: usize,
    },
}

impl VaultError {
    /// Whether the stored token can never be opened again, so the connection must be made
    /// again by its owner (as after Graph error 190).
    pub fn needs_reconnect(&self) -> bool {
        matches!(
            self,
            Self::Unreadable | Self::UnknownKeyVersion(_) | Self::Malformed(_)
        )
    }
}

/// What a token is for. The label is part of the associated data, so a token sealed for one
/// purpose cannot be opened as another.
///
/// Labels are stored implicitly in every ciphertext: renaming one makes its tokens unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenPurpose {
    /// The access token a connected Instagram business account publishes with (P03).
    InstagramAccess,
    /// A long-lived Facebook user token, used to list the user's Pages.
    MetaUserAccess,
    /// The signing secret of an outbound webhook endpoint (the subject is the endpoint id).
    WebhookSigning,
}

impl TokenPurpose {
    /// The stable label used in the associated data.
    pub const fn label(self) -> &'static str {
        match self {
            Self::InstagramAccess => "instagram_access",
            Self::MetaUserAccess => "meta_user_access",
            Self::WebhookSigning => "webhook_signing",
        }
    }
}

impl fmt::Display for TokenPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Whom and what a ciphertext belongs to. It is authenticated with the ciphertext (not
/// encrypted), so it must hold identifiers only, never a secret.
///
/// Use the same context to open as to seal; any difference makes the token
/// [`VaultError::Unreadable`]. A context is immutable: it writes the associated data it stands
/// for (all of it but the key version) once, when it is made, and every seal and open with it
/// reuses those bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenContext {
    owner: UserId,
    purpose: TokenPurpose,
    subject: String,
    /// `kraftsoci.token.v1|{purpose}|{owner}|{subject}|key=`, see
    /// [`TokenContext::associated_data`].
    aad_prefix: Box<[u8]>,
}

impl fmt::Debug for TokenContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenContext")
            .field("owner", &self.owner)
            .field("purpose", &self.purpose)
            .field("subject", &self.subject)
            .finish()
    }
}

impl TokenContext {
    /// A context for any purpose and subject.
    pub fn new(owner: UserId, purpose: TokenPurpose, subject: impl Into<String>) -> Self {
        let subject = subject.into();
        let mut uuid = [0_u8; uuid::fmt::Hyphenated::LENGTH];
        let uuid = owner.as_uuid().hyphenated().encode_lower(&mut uuid);
        let parts: [&[u8]; 7] = [
            AAD_PREFIX,
            purpose.label().as_bytes(),
            b"|",
            uuid.as_bytes(),
            b"|",
            subject.as_bytes(),
            b"|key=",
        ];
        let aad_prefix = parts.concat().into_boxed_slice();
        Self {
            owner,
            purpose,
            subject,
            aad_prefix,
        }
    }

    /// The context of an Instagram connection's access token, bound to the Instagram account.
    ///
    /// The Instagram user id is used rather than our connection id because a connection is
    /// unique per owner and Instagram account, while its row id may change when it is
    /// re-created after a disconnect.
    pub fn instagram(owner: UserId, ig_user: &IgUserId) -> Self {
        Self::new(owner, TokenPurpose::InstagramAccess, ig_user.as_str())
    }

    /// The context of a token bound to one of our connection rows.
    pub fn connection(owner: UserId, purpose: TokenPurpose, connection: ConnectionId) -> Self {
        Self::new(owner, purpose, connection.to_string())
    }

    /// The kraftsoci user the token belongs to.
    pub fn owner(&self) -> UserId {
        self.owner
    }

    /// What the token is for.
    pub fn purpose(&self) -> TokenPurpose {
        self.purpose
    }

    /// The row or remote account the token belongs to, e.g. the Instagram user id.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The associated data for `key_version`:
    /// `kraftsoci.token.v1|{purpose}|{owner}|{subject}|key={key_version}`.
    ///
    /// The encoding is unambiguous although `subject` is free text: the purpose labels contain
    /// no `|`, the owner is a fixed-width UUID, and the key version is the digits after the
    /// last `|key=`. Everything but the key version was written when the context was made;
    /// here it is copied, with the version's digits, into a buffer on the stack (no
    /// formatting machinery, no allocation) unless the subject is unusually long. The bytes
    /// are the ones `format!` wrote before, which every stored token depends on (see the
    /// known-answer tests).
    fn associated_data(&self, key_version: u32) -> AssociatedData {
        let mut digits = [0_u8; U32_DIGITS];
        AssociatedData::join(&[&self.aad_prefix, decimal(key_version, &mut digits)])
    }
}

/// What every associated data starts with; the `v1` names the encoding, not the key.
const AAD_PREFIX: &[u8] = b"kraftsoci.token.v1|";

/// Associated data up to this length stays on the stack: the fixed parts take at most 88
/// bytes, which leaves 168 for the subject (an Instagram id has 17, a connection id 36).
const INLINE_AAD_LEN: usize = 256;

/// Digits of `u32::MAX`.
const U32_DIGITS: usize = 10;

/// The associated data of one operation.
#[expect(
    clippy::large_enum_variant,
    reason = "the inline variant is the point: it lives on the stack for one call"
)]
enum AssociatedData {
    Inline {
        bytes: [u8; INLINE_AAD_LEN],
        len: usize,
    },
    /// For subjects too long for the stack buffer; allocated once, at its exact size.
    Heap(Vec<u8>),
}

impl AssociatedData {
    fn join(parts: &[&[u8]]) -> Self {
        let len = parts.iter().map(|part| part.len()).sum::<usize>();
        if len > INLINE_AAD_LEN {
            return Self::Heap(parts.concat());
        }
        let mut bytes = [0_u8; INLINE_AAD_LEN];
        let mut at = 0;
        for part in parts {
            let end = at + part.len();
            bytes[at..end].copy_from_slice(part);
            at = end;
        }
        Self::Inline { bytes, len }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { bytes, len } => &bytes[..*len],
            Self::Heap(bytes) => bytes,
        }
    }
}

/// `n` in decimal ASCII, written into the end of `buf`.
fn decimal(mut n: u32, buf: &mut [u8; U32_DIGITS]) -> &[u8] {
    let mut start = U32_DIGITS;
    loop {
        start -= 1;
        // `n % 10` is below 10, so the cast keeps every bit.
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

/// The parts of a sealed token.
struct Envelope<'a> {
    key_version: u32,
    nonce: [u8; NONCE_LEN],
    ciphertext: &'a [u8],
    tag: [u8; TAG_LEN],
}

impl<'a> Envelope<'a> {
    fn parse(sealed: &'a [u8]) -> Result<Self, VaultError> {
        let (&format, rest) = sealed.split_first().ok_or(VaultError::Malformed("empty"))?;
        if format != FORMAT_V1 {
            return Err(VaultError::Malformed("unknown format"));
        }
        if sealed.len() < HEADER_LEN + TAG_LEN {
            return Err(VaultError::Malformed("too short"));
        }
        let too_short = || VaultError::Malformed("too short");
        let (version, rest) = rest.split_first_chunk::<4>().ok_or_else(too_short)?;
        let (nonce, rest) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or_else(too_short)?;
        let (ciphertext, tag) = rest.split_last_chunk::<TAG_LEN>().ok_or_else(too_short)?;
        Ok(Self {
            key_version: u32::from_be_bytes(*version),
            nonce: *nonce,
            ciphertext,
            tag: *tag,
        })
    }
}

/// The key version a sealed token was written with, read from its header without decrypting.
///
/// Lets a rotation job select the rows that still use an old key.
///
/// # Errors
/// [`VaultError::Malformed`] when the bytes are not a sealed token of a known format.
pub fn key_version_of(sealed: &[u8]) -> Result<u32, VaultError> {
    Envelope::parse(sealed).map(|envelope| envelope.key_version)
}

/// Seals and opens OAuth tokens with the keys of a [`KeyRing`]. Share it as `Arc<TokenVault>`.
///
/// ```
/// use kraftsoci_core::vault::{KeyRing, TokenContext, TokenVault};
/// use kraftsoci_core::{IgUserId, UserId};
/// use secrecy::{ExposeSecret, SecretString};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Two key versions, as `KRAFTSOCI_TOKEN_KEYS` holds them after a rotation.
/// let mut ring = KeyRing::generate()?;
/// let old = TokenVault::new(KeyRing::parse(&ring.to_env_value())?);
/// ring.rotate()?;
/// let vault = TokenVault::new(ring);
///
/// let ctx = TokenContext::instagram(UserId::new(), &IgUserId::parse("17841405822304914")?);
/// let sealed_long_ago = old.seal(&SecretString::from("EAAG-token"), &ctx)?;
///
/// // Older tokens still open, and reseal moves them to the current key.
/// assert_eq!(vault.open(&sealed_long_ago, &ctx)?.expose_secret(), "EAAG-token");
/// let resealed = vault.reseal(&sealed_long_ago, &ctx)?.expect("written with an older key");
/// assert!(!vault.needs_rotation(&resealed)?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TokenVault {
    ring: KeyRing,
}

impl TokenVault {
    /// A vault over `ring`.
    pub fn new(ring: KeyRing) -> Self {
        Self { ring }
    }

    /// The key ring (versions, usage counts, rotation advice).
    pub fn key_ring(&self) -> &KeyRing {
        &self.ring
    }

    /// Encrypts `token` for `context` with the current key and a fresh random nonce. Sealing
    /// the same token twice gives different bytes.
    ///
    /// # Errors
    /// - [`VaultError::TokenTooLarge`] above [`MAX_TOKEN_BYTES`].
    /// - [`VaultError::KeyExhausted`] when the current key reached its encryption limit.
    /// - [`VaultError::RandomnessUnavailable`] when no nonce can be drawn.
    pub fn seal(
        &self,
        token: &SecretString,
        context: &TokenContext,
    ) -> Result<Vec<u8>, VaultError> {
        let plaintext = token.expose_secret().as_bytes();
        if plaintext.len() > MAX_TOKEN_BYTES {
            return Err(VaultError::TokenTooLarge {
                max: MAX_TOKEN_BYTES,
            });
        }
        let mut nonce = [0_u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| VaultError::RandomnessUnavailable)?;
        self.seal_with_nonce(plaintext, context, nonce)
    }

    /// [`TokenVault::seal`] with a given nonce: the known-answer tests pin the bytes with it.
    /// Never call it twice with one nonce under one key.
    fn seal_with_nonce(
        &self,
        plaintext: &[u8],
        context: &TokenContext,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Vec<u8>, VaultError> {
        let (key_version, cipher) = self.ring.take_sealing_cipher()?;

        // The only allocation of a seal. Exact capacity: the buffer never reallocates, so no copy of the plaintext is left in
        // freed memory while it is encrypted in place.
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.push(FORMAT_V1);
        out.extend_from_slice(&key_version.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let sealed = cipher.encrypt_in_place_detached(
            <&Nonce<U12>>::from(&nonce),
            context.associated_data(key_version).as_bytes(),
            &mut out[HEADER_LEN..],
        );
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(out)
            }
            Err(_) => {
                // Only AES-GCM's length limit (2³⁶ bytes) makes encryption fail, far above
                // MAX_TOKEN_BYTES; still, never hand back or leak a half-encrypted buffer.
                out.zeroize();
                Err(VaultError::TokenTooLarge {
                    max: MAX_TOKEN_BYTES,
                })
            }
        }
    }

    /// Decrypts a sealed token for `context`.
    ///
    /// # Errors
    /// - [`VaultError::Malformed`] for bytes that are not a sealed token (too short, unknown
    ///   format byte, plaintext not UTF-8).
    /// - [`VaultError::UnknownKeyVersion`] when the ring lacks the token's key version.
    /// - [`VaultError::Unreadable`] when authentication fails: any altered byte, another
    ///   owner, subject or purpose, or another key under the same version.
    pub fn open(&self, sealed: &[u8], context: &TokenContext) -> Result<SecretString, VaultError> {
        let envelope = Envelope::parse(sealed)?;
        let cipher = self.ring.opening_cipher(envelope.key_version)?;
        // The only allocation of an open: the buffer becomes the returned secret's storage.
        // aes-gcm decrypts in place before it compares tags, so even a rejected buffer can hold
        // a real token (e.g. one copied to another owner's row): zeroize it either way.
        let mut buffer = Zeroizing::new(envelope.ciphertext.to_vec());
        cipher
            .decrypt_in_place_detached(
                <&Nonce<U12>>::from(&envelope.nonce),
                context.associated_data(envelope.key_version).as_bytes(),
                &mut buffer,
                <&Tag>::from(&envelope.tag),
            )
            .map_err(|_| VaultError::Unreadable)?;
        match String::from_utf8(std::mem::take(&mut *buffer)) {
            Ok(token) => Ok(SecretString::from(token)),
            Err(not_utf8) => {
                not_utf8.into_bytes().zeroize();
                Err(VaultError::Malformed("the token is not utf-8"))
            }
        }
    }

    /// Whether `sealed` was written with an older key than the current one.
    ///
    /// # Errors
    /// [`VaultError::Malformed`] for bytes that are not a sealed token, and
    /// [`VaultError::UnknownKeyVersion`] when the ring cannot read it at all.
    pub fn needs_rotation(&self, sealed: &[u8]) -> Result<bool, VaultError> {
        let version = key_version_of(sealed)?;
        if !self.ring.contains(version) {
            return Err(VaultError::UnknownKeyVersion(version));
        }
        Ok(version != self.ring.current_version())
    }

    /// Re-encrypts `sealed` under the current key if it uses an older one: `Some(new bytes)`
    /// to store in place of the old, `None` when it is already current. The token is
    /// authenticated against `context` first, so a row that does not belong to its owner is
    /// never re-sealed.
    ///
    /// # Errors
    /// As [`TokenVault::open`] and [`TokenVault::seal`].
    pub fn reseal(
        &self,
        sealed: &[u8],
        context: &TokenContext,
    ) -> Result<Option<Vec<u8>>, VaultError> {
        if !self.needs_rotation(sealed)? {
            return Ok(None);
        }
        let token = self.open(sealed, context)?;
        self.seal(&token, context).map(Some)
    }
}
