//! Sandbox mode's Instagram: a [`SocialPublisher`] that runs Meta's container lifecycle
//! locally, so the whole flow (connect → generate → click → worker → published) works offline.
//!
//! It behaves like the Graph adapter where it matters to the orchestration:
//! - `create_container` "fetches" every media URL the way Meta's fetcher would: the URL must be
//!   one of our signed, unexpired media links, the object must exist and pass Instagram's image
//!   check; otherwise the container is refused as invalid media.
//! - the first status read of a container answers `IN_PROGRESS`, later ones `FINISHED`;
//! - `publish` publishes a `FINISHED` container exactly once (the store's conditional update
//!   decides), answers `NotReady` before that, and `AlreadyPublished` for a container that is
//!   already live, so a retried call never posts twice; a failure of that final write leaves
//!   the outcome open (`OutcomeUnknown`), for the orchestration to settle by the container;
//! - `find_media` answers from the container's row, which keeps its media id and permalink;
//! - the publishing quota counts the account's publications over a rolling 24 hours against a
//!   configured total.
//!
//! Published posts are recorded in `sandbox_containers` with a media id `sandbox-…` and a
//! permalink under `KRAFTSOCI_PUBLIC_URL` (`/sandbox/instagram/{media_id}`). Only sandbox
//! accounts (`sandbox-<digits>`) are served; a real Instagram id is refused.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kraftsoci_core::ports::{
    ContainerId, ContainerSpec, ContainerStatus, FoundMedia, MediaLookup, MediaQuery, MediaStore,
    PublishAccount, PublishError, PublishErrorKind, PublishResult, PublishingQuota,
    SocialPublisher,
};
use kraftsoci_core::{CheckedJpeg, Clock, StoreError};
use rand::Rng as _;
use url::Url;

use crate::media_links::MediaLinks;
use crate::store::{SandboxContainer, SandboxStatus, SandboxStore};

/// Meta's rolling publishing window.
pub const QUOTA_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// The sandbox publisher.
#[derive(Clone)]
pub struct SandboxPublisher {
    store: Arc<dyn SandboxStore>,
    media: Arc<dyn MediaStore>,
    links: MediaLinks,
    clock: Arc<dyn Clock>,
    public_url: Url,
    quota_total: u32,
}

impl std::fmt::Debug for SandboxPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxPublisher")
            .field("public_url", &self.public_url.as_str())
            .field("quota_total", &self.quota_total)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: StoreError) -> PublishError {
    PublishError::new(
        PublishErrorKind::Transient,
        format!("sandbox storage: {error}"),
    )
}

fn sandbox_digits() -> String {
    let n: u64 = rand::thread_rng().gen_range(10_000_000_000_000..100_000_000_000_000);
    n.to_string()
}

impl SandboxPublisher {
    /// A publisher over `store`, reading media through `links` and `media`, allowing
    /// `quota_total` publications per account and rolling 24 hours.
    pub fn new(
        store: Arc<dyn SandboxStore>,
        media: Arc<dyn MediaStore>,
        links: MediaLinks,
        clock: Arc<dyn Clock>,
        public_url: Url,
        quota_total: u32,
    ) -> Self {
        Self {
            store,
            media,
            links,
            clock,
            public_url,
            quota_total,
        }
    }

    /// The permalink of a sandbox publication.
    pub fn permalink_of(&self, media_id: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}/sandbox/instagram/{media_id}")
    }

    fn check_account(account: &PublishAccount) -> Result<(), PublishError> {
        if account.ig_user_id.is_sandbox() {
            Ok(())
        } else {
            Err(PublishError::new(
                PublishErrorKind::Invalid,
                "the sandbox publisher only publishes to sandbox accounts",
            ))
        }
    }

    /// What Meta's fetcher does with an image URL: download it without credentials and check
    /// it. Here the "download" is verifying our own signed link and reading the media store.
    async fn fetch(&self, url: &str) -> Result<(), PublishError> {
        let refused = |reason: &str| {
            PublishError::new(
                PublishErrorKind::InvalidMedia {
                    reason: reason.to_owned(),
                },
                format!("sandbox fetcher: {reason}"),
            )
        };
        let token = self
            .links
            .token_of(url)
            .ok_or_else(|| refused("the media URL is not one of this server's media links"))?;
        let link = self
            .links
            .verify(token)
            .map_err(|_| refused("the media link is invalid or expired"))?;
        let stored = self
            .media
            .get(&link.key)
            .await
            .map_err(|e| PublishError::new(PublishErrorKind::Transient, e.to_string()))?
            .ok_or_else(|| refused("the media no longer exists"))?;
        CheckedJpeg::check(&stored.bytes).map_err(|e| refused(&e.to_string()))?;
        Ok(())
    }

    async fn container(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<SandboxContainer, PublishError> {
        self.store
            .sandbox_container(&account.ig_user_id, container.as_str())
            .await
            .map_err(unavailable)?
            .ok_or_else(|| {
                PublishError::new(PublishErrorKind::Invalid, "no such sandbox container")
            })
    }
}

#[async_trait]
impl SocialPublisher for SandboxPublisher {
    #[tracing::instrument(skip_all, fields(ig_user = %account.ig_user_id))]
    async fn create_container(
        &self,
        account: &PublishAccount,
        spec: &ContainerSpec,
    ) -> Result<ContainerId, PublishError> {
        Self::check_account(account)?;
        if spec.items.is_empty() {
            return Err(PublishError::new(
                PublishErrorKind::Invalid,
                "a container needs at least one media item",
            ));
        }
        for item in &spec.items {
            if item.is_video {
                return Err(PublishError::new(
                    PublishErrorKind::InvalidMedia {
                        reason: "the sandbox publishes images only".to_owned(),
                    },
                    "sandbox: video is not supported",
                ));
            }
            self.fetch(&item.url).await?;
        }
        let container = SandboxContainer {
            id: format!("sandbox-container-{}", sandbox_digits()),
            ig_user_id: account.ig_user_id.clone(),
            kind: spec.kind.as_str().to_owned(),
            caption: spec.caption.clone(),
            alt_text: spec.alt_text.clone(),
            items: u32::try_from(spec.items.len()).unwrap_or(u32::MAX),
            status: SandboxStatus::InProgress,
            media_id: None,
            permalink: None,
            created_at: self.clock.now(),
            published_at: None,
        };
        self.store
            .insert_sandbox_container(&container)
            .await
            .map_err(unavailable)?;
        tracing::info!(container = %container.id, "sandbox container created");
        Ok(ContainerId::new(container.id))
    }

    #[tracing::instrument(skip_all, fields(container = %container))]
    async fn container_status(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<ContainerStatus, PublishError> {
        Self::check_account(account)?;
        let found = self.container(account, container).await?;
        Ok(match found.status {
            SandboxStatus::InProgress => {
                // Processing "finishes" after it has been seen in progress once, like a real
                // container that needs one poll.
                self.store
                    .advance_sandbox_container(
                        &found.id,
                        SandboxStatus::InProgress,
                        SandboxStatus::Finished,
                    )
                    .await
                    .map_err(unavailable)?;
                ContainerStatus::InProgress
            }
            SandboxStatus::Finished => ContainerStatus::Finished,
            SandboxStatus::Published => ContainerStatus::Published,
        })
    }

    #[tracing::instrument(skip_all, fields(container = %container))]
    async fn publish(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<PublishResult, PublishError> {
        Self::check_account(account)?;
        let found = self.container(account, container).await?;
        match found.status {
            SandboxStatus::InProgress => {
                return Err(PublishError::new(
                    PublishErrorKind::NotReady,
                    "the sandbox container is not finished yet",
                ));
            }
            SandboxStatus::Published => return Ok(PublishResult::AlreadyPublished),
            SandboxStatus::Finished => {}
        }
        let now = self.clock.now();
        let window = chrono::Duration::from_std(QUOTA_WINDOW).unwrap_or(chrono::Duration::MAX);
        let used = self
            .store
            .sandbox_published_since(&account.ig_user_id, now - window)
            .await
            .map_err(unavailable)?;
        if used >= self.quota_total {
            return Err(PublishError::new(
                PublishErrorKind::PublishLimit { retry_after: None },
                format!(
                    "sandbox publishing limit of {} posts per 24 hours reached",
                    self.quota_total
                ),
            ));
        }
        let media_id = format!("sandbox-{}", sandbox_digits());
        let permalink = self.permalink_of(&media_id);
        let published = self
            .store
            .publish_sandbox_container(&found.id, &media_id, &permalink, now)
            .await
            .map_err(|error| {
                // The write may have committed before the error: the container tells.
                PublishError::new(
                    PublishErrorKind::OutcomeUnknown,
                    format!("sandbox storage: {error}"),
                )
            })?;
        if published {
            tracing::info!(media_id, "sandbox post published");
            Ok(PublishResult::Published { media_id })
        } else {
            // A concurrent call published it first: report it, never publish twice.
            Ok(PublishResult::AlreadyPublished)
        }
    }

    async fn publishing_quota(
        &self,
        account: &PublishAccount,
    ) -> Result<PublishingQuota, PublishError> {
        Self::check_account(account)?;
        let window = chrono::Duration::from_std(QUOTA_WINDOW).unwrap_or(chrono::Duration::MAX);
        let used = self
            .store
            .sandbox_published_since(&account.ig_user_id, self.clock.now() - window)
            .await
            .map_err(unavailable)?;
        Ok(PublishingQuota {
            used,
            total: self.quota_total,
            window: QUOTA_WINDOW,
        })
    }

    async fn permalink(
        &self,
        account: &PublishAccount,
        media_id: &str,
    ) -> Result<Option<String>, PublishError> {
        Self::check_account(account)?;
        Ok(self
            .store
            .sandbox_publication(media_id)
            .await
            .map_err(unavailable)?
            .filter(|c| c.ig_user_id == account.ig_user_id)
            .and_then(|c| c.permalink))
    }

    async fn find_media(
        &self,
        account: &PublishAccount,
        query: &MediaQuery,
    ) -> Result<MediaLookup, PublishError> {
        Self::check_account(account)?;
        let found = self.container(account, &query.container).await?;
        Ok(match (found.status, found.media_id) {
            (SandboxStatus::Published, Some(media_id)) => MediaLookup::Found(FoundMedia {
                media_id,
                permalink: found.permalink,
            }),
            _ => MediaLookup::NotFound,
        })
    }
}
