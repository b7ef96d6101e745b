//! The events an owner is told about, each with a stable id so that it is told once.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use kraftsoci_core::billing::QuotaKind;
use kraftsoci_core::{ConnectionId, PostId, UserId};

/// What happened. The first seven can be chosen per channel and subscribed to by webhooks;
/// [`EventKind::PolicyChanged`] and [`EventKind::Security`] are always delivered and cannot be
/// turned off (they are announced by the policy and breach tools, P38).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A post is live on Instagram (with its permalink).
    Published,
    /// Publishing failed for good (with the reason and what to do).
    PublishFailed,
    /// Instagram refused the token (Graph 190) or Meta removed the app: reconnect.
    NeedsReconnect,
    /// An approved post goes out within the hour.
    ScheduledSoon,
    /// 80 % of the plan's allowance used this period.
    Quota80,
    /// The whole allowance used this period.
    Quota100,
    /// A post could not be generated.
    GenerationFailed,
    /// A new privacy-policy version (mandatory).
    PolicyChanged,
    /// A security notice, e.g. a breach notification (mandatory).
    Security,
}

impl EventKind {
    /// Every event, in the order settings show them.
    pub const ALL: [Self; 9] = [
        Self::Published,
        Self::PublishFailed,
        Self::NeedsReconnect,
        Self::ScheduledSoon,
        Self::Quota80,
        Self::Quota100,
        Self::GenerationFailed,
        Self::PolicyChanged,
        Self::Security,
    ];

    /// The events an owner may choose channels for and webhooks may subscribe to.
    pub const OPTIONAL: [Self; 7] = [
        Self::Published,
        Self::PublishFailed,
        Self::NeedsReconnect,
        Self::ScheduledSoon,
        Self::Quota80,
        Self::Quota100,
        Self::GenerationFailed,
    ];

    /// The stable name (API, webhooks, storage).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::PublishFailed => "publish_failed",
            Self::NeedsReconnect => "needs_reconnect",
            Self::ScheduledSoon => "scheduled_soon",
            Self::Quota80 => "quota_80",
            Self::Quota100 => "quota_100",
            Self::GenerationFailed => "generation_failed",
            Self::PolicyChanged => "policy_changed",
            Self::Security => "security",
        }
    }

    /// The event of a name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Whether the owner cannot turn it off.
    pub const fn is_mandatory(self) -> bool {
        matches!(self, Self::PolicyChanged | Self::Security)
    }

    /// The prefix of its messages in `locales/*/notify.ftl` (`notify-published`).
    pub(crate) fn message_prefix(self) -> &'static str {
        match self {
            Self::Published => "notify-published",
            Self::PublishFailed => "notify-publish-failed",
            Self::NeedsReconnect => "notify-needs-reconnect",
            Self::ScheduledSoon => "notify-scheduled-soon",
            Self::Quota80 => "notify-quota-80",
            Self::Quota100 => "notify-quota-100",
            Self::GenerationFailed => "notify-generation-failed",
            Self::PolicyChanged => "notify-policy-changed",
            Self::Security => "notify-security",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event for one owner. Build it with the constructors; its [`Event::key`] is the same
/// however often the same thing is reported (a retried job), which is what makes delivery
/// once-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Whom it is for.
    pub user: UserId,
    /// What happened.
    pub kind: EventKind,
    /// Its stable id.
    pub key: String,
    /// Where to act: an absolute URL (a permalink) or a path of the web app (`/posts/{id}`).
    pub link: Option<String>,
    /// The details messages are written from (`reason`, `permalink`, `post_id`…).
    pub params: BTreeMap<String, String>,
}

fn params<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Event {
    /// A post went live (once per post).
    pub fn published(user: UserId, post: PostId, permalink: Option<&str>) -> Self {
        let mut details = params([("post_id", post.to_string())]);
        if let Some(permalink) = permalink {
            details.insert("permalink".to_owned(), permalink.to_owned());
        }
        Self {
            user,
            kind: EventKind::Published,
            key: format!("published:{post}"),
            link: Some(permalink.map_or_else(|| format!("/posts/{post}"), str::to_owned)),
            params: details,
        }
    }

    /// Publishing failed for good with `code` and `reason` (once per post and failure time:
    /// the owner may approve again, and a new failure is news).
    pub fn publish_failed(
        user: UserId,
        post: PostId,
        code: &str,
        reason: &str,
        retryable: bool,
        failed_at: DateTime<Utc>,
    ) -> Self {
        Self {
            user,
            kind: EventKind::PublishFailed,
            key: format!("publish_failed:{post}:{}", stamp(failed_at)),
            link: Some(format!("/posts/{post}")),
            params: params([
                ("post_id", post.to_string()),
                ("code", code.to_owned()),
                ("reason", reason.to_owned()),
                ("retryable", retryable.to_string()),
            ]),
        }
    }

    /// A connection needs the owner to reconnect (Graph 190, a removed token, Meta's
    /// deauthorisation). `since` identifies the occurrence (when it was noticed, or the post
    /// that found it), so one broken connection is announced once, not once per queued post.
    pub fn needs_reconnect(user: UserId, connection: Option<ConnectionId>, since: &str) -> Self {
        let subject = connection.map_or_else(|| "account".to_owned(), |c| c.to_string());
        Self {
            user,
            kind: EventKind::NeedsReconnect,
            key: format!("needs_reconnect:{subject}:{since}"),
            link: Some("/onboarding/instagram".to_owned()),
            params: params([("connection_id", subject)]),
        }
    }

    /// [`Event::needs_reconnect`] for `connection` noticed at `at`: announced at most once
    /// per connection and day, however many queued posts run into it.
    pub fn needs_reconnect_now(user: UserId, connection: ConnectionId, at: DateTime<Utc>) -> Self {
        Self::needs_reconnect(user, Some(connection), &at.format("%Y-%m-%d").to_string())
    }

    /// What a publish job's settled post tells its owner: published, failed, or needs a
    /// reconnect (of `connection`, when known); nothing for other states.
    pub fn of_settled_post(
        post: &kraftsoci_core::PostSnapshot,
        connection: Option<ConnectionId>,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        use kraftsoci_core::PostStatus;
        match post.status {
            PostStatus::Published => Some(Self::published(
                post.owner,
                post.id,
                post.permalink.as_deref(),
            )),
            PostStatus::Failed => post.failure.as_ref().map(|failure| {
                Self::publish_failed(
                    post.owner,
                    post.id,
                    &failure.code,
                    &failure.message,
                    failure.retryable,
                    post.updated_at,
                )
            }),
            PostStatus::NeedsReconnect => Some(match connection {
                Some(connection) => Self::needs_reconnect_now(post.owner, connection, at),
                None => Self::needs_reconnect(post.owner, None, &at.format("%Y-%m-%d").to_string()),
            }),
            _ => None,
        }
    }

    /// An approved post goes out within the hour (once per post and scheduled time).
    pub fn scheduled_soon(user: UserId, post: PostId, at: DateTime<Utc>) -> Self {
        Self {
            user,
            kind: EventKind::ScheduledSoon,
            key: format!("scheduled_soon:{post}:{}", stamp(at)),
            link: Some(format!("/posts/{post}")),
            params: params([("post_id", post.to_string()), ("scheduled_for", stamp(at))]),
        }
    }

    /// `used` of `limit` units of `kind` are spent in the period starting `period_start`: the
    /// 80 % or 100 % event (once per period, kind and threshold), or none below 80 %.
    pub fn quota(
        user: UserId,
        kind: QuotaKind,
        used: u32,
        limit: u32,
        period_start: DateTime<Utc>,
    ) -> Option<Self> {
        if limit == 0 {
            return None;
        }
        let event = if used >= limit {
            EventKind::Quota100
        } else if u64::from(used) * 100 >= u64::from(limit) * 80 {
            EventKind::Quota80
        } else {
            return None;
        };
        let quota = match kind {
            QuotaKind::Posts => "posts",
            QuotaKind::Images => "images",
            // A kind this server does not know (QuotaKind is non_exhaustive) is not announced.
            _ => return None,
        };
        Some(Self {
            user,
            kind: event,
            key: format!("{event}:{quota}:{}", stamp(period_start)),
            link: Some("/billing".to_owned()),
            params: params([
                ("quota", quota.to_owned()),
                ("used", used.to_string()),
                ("limit", limit.to_string()),
            ]),
        })
    }

    /// A post could not be generated (once per post and attempt: `attempt` is the attempt's
    /// id or start time).
    pub fn generation_failed(user: UserId, post: PostId, attempt: &str, reason: &str) -> Self {
        Self {
            user,
            kind: EventKind::GenerationFailed,
            key: format!("generation_failed:{post}:{attempt}"),
            link: Some(format!("/posts/{post}")),
            params: params([("post_id", post.to_string()), ("reason", reason.to_owned())]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_event_and_unknown_names_do_not() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("publishd"), None);
        assert!(EventKind::Security.is_mandatory());
        assert!(!EventKind::OPTIONAL.iter().any(|kind| kind.is_mandatory()));
    }

    #[test]
    fn the_same_occurrence_has_the_same_key_and_quota_thresholds_are_80_and_100_percent() {
        let user = UserId::new();
        let post = PostId::new();
        assert_eq!(
            Event::published(user, post, Some("https://instagram.com/p/x")).key,
            Event::published(user, post, None).key
        );
        let start = Utc::now();
        assert!(Event::quota(user, QuotaKind::Posts, 7, 10, start).is_none());
        let eighty = Event::quota(user, QuotaKind::Posts, 8, 10, start).unwrap();
        assert_eq!(eighty.kind, EventKind::Quota80);
        let again = Event::quota(user, QuotaKind::Posts, 9, 10, start).unwrap();
        assert_eq!(eighty.key, again.key, "once per period");
        let full = Event::quota(user, QuotaKind::Posts, 10, 10, start).unwrap();
        assert_eq!(full.kind, EventKind::Quota100);
        assert!(Event::quota(user, QuotaKind::Images, 0, 0, start).is_none());
    }
}
