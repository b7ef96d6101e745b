//! Resumable video uploads (`rupload`): reels and video stories whose bytes this app holds,
//! sent to Meta instead of fetched by Meta from a public URL.
//!
//! The flow Meta documents for the Instagram API with Facebook Login:
//!
//! 1. `POST /{ig-user-id}/media` with `media_type=REELS` (or `STORIES`) and
//!    `upload_type=resumable` creates a container. Meta answers `{"id", "uri"}`, the `uri`
//!    being `https://rupload.facebook.com/ig-api-upload/{version}/{container-id}`.
//! 2. `POST {uri}` with the headers `Authorization: OAuth <token>`, `offset: <n>` and
//!    `file_size: <bytes>`, and the file from byte `n` on as the body. Success is
//!    `{"success":true,"message":"Upload successful."}`; a failure is
//!    `{"debug_info":{"retriable":false,"type":"ProcessingFailedError","message":"…"}}`.
//! 3. The container is then polled and published like any other.
//!
//! After an interruption (a dropped connection, a timeout, a 5xx, an answer marked retriable)
//! the client reads how many bytes Meta holds, `GET /{container}?fields=status_code,status,
//! video_status` → `video_status.uploading_phase.bytes_transferred`, and sends the rest with
//! `offset` set to it.
//!
//! Not confirmed against Meta's reference, and how the client copes:
//! - `video_status` is documented for Facebook videos and reels; public Instagram clients read
//!   it on IG containers too. When Meta refuses the field, the status is read without it and
//!   the upload restarts from the first byte (`offset: 0`, the documented first request). The
//!   misspelling `bytes_transfered`, seen in public clients, is read as well.
//! - Whether rupload wants an `appsecret_proof`: none is sent.
//! - The content type: `application/octet-stream` is sent, with an exact `Content-Length`.
//! - rupload's answer to an expired or revoked token: Meta's Graph envelope (classified by its
//!   code, 190 → [`ErrorKind::ReconnectNeeded`]) and a `debug_info` of type
//!   `NotAuthorizedError` (→ [`ErrorKind::ReconnectNeeded`]) are both read.
//! - Meta's endpoint list also names `rupload.facebook.com/ig-api-upload/<container-id>`
//!   without a version; the client uses the versioned address Meta returns as `uri`.
//! - The size limits (300 MB for reels, 100 MB for video stories) are read as MiB, the larger
//!   reading, so that no file Meta would take is refused locally.
//!
//! One concept per file: `video` (what is uploaded), `session` (the upload and its resumption),
//! `answer` (reading rupload's answers), `body` (the streamed file) and `progress` (what the
//! caller hears).

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use kraftsoci_core::ports::{ContainerId, ContainerStatus, PublishAccount};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncSeekExt, ReadBuf};
use tokio::sync::watch;
use url::Url;

use crate::client::{
    GraphRequest, MetaClient, checked_id, envelope_error, int_field, joined, redact, transport,
};
use crate::error::{ErrorKind, GraphError, MetaError};
use crate::publish::{
    Params, Published, ReelOptions, UserTag, container_failed, parse_status, push_reel_options,
    push_user_tags,
};
use crate::usage::Usage;

/// The largest reel Meta accepts (300 MB, read as MiB).
pub const MAX_REEL_BYTES: u64 = 300 * 1024 * 1024;
/// The largest video story Meta accepts (100 MB, read as MiB).
pub const MAX_STORY_VIDEO_BYTES: u64 = 100 * 1024 * 1024;

/// The call name in logs and errors.
const UPLOAD: &str = "video upload";
/// How much of the file one body frame carries.
const CHUNK: usize = 64 * 1024;

mod answer;
mod body;
mod progress;
mod session;
#[cfg(test)]
mod tests;
mod video;

use self::answer::*;
use self::body::*;
pub use self::progress::*;
pub use self::video::*;
