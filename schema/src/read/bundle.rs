//! ferrio's JSON Schema bundle ([`crate::json_schema`]) read back.

use serde_json::{Map, Value};

use super::{
    ack_args, escape_pointer, text, tuple_args, ContractDocument, DocumentKind, EventDoc,
    NamespaceDoc, ReadError, SCHEMA_REF_PREFIX,
};
use crate::contract::Direction;

/// Reads a JSON Schema bundle as [`crate::json_schema`] writes it. Its `$ref`s
/// (`#/$defs/Type`) are rewritten to [`SCHEMA_REF_PREFIX`] form.
pub fn read_bundle(root: Value) -> Result<ContractDocument, ReadError> {
    let rewritten = rewrite_refs(&root);
    let Some(Value::Object(defs)) = rewritten.get("$defs") else {
        return Err(ReadError::at("/$defs", "not an object"));
    };
    let mut namespaces = Vec::new();
    let mut schemas = Vec::new();
    for (key, entry) in defs {
        let pointer = format!("/$defs/{}", escape_pointer(key));
        if !key.starts_with('/') {
            schemas.push((key.clone(), entry.clone()));
            continue;
        }
        let mut namespace = NamespaceDoc {
            path: key.clone(),
            title: entry
                .get("title")
                .and_then(Value::as_str)
                .map(str::to_owned),
            docs: text(entry, "description").to_owned(),
            pointer: pointer.clone(),
            events: Vec::new(),
        };
        for (side, direction) in [("emit", Direction::Emit), ("on", Direction::On)] {
            let Some(Value::Object(events)) = entry.pointer(&format!("/$defs/{side}/$defs")) else {
                continue;
            };
            for (wire_name, event) in events {
                let event_pointer =
                    format!("{pointer}/$defs/{side}/$defs/{}", escape_pointer(wire_name));
                let args_pointer = format!("{event_pointer}/$defs/args");
                let (args, rest) = match event.pointer("/$defs/args") {
                    Some(args) => tuple_args(&rewritten, args, &args_pointer)?,
                    None => {
                        return Err(ReadError::at(
                            &event_pointer,
                            "an event without `$defs/args`",
                        ))
                    }
                };
                let ack_pointer = format!("{event_pointer}/$defs/ack");
                let (ack, ack_result) = match event.pointer("/$defs/ack") {
                    Some(ack) => {
                        let (args, _, result) = ack_args(&rewritten, ack, &ack_pointer)?;
                        (Some(args), result)
                    }
                    None => (None, false),
                };
                let rust_name = text(event, "$comment")
                    .strip_prefix("Rust method: ")
                    .map(str::to_owned);
                namespace.events.push(EventDoc {
                    wire_name: wire_name.clone(),
                    rust_name,
                    direction,
                    docs: text(event, "description").to_owned(),
                    pointer: event_pointer,
                    args,
                    rest,
                    ack_pointer: ack.as_ref().map(|_| ack_pointer.clone()),
                    ack,
                    ack_result,
                });
            }
        }
        namespaces.push(namespace);
    }
    Ok(ContractDocument {
        kind: DocumentKind::JsonSchemaBundle,
        title: text(&root, "title").to_owned(),
        version: String::new(),
        description: text(&root, "description").to_owned(),
        id: root.get("$id").and_then(Value::as_str).map(str::to_owned),
        servers: Vec::new(),
        namespaces,
        schemas,
        root: rewritten,
    })
}

/// The bundle with `#/$defs/Type` references turned into `#/components/schemas/Type`, and
/// the shared types also reachable there (so one resolver serves both kinds).
fn rewrite_refs(root: &Value) -> Value {
    fn walk(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, value) in map {
                    let value = match (key.as_str(), value) {
                        ("$ref", Value::String(reference)) => {
                            match reference.strip_prefix("#/$defs/") {
                                Some(name) if !name.starts_with("~1") => {
                                    Value::String(format!("{SCHEMA_REF_PREFIX}{name}"))
                                }
                                _ => value.clone(),
                            }
                        }
                        _ => walk(value),
                    };
                    out.insert(key.clone(), value);
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(walk).collect()),
            other => other.clone(),
        }
    }
    let mut out = walk(root);
    let mut schemas = Map::new();
    if let Some(Value::Object(defs)) = out.get("$defs") {
        for (key, value) in defs {
            if !key.starts_with('/') {
                schemas.insert(key.clone(), value.clone());
            }
        }
    }
    if let Value::Object(map) = &mut out {
        let mut components = Map::new();
        components.insert("schemas".into(), Value::Object(schemas));
        map.insert("components".into(), Value::Object(components));
    }
    out
}
