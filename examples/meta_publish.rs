//! Publishes one image to a real Instagram business account through the Graph API.
//!
//! ```text
//! META_ACCESS_TOKEN=EAA…            # a Page (or user) token with instagram_content_publish
//! META_IG_USER_ID=17841405822304914 # the Instagram business account id
//! META_APP_SECRET=…                 # optional: adds appsecret_proof to every call
//! IMAGE_URL=https://…/photo.jpg     # a public JPEG Meta can fetch
//! CAPTION="Fresh simit #simit"
//! cargo run -p kraftsoci-examples --example meta_publish
//! ```
//!
//! This really posts. It is never run in CI (CI only builds it). Without the variables it
//! prints what is missing and exits with status 2.

use std::process::ExitCode;

use kraftsoci_core::IgUserId;
use kraftsoci_core::ports::{PublishAccount, PublishResult};
use kraftsoci_meta::{ImagePost, MediaSpec, MetaClient, MetaConfig};
use secrecy::SecretString;

const REQUIRED: [&str; 4] = [
    "META_ACCESS_TOKEN",
    "META_IG_USER_ID",
    "IMAGE_URL",
    "CAPTION",
];

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let missing: Vec<&str> = REQUIRED.into_iter().filter(|n| var(n).is_none()).collect();
    if !missing.is_empty() {
        eprintln!(
            "missing environment variables: {}\n\
             set META_ACCESS_TOKEN, META_IG_USER_ID, IMAGE_URL and CAPTION \
             (META_APP_SECRET is optional); this example publishes a real post",
            missing.join(", ")
        );
        return ExitCode::from(2);
    }
    // Present: checked just above.
    let get = |name: &str| var(name).unwrap_or_default();

    let ig_user_id = match IgUserId::parse(get("META_IG_USER_ID")) {
        Ok(id) => id,
        Err(error) => {
            eprintln!("META_IG_USER_ID is not an Instagram user id: {error}");
            return ExitCode::from(2);
        }
    };
    let mut config = MetaConfig::token_only();
    if let Some(secret) = var("META_APP_SECRET") {
        config = config.with_app_secret(SecretString::from(secret));
    }
    let client = match MetaClient::new(config) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot build the Graph client: {error}");
            return ExitCode::FAILURE;
        }
    };
    let account = PublishAccount {
        ig_user_id,
        access_token: SecretString::from(get("META_ACCESS_TOKEN")),
    };
    let post = ImagePost::new(get("IMAGE_URL")).with_caption(get("CAPTION"));

    println!("publishing to {} …", account.ig_user_id.as_str());
    match client.publish(&account, &MediaSpec::Image(post)).await {
        Ok(published) => {
            println!("container: {}", published.container);
            match published.result {
                PublishResult::Published { media_id } => println!("media id:  {media_id}"),
                PublishResult::AlreadyPublished => {
                    println!("published (Meta did not return the media id)");
                }
            }
            match published.permalink {
                Some(permalink) => println!("permalink: {permalink}"),
                None => println!("permalink: not available (the post is live anyway)"),
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("publishing failed: {error}");
            eprintln!("what to do: {:?}", error.kind());
            if let Some(trace) = error.fbtrace_id() {
                eprintln!("fbtrace_id: {trace}");
            }
            ExitCode::FAILURE
        }
    }
}
