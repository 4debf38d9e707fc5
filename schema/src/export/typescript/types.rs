//! The mapping from JSON Schema to TypeScript types: the type expression of a schema (unions,
//! intersections, tuples, records, literals, with parentheses where precedence needs them),
//! interface bodies, and the JSDoc notes a type carries (wide integers, binary data).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::Ts;
use crate::walk::{binary_format, sorted, wide_integer_format, BINARY_FORMAT};

/// The TypeScript type of binary data.
pub(super) const BINARY_TYPE: &str = "ArrayBuffer | ArrayBufferView";

/// How tightly a rendered type binds, to know when it needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Prec {
    Union,
    Intersection,
    Atom,
}

pub(super) struct Rendered {
    pub(super) text: String,
    pub(super) prec: Prec,
}

impl Rendered {
    pub(super) fn atom(text: impl Into<String>) -> Rendered {
        Rendered {
            text: text.into(),
            prec: Prec::Atom,
        }
    }

    /// The text, parenthesized if it binds less tightly than `at_least`.
    pub(super) fn at(self, at_least: Prec) -> String {
        if self.prec < at_least {
            format!("({})", self.text)
        } else {
            self.text
        }
    }
}

/// JSDoc notes gathered while rendering a type, written on the nearest declaration.
#[derive(Default)]
pub(super) struct Notes(pub(super) Vec<String>);

impl Notes {
    pub(super) fn add(&mut self, note: String) {
        if !self.0.contains(&note) {
            self.0.push(note);
        }
    }
}

impl Ts<'_> {
    /// A top-level `oneOf`/`anyOf` whose members carry docs, one member per line.
    pub(super) fn union_block(&self, object: &Map<String, Value>, notes: &mut Notes) -> String {
        let mut text = String::new();
        for member in union_members(object) {
            text.push('\n');
            if let Some(description) = member.get("description").and_then(Value::as_str) {
                jsdoc(&mut text, 1, &[description.trim().to_owned()]);
            }
            let ty = self.ty(member, 1, notes).at(Prec::Intersection);
            let _ = write!(text, "  | {ty}");
        }
        text
    }

    /// The TypeScript type of `schema`; `indent` is the nesting level of the line it starts on.
    pub(super) fn ty(&self, schema: &Value, indent: usize, notes: &mut Notes) -> Rendered {
        let object = match schema {
            Value::Bool(true) => return Rendered::atom("unknown"),
            Value::Bool(false) => return Rendered::atom("never"),
            Value::Object(object) => object,
            _ => return Rendered::atom("unknown"),
        };
        if let Some(Value::String(reference)) = object.get("$ref") {
            return Rendered::atom(match self.model.resolve(reference) {
                Some(def) => def.ident.clone(),
                None => "unknown".to_owned(),
            });
        }
        if let Some(value) = object.get("const") {
            return Rendered::atom(literal(value, indent));
        }
        if let Some(Value::Array(values)) = object.get("enum") {
            return union(
                values
                    .iter()
                    .map(|v| Rendered::atom(literal(v, indent)))
                    .collect(),
            );
        }
        match binary_format(schema) {
            Some(BINARY_FORMAT) => {
                notes.add(
                    "Binary data, sent as a Socket.IO attachment (a `Buffer` in Node.js, an \
                     `ArrayBuffer` in browsers)."
                        .to_owned(),
                );
                return Rendered {
                    text: BINARY_TYPE.to_owned(),
                    prec: Prec::Union,
                };
            }
            Some(_) => notes.add("Base64-encoded bytes.".to_owned()),
            None => {}
        }
        if let Some(format) = wide_integer_format(schema) {
            notes.add(format!(
                "`{format}` in Rust: a JavaScript number holds it exactly only up to 2^53 - 1 \
                 (`Number.MAX_SAFE_INTEGER`)."
            ));
        }

        let mut parts = Vec::new();
        let types: Vec<&str> = match object.get("type") {
            Some(Value::String(ty)) => vec![ty.as_str()],
            Some(Value::Array(types)) => types.iter().filter_map(Value::as_str).collect(),
            _ if object.contains_key("properties")
                || object.contains_key("additionalProperties") =>
            {
                vec!["object"]
            }
            _ if object.contains_key("items") || object.contains_key("prefixItems") => {
                vec!["array"]
            }
            _ => Vec::new(),
        };
        if !types.is_empty() {
            parts.push(union(
                types
                    .into_iter()
                    .map(|ty| self.instance_type(ty, object, indent, notes))
                    .collect(),
            ));
        }
        if let Some(Value::Array(members)) = object.get("allOf") {
            parts.extend(members.iter().map(|m| self.ty(m, indent, notes)));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(members)) = object.get(key) {
                parts.push(union(
                    members.iter().map(|m| self.ty(m, indent, notes)).collect(),
                ));
            }
        }
        match parts.len() {
            0 => Rendered::atom("unknown"),
            1 => parts.remove(0),
            _ => Rendered {
                text: parts
                    .into_iter()
                    .map(|p| p.at(Prec::Intersection))
                    .collect::<Vec<_>>()
                    .join(" & "),
                prec: Prec::Intersection,
            },
        }
    }

    /// The type of one JSON type name (`"string"`, `"object"`...) constrained by `object`.
    pub(super) fn instance_type(
        &self,
        ty: &str,
        object: &Map<String, Value>,
        indent: usize,
        notes: &mut Notes,
    ) -> Rendered {
        match ty {
            "string" => Rendered::atom("string"),
            "integer" | "number" => Rendered::atom("number"),
            "boolean" => Rendered::atom("boolean"),
            "null" => Rendered::atom("null"),
            "object" => self.object_type(object, indent, notes),
            "array" => self.array_type(object, indent, notes),
            _ => Rendered::atom("unknown"),
        }
    }

    pub(super) fn object_type(
        &self,
        object: &Map<String, Value>,
        indent: usize,
        notes: &mut Notes,
    ) -> Rendered {
        let has_properties = object
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        if has_properties {
            return Rendered::atom(self.properties(object, indent));
        }
        match object.get("additionalProperties") {
            Some(Value::Bool(false)) => Rendered::atom("Record<string, never>"),
            Some(extra @ Value::Object(_)) => Rendered::atom(format!(
                "Record<string, {}>",
                self.ty(extra, indent, notes).text
            )),
            _ => Rendered::atom("Record<string, unknown>"),
        }
    }

    /// `{ name: T; ... }` over several lines, the closing brace at `indent`. A schema for
    /// other properties (`additionalProperties`, e.g. from `#[serde(flatten)]` of a map)
    /// becomes an index signature, whose type also admits every named property's type, as
    /// TypeScript requires.
    pub(super) fn properties(&self, object: &Map<String, Value>, indent: usize) -> String {
        let required: Vec<&str> = match object.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let empty = Map::new();
        let properties = object
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut text = String::from("{\n");
        let mut index_types: Vec<String> = Vec::new();
        for (name, schema) in sorted(properties) {
            let mut notes = Notes::default();
            let rendered = self.ty(schema, indent + 1, &mut notes);
            let ty = rendered.text.clone();
            index_types.push(rendered.at(Prec::Intersection));
            if !required.contains(&name) {
                index_types.push("undefined".to_owned());
            }
            let mut doc = Vec::new();
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                doc.push(description.trim().to_owned());
            }
            doc.extend(notes.0);
            if schema.get("deprecated") == Some(&Value::Bool(true)) {
                doc.push("@deprecated".to_owned());
            }
            jsdoc(&mut text, indent + 1, &doc);
            let optional = if required.contains(&name) { "" } else { "?" };
            let _ = writeln!(
                text,
                "{}{}{optional}: {ty};",
                pad(indent + 1),
                property_key(name)
            );
        }
        if let Some(extra @ Value::Object(_)) = object.get("additionalProperties") {
            let mut notes = Notes::default();
            let extra = self
                .ty(extra, indent + 1, &mut notes)
                .at(Prec::Intersection);
            let mut doc = vec!["Any other property.".to_owned()];
            doc.extend(notes.0);
            jsdoc(&mut text, indent + 1, &doc);
            let mut members = vec![extra];
            for ty in index_types {
                if !members.contains(&ty) {
                    members.push(ty);
                }
            }
            let _ = writeln!(
                text,
                "{}[key: string]: {};",
                pad(indent + 1),
                members.join(" | ")
            );
        }
        text.push_str(&pad(indent));
        text.push('}');
        text
    }

    pub(super) fn array_type(
        &self,
        object: &Map<String, Value>,
        indent: usize,
        notes: &mut Notes,
    ) -> Rendered {
        let (prefix, rest) = match (object.get("prefixItems"), object.get("items")) {
            (Some(Value::Array(prefix)), rest) => (Some(prefix), rest),
            (None, Some(Value::Array(prefix))) => (Some(prefix), object.get("additionalItems")),
            (None, rest) => (None, rest),
            (Some(_), rest) => (None, rest),
        };
        let Some(prefix) = prefix else {
            let item = match rest {
                Some(item) => self.ty(item, indent, notes).at(Prec::Atom),
                None => "unknown".to_owned(),
            };
            return Rendered::atom(format!("{item}[]"));
        };
        let min = object
            .get("minItems")
            .and_then(Value::as_u64)
            .unwrap_or(prefix.len() as u64);
        let mut elements: Vec<String> = prefix
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let ty = self.ty(item, indent, notes);
                if (i as u64) < min {
                    ty.text
                } else {
                    format!("{}?", ty.at(Prec::Atom))
                }
            })
            .collect();
        match rest {
            None | Some(Value::Bool(false)) => {}
            Some(item) => {
                elements.push(format!(
                    "...{}[]",
                    self.ty(item, indent, notes).at(Prec::Atom)
                ));
            }
        }
        Rendered::atom(format!("[{}]", elements.join(", ")))
    }
}

/// Joins alternatives with `|` (one alternative stays as it is).
pub(super) fn union(mut members: Vec<Rendered>) -> Rendered {
    match members.len() {
        0 => Rendered::atom("never"),
        1 => members.remove(0),
        _ => Rendered {
            text: members
                .into_iter()
                .map(|m| m.at(Prec::Intersection))
                .collect::<Vec<_>>()
                .join(" | "),
            prec: Prec::Union,
        },
    }
}

/// An object schema that is nothing but properties: rendered as an `interface`.
pub(super) fn is_plain_object(object: &Map<String, Value>) -> bool {
    object.get("type") == Some(&Value::String("object".into()))
        && object
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty())
        && ["oneOf", "anyOf", "allOf", "enum", "const", "$ref"]
            .iter()
            .all(|key| !object.contains_key(*key))
}

/// A schema that is only a `oneOf`/`anyOf` some of whose members carry docs.
pub(super) fn is_documented_union(object: &Map<String, Value>) -> bool {
    let members = union_members(object);
    !members.is_empty()
        && members.iter().any(|m| m.get("description").is_some())
        && ["type", "properties", "allOf", "enum", "const", "$ref"]
            .iter()
            .all(|key| !object.contains_key(*key))
        && !(object.contains_key("oneOf") && object.contains_key("anyOf"))
}

pub(super) fn union_members(object: &Map<String, Value>) -> &[Value] {
    match object.get("oneOf").or_else(|| object.get("anyOf")) {
        Some(Value::Array(members)) => members,
        _ => &[],
    }
}

/// A JSON value as a TypeScript literal type.
pub(super) fn literal(value: &Value, indent: usize) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| literal(v, indent)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let mut text = String::from("{\n");
            for (key, value) in sorted(map) {
                let _ = writeln!(
                    text,
                    "{}{}: {};",
                    pad(indent + 1),
                    property_key(key),
                    literal(value, indent + 1)
                );
            }
            text.push_str(&pad(indent));
            text.push('}');
            text
        }
        other => serde_json::to_string(other).unwrap_or_else(|_| "unknown".into()),
    }
}

/// Writes a JSDoc comment of paragraphs at `indent` (nothing when there are none).
pub(super) fn jsdoc(out: &mut String, indent: usize, paragraphs: &[String]) {
    let paragraphs: Vec<String> = paragraphs
        .iter()
        .map(|p| p.trim().replace("*/", "*\\/"))
        .filter(|p| !p.is_empty())
        .collect();
    let pad = pad(indent);
    match paragraphs.as_slice() {
        [] => {}
        [single] if !single.contains('\n') => {
            let _ = writeln!(out, "{pad}/** {single} */");
        }
        _ => {
            let _ = writeln!(out, "{pad}/**");
            for (i, paragraph) in paragraphs.iter().enumerate() {
                if i > 0 {
                    let _ = writeln!(out, "{pad} *");
                }
                for line in paragraph.lines() {
                    let line = line.trim_end();
                    if line.is_empty() {
                        let _ = writeln!(out, "{pad} *");
                    } else {
                        let _ = writeln!(out, "{pad} * {line}");
                    }
                }
            }
            let _ = writeln!(out, "{pad} */");
        }
    }
}

pub(super) fn pad(indent: usize) -> String {
    "  ".repeat(indent)
}

pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A property or event name, quoted unless it is an identifier.
pub(super) fn property_key(name: &str) -> String {
    if is_identifier(name) {
        name.to_owned()
    } else {
        serde_json::to_string(name).unwrap_or_else(|_| format!("{name:?}"))
    }
}
