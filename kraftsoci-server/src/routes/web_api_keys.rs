//! Settings › API keys in the web app: list, make (the key shown once, in the answer to the
//! form; never again), revoke. The same service as `/v1/me/api-keys`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kraftsoci_core::ApiKeyId;
use secrecy::ExposeSecret as _;
use serde::Deserialize;

use super::web_auth::server_error;
use crate::api_keys::{self, KeyInputError, MAX_KEYS_PER_ACCOUNT, NewKeyRequest, Scope, Scopes};
use crate::error::ApiError;
use crate::http::Path;
use crate::i18n::{self, Args};
use crate::state::AppState;
use crate::web::form::{self, FieldErrors, FormError};
use crate::web::views::api_keys::{KeyRow, NewKey, NewKeyValues};
use crate::web::views::{self, Alert, Tone};
use crate::web::{Owner, PageContext};

/// The page.
const PAGE: &str = "/settings/api-keys";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(page).post(create))
        .route("/settings/api-keys/{id}/revoke", post(revoke))
}

async fn rows(state: &AppState, owner: Owner) -> Result<Vec<KeyRow>, ApiError> {
    let keys = state.stores.api_keys.api_keys(owner.user_id).await?;
    Ok(keys
        .into_iter()
        .map(|key| KeyRow {
            id: key.id.to_string(),
            scopes: Scopes::from_stored(&key.scopes)
                .iter()
                .map(Scope::as_str)
                .collect(),
            name: key.name,
            prefix: key.prefix,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
        })
        .collect())
}

/// The page with the stored keys and the given form state (the view's arguments, plus where
/// the keys come from).
#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    owner: Owner,
    ctx: &PageContext,
    status: StatusCode,
    values: &NewKeyValues,
    errors: &FieldErrors,
    alert: Option<Alert>,
    created: Option<&NewKey>,
) -> Response {
    match rows(state, owner).await {
        Ok(keys) => views::api_keys::page(
            ctx,
            status,
            &keys,
            MAX_KEYS_PER_ACCOUNT,
            values,
            errors,
            alert,
            created,
        )
        .into_response(),
        Err(error) => server_error(ctx, &error).into_response(),
    }
}

fn alert(ctx: &PageContext, tone: Tone, heading: &str, body: String) -> Alert {
    Alert {
        tone,
        heading: ctx.t(heading),
        body,
    }
}

fn expired(ctx: &PageContext) -> Alert {
    alert(
        ctx,
        Tone::Danger,
        "form-refused-title",
        ctx.t("form-expired"),
    )
}

async fn page(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    RawQuery(raw): RawQuery,
) -> Response {
    let notice = match raw.as_deref() {
        Some("revoked") => Some(alert(
            &ctx,
            Tone::Done,
            "api-keys-revoked-heading",
            ctx.t("api-keys-revoked"),
        )),
        _ => None,
    };
    render(
        &state,
        owner,
        &ctx,
        StatusCode::OK,
        &NewKeyValues::default(),
        &FieldErrors::new(),
        notice,
        None,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct NewKeyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    read: Option<String>,
    #[serde(default)]
    write: Option<String>,
    #[serde(default)]
    publish: Option<String>,
}

impl NewKeyForm {
    fn values(&self) -> NewKeyValues {
        NewKeyValues {
            name: self.name.trim().to_owned(),
            read: self.read.is_some(),
            write: self.write.is_some(),
            publish: self.publish.is_some(),
        }
    }
}

/// Makes a key and shows it on this answer only (it is not stored, so a reload or a later
/// visit cannot show it again; the page is `no-store`).
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn create(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<NewKeyForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "api key form refused");
            let typed = serde_urlencoded::from_bytes::<NewKeyForm>(&body).unwrap_or_default();
            return render(
                &state,
                owner,
                &ctx,
                StatusCode::FORBIDDEN,
                &typed.values(),
                &FieldErrors::new(),
                Some(expired(&ctx)),
                None,
            )
            .await;
        }
        Err(FormError::Malformed(_)) => NewKeyForm::default(),
    };
    let values = form.values();
    let scopes: Vec<&str> = [
        (values.read, Scope::PostsRead),
        (values.write, Scope::PostsWrite),
        (values.publish, Scope::PostsPublish),
    ]
    .into_iter()
    .filter(|(ticked, _)| *ticked)
    .map(|(_, scope)| scope.as_str())
    .collect();
    let request = match NewKeyRequest::parse(&values.name, &scopes) {
        Ok(request) => request,
        Err(problems) => {
            let mut errors = FieldErrors::new();
            for problem in problems {
                let message = match problem {
                    KeyInputError::NameRequired => i18n::key("api-keys-name-required"),
                    KeyInputError::NameInvalid => i18n::key("api-keys-name-invalid"),
                    KeyInputError::PublishNeedsRead => i18n::key("api-keys-publish-needs-read"),
                    // The form offers only known scopes.
                    KeyInputError::ScopesRequired | KeyInputError::UnknownScope(_) => {
                        i18n::key("api-keys-scopes-required")
                    }
                };
                if !errors.has(problem.field()) {
                    errors.add(problem.field(), message);
                }
            }
            return render(
                &state,
                owner,
                &ctx,
                StatusCode::BAD_REQUEST,
                &values,
                &errors,
                None,
                None,
            )
            .await;
        }
    };
    match api_keys::create(&state, owner.user_id, request).await {
        Ok(created) => {
            let shown = NewKey {
                name: created.record.name.clone(),
                key: created.key.expose_secret().to_owned(),
            };
            render(
                &state,
                owner,
                &ctx,
                StatusCode::OK,
                &NewKeyValues::default(),
                &FieldErrors::new(),
                None,
                Some(&shown),
            )
            .await
        }
        Err(ApiError::Conflict { .. }) => {
            let body = ctx.t_with(
                "api-keys-limit-reached",
                &Args::new().number("limit", MAX_KEYS_PER_ACCOUNT),
            );
            let refusal = alert(&ctx, Tone::Danger, "api-keys-limit-reached-heading", body);
            render(
                &state,
                owner,
                &ctx,
                StatusCode::CONFLICT,
                &values,
                &FieldErrors::new(),
                Some(refusal),
                None,
            )
            .await
        }
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

/// Revokes a key at once, then back to the list.
#[tracing::instrument(skip_all, fields(user = %owner.user_id))]
async fn revoke(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    Path(id): Path<ApiKeyId>,
    body: Bytes,
) -> Response {
    if let Err(FormError::Forged(reason)) = form::parse::<Empty>(&ctx, &body) {
        tracing::info!(%reason, "api key revoke refused");
        return render(
            &state,
            owner,
            &ctx,
            StatusCode::FORBIDDEN,
            &NewKeyValues::default(),
            &FieldErrors::new(),
            Some(expired(&ctx)),
            None,
        )
        .await;
    }
    match api_keys::revoke(&state, owner.user_id, id).await {
        Ok(()) => form::see_other("/settings/api-keys?revoked"),
        Err(ApiError::NotFound) => {
            let gone = alert(
                &ctx,
                Tone::Neutral,
                "api-keys-gone-heading",
                ctx.t("api-keys-gone"),
            );
            render(
                &state,
                owner,
                &ctx,
                StatusCode::NOT_FOUND,
                &NewKeyValues::default(),
                &FieldErrors::new(),
                Some(gone),
                None,
            )
            .await
        }
        Err(error) => server_error(&ctx, &error).into_response(),
    }
}

/// A form with no fields but its CSRF token.
#[derive(Debug, Deserialize)]
struct Empty {}
