//! The media links of a claimed job: what Meta's fetcher will download.

use kraftsoci_core::ports::{MediaSource, PostMedia};
use kraftsoci_core::{PublishPermit, StoreError};

use super::Worker;
use crate::store::ClaimedJob;

impl Worker {
    /// Signed links to the post's media, in order: presigned by the bucket when the media
    /// lives in one, else the API's own links. An image key that does not parse is left out,
    /// so the orchestration fails the post with `media_missing` instead of sending something
    /// other than what was approved (as is an image that does not parse, read with the post
    /// in `media`). `Err` (a note) when a link cannot be signed now.
    pub(super) async fn media_for(
        &self,
        job: &ClaimedJob,
        permit: &PublishPermit,
        media: Result<PostMedia, StoreError>,
    ) -> Result<Vec<MediaSource>, String> {
        if permit.content().media.is_empty() {
            return Ok(Vec::new());
        }
        let deps = &self.inner.deps;
        let image = match media {
            Ok(media) => media.image,
            Err(error) => {
                tracing::error!(job = %job.lease.job, post = %job.post, %error, "stored image is invalid");
                None
            }
        };
        let Some(image) = image else {
            return Ok(Vec::new());
        };
        let url = match &deps.presigned {
            Some(presigned) => match presigned.url(&image.key, deps.link_ttl).await {
                Ok(url) => url,
                Err(error) => return Err(format!("the bucket cannot sign a link: {error}")),
            },
            None => deps.links.sign(&image.key, deps.link_ttl),
        };
        Ok(vec![MediaSource {
            url,
            is_video: false,
        }])
    }
}
