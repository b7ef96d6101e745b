//! Passwords: the policy a new password must meet, and bcrypt hashing (P01, P21).
//!
//! - At least 8 characters, at most 72 **bytes**: bcrypt reads only 72 bytes, and silently
//!   truncating would let `P` and `P + anything` both verify (OWASP ASVS 6.2.8). A longer
//!   password is refused with a clear message instead.
//! - Not one of the very common passwords in `common-passwords.txt` (ASVS 6.2.4).
//! - No composition rules (ASVS 6.2.5).
//!
//! Hashing and verifying run on the password pool ([`super::pool`]): dedicated threads, one
//! core fewer than the machine has, behind a bounded queue. A burst of logins neither stalls
//! the async workers nor takes every core from the reads, and a full queue is refused at once
//! ([`HashError::Busy`], answered 503 + `Retry-After`) instead of waiting without limit.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kraftsoci_core::ParseError;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};

use super::pool::{Admission, HashError, HashPool};

use crate::store::PasswordHash;

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most bytes bcrypt reads; longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// A password that meets the policy. Holds the plaintext as a secret; `Debug` redacts it.
pub struct Password(SecretString);

impl Password {
    /// Checks a new password against the policy; `field` names it in the error
    /// (`password`, `new_password`).
    ///
    /// # Errors
    /// [`ParseError`] on `field`, whose reason never contains the password.
    pub fn parse(field: &'static str, candidate: &SecretString) -> Result<Self, ParseError> {
        let text = candidate.expose_secret();
        if text.chars().count() < MIN_PASSWORD_CHARS {
            return Err(ParseError::new(
                field,
                format!("must have at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if text.len() > MAX_PASSWORD_BYTES {
            return Err(ParseError::new(
                field,
                format!(
                    "must be at most {MAX_PASSWORD_BYTES} bytes (letters outside basic Latin take \
                     2–4 bytes each); use a shorter passphrase"
                ),
            ));
        }
        if COMMON.contains(text.to_lowercase().as_str()) {
            return Err(ParseError::new(
                field,
                "is one of the most common passwords; choose another",
            ));
        }
        Ok(Self(candidate.clone()))
    }

    fn bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// bcrypt on the password pool ([`HashPool`]): dedicated threads, bounded admission.
#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    pool: Arc<HashPool>,
    dummy: PasswordHash,
    verifications: Arc<AtomicU64>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("cost", &self.cost)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// How long an admitted password job may take, waiting and hashing, when the queue depth is
/// automatic: the goal is admitted logins answered within 2 s during a storm, and the rest
/// of a login (a read, a token insert, the HTTP round trip) needs a little of that.
pub const PASSWORD_BUDGET: Duration = Duration::from_millis(1500);

impl PasswordHasher {
    /// A hasher at `cost` on `threads` dedicated threads admitting `depth` waiting jobs beyond
    /// them. With `depth` `None` the pool admits what its threads finish within
    /// `PASSWORD_BUDGET` at the average time of a hash — first the start-up dummy hash's,
    /// then a moving average of every hash since — so the bound follows the cost factor and
    /// the machine's load. Computes the dummy hash that unknown-email logins are checked
    /// against, at the same cost, so both paths take the same time.
    ///
    /// # Errors
    /// When the cost is outside bcrypt's range or a thread cannot start.
    pub async fn new(cost: u32, threads: usize, depth: Option<usize>) -> anyhow::Result<Self> {
        // Start with room for the dummy hash; the real bound follows once it is measured.
        let probe = HashPool::start(threads, 0)?;
        let started = Instant::now();
        let dummy = probe
            .run(move || bcrypt::hash("kraftsoci dummy password for timing", cost))
            .await
            .map_err(anyhow::Error::from)?
            .context("bcrypt refused the configured cost")?;
        let one = started.elapsed();
        let threads = probe.threads();
        drop(probe);
        let pool = match depth {
            Some(depth) => HashPool::start(threads, depth)?,
            None => HashPool::with_budget(threads, PASSWORD_BUDGET, one)?,
        };
        Ok(Self {
            cost,
            pool: Arc::new(pool),
            dummy: PasswordHash::from_stored(dummy),
            verifications: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The work factor.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// The pool the hashing runs on (its size, what is in it, how many jobs it refused).
    pub fn pool(&self) -> &HashPool {
        &self.pool
    }

    /// How many bcrypt verifications ran, real or dummy (an operational counter; tests use it
    /// to prove that an unknown account costs a bcrypt run like a known one).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Hashes a policy-checked password.
    ///
    /// # Errors
    /// [`HashError::Busy`] when the pool is full; [`HashError::Failed`] when bcrypt or the
    /// pool fails.
    pub async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        // `Password::parse` guarantees at most 72 bytes, so the non-truncating variant would
        // only differ at exactly 72 bytes, which bcrypt reads in full.
        let bytes = zeroizing_copy(password.bytes());
        let cost = self.cost;
        let hash = self
            .pool
            .run(move || bcrypt::hash(bytes.as_slice(), cost))
            .await?
            .context("bcrypt failed")?;
        Ok(PasswordHash::from_stored(hash))
    }

    /// Whether `candidate` matches `hash`. With no hash (unknown account) or a candidate that
    /// bcrypt would truncate, a dummy hash is checked instead and the answer is `false`, so
    /// the time taken does not reveal which case happened.
    ///
    /// # Errors
    /// [`HashError::Busy`] when the pool is full (whether or not the account exists);
    /// [`HashError::Failed`] when the pool fails. A malformed stored hash counts as a
    /// mismatch.
    pub async fn verify(
        &self,
        candidate: &SecretString,
        hash: Option<&PasswordHash>,
    ) -> Result<bool, HashError> {
        let admission = self.admit()?;
        self.verify_admitted(admission, candidate, hash).await
    }

    /// Takes a place in the pool for a verification whose stored hash is still to be read
    /// (see [`HashPool::admit`]): a login asks before it reads the account, so a full pool
    /// refuses it without a database round trip.
    ///
    /// # Errors
    /// [`HashError::Busy`] when the pool is full.
    pub fn admit(&self) -> Result<Admission, HashError> {
        self.pool.admit()
    }

    /// [`PasswordHasher::verify`] in a place taken earlier with [`PasswordHasher::admit`].
    ///
    /// # Errors
    /// [`HashError::Failed`] when the pool fails. A malformed stored hash counts as a
    /// mismatch.
    pub async fn verify_admitted(
        &self,
        admission: Admission,
        candidate: &SecretString,
        hash: Option<&PasswordHash>,
    ) -> Result<bool, HashError> {
        let candidate_bytes = candidate.expose_secret().as_bytes();
        let usable = candidate_bytes.len() <= MAX_PASSWORD_BYTES;
        let (target, real) = match hash {
            Some(hash) if usable => (hash.as_str().to_owned(), true),
            _ => (self.dummy.as_str().to_owned(), false),
        };
        let bytes = zeroizing_copy(candidate_bytes);
        let counter = Arc::clone(&self.verifications);
        let matched = self
            .pool
            .run_admitted(admission, move || {
                counter.fetch_add(1, Ordering::Relaxed);
                bcrypt::verify(bytes.as_slice(), &target)
            })
            .await?
            .unwrap_or(false);
        Ok(real && matched)
    }
}

/// A copy of secret bytes for the blocking task, wiped when dropped.
fn zeroizing_copy(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn the_policy_refuses_short_long_and_common_passwords() {
        assert!(Password::parse("password", &secret("correct horse battery")).is_ok());
        let short = Password::parse("password", &secret("seven77")).unwrap_err();
        assert_eq!(short.field(), "password");
        let long = Password::parse("new_password", &secret(&"x".repeat(73))).unwrap_err();
        assert_eq!(long.field(), "new_password");
        assert!(long.reason().contains("72 bytes"));
        // 36 two-byte letters: 36 characters, 72 bytes: accepted; one more is 74 bytes.
        assert!(Password::parse("password", &secret(&"ş".repeat(36))).is_ok());
        assert!(Password::parse("password", &secret(&"ş".repeat(37))).is_err());
        for common in [
            "password123",
            "Password123",
            "QWERTYUIOP",
            "iloveyou1",
            "galatasaray",
        ] {
            let err = Password::parse("password", &secret(common)).unwrap_err();
            assert!(err.reason().contains("common"), "{common}");
            assert!(!err.reason().to_lowercase().contains(&common.to_lowercase()));
        }
    }

    #[test]
    fn the_common_list_holds_a_few_hundred_entries() {
        assert!(COMMON.len() > 300, "{}", COMMON.len());
        assert!(
            COMMON
                .iter()
                .all(|p| p.chars().count() >= MIN_PASSWORD_CHARS)
        );
    }

    #[test]
    fn debug_output_redacts_passwords_and_hashes() {
        let password = Password::parse("password", &secret("a very secret phrase")).unwrap();
        assert!(!format!("{password:?}").contains("secret phrase"));
        let hash = PasswordHash::from_stored("$2b$04$abcdefghijklmnopqrstuv".to_owned());
        assert!(!format!("{hash:?}").contains("abcdef"));
    }

    #[tokio::test]
    async fn hashes_are_bcrypt_and_verify_only_the_same_password() {
        let hasher = PasswordHasher::new(4, 2, None).await.unwrap();
        let plain = secret("a very secret phrase");
        let hash = hasher
            .hash(&Password::parse("password", &plain).unwrap())
            .await
            .unwrap();
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert!(!hash.as_str().contains("secret"));
        assert!(hasher.verify(&plain, Some(&hash)).await.unwrap());
        assert!(
            !hasher
                .verify(&secret("a very secret phrasE"), Some(&hash))
                .await
                .unwrap()
        );
        let before = hasher.verifications();
        assert!(
            !hasher.verify(&plain, None).await.unwrap(),
            "no account, no match"
        );
        assert_eq!(
            hasher.verifications(),
            before + 1,
            "the dummy hash is checked"
        );
        let corrupt = PasswordHash::from_stored("not a hash".to_owned());
        assert!(!hasher.verify(&plain, Some(&corrupt)).await.unwrap());
    }

    #[tokio::test]
    async fn a_password_and_the_same_password_with_a_longer_tail_do_not_both_verify() {
        let hasher = PasswordHasher::new(4, 1, None).await.unwrap();
        let exactly_72 = "k".repeat(72);
        let hash = hasher
            .hash(&Password::parse("password", &secret(&exactly_72)).unwrap())
            .await
            .unwrap();
        assert!(
            hasher
                .verify(&secret(&exactly_72), Some(&hash))
                .await
                .unwrap()
        );
        // Plain bcrypt would read only the first 72 bytes of these and accept them.
        for tail in ["x", "anything else"] {
            let longer = format!("{exactly_72}{tail}");
            assert!(!hasher.verify(&secret(&longer), Some(&hash)).await.unwrap());
        }
    }

    #[tokio::test]
    async fn the_automatic_bound_admits_at_least_one_job_per_thread() {
        let hasher = PasswordHasher::new(4, 2, None).await.unwrap();
        let pool = hasher.pool();
        assert!(pool.average_job_time().is_some());
        assert!(pool.capacity() >= pool.threads(), "{pool:?}");
        let fixed = PasswordHasher::new(4, 2, Some(3)).await.unwrap();
        assert_eq!(fixed.pool().capacity(), 5);
        assert_eq!(fixed.pool().average_job_time(), None);
    }

    #[tokio::test]
    async fn a_full_pool_refuses_hashing_and_verifying_without_running_bcrypt() {
        let hasher = PasswordHasher::new(4, 1, Some(1)).await.unwrap();
        let plain = secret("a very secret phrase");
        let password = Password::parse("password", &plain).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        let holds = [hasher.pool().hold().unwrap(), hasher.pool().hold().unwrap()];
        let before = hasher.verifications();
        assert!(matches!(
            hasher.verify(&plain, Some(&hash)).await,
            Err(HashError::Busy)
        ));
        assert!(matches!(
            hasher.verify(&plain, None).await,
            Err(HashError::Busy)
        ));
        assert!(matches!(hasher.hash(&password).await, Err(HashError::Busy)));
        assert_eq!(hasher.verifications(), before);
        drop(holds);
        assert!(hasher.verify(&plain, Some(&hash)).await.unwrap());
    }
}
