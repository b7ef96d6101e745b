//! The media links of a claimed job: what Meta's fetcher will download.

use kraftsoci_core::ports::MediaSource;
use kraftsoci_core::{PublishPermit, StoreError};

use super::Worker;
use crate::store::ClaimedJob;

impl Worker {
    /// Signed links to the post's media, in order: presigned by the bucket when the media
    /// lives in one, else the API's own links. An image key that does not parse is left out,
    /// so the orchestration fails the post with `media_missing` instead of sending something
    /// other than what was approved. `Err` (a note) when a link cannot be signed now.
    pub(super) async fn media_for(
        &self,
        job: &ClaimedJob,
        permit: &PublishPermit,
    ) -> Result<Result<Vec<MediaSource>, String>, StoreError> {
        if permit.content().media.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let deps = &self.inner.deps;
        let image = match deps.stores.posts.post_media(job.owner, &[job.post]).await {
            Ok(mut media) => media.pop().and_then(|(_, media)| media.image),
            Err(StoreError::Corrupt(error)) => {
                tracing::error!(job = %job.lease.job, post = %job.post, %error, "stored image is invalid");
                None
            }
            Err(error) => return Err(error),
        };
        let Some(image) = image else {
            return Ok(Ok(Vec::new()));
        };
        let url = match &deps.presigned {
            Some(presigned) => match presigned.url(&image.key, deps.link_ttl).await {
                Ok(url) => url,
                Err(error) => return Ok(Err(format!("the bucket cannot sign a link: {error}"))),
            },
            None => deps.links.sign(&image.key, deps.link_ttl),
        };
        Ok(Ok(vec![MediaSource {
            url,
            is_video: false,
        }]))
    }
}
