//! The owner's post pages (`/posts`, `/posts/new`, `/posts/{id}` and its forms): the same
//! [`PostFlow`](crate::posts::PostFlow) the JSON routes call, rendered by
//! [`views::posts`] and [`views::posts_preview`].
//!
//! Every state-changing form is CSRF-checked first ([`form::parse`]), answers a refused
//! token with the page again (403, what was typed kept), and redirects (303) on success so a
//! reload never posts twice. The Publish forms echo the content hash of the preview they were
//! rendered with; the flow refuses a stale one and the page shows the current preview.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono_tz::Tz;
use kraftsoci_core::ports::ConnectionStatus;
use kraftsoci_core::{ConnectionId, ContentHash, PostId, PostStatus, StoreError, Topic, UserId};
use serde::Deserialize;

use crate::http::ClientInfo;
use crate::i18n;
use crate::posts::{Click, Parts, PostFlowError, PostView};
use crate::state::AppState;
use crate::web::form::{self, FieldErrors, FormError};
use crate::web::session::Owner;
use crate::web::views::posts::{ListNotice, Shown};
use crate::web::views::posts_preview::{AccountChoice, Done, Draft, Preview};
use crate::web::{PageContext, views};

mod forms;

use forms::{EditForm, PublishForm, parse_schedule};

/// How many posts a list page shows.
const PAGE_SIZE: u32 = 20;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/posts", get(list))
        .route("/posts/new", get(new).post(generate))
        .route("/posts/{id}", get(preview))
        .route("/posts/{id}/edit", axum::routing::post(edit))
        .route("/posts/{id}/publish", axum::routing::post(publish))
        .route("/posts/{id}/withdraw", axum::routing::post(withdraw))
        .route("/posts/{id}/regenerate", axum::routing::post(regenerate))
        .route("/posts/{id}/events", get(events))
        .route("/posts/{id}/delete", get(confirm_delete).post(delete))
}

/// The owner's time zone: what their dates are shown in and their schedule is read in (the
/// zone they saved with their notification choices, else their language's).
pub(crate) fn zone(ctx: &PageContext) -> Tz {
    ctx.zone()
}

/// A same-origin, signed, expiring link to a post's image (the page's policy allows images
/// from this origin only).
pub(crate) fn image_url(state: &AppState, view: &PostView) -> Option<String> {
    view.media.image.as_ref().map(|image| {
        format!(
            "/media/{}",
            state
                .media_links
                .token(&image.key, state.config.media_preview_ttl)
        )
    })
}

/// Logs a failure that is not the owner's doing (the page shows only that it failed).
fn log_unexpected(error: &PostFlowError, action: &'static str) {
    if matches!(
        error,
        PostFlowError::Store(_)
            | PostFlowError::Internal(_)
            | PostFlowError::Media(_)
            | PostFlowError::EntitlementsUnavailable(_)
            | PostFlowError::GeneratorUnavailable(_)
            | PostFlowError::GeneratedImageUnusable(_)
    ) {
        tracing::error!(
            error = format!("{error:#}"),
            action,
            "a post page action failed"
        );
    } else {
        tracing::info!(%error, action, "a post page action was refused");
    }
}

fn is_not_found(error: &PostFlowError) -> bool {
    matches!(
        error,
        PostFlowError::NotFound | PostFlowError::Store(StoreError::NotFound)
    )
}

/// The page for an unexpected failure while loading: 404 for a post that is not the owner's,
/// else the list's error.
fn load_failed(ctx: &PageContext, error: &PostFlowError) -> Response {
    if is_not_found(error) {
        return views::posts::not_found(ctx).into_response();
    }
    log_unexpected(error, "load");
    views::posts::unavailable(ctx).into_response()
}

#[derive(Debug, Deserialize)]
struct ListParams {
    status: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    Query(params): Query<ListParams>,
) -> Response {
    // An unknown status shows every post rather than an error page.
    let filter = params
        .status
        .as_deref()
        .and_then(|s| PostStatus::parse(s).ok());
    let page = match state
        .stores
        .posts
        // The page with each post's media, connection and job in one statement.
        .list_posts_with_details(owner.user_id, filter, params.cursor.clone(), PAGE_SIZE)
        .await
    {
        Ok(page) => page,
        // A cursor that is not one of ours starts from the newest.
        Err(StoreError::InvalidInput(_)) if params.cursor.is_some() => {
            return form::see_other("/posts");
        }
        Err(error) => return load_failed(&ctx, &PostFlowError::Store(error)),
    };
    let views_: Vec<PostView> = page.posts.into_iter().map(PostView::from).collect();
    let accounts = account_names(&state, owner.user_id).await;
    let shown: Vec<Shown<'_>> = views_
        .iter()
        .map(|view| Shown {
            view,
            image_url: image_url(&state, view),
            account: account_of(&accounts, view),
        })
        .collect();
    let notice = (params.done.as_deref() == Some("deleted")).then_some(ListNotice::Deleted);
    views::posts::list(&ctx, &shown, filter, page.next_cursor.as_deref(), notice).into_response()
}

/// The owner's connections: (connection id, Instagram user id, name, active).
async fn account_names(
    state: &AppState,
    owner: UserId,
) -> Vec<(ConnectionId, kraftsoci_core::IgUserId, String, bool)> {
    match state.stores.connections.connections(owner).await {
        Ok(connections) => connections
            .into_iter()
            .map(|c| {
                (
                    c.id,
                    c.ig_user_id,
                    c.page_name,
                    c.status == ConnectionStatus::Active,
                )
            })
            .collect(),
        Err(error) => {
            // The names are decoration; the page still works without them.
            tracing::warn!(%error, "connections could not be read for a post page");
            Vec::new()
        }
    }
}

fn account_of(
    accounts: &[(ConnectionId, kraftsoci_core::IgUserId, String, bool)],
    view: &PostView,
) -> Option<String> {
    let target = view.post.content.target.as_ref()?;
    accounts
        .iter()
        .find(|(_, ig, _, _)| ig == target)
        .map(|(_, _, name, _)| name.clone())
}

#[derive(Debug, Deserialize)]
struct NewParams {
    topic: Option<String>,
}

async fn new(_owner: Owner, ctx: PageContext, Query(params): Query<NewParams>) -> Response {
    let topic = params.topic.unwrap_or_default();
    let topic: String = topic.chars().take(Topic::MAX_CHARS).collect();
    views::posts::new(&ctx, &topic).into_response()
}

#[derive(Debug, Default, Deserialize)]
struct NewForm {
    #[serde(default)]
    topic: String,
    with_image: Option<String>,
}

async fn generate(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    body: Bytes,
) -> Response {
    let form = match form::parse::<NewForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "new post form refused");
            let typed: NewForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            return views::posts::new_expired(&ctx, &typed.topic, typed.with_image.is_some())
                .into_response();
        }
        Err(FormError::Malformed(_)) => NewForm::default(),
    };
    let with_image = form.with_image.is_some();
    let Ok(topic) = Topic::parse(&form.topic) else {
        let mut errors = FieldErrors::new();
        errors.add("topic", i18n::key("new-post-topic-invalid"));
        return views::posts::new_invalid(&ctx, form.topic.trim(), with_image, &errors)
            .into_response();
    };
    match state
        .posts
        .generate(owner.user_id, topic, with_image, None)
        .await
    {
        // The preview shows the progress until the post is ready.
        Ok((view, _)) => form::see_other(&format!("/posts/{}", view.post.id)),
        Err(error) => {
            log_unexpected(&error, "generate");
            views::posts::new_failed(&ctx, form.topic.trim(), with_image, &error).into_response()
        }
    }
}

/// What a preview page needs besides the post: the signed image link and the accounts.
struct Loaded {
    view: PostView,
    image_url: Option<String>,
    account: Option<String>,
    accounts: Vec<AccountChoice>,
}

impl Loaded {
    fn preview(&self, state: &AppState, ctx: &PageContext) -> Preview<'_> {
        Preview {
            shown: Shown {
                view: &self.view,
                image_url: self.image_url.clone(),
                account: self.account.clone(),
            },
            accounts: self.accounts.clone(),
            now: state.clock.now(),
            zone: zone(ctx),
        }
    }
}

async fn load(state: &AppState, owner: UserId, id: PostId) -> Result<Loaded, PostFlowError> {
    let view = state.posts.view(owner, id).await?;
    let accounts = account_names(state, owner).await;
    Ok(Loaded {
        image_url: image_url(state, &view),
        account: account_of(&accounts, &view),
        accounts: accounts
            .into_iter()
            .filter(|(_, _, _, active)| *active)
            .map(|(id, _, name, _)| AccountChoice {
                id: id.to_string(),
                name,
            })
            .collect(),
        view,
    })
}

#[derive(Debug, Deserialize)]
struct PreviewParams {
    done: Option<String>,
}

async fn preview(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    axum::extract::Path(raw): axum::extract::Path<String>,
    Query(params): Query<PreviewParams>,
) -> Response {
    let Ok(id) = raw.parse::<PostId>() else {
        return views::posts::not_found(&ctx).into_response();
    };
    match load(&state, owner.user_id, id).await {
        Ok(loaded) => {
            let done = params.done.as_deref().and_then(Done::parse);
            views::posts_preview::preview(&ctx, &loaded.preview(&state, &ctx), done).into_response()
        }
        Err(error) => load_failed(&ctx, &error),
    }
}

/// Renders the preview of `id` with `page`, or the load failure.
async fn with_preview(
    state: &AppState,
    ctx: &PageContext,
    owner: UserId,
    id: PostId,
    page: impl FnOnce(&Preview<'_>) -> crate::web::Page,
) -> Response {
    match load(state, owner, id).await {
        Ok(loaded) => page(&loaded.preview(state, ctx)).into_response(),
        Err(error) => load_failed(ctx, &error),
    }
}

async fn edit(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let Ok(id) = raw.parse::<PostId>() else {
        return views::posts::not_found(&ctx).into_response();
    };
    let form = match form::parse::<EditForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "edit form refused");
            let typed: EditForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
            return with_preview(&state, &ctx, owner.user_id, id, |p| {
                views::posts_preview::expired(&ctx, p, Some(typed.draft()))
            })
            .await;
        }
        Err(FormError::Malformed(_)) => EditForm::default(),
    };
    let loaded = match load(&state, owner.user_id, id).await {
        Ok(loaded) => loaded,
        Err(error) => return load_failed(&ctx, &error),
    };
    // The form was made for the preview with this hash: an edit made since (another tab)
    // would be overwritten unseen, so the owner sees the current post first.
    if form.content_hash != loaded.view.post.content.hash().to_hex() {
        return views::posts_preview::stale(
            &ctx,
            &loaded.preview(&state, &ctx),
            Some(form.draft()),
        )
        .into_response();
    }
    let request = match form.parse() {
        Ok(request) => request,
        Err(errors) => {
            return views::posts_preview::invalid(
                &ctx,
                &loaded.preview(&state, &ctx),
                form.draft(),
                &errors,
            )
            .into_response();
        }
    };
    match state.posts.edit(owner.user_id, id, request).await {
        Ok(_) => form::see_other(&format!("/posts/{id}?done={}", Done::Saved.as_str())),
        Err(error) => {
            log_unexpected(&error, "edit");
            with_preview(&state, &ctx, owner.user_id, id, |p| {
                views::posts_preview::refused(&ctx, p, Some(form.draft()), &error)
            })
            .await
        }
    }
}

async fn publish(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    client: ClientInfo,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let Ok(id) = raw.parse::<PostId>() else {
        return views::posts::not_found(&ctx).into_response();
    };
    let form = match form::parse::<PublishForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "publish form refused");
            return with_preview(&state, &ctx, owner.user_id, id, |p| {
                views::posts_preview::expired(&ctx, p, None)
            })
            .await;
        }
        Err(FormError::Malformed(_)) => PublishForm::default(),
    };
    let now = state.clock.now();
    let scheduled_for = match form.scheduled_for.as_deref() {
        None => None,
        Some(typed) => match parse_schedule(typed, ctx.locale(), zone(&ctx), now) {
            Ok(at) => Some(at),
            Err(reason) => {
                let mut errors = FieldErrors::new();
                errors.add("scheduled_for", reason.key());
                return with_preview(&state, &ctx, owner.user_id, id, |p| {
                    let mut kept = Draft::of(&p.shown);
                    kept.schedule = typed.trim().to_owned();
                    views::posts_preview::invalid(&ctx, p, kept, &errors)
                })
                .await;
            }
        },
    };
    // A hash or account id that does not even parse cannot be the preview's: the page shows
    // the post as it is now, as for any other stale form.
    let (Ok(content_hash), Ok(connection)) = (
        ContentHash::parse(form.content_hash.trim()),
        form.instagram_account_id.trim().parse::<ConnectionId>(),
    ) else {
        return with_preview(&state, &ctx, owner.user_id, id, |p| {
            views::posts_preview::stale(&ctx, p, None)
        })
        .await;
    };
    let click = Click {
        content_hash,
        connection,
        scheduled_for,
        ip: client.ip_string(),
        user_agent: client.user_agent,
        api_key: None,
    };
    match state.posts.publish(owner.user_id, id, click).await {
        Ok(_) => {
            let done = if scheduled_for.is_some() {
                Done::Scheduled
            } else {
                Done::Approved
            };
            form::see_other(&format!("/posts/{id}?done={}", done.as_str()))
        }
        Err(error) => {
            log_unexpected(&error, "publish");
            let typed = form.scheduled_for.clone().unwrap_or_default();
            with_preview(&state, &ctx, owner.user_id, id, |p| {
                let mut kept = Draft::of(&p.shown);
                kept.schedule = typed.trim().to_owned();
                views::posts_preview::refused(&ctx, p, Some(kept), &error)
            })
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct WithdrawForm {
    next: Option<String>,
}

async fn withdraw(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let Ok(id) = raw.parse::<PostId>() else {
        return views::posts::not_found(&ctx).into_response();
    };
    let form = match form::parse::<WithdrawForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "withdraw form refused");
            return views::errors::form_refused(&ctx, &format!("/posts/{id}")).into_response();
        }
        Err(FormError::Malformed(_)) => WithdrawForm::default(),
    };
    match state.posts.withdraw(owner.user_id, id).await {
        Ok(_) => match form.next.as_deref().map(form::local_path) {
            Some(next) if next != "/" && !next.starts_with(&format!("/posts/{id}")) => {
                form::see_other(next)
            }
            _ => form::see_other(&format!("/posts/{id}?done={}", Done::Withdrawn.as_str())),
        },
        Err(error) => {
            log_unexpected(&error, "withdraw");
            with_preview(&state, &ctx, owner.user_id, id, |p| {
                views::posts_preview::refused(&ctx, p, None, &error)
            })
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct RegenerateForm {
    #[serde(default)]
    part: String,
}

/// "Regenerate caption" / "Regenerate image": back through generation, then the preview
/// shows the progress.
async fn regenerate(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let Ok(id) = raw.parse::<PostId>() else {
        return views::posts::not_found(&ctx).into_response();
    };
    let form = match form::parse::<RegenerateForm>(&ctx, &body) {
        Ok(form) => form,
        Err(FormError::Forged(reason)) => {
            tracing::info!(%reason, "regenerate form refused");
            return views::errors::form_refused(&ctx, &format!("/posts/{id}")).into_response();
        }
        Err(FormError::Malformed(_)) => RegenerateForm::default(),
    };
    let parts = match form.part.as_str() {
        "caption" => Parts {
            caption: true,
            image: false,
        },
        "image" => Parts {
            caption: false,
            image: true,
        },
        _ => Parts {
            caption: true,
            image: true,
        },
    };
    match state.posts.regenerate(owner.user_id, id, parts).await {
        Ok(_) => form::see_other(&format!("/posts/{id}")),
        Err(error) if is_not_found(&error) => views::posts::not_found(&ctx).into_response(),
        Err(error) => {
            log_unexpected(&error, "regenerate");
            with_preview(&state, &ctx, owner.user_id, id, |p| {
                views::posts_preview::refused(&ctx, p, None, &error)
            })
            .await
        }
    }
}

/// The progress of the owner's post as Server-Sent Events (the same stream as
/// `GET /v1/posts/{id}/events`, with the session cookie); 404 for anyone else's post.
async fn events(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Response {
    let Ok(id) = raw.parse::<PostId>() else {
        return views::posts::not_found(&ctx).into_response();
    };
    match state.stores.posts.post(owner.user_id, id).await {
        Ok(_) => crate::routes::posts::step_stream(state, owner.user_id, id).into_response(),
        Err(StoreError::NotFound) => views::posts::not_found(&ctx).into_response(),
        Err(error) => {
            tracing::error!(%error, "the progress of a post could not be read");
            views::posts::unavailable(&ctx).into_response()
        }
    }
}

async fn confirm_delete(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Response {
    let Ok(id) = raw.parse::<PostId>() else {
        return views::posts::not_found(&ctx).into_response();
    };
    with_preview(&state, &ctx, owner.user_id, id, |p| {
        views::posts_preview::confirm_delete(&ctx, p)
    })
    .await
}

async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let Ok(id) = raw.parse::<PostId>() else {
        return views::posts::not_found(&ctx).into_response();
    };
    if let Err(error) = form::parse::<WithdrawForm>(&ctx, &body) {
        tracing::info!(%error, "delete form refused");
        return views::errors::form_refused(&ctx, &format!("/posts/{id}/delete")).into_response();
    }
    match state.posts.delete(owner.user_id, id).await {
        Ok(()) => form::see_other("/posts?done=deleted"),
        Err(error) if is_not_found(&error) => views::posts::not_found(&ctx).into_response(),
        Err(error) => {
            log_unexpected(&error, "delete");
            with_preview(&state, &ctx, owner.user_id, id, |p| {
                views::posts_preview::refused(&ctx, p, None, &error)
            })
            .await
        }
    }
}
