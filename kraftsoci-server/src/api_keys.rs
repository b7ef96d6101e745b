//! Personal API keys (issue 15 §3): a program acts for its owner with
//! `Authorization: Bearer ks_…`, limited to the scopes the owner gave the key.
//!
//! ## The key
//! `ks_` followed by 43 characters: 256 bits from the OS generator, base64url without
//! padding. Only its SHA-256 is stored. A slow password hash (bcrypt) would protect nothing
//! here: bcrypt exists to slow down guessing of low-entropy *passwords*, and nobody can guess
//! 256 random bits; it would also make every API request pay ~100 ms of CPU and, being salted,
//! could not be looked up by value (every stored key would have to be tried). The first
//! eleven characters (`ks_` and eight more, 48 bits: not enough to use, enough to tell keys
//! apart) are stored as the visible prefix. The key itself is shown once, in the answer that
//! creates it, and is never stored, listed, exported or logged.
//!
//! ## What a key reaches
//! Deny by default: only the routes that take [`crate::http::ApiCaller`] accept a key, each
//! with the scope it needs ([`Scope`]); every other route, including every account-management
//! route, answers a valid key with 403 `api_key_not_allowed`. The list is
//! [`KEY_ROUTES`] (and `docs/api.md`).
//!
//! ## When a key stops working
//! At once, because every request looks the key up: when the owner revokes it; when the
//! account is closed or erased; when the password is changed or reset (whoever knew the old
//! password may have made a key, so a new password ends every key — the owner makes new ones).
//! Logging out and a replayed refresh token end login sessions, not keys.

use chrono::SubsecRound as _;
use kraftsoci_core::{ApiKeyId, StoreError, UserId};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{ApiKeyAccess, ApiKeyRecord, KeyCreation, NewApiKey, TokenHash};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "ks_";

/// The length of a key: the prefix and 43 base64url characters (32 bytes).
pub const KEY_LEN: usize = KEY_PREFIX.len() + 43;

/// How many characters of a key are kept and shown to tell keys apart.
pub const VISIBLE_PREFIX_LEN: usize = KEY_PREFIX.len() + 8;

/// The most keys one account may hold.
pub const MAX_KEYS_PER_ACCOUNT: u32 = 20;

/// The longest key name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The routes a key can reach and the scope each needs; every other route refuses keys.
#[cfg(any(test, feature = "testing"))]
pub const KEY_ROUTES: &[(&str, &str, Scope)] = &[
    ("GET", "/v1/posts", Scope::PostsRead),
    ("GET", "/v1/posts/{id}", Scope::PostsRead),
    ("GET", "/v1/posts/{id}/consent", Scope::PostsRead),
    ("GET", "/v1/posts/{id}/events", Scope::PostsRead),
    ("GET", "/v1/instagram/accounts", Scope::PostsRead),
    ("POST", "/v1/posts", Scope::PostsWrite),
    ("PATCH", "/v1/posts/{id}", Scope::PostsWrite),
    ("DELETE", "/v1/posts/{id}", Scope::PostsWrite),
    ("POST", "/v1/posts/{id}/regenerate", Scope::PostsWrite),
    ("POST", "/v1/posts/{id}/publish", Scope::PostsPublish),
    ("POST", "/v1/posts/{id}/withdraw", Scope::PostsPublish),
];

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read posts, their consent receipts and the Instagram accounts they can go to.
    PostsRead,
    /// Generate, edit and delete posts.
    PostsWrite,
    /// Click Publish (for content read back with its hash) and withdraw an approval.
    PostsPublish,
}

impl Scope {
    /// Every scope, in display order.
    pub const ALL: [Scope; 3] = [Scope::PostsRead, Scope::PostsWrite, Scope::PostsPublish];

    /// The scope's name in the API (`posts:read`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PostsRead => "posts:read",
            Self::PostsWrite => "posts:write",
            Self::PostsPublish => "posts:publish",
        }
    }

    /// The scope named `name`, exactly.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A key's scopes: a non-empty set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    const fn bit(scope: Scope) -> u8 {
        match scope {
            Scope::PostsRead => 1,
            Scope::PostsWrite => 2,
            Scope::PostsPublish => 4,
        }
    }

    /// Whether `scope` is in the set.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    fn insert(&mut self, scope: Scope) {
        self.0 |= Self::bit(scope);
    }

    /// The scopes in display order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The stored form: names separated by spaces.
    pub fn to_stored(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Reads the stored form; unknown names (from a newer version) are dropped, so a key
    /// never gains a scope it was not given.
    pub fn from_stored(stored: &str) -> Self {
        let mut scopes = Self::default();
        for scope in stored.split_whitespace().filter_map(Scope::parse) {
            scopes.insert(scope);
        }
        scopes
    }
}

/// Why a new key's name or scopes were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyInputError {
    /// `name`: empty.
    NameRequired,
    /// `name`: over [`MAX_NAME_CHARS`] characters or with control characters.
    NameInvalid,
    /// `scopes`: none given.
    ScopesRequired,
    /// `scopes`: a name that is not a scope.
    UnknownScope(String),
    /// `scopes`: `posts:publish` without `posts:read` (a key publishes only content it has
    /// read back, with its hash).
    PublishNeedsRead,
}

impl KeyInputError {
    /// The field the error is about.
    pub const fn field(&self) -> &'static str {
        match self {
            Self::NameRequired | Self::NameInvalid => "name",
            _ => "scopes",
        }
    }

    /// A sentence for API clients.
    pub fn reason(&self) -> String {
        match self {
            Self::NameRequired => "is required".to_owned(),
            Self::NameInvalid => {
                format!("must be at most {MAX_NAME_CHARS} characters without control characters")
            }
            Self::ScopesRequired => "must name at least one scope".to_owned(),
            Self::UnknownScope(name) => format!(
                "`{}` is not a scope (known: posts:read, posts:write, posts:publish)",
                name.chars().take(40).collect::<String>()
            ),
            Self::PublishNeedsRead => {
                "posts:publish needs posts:read: a key publishes only content it has read back"
                    .to_owned()
            }
        }
    }
}

/// A checked request for a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKeyRequest {
    name: String,
    scopes: Scopes,
}

impl NewKeyRequest {
    /// Checks a name (trimmed) and scope names; every problem is reported.
    ///
    /// # Errors
    /// Each [`KeyInputError`] found.
    pub fn parse<S: AsRef<str>>(name: &str, scopes: &[S]) -> Result<Self, Vec<KeyInputError>> {
        let mut errors = Vec::new();
        let name = name.trim();
        if name.is_empty() {
            errors.push(KeyInputError::NameRequired);
        } else if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            errors.push(KeyInputError::NameInvalid);
        }
        let mut set = Scopes::default();
        for scope in scopes {
            match Scope::parse(scope.as_ref().trim()) {
                Some(scope) => set.insert(scope),
                None => errors.push(KeyInputError::UnknownScope(scope.as_ref().to_owned())),
            }
        }
        if scopes.is_empty() {
            errors.push(KeyInputError::ScopesRequired);
        } else if set.contains(Scope::PostsPublish) && !set.contains(Scope::PostsRead) {
            errors.push(KeyInputError::PublishNeedsRead);
        }
        if errors.is_empty() {
            Ok(Self {
                name: name.to_owned(),
                scopes: set,
            })
        } else {
            Err(errors)
        }
    }
}

/// A key just made: its description and the key, which is shown this once.
pub struct CreatedKey {
    /// The stored description.
    pub record: ApiKeyRecord,
    /// The key.
    pub key: SecretString,
}

impl std::fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedKey")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// 409 `api_key_limit_reached`.
pub fn limit_reached() -> ApiError {
    ApiError::conflict(
        "api_key_limit_reached",
        format!(
            "An account can hold {MAX_KEYS_PER_ACCOUNT} API keys; revoke one before making another."
        ),
    )
}

/// Makes a key for `user`.
///
/// # Errors
/// 409 `api_key_limit_reached` at [`MAX_KEYS_PER_ACCOUNT`]; 401 when the account is closed.
pub async fn create(
    state: &AppState,
    user: UserId,
    request: NewKeyRequest,
) -> Result<CreatedKey, ApiError> {
    let key = new_key();
    let record = ApiKeyRecord {
        id: ApiKeyId::new(),
        user,
        name: request.name,
        prefix: key.expose_secret()[..VISIBLE_PREFIX_LEN].to_owned(),
        scopes: request.scopes.to_stored(),
        // Stored at microsecond precision; answer with what a later read returns.
        created_at: state.clock.now().trunc_subsecs(6),
        last_used_at: None,
    };
    let new = NewApiKey {
        hash: TokenHash::of(key.expose_secret()),
        record,
    };
    match state
        .stores
        .api_keys
        .create_api_key(&new, MAX_KEYS_PER_ACCOUNT)
        .await?
    {
        KeyCreation::Created => {
            tracing::info!(%user, key = %new.record.id, "api key created");
            Ok(CreatedKey {
                record: new.record,
                key,
            })
        }
        KeyCreation::LimitReached => Err(limit_reached()),
        KeyCreation::AccountClosed => Err(ApiError::unauthorized()),
    }
}

/// Revokes the user's key at once.
///
/// # Errors
/// 404 when the user has no such key.
pub async fn revoke(state: &AppState, user: UserId, id: ApiKeyId) -> Result<(), ApiError> {
    if state.stores.api_keys.delete_api_key(user, id).await? {
        tracing::info!(%user, key = %id, "api key revoked");
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// A fresh key.
fn new_key() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    use base64::Engine as _;
    SecretString::from(format!(
        "{KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// Whether a bearer credential is meant as an API key (it starts with `ks_`; access tokens
/// are JWTs and start with `ey`).
pub fn is_api_key(credential: &str) -> bool {
    credential.starts_with(KEY_PREFIX)
}

/// Whether `credential` has a key's shape: the prefix, then exactly 43 base64url characters.
fn well_formed(credential: &str) -> bool {
    credential.len() == KEY_LEN
        && credential.starts_with(KEY_PREFIX)
        && credential[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// 401 `invalid_api_key`: malformed, unknown or revoked (indistinguishable).
pub fn invalid_key() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_api_key",
        message: "The API key is not valid; it may have been revoked.".into(),
    }
}

/// A key that authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHolder {
    /// The key's owner.
    pub user: UserId,
    /// The key.
    pub key: ApiKeyId,
    /// What it may do.
    pub scopes: Scopes,
    /// Whether the owner objects to usage logging (P31).
    pub objects_to_usage_log: bool,
}

/// The live key `credential` is, of an open account.
///
/// # Errors
/// 401 `invalid_api_key` for a malformed, unknown or revoked key or a closed account;
/// storage failures.
pub async fn authenticate(state: &AppState, credential: &str) -> Result<KeyHolder, ApiError> {
    if !well_formed(credential) {
        return Err(invalid_key());
    }
    let access = state
        .stores
        .api_keys
        .api_key_access(&TokenHash::of(credential), state.clock.now())
        .await
        .map_err(|error| match error {
            StoreError::NotFound => invalid_key(),
            other => other.into(),
        })?;
    match access {
        Some(ApiKeyAccess {
            key,
            closed: false,
            objects_to_usage_log,
        }) => Ok(KeyHolder {
            user: key.user,
            key: key.id,
            scopes: Scopes::from_stored(&key.scopes),
            objects_to_usage_log,
        }),
        _ => Err(invalid_key()),
    }
}

/// 403 `api_key_scope_missing`.
pub fn scope_missing(scope: Scope) -> ApiError {
    ApiError::Forbidden {
        code: "api_key_scope_missing",
        message: format!("This API key lacks the scope {}.", scope.as_str()).into(),
    }
}

/// 403 `api_key_not_allowed`: a route that takes a signed-in session only.
pub fn not_allowed() -> ApiError {
    ApiError::Forbidden {
        code: "api_key_not_allowed",
        message: "API keys cannot use this route; sign in to use it.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_has_the_prefix_43_base64url_characters_and_is_well_formed() {
        let key = new_key();
        let key = key.expose_secret();
        assert!(key.starts_with("ks_"));
        assert_eq!(key.len(), KEY_LEN);
        assert!(well_formed(key));
        assert_ne!(new_key().expose_secret(), key);
    }

    #[test]
    fn malformed_credentials_are_not_keys() {
        assert!(!well_formed("ks_"));
        assert!(!well_formed(&format!("ks_{}", "a".repeat(42))));
        assert!(!well_formed(&format!("ks_{}", "a".repeat(44))));
        assert!(!well_formed(&format!("ks_{}!", "a".repeat(42))));
        assert!(!well_formed(&format!("kx_{}", "a".repeat(43))));
        assert!(well_formed(&format!(
            "ks_{}",
            "a-_9Z".repeat(9)[..43].to_owned()
        )));
    }

    #[test]
    fn scopes_parse_exactly_and_round_trip_through_storage() {
        let request = NewKeyRequest::parse("CI", &["posts:publish", "posts:read", "posts:read"])
            .expect("valid");
        assert_eq!(request.scopes.to_stored(), "posts:read posts:publish");
        assert_eq!(
            Scopes::from_stored("posts:read posts:publish"),
            request.scopes
        );
        assert_eq!(
            Scopes::from_stored("posts:read admin:all").to_stored(),
            "posts:read"
        );
    }

    #[test]
    fn bad_names_and_scopes_are_all_reported() {
        let errors = NewKeyRequest::parse("  ", &["posts:delete", "POSTS:READ"]).unwrap_err();
        assert_eq!(
            errors,
            vec![
                KeyInputError::NameRequired,
                KeyInputError::UnknownScope("posts:delete".into()),
                KeyInputError::UnknownScope("POSTS:READ".into()),
            ]
        );
        let none: [&str; 0] = [];
        assert_eq!(
            NewKeyRequest::parse(&"x".repeat(101), &none).unwrap_err(),
            vec![KeyInputError::NameInvalid, KeyInputError::ScopesRequired]
        );
        assert_eq!(
            NewKeyRequest::parse("bot", &["posts:publish"]).unwrap_err(),
            vec![KeyInputError::PublishNeedsRead]
        );
    }

    #[test]
    fn the_key_routes_never_include_account_management() {
        for (_, path, _) in KEY_ROUTES {
            assert!(
                path.starts_with("/v1/posts") || *path == "/v1/instagram/accounts",
                "{path}"
            );
        }
    }
}
