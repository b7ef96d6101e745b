//! `/v1/me`: the account (P01), rectification (P27), restrictions (P29), objections (P31) and
//! preferences (P36).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, put};
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{Account, Theme};
use kraftsoci_core::{BusinessName, Email, Language, Objections, PersonName, Restrictions, Sector};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::account::{self, AccountChanges};
use crate::error::{ApiError, ErrorBody, Fields};
use crate::http::{AuthAccount, AuthUser, Json};
use crate::i18n::Locale;
use crate::notify::{NotificationPreferences, Notifier, locale_of};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(me).patch(rectify))
        .route("/v1/me/restrictions", put(set_restrictions))
        .route("/v1/me/objections", put(set_objections))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(me, rectify, set_restrictions, set_objections))]
pub struct Doc;

/// UI theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThemeDto {
    /// Light.
    Light,
    /// Dark.
    Dark,
    /// Follow the system.
    System,
}

impl From<Theme> for ThemeDto {
    fn from(theme: Theme) -> Self {
        match theme {
            Theme::Light => Self::Light,
            Theme::Dark => Self::Dark,
            Theme::System => Self::System,
        }
    }
}

impl From<ThemeDto> for Theme {
    fn from(theme: ThemeDto) -> Self {
        match theme {
            ThemeDto::Light => Self::Light,
            ThemeDto::Dark => Self::Dark,
            ThemeDto::System => Self::System,
        }
    }
}

/// UI and notification preferences (P36: functional storage only).
#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesView {
    /// A BCP 47 language tag.
    pub(crate) language: String,
    /// The theme.
    pub(crate) theme: ThemeDto,
    /// The IANA time zone times are shown in (mails, notices).
    pub(crate) time_zone: String,
    /// Per event: which channels carry it. `policy_changed` and `security` are `mandatory`.
    #[schema(value_type = BTreeMap<String, EventChannelsView>)]
    pub(crate) notifications: BTreeMap<&'static str, EventChannelsView>,
}

/// The channels of one event.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct EventChannelsView {
    /// One mail per event.
    pub(crate) mail: bool,
    /// A notice in the app (`GET /v1/notices`).
    pub(crate) in_app: bool,
    /// Security and legal notices cannot be turned off.
    pub(crate) mandatory: bool,
}

impl PreferencesView {
    /// The notification part of the view from the owner's choices.
    pub(crate) fn set_notifications(&mut self, preferences: &NotificationPreferences) {
        self.time_zone = preferences.time_zone.name().to_owned();
        self.notifications = preferences
            .all()
            .into_iter()
            .map(|(kind, channels)| {
                (
                    kind.as_str(),
                    EventChannelsView {
                        mail: channels.mail,
                        in_app: channels.in_app,
                        mandatory: kind.is_mandatory(),
                    },
                )
            })
            .collect();
    }
}

/// Paused processing (P29).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"generation": false, "publishing": true}))]
pub struct RestrictionsDto {
    /// AI generation is paused.
    generation: bool,
    /// Publishing is paused.
    publishing: bool,
}

/// Objections (P31).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"usage_log": true}))]
pub struct ObjectionsDto {
    /// Only security-relevant usage events are logged.
    usage_log: bool,
}

/// The account.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    id: String,
    name: String,
    email: String,
    business_name: String,
    sector: String,
    created_at: DateTime<Utc>,
    pub(crate) preferences: PreferencesView,
    restrictions: RestrictionsDto,
    objections: ObjectionsDto,
    accepted_policy_version: String,
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        Self {
            id: account.id.to_string(),
            name: account.name.to_string(),
            email: account.email.to_string(),
            business_name: account.business_name.to_string(),
            sector: account.sector.to_string(),
            created_at: account.created_at,
            preferences: {
                let locale = Locale::from_tag(&account.preferences.language.to_string())
                    .unwrap_or(Locale::En);
                let mut view = PreferencesView {
                    language: account.preferences.language.to_string(),
                    theme: account.preferences.theme.into(),
                    time_zone: String::new(),
                    notifications: BTreeMap::new(),
                };
                view.set_notifications(&NotificationPreferences::defaults(locale));
                view
            },
            restrictions: RestrictionsDto {
                generation: account.restrictions.generation,
                publishing: account.restrictions.publishing,
            },
            objections: ObjectionsDto {
                usage_log: account.objections.usage_log,
            },
            accepted_policy_version: account.accepted_policy_version.clone(),
        }
    }
}

/// Preference changes.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PreferencesPatch {
    /// A language tag: 2–3 letters, then up to three `-` subtags of 1–8 letters or digits
    /// (`en`, `tr`, `pt-BR`).
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r\x20]*[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}[\t\n\x0b\x0c\r\x20]*$",
        example = "tr"
    )]
    language: Option<String>,
    theme: Option<ThemeDto>,
}

/// `PATCH /v1/me`: the fields to change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"business_name": "Ayşe Fırın & Kafe", "preferences": {"language": "tr", "theme": "dark"}}))]
pub struct AccountPatch {
    /// The person's name (1–100 characters once trimmed, one line).
    #[schema(schema_with = super::document::nullable_line::<1, 100>)]
    name: Option<String>,
    /// Business name (1–120 characters once trimmed, one line).
    #[schema(schema_with = super::document::nullable_line::<1, 120>)]
    business_name: Option<String>,
    /// Sector (1–80 characters once trimmed, one line).
    #[schema(schema_with = super::document::nullable_line::<1, 80>)]
    sector: Option<String>,
    preferences: Option<PreferencesPatch>,
    /// A new login email; requires `current_password`.
    #[schema(schema_with = super::document::nullable_email)]
    email: Option<String>,
    /// The current password (only for an email change).
    #[schema(value_type = Option<String>, format = Password)]
    current_password: Option<SecretString>,
}

/// The account.
#[utoipa::path(get, path = "/v1/me", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, body = AccountView),
        (status = 401, body = ErrorBody),
    ))]
// The account and its notification choices come with the session check: one statement.
#[tracing::instrument(skip_all, fields(user = %caller.user.id))]
async fn me(caller: AuthAccount) -> Json<AccountView> {
    let preferences = NotificationPreferences::from_stored(
        caller.notifications.as_ref(),
        locale_of(&caller.account),
    );
    let mut view = AccountView::from(&caller.account);
    view.preferences.set_notifications(&preferences);
    Json(view)
}

/// The account with its stored notification preferences.
pub(crate) async fn account_view(
    state: &AppState,
    account: &Account,
) -> Result<AccountView, ApiError> {
    let mut view = AccountView::from(account);
    let preferences = Notifier::new(&state.stores, state.clock.clone())
        .preferences_of(account)
        .await?;
    view.preferences.set_notifications(&preferences);
    Ok(view)
}

/// Rectifies account fields and preferences (P27, P36).
#[utoipa::path(patch, path = "/v1/me", tag = "account", security(("bearer" = [])),
    request_body = AccountPatch,
    responses(
        (status = 200, body = AccountView),
        (status = 401, description = "Not authenticated, or a wrong `current_password` (`invalid_credentials`)", body = ErrorBody),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn rectify(
    State(state): State<AppState>,
    user: AuthUser,
    Json(patch): Json<AccountPatch>,
) -> Result<Json<AccountView>, ApiError> {
    let mut fields = Fields::default();
    let preferences = patch.preferences.unwrap_or_default();
    let changes = AccountChanges {
        name: patch
            .name
            .as_deref()
            .and_then(|v| fields.check(PersonName::parse(v))),
        business_name: patch
            .business_name
            .as_deref()
            .and_then(|v| fields.check(BusinessName::parse(v))),
        sector: patch
            .sector
            .as_deref()
            .and_then(|v| fields.check(Sector::parse(v))),
        language: preferences
            .language
            .as_deref()
            .and_then(|v| fields.check(Language::parse(v))),
        theme: preferences.theme.map(Theme::from),
        email: patch
            .email
            .as_deref()
            .and_then(|v| fields.check(Email::parse(v))),
        current_password: patch.current_password,
    };
    fields.finish()?;
    let account = account::rectify(&state, user.id, changes).await?;
    Ok(Json(account_view(&state, &account).await?))
}

/// Pauses or resumes AI generation and publishing (P29); paused work is refused with 403
/// `processing_restricted`.
#[utoipa::path(put, path = "/v1/me/restrictions", tag = "account", security(("bearer" = [])),
    request_body = RestrictionsDto,
    responses((status = 200, body = RestrictionsDto), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn set_restrictions(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<RestrictionsDto>,
) -> Result<Json<RestrictionsDto>, ApiError> {
    let restrictions = account::set_restrictions(
        &state,
        user.id,
        Restrictions {
            generation: body.generation,
            publishing: body.publishing,
        },
    )
    .await?;
    Ok(Json(RestrictionsDto {
        generation: restrictions.generation,
        publishing: restrictions.publishing,
    }))
}

/// Objects to optional processing (P31): while `usage_log` is set, only security-relevant
/// events are logged.
#[utoipa::path(put, path = "/v1/me/objections", tag = "account", security(("bearer" = [])),
    request_body = ObjectionsDto,
    responses((status = 200, body = ObjectionsDto), (status = 401, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn set_objections(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<ObjectionsDto>,
) -> Result<Json<ObjectionsDto>, ApiError> {
    let objections = account::set_objections(
        &state,
        user.id,
        Objections {
            usage_log: body.usage_log,
        },
    )
    .await?;
    Ok(Json(ObjectionsDto {
        usage_log: objections.usage_log,
    }))
}
