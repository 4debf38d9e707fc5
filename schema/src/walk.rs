//! Schema walking shared by the three exporters: an ordered JSON value, the canonical
//! conversion of schemars output into it (with `$ref` rewriting), the draft-07 downgrade, the
//! Socket.IO argument tuple, and the facts the exporters read off a schema (wide integers,
//! binary data).
//!
//! Output must not depend on whether `serde_json` was built with `preserve_order` (another
//! crate of a build may turn it on), so nothing here trusts a `serde_json::Map`'s iteration
//! order: schema keywords come in a fixed order, names (properties, definitions) sorted.

use schemars::transform::{
    RemoveRefSiblings, ReplacePrefixItems, ReplaceUnevaluatedProperties, Transform,
};
use schemars::Schema;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

use crate::contract::AckDef;

/// A JSON value whose objects keep the order they were built in.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An empty object, to fill with [`Json::with`] / [`Json::push`].
    pub(crate) fn object() -> Json {
        Json::Object(Vec::new())
    }

    /// Appends `key: value` to an object (no-op on other values).
    pub(crate) fn push(&mut self, key: impl Into<String>, value: impl Into<Json>) {
        if let Json::Object(entries) = self {
            entries.push((key.into(), value.into()));
        }
    }

    /// [`Json::push`] in builder form.
    pub(crate) fn with(mut self, key: impl Into<String>, value: impl Into<Json>) -> Json {
        self.push(key, value);
        self
    }

    /// Appends `key: text` unless `text` is empty (used for optional descriptions).
    pub(crate) fn with_text(mut self, key: &str, text: &str) -> Json {
        if !text.is_empty() {
            self.push(key, text);
        }
        self
    }

    /// Pretty-printed with two-space indentation and a final newline.
    pub(crate) fn to_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

impl From<&str> for Json {
    fn from(text: &str) -> Json {
        Json::String(text.to_owned())
    }
}

impl From<String> for Json {
    fn from(text: String) -> Json {
        Json::String(text)
    }
}

impl From<bool> for Json {
    fn from(value: bool) -> Json {
        Json::Bool(value)
    }
}

impl From<usize> for Json {
    fn from(value: usize) -> Json {
        Json::Number(Number::from(value))
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Json {
        Json::Array(items)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(value) => serializer.serialize_bool(*value),
            Json::Number(value) => value.serialize(serializer),
            Json::String(value) => serializer.serialize_str(value),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// The order schema keywords are written in; keywords not listed follow, sorted.
const KEYWORD_ORDER: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$ref",
    "$comment",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "format",
    "contentEncoding",
    "contentMediaType",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "properties",
    "patternProperties",
    "additionalProperties",
    "unevaluatedProperties",
    "propertyNames",
    "required",
    "minProperties",
    "maxProperties",
    "prefixItems",
    "items",
    "additionalItems",
    "unevaluatedItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$defs",
    "definitions",
];

/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "propertyNames",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
];

/// Keywords whose value is a list of schemas.
const SCHEMA_LIST_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];

/// Keywords whose value maps names to schemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

fn keyword_rank(key: &str) -> usize {
    KEYWORD_ORDER
        .iter()
        .position(|known| *known == key)
        .unwrap_or(KEYWORD_ORDER.len())
}

/// Converts a schema into ordered JSON: keywords in [`KEYWORD_ORDER`], names sorted, and
/// every `$ref` passed through `rewrite_ref` (which returns the new reference, or `None` to
/// keep it as it is).
pub(crate) fn canonical_schema(
    schema: &Value,
    rewrite_ref: &dyn Fn(&str) -> Option<String>,
) -> Json {
    let Value::Object(object) = schema else {
        return plain(schema);
    };
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort_by(|a, b| (keyword_rank(a), a.as_str()).cmp(&(keyword_rank(b), b.as_str())));
    let mut out = Json::object();
    for key in keys {
        let value = &object[key.as_str()];
        let converted = match (key.as_str(), value) {
            ("$ref", Value::String(reference)) => {
                Json::String(rewrite_ref(reference).unwrap_or_else(|| reference.clone()))
            }
            (k, Value::Array(items)) if SCHEMA_LIST_KEYWORDS.contains(&k) => Json::Array(
                items
                    .iter()
                    .map(|item| canonical_schema(item, rewrite_ref))
                    .collect(),
            ),
            (k, Value::Object(map)) if SCHEMA_MAP_KEYWORDS.contains(&k) => {
                let mut named = Json::object();
                for (name, subschema) in sorted(map) {
                    named.push(name, canonical_schema(subschema, rewrite_ref));
                }
                named
            }
            (k, _) if SCHEMA_KEYWORDS.contains(&k) => canonical_schema(value, rewrite_ref),
            _ => plain(value),
        };
        out.push(key.as_str(), converted);
    }
    out
}

/// Converts a non-schema value (an `enum` list, a `const`, a default) with sorted keys.
pub(crate) fn plain(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(value) => Json::Bool(*value),
        Value::Number(value) => Json::Number(value.clone()),
        Value::String(value) => Json::String(value.clone()),
        Value::Array(items) => Json::Array(items.iter().map(plain).collect()),
        Value::Object(map) => Json::Object(
            sorted(map)
                .into_iter()
                .map(|(key, value)| (key.to_owned(), plain(value)))
                .collect(),
        ),
    }
}

/// A map's entries sorted by key, whatever the map's own order.
pub(crate) fn sorted(map: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut entries: Vec<(&str, &Value)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Every `$ref` in `schema`, in the order [`canonical_schema`] writes them.
pub(crate) fn refs_in(schema: &Value, found: &mut Vec<String>) {
    let Value::Object(object) = schema else {
        return;
    };
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort_by(|a, b| (keyword_rank(a), a.as_str()).cmp(&(keyword_rank(b), b.as_str())));
    for key in keys {
        let value = &object[key.as_str()];
        match (key.as_str(), value) {
            ("$ref", Value::String(reference)) => found.push(reference.clone()),
            (k, Value::Array(items)) if SCHEMA_LIST_KEYWORDS.contains(&k) => {
                items.iter().for_each(|item| refs_in(item, found));
            }
            (k, Value::Object(map)) if SCHEMA_MAP_KEYWORDS.contains(&k) => {
                sorted(map).into_iter().for_each(|(_, s)| refs_in(s, found));
            }
            (k, _) if SCHEMA_KEYWORDS.contains(&k) => refs_in(value, found),
            _ => {}
        }
    }
}

/// Decodes the name part of a `$ref` (JSON Pointer escapes and URI percent-encoding).
pub(crate) fn decode_ref_name(encoded: &str) -> String {
    let mut bytes = Vec::with_capacity(encoded.len());
    let raw = encoded.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'~' if raw.get(i + 1) == Some(&b'1') => {
                bytes.push(b'/');
                i += 2;
            }
            b'~' if raw.get(i + 1) == Some(&b'0') => {
                bytes.push(b'~');
                i += 2;
            }
            b'%' if i + 2 < raw.len()
                && raw[i + 1].is_ascii_hexdigit()
                && raw[i + 2].is_ascii_hexdigit() =>
            {
                let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                bytes.push(digit(raw[i + 1]) * 16 + digit(raw[i + 2]));
                i += 3;
            }
            byte => {
                bytes.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The Socket.IO argument array of an event (or of an ack) as a draft 2020-12 tuple:
/// `prefixItems` (each item titled with the argument's name), `items: false`, and
/// `minItems`/`maxItems` equal to the argument count.
pub(crate) fn argument_tuple<'a>(args: impl IntoIterator<Item = (&'a str, &'a Schema)>) -> Value {
    let items: Vec<Value> = args
        .into_iter()
        .map(|(name, schema)| {
            let mut item = match schema.as_value() {
                Value::Object(object) => object.clone(),
                Value::Bool(false) => {
                    let mut never = Map::new();
                    never.insert("not".into(), Value::Object(Map::new()));
                    never
                }
                _ => Map::new(),
            };
            item.insert("title".into(), Value::String(name.to_owned()));
            Value::Object(item)
        })
        .collect();
    let count = items.len();
    let mut tuple = Map::new();
    tuple.insert("type".into(), "array".into());
    if !items.is_empty() {
        tuple.insert("prefixItems".into(), Value::Array(items));
    }
    tuple.insert("items".into(), false.into());
    tuple.insert("minItems".into(), count.into());
    tuple.insert("maxItems".into(), count.into());
    Value::Object(tuple)
}

/// The `$comment` of the ack schema of an [`AckDef::Result`].
pub(crate) const RESULT_ACK_COMMENT: &str =
    "Node's callback(err, data) convention: [null, data] on success, [err] on failure";

/// The argument array of an ack as a schema, `None` when the event has no ack: the tuple of
/// [`AckDef::args`] ([`argument_tuple`]), except for an [`AckDef::Result`], which is exactly
/// one of two tuples, `[null, data]` and `[err]` (what a reader recognises it by).
pub(crate) fn ack_tuple(ack: &AckDef) -> Option<Value> {
    if let AckDef::Result { value, error } = ack {
        let null = schemars::json_schema!({ "type": "null" });
        let mut either = Map::new();
        either.insert("type".into(), "array".into());
        either.insert("$comment".into(), RESULT_ACK_COMMENT.into());
        either.insert(
            "oneOf".into(),
            Value::Array(vec![
                argument_tuple([("err", &null), ("data", value)]),
                argument_tuple([("err", error)]),
            ]),
        );
        return Some(Value::Object(either));
    }
    let args = ack.args()?;
    Some(argument_tuple(
        args.iter().map(|a| (a.name.as_str(), &a.schema)),
    ))
}

/// Rewrites a draft 2020-12 schema (as schemars and [`argument_tuple`] write it) into draft 07,
/// the dialect AsyncAPI schemas are based on: `prefixItems` becomes an `items` list (and
/// `items` after it `additionalItems`), `unevaluatedProperties` becomes
/// `additionalProperties`, and `$ref` loses its siblings (moved under `allOf`).
pub(crate) fn to_draft07(schema: &Value) -> Value {
    let mut schema = Schema::try_from(schema.clone()).unwrap_or_default();
    ReplaceUnevaluatedProperties::default().transform(&mut schema);
    ReplacePrefixItems::default().transform(&mut schema);
    RemoveRefSiblings::default().transform(&mut schema);
    schema.to_value()
}

/// Formats of integers that a JavaScript number cannot hold exactly beyond 2^53 - 1 (the ones
/// schemars writes for `i64`, `u64`, `i128`, `u128`, `isize` and `usize`).
const WIDE_INTEGER_FORMATS: &[&str] = &["int64", "uint64", "int128", "uint128", "int", "uint"];

/// The largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// If `schema` is an integer that may exceed 2^53 - 1 in magnitude, its format (`"uint64"`).
///
/// An integer counts as wide when its `format` is one schemars writes for 64- and 128-bit
/// integers and no `minimum`/`maximum` keeps it within the safe range.
pub(crate) fn wide_integer_format(schema: &Value) -> Option<&str> {
    let object = schema.as_object()?;
    let is_integer = match object.get("type")? {
        Value::String(ty) => ty == "integer",
        Value::Array(types) => types.iter().any(|ty| ty == "integer"),
        _ => false,
    };
    let format = object.get("format")?.as_str()?;
    if !is_integer || !WIDE_INTEGER_FORMATS.contains(&format) {
        return None;
    }
    let bound = |key: &str| object.get(key).and_then(Value::as_f64);
    let bounded = matches!(
        (bound("minimum"), bound("maximum")),
        (Some(min), Some(max)) if min >= -MAX_SAFE_INTEGER && max <= MAX_SAFE_INTEGER
    );
    (!bounded).then_some(format)
}

/// The format that marks Socket.IO binary data (see [`crate::binary_schema`]).
pub(crate) const BINARY_FORMAT: &str = "binary";

/// Whether `schema` describes binary data: `format: "binary"` (a Socket.IO attachment, see
/// [`crate::binary_schema`]) or `format: "byte"` (base64 text, the OpenAPI convention).
pub(crate) fn binary_format(schema: &Value) -> Option<&str> {
    let format = schema.as_object()?.get("format")?.as_str()?;
    matches!(format, BINARY_FORMAT | "byte").then_some(format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keywords_come_in_a_fixed_order_and_names_sorted() {
        let schema = json!({
            "required": ["b"],
            "properties": { "type": { "type": "string" }, "b": { "$ref": "#/$defs/B" } },
            "type": "object",
            "description": "d",
        });
        let out = canonical_schema(&schema, &|r| Some(r.replace("$defs", "components/schemas")));
        let text = serde_json::to_string(&out).unwrap_or_default();
        assert_eq!(
            text,
            r##"{"description":"d","type":"object","properties":{"b":{"$ref":"#/components/schemas/B"},"type":{"type":"string"}},"required":["b"]}"##
        );
    }

    #[test]
    fn ref_names_decode() {
        assert_eq!(decode_ref_name("a~1b~0c%20d"), "a/b~c d");
        assert_eq!(decode_ref_name("Plain"), "Plain");
        assert_eq!(decode_ref_name("bad%zz"), "bad%zz");
    }

    #[test]
    fn wide_integers_are_told_apart_by_format_and_bounds() {
        assert_eq!(
            wide_integer_format(&json!({"type": "integer", "format": "uint64", "minimum": 0})),
            Some("uint64")
        );
        assert_eq!(
            wide_integer_format(&json!({"type": ["integer", "null"], "format": "int64"})),
            Some("int64")
        );
        assert_eq!(
            wide_integer_format(&json!({"type": "integer", "format": "uint32"})),
            None
        );
        assert_eq!(
            wide_integer_format(
                &json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": 10})
            ),
            None
        );
    }

    #[test]
    fn tuples_downgrade_to_draft07() {
        let name = Schema::from(
            json!({"type": "string"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        let tuple = argument_tuple([("name", &name)]);
        assert_eq!(
            to_draft07(&tuple),
            json!({
                "type": "array",
                "items": [{"type": "string", "title": "name"}],
                "additionalItems": false,
                "minItems": 1,
                "maxItems": 1,
            })
        );
    }
}
