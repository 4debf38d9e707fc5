//! The Socket.IO contract "every type" 2.0.0, imported by `ferrio-contract import` from the AsyncAPI 3 document `asyncapi.json`; do not edit, import again.
//!
//! Perspective: the document describes the server, so what it sends (`send`, `subscribe`) are this client's `#[on]` events and what it receives (`receive`, `publish`) its `#[emit]` events (`--perspective client` reads it the other way).
use ferrio::schema::schemars::JsonSchema;
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
        #[serde(default, skip_serializing_if = "Option::is_none")]
        corner: Option<Point>,
    },
}
/// Plain colours (no variant docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub enum Color {
    #[allow(missing_docs)]
    Red,
    #[allow(missing_docs)]
    Green,
    #[allow(missing_docs)]
    Blue,
}
/// A mood, each one documented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub enum Mood {
    /// Pleased.
    #[serde(rename = "happy")]
    Happy,
    /// Not pleased.
    #[serde(rename = "sad")]
    Sad,
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
    /// Points.
    pub points: Vec<Point>,
    /// Counts by name.
    pub counts: std::collections::BTreeMap<String, u32>,
    /// A pair.
    pub pair: (String, i32),
    /// Anything.
    pub anything: serde_json::Value,
    /// Some bytes.
    pub data: Binary,
    /// A colour.
    pub color: Color,
    /// A mood.
    pub mood: Mood,
    /// A shape.
    pub shape: Shape,
    /// An id.
    pub id: Id,
    /// A field whose wire name is a Rust keyword.
    pub r#type: String,
    /// A field whose wire name is no Rust identifier.
    #[serde(rename = "user-name")]
    pub user_name: String,
    /// Lists of optional lists.
    pub nested: Vec<Option<Vec<u16>>>,
    /// Maybe a text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maybe: Option<String>,
    /// Maybe a point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maybe_point: Option<Point>,
}
/// A type the contract does not document (its import invents no docs either).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct Bare {
    #[allow(missing_docs)]
    pub n: u8,
}
/// Bytes that travel as a Socket.IO binary attachment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Binary(pub bytes::Bytes);
impl ferrio::schema::schemars::JsonSchema for Binary {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Binary".into()
    }
    fn json_schema(
        _: &mut ferrio::schema::schemars::SchemaGenerator,
    ) -> ferrio::schema::schemars::Schema {
        ferrio::schema::binary_schema()
    }
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
/// Every event shape, in the main namespace.
#[ferrio::socketio_events(namespace = "/")]
pub trait EveryEvents {
    /// A wire name with a space; the ack is a shape.
    #[emit(name = "draw shape")]
    fn draw(shape: Shape, at: Option<Point>) -> Shape;
    /// Everything, fire and forget.
    #[emit]
    fn everything(all: Everything);
    /// A keyword argument and a keyword wire name; acked without a value.
    #[emit]
    fn r#type(r#type: Color, mood: Mood) -> ferrio::Acked;
    /// Binary data; the ack counts its bytes.
    #[emit]
    fn upload(name: String, data: Binary) -> u64;
    #[on]
    fn bare(bare: Bare);
    /// The server pushes an id.
    #[on]
    fn identified(id: Id);
    /// The server asks for a list; the client acks with one.
    #[on]
    fn tally(counts: std::collections::BTreeMap<String, u32>) -> Vec<i64>;
    /// Three arguments of primitive types.
    #[on(name = "three args")]
    fn three(a: bool, b: f64, c: serde_json::Value);
}
/// What names the service when this contract is exported again (title, version, servers...
/// as the document had them).
pub fn export_options() -> ferrio::schema::ExportOptions {
    let server0 = ferrio::schema::ServerInfo {
        name: "local".into(),
        host: "localhost:3000".into(),
        protocol: "ws".into(),
        pathname: "/socket.io/".into(),
        description: None,
    };
    ferrio::schema::ExportOptions {
        title: "every type".into(),
        version: "2.0.0".into(),
        description: Some(
            "The Socket.IO events of namespaces `/` (EveryEvents), `/admin-v2` (AdminEvents)."
                .into(),
        ),
        id: Some("urn:every-type".into()),
        servers: Vec::from([server0]),
        contact: None,
        license: None,
    }
}
/// The exporter of every namespace of this contract.
pub fn exporter() -> ferrio::schema::Exporter {
    let mut exporter = ferrio::schema::Exporter::new();
    exporter.add::<AdminEvents>();
    exporter.add::<EveryEvents>();
    exporter
}
