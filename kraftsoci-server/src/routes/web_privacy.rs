//! The privacy centre (`/privacy`, [`views::privacy_centre`]): the same services as the
//! JSON rights routes — the export (P26, P30), restrictions and objections (P29, P31), the
//! requests (P33), closing the account (P19, P28) — for a signed-in browser.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kraftsoci_core::{Objections, PostId, RequestKind, Restrictions, ReviewMessage, UserId};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::web::form::{self, FieldErrors, FormError};
use crate::web::session::{Owner, sign_out_cookie};
use crate::web::views::privacy_centre::{Centre, Done, Refusal, ReviewForm};
use crate::web::{Page, PageContext, views};
use crate::{account, export, i18n, rights};

/// How many notices the centre shows.
const NOTICES: u32 = 50;

/// How many policy versions and acceptances the centre's history shows.
const HISTORY: u32 = 100;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/privacy", get(centre))
        .route("/privacy/choices", post(choices))
        .route("/privacy/export", get(download))
        .route("/privacy/close", post(close))
        .route("/privacy/review", post(review))
}

/// What the centre shows, read from the stores.
struct Loaded {
    account: kraftsoci_core::ports::Account,
    requests: Vec<kraftsoci_core::DataSubjectRequest>,
    policy: Option<crate::store::PolicyVersion>,
    accepted_at: Option<chrono::DateTime<chrono::Utc>>,
    notices: Vec<crate::store::Notice>,
    versions: Vec<crate::store::PolicyVersion>,
    acceptances: Vec<crate::store::PolicyAcceptance>,
}

impl Loaded {
    fn centre(&self) -> Centre<'_> {
        Centre {
            account: &self.account,
            requests: &self.requests,
            policy: self.policy.as_ref(),
            accepted_at: self.accepted_at,
            notices: &self.notices,
            versions: &self.versions,
            acceptances: &self.acceptances,
        }
    }
}

async fn load(state: &AppState, user: UserId) -> Result<Loaded, ApiError> {
    let account = state.stores.accounts.account(user).await?;
    let requests = state.stores.rights.requests(user).await?;
    let policy = state.stores.policy.current_policy().await?;
    let accepted_at = match &policy {
        Some(policy) => {
            state
                .stores
                .policy
                .policy_accepted_at(user, &policy.version)
                .await?
        }
        None => None,
    };
    let notices = state.stores.policy.notices(user, NOTICES).await?;
    let versions = state.stores.policy.policy_versions(HISTORY).await?;
    let acceptances = state
        .stores
        .policy
        .policy_acceptances(user, HISTORY)
        .await?;
    Ok(Loaded {
        account,
        requests,
        policy,
        accepted_at,
        notices,
        versions,
        acceptances,
    })
}

/// The centre rendered by `page`, or the failure page when it cannot be read.
async fn with_centre(
    state: &AppState,
    ctx: &PageContext,
    user: UserId,
    page: impl FnOnce(&Centre<'_>) -> Page,
) -> Response {
    match load(state, user).await {
        Ok(loaded) => page(&loaded.centre()).into_response(),
        Err(error) => {
            tracing::error!(%error, "the privacy centre could not be read");
            views::errors::server_error(ctx, axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                .into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
struct CentreParams {
    done: Option<String>,
    /// The post a refusal was about: the review form names it (only a well-formed id).
    review_post: Option<String>,
}

async fn centre(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    Query(params): Query<CentreParams>,
) -> Response {
    let done = match params.done.as_deref() {
        Some("saved") => Some(Done::Saved),
        Some("review") => Some(Done::ReviewAsked),
        _ => None,
    };
    let review = ReviewForm {
        post_id: params
            .review_post
            .filter(|id| id.parse::<uuid::Uuid>().is_ok())
            .unwrap_or_default(),
        message: String::new(),
    };
    with_centre(&state, &ctx, owner.user_id, |centre| {
        views::privacy_centre::centre(&ctx, centre, done, &review)
    })
    .await
}

/// The review form (P32).
#[derive(Debug, Default, Deserialize)]
struct ReviewFields {
    post_id: Option<String>,
    message: Option<String>,
}

impl ReviewFields {
    /// The form as typed, to show again.
    fn shown(&self) -> ReviewForm {
        ReviewForm {
            post_id: self.post_id.clone().unwrap_or_default(),
            message: self.message.clone().unwrap_or_default(),
        }
    }

    /// The post and message, or an error next to each field that needs one.
    fn validate(&self) -> Result<(Option<PostId>, ReviewMessage), FieldErrors> {
        let mut errors = FieldErrors::new();
        let post = match self.post_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match text.parse::<uuid::Uuid>() {
                Ok(uuid) => Some(PostId::from_uuid(uuid)),
                Err(_) => {
                    errors.add("message", i18n::key("privacy-review-post-unknown"));
                    None
                }
            },
        };
        let message = self.message.as_deref().unwrap_or_default();
        let parsed = if message.trim().is_empty() {
            errors.add("message", i18n::key("privacy-review-message-required"));
            None
        } else {
            match ReviewMessage::parse(message) {
                Ok(parsed) => Some(parsed),
                Err(_) => {
                    errors.add("message", i18n::key("privacy-review-message-invalid"));
                    None
                }
            }
        };
        match parsed {
            Some(message) if errors.is_empty() => Ok((post, message)),
            _ => Err(errors),
        }
    }
}

/// Records a request for human review and shows it among the requests; a refused form is
/// shown again with the text kept.
async fn review(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<ReviewFields>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "review form refused");
            return views::errors::form_refused(&ctx, "/privacy").into_response();
        }
        Err(FormError::Malformed(_)) => ReviewFields::default(),
    };
    let shown = form.shown();
    let refuse = |key: Option<&'static str>, errors: FieldErrors| {
        let mut errors = errors;
        if let Some(key) = key {
            errors.add("message", i18n::key(key));
        }
        let (state, ctx, shown) = (&state, &ctx, &shown);
        async move {
            with_centre(state, ctx, owner.user_id, |centre| {
                views::privacy_centre::review_refused(ctx, centre, shown, &errors)
            })
            .await
        }
    };
    let (post, message) = match form.validate() {
        Ok(valid) => valid,
        Err(errors) => return refuse(None, errors).await,
    };
    let asked = match state
        .limits
        .check_account("review", &owner.user_id.to_string())
    {
        Ok(()) => rights::ask_review(&state, owner.user_id, post, message).await,
        Err(limited) => Err(limited),
    };
    match asked {
        Ok(_) => form::see_other("/privacy?done=review#requests"),
        Err(ApiError::NotFound) => {
            refuse(Some("privacy-review-post-unknown"), FieldErrors::new()).await
        }
        Err(ApiError::RateLimited { .. }) => {
            refuse(Some("privacy-review-rate-limited"), FieldErrors::new()).await
        }
        Err(error) => {
            tracing::error!(%error, "a review request could not be recorded");
            with_centre(&state, &ctx, owner.user_id, |centre| {
                views::privacy_centre::refused(
                    &ctx,
                    centre,
                    Refusal::ServerError(error.status()),
                    &FieldErrors::new(),
                )
            })
            .await
        }
    }
}

/// The choices form: a ticked box is present, an unticked one absent.
#[derive(Debug, Default, Deserialize)]
struct ChoicesForm {
    generation: Option<String>,
    publishing: Option<String>,
    usage_log: Option<String>,
}

async fn choices(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<ChoicesForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "privacy choices form refused");
            return views::errors::form_refused(&ctx, "/privacy").into_response();
        }
        Err(FormError::Malformed(_)) => ChoicesForm::default(),
    };
    let account = match state.stores.accounts.account(owner.user_id).await {
        Ok(account) => account,
        Err(error) => {
            tracing::error!(%error, "the privacy choices could not be read");
            return views::errors::server_error(
                &ctx,
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            )
            .into_response();
        }
    };
    let restrictions = Restrictions {
        generation: form.generation.is_some(),
        publishing: form.publishing.is_some(),
    };
    let objections = Objections {
        usage_log: form.usage_log.is_some(),
    };
    // Each change is a request answered at once (and listed); an unchanged choice is none.
    let mut result = Ok(());
    if restrictions != account.restrictions {
        result = account::set_restrictions(&state, owner.user_id, restrictions)
            .await
            .map(|_| ());
    }
    if result.is_ok() && objections != account.objections {
        result = account::set_objections(&state, owner.user_id, objections)
            .await
            .map(|_| ());
    }
    match result {
        Ok(()) => form::see_other("/privacy?done=saved"),
        Err(error) => {
            tracing::error!(%error, "the privacy choices could not be saved");
            with_centre(&state, &ctx, owner.user_id, |centre| {
                views::privacy_centre::refused(
                    &ctx,
                    centre,
                    Refusal::ServerError(error.status()),
                    &FieldErrors::new(),
                )
            })
            .await
        }
    }
}

/// The export as a download: an access request is recorded and completed when it is sent.
async fn download(State(state): State<AppState>, owner: Owner, ctx: PageContext) -> Response {
    let request = match rights::receive_request(&state, owner.user_id, RequestKind::Access).await {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(%error, "an export could not be started");
            return views::errors::server_error(
                &ctx,
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            )
            .into_response();
        }
    };
    let filename = format!(
        "attachment; filename=\"kraftsoci-export-{}.json\"",
        state.clock.now().format("%Y-%m-%d")
    );
    let body = export::body(state, owner.user_id, request);
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
struct CloseForm {
    password: Option<SecretString>,
    confirm: Option<String>,
}

impl CloseForm {
    /// The password, or an error next to each field that needs one.
    fn validate(self) -> Result<SecretString, FieldErrors> {
        let mut errors = FieldErrors::new();
        let password = self.password.filter(|p| !p.expose_secret().is_empty());
        if password.is_none() {
            errors.add("password", i18n::key("privacy-close-password-required"));
        }
        if self.confirm.as_deref() != Some("yes") {
            errors.add("confirm", i18n::key("privacy-close-confirm-required"));
        }
        match password {
            Some(password) if errors.is_empty() => Ok(password),
            _ => Err(errors),
        }
    }
}

/// What the page says about a failed closing.
fn refusal(error: &ApiError) -> Refusal {
    match error {
        ApiError::Unauthorized { .. } => Refusal::Credentials,
        ApiError::RateLimited { retry_after_secs } => Refusal::RateLimited {
            retry_after_secs: *retry_after_secs,
        },
        other => {
            tracing::error!(error = %other, status = %other.status(), "closing from the privacy centre failed");
            Refusal::ServerError(other.status())
        }
    }
}

async fn close(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<CloseForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "close form refused");
            return with_centre(&state, &ctx, owner.user_id, |centre| {
                views::privacy_centre::refused(&ctx, centre, Refusal::Expired, &FieldErrors::new())
            })
            .await;
        }
        Err(FormError::Malformed(_)) => CloseForm::default(),
    };
    let password = match form.validate() {
        Ok(password) => password,
        Err(errors) => {
            return with_centre(&state, &ctx, owner.user_id, |centre| {
                views::privacy_centre::refused(&ctx, centre, Refusal::Invalid, &errors)
            })
            .await;
        }
    };
    // The password is asked again, so it is guessable here too: limited as in the API.
    let closed = match state
        .limits
        .check_account("close", &owner.user_id.to_string())
    {
        Ok(()) => rights::close_own_account(&state, owner.user_id, &password).await,
        Err(limited) => Err(limited),
    };
    match closed {
        Ok(outcome) => {
            // Closing ended every session of the account, this one too; the cookie goes as well.
            let mut response =
                views::data_deletion::closed(&ctx, outcome.purge_after()).into_response();
            if let Some(cookie) = sign_out_cookie(state.config.environment.is_production()) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(error) => {
            let refusal = refusal(&error);
            with_centre(&state, &ctx, owner.user_id, |centre| {
                views::privacy_centre::refused(&ctx, centre, refusal, &FieldErrors::new())
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_needs_a_message_and_at_most_a_well_formed_post() {
        let errors = ReviewFields::default().validate().unwrap_err();
        assert_eq!(errors.fields().collect::<Vec<_>>(), ["message"]);
        let bad_post = ReviewFields {
            post_id: Some("not-a-post".to_owned()),
            message: Some("please look again".to_owned()),
        };
        assert!(bad_post.validate().is_err());
        let post = uuid::Uuid::new_v4();
        let (found, message) = ReviewFields {
            post_id: Some(post.to_string()),
            message: Some("  please look again ".to_owned()),
        }
        .validate()
        .unwrap();
        assert_eq!(found, Some(PostId::from_uuid(post)));
        assert_eq!(message.as_str(), "please look again");
    }

    #[test]
    fn closing_needs_the_password_and_the_ticked_box() {
        let errors = CloseForm::default().validate().unwrap_err();
        assert_eq!(errors.fields().collect::<Vec<_>>(), ["password", "confirm"]);
        let form = CloseForm {
            password: Some(SecretString::from("pw".to_owned())),
            confirm: Some("no".to_owned()),
        };
        assert_eq!(
            form.validate().unwrap_err().fields().collect::<Vec<_>>(),
            ["confirm"]
        );
        let form = CloseForm {
            password: Some(SecretString::from("pw".to_owned())),
            confirm: Some("yes".to_owned()),
        };
        assert_eq!(form.validate().unwrap().expose_secret(), "pw");
    }
}
