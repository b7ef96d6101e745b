//! The OpenAPI document is self-contained, unambiguous and complete, whatever routes are added:
//! every `$ref` resolves, every operation has a unique `operationId` that generators can name a
//! method after, every `{parameter}` of a path is declared, every operation documents the
//! statuses the shared extractors can answer, every error answer is the error envelope, every
//! request body has an example, and every link leads to an operation and its parameters. (CI
//! also runs openapi-spec-validator on `kraftsoci-server openapi`, and Schemathesis against a
//! running server: `.ci/schemathesis`.)

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

fn document() -> Value {
    super::openapi()
}

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if ["get", "put", "post", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                found.push((path.clone(), method.clone(), operation));
            }
        }
    }
    found
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    let missing: BTreeSet<&str> = targets
        .into_iter()
        .filter(|target| {
            let Some(pointer) = target.strip_prefix('#') else {
                return true; // no external documents: the file must stand alone
            };
            doc.pointer(pointer).is_none()
        })
        .collect();
    assert!(missing.is_empty(), "unresolved references: {missing:?}");
}

#[test]
fn every_operation_has_a_unique_operation_id() {
    let doc = document();
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, method, operation) in operations(&doc) {
        let id = operation["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        seen.entry(id.to_owned())
            .or_default()
            .push(format!("{method} {path}"));
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, uses)| uses.len() > 1).collect();
    assert!(
        duplicates.is_empty(),
        "operationIds used twice: {duplicates:?}"
    );
}

#[test]
fn every_path_parameter_is_declared() {
    let doc = document();
    for (path, method, operation) in operations(&doc) {
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(declared, in_path, "{method} {path}");
    }
}

/// An operation's answer for `status`, with a `$ref` to a shared answer followed.
fn answer<'a>(doc: &'a Value, operation: &'a Value, status: &str) -> Option<&'a Value> {
    let response = operation["responses"].get(status)?;
    match response["$ref"].as_str() {
        Some(target) => doc.pointer(target.strip_prefix('#')?),
        None => Some(response),
    }
}

#[test]
fn the_document_is_openapi_3_1_with_the_bearer_scheme_and_the_shared_answers() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for name in [
        "BadRequest",
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "Conflict",
        "PayloadTooLarge",
        "UnsupportedMediaType",
        "Unprocessable",
        "RateLimited",
        "Unavailable",
    ] {
        let shared = &doc["components"]["responses"][name];
        assert_eq!(
            shared["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{name}"
        );
        assert!(
            shared["description"]
                .as_str()
                .is_some_and(|d| d.contains('`')),
            "{name} names its codes"
        );
    }
    for name in ["RateLimited", "Unavailable"] {
        assert!(
            doc["components"]["responses"][name]["headers"]
                .get("Retry-After")
                .is_some()
        );
    }
    assert!(
        doc["components"]["responses"]["Unauthorized"]["headers"]
            .get("WWW-Authenticate")
            .is_some()
    );
}

#[test]
fn every_operation_documents_what_the_shared_extractors_can_answer() {
    let doc = document();
    for (path, method, operation) in operations(&doc) {
        let mut expected: Vec<&str> = Vec::new();
        if let Some(content) = operation["requestBody"]["content"].as_object() {
            expected.extend(["400", "413", "415"]);
            if content.contains_key("application/json") {
                expected.push("422");
            }
        }
        let parameters = operation["parameters"].as_array();
        let has = |place: &str| parameters.is_some_and(|ps| ps.iter().any(|p| p["in"] == place));
        if has("query") {
            expected.push("400");
        }
        if has("path") {
            expected.push("404");
        }
        if operation["security"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s.as_object().is_some_and(|s| !s.is_empty()))
        }) {
            expected.push("401");
        }
        if path.starts_with("/v1/") {
            expected.push("503");
        }
        if path.starts_with("/v1/auth/") {
            expected.push("429");
        }
        for status in expected {
            assert!(
                answer(&doc, operation, status).is_some(),
                "{method} {path} does not document {status}"
            );
        }
    }
}

#[test]
fn every_error_answer_is_the_error_envelope_and_every_answer_is_described() {
    let doc = document();
    for (path, method, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().expect("responses");
        assert!(!responses.is_empty(), "{method} {path} has no answers");
        for (status, _) in responses {
            let response = answer(&doc, operation, status).expect("the answer resolves");
            assert!(
                response["description"].as_str().is_some(),
                "{method} {path} {status} has no description"
            );
            let Some(json) = response["content"].get("application/json") else {
                continue; // HTML pages and the data-deletion form's pages
            };
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    json["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
}

#[test]
fn every_request_body_has_an_example() {
    let doc = document();
    for (path, method, operation) in operations(&doc) {
        for (media, content) in operation["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let schema = match content["schema"]["$ref"].as_str() {
                Some(target) => doc.pointer(target.strip_prefix('#').unwrap()).unwrap(),
                None => &content["schema"],
            };
            if schema["type"] == "string" {
                continue; // a raw body (the Stripe webhook's signed bytes)
            }
            assert!(
                content.get("example").is_some()
                    || schema.get("example").is_some()
                    || schema.get("examples").is_some(),
                "{method} {path} ({media}) has no example"
            );
        }
    }
}

#[test]
fn every_link_leads_to_an_operation_and_one_of_its_parameters() {
    let doc = document();
    let by_id: BTreeMap<&str, &Value> = operations(&doc)
        .into_iter()
        .filter_map(|(_, _, op)| Some((op["operationId"].as_str()?, op)))
        .collect();
    let mut links = 0;
    for (path, method, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().unwrap() {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                links += 1;
                let target = link["operationId"]
                    .as_str()
                    .expect("links name an operationId");
                let target_op = by_id.get(target).unwrap_or_else(|| {
                    panic!("{method} {path} {status}: link {name} leads to no operation")
                });
                for (parameter, expression) in link["parameters"].as_object().unwrap() {
                    assert!(
                        target_op["parameters"]
                            .as_array()
                            .is_some_and(|ps| ps.iter().any(|p| p["name"] == *parameter)),
                        "link {name} sets {parameter}, which {target} does not take"
                    );
                    let expression = expression.as_str().unwrap();
                    let pointer = expression
                        .strip_prefix("$response.body#")
                        .unwrap_or_else(|| panic!("{expression}"));
                    // The pointer's first step is a property of the answer's schema.
                    let first = pointer.trim_start_matches('/').split('/').next().unwrap();
                    let schema = &response["content"]["application/json"]["schema"];
                    let schema = match schema["$ref"].as_str() {
                        Some(target) => doc.pointer(target.strip_prefix('#').unwrap()).unwrap(),
                        None => schema,
                    };
                    // A flattened struct is an `allOf` of its parts: the property is in one.
                    let has = |schema: &Value| {
                        let schema = match schema["$ref"].as_str() {
                            Some(target) => doc.pointer(target.strip_prefix('#').unwrap()).unwrap(),
                            None => schema,
                        };
                        schema["properties"].get(first).is_some()
                    };
                    let found = has(schema)
                        || schema["allOf"]
                            .as_array()
                            .is_some_and(|parts| parts.iter().any(has))
                        || (schema["type"] == "array" && first.parse::<usize>().is_ok());
                    assert!(
                        found,
                        "link {name} of {method} {path} reads {pointer}, which the answer does not have"
                    );
                }
            }
        }
    }
    // Posts (from generation, the list and the preview), notices and accounts at least.
    assert!(links >= 5 * 3 + 3 + 2, "only {links} links");
    let generate = by_id["posts_generate"];
    let from_generation: BTreeSet<&str> = generate["responses"]["202"]["links"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|l| l["operationId"].as_str())
        .collect();
    for target in [
        "posts_preview",
        "posts_edit",
        "posts_publish",
        "posts_withdraw",
        "posts_remove",
        "posts_events",
        "posts_regenerate",
    ] {
        assert!(
            from_generation.contains(target),
            "posts_generate does not lead to {target}"
        );
    }
    let publish = by_id["posts_publish"]["responses"]["202"]["links"]
        .as_object()
        .unwrap();
    assert!(
        publish
            .values()
            .any(|l| l["operationId"] == "posts_consent")
    );
}

#[test]
fn post_statuses_are_cores_list() {
    let doc = document();
    let documented: Vec<&str> = doc["components"]["schemas"]["PostStatus"]["enum"]
        .as_array()
        .expect("the PostStatus schema is an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let core: Vec<&str> = kraftsoci_core::PostStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(documented, core);
    let list = operations(&doc)
        .into_iter()
        .find(|(_, _, op)| op["operationId"] == "posts_list")
        .unwrap()
        .2;
    let status = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "status")
        .unwrap();
    assert!(
        status["schema"]
            .to_string()
            .contains("#/components/schemas/PostStatus")
    );
}

#[test]
fn the_constraints_the_server_enforces_are_in_the_schemas() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let topic = &schemas["GenerateBody"]["properties"]["topic"];
    assert_eq!(topic["minLength"], 3);
    assert!(topic["pattern"].as_str().unwrap().contains("{1,498}"));
    assert!(
        schemas["PublishBody"]["properties"]["content_hash"]["pattern"]
            .as_str()
            .unwrap()
            .contains("{64}")
    );
    assert_eq!(
        schemas["PublishBody"]["properties"]["instagram_account_id"]["format"],
        "uuid"
    );
    let notices = operations(&doc)
        .into_iter()
        .find(|(_, _, op)| op["operationId"] == "policy_list_notices")
        .unwrap()
        .2;
    let limit = &notices["parameters"][0]["schema"];
    assert_eq!(
        (limit["minimum"].as_u64(), limit["maximum"].as_u64()),
        (Some(1), Some(100))
    );
    for name in ["SignupRequest", "ProfileDto", "AccountPatch", "EditBody"] {
        for (field, property) in schemas[name]["properties"].as_object().unwrap() {
            let text =
                property["type"] == "string" || property["type"].to_string().contains("\"string\"");
            if text && property.get("format").is_none() && property.get("$ref").is_none() {
                assert!(
                    property.get("pattern").is_some() || property.get("minLength").is_some(),
                    "{name}.{field} is free text in the schema but checked by the server"
                );
            }
        }
    }
}
