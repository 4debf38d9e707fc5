//! JSON Schema -> Rust types: structs, enums, aliases, and the type expressions of fields and
//! arguments. Every item is written as Rust source text; [`super::import_document`] parses
//! and prints the whole file.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::names::{pascal_case, snake_case, unraw, Names};
use crate::read::{resolve_local, ContractDocument, ReadError, SCHEMA_REF_PREFIX};
use crate::walk::decode_ref_name;

/// The Rust type of a schema that no Rust type here expresses.
pub(crate) const VALUE: &str = "serde_json::Value";
/// The derives of every generated type.
pub(crate) const DERIVES: &str =
    "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)] \
                       #[schemars(crate = \"ferrio::schema::schemars\")]";
/// The names the derives need in scope (imported at the top of the file).
pub(crate) const DERIVE_IMPORTS: &str =
    "use ferrio::schema::schemars::JsonSchema;\nuse serde::{Deserialize, Serialize};\n";
/// Keywords that only annotate a schema.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "examples",
    "example",
    "default",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$schema",
    "$id",
    "externalDocs",
];
/// Keywords that constrain values in ways Rust types do not express; the type is written
/// without them (a note says so) when they appear next to a type, or is `Value` alone.
const UNSUPPORTED: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "dependentSchemas",
    "dependencies",
    "contains",
];

/// The type generator of one import.
pub(crate) struct Types<'d> {
    doc: &'d ContractDocument,
    /// Type identifiers taken (named types, inline types, the traits).
    pub(crate) names: Names,
    /// Shared schema name -> its type identifier.
    named: HashMap<String, String>,
    /// Shared schemas whose item is written (or being written).
    started: HashSet<String>,
    /// Shared schemas being written, innermost last: a reference back into it is recursion.
    stack: Vec<String>,
    /// The items written, in order.
    pub(crate) items: Vec<String>,
    /// Whether the `Binary` newtype is used.
    pub(crate) binary: Option<String>,
    /// Inline schemas already written (their JSON text) -> their type: the same inline schema
    /// in several places is one type.
    inline_types: HashMap<String, String>,
    /// Notes about the type just written (why it is `Value`), for the docs of its field.
    notes: Vec<String>,
    depth: usize,
}

/// Lines of `text` as `#[doc]` attributes; with no text, `#[allow(missing_docs)]` (the
/// document says nothing, and the import invents nothing).
pub(crate) fn docs(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "#[allow(missing_docs)]".to_owned();
    }
    text.lines()
        .map(|line| {
            let line = line.trim_end();
            if line.is_empty() {
                "#[doc = \"\"]".to_owned()
            } else {
                format!("#[doc = {:?}]", format!(" {line}"))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` and the notes, as doc text.
fn with_notes(text: &str, notes: &[String]) -> String {
    let mut out = text.trim().to_owned();
    for note in notes {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(note);
    }
    out
}

fn text_of<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.get("const") == Some(&Value::Null)
}

/// Whether every keyword of `object` is an annotation (or `format: any`, zod-sockets' way to
/// say anything goes).
fn only_annotations(object: &Map<String, Value>) -> bool {
    object.iter().all(|(key, value)| {
        ANNOTATIONS.contains(&key.as_str())
            || key.starts_with("x-")
            || (key == "format" && value == "any")
    })
}

fn option(ty: String) -> String {
    if ty.starts_with("Option<") {
        ty
    } else {
        format!("Option<{ty}>")
    }
}

/// A string constant of a schema: `const: "a"` or `enum: ["a"]`.
fn string_const(schema: &Value) -> Option<&str> {
    match (schema.get("const"), schema.get("enum")) {
        (Some(Value::String(value)), _) => Some(value),
        (None, Some(Value::Array(values))) if values.len() == 1 => values[0].as_str(),
        _ => None,
    }
}

/// What kind of item a schema needs.
enum Shape<'s> {
    /// An object with `properties`.
    Struct,
    /// String values, each with its docs.
    Enum(Vec<(String, String)>),
    /// Several alternatives (`anyOf`/`oneOf`), none of them null.
    Union(&'s [Value], &'static str),
}

fn shape(object: &Map<String, Value>) -> Option<Shape<'_>> {
    let ty = object.get("type").and_then(Value::as_str);
    if let Some(value) = object.get("const") {
        return value
            .as_str()
            .map(|value| Shape::Enum(vec![(value.to_owned(), String::new())]));
    }
    if let Some(Value::Array(values)) = object.get("enum") {
        let strings: Option<Vec<(String, String)>> = values
            .iter()
            .map(|v| v.as_str().map(|s| (s.to_owned(), String::new())))
            .collect();
        return strings.map(Shape::Enum);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(members)) = object.get(key) {
            if members.iter().any(is_null_schema) {
                return None;
            }
            let consts: Option<Vec<(String, String)>> = members
                .iter()
                .map(|member| {
                    let only_const = member.as_object().is_some_and(|m| {
                        m.keys().all(|k| {
                            ANNOTATIONS.contains(&k.as_str())
                                || matches!(k.as_str(), "type" | "const" | "enum")
                        })
                    });
                    match (only_const, string_const(member)) {
                        (true, Some(value)) => Some((
                            value.to_owned(),
                            text_of(member.as_object()?, "description").to_owned(),
                        )),
                        _ => None,
                    }
                })
                .collect();
            return Some(match consts {
                Some(values) if !values.is_empty() => Shape::Enum(values),
                _ => Shape::Union(members, key),
            });
        }
    }
    if object.contains_key("properties") && matches!(ty, None | Some("object")) {
        return Some(Shape::Struct);
    }
    None
}

impl<'d> Types<'d> {
    /// A generator for `doc`, with the names in `taken` and every shared type's name claimed.
    pub(crate) fn new(doc: &'d ContractDocument, taken: &[&str]) -> Types<'d> {
        let mut taken = taken.to_vec();
        // The derives, and the prelude's types the generated code names: a shared type
        // called `Result` or `Vec` gets another name instead of shadowing them.
        taken.extend([
            "Serialize",
            "Deserialize",
            "JsonSchema",
            "Result",
            "Option",
            "Vec",
            "String",
            "Box",
        ]);
        let mut names = Names::with(&taken);
        let mut named = HashMap::new();
        for (name, _) in &doc.schemas {
            named.insert(name.clone(), names.claim(&pascal_case(name, "Type")));
        }
        Types {
            doc,
            names,
            named,
            started: HashSet::new(),
            stack: Vec::new(),
            items: Vec::new(),
            binary: None,
            inline_types: HashMap::new(),
            notes: Vec::new(),
            depth: 0,
        }
    }

    /// The notes gathered since the last call.
    pub(crate) fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// Writes every shared type no event reached (so the import has them all).
    pub(crate) fn rest_of_named(&mut self) -> Result<(), ReadError> {
        let names: Vec<String> = self.doc.schemas.iter().map(|(n, _)| n.clone()).collect();
        for name in names {
            self.named_type(&name, "")?;
            self.notes.clear();
        }
        Ok(())
    }

    /// The type of a shared schema, writing its item the first time.
    fn named_type(&mut self, name: &str, pointer: &str) -> Result<String, ReadError> {
        let Some(ident) = self.named.get(name).cloned() else {
            return Err(ReadError::at(
                pointer,
                format!("unresolved $ref \"{SCHEMA_REF_PREFIX}{name}\""),
            ));
        };
        if self.stack.iter().any(|n| n == name) {
            let mut cycle = self.stack.clone();
            cycle.push(name.to_owned());
            let start = cycle.iter().position(|n| n == name).unwrap_or(0);
            return Err(ReadError::at(
                &format!("/components/schemas/{}", crate::read::escape_pointer(name)),
                format!(
                    "a recursive schema ({}); the importer writes no boxed types, so a \
                     recursive type has to be written by hand",
                    cycle[start..].join(" -> ")
                ),
            ));
        }
        if self.started.insert(name.to_owned()) {
            let schema = self
                .doc
                .schemas
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
                .unwrap_or(Value::Bool(true));
            self.stack.push(name.to_owned());
            let saved = self.take_notes();
            let pointer = format!("/components/schemas/{}", crate::read::escape_pointer(name));
            let result = self.define(&ident, &schema, &pointer, "");
            self.notes = saved;
            self.stack.pop();
            result?;
        }
        Ok(ident)
    }

    /// The Rust type of `schema` (at `pointer`); inline structs and enums are named from
    /// `hint`.
    pub(crate) fn rust_type(
        &mut self,
        schema: &Value,
        pointer: &str,
        hint: &str,
    ) -> Result<String, ReadError> {
        self.depth += 1;
        if self.depth > 64 {
            self.depth -= 1;
            return Err(ReadError::at(
                pointer,
                "a recursive schema (nested 64 levels deep)",
            ));
        }
        let result = self.type_of(schema, pointer, hint);
        self.depth -= 1;
        result
    }

    fn note(&mut self, pointer: &str, why: &str) -> String {
        self.notes.push(format!(
            "Typed as `serde_json::Value`: the schema at `#{pointer}` {why}, which no Rust \
             type here expresses."
        ));
        VALUE.to_owned()
    }

    fn type_of(&mut self, schema: &Value, pointer: &str, hint: &str) -> Result<String, ReadError> {
        let object = match schema {
            Value::Bool(true) => return Ok(VALUE.to_owned()),
            Value::Bool(false) => {
                return Err(ReadError::at(
                    pointer,
                    "a schema that accepts nothing (`false`)",
                ))
            }
            Value::Object(object) => object,
            _ => {
                return Err(ReadError::at(
                    pointer,
                    "not a schema (an object or a boolean)",
                ))
            }
        };
        if let Some(reference) = object.get("$ref") {
            let Some(reference) = reference.as_str() else {
                return Err(ReadError::at(pointer, "`$ref` is not a string"));
            };
            if let Some(name) = reference.strip_prefix(SCHEMA_REF_PREFIX) {
                return self.named_type(&decode_ref_name(name), &format!("{pointer}/$ref"));
            }
            let target = match reference.strip_prefix('#') {
                Some(_) => resolve_local(&self.doc.root, reference),
                None => None,
            };
            let Some(target) = target else {
                return Err(ReadError::at(
                    &format!("{pointer}/$ref"),
                    format!("unresolved $ref {reference:?}"),
                ));
            };
            let target = target.clone();
            return self.rust_type(&target, &reference[1..], hint);
        }
        // Nullable: OpenAPI's `nullable`, a type list with "null", a null alternative.
        if object.get("nullable") == Some(&Value::Bool(true)) {
            let mut inner = object.clone();
            inner.remove("nullable");
            return Ok(option(self.rust_type(
                &Value::Object(inner),
                pointer,
                hint,
            )?));
        }
        if let Some(Value::Array(types)) = object.get("type") {
            let others: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
            let nullable = others.len() < types.len();
            let ty = match others.as_slice() {
                [] => "()".to_owned(),
                [one] => {
                    let mut inner = object.clone();
                    inner.insert("type".into(), (*one).clone());
                    if let Some(Value::Array(values)) = inner.get_mut("enum") {
                        values.retain(|v| !v.is_null());
                    }
                    self.rust_type(&Value::Object(inner), pointer, hint)?
                }
                several => {
                    let members: Vec<Value> = several
                        .iter()
                        .map(|t| {
                            let mut member = object.clone();
                            member.insert("type".into(), (*t).clone());
                            Value::Object(member)
                        })
                        .collect();
                    let mut union = Map::new();
                    union.insert("anyOf".into(), Value::Array(members));
                    self.inline(&Value::Object(union), pointer, hint)?
                }
            };
            return Ok(if nullable { option(ty) } else { ty });
        }
        if let Some(Value::Array(values)) = object.get("enum") {
            if values.iter().any(Value::is_null) {
                let mut inner = object.clone();
                if let Some(Value::Array(values)) = inner.get_mut("enum") {
                    values.retain(|v| !v.is_null());
                }
                return Ok(option(self.rust_type(
                    &Value::Object(inner),
                    pointer,
                    hint,
                )?));
            }
        }
        for key in ["anyOf", "oneOf"] {
            let Some(members) = object.get(key) else {
                continue;
            };
            let Value::Array(members) = members else {
                return Err(ReadError::at(&format!("{pointer}/{key}"), "not a list"));
            };
            let nullable = members.iter().any(is_null_schema);
            let others: Vec<(usize, &Value)> = members
                .iter()
                .enumerate()
                .filter(|(_, m)| !is_null_schema(m))
                .collect();
            let ty = match others.as_slice() {
                [] => "()".to_owned(),
                [(index, one)] => self.rust_type(one, &format!("{pointer}/{key}/{index}"), hint)?,
                _ if nullable => {
                    let mut inner = object.clone();
                    inner.insert(
                        key.into(),
                        Value::Array(others.iter().map(|(_, m)| (*m).clone()).collect()),
                    );
                    self.inline(&Value::Object(inner), pointer, hint)?
                }
                _ => self.inline(schema, pointer, hint)?,
            };
            return Ok(if nullable { option(ty) } else { ty });
        }
        if let Some(all) = object.get("allOf") {
            let rest_is_annotation = object
                .keys()
                .all(|k| k == "allOf" || ANNOTATIONS.contains(&k.as_str()) || k.starts_with("x-"));
            return match all {
                Value::Array(all) if all.len() == 1 && rest_is_annotation => {
                    self.rust_type(&all[0], &format!("{pointer}/allOf/0"), hint)
                }
                _ => Ok(self.note(pointer, "combines schemas with `allOf`")),
            };
        }
        if let Some(key) = UNSUPPORTED.iter().find(|k| object.contains_key(**k)) {
            return Ok(self.note(pointer, &format!("uses `{key}`")));
        }
        if let Some(value) = object.get("const") {
            if !value.is_string() {
                return Ok(self.note(pointer, "is a constant that is not a string"));
            }
        }
        if let Some(values) = object.get("enum") {
            if !values
                .as_array()
                .is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_string))
            {
                return Ok(self.note(pointer, "enumerates values that are not all strings"));
            }
        }
        if shape(object).is_some() {
            return self.inline(schema, pointer, hint);
        }
        let format = text_of(object, "format");
        let ty = match object.get("type").and_then(Value::as_str) {
            Some("string") if format == "binary" => self.binary_type(),
            Some("string") => "String".to_owned(),
            Some("integer") => match format {
                "int8" => "i8",
                "int16" => "i16",
                "int32" => "i32",
                "int64" => "i64",
                "int128" => "i128",
                "int" => "isize",
                "uint8" => "u8",
                "uint16" => "u16",
                "uint32" => "u32",
                "uint64" => "u64",
                "uint128" => "u128",
                "uint" => "usize",
                _ => "i64",
            }
            .to_owned(),
            Some("number") if format == "float" => "f32".to_owned(),
            Some("number") => "f64".to_owned(),
            Some("boolean") => "bool".to_owned(),
            Some("null") => "()".to_owned(),
            Some("array") => self.array(object, pointer, hint)?,
            Some("object") => match object.get("additionalProperties") {
                None | Some(Value::Bool(true)) => {
                    format!("std::collections::BTreeMap<String, {VALUE}>")
                }
                Some(Value::Bool(false)) => {
                    return Ok(self.note(pointer, "is an object without any property"))
                }
                Some(values) => {
                    let values = values.clone();
                    let item = self.rust_type(
                        &values,
                        &format!("{pointer}/additionalProperties"),
                        &format!("{hint} value"),
                    )?;
                    format!("std::collections::BTreeMap<String, {item}>")
                }
            },
            Some(other) => {
                return Err(ReadError::at(
                    &format!("{pointer}/type"),
                    format!("unknown type {other:?}"),
                ))
            }
            None if format == "binary" => self.binary_type(),
            // A date with no type (zod-sockets' `z.date()`): JSON carries it as ISO 8601 text.
            None if matches!(format, "date" | "date-time") => "String".to_owned(),
            None if object.contains_key("items") || object.contains_key("prefixItems") => {
                self.array(object, pointer, hint)?
            }
            None if only_annotations(object) => VALUE.to_owned(),
            None => return Ok(self.note(pointer, "has no `type`")),
        };
        Ok(ty)
    }

    fn binary_type(&mut self) -> String {
        if self.binary.is_none() {
            self.binary = Some(self.names.claim("Binary"));
        }
        self.binary.clone().unwrap_or_default()
    }

    fn array(
        &mut self,
        object: &Map<String, Value>,
        pointer: &str,
        hint: &str,
    ) -> Result<String, ReadError> {
        let tuple = match (object.get("prefixItems"), object.get("items")) {
            (Some(Value::Array(items)), _) => Some(("prefixItems", items)),
            (_, Some(Value::Array(items))) => Some(("items", items)),
            _ => None,
        };
        if let Some((key, items)) = tuple {
            let mut types = Vec::new();
            for (index, item) in items.iter().enumerate() {
                types.push(self.rust_type(
                    item,
                    &format!("{pointer}/{key}/{index}"),
                    &format!("{hint} {index}"),
                )?);
            }
            return Ok(format!("({},)", types.join(", ")).replace("(,)", "()"));
        }
        match object.get("items") {
            None | Some(Value::Bool(true)) => Ok(format!("Vec<{VALUE}>")),
            Some(items) => {
                let items = items.clone();
                let item =
                    self.rust_type(&items, &format!("{pointer}/items"), &format!("{hint} item"))?;
                Ok(format!("Vec<{item}>"))
            }
        }
    }

    /// An inline struct or enum: named from `hint`, written now.
    fn inline(&mut self, schema: &Value, pointer: &str, hint: &str) -> Result<String, ReadError> {
        let key = schema.to_string();
        if let Some(ident) = self.inline_types.get(&key) {
            return Ok(ident.clone());
        }
        // The same schema as a shared type (sio-asyncapi repeats its ack models inline).
        let shared = self
            .doc
            .schemas
            .iter()
            .find(|(_, s)| s == schema)
            .map(|(n, _)| n.clone());
        if let Some(name) = shared {
            return self.named_type(&name, pointer);
        }
        let ident = self.names.claim(&pascal_case(hint, "Type"));
        self.inline_types.insert(key, ident.clone());
        let saved = self.take_notes();
        let result = self.define(&ident, schema, pointer, "");
        self.notes = saved;
        result?;
        Ok(ident)
    }

    /// Writes the item named `ident` for `schema`: a struct, an enum, or an alias.
    fn define(
        &mut self,
        ident: &str,
        schema: &Value,
        pointer: &str,
        extra_docs: &str,
    ) -> Result<(), ReadError> {
        let empty = Map::new();
        let object = schema.as_object().unwrap_or(&empty);
        let description = with_notes(text_of(object, "description"), &[]);
        let description = if extra_docs.is_empty() {
            description
        } else {
            with_notes(&description, &[extra_docs.to_owned()])
        };
        match shape(object) {
            Some(Shape::Struct) => {
                let (fields, deny, _) = self.fields(ident, object, pointer, None, true)?;
                let deny = if deny {
                    "#[serde(deny_unknown_fields)]"
                } else {
                    ""
                };
                let docs = docs(&description);
                self.items.push(format!(
                    "{docs}\n{DERIVES}\n{deny}\npub struct {ident} {{\n{}\n}}",
                    fields.join("\n")
                ));
            }
            Some(Shape::Enum(values)) => {
                let mut variants = Names::default();
                let mut lines = Vec::new();
                for (value, variant_docs) in values {
                    let variant = variants.claim(&pascal_case(&value, "Empty"));
                    let rename = if unraw(&variant) != value {
                        format!("#[serde(rename = {value:?})]")
                    } else {
                        String::new()
                    };
                    lines.push(format!("{}\n{rename}\n{variant},", docs(&variant_docs)));
                }
                self.items.push(format!(
                    "{}\n{DERIVES}\npub enum {ident} {{\n{}\n}}",
                    docs(&description),
                    lines.join("\n")
                ));
            }
            Some(Shape::Union(members, key)) => {
                let members = members.to_vec();
                self.union(
                    ident,
                    object,
                    &members,
                    &format!("{pointer}/{key}"),
                    &description,
                )?;
            }
            None => {
                let ty = self.rust_type(schema, pointer, &format!("{ident} inner"))?;
                let notes = self.take_notes();
                self.items.push(format!(
                    "{}\npub type {ident} = {ty};",
                    docs(&with_notes(&description, &notes))
                ));
            }
        }
        Ok(())
    }

    /// The fields of an object schema (for a struct, or a struct variant without `skip`).
    /// Returns them and whether unknown fields are refused (`additionalProperties: false`).
    fn fields(
        &mut self,
        owner: &str,
        object: &Map<String, Value>,
        pointer: &str,
        skip: Option<&str>,
        public: bool,
    ) -> Result<(Vec<String>, bool, bool), ReadError> {
        let empty = Map::new();
        let properties = match object.get("properties") {
            Some(Value::Object(properties)) => properties,
            Some(_) => {
                return Err(ReadError::at(
                    &format!("{pointer}/properties"),
                    "not an object",
                ))
            }
            None => &empty,
        };
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut order: Vec<&str> = required
            .iter()
            .copied()
            .filter(|name| properties.contains_key(*name))
            .collect();
        let mut seen: HashSet<&str> = order.iter().copied().collect();
        for name in properties.keys() {
            if seen.insert(name) {
                order.push(name);
            }
        }
        let mut field_names = Names::default();
        let mut fields = Vec::new();
        let mut undocumented = false;
        for name in order {
            if Some(name) == skip {
                continue;
            }
            let schema = &properties[name];
            let field_pointer =
                format!("{pointer}/properties/{}", crate::read::escape_pointer(name));
            let field = field_names.claim(&snake_case(name, "field"));
            let saved = self.take_notes();
            let mut ty = self.rust_type(schema, &field_pointer, &format!("{owner} {name}"))?;
            let notes = std::mem::replace(&mut self.notes, saved);
            let mut attrs = Vec::new();
            if unraw(&field) != name {
                attrs.push(format!("rename = {name:?}"));
            }
            if !required.contains(&name) {
                ty = option(ty);
                attrs.push("default, skip_serializing_if = \"Option::is_none\"".to_owned());
            }
            let serde = if attrs.is_empty() {
                String::new()
            } else {
                format!("#[serde({})]", attrs.join(", "))
            };
            let description = schema
                .as_object()
                .map(|o| text_of(o, "description"))
                .unwrap_or_default();
            let visibility = if public { "pub " } else { "" };
            let text = with_notes(description, &notes);
            // The fields of a variant are allowed undocumented by the variant (rustfmt
            // and prettyplease print a short variant differently when its fields have
            // attributes).
            let docs = if text.is_empty() && !public {
                undocumented = true;
                String::new()
            } else {
                docs(&text)
            };
            fields.push(format!("{docs}\n{serde}\n{visibility}{field}: {ty},"));
        }
        let deny = object.get("additionalProperties") == Some(&Value::Bool(false));
        Ok((fields, deny, undocumented))
    }

    /// An enum of alternatives: internally tagged when every alternative is an inline object
    /// with the same string-constant property (or the `discriminator` names one), untagged
    /// otherwise.
    fn union(
        &mut self,
        ident: &str,
        object: &Map<String, Value>,
        members: &[Value],
        pointer: &str,
        description: &str,
    ) -> Result<(), ReadError> {
        let discriminator = match object.get("discriminator") {
            Some(Value::String(name)) => Some(name.as_str()),
            Some(Value::Object(d)) => d.get("propertyName").and_then(Value::as_str),
            _ => None,
        };
        let inline_objects: Option<Vec<&Map<String, Value>>> = members
            .iter()
            .map(|m| {
                m.as_object()
                    .filter(|o| !o.contains_key("$ref") && matches!(shape(o), Some(Shape::Struct)))
            })
            .collect();
        let tag = inline_objects.as_ref().and_then(|objects| {
            let first = objects.first()?;
            let properties = first.get("properties")?.as_object()?;
            let candidates: Vec<&str> = match discriminator {
                Some(name) => vec![name],
                None => properties.keys().map(String::as_str).collect(),
            };
            candidates.into_iter().find(|name| {
                let mut values = HashSet::new();
                objects.iter().all(|o| {
                    let required = o
                        .get("required")
                        .and_then(Value::as_array)
                        .is_some_and(|r| r.iter().any(|n| n == name));
                    let value = o
                        .get("properties")
                        .and_then(|p| p.get(*name))
                        .and_then(string_const);
                    required && value.is_some_and(|v| values.insert(v.to_owned()))
                })
            })
        });
        let mut variants = Names::default();
        let mut lines = Vec::new();
        let attr;
        if let (Some(tag), Some(objects)) = (tag, inline_objects) {
            attr = format!("#[serde(tag = {tag:?})]");
            for (index, member) in objects.iter().enumerate() {
                let value = member
                    .get("properties")
                    .and_then(|p| p.get(tag))
                    .and_then(string_const)
                    .unwrap_or_default()
                    .to_owned();
                let variant = variants.claim(&pascal_case(&value, "Empty"));
                let rename = if unraw(&variant) != value {
                    format!("#[serde(rename = {value:?})]")
                } else {
                    String::new()
                };
                let (fields, deny, undocumented) = self.fields(
                    &format!("{ident} {value}"),
                    member,
                    &format!("{pointer}/{index}"),
                    Some(tag),
                    false,
                )?;
                let deny = if deny {
                    "#[serde(deny_unknown_fields)]"
                } else {
                    ""
                };
                let mut variant_docs = docs(text_of(member, "description"));
                if undocumented && !variant_docs.starts_with("#[allow") {
                    variant_docs.push_str("\n#[allow(missing_docs)]");
                }
                lines.push(format!(
                    "{variant_docs}\n{rename}\n{deny}\n{variant} {{\n{}\n}},",
                    fields.join("\n")
                ));
            }
        } else {
            attr = "#[serde(untagged)]".to_owned();
            for (index, member) in members.iter().enumerate() {
                let base = match member {
                    Value::Object(m) => match (
                        m.get("$ref").and_then(Value::as_str),
                        m.get("type").and_then(Value::as_str),
                    ) {
                        (Some(reference), _) => {
                            pascal_case(reference.rsplit('/').next().unwrap_or_default(), "Variant")
                        }
                        (None, Some("string")) => "String".to_owned(),
                        (None, Some("integer")) => "Integer".to_owned(),
                        (None, Some("number")) => "Number".to_owned(),
                        (None, Some("boolean")) => "Boolean".to_owned(),
                        (None, Some("array")) => "List".to_owned(),
                        (None, Some("object")) => "Object".to_owned(),
                        _ => format!("Variant{index}"),
                    },
                    _ => format!("Variant{index}"),
                };
                let variant = variants.claim(&base);
                let saved = self.take_notes();
                let ty = self.rust_type(
                    member,
                    &format!("{pointer}/{index}"),
                    &format!("{ident} {}", unraw(&variant)),
                )?;
                let notes = std::mem::replace(&mut self.notes, saved);
                let member_docs = member
                    .as_object()
                    .map(|m| text_of(m, "description"))
                    .unwrap_or_default();
                lines.push(format!(
                    "{}\n{variant}({ty}),",
                    docs(&with_notes(member_docs, &notes))
                ));
            }
        }
        self.items.push(format!(
            "{}\n{DERIVES}\n{attr}\npub enum {ident} {{\n{}\n}}",
            docs(description),
            lines.join("\n")
        ));
        Ok(())
    }
}
