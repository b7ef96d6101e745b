//! What every handler can reach.

use std::sync::Arc;

use kraftsoci_core::ports::{
    ContentGenerator, Entitlements, ImageGenerator, Mailer, MediaStore, SocialPublisher,
};
use kraftsoci_core::{Clock, TokenVault};
use kraftsoci_meta::MetaClient;

use crate::auth::{AuthLimits, AuthService};
use crate::billing::Billing;
use crate::config::Config;
use crate::media_links::MediaLinks;
use crate::posts::{InstagramConnect, PostFlow};
use crate::store::Stores;
use crate::usage_log::UsageWriter;

/// The application state: configuration, ports and services ([`AppServices`], read through
/// `Deref`: `state.config`, `state.stores`…), shared behind one `Arc`.
///
/// axum clones the state for every extractor and middleware of every request, so a clone must
/// cost one reference count, not one per service: with the services as fields of the state
/// itself, a clone and its drop touched some forty shared reference counts each (`Stores` is
/// an `Arc` per port), several times per request, and showed in the `GET /v1/me` profile
/// (issue 17).
#[derive(Clone)]
pub struct AppState(Arc<AppServices>);

impl AppState {
    /// The state over `services`.
    pub fn new(services: AppServices) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppServices;

    fn deref(&self) -> &AppServices {
        &self.0
    }
}

/// What the [`AppState`] holds.
///
/// Extension points: a feature adds its service here (e.g. `publisher: Arc<dyn
/// SocialPublisher>`, `generator: Arc<dyn ContentGenerator>`, `billing: Arc<dyn
/// BillingProvider>`), builds it in [`ApplicationBuilder::build`](crate::ApplicationBuilder)
/// from configuration, and lets tests replace it through the builder.
pub struct AppServices {
    /// The configuration.
    pub config: Arc<Config>,
    /// The storage ports, one handle each.
    pub stores: Stores,
    /// Where time comes from (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Image bytes.
    pub media: Arc<dyn MediaStore>,
    /// Authentication.
    pub auth: Arc<AuthService>,
    /// Rate limits of the auth routes.
    pub limits: Arc<AuthLimits>,
    /// Signed, expiring links to stored media (`GET /media/{token}`), for previews and for
    /// Meta's fetcher.
    pub media_links: Arc<MediaLinks>,
    /// Instagram publishing: the sandbox publisher in sandbox mode, else the Graph adapter.
    pub publisher: Arc<dyn SocialPublisher>,
    /// Caption, hashtags and alt text (offline in sandbox mode, else OpenAI).
    pub generator: Arc<dyn ContentGenerator>,
    /// Images (offline in sandbox mode, else OpenAI).
    pub images: Arc<dyn ImageGenerator>,
    /// Plan quotas: reserve before generating, commit or release after. By default
    /// `Billing::entitlements`: the stored subscription, the plan table and the database
    /// ledger.
    pub entitlements: Arc<dyn Entitlements>,
    /// Plans, Stripe checkout and portal, webhooks and the billing overview.
    pub billing: Arc<Billing>,
    /// Encryption of OAuth tokens at rest (P10, P22).
    pub vault: Arc<TokenVault>,
    /// The Facebook Login and Graph client, when the Meta app is configured.
    pub meta: Option<Arc<MetaClient>>,
    /// The consent-gated post flow.
    pub posts: Arc<PostFlow>,
    /// Connecting and disconnecting Instagram accounts.
    pub instagram: Arc<InstagramConnect>,
    /// The usage log's batching writer (its drop count is an operational metric).
    pub usage: UsageWriter,
    /// Whether the process is draining (`/readyz` answers 503 once it is).
    pub readiness: Readiness,
    /// The request series of `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Whether the process still takes new work. Shutdown flips it at once, before the listener
/// stops, so `/readyz` tells the load balancer to route elsewhere while requests in progress
/// finish.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<std::sync::atomic::AtomicBool>);

impl Readiness {
    /// Marks the process as draining (for good).
    pub fn start_draining(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for AppServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppServices")
            .field("config", &self.config)
            .field("stores", &self.stores)
            .field("auth", &self.auth)
            .field("media_links", &self.media_links)
            .field("meta", &self.meta)
            .field("usage", &self.usage)
            .finish_non_exhaustive()
    }
}
