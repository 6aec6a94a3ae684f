//! The OpenAPI document of the HTTP surface, served at `GET /openapi.json` and committed as `docs/openapi.json`
//! (a test keeps the copy in step).
//!
//! The router and the document come from the same declarations (`utoipa_axum::routes!` on handlers annotated
//! with `#[utoipa::path]`), so a route cannot be served without being documented. What every operation of a
//! kind has in common is then added here once, from the operation's shape, instead of being repeated (and
//! forgotten) on each handler:
//! - the rules the server enforces on each field (patterns, lengths, ranges), taken from
//!   `klaxon_api::validate`, the code that enforces them;
//! - the errors every operation can answer: 401 where a token is required, 400 where there is a body or a
//!   query, 413 where there is a body, 404 where a path names an object, 422 where a body may refer to one
//!   (a `*_id` or `*_ids` field), 500 everywhere;
//! - list parameters as they are read (optional, never null, `limit` in its range);
//! - for each create, the `Location` of the new object and links to the operations on it, so a client (or
//!   a stateful test) can follow from a create to its reads, updates, actions and delete.

use std::sync::OnceLock;

use axum::{Json, http::header};
use klaxon_api::validate::{self, SchemaRule, rule};
use serde_json::{Map, Value, json};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;

/// The document's fixed parts; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Klaxon API",
        description = "Teams, escalation policies, ingest endpoints, alerts and background jobs of a Klaxon \
            account; the ingest URL that SNS and webhooks deliver to; and the service's health and metrics.\n\n\
            Management calls take `Authorization: Bearer <token>` (an account's API token); every object \
            belongs to one account, and another account's object is answered 404. Errors are \
            `{\"error\": {\"code\", \"message\", \"field\"}}`, `field` naming the offending request field."
    ),
    tags(
        (name = "teams", description = "A Slack channel and the people who answer its alerts."),
        (name = "escalation-policies", description = "Who is paged, in which order, how long apart."),
        (name = "endpoints", description = "Where alerts come in; each has a secret ingest URL."),
        (name = "maintenance-windows", description = "Times when new alerts are posted without paging anyone."),
        (name = "heartbeats", description = "Dead-man's switches: a job pings a secret URL every run; a ping \
            that does not come opens an alert."),
        (name = "alerts", description = "Alerts and notifications, and the buttons' actions."),
        (name = "jobs", description = "Background jobs (escalation timers, Slack calls) and dead letters."),
        (name = "ingest", description = "Where SNS and webhook callers deliver events."),
        (name = "slack", description = "What Slack calls: button presses."),
        (name = "workspace", description = "The Slack workspace an account's alerts go to."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
    ),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// An empty router that collects routes together with their documentation.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
}

/// This module's own route.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", operation_id = "get_openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json",
        body = Object)))]
pub(super) async fn openapi_json() -> ([(header::HeaderName, &'static str); 1], Json<Value>) {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Json(document_value().clone()),
    )
}

/// The finished document, built once.
pub fn document_value() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, api) = super::api().split_for_parts();
        finish(serde_json::to_value(api).unwrap_or_default())
    })
}

/// The document as pretty JSON with a final newline (the form committed in `docs/openapi.json`).
pub fn document() -> String {
    let mut json = serde_json::to_string_pretty(document_value()).unwrap_or_default();
    json.push('\n');
    json
}

/// Adds what operations have in common to the generated document (see the module docs).
fn finish(mut doc: Value) -> Value {
    let mut rules = validate::schema_rules();
    rules.extend(server_rules());
    for r in &rules {
        apply_rule(&mut doc, r);
    }
    add_common_responses(&mut doc);
    let referring = schemas_that_refer(&doc);
    let paths: Vec<String> = doc["paths"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for path in &paths {
        for (_, op) in operations_mut(&mut doc, path) {
            read_queries_as_read(op);
            apply_operation_rules(op);
            add_errors(op, &referring);
        }
    }
    add_create_links(&mut doc, &paths);
    doc
}

/// Rules of the wire types the server alone defines (alerts, simulation bodies are in `validate`).
fn server_rules() -> Vec<SchemaRule> {
    let user = json!({"pattern": validate::SLACK_USER_ID_PATTERN});
    let free_text = json!({"pattern": validate::NO_NUL_PATTERN});
    vec![
        rule(
            "CreateAlertInput",
            "endpoint_id",
            json!({"pattern": validate::ID_PATTERN}),
        ),
        rule(
            "CreateAlertInput",
            "title",
            json!({"minLength": 1, "maxLength": validate::MAX_TITLE_LEN, "pattern": validate::TITLE_PATTERN}),
        ),
        rule("CreateAlertInput", "group_key", free_text.clone()),
        rule("CreateAlertInput", "text", free_text),
        rule("SnoozeInput", "by", user.clone()),
        rule(
            "SnoozeInput",
            "minutes",
            json!({"minimum": 1, "maximum": super::snooze::MAX_SNOOZE_MINUTES}),
        ),
        rule("SnoozeInput", "until", json!({"format": "date-time"})),
        // Exactly one of `minutes` and `until` (a null one counts as not given).
        rule(
            "SnoozeInput",
            "",
            json!({"oneOf": [
                {"required": ["minutes"], "properties": {"minutes": {"type": "integer"}}},
                {"required": ["until"], "properties": {"until": {"type": "string"}}},
            ]}),
        ),
        rule("ActionInput", "by", user),
    ]
    .into_iter()
    .chain(klaxon_api::maintenance::schema_rules())
    .collect()
}

/// Merges a rule's keywords into its schema; a rule naming a schema or property that does not exist is a
/// bug the tests catch (`every_rule_lands`).
fn apply_rule(doc: &mut Value, r: &SchemaRule) {
    let Some(schema) = doc
        .pointer_mut(&format!("/components/schemas/{}", r.schema))
        .filter(|s| s.is_object())
    else {
        return;
    };
    let target = if r.property.is_empty() {
        Some(schema)
    } else {
        schema.get_mut("properties").and_then(|p| p.get_mut(r.property))
    };
    if let Some(target) = target {
        merge(target, &r.keywords);
    }
}

/// Deep merge of JSON objects: `patch`'s keys win, objects merge.
fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(into), Value::Object(patch)) => {
            for (k, v) in patch {
                match into.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (into, patch) => *into = patch.clone(),
    }
}

/// The shared error answers, as reusable responses.
fn add_common_responses(doc: &mut Value) {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        })
    };
    let responses = json!({
        "BadRequest": error("The body or query is malformed or breaks a rule; `field` names the offending field."),
        "Unauthorized": error("No API token, or one the server does not know (`WWW-Authenticate: Bearer`)."),
        "NotFound": error("The object the path names is not in this account (objects of other accounts are not \
            found either)."),
        "MissingReference": error("The body refers to an object that is not in this account; `field` names \
            the reference (code `missing_reference`). The object the path names, if any, exists."),
        "PayloadTooLarge": error("The body is larger than the limit the message states."),
        "Internal": error("The server failed; the detail is in its log, not in the answer."),
    });
    let components = doc
        .as_object_mut()
        .map(|d| d.entry("components").or_insert_with(|| json!({})));
    if let Some(Value::Object(components)) = components {
        let slot = components.entry("responses").or_insert_with(|| json!({}));
        merge(slot, &responses);
    }
}

/// The operations of one path, mutable, with their methods.
fn operations_mut<'a>(doc: &'a mut Value, path: &str) -> Vec<(String, &'a mut Value)> {
    let Some(Value::Object(item)) = doc.get_mut("paths").and_then(|p| p.get_mut(path)) else {
        return Vec::new();
    };
    item.iter_mut()
        .filter(|(method, _)| {
            matches!(
                method.as_str(),
                "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
            )
        })
        .map(|(m, op)| (m.clone(), op))
        .collect()
}

/// Query parameters are optional and read as text: a value is never `null` (a query cannot say null) nor
/// holds NUL (refused by `AppQuery`), and `limit` has the range lists enforce.
fn read_queries_as_read(op: &mut Value) {
    let Some(Value::Array(params)) = op.get_mut("parameters") else {
        return;
    };
    for p in params.iter_mut() {
        if p["in"] != "query" {
            continue;
        }
        let name = p["name"].as_str().unwrap_or_default().to_owned();
        let Some(schema) = p.get_mut("schema") else {
            continue;
        };
        drop_null(schema);
        if name == "limit" {
            merge(schema, &validate::limit_rule());
        }
        if name == "cursor" && schema.get("pattern").is_none() {
            merge(schema, &json!({"pattern": validate::ID_PATTERN}));
        }
        if schema.get("type") == Some(&json!("string")) && schema.get("pattern").is_none() {
            merge(schema, &json!({"pattern": validate::NO_NUL_PATTERN}));
        }
    }
}

/// Rules that `#[utoipa::path]` cannot state, by operation: keywords merged into one parameter (by name) or
/// into one part of the operation (by JSON Pointer below it).
const OPERATION_RULES: &[(&str, Part, &str)] = &[
    // A `GET` delivers its event in the query: without one there is nothing to store (405). A query carries
    // names and scalar values.
    (
        "ingest_query",
        Part::Param("fields"),
        r#"{"required": true, "schema": {"minProperties": 1,
            "additionalProperties": {"type": ["string", "number", "boolean"]}}}"#,
    ),
    // A Slack workspace id to pre-select on Slack's page (`oauth::TEAM_ID_PATTERN`).
    (
        "slack_install",
        Part::Param("team"),
        r#"{"schema": {"pattern": "^[TE][A-Z0-9]{1,31}$"}}"#,
    ),
    // An empty form or text is no event (400).
    (
        "ingest",
        Part::Pointer("/requestBody/content/text~1plain/schema"),
        r#"{"minLength": 1}"#,
    ),
    (
        "ingest",
        Part::Pointer("/requestBody/content/application~1x-www-form-urlencoded/schema"),
        r#"{"minLength": 1}"#,
    ),
];

/// Where an [`OPERATION_RULES`] entry applies.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// The parameter with this name.
    Param(&'static str),
    /// The value at this JSON Pointer within the operation.
    Pointer(&'static str),
}

fn apply_operation_rules(op: &mut Value) {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    for (operation, part, keywords) in OPERATION_RULES {
        if *operation != id {
            continue;
        }
        let keywords: Value = serde_json::from_str(keywords).unwrap_or_default();
        match part {
            Part::Param(name) => {
                if let Some(Value::Array(params)) = op.get_mut("parameters") {
                    for p in params.iter_mut().filter(|p| p["name"] == *name) {
                        merge(p, &keywords);
                    }
                }
            }
            Part::Pointer(pointer) => {
                if let Some(target) = op.pointer_mut(pointer) {
                    merge(target, &keywords);
                }
            }
        }
    }
}

/// Removes `null` from a schema's type (`["integer", "null"]` -> `"integer"`, `oneOf: [null, X]` -> `X`).
fn drop_null(schema: &mut Value) {
    if let Some(Value::Array(types)) = schema.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if let Some(o) = schema.as_object_mut() {
            o.insert(
                "type".into(),
                if kept.len() == 1 {
                    kept[0].clone()
                } else {
                    Value::Array(kept)
                },
            );
        }
    }
    let one_of = schema.get("oneOf").and_then(Value::as_array).cloned();
    if let Some(variants) = one_of {
        let kept: Vec<Value> = variants
            .into_iter()
            .filter(|v| v.get("type") != Some(&json!("null")))
            .collect();
        if let (Some(o), [only]) = (schema.as_object_mut(), kept.as_slice()) {
            o.remove("oneOf");
            if let Value::Object(only) = only {
                for (k, v) in only {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

/// Whether a field names another object by id.
fn is_reference(field: &str) -> bool {
    field.ends_with("_id") || field.ends_with("_ids")
}

/// The named schemas with a field that refers to another object.
fn schemas_that_refer(doc: &Value) -> Vec<String> {
    doc["components"]["schemas"]
        .as_object()
        .map(|schemas| {
            schemas
                .iter()
                .filter(|(_, s)| {
                    s["properties"]
                        .as_object()
                        .is_some_and(|p| p.keys().any(|k| is_reference(k)))
                })
                .map(|(name, _)| format!("#/components/schemas/{name}"))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the operation's body may refer to another object (`referring`: from `schemas_that_refer`).
fn body_refers(op: &Value, referring: &[String]) -> bool {
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    match schema["$ref"].as_str() {
        Some(name) => referring.iter().any(|r| r == name),
        None => schema["properties"]
            .as_object()
            .is_some_and(|p| p.keys().any(|k| is_reference(k))),
    }
}

/// Adds the errors an operation of this shape can answer, unless it documents them itself.
fn add_errors(op: &mut Value, referring: &[String]) {
    let secured = op
        .get("security")
        .is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()));
    let has_body = op.get("requestBody").is_some();
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has_query = params.iter().any(|p| p["in"] == "query");
    let has_path = params.iter().any(|p| p["in"] == "path");
    let refers = secured && body_refers(op, referring);
    let Some(Value::Object(responses)) = op.get_mut("responses") else {
        return;
    };
    let mut add = |status: &str, name: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
    };
    if has_body || has_query {
        add("400", "BadRequest");
    }
    if secured {
        add("401", "Unauthorized");
    }
    if has_path {
        add("404", "NotFound");
    }
    if refers {
        add("422", "MissingReference");
    }
    if has_body {
        add("413", "PayloadTooLarge");
    }
    add("500", "Internal");
}

/// For each create (`POST /things` answering 201): the `Location` header of the new object, and a link to
/// every operation on `/things/{id}` and below, fed the new object's `id`. For each list (`GET /things`): a
/// link to the same operations, fed the first item's `id`.
fn add_create_links(doc: &mut Value, paths: &[String]) {
    let mut plan: Vec<(String, Vec<String>)> = Vec::new();
    for collection in paths {
        let item_prefix = format!("{collection}/{{id}}");
        let mut targets = Vec::new();
        for path in paths
            .iter()
            .filter(|p| *p == &item_prefix || p.starts_with(&format!("{item_prefix}/")))
        {
            for (_, op) in operations_mut(doc, path) {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    targets.push(id.to_owned());
                }
            }
        }
        if !targets.is_empty() {
            plan.push((collection.clone(), targets));
        }
    }
    for (collection, targets) in plan {
        let path = escape_pointer(&collection);
        if let Some(created) = doc
            .pointer_mut(&format!("/paths/{path}/post/responses/201"))
            .and_then(Value::as_object_mut)
        {
            let headers = created.entry("headers").or_insert_with(|| json!({}));
            merge(
                headers,
                &json!({"Location": {
                    "description": format!("The new object: `{collection}/{{id}}`."),
                    "schema": {"type": "string"},
                }}),
            );
            let links = created.entry("links").or_insert_with(|| json!({}));
            merge(links, &links_to(&targets, "$response.body#/id"));
        }
        if let Some(listed) = doc
            .pointer_mut(&format!("/paths/{path}/get/responses/200"))
            .and_then(Value::as_object_mut)
        {
            let links = listed.entry("links").or_insert_with(|| json!({}));
            merge(links, &links_to(&targets, "$response.body#/items/0/id"));
        }
    }
}

/// Links to each operation, its `id` parameter fed by `expression`.
fn links_to(operation_ids: &[String], expression: &str) -> Value {
    let mut links = Map::new();
    for operation_id in operation_ids {
        links.insert(
            operation_id.clone(),
            json!({"operationId": operation_id, "parameters": {"id": expression}}),
        );
    }
    Value::Object(links)
}

/// A path as one JSON Pointer token (`/` and `~` escaped).
fn escape_pointer(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_rule_lands() {
        let (_, api) = super::super::api().split_for_parts();
        let doc = serde_json::to_value(api).unwrap();
        let mut rules = validate::schema_rules();
        rules.extend(server_rules());
        for r in rules {
            let schema = &doc["components"]["schemas"][r.schema];
            assert!(schema.is_object(), "rule for unknown schema {}", r.schema);
            if !r.property.is_empty() {
                assert!(
                    schema["properties"][r.property].is_object(),
                    "rule for unknown property {}.{}",
                    r.schema,
                    r.property
                );
            }
        }
    }

    #[test]
    fn operation_ids_are_unique_and_every_operation_says_its_errors() {
        let doc = document_value();
        let mut seen = HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} has no id"));
                assert!(seen.insert(id.to_owned()), "operationId {id} is used twice");
                assert!(op["responses"]["500"].is_object(), "{method} {path}");
                if op.get("security").is_some() {
                    assert!(op["responses"]["401"].is_object(), "{method} {path}");
                }
            }
        }
    }

    #[test]
    fn creates_link_to_the_operations_on_what_they_create() {
        let doc = document_value();
        let links = &doc["paths"]["/v1/teams"]["post"]["responses"]["201"]["links"];
        for id in ["get_team", "update_team", "delete_team", "simulate_team"] {
            assert_eq!(links[id]["parameters"]["id"], "$response.body#/id", "{id}");
        }
        let params = doc["paths"]["/v1/alerts"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(limit["in"], "query");
        assert_eq!(limit["schema"]["maximum"], klaxon_api::ListQuery::MAX_LIMIT);
    }

    #[test]
    fn operation_rules_land() {
        let doc = document_value();
        for (operation, part, keywords) in OPERATION_RULES {
            assert!(
                serde_json::from_str::<Value>(keywords).is_ok(),
                "{operation}: bad JSON"
            );
            let op = doc["paths"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|item| item.as_object().unwrap().values())
                .find(|op| op["operationId"] == *operation)
                .unwrap_or_else(|| panic!("no operation {operation}"));
            match part {
                Part::Param(name) => assert!(
                    op["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == *name),
                    "{operation}: no parameter {name}"
                ),
                Part::Pointer(pointer) => assert!(op.pointer(pointer).is_some(), "{operation}: no {pointer}"),
            }
        }
    }

    /// Routes are added with `routes!` only: `.route(...)` would serve a path the document does not show.
    #[test]
    fn no_route_is_added_undocumented() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
            let needle = concat!(".rou", "te(");
            for line in code {
                assert!(
                    !line.contains(needle),
                    "{}: a route added without routes! bypasses the document: {line}",
                    path.display()
                );
            }
        }
    }
}
