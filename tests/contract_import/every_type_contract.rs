//! A contract using every type the exporter knows, for the import round trip
//! (`tests/contract_import.rs`): integers of every size, floats, strings, booleans, options,
//! lists, maps, tuples, `serde_json::Value`, binary data, unit enums (with and without
//! variant docs), an internally tagged and an untagged enum, renamed and keyword fields, a
//! struct refusing unknown fields, keyword and renamed events, acks of every kind, and two
//! namespaces.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ferrio::schema::schemars::{JsonSchema, Schema, SchemaGenerator};
use ferrio::schema::{ExportOptions, Exporter, ServerInfo};
use ferrio::Acked;
use serde::{Deserialize, Serialize};

/// A point; unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Across.
    pub x: f64,
    /// Down.
    pub y: f64,
}

/// Plain colours (no variant docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
#[allow(missing_docs)]
pub enum Color {
    Red,
    Green,
    Blue,
}

/// A mood, each one documented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
#[serde(rename_all = "snake_case")]
pub enum Mood {
    /// Pleased.
    Happy,
    /// Not pleased.
    Sad,
}

/// A shape, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
#[serde(tag = "kind")]
pub enum Shape {
    /// A circle.
    Circle {
        /// Its radius.
        radius: f64,
    },
    /// A square.
    #[serde(rename = "square")]
    Square {
        /// Its side.
        side: f32,
        /// Its corner.
        corner: Option<Point>,
    },
}

/// An id: a number or a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
#[serde(untagged)]
pub enum Id {
    /// A number.
    Integer(u64),
    /// A text.
    String(String),
}

/// Bytes that travel as a Socket.IO binary attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Blob(pub bytes::Bytes);

impl JsonSchema for Blob {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Blob".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        ferrio::schema::binary_schema()
    }
}

/// Everything at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct Everything {
    /// A text.
    pub text: String,
    /// A flag.
    pub flag: bool,
    /// 8 bits.
    pub tiny: i8,
    /// 16 bits.
    pub small: i16,
    /// 32 bits.
    pub medium: i32,
    /// 64 bits.
    pub large: i64,
    /// 128 bits.
    pub huge: i128,
    /// Pointer-sized.
    pub signed_size: isize,
    /// Unsigned 8 bits.
    pub utiny: u8,
    /// Unsigned 16 bits.
    pub usmall: u16,
    /// Unsigned 32 bits.
    pub umedium: u32,
    /// Unsigned 64 bits.
    pub ularge: u64,
    /// Unsigned 128 bits.
    pub uhuge: u128,
    /// Unsigned pointer-sized.
    pub size: usize,
    /// Single precision.
    pub single: f32,
    /// Double precision.
    pub double: f64,
    /// Maybe a text.
    pub maybe: Option<String>,
    /// Maybe a point.
    pub maybe_point: Option<Point>,
    /// Points.
    pub points: Vec<Point>,
    /// Counts by name.
    pub counts: BTreeMap<String, u32>,
    /// A pair.
    pub pair: (String, i32),
    /// Anything.
    pub anything: serde_json::Value,
    /// Some bytes.
    pub data: Blob,
    /// A colour.
    pub color: Color,
    /// A mood.
    pub mood: Mood,
    /// A shape.
    pub shape: Shape,
    /// An id.
    pub id: Id,
    /// A field whose wire name is a Rust keyword.
    #[serde(rename = "type")]
    pub kind: String,
    /// A field whose wire name is no Rust identifier.
    #[serde(rename = "user-name")]
    pub user_name: String,
    /// Lists of optional lists.
    pub nested: Vec<Option<Vec<u16>>>,
}

/// A type the contract does not document (its import invents no docs either).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
#[allow(missing_docs)]
pub struct Bare {
    pub n: u8,
}

/// Every event shape, in the main namespace.
#[ferrio::socketio_events(namespace = "/")]
pub trait EveryEvents {
    /// Everything, fire and forget.
    #[emit]
    fn everything(all: Everything);
    /// A keyword argument and a keyword wire name; acked without a value.
    #[emit(name = "type")]
    fn r#type(r#type: Color, mood: Mood) -> Acked;
    /// A wire name with a space; the ack is a shape.
    #[emit(name = "draw shape")]
    fn draw(shape: Shape, at: Option<Point>) -> Shape;
    /// Binary data; the ack counts its bytes.
    #[emit]
    fn upload(name: String, data: Blob) -> u64;
    /// The server pushes an id.
    #[on]
    fn identified(id: Id);
    /// The server asks for a list; the client acks with one.
    #[on]
    fn tally(counts: BTreeMap<String, u32>) -> Vec<i64>;
    /// Three arguments of primitive types.
    #[on(name = "three args")]
    fn three(a: bool, b: f64, c: serde_json::Value);
    #[on]
    fn bare(bare: Bare);
}

/// A second namespace, to import as a second trait.
#[ferrio::socketio_events(namespace = "/admin-v2")]
pub trait AdminEvents {
    /// Kick someone; the server acks with whether they were there.
    #[emit]
    fn kick(user: String) -> bool;
    /// Someone was kicked.
    #[on]
    fn kicked(user: String, by: Option<String>);
}

/// The exporter of both namespaces.
pub fn exporter() -> Exporter {
    Exporter::new()
        .contract::<EveryEvents>()
        .contract::<AdminEvents>()
}

/// What names the exported service.
pub fn export_options() -> ExportOptions {
    ExportOptions::new("every type", "2.0.0").server(ServerInfo::new(
        "local",
        "localhost:3000",
        "ws",
    ))
}
