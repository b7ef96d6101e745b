//! Authentication (P24): passwords, tokens, the rate limits of the auth routes and the service
//! that ties them to storage.

mod limits;
mod password;
mod pool;
mod service;
mod tokens;

pub(crate) use limits::rate_limited;
pub use limits::{AuthLimits, RateLimiter};
pub use password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Password, PasswordHasher};
pub use pool::{Admission, BUSY_RETRY_AFTER_SECS, HashError, HashPool, Hold, default_threads};
pub use service::{
    AuthService, BrowserLogin, EMAIL_CONSTRAINT, SignUp, TokenPair, email_taken,
    invalid_credentials,
};
pub use tokens::{
    ACCESS_TOKEN_TTL, AUDIENCE, AccessClaims, AccessTokens, BROWSER_SESSION_TTL, IssuedAccess,
    LEEWAY_SECS, REFRESH_TOKEN_TTL, RESET_TOKEN_TTL, TokenError, opaque_token,
};
// The stored forms of a password and an opaque token belong to the credentials port.
pub use crate::store::{PasswordHash, TokenHash};
