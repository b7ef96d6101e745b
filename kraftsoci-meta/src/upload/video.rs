//! What is uploaded: a reel or a video story, and the local file measured once so that a
//! changed file is never sent half old, half new.

use super::*;

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
    pub(super) fn params(&self) -> Result<Params, MetaError> {
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
    pub(super) path: PathBuf,
    pub(super) size: u64,
    pub(super) modified: Option<SystemTime>,
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
    pub(super) async fn ensure_unchanged(&self) -> Result<(), MetaError> {
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
