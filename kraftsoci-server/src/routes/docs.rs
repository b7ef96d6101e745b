//! `GET /docs`: the API reference, rendered by this server from its own OpenAPI document (the
//! one `/openapi.json` serves), so that it can never disagree with it.
//!
//! A small first-party renderer, not a bundled or CDN-hosted viewer (P07): the page is plain
//! HTML with the site's own stylesheet, no script, and a policy that lets nothing else load.
//! One section per tag, one entry per operation (parameters, request body with its example,
//! every answer with its links), then every schema and shared answer, cross-linked.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use utoipa::OpenApi;

use crate::state::AppState;

/// The page's Content-Security-Policy: the site's stylesheet and nothing else.
pub const DOCS_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                            form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/docs", get(page))
}

/// The OpenAPI description of these routes.
#[derive(OpenApi)]
#[openapi(paths(page))]
pub struct Doc;

static HTML: LazyLock<String> = LazyLock::new(|| {
    render(
        &super::openapi(),
        crate::web::assets::get("app.css").map(|a| a.url.as_str()),
    )
});

/// The API reference as one HTML page (no script; the site's stylesheet).
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, description = "The API reference, as HTML", content_type = "text/html")))]
async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, DOCS_CSP),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        HTML.as_str(),
    )
        .into_response()
}

const METHODS: [&str; 7] = ["get", "put", "post", "patch", "delete", "head", "options"];

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped prose with `code` spans and paragraphs (the subset of Markdown the descriptions
/// use).
fn prose(text: &str) -> String {
    let mut out = String::new();
    for paragraph in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        out.push_str("<p>");
        for (i, part) in paragraph.split('`').enumerate() {
            if i % 2 == 1 {
                let _ = write!(out, "<code>{}</code>", escape(part));
            } else {
                out.push_str(&escape(part).replace("**", ""));
            }
        }
        out.push_str("</p>");
    }
    out
}

fn anchor(kind: &str, name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{kind}-{slug}")
}

/// The target of a local `$ref`, as a link.
fn reference(target: &str) -> String {
    let name = target.rsplit('/').next().unwrap_or(target);
    let kind = if target.contains("/responses/") {
        "response"
    } else {
        "schema"
    };
    format!("<a href=\"#{}\">{}</a>", anchor(kind, name), escape(name))
}

/// A schema in one line: its type, format and constraints, with links to named schemas.
fn summary(schema: &Value) -> String {
    if let Some(target) = schema["$ref"].as_str() {
        return reference(target);
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[combinator].as_array() {
            let joined: Vec<String> = parts.iter().map(summary).collect();
            return joined.join(if combinator == "allOf" {
                " and "
            } else {
                " or "
            });
        }
    }
    let mut out = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    };
    out = escape(&out);
    if let Some(items) = schema.get("items") {
        let _ = write!(out, " of {}", summary(items));
    }
    let mut facts = Vec::new();
    if let Some(format) = schema["format"].as_str() {
        facts.push(escape(format));
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect();
        facts.push(format!("one of {}", values.join(", ")));
    }
    for (key, label) in [
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "min"),
        ("maximum", "max"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
    ] {
        if let Some(value) = schema.get(key) {
            facts.push(format!("{label} {value}"));
        }
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        facts.push(format!("pattern <code>{}</code>", escape(pattern)));
    }
    if !facts.is_empty() {
        let _ = write!(out, " ({})", facts.join("; "));
    }
    out
}

fn example_block(content: &Value) -> String {
    let example = content
        .get("example")
        .or_else(|| content["schema"].get("example"))
        .or_else(|| {
            content["examples"]
                .as_object()
                .and_then(|e| e.values().next())
                .and_then(|e| e.get("value"))
        });
    match example {
        Some(value) => format!(
            "<pre><code>{}</code></pre>",
            escape(&serde_json::to_string_pretty(value).unwrap_or_default())
        ),
        None => String::new(),
    }
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value, doc: &Value) {
    let id = op["operationId"].as_str().unwrap_or_default();
    let _ = write!(
        out,
        "<section id=\"{}\"><h3><code>{} {}</code></h3><p><small>operationId <code>{}</code>{}</small></p>",
        anchor("op", id),
        method.to_uppercase(),
        escape(path),
        escape(id),
        if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
            " · needs <code>Authorization: Bearer …</code>"
        } else {
            ""
        }
    );
    out.push_str(&prose(
        op["description"]
            .as_str()
            .or(op["summary"].as_str())
            .unwrap_or_default(),
    ));
    if let Some(parameters) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        out.push_str("<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th><th>about</th></tr>");
        for p in parameters {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(p["name"].as_str().unwrap_or_default()),
                if p["required"] == true {
                    " (required)"
                } else {
                    ""
                },
                escape(p["in"].as_str().unwrap_or_default()),
                summary(&p["schema"]),
                prose(p["description"].as_str().unwrap_or_default()),
            );
        }
        out.push_str("</table>");
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        out.push_str("<h4>Request body</h4>");
        for (media, body) in content {
            let _ = write!(
                out,
                "<p><code>{}</code>: {}</p>{}",
                escape(media),
                summary(&body["schema"]),
                example_block(body)
            );
        }
    }
    if let Some(responses) = op["responses"].as_object() {
        out.push_str("<h4>Answers</h4><table><tr><th>status</th><th>body</th><th>about</th></tr>");
        for (status, response) in responses {
            let (body, about) = match response["$ref"].as_str() {
                Some(target) => {
                    let shared = doc.pointer(target.trim_start_matches('#'));
                    let about = response["description"]
                        .as_str()
                        .or_else(|| shared.and_then(|s| s["description"].as_str()))
                        .unwrap_or_default();
                    (reference(target), prose(about))
                }
                None => {
                    let body = response["content"]
                        .as_object()
                        .map(|content| {
                            content
                                .iter()
                                .map(|(media, c)| {
                                    let schema = if c.get("schema").is_some() {
                                        format!(" {}", summary(&c["schema"]))
                                    } else {
                                        String::new()
                                    };
                                    format!("<code>{}</code>{schema}", escape(media))
                                })
                                .collect::<Vec<_>>()
                                .join("<br>")
                        })
                        .unwrap_or_default();
                    let mut about = prose(response["description"].as_str().unwrap_or_default());
                    if let Some(links) = response["links"].as_object() {
                        about.push_str("<p>Then:</p><ul>");
                        for link in links.values() {
                            let target = link["operationId"].as_str().unwrap_or_default();
                            let parameters: Vec<String> = link["parameters"]
                                .as_object()
                                .into_iter()
                                .flatten()
                                .map(|(k, v)| {
                                    format!(
                                        "<code>{}</code> = <code>{}</code>",
                                        escape(k),
                                        escape(v.as_str().unwrap_or_default())
                                    )
                                })
                                .collect();
                            let _ = write!(
                                about,
                                "<li><a href=\"#{}\">{}</a> with {}</li>",
                                anchor("op", target),
                                escape(target),
                                parameters.join(", ")
                            );
                        }
                        about.push_str("</ul>");
                    }
                    (body, about)
                }
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{body}</td><td>{about}</td></tr>",
                escape(status)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

fn schema_section(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        out,
        "<section id=\"{}\"><h3>{}</h3>{}",
        anchor("schema", name),
        escape(name),
        prose(schema["description"].as_str().unwrap_or_default())
    );
    match schema["properties"].as_object() {
        Some(properties) => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push_str("<table><tr><th>field</th><th>schema</th><th>about</th></tr>");
            for (field, property) in properties {
                let _ = write!(
                    out,
                    "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(field),
                    if required.contains(&field.as_str()) {
                        " (required)"
                    } else {
                        ""
                    },
                    summary(property),
                    prose(property["description"].as_str().unwrap_or_default())
                );
            }
            out.push_str("</table>");
        }
        None => {
            let _ = write!(out, "<p>{}</p>", summary(schema));
        }
    }
    out.push_str(&example_block(schema));
    out.push_str("</section>");
}

/// The page for `doc`, styled by the stylesheet at `stylesheet`.
pub fn render(doc: &Value, stylesheet: Option<&str>) -> String {
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let mut out = String::from("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} reference</title>",
        escape(title)
    );
    if let Some(href) = stylesheet {
        let _ = write!(out, "<link rel=\"stylesheet\" href=\"{}\">", escape(href));
    }
    let _ = write!(
        out,
        "</head><body><main><h1>{} <small>{}</small></h1>{}<p>The machine-readable document: \
         <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI {}). Authenticated \
         operations take <code>Authorization: Bearer &lt;access_token&gt;</code> from \
         <a href=\"#{}\"><code>POST /v1/auth/login</code></a>.</p>",
        escape(title),
        escape(doc["info"]["version"].as_str().unwrap_or_default()),
        prose(doc["info"]["description"].as_str().unwrap_or_default()),
        escape(doc["openapi"].as_str().unwrap_or_default()),
        anchor("op", "auth_login"),
    );
    let tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or_default().to_owned(),
                t["description"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.push_str("<nav><ul>");
    for (tag, about) in &tags {
        let _ = write!(
            out,
            "<li><a href=\"#{}\">{}</a>: {}</li>",
            anchor("tag", tag),
            escape(tag),
            escape(about)
        );
    }
    out.push_str("<li><a href=\"#schemas\">schemas</a> and <a href=\"#responses\">shared answers</a></li></ul></nav>");
    let paths = doc["paths"].as_object();
    for (tag, about) in &tags {
        let _ = write!(
            out,
            "<section id=\"{}\"><h2>{}</h2>{}",
            anchor("tag", tag),
            escape(tag),
            prose(about)
        );
        for (path, item) in paths.into_iter().flatten() {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let tagged = op["tags"]
                    .as_array()
                    .is_some_and(|t| t.first().and_then(Value::as_str) == Some(tag.as_str()));
                if tagged {
                    operation(&mut out, method, path, op, doc);
                }
            }
        }
        out.push_str("</section>");
    }
    out.push_str("<section id=\"schemas\"><h2>Schemas</h2>");
    for (name, schema) in doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        schema_section(&mut out, name, schema);
    }
    out.push_str("</section><section id=\"responses\"><h2>Shared answers</h2>");
    for (name, response) in doc["components"]["responses"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let _ = write!(
            out,
            "<section id=\"{}\"><h3>{}</h3>{}{}</section>",
            anchor("response", name),
            escape(name),
            prose(response["description"].as_str().unwrap_or_default()),
            example_block(&response["content"]["application/json"])
        );
    }
    out.push_str("</section></main></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> String {
        render(&super::super::openapi(), Some("/static/app.css"))
    }

    #[test]
    fn every_operation_and_schema_has_its_entry_and_every_internal_link_its_target() {
        let html = page();
        let doc = super::super::openapi();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if let Some(id) = op["operationId"].as_str() {
                    assert!(
                        html.contains(&format!("id=\"{}\"", anchor("op", id))),
                        "{id}"
                    );
                }
            }
        }
        for name in doc["components"]["schemas"].as_object().unwrap().keys() {
            assert!(
                html.contains(&format!("id=\"{}\"", anchor("schema", name))),
                "{name}"
            );
        }
        for target in html.split("href=\"#").skip(1) {
            let target = target.split('"').next().unwrap();
            assert!(
                html.contains(&format!("id=\"{target}\"")),
                "#{target} leads nowhere"
            );
        }
    }

    #[test]
    fn the_page_loads_nothing_from_another_origin_and_runs_no_script() {
        let html = page();
        assert!(!html.contains("<script"));
        for attribute in ["src=\"", "href=\""] {
            for value in html.split(attribute).skip(1) {
                let value = value.split('"').next().unwrap();
                assert!(
                    value.starts_with('#') || value.starts_with('/'),
                    "{attribute}{value}\" is not first-party"
                );
            }
        }
    }

    #[test]
    fn text_from_the_document_is_escaped() {
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(prose("use `a<b`"), "<p>use <code>a&lt;b</code></p>");
    }
}
