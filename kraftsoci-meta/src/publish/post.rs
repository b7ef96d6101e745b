//! What can be published: the post specs (image, carousel, reel, story), their limits and
//! the outcome of publishing one.

use super::*;

/// Meta's caption limit, in characters.
pub const MAX_CAPTION_CHARS: usize = 2200;
/// Meta's alt text limit, in characters.
pub const MAX_ALT_TEXT_CHARS: usize = 1000;
/// At most this many collaborators per post.
pub const MAX_COLLABORATORS: usize = 3;
/// A carousel holds at least this many items…
pub const MIN_CAROUSEL_ITEMS: usize = 2;
/// …and at most this many.
pub const MAX_CAROUSEL_ITEMS: usize = 10;

/// A person tagged in an image or story.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UserTag {
    /// The Instagram username, without `@`.
    pub username: String,
    /// Distance from the left edge, 0.0–1.0 (required on feed images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    /// Distance from the top edge, 0.0–1.0 (required on feed images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
}

impl UserTag {
    /// A tag at a position on the image, measured from the top-left corner.
    pub fn at(username: impl Into<String>, x: f64, y: f64) -> Self {
        Self {
            username: username.into(),
            x: Some(x),
            y: Some(y),
        }
    }

    /// A tag without a position (stories).
    pub fn mention(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            x: None,
            y: None,
        }
    }
}

/// One feed image.
///
/// The fields are checked against Meta's documented limits when the container is created
/// (before any call): a bad value is a [`MetaError::InvalidInput`] and sends nothing.
///
/// ```
/// use kraftsoci_meta::{ImagePost, UserTag};
///
/// let post = ImagePost::new("https://cdn.example/simit.jpg")
///     .with_caption("Fresh simit, straight from the oven #simit")
///     .with_alt_text("Sesame bread rings on a tray")
///     .with_user_tags([UserTag::at("the.baker", 0.5, 0.8)])
///     .with_collaborators(["corner_tea_house"]);
/// assert_eq!(post.user_tags.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ImagePost {
    /// A public JPEG URL Meta's servers can fetch without credentials or redirects.
    pub image_url: String,
    /// The caption, with hashtags.
    pub caption: Option<String>,
    /// Alt text (at most 1000 characters).
    pub alt_text: Option<String>,
    /// People tagged on the image (each with a position).
    pub user_tags: Vec<UserTag>,
    /// A Page id that has location data.
    pub location_id: Option<String>,
    /// Up to 3 collaborator usernames.
    pub collaborators: Vec<String>,
}

impl ImagePost {
    /// An image post without caption.
    pub fn new(image_url: impl Into<String>) -> Self {
        Self {
            image_url: image_url.into(),
            ..Self::default()
        }
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Sets the alt text.
    pub fn with_alt_text(mut self, alt_text: impl Into<String>) -> Self {
        self.alt_text = Some(alt_text.into());
        self
    }

    /// Sets the people tagged on the image (each with a position).
    pub fn with_user_tags(mut self, tags: impl IntoIterator<Item = UserTag>) -> Self {
        self.user_tags = tags.into_iter().collect();
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
}

/// One item of a carousel (never with a caption: only the carousel has one).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CarouselItem {
    /// A JPEG image.
    Image {
        /// A public URL.
        image_url: String,
        /// Alt text.
        alt_text: Option<String>,
        /// People tagged on this image.
        user_tags: Vec<UserTag>,
    },
    /// A video.
    Video {
        /// A public URL.
        video_url: String,
    },
}

impl CarouselItem {
    /// An image item without alt text or tags.
    pub fn image(image_url: impl Into<String>) -> Self {
        Self::Image {
            image_url: image_url.into(),
            alt_text: None,
            user_tags: Vec::new(),
        }
    }

    /// A video item.
    pub fn video(video_url: impl Into<String>) -> Self {
        Self::Video {
            video_url: video_url.into(),
        }
    }
}

/// A carousel of 2–10 images or videos.
///
/// ```
/// use kraftsoci_meta::{CarouselItem, CarouselPost};
///
/// let post = CarouselPost::new([
///     CarouselItem::image("https://cdn.example/1.jpg"),
///     CarouselItem::video("https://cdn.example/2.mp4"),
/// ])
/// .with_caption("Two ways to eat simit");
/// assert_eq!(post.items.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct CarouselPost {
    /// The items, in order; all are cropped to the first item's aspect ratio.
    pub items: Vec<CarouselItem>,
    /// The caption.
    pub caption: Option<String>,
    /// A Page id that has location data.
    pub location_id: Option<String>,
    /// Up to 3 collaborator usernames.
    pub collaborators: Vec<String>,
}

impl CarouselPost {
    /// A carousel of these items, without caption.
    pub fn new(items: impl IntoIterator<Item = CarouselItem>) -> Self {
        Self {
            items: items.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Sets the caption.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
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
}

/// A reel whose video Meta fetches from a public URL (`video_url`). To upload the bytes
/// instead, see [`crate::ReelUpload`].
///
/// ```
/// use std::time::Duration;
///
/// use kraftsoci_meta::ReelPost;
///
/// let reel = ReelPost::new("https://cdn.example/oven.mp4")
///     .with_caption("Morning bake #simit")
///     .with_thumb_offset(Duration::from_millis(2500))
///     .with_share_to_feed(true);
/// assert_eq!(reel.share_to_feed, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ReelPost {
    /// A public MOV/MP4 URL.
    pub video_url: String,
    /// The caption.
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

impl ReelPost {
    /// A reel of the video at `video_url`, without caption.
    pub fn new(video_url: impl Into<String>) -> Self {
        Self {
            video_url: video_url.into(),
            ..Self::default()
        }
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

/// What a story shows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StoryMedia {
    /// A JPEG image.
    Image {
        /// A public URL.
        image_url: String,
    },
    /// A video (3–60 s).
    Video {
        /// A public URL.
        video_url: String,
    },
}

/// A story (no caption, no collaborators) whose media Meta fetches from a public URL. To
/// upload a video story's bytes instead, see [`crate::StoryUpload`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoryPost {
    /// The image or video.
    pub media: StoryMedia,
    /// People tagged in the story.
    pub user_tags: Vec<UserTag>,
}

impl StoryPost {
    /// A story of the JPEG at `image_url`.
    pub fn image(image_url: impl Into<String>) -> Self {
        Self {
            media: StoryMedia::Image {
                image_url: image_url.into(),
            },
            user_tags: Vec::new(),
        }
    }

    /// A story of the video at `video_url` (3–60 s).
    pub fn video(video_url: impl Into<String>) -> Self {
        Self {
            media: StoryMedia::Video {
                video_url: video_url.into(),
            },
            user_tags: Vec::new(),
        }
    }

    /// Sets the people tagged in the story (positions are optional).
    pub fn with_user_tags(mut self, tags: impl IntoIterator<Item = UserTag>) -> Self {
        self.user_tags = tags.into_iter().collect();
        self
    }
}

/// Anything that can be published from public URLs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaSpec {
    /// One feed image.
    Image(ImagePost),
    /// A carousel.
    Carousel(CarouselPost),
    /// A reel.
    Reel(ReelPost),
    /// A story.
    Story(StoryPost),
}

/// The outcome of [`MetaClient::publish`] and [`MetaClient::publish_video_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The container that was published.
    pub container: ContainerId,
    /// The media id, or [`PublishResult::AlreadyPublished`] when an ambiguous answer was resolved
    /// by reading the container.
    pub result: PublishResult,
    /// The post's permalink; `None` when the best-effort read failed (the post is live anyway).
    pub permalink: Option<String>,
}
