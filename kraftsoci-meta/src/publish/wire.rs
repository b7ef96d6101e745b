//! The shapes of the Graph API's answers the publishing calls read, and the checks on them.

use super::*;

pub(crate) type Params = Vec<(&'static str, String)>;

#[derive(Deserialize)]
pub(crate) struct IdResponse {
    #[serde(default)]
    pub(super) id: Option<Value>,
    /// The upload address of a resumable container.
    #[serde(default)]
    pub(crate) uri: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct StatusResponse {
    pub(super) status_code: Option<String>,
    pub(super) status: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct QuotaResponse {
    #[serde(default)]
    pub(super) data: Vec<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
pub(super) struct PermalinkResponse {
    pub(super) permalink: Option<String>,
}

pub(super) fn id_of(call: &'static str, response: IdResponse) -> Result<String, MetaError> {
    let id = match response.id {
        Some(Value::String(id)) => id,
        // IDs are documented as strings; a number is tolerated without losing digits.
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match checked_id("id", &id) {
        Ok(_) => Ok(id),
        Err(_) => Err(MetaError::UnexpectedResponse {
            call,
            detail: "no usable id in the answer".to_owned(),
        }),
    }
}

/// A non-negative count sent as a number or a numeric string.
pub(super) fn count(value: Option<&Value>) -> Option<u32> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
