//! Reading contract documents back: text (JSON, or YAML with the `yaml` feature) into JSON,
//! and JSON into a [`ContractDocument`], the namespaces, events, arguments and acks a document
//! declares, whatever wrote it.
//!
//! Three kinds of documents are read ([`DocumentKind`]):
//!
//! - **AsyncAPI 3.0**: ferrio's own export ([`crate::asyncapi`]) and other Socket.IO tools'
//!   (zod-sockets' documentation generator): one channel per namespace, one operation per
//!   event, the ack as the operation's `reply`;
//! - **AsyncAPI 2.x** of Socket.IO tools that declare acks with an `x-ack` extension on the
//!   message (asynction's `x-ack: {args: schema}`, sio-asyncapi's `x-ack: schema`): one
//!   channel per namespace, `publish` for what clients send, `subscribe` for what they
//!   receive;
//! - **ferrio's JSON Schema bundle** ([`crate::json_schema`]), for the diff.
//!
//! Which side a document describes is a [`Perspective`]: AsyncAPI documents of a Socket.IO
//! server describe the server, so its `send` operations are what a client receives.
//!
//! Errors ([`ReadError`]) name where they are: a line and column for text that does not
//! parse, a JSON pointer for a document that parses but is not what it should be.

mod asyncapi;
mod bundle;

use std::fmt;

use serde_json::{Map, Value};

use crate::contract::Direction;
use crate::export::ServerInfo;

pub use asyncapi::read_asyncapi;
pub use bundle::read_bundle;

/// Where shared schemas live in a [`ContractDocument`]: every named type is referenced as
/// this prefix followed by its name.
pub const SCHEMA_REF_PREFIX: &str = "#/components/schemas/";

/// A document that cannot be read, with where the problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// Where: `line 3, column 7` for text that does not parse, a JSON pointer
    /// (`/channels/chat/messages/join/payload`) for a document that does.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl ReadError {
    /// An error at a JSON pointer (`""` is the whole document).
    pub fn at(pointer: &str, message: impl Into<String>) -> ReadError {
        ReadError {
            location: if pointer.is_empty() {
                "the document".to_owned()
            } else {
                format!("#{pointer}")
            },
            message: message.into(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for ReadError {}

/// Parses a document's text: JSON when it starts with `{` (after white space), YAML
/// otherwise (with the `yaml` feature; YAML 1.2, anchors and aliases resolved).
///
/// ```
/// let value = ferrio_schema::read::parse_text("{\"asyncapi\": \"3.0.0\"}").unwrap();
/// assert_eq!(value["asyncapi"], "3.0.0");
/// let error = ferrio_schema::read::parse_text("{\"asyncapi\": }").unwrap_err();
/// assert_eq!(error.location, "line 1, column 14");
/// ```
pub fn parse_text(text: &str) -> Result<Value, ReadError> {
    let trimmed = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).map_err(|error| ReadError {
            location: format!("line {}, column {}", error.line(), error.column()),
            message: format!("invalid JSON: {}", json_error_text(&error)),
        });
    }
    parse_yaml(trimmed)
}

/// serde_json's message without its trailing `at line L column C`.
fn json_error_text(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(feature = "yaml")]
fn parse_yaml(text: &str) -> Result<Value, ReadError> {
    use yaml_rust2::{Yaml, YamlLoader};

    fn convert(yaml: Yaml, path: &str) -> Result<Value, ReadError> {
        Ok(match yaml {
            Yaml::Real(text) => match text
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(number) => Value::Number(number),
                None => {
                    return Err(ReadError::at(
                        path,
                        format!("the number {text} is not finite"),
                    ))
                }
            },
            Yaml::Integer(value) => Value::from(value),
            Yaml::String(text) => Value::String(text),
            Yaml::Boolean(value) => Value::Bool(value),
            Yaml::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.into_iter().enumerate() {
                    out.push(convert(item, &format!("{path}/{index}"))?);
                }
                Value::Array(out)
            }
            Yaml::Hash(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    let key = match key {
                        Yaml::String(text) | Yaml::Real(text) => text,
                        Yaml::Integer(value) => value.to_string(),
                        Yaml::Boolean(value) => value.to_string(),
                        Yaml::Null => "null".to_owned(),
                        _ => {
                            return Err(ReadError::at(
                                path,
                                "a mapping key is not a string (JSON objects need string keys)",
                            ))
                        }
                    };
                    let child = format!("{path}/{}", escape_pointer(&key));
                    map.insert(key, convert(value, &child)?);
                }
                Value::Object(map)
            }
            Yaml::Null => Value::Null,
            Yaml::Alias(_) | Yaml::BadValue => {
                return Err(ReadError::at(path, "an unresolved YAML alias"))
            }
        })
    }

    let mut documents = YamlLoader::load_from_str(text).map_err(|error| ReadError {
        location: format!(
            "line {}, column {}",
            error.marker().line(),
            error.marker().col() + 1
        ),
        message: format!("invalid YAML: {}", error.info()),
    })?;
    if documents.len() > 1 {
        return Err(ReadError::at(
            "",
            "a YAML stream of several documents; give one",
        ));
    }
    match documents.pop() {
        Some(document) => convert(document, ""),
        None => Err(ReadError::at("", "the file is empty")),
    }
}

#[cfg(not(feature = "yaml"))]
fn parse_yaml(_: &str) -> Result<Value, ReadError> {
    Err(ReadError {
        location: "line 1, column 1".into(),
        message: "not JSON (it does not start with `{`); YAML needs ferrio-schema's `yaml` \
                  feature"
            .into(),
    })
}

/// What kind of document a [`ContractDocument`] was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// AsyncAPI 3.x.
    AsyncApi3,
    /// AsyncAPI 2.x with `x-ack` extensions.
    AsyncApi2,
    /// ferrio's JSON Schema bundle.
    JsonSchemaBundle,
}

/// Which side of the wire an AsyncAPI document describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Perspective {
    /// The document describes the server (as ferrio's export and zod-sockets' do): its
    /// `send` operations (2.x: `subscribe`) are events the client receives (`#[on]`), its
    /// `receive` operations (2.x: `publish`) events the client emits (`#[emit]`).
    #[default]
    Server,
    /// The document describes the client: its `send` operations are the client's `#[emit]`.
    Client,
}

impl Perspective {
    /// The direction of an operation with `action` (`"send"` or `"receive"`).
    pub fn direction(self, sends: bool) -> Direction {
        match (self, sends) {
            (Perspective::Server, true) | (Perspective::Client, false) => Direction::On,
            (Perspective::Server, false) | (Perspective::Client, true) => Direction::Emit,
        }
    }
}

/// A contract as a document declares it: what both the importer and the diff work on.
#[derive(Clone, Debug, PartialEq)]
pub struct ContractDocument {
    /// What it was read from.
    pub kind: DocumentKind,
    /// `info.title` (the bundle's `title`).
    pub title: String,
    /// `info.version` (empty for a bundle).
    pub version: String,
    /// `info.description` (the bundle's `description`).
    pub description: String,
    /// `id` (the bundle's `$id`).
    pub id: Option<String>,
    /// `servers`.
    pub servers: Vec<ServerInfo>,
    /// The namespaces, in document order.
    pub namespaces: Vec<NamespaceDoc>,
    /// The shared types, in document order, as (name, draft-07 or 2020-12 schema); a
    /// reference to one is [`SCHEMA_REF_PREFIX`] + its name.
    pub schemas: Vec<(String, Value)>,
    /// The whole document, to resolve references that point elsewhere.
    pub root: Value,
}

/// One Socket.IO namespace of a document.
#[derive(Clone, Debug, PartialEq)]
pub struct NamespaceDoc {
    /// The namespace, with its leading slash.
    pub path: String,
    /// The channel's title (ferrio writes the contract's name there).
    pub title: Option<String>,
    /// The channel's description.
    pub docs: String,
    /// Where it is declared (a JSON pointer).
    pub pointer: String,
    /// Its events, in document order.
    pub events: Vec<EventDoc>,
}

/// One event of a document.
#[derive(Clone, Debug, PartialEq)]
pub struct EventDoc {
    /// The event name on the wire.
    pub wire_name: String,
    /// The Rust method name, when the document has one (`x-ferrio-rust-name`).
    pub rust_name: Option<String>,
    /// Who sends it, as seen by the client.
    pub direction: Direction,
    /// Its description.
    pub docs: String,
    /// Where its message is declared (a JSON pointer).
    pub pointer: String,
    /// The arguments, in order.
    pub args: Vec<ArgDoc>,
    /// Arguments that may follow the declared ones (`additionalItems` with a schema), if any.
    pub rest: Option<ArgDoc>,
    /// The ack's arguments; `None` when the event has no ack.
    pub ack: Option<Vec<ArgDoc>>,
    /// Where the ack's message is declared (a JSON pointer), when there is one.
    pub ack_pointer: Option<String>,
    /// Whether the ack follows Node's `callback(err, data)` convention (as ferrio's exports
    /// mark it): [`EventDoc::ack`] is then `[err | null, data?]`.
    pub ack_result: bool,
}

/// The arguments of an ack's schema, and whether it is Node's `(err, data)` convention:
/// exactly one of the tuples `[null, data]` and `[err]` (as ferrio writes a `Result` ack)
/// reads as `[err | null, data?]`; anything else as [`tuple_args`] reads it.
pub(crate) fn ack_args(
    root: &Value,
    payload: &Value,
    pointer: &str,
) -> Result<(Vec<ArgDoc>, Option<ArgDoc>, bool), ReadError> {
    let (followed, followed_pointer) = follow(root, payload, pointer)?;
    if let Some(Value::Array(either)) = followed.get("oneOf") {
        if let [ok, err] = either.as_slice() {
            let (ok_args, ok_rest) = tuple_args(root, ok, &format!("{followed_pointer}/oneOf/0"))?;
            let (err_args, err_rest) =
                tuple_args(root, err, &format!("{followed_pointer}/oneOf/1"))?;
            let is_null = |s: &Value| s.get("type").and_then(Value::as_str) == Some("null");
            if let ([null, data], [error], None, None) =
                (ok_args.as_slice(), err_args.as_slice(), &ok_rest, &err_rest)
            {
                if is_null(&null.schema) {
                    let error = ArgDoc {
                        name: Some("err".into()),
                        optional: false,
                        schema: serde_json::json!({
                            "anyOf": [error.schema.clone(), { "type": "null" }]
                        }),
                        pointer: error.pointer.clone(),
                    };
                    let data = ArgDoc {
                        name: Some("data".into()),
                        optional: true,
                        ..data.clone()
                    };
                    return Ok((vec![error, data], None, true));
                }
            }
        }
    }
    let (args, rest) = tuple_args(root, payload, pointer)?;
    Ok((args, rest, false))
}

/// One positional argument (of an event or of an ack).
#[derive(Clone, Debug, PartialEq)]
pub struct ArgDoc {
    /// Its name (the tuple item's `title`), when the document gives one.
    pub name: Option<String>,
    /// Whether it may be left out (past the tuple's `minItems`).
    pub optional: bool,
    /// Its schema, without the `title` that named it.
    pub schema: Value,
    /// Where the schema is (a JSON pointer).
    pub pointer: String,
}

/// Reads any supported document (see the [module docs](self)).
pub fn read_document(root: Value, perspective: Perspective) -> Result<ContractDocument, ReadError> {
    match root.get("asyncapi") {
        Some(Value::String(version)) if version.starts_with("3.") => {
            read_asyncapi(root, perspective)
        }
        Some(Value::String(version)) if version.starts_with("2.") => {
            read_asyncapi(root, perspective)
        }
        Some(Value::String(version)) => Err(ReadError::at(
            "/asyncapi",
            format!("AsyncAPI {version} is not supported (2.x with x-ack and 3.x are)"),
        )),
        Some(_) => Err(ReadError::at(
            "/asyncapi",
            "`asyncapi` is not a version string",
        )),
        None if root.get("$defs").is_some() && root.get("$schema").is_some() => read_bundle(root),
        None if root.is_object() => Err(ReadError::at(
            "",
            "not an AsyncAPI document (no `asyncapi` version) nor a ferrio JSON Schema bundle \
             (no `$schema` and `$defs`)",
        )),
        None => Err(ReadError::at("", "not a JSON object")),
    }
}

/// Escapes a name for a JSON pointer (`~` -> `~0`, `/` -> `~1`).
pub fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Resolves a local reference (`#/a/b`) in `root`.
pub fn resolve_local<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    let decoded = crate::walk::decode_ref_name(pointer);
    if decoded == pointer {
        root.pointer(pointer)
    } else {
        // Percent-encoded: decode each token, then look up token by token.
        let mut node = root;
        for token in pointer.split('/').skip(1) {
            let token = crate::walk::decode_ref_name(token);
            node = match node {
                Value::Object(map) => map.get(&token)?,
                Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }
}

/// Follows `$ref`s from `value` (at `pointer`) until a value that is no reference, at most 64
/// hops. Returns the value and its pointer.
pub(crate) fn follow<'a>(
    root: &'a Value,
    value: &'a Value,
    pointer: &str,
) -> Result<(&'a Value, String), ReadError> {
    let mut value = value;
    let mut pointer = pointer.to_owned();
    for _ in 0..64 {
        match value.get("$ref") {
            Some(Value::String(reference)) => {
                if !reference.starts_with('#') {
                    return Err(ReadError::at(
                        &pointer,
                        format!("unresolved $ref {reference:?}: only references inside the document are followed"),
                    ));
                }
                value = resolve_local(root, reference).ok_or_else(|| {
                    ReadError::at(&pointer, format!("unresolved $ref {reference:?}"))
                })?;
                pointer = reference[1..].to_owned();
            }
            _ => return Ok((value, pointer)),
        }
    }
    Err(ReadError::at(&pointer, "a cycle of $refs"))
}

/// A string member of an object, or `""`.
pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Checks that every `$ref` in `schema` (at `pointer`) resolves inside `root`.
pub(crate) fn check_refs(root: &Value, schema: &Value, pointer: &str) -> Result<(), ReadError> {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                let child = format!("{pointer}/{}", escape_pointer(key));
                if key == "$ref" {
                    if let Value::String(reference) = value {
                        if !reference.starts_with('#') || resolve_local(root, reference).is_none() {
                            return Err(ReadError::at(
                                &child,
                                format!("unresolved $ref {reference:?}"),
                            ));
                        }
                    }
                } else if !matches!(
                    key.as_str(),
                    "examples" | "example" | "default" | "const" | "enum"
                ) {
                    check_refs(root, value, &child)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                check_refs(root, item, &format!("{pointer}/{index}"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Splits a Socket.IO argument array schema into its arguments: a tuple (`items` list or
/// `prefixItems`) gives one argument per item, named by its `title`; `{type: array}` without
/// items gives none; anything else is one argument.
pub(crate) fn tuple_args(
    root: &Value,
    payload: &Value,
    pointer: &str,
) -> Result<(Vec<ArgDoc>, Option<ArgDoc>), ReadError> {
    let (payload, pointer) = follow(root, payload, pointer)?;
    let Some(object) = payload.as_object() else {
        return Ok((vec![whole(payload, pointer.clone())], None));
    };
    if object.get("type").and_then(Value::as_str) != Some("array") {
        return Ok((vec![whole(payload, pointer.clone())], None));
    }
    let (items_key, items, rest_key) = match (object.get("prefixItems"), object.get("items")) {
        (Some(Value::Array(items)), _) => ("prefixItems", items.as_slice(), "items"),
        (_, Some(Value::Array(items))) => ("items", items.as_slice(), "additionalItems"),
        // `items: false` (no argument), or no list: only rest arguments, if any.
        (_, Some(Value::Bool(false))) => ("items", &[][..], "additionalItems"),
        // A list schema (`items: {..}`): one argument that is an array.
        (_, Some(_)) => return Ok((vec![whole(payload, pointer.clone())], None)),
        (_, None) => ("", &[][..], "additionalItems"),
    };
    let min = object
        .get("minItems")
        .and_then(Value::as_u64)
        .map_or(items.len(), |min| min as usize);
    let mut args = Vec::new();
    for (index, item) in items.iter().enumerate() {
        args.push(arg(
            item,
            format!("{pointer}/{items_key}/{index}"),
            index >= min,
        ));
    }
    let rest = match object.get(rest_key) {
        None | Some(Value::Bool(false)) => None,
        Some(Value::Array(_)) => None,
        Some(schema) => Some(arg(schema, format!("{pointer}/{rest_key}"), true)),
    };
    Ok((args, rest))
}

/// The one argument that is a whole payload (not a tuple): its schema as it is (a `title`
/// there names the schema, not the argument).
fn whole(payload: &Value, pointer: String) -> ArgDoc {
    ArgDoc {
        name: None,
        optional: false,
        schema: payload.clone(),
        pointer,
    }
}

/// An argument from a tuple item: its `title` becomes the name, a lone `allOf: [$ref]` (how
/// ferrio writes a named type under a title) the reference itself.
fn arg(item: &Value, pointer: String, optional: bool) -> ArgDoc {
    let mut schema = item.clone();
    let mut name = None;
    if let Value::Object(map) = &mut schema {
        name = match map.remove("title") {
            Some(Value::String(title)) => Some(title),
            _ => None,
        };
        unwrap_ref_all_of(map);
    }
    ArgDoc {
        name,
        optional,
        schema,
        pointer,
    }
}

/// `{allOf: [X]}` with nothing else -> `X` (ferrio moves a `$ref`'s siblings into `allOf`).
pub(crate) fn unwrap_ref_all_of(map: &mut Map<String, Value>) {
    if map.len() == 1 {
        if let Some(Value::Array(items)) = map.get("allOf") {
            if let [Value::Object(only)] = items.as_slice() {
                if only.contains_key("$ref") {
                    let only = only.clone();
                    *map = only;
                }
            }
        }
    }
}
