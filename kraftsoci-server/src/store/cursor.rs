//! The opaque cursor of a post listing: the last row's sort key.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::types::sqlite_time;

/// Where a page of posts (newest first) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PostCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// The cursor is not one this server produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadCursor;

impl PostCursor {
    pub(crate) fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            sqlite_time(self.created_at),
            self.id
        ))
    }

    pub(crate) fn decode(cursor: &str) -> Result<Self, BadCursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| BadCursor)?;
        let (at, id) = text.split_once('|').ok_or(BadCursor)?;
        Ok(Self {
            created_at: DateTime::parse_from_rfc3339(at)
                .map_err(|_| BadCursor)?
                .with_timezone(&Utc),
            id: Uuid::parse_str(id).map_err(|_| BadCursor)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = PostCursor {
            created_at: DateTime::parse_from_rfc3339("2026-03-04T05:06:07.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            id: Uuid::new_v4(),
        };
        assert_eq!(PostCursor::decode(&cursor.encode()), Ok(cursor));
        for bad in ["", "!!!", "bm90LWEtY3Vyc29y"] {
            assert_eq!(PostCursor::decode(bad), Err(BadCursor), "{bad}");
        }
    }
}
