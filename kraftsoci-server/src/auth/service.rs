//! The authentication service: sign-up, login, refresh rotation, logout, password change and
//! reset (P24). Handlers parse input and call one method here.

use std::sync::Arc;

use chrono::SubsecRound as _;
use kraftsoci_core::ports::{Account, AccountStore, Mail, Mailer, Preferences};
use kraftsoci_core::{
    BusinessName, Clock, Email, Language, Objections, PersonName, Restrictions, Sector, SessionId,
    StoreError, UserId,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::password::{Password, PasswordHasher};
use super::tokens::{
    AccessTokens, BROWSER_SESSION_TTL, REFRESH_TOKEN_TTL, RESET_TOKEN_TTL, opaque_token,
};
use crate::error::{ApiError, ResultExt as _};
use crate::i18n::{Args, Locale};
use crate::mail::MailTasks;
use crate::store::{
    AuthStore, BrowserSession, Credentials, NewAccount, NewRefreshToken, Rotation, TokenHash,
};

/// The name of the unique index on account emails.
pub const EMAIL_CONSTRAINT: &str = "users_email_key";

/// An access token and a refresh token.
pub struct TokenPair {
    /// The JWT.
    pub access_token: SecretString,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token.
    pub refresh_token: SecretString,
}

/// A new browser session: the token its cookie carries (only its hash is stored) and its id.
pub struct BrowserLogin {
    /// The signed-in user.
    pub user: UserId,
    /// The session (a refresh-token family of kind `browser`).
    pub session: SessionId,
    /// The cookie's value.
    pub token: SecretString,
}

impl std::fmt::Debug for BrowserLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserLogin")
            .field("user", &self.user)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

/// A checked sign-up.
#[derive(Debug)]
pub struct SignUp {
    /// The person's name.
    pub name: PersonName,
    /// Login email.
    pub email: Email,
    /// The password, policy-checked.
    pub password: Password,
    /// Business name.
    pub business_name: BusinessName,
    /// Sector.
    pub sector: Sector,
    /// The policy version the user accepted (already matched against the current one).
    pub accepted_policy_version: String,
    /// The language of the account's pages and mail (the sign-up page's, for the web app).
    pub language: Language,
    /// Where the request came from (recorded with the policy acceptance).
    pub ip: Option<String>,
}

/// 401 `invalid_credentials`: the same for an unknown email and a wrong password.
pub fn invalid_credentials() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_credentials",
        message: "The email or password is not correct.".into(),
    }
}

fn invalid_refresh_token() -> ApiError {
    ApiError::Unauthorized {
        code: "invalid_token",
        message: "The refresh token is not valid; log in again.".into(),
    }
}

fn invalid_reset_token() -> ApiError {
    ApiError::bad_request(
        "invalid_token",
        "The reset link is invalid, used or expired; ask for a new one.",
    )
}

/// Authentication.
pub struct AuthService {
    store: Arc<dyn AuthStore>,
    accounts: Arc<dyn AccountStore>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    hasher: PasswordHasher,
    tokens: AccessTokens,
    frontend_url: Url,
    mail_tasks: MailTasks,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("hasher", &self.hasher)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl AuthService {
    /// The service over its collaborators.
    pub fn new(
        store: Arc<dyn AuthStore>,
        accounts: Arc<dyn AccountStore>,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        hasher: PasswordHasher,
        tokens: AccessTokens,
        frontend_url: Url,
    ) -> Self {
        Self {
            store,
            accounts,
            clock,
            mailer,
            hasher,
            tokens,
            frontend_url,
            mail_tasks: MailTasks::default(),
        }
    }

    /// The mails this service is sending in the background (shutdown waits for them).
    pub fn mail_tasks(&self) -> &MailTasks {
        &self.mail_tasks
    }

    /// The access-token signer and verifier.
    pub fn tokens(&self) -> &AccessTokens {
        &self.tokens
    }

    /// The password hasher.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Starts a new session (refresh-token family) for `user`.
    async fn open_session(&self, user: UserId, epoch: i64) -> Result<TokenPair, ApiError> {
        let now = self.clock.now();
        let session = SessionId::new();
        let refresh = opaque_token();
        self.store
            .insert_refresh_token(&NewRefreshToken {
                hash: TokenHash::of(refresh.expose_secret()),
                session,
                user,
                created_at: now,
                expires_at: now + REFRESH_TOKEN_TTL,
            })
            .await?;
        self.pair(user, session, epoch, refresh)
    }

    fn pair(
        &self,
        user: UserId,
        session: SessionId,
        epoch: i64,
        refresh: SecretString,
    ) -> Result<TokenPair, ApiError> {
        let access = self
            .tokens
            .issue(user, session, epoch, self.clock.now())
            .map_err(ApiError::Internal)?;
        Ok(TokenPair {
            access_token: access.token,
            expires_in: access.expires_in,
            refresh_token: refresh,
        })
    }

    /// Starts a new browser session for `user`: a family of kind `browser`, whose token the
    /// sign-in cookie carries.
    async fn open_browser_session(&self, user: UserId) -> Result<BrowserLogin, ApiError> {
        let now = self.clock.now();
        let session = SessionId::new();
        let token = opaque_token();
        self.store
            .insert_browser_session(&NewRefreshToken {
                hash: TokenHash::of(token.expose_secret()),
                session,
                user,
                created_at: now,
                expires_at: now + BROWSER_SESSION_TTL,
            })
            .await?;
        Ok(BrowserLogin {
            user,
            session,
            token,
        })
    }

    /// The live browser session a cookie's token belongs to; `None` for anything else
    /// (unknown, expired, revoked, an API token, a closed account).
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn browser_session(
        &self,
        presented: &str,
    ) -> Result<Option<BrowserSession>, ApiError> {
        Ok(self
            .store
            .browser_session(&TokenHash::of(presented), self.clock.now())
            .await?)
    }

    /// Creates the account (P01, P35, P38) and logs it in.
    ///
    /// # Errors
    /// 409 `email_taken` when an open account has the email.
    pub async fn sign_up(&self, request: SignUp) -> Result<(Account, TokenPair), ApiError> {
        let account = self.create_account(request).await?;
        let pair = self.open_session(account.id, 0).await?;
        Ok((account, pair))
    }

    /// Creates the account like [`AuthService::sign_up`] and signs the browser in.
    ///
    /// # Errors
    /// 409 `email_taken` when an open account has the email.
    pub async fn sign_up_browser(
        &self,
        request: SignUp,
    ) -> Result<(Account, BrowserLogin), ApiError> {
        let account = self.create_account(request).await?;
        let login = self.open_browser_session(account.id).await?;
        Ok((account, login))
    }

    async fn create_account(&self, request: SignUp) -> Result<Account, ApiError> {
        let password_hash = self.hasher.hash(&request.password).await?;
        let account = Account {
            id: UserId::new(),
            name: request.name,
            email: request.email,
            business_name: request.business_name,
            sector: request.sector,
            // Stored at microsecond precision; answer with what a later read will return.
            created_at: self.clock.now().trunc_subsecs(6),
            preferences: Preferences {
                language: request.language,
                ..Preferences::default()
            },
            restrictions: Restrictions::default(),
            objections: Objections::default(),
            accepted_policy_version: request.accepted_policy_version,
            closed_at: None,
        };
        self.store
            .create_account(&NewAccount {
                account: account.clone(),
                password_hash,
                ip: request.ip,
            })
            .await
            .on_constraint(EMAIL_CONSTRAINT, email_taken)?;
        Ok(account)
    }

    /// Logs in. An unknown email, a closed account and a wrong password are indistinguishable
    /// from outside: same error, and bcrypt runs in every case.
    ///
    /// # Errors
    /// 401 `invalid_credentials`.
    pub async fn log_in(
        &self,
        email: Option<&Email>,
        password: &SecretString,
    ) -> Result<(UserId, TokenPair), ApiError> {
        let credentials = self.check_credentials(email, password).await?;
        let pair = self
            .open_session(credentials.user, credentials.token_epoch)
            .await?;
        Ok((credentials.user, pair))
    }

    /// Signs a browser in, with the same checks as [`AuthService::log_in`].
    ///
    /// # Errors
    /// 401 `invalid_credentials`.
    pub async fn log_in_browser(
        &self,
        email: Option<&Email>,
        password: &SecretString,
    ) -> Result<BrowserLogin, ApiError> {
        let credentials = self.check_credentials(email, password).await?;
        self.open_browser_session(credentials.user).await
    }

    async fn check_credentials(
        &self,
        email: Option<&Email>,
        password: &SecretString,
    ) -> Result<Credentials, ApiError> {
        // The pool's place first: a full pool refuses before the account is read, so the
        // excess of a login storm is answered at once and costs the database nothing. Whether
        // the email exists plays no part in the refusal.
        let admission = self.hasher.admit()?;
        let credentials = match email {
            Some(email) => self.store.credentials_by_email(&email.normalized()).await?,
            None => None,
        };
        let matched = self
            .hasher
            .verify_admitted(
                admission,
                password,
                credentials.as_ref().map(|c| &c.password_hash),
            )
            .await?;
        match credentials {
            Some(credentials) if matched => Ok(credentials),
            _ => Err(invalid_credentials()),
        }
    }

    /// Spends a refresh token for a new pair; a replayed one revokes its whole session.
    ///
    /// # Errors
    /// 401 `invalid_token`.
    pub async fn refresh(&self, presented: &SecretString) -> Result<(UserId, TokenPair), ApiError> {
        let now = self.clock.now();
        let next = opaque_token();
        let rotation = self
            .store
            .rotate_refresh_token(
                &TokenHash::of(presented.expose_secret()),
                &TokenHash::of(next.expose_secret()),
                now,
                now + REFRESH_TOKEN_TTL,
            )
            .await?;
        match rotation {
            Rotation::Rotated {
                user,
                session,
                token_epoch,
            } => Ok((user, self.pair(user, session, token_epoch, next)?)),
            Rotation::Reused { user, session } => {
                tracing::warn!(%user, %session, "refresh token replayed; session revoked");
                Err(invalid_refresh_token())
            }
            Rotation::Invalid => Err(invalid_refresh_token()),
        }
    }

    /// Ends the session the refresh token or browser cookie belongs to (unknown tokens are
    /// ignored).
    ///
    /// # Errors
    /// Storage failures only.
    pub async fn log_out(&self, presented: &SecretString) -> Result<(), ApiError> {
        self.store
            .revoke_session_of(&TokenHash::of(presented.expose_secret()), self.clock.now())
            .await?;
        Ok(())
    }

    /// Whether `password` is the user's current password.
    ///
    /// # Errors
    /// Storage or hashing failures.
    pub async fn verify_password(
        &self,
        user: UserId,
        password: &SecretString,
    ) -> Result<bool, ApiError> {
        // As at login: a full pool refuses before the stored hash is read.
        let admission = self.hasher.admit()?;
        let hash = match self.store.credentials(user).await {
            Ok(credentials) => Some(credentials.password_hash),
            Err(StoreError::NotFound) => None,
            Err(other) => return Err(other.into()),
        };
        Ok(self
            .hasher
            .verify_admitted(admission, password, hash.as_ref())
            .await?)
    }

    /// Changes the password; every other session is revoked and every access token issued
    /// before is refused (the epoch moves). The calling session stays, so its refresh token
    /// yields a fresh access token.
    ///
    /// # Errors
    /// 401 `invalid_credentials` when `current` is wrong.
    pub async fn change_password(
        &self,
        user: UserId,
        session: SessionId,
        current: &SecretString,
        new: &Password,
    ) -> Result<(), ApiError> {
        if !self.verify_password(user, current).await? {
            return Err(invalid_credentials());
        }
        let hash = self.hasher.hash(new).await?;
        self.store
            .change_password(user, &hash, Some(session), self.clock.now())
            .await?;
        Ok(())
    }

    /// Starts a password reset in the background and returns at once, so the answer and its
    /// timing are the same whether or not the email has an account.
    pub fn request_reset(self: &Arc<Self>, email: Email) {
        let this = Arc::clone(self);
        self.mail_tasks.spawn(async move {
            if let Err(error) = this.send_reset(&email).await {
                tracing::error!(error = format!("{error:#}"), "password reset mail not sent");
            }
        });
    }

    async fn send_reset(&self, email: &Email) -> anyhow::Result<()> {
        let Some(credentials) = self.store.credentials_by_email(&email.normalized()).await? else {
            return Ok(());
        };
        let account = self.accounts.account(credentials.user).await?;
        let now = self.clock.now();
        let token = opaque_token();
        self.store
            .insert_reset_token(
                credentials.user,
                &TokenHash::of(token.expose_secret()),
                now,
                now + RESET_TOKEN_TTL,
            )
            .await?;
        // The token travels in the fragment, which browsers never send to a server or put in
        // a Referer header; the page (`/reset-password`) reads it with its script, or the
        // owner pastes the code.
        let mut link = self.frontend_url.join("reset-password")?;
        link.set_fragment(Some(&format!("token={}", token.expose_secret())));
        let locale = mail_locale(&account);
        self.mailer
            .send(&Mail {
                to: account.email,
                subject: locale.t("mail-reset-subject"),
                body: locale.t_with(
                    "mail-reset-body",
                    &Args::new()
                        .text("name", account.name.as_str().to_owned())
                        .text("link", link.to_string())
                        .text("code", token.expose_secret().to_owned()),
                ),
            })
            .await?;
        Ok(())
    }

    /// Sets a new password with a reset token: single use, 30 minutes; every session ends.
    ///
    /// # Errors
    /// 400 `invalid_token` when the token is unknown, used or expired.
    pub async fn confirm_reset(
        &self,
        token: &SecretString,
        new: &Password,
    ) -> Result<(), ApiError> {
        let hash = self.hasher.hash(new).await?;
        let user = self
            .store
            .reset_password(
                &TokenHash::of(token.expose_secret()),
                &hash,
                self.clock.now(),
            )
            .await?
            .ok_or_else(invalid_reset_token)?;
        self.notify_password_changed(user);
        Ok(())
    }

    /// Tells the user their password changed (OWASP: notify after a reset).
    fn notify_password_changed(&self, user: UserId) {
        let accounts = Arc::clone(&self.accounts);
        let mailer = Arc::clone(&self.mailer);
        self.mail_tasks.spawn(async move {
            let result: anyhow::Result<()> = async {
                let account = accounts.account(user).await?;
                let locale = mail_locale(&account);
                mailer
                    .send(&Mail {
                        to: account.email,
                        subject: locale.t("mail-changed-subject"),
                        body: locale.t_with(
                            "mail-changed-body",
                            &Args::new().text("name", account.name.as_str().to_owned()),
                        ),
                    })
                    .await?;
                Ok(())
            }
            .await;
            if let Err(error) = result {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "password-changed notice not sent"
                );
            }
        });
    }
}

/// The language of mail to `account`: its stored language.
fn mail_locale(account: &Account) -> Locale {
    Locale::from_tag(account.preferences.language.as_str()).unwrap_or(Locale::En)
}

/// 409 `email_taken`.
pub fn email_taken() -> ApiError {
    ApiError::conflict("email_taken", "An account with this email already exists.")
}
