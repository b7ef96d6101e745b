//! Onboarding in the web app: the business profile (`/onboarding`), then connecting
//! Instagram (`/onboarding/instagram`), and where Meta's redirect lands for a browser flow.
//!
//! The profile goes through the same domain parsers and store as `PUT /v1/profile`; the
//! connection through the same [`InstagramConnect`](crate::posts::InstagramConnect) as
//! `/v1/instagram/*`. A browser flow's `state` is marked (see
//! [`crate::posts::is_browser_state`]), so `GET /v1/instagram/callback` answers it with a
//! redirect back here, carrying only the outcome; API flows still get JSON.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kraftsoci_core::{
    BusinessDescription, BusinessProfile, ConnectionId, Language, Sector, TargetAudience, Tone,
};
use serde::Deserialize;

use super::web_auth::server_error;
use crate::error::ApiError;
use crate::i18n::{self, Locale};
use crate::posts::{ConnectError, ConnectFlow, Connected};
use crate::state::AppState;
use crate::web::form::{self, FieldErrors, FormError};
use crate::web::views::onboarding::{AccountRow, Outcome, ProfileValues};
use crate::web::views::{self, Alert, Tone as AlertTone};
use crate::web::{Owner, PageContext};

/// The connect page.
pub const INSTAGRAM_PAGE: &str = "/onboarding/instagram";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/onboarding", get(profile_page).post(save_profile))
        .route(INSTAGRAM_PAGE, get(instagram_page))
        .route("/onboarding/instagram/start", get(start))
        .route("/onboarding/instagram/keep", post(keep))
}

/// The profile form's values: the stored profile, else defaults from the account.
pub(crate) async fn stored_profile(
    state: &AppState,
    ctx: &PageContext,
    owner: Owner,
) -> Result<ProfileValues, ApiError> {
    if let Some(profile) = state.stores.profiles.profile(owner.user_id).await? {
        return Ok(ProfileValues {
            description: profile.description.to_string(),
            target_audience: profile.target_audience.to_string(),
            tone: profile.tone.to_string(),
            sector: profile.sector.to_string(),
            language: profile.language.to_string(),
        });
    }
    let account = state.stores.accounts.account(owner.user_id).await?;
    Ok(ProfileValues {
        sector: account.sector.to_string(),
        language: ctx.lang().to_owned(),
        ..ProfileValues::default()
    })
}

async fn profile_page(State(state): State<AppState>, owner: Owner, ctx: PageContext) -> Response {
    match stored_profile(&state, &ctx, owner).await {
        Ok(values) => views::onboarding::profile(
            &ctx,
            StatusCode::OK,
            "/onboarding",
            &values,
            &FieldErrors::new(),
            None,
        )
        .into_response(),
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

/// The profile form's fields.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ProfileForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    target_audience: String,
    #[serde(default)]
    tone: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    language: String,
}

impl ProfileForm {
    fn values(&self) -> ProfileValues {
        ProfileValues {
            description: self.description.trim().to_owned(),
            target_audience: self.target_audience.trim().to_owned(),
            tone: self.tone.trim().to_owned(),
            sector: self.sector.trim().to_owned(),
            language: self.language.trim().to_owned(),
        }
    }

    /// The profile, or an error next to each bad field.
    fn validate(&self) -> Result<BusinessProfile, FieldErrors> {
        let mut errors = FieldErrors::new();
        let description = field(
            &mut errors,
            ("description", &self.description),
            (
                "onboarding-description-required",
                "onboarding-description-invalid",
            ),
            BusinessDescription::parse,
        );
        let audience = field(
            &mut errors,
            ("target_audience", &self.target_audience),
            (
                "onboarding-audience-required",
                "onboarding-audience-invalid",
            ),
            TargetAudience::parse,
        );
        let tone = field(
            &mut errors,
            ("tone", &self.tone),
            ("onboarding-tone-required", "onboarding-tone-invalid"),
            Tone::parse,
        );
        let sector = field(
            &mut errors,
            ("sector", &self.sector),
            ("signup-sector-required", "signup-sector-invalid"),
            Sector::parse,
        );
        let parsed = (description, audience, tone, sector);
        // Posts are written in a language the app speaks.
        let language = Locale::from_tag(&self.language)
            .filter(|l| l.tag() == self.language.trim())
            .and_then(|l| Language::parse(l.tag()).ok());
        if language.is_none() {
            errors.add("language", i18n::key("onboarding-language-invalid"));
        }
        match (parsed, language) {
            (
                (Some(description), Some(target_audience), Some(tone), Some(sector)),
                Some(language),
            ) if errors.is_empty() => Ok(BusinessProfile {
                description,
                target_audience,
                tone,
                sector,
                language,
            }),
            _ => Err(errors),
        }
    }
}

/// `value` parsed, or `None` with the field's "missing" or "invalid" message recorded.
fn field<T, E>(
    errors: &mut FieldErrors,
    (name, value): (&'static str, &str),
    (missing, invalid): (&'static str, &'static str),
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Option<T> {
    if value.trim().is_empty() {
        errors.add(name, i18n::key(missing));
        return None;
    }
    parse(value)
        .map_err(|_| errors.add(name, i18n::key(invalid)))
        .ok()
}

/// Saves the profile posted to `action`; on success answers `see_other(next)`.
pub(crate) async fn save_profile_form(
    state: &AppState,
    owner: Owner,
    ctx: &PageContext,
    body: &[u8],
    action: &str,
    next: &str,
) -> Response {
    let form = match form::parse::<ProfileForm>(ctx, body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "profile form refused");
            let typed = serde_urlencoded::from_bytes::<ProfileForm>(body).unwrap_or_default();
            let alert = Alert {
                tone: AlertTone::Danger,
                heading: ctx.t("form-refused-title"),
                body: ctx.t("form-expired"),
            };
            return views::onboarding::profile(
                ctx,
                StatusCode::FORBIDDEN,
                action,
                &typed.values(),
                &FieldErrors::new(),
                Some(alert),
            )
            .into_response();
        }
        Err(FormError::Malformed(_)) => ProfileForm::default(),
    };
    let profile = match form.validate() {
        Ok(profile) => profile,
        Err(errors) => {
            return views::onboarding::profile(
                ctx,
                StatusCode::BAD_REQUEST,
                action,
                &form.values(),
                &errors,
                None,
            )
            .into_response();
        }
    };
    match state
        .stores
        .profiles
        .put_profile(owner.user_id, &profile)
        .await
    {
        Ok(()) => form::see_other(next),
        Err(error) => server_error(ctx, &error.into()).into_response(),
    }
}

#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn save_profile(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    save_profile_form(&state, owner, &ctx, &body, "/onboarding", INSTAGRAM_PAGE).await
}

/// The query the callback's redirect carries.
#[derive(Debug, Default, Deserialize)]
struct OutcomeQuery {
    #[serde(default)]
    connected: Option<u32>,
    #[serde(default)]
    without: Option<u32>,
    #[serde(default)]
    error: Option<String>,
}

async fn accounts(
    state: &AppState,
    ctx: &PageContext,
    owner: Owner,
) -> Result<Vec<AccountRow>, ApiError> {
    Ok(state
        .stores
        .connections
        .connections(owner.user_id)
        .await?
        .iter()
        .map(|c| AccountRow::of(ctx, c))
        .collect())
}

async fn instagram_page(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: OutcomeQuery = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let outcome = match (query.connected, query.error.as_deref()) {
        (_, Some(code)) => Outcome::from_code(code),
        (Some(accounts), None) => Some(Outcome::Connected {
            accounts,
            pages_without: query.without.unwrap_or(0),
        }),
        (None, None) => None,
    };
    match accounts(&state, &ctx, owner).await {
        Ok(rows) => views::onboarding::instagram(
            &ctx,
            StatusCode::OK,
            &rows,
            outcome,
            state.config.sandbox,
            &FieldErrors::new(),
        )
        .into_response(),
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

/// Issues a browser-flow state and sends the owner to Facebook Login (in sandbox mode,
/// straight to the callback). A GET link rather than a form: the pages' CSP allows forms to
/// post only here, and a redirect after a post counts.
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn start(State(state): State<AppState>, owner: Owner, ctx: PageContext) -> Response {
    match state
        .instagram
        .start_flow(owner.user_id, ConnectFlow::Browser)
        .await
    {
        Ok(start) => match HeaderValue::from_str(&start.authorize_url) {
            Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
            Err(_) => server_error(
                &ctx,
                &ApiError::Internal(anyhow::anyhow!("the login URL is not a header value")),
            )
            .into_response(),
        },
        Err(ConnectError::Unconfigured) => outcome_redirect(Outcome::Unconfigured),
        Err(error) => server_error(&ctx, &error.into()).into_response(),
    }
}

fn outcome_redirect(outcome: Outcome) -> Response {
    let location = match outcome {
        Outcome::Connected {
            accounts,
            pages_without,
        } => format!("{INSTAGRAM_PAGE}?connected={accounts}&without={pages_without}"),
        other => format!("{INSTAGRAM_PAGE}?error={}", other.code()),
    };
    form::see_other(&location)
}

/// The answer to Meta's redirect in a browser flow: back into the app with the outcome.
/// Server failures are logged here (the page only says it did not work).
pub fn after_callback(result: Result<Connected, ConnectError>) -> Response {
    let outcome = match result {
        Ok(connected) if connected.accounts.is_empty() => Outcome::NotBusiness,
        Ok(connected) => Outcome::Connected {
            accounts: u32::try_from(connected.accounts.len()).unwrap_or(u32::MAX),
            pages_without: u32::try_from(connected.pages_without_instagram.len())
                .unwrap_or(u32::MAX),
        },
        Err(error) => {
            let outcome = match &error {
                ConnectError::AccessDenied => Outcome::AccessDenied,
                ConnectError::PermissionsMissing(_) => Outcome::PermissionsMissing,
                ConnectError::InvalidState => Outcome::Expired,
                ConnectError::LoginFailed | ConnectError::NoCode | ConnectError::CodeRefused(_) => {
                    Outcome::Failed
                }
                ConnectError::Unconfigured => Outcome::Unconfigured,
                _ => Outcome::Unavailable,
            };
            if outcome == Outcome::Unavailable {
                tracing::error!(error = format!("{error:#}"), "instagram connection failed");
            }
            outcome
        }
    };
    outcome_redirect(outcome)
}

/// Keeps the ticked accounts and disconnects the others (their tokens are deleted, P15).
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn keep(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let pairs = match form::parse::<Vec<(String, String)>>(&ctx, &body) {
        Ok(pairs) => pairs,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "keep-accounts form refused");
            return views::errors::form_refused(&ctx, INSTAGRAM_PAGE).into_response();
        }
        Err(FormError::Malformed(_)) => Vec::new(),
    };
    let kept: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "keep")
        .map(|(_, v)| v)
        .collect();
    let rows = match accounts(&state, &ctx, owner).await {
        Ok(rows) => rows,
        Err(error) => return server_error(&ctx, &error).into_response(),
    };
    if !rows.iter().any(|row| kept.contains(&row.id)) {
        let mut errors = FieldErrors::new();
        errors.add("keep", i18n::key("onboarding-choose-none"));
        return views::onboarding::instagram(
            &ctx,
            StatusCode::BAD_REQUEST,
            &rows,
            None,
            state.config.sandbox,
            &errors,
        )
        .into_response();
    }
    for row in rows.iter().filter(|row| !kept.contains(&row.id)) {
        let Ok(id) = row.id.parse::<ConnectionId>() else {
            continue;
        };
        if let Err(error) = state.instagram.disconnect(owner.user_id, id).await {
            return server_error(&ctx, &error.into()).into_response();
        }
    }
    form::see_other(INSTAGRAM_PAGE)
}
