//! Every rule of the diff with a pair of documents that triggers it, and whom it must break
//! (the table in `docs/CONTRACT.md`, checked against [`RULES`] here too).

use ferrio_schema::diff::rules::{Breaks, RULES};
use ferrio_schema::diff::{diff_texts, FailOn, Report};
use serde_json::{json, Map, Value};

/// An AsyncAPI 3.0 document from a compact spec:
/// `{"schemas": {..}, "/ns": [{"op": "receive"|"send", "name", "args": [..], "ack": [..]?,
/// "rust": ".."?, "min": n?}]}`.
fn document(spec: &Value) -> String {
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for (path, events) in spec.as_object().expect("spec") {
        if !path.starts_with('/') {
            continue;
        }
        let channel = if path == "/" {
            "main".to_owned()
        } else {
            path[1..].to_owned()
        };
        channels.insert(channel.clone(), json!({"address": path}));
        for event in events.as_array().expect("events") {
            let name = event["name"].as_str().expect("name");
            let op = event["op"].as_str().expect("op");
            let args = event["args"].as_array().cloned().unwrap_or_default();
            let mut payload = json!({"type": "array", "items": args, "additionalItems": false});
            if let Some(min) = event.get("min") {
                payload["minItems"] = min.clone();
            }
            let key = format!("{channel}.{name}.{op}");
            let mut message = json!({"name": name, "payload": payload});
            if let Some(rust) = event.get("rust") {
                message["x-ferrio-rust-name"] = rust.clone();
            }
            messages.insert(key.clone(), message);
            let mut operation = json!({
                "action": op,
                "channel": {"$ref": format!("#/channels/{channel}")},
                "messages": [{"$ref": format!("#/components/messages/{key}")}],
            });
            if let Some(Value::Array(ack)) = event.get("ack") {
                let ack_key = format!("{key}.ack");
                messages.insert(
                    ack_key.clone(),
                    json!({"payload": {"type": "array", "items": ack, "additionalItems": false}}),
                );
                operation["reply"] =
                    json!({"messages": [{"$ref": format!("#/components/messages/{ack_key}")}]});
            }
            operations.insert(format!("{key}.op"), operation);
        }
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {"title": "rules", "version": "1"},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": spec.get("schemas").cloned().unwrap_or(json!({})), "messages": messages},
    })
    .to_string()
}

fn diff(old: &Value, new: &Value) -> Report {
    diff_texts(&document(old), &document(new), Default::default()).expect("diff")
}

fn emit(args: Value) -> Value {
    json!({"/": [{"op": "receive", "name": "e", "args": args}]})
}

fn on(args: Value) -> Value {
    json!({"/": [{"op": "send", "name": "e", "args": args}]})
}

fn with_schemas(mut spec: Value, schemas: Value) -> Value {
    spec["schemas"] = schemas;
    spec
}

/// (clients, servers, rust, typescript)
fn breaks(clients: bool, servers: bool, rust: bool, typescript: bool) -> Breaks {
    Breaks {
        clients,
        servers,
        rust,
        typescript,
    }
}

/// Every case: (rule, old, new, whom it breaks).
fn cases() -> Vec<(&'static str, Value, Value, Breaks)> {
    let s = json!({"type": "string"});
    let obj = |props: Value, required: Value| json!({"type": "object", "properties": props, "required": required});
    vec![
        (
            "namespace-added",
            emit(json!([s])),
            json!({"/": [{"op": "receive", "name": "e", "args": [s]}], "/b": []}),
            breaks(false, false, false, false),
        ),
        (
            "namespace-removed",
            json!({"/": [{"op": "receive", "name": "e", "args": [s]}], "/b": []}),
            emit(json!([s])),
            breaks(true, false, true, true),
        ),
        (
            "event-added",
            json!({"/": []}),
            emit(json!([s])),
            breaks(false, true, false, false),
        ),
        (
            "event-added",
            json!({"/": []}),
            on(json!([s])),
            breaks(false, false, false, false),
        ),
        (
            "event-removed",
            emit(json!([s])),
            json!({"/": []}),
            breaks(true, false, true, true),
        ),
        (
            "event-removed",
            on(json!([s])),
            json!({"/": []}),
            breaks(true, false, true, true),
        ),
        (
            "rust-name-changed",
            json!({"/": [{"op": "receive", "name": "e", "args": [], "rust": "a"}]}),
            json!({"/": [{"op": "receive", "name": "e", "args": [], "rust": "b"}]}),
            breaks(false, false, true, false),
        ),
        (
            "ack-added",
            emit(json!([])),
            json!({"/": [{"op": "receive", "name": "e", "args": [], "ack": []}]}),
            breaks(true, true, true, true),
        ),
        (
            "ack-added",
            on(json!([])),
            json!({"/": [{"op": "send", "name": "e", "args": [], "ack": []}]}),
            breaks(true, false, true, true),
        ),
        (
            "ack-removed",
            json!({"/": [{"op": "receive", "name": "e", "args": [], "ack": [s]}]}),
            emit(json!([])),
            breaks(true, true, true, true),
        ),
        (
            "ack-removed",
            json!({"/": [{"op": "send", "name": "e", "args": [], "ack": [s]}]}),
            on(json!([])),
            breaks(false, true, true, true),
        ),
        (
            "argument-added",
            emit(json!([s])),
            emit(json!([s, s])),
            breaks(true, false, true, true),
        ),
        (
            "argument-added",
            on(json!([s])),
            on(json!([s, s])),
            breaks(false, true, true, true),
        ),
        (
            "optional-argument-added",
            emit(json!([s])),
            json!({"/": [{"op": "receive", "name": "e", "args": [s, s], "min": 1}]}),
            breaks(false, false, true, false),
        ),
        (
            "argument-removed",
            emit(json!([s, s])),
            emit(json!([s])),
            breaks(false, true, true, true),
        ),
        (
            "argument-removed",
            on(json!([s, s])),
            on(json!([s])),
            breaks(true, false, true, true),
        ),
        (
            "argument-renamed",
            emit(json!([{"type": "string", "title": "a"}])),
            emit(json!([{"type": "string", "title": "b"}])),
            breaks(false, false, false, false),
        ),
        (
            "type-changed",
            emit(json!([s])),
            emit(json!([{"type": "integer"}])),
            breaks(true, true, true, true),
        ),
        (
            "type-widened",
            emit(json!([{"type": "integer"}])),
            emit(json!([{"type": "number"}])),
            breaks(false, true, true, true),
        ),
        (
            "type-widened",
            on(json!([{"type": "integer"}])),
            on(json!([{}])),
            breaks(true, false, true, true),
        ),
        (
            "type-narrowed",
            on(json!([{"type": "number"}])),
            on(json!([{"type": "integer"}])),
            breaks(false, true, true, true),
        ),
        (
            "nullable-added",
            on(json!([s])),
            on(json!([{"type": ["string", "null"]}])),
            breaks(true, false, true, true),
        ),
        (
            "nullable-removed",
            emit(json!([{"type": ["string", "null"]}])),
            emit(json!([s])),
            breaks(true, false, true, true),
        ),
        (
            "integer-format-widened",
            json!({"/": [{"op": "receive", "name": "e", "args": [], "ack": [{"type": "integer", "format": "uint8"}]}]}),
            json!({"/": [{"op": "receive", "name": "e", "args": [], "ack": [{"type": "integer", "format": "uint32"}]}]}),
            breaks(true, false, true, false),
        ),
        (
            "integer-format-narrowed",
            json!({"/": [{"op": "send", "name": "e", "args": [], "ack": [{"type": "integer", "format": "int64"}]}]}),
            json!({"/": [{"op": "send", "name": "e", "args": [], "ack": [{"type": "integer", "format": "int32"}]}]}),
            breaks(true, false, true, false),
        ),
        (
            "integer-format-changed",
            emit(json!([{"type": "integer", "format": "int32"}])),
            emit(json!([{"type": "integer", "format": "uint32"}])),
            breaks(true, true, true, false),
        ),
        (
            "constraint-relaxed",
            emit(json!([{"type": "string", "maxLength": 10}])),
            emit(json!([{"type": "string", "maxLength": 20}])),
            breaks(false, true, false, false),
        ),
        (
            "constraint-tightened",
            emit(json!([{"type": "integer"}])),
            emit(json!([{"type": "integer", "minimum": 0}])),
            breaks(true, false, false, false),
        ),
        (
            "constraint-changed",
            emit(json!([{"type": "string", "pattern": "^a"}])),
            emit(json!([{"type": "string", "pattern": "^b"}])),
            breaks(true, true, false, false),
        ),
        (
            "enum-value-added",
            on(json!([{"type": "string", "enum": ["a"]}])),
            on(json!([{"type": "string", "enum": ["a", "b"]}])),
            breaks(true, false, true, false),
        ),
        (
            "enum-value-removed",
            emit(json!([{"type": "string", "enum": ["a", "b"]}])),
            emit(json!([{"type": "string", "enum": ["a"]}])),
            breaks(true, false, true, true),
        ),
        (
            "property-added-required",
            emit(json!([obj(json!({"a": s}), json!(["a"]))])),
            emit(json!([obj(json!({"a": s, "b": s}), json!(["a", "b"]))])),
            breaks(true, false, true, true),
        ),
        (
            "property-added-optional",
            on(json!([obj(json!({"a": s}), json!(["a"]))])),
            on(json!([obj(json!({"a": s, "b": s}), json!(["a"]))])),
            breaks(false, false, true, false),
        ),
        (
            "property-added-optional",
            on(
                json!([{"type": "object", "properties": {"a": s}, "required": ["a"], "additionalProperties": false}]),
            ),
            on(
                json!([{"type": "object", "properties": {"a": s, "b": s}, "required": ["a"], "additionalProperties": false}]),
            ),
            breaks(true, false, true, false),
        ),
        (
            "property-removed",
            on(json!([obj(json!({"a": s, "b": s}), json!(["a", "b"]))])),
            on(json!([obj(json!({"a": s}), json!(["a"]))])),
            breaks(true, false, true, true),
        ),
        (
            "property-removed",
            emit(json!([obj(json!({"a": s, "b": s}), json!(["a"]))])),
            emit(json!([obj(json!({"a": s}), json!(["a"]))])),
            breaks(false, false, true, true),
        ),
        (
            "property-became-required",
            emit(json!([obj(json!({"a": s}), json!([]))])),
            emit(json!([obj(json!({"a": s}), json!(["a"]))])),
            breaks(true, false, true, true),
        ),
        (
            "property-became-optional",
            on(json!([obj(json!({"a": s}), json!(["a"]))])),
            on(json!([obj(json!({"a": s}), json!([]))])),
            breaks(true, false, true, true),
        ),
        (
            "additional-properties-allowed",
            on(json!([{"type": "object", "properties": {}, "additionalProperties": false}])),
            on(json!([{"type": "object", "properties": {}}])),
            breaks(true, false, false, false),
        ),
        (
            "additional-properties-forbidden",
            emit(json!([{"type": "object", "properties": {}}])),
            emit(json!([{"type": "object", "properties": {}, "additionalProperties": false}])),
            breaks(true, false, false, false),
        ),
        (
            "union-member-added",
            on(json!([{"anyOf": [s, {"type": "integer"}]}])),
            on(json!([{"anyOf": [s, {"type": "integer"}, {"type": "boolean"}]}])),
            breaks(true, false, true, false),
        ),
        (
            "union-member-removed",
            on(json!([{"anyOf": [s, {"type": "integer"}, {"type": "boolean"}]}])),
            on(json!([{"anyOf": [s, {"type": "integer"}]}])),
            breaks(false, true, true, true),
        ),
        (
            "tuple-length-changed",
            emit(json!([{"type": "array", "items": [s, s]}])),
            emit(json!([{"type": "array", "items": [s]}])),
            breaks(true, true, true, true),
        ),
        (
            "type-renamed",
            with_schemas(
                emit(json!([{"$ref": "#/components/schemas/A"}])),
                json!({"A": s}),
            ),
            with_schemas(
                emit(json!([{"$ref": "#/components/schemas/B"}])),
                json!({"B": s}),
            ),
            breaks(false, false, true, true),
        ),
        (
            "docs-changed",
            emit(json!([{"type": "string", "description": "a"}])),
            emit(json!([{"type": "string", "description": "b"}])),
            breaks(false, false, false, false),
        ),
    ]
}

#[test]
fn every_rule_breaks_whom_its_row_says() {
    for (rule, old, new, expected) in cases() {
        let report = diff(&old, &new);
        let found: Vec<_> = report.changes.iter().filter(|c| c.rule == rule).collect();
        assert!(
            !found.is_empty(),
            "{rule}: not reported; the report was:\n{}",
            report.to_text(FailOn::Any)
        );
        assert_eq!(
            found[0].breaks,
            expected,
            "{rule}:\n{}",
            report.to_text(FailOn::Any)
        );
        assert!(
            !found[0].pointer.is_empty() && found[0].pointer.contains('#'),
            "{rule}: {}",
            found[0].pointer
        );
    }
}

#[test]
fn every_rule_has_a_test_pair() {
    let tested: Vec<&str> = cases().iter().map(|c| c.0).collect();
    for rule in RULES {
        assert!(
            tested.contains(&rule.id),
            "the rule {} has no test pair",
            rule.id
        );
    }
}

#[test]
fn the_docs_table_lists_every_rule() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/CONTRACT.md");
    let docs = std::fs::read_to_string(path).expect("read docs/CONTRACT.md");
    assert!(
        docs.contains(&ferrio_schema::diff::rules::markdown_table()),
        "the rules table of docs/CONTRACT.md is not `ferrio_schema::diff::rules::markdown_table()`; \
         paste it again (`ferrio-contract rules` prints it)"
    );
}

#[test]
fn the_same_document_has_no_changes_and_exit_levels_differ() {
    let spec = emit(json!([{"type": "string"}]));
    assert!(diff(&spec, &spec).changes.is_empty());
    // A widened request breaks servers, not clients.
    let report = diff(
        &emit(json!([{"type": "integer"}])),
        &emit(json!([{"type": "number"}])),
    );
    assert!(!report.fails(FailOn::Clients));
    assert!(report.fails(FailOn::Servers));
    assert!(report.fails(FailOn::Source));
    assert!(report.fails(FailOn::Any));
    // Docs alone break nobody.
    let report = diff(
        &emit(json!([{"type": "string", "description": "a"}])),
        &emit(json!([{"type": "string", "description": "b"}])),
    );
    assert!(!report.fails(FailOn::Any));
}

#[test]
fn a_shared_type_is_compared_through_refs_and_recursion_ends() {
    let tree = |extra: Value| {
        let mut props =
            json!({"children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}});
        if let Value::Object(map) = extra {
            for (k, v) in map {
                props[k] = v;
            }
        }
        with_schemas(
            on(json!([{"$ref": "#/components/schemas/Tree"}])),
            json!({"Tree": {"type": "object", "properties": props, "required": ["children"]}}),
        )
    };
    let report = diff(&tree(json!({})), &tree(json!({"name": {"type": "string"}})));
    let rules: Vec<&str> = report.changes.iter().map(|c| c.rule).collect();
    assert_eq!(
        rules,
        ["property-added-optional"],
        "{}",
        report.to_text(FailOn::Any)
    );
    assert_eq!(
        report.changes[0].pointer,
        "new#/components/schemas/Tree/properties/name"
    );
}

#[test]
fn bad_documents_are_errors_with_a_location() {
    let good = document(&emit(json!([])));
    let error = diff_texts("{\"asyncapi\": ", &good, Default::default()).expect_err("invalid JSON");
    assert!(
        error.location.starts_with("old document, line 1"),
        "{error}"
    );
    let error = diff_texts(&good, "{\"openapi\": \"3.1.0\"}", Default::default())
        .expect_err("not AsyncAPI");
    assert!(
        error.to_string().contains("not an AsyncAPI document"),
        "{error}"
    );
    let dangling = good.replace(
        "#/components/messages/main.e.receive",
        "#/components/messages/nope",
    );
    let error = diff_texts(&good, &dangling, Default::default()).expect_err("unresolved $ref");
    assert!(error.to_string().contains("unresolved $ref"), "{error}");
    assert!(
        error.location.starts_with("new document, #/operations/"),
        "{error}"
    );
}
