//! The event contract of ferrio sockets: its exporters, an importer, a diff and a drift
//! check.
//!
//! A `#[ferrio::socketio_events]` trait declares what a client emits and listens to. The macro
//! turns it into an [`EventContract`]: plain data ([`Contract`], [`EventDef`]) with a JSON
//! Schema for every argument and ack, taken from [schemars]. This crate turns one or several
//! contracts into the formats the other side of the wire already reads ([`Exporter`]):
//!
//! - a **JSON Schema** (draft 2020-12) bundle ([`json_schema`]),
//! - an **AsyncAPI 3.0** document, from the server's point of view ([`asyncapi`]),
//! - **TypeScript** declarations for socket.io servers and clients ([`typescript`]).
//!
//! And back, for contracts another side publishes:
//!
//! - [`read`]: AsyncAPI 3.x and 2.x (with `x-ack`) documents and the JSON Schema bundle, in
//!   JSON or (feature `yaml`) YAML, into one document model;
//! - `import` (feature `import`): such a document into Rust source, the payload types and
//!   one `#[socketio_events]` trait per namespace;
//! - [`diff`]: two documents into every change, classified by whom it breaks;
//! - [`check_export_dir`] / [`Exporter::check_dir`]: a committed export is still current.
//!
//! The feature `cli` builds the `ferrio-contract` command line tool over them
//! (`cargo install ferrio-schema --features cli`; see `docs/CONTRACT.md`).
//!
//! Without features it depends on serde, serde_json and schemars alone: no runtime, no async,
//! and no I/O except reading files in [`check_up_to_date`] and [`check_export_dir`].
//!
//! # Example
//!
//! The macro writes the `impl EventContract` below; here it is by hand.
//!
//! ```
//! use ferrio_schema::{
//!     AckDef, ArgDef, Contract, Direction, EventContract, EventDef, ExportOptions, Exporter,
//!     ServerInfo,
//! };
//! use schemars::{JsonSchema, SchemaGenerator};
//!
//! /// What a room looks like.
//! #[derive(JsonSchema)]
//! pub struct RoomInfo {
//!     /// The room's name.
//!     pub name: String,
//!     /// How many people are in it.
//!     pub members: u32,
//! }
//!
//! /// The chat namespace.
//! pub struct ChatEvents;
//!
//! impl EventContract for ChatEvents {
//!     fn describe(generator: &mut SchemaGenerator) -> Contract {
//!         Contract {
//!             name: "ChatEvents".into(),
//!             namespace: "/chat".into(),
//!             docs: "The chat namespace.".into(),
//!             events: vec![EventDef {
//!                 wire_name: "join".into(),
//!                 rust_name: "join".into(),
//!                 direction: Direction::Emit,
//!                 docs: "Join a room; the server acks with the room's info.".into(),
//!                 args: vec![ArgDef {
//!                     name: "room".into(),
//!                     schema: generator.subschema_for::<String>(),
//!                 }],
//!                 ack: AckDef::Value(generator.subschema_for::<RoomInfo>()),
//!             }],
//!         }
//!     }
//! }
//!
//! let exporter = Exporter::new().contract::<ChatEvents>();
//! let options = ExportOptions::new("Chat service", "1.0.0")
//!     .server(ServerInfo::new("local", "localhost:3000", "ws"));
//!
//! let typescript = exporter.typescript(&options);
//! assert!(typescript.contains("join: (room: string, callback: (ack: RoomInfo) => void) => void;"));
//! assert!(typescript.contains("export interface RoomInfo {"));
//!
//! let asyncapi = exporter.asyncapi(&options);
//! assert!(asyncapi.contains(r##""$ref": "#/components/schemas/RoomInfo""##));
//!
//! let bundle = exporter.json_schema(&options);
//! assert!(bundle.contains(r#""prefixItems": ["#));
//! ```
//!
//! # Several contracts
//!
//! [`Exporter`] takes any number of contracts, all described with one schema generator, so a
//! type several of them use is written once. Each format lists the namespaces in the order
//! their first contract was added; contracts naming the same namespace are exported as one.
//! With several namespaces the TypeScript events maps are prefixed with the namespace (see
//! [`typescript`]).
//!
//! # Deterministic output
//!
//! The same contracts always give byte-identical files, so exports can be committed and
//! checked for drift in CI ([`check_up_to_date`], [`Exporter::check_dir`]): namespaces and
//! events come in declaration order, shared types in order of first use, schema keywords in
//! a fixed order, and object properties sorted by name. (Properties are not in declaration
//! order: schemars keeps them in a `serde_json::Map`, whose order depends on a cargo feature
//! another crate of the build may turn on, so sorting is the only order that is always the
//! same.)
//!
//! # Integers and binary data
//!
//! JSON numbers in JavaScript are exact only up to 2^53 - 1. schemars marks Rust's 64- and
//! 128-bit integers with a `format` (`int64`, `uint64`, `int128`, `uint128`, and `int` /
//! `uint` for `isize` / `usize`); [`wide_integer_format`] finds them, and the TypeScript
//! declarations document them. Binary data travels as Socket.IO attachments; a payload type
//! that holds bytes describes them with [`binary_schema`].

mod contract;
pub mod diff;
mod drift;
mod export;
#[cfg(feature = "import")]
pub mod import;
pub mod read;
mod walk;

pub use contract::{AckArg, AckDef, ArgDef, Contract, Direction, EventContract, EventDef};
pub use drift::{
    check_export_dir, check_up_to_date, Drift, DriftReason, BLESS_VAR, REFRESH_COMMAND,
};
pub use export::{asyncapi, json_schema, typescript};
pub use export::{
    Contact, ExportOptions, ExportedFile, Exporter, License, ServerInfo, ASYNCAPI_FILE,
    JSON_SCHEMA_FILE, TYPESCRIPT_FILE,
};
pub use schemars;

use schemars::Schema;

/// The schema of binary data (bytes sent as a Socket.IO attachment): `format: "binary"` with
/// `contentMediaType: "application/octet-stream"`, and no `type`, since the bytes are no JSON
/// value (a validator accepts whatever stands for them). The TypeScript declarations type it
/// `ArrayBuffer | ArrayBufferView`.
///
/// A binary payload type implements `JsonSchema` with it:
///
/// ```
/// use std::borrow::Cow;
/// use schemars::{JsonSchema, Schema, SchemaGenerator};
///
/// /// Bytes that travel as a Socket.IO attachment.
/// pub struct Blob(pub Vec<u8>);
///
/// impl JsonSchema for Blob {
///     fn inline_schema() -> bool {
///         true
///     }
///     fn schema_name() -> Cow<'static, str> {
///         "Blob".into()
///     }
///     fn json_schema(_: &mut SchemaGenerator) -> Schema {
///         ferrio_schema::binary_schema()
///     }
/// }
/// ```
pub fn binary_schema() -> Schema {
    schemars::json_schema!({
        "format": walk::BINARY_FORMAT,
        "contentMediaType": "application/octet-stream",
    })
}

/// If `schema` is an integer a JavaScript number may not hold exactly (beyond 2^53 - 1 in
/// magnitude), its schemars `format` (`"uint64"`, `"int128"`...).
///
/// ```
/// let mut generator = schemars::SchemaGenerator::default();
/// let wide = generator.subschema_for::<u64>();
/// let narrow = generator.subschema_for::<u32>();
/// assert_eq!(ferrio_schema::wide_integer_format(&wide), Some("uint64"));
/// assert_eq!(ferrio_schema::wide_integer_format(&narrow), None);
/// ```
pub fn wide_integer_format(schema: &Schema) -> Option<&str> {
    walk::wide_integer_format(schema.as_value())
}
