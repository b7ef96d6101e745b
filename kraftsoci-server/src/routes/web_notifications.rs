//! The web app's notification settings (`/settings/notifications`: per event, mail and
//! notice, and the time zone) and webhooks (`/settings/webhooks`: add with the secret shown
//! once, delete, an endpoint's deliveries with re-send). The same services as
//! `PUT /v1/me/preferences` and `/v1/me/webhooks`; every form carries the CSRF token.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kraftsoci_core::StoreError;
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use super::web_auth::server_error;
use super::webhooks::service;
use crate::error::ApiError;
use crate::i18n::Args;
use crate::notify::{Channels, EventKind, Notifier, parse_time_zone};
use crate::state::AppState;
use crate::store::WebhookEndpoint;
use crate::web::form::{self, FormError};
use crate::web::views::settings_notifications::{self as view, DeliveryRow, EndpointRow, EventRow};
use crate::web::views::{Alert, Tone};
use crate::web::{Owner, PageContext};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/notifications", get(page).post(save))
        .route("/settings/webhooks", post(add))
        .route("/settings/webhooks/{id}", get(deliveries))
        .route("/settings/webhooks/{id}/delete", post(delete))
        .route(
            "/settings/webhooks/{id}/deliveries/{delivery}/resend",
            post(resend),
        )
}

fn event_label(ctx: &PageContext, kind: EventKind) -> String {
    ctx.t(&format!("notify-event-{}", kind.as_str().replace('_', "-")))
}

/// An event's name as the reader's language calls it (the stored name if it is unknown).
fn event_name_label(ctx: &PageContext, name: &str) -> String {
    EventKind::parse(name).map_or_else(|| name.to_owned(), |kind| event_label(ctx, kind))
}

fn endpoint_row(ctx: &PageContext, endpoint: WebhookEndpoint) -> EndpointRow {
    EndpointRow {
        id: endpoint.id.to_string(),
        url: endpoint.url,
        events: endpoint
            .events
            .iter()
            .map(|name| event_name_label(ctx, name))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A delivery's status in the reader's language.
fn delivery_status_label(ctx: &PageContext, status: &str) -> String {
    match status {
        "pending" => ctx.t("notify-delivery-pending"),
        "succeeded" => ctx.t("notify-delivery-succeeded"),
        "failed" => ctx.t("notify-delivery-failed"),
        other => other.to_owned(),
    }
}

fn alert(ctx: &PageContext, tone: Tone, body: String) -> Alert {
    Alert {
        tone,
        heading: ctx.t(if tone == Tone::Danger {
            "form-refused-title"
        } else {
            "settings-saved-heading"
        }),
        body,
    }
}

/// The page with `status`, `alert` and, right after an endpoint was added, its secret.
async fn render(
    state: &AppState,
    owner: Owner,
    ctx: &PageContext,
    status: StatusCode,
    alert: Option<Alert>,
    secret: Option<&str>,
    url: &str,
) -> Response {
    let notifier = Notifier::new(&state.stores, state.clock.clone());
    let preferences = match notifier.preferences(owner.user_id).await {
        Ok(preferences) => preferences,
        Err(error) => return server_error(ctx, &error.into()).into_response(),
    };
    let endpoints = match service(state).list(owner.user_id).await {
        Ok(endpoints) => endpoints,
        Err(error) => return server_error(ctx, &error.into()).into_response(),
    };
    let events: Vec<EventRow> = preferences
        .all()
        .into_iter()
        .map(|(kind, channels)| EventRow {
            name: kind.as_str(),
            label: event_label(ctx, kind),
            mail: channels.mail,
            in_app: channels.in_app,
            mandatory: kind.is_mandatory(),
        })
        .collect();
    let webhook_events: Vec<(&'static str, String)> = EventKind::OPTIONAL
        .into_iter()
        .map(|kind| (kind.as_str(), event_label(ctx, kind)))
        .collect();
    let endpoints: Vec<EndpointRow> = endpoints
        .into_iter()
        .map(|endpoint| endpoint_row(ctx, endpoint))
        .collect();
    view::page(
        ctx,
        status,
        alert,
        preferences.time_zone.name(),
        &events,
        &endpoints,
        &webhook_events,
        secret,
        url,
    )
    .into_response()
}

async fn page(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    RawQuery(raw): RawQuery,
) -> Response {
    let notice = match raw.as_deref() {
        Some("saved=preferences") => Some("notify-settings-saved"),
        Some("saved=deleted") => Some("notify-webhooks-deleted"),
        _ => None,
    }
    .map(|key| alert(&ctx, Tone::Done, ctx.t(key)));
    render(&state, owner, &ctx, StatusCode::OK, notice, None, "").await
}

/// A form refused for its CSRF token: nothing changes (403).
async fn expired(state: &AppState, owner: Owner, ctx: &PageContext) -> Response {
    let expired = alert(ctx, Tone::Danger, ctx.t("form-expired"));
    render(
        state,
        owner,
        ctx,
        StatusCode::FORBIDDEN,
        Some(expired),
        None,
        "",
    )
    .await
}

fn checked(fields: &BTreeMap<String, String>, name: &str) -> bool {
    fields.get(name).is_some_and(|value| !value.is_empty())
}

/// Saves the channels of every optional event (an unchecked box is "off") and the zone.
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn save(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let fields = match form::parse::<BTreeMap<String, String>>(&ctx, &body) {
        Ok(fields) => fields,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "notifications form refused");
            return expired(&state, owner, &ctx).await;
        }
        Err(FormError::Malformed(_)) => BTreeMap::new(),
    };
    let notifier = Notifier::new(&state.stores, state.clock.clone());
    let mut preferences = match notifier.preferences(owner.user_id).await {
        Ok(preferences) => preferences,
        Err(error) => return server_error(&ctx, &error.into()).into_response(),
    };
    let zone = fields.get("time_zone").map_or("", |z| z.trim());
    match parse_time_zone(zone) {
        Ok(zone) => preferences.time_zone = zone,
        Err(_) => {
            let refused = alert(
                &ctx,
                Tone::Danger,
                ctx.t("notify-settings-time-zone-invalid"),
            );
            return render(
                &state,
                owner,
                &ctx,
                StatusCode::BAD_REQUEST,
                Some(refused),
                None,
                "",
            )
            .await;
        }
    }
    for kind in EventKind::OPTIONAL {
        let channels = Channels {
            mail: checked(&fields, &format!("{}_mail", kind.as_str())),
            in_app: checked(&fields, &format!("{}_in_app", kind.as_str())),
        };
        // Optional events accept any choice.
        let _ = preferences.choose(kind.as_str(), channels);
    }
    match notifier.save_preferences(owner.user_id, &preferences).await {
        Ok(()) => form::see_other("/settings/notifications?saved=preferences"),
        Err(error) => server_error(&ctx, &error.into()).into_response(),
    }
}

/// Registers an endpoint and shows its secret this once.
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn add(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let fields = match form::parse::<BTreeMap<String, String>>(&ctx, &body) {
        Ok(fields) => fields,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "webhook form refused");
            return expired(&state, owner, &ctx).await;
        }
        Err(FormError::Malformed(_)) => BTreeMap::new(),
    };
    let url = fields.get("url").map_or("", |u| u.trim()).to_owned();
    let events: Vec<String> = EventKind::OPTIONAL
        .into_iter()
        .filter(|kind| checked(&fields, &format!("event_{}", kind.as_str())))
        .map(|kind| kind.as_str().to_owned())
        .collect();
    match service(&state).register(owner.user_id, &url, &events).await {
        Ok(registered) => {
            let added = alert(&ctx, Tone::Done, ctx.t("notify-webhooks-added"));
            render(
                &state,
                owner,
                &ctx,
                StatusCode::CREATED,
                Some(added),
                Some(registered.secret.expose_secret()),
                "",
            )
            .await
        }
        Err(crate::notify::WebhookError::Store(error)) => {
            server_error(&ctx, &error.into()).into_response()
        }
        Err(error) => {
            let reason = error.to_string();
            let refused = alert(
                &ctx,
                Tone::Danger,
                ctx.t_with(
                    "notify-webhooks-refused",
                    &Args::new().text("reason", reason),
                ),
            );
            let status = if matches!(error, crate::notify::WebhookError::TooMany) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            render(&state, owner, &ctx, status, Some(refused), None, &url).await
        }
    }
}

async fn not_found(state: &AppState, owner: Owner, ctx: &PageContext) -> Response {
    let missing = alert(ctx, Tone::Danger, ctx.t("notify-webhooks-not-found"));
    render(
        state,
        owner,
        ctx,
        StatusCode::NOT_FOUND,
        Some(missing),
        None,
        "",
    )
    .await
}

#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Response {
    if let Err(FormError::Forged(reason)) = form::parse::<BTreeMap<String, String>>(&ctx, &body) {
        tracing::info!(%reason, "webhook delete refused");
        return expired(&state, owner, &ctx).await;
    }
    match service(&state).delete(owner.user_id, id).await {
        Ok(()) => form::see_other("/settings/notifications?saved=deleted"),
        Err(StoreError::NotFound) => not_found(&state, owner, &ctx).await,
        Err(error) => server_error(&ctx, &ApiError::from(error)).into_response(),
    }
}

async fn deliveries_page(
    state: &AppState,
    owner: Owner,
    ctx: &PageContext,
    id: Uuid,
    notice: Option<Alert>,
) -> Response {
    let webhooks = service(state);
    let endpoint = match webhooks.list(owner.user_id).await {
        Ok(list) => list.into_iter().find(|endpoint| endpoint.id == id),
        Err(error) => return server_error(ctx, &error.into()).into_response(),
    };
    let Some(endpoint) = endpoint else {
        return not_found(state, owner, ctx).await;
    };
    let rows = match webhooks.deliveries(owner.user_id, id).await {
        Ok(rows) => rows,
        Err(error) => return server_error(ctx, &error.into()).into_response(),
    };
    let rows: Vec<DeliveryRow> = rows
        .into_iter()
        .map(|delivery| DeliveryRow {
            id: delivery.id.to_string(),
            event: event_name_label(ctx, &delivery.event),
            status: delivery_status_label(ctx, &delivery.status),
            attempts: delivery.attempts,
            last: match (delivery.last_status, delivery.last_error) {
                (Some(status), _) => status.to_string(),
                (None, Some(error)) => error,
                (None, None) => String::new(),
            },
            created: ctx.date_time(delivery.created_at),
        })
        .collect();
    view::deliveries(ctx, notice, &endpoint_row(ctx, endpoint), &rows).into_response()
}

async fn deliveries(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    Path(id): Path<Uuid>,
) -> Response {
    deliveries_page(&state, owner, &ctx, id, None).await
}

#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn resend(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    Path((id, delivery)): Path<(Uuid, Uuid)>,
    body: Bytes,
) -> Response {
    if let Err(FormError::Forged(reason)) = form::parse::<BTreeMap<String, String>>(&ctx, &body) {
        tracing::info!(%reason, "webhook resend refused");
        return expired(&state, owner, &ctx).await;
    }
    match service(&state).resend(owner.user_id, id, delivery).await {
        Ok(_) => {
            let resent = alert(&ctx, Tone::Done, ctx.t("notify-deliveries-resent"));
            deliveries_page(&state, owner, &ctx, id, Some(resent)).await
        }
        Err(StoreError::NotFound) => not_found(&state, owner, &ctx).await,
        Err(error) => server_error(&ctx, &ApiError::from(error)).into_response(),
    }
}
