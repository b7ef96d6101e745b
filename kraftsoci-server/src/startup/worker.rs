//! Building the publish worker's collaborators: from the running application, or alone from
//! the configuration (`kraftsoci-server worker`).

use std::sync::Arc;

use kraftsoci_core::ports::MediaProbe;
use kraftsoci_core::{Clock, SystemClock};

use super::providers;
use crate::config::Config;
use crate::error::Error;
use crate::media::PresignedMedia;
use crate::metrics::{Metrics, ObservedGenerator, ObservedPublisher};
use crate::state::AppState;
use crate::store;
use crate::worker::{DEFAULT_PROBE_TIMEOUT, HttpMediaProbe, WorkerDeps};

/// The media probe of the Graph publisher; none in sandbox mode (nothing fetches the media).
fn probe(config: &Config) -> anyhow::Result<Option<Arc<dyn MediaProbe>>> {
    if config.sandbox {
        return Ok(None);
    }
    Ok(Some(Arc::new(HttpMediaProbe::new(DEFAULT_PROBE_TIMEOUT)?)))
}

/// The bucket's presigner, outside sandbox mode (the sandbox reads its media store itself).
fn presigned(config: &Config) -> anyhow::Result<Option<Arc<PresignedMedia>>> {
    if config.sandbox {
        return Ok(None);
    }
    Ok(PresignedMedia::from_config(&config.media_url)?.map(Arc::new))
}

impl WorkerDeps {
    /// The same collaborators the HTTP API uses.
    ///
    /// # Errors
    /// [`Error::Setup`] when the media probe's HTTP client or the bucket's presigner cannot
    /// be built.
    pub fn try_from_state(state: &AppState) -> Result<Self, Error> {
        let setup = |what: &'static str| move |source: anyhow::Error| Error::Setup { what, source };
        Ok(Self {
            stores: state.stores.clone(),
            publisher: Arc::clone(&state.publisher),
            vault: Arc::clone(&state.vault),
            links: Arc::clone(&state.media_links),
            presigned: presigned(&state.config).map_err(setup("media presigner"))?,
            probe: probe(&state.config).map_err(setup("media probe"))?,
            link_ttl: state.config.media_publish_ttl,
            clock: Arc::clone(&state.clock),
        })
    }

    /// The same collaborators the HTTP API uses, without a media probe or presigner (tools
    /// and tests that drive the worker by hand; `serve` uses
    /// [`WorkerDeps::try_from_state`]).
    pub fn from_state(state: &AppState) -> Self {
        Self {
            stores: state.stores.clone(),
            publisher: Arc::clone(&state.publisher),
            vault: Arc::clone(&state.vault),
            links: Arc::clone(&state.media_links),
            presigned: None,
            probe: None,
            link_ttl: state.config.media_publish_ttl,
            clock: Arc::clone(&state.clock),
        }
    }

    /// Connects, migrates and builds every collaborator from `config`, for a worker process
    /// without the HTTP API (`kraftsoci-server worker`).
    ///
    /// # Errors
    /// [`Error::Database`]/[`Error::Migration`] when storage is not ready, [`Error::Setup`]
    /// for the media store, the token vault or the publisher.
    pub async fn from_config(config: &Config) -> Result<Self, Error> {
        Self::from_config_observed(config, None).await
    }

    /// As [`WorkerDeps::from_config`], the publisher's calls counted in `metrics`.
    ///
    /// # Errors
    /// As [`WorkerDeps::from_config`].
    pub async fn from_config_observed(
        config: &Config,
        metrics: Option<&Arc<Metrics>>,
    ) -> Result<Self, Error> {
        let setup = |what: &'static str| move |source: anyhow::Error| Error::Setup { what, source };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let stores = store::connect_with(
            &config.database_url,
            Arc::clone(&clock),
            config.worker.connections(),
        )
        .await?;
        stores.database.migrate().await?;
        let media = crate::media::from_config(&config.media_url).map_err(setup("media store"))?;
        let links = Arc::new(providers::media_links(config, Arc::clone(&clock)));
        let vault = Arc::new(providers::vault(&config.token_keys).map_err(setup("token vault"))?);
        let meta = providers::meta_client(config).map_err(setup("meta client"))?;
        let publisher = providers::publisher(
            config,
            meta.as_ref(),
            &stores.sandbox,
            &media,
            &links,
            &clock,
        )
        .map_err(setup("publisher"))?;
        let publisher = match metrics {
            Some(metrics) => ObservedPublisher::wrap(
                publisher,
                if config.sandbox { "sandbox" } else { "graph" },
                Arc::clone(metrics),
            ),
            None => publisher,
        };
        Ok(Self {
            stores,
            publisher,
            vault,
            links,
            presigned: presigned(config).map_err(setup("media presigner"))?,
            probe: probe(config).map_err(setup("media probe"))?,
            link_ttl: config.media_publish_ttl,
            clock,
        })
    }
}

impl crate::worker::GenerationWorker {
    /// Builds the generation worker of a worker process without the HTTP API (`kraftsoci-server
    /// worker`): the post flow over `stores` with the configured generators, quota and media
    /// store, as `serve` builds it.
    ///
    /// # Errors
    /// [`Error::Setup`] for the media store, the generators or billing.
    pub fn from_config(
        config: &Config,
        stores: &store::Stores,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        Self::from_config_observed(config, stores, clock, None)
    }

    /// As [`Self::from_config`], the generators' steps and the OpenAI and Stripe
    /// calls counted in `metrics`.
    ///
    /// # Errors
    /// As [`Self::from_config`].
    pub fn from_config_observed(
        config: &Config,
        stores: &store::Stores,
        clock: Arc<dyn Clock>,
        metrics: Option<&Arc<Metrics>>,
    ) -> Result<Self, Error> {
        use crate::posts::{FlowPorts, FlowSettings, PostFlow};
        let setup = |what: &'static str| move |source: anyhow::Error| Error::Setup { what, source };
        let media = crate::media::from_config(&config.media_url).map_err(setup("media store"))?;
        let (generator, images) =
            providers::generators(config, metrics).map_err(setup("generators"))?;
        let (generator, images) = match metrics {
            Some(metrics) => (
                ObservedGenerator::text(generator, Arc::clone(metrics)),
                ObservedGenerator::images(images, Arc::clone(metrics)),
            ),
            None => (generator, images),
        };
        let billing = crate::billing::Billing::from_config_observed(
            config,
            Arc::clone(&stores.billing),
            Arc::clone(&stores.quota),
            Arc::clone(&stores.intents),
            Arc::clone(&clock),
            metrics.cloned(),
        )
        .map_err(|e| setup("billing")(e.into()))?;
        let flow = Arc::new(PostFlow::new(
            FlowPorts {
                posts: Arc::clone(&stores.posts),
                accounts: Arc::clone(&stores.accounts),
                profiles: Arc::clone(&stores.profiles),
                connections: Arc::clone(&stores.connections),
                entitlements: billing.entitlements(),
                generator,
                images,
                media,
                clock: Arc::clone(&clock),
                generation: Arc::clone(&stores.generation),
            },
            FlowSettings {
                sandbox: config.sandbox,
                daily_publish_limit: config.daily_publish_limit,
            },
        ));
        let notifier = crate::notify::Notifier::new(stores, Arc::clone(&clock));
        Ok(Self::new(
            flow,
            Arc::clone(&stores.generation),
            clock,
            config.worker.clone(),
        )
        .with_notifier(notifier))
    }
}
