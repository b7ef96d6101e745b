//! The publishing quota, and `media_publish` guarded against double posts: an ambiguous
//! failure is settled by reading the container, never by publishing again blindly.

use super::*;

impl MetaClient {
    /// Reads the publishing quota over Meta's rolling window (`content_publishing_limit`).
    /// The cap is Meta's `config.quota_total` (it has been 25, 50 and 100 over time); only when
    /// Meta leaves it out is `publish.fallback_quota_total` assumed.
    ///
    /// # Errors
    /// The classified Graph failure; [`MetaError::UnexpectedResponse`] when the answer has no
    /// `quota_usage`.
    pub async fn publishing_quota(
        &self,
        account: &PublishAccount,
    ) -> Result<PublishingQuota, MetaError> {
        let request = GraphRequest::get(
            "content publishing limit",
            vec![account.ig_user_id.as_str(), "content_publishing_limit"],
        )
        .token(&account.access_token)
        .query("fields", "config,quota_usage");
        let response: QuotaResponse = self.send(request).await?;
        let missing = || MetaError::UnexpectedResponse {
            call: "content publishing limit",
            detail: "no quota_usage in the answer".to_owned(),
        };
        let entry = response.data.first().ok_or_else(missing)?;
        let used = count(entry.get("quota_usage")).ok_or_else(missing)?;
        let config = entry.get("config").and_then(Value::as_object);
        let total = config
            .and_then(|c| count(c.get("quota_total")))
            .unwrap_or(self.config().publish_policy().fallback_quota_total());
        let window = config
            .and_then(|c| count(c.get("quota_duration")))
            .filter(|seconds| *seconds > 0)
            .map_or(Duration::from_secs(24 * 3600), |s| {
                Duration::from_secs(u64::from(s))
            });
        Ok(PublishingQuota {
            used,
            total,
            window,
        })
    }

    /// Publishes a container, never twice.
    ///
    /// 1. The container is read (polled while `IN_PROGRESS`): `PUBLISHED` returns
    ///    [`PublishResult::AlreadyPublished`] without calling `media_publish`.
    /// 2. The quota is read; when spent, `media_publish` is not called.
    /// 3. `media_publish`. "Not ready" (9007/2207027) is answered by polling and publishing
    ///    again (no duplicate risk). A duplicate (506) counts as published. After an ambiguous
    ///    failure (timeout, 5xx, unclassified, 4/2207051) the container is read again and
    ///    `media_publish` is **not** called again.
    ///
    /// # Errors
    /// [`MetaError::QuotaSpent`]; [`MetaError::PublishNotApplied`] when the container shows the
    /// failed call had no effect (publishing the same container again is safe);
    /// [`MetaError::OutcomeUnknown`] when the outcome cannot be told; otherwise the classified
    /// failure.
    pub async fn publish_container(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<PublishResult, MetaError> {
        checked_id("container id", container.as_str())?;
        let token = &account.access_token;
        if self.wait_until_ready(token, container).await? == Readiness::Published {
            tracing::info!(%container, "container is already published; not publishing again");
            return Ok(PublishResult::AlreadyPublished);
        }
        if self.config().publish_policy().check_quota() {
            self.ensure_quota(account).await?;
        }
        let mut not_ready_left = self.config().publish_policy().not_ready_retries();
        loop {
            let error = match self.media_publish(account, container).await {
                Ok(media_id) => return Ok(PublishResult::Published { media_id }),
                Err(error) => error,
            };
            match publish_failure(&error) {
                Failure::Duplicate => {
                    tracing::warn!(%container, %error, "meta reports a duplicate; the post is live");
                    return Ok(PublishResult::AlreadyPublished);
                }
                Failure::NotReady if not_ready_left > 0 => {
                    not_ready_left -= 1;
                    tracing::info!(%container, "media not ready; polling before publishing again");
                    if self.wait_until_ready(token, container).await? == Readiness::Published {
                        return Ok(PublishResult::AlreadyPublished);
                    }
                }
                Failure::Ambiguous => return self.reconcile(account, container, error).await,
                Failure::NotReady | Failure::Definite => return Err(error),
            }
        }
    }

    /// Sends `media_publish` once. Never retried: its outcome after a timeout or a 5xx is only
    /// known from the container.
    pub(crate) async fn media_publish(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
    ) -> Result<String, MetaError> {
        let request = GraphRequest::post(
            "media_publish",
            vec![account.ig_user_id.as_str(), "media_publish"],
        )
        .token(&account.access_token)
        .form("creation_id", container.as_str().to_owned())
        .timeout(self.config().publish_timeout());
        let response: IdResponse = self.send(request).await?;
        id_of("media_publish", response)
    }

    pub(super) async fn ensure_quota(&self, account: &PublishAccount) -> Result<(), MetaError> {
        match self.publishing_quota(account).await {
            Ok(quota) if quota.is_spent() => Err(MetaError::QuotaSpent { quota }),
            Ok(_) => Ok(()),
            // Publishing would fail the same way; not calling is cheaper and definite.
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::ReconnectNeeded { .. } | ErrorKind::RateLimited { .. }
                ) =>
            {
                Err(error)
            }
            Err(error) => {
                // Reading the quota may need business_management while publishing does not;
                // Meta enforces the quota at media_publish anyway (9/2207042).
                tracing::warn!(%error, "could not read the publishing quota; publishing anyway");
                Ok(())
            }
        }
    }

    /// Resolves an ambiguous `media_publish` failure by reading the container.
    pub(super) async fn reconcile(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
        cause: MetaError,
    ) -> Result<PublishResult, MetaError> {
        let policy = self.config().publish_policy();
        tracing::warn!(%container, error = %cause, fbtrace_id = ?cause.fbtrace_id(),
            "media_publish failed ambiguously; reading the container instead of publishing again");
        tokio::time::sleep(policy.reconcile_delay).await;
        for attempt in 0..policy.reconcile_attempts.max(1) {
            if attempt > 0 {
                let delay = backoff_delay(
                    &self.config().poll_policy(),
                    attempt - 1,
                    &mut rand::thread_rng(),
                );
                tokio::time::sleep(delay).await;
            }
            match self
                .container_status(&account.access_token, container)
                .await
            {
                Ok(ContainerStatus::Published) => {
                    tracing::info!(%container, "the failed media_publish did publish the post");
                    return Ok(PublishResult::AlreadyPublished);
                }
                Ok(ContainerStatus::Finished) => return Err(still_unpublished(container, cause)),
                Ok(ContainerStatus::InProgress) => break,
                Ok(ContainerStatus::Expired) => {
                    return Err(MetaError::ContainerExpired {
                        container: container.clone(),
                    });
                }
                Ok(ContainerStatus::Error { reason, .. }) => {
                    return Err(container_failed(container, &reason));
                }
                // A status this version does not know: as unsure as "in progress".
                Ok(_) => break,
                Err(error) if error.kind() == ErrorKind::Transient => {
                    tracing::warn!(%container, %error, "reading the container failed; trying again");
                }
                Err(error) => {
                    tracing::warn!(%container, %error, "reading the container failed");
                    break;
                }
            }
        }
        Err(MetaError::OutcomeUnknown {
            container: container.clone(),
            cause: Box::new(cause),
        })
    }

    /// Reads a published media's permalink.
    ///
    /// # Errors
    /// The classified Graph failure. Callers treat this read as best effort: a failure never
    /// means the post failed.
    pub async fn permalink(
        &self,
        token: &SecretString,
        media_id: &str,
    ) -> Result<Option<String>, MetaError> {
        let id = checked_id("media id", media_id)?;
        let request = GraphRequest::get("permalink", vec![id])
            .token(token)
            .query("fields", "permalink");
        let response: PermalinkResponse = self.send(request).await?;
        Ok(response.permalink.filter(|p| !p.is_empty()))
    }

    /// The whole flow for one post: create the container, wait for it, publish it once (see
    /// [`MetaClient::publish_container`]) and read the permalink as best effort. A container
    /// found `EXPIRED` before publishing is recreated once.
    ///
    /// Callers that persist progress (container id before publishing, media id before any
    /// follow-up read) should drive the steps themselves, as the `SocialPublisher` adapter lets
    /// them.
    ///
    /// ```no_run
    /// use kraftsoci_core::IgUserId;
    /// use kraftsoci_core::ports::{PublishAccount, PublishResult};
    /// use kraftsoci_meta::{ErrorKind, ImagePost, MediaSpec, MetaClient, MetaConfig};
    /// use secrecy::SecretString;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = MetaClient::new(
    ///     MetaConfig::token_only().with_app_secret(SecretString::from("app-secret")),
    /// )?;
    /// let account = PublishAccount {
    ///     ig_user_id: IgUserId::parse("17841405822304914")?,
    ///     access_token: SecretString::from("EAAG…page token…"),
    /// };
    /// let post = ImagePost::new("https://cdn.example/simit.jpg")
    ///     .with_caption("Fresh simit, straight from the oven #simit")
    ///     .with_alt_text("Sesame bread rings on a tray");
    /// match client.publish(&account, &MediaSpec::Image(post)).await {
    ///     Ok(published) => match published.result {
    ///         PublishResult::Published { media_id } => {
    ///             println!("live as {media_id} at {:?}", published.permalink)
    ///         }
    ///         // An ambiguous answer resolved by reading the container: live, id unknown.
    ///         PublishResult::AlreadyPublished => println!("live"),
    ///     },
    ///     Err(error) => match error.kind() {
    ///         ErrorKind::ReconnectNeeded { .. } => println!("ask the owner to log in again"),
    ///         // Never publish again before the container says it is still unpublished.
    ///         ErrorKind::OutcomeUnknown => println!("check the container later: {error}"),
    ///         _ => println!("not published: {error}"),
    ///     },
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// Any failure of the steps; never a failure of the permalink read.
    pub async fn publish(
        &self,
        account: &PublishAccount,
        spec: &MediaSpec,
    ) -> Result<Published, MetaError> {
        let mut recreated = false;
        let (container, result) = loop {
            let container = self.create_container(account, spec).await?;
            match self.publish_container(account, &container).await {
                Ok(result) => break (container, result),
                Err(MetaError::ContainerExpired { .. }) if !recreated => {
                    tracing::info!(%container, "container expired before publishing; recreating it");
                    recreated = true;
                }
                Err(error) => return Err(error),
            }
        };
        Ok(self.published(account, container, result).await)
    }

    /// The outcome of a publish, with the permalink read as best effort (the post is live
    /// whatever that read answers).
    pub(crate) async fn published(
        &self,
        account: &PublishAccount,
        container: ContainerId,
        result: PublishResult,
    ) -> Published {
        let permalink = match &result {
            PublishResult::Published { media_id } => {
                match self.permalink(&account.access_token, media_id).await {
                    Ok(permalink) => permalink,
                    Err(error) => {
                        tracing::warn!(media_id, %error, "the post is live; reading its permalink failed");
                        None
                    }
                }
            }
            PublishResult::AlreadyPublished => None,
        };
        Published {
            container,
            result,
            permalink,
        }
    }
}
