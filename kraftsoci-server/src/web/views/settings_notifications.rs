//! Settings for notifications and webhooks: per event, mail and in-app notice, and the time
//! zone; the webhook endpoints (add with the secret shown once, delete) and an endpoint's
//! deliveries (re-send).

use askama::Template;
use axum::http::StatusCode;

use super::Alert;
use crate::web::{Page, PageContext};

/// One event's row of the notifications form.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// The event's name (form fields `{name}_mail`, `{name}_in_app`).
    pub name: &'static str,
    /// Its label's message key.
    pub label: String,
    /// Mail chosen.
    pub mail: bool,
    /// Notice chosen.
    pub in_app: bool,
    /// Cannot be turned off.
    pub mandatory: bool,
}

/// An endpoint as listed.
#[derive(Debug, Clone)]
pub struct EndpointRow {
    /// Its id.
    pub id: String,
    /// Its URL.
    pub url: String,
    /// Its events, comma separated.
    pub events: String,
}

/// A delivery as listed.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    /// Its id.
    pub id: String,
    /// The event.
    pub event: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The last HTTP status or error.
    pub last: String,
    /// When it was created, in the reader's zone.
    pub created: String,
}

#[derive(Template)]
#[template(path = "settings/notifications.html")]
struct NotificationsPage<'a> {
    ctx: &'a PageContext,
    title: String,
    alert: Option<Alert>,
    time_zone: &'a str,
    events: &'a [EventRow],
    endpoints: &'a [EndpointRow],
    webhook_events: &'a [(&'static str, String)],
    secret: Option<&'a str>,
    url: &'a str,
}

/// The notifications and webhooks settings.
#[allow(clippy::too_many_arguments)]
pub fn page(
    ctx: &PageContext,
    status: StatusCode,
    alert: Option<Alert>,
    time_zone: &str,
    events: &[EventRow],
    endpoints: &[EndpointRow],
    webhook_events: &[(&'static str, String)],
    secret: Option<&str>,
    url: &str,
) -> Page {
    let page = NotificationsPage {
        ctx,
        title: ctx.t("notify-settings-title"),
        alert,
        time_zone,
        events,
        endpoints,
        webhook_events,
        secret,
        url,
    };
    Page::render(ctx, status, &page)
}

#[derive(Template)]
#[template(path = "settings/deliveries.html")]
struct DeliveriesPage<'a> {
    ctx: &'a PageContext,
    title: String,
    alert: Option<Alert>,
    endpoint: &'a EndpointRow,
    deliveries: &'a [DeliveryRow],
}

/// One endpoint's deliveries, each with a re-send button.
pub fn deliveries(
    ctx: &PageContext,
    alert: Option<Alert>,
    endpoint: &EndpointRow,
    deliveries: &[DeliveryRow],
) -> Page {
    let page = DeliveriesPage {
        ctx,
        title: ctx.t("notify-deliveries-title"),
        alert,
        endpoint,
        deliveries,
    };
    Page::render(ctx, StatusCode::OK, &page)
}
