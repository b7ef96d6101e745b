//! The key ring: every key version the vault can read, and which one it writes with.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::{Aes256Gcm, Key, KeyInit as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore as _;
use rand::rngs::OsRng;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use super::VaultError;

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;

/// Encryptions under one key after which [`KeyRing::rotation_advised`] turns true.
///
/// NIST SP 800-38D caps random 96-bit nonces at 2³² encryptions per key; advising rotation at
/// 2³⁰ leaves three quarters of the budget for the time it takes an operator to act.
pub const ROTATION_ADVISED_AFTER: u64 = 1 << 30;

/// Encryptions under one key after which the vault refuses to encrypt with it (NIST SP 800-38D
/// limit for random nonces).
pub const MAX_ENCRYPTIONS_PER_KEY: u64 = 1 << 32;

/// One AES-256 key, its cipher, and how often it has encrypted.
///
/// The cipher (the expanded AES key schedule and the GHASH key) is built once per key rather
/// than per operation: key expansion cost as much as a third of a seal + open. It lives exactly
/// as long as the key bytes beside it, and both are wiped when the ring is dropped (the `aes`
/// and `polyval` crates' `zeroize` features, which this crate turns on).
struct KeySlot {
    key: SecretBox<[u8; KEY_LEN]>,
    cipher: Aes256Gcm,
    encryptions: AtomicU64,
}

// The cached key schedule must be wiped on drop; this fails to compile if the `aes` crate's
// `zeroize` feature is ever lost.
const _: fn() = || {
    fn wiped_on_drop<T: secrecy::zeroize::ZeroizeOnDrop>() {}
    wiped_on_drop::<aes_gcm::aes::Aes256>();
};

/// How much a key version has been used by this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsage {
    /// The key version.
    pub version: u32,
    /// Encryptions counted so far (including any noted with
    /// [`KeyRing::note_prior_encryptions`]).
    pub encryptions: u64,
    /// Whether this is the version new ciphertexts are written with.
    pub current: bool,
}

/// AES-256 keys by version. The highest version encrypts; every version decrypts.
///
/// Key bytes live in [`SecretBox`]es (zeroized on drop) and never appear in `Debug` output,
/// errors or logs. Parse the ring from `KRAFTSOCI_TOKEN_KEYS` with [`KeyRing::parse`].
pub struct KeyRing {
    slots: BTreeMap<u32, KeySlot>,
}

impl KeyRing {
    /// Parses the `KRAFTSOCI_TOKEN_KEYS` format: comma-separated `ID:BASE64(32 bytes)` entries,
    /// e.g. `1:q83v…=,2:7Zr1…=`. IDs are unsigned 32-bit integers; the highest one encrypts.
    /// Whitespace around entries and empty entries (a trailing comma) are ignored.
    ///
    /// # Errors
    /// - [`VaultError::EmptyKeyRing`] when there is no entry at all.
    /// - [`VaultError::InvalidKey`] naming the (1-based) entry that has no `:`, a non-numeric
    ///   id, a duplicate id, invalid base64 or a key that is not exactly 32 bytes. The error
    ///   never contains key material.
    pub fn parse(keys: &SecretString) -> Result<Self, VaultError> {
        let mut slots = BTreeMap::new();
        let entries = keys
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty());
        for (index, entry) in entries.enumerate() {
            let entry_no = index + 1;
            let invalid = |reason| VaultError::InvalidKey {
                entry: entry_no,
                reason,
            };
            let (id, encoded) = entry
                .split_once(':')
                .ok_or_else(|| invalid("expected ID:BASE64"))?;
            let version: u32 = id
                .trim()
                .parse()
                .map_err(|_| invalid("the id is not an unsigned 32-bit integer"))?;
            let decoded = Zeroizing::new(
                BASE64
                    .decode(encoded.trim())
                    .map_err(|_| invalid("the key is not valid base64"))?,
            );
            let key = key_from_slice(&decoded).ok_or_else(|| invalid("the key is not 32 bytes"))?;
            if slots.insert(version, KeySlot::new(key)).is_some() {
                return Err(invalid("the id appears twice"));
            }
        }
        if slots.is_empty() {
            return Err(VaultError::EmptyKeyRing);
        }
        Ok(Self { slots })
    }

    /// A ring with one fresh random key, version 1. For development, where tokens need not
    /// survive a restart; production reads its keys with [`KeyRing::parse`].
    ///
    /// # Errors
    /// [`VaultError::RandomnessUnavailable`] when the operating system's CSPRNG fails.
    pub fn generate() -> Result<Self, VaultError> {
        let mut ring = Self {
            slots: BTreeMap::new(),
        };
        ring.slots.insert(1, KeySlot::new(random_key()?));
        Ok(ring)
    }

    /// Adds a fresh random key one version above the current one and returns its version; new
    /// ciphertexts use it from now on, and older versions stay readable. Persist the ring with
    /// [`KeyRing::to_env_value`] before sealing anything with the new key.
    ///
    /// # Errors
    /// [`VaultError::RandomnessUnavailable`] when the CSPRNG fails, and
    /// [`VaultError::NoVersionLeft`] when the current version is already `u32::MAX`.
    pub fn rotate(&mut self) -> Result<u32, VaultError> {
        let next = self
            .current_version()
            .checked_add(1)
            .ok_or(VaultError::NoVersionLeft)?;
        self.slots.insert(next, KeySlot::new(random_key()?));
        Ok(next)
    }

    /// The ring in the `KRAFTSOCI_TOKEN_KEYS` format, ascending by version, so that a generated
    /// or rotated ring can be stored in the secret manager. [`KeyRing::parse`] reads it back.
    pub fn to_env_value(&self) -> SecretString {
        let mut out = String::new();
        for (version, slot) in &self.slots {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&version.to_string());
            out.push(':');
            BASE64.encode_string(slot.key.expose_secret(), &mut out);
        }
        SecretString::from(out)
    }

    /// The version new ciphertexts are sealed with (the highest one).
    pub fn current_version(&self) -> u32 {
        // A ring is never empty: every constructor inserts at least one key.
        self.slots.keys().next_back().copied().unwrap_or(0)
    }

    /// Every version in the ring, ascending.
    pub fn versions(&self) -> Vec<u32> {
        self.slots.keys().copied().collect()
    }

    /// Whether `version` can be decrypted.
    pub fn contains(&self, version: u32) -> bool {
        self.slots.contains_key(&version)
    }

    /// Encryption counts per version, ascending by version.
    ///
    /// Counts start at zero when the process starts; add what earlier processes did with
    /// [`KeyRing::note_prior_encryptions`] if the deployment persists it.
    pub fn usage(&self) -> Vec<KeyUsage> {
        let current = self.current_version();
        self.slots
            .iter()
            .map(|(&version, slot)| KeyUsage {
                version,
                encryptions: slot.encryptions.load(Ordering::Relaxed),
                current: version == current,
            })
            .collect()
    }

    /// Adds `count` encryptions done under `version` by earlier processes (for example a
    /// counter the server keeps in its database), so the limits below stay meaningful across
    /// restarts. Unknown versions are ignored.
    pub fn note_prior_encryptions(&self, version: u32, count: u64) {
        if let Some(slot) = self.slots.get(&version) {
            // `fetch_update` with a saturating add cannot fail; the result is the old value.
            let _ = slot
                .encryptions
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_add(count))
                });
        }
    }

    /// Whether the current key has done at least [`ROTATION_ADVISED_AFTER`] encryptions and a
    /// new key should be added with [`KeyRing::rotate`].
    pub fn rotation_advised(&self) -> bool {
        self.slots
            .get(&self.current_version())
            .is_some_and(|slot| slot.encryptions.load(Ordering::Relaxed) >= ROTATION_ADVISED_AFTER)
    }

    /// The current version and its cipher, after counting one more encryption under it.
    pub(super) fn take_sealing_cipher(&self) -> Result<(u32, &Aes256Gcm), VaultError> {
        // The highest version is the current one: one walk down the tree finds both.
        let (&version, slot) = self
            .slots
            .last_key_value()
            .ok_or(VaultError::EmptyKeyRing)?;
        slot.encryptions
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_ENCRYPTIONS_PER_KEY).then_some(n + 1)
            })
            .map_err(|_| VaultError::KeyExhausted(version))?;
        Ok((version, &slot.cipher))
    }

    /// The cipher of `version`.
    pub(super) fn opening_cipher(&self, version: u32) -> Result<&Aes256Gcm, VaultError> {
        self.slots
            .get(&version)
            .map(|slot| &slot.cipher)
            .ok_or(VaultError::UnknownKeyVersion(version))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current_version", &self.current_version())
            .field("versions", &self.versions())
            .field("keys", &"[REDACTED]")
            .finish()
    }
}

impl KeySlot {
    fn new(key: SecretBox<[u8; KEY_LEN]>) -> Self {
        let cipher = Aes256Gcm::new(<&Key<Aes256Gcm>>::from(key.expose_secret()));
        Self {
            key,
            cipher,
            encryptions: AtomicU64::new(0),
        }
    }
}

/// Copies exactly 32 bytes into a fresh secret, or `None` for any other length.
fn key_from_slice(bytes: &[u8]) -> Option<SecretBox<[u8; KEY_LEN]>> {
    if bytes.len() != KEY_LEN {
        return None;
    }
    // Filled in place so that no unzeroized copy of the key is left on the stack.
    Some(SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
        key.copy_from_slice(bytes);
    }))
}

fn random_key() -> Result<SecretBox<[u8; KEY_LEN]>, VaultError> {
    let mut failed = false;
    let key = SecretBox::init_with_mut(|key: &mut [u8; KEY_LEN]| {
        failed = OsRng.try_fill_bytes(key).is_err();
    });
    if failed {
        return Err(VaultError::RandomnessUnavailable);
    }
    Ok(key)
}
