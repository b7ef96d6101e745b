//! Authentication.
mod password;
mod tokens;
pub use password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Password, PasswordHash, PasswordHasher};
pub use tokens::{
    ACCESS_TOKEN_TTL, AUDIENCE, AccessClaims, AccessTokens, IssuedAccess, LEEWAY_SECS,
    REFRESH_TOKEN_TTL, RESET_TOKEN_TTL, TokenError, TokenHash, opaque_token,
};
