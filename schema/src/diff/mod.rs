//! Two contract documents compared: every change, with the rule that classifies it and whom
//! it breaks (existing clients, existing servers, Rust source, TypeScript source).
//!
//! Both documents are read with [`crate::read`] (AsyncAPI 3.x and 2.x, ferrio's JSON Schema
//! bundle; the two may be of different kinds). Events are matched by namespace, direction and
//! wire name; arguments by position; shared types through their `$ref`s, each pair compared
//! once per direction. [`rules`] has the table of rules.
//!
//! ```
//! use ferrio_schema::diff::{diff_texts, FailOn};
//! let old = r##"{"asyncapi": "3.0.0", "info": {"title": "t", "version": "1"},
//!   "channels": {"main": {"address": "/"}},
//!   "operations": {"hello": {"action": "receive", "channel": {"$ref": "#/channels/main"},
//!     "messages": [{"name": "hello", "payload": {"type": "array", "items": [{"type": "string"}]}}]}}}"##;
//! let new = old.replace(r#"{"type": "string"}"#, r#"{"type": "integer"}"#);
//! let report = diff_texts(old, &new, Default::default()).unwrap();
//! assert_eq!(report.changes[0].rule, "type-changed");
//! assert!(report.fails(FailOn::Clients));
//! ```

pub mod rules;

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;

use serde_json::Value;

use self::rules::*;
use crate::contract::Direction;
use crate::read::{
    escape_pointer, parse_text, read_document, resolve_local, ArgDoc, ContractDocument, EventDoc,
    Perspective, ReadError,
};

/// One change between two documents.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// The rule's id ([`rules::RULES`]).
    pub rule: &'static str,
    /// Where, as a JSON pointer into the new document (into the old one for what was
    /// removed), prefixed with `old#` or `new#`.
    pub pointer: String,
    /// What changed, in words.
    pub message: String,
    /// The namespace, `#[emit]`/`#[on]` and wire name of the event it was found through.
    pub event: String,
    /// `"request"` (the client sends the payload) or `"response"`, for payload changes.
    pub flow: Option<&'static str>,
    /// Whom it breaks.
    pub breaks: Breaks,
}

/// The level at which a diff fails (`--fail-on`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailOn {
    /// A change that breaks existing clients.
    Clients,
    /// A change that breaks existing servers.
    Servers,
    /// A change that breaks Rust or TypeScript source.
    Source,
    /// A change that breaks anybody.
    #[default]
    Any,
}

impl FailOn {
    /// `clients`, `servers`, `source` or `any`.
    pub fn parse(text: &str) -> Option<FailOn> {
        Some(match text {
            "clients" => FailOn::Clients,
            "servers" => FailOn::Servers,
            "source" => FailOn::Source,
            "any" => FailOn::Any,
            _ => return None,
        })
    }

    /// Whether `breaks` reaches this level.
    pub fn hit(self, breaks: Breaks) -> bool {
        match self {
            FailOn::Clients => breaks.clients,
            FailOn::Servers => breaks.servers,
            FailOn::Source => breaks.rust || breaks.typescript,
            FailOn::Any => breaks.anybody(),
        }
    }
}

/// Every change between two documents.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The changes, in document order (namespaces, events, then inside each payload).
    pub changes: Vec<Change>,
}

impl Report {
    /// Whether a change reaches `level`.
    pub fn fails(&self, level: FailOn) -> bool {
        self.changes.iter().any(|c| level.hit(c.breaks))
    }

    /// The human form: one block per change, with its parties, rule, pointer and message.
    pub fn to_text(&self, level: FailOn) -> String {
        let mut out = String::new();
        if self.changes.is_empty() {
            out.push_str("no changes\n");
            return out;
        }
        for change in &self.changes {
            let mark = if level.hit(change.breaks) {
                "BREAKING"
            } else {
                "ok"
            };
            let _ = writeln!(
                out,
                "{mark:<8} [{}] {} {}\n         {}: {}",
                change.breaks.describe(),
                change.rule,
                change.pointer,
                change.event,
                change.message
            );
        }
        let breaking = self.changes.iter().filter(|c| level.hit(c.breaks)).count();
        let _ = writeln!(
            out,
            "{} change(s), {breaking} breaking at this level",
            self.changes.len()
        );
        out
    }

    /// The JSON form: `{"changes": [...], "breaking": n, "fails": bool}`.
    pub fn to_json(&self, level: FailOn) -> String {
        let value = serde_json::json!({
            "changes": self.changes,
            "breaking": self.changes.iter().filter(|c| level.hit(c.breaks)).count(),
            "fails": self.fails(level),
        });
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Compares two documents' texts (JSON, or YAML with the `yaml` feature), both read with
/// `perspective`. An error names which document is wrong.
pub fn diff_texts(old: &str, new: &str, perspective: Perspective) -> Result<Report, ReadError> {
    let read = |text: &str, which: &str| {
        parse_text(text)
            .and_then(|value| read_document(value, perspective))
            .map_err(|error| ReadError {
                location: format!("{which} document, {}", error.location),
                message: error.message,
            })
    };
    let old = read(old, "old")?;
    let new = read(new, "new")?;
    diff(&old, &new)
}

/// Compares two documents already read.
pub fn diff(old: &ContractDocument, new: &ContractDocument) -> Result<Report, ReadError> {
    let mut differ = Differ {
        old,
        new,
        changes: Vec::new(),
        visited: HashSet::new(),
        event: String::new(),
        direction: None,
        depth: 0,
        skip_docs: false,
    };
    for old_ns in &old.namespaces {
        let Some(new_ns) = new.namespaces.iter().find(|n| n.path == old_ns.path) else {
            differ.event = old_ns.path.clone();
            differ.push(
                NAMESPACE_REMOVED,
                format!("old#{}", old_ns.pointer),
                format!("the namespace `{}` was removed", old_ns.path),
                None,
                None,
            );
            continue;
        };
        differ.event = old_ns.path.clone();
        if old_ns.docs.trim() != new_ns.docs.trim() {
            differ.push(
                DOCS_CHANGED,
                format!("new#{}", new_ns.pointer),
                "the namespace's description changed".into(),
                None,
                None,
            );
        }
        for old_event in &old_ns.events {
            let found = new_ns
                .events
                .iter()
                .find(|e| e.direction == old_event.direction && e.wire_name == old_event.wire_name);
            differ.event = event_label(&old_ns.path, old_event);
            differ.direction = Some(old_event.direction);
            match found {
                None => differ.push(
                    EVENT_REMOVED,
                    format!("old#{}", old_event.pointer),
                    format!("the event `{}` was removed", old_event.wire_name),
                    None,
                    None,
                ),
                Some(new_event) => differ.event_pair(old_event, new_event)?,
            }
        }
        for new_event in &new_ns.events {
            if !old_ns
                .events
                .iter()
                .any(|e| e.direction == new_event.direction && e.wire_name == new_event.wire_name)
            {
                differ.event = event_label(&new_ns.path, new_event);
                differ.direction = Some(new_event.direction);
                differ.push(
                    EVENT_ADDED,
                    format!("new#{}", new_event.pointer),
                    format!("the event `{}` was added", new_event.wire_name),
                    None,
                    None,
                );
            }
        }
    }
    for new_ns in &new.namespaces {
        if !old.namespaces.iter().any(|n| n.path == new_ns.path) {
            differ.event = new_ns.path.clone();
            differ.direction = None;
            differ.push(
                NAMESPACE_ADDED,
                format!("new#{}", new_ns.pointer),
                format!("the namespace `{}` was added", new_ns.path),
                None,
                None,
            );
        }
    }
    Ok(Report {
        changes: differ.changes,
    })
}

fn event_label(namespace: &str, event: &EventDoc) -> String {
    let attr = match event.direction {
        Direction::Emit => "#[emit]",
        Direction::On => "#[on]",
    };
    format!("{namespace} {attr} \"{}\"", event.wire_name)
}

struct Differ<'d> {
    old: &'d ContractDocument,
    new: &'d ContractDocument,
    changes: Vec<Change>,
    /// (old ref, new ref, flow) pairs of shared types already compared.
    visited: HashSet<(String, String, Flow)>,
    event: String,
    direction: Option<Direction>,
    depth: usize,
    /// Set while comparing the alternative inside a nullable `anyOf` with the other side:
    /// descriptions were compared one level up.
    skip_docs: bool,
}

/// The facts of a schema the comparison reads.
#[derive(Debug, Default)]
struct Facts {
    nullable: bool,
    /// Types (`string`, `integer`, `number`, `boolean`, `array`, `object`, `binary`); empty
    /// for any value.
    types: BTreeSet<String>,
    /// String values, when enumerated.
    values: Option<BTreeSet<String>>,
}

impl<'d> Differ<'d> {
    fn push(
        &mut self,
        rule: Rule,
        pointer: String,
        message: String,
        flow: Option<Flow>,
        variance: Option<Variance>,
    ) {
        let mut breaks = rule.breaks(flow, self.direction);
        if let (Some(variance), Some(flow)) = (variance, flow) {
            let wire = Breaks::wire(variance, flow);
            breaks.clients = wire.clients;
            breaks.servers = wire.servers;
        }
        self.changes.push(Change {
            rule: rule.id,
            pointer,
            message,
            event: self.event.clone(),
            flow: flow.map(Flow::as_str),
            breaks,
        });
    }

    fn event_pair(&mut self, old: &'d EventDoc, new: &'d EventDoc) -> Result<(), ReadError> {
        let new_pointer = format!("new#{}", new.pointer);
        if let (Some(a), Some(b)) = (&old.rust_name, &new.rust_name) {
            if a != b {
                self.push(
                    RUST_NAME_CHANGED,
                    new_pointer.clone(),
                    format!("the Rust method `{a}` is now `{b}`"),
                    None,
                    None,
                );
            }
        }
        if old.docs.trim() != new.docs.trim() {
            self.push(
                DOCS_CHANGED,
                new_pointer.clone(),
                "the event's description changed".into(),
                None,
                None,
            );
        }
        let flow = Flow::of_args(old.direction);
        self.args(&old.args, &new.args, &new_pointer, flow, "argument")?;
        match (&old.ack, &new.ack) {
            (None, None) => {}
            (None, Some(_)) => self.push(
                ACK_ADDED,
                format!("new#{}", new.ack_pointer.as_deref().unwrap_or(&new.pointer)),
                "the event now has an ack".into(),
                None,
                None,
            ),
            (Some(_), None) => self.push(
                ACK_REMOVED,
                format!("old#{}", old.ack_pointer.as_deref().unwrap_or(&old.pointer)),
                "the event no longer has an ack".into(),
                None,
                None,
            ),
            (Some(a), Some(b)) => {
                let pointer = format!("new#{}", new.ack_pointer.as_deref().unwrap_or(&new.pointer));
                self.args(a, b, &pointer, Flow::of_ack(old.direction), "ack argument")?;
            }
        }
        Ok(())
    }

    fn args(
        &mut self,
        old: &'d [ArgDoc],
        new: &'d [ArgDoc],
        pointer: &str,
        flow: Flow,
        noun: &str,
    ) -> Result<(), ReadError> {
        for (index, (a, b)) in old.iter().zip(new).enumerate() {
            if a.name != b.name {
                self.push(
                    ARGUMENT_RENAMED,
                    format!("new#{}", b.pointer),
                    format!(
                        "{noun} {} is named `{}` instead of `{}`",
                        index + 1,
                        b.name.as_deref().unwrap_or("-"),
                        a.name.as_deref().unwrap_or("-")
                    ),
                    None,
                    None,
                );
            }
            if a.optional != b.optional {
                let (rule, text) = if b.optional {
                    (PROPERTY_BECAME_OPTIONAL, "optional")
                } else {
                    (PROPERTY_BECAME_REQUIRED, "required")
                };
                self.push(
                    rule,
                    format!("new#{}", b.pointer),
                    format!("{noun} {} became {text}", index + 1),
                    Some(flow),
                    None,
                );
            }
            self.schema(&a.schema, &b.schema, &a.pointer, &b.pointer, flow)?;
        }
        for b in new.iter().skip(old.len()) {
            let rule = if b.optional {
                OPTIONAL_ARGUMENT_ADDED
            } else {
                ARGUMENT_ADDED
            };
            self.push(
                rule,
                format!("new#{}", b.pointer),
                format!("{noun} `{}` was added", b.name.as_deref().unwrap_or("-")),
                Some(flow),
                None,
            );
        }
        for a in old.iter().skip(new.len()) {
            let variance = if a.optional {
                Some(Variance::Same)
            } else {
                None
            };
            self.push(
                ARGUMENT_REMOVED,
                format!("old#{}", a.pointer),
                format!("{noun} `{}` was removed", a.name.as_deref().unwrap_or("-")),
                Some(flow),
                variance,
            );
        }
        let _ = pointer;
        Ok(())
    }

    /// Follows `$ref`s (and a lone `allOf`) in one document; the shared type's name if the
    /// schema referred to one.
    fn resolve(
        doc: &'d ContractDocument,
        mut schema: &'d Value,
        mut pointer: String,
    ) -> Result<(&'d Value, String, Option<String>), ReadError> {
        let mut name = None;
        for _ in 0..64 {
            if let Some(Value::String(reference)) = schema.get("$ref") {
                let target = resolve_local(&doc.root, reference).ok_or_else(|| {
                    ReadError::at(&pointer, format!("unresolved $ref {reference:?}"))
                })?;
                name = Some(reference.rsplit('/').next().unwrap_or_default().to_owned());
                pointer = reference[1..].to_owned();
                schema = target;
                continue;
            }
            if let Some(Value::Array(all)) = schema.get("allOf") {
                let only = schema.as_object().is_some_and(|o| {
                    o.keys()
                        .all(|k| matches!(k.as_str(), "allOf" | "title" | "description"))
                });
                if all.len() == 1 && only {
                    pointer = format!("{pointer}/allOf/0");
                    schema = &all[0];
                    continue;
                }
            }
            return Ok((schema, pointer, name));
        }
        Err(ReadError::at(&pointer, "a cycle of $refs"))
    }

    fn schema(
        &mut self,
        old: &'d Value,
        new: &'d Value,
        old_pointer: &str,
        new_pointer: &str,
        flow: Flow,
    ) -> Result<(), ReadError> {
        self.depth += 1;
        if self.depth > 128 {
            self.depth -= 1;
            return Ok(());
        }
        let result = self.schema_inner(old, new, old_pointer, new_pointer, flow);
        self.depth -= 1;
        result
    }

    fn schema_inner(
        &mut self,
        old: &'d Value,
        new: &'d Value,
        old_pointer: &str,
        new_pointer: &str,
        flow: Flow,
    ) -> Result<(), ReadError> {
        let (old, old_pointer, old_name) = Self::resolve(self.old, old, old_pointer.to_owned())?;
        let (new, new_pointer, new_name) = Self::resolve(self.new, new, new_pointer.to_owned())?;
        let at = format!("new#{new_pointer}");
        if old_name.is_some() || new_name.is_some() {
            if !self
                .visited
                .insert((old_pointer.clone(), new_pointer.clone(), flow))
            {
                return Ok(());
            }
            if let (Some(a), Some(b)) = (&old_name, &new_name) {
                if a != b {
                    self.push(
                        TYPE_RENAMED,
                        at.clone(),
                        format!("the shared type `{a}` is now `{b}`"),
                        Some(flow),
                        None,
                    );
                }
            }
        }
        let old_text = old
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let new_text = new
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let skip_docs = std::mem::take(&mut self.skip_docs);
        if old_text.trim() != new_text.trim() && !skip_docs {
            self.push(
                DOCS_CHANGED,
                at.clone(),
                "the description changed".into(),
                Some(flow),
                Some(Variance::Same),
            );
        }
        let a = facts(old);
        let b = facts(new);
        match (a.nullable, b.nullable) {
            (false, true) => self.push(
                NULLABLE_ADDED,
                at.clone(),
                "may now be null".into(),
                Some(flow),
                None,
            ),
            (true, false) => self.push(
                NULLABLE_REMOVED,
                at.clone(),
                "may no longer be null".into(),
                Some(flow),
                None,
            ),
            _ => {}
        }
        // A lone alternative next to null: compare it.
        let old_core = single_member(old, &old_pointer);
        let new_core = single_member(new, &new_pointer);
        if old_core.is_some() || new_core.is_some() {
            let (x, xp) = old_core.unwrap_or((old, old_pointer.clone()));
            let (y, yp) = new_core.unwrap_or((new, new_pointer.clone()));
            self.skip_docs = true;
            return self.schema(x, y, &xp, &yp, flow);
        }
        // Alternatives: matched by their signature.
        let old_members = members(old, &old_pointer);
        let new_members = members(new, &new_pointer);
        if old_members.len() > 1 || new_members.len() > 1 {
            let whole = |schema: &'d Value, pointer: &str| {
                vec![(signature(&strip_null(schema)), schema, pointer.to_owned())]
            };
            let old_members = if old_members.len() > 1 {
                old_members
            } else {
                whole(old, &old_pointer)
            };
            let new_members = if new_members.len() > 1 {
                new_members
            } else {
                whole(new, &new_pointer)
            };
            for (signature, member, pointer) in &old_members {
                match new_members.iter().find(|(s, _, _)| s == signature) {
                    Some((_, other, other_pointer)) => {
                        self.schema(member, other, pointer, other_pointer, flow)?;
                    }
                    None => self.push(
                        UNION_MEMBER_REMOVED,
                        format!("old#{pointer}"),
                        format!("the alternative {signature} was removed"),
                        Some(flow),
                        None,
                    ),
                }
            }
            for (signature, _, pointer) in &new_members {
                if !old_members.iter().any(|(s, _, _)| s == signature) {
                    self.push(
                        UNION_MEMBER_ADDED,
                        format!("new#{pointer}"),
                        format!("the alternative {signature} was added"),
                        Some(flow),
                        None,
                    );
                }
            }
            return Ok(());
        }
        // Enumerated values.
        match (&a.values, &b.values) {
            (Some(x), Some(y)) => {
                for value in y.difference(x) {
                    self.push(
                        ENUM_VALUE_ADDED,
                        at.clone(),
                        format!("the value {value:?} was added"),
                        Some(flow),
                        None,
                    );
                }
                for value in x.difference(y) {
                    self.push(
                        ENUM_VALUE_REMOVED,
                        at.clone(),
                        format!("the value {value:?} was removed"),
                        Some(flow),
                        None,
                    );
                }
            }
            (None, Some(y)) => self.push(
                CONSTRAINT_TIGHTENED,
                at.clone(),
                format!("values are now restricted to {y:?}"),
                Some(flow),
                None,
            ),
            (Some(_), None) => self.push(
                CONSTRAINT_RELAXED,
                at.clone(),
                "values are no longer enumerated".into(),
                Some(flow),
                None,
            ),
            (None, None) => {}
        }
        // Types.
        let widened_types = |x: &BTreeSet<String>, y: &BTreeSet<String>| {
            x.iter()
                .all(|t| y.contains(t) || (t == "integer" && y.contains("number")))
        };
        if a.types != b.types {
            if a.types.is_empty() {
                self.push(
                    TYPE_NARROWED,
                    at,
                    format!("any value is now {}", list(&b.types)),
                    Some(flow),
                    None,
                );
                return Ok(());
            }
            if b.types.is_empty() {
                self.push(
                    TYPE_WIDENED,
                    at,
                    format!("{} is now any value", list(&a.types)),
                    Some(flow),
                    None,
                );
                return Ok(());
            }
            let (rule, verb) = if widened_types(&a.types, &b.types) {
                (TYPE_WIDENED, "widened")
            } else if widened_types(&b.types, &a.types) {
                (TYPE_NARROWED, "narrowed")
            } else {
                (TYPE_CHANGED, "changed")
            };
            self.push(
                rule,
                at,
                format!(
                    "the type {verb} from {} to {}",
                    list(&a.types),
                    list(&b.types)
                ),
                Some(flow),
                None,
            );
            return Ok(());
        }
        if a.types.contains("integer") {
            self.integer(old, new, &at, flow);
        }
        self.constraints(old, new, &at, flow);
        if a.types.contains("object")
            || (a.types.is_empty()
                && (old.get("properties").is_some() || new.get("properties").is_some()))
        {
            self.object(old, new, &old_pointer, &new_pointer, flow)?;
        }
        if a.types.contains("array") {
            self.array(old, new, &old_pointer, &new_pointer, flow)?;
        }
        Ok(())
    }

    fn integer(&mut self, old: &Value, new: &Value, at: &str, flow: Flow) {
        let range = |schema: &Value| -> (i128, i128) {
            match schema
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or_default()
            {
                "int8" => (i8::MIN.into(), i8::MAX.into()),
                "int16" => (i16::MIN.into(), i16::MAX.into()),
                "int32" => (i32::MIN.into(), i32::MAX.into()),
                "uint8" => (0, u8::MAX.into()),
                "uint16" => (0, u16::MAX.into()),
                "uint32" => (0, u32::MAX.into()),
                "uint64" | "uint" => (0, u64::MAX.into()),
                "int128" => (i128::MIN, i128::MAX),
                "uint128" => (0, i128::MAX),
                _ => (i64::MIN.into(), i64::MAX.into()),
            }
        };
        let format = |schema: &Value| {
            schema
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or("(none)")
                .to_owned()
        };
        let (x, y) = (range(old), range(new));
        if format(old) == format(new) || x == y {
            return;
        }
        let rule = if y.0 <= x.0 && y.1 >= x.1 {
            INTEGER_WIDENED
        } else if y.0 >= x.0 && y.1 <= x.1 {
            INTEGER_NARROWED
        } else {
            INTEGER_CHANGED
        };
        self.push(
            rule,
            at.to_owned(),
            format!("the integer format {} is now {}", format(old), format(new)),
            Some(flow),
            None,
        );
    }

    fn constraints(&mut self, old: &Value, new: &Value, at: &str, flow: Flow) {
        // Lower bounds: a larger one tightens. Upper bounds: a smaller one tightens.
        for (key, lower) in [
            ("minimum", true),
            ("exclusiveMinimum", true),
            ("minLength", true),
            ("minItems", true),
            ("minProperties", true),
            ("maximum", false),
            ("exclusiveMaximum", false),
            ("maxLength", false),
            ("maxItems", false),
            ("maxProperties", false),
        ] {
            let x = old.get(key).and_then(Value::as_f64);
            let y = new.get(key).and_then(Value::as_f64);
            let tightened = match (x, y) {
                (None, None) => continue,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(x), Some(y)) if x == y => continue,
                (Some(x), Some(y)) => (y > x) == lower,
            };
            let text = format!("`{key}` {} -> {}", show(x), show(y));
            let rule = if tightened {
                CONSTRAINT_TIGHTENED
            } else {
                CONSTRAINT_RELAXED
            };
            self.push(rule, at.to_owned(), text, Some(flow), None);
        }
        for key in ["pattern", "multipleOf", "uniqueItems"] {
            let (x, y) = (old.get(key), new.get(key));
            let rule = match (x, y) {
                (None, None) => continue,
                (x, y) if x == y => continue,
                (None, Some(Value::Bool(false))) | (Some(Value::Bool(false)), None) => continue,
                (None, Some(_)) | (Some(Value::Bool(false)), Some(Value::Bool(true))) => {
                    CONSTRAINT_TIGHTENED
                }
                (Some(_), None) | (Some(Value::Bool(true)), Some(Value::Bool(false))) => {
                    CONSTRAINT_RELAXED
                }
                _ => CONSTRAINT_CHANGED,
            };
            let text = format!("`{key}` {} -> {}", show_value(x), show_value(y));
            self.push(rule, at.to_owned(), text, Some(flow), None);
        }
    }

    fn object(
        &mut self,
        old: &'d Value,
        new: &'d Value,
        old_pointer: &str,
        new_pointer: &str,
        flow: Flow,
    ) -> Result<(), ReadError> {
        let props = |schema: &'d Value| -> Vec<(&'d String, &'d Value)> {
            schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|m| m.iter().collect())
                .unwrap_or_default()
        };
        let required = |schema: &Value| -> BTreeSet<String> {
            schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let closed =
            |schema: &Value| schema.get("additionalProperties") == Some(&Value::Bool(false));
        let (old_props, new_props) = (props(old), props(new));
        let (old_required, new_required) = (required(old), required(new));
        for &(name, old_schema) in &old_props {
            let old_at = format!("{old_pointer}/properties/{}", escape_pointer(name));
            match new_props.iter().find(|(n, _)| *n == name).map(|(_, s)| *s) {
                None => {
                    let was_required = old_required.contains(name);
                    let variance = if was_required {
                        Variance::Widened
                    } else if closed(new) {
                        Variance::Narrowed
                    } else {
                        Variance::Same
                    };
                    let text = if was_required {
                        "required property"
                    } else {
                        "optional property"
                    };
                    self.push(
                        PROPERTY_REMOVED,
                        format!("old#{old_at}"),
                        format!("the {text} `{name}` was removed"),
                        Some(flow),
                        Some(variance),
                    );
                }
                Some(new_schema) => {
                    let new_at = format!("{new_pointer}/properties/{}", escape_pointer(name));
                    match (old_required.contains(name), new_required.contains(name)) {
                        (false, true) => self.push(
                            PROPERTY_BECAME_REQUIRED,
                            format!("new#{new_at}"),
                            format!("the property `{name}` became required"),
                            Some(flow),
                            None,
                        ),
                        (true, false) => self.push(
                            PROPERTY_BECAME_OPTIONAL,
                            format!("new#{new_at}"),
                            format!("the property `{name}` became optional"),
                            Some(flow),
                            None,
                        ),
                        _ => {}
                    }
                    self.schema(old_schema, new_schema, &old_at, &new_at, flow)?;
                }
            }
        }
        for &(name, _) in &new_props {
            if old_props.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let new_at = format!("new#{new_pointer}/properties/{}", escape_pointer(name));
            if new_required.contains(name) {
                self.push(
                    PROPERTY_ADDED_REQUIRED,
                    new_at,
                    format!("the required property `{name}` was added"),
                    Some(flow),
                    None,
                );
            } else {
                let variance = if closed(old) {
                    Variance::Widened
                } else {
                    Variance::Same
                };
                self.push(
                    PROPERTY_ADDED_OPTIONAL,
                    new_at,
                    format!("the optional property `{name}` was added"),
                    Some(flow),
                    Some(variance),
                );
            }
        }
        let at = format!("new#{new_pointer}");
        match (closed(old), closed(new)) {
            (true, false) => self.push(
                ADDITIONAL_PROPERTIES_ALLOWED,
                at,
                "unknown properties are now accepted".into(),
                Some(flow),
                None,
            ),
            (false, true) => self.push(
                ADDITIONAL_PROPERTIES_FORBIDDEN,
                at,
                "unknown properties are now refused".into(),
                Some(flow),
                None,
            ),
            _ => {
                if let (Some(x @ Value::Object(_)), Some(y @ Value::Object(_))) = (
                    old.get("additionalProperties"),
                    new.get("additionalProperties"),
                ) {
                    self.schema(
                        x,
                        y,
                        &format!("{old_pointer}/additionalProperties"),
                        &format!("{new_pointer}/additionalProperties"),
                        flow,
                    )?;
                }
            }
        }
        Ok(())
    }

    fn array(
        &mut self,
        old: &'d Value,
        new: &'d Value,
        old_pointer: &str,
        new_pointer: &str,
        flow: Flow,
    ) -> Result<(), ReadError> {
        let tuple = |schema: &'d Value| -> Option<(&'static str, &'d Vec<Value>)> {
            match (schema.get("prefixItems"), schema.get("items")) {
                (Some(Value::Array(items)), _) => Some(("prefixItems", items)),
                (_, Some(Value::Array(items))) => Some(("items", items)),
                _ => None,
            }
        };
        match (tuple(old), tuple(new)) {
            (Some((ka, a)), Some((kb, b))) => {
                if a.len() != b.len() {
                    self.push(
                        TUPLE_LENGTH_CHANGED,
                        format!("new#{new_pointer}"),
                        format!("the tuple has {} items instead of {}", b.len(), a.len()),
                        Some(flow),
                        None,
                    );
                }
                for (index, (x, y)) in a.iter().zip(b).enumerate() {
                    self.schema(
                        x,
                        y,
                        &format!("{old_pointer}/{ka}/{index}"),
                        &format!("{new_pointer}/{kb}/{index}"),
                        flow,
                    )?;
                }
            }
            (None, None) => {
                if let (Some(x), Some(y)) = (old.get("items"), new.get("items")) {
                    self.schema(
                        x,
                        y,
                        &format!("{old_pointer}/items"),
                        &format!("{new_pointer}/items"),
                        flow,
                    )?;
                }
            }
            _ => self.push(
                TYPE_CHANGED,
                format!("new#{new_pointer}"),
                "a tuple became a list, or a list a tuple".into(),
                Some(flow),
                None,
            ),
        }
        Ok(())
    }
}

/// The one alternative of a `oneOf`/`anyOf` that also allows null, with its pointer.
fn single_member<'a>(schema: &'a Value, pointer: &str) -> Option<(&'a Value, String)> {
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(items)) = schema.get(key) {
            let others: Vec<(usize, &Value)> = items
                .iter()
                .enumerate()
                .filter(|(_, m)| !is_null(m))
                .collect();
            if let [(index, only)] = others.as_slice() {
                return Some((only, format!("{pointer}/{key}/{index}")));
            }
        }
    }
    None
}

/// The alternatives of a `oneOf`/`anyOf` without null (none when they are string
/// constants: that is an enumeration), with their signatures and pointers.
fn members<'a>(schema: &'a Value, pointer: &str) -> Vec<(String, &'a Value, String)> {
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(items)) = schema.get(key) {
            let others: Vec<(String, &Value, String)> = items
                .iter()
                .enumerate()
                .filter(|(_, m)| !is_null(m))
                .map(|(index, m)| (signature(m), m, format!("{pointer}/{key}/{index}")))
                .collect();
            if others
                .iter()
                .all(|(_, m, _)| m.get("const").is_some_and(Value::is_string))
            {
                return Vec::new();
            }
            return others;
        }
    }
    Vec::new()
}

fn show(value: Option<f64>) -> String {
    value.map_or("(none)".to_owned(), |v| v.to_string())
}

fn show_value(value: Option<&Value>) -> String {
    value.map_or("(none)".to_owned(), Value::to_string)
}

fn list(types: &BTreeSet<String>) -> String {
    types.iter().cloned().collect::<Vec<_>>().join(" | ")
}

fn is_null(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.get("const") == Some(&Value::Null)
}

/// The schema without its null alternative / null type.
fn strip_null(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Value::Object(map) = &mut schema {
        map.remove("nullable");
        if let Some(Value::Array(types)) = map.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types[0].clone();
                map.insert("type".into(), only);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(members)) = map.get_mut(key) {
                members.retain(|m| !is_null(m));
            }
        }
    }
    schema
}

/// How alternatives are matched: a shared type's name, a constant, or the type.
fn signature(member: &Value) -> String {
    if let Some(Value::String(reference)) = member.get("$ref") {
        return format!("`{}`", reference.rsplit('/').next().unwrap_or_default());
    }
    if let Some(Value::Object(properties)) = member.get("properties") {
        for (name, property) in properties {
            if let Some(Value::String(value)) = property.get("const") {
                return format!("{{{name}: {value:?}}}");
            }
        }
    }
    if let Some(value) = member.get("const") {
        return format!("const {value}");
    }
    let facts = facts(member);
    if facts.types.is_empty() {
        "any".to_owned()
    } else {
        list(&facts.types)
    }
}

fn facts(schema: &Value) -> Facts {
    let mut facts = Facts::default();
    let Some(object) = schema.as_object() else {
        return facts;
    };
    if object.get("nullable") == Some(&Value::Bool(true)) {
        facts.nullable = true;
    }
    match object.get("type") {
        Some(Value::String(ty)) if ty == "null" => facts.nullable = true,
        Some(Value::String(ty)) => {
            facts.types.insert(ty.clone());
        }
        Some(Value::Array(types)) => {
            for ty in types.iter().filter_map(Value::as_str) {
                if ty == "null" {
                    facts.nullable = true;
                } else {
                    facts.types.insert(ty.to_owned());
                }
            }
        }
        _ => {}
    }
    if object.get("format").and_then(Value::as_str) == Some("binary") {
        facts.types.remove("string");
        facts.types.insert("binary".into());
    }
    if facts.types.is_empty() {
        if object.contains_key("properties") {
            facts.types.insert("object".into());
        } else if object.contains_key("items") || object.contains_key("prefixItems") {
            facts.types.insert("array".into());
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(members)) = object.get(key) {
            let others: Vec<Value> = members.iter().filter(|m| !is_null(m)).cloned().collect();
            if others.len() < members.len() {
                facts.nullable = true;
            }
            // A `oneOf` of string constants is an enumeration.
            let consts: Option<BTreeSet<String>> = others
                .iter()
                .map(|m| m.get("const").and_then(Value::as_str).map(str::to_owned))
                .collect();
            if let Some(values) = consts.filter(|v| !v.is_empty()) {
                facts.types.insert("string".into());
                facts.values = Some(values);
            }
        }
    }
    let values: Option<BTreeSet<String>> = match (object.get("enum"), object.get("const")) {
        (Some(Value::Array(values)), _) => {
            if values.iter().any(Value::is_null) {
                facts.nullable = true;
            }
            Some(
                values
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
            )
        }
        (_, Some(Value::String(value))) => Some([value.clone()].into()),
        (_, Some(other)) if !other.is_null() => Some([other.to_string()].into()),
        _ => None,
    };
    if values.is_some() {
        facts.values = values;
    }
    facts
}
