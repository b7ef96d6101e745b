//! The collaborators of the post flow, built from configuration: the token vault, the Meta
//! client, the publisher (sandbox or Graph) and the generators (offline or OpenAI). The
//! entitlements come from [`crate::billing`].

use std::sync::Arc;

use base64::Engine as _;
use kraftsoci_ai::{OfflineGenerator, OpenAiConfig, OpenAiGenerator};
use kraftsoci_core::ports::{ContentGenerator, ImageGenerator, MediaStore, SocialPublisher};
use kraftsoci_core::{Clock, KeyRing, TokenVault};
use kraftsoci_meta::{GraphPublisher, MetaClient, MetaConfig};
use secrecy::{ExposeSecret as _, SecretString};

use crate::config::{Config, TokenKeys};
use crate::media_links::MediaLinks;
use crate::metrics::{Metrics, ObservedOpenAi};
use crate::sandbox::SandboxPublisher;
use crate::store::SandboxStore;

/// The token vault over `KRAFTSOCI_TOKEN_KEYS` (P22).
///
/// # Errors
/// When the ring cannot be built (the configuration already checked its format).
pub fn vault(keys: &TokenKeys) -> anyhow::Result<TokenVault> {
    let mut value = String::new();
    for (id, key) in keys.iter() {
        if !value.is_empty() {
            value.push(',');
        }
        value.push_str(&format!(
            "{id}:{}",
            base64::engine::general_purpose::STANDARD.encode(key.expose_secret())
        ));
    }
    let ring = KeyRing::parse(&SecretString::from(value))?;
    Ok(TokenVault::new(ring))
}

/// The signed media links of `config` (their own key, or one derived from the JWT secret).
pub fn media_links(config: &Config, clock: Arc<dyn Clock>) -> MediaLinks {
    match &config.media_signing_key {
        Some(key) => MediaLinks::new(key, config.public_url.clone(), clock),
        None => MediaLinks::derived_from(&config.jwt_secret, config.public_url.clone(), clock),
    }
}

fn meta_config(config: &Config) -> MetaConfig {
    let base = match (&config.meta.app_id, &config.meta.app_secret) {
        (Some(id), Some(secret)) => {
            MetaConfig::new(id.clone(), secret.clone(), config.meta.redirect_uri.clone())
        }
        (_, Some(secret)) => MetaConfig::token_only().with_app_secret(secret.clone()),
        _ => MetaConfig::token_only(),
    };
    base.with_graph_base_url(config.meta.graph_url.clone())
        .with_dialog_base_url(config.meta.dialog_url.clone())
        .with_api_version(config.meta.graph_version.clone())
}

/// The Facebook Login client, when the app is configured (`META_APP_ID` and
/// `META_APP_SECRET`).
///
/// # Errors
/// When the Meta configuration is unusable.
pub fn meta_client(config: &Config) -> anyhow::Result<Option<Arc<MetaClient>>> {
    if config.meta.app_id.is_none() || config.meta.app_secret.is_none() {
        return Ok(None);
    }
    Ok(Some(Arc::new(MetaClient::new(meta_config(config))?)))
}

/// The publisher: the sandbox's in sandbox mode, else the Graph adapter.
///
/// # Errors
/// When the Meta configuration is unusable.
pub fn publisher(
    config: &Config,
    meta: Option<&Arc<MetaClient>>,
    sandbox: &Arc<dyn SandboxStore>,
    media: &Arc<dyn MediaStore>,
    links: &MediaLinks,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn SocialPublisher>> {
    if config.sandbox {
        return Ok(Arc::new(SandboxPublisher::new(
            Arc::clone(sandbox),
            Arc::clone(media),
            links.clone(),
            Arc::clone(clock),
            config.public_url.clone(),
            config.daily_publish_limit,
        )));
    }
    let client = match meta {
        Some(client) => client.as_ref().clone(),
        None => MetaClient::new(meta_config(config))?,
    };
    Ok(Arc::new(GraphPublisher::new(client)))
}

/// The text and image generators: offline in sandbox mode (or without `OPENAI_API_KEY` in
/// development), OpenAI otherwise, its calls counted in `metrics` when given.
///
/// # Errors
/// When the OpenAI configuration is unusable.
pub fn generators(
    config: &Config,
    metrics: Option<&Arc<Metrics>>,
) -> anyhow::Result<(Arc<dyn ContentGenerator>, Arc<dyn ImageGenerator>)> {
    match (&config.openai.api_key, config.sandbox) {
        (Some(key), false) => {
            let base = config
                .openai
                .base_url
                .as_str()
                .trim_end_matches('/')
                .to_owned();
            let openai = Arc::new(OpenAiGenerator::new(
                OpenAiConfig::new(key.clone()).with_base_url(base),
            )?);
            match metrics {
                Some(metrics) => {
                    let observed = Arc::new(ObservedOpenAi::new(openai, Arc::clone(metrics)));
                    Ok((observed.clone(), observed))
                }
                None => Ok((openai.clone(), openai)),
            }
        }
        (None, false) => {
            tracing::warn!("OPENAI_API_KEY is not set: posts are written by the offline generator");
            let offline = Arc::new(OfflineGenerator::new());
            Ok((offline.clone(), offline))
        }
        (_, true) => {
            let offline = Arc::new(OfflineGenerator::new());
            Ok((offline.clone(), offline))
        }
    }
}
