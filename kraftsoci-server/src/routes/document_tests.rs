//! The OpenAPI document is self-contained and unambiguous, whatever routes are added: every
//! `$ref` resolves, every operation has a unique `operationId` that generators can name a method
//! after, and every `{parameter}` of a path is declared. (CI also runs openapi-spec-validator on
//! `kraftsoci-server openapi`.)

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

fn document() -> Value {
    serde_json::to_value(super::openapi()).expect("the document serialises")
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
