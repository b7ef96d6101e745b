//! `PUT /v1/me/preferences`: language, theme, time zone and the channels of each
//! notification (issue 15 §2, P36). Security and legal notices cannot be turned off.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::put;
use kraftsoci_core::Language;
use kraftsoci_core::ports::Theme;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use super::account::{PreferencesView, ThemeDto, account_view};
use crate::account::{self, AccountChanges};
use crate::error::{ApiError, ErrorBody, Fields};
use crate::http::{AuthUser, Json};
use crate::notify::{Channels, Notifier, PreferencesError, parse_time_zone};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/me/preferences", put(set_preferences))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(set_preferences), components(schemas(ChannelsInput)))]
pub struct Doc;

/// The channels chosen for one event.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub struct ChannelsInput {
    /// One mail per event.
    mail: bool,
    /// A notice in the app.
    in_app: bool,
}

/// `PUT /v1/me/preferences`: each field is optional; what is left out keeps its value, and
/// events left out of `notifications` keep their channels.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "language": "tr",
    "theme": "dark",
    "time_zone": "Europe/Istanbul",
    "notifications": {
        "published": {"mail": false, "in_app": true},
        "scheduled_soon": {"mail": false, "in_app": false}
    }
}))]
pub struct PreferencesUpdate {
    /// `en` or `tr`.
    language: Option<String>,
    /// The UI theme.
    theme: Option<ThemeDto>,
    /// An IANA time-zone name, e.g. `Europe/Istanbul`.
    time_zone: Option<String>,
    /// Per event name (`published`, `publish_failed`, `needs_reconnect`, `scheduled_soon`,
    /// `quota_80`, `quota_100`, `generation_failed`; `policy_changed` and `security` only with
    /// both channels on).
    #[schema(schema_with = notification_choices)]
    notifications: Option<BTreeMap<String, ChannelsInput>>,
}

/// `notifications`: an object whose keys are event names, each with its channels (or `null`,
/// which changes nothing, like leaving it out).
fn notification_choices() -> utoipa::openapi::Object {
    use utoipa::openapi::Type;
    use utoipa::openapi::schema::SchemaType;
    let nullable_object = SchemaType::from_iter([Type::Object, Type::Null]);
    crate::notify::EventKind::ALL
        .iter()
        .fold(
            utoipa::openapi::ObjectBuilder::new().schema_type(nullable_object),
            |object, kind| {
                object.property(
                    kind.as_str(),
                    utoipa::openapi::Ref::from_schema_name("ChannelsInput"),
                )
            },
        )
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::<
            utoipa::openapi::Schema,
        >::FreeForm(false)))
        .build()
}

/// Sets language, theme, time zone and notification channels; answers the preferences as
/// stored (also part of `GET /v1/me`).
#[utoipa::path(put, path = "/v1/me/preferences", tag = "account", security(("bearer" = [])),
    request_body = PreferencesUpdate,
    responses(
        (status = 200, body = PreferencesView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "`validation_failed` (an unknown field, language or time zone); `unknown_event`; `notification_mandatory`: security and legal notices cannot be turned off", body = ErrorBody),
    ))]
#[tracing::instrument(skip_all, fields(user = %user.id))]
async fn set_preferences(
    State(state): State<AppState>,
    user: AuthUser,
    Json(update): Json<PreferencesUpdate>,
) -> Result<Json<PreferencesView>, ApiError> {
    let notifier = Notifier::new(&state.stores, state.clock.clone());
    let mut preferences = notifier.preferences(user.id).await?;
    let mut fields = Fields::default();
    let language = update
        .language
        .as_deref()
        .and_then(|v| fields.check(Language::parse(v)));
    if let Some(zone) = update.time_zone.as_deref() {
        match parse_time_zone(zone) {
            Ok(zone) => preferences.time_zone = zone,
            Err(_) => fields.add(
                "time_zone",
                "is not an IANA time zone, e.g. Europe/Istanbul",
            ),
        }
    }
    fields.finish()?;
    for (name, channels) in update.notifications.unwrap_or_default() {
        let chosen = Channels {
            mail: channels.mail,
            in_app: channels.in_app,
        };
        let field = format!("notifications.{name}");
        match preferences.choose(&name, chosen) {
            Ok(()) => {}
            Err(PreferencesError::UnknownEvent(_)) => {
                return Err(ApiError::Unprocessable {
                    code: "unknown_event",
                    message: "There is no notification event of that name.".into(),
                    fields: [(field, vec!["is not an event".to_owned()])].into(),
                });
            }
            Err(PreferencesError::Mandatory(_)) => {
                return Err(ApiError::Unprocessable {
                    code: "notification_mandatory",
                    message: "Security and legal notices cannot be turned off.".into(),
                    fields: [(field, vec!["cannot be turned off".to_owned()])].into(),
                });
            }
            Err(PreferencesError::UnknownTimeZone(_)) => {}
        }
    }
    notifier.save_preferences(user.id, &preferences).await?;
    let account = if language.is_some() || update.theme.is_some() {
        account::rectify(
            &state,
            user.id,
            AccountChanges {
                language,
                theme: update.theme.map(Theme::from),
                ..AccountChanges::default()
            },
        )
        .await?
    } else {
        state.stores.accounts.account(user.id).await?
    };
    Ok(Json(account_view(&state, &account).await?.preferences))
}
