//! The rules of the diff: every kind of change, and whom it breaks.
//!
//! Modelled on buf's breaking-change categories (wire compatibility apart from source
//! compatibility) and oasdiff's request/response direction: a payload the client sends (the
//! arguments of `#[emit]` events, the acks of `#[on]` events) is a **request**, a payload it
//! receives (the arguments of `#[on]` events, the acks of `#[emit]` events) a **response**.
//!
//! A change to a schema **widens** it (accepts more values), **narrows** it (accepts fewer),
//! **changes** it (neither contains the other) or leaves the values alone. On the wire:
//!
//! | | request (client sends) | response (client receives) |
//! | --- | --- | --- |
//! | widened | breaks existing servers (new clients send what they reject) | breaks existing clients (they receive what they do not expect) |
//! | narrowed | breaks existing clients (they send what the new server rejects) | breaks existing servers (they send what new clients reject) |
//! | changed | breaks both | breaks both |
//!
//! Source compatibility is separate: Rust code using the imported (or hand-written) trait,
//! and TypeScript code using the exported declarations.

use crate::contract::Direction;

/// Which way a payload travels, seen from the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    /// The client sends it (`#[emit]` arguments, `#[on]` acks).
    Request,
    /// The client receives it (`#[on]` arguments, `#[emit]` acks).
    Response,
}

impl Flow {
    /// The flow of an event's arguments.
    pub fn of_args(direction: Direction) -> Flow {
        match direction {
            Direction::Emit => Flow::Request,
            Direction::On => Flow::Response,
        }
    }

    /// The flow of an event's ack: the other way.
    pub fn of_ack(direction: Direction) -> Flow {
        match Flow::of_args(direction) {
            Flow::Request => Flow::Response,
            Flow::Response => Flow::Request,
        }
    }

    /// `"request"` or `"response"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Request => "request",
            Flow::Response => "response",
        }
    }
}

/// What a change does to the values a schema accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variance {
    /// Accepts more values.
    Widened,
    /// Accepts fewer values.
    Narrowed,
    /// Neither contains the other.
    Changed,
    /// The same values.
    Same,
}

/// Whom a change breaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Breaks {
    /// Clients built against the old contract, talking to a server of the new one.
    pub clients: bool,
    /// Servers of the old contract, talked to by clients built against the new one.
    pub servers: bool,
    /// Rust source using the trait (signatures, struct literals, exhaustive matches).
    pub rust: bool,
    /// TypeScript source using the exported declarations.
    pub typescript: bool,
}

impl Breaks {
    /// Whether it breaks anybody.
    pub fn anybody(self) -> bool {
        self.clients || self.servers || self.rust || self.typescript
    }

    /// The wire part of a variance in a flow (the table in the module docs).
    pub fn wire(variance: Variance, flow: Flow) -> Breaks {
        let (clients, servers) = match (variance, flow) {
            (Variance::Same, _) => (false, false),
            (Variance::Changed, _) => (true, true),
            (Variance::Widened, Flow::Request) | (Variance::Narrowed, Flow::Response) => {
                (false, true)
            }
            (Variance::Widened, Flow::Response) | (Variance::Narrowed, Flow::Request) => {
                (true, false)
            }
        };
        Breaks {
            clients,
            servers,
            ..Breaks::default()
        }
    }

    /// The parties, comma separated (`"clients, rust"`), or `"nobody"`.
    pub fn describe(self) -> String {
        let mut parts = Vec::new();
        if self.clients {
            parts.push("clients");
        }
        if self.servers {
            parts.push("servers");
        }
        if self.rust {
            parts.push("rust");
        }
        if self.typescript {
            parts.push("typescript");
        }
        if parts.is_empty() {
            "nobody".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// How a rule decides the wire part of what it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// By the change's variance and the payload's flow (the table in the module docs).
    Variance(Variance),
    /// Fixed parties, whatever the flow: (clients, servers).
    Fixed(bool, bool),
    /// By the event's direction: (clients, servers) for `#[emit]`, then for `#[on]`.
    ByDirection((bool, bool), (bool, bool)),
}

/// One rule of the diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its id, as the output names it (`property-removed`).
    pub id: &'static str,
    /// What it detects.
    pub summary: &'static str,
    /// The wire part.
    pub wire: Wire,
    /// Whether it breaks Rust source.
    pub rust: bool,
    /// Whether it breaks TypeScript source.
    pub typescript: bool,
}

macro_rules! rules {
    ($($konst:ident = $id:literal, $summary:literal, $wire:expr, rust: $rust:literal, ts: $ts:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $konst: Rule = Rule { id: $id, summary: $summary, wire: $wire, rust: $rust, typescript: $ts };
        )*
        /// Every rule, in the order of the docs' table.
        pub const RULES: &[Rule] = &[$($konst),*];
    };
}

use Variance::{Changed, Narrowed, Same, Widened};
use Wire::{ByDirection, Fixed, Variance as V};

rules! {
    NAMESPACE_ADDED = "namespace-added", "A namespace was added.", Fixed(false, false), rust: false, ts: false;
    NAMESPACE_REMOVED = "namespace-removed", "A namespace was removed: existing clients connect to a namespace the server no longer has.", Fixed(true, false), rust: true, ts: true;
    EVENT_ADDED = "event-added", "An event was added: a new `#[emit]` event is ignored by existing servers; a new `#[on]` event by existing clients.", ByDirection((false, true), (false, false)), rust: false, ts: false;
    EVENT_REMOVED = "event-removed", "An event was removed: existing clients emit what nobody handles, or wait for what never comes.", Fixed(true, false), rust: true, ts: true;
    RUST_NAME_CHANGED = "rust-name-changed", "An event's Rust method name changed (same wire name).", Fixed(false, false), rust: true, ts: false;
    ACK_ADDED = "ack-added", "An event now has an ack: the receiver expects an ack id the existing sender does not send (an `#[emit]` event), or waits for an ack existing clients do not send (an `#[on]` event).", ByDirection((true, true), (true, false)), rust: true, ts: true;
    ACK_REMOVED = "ack-removed", "An event lost its ack: existing clients wait for an ack that never comes (an `#[emit]` event), or existing servers wait for one new clients do not send (an `#[on]` event).", ByDirection((true, true), (false, true)), rust: true, ts: true;
    ARGUMENT_ADDED = "argument-added", "A required argument was added at the end (a request: existing clients do not send it; a response: existing servers do not send it).", V(Narrowed), rust: true, ts: true;
    OPTIONAL_ARGUMENT_ADDED = "optional-argument-added", "An optional argument was added at the end.", V(Same), rust: true, ts: false;
    ARGUMENT_REMOVED = "argument-removed", "The last argument was removed (a request: existing servers miss it from new clients; a response: existing clients miss it).", V(Widened), rust: true, ts: true;
    ARGUMENT_RENAMED = "argument-renamed", "An argument was renamed (arguments travel by position).", Fixed(false, false), rust: false, ts: false;
    TYPE_CHANGED = "type-changed", "A payload's type changed to one that does not contain the old one, nor is contained in it.", V(Changed), rust: true, ts: true;
    TYPE_WIDENED = "type-widened", "A payload's type now accepts more (a type added to its list, `integer` to `number`, any value).", V(Widened), rust: true, ts: true;
    TYPE_NARROWED = "type-narrowed", "A payload's type now accepts less (a type removed from its list, `number` to `integer`, any value to one type).", V(Narrowed), rust: true, ts: true;
    NULLABLE_ADDED = "nullable-added", "A payload may now be null.", V(Widened), rust: true, ts: true;
    NULLABLE_REMOVED = "nullable-removed", "A payload may no longer be null.", V(Narrowed), rust: true, ts: true;
    INTEGER_WIDENED = "integer-format-widened", "An integer's format now holds more values (`uint8` to `uint32`).", V(Widened), rust: true, ts: false;
    INTEGER_NARROWED = "integer-format-narrowed", "An integer's format now holds fewer values (`int64` to `int32`).", V(Narrowed), rust: true, ts: false;
    INTEGER_CHANGED = "integer-format-changed", "An integer's format holds other values (`int32` to `uint32`).", V(Changed), rust: true, ts: false;
    CONSTRAINT_RELAXED = "constraint-relaxed", "A bound (`minimum`, `maxLength`, `minItems`...), `pattern` or `uniqueItems` was relaxed or removed.", V(Widened), rust: false, ts: false;
    CONSTRAINT_TIGHTENED = "constraint-tightened", "A bound, `pattern` or `uniqueItems` was tightened or added.", V(Narrowed), rust: false, ts: false;
    CONSTRAINT_CHANGED = "constraint-changed", "A `pattern` or `multipleOf` changed.", V(Changed), rust: false, ts: false;
    ENUM_VALUE_ADDED = "enum-value-added", "An enumeration (or constant) accepts a new value.", V(Widened), rust: true, ts: false;
    ENUM_VALUE_REMOVED = "enum-value-removed", "An enumeration lost a value.", V(Narrowed), rust: true, ts: true;
    PROPERTY_ADDED_REQUIRED = "property-added-required", "A required property was added to an object.", V(Narrowed), rust: true, ts: true;
    PROPERTY_ADDED_OPTIONAL = "property-added-optional", "An optional property was added to an object (wire-breaking only where the old object refused unknown properties).", V(Same), rust: true, ts: false;
    PROPERTY_REMOVED = "property-removed", "A property was removed from an object (a required one: the object may now lack it).", V(Widened), rust: true, ts: true;
    PROPERTY_BECAME_REQUIRED = "property-became-required", "An optional property became required.", V(Narrowed), rust: true, ts: true;
    PROPERTY_BECAME_OPTIONAL = "property-became-optional", "A required property became optional.", V(Widened), rust: true, ts: true;
    ADDITIONAL_PROPERTIES_ALLOWED = "additional-properties-allowed", "An object now accepts unknown properties.", V(Widened), rust: false, ts: false;
    ADDITIONAL_PROPERTIES_FORBIDDEN = "additional-properties-forbidden", "An object now refuses unknown properties (`additionalProperties: false`).", V(Narrowed), rust: false, ts: false;
    UNION_MEMBER_ADDED = "union-member-added", "A `oneOf`/`anyOf` gained an alternative.", V(Widened), rust: true, ts: false;
    UNION_MEMBER_REMOVED = "union-member-removed", "A `oneOf`/`anyOf` lost an alternative.", V(Narrowed), rust: true, ts: true;
    TUPLE_LENGTH_CHANGED = "tuple-length-changed", "A tuple has another number of items.", V(Changed), rust: true, ts: true;
    TYPE_RENAMED = "type-renamed", "A payload refers to a shared type of another name (its schema compared as well).", Fixed(false, false), rust: true, ts: true;
    DOCS_CHANGED = "docs-changed", "A description changed.", Fixed(false, false), rust: false, ts: false;
}

impl Rule {
    /// Whom the rule breaks for a payload of `flow` in an event of `direction`.
    pub fn breaks(self, flow: Option<Flow>, direction: Option<Direction>) -> Breaks {
        let mut breaks = match self.wire {
            Wire::Variance(variance) => match flow {
                Some(flow) => Breaks::wire(variance, flow),
                None => Breaks::wire(variance, Flow::Request),
            },
            Wire::Fixed(clients, servers) => Breaks {
                clients,
                servers,
                ..Breaks::default()
            },
            Wire::ByDirection(emit, on) => {
                let (clients, servers) = match direction {
                    Some(Direction::On) => on,
                    _ => emit,
                };
                Breaks {
                    clients,
                    servers,
                    ..Breaks::default()
                }
            }
        };
        breaks.rust = self.rust;
        breaks.typescript = self.typescript;
        breaks
    }

    /// The wire column of the docs' table.
    pub fn wire_text(self) -> String {
        match self.wire {
            Wire::Variance(Same) => "nobody".to_owned(),
            Wire::Variance(Changed) => "clients and servers".to_owned(),
            Wire::Variance(Widened) => "widens: request -> servers, response -> clients".to_owned(),
            Wire::Variance(Narrowed) => {
                "narrows: request -> clients, response -> servers".to_owned()
            }
            Wire::Fixed(clients, servers) => Breaks {
                clients,
                servers,
                ..Breaks::default()
            }
            .describe(),
            Wire::ByDirection(emit, on) => format!(
                "`#[emit]`: {}; `#[on]`: {}",
                Breaks {
                    clients: emit.0,
                    servers: emit.1,
                    ..Breaks::default()
                }
                .describe(),
                Breaks {
                    clients: on.0,
                    servers: on.1,
                    ..Breaks::default()
                }
                .describe()
            ),
        }
    }
}

/// The rules as a Markdown table (rule, what it detects, whom it breaks on the wire, Rust
/// source, TypeScript source), as `docs/CONTRACT.md` shows it.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| rule | what | wire: breaks | Rust source | TypeScript |\n| --- | --- | --- | --- | --- |\n",
    );
    let yes = |b: bool| if b { "breaks" } else { "-" };
    for rule in RULES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            rule.id,
            rule.summary,
            rule.wire_text(),
            yes(rule.rust),
            yes(rule.typescript)
        ));
    }
    out
}
