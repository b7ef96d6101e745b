//! `/posts` and `/posts/new`: the owner's posts with their status, and the topic form that
//! generates a new one. The preview of one post is [`super::posts_preview`].
//!
//! Views take what the post flow returned ([`PostView`]) plus what only the handler can know
//! (the signed image link, the account's name) as a [`Shown`], and decide the status code.

use askama::Template;
use axum::http::StatusCode;
use kraftsoci_core::PostStatus;

use super::{Alert, Tone};
use crate::i18n::Args;
use crate::posts::{PostFlowError, PostView};
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

/// How many characters of a caption a list row shows.
const EXCERPT_CHARS: usize = 90;

/// A post as a page shows it: the flow's view plus what the handler adds.
#[derive(Debug)]
pub struct Shown<'a> {
    /// The post.
    pub view: &'a PostView,
    /// A same-origin, signed, expiring link to the image (`/media/…`).
    pub image_url: Option<String>,
    /// The name of the Instagram account it targets, when connected.
    pub account: Option<String>,
}

/// A status as a badge: its words and colour.
#[derive(Debug, Clone)]
pub struct Badge {
    /// The words.
    pub label: String,
    /// The colour.
    pub tone: Tone,
}

/// The badge of a post in `status`; an approved post with a time is "Scheduled".
pub fn badge(ctx: &PageContext, status: PostStatus, scheduled: bool) -> Badge {
    let (key, tone) = match status {
        PostStatus::Ready => ("post-status-ready", Tone::Neutral),
        PostStatus::Approved if scheduled => ("post-status-scheduled", Tone::Progress),
        PostStatus::Approved => ("post-status-approved", Tone::Progress),
        PostStatus::Publishing => ("post-status-publishing", Tone::Progress),
        PostStatus::Published => ("post-status-published", Tone::Done),
        PostStatus::Failed => ("post-status-failed", Tone::Danger),
        PostStatus::Withdrawn => ("post-status-withdrawn", Tone::Neutral),
        PostStatus::NeedsReconnect => ("post-status-needs-reconnect", Tone::Danger),
        PostStatus::Generating => ("post-status-generating", Tone::Progress),
        PostStatus::GenerationFailed => ("post-status-generation-failed", Tone::Danger),
        // A status a later core adds: shown by its stable name until it has words.
        _ => ("post-status-other", Tone::Neutral),
    };
    Badge {
        label: ctx.t(key),
        tone,
    }
}

/// The first `max` characters of `text` on one line, cut at a word where one is near, with
/// an ellipsis when anything was cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if cut[..space].chars().count() > max * 2 / 3 => cut[..space].to_owned(),
        _ => cut,
    };
    format!("{}…", cut.trim_end())
}

struct Row {
    id: String,
    badge: Badge,
    topic: String,
    excerpt: String,
    image_url: Option<String>,
    when: String,
}

struct Filter {
    label: String,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "posts/list.html")]
struct ListPage<'a> {
    ctx: &'a PageContext,
    title: String,
    rows: Vec<Row>,
    filters: Vec<Filter>,
    filtered: bool,
    next: Option<String>,
    notice: Option<Alert>,
}

/// The statuses the list can be filtered by, in the order the filter shows them.
pub const FILTERS: [PostStatus; 5] = [
    PostStatus::Ready,
    PostStatus::Approved,
    PostStatus::Published,
    PostStatus::Failed,
    PostStatus::Withdrawn,
];

/// What the list says above the rows after an action elsewhere (`?done=deleted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListNotice {
    /// A post was deleted.
    Deleted,
}

/// 200: the posts, newest first, with a filter by status and a link to the next page.
pub fn list(
    ctx: &PageContext,
    posts: &[Shown<'_>],
    filter: Option<PostStatus>,
    next_cursor: Option<&str>,
    notice: Option<ListNotice>,
) -> Page {
    let rows = posts
        .iter()
        .map(|shown| {
            let post = &shown.view.post;
            let scheduled = post.consent.as_ref().and_then(|c| c.scheduled_for());
            let when = match (post.published_at, scheduled) {
                (Some(at), _) => ctx.t_with(
                    "posts-published-on",
                    &Args::new().text("date", ctx.date_time(at)),
                ),
                (None, Some(at)) if post.status == PostStatus::Approved => ctx.t_with(
                    "posts-scheduled-for",
                    &Args::new().text("date", ctx.date_time(at)),
                ),
                _ => ctx.t_with(
                    "posts-created-on",
                    &Args::new().text("date", ctx.date_time(post.created_at)),
                ),
            };
            Row {
                id: post.id.to_string(),
                badge: badge(ctx, post.status, scheduled.is_some()),
                topic: shown.view.media.topic.clone().unwrap_or_default(),
                excerpt: excerpt(post.content.caption.as_str(), EXCERPT_CHARS),
                image_url: shown.image_url.clone(),
                when,
            }
        })
        .collect();
    let mut filters = vec![Filter {
        label: ctx.t("posts-filter-all"),
        href: "/posts".to_owned(),
        current: filter.is_none(),
    }];
    filters.extend(FILTERS.iter().map(|status| Filter {
        label: badge(ctx, *status, false).label,
        href: format!("/posts?status={}", status.as_str()),
        current: filter == Some(*status),
    }));
    let next = next_cursor.map(|cursor| {
        let mut query = vec![("cursor", cursor)];
        if let Some(status) = filter {
            query.push(("status", status.as_str()));
        }
        format!(
            "/posts?{}",
            serde_urlencoded::to_string(query).unwrap_or_default()
        )
    });
    let notice = notice.map(|ListNotice::Deleted| Alert {
        tone: Tone::Done,
        heading: ctx.t("posts-deleted-heading"),
        body: ctx.t("posts-deleted-body"),
    });
    let page = ListPage {
        ctx,
        title: ctx.t("posts-title"),
        rows,
        filters,
        filtered: filter.is_some(),
        next,
        notice,
    };
    Page::render(ctx, StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "posts/new.html")]
struct NewPage<'a> {
    ctx: &'a PageContext,
    title: String,
    topic: &'a str,
    with_image: bool,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
}

fn render_new(
    ctx: &PageContext,
    status: StatusCode,
    topic: &str,
    with_image: bool,
    errors: &FieldErrors,
    alert: Option<Alert>,
) -> Page {
    let page = NewPage {
        ctx,
        title: ctx.t("new-post-title"),
        topic,
        with_image,
        errors,
        alert,
    };
    Page::render(ctx, status, &page)
}

/// 200: the topic form, with `topic` filled in (empty, or the topic of a post to write again).
pub fn new(ctx: &PageContext, topic: &str) -> Page {
    render_new(ctx, StatusCode::OK, topic, true, &FieldErrors::new(), None)
}

/// 400: the form again with what was typed and the error next to the topic.
pub fn new_invalid(ctx: &PageContext, topic: &str, with_image: bool, errors: &FieldErrors) -> Page {
    render_new(
        ctx,
        StatusCode::BAD_REQUEST,
        topic,
        with_image,
        errors,
        None,
    )
}

/// 403: the form's CSRF check failed; nothing was generated, the form is ready again with
/// what was typed.
pub fn new_expired(ctx: &PageContext, topic: &str, with_image: bool) -> Page {
    let alert = Alert {
        tone: Tone::Danger,
        heading: ctx.t("form-refused-title"),
        body: ctx.t("form-expired"),
    };
    render_new(
        ctx,
        StatusCode::FORBIDDEN,
        topic,
        with_image,
        &FieldErrors::new(),
        Some(alert),
    )
}

/// Why generating failed, in the owner's words, with the status the JSON API answers.
/// Nothing here reveals the upstream's error text: it is logged by the handler.
pub fn generation_refusal(ctx: &PageContext, error: &PostFlowError) -> (StatusCode, Alert) {
    let heading = ctx.t("new-post-failed-heading");
    let (status, body) = match error {
        PostFlowError::QuotaExceeded { limit, .. } => (
            StatusCode::PAYMENT_REQUIRED,
            ctx.t_with("new-post-quota", &Args::new().number("limit", *limit)),
        ),
        PostFlowError::SubscriptionInactive { .. } => {
            (StatusCode::PAYMENT_REQUIRED, ctx.t("new-post-subscription"))
        }
        PostFlowError::Restricted => (StatusCode::FORBIDDEN, ctx.t("new-post-restricted")),
        PostFlowError::ProfileRequired => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.t("new-post-profile-required"),
        ),
        PostFlowError::ContentFlagged => {
            (StatusCode::UNPROCESSABLE_ENTITY, ctx.t("new-post-flagged"))
        }
        PostFlowError::ContentRefused => {
            (StatusCode::UNPROCESSABLE_ENTITY, ctx.t("new-post-refused"))
        }
        PostFlowError::GeneratorUnavailable(_) | PostFlowError::GeneratedImageUnusable(_) => {
            (StatusCode::BAD_GATEWAY, ctx.t("new-post-generator"))
        }
        PostFlowError::EntitlementsUnavailable(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, ctx.t("new-post-try-later"))
        }
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            ctx.t("new-post-try-later"),
        ),
    };
    // Automated decisions say so and where a person reviews them (P32).
    let automated = matches!(
        error,
        PostFlowError::QuotaExceeded { .. }
            | PostFlowError::SubscriptionInactive { .. }
            | PostFlowError::ContentFlagged
            | PostFlowError::ContentRefused
    );
    let body = if automated {
        format!("{body} {}", ctx.t("automated-decision-review"))
    } else {
        body
    };
    (
        status,
        Alert {
            tone: Tone::Danger,
            heading,
            body,
        },
    )
}

/// The form again with what was typed and why generating failed (see
/// [`generation_refusal`]).
pub fn new_failed(ctx: &PageContext, topic: &str, with_image: bool, error: &PostFlowError) -> Page {
    let (status, alert) = generation_refusal(ctx, error);
    render_new(
        ctx,
        status,
        topic,
        with_image,
        &FieldErrors::new(),
        Some(alert),
    )
}

#[derive(Template)]
#[template(path = "posts/message.html")]
struct MessagePage<'a> {
    ctx: &'a PageContext,
    title: String,
    heading: String,
    body: String,
}

fn message(ctx: &PageContext, status: StatusCode, heading: &str, body: &str) -> Page {
    let page = MessagePage {
        ctx,
        title: ctx.t(heading),
        heading: ctx.t(heading),
        body: ctx.t(body),
    };
    Page::render(ctx, status, &page)
}

/// 404: no such post among the owner's (another owner's post reads the same).
pub fn not_found(ctx: &PageContext) -> Page {
    message(
        ctx,
        StatusCode::NOT_FOUND,
        "posts-not-found-heading",
        "posts-not-found-body",
    )
}

/// 500: the posts could not be read (the cause is logged by the handler).
pub fn unavailable(ctx: &PageContext) -> Page {
    message(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        "posts-unavailable-heading",
        "posts-unavailable-body",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_caption_is_shown_whole_on_one_line() {
        assert_eq!(excerpt("Fresh simit\n\ntoday", 90), "Fresh simit today");
    }

    #[test]
    fn a_long_caption_is_cut_at_a_word_with_an_ellipsis() {
        let text = "Taze simitler fırından yeni çıktı, gelin sıcak sıcak alın ve çayınızla birlikte keyfini çıkarın";
        let cut = excerpt(text, 40);
        assert!(cut.ends_with('…'));
        assert!(cut.chars().count() <= 41, "{cut}");
        assert!(text.starts_with(cut.trim_end_matches('…')), "{cut}");
        assert!(!cut.trim_end_matches('…').ends_with(' '));
    }

    #[test]
    fn a_caption_without_spaces_is_cut_at_the_limit_on_a_character_boundary() {
        let text = "ğ".repeat(50);
        assert_eq!(excerpt(&text, 10), format!("{}…", "ğ".repeat(10)));
    }
}
