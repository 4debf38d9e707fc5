//! The contract model: what a `#[socketio_events]` trait declares, as plain data.
//!
//! The macro generates one [`EventContract`] implementation per trait; the exporters only ever
//! see the [`Contract`] values it describes. Everything here is `Clone + Debug + PartialEq` and
//! built with struct literals, so generated code stays a flat list of fields.

use schemars::{Schema, SchemaGenerator};

/// A Socket.IO event contract, implemented by the marker type the macro generates for each
/// `#[socketio_events]` trait (`pub struct ChatEvents;` for `trait ChatEvents`).
///
/// # What an implementation must do
///
/// Take every payload schema from `generator` with
/// [`SchemaGenerator::subschema_for`], never from a fresh generator: a type used by several
/// events, or by several contracts exported together, then lands once in the shared
/// definitions (`$defs`, `components.schemas`, one TypeScript declaration), and the returned
/// schemas are `$ref`s into them.
///
/// ```
/// use ferrio_schema::{AckDef, ArgDef, Contract, Direction, EventContract, EventDef};
/// use schemars::SchemaGenerator;
///
/// /// What a chat client and server say to each other.
/// pub struct ChatEvents;
///
/// impl EventContract for ChatEvents {
///     fn describe(generator: &mut SchemaGenerator) -> Contract {
///         Contract {
///             name: "ChatEvents".into(),
///             namespace: "/chat".into(),
///             docs: "What a chat client and server say to each other.".into(),
///             events: vec![EventDef {
///                 wire_name: "join".into(),
///                 rust_name: "join".into(),
///                 direction: Direction::Emit,
///                 docs: "Join a room; the server acks with the member count.".into(),
///                 args: vec![ArgDef {
///                     name: "room".into(),
///                     schema: generator.subschema_for::<String>(),
///                 }],
///                 ack: AckDef::Value(generator.subschema_for::<u32>()),
///             }],
///         }
///     }
/// }
///
/// let contract = ChatEvents::describe(&mut SchemaGenerator::default());
/// assert_eq!(contract.events[0].args.len(), 1);
/// ```
pub trait EventContract {
    /// Describes the contract. Payload schemas are taken from `generator` so that types shared
    /// by several events (and several contracts) end up once in its definitions.
    fn describe(generator: &mut SchemaGenerator) -> Contract;
}

/// One contract: the events of one trait, all in one Socket.IO namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct Contract {
    /// The Rust trait's name (`"ChatEvents"`).
    pub name: String,
    /// The Socket.IO namespace, with its leading slash (`"/"`, `"/chat"`).
    pub namespace: String,
    /// The trait's doc comment, without the `///` markers; may be empty.
    pub docs: String,
    /// The events, in declaration order (the exporters keep that order).
    pub events: Vec<EventDef>,
}

/// One event of a contract.
#[derive(Clone, Debug, PartialEq)]
pub struct EventDef {
    /// The event name on the wire (`"chat message"`): the first element of the Socket.IO
    /// event array.
    pub wire_name: String,
    /// The Rust method's name (`"say"`), without a raw-identifier `r#` prefix.
    pub rust_name: String,
    /// Who sends the event.
    pub direction: Direction,
    /// The method's doc comment, without the `///` markers; may be empty.
    pub docs: String,
    /// The arguments, in order: they travel positionally after the event name.
    pub args: Vec<ArgDef>,
    /// What the receiver answers.
    pub ack: AckDef,
}

/// Who sends an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `#[emit]`: the client sends, the server receives (socket.io's `ClientToServerEvents`).
    Emit,
    /// `#[on]`: the server sends, the client receives (socket.io's `ServerToClientEvents`).
    On,
}

impl Direction {
    /// `"client-to-server"` or `"server-to-client"`, the spelling used in the exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Emit => "client-to-server",
            Direction::On => "server-to-client",
        }
    }
}

/// One positional argument of an event.
#[derive(Clone, Debug, PartialEq)]
pub struct ArgDef {
    /// The Rust parameter name (`"room"`), without a raw-identifier `r#` prefix.
    pub name: String,
    /// The argument's schema, from [`SchemaGenerator::subschema_for`].
    pub schema: Schema,
}

/// The acknowledgement the receiver of an event sends back.
///
/// A Socket.IO ack is a list of arguments (`callback(a, b)`); these are the shapes a contract
/// declares it with (the return type of the trait's method, in parentheses):
#[derive(Clone, Debug, PartialEq)]
pub enum AckDef {
    /// No ack: fire and forget (`()`, or no return type).
    None,
    /// An ack without a value (`ferrio::Acked`): the receiver calls the callback with no
    /// argument.
    Empty,
    /// An ack carrying one value (`T`), with `T`'s schema.
    Value(Schema),
    /// An ack with several arguments (a tuple `(A, B, ..)`): `callback(a, b, ..)`, one
    /// [`ArgDef`] per element, named `ack0`, `ack1`...
    Values(Vec<ArgDef>),
    /// Node's `callback(err, data)` convention (`Result<T, E>`): `callback(null, data)` on
    /// success, `callback(err)` on failure.
    Result {
        /// The success value's schema (`T`), the second argument.
        value: Schema,
        /// The error's schema (`E`), the first argument (`null` on success).
        error: Schema,
    },
}

/// One argument of an ack as it travels, from [`AckDef::args`].
#[derive(Clone, Debug, PartialEq)]
pub struct AckArg {
    /// The argument's name in the exports (`ack`, `ack0`.., `err`, `data`).
    pub name: String,
    /// Its schema.
    pub schema: Schema,
    /// Whether the sender may leave it out (the `data` of a failed [`AckDef::Result`]).
    pub optional: bool,
}

impl AckDef {
    /// Whether the receiver answers at all.
    pub fn is_expected(&self) -> bool {
        !matches!(self, AckDef::None)
    }

    /// The ack's arguments as they travel: none for [`AckDef::Empty`], one for
    /// [`AckDef::Value`], one per element for [`AckDef::Values`], and `err` (the error or
    /// `null`) then an optional `data` for [`AckDef::Result`]; `None` when there is no ack.
    pub fn args(&self) -> Option<Vec<AckArg>> {
        let arg = |name: &str, schema: &Schema, optional| AckArg {
            name: name.to_owned(),
            schema: schema.clone(),
            optional,
        };
        match self {
            AckDef::None => None,
            AckDef::Empty => Some(Vec::new()),
            AckDef::Value(schema) => Some(vec![arg("ack", schema, false)]),
            AckDef::Values(args) => Some(
                args.iter()
                    .map(|a| arg(&a.name, &a.schema, false))
                    .collect(),
            ),
            AckDef::Result { value, error } => {
                let error_or_null = schemars::json_schema!({
                    "anyOf": [error.as_value(), { "type": "null" }]
                });
                Some(vec![
                    arg("err", &error_or_null, false),
                    arg("data", value, true),
                ])
            }
        }
    }

    /// The ack's kind as the exports name it (`x-socketio-ack`): `none`, `empty`, `value`,
    /// `values` or `result`.
    pub fn kind(&self) -> &'static str {
        match self {
            AckDef::None => "none",
            AckDef::Empty => "empty",
            AckDef::Value(_) => "value",
            AckDef::Values(_) => "values",
            AckDef::Result { .. } => "result",
        }
    }
}
