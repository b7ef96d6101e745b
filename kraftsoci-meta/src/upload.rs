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

/// A reel whose video is uploaded from this app ([`ResumableVideo::Reel`]); the options are
/// those of [`crate::ReelPost`], without its `video_url`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ReelUpload {
    /// The caption, with hashtags.
    pub caption: Option<String>,
    /// A cover image URL (wins over `thumb_offset`).
    pub cover_url: Option<String>,
    /// Where in the video the cover frame is taken.
    pub thumb_offset: Option<Duration>,
    /// Whether the reel also appears in the feed.
    pub share_to_feed: Option<bool>,
    /// A Page id that has location data.
    pub location_id: Option<String>,
    /// Up to 3 collaborator usernames.
    pub collaborators: Vec<String>,
    /// The name of the reel's audio.
    pub audio_name: Option<String>,
}

impl ReelUpload {
    /// A reel without caption.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Sets a cover image URL (wins over the thumb offset).
    pub fn with_cover_url(mut self, cover_url: impl Into<String>) -> Self {
        self.cover_url = Some(cover_url.into());
        self
    }

    /// Sets where in the video the cover frame is taken.
    pub fn with_thumb_offset(mut self, offset: Duration) -> Self {
        self.thumb_offset = Some(offset);
        self
    }

    /// Sets whether the reel also appears in the feed.
    pub fn with_share_to_feed(mut self, share: bool) -> Self {
        self.share_to_feed = Some(share);
        self
    }

    /// Sets the location (a Page id that has location data).
    pub fn with_location_id(mut self, location_id: impl Into<String>) -> Self {
        self.location_id = Some(location_id.into());
        self
    }

    /// Sets up to 3 collaborator usernames.
    pub fn with_collaborators<S: Into<String>>(
        mut self,
        usernames: impl IntoIterator<Item = S>,
    ) -> Self {
        self.collaborators = usernames.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the name of the reel's audio.
    pub fn with_audio_name(mut self, name: impl Into<String>) -> Self {
        self.audio_name = Some(name.into());
        self
    }
}

/// A video story uploaded from this app ([`ResumableVideo::Story`]): 3–60 s, no caption.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct StoryUpload {
    /// People tagged in the story (positions are optional).
    pub user_tags: Vec<UserTag>,
}

impl StoryUpload {
    /// A video story without tags.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the people tagged in the story.
    pub fn with_user_tags(mut self, tags: impl IntoIterator<Item = UserTag>) -> Self {
        self.user_tags = tags.into_iter().collect();
        self
    }
}

/// A video whose bytes are uploaded to Meta (resumable upload) rather than fetched from a URL.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResumableVideo {
    /// A reel (up to [`MAX_REEL_BYTES`]).
    Reel(ReelUpload),
    /// A video story (up to [`MAX_STORY_VIDEO_BYTES`]).
    Story(StoryUpload),
}

impl ResumableVideo {
    /// The largest file Meta accepts for this kind of video.
    pub fn max_bytes(&self) -> u64 {
        match self {
            Self::Reel(_) => MAX_REEL_BYTES,
            Self::Story(_) => MAX_STORY_VIDEO_BYTES,
        }
    }

    /// The container parameters, checked against Meta's documented limits.
    fn params(&self) -> Result<Params, MetaError> {
        let mut params = Vec::new();
        match self {
            Self::Reel(reel) => {
                params.push(("media_type", "REELS".to_owned()));
                params.push(("upload_type", "resumable".to_owned()));
                push_reel_options(
                    &mut params,
                    &ReelOptions {
                        caption: reel.caption.as_ref(),
                        cover_url: reel.cover_url.as_ref(),
                        thumb_offset: reel.thumb_offset,
                        share_to_feed: reel.share_to_feed,
                        audio_name: reel.audio_name.as_ref(),
                        location_id: reel.location_id.as_ref(),
                        collaborators: &reel.collaborators,
                    },
                )?;
            }
            Self::Story(story) => {
                params.push(("media_type", "STORIES".to_owned()));
                params.push(("upload_type", "resumable".to_owned()));
                push_user_tags(&mut params, &story.user_tags, false)?;
            }
        }
        Ok(params)
    }
}

/// A local video file, measured when opened. The upload refuses to go on once the file's size
/// or modification time differs from what it was then ([`MetaError::VideoChanged`]): Meta would
/// hold bytes of two versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFile {
    path: PathBuf,
    size: u64,
    modified: Option<SystemTime>,
}

impl VideoFile {
    /// Measures the file at `path`.
    ///
    /// # Errors
    /// [`MetaError::VideoUnreadable`] when it cannot be read; [`MetaError::InvalidInput`] when
    /// it is not a regular file or is empty.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, MetaError> {
        let path = path.into();
        let metadata = tokio::fs::metadata(&path).await.map_err(unreadable)?;
        if !metadata.is_file() {
            return Err(MetaError::InvalidInput(
                "the video path is not a regular file".into(),
            ));
        }
        if metadata.len() == 0 {
            return Err(MetaError::InvalidInput("the video file is empty".into()));
        }
        Ok(Self {
            path,
            size: metadata.len(),
            modified: metadata.modified().ok(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's size in bytes, as measured when opened (and announced to Meta).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Fails when the file is no longer the one that was measured.
    async fn ensure_unchanged(&self) -> Result<(), MetaError> {
        let metadata = tokio::fs::metadata(&self.path).await.map_err(unreadable)?;
        let modified = metadata.modified().ok();
        let touched = self.modified.is_some() && modified.is_some() && modified != self.modified;
        if metadata.len() != self.size || touched {
            return Err(MetaError::VideoChanged {
                size_at_start: self.size,
                size_now: metadata.len(),
            });
        }
        Ok(())
    }
}

/// How far an upload got, reported to the progress callback.
///
/// `sent` never decreases and the last report of a successful upload is `sent == total`. It
/// counts the bytes handed to the connection (or, after a resumption, the bytes Meta said it
/// holds, when that is more): when Meta holds fewer bytes than were sent before an
/// interruption, reports pause until the bytes sent again pass the earlier mark. Only the
/// upload call's `Ok` means Meta confirmed the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadProgress {
    /// Bytes of the file sent so far.
    pub sent: u64,
    /// The file's size.
    pub total: u64,
}

impl UploadProgress {
    /// The fraction sent, from 0.0 to 1.0.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            // Sizes stay far below 2^52 bytes, where f64 stops being exact.
            self.sent as f64 / self.total as f64
        }
    }
}

/// What a status read says about a resumable container.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadStatus {
    /// The container's `status_code`.
    pub container: ContainerStatus,
    /// The bytes Meta holds (`video_status.uploading_phase.bytes_transferred`), when it says.
    pub bytes_received: Option<u64>,
}

/// Where an upload goes on.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Send the file from this offset.
    Send(u64),
    /// Ask Meta how much it holds.
    Ask,
}

impl MetaClient {
    /// Creates a container for a resumable upload (`upload_type=resumable`) and returns its id.
    /// Nothing is published: upload the bytes with [`MetaClient::upload_video`], then publish
    /// the container ([`MetaClient::publish_container`]) within 24 h.
    ///
    /// Transient failures are retried up to `publish.create_attempts` times (the worst outcome
    /// of a retry is an orphan container, which expires unpublished).
    ///
    /// # Errors
    /// [`MetaError::InvalidInput`] when the options break Meta's documented limits (checked
    /// before any call); otherwise the classified Graph failure.
    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str()))]
    pub async fn create_upload_container(
        &self,
        account: &PublishAccount,
        video: &ResumableVideo,
    ) -> Result<ContainerId, MetaError> {
        let params = video.params()?;
        let attempts = self.config().publish_policy().create_attempts().max(1);
        let (container, uri) = self.create_one_with_uri(account, params, attempts).await?;
        let ours = self.upload_url(&container)?;
        match uri.as_deref().map(Url::parse) {
            Some(Ok(theirs)) if theirs.path() == ours.path() => {}
            Some(Ok(theirs)) => tracing::warn!(
                %container,
                meta_path = theirs.path(),
                "meta names another upload address; uploading to the configured host's documented path"
            ),
            Some(Err(_)) | None => {
                tracing::warn!(%container, "meta named no upload address; using the documented one");
            }
        }
        Ok(container)
    }

    /// Uploads `file` into a resumable container from its first byte, resuming after
    /// interruptions from the offset Meta reports ([`crate::UploadPolicy`]), and reports
    /// progress to `progress` as it goes (see [`UploadProgress`]).
    ///
    /// The bytes go to the configured upload host ([`crate::MetaConfig::with_rupload_base_url`])
    /// with the token in `Authorization: OAuth <token>`, never in the URL.
    ///
    /// ```no_run
    /// use kraftsoci_core::IgUserId;
    /// use kraftsoci_core::ports::PublishAccount;
    /// use kraftsoci_meta::{MetaClient, MetaConfig, ReelUpload, ResumableVideo, VideoFile};
    /// use secrecy::SecretString;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = MetaClient::new(MetaConfig::token_only())?;
    /// let account = PublishAccount {
    ///     ig_user_id: IgUserId::parse("17841405822304914")?,
    ///     access_token: SecretString::from("EAAG…page token…"),
    /// };
    /// let file = VideoFile::open("oven.mp4").await?;
    /// let reel = ResumableVideo::Reel(ReelUpload::new().with_caption("Morning bake #simit"));
    /// let container = client.create_upload_container(&account, &reel).await?;
    /// // Keep the container id: after a crash, `resume_video_upload` goes on where Meta stopped.
    /// client
    ///     .upload_video(&account, &container, &file, |p| {
    ///         println!("{:.0} %", p.fraction() * 100.0)
    ///     })
    ///     .await?;
    /// let result = client.publish_container(&account, &container).await?;
    /// println!("{result:?}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`MetaError::VideoChanged`] when the file changed (create a new container);
    /// [`MetaError::VideoUnreadable`]; [`MetaError::UploadInterrupted`] when the interruptions
    /// outlast the policy (resume later); the classified failure of an upload request or
    /// status read that is not an interruption (an expired token is
    /// [`ErrorKind::ReconnectNeeded`]); [`MetaError::ContainerExpired`] or
    /// [`MetaError::ContainerFailed`] when the status read says so.
    #[tracing::instrument(skip_all, fields(%container, size = file.size()))]
    pub async fn upload_video<F>(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
        file: &VideoFile,
        progress: F,
    ) -> Result<(), MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        self.run_upload(account, container, file, Step::Send(0), progress)
            .await
    }

    /// Resumes an upload that stopped earlier (in this process or another): asks Meta how
    /// much of `file` it holds, then sends the rest as [`MetaClient::upload_video`] does. A
    /// container that already holds the whole file is left as it is.
    ///
    /// `file` must be the same file, unchanged, that the upload started with.
    ///
    /// # Errors
    /// As [`MetaClient::upload_video`].
    #[tracing::instrument(skip_all, fields(%container, size = file.size()))]
    pub async fn resume_video_upload<F>(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
        file: &VideoFile,
        progress: F,
    ) -> Result<(), MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        self.run_upload(account, container, file, Step::Ask, progress)
            .await
    }

    /// Reads a resumable container's status and how many bytes Meta holds.
    ///
    /// # Errors
    /// The classified Graph failure.
    pub async fn upload_status(
        &self,
        token: &SecretString,
        container: &ContainerId,
    ) -> Result<UploadStatus, MetaError> {
        let id = checked_id("container id", container.as_str())?;
        let request = GraphRequest::get("upload status", vec![id])
            .token(token)
            .query("fields", "status_code,status,video_status");
        match self.send::<Map<String, Value>>(request).await {
            Ok(body) => Ok(UploadStatus {
                container: parse_status(
                    container,
                    text(&body, "status_code"),
                    text(&body, "status"),
                )?,
                bytes_received: bytes_received(&body),
            }),
            Err(error) if refuses_a_field(&error) => {
                tracing::info!(%container, "meta does not report video_status here; reading the status without it");
                let status = self.container_status(token, container).await?;
                Ok(UploadStatus {
                    container: status,
                    bytes_received: None,
                })
            }
            Err(error) => Err(error),
        }
    }

    /// The whole flow for a video held by this app: create a resumable container, upload
    /// `file` into it (resuming after interruptions), then publish it once as
    /// [`MetaClient::publish_container`] does and read the permalink as best effort.
    ///
    /// The file's size is checked against Meta's limit before any call. The `video_url` path
    /// ([`crate::ReelPost`], [`crate::StoryPost`] through [`MetaClient::publish`]) stays the
    /// simpler choice when the video is already at a public URL.
    ///
    /// # Errors
    /// [`MetaError::InvalidInput`] for a file over the limit or options over Meta's limits;
    /// any failure of the steps (see [`MetaClient::upload_video`] and
    /// [`MetaClient::publish_container`]); never a failure of the permalink read.
    pub async fn publish_video_file<F>(
        &self,
        account: &PublishAccount,
        video: &ResumableVideo,
        file: &VideoFile,
        progress: F,
    ) -> Result<Published, MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        if file.size() > video.max_bytes() {
            return Err(MetaError::InvalidInput(format!(
                "the video is {} bytes; Meta takes at most {} for this kind",
                file.size(),
                video.max_bytes()
            )));
        }
        let container = self.create_upload_container(account, video).await?;
        self.upload_video(account, &container, file, progress)
            .await?;
        let result = self.publish_container(account, &container).await?;
        Ok(self.published(account, container, result).await)
    }

    /// The upload address of a container on the configured host.
    fn upload_url(&self, container: &ContainerId) -> Result<Url, MetaError> {
        let id = checked_id("container id", container.as_str())?;
        joined(
            self.config().rupload_base_url(),
            &["ig-api-upload", self.config().api_version(), id],
        )
    }

    async fn run_upload<F>(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
        file: &VideoFile,
        start: Step,
        progress: F,
    ) -> Result<(), MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        let url = self.upload_url(container)?;
        let policy = self.config().upload_policy();
        let mut progress = Progress::new(progress, file.size());
        let mut interruptions = 0;
        // What Meta last said it holds (nothing is known to be there before it says so).
        let mut held = 0;
        let mut step = start;
        loop {
            let interruption = match step {
                Step::Send(offset) => {
                    file.ensure_unchanged().await?;
                    match self
                        .send_upload(&account.access_token, &url, file, offset, &mut progress)
                        .await
                    {
                        Ok(()) => break,
                        Err(error) if error.kind() == ErrorKind::Transient => error,
                        Err(error) => return Err(error),
                    }
                }
                Step::Ask => match self.upload_status(&account.access_token, container).await {
                    Ok(status) => match resume_point(container, file.size(), &status)? {
                        None => break,
                        Some(offset) => {
                            held = offset;
                            progress.report(offset);
                            step = Step::Send(offset);
                            continue;
                        }
                    },
                    Err(error) if error.kind() == ErrorKind::Transient => error,
                    Err(error) => return Err(error),
                },
            };
            interruptions += 1;
            if interruptions > policy.max_retries() {
                return Err(MetaError::UploadInterrupted {
                    container: container.clone(),
                    uploaded: held,
                    total: file.size(),
                    cause: Box::new(interruption),
                });
            }
            let delay = policy.backoff(interruptions - 1);
            tracing::warn!(
                %container,
                error = %interruption,
                held,
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "video upload interrupted; asking meta how much it holds"
            );
            tokio::time::sleep(delay).await;
            step = Step::Ask;
        }
        // Bytes of another version may have gone out after the last check.
        file.ensure_unchanged().await?;
        progress.report(file.size());
        tracing::info!(%container, size = file.size(), "video uploaded");
        Ok(())
    }

    /// One upload request: the file from `offset` on, streamed.
    async fn send_upload<F>(
        &self,
        token: &SecretString,
        url: &Url,
        file: &VideoFile,
        offset: u64,
        progress: &mut Progress<F>,
    ) -> Result<(), MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        let total = file.size();
        let remaining = total.saturating_sub(offset);
        let mut source = tokio::fs::File::open(file.path())
            .await
            .map_err(unreadable)?;
        source
            .seek(SeekFrom::Start(offset))
            .await
            .map_err(unreadable)?;
        let (sent_tx, mut sent_rx) = watch::channel(offset);
        let problem = Arc::new(Mutex::new(None));
        let body = FileBody {
            file: source,
            remaining,
            position: offset,
            buf: vec![0; CHUNK].into_boxed_slice(),
            sent: sent_tx,
            problem: Arc::clone(&problem),
        };
        let mut authorization = HeaderValue::from_str(&format!("OAuth {}", token.expose_secret()))
            .map_err(|_| {
                MetaError::InvalidInput("the access token cannot be sent in a header".into())
            })?;
        authorization.set_sensitive(true);
        let mut request = self
            .http()
            .post(url.clone())
            .header(AUTHORIZATION, authorization)
            .header("offset", offset.to_string())
            .header("file_size", total.to_string())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, remaining.to_string())
            .body(reqwest::Body::wrap(body));
        if let Some(timeout) = self.config().upload_policy().attempt_timeout() {
            request = request.timeout(timeout);
        }

        // The body is read on the connection's task; its progress comes back through the
        // channel, so that the callback runs here, on the caller's task.
        let send = request.send();
        tokio::pin!(send);
        let result = loop {
            tokio::select! {
                result = &mut send => break result,
                Ok(()) = sent_rx.changed() => progress.report(*sent_rx.borrow_and_update()),
            }
        };
        progress.report(*sent_rx.borrow());

        let response = match result {
            Ok(response) => response,
            Err(error) => {
                return Err(match take(&problem) {
                    Some(problem) => problem.into_error(file).await,
                    None => transport(UPLOAD, error),
                });
            }
        };
        let status = response.status();
        let usage = Usage::from_headers(response.headers());
        let answer = response.bytes().await.map_err(|e| transport(UPLOAD, e))?;
        if let Some(problem) = take(&problem) {
            return Err(problem.into_error(file).await);
        }
        upload_answer(status, &answer, usage, &[token.expose_secret().to_owned()])
    }
}

/// Where to resume after a status read: `None` when Meta holds the whole file.
fn resume_point(
    container: &ContainerId,
    total: u64,
    status: &UploadStatus,
) -> Result<Option<u64>, MetaError> {
    match &status.container {
        ContainerStatus::Error { reason, .. } => Err(container_failed(container, reason)),
        ContainerStatus::Expired => Err(MetaError::ContainerExpired {
            container: container.clone(),
        }),
        // Meta processes a video only once it has all of it.
        ContainerStatus::Finished | ContainerStatus::Published => Ok(None),
        ContainerStatus::InProgress => match status.bytes_received {
            Some(received) if received > total => Err(MetaError::UnexpectedResponse {
                call: "upload status",
                detail: format!("meta holds {received} bytes of a {total}-byte file"),
            }),
            Some(received) if received == total => Ok(None),
            Some(received) => Ok(Some(received)),
            None => {
                tracing::info!(%container, "meta did not say how much it holds; the upload restarts from the first byte");
                Ok(Some(0))
            }
        },
        other => Err(MetaError::UnexpectedResponse {
            call: "upload status",
            detail: format!("a container status this version does not know: {other:?}"),
        }),
    }
}

/// Reads rupload's answer: `{"success":true}`, a Graph envelope or a `debug_info`.
fn upload_answer(
    status: StatusCode,
    body: &[u8],
    usage: Usage,
    secrets: &[String],
) -> Result<(), MetaError> {
    let value = serde_json::from_slice::<Value>(body).ok();
    if let Some(object) = value.as_ref().and_then(Value::as_object) {
        if object.get("error").is_some_and(Value::is_object) {
            let error = envelope_error(UPLOAD, status, body, usage, secrets);
            return Err(MetaError::Graph(Box::new(error)));
        }
        if let Some(info) = object.get("debug_info").and_then(Value::as_object) {
            return Err(debug_info_error(status, info, usage, secrets));
        }
        if status.is_success() && object.get("success") == Some(&Value::Bool(true)) {
            return Ok(());
        }
    }
    if status.is_success() {
        return Err(MetaError::UnexpectedResponse {
            call: UPLOAD,
            detail: "the upload answer does not report success".into(),
        });
    }
    Err(MetaError::Graph(Box::new(GraphError {
        kind: kind_of_status(status),
        call: UPLOAD,
        http_status: status.as_u16(),
        code: None,
        subcode: None,
        error_type: None,
        message: None,
        user_title: None,
        user_message: None,
        is_transient: None,
        fbtrace_id: None,
        meaning: None,
        usage,
    })))
}

/// rupload's own error shape, `{"debug_info":{"retriable","type","message"}}`, classified by
/// what public clients observed (unconfirmed by Meta's reference).
fn debug_info_error(
    status: StatusCode,
    info: &Map<String, Value>,
    usage: Usage,
    secrets: &[String],
) -> MetaError {
    let error_type = text(info, "type");
    let message = redact(text(info, "message"), secrets);
    let retriable = info.get("retriable").and_then(Value::as_bool);
    let lowered = error_type
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = if lowered.contains("notauthorized") || lowered.contains("oauth") {
        ErrorKind::ReconnectNeeded { subcode: None }
    } else if retriable == Some(true) {
        ErrorKind::Transient
    } else if lowered.contains("processing") {
        ErrorKind::InvalidMedia {
            reason: message
                .clone()
                .unwrap_or_else(|| "meta could not process the video".into()),
        }
    } else if status.is_success() || status.is_client_error() {
        match kind_of_status(status) {
            ErrorKind::Unknown => ErrorKind::InvalidRequest,
            kind => kind,
        }
    } else {
        kind_of_status(status)
    };
    MetaError::Graph(Box::new(GraphError {
        kind,
        call: UPLOAD,
        http_status: status.as_u16(),
        code: None,
        subcode: None,
        error_type,
        message,
        user_title: None,
        user_message: None,
        is_transient: retriable,
        fbtrace_id: None,
        meaning: None,
        usage,
    }))
}

/// The kind of an upload failure that says no more than its HTTP status.
fn kind_of_status(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        401 => ErrorKind::ReconnectNeeded { subcode: None },
        403 => ErrorKind::PermissionMissing { permission: None },
        408 | 429 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Unknown,
    }
}

/// Whether Meta refused the read's `fields` (code 100), as it would a field it does not know.
fn refuses_a_field(error: &MetaError) -> bool {
    error
        .graph()
        .is_some_and(|graph| graph.code == Some(100) && graph.kind == ErrorKind::InvalidRequest)
}

/// `video_status.uploading_phase.bytes_transferred` (or Meta's misspelling), when sent.
fn bytes_received(body: &Map<String, Value>) -> Option<u64> {
    let phase = body
        .get("video_status")?
        .get("uploading_phase")?
        .as_object()?;
    int_field(phase, "bytes_transferred")
        .or_else(|| int_field(phase, "bytes_transfered"))
        .and_then(|n| u64::try_from(n).ok())
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn unreadable(source: io::Error) -> MetaError {
    MetaError::VideoUnreadable { source }
}

/// Something wrong with the file, found while streaming it.
#[derive(Debug)]
enum SourceProblem {
    /// The file ended before the size it was measured at.
    EndedEarly,
    /// Reading it failed.
    Read(io::Error),
}

impl SourceProblem {
    async fn into_error(self, file: &VideoFile) -> MetaError {
        match self {
            Self::EndedEarly => match tokio::fs::metadata(file.path()).await {
                Ok(metadata) => MetaError::VideoChanged {
                    size_at_start: file.size(),
                    size_now: metadata.len(),
                },
                Err(source) => unreadable(source),
            },
            Self::Read(source) => unreadable(source),
        }
    }
}

fn take(problem: &Mutex<Option<SourceProblem>>) -> Option<SourceProblem> {
    problem
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

/// Reports progress to the caller's callback, never backwards and never twice the same.
struct Progress<F> {
    callback: F,
    reported: u64,
    total: u64,
}

impl<F: FnMut(UploadProgress)> Progress<F> {
    fn new(callback: F, total: u64) -> Self {
        Self {
            callback,
            reported: 0,
            total,
        }
    }

    fn report(&mut self, sent: u64) {
        let sent = sent.min(self.total);
        if sent > self.reported {
            self.reported = sent;
            (self.callback)(UploadProgress {
                sent,
                total: self.total,
            });
        }
    }
}

/// The file from an offset on, as a request body of exact length.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    position: u64,
    buf: Box<[u8]>,
    sent: watch::Sender<u64>,
    problem: Arc<Mutex<Option<SourceProblem>>>,
}

impl FileBody {
    fn fail(&self, problem: SourceProblem) -> io::Error {
        let error = io::Error::other(match &problem {
            SourceProblem::EndedEarly => "the video file ended early",
            SourceProblem::Read(_) => "the video file could not be read",
        });
        *self.problem.lock().unwrap_or_else(PoisonError::into_inner) = Some(problem);
        error
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(this.buf.len());
        let mut read = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(error)) => {
                Poll::Ready(Some(Err(this.fail(SourceProblem::Read(error)))))
            }
            Poll::Ready(Ok(())) => {
                let chunk = Bytes::copy_from_slice(read.filled());
                if chunk.is_empty() {
                    return Poll::Ready(Some(Err(this.fail(SourceProblem::EndedEarly))));
                }
                let n = chunk.len() as u64;
                this.remaining -= n;
                this.position += n;
                this.sent.send_replace(this.position);
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(code: &str, received: Option<u64>) -> UploadStatus {
        UploadStatus {
            container: parse_status(&ContainerId::new("c1"), Some(code.into()), None).unwrap(),
            bytes_received: received,
        }
    }

    #[test]
    fn a_resumption_starts_where_meta_says_it_stopped() {
        let c = ContainerId::new("c1");
        assert_eq!(
            resume_point(&c, 100, &status("IN_PROGRESS", Some(40))).unwrap(),
            Some(40)
        );
        assert_eq!(
            resume_point(&c, 100, &status("IN_PROGRESS", Some(100))).unwrap(),
            None
        );
        assert_eq!(
            resume_point(&c, 100, &status("IN_PROGRESS", None)).unwrap(),
            Some(0)
        );
        assert_eq!(
            resume_point(&c, 100, &status("FINISHED", None)).unwrap(),
            None
        );
        assert!(resume_point(&c, 100, &status("IN_PROGRESS", Some(101))).is_err());
        assert!(matches!(
            resume_point(&c, 100, &status("EXPIRED", None)),
            Err(MetaError::ContainerExpired { .. })
        ));
    }

    #[test]
    fn bytes_received_are_read_in_both_spellings_and_as_strings() {
        let body = |value: Value| value.as_object().cloned().unwrap();
        assert_eq!(
            bytes_received(&body(json!({
                "video_status": {"uploading_phase": {"status": "in_progress", "bytes_transferred": 50002}}
            }))),
            Some(50002)
        );
        assert_eq!(
            bytes_received(&body(json!({
                "video_status": {"uploading_phase": {"bytes_transfered": "7"}}
            }))),
            Some(7)
        );
        assert_eq!(
            bytes_received(&body(
                json!({"video_status": {"uploading_phase": {"bytes_transferred": -1}}})
            )),
            None
        );
        assert_eq!(
            bytes_received(&body(json!({"status_code": "IN_PROGRESS"}))),
            None
        );
    }

    #[test]
    fn rupload_debug_info_answers_are_classified_and_redacted() {
        let answer = |status: u16, body: Value| {
            upload_answer(
                StatusCode::from_u16(status).unwrap(),
                body.to_string().as_bytes(),
                Usage::default(),
                &["EAAsecret".to_owned()],
            )
            .unwrap_err()
        };
        let busy = answer(
            503,
            json!({"debug_info": {"retriable": true, "type": "ServiceUnavailable", "message": "busy"}}),
        );
        assert_eq!(busy.kind(), ErrorKind::Transient);
        let denied = answer(
            400,
            json!({"debug_info": {"retriable": false, "type": "NotAuthorizedError", "message": "token EAAsecret"}}),
        );
        assert_eq!(denied.kind(), ErrorKind::ReconnectNeeded { subcode: None });
        assert!(!denied.to_string().contains("EAAsecret"), "{denied}");
        let refused = answer(
            400,
            json!({"debug_info": {"retriable": false, "type": "ProcessingFailedError", "message": "bad moov atom"}}),
        );
        assert_eq!(
            refused.kind(),
            ErrorKind::InvalidMedia {
                reason: "bad moov atom".into()
            }
        );
        let ours = answer(
            400,
            json!({"debug_info": {"retriable": false, "type": "ParameterValidationError", "message": "offset"}}),
        );
        assert_eq!(ours.kind(), ErrorKind::InvalidRequest);
        assert_eq!(answer(502, json!("gateway")).kind(), ErrorKind::Transient);
        assert!(matches!(
            answer(200, json!({"success": false})),
            MetaError::UnexpectedResponse { .. }
        ));
    }

    #[test]
    fn progress_is_reported_only_forwards_and_capped_at_the_total() {
        let mut seen = Vec::new();
        let mut progress = Progress::new(|p: UploadProgress| seen.push(p.sent), 100);
        for sent in [0, 10, 10, 60, 30, 60, 100, 150] {
            progress.report(sent);
        }
        assert_eq!(seen, vec![10, 60, 100]);
    }

    #[test]
    fn the_story_container_asks_for_a_resumable_story_without_a_caption() {
        let params =
            ResumableVideo::Story(StoryUpload::new().with_user_tags([UserTag::mention("a")]))
                .params()
                .unwrap();
        assert!(params.contains(&("media_type", "STORIES".to_owned())));
        assert!(params.contains(&("upload_type", "resumable".to_owned())));
        assert!(
            params
                .iter()
                .all(|(k, _)| *k != "caption" && *k != "video_url")
        );
    }
}
