//! The upload itself: create the resumable container, send the file, and after an
//! interruption ask Meta how much it holds and send the rest.

use super::*;

impl MetaClient {
    /// Creates a container for a resumable upload (`upload_type=resumable`) and returns its id.
    /// Nothing is published: upload the bytes with [`MetaClient::upload_video`], then publish
    /// the container ([`MetaClient::publish_container`]) within 24 h.
    ///
    /// Transient failures are retried up to `publish.create_attempts` times (the worst outcome
    /// of a retry is an orphan container, which expires unpublished).
    ///
    /// # Errors
    /// [`MetaError::InvalidInput`] when the options break Meta's documented limits (checked
    /// before any call); otherwise the classified Graph failure.
    #[tracing::instrument(skip_all, fields(ig_user_id = account.ig_user_id.as_str()))]
    pub async fn create_upload_container(
        &self,
        account: &PublishAccount,
        video: &ResumableVideo,
    ) -> Result<ContainerId, MetaError> {
        let params = video.params()?;
        let attempts = self.config().publish_policy().create_attempts().max(1);
        let (container, uri) = self.create_one_with_uri(account, params, attempts).await?;
        let ours = self.upload_url(&container)?;
        match uri.as_deref().map(Url::parse) {
            Some(Ok(theirs)) if theirs.path() == ours.path() => {}
            Some(Ok(theirs)) => tracing::warn!(
                %container,
                meta_path = theirs.path(),
                "meta names another upload address; uploading to the configured host's documented path"
            ),
            Some(Err(_)) | None => {
                tracing::warn!(%container, "meta named no upload address; using the documented one");
            }
        }
        Ok(container)
    }

    /// Uploads `file` into a resumable container from its first byte, resuming after
    /// interruptions from the offset Meta reports ([`crate::UploadPolicy`]), and reports
    /// progress to `progress` as it goes (see [`UploadProgress`]).
    ///
    /// The bytes go to the configured upload host ([`crate::MetaConfig::with_rupload_base_url`])
    /// with the token in `Authorization: OAuth <token>`, never in the URL.
    ///
    /// ```no_run
    /// use kraftsoci_core::IgUserId;
    /// use kraftsoci_core::ports::PublishAccount;
    /// use kraftsoci_meta::{MetaClient, MetaConfig, ReelUpload, ResumableVideo, VideoFile};
    /// use secrecy::SecretString;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = MetaClient::new(MetaConfig::token_only())?;
    /// let account = PublishAccount {
    ///     ig_user_id: IgUserId::parse("17841405822304914")?,
    ///     access_token: SecretString::from("EAAG…page token…"),
    /// };
    /// let file = VideoFile::open("oven.mp4").await?;
    /// let reel = ResumableVideo::Reel(ReelUpload::new().with_caption("Morning bake #simit"));
    /// let container = client.create_upload_container(&account, &reel).await?;
    /// // Keep the container id: after a crash, `resume_video_upload` goes on where Meta stopped.
    /// client
    ///     .upload_video(&account, &container, &file, |p| {
    ///         println!("{:.0} %", p.fraction() * 100.0)
    ///     })
    ///     .await?;
    /// let result = client.publish_container(&account, &container).await?;
    /// println!("{result:?}");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`MetaError::VideoChanged`] when the file changed (create a new container);
    /// [`MetaError::VideoUnreadable`]; [`MetaError::UploadInterrupted`] when the interruptions
    /// outlast the policy (resume later); the classified failure of an upload request or
    /// status read that is not an interruption (an expired token is
    /// [`ErrorKind::ReconnectNeeded`]); [`MetaError::ContainerExpired`] or
    /// [`MetaError::ContainerFailed`] when the status read says so.
    #[tracing::instrument(skip_all, fields(%container, size = file.size()))]
    pub async fn upload_video<F>(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
        file: &VideoFile,
        progress: F,
    ) -> Result<(), MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        self.run_upload(account, container, file, Step::Send(0), progress)
            .await
    }

    /// Resumes an upload that stopped earlier (in this process or another): asks Meta how
    /// much of `file` it holds, then sends the rest as [`MetaClient::upload_video`] does. A
    /// container that already holds the whole file is left as it is.
    ///
    /// `file` must be the same file, unchanged, that the upload started with.
    ///
    /// # Errors
    /// As [`MetaClient::upload_video`].
    #[tracing::instrument(skip_all, fields(%container, size = file.size()))]
    pub async fn resume_video_upload<F>(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
        file: &VideoFile,
        progress: F,
    ) -> Result<(), MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        self.run_upload(account, container, file, Step::Ask, progress)
            .await
    }

    /// Reads a resumable container's status and how many bytes Meta holds.
    ///
    /// # Errors
    /// The classified Graph failure.
    pub async fn upload_status(
        &self,
        token: &SecretString,
        container: &ContainerId,
    ) -> Result<UploadStatus, MetaError> {
        let id = checked_id("container id", container.as_str())?;
        let request = GraphRequest::get("upload status", vec![id])
            .token(token)
            .query("fields", "status_code,status,video_status");
        match self.send::<Map<String, Value>>(request).await {
            Ok(body) => Ok(UploadStatus {
                container: parse_status(
                    container,
                    text(&body, "status_code"),
                    text(&body, "status"),
                )?,
                bytes_received: bytes_received(&body),
            }),
            Err(error) if refuses_a_field(&error) => {
                tracing::info!(%container, "meta does not report video_status here; reading the status without it");
                let status = self.container_status(token, container).await?;
                Ok(UploadStatus {
                    container: status,
                    bytes_received: None,
                })
            }
            Err(error) => Err(error),
        }
    }

    /// The whole flow for a video held by this app: create a resumable container, upload
    /// `file` into it (resuming after interruptions), then publish it once as
    /// [`MetaClient::publish_container`] does and read the permalink as best effort.
    ///
    /// The file's size is checked against Meta's limit before any call. The `video_url` path
    /// ([`crate::ReelPost`], [`crate::StoryPost`] through [`MetaClient::publish`]) stays the
    /// simpler choice when the video is already at a public URL.
    ///
    /// # Errors
    /// [`MetaError::InvalidInput`] for a file over the limit or options over Meta's limits;
    /// any failure of the steps (see [`MetaClient::upload_video`] and
    /// [`MetaClient::publish_container`]); never a failure of the permalink read.
    pub async fn publish_video_file<F>(
        &self,
        account: &PublishAccount,
        video: &ResumableVideo,
        file: &VideoFile,
        progress: F,
    ) -> Result<Published, MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        if file.size() > video.max_bytes() {
            return Err(MetaError::InvalidInput(format!(
                "the video is {} bytes; Meta takes at most {} for this kind",
                file.size(),
                video.max_bytes()
            )));
        }
        let container = self.create_upload_container(account, video).await?;
        self.upload_video(account, &container, file, progress)
            .await?;
        let result = self.publish_container(account, &container).await?;
        Ok(self.published(account, container, result).await)
    }

    /// The upload address of a container on the configured host.
    pub(super) fn upload_url(&self, container: &ContainerId) -> Result<Url, MetaError> {
        let id = checked_id("container id", container.as_str())?;
        joined(
            self.config().rupload_base_url(),
            &["ig-api-upload", self.config().api_version(), id],
        )
    }

    pub(super) async fn run_upload<F>(
        &self,
        account: &PublishAccount,
        container: &ContainerId,
        file: &VideoFile,
        start: Step,
        progress: F,
    ) -> Result<(), MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        let url = self.upload_url(container)?;
        let policy = self.config().upload_policy();
        let mut progress = Progress::new(progress, file.size());
        let mut interruptions = 0;
        // What Meta last said it holds (nothing is known to be there before it says so).
        let mut held = 0;
        let mut step = start;
        loop {
            let interruption = match step {
                Step::Send(offset) => {
                    file.ensure_unchanged().await?;
                    match self
                        .send_upload(&account.access_token, &url, file, offset, &mut progress)
                        .await
                    {
                        Ok(()) => break,
                        Err(error) if error.kind() == ErrorKind::Transient => error,
                        Err(error) => return Err(error),
                    }
                }
                Step::Ask => match self.upload_status(&account.access_token, container).await {
                    Ok(status) => match resume_point(container, file.size(), &status)? {
                        None => break,
                        Some(offset) => {
                            held = offset;
                            progress.report(offset);
                            step = Step::Send(offset);
                            continue;
                        }
                    },
                    Err(error) if error.kind() == ErrorKind::Transient => error,
                    Err(error) => return Err(error),
                },
            };
            interruptions += 1;
            if interruptions > policy.max_retries() {
                return Err(MetaError::UploadInterrupted {
                    container: container.clone(),
                    uploaded: held,
                    total: file.size(),
                    cause: Box::new(interruption),
                });
            }
            let delay = policy.backoff(interruptions - 1);
            tracing::warn!(
                %container,
                error = %interruption,
                held,
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "video upload interrupted; asking meta how much it holds"
            );
            tokio::time::sleep(delay).await;
            step = Step::Ask;
        }
        // Bytes of another version may have gone out after the last check.
        file.ensure_unchanged().await?;
        progress.report(file.size());
        tracing::info!(%container, size = file.size(), "video uploaded");
        Ok(())
    }

    /// One upload request: the file from `offset` on, streamed.
    pub(super) async fn send_upload<F>(
        &self,
        token: &SecretString,
        url: &Url,
        file: &VideoFile,
        offset: u64,
        progress: &mut Progress<F>,
    ) -> Result<(), MetaError>
    where
        F: FnMut(UploadProgress) + Send,
    {
        let total = file.size();
        let remaining = total.saturating_sub(offset);
        let mut source = tokio::fs::File::open(file.path())
            .await
            .map_err(unreadable)?;
        source
            .seek(SeekFrom::Start(offset))
            .await
            .map_err(unreadable)?;
        let (sent_tx, mut sent_rx) = watch::channel(offset);
        let problem = Arc::new(Mutex::new(None));
        let body = FileBody {
            file: source,
            remaining,
            position: offset,
            buf: vec![0; CHUNK].into_boxed_slice(),
            sent: sent_tx,
            problem: Arc::clone(&problem),
        };
        let mut authorization = HeaderValue::from_str(&format!("OAuth {}", token.expose_secret()))
            .map_err(|_| {
                MetaError::InvalidInput("the access token cannot be sent in a header".into())
            })?;
        authorization.set_sensitive(true);
        let mut request = self
            .http()
            .post(url.clone())
            .header(AUTHORIZATION, authorization)
            .header("offset", offset.to_string())
            .header("file_size", total.to_string())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, remaining.to_string())
            .body(reqwest::Body::wrap(body));
        if let Some(timeout) = self.config().upload_policy().attempt_timeout() {
            request = request.timeout(timeout);
        }

        // The body is read on the connection's task; its progress comes back through the
        // channel, so that the callback runs here, on the caller's task.
        let send = request.send();
        tokio::pin!(send);
        let result = loop {
            tokio::select! {
                result = &mut send => break result,
                Ok(()) = sent_rx.changed() => progress.report(*sent_rx.borrow_and_update()),
            }
        };
        progress.report(*sent_rx.borrow());

        let response = match result {
            Ok(response) => response,
            Err(error) => {
                return Err(match take(&problem) {
                    Some(problem) => problem.into_error(file).await,
                    None => transport(UPLOAD, error),
                });
            }
        };
        let status = response.status();
        let usage = Usage::from_headers(response.headers());
        let answer = response.bytes().await.map_err(|e| transport(UPLOAD, e))?;
        if let Some(problem) = take(&problem) {
            return Err(problem.into_error(file).await);
        }
        upload_answer(status, &answer, usage, &[token.expose_secret().to_owned()])
    }
}
