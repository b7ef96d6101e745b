//! Generating a post (P11, P29) as a background job (issue 15 §1).
//!
//! The request ([`PostFlow::generate`], [`PostFlow::regenerate`]) checks what can be checked at
//! once — restrictions, the business profile, the quota, which it *reserves* — and stores the
//! post in `generating` with its job in one transaction; it answers 202 right away. A
//! generation worker claims the job with a lease and runs [`PostFlow::run_generation`]:
//! caption, hashtags and alt text written, checked, the image drawn, checked and stored, the
//! post saved `ready` and the quota committed — or `generation_failed` with a reason and the
//! quota released. Each step is stored on the post as it begins, so the events stream and
//! plain polling both see it.

use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    ConnectionStatus, GenerationError, GenerationRequest, MediaKey, PostMedia, PostUpdate,
    QuotaKind, QuotaReservation, StoredImage,
};
use kraftsoci_core::{
    CheckedJpeg, GenerationStep, Post, PostId, Processing, PublishFailure, StoreError, Topic,
    UserId,
};

use super::PostFlowError;
use super::flow::{PostFlow, PostView};
use crate::store::{
    ClaimedGeneration, Created, GenerationQueue, GenerationSpec, IdempotencyRecord,
};

/// How long an `Idempotency-Key` answers the post it created.
pub const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// A job claimed this many times without settling (each claim a worker that died or lost its
/// lease mid-way) fails instead of being tried again.
pub const MAX_GENERATION_ATTEMPTS: u32 = 3;

/// Which parts of a post to generate again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Caption, hashtags and alt text.
    pub caption: bool,
    /// The image.
    pub image: bool,
}

/// The failure codes a generation can end with (`failure.code` of a `generation_failed`
/// post).
pub mod codes {
    /// Moderation flagged the topic, the text or the image prompt.
    pub const CONTENT_FLAGGED: &str = "content_flagged";
    /// The model declined the topic.
    pub const CONTENT_REFUSED: &str = "content_refused";
    /// The generator failed or could not be reached, after its retries.
    pub const GENERATOR_UNAVAILABLE: &str = "generator_unavailable";
    /// The generated text or image was unusable for Instagram.
    pub const OUTPUT_UNUSABLE: &str = "generated_content_unusable";
    /// The owner restricted generation (P29) or closed the account meanwhile.
    pub const PROCESSING_RESTRICTED: &str = "processing_restricted";
    /// The business profile is gone.
    pub const PROFILE_REQUIRED: &str = "profile_required";
    /// Workers kept dying on this job.
    pub const INTERRUPTED: &str = "generation_interrupted";
}

/// How a claimed generation job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerationSettled {
    /// The post is `ready`; the quota is committed.
    Ready,
    /// The post is `generation_failed`; the quota is released.
    Failed(PublishFailure),
    /// Another worker holds the job now (this one's lease ran out): nothing was written.
    LeaseLost,
}

/// Held quota, given back unless committed.
struct Holds<'a> {
    flow: &'a PostFlow,
    reservations: Vec<QuotaReservation>,
}

impl Holds<'_> {
    async fn release(self) {
        self.flow.release_quota(&self.reservations).await;
    }
}

fn failure(code: &str, message: &str, retryable: bool) -> PublishFailure {
    PublishFailure {
        code: code.to_owned(),
        message: message.to_owned(),
        retryable,
    }
}

/// A generator's refusal or failure, in words the owner can act on.
fn generation_failure(error: &GenerationError) -> PublishFailure {
    match error {
        GenerationError::Flagged { .. } => failure(
            codes::CONTENT_FLAGGED,
            "The topic or the generated post was flagged by moderation; try another topic.",
            false,
        ),
        GenerationError::Refused(_) => failure(
            codes::CONTENT_REFUSED,
            "The AI declined to write about this topic; try another topic.",
            false,
        ),
        GenerationError::InvalidOutput(_) => failure(
            codes::OUTPUT_UNUSABLE,
            "The AI's answer was unusable; try again.",
            true,
        ),
        _ => failure(
            codes::GENERATOR_UNAVAILABLE,
            "The post could not be generated right now; try again in a moment.",
            true,
        ),
    }
}

impl PostFlow {
    async fn release_quota(&self, reservations: &[QuotaReservation]) {
        for reservation in reservations {
            if let Err(error) = self.ports.entitlements.release(reservation).await {
                tracing::warn!(%error, kind = %reservation.kind, "releasing a quota reservation failed");
            }
        }
    }

    async fn commit_quota(&self, reservations: &[QuotaReservation]) {
        for reservation in reservations {
            if let Err(error) = self.ports.entitlements.commit(reservation).await {
                tracing::warn!(%error, kind = %reservation.kind, "committing a quota reservation failed");
            }
        }
    }

    /// Checks the owner may generate (P29) and has a profile.
    async fn may_generate(&self, owner: UserId) -> Result<(), PostFlowError> {
        let account = self.ports.accounts.account(owner).await?;
        account
            .restrictions
            .allow(Processing::Generation)
            .map_err(|_| PostFlowError::Restricted)?;
        self.ports
            .profiles
            .profile(owner)
            .await?
            .ok_or(PostFlowError::ProfileRequired)?;
        Ok(())
    }

    /// Reserves one unit of each kind (all or none).
    async fn reserve(
        &self,
        owner: UserId,
        kinds: &[QuotaKind],
    ) -> Result<Holds<'_>, PostFlowError> {
        let mut holds = Holds {
            flow: self,
            reservations: Vec::new(),
        };
        for kind in kinds {
            match self.ports.entitlements.reserve(owner, *kind, 1).await {
                Ok(reservation) => holds.reservations.push(reservation),
                Err(error) => {
                    holds.release().await;
                    return Err(error.into());
                }
            }
        }
        Ok(holds)
    }

    /// Starts generating a post about `topic`: the quota reserved (one post, and one image
    /// when `with_image`), the post stored in `generating` with its job. With an idempotency
    /// key, a repeat of the same request within 24 hours answers the post the first one
    /// created (and reserves nothing); the boolean says whether this call created the post.
    ///
    /// # Errors
    /// [`PostFlowError::Restricted`], [`PostFlowError::ProfileRequired`], the quota and
    /// subscription refusals, [`PostFlowError::IdempotencyKeyReused`] for a key used with
    /// another body.
    pub async fn generate(
        &self,
        owner: UserId,
        topic: Topic,
        with_image: bool,
        key: Option<IdempotencyRecord>,
    ) -> Result<(PostView, bool), PostFlowError> {
        let now = self.ports.clock.now();
        let since = now - IDEMPOTENCY_WINDOW;
        if let Some(record) = &key
            && let Some((post, hash)) = self
                .ports
                .generation
                .idempotent_post(owner, &record.key, since)
                .await?
        {
            return self
                .repeated(owner, post, hash == record.request_hash)
                .await;
        }
        self.may_generate(owner).await?;
        let mut kinds = vec![QuotaKind::Posts];
        if with_image {
            kinds.push(QuotaKind::Images);
        }
        let holds = self.reserve(owner, &kinds).await?;
        let post = Post::generating(owner, now);
        let media = PostMedia {
            topic: Some(topic.to_string()),
            image: None,
            sandbox: self.settings.sandbox,
        };
        let spec = GenerationSpec {
            topic: topic.to_string(),
            caption: true,
            image: with_image,
            reservations: holds.reservations.clone(),
        };
        let created = self
            .ports
            .generation
            .create_generating(post.snapshot(), &media, &spec, key.as_ref(), since)
            .await;
        match created {
            Ok(Created::New) => {
                tracing::info!(post = %post.id(), with_image, "post queued for generation");
                Ok((self.view(owner, post.id()).await?, true))
            }
            Ok(Created::Existing { post, same_request }) => {
                // A concurrent request with the same key won: one post, one quota use.
                holds.release().await;
                self.repeated(owner, post, same_request).await
            }
            Err(error) => {
                holds.release().await;
                Err(error.into())
            }
        }
    }

    async fn repeated(
        &self,
        owner: UserId,
        post: PostId,
        same_request: bool,
    ) -> Result<(PostView, bool), PostFlowError> {
        if !same_request {
            return Err(PostFlowError::IdempotencyKeyReused);
        }
        Ok((self.view(owner, post).await?, false))
    }

    /// Sends a post back through generation for its caption (with hashtags and alt text),
    /// its image, or both, keeping the other part; any consent is void (the content hash
    /// changes). The quota counts as for a new post: one post for a caption, one image for an
    /// image.
    ///
    /// # Errors
    /// Not found; the lifecycle's refusals (approved, generating, publishing or published);
    /// [`PostFlowError::Restricted`], [`PostFlowError::ProfileRequired`], the quota refusals;
    /// a concurrent change.
    pub async fn regenerate(
        &self,
        owner: UserId,
        id: PostId,
        parts: Parts,
    ) -> Result<PostView, PostFlowError> {
        let snapshot = self.ports.posts.post(owner, id).await?;
        let mut post = Post::restore(snapshot).map_err(PostFlowError::internal)?;
        let expected_updated_at = post.snapshot().updated_at;
        let now = self.ports.clock.now();
        post.regenerate(now.max(expected_updated_at + chrono::Duration::microseconds(1)))?;
        // A post that never got its content (a failed first generation) gets all of it.
        let parts = if post.content().caption.as_str().is_empty() {
            Parts {
                caption: true,
                image: parts.image || post.content().media.is_empty(),
            }
        } else {
            parts
        };
        self.may_generate(owner).await?;
        let topic = self
            .ports
            .posts
            .post_media(owner, &[id])
            .await?
            .pop()
            .and_then(|(_, media)| media.topic)
            .unwrap_or_else(|| post.content().caption.as_str().to_owned());
        let mut kinds = Vec::new();
        if parts.caption {
            kinds.push(QuotaKind::Posts);
        }
        if parts.image {
            kinds.push(QuotaKind::Images);
        }
        let holds = self.reserve(owner, &kinds).await?;
        let spec = GenerationSpec {
            topic,
            caption: parts.caption,
            image: parts.image,
            reservations: holds.reservations.clone(),
        };
        let update = PostUpdate {
            post: post.into_snapshot(),
            expected_updated_at,
        };
        if let Err(error) = self
            .ports
            .generation
            .queue_regeneration(&update, &spec, now)
            .await
        {
            holds.release().await;
            return Err(error.into());
        }
        tracing::info!(post = %id, caption = parts.caption, image = parts.image, "post queued for regeneration");
        self.view(owner, id).await
    }

    /// Runs one claimed generation job to its end, writing each step and the outcome under
    /// the job's claim. Storage failures are returned (the worker releases the job).
    ///
    /// # Errors
    /// [`StoreError`] when storage fails.
    pub async fn run_generation(
        &self,
        queue: &dyn GenerationQueue,
        job: &ClaimedGeneration,
    ) -> Result<GenerationSettled, StoreError> {
        let snapshot = match self.ports.posts.post(job.owner, job.post).await {
            Ok(snapshot) => snapshot,
            Err(StoreError::NotFound) => {
                // Deleted meanwhile: its job went with it.
                self.release_quota(&job.spec.reservations).await;
                return Ok(GenerationSettled::LeaseLost);
            }
            Err(error) => return Err(error),
        };
        let read_at = snapshot.updated_at;
        let post = Post::restore(snapshot).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if job.attempts > MAX_GENERATION_ATTEMPTS {
            let why = failure(
                codes::INTERRUPTED,
                "Generating this post was interrupted several times; try again.",
                true,
            );
            return self.settle_failed(queue, job, post, read_at, why).await;
        }
        match self.produce(queue, job, &post).await? {
            Produced::Content { content, image } => {
                let mut ready = post.clone();
                let at = self.after(read_at);
                if let Err(error) = ready.finish_generation(content, at) {
                    if let Some(image) = &image {
                        self.discard(image).await;
                    }
                    let why = failure(
                        codes::OUTPUT_UNUSABLE,
                        &format!(
                            "The generated post breaks Instagram's limits ({error}); try again."
                        ),
                        true,
                    );
                    return self.settle_failed(queue, job, post, read_at, why).await;
                }
                let update = PostUpdate {
                    post: ready.into_snapshot(),
                    expected_updated_at: read_at,
                };
                let old_image = if image.is_some() {
                    self.ports
                        .posts
                        .post_media(job.owner, &[job.post])
                        .await?
                        .pop()
                        .and_then(|(_, media)| media.image)
                } else {
                    None
                };
                let settled = queue
                    .settle_generation(&job.lease, &update, image.as_ref(), self.ports.clock.now())
                    .await;
                match settled {
                    Ok(true) => {
                        self.commit_quota(&job.spec.reservations).await;
                        if let Some(old) = old_image {
                            self.discard(&old).await;
                        }
                        Ok(GenerationSettled::Ready)
                    }
                    Ok(false) => {
                        if let Some(image) = &image {
                            self.discard(image).await;
                        }
                        self.release_if_deleted(job).await;
                        Ok(GenerationSettled::LeaseLost)
                    }
                    Err(error) => {
                        if let Some(image) = &image {
                            self.discard(image).await;
                        }
                        Err(error)
                    }
                }
            }
            Produced::Failed(why) => self.settle_failed(queue, job, post, read_at, why).await,
            Produced::LeaseLost => Ok(GenerationSettled::LeaseLost),
        }
    }

    fn after(&self, last: DateTime<Utc>) -> DateTime<Utc> {
        let now = self.ports.clock.now();
        if now > last {
            now
        } else {
            last + chrono::Duration::microseconds(1)
        }
    }

    async fn discard(&self, image: &StoredImage) {
        if let Err(error) = self.ports.media.delete(&image.key).await {
            tracing::warn!(%error, "could not remove an image no post uses");
        }
    }

    async fn settle_failed(
        &self,
        queue: &dyn GenerationQueue,
        job: &ClaimedGeneration,
        mut post: Post,
        read_at: DateTime<Utc>,
        why: PublishFailure,
    ) -> Result<GenerationSettled, StoreError> {
        post.fail_generation(why.clone(), self.after(read_at))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let update = PostUpdate {
            post: post.into_snapshot(),
            expected_updated_at: read_at,
        };
        if queue
            .settle_generation(&job.lease, &update, None, self.ports.clock.now())
            .await?
        {
            self.release_quota(&job.spec.reservations).await;
            Ok(GenerationSettled::Failed(why))
        } else {
            self.release_if_deleted(job).await;
            Ok(GenerationSettled::LeaseLost)
        }
    }

    /// After a refused settlement: when the post was deleted meanwhile (its job went with it),
    /// nobody else will settle the job's quota, so it is given back here; when another worker
    /// took the job over, that worker commits or releases it.
    async fn release_if_deleted(&self, job: &ClaimedGeneration) {
        if let Err(StoreError::NotFound) = self.ports.posts.post(job.owner, job.post).await {
            self.release_quota(&job.spec.reservations).await;
        }
    }

    /// Writes `step` under the claim; whether the claim still holds.
    async fn step(
        &self,
        queue: &dyn GenerationQueue,
        job: &ClaimedGeneration,
        step: GenerationStep,
    ) -> Result<bool, StoreError> {
        queue
            .record_generation_step(&job.lease, job.post, step, self.ports.clock.now())
            .await
    }

    async fn produce(
        &self,
        queue: &dyn GenerationQueue,
        job: &ClaimedGeneration,
        post: &Post,
    ) -> Result<Produced, StoreError> {
        let owner = job.owner;
        let account = match self.ports.accounts.account(owner).await {
            Ok(account) => account,
            Err(StoreError::NotFound) => return Ok(Produced::LeaseLost),
            Err(error) => return Err(error),
        };
        if account.closed_at.is_some()
            || account.restrictions.allow(Processing::Generation).is_err()
        {
            return Ok(Produced::Failed(failure(
                codes::PROCESSING_RESTRICTED,
                "Generation is restricted on this account.",
                false,
            )));
        }
        let Some(profile) = self.ports.profiles.profile(owner).await? else {
            return Ok(Produced::Failed(failure(
                codes::PROFILE_REQUIRED,
                "Describe your business in your profile before generating posts.",
                false,
            )));
        };
        let topic = Topic::parse(&job.spec.topic)
            .map_err(|e| StoreError::Corrupt(format!("generation_jobs.topic: {e}")))?;
        let request = GenerationRequest { profile, topic };
        let mut content = post.content().clone();

        let mut image_prompt = None;
        if job.spec.caption {
            if !self.step(queue, job, GenerationStep::Writing).await? {
                return Ok(Produced::LeaseLost);
            }
            let text = match self.ports.generator.generate_text(&request).await {
                Ok(text) => text,
                Err(error) => {
                    tracing::warn!(post = %job.post, %error, "text generation failed");
                    return Ok(Produced::Failed(generation_failure(&error)));
                }
            };
            if !self.step(queue, job, GenerationStep::Moderating).await? {
                return Ok(Produced::LeaseLost);
            }
            content.caption = text.caption;
            content.hashtags = text.hashtags;
            content.alt_text = Some(text.alt_text);
            if let Err(error) = content.post_text() {
                return Ok(Produced::Failed(failure(
                    codes::OUTPUT_UNUSABLE,
                    &format!("The generated text breaks Instagram's limits ({error}); try again."),
                    true,
                )));
            }
            image_prompt = Some(text.image_prompt);
        }

        let mut stored = None;
        if job.spec.image {
            if !self.step(queue, job, GenerationStep::Drawing).await? {
                return Ok(Produced::LeaseLost);
            }
            // Without a fresh prompt (only the image is regenerated), the alt text describes
            // the picture the post needs; else the topic does.
            let prompt = image_prompt.unwrap_or_else(|| {
                content
                    .alt_text
                    .as_ref()
                    .map_or_else(|| request.topic.to_string(), |a| a.as_str().to_owned())
            });
            let image = match self.ports.images.generate_image(&request, &prompt).await {
                Ok(image) => image,
                Err(error) => {
                    tracing::warn!(post = %job.post, %error, "image generation failed");
                    return Ok(Produced::Failed(generation_failure(&error)));
                }
            };
            // Checked again here: whatever a generator returns, the preview only ever shows an
            // image Instagram accepts.
            let checked = match CheckedJpeg::check(&image.jpeg) {
                Ok(checked) => checked,
                Err(error) => {
                    tracing::warn!(post = %job.post, %error, "the generated image is unusable");
                    return Ok(Produced::Failed(failure(
                        codes::OUTPUT_UNUSABLE,
                        "The generated image was unusable; try again.",
                        true,
                    )));
                }
            };
            // A name per claim: a worker that lost its lease never overwrites the image of the
            // worker that took the job over.
            let suffix = uuid::Uuid::new_v4().simple().to_string();
            let key = MediaKey::new(owner, &format!("{}-{}.jpg", job.post, &suffix[..12]))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Err(error) = self.ports.media.put(&key, image.jpeg, "image/jpeg").await {
                return Err(StoreError::Unavailable(format!("media store: {error}")));
            }
            content.media = vec![checked.digest()];
            stored = Some(StoredImage {
                key,
                width: checked.width(),
                height: checked.height(),
            });
        }

        if content.target.is_none() {
            let connections = self.ports.connections.connections(owner).await?;
            let mut active = connections
                .iter()
                .filter(|c| c.status == ConnectionStatus::Active);
            if let (Some(only), None) = (active.next(), active.next()) {
                content.target = Some(only.ig_user_id.clone());
            }
        }
        Ok(Produced::Content {
            content,
            image: stored,
        })
    }
}

/// What a job's generation produced.
enum Produced {
    Content {
        content: kraftsoci_core::PostContent,
        image: Option<StoredImage>,
    },
    Failed(PublishFailure),
    LeaseLost,
}
