//! The HTTP API: one module per route group, each with `routes()` and an OpenAPI `Doc`.
//!
//! To add a group (e.g. `posts`): create `routes/posts.rs` with `pub fn routes() ->
//! Router<AppState>` and `#[derive(OpenApi)] pub struct Doc` listing its `#[utoipa::path]`
//! handlers, then add it to [`router`] and [`openapi`] below. Use the extractors of
//! [`crate::http`] (`AuthUser`, `Json`, `Path`, `Query`, `ClientInfo`) and return
//! [`ApiError`], and the route is logged, documented and speaks
//! the contract's error envelope.

pub mod account;
pub mod api_keys;
pub mod auth;
pub mod billing;
pub mod data_deletion;
pub mod docs;
pub mod document;
pub mod health;
pub mod instagram;
pub mod media;
pub mod meta_callbacks;
pub mod metrics;
pub mod notifications;
pub mod policy;
pub mod posts;
pub mod profile;
pub mod rights;
pub mod web_api_keys;
pub mod web_auth;
pub mod web_billing;
pub mod web_calendar;
pub mod web_notifications;
pub mod web_onboarding;
pub mod web_posts;
pub mod web_privacy;
pub mod web_reset;
pub mod web_settings;
pub mod webhooks;

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ApiError, ErrorBody};
use crate::http::metrics::record_metrics;
use crate::http::usage::record_usage;
use crate::state::AppState;

/// Every route, with the usage log and the JSON 404/405 answers (the shared layers are added
/// by [`crate::http::layers::apply`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(auth::routes(&state))
        .merge(account::routes())
        .merge(profile::routes())
        .merge(instagram::routes())
        .merge(posts::routes())
        .merge(media::routes())
        .merge(billing::routes())
        .merge(rights::routes())
        .merge(data_deletion::routes())
        .merge(meta_callbacks::routes())
        .merge(policy::routes())
        .merge(notifications::routes())
        .merge(webhooks::routes())
        .merge(docs::routes())
        .merge(web_auth::routes())
        .merge(web_reset::routes())
        .merge(web_onboarding::routes())
        .merge(web_settings::routes())
        .merge(web_billing::routes())
        .merge(web_posts::routes())
        .merge(web_calendar::routes())
        .merge(web_privacy::routes())
        .merge(api_keys::routes())
        .merge(metrics::routes())
        .merge(web_api_keys::routes())
        .merge(web_notifications::routes())
        .merge(crate::web::routes())
        .route("/openapi.json", get(openapi_json))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), record_usage))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .with_state(state)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kraftsoci API",
        description = "AI-assisted, consent-gated Instagram publishing for small businesses."
    ),
    paths(openapi_json),
    // Types that only query parameters refer to: utoipa references them without collecting
    // them (the `document_is_self_contained` test below catches the next one).
    components(schemas(ErrorBody, rights::ExportRight)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-up, login, sessions and passwords"),
        (name = "account", description = "The account and the data subject's settings"),
        (name = "profile", description = "The business profile"),
        (name = "instagram", description = "Connecting Instagram business accounts"),
        (name = "posts", description = "Generating posts and the consent-gated Publish click"),
        (name = "media", description = "Signed, expiring image links"),
        (name = "billing", description = "Plans, usage, Stripe Checkout and Portal, Stripe webhooks"),
        (name = "policy", description = "Privacy-policy versions, acceptances and in-app notices"),
        (name = "webhooks", description = "Outbound signed webhooks: endpoints, deliveries, re-sending"),
        (name = "meta", description = "Callbacks Meta sends: data deletion and deauthorize"),
        (name = "operations", description = "Probes, this document and its rendering (`/docs`)"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // The scraper's token for `/metrics` (`KRAFTSOCI_METRICS_TOKEN`).
        components.add_security_scheme(
            "metrics",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`KRAFTSOCI_METRICS_TOKEN`"))
                    .build(),
            ),
        );
        // Personal API keys (`ks_…`), accepted only by the routes that list this scheme,
        // each with the key scope it needs.
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ks_ personal API key")
                    .description(Some(
                        "A personal API key made at `POST /v1/me/api-keys`, sent as \
                         `Authorization: Bearer ks_…`. Scopes: `posts:read`, `posts:write`, \
                         `posts:publish`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Operation ids that name their resource: `posts_list`, `auth_login`, `billing_checkout`.
/// utoipa names an operation after its handler (`list`, `login`), which generated clients turn
/// into methods as vague as `list()`; prefixing the tag makes each id say what it acts on and
/// keeps ids unique across route groups. An id that already names its tag is left alone.
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
            ];
            for operation in operations.into_iter().flatten() {
                let tag = operation
                    .tags
                    .as_ref()
                    .and_then(|tags| tags.first())
                    .cloned();
                if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut())
                    && !id.contains(tag.as_str())
                {
                    *id = format!("{tag}_{id}");
                }
            }
        }
    }
}

/// The OpenAPI document of every route group, as JSON (what `/openapi.json` serves).
///
/// It stays JSON after utoipa: the shared answers and links are added to the JSON form
/// (`document`), and utoipa's own `Link` type would not read them back (it names its fields
/// `operation_id`, not `operationId`).
pub fn openapi() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.merge(health::Doc::openapi());
    doc.merge(auth::Doc::openapi());
    doc.merge(account::Doc::openapi());
    doc.merge(profile::Doc::openapi());
    doc.merge(instagram::Doc::openapi());
    doc.merge(posts::Doc::openapi());
    doc.merge(media::Doc::openapi());
    doc.merge(billing::Doc::openapi());
    doc.merge(rights::Doc::openapi());
    doc.merge(data_deletion::Doc::openapi());
    doc.merge(meta_callbacks::Doc::openapi());
    doc.merge(policy::Doc::openapi());
    doc.merge(api_keys::Doc::openapi());
    doc.merge(metrics::Doc::openapi());
    doc.merge(notifications::Doc::openapi());
    doc.merge(webhooks::Doc::openapi());
    doc.merge(docs::Doc::openapi());
    // After the merges, so that every group's operations are named alike.
    OperationIds.modify(&mut doc);
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    document::share_error_responses(&mut doc);
    // Links from each creating operation to those that take the id it answers: one line each
    // (`document::link`), after the operation ids are final.
    let post_id = "$response.body#/id";
    document::link(
        &mut doc,
        "posts_generate",
        "202",
        "id",
        post_id,
        POST_OPERATIONS,
    );
    document::link(
        &mut doc,
        "posts_list",
        "200",
        "id",
        "$response.body#/posts/0/id",
        POST_OPERATIONS,
    );
    document::link(
        &mut doc,
        "posts_preview",
        "200",
        "id",
        post_id,
        POST_OPERATIONS,
    );
    // A consent receipt exists once the post is approved.
    document::link(
        &mut doc,
        "posts_publish",
        "202",
        "id",
        post_id,
        &["posts_consent", "posts_withdraw", "posts_preview"],
    );
    document::link(
        &mut doc,
        "policy_list_notices",
        "200",
        "id",
        "$response.body#/notices/0/id",
        &["policy_mark_read"],
    );
    document::link(
        &mut doc,
        "instagram_accounts",
        "200",
        "id",
        "$response.body#/0/id",
        &["instagram_disconnect"],
    );
    // Generation runs in the background: follow it, or ask for another draft.
    document::link(
        &mut doc,
        "posts_generate",
        "202",
        "id",
        post_id,
        &["posts_events", "posts_regenerate"],
    );
    document::link(
        &mut doc,
        "posts_regenerate",
        "202",
        "id",
        post_id,
        &["posts_events", "posts_preview"],
    );
    // Programs' keys and the owner's webhook endpoints.
    document::link(
        &mut doc,
        "account_create_api_key",
        "201",
        "id",
        "$response.body#/id",
        &["account_revoke_api_key"],
    );
    document::link(
        &mut doc,
        "webhooks_create",
        "201",
        "id",
        "$response.body#/id",
        &["webhooks_deliveries", "webhooks_remove"],
    );
    doc
}

/// The operations that take the id of any post (its consent receipt needs an approved one).
const POST_OPERATIONS: &[&str] = &[
    "posts_preview",
    "posts_edit",
    "posts_publish",
    "posts_withdraw",
    "posts_remove",
];

static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| openapi().to_string());

/// This API's OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI_JSON.as_str(),
    )
}

#[cfg(test)]
mod document_tests;
