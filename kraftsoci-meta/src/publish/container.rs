//! Containers: creating one per post (a carousel's children first) and reading its status.

use super::*;

impl MetaClient {
    /// Creates the container of a post, ready to be polled and published. For a carousel the
    /// children are created first (without captions) and each is polled to `FINISHED` before
    /// the parent is created.
    ///
    /// Transient failures are retried up to `publish.create_attempts` times (the worst outcome
    /// of a retry is an orphan container, which expires unpublished).
    ///
    /// # Errors
    /// [`MetaError::InvalidInput`] when the spec breaks Meta's documented limits (checked
    /// before any call); otherwise the classified Graph or polling failure.
    pub async fn create_container(
        &self,
        account: &PublishAccount,
        spec: &MediaSpec,
    ) -> Result<ContainerId, MetaError> {
        let attempts = self.config().publish_policy().create_attempts().max(1);
        self.create_container_with(account, spec, attempts).await
    }

    /// [`MetaClient::create_container`] with one attempt per request: the `SocialPublisher`
    /// adapter's, whose caller (the orchestration) owns the retry policy.
    pub(crate) async fn create_container_once(
        &self,
        account: &PublishAccount,
        spec: &MediaSpec,
    ) -> Result<ContainerId, MetaError> {
        self.create_container_with(account, spec, 1).await
    }

    pub(super) async fn create_container_with(
        &self,
        account: &PublishAccount,
        spec: &MediaSpec,
        attempts: u32,
    ) -> Result<ContainerId, MetaError> {
        let params = match spec {
            MediaSpec::Image(post) => image_params(post)?,
            MediaSpec::Reel(post) => reel_params(post)?,
            MediaSpec::Story(post) => story_params(post)?,
            MediaSpec::Carousel(post) => {
                let mut params = carousel_params(post)?;
                let children = self.create_children(account, &post.items, attempts).await?;
                let ids: Vec<&str> = children.iter().map(ContainerId::as_str).collect();
                params.push(("children", ids.join(",")));
                params
            }
        };
        self.create_one(account, params, attempts).await
    }

    pub(super) async fn create_children(
        &self,
        account: &PublishAccount,
        items: &[CarouselItem],
        attempts: u32,
    ) -> Result<Vec<ContainerId>, MetaError> {
        let mut children = Vec::with_capacity(items.len());
        for item in items {
            children.push(
                self.create_one(account, carousel_item_params(item)?, attempts)
                    .await?,
            );
        }
        // Meta processes the children in parallel; a parent built on an unfinished child fails.
        for child in &children {
            if self.wait_until_ready(&account.access_token, child).await? == Readiness::Published {
                return Err(MetaError::UnexpectedResponse {
                    call: "container status",
                    detail: format!("carousel item {child} is already published"),
                });
            }
        }
        Ok(children)
    }

    pub(super) async fn create_one(
        &self,
        account: &PublishAccount,
        params: Params,
        attempts: u32,
    ) -> Result<ContainerId, MetaError> {
        let (container, _) = self.create_one_with_uri(account, params, attempts).await?;
        Ok(container)
    }

    /// Creates one container, retrying transient failures; also returns the upload address
    /// Meta names for a resumable container.
    pub(crate) async fn create_one_with_uri(
        &self,
        account: &PublishAccount,
        params: Params,
        attempts: u32,
    ) -> Result<(ContainerId, Option<String>), MetaError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = GraphRequest::post(
                "create container",
                vec![account.ig_user_id.as_str(), "media"],
            )
            .token(&account.access_token);
            request.form.clone_from(&params);
            match self.send::<IdResponse>(request).await {
                Ok(mut response) => {
                    let uri = response.uri.take();
                    let id = id_of("create container", response)?;
                    return Ok((ContainerId::new(id), uri));
                }
                Err(error) if attempt < attempts && create_is_retryable(&error) => {
                    let delay = backoff_delay(
                        &self.config().poll_policy(),
                        attempt - 1,
                        &mut rand::thread_rng(),
                    );
                    tracing::warn!(%error, attempt, "creating the container failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Reads a container's `status_code` (and `status` text on `ERROR`).
    ///
    /// # Errors
    /// The classified Graph failure; [`MetaError::UnexpectedResponse`] for a status code Meta
    /// does not document.
    pub async fn container_status(
        &self,
        token: &SecretString,
        container: &ContainerId,
    ) -> Result<ContainerStatus, MetaError> {
        let id = checked_id("container id", container.as_str())?;
        let request = GraphRequest::get("container status", vec![id])
            .token(token)
            .query("fields", "status_code,status");
        let response: StatusResponse = self.send(request).await?;
        parse_status(container, response.status_code, response.status)
    }
}

/// A container's `status_code` (and `status` text on `ERROR`), as read.
pub(crate) fn parse_status(
    container: &ContainerId,
    status_code: Option<String>,
    status: Option<String>,
) -> Result<ContainerStatus, MetaError> {
    let code = status_code.unwrap_or_default();
    match code.as_str() {
        "IN_PROGRESS" => Ok(ContainerStatus::InProgress),
        "FINISHED" => Ok(ContainerStatus::Finished),
        "PUBLISHED" => Ok(ContainerStatus::Published),
        "EXPIRED" => Ok(ContainerStatus::Expired),
        "ERROR" => {
            let reason = status
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "processing failed without a reason".to_owned());
            let kind = crate::publisher::core_kind(
                container_failed(container, &reason).kind(),
                crate::publisher::Stage::Status,
            );
            Ok(ContainerStatus::Error { reason, kind })
        }
        other => Err(MetaError::UnexpectedResponse {
            call: "container status",
            detail: format!("undocumented status_code {:?}", truncate(other, 32)),
        }),
    }
}
