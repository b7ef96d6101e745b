//! The account export (P26 access, P30 portability): one JSON document with everything held
//! about the user, streamed page by page.
//!
//! ```json
//! {"format": "kraftsoci.export.v1", "generated_at": "…", "user_id": "…",
//!  "image_links_expire_at": "…",
//!  "tables": {"users": [{…}], "profiles": […], "posts": [{…, "image_url": "…", "image_sha256": "…"}], …}}
//! ```
//!
//! Every table of [`USER_TABLES`] is a section under `tables`, holding the user's rows with the
//! table's exported columns; secrets (password and token hashes, sealed tokens, idempotency
//! keys) are withheld column by column in that list, so they are never even read. A post with
//! an image carries a signed link to it and the image's SHA-256, so the bytes can be fetched
//! and checked.
//!
//! The document is written while it is read: at most one page of one table is in memory, and
//! a slow client slows the export down instead of filling memory. A failure halfway aborts
//! the response, so a client never mistakes a truncated document for a whole one.

use std::time::Duration;

use axum::body::{Body, Bytes};
use chrono::{DateTime, Utc};
use kraftsoci_core::ports::MediaKey;
use kraftsoci_core::{DataSubjectRequest, UserId};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::state::AppState;
use crate::store::ExportKey;
use crate::store::user_tables::{USER_TABLES, UserTable};

/// The `format` of the document.
pub const EXPORT_FORMAT: &str = "kraftsoci.export.v1";

/// Rows read per query.
pub const PAGE_ROWS: u32 = 200;

/// How long the image links in an export work.
pub const IMAGE_LINK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Chunks buffered between the database and the client.
const BUFFERED_CHUNKS: usize = 8;

/// Why an export stopped halfway.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the user's rows failed.
    #[error("reading {table} failed: {source}")]
    Store {
        /// The table being read.
        table: &'static str,
        /// The store's error.
        #[source]
        source: kraftsoci_core::StoreError,
    },
    /// A row could not be serialized.
    #[error("serializing the export: {0}")]
    Json(#[from] serde_json::Error),
    /// The client went away; nothing more to do.
    #[error("the client disconnected")]
    Disconnected,
}

/// The export of `user` as a streamed response body. `request` (an access or portability
/// request, already recorded) is completed once the last byte has been handed over.
pub fn body(state: AppState, user: UserId, request: DataSubjectRequest) -> Body {
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(BUFFERED_CHUNKS);
    tokio::spawn(async move {
        let sink = Sink(sender.clone());
        // The usage log is written in batches: let the user's latest requests reach it first.
        state.usage.flush().await;
        match write(&state, user, &sink).await {
            Ok(()) => {
                if let Err(error) = state
                    .stores
                    .rights
                    .complete_request(user, request.id(), state.clock.now())
                    .await
                {
                    tracing::warn!(%user, %error, "export sent but its request not completed");
                }
            }
            Err(ExportError::Disconnected) => {
                tracing::info!(%user, "export abandoned by the client");
            }
            Err(error) => {
                tracing::error!(%user, error = format!("{error:#}"), "export failed halfway");
                // An error item aborts the response body, so the client sees a broken
                // transfer rather than a complete-looking document.
                let _ = sender
                    .send(Err(std::io::Error::other("the export failed")))
                    .await;
            }
        }
    });
    Body::from_stream(futures::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|chunk| (chunk, receiver)) },
    ))
}

/// Where the document goes.
struct Sink(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Sink {
    async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), ExportError> {
        self.0
            .send(Ok(chunk.into()))
            .await
            .map_err(|_| ExportError::Disconnected)
    }
}

/// Writes the whole document into `sink`.
async fn write(state: &AppState, user: UserId, sink: &Sink) -> Result<(), ExportError> {
    let now = state.clock.now();
    let header = serde_json::json!({
        "format": EXPORT_FORMAT,
        "generated_at": now,
        "user_id": user,
        "image_links_expire_at": image_links_expire_at(now),
    });
    let mut opening = serde_json::to_vec(&header)?;
    // Reopen the header object to append the tables: `{…}` becomes `{…,"tables":{`.
    opening.pop();
    opening.extend_from_slice(br#","tables":{"#);
    sink.send(opening).await?;
    for (index, table) in USER_TABLES.iter().enumerate() {
        let mut start = Vec::new();
        if index > 0 {
            start.push(b',');
        }
        serde_json::to_writer(&mut start, table.name)?;
        start.extend_from_slice(b":[");
        sink.send(start).await?;
        write_table(state, user, table, sink).await?;
        sink.send(&b"]"[..]).await?;
    }
    sink.send(&b"}}"[..]).await
}

async fn write_table(
    state: &AppState,
    user: UserId,
    table: &'static UserTable,
    sink: &Sink,
) -> Result<(), ExportError> {
    let mut after: Option<ExportKey> = None;
    let mut first = true;
    loop {
        let page = state
            .stores
            .rights
            .export_page(table, user, after.as_ref(), PAGE_ROWS)
            .await
            .map_err(|source| ExportError::Store {
                table: table.name,
                source,
            })?;
        let mut chunk = Vec::new();
        for mut row in page.rows {
            if table.name == "posts" {
                add_image_link(state, &mut row);
            }
            if !first {
                chunk.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut chunk, &row)?;
        }
        if !chunk.is_empty() {
            sink.send(chunk).await?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

fn image_links_expire_at(now: DateTime<Utc>) -> DateTime<Utc> {
    chrono::Duration::from_std(IMAGE_LINK_TTL)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Adds `image_url` (a signed link valid [`IMAGE_LINK_TTL`]) and `image_sha256` (the first
/// media digest, the image's) to a post row that has an image.
fn add_image_link(state: &AppState, row: &mut Map<String, Value>) {
    let key = row
        .get("image_key")
        .and_then(Value::as_str)
        .and_then(|key| MediaKey::parse(key).ok());
    let Some(key) = key else {
        return;
    };
    let sha256 = row
        .get("media_digests")
        .and_then(Value::as_array)
        .and_then(|digests| digests.first())
        .cloned()
        .unwrap_or(Value::Null);
    row.insert(
        "image_url".to_owned(),
        Value::String(state.media_links.sign(&key, IMAGE_LINK_TTL)),
    );
    row.insert("image_sha256".to_owned(), sha256);
}
