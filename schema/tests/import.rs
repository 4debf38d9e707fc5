//! The importer on documents written for one rule each (shared types are named in key order:
//! `UserInfo` before `user-info`): names (keywords, case, collisions,
//! wire names that are no identifiers), what no Rust type expresses, determinism.
#![cfg(feature = "import")]

use ferrio_schema::import::{import, ImportOptions};
use ferrio_schema::read::Perspective;
use serde_json::{json, Value};

/// A document of one namespace whose operations are `(action, wire name, payload items)`,
/// with `schemas` as its shared types.
fn document(operations: &[(&str, &str, Value)], schemas: Value) -> String {
    let mut ops = serde_json::Map::new();
    for (index, (action, name, items)) in operations.iter().enumerate() {
        ops.insert(
            format!("op{index}"),
            json!({
                "action": action,
                "channel": {"$ref": "#/channels/main"},
                "messages": [{"name": name, "payload": {"type": "array", "items": items}}],
            }),
        );
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "channels": {"main": {"address": "/"}},
        "operations": ops,
        "components": {"schemas": schemas},
    })
    .to_string()
}

fn rust(text: &str) -> String {
    import(text, &ImportOptions::default()).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn names_that_collide_or_are_no_identifiers() {
    let text = document(
        &[
            ("receive", "chat message", json!([{"type": "string"}])),
            ("receive", "chat_message", json!([{"type": "string"}])),
            ("receive", "ChatMessage", json!([{"type": "string"}])),
            (
                "receive",
                "match",
                json!([{"title": "self", "type": "string"}, {"title": "type", "type": "string"}]),
            ),
            ("send", "payload_error", json!([])),
            ("send", "1st", json!([])),
        ],
        json!({
            "user-info": {"type": "object", "properties": {"userId": {"type": "string"}, "user_id": {"type": "integer"}, "fn": {"type": "boolean"}}, "required": ["userId", "user_id", "fn"]},
            "UserInfo": {"type": "string", "enum": ["a", "A", "", "1"]},
        }),
    );
    let out = rust(&text);
    for expected in [
        "#[emit(name = \"chat message\")]\n    fn chat_message(payload: String);",
        "#[emit(name = \"chat_message\")]\n    fn chat_message2(payload: String);",
        "#[emit(name = \"ChatMessage\")]\n    fn chat_message3(payload: String);",
        "#[emit]\n    fn r#match(self_: String, r#type: String);",
        "#[on(name = \"payload_error\")]\n    fn payload_error_event();",
        "#[on(name = \"1st\")]\n    fn _1st();",
        "pub struct UserInfo2 {",
        "#[serde(rename = \"userId\")]\n    pub user_id: String,",
        "#[serde(rename = \"user_id\")]\n    pub user_id2: i64,",
        "pub r#fn: bool,",
        "pub enum UserInfo {",
        "#[serde(rename = \"a\")]\n    A,",
        "#[serde(rename = \"A\")]\n    A2,",
        "#[serde(rename = \"\")]\n    Empty,",
        "#[serde(rename = \"1\")]\n    T1,",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
}

#[test]
fn what_no_rust_type_expresses_is_a_value_with_a_reason() {
    let text = document(
        &[(
            "receive",
            "odd",
            json!([
                {"title": "not", "not": {"type": "string"}},
                {"title": "both", "allOf": [{"type": "object"}, {"required": ["a"]}]},
                {"title": "number", "enum": [1, 2]},
            ]),
        )],
        json!({}),
    );
    let out = rust(&text);
    assert!(
        out.contains(
            "fn odd(not: serde_json::Value, both: serde_json::Value, number: serde_json::Value);"
        ),
        "{out}"
    );
    for reason in [
        "Typed as `serde_json::Value`: the schema at `#/operations/op0/messages/0/payload/items/0` uses `not`",
        "the schema at `#/operations/op0/messages/0/payload/items/1` combines schemas with `allOf`",
        "the schema at `#/operations/op0/messages/0/payload/items/2` enumerates values that are not all strings",
    ] {
        assert!(out.contains(reason), "missing {reason:?} in\n{out}");
    }
}

#[test]
fn unions_are_tagged_when_a_constant_property_allows() {
    let circle = json!({"type": "object", "properties": {"kind": {"const": "circle", "type": "string"}, "r": {"type": "number"}}, "required": ["kind", "r"]});
    let square = json!({"type": "object", "properties": {"kind": {"const": "square", "type": "string"}, "side": {"type": "number"}}, "required": ["kind", "side"]});
    let text = document(
        &[
            (
                "receive",
                "tagged",
                json!([{"title": "shape", "oneOf": [circle, square]}]),
            ),
            (
                "receive",
                "untagged",
                json!([{"title": "id", "anyOf": [{"type": "integer", "format": "uint32"}, {"type": "string"}, {"type": "null"}]}]),
            ),
        ],
        json!({}),
    );
    let out = rust(&text);
    assert!(
        out.contains("#[serde(tag = \"kind\")]\npub enum TaggedShape {"),
        "{out}"
    );
    assert!(
        out.contains("#[serde(rename = \"circle\")]\n    Circle { r: f64 },"),
        "{out}"
    );
    assert!(
        out.contains("#[serde(untagged)]\npub enum UntaggedId {"),
        "{out}"
    );
    assert!(out.contains("Integer(u32),"), "{out}");
    assert!(
        out.contains("fn untagged(id: Option<UntaggedId>);"),
        "{out}"
    );
}

#[test]
fn the_output_is_deterministic_and_the_perspective_can_flip() {
    let text = document(
        &[
            ("send", "b", json!([{"type": "boolean"}])),
            ("receive", "a", json!([])),
        ],
        json!({"Z": {"type": "object", "properties": {"x": {"type": "integer"}}}}),
    );
    assert_eq!(rust(&text), rust(&text));
    let server = rust(&text);
    assert!(
        server.contains("#[on]\n    fn b(payload: bool);"),
        "{server}"
    );
    assert!(server.contains("#[emit]\n    fn a();"), "{server}");
    let options = ImportOptions {
        perspective: Perspective::Client,
        source: None,
    };
    let client = import(&text, &options).expect("import");
    assert!(
        client.contains("#[emit]\n    fn b(payload: bool);"),
        "{client}"
    );
    assert!(client.contains("describes the client"), "{client}");
}

#[test]
fn a_shared_type_named_like_a_prelude_type_does_not_shadow_it() {
    // A document with its own `Result` and `Vec`, an event with Node's `(err, data)` ack as
    // ferrio writes it, and an optional argument (an `Option`).
    let mut root: Value = serde_json::from_str(&document(
        &[(
            "receive",
            "lookup",
            json!([{"title": "id", "type": "integer", "format": "uint32"}, {"title": "hint", "$ref": "#/components/schemas/Vec"}]),
        )],
        json!({
            "Result": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
            "Vec": {"type": "string"},
        }),
    ))
    .expect("JSON");
    let op = &mut root["operations"]["op0"];
    op["messages"][0]["payload"]["minItems"] = json!(1);
    op["reply"] = json!({"channel": {"$ref": "#/channels/main"}, "messages": [{"payload": {
        "type": "array",
        "oneOf": [
            {"type": "array", "prefixItems": [{"type": "null"}, {"$ref": "#/components/schemas/Result"}], "items": false, "minItems": 2, "maxItems": 2},
            {"type": "array", "prefixItems": [{"type": "string"}], "items": false, "minItems": 1, "maxItems": 1},
        ],
    }}]});
    let out = rust(&root.to_string());
    assert!(out.contains("pub struct Result2"), "{out}");
    assert!(out.contains("pub type Vec2 = String;"), "{out}");
    assert!(
        out.contains("fn lookup(id: u32, hint: Option<Vec2>) -> Result<Result2, String>;"),
        "{out}"
    );
}
