//! `/calendar`: the owner's approved, publishing and published posts by day, one week at a
//! time, in the owner's time zone ([`views::calendar`]). Withdrawing from here posts to the
//! post's own withdraw form, which returns to the same week.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use kraftsoci_core::{PostStatus, StoreError, UserId};
use serde::Deserialize;

use super::web_posts::{image_url, zone};
use crate::posts::PostView;
use crate::state::AppState;
use crate::web::session::Owner;
use crate::web::views::calendar::{monday_of, week_bounds, when};
use crate::web::views::posts::Shown;
use crate::web::{PageContext, views};

/// Posts read per status per page of the store.
const BATCH: u32 = 100;
/// At most this many posts per status are considered (a bound on one page's work).
const MAX_PER_STATUS: usize = 2_000;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/calendar", get(calendar))
}

#[derive(Debug, Deserialize)]
struct WeekParams {
    /// Any day of the week to show (`2026-12-24`); default this week.
    week: Option<String>,
}

/// Every post of `owner` in `status` with its media, connection and job, newest first, up to
/// [`MAX_PER_STATUS`] (one statement per page of [`BATCH`]).
async fn all_in(
    state: &AppState,
    owner: UserId,
    status: PostStatus,
) -> Result<Vec<PostView>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = state
            .stores
            .posts
            .list_posts_with_details(owner, Some(status), cursor, BATCH)
            .await?;
        out.extend(page.posts.into_iter().map(PostView::from));
        match page.next_cursor {
            Some(next) if out.len() < MAX_PER_STATUS => cursor = Some(next),
            _ => return Ok(out),
        }
    }
}

async fn calendar(
    State(state): State<AppState>,
    owner: Owner,
    ctx: PageContext,
    Query(params): Query<WeekParams>,
) -> Response {
    let zone = zone(&ctx);
    let today = state.clock.now().with_timezone(&zone).date_naive();
    let day = params
        .week
        .as_deref()
        .and_then(|w| NaiveDate::parse_from_str(w.trim(), "%Y-%m-%d").ok())
        .unwrap_or(today);
    let monday = monday_of(day);
    let (start, end) = week_bounds(monday, zone);
    let mut posts = Vec::new();
    for status in [
        PostStatus::Approved,
        PostStatus::Publishing,
        PostStatus::Published,
    ] {
        match all_in(&state, owner.user_id, status).await {
            Ok(found) => posts.extend(found),
            Err(error) => {
                tracing::error!(%error, "the calendar could not read posts");
                return views::posts::unavailable(&ctx).into_response();
            }
        }
    }
    let shown: Vec<Shown<'_>> = posts
        .iter()
        .map(|view| Shown {
            view,
            image_url: image_url(&state, view),
            account: None,
        })
        .filter(|shown| when(shown).is_some_and(|at| at >= start && at < end))
        .collect();
    views::calendar::week(&ctx, monday, today, zone, &shown).into_response()
}
