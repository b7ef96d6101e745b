//! `POST /language`: the language switch in every page's header. Remembers the choice in
//! a cookie (a functional preference, P36) and returns to the page it was sent from.

use axum::body::Bytes;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::form::{self, FormError};
use super::{PageContext, views};
use crate::i18n::Locale;

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
#[tracing::instrument(skip_all)]
pub async fn switch(ctx: PageContext, body: Bytes) -> Response {
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
    if let Some(cookie) = Locale::from_tag(&form.lang).and_then(|l| ctx.language_cookie(l)) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}
