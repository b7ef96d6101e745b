//! `/v1/profile`: the business profile the generators read (P02, P27).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kraftsoci_core::{
    BusinessDescription, BusinessProfile, Language, Sector, TargetAudience, Tone,
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody, Fields};
use crate::http::{AuthUser, Json};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/profile", get(profile).put(put_profile))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(profile, put_profile))]
pub struct Doc;

/// The business profile: the only account data a generator ever sees (P11).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "description": "A family bakery baking simit and pastries since 1987",
    "target_audience": "neighbours and commuters", "tone": "warm and cheerful",
    "sector": "bakery", "language": "en"
}))]
pub struct ProfileDto {
    /// What the business does (1–2,000 characters once trimmed).
    #[schema(schema_with = super::document::lines::<1, 2000>)]
    description: String,
    /// Who the posts are for (1–500 characters once trimmed).
    #[schema(schema_with = super::document::lines::<1, 500>)]
    target_audience: String,
    /// The voice, e.g. "warm and playful" (1–80 characters once trimmed, one line).
    #[schema(schema_with = super::document::line::<1, 80>)]
    tone: String,
    /// Sector (1–80 characters once trimmed, one line).
    #[schema(schema_with = super::document::line::<1, 80>)]
    sector: String,
    /// The language posts are written in: a language tag (`en`, `tr`, `pt-BR`).
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r\x20]*[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}[\t\n\x0b\x0c\r\x20]*$",
        example = "en"
    )]
    language: String,
}

impl From<&BusinessProfile> for ProfileDto {
    fn from(profile: &BusinessProfile) -> Self {
        Self {
            description: profile.description.to_string(),
            target_audience: profile.target_audience.to_string(),
            tone: profile.tone.to_string(),
            sector: profile.sector.to_string(),
            language: profile.language.to_string(),
        }
    }
}

/// The profile (404 until one is saved).
#[utoipa::path(get, path = "/v1/profile", tag = "profile", security(("bearer" = [])),
    responses(
        (status = 200, body = ProfileDto),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No profile yet", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn profile(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<ProfileDto>, ApiError> {
    let profile = state
        .stores
        .profiles
        .profile(user.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(ProfileDto::from(&profile)))
}

/// Creates or replaces the profile.
#[utoipa::path(put, path = "/v1/profile", tag = "profile", security(("bearer" = [])),
    request_body = ProfileDto,
    responses(
        (status = 200, body = ProfileDto),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn put_profile(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<ProfileDto>,
) -> Result<Json<ProfileDto>, ApiError> {
    let mut fields = Fields::default();
    let description = fields.check(BusinessDescription::parse(&body.description));
    let target_audience = fields.check(TargetAudience::parse(&body.target_audience));
    let tone = fields.check(Tone::parse(&body.tone));
    let sector = fields.check(Sector::parse(&body.sector));
    let language = fields.check(Language::parse(&body.language));
    let (Some(description), Some(target_audience), Some(tone), Some(sector), Some(language)) =
        (description, target_audience, tone, sector, language)
    else {
        // A field is missing exactly when its reason was recorded.
        return Err(ApiError::Validation(fields.into_map()));
    };
    let profile = BusinessProfile {
        description,
        target_audience,
        tone,
        sector,
        language,
    };
    state.stores.profiles.put_profile(user.id, &profile).await?;
    Ok(Json(ProfileDto::from(&profile)))
}
