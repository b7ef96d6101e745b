//! What every operation of the OpenAPI document shares, applied once to the merged document so
//! that a route group only writes what is its own.
//!
//! - **Shared error answers** (`#/components/responses/*`): the 400, 401, 403, 404, 409, 413,
//!   415, 422, 429 and 503 a client can meet on many routes, each with the error envelope, the
//!   codes it carries and its headers (`Retry-After`, `WWW-Authenticate`).
//! - **Implied statuses**: what the shared extractors and layers answer, added to every
//!   operation whose shape implies them: a JSON body can be malformed (400), too large (413),
//!   of another type (415) or of the wrong shape (422); query parameters can be malformed
//!   (400); a credential (bearer token, API key) can be missing or revoked (401); a path id can name nothing (404);
//!   the database can be down (503). A route never has to list these, and cannot forget them.
//!   A status the route documents itself keeps its own description (the codes it adds) and
//!   refers to the shared answer for the envelope.
//! - **Links** ([`link`]): from an operation that creates something to the operations that
//!   take its id, so that readers and stateful tools (Schemathesis) can follow a post from its
//!   generation to its publication.
//!
//! The document is edited as JSON: utoipa's types have no notion of "an operation's shape", and
//! the JSON form is what clients read.

use serde_json::{Map, Value, json};

/// The methods an OpenAPI path item can hold.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// Operations the database cannot fail: they are answered from memory.
const NEVER_UNAVAILABLE: [&str; 3] = ["/healthz", "/openapi.json", "/docs"];

/// One shared error answer.
struct Shared {
    status: &'static str,
    name: &'static str,
    description: &'static str,
    /// `(code, example message)`: the first is the example.
    codes: &'static [(&'static str, &'static str)],
    headers: &'static [&'static str],
}

/// The shared answers, by status.
const SHARED: [Shared; 10] = [
    Shared {
        status: "400",
        name: "BadRequest",
        description: "The request cannot be understood: `malformed_json` (the body is not JSON), \
            `unreadable_body` or `invalid_body` (it could not be read), `invalid_query` (a query \
            parameter is malformed or out of range). The route may add its own codes.",
        codes: &[
            ("malformed_json", "The request body is not valid JSON."),
            ("invalid_query", "The query parameters are malformed."),
            ("unreadable_body", "The request body could not be read."),
            ("invalid_body", "The request body could not be read."),
        ],
        headers: &[],
    },
    Shared {
        status: "401",
        name: "Unauthorized",
        description: "`unauthorized`: the bearer token is missing, malformed, expired or revoked \
            (logout, a password change, a closed account). Log in again or refresh.",
        codes: &[("unauthorized", "A valid access token is required.")],
        headers: &["WWW-Authenticate"],
    },
    Shared {
        status: "403",
        name: "Forbidden",
        description: "Authenticated, but refused: `processing_restricted` while the owner has \
            paused this processing (`PUT /v1/me/restrictions`).",
        codes: &[(
            "processing_restricted",
            "This processing is paused by your restriction settings.",
        )],
        headers: &[],
    },
    Shared {
        status: "404",
        name: "NotFound",
        description: "`not_found`: no such resource, or it belongs to someone else (the same \
            answer, so that ids cannot be probed). An id that is not one (not a UUID) is not \
            found either.",
        codes: &[("not_found", "No such resource.")],
        headers: &[],
    },
    Shared {
        status: "409",
        name: "Conflict",
        description: "The request conflicts with the resource's current state: `conflict` (it \
            changed meanwhile; reload and retry). The route may add its own codes.",
        codes: &[(
            "conflict",
            "The resource changed or already exists; reload and try again.",
        )],
        headers: &[],
    },
    Shared {
        status: "413",
        name: "PayloadTooLarge",
        description: "`payload_too_large`: the body is over 1 MiB.",
        codes: &[(
            "payload_too_large",
            "The request body is larger than 1 MiB.",
        )],
        headers: &[],
    },
    Shared {
        status: "415",
        name: "UnsupportedMediaType",
        description: "`unsupported_media_type`: the body is not of the documented type (JSON \
            needs `Content-Type: application/json`).",
        codes: &[(
            "unsupported_media_type",
            "The request body must be JSON (Content-Type: application/json).",
        )],
        headers: &[],
    },
    Shared {
        status: "422",
        name: "Unprocessable",
        description: "The body is JSON but cannot be used: `invalid_body` (a field is missing or \
            of the wrong type), `validation_failed` (values break the rules; `fields` names each \
            field and why). The route may add its own codes.",
        codes: &[
            ("validation_failed", "Some fields are invalid."),
            (
                "invalid_body",
                "The JSON body is missing fields or has fields of the wrong type.",
            ),
        ],
        headers: &[],
    },
    Shared {
        status: "429",
        name: "RateLimited",
        description: "`rate_limited`: too many requests from this address or for this account; \
            retry after `Retry-After` seconds.",
        codes: &[("rate_limited", "Too many requests; try again later.")],
        headers: &["Retry-After"],
    },
    Shared {
        status: "503",
        name: "Unavailable",
        description: "`service_unavailable`: a dependency (the database) is unavailable; \
            `overloaded`: a bounded queue is full, retry after `Retry-After` seconds. The route \
            may add its own codes (a provider that is not configured).",
        codes: &[
            (
                "service_unavailable",
                "The service is temporarily unavailable.",
            ),
            ("overloaded", "The server is busy; try again in a moment."),
        ],
        headers: &["Retry-After"],
    },
];

fn header(name: &str) -> Value {
    match name {
        "Retry-After" => json!({
            "description": "Seconds to wait before retrying (at least 1). Always sent with 429 \
                and `overloaded`.",
            "schema": {"type": "integer", "minimum": 1}
        }),
        _ => json!({
            "description": "`Bearer`, when the token is missing, invalid or revoked.",
            "schema": {"type": "string", "enum": ["Bearer"]}
        }),
    }
}

fn shared_response(shared: &Shared) -> Value {
    let examples: Map<String, Value> = shared
        .codes
        .iter()
        .map(|(code, message)| {
            let mut error = json!({"code": code, "message": message});
            if *code == "validation_failed" {
                error["fields"] = json!({"topic": ["must have at least 3 characters"]});
            }
            ((*code).to_owned(), json!({"value": {"error": error}}))
        })
        .collect();
    let mut response = json!({
        "description": shared.description,
        "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorBody"},
            "examples": examples,
        }},
    });
    if !shared.headers.is_empty() {
        response["headers"] = shared
            .headers
            .iter()
            .map(|name| ((*name).to_owned(), header(name)))
            .collect::<Map<_, _>>()
            .into();
    }
    response
}

/// Whether an inline response is the error envelope (and nothing else), so that the shared
/// answer can stand for it.
fn is_error_envelope(response: &Value) -> bool {
    let Some(content) = response["content"].as_object() else {
        return false;
    };
    content.len() == 1
        && content
            .get("application/json")
            .is_some_and(|media| media["schema"]["$ref"] == "#/components/schemas/ErrorBody")
}

/// The statuses the shared extractors and layers can answer for this operation.
fn implied_statuses(path: &str, operation: &Value) -> Vec<&'static str> {
    let mut statuses = Vec::new();
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        statuses.extend(["400", "413", "415"]);
        if content.contains_key("application/json") {
            statuses.push("422");
        }
    }
    let parameters = operation["parameters"].as_array();
    let has = |place: &str| parameters.is_some_and(|ps| ps.iter().any(|p| p["in"] == place));
    if has("query") {
        statuses.push("400");
    }
    if has("path") {
        statuses.push("404");
    }
    // Any credential (a bearer token, an API key): a missing or revoked one is 401.
    let authenticated = operation["security"].as_array().is_some_and(|schemes| {
        schemes
            .iter()
            .any(|s| s.as_object().is_some_and(|s| !s.is_empty()))
    });
    if authenticated {
        statuses.push("401");
    }
    if !NEVER_UNAVAILABLE.contains(&path) {
        statuses.push("503");
    }
    statuses
}

/// Adds the shared answers to `components.responses`, refers every operation's matching error
/// answers to them (keeping the route's own description), and adds the implied ones.
pub(super) fn share_error_responses(doc: &mut Value) {
    let components = doc
        .as_object_mut()
        .expect("an OpenAPI document is an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    let responses = components
        .as_object_mut()
        .expect("components is an object")
        .entry("responses")
        .or_insert_with(|| json!({}));
    for shared in &SHARED {
        responses[shared.name] = shared_response(shared);
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else {
                continue;
            };
            let implied = implied_statuses(path, operation);
            let responses = operation
                .as_object_mut()
                .expect("an operation is an object")
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("responses is an object");
            for shared in &SHARED {
                let reference = format!("#/components/responses/{}", shared.name);
                match responses.get_mut(shared.status) {
                    Some(own) if is_error_envelope(own) => {
                        let description = own["description"].as_str().unwrap_or_default();
                        let mut refer = json!({"$ref": reference});
                        if !description.is_empty() {
                            refer["description"] = description.into();
                        }
                        *own = refer;
                    }
                    Some(_) => {}
                    None if implied.contains(&shared.status) => {
                        responses.insert(shared.status.to_owned(), json!({"$ref": reference}));
                    }
                    None => {}
                }
            }
        }
    }
}

/// Links the `status` answer of operation `from` to each operation of `to`: its parameter
/// `parameter` takes `expression` (a runtime expression such as `$response.body#/id`).
///
/// One line per creating operation, after the operation ids are final:
/// `link(&mut doc, "posts_generate", "201", "id", "$response.body#/id", &["posts_preview"])`.
/// The document test checks that every link names an existing operation and one of its
/// parameters.
///
/// # Panics
/// When `from` has no such answer: a link to nowhere is a programming error, caught by the
/// document test.
pub fn link(
    doc: &mut Value,
    from: &str,
    status: &str,
    parameter: &str,
    expression: &str,
    to: &[&str],
) {
    let response = operation_mut(doc, from)
        .and_then(|operation| operation["responses"].get_mut(status))
        .filter(|response| response.get("$ref").is_none())
        .unwrap_or_else(|| panic!("{from} has no inline {status} answer to link from"));
    let links = response
        .as_object_mut()
        .expect("a response is an object")
        .entry("links")
        .or_insert_with(|| json!({}));
    for target in to {
        links[*target] = json!({
            "operationId": target,
            "parameters": {parameter: expression},
            "description": format!("`{parameter}` of {target} is `{expression}` of this answer."),
        });
    }
}

fn operation_mut<'a>(doc: &'a mut Value, id: &str) -> Option<&'a mut Value> {
    doc["paths"]
        .as_object_mut()?
        .values_mut()
        .flat_map(|item| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|methods| methods.iter_mut())
        })
        .filter(|(method, _)| METHODS.contains(&method.as_str()))
        .map(|(_, operation)| operation)
        .find(|operation| operation["operationId"] == id)
}

/// White space as Rust's `str::trim` removes it (Unicode `White_Space`), as a regex class body.
const TRIMMED: &str =
    r"\t\n\x0b\x0c\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A character that is neither trimmed nor a control character.
const SOLID: &str = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// The pattern of text the server trims, then requires to hold `min..=max` characters and no
/// control character (but tabs and line breaks inside when `multiline`): what core's
/// `bounded_text` accepts, so that a fuzzer's valid value is one the server takes.
fn text_pattern(min: usize, max: usize, multiline: bool) -> String {
    let inner = if multiline {
        r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
    } else {
        r"[^\x00-\x1f\x7f-\x9f]"
    };
    let pad = format!("[{TRIMMED}]*");
    let body = match (min, max) {
        (_, 0) => String::new(),
        (0 | 1, 1) => format!("(?:{SOLID})"),
        (0 | 1, _) => format!("(?:{SOLID}(?:{inner}{{0,{}}}{SOLID})?)", max - 2),
        (_, _) => format!("{SOLID}{inner}{{{},{}}}{SOLID}", min - 2, max - 2),
    };
    let body = if min == 0 && !body.is_empty() {
        format!("{body}?")
    } else {
        body
    };
    format!("^{pad}{body}{pad}$")
}

fn text_schema(min: usize, max: usize, multiline: bool) -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((min > 0).then_some(min))
        .pattern(Some(text_pattern(min, max, multiline)))
        .build()
}

/// The schema of one line of text that the server trims, then requires to hold `MIN..=MAX`
/// characters without control characters (`#[schema(schema_with = document::line::<1, 100>)]`).
/// There is no `maxLength`: surrounding white space does not count, and the pattern says so.
pub fn line<const MIN: usize, const MAX: usize>() -> utoipa::openapi::Object {
    text_schema(MIN, MAX, false)
}

/// As [`line()`], for text that may hold tabs and line breaks.
pub fn lines<const MIN: usize, const MAX: usize>() -> utoipa::openapi::Object {
    text_schema(MIN, MAX, true)
}

/// As [`lines()`], or `null` (in an edit: the field stays, or is cleared where it says so).
pub fn nullable_lines<const MIN: usize, const MAX: usize>() -> utoipa::openapi::Object {
    nullable(text_schema(MIN, MAX, true))
}

/// As [`line()`], or `null` (in an edit: the field stays).
pub fn nullable_line<const MIN: usize, const MAX: usize>() -> utoipa::openapi::Object {
    nullable(text_schema(MIN, MAX, false))
}

/// As [`email()`], or `null` (in an edit: the address stays).
pub fn nullable_email() -> utoipa::openapi::Object {
    nullable(email())
}

fn nullable(mut schema: utoipa::openapi::Object) -> utoipa::openapi::Object {
    schema.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
        utoipa::openapi::Type::String,
        utoipa::openapi::Type::Null,
    ]);
    schema
}

/// 64 hexadecimal digits (a SHA-256), surrounding white space trimmed as the server does.
pub fn sha256_hex() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^[{TRIMMED}]*[0-9a-fA-F]{{64}}[{TRIMMED}]*$")))
        .examples([json!(
            "9f2c4b1de0a7c3f5b8e6d4a2c1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a392"
        )])
        .build()
}

/// A privacy-policy version label as the server accepts it: 1–64 letters, digits, `.`, `-`
/// or `_`, surrounding white space trimmed.
pub fn policy_version() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .pattern(Some(format!(
            "^[{TRIMMED}]*[A-Za-z0-9._-]{{1,64}}[{TRIMMED}]*$"
        )))
        .examples([json!("2026-01")])
        .build()
}

/// An email address as core's `Email` accepts it (a conservative subset: generators and
/// fuzzers stay inside what the server takes; the server accepts a few more shapes).
pub fn email() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    let atom = r"[!#-'*+\-/-9=?A-Z^-~]{1,30}";
    let label = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            "^[{TRIMMED}]*{atom}(?:\\.{atom})?@{label}(?:\\.{label}){{1,3}}[{TRIMMED}]*$"
        )))
        .examples([json!("ayse@example.com")])
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn text_patterns_accept_what_core_accepts_and_nothing_else() {
        let topic = text_pattern(3, 500, true);
        for ok in ["abc", "  new bread\n", "a\tb", "ğüş", "a b"] {
            assert!(matches(&topic, ok), "{ok:?}");
            assert!(kraftsoci_core::Topic::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "ab",
            "   ",
            " a \n",
            "a\u{7}b",
            &"x".repeat(501),
            "\u{1c}abc",
        ] {
            assert!(!matches(&topic, bad), "{bad:?}");
            assert!(kraftsoci_core::Topic::parse(bad).is_err(), "{bad:?}");
        }
        let name = text_pattern(1, 100, false);
        for ok in ["A", " Ada ", &"x".repeat(100)] {
            assert!(matches(&name, ok), "{ok:?}");
            assert!(kraftsoci_core::PersonName::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in ["", " ", "a\nb", &"x".repeat(101)] {
            assert!(!matches(&name, bad), "{bad:?}");
            assert!(kraftsoci_core::PersonName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
