//! `POST /language`: the language switch in every page's header. Remembers the choice in
//! a cookie (a functional preference, P36), and for a signed-in owner in the account, and
//! returns to the page it was sent from.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use kraftsoci_core::ports::AccountUpdate;
use serde::Deserialize;

use super::form::{self, FormError};
use super::{PageContext, views};
use crate::i18n::Locale;
use crate::state::AppState;

/// The switch's fields (the CSRF token is read by [`form::parse`]).
#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    /// The chosen language's tag.
    lang: String,
    /// The path to return to.
    #[serde(default)]
    next: String,
}

/// Sets the language cookie and redirects (303) back; an unknown language changes nothing.
/// Signed in, the account's language changes too (pages and mail follow the account).
#[tracing::instrument(skip_all)]
pub async fn switch(State(state): State<AppState>, ctx: PageContext, body: Bytes) -> Response {
    let form = match form::parse::<LanguageForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "language switch refused");
            let back = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "next").map(|(_, v)| v))
                .unwrap_or_default();
            return views::errors::form_refused(&ctx, &back).into_response();
        }
        Err(FormError::Malformed(_)) => return form::see_other("/"),
    };
    let mut response = form::see_other(&form.next);
    let Some(locale) = Locale::from_tag(&form.lang) else {
        return response;
    };
    if let Some(viewer) = ctx.viewer() {
        let change = AccountUpdate {
            language: Some(locale.into()),
            ..AccountUpdate::default()
        };
        if let Err(error) = state
            .stores
            .accounts
            .update_account(viewer.user_id, &change)
            .await
        {
            tracing::error!(%error, "the account's language was not changed");
            return views::errors::server_error(&ctx, StatusCode::SERVICE_UNAVAILABLE)
                .into_response();
        }
    }
    if let Some(cookie) = ctx.language_cookie(locale) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}
