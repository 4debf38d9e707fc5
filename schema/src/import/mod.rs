//! AsyncAPI -> Rust: the payload types and one `#[ferrio::socketio_events]` trait per
//! namespace, from any document [`crate::read`] reads (AsyncAPI 3.x, 2.x with `x-ack`, the
//! JSON Schema bundle).
//!
//! The output is one Rust file, printed by prettyplease (so `rustfmt` leaves it as it is) and
//! the same for the same document. It needs `ferrio`, `serde` (with `derive`) and, when the
//! contract has binary data, `bytes` (with `serde`) in the crate that compiles it, and
//! nothing else: every path is written in full.
//!
//! # Mapping
//!
//! | schema | Rust |
//! | --- | --- |
//! | `{type: object, properties}` | a struct; `required` fields in order, then the others as `Option`, skipped when `None`; `additionalProperties: false` is `deny_unknown_fields` |
//! | `{type: object, additionalProperties: S}` | `BTreeMap<String, S>` |
//! | `enum` / `const` of strings, `oneOf` of string constants | a unit enum (`rename`d variants) |
//! | `oneOf` / `anyOf` | an enum: internally tagged when every alternative is an inline object with one string-constant property in common (or the `discriminator`), untagged otherwise |
//! | a `null` alternative, `type: [T, "null"]`, `nullable: true` | `Option<T>` |
//! | `{type: array, items: S}` / a tuple (`items: [..]`, `prefixItems`) | `Vec<S>` / a Rust tuple |
//! | `integer` with `format` `int8`..`int128`, `uint8`..`uint128`, `int`, `uint` | `i8`..`i128`, `u8`..`u128`, `isize`, `usize`; without a format `i64` |
//! | `number` (`format: float`) | `f64` (`f32`) |
//! | `format: date` / `date-time` without a `type` (zod-sockets' `z.date()`) | `String` (ISO 8601 text, as JSON carries a date) |
//! | `format: binary` | `Binary`, a newtype over `bytes::Bytes` whose schema is [`crate::binary_schema`] (a Socket.IO attachment) |
//! | `{}`, `true`, annotations only | `serde_json::Value` |
//! | `not`, `if`, `patternProperties`, `allOf` of several... | `serde_json::Value`, with a doc line naming the schema's JSON pointer and why |
//! | `$ref` to `components/schemas/X` | the type `X`, written once; a recursive one is an error |
//!
//! An event's message payload is its argument list (a tuple: one argument per item, named by
//! the item's `title`, past `minItems` an `Option`); the operation's reply is the ack (no
//! item: `ferrio::Acked`; one: its type, `(T,)` if that is a tuple; several: a tuple of their
//! types; marked `x-socketio-ack: "result"`, Node's `[err | null, data?]`: `Result<T, E>`). Events whose arguments cannot be expressed as a
//! fixed list (`additionalItems` with a schema: any number of arguments), reserved event
//! names (`connect`, `disconnect`...) and a wire name used twice in one direction are
//! errors naming the JSON pointer.
//!
//! Names: types in PascalCase, methods, arguments and fields in snake_case; Rust keywords
//! become raw identifiers (`r#type`); a wire name that is not the Rust name is kept with
//! `#[emit(name = "chat message")]` / `#[serde(rename = "..")]`; clashes get `2`, `3`...
//! Docs come from descriptions; a type or field the document does not describe gets
//! `#[allow(missing_docs)]` rather than invented text, and an undocumented trait or event
//! stays undocumented (the macro documents what it generates, and takes no other attribute
//! there).
//!
//! The file also has `export_options()` and `exporter()`, so the imported contract exports
//! again as the document it came from (ferrio's own export round-trips, modulo order).

mod names;
mod types;

use serde_json::Value;

use self::names::{is_plain_ident, pascal_case, snake_case, unraw, Names};
use self::types::{docs, Types, DERIVES, DERIVE_IMPORTS};
use crate::contract::Direction;
use crate::read::{
    parse_text, read_document, ArgDoc, ContractDocument, DocumentKind, EventDoc, Perspective,
    ReadError,
};

/// Socket.IO event names a socket cannot use (the macro refuses them).
const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// How to import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Which side the document describes (AsyncAPI documents of servers: [`Perspective::Server`]).
    pub perspective: Perspective,
    /// The document's file name, for the header of the output.
    pub source: Option<String>,
}

/// Imports a document's text (JSON, or YAML with the `yaml` feature) as Rust source.
///
/// ```
/// let document = r##"{
///   "asyncapi": "3.0.0",
///   "info": {"title": "Echo", "version": "1.0.0"},
///   "channels": {"main": {"address": "/"}},
///   "operations": {
///     "echo": {
///       "action": "receive",
///       "channel": {"$ref": "#/channels/main"},
///       "description": "Echo a text.",
///       "messages": [{"name": "echo", "payload": {"type": "array", "items": [{"title": "text", "type": "string"}]}}],
///       "reply": {"messages": [{"payload": {"type": "array", "items": [{"type": "string"}]}}]}
///     }
///   }
/// }"##;
/// let rust = ferrio_schema::import::import(document, &Default::default()).unwrap();
/// assert!(rust.contains("fn echo(text: String) -> String;"));
/// assert!(rust.contains("#[ferrio::socketio_events(namespace = \"/\")]"));
/// ```
pub fn import(text: &str, options: &ImportOptions) -> Result<String, ReadError> {
    let document = read_document(parse_text(text)?, options.perspective)?;
    import_document(&document, options)
}

/// Imports a document already read.
pub fn import_document(
    document: &ContractDocument,
    options: &ImportOptions,
) -> Result<String, ReadError> {
    // Trait names first, so types do not take them.
    let mut trait_names = Names::default();
    let mut traits = Vec::new();
    for namespace in &document.namespaces {
        let fallback = format!("{}Events", pascal_case(&namespace.path, "Main"));
        let base = match &namespace.title {
            Some(title)
                if is_plain_ident(title) && title.starts_with(|c: char| c.is_ascii_uppercase()) =>
            {
                title.clone()
            }
            _ => fallback,
        };
        traits.push(trait_names.claim(&base));
    }
    let mut taken: Vec<String> = Vec::new();
    for name in &traits {
        taken.push(name.clone());
        taken.push(format!("{name}Socket"));
    }
    let taken_refs: Vec<&str> = taken.iter().map(String::as_str).collect();
    let mut types = Types::new(document, &taken_refs);

    let mut trait_items = Vec::new();
    for (namespace, trait_name) in document.namespaces.iter().zip(&traits) {
        let mut methods = Names::default();
        let mut wire_seen: Vec<(Direction, &str, &str)> = Vec::new();
        let mut lines = Vec::new();
        for event in &namespace.events {
            if RESERVED_EVENTS.contains(&event.wire_name.as_str()) {
                return Err(ReadError::at(
                    &event.pointer,
                    format!(
                        "`{}` is a reserved Socket.IO event name; a socket cannot send or \
                         receive it",
                        event.wire_name
                    ),
                ));
            }
            if let Some((_, _, first)) = wire_seen
                .iter()
                .find(|(d, w, _)| *d == event.direction && *w == event.wire_name)
            {
                return Err(ReadError::at(
                    &event.pointer,
                    format!(
                        "the event `{}` is declared twice in one direction (first at #{first})",
                        event.wire_name
                    ),
                ));
            }
            wire_seen.push((event.direction, &event.wire_name, &event.pointer));
            if let Some(rest) = &event.rest {
                return Err(ReadError::at(
                    &rest.pointer,
                    "any number of further arguments (`additionalItems` with a schema): a typed \
                     event has a fixed argument list",
                ));
            }
            let base = match &event.rust_name {
                Some(name)
                    if is_plain_ident(name)
                        || name.starts_with(|c: char| c.is_ascii_lowercase()) =>
                {
                    snake_case(name, "event")
                }
                _ => snake_case(&event.wire_name, "event"),
            };
            let base = if event.direction == Direction::On && unraw(&base) == "payload_error" {
                "payload_error_event".to_owned()
            } else {
                base
            };
            let method = methods.claim(&base);
            let event_hint = unraw(&method).to_owned();

            let mut notes = Vec::new();
            let mut args = Vec::new();
            let mut arg_names = Names::with(&["self"]);
            let single = event.args.len() == 1;
            for (index, arg) in event.args.iter().enumerate() {
                let fallback = if single {
                    "payload".to_owned()
                } else {
                    format!("arg{index}")
                };
                let name = arg_names.claim(&snake_case(
                    arg.name.as_deref().unwrap_or(&fallback),
                    &fallback,
                ));
                let ty = arg_type(&mut types, arg, &format!("{event_hint} {}", unraw(&name)))?;
                notes.extend(types.take_notes());
                if let Some(description) = arg_description(arg) {
                    notes.push(format!("`{}`: {description}", unraw(&name)));
                }
                args.push(format!("{name}: {ty}"));
            }
            let ret = match &event.ack {
                None => String::new(),
                Some(ack) if ack.is_empty() => " -> ferrio::Acked".to_owned(),
                Some(ack) => {
                    format!(
                        " -> {}",
                        ack_type(&mut types, event, ack, &event_hint, &mut notes)?
                    )
                }
            };
            let attr = match event.direction {
                Direction::Emit => "emit",
                Direction::On => "on",
            };
            let attr = if unraw(&method) == event.wire_name {
                format!("#[{attr}]")
            } else {
                format!("#[{attr}(name = {:?})]", event.wire_name)
            };
            let mut text = event.docs.trim().to_owned();
            for note in notes {
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&note);
            }
            // The macro documents what it generates, and takes no attribute but docs on a
            // method: an undocumented event stays undocumented.
            lines.push(format!(
                "{}\n{attr}\nfn {method}({}){ret};",
                macro_docs(&text),
                args.join(", ")
            ));
        }
        trait_items.push(format!(
            "{}\n#[ferrio::socketio_events(namespace = {:?})]\npub trait {trait_name} {{\n{}\n}}",
            macro_docs(&namespace.docs),
            namespace.path,
            lines.join("\n")
        ));
    }
    types.rest_of_named()?;

    let mut source = String::new();
    source.push_str(&header(document, options));
    if types.items.iter().any(|item| item.contains(DERIVES)) {
        source.push_str(DERIVE_IMPORTS);
    }
    for item in &types.items {
        source.push_str(item);
        source.push('\n');
    }
    if let Some(binary) = &types.binary {
        source.push_str(&binary_item(binary));
    }
    for item in &trait_items {
        source.push_str(item);
        source.push('\n');
    }
    source.push_str(&export_items(document, &traits));
    let file = syn::parse_file(&source).map_err(|error| {
        ReadError::at(
            "",
            format!(
                "internal error: the generated source does not parse ({error}); please report it"
            ),
        )
    })?;
    Ok(prettyplease::unparse(&file))
}

/// Doc attributes for an item the macro consumes (the trait, its methods): none for no text,
/// since the macro writes docs of its own and accepts no other attribute there.
fn macro_docs(text: &str) -> String {
    if text.trim().is_empty() {
        String::new()
    } else {
        docs(text)
    }
}

/// An argument's type: `Option` past `minItems`.
fn arg_type(types: &mut Types<'_>, arg: &ArgDoc, hint: &str) -> Result<String, ReadError> {
    let ty = types.rust_type(&arg.schema, &arg.pointer, hint)?;
    Ok(if arg.optional && !ty.starts_with("Option<") {
        format!("Option<{ty}>")
    } else {
        ty
    })
}

/// The return type that declares an ack of `args`: `T` for one value (`(T,)` when `T` is a
/// tuple, which would read as several arguments), `(A, B, ..)` for several, and
/// `Result<T, E>` for Node's `(err, data)` convention.
fn ack_type(
    types: &mut Types<'_>,
    event: &EventDoc,
    args: &[ArgDoc],
    event_hint: &str,
    notes: &mut Vec<String>,
) -> Result<String, ReadError> {
    if let (true, [error, value]) = (event.ack_result, args) {
        let error = ArgDoc {
            schema: without_null(&error.schema),
            optional: false,
            ..error.clone()
        };
        let value = ArgDoc {
            optional: false,
            ..value.clone()
        };
        let error = arg_type(types, &error, &format!("{event_hint} ack error"))?;
        let value = arg_type(types, &value, &format!("{event_hint} ack"))?;
        notes.extend(types.take_notes());
        return Ok(format!("Result<{value}, {error}>"));
    }
    let mut tys = Vec::new();
    for (index, arg) in args.iter().enumerate() {
        let hint = match args.len() {
            1 => format!("{event_hint} ack"),
            _ => format!("{event_hint} ack {index}"),
        };
        tys.push(arg_type(types, arg, &hint)?);
        notes.extend(types.take_notes());
        if let Some(description) = arg_description(arg) {
            notes.push(match args.len() {
                1 => format!("The ack: {description}"),
                _ => format!("The ack's argument {index}: {description}"),
            });
        }
    }
    Ok(match tys.as_slice() {
        [one] if one.starts_with('(') => format!("({one},)"),
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    })
}

/// `schema` without its `null` alternative (`anyOf: [E, {type: null}]` is `E`).
fn without_null(schema: &Value) -> Value {
    let is_null = |s: &Value| s.get("type").and_then(Value::as_str) == Some("null");
    match schema.get("anyOf").and_then(Value::as_array) {
        Some(alternatives) => {
            let rest: Vec<&Value> = alternatives.iter().filter(|s| !is_null(s)).collect();
            match rest.as_slice() {
                [one] => (*one).clone(),
                _ => schema.clone(),
            }
        }
        None => schema.clone(),
    }
}

/// The description of an argument that is not a named type's (which documents itself).
fn arg_description(arg: &ArgDoc) -> Option<&str> {
    let object = arg.schema.as_object()?;
    if object.contains_key("$ref") || object.contains_key("properties") {
        return None;
    }
    object
        .get("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|d| !d.is_empty())
}

/// The file's inner docs: where it comes from and the perspective.
fn header(document: &ContractDocument, options: &ImportOptions) -> String {
    let kind = match document.kind {
        DocumentKind::AsyncApi3 => "AsyncAPI 3 document",
        DocumentKind::AsyncApi2 => "AsyncAPI 2 document",
        DocumentKind::JsonSchemaBundle => "JSON Schema bundle",
    };
    let source = match &options.source {
        Some(source) => format!(" `{source}`"),
        None => String::new(),
    };
    let (sends, receives, other) = match options.perspective {
        Perspective::Server => ("`#[on]`", "`#[emit]`", "client"),
        Perspective::Client => ("`#[emit]`", "`#[on]`", "server"),
    };
    let side = match options.perspective {
        Perspective::Server => "server",
        Perspective::Client => "client",
    };
    let title = if document.version.is_empty() {
        format!("\"{}\"", document.title)
    } else {
        format!("\"{}\" {}", document.title, document.version)
    };
    let mut lines = vec![
        format!("The Socket.IO contract {title}, imported by `ferrio-contract import` from the {kind}{source}; do not edit, import again."),
        String::new(),
        format!(
            "Perspective: the document describes the {side}, so what it sends (`send`, \
             `subscribe`) are this client's {sends} events and what it receives (`receive`, \
             `publish`) its {receives} events (`--perspective {other}` reads it the other way)."
        ),
    ];
    if document.kind == DocumentKind::JsonSchemaBundle {
        lines.truncate(1);
    }
    lines
        .iter()
        .map(|line| {
            if line.is_empty() {
                "#![doc = \"\"]\n".to_owned()
            } else {
                format!("#![doc = {:?}]\n", format!(" {line}"))
            }
        })
        .collect()
}

/// The newtype of binary data.
fn binary_item(ident: &str) -> String {
    format!(
        r#"/// Bytes that travel as a Socket.IO binary attachment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct {ident}(pub bytes::Bytes);

impl ferrio::schema::schemars::JsonSchema for {ident} {{
    fn inline_schema() -> bool {{
        true
    }}
    fn schema_name() -> std::borrow::Cow<'static, str> {{
        "{ident}".into()
    }}
    fn json_schema(_: &mut ferrio::schema::schemars::SchemaGenerator) -> ferrio::schema::schemars::Schema {{
        ferrio::schema::binary_schema()
    }}
}}
"#
    )
}

fn literal(text: &str) -> String {
    format!("{text:?}.into()")
}

fn optional(text: Option<&str>) -> String {
    match text {
        Some(text) => format!("Some({})", literal(text)),
        None => "None".to_owned(),
    }
}

/// `export_options()` and `exporter()`.
fn export_items(document: &ContractDocument, traits: &[String]) -> String {
    let info = document.root.get("info").cloned().unwrap_or(Value::Null);
    let field =
        |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let servers: Vec<String> = document
        .servers
        .iter()
        .enumerate()
        .map(|(index, s)| {
            format!(
                "let server{index} = ferrio::schema::ServerInfo {{ name: {}, host: {}, protocol: {}, pathname: {}, description: {} }};",
                literal(&s.name),
                literal(&s.host),
                literal(&s.protocol),
                literal(&s.pathname),
                optional(s.description.as_deref())
            )
        })
        .collect();
    let server_names: Vec<String> = (0..servers.len()).map(|i| format!("server{i}")).collect();
    let contact = match info.get("contact") {
        Some(contact) => format!(
            "Some(ferrio::schema::Contact {{ name: {}, url: {}, email: {} }})",
            literal(&field(contact, "name").unwrap_or_default()),
            literal(&field(contact, "url").unwrap_or_default()),
            literal(&field(contact, "email").unwrap_or_default()),
        ),
        None => "None".to_owned(),
    };
    let license = match info.get("license") {
        Some(license) => format!(
            "Some(ferrio::schema::License {{ name: {}, url: {} }})",
            literal(&field(license, "name").unwrap_or_default()),
            optional(field(license, "url").as_deref()),
        ),
        None => "None".to_owned(),
    };
    let description = (!document.description.is_empty()).then_some(document.description.as_str());
    let contracts: String = traits
        .iter()
        .map(|t| format!("exporter.add::<{t}>();"))
        .collect();
    format!(
        r#"/// What names the service when this contract is exported again (title, version, servers...
/// as the document had them).
pub fn export_options() -> ferrio::schema::ExportOptions {{
    {servers}
    ferrio::schema::ExportOptions {{
        title: {title},
        version: {version},
        description: {description},
        id: {id},
        servers: Vec::from([{server_names}]),
        contact: {contact},
        license: {license},
    }}
}}

/// The exporter of every namespace of this contract.
pub fn exporter() -> ferrio::schema::Exporter {{
    let mut exporter = ferrio::schema::Exporter::new();
    {contracts}
    exporter
}}
"#,
        title = literal(&document.title),
        version = literal(&document.version),
        description = optional(description),
        id = optional(document.id.as_deref()),
        servers = servers.join("\n"),
        server_names = server_names.join(", "),
    )
}
