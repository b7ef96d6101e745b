//! # kraftsoci-meta
//!
//! A safe client of the Instagram Graph API with Facebook Login (`graph.facebook.com`), and
//! [`GraphPublisher`], the adapter behind `kraftsoci-core`'s `SocialPublisher` port.
//!
//! - **Login**: [`MetaClient::login_url`] (caller-supplied `state`, exactly the five publishing
//!   scopes), [`LoginCallback::parse`], [`MetaClient::exchange_code`],
//!   [`MetaClient::exchange_long_lived`], [`MetaClient::debug_token`],
//!   [`MetaClient::check_permissions`], [`MetaClient::instagram_accounts`].
//! - **Publishing**: images, carousels, reels and stories ([`MediaSpec`]); containers polled
//!   with capped, jittered backoff; the quota read from Meta (never hard-coded); and
//!   `media_publish` **never retried blindly**: ambiguous failures are resolved by reading the
//!   container, so a retry never posts twice.
//! - **Video from your own storage**: resumable uploads (`rupload`) for reels and video
//!   stories ([`MetaClient::publish_video_file`], [`MetaClient::upload_video`]): the file is
//!   streamed with progress reported to a callback, resumed from the offset Meta reports after
//!   an interruption, and refused if it changes mid-way. The `video_url` path stays for videos
//!   already at a public URL.
//! - **The `SocialPublisher` adapter** ([`GraphPublisher`]): one request per port call, the
//!   answer only classified (core's orchestrator owns the policy); a post confirmed by its
//!   container is found again in the account's media by caption and publish time
//!   ([`MetaClient::find_media`]).
//! - **Errors**: Meta's envelope parsed leniently and classified by a static table into an
//!   [`ErrorKind`] a caller acts on, keeping `code`, `error_subcode` and `fbtrace_id`.
//! - **Limits**: `X-App-Usage` and `X-Business-Use-Case-Usage` are parsed ([`Usage`]); the client
//!   slows down above a threshold and stops calling while Meta says a token is throttled.
//! - **Callbacks**: [`verify_signed_request`] (data deletion, deauthorize),
//!   [`WebhookSubscription::verify`] and [`verify_webhook_signature`].
//!
//! Tokens travel only in the `Authorization` header, with an [`appsecret_proof`] whenever the
//! app secret is configured. Secrets are [`secrecy::SecretString`]s and never appear in `Debug`
//! output, logs or errors. Every host is configurable ([`MetaConfig::with_graph_base_url`],
//! [`MetaConfig::with_rupload_base_url`]), which is how the test suite runs against wiremock.
//!
//! ## Your HTTP client, timeouts and TLS
//!
//! [`MetaClient::with_http_client`] sends every request through a `reqwest::Client` you built
//! (proxies, TLS roots, connection pools), as async-openai's `Client::with_http_client` does.
//! The deadlines (30 s per Graph call, 120 s for `media_publish`, 15 minutes per upload
//! request) are set on each request, so they hold with your client too; the built-in client
//! adds a 10 s connect timeout and follows no redirect. See [`MetaClient`]'s documentation.
//!
//! The built-in client speaks TLS through rustls, with the crypto provider a feature selects:
//!
//! | feature | provider |
//! |---|---|
//! | `rustls-ring` (default) | *ring* |
//! | `rustls-aws-lc` | aws-lc-rs (wins when both are enabled) |
//!
//! The provider is given to that client's TLS configuration, never installed process-wide, and
//! the platform's certificate verifier checks Meta's certificates.
//!
//! ## Stability
//!
//! Error enums, kinds and the structs the client hands out are `#[non_exhaustive]`, and the
//! configuration types have private fields behind constructors and `with_*` setters, so that
//! a minor release can add a variant, a field or a setting.
//!
//! ## Dependencies
//!
//! 140 crates besides this one with the default features (`cargo tree -p kraftsoci-meta -e
//! normal --prefix none`, unique), 141 with `rustls-aws-lc` instead; with the default
//! features no aws-lc-rs is built at all.
//!
//! ## Quick start
//!
//! ```
//! use std::time::Duration;
//!
//! use kraftsoci_meta::{LoginCallback, MetaClient, MetaConfig};
//! use secrecy::SecretString;
//! use url::Url;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = MetaConfig::new(
//!     "1234567890",
//!     SecretString::from("app-secret"),
//!     Url::parse("https://kraftsoci.example/connect/instagram/callback")?,
//! );
//! let client = MetaClient::new(config)?;
//!
//! // 1. Send the owner to Facebook Login with an unguessable state you keep in the session.
//! let url = client.login_url("state-from-the-session")?;
//! assert!(url.as_str().starts_with("https://www.facebook.com/v25.0/dialog/oauth?"));
//!
//! // 2. Facebook redirects back; check the state and take the one-time code.
//! let callback = LoginCallback::parse("code=AQDx&state=state-from-the-session#_=_",
//!                                     "state-from-the-session")?;
//!
//! // 3. Then, server-side (async):
//! //    let short = client.exchange_code(&callback.code).await?;
//! //    let long = client.exchange_long_lived(&short.token).await?;
//! //    client.check_permissions(&long.token).await?;
//! //    let found = client.instagram_accounts(&long.token).await?;
//! # let _ = (callback, Duration::ZERO);
//! # Ok(())
//! # }
//! ```
//!
//! Publishing one image with a Page token (the whole flow, each step guarded):
//!
//! ```no_run
//! use kraftsoci_core::IgUserId;
//! use kraftsoci_core::ports::PublishAccount;
//! use kraftsoci_meta::{ImagePost, MediaSpec, MetaClient, MetaConfig};
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = MetaClient::new(
//!     MetaConfig::token_only().with_app_secret(SecretString::from("app-secret")),
//! )?;
//! let account = PublishAccount {
//!     ig_user_id: IgUserId::parse("17841405822304914")?,
//!     access_token: SecretString::from("EAA…page token…"),
//! };
//! let post = ImagePost::new("https://cdn.example/simit.jpg")
//!     .with_caption("Fresh simit, straight from the oven #simit")
//!     .with_alt_text("Sesame bread rings on a tray");
//! let published = client.publish(&account, &MediaSpec::Image(post)).await?;
//! println!("{:?} {:?}", published.result, published.permalink);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod accounts;
mod callbacks;
mod classify;
mod client;
mod config;
mod error;
mod media;
mod oauth;
mod poll;
mod publish;
mod publisher;
mod tls;
mod upload;
mod usage;

pub use accounts::{InstagramAccount, InstagramAccounts, PageWithoutInstagram};
pub use callbacks::{
    DataDeletionResponse, MAX_CLOCK_SKEW, MAX_SIGNED_REQUEST_LEN, SignedRequest,
    WebhookSubscription, verify_signed_request, verify_webhook_signature,
};
pub use client::{MetaClient, appsecret_proof};
pub use config::{
    DEFAULT_API_VERSION, DEFAULT_DIALOG_BASE_URL, DEFAULT_GRAPH_BASE_URL, DEFAULT_RUPLOAD_BASE_URL,
    DEFAULT_SCOPES, MetaConfig, PollPolicy, PublishPolicy, REQUIRED_PERMISSIONS, UploadPolicy,
    UsagePolicy,
};
pub use error::{CallbackRejection, ErrorKind, GraphError, MetaError};
pub use media::MEDIA_FIELDS;
pub use oauth::{
    AccessToken, GranularScope, LoginCallback, LoginOptions, Permissions, TokenExpiry, TokenInfo,
    TokenProblem,
};
pub use poll::Readiness;
pub use publish::{
    CarouselItem, CarouselPost, ImagePost, MAX_ALT_TEXT_CHARS, MAX_CAPTION_CHARS,
    MAX_CAROUSEL_ITEMS, MAX_COLLABORATORS, MIN_CAROUSEL_ITEMS, MediaSpec, Published, ReelPost,
    StoryMedia, StoryPost, UserTag,
};
pub use publisher::GraphPublisher;
pub use upload::{
    MAX_REEL_BYTES, MAX_STORY_VIDEO_BYTES, ReelUpload, ResumableVideo, StoryUpload, UploadProgress,
    UploadStatus, VideoFile,
};
pub use usage::{AppUsage, BusinessUsage, BusinessUseCaseUsage, Usage};
