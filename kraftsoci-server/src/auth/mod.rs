//! Authentication (P24): passwords, tokens, the rate limits of the auth routes and the service
//! that ties them to storage.

mod limits;
mod password;
mod pool;
mod service;
mod tokens;

pub(crate) use limits::rate_limited;
pub use limits::AuthLimits;
#[cfg(any(test, feature = "testing"))]
pub use limits::RateLimiter;
pub use password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Password, PasswordHasher};
pub use pool::default_threads;
pub use service::{AuthService, EMAIL_CONSTRAINT, SignUp, TokenPair, email_taken, invalid_credentials};
pub use tokens::{AccessClaims, AccessTokens, BROWSER_SESSION_TTL};

// What only the tests (and the `testing` feature's embedders) reach through this module.
#[cfg(any(test, feature = "testing"))]
pub use pool::{Admission, BUSY_RETRY_AFTER_SECS, HashError, HashPool, Hold};
#[cfg(any(test, feature = "testing"))]
pub use service::BrowserLogin;
#[cfg(any(test, feature = "testing"))]
pub use tokens::{
    ACCESS_TOKEN_TTL, AUDIENCE, IssuedAccess, LEEWAY_SECS, REFRESH_TOKEN_TTL, RESET_TOKEN_TTL,
    TokenError, opaque_token,
};
// The stored forms of a password and an opaque token belong to the credentials port.
#[cfg(any(test, feature = "testing"))]
pub use crate::store::{PasswordHash, TokenHash};
