//! Keys: the OAuth-token encryption key ring (`KRAFTSOCI_TOKEN_KEYS`) and the smallest keys
//! accepted.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use rand::RngCore as _;
use secrecy::SecretSlice;

/// The smallest JWT secret (and media signing key), in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// The length of a token-encryption key (AES-256).
pub const TOKEN_KEY_BYTES: usize = 32;

/// `KRAFTSOCI_TOKEN_KEYS`: the OAuth-token encryption key ring (P22). The highest id encrypts;
/// every id decrypts, so a key can be rotated in without losing old tokens.
#[derive(Clone)]
pub struct TokenKeys {
    keys: BTreeMap<u32, SecretSlice<u8>>,
}

impl TokenKeys {
    /// Parses `ID:BASE64(32 bytes)` entries separated by commas.
    ///
    /// # Errors
    /// A reason (never containing key material) when an entry is malformed, a key is not 32
    /// bytes, an id repeats or the list is empty.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut keys = BTreeMap::new();
        for (index, entry) in value.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let position = index + 1;
            let (id, key) = entry
                .split_once(':')
                .ok_or_else(|| format!("entry {position} is not ID:BASE64"))?;
            let id: u32 = id
                .trim()
                .parse()
                .map_err(|_| format!("entry {position} has a non-numeric id"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .map_err(|_| format!("key {id} is not valid base64"))?;
            if bytes.len() != TOKEN_KEY_BYTES {
                return Err(format!("key {id} must decode to {TOKEN_KEY_BYTES} bytes"));
            }
            if keys.insert(id, SecretSlice::from(bytes)).is_some() {
                return Err(format!("key id {id} appears twice"));
            }
        }
        if keys.is_empty() {
            return Err("no keys given".to_owned());
        }
        Ok(Self { keys })
    }

    /// One fresh random key with id 1 (development only: tokens sealed with it cannot be
    /// read after a restart).
    pub fn generate() -> Self {
        let mut key = vec![0u8; TOKEN_KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self {
            keys: BTreeMap::from([(1, SecretSlice::from(key))]),
        }
    }

    /// The id and key that encrypt new tokens: the highest id.
    pub fn current(&self) -> (u32, &SecretSlice<u8>) {
        // `parse` and `generate` never build an empty ring.
        let (id, key) = self
            .keys
            .last_key_value()
            .expect("a token key ring is never empty");
        (*id, key)
    }

    /// The key with `id`, for decrypting.
    pub fn get(&self, id: u32) -> Option<&SecretSlice<u8>> {
        self.keys.get(&id)
    }

    /// Every key, lowest id first.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &SecretSlice<u8>)> {
        self.keys.iter().map(|(id, key)| (*id, key))
    }
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
