//! The `/moderations` check in front of and behind generation.

use std::collections::BTreeMap;

use async_openai::types::moderations::{CreateModerationRequest, ModerationInput};
use serde::Deserialize;

use super::transport::{Endpoint, Transport};
use super::{Moderation, Timeouts};
use crate::{AiError, ModeratedText};

/// The answer, read leniently: the categories as a name → flagged map, so a category OpenAI
/// adds later is still reported by name (async-openai's `Categories` struct would drop it).
#[derive(Debug, Deserialize)]
struct ModerationReply {
    results: Vec<ModerationResult>,
}

#[derive(Debug, Deserialize)]
struct ModerationResult {
    flagged: bool,
    #[serde(default)]
    categories: BTreeMap<String, Option<bool>>,
}

/// Checks `texts` (all of them in one call); `Err(Flagged)` when any is flagged.
pub(crate) async fn check(
    transport: &Transport,
    config: &Moderation,
    timeouts: &Timeouts,
    subject: ModeratedText,
    texts: Vec<String>,
) -> Result<(), AiError> {
    if !config.is_enabled() {
        return Ok(());
    }
    let expected = texts.len();
    let request = CreateModerationRequest {
        input: ModerationInput::StringArray(texts),
        model: Some(config.model().to_owned()),
    };
    let reply: ModerationReply = transport
        .post(Endpoint::Moderations, &request, timeouts.moderation())
        .await?;
    // Fail closed: an answer that does not cover every input is no clearance.
    if reply.results.len() != expected {
        return Err(AiError::InvalidOutput(format!(
            "moderation answered {} results for {expected} inputs",
            reply.results.len()
        )));
    }
    let mut categories: Vec<String> = Vec::new();
    let mut flagged = false;
    for result in &reply.results {
        flagged |= result.flagged;
        for (name, hit) in &result.categories {
            if *hit == Some(true) && !categories.contains(name) {
                categories.push(name.clone());
            }
        }
    }
    if flagged {
        tracing::info!(%subject, ?categories, "moderation flagged generation input or output");
        return Err(AiError::Flagged {
            subject,
            categories,
        });
    }
    Ok(())
}
