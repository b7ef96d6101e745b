//! Generating a post (P11, P29): quota reserved first, caption, hashtags, alt text and image
//! generated, the image checked and stored, the post saved in `ready`.

use kraftsoci_core::ports::{
    ConnectionStatus, GenerationRequest, MediaKey, PostMedia, QuotaKind, QuotaReservation,
    StoredImage,
};
use kraftsoci_core::{CheckedJpeg, MediaKind, Post, PostContent, Processing, Topic, UserId};

use super::PostFlowError;
use super::flow::{PostFlow, PostView};

/// Held quota, given back unless committed.
struct Holds<'a> {
    flow: &'a PostFlow,
    reservations: Vec<QuotaReservation>,
}

impl Holds<'_> {
    async fn release(self) {
        for reservation in &self.reservations {
            if let Err(error) = self.flow.ports.entitlements.release(reservation).await {
                tracing::warn!(%error, kind = %reservation.kind, "releasing a quota reservation failed");
            }
        }
    }

    async fn commit(self) {
        for reservation in &self.reservations {
            if let Err(error) = self.flow.ports.entitlements.commit(reservation).await {
                tracing::warn!(%error, kind = %reservation.kind, "committing a quota reservation failed");
            }
        }
    }
}

impl PostFlow {
    /// Generates a post about `topic`: the quota reserved first (and given back if generation
    /// fails), caption, hashtags, alt text and optionally an image generated from the owner's
    /// profile and the topic (P11), the image checked and stored, the post saved in `ready`.
    ///
    /// # Errors
    /// [`PostFlowError::Restricted`], [`PostFlowError::ProfileRequired`], the quota and
    /// subscription refusals, moderation's, and the generator's failures.
    pub async fn generate(
        &self,
        owner: UserId,
        topic: Topic,
        with_image: bool,
    ) -> Result<PostView, PostFlowError> {
        let account = self.ports.accounts.account(owner).await?;
        account
            .restrictions
            .allow(Processing::Generation)
            .map_err(|_| PostFlowError::Restricted)?;
        let profile = self
            .ports
            .profiles
            .profile(owner)
            .await?
            .ok_or(PostFlowError::ProfileRequired)?;

        let mut holds = Holds {
            flow: self,
            reservations: Vec::new(),
        };
        let mut kinds = vec![QuotaKind::Posts];
        if with_image {
            kinds.push(QuotaKind::Images);
        }
        for kind in kinds {
            match self.ports.entitlements.reserve(owner, kind, 1).await {
                Ok(reservation) => holds.reservations.push(reservation),
                Err(error) => {
                    holds.release().await;
                    return Err(error.into());
                }
            }
        }

        let request = GenerationRequest { profile, topic };
        match self.produce(owner, &request, with_image).await {
            Ok(view) => {
                holds.commit().await;
                Ok(view)
            }
            Err(error) => {
                holds.release().await;
                Err(error)
            }
        }
    }

    async fn produce(
        &self,
        owner: UserId,
        request: &GenerationRequest,
        with_image: bool,
    ) -> Result<PostView, PostFlowError> {
        let text = self.ports.generator.generate_text(request).await?;
        let image = if with_image {
            let image = self
                .ports
                .images
                .generate_image(request, &text.image_prompt)
                .await?;
            // Checked again here: whatever a generator returns, the preview only ever shows an
            // image Instagram accepts.
            let checked =
                CheckedJpeg::check(&image.jpeg).map_err(PostFlowError::GeneratedImageUnusable)?;
            Some((image.jpeg, checked))
        } else {
            None
        };

        let connections = self.ports.connections.connections(owner).await?;
        let mut active = connections
            .iter()
            .filter(|c| c.status == ConnectionStatus::Active);
        let target = match (active.next(), active.next()) {
            (Some(only), None) => Some(only.ig_user_id.clone()),
            _ => None,
        };
        let content = PostContent {
            caption: text.caption,
            hashtags: text.hashtags,
            alt_text: Some(text.alt_text),
            media_kind: MediaKind::Image,
            media: image.iter().map(|(_, checked)| checked.digest()).collect(),
            target,
        };
        let post = Post::generated(owner, content, self.ports.clock.now())?;
        let stored = match image {
            Some((jpeg, checked)) => {
                let key = MediaKey::new(owner, &format!("{}.jpg", post.id()))
                    .map_err(PostFlowError::internal)?;
                self.ports
                    .media
                    .put(&key, jpeg, "image/jpeg")
                    .await
                    .map_err(PostFlowError::Media)?;
                Some(StoredImage {
                    key,
                    width: checked.width(),
                    height: checked.height(),
                })
            }
            None => None,
        };
        let media = PostMedia {
            topic: Some(request.topic.to_string()),
            image: stored,
            sandbox: self.settings.sandbox,
        };
        if let Err(error) = self.ports.posts.insert_post(post.snapshot(), &media).await {
            if let Some(image) = &media.image
                && let Err(cleanup) = self.ports.media.delete(&image.key).await
            {
                tracing::warn!(error = %cleanup, "could not remove the image of an unsaved post");
            }
            return Err(error.into());
        }
        tracing::info!(post = %post.id(), with_image = media.image.is_some(), "post generated");
        self.view(owner, post.id()).await
    }
}
