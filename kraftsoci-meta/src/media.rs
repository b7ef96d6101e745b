//! Finding a published post among the account's media.
//!
//! Once a container is `PUBLISHED`, Graph links it to nothing: the media id comes only from
//! `media_publish`'s answer. When that answer was lost (a timeout, a 5xx, a crash), the post is
//! recognised in `GET /{ig-user-id}/media?fields=id,timestamp,caption,permalink` (stories: in
//! `/stories`) by its caption and publish time, with core's [`MediaQuery::pick`]: exactly one
//! fitting item, or none is chosen.

use chrono::{DateTime, NaiveDateTime, Utc};
use kraftsoci_core::MediaKind;
use kraftsoci_core::ports::{ListedMedia, MediaLookup, MediaQuery, PublishAccount};
use serde_json::{Map, Value};

use crate::client::{MetaClient, Paged};
use crate::error::MetaError;

/// The fields read for each item.
pub const MEDIA_FIELDS: &str = "id,timestamp,caption,permalink";
/// Items per page.
const PAGE_SIZE: &str = "50";
/// Pages read at most for one lookup (300 items: far more than an account publishes between
/// a post and its reconciliation).
const MAX_LOOKUP_PAGES: usize = 6;

impl MetaClient {
    /// The account's media (for [`MediaKind::Story`]: its current stories), newest first,
    /// down to the first item published before `since`.
    ///
    /// Items without an id or a readable timestamp are left out (they cannot be matched).
    ///
    /// # Errors
    /// The classified Graph failure; [`MetaError::UnexpectedResponse`] for a malformed page.
    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str(), kind = kind.as_str()))]
    pub async fn recent_media(
        &self,
        account: &PublishAccount,
        kind: MediaKind,
        since: DateTime<Utc>,
    ) -> Result<Vec<ListedMedia>, MetaError> {
        let edge = match kind {
            MediaKind::Story => "stories",
            MediaKind::Image | MediaKind::Carousel | MediaKind::Reel => "media",
            other => {
                return Err(MetaError::InvalidInput(format!(
                    "this version of kraftsoci-meta cannot look up a {}",
                    other.as_str()
                )));
            }
        };
        let paged = self
            .paged_while(
                "media lookup",
                vec![account.ig_user_id.as_str(), edge],
                &account.access_token,
                vec![
                    ("fields", MEDIA_FIELDS.to_owned()),
                    ("limit", PAGE_SIZE.to_owned()),
                ],
                MAX_LOOKUP_PAGES,
                // Newest first: a page that reaches back before `since` is the last one needed.
                |page| {
                    page.iter()
                        .filter_map(listed)
                        .all(|item| item.timestamp >= since)
                },
            )
            .await?;
        let rows = match paged {
            Paged::Complete(rows) => rows,
            Paged::Truncated(rows) => {
                tracing::warn!(
                    pages = MAX_LOOKUP_PAGES,
                    "media lookup stopped at its page budget"
                );
                rows
            }
        };
        let items: Vec<ListedMedia> = rows.iter().filter_map(listed).collect();
        if items.len() < rows.len() {
            tracing::warn!(
                skipped = rows.len() - items.len(),
                "media items without id or timestamp were left out"
            );
        }
        Ok(items)
    }

    /// Finds the media a published container became: lists the account's media back to the
    /// query's window and picks the one item with the sent caption and a publish time inside
    /// it ([`MediaQuery::pick`]).
    ///
    /// # Errors
    /// As [`MetaClient::recent_media`].
    pub async fn find_media(
        &self,
        account: &PublishAccount,
        query: &MediaQuery,
    ) -> Result<MediaLookup, MetaError> {
        let since = query
            .published_after
            .checked_sub_signed(
                chrono::Duration::from_std(MediaQuery::CLOCK_SKEW)
                    .unwrap_or(chrono::Duration::zero()),
            )
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let items = self.recent_media(account, query.kind, since).await?;
        let lookup = query.pick(&items);
        match &lookup {
            MediaLookup::Found(found) => {
                tracing::info!(container = %query.container, media_id = found.media_id, "published media found");
            }
            MediaLookup::NotFound => {
                tracing::info!(container = %query.container, listed = items.len(), "published media not listed (yet)");
            }
            MediaLookup::Ambiguous { candidates } => {
                tracing::warn!(container = %query.container, candidates, "several media match the post; none is chosen");
            }
        }
        Ok(lookup)
    }
}

/// One listed item, when it has an id and a timestamp.
fn listed(row: &Map<String, Value>) -> Option<ListedMedia> {
    let id = match row.get("id")? {
        Value::String(id) if !id.is_empty() => id.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let timestamp = parse_timestamp(row.get("timestamp")?.as_str()?)?;
    let text = |key: &str| {
        row.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(ListedMedia {
        id,
        timestamp,
        caption: text("caption"),
        permalink: text("permalink"),
    })
}

/// Meta writes `2026-05-01T09:00:02+0000` (no colon in the offset), which is not RFC 3339;
/// both forms are read.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn metas_timestamp_without_a_colon_in_the_offset_is_read() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 2).unwrap();
        assert_eq!(parse_timestamp("2026-05-01T09:00:02+0000"), Some(at));
        assert_eq!(parse_timestamp("2026-05-01T12:00:02+0300"), Some(at));
        assert_eq!(parse_timestamp("2026-05-01T09:00:02Z"), Some(at));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn an_item_without_an_id_or_timestamp_cannot_be_listed() {
        let row = |value: Value| value.as_object().cloned().unwrap();
        assert!(listed(&row(json!({"timestamp": "2026-05-01T09:00:02+0000"}))).is_none());
        assert!(listed(&row(json!({"id": "1"}))).is_none());
        let item = listed(&row(json!({
            "id": 17895695668004550_u64,
            "timestamp": "2026-05-01T09:00:02+0000",
            "caption": "",
        })))
        .unwrap();
        assert_eq!(item.id, "17895695668004550");
        assert_eq!(item.caption, None);
    }
}
