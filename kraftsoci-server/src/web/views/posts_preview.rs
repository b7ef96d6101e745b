//! `/posts/{id}`: the preview as Instagram will show it, the edit form, the Publish and
//! Schedule buttons, the consent receipt after the click, and where publishing stands (P09).
//!
//! Both buttons' forms carry the content hash of exactly the preview rendered: a click on a
//! preview made stale by an edit elsewhere is refused by the post flow and answered with the
//! current preview and an explanation, so the owner approves only what they saw.

use askama::Template;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use kraftsoci_core::{GenerationStep, PostStatus};

use super::posts::{Badge, Shown, badge};
use super::{Alert, Tone};
use crate::i18n::{Args, Locale};
use crate::posts::PostFlowError;
use crate::web::form::FieldErrors;
use crate::web::{Page, PageContext};

/// How many characters Instagram shows above "… more" in the feed (about two lines).
pub const FOLD_CHARS: usize = 125;

/// How the schedule field is written on a page in `locale`: the page sets it, not the
/// browser (a `datetime-local` widget follows the browser's language, so a Turkish page under
/// an English browser asked for mm/dd/yyyy). Day first in both languages, 24-hour clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleFormat {
    /// The `chrono` format the server reads and writes (`%d.%m.%Y %H:%M`).
    pub chrono: &'static str,
    /// The field's HTML `pattern`.
    pub pattern: &'static str,
}

/// The schedule field's format on a page in `locale`.
pub fn schedule_format(locale: Locale) -> ScheduleFormat {
    match locale {
        Locale::Tr => ScheduleFormat {
            chrono: "%d.%m.%Y %H:%M",
            pattern: r"[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4} [0-9]{1,2}:[0-9]{2}",
        },
        Locale::En => ScheduleFormat {
            chrono: "%d/%m/%Y %H:%M",
            pattern: "[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}",
        },
    }
}

/// A connected Instagram account the owner may publish to.
#[derive(Debug, Clone)]
pub struct AccountChoice {
    /// The connection's id (`instagram_account_id`).
    pub id: String,
    /// The name shown.
    pub name: String,
}

/// What the edit and schedule fields hold: the post's values, or what the owner typed when a
/// post was refused (nothing typed is lost).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// The caption.
    pub caption: String,
    /// The hashtags, separated by spaces.
    pub hashtags: String,
    /// The alt text.
    pub alt_text: String,
    /// The schedule field as typed (`24.12.2026 09:30` on a Turkish page, in the owner's
    /// zone).
    pub schedule: String,
}

impl Draft {
    /// The post's current values.
    pub fn of(shown: &Shown<'_>) -> Self {
        let content = &shown.view.post.content;
        Self {
            caption: content.caption.as_str().to_owned(),
            hashtags: content
                .hashtags
                .iter()
                .map(|h| format!("#{}", h.as_str()))
                .collect::<Vec<_>>()
                .join(" "),
            alt_text: content
                .alt_text
                .as_ref()
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default(),
            schedule: String::new(),
        }
    }
}

/// Everything the preview page shows about one post.
#[derive(Debug)]
pub struct Preview<'a> {
    /// The post.
    pub shown: Shown<'a>,
    /// The owner's active connections (the Publish form chooses one when the post has none).
    pub accounts: Vec<AccountChoice>,
    /// Now (a post whose scheduled time has passed can no longer be withdrawn).
    pub now: DateTime<Utc>,
    /// The owner's time zone (the schedule field is in it).
    pub zone: Tz,
}

/// What the preview says after a successful action (`?done=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The edit was saved.
    Saved,
    /// Publish now was clicked.
    Approved,
    /// Schedule was clicked.
    Scheduled,
    /// The approval was withdrawn.
    Withdrawn,
    /// A new post was generated.
    Generated,
}

impl Done {
    /// The `done` query value of each outcome.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "saved" => Self::Saved,
            "approved" => Self::Approved,
            "scheduled" => Self::Scheduled,
            "withdrawn" => Self::Withdrawn,
            "generated" => Self::Generated,
            _ => return None,
        })
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Saved => "saved",
            Self::Approved => "approved",
            Self::Scheduled => "scheduled",
            Self::Withdrawn => "withdrawn",
            Self::Generated => "generated",
        }
    }
}

/// The caption split where Instagram folds it: `head` above "… more", `rest` below (empty
/// when the whole text fits). The cut falls between words when one is near the limit.
pub fn fold(text: &str) -> (String, String) {
    if text.chars().count() <= FOLD_CHARS {
        return (text.to_owned(), String::new());
    }
    let limit = text
        .char_indices()
        .nth(FOLD_CHARS)
        .map_or(text.len(), |(at, _)| at);
    let head = &text[..limit];
    let cut = match head.rfind(char::is_whitespace) {
        Some(space) if head[..space].chars().count() > FOLD_CHARS * 2 / 3 => space,
        _ => limit,
    };
    (
        text[..cut].trim_end().to_owned(),
        text[cut..].trim_start().to_owned(),
    )
}

struct Receipt {
    approved_at: String,
    account: String,
    schedule: Option<String>,
    hash: String,
}

/// The live progress of a post being generated.
struct Generating {
    /// The words for the step the post is at.
    step: String,
    /// The words for every step, for the script to show as the events come.
    steps: Vec<(&'static str, String)>,
}

impl Generating {
    fn of(ctx: &PageContext, step: Option<GenerationStep>) -> Self {
        let key = |step: GenerationStep| match step {
            GenerationStep::Writing => "generation-step-writing",
            GenerationStep::Moderating => "generation-step-moderating",
            GenerationStep::Drawing => "generation-step-drawing",
            GenerationStep::Ready => "generation-step-ready",
            GenerationStep::Failed => "generation-step-failed",
            _ => "generation-step-queued",
        };
        Self {
            step: ctx.t(key(step.unwrap_or(GenerationStep::Queued))),
            steps: GenerationStep::ALL
                .into_iter()
                .map(|s| (s.as_str(), ctx.t(key(s))))
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "posts/preview.html")]
struct PreviewPage<'a> {
    ctx: &'a PageContext,
    title: String,
    id: String,
    badge: Badge,
    topic: String,
    created: String,
    account_name: String,
    initial: String,
    image_url: Option<String>,
    width: u32,
    height: u32,
    alt_text: String,
    head: String,
    rest: String,
    hashtag_count: String,
    hash: String,
    target: Option<String>,
    accounts: Vec<AccountChoice>,
    can_publish: bool,
    can_edit: bool,
    can_withdraw: bool,
    can_delete: bool,
    in_progress: bool,
    generating: Option<Generating>,
    generation_failure: Option<String>,
    can_regenerate: bool,
    receipt: Option<Receipt>,
    published: Option<String>,
    permalink: Option<String>,
    failure: Option<String>,
    sandbox: bool,
    schedule_pattern: &'static str,
    schedule_hint: String,
    draft: Draft,
    errors: &'a FieldErrors,
    alert: Option<Alert>,
    confirm_delete: bool,
}

fn render(
    ctx: &PageContext,
    status: StatusCode,
    preview: &Preview<'_>,
    draft: Option<Draft>,
    errors: &FieldErrors,
    alert: Option<Alert>,
    confirm_delete: bool,
) -> Page {
    let shown = &preview.shown;
    let post = &shown.view.post;
    let content = &post.content;
    let text = content
        .post_text()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|_| content.caption.as_str().to_owned());
    let (head, rest) = fold(&text);
    let account_name = shown
        .account
        .clone()
        .unwrap_or_else(|| ctx.t("preview-no-account"));
    let scheduled = post.consent.as_ref().and_then(|c| c.scheduled_for());
    let receipt = post.consent.as_ref().map(|c| Receipt {
        approved_at: ctx.date_time(c.approved_at()),
        account: shown
            .account
            .clone()
            .unwrap_or_else(|| c.target().to_string()),
        schedule: c.scheduled_for().map(|at| ctx.date_time(at)),
        hash: c.content_hash().to_hex(),
    });
    let image = shown.view.media.image.as_ref();
    let page = PreviewPage {
        ctx,
        title: ctx.t("preview-title"),
        id: post.id.to_string(),
        badge: badge(ctx, post.status, scheduled.is_some()),
        topic: shown.view.media.topic.clone().unwrap_or_default(),
        created: ctx.date_time(post.created_at),
        initial: account_name
            .chars()
            .next()
            .map(|c| ctx.upper(&c.to_string()))
            .unwrap_or_default(),
        account_name,
        image_url: shown.image_url.clone(),
        width: image.map_or(1080, |i| i.width),
        height: image.map_or(1080, |i| i.height),
        alt_text: content
            .alt_text
            .as_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        head,
        rest,
        hashtag_count: ctx.integer(i64::try_from(content.hashtags.len()).unwrap_or(i64::MAX)),
        hash: content.hash().to_hex(),
        target: shown.view.target_connection.map(|c| c.to_string()),
        accounts: preview.accounts.clone(),
        can_publish: matches!(
            post.status,
            PostStatus::Ready | PostStatus::Failed | PostStatus::Withdrawn
        ),
        can_edit: !matches!(
            post.status,
            PostStatus::Publishing
                | PostStatus::Published
                | PostStatus::Generating
                | PostStatus::GenerationFailed
        ),
        can_withdraw: matches!(
            post.status,
            PostStatus::Approved | PostStatus::NeedsReconnect
        ),
        can_delete: post.status != PostStatus::Publishing,
        in_progress: post.status == PostStatus::Publishing
            || (post.status == PostStatus::Approved
                && scheduled.is_none_or(|at| at <= preview.now)),
        generating: (post.status == PostStatus::Generating)
            .then(|| Generating::of(ctx, post.generation_step)),
        generation_failure: (post.status == PostStatus::GenerationFailed).then(|| {
            if post.failure.as_ref().is_some_and(|f| f.retryable) {
                ctx.t("preview-generation-failed-retryable")
            } else {
                ctx.t("preview-generation-failed-final")
            }
        }),
        can_regenerate: matches!(
            post.status,
            PostStatus::Ready
                | PostStatus::Failed
                | PostStatus::Withdrawn
                | PostStatus::GenerationFailed
        ),
        receipt,
        published: post.published_at.map(|at| {
            ctx.t_with(
                "preview-published-on",
                &Args::new().text("date", ctx.date_time(at)),
            )
        }),
        permalink: post
            .permalink
            .clone()
            .filter(|link| link.starts_with("https://") || link.starts_with("http://")),
        failure: post
            .failure
            .as_ref()
            .filter(|_| post.status != PostStatus::GenerationFailed)
            .map(|f| {
                if f.retryable {
                    ctx.t("preview-failed-retryable")
                } else {
                    ctx.t("preview-failed-final")
                }
            }),
        sandbox: shown.view.media.sandbox,
        schedule_pattern: schedule_format(ctx.locale()).pattern,
        schedule_hint: ctx.t_with(
            "preview-schedule-hint",
            &Args::new().text("zone", {
                let label = crate::i18n::format::zone_label(preview.zone, preview.now);
                if label == preview.zone.name() {
                    label
                } else {
                    format!("{}, {label}", preview.zone.name())
                }
            }),
        ),
        draft: draft.unwrap_or_else(|| Draft::of(shown)),
        errors,
        alert,
        confirm_delete,
    };
    Page::render(ctx, status, &page)
}

/// 200: the preview, with what the last action did.
pub fn preview(ctx: &PageContext, preview: &Preview<'_>, done: Option<Done>) -> Page {
    let alert = done.map(|done| {
        let (heading, body) = match done {
            Done::Saved => ("preview-saved-heading", "preview-saved-body"),
            Done::Approved => ("preview-approved-heading", "preview-approved-body"),
            Done::Scheduled => ("preview-scheduled-heading", "preview-scheduled-body"),
            Done::Withdrawn => ("preview-withdrawn-heading", "preview-withdrawn-body"),
            Done::Generated => ("preview-generated-heading", "preview-generated-body"),
        };
        Alert {
            tone: Tone::Done,
            heading: ctx.t(heading),
            body: ctx.t(body),
        }
    });
    render(
        ctx,
        StatusCode::OK,
        preview,
        None,
        &FieldErrors::new(),
        alert,
        false,
    )
}

/// 200: the preview with the question "delete this post?" and its confirming button.
pub fn confirm_delete(ctx: &PageContext, preview: &Preview<'_>) -> Page {
    render(
        ctx,
        StatusCode::OK,
        preview,
        None,
        &FieldErrors::new(),
        None,
        true,
    )
}

/// 400: the edit or schedule form again with what was typed and each error next to its field.
pub fn invalid(
    ctx: &PageContext,
    preview: &Preview<'_>,
    draft: Draft,
    errors: &FieldErrors,
) -> Page {
    render(
        ctx,
        StatusCode::BAD_REQUEST,
        preview,
        Some(draft),
        errors,
        None,
        false,
    )
}

/// 403: a form whose CSRF check failed; nothing was done, the page is ready again with what
/// was typed.
pub fn expired(ctx: &PageContext, preview: &Preview<'_>, draft: Option<Draft>) -> Page {
    let alert = Alert {
        tone: Tone::Danger,
        heading: ctx.t("form-refused-title"),
        body: ctx.t("form-expired"),
    };
    render(
        ctx,
        StatusCode::FORBIDDEN,
        preview,
        draft,
        &FieldErrors::new(),
        Some(alert),
        false,
    )
}

/// 409: the form was made for a preview that is no longer current (an edit in another tab):
/// nothing was done, and the page shows the post as it is now, with what was typed kept.
pub fn stale(ctx: &PageContext, preview: &Preview<'_>, draft: Option<Draft>) -> Page {
    // Only say that what was typed is kept when something was typed.
    let typed = draft
        .as_ref()
        .is_some_and(|draft| *draft != Draft::of(&preview.shown));
    let mut body = ctx.t("preview-stale-body");
    if typed {
        body = format!("{body} {}", ctx.t("preview-stale-kept"));
    }
    let alert = Alert {
        tone: Tone::Danger,
        heading: ctx.t("preview-stale-heading"),
        body,
    };
    render(
        ctx,
        StatusCode::CONFLICT,
        preview,
        draft,
        &FieldErrors::new(),
        Some(alert),
        false,
    )
}

/// Why the post flow refused an action, in the owner's words, with the JSON API's status.
pub fn refusal(ctx: &PageContext, error: &PostFlowError) -> (StatusCode, Alert) {
    let heading = ctx.t("preview-refused-heading");
    let (status, body) = match error {
        PostFlowError::ContentChanged | PostFlowError::TargetChanged => {
            (StatusCode::CONFLICT, ctx.t("preview-stale-body"))
        }
        PostFlowError::Restricted => (StatusCode::FORBIDDEN, ctx.t("preview-restricted")),
        PostFlowError::NotConnected | PostFlowError::ConnectionNeedsReconnect => {
            (StatusCode::CONFLICT, ctx.t("preview-reconnect"))
        }
        PostFlowError::AwaitingReconnect => (StatusCode::CONFLICT, ctx.t("preview-reconnect")),
        PostFlowError::PublishingLimitReached { limit, .. } => (
            StatusCode::CONFLICT,
            ctx.t_with("preview-daily-limit", &Args::new().number("limit", *limit)),
        ),
        PostFlowError::PublishingStarted | PostFlowError::PublishingInProgress => {
            (StatusCode::CONFLICT, ctx.t("preview-publishing-started"))
        }
        PostFlowError::InvalidState(_) | PostFlowError::Changed | PostFlowError::KeptChanging => {
            (StatusCode::CONFLICT, ctx.t("preview-changed-meanwhile"))
        }
        PostFlowError::InvalidContent(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, ctx.t("preview-too-long"))
        }
        PostFlowError::ImageRequired
        | PostFlowError::ImageMissing
        | PostFlowError::ImageInvalid(_)
        | PostFlowError::ImageChanged => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.t("preview-image-unusable"),
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            ctx.t("preview-try-later"),
        ),
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

/// The preview with why an action was refused (see [`refusal`]) and what was typed kept.
pub fn refused(
    ctx: &PageContext,
    preview: &Preview<'_>,
    draft: Option<Draft>,
    error: &PostFlowError,
) -> Page {
    if matches!(
        error,
        PostFlowError::ContentChanged | PostFlowError::TargetChanged
    ) {
        return stale(ctx, preview, draft);
    }
    let (status, alert) = refusal(ctx, error);
    render(
        ctx,
        status,
        preview,
        draft,
        &FieldErrors::new(),
        Some(alert),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caption_that_fits_is_not_folded() {
        let text = "Taze simit, fırından yeni çıktı.\n\n#simit #kadıköy";
        assert_eq!(fold(text), (text.to_owned(), String::new()));
    }

    #[test]
    fn a_long_caption_folds_between_words_near_125_characters() {
        let text = "Günaydın Kadıköy! ".repeat(12);
        let (head, rest) = fold(&text);
        assert!(head.chars().count() <= FOLD_CHARS, "{head}");
        assert!(head.chars().count() > FOLD_CHARS * 2 / 3, "{head}");
        assert!(!rest.is_empty());
        assert_eq!(format!("{head} {rest}"), text);
        assert!(
            text[head.len()..].starts_with(' '),
            "cut between words: {head}"
        );
    }

    #[test]
    fn a_caption_without_spaces_folds_on_a_character_boundary() {
        let text = "ş".repeat(200);
        let (head, rest) = fold(&text);
        assert_eq!(head.chars().count(), FOLD_CHARS);
        assert_eq!(rest.chars().count(), 200 - FOLD_CHARS);
    }

    #[test]
    fn every_done_value_reads_back() {
        for done in [
            Done::Saved,
            Done::Approved,
            Done::Scheduled,
            Done::Withdrawn,
            Done::Generated,
        ] {
            assert_eq!(Done::parse(done.as_str()), Some(done));
        }
        assert_eq!(Done::parse("published"), None);
    }
}
