//! Facebook Login (manual flow): the dialog URL, the redirect, the code and long-lived token
//! exchanges, `debug_token` and the granted permissions.
//!
//! The two `oauth/access_token` calls carry the app secret and the code in the query string, as
//! Meta's API requires; those URLs are never logged and never end up in an error (the transport
//! strips URLs and redacts every secret of a call from Meta's messages).

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use url::Url;

use crate::client::{GraphRequest, MetaClient, int_field, versioned};
use crate::error::MetaError;

/// An access token as Meta returned it.
///
/// `Debug` never prints the token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccessToken {
    /// The token.
    pub token: SecretString,
    /// Meta's `token_type` (usually `bearer`).
    pub token_type: Option<String>,
    /// The lifetime Meta announced; it may be missing (never-expiring Page tokens) or short.
    pub expires_in: Option<Duration>,
}

impl AccessToken {
    /// When the token expires, counting from when it was received.
    pub fn expires_at(&self, received_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let lifetime = chrono::Duration::from_std(self.expires_in?).ok()?;
        received_at.checked_add_signed(lifetime)
    }
}

/// Options of the login dialog beyond the defaults.
///
/// ```
/// use kraftsoci_meta::LoginOptions;
///
/// // After `MetaError::PermissionsMissing`: ask again for what the user declined.
/// let options = LoginOptions::default()
///     .with_rerequest(true)
///     .with_scopes(["instagram_content_publish"]);
/// assert!(options.rerequest());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginOptions {
    rerequest: bool,
    scopes: Option<Vec<String>>,
}

impl LoginOptions {
    /// Sets whether to ask again for permissions the user declined before
    /// (`auth_type=rerequest`), as needed after [`MetaError::PermissionsMissing`].
    pub fn with_rerequest(mut self, rerequest: bool) -> Self {
        self.rerequest = rerequest;
        self
    }

    /// Asks for these permissions instead of the configured ones.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Whether declined permissions are asked for again.
    pub fn rerequest(&self) -> bool {
        self.rerequest
    }

    /// The permissions asked for instead of the configured ones, when set.
    pub fn scopes(&self) -> Option<&[String]> {
        self.scopes.as_deref()
    }
}

/// What the login dialog sent back to the redirect URI, once checked.
///
/// `Debug` never prints the code.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginCallback {
    /// The authorization code (usable once) for [`MetaClient::exchange_code`].
    pub code: SecretString,
}

impl LoginCallback {
    /// Parses the redirect's query string (with or without a leading `?`, tolerating Meta's
    /// `#_=_` suffix) and checks its `state` against the one the login started with, in
    /// constant time.
    ///
    /// # Errors
    /// [`MetaError::StateMismatch`] when `state` is missing or different;
    /// [`MetaError::LoginDenied`] when the dialog returned `error=…` (the user declined, or the
    /// app is misconfigured); [`MetaError::InvalidInput`] when there is no code.
    pub fn parse(query: &str, expected_state: &str) -> Result<Self, MetaError> {
        let query = query.trim().trim_start_matches('?');
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        let mut state = None;
        let mut code = None;
        let mut error = None;
        let mut reason = None;
        let mut description = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.as_ref() {
                "state" => state = Some(value),
                "code" => code = Some(value),
                "error" => error = Some(value),
                "error_reason" => reason = Some(value),
                "error_description" => description = Some(value),
                // Some dialogs only send error_code (200: permissions error).
                "error_code" if error.is_none() => error = Some(format!("error_code {value}")),
                _ => {}
            }
        }
        let state_matches = state.as_deref().is_some_and(|state| {
            !expected_state.is_empty()
                && bool::from(state.as_bytes().ct_eq(expected_state.as_bytes()))
        });
        if !state_matches {
            return Err(MetaError::StateMismatch);
        }
        if let Some(error) = error {
            return Err(MetaError::LoginDenied {
                error,
                reason,
                description,
            });
        }
        match code.filter(|c| !c.is_empty()) {
            Some(code) => Ok(Self {
                code: SecretString::from(code),
            }),
            None => Err(MetaError::InvalidInput(
                "the login redirect has no code".into(),
            )),
        }
    }
}

/// When a token expires, as `debug_token` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenExpiry {
    /// `expires_at: 0`: the token does not expire (Page tokens from a long-lived user token).
    Never,
    /// The token expires at this instant.
    At(DateTime<Utc>),
    /// Meta did not say.
    Unknown,
}

/// A permission scoped to specific objects (Pages, IG accounts).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GranularScope {
    /// The permission.
    pub scope: String,
    /// The objects it is granted for (empty: all).
    pub target_ids: Vec<String>,
}

/// The error `debug_token` reports for an invalid token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenProblem {
    /// Meta's code.
    pub code: Option<i64>,
    /// Meta's subcode (463 expired, 460 password changed…).
    pub subcode: Option<i64>,
    /// Meta's message.
    pub message: Option<String>,
}

/// What `debug_token` says about a token. Only `is_valid` is always present.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// Whether the token works.
    pub is_valid: bool,
    /// The app it was issued to.
    pub app_id: Option<String>,
    /// `USER`, `PAGE` or `APP`.
    pub token_type: Option<String>,
    /// The app's name.
    pub application: Option<String>,
    /// The app-scoped user id.
    pub user_id: Option<String>,
    /// When the token expires.
    pub expires: TokenExpiry,
    /// When the data-access window ends (the user must re-authorize after it).
    pub data_access_expires_at: Option<DateTime<Utc>>,
    /// When the token was issued.
    pub issued_at: Option<DateTime<Utc>>,
    /// The granted permissions.
    pub scopes: Vec<String>,
    /// Permissions granted for specific objects.
    pub granular_scopes: Vec<GranularScope>,
    /// Why the token is invalid, when it is.
    pub error: Option<TokenProblem>,
}

/// The user's answers to the permissions the app asked for (`/me/permissions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Permissions {
    /// Granted permissions.
    pub granted: Vec<String>,
    /// Permissions the user declined.
    pub declined: Vec<String>,
    /// Permissions that expired.
    pub expired: Vec<String>,
}

impl Permissions {
    /// Whether a permission is granted.
    pub fn is_granted(&self, permission: &str) -> bool {
        self.granted.iter().any(|p| p == permission)
    }

    /// The permissions of `required` that are not granted, in the given order.
    pub fn missing<'a>(&self, required: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        required
            .into_iter()
            .filter(|p| !self.is_granted(p))
            .map(str::to_owned)
            .collect()
    }
}

impl MetaClient {
    /// The login dialog URL, asking for the configured scopes, with the caller's `state` (an
    /// unguessable value the caller keeps to check the redirect).
    ///
    /// ```
    /// use kraftsoci_meta::{MetaClient, MetaConfig};
    /// use secrecy::SecretString;
    /// use url::Url;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = MetaClient::new(MetaConfig::new(
    ///     "1234567890",
    ///     SecretString::from("app-secret"),
    ///     Url::parse("https://kraftsoci.example/connect/instagram/callback")?,
    /// ))?;
    /// // Keep the state in the owner's session; the redirect must bring it back unchanged.
    /// let url = client.login_url("b9c4e1d2a7f0")?;
    /// let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    /// assert!(query.contains(&("state".into(), "b9c4e1d2a7f0".into())));
    /// assert!(query.contains(&("response_type".into(), "code".into())));
    /// assert!(query.contains(&(
    ///     "scope".into(),
    ///     "instagram_basic,instagram_content_publish,pages_show_list,pages_read_engagement,\
    ///      business_management"
    ///         .into()
    /// )));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`MetaError::MissingConfig`] without an app id or redirect URI;
    /// [`MetaError::InvalidInput`] for an empty state.
    pub fn login_url(&self, state: &str) -> Result<Url, MetaError> {
        self.login_url_with(state, &LoginOptions::default())
    }

    /// The login dialog URL with [`LoginOptions`].
    ///
    /// # Errors
    /// As [`MetaClient::login_url`].
    pub fn login_url_with(&self, state: &str, options: &LoginOptions) -> Result<Url, MetaError> {
        if state.is_empty() {
            return Err(MetaError::InvalidInput("the login state is empty".into()));
        }
        let config = self.config();
        let app_id = config
            .app_id()
            .ok_or(MetaError::MissingConfig { field: "app_id" })?;
        let redirect_uri = config.redirect_uri().ok_or(MetaError::MissingConfig {
            field: "redirect_uri",
        })?;
        let scopes = options
            .scopes
            .as_deref()
            .unwrap_or(config.scopes())
            .join(",");
        let mut url = versioned(
            config.dialog_base_url(),
            config.api_version(),
            &["dialog", "oauth"],
        )?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", app_id)
                .append_pair("redirect_uri", redirect_uri.as_str())
                .append_pair("state", state)
                .append_pair("scope", &scopes)
                .append_pair("response_type", "code");
            if options.rerequest {
                query.append_pair("auth_type", "rerequest");
            }
        }
        Ok(url)
    }

    /// Exchanges the dialog's code for a short-lived user token. A code works once.
    ///
    /// The whole connection, server-side, once Facebook redirected the owner back:
    ///
    /// ```no_run
    /// use kraftsoci_meta::{LoginCallback, MetaClient, MetaConfig};
    /// use secrecy::SecretString;
    /// use url::Url;
    ///
    /// # async fn connect(redirect_query: &str, state_in_session: &str)
    /// #     -> Result<(), Box<dyn std::error::Error>> {
    /// let client = MetaClient::new(MetaConfig::new(
    ///     "1234567890",
    ///     SecretString::from("app-secret"),
    ///     Url::parse("https://kraftsoci.example/connect/instagram/callback")?,
    /// ))?;
    /// // The state must be the one the login started with (constant-time check).
    /// let callback = LoginCallback::parse(redirect_query, state_in_session)?;
    /// let short = client.exchange_code(&callback.code).await?;
    /// let long = client.exchange_long_lived(&short.token).await?; // about 60 days
    /// client.check_permissions(&long.token).await?;
    /// let found = client.instagram_accounts(&long.token).await?;
    /// for account in &found.accounts {
    ///     // Keep `account.page_access_token` (it does not expire) encrypted at rest.
    ///     println!("@{:?} on {}", account.username, account.page_name);
    /// }
    /// for page in &found.pages_without_instagram {
    ///     println!("{} has no Instagram business account linked", page.page_name);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`MetaError::MissingConfig`] without app id, app secret or redirect URI; the classified
    /// Graph failure (a reused or expired code is code 100, [`crate::ErrorKind::InvalidRequest`]).
    #[tracing::instrument(skip_all)]
    pub async fn exchange_code(&self, code: &SecretString) -> Result<AccessToken, MetaError> {
        let (app_id, secret) = self.app_credentials()?;
        let redirect_uri = self
            .config()
            .redirect_uri()
            .ok_or(MetaError::MissingConfig {
                field: "redirect_uri",
            })?;
        let request = GraphRequest::get("code exchange", vec!["oauth", "access_token"])
            .query("client_id", app_id)
            .query("redirect_uri", redirect_uri.as_str())
            .secret_query("client_secret", secret)
            .secret_query("code", code);
        let body: Map<String, Value> = self.send(request).await?;
        access_token("code exchange", &body)
    }

    /// Exchanges a short-lived user token for a long-lived one (about 60 days). There is no
    /// refresh grant: to extend it, the user logs in again.
    ///
    /// # Errors
    /// [`MetaError::MissingConfig`] without app id or secret; the classified Graph failure (an
    /// expired token cannot be exchanged: [`crate::ErrorKind::ReconnectNeeded`]).
    #[tracing::instrument(skip_all)]
    pub async fn exchange_long_lived(
        &self,
        short_lived: &SecretString,
    ) -> Result<AccessToken, MetaError> {
        let (app_id, secret) = self.app_credentials()?;
        let request = GraphRequest::get("long-lived exchange", vec!["oauth", "access_token"])
            .query("grant_type", "fb_exchange_token")
            .query("client_id", app_id)
            .secret_query("client_secret", secret)
            .secret_query("fb_exchange_token", short_lived);
        let body: Map<String, Value> = self.send(request).await?;
        access_token("long-lived exchange", &body)
    }

    /// Inspects a token with the app token (`debug_token`). An invalid token is not an error:
    /// it comes back with `is_valid: false` and the reason.
    ///
    /// # Errors
    /// [`MetaError::MissingConfig`] without app id or secret; the classified Graph failure of
    /// the call itself.
    #[tracing::instrument(skip_all)]
    pub async fn debug_token(&self, token: &SecretString) -> Result<TokenInfo, MetaError> {
        let (app_id, secret) = self.app_credentials()?;
        let app_token = SecretString::from(format!("{app_id}|{}", secret.expose_secret()));
        // `input_token` is necessarily a query parameter of this GET; it is redacted like the
        // code-exchange secrets.
        let request = GraphRequest::get("debug token", vec!["debug_token"])
            .token(&app_token)
            .secret_query("input_token", token);
        let body: Map<String, Value> = self.send(request).await?;
        let data = body.get("data").and_then(Value::as_object).ok_or_else(|| {
            MetaError::UnexpectedResponse {
                call: "debug token",
                detail: "no data object".into(),
            }
        })?;
        Ok(token_info(data))
    }

    /// Reads which permissions the user granted, declined or let expire (`/me/permissions`).
    ///
    /// # Errors
    /// The classified Graph failure.
    #[tracing::instrument(skip_all)]
    pub async fn permissions(&self, user_token: &SecretString) -> Result<Permissions, MetaError> {
        let rows = self
            .paged(
                "permissions",
                vec!["me", "permissions"],
                user_token,
                Vec::new(),
            )
            .await?;
        let mut permissions = Permissions::default();
        for row in rows {
            let Some(name) = row.get("permission").and_then(Value::as_str) else {
                continue;
            };
            let list = match row.get("status").and_then(Value::as_str) {
                Some("granted") => &mut permissions.granted,
                Some("declined") => &mut permissions.declined,
                Some("expired") => &mut permissions.expired,
                _ => continue,
            };
            list.push(name.to_owned());
        }
        Ok(permissions)
    }

    /// Reads the permissions and requires every one of `required_permissions` (by default
    /// [`crate::REQUIRED_PERMISSIONS`]).
    ///
    /// # Errors
    /// [`MetaError::PermissionsMissing`] naming what the user must grant again (send them to
    /// [`MetaClient::login_url_with`] with `rerequest`); the classified Graph failure.
    pub async fn check_permissions(
        &self,
        user_token: &SecretString,
    ) -> Result<Permissions, MetaError> {
        let permissions = self.permissions(user_token).await?;
        let missing = permissions.missing(
            self.config()
                .required_permissions()
                .iter()
                .map(String::as_str),
        );
        if missing.is_empty() {
            Ok(permissions)
        } else {
            Err(MetaError::PermissionsMissing { missing })
        }
    }

    fn app_credentials(&self) -> Result<(&str, &SecretString), MetaError> {
        let config = self.config();
        let app_id = config
            .app_id()
            .ok_or(MetaError::MissingConfig { field: "app_id" })?;
        let secret = config.app_secret().ok_or(MetaError::MissingConfig {
            field: "app_secret",
        })?;
        Ok((app_id, secret))
    }
}

fn access_token(call: &'static str, body: &Map<String, Value>) -> Result<AccessToken, MetaError> {
    let token = body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| MetaError::UnexpectedResponse {
            call,
            detail: "no access_token in the answer".into(),
        })?;
    let expires_in = int_field(body, "expires_in")
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0)
        .map(Duration::from_secs);
    Ok(AccessToken {
        token: SecretString::from(token.to_owned()),
        token_type: body
            .get("token_type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        expires_in,
    })
}

fn timestamp(map: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
    int_field(map, key)
        .filter(|t| *t > 0)
        .and_then(|t| DateTime::from_timestamp(t, 0))
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn token_info(data: &Map<String, Value>) -> TokenInfo {
    let expires = match int_field(data, "expires_at") {
        Some(0) => TokenExpiry::Never,
        Some(at) => DateTime::from_timestamp(at, 0).map_or(TokenExpiry::Unknown, TokenExpiry::At),
        None => TokenExpiry::Unknown,
    };
    let granular_scopes = data
        .get("granular_scopes")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_object)
                .filter_map(|g| {
                    Some(GranularScope {
                        scope: g.get("scope")?.as_str()?.to_owned(),
                        target_ids: strings(g.get("target_ids")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let error = data
        .get("error")
        .and_then(Value::as_object)
        .map(|e| TokenProblem {
            code: int_field(e, "code"),
            subcode: int_field(e, "subcode").or_else(|| int_field(e, "error_subcode")),
            message: text(e, "message"),
        });
    TokenInfo {
        is_valid: data
            .get("is_valid")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        app_id: text(data, "app_id"),
        token_type: text(data, "type"),
        application: text(data, "application"),
        user_id: text(data, "user_id"),
        expires,
        data_access_expires_at: timestamp(data, "data_access_expires_at"),
        issued_at: timestamp(data, "issued_at"),
        scopes: strings(data.get("scopes")),
        granular_scopes,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_with_the_right_state_gives_the_code_without_the_fragment() {
        let callback = LoginCallback::parse("?code=AQD%2Babc&state=s-123#_=_", "s-123").unwrap();
        assert_eq!(callback.code.expose_secret(), "AQD+abc");
    }

    #[test]
    fn a_redirect_with_another_or_no_state_is_refused() {
        assert!(matches!(
            LoginCallback::parse("code=x&state=evil", "s-123"),
            Err(MetaError::StateMismatch)
        ));
        assert!(matches!(
            LoginCallback::parse("code=x", "s-123"),
            Err(MetaError::StateMismatch)
        ));
        assert!(matches!(
            LoginCallback::parse("code=x&state=", ""),
            Err(MetaError::StateMismatch)
        ));
    }

    #[test]
    fn a_declined_login_reports_meta_error_fields() {
        let error = LoginCallback::parse(
            "error=access_denied&error_reason=user_denied&error_description=Permissions+error&state=s",
            "s",
        )
        .unwrap_err();
        let MetaError::LoginDenied {
            error,
            reason,
            description,
        } = error
        else {
            panic!("expected LoginDenied");
        };
        assert_eq!(error, "access_denied");
        assert_eq!(reason.as_deref(), Some("user_denied"));
        assert_eq!(description.as_deref(), Some("Permissions error"));
    }

    #[test]
    fn a_login_for_business_error_code_alone_is_a_denial() {
        assert!(matches!(
            LoginCallback::parse(
                "error_code=200&error_message=Permissions+error&state=s",
                "s"
            ),
            Err(MetaError::LoginDenied { .. })
        ));
    }

    #[test]
    fn a_redirect_without_code_is_invalid_input() {
        assert!(matches!(
            LoginCallback::parse("state=s", "s"),
            Err(MetaError::InvalidInput(_))
        ));
    }

    #[test]
    fn token_info_reads_expiry_zero_as_never_and_tolerates_missing_fields() {
        let data: Map<String, Value> =
            serde_json::from_str(r#"{"is_valid":true,"type":"PAGE","expires_at":0}"#).unwrap();
        let info = token_info(&data);
        assert!(info.is_valid);
        assert_eq!(info.expires, TokenExpiry::Never);
        assert_eq!(info.user_id, None);
        assert!(info.scopes.is_empty());
        let empty = token_info(&Map::new());
        assert!(!empty.is_valid);
        assert_eq!(empty.expires, TokenExpiry::Unknown);
    }

    #[test]
    fn permissions_report_what_is_missing_in_order() {
        let permissions = Permissions {
            granted: vec!["instagram_basic".into(), "pages_show_list".into()],
            declined: vec!["instagram_content_publish".into()],
            expired: vec![],
        };
        assert_eq!(
            permissions.missing(crate::REQUIRED_PERMISSIONS),
            vec!["instagram_content_publish", "pages_read_engagement"]
        );
    }

    #[test]
    fn expires_at_adds_the_lifetime_to_the_receipt_time() {
        let token = AccessToken {
            token: SecretString::from("t"),
            token_type: None,
            expires_in: Some(Duration::from_secs(60)),
        };
        let now = DateTime::from_timestamp(1_000, 0).unwrap();
        assert_eq!(token.expires_at(now), DateTime::from_timestamp(1_060, 0));
    }
}
