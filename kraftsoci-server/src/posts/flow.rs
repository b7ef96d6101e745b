//! The consent-gated post flow (P09, P11, P16, P29, P32): preview, edit, the Publish click,
//! withdraw and delete (generation is in `generate.rs`).
//!
//! Nothing here publishes. The click records the owner's consent for the exact content shown
//! (core's [`Post::approve`] checks the echoed content hash) and queues a publish job in the
//! same transaction; the worker alone talks to Instagram, and only through core's
//! `begin_publishing`, which refuses any post whose consent does not match its content.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use kraftsoci_core::ports::{
    AccountStore, Connection, ConnectionStatus, ConnectionStore, ContentGenerator, Entitlements,
    ImageGenerator, JobRequest, JobView, ListedPost, MediaStore, PostMedia, PostStore, PostUpdate,
    ProfileStore,
};
use kraftsoci_core::{
    AltText, ApiKeyId, Approval, ApproveOutcome, Caption, CheckedJpeg, Clock, ConnectionId,
    ContentHash, Edit, Hashtag, IgUserId, Post, PostId, PostSnapshot, PostStatus, Processing,
    StoreError, UserId,
};

use super::PostFlowError;

/// How many times a click is retried when a concurrent change won the optimistic check.
const MAX_CLICK_ATTEMPTS: u32 = 3;

/// Instagram's rolling publishing window.
const DAY: chrono::Duration = chrono::Duration::hours(24);

/// A post as the API shows it: the snapshot plus what the server keeps beside it.
#[derive(Debug, Clone)]
pub struct PostView {
    /// The post.
    pub post: PostSnapshot,
    /// Topic, image and sandbox flag.
    pub media: PostMedia,
    /// The connection the post targets, when it still exists.
    pub target_connection: Option<ConnectionId>,
    /// Its publish job.
    pub job: Option<JobView>,
}

impl From<ListedPost> for PostView {
    /// A post of a list page, read with its media, connection and job in one statement
    /// ([`PostStore::list_posts_with_details`]).
    fn from(listed: ListedPost) -> Self {
        Self {
            post: listed.post,
            media: listed.media,
            target_connection: listed.target_connection,
            job: listed.job,
        }
    }
}

/// A Publish click, parsed.
#[derive(Debug, Clone)]
pub struct Click {
    /// The hash of the content the client was shown.
    pub content_hash: ContentHash,
    /// The chosen connection.
    pub connection: ConnectionId,
    /// Publish at this time (in the future) instead of now.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// The client's address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The personal API key that sent the click, when a program clicked for the owner (the
    /// consent receipt records it).
    pub api_key: Option<ApiKeyId>,
}

/// An edit, parsed; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct EditRequest {
    /// New caption.
    pub caption: Option<Caption>,
    /// New hashtags.
    pub hashtags: Option<Vec<Hashtag>>,
    /// New alt text, or `Some(None)` to remove it.
    pub alt_text: Option<Option<AltText>>,
    /// New target connection, or `Some(None)` to clear it.
    pub connection: Option<Option<ConnectionId>>,
}

/// What the flow is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSettings {
    /// Whether posts are generated in sandbox mode.
    pub sandbox: bool,
    /// Posts per Instagram account per rolling 24 hours.
    pub daily_publish_limit: u32,
}

/// The post flow over the ports it uses.
pub struct PostFlow {
    pub(super) ports: FlowPorts,
    pub(super) settings: FlowSettings,
}

impl std::fmt::Debug for PostFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostFlow")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The collaborators of a [`PostFlow`].
pub struct FlowPorts {
    /// Posts, receipts, images and jobs.
    pub posts: Arc<dyn PostStore>,
    /// Accounts (restrictions).
    pub accounts: Arc<dyn AccountStore>,
    /// Business profiles (what generation writes from).
    pub profiles: Arc<dyn ProfileStore>,
    /// Instagram connections.
    pub connections: Arc<dyn ConnectionStore>,
    /// Plan quotas.
    pub entitlements: Arc<dyn Entitlements>,
    /// Caption, hashtags and alt text.
    pub generator: Arc<dyn ContentGenerator>,
    /// Images.
    pub images: Arc<dyn ImageGenerator>,
    /// Image bytes.
    pub media: Arc<dyn MediaStore>,
    /// Where time comes from.
    pub clock: Arc<dyn Clock>,
    /// Generation jobs and idempotency keys.
    pub generation: Arc<dyn crate::store::GenerationQueue>,
}

impl PostFlow {
    /// The flow over `ports`.
    pub fn new(ports: FlowPorts, settings: FlowSettings) -> Self {
        Self { ports, settings }
    }

    /// The owner's connection `id` ([`PostFlowError::NotConnected`] for another user's id, as
    /// for one that does not exist).
    async fn owned_connection(
        &self,
        owner: UserId,
        id: ConnectionId,
    ) -> Result<Connection, PostFlowError> {
        match self.ports.connections.connection(owner, id).await {
            Ok(connection) => Ok(connection),
            Err(StoreError::NotFound) => Err(PostFlowError::NotConnected),
            Err(other) => Err(other.into()),
        }
    }

    /// Builds the views of `posts` in a fixed number of statements whatever their number: one
    /// for the connections, one for the media, and one for the jobs when some post is
    /// approved or publishing.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn views(
        &self,
        owner: UserId,
        posts: Vec<PostSnapshot>,
    ) -> Result<Vec<PostView>, PostFlowError> {
        let connections: HashMap<IgUserId, ConnectionId> = self
            .ports
            .connections
            .connections(owner)
            .await?
            .into_iter()
            .map(|c| (c.ig_user_id, c.id))
            .collect();
        let ids: Vec<PostId> = posts.iter().map(|p| p.id).collect();
        let mut media: HashMap<PostId, PostMedia> = self
            .ports
            .posts
            .post_media(owner, &ids)
            .await?
            .into_iter()
            .collect();
        // Only approved and publishing posts have a job worth showing; one statement for all.
        let queued: Vec<PostId> = posts
            .iter()
            .filter(|p| matches!(p.status, PostStatus::Approved | PostStatus::Publishing))
            .map(|p| p.id)
            .collect();
        let mut jobs: HashMap<PostId, JobView> = if queued.is_empty() {
            HashMap::new()
        } else {
            self.ports
                .posts
                .publish_jobs(owner, &queued)
                .await?
                .into_iter()
                .collect()
        };
        let mut out = Vec::with_capacity(posts.len());
        for post in posts {
            let job = match post.status {
                PostStatus::Approved | PostStatus::Publishing => jobs.remove(&post.id),
                _ => None,
            };
            out.push(PostView {
                target_connection: post
                    .content
                    .target
                    .as_ref()
                    .and_then(|t| connections.get(t).copied()),
                media: media.remove(&post.id).unwrap_or_default(),
                job,
                post,
            });
        }
        Ok(out)
    }

    /// One of the owner's posts, as a view.
    ///
    /// # Errors
    /// [`PostFlowError::Store`] (not found) when it is not the owner's.
    pub async fn view(&self, owner: UserId, id: PostId) -> Result<PostView, PostFlowError> {
        let post = self.ports.posts.post(owner, id).await?;
        self.views(owner, vec![post])
            .await?
            .pop()
            .ok_or(PostFlowError::NotFound)
    }

    async fn load(&self, owner: UserId, id: PostId) -> Result<Post, PostFlowError> {
        let snapshot = self.ports.posts.post(owner, id).await?;
        Post::restore(snapshot).map_err(PostFlowError::internal)
    }

    /// The time a change is recorded at: the clock's, but strictly after the post's last
    /// change, so that every change moves `updated_at` (the optimistic check relies on it).
    fn next_instant(&self, last: DateTime<Utc>) -> DateTime<Utc> {
        let now = self.ports.clock.now();
        if now > last {
            now
        } else {
            last + chrono::Duration::microseconds(1)
        }
    }

    /// Applies an edit: an approval is void (the post returns to `ready`, its job is dropped)
    /// and the content hash changes.
    ///
    /// # Errors
    /// Not found; [`PostFlowError::NotConnected`] for a connection that is not the owner's;
    /// the lifecycle's refusals once publishing started; a concurrent change.
    pub async fn edit(
        &self,
        owner: UserId,
        id: PostId,
        request: EditRequest,
    ) -> Result<PostView, PostFlowError> {
        let target = match request.connection {
            Some(Some(connection)) => Some(Some(
                self.owned_connection(owner, connection).await?.ig_user_id,
            )),
            Some(None) => Some(None),
            None => None,
        };
        let mut post = self.load(owner, id).await?;
        let expected_updated_at = post.snapshot().updated_at;
        post.edit(
            Edit {
                caption: request.caption,
                hashtags: request.hashtags,
                alt_text: request.alt_text,
                target,
            },
            self.next_instant(expected_updated_at),
        )?;
        self.ports
            .posts
            .save_and_unqueue(
                &PostUpdate {
                    post: post.into_snapshot(),
                    expected_updated_at,
                },
                self.ports.clock.now(),
            )
            .await?;
        self.view(owner, id).await
    }

    /// The Publish click (P09).
    ///
    /// # Errors
    /// Not found; the account restricts publishing; the connection is not the owner's or
    /// needs a reconnect; the content or target changed since it was shown; publishing
    /// started; no usable image; the daily limit is reached; the post kept changing.
    pub async fn publish(
        &self,
        owner: UserId,
        id: PostId,
        click: Click,
    ) -> Result<PostView, PostFlowError> {
        let now = self.ports.clock.now();
        let account = self.ports.accounts.account(owner).await?;
        account
            .restrictions
            .allow(Processing::Publishing)
            .map_err(|_| PostFlowError::Restricted)?;
        let connection = self.owned_connection(owner, click.connection).await?;
        if connection.status != ConnectionStatus::Active {
            return Err(PostFlowError::ConnectionNeedsReconnect);
        }

        for _ in 0..MAX_CLICK_ATTEMPTS {
            let mut post = self.load(owner, id).await?;
            let expected_updated_at = post.snapshot().updated_at;
            let at = self.next_instant(expected_updated_at);
            let outcome = post.approve(Approval {
                user: owner,
                shown_hash: click.content_hash,
                target: connection.ig_user_id.clone(),
                at,
                ip: click.ip.clone(),
                user_agent: click.user_agent.clone(),
                scheduled_for: click.scheduled_for,
                api_key: click.api_key,
            })?;
            let job = JobRequest {
                connection: connection.id,
                run_after: click.scheduled_for.unwrap_or(now),
                at: now,
            };
            if outcome == ApproveOutcome::Unchanged {
                // The same click again: nothing new to consent to; make sure it is queued.
                self.ports.posts.ensure_queued(owner, id, &job).await?;
                return self.view(owner, id).await;
            }
            self.preflight(&post, &connection, job.run_after).await?;
            let update = PostUpdate {
                post: post.snapshot().clone(),
                expected_updated_at,
            };
            match self.ports.posts.approve_and_queue(&update, &job).await {
                Ok(queued) => {
                    tracing::info!(
                        post = %id,
                        ?queued,
                        scheduled = click.scheduled_for.is_some(),
                        "publish click recorded"
                    );
                    return self.view(owner, id).await;
                }
                // A concurrent click or edit won: read the post again and decide anew.
                Err(StoreError::Stale) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(PostFlowError::KeptChanging)
    }

    /// What must hold before a post is queued: Instagram's text limits, an image Instagram
    /// accepts, and room in the account's daily publishing quota.
    async fn preflight(
        &self,
        post: &Post,
        connection: &Connection,
        run_after: DateTime<Utc>,
    ) -> Result<(), PostFlowError> {
        post.content().post_text()?;
        let media = self
            .ports
            .posts
            .post_media(post.owner(), &[post.id()])
            .await?
            .pop()
            .map(|(_, media)| media);
        let image = media
            .and_then(|m| m.image)
            .ok_or(PostFlowError::ImageRequired)?;
        let stored = self
            .ports
            .media
            .get(&image.key)
            .await
            .map_err(PostFlowError::Media)?
            .ok_or(PostFlowError::ImageMissing)?;
        let checked = CheckedJpeg::check(&stored.bytes).map_err(PostFlowError::ImageInvalid)?;
        if !post.content().media.contains(&checked.digest()) {
            return Err(PostFlowError::ImageChanged);
        }
        let load = self
            .ports
            .posts
            .publishing_load(
                &connection.ig_user_id,
                run_after - DAY,
                run_after + DAY,
                post.id(),
            )
            .await?;
        let limit = self.settings.daily_publish_limit;
        if load >= limit {
            return Err(PostFlowError::PublishingLimitReached { load, limit });
        }
        Ok(())
    }

    /// Withdraws an approval that has not started publishing: the post is back in `ready`, its
    /// consent void, its job gone (a scheduled post can be withdrawn until its time comes).
    ///
    /// # Errors
    /// Not found; the lifecycle's refusals when it is not approved or publishing started.
    pub async fn withdraw(&self, owner: UserId, id: PostId) -> Result<PostView, PostFlowError> {
        let mut post = self.load(owner, id).await?;
        let expected_updated_at = post.snapshot().updated_at;
        let at = self.next_instant(expected_updated_at);
        post.withdraw(at)?;
        post.reopen(at)?;
        self.ports
            .posts
            .save_and_unqueue(
                &PostUpdate {
                    post: post.into_snapshot(),
                    expected_updated_at,
                },
                self.ports.clock.now(),
            )
            .await?;
        tracing::info!(post = %id, "approval withdrawn");
        self.view(owner, id).await
    }

    /// Deletes our copy of a post (P16): the image bytes, then the row with its receipts and
    /// job. A post already on Instagram stays there.
    ///
    /// # Errors
    /// Not found; [`PostFlowError::PublishingInProgress`] while it is being published.
    pub async fn delete(&self, owner: UserId, id: PostId) -> Result<(), PostFlowError> {
        let post = self.ports.posts.post(owner, id).await?;
        let held = self
            .ports
            .posts
            .publish_job(owner, id)
            .await?
            .is_some_and(|job| job.state == "running");
        if post.status == PostStatus::Publishing || held {
            return Err(PostFlowError::PublishingInProgress);
        }
        let media = self.ports.posts.post_media(owner, &[id]).await?.pop();
        if let Some((
            _,
            PostMedia {
                image: Some(image), ..
            },
        )) = media
        {
            self.ports
                .media
                .delete(&image.key)
                .await
                .map_err(PostFlowError::Media)?;
        }
        self.ports
            .posts
            .delete_post(owner, id, self.ports.clock.now())
            .await?;
        tracing::info!(post = %id, "post deleted");
        Ok(())
    }
}
