//! The Socket.IO contract "zod-sockets shop" 1.0.0, imported by `ferrio-contract import` from the AsyncAPI 3 document `zod-sockets documentation`; do not edit, import again.
//!
//! Perspective: the document describes the server, so what it sends (`send`, `subscribe`) are this client's `#[on]` events and what it receives (`receive`, `publish`) its `#[emit]` events (`--perspective client` reads it the other way).
use ferrio::schema::schemars::JsonSchema;
use serde::{Deserialize, Serialize};
/// How urgent an order is
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub enum OrderPayloadPriority {
    #[allow(missing_docs)]
    #[serde(rename = "low")]
    Low,
    #[allow(missing_docs)]
    #[serde(rename = "high")]
    High,
}
/// An order
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct OrderPayload {
    /// What to buy
    pub item: String,
    /// How many
    pub quantity: i64,
    /// Gift wrapping text, or null
    pub gift: Option<String>,
    /// How urgent an order is
    pub priority: OrderPayloadPriority,
    #[allow(missing_docs)]
    pub tags: Vec<String>,
    /// Extra items by name, with their price
    pub extras: std::collections::BTreeMap<String, f64>,
    /// A note for the shop, if any
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct OrderAck {
    #[allow(missing_docs)]
    pub id: String,
    #[allow(missing_docs)]
    pub total: f64,
    /// When the order was placed
    #[serde(rename = "placedAt")]
    pub placed_at: String,
    /// How urgent an order is
    pub priority: OrderPayloadPriority,
}
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
#[serde(tag = "kind")]
pub enum ShapePayload {
    #[allow(missing_docs)]
    #[serde(rename = "circle")]
    Circle { radius: f64 },
    #[allow(missing_docs)]
    #[serde(rename = "square")]
    Square { side: f64 },
}
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
#[serde(untagged)]
pub enum ShapeAck {
    #[allow(missing_docs)]
    Number(f64),
    #[allow(missing_docs)]
    String(String),
}
#[ferrio::socketio_events(namespace = "/")]
pub trait MainEvents {
    /// The message consumed by the application within the / namespace
    #[emit(name = "ask me")]
    fn ask_me(payload: String);
    /// The message consumed by the application within the / namespace
    #[emit(name = "chat message")]
    fn chat_message(arg0: String, arg1: String);
    /// The message consumed by the application within the / namespace
    #[emit]
    fn order(payload: OrderPayload) -> OrderAck;
    /// The message consumed by the application within the / namespace
    #[emit]
    fn ping() -> ferrio::Acked;
    /// The message consumed by the application within the / namespace
    #[emit]
    fn shape(payload: ShapePayload) -> ShapeAck;
    /// The message produced by the application within the / namespace
    #[on]
    fn answered(arg0: bool, arg1: String);
    /// The message produced by the application within the / namespace
    #[on]
    fn notice(arg0: String, arg1: i64);
    /// The message produced by the application within the / namespace
    ///
    /// The ack: one argument holding the whole tuple (zod-sockets validates the first ack argument of an event it emits against the tuple)
    #[on]
    fn question(payload: String) -> ((bool,),);
}
#[ferrio::socketio_events(namespace = "/shop")]
pub trait ShopEvents {
    /// The message consumed by the application within the /shop namespace
    #[emit]
    fn restock(payload: std::collections::BTreeMap<String, i64>) -> i64;
    /// The message produced by the application within the /shop namespace
    #[on]
    fn prices(payload: std::collections::BTreeMap<String, f64>);
}
/// What names the service when this contract is exported again (title, version, servers...
/// as the document had them).
pub fn export_options() -> ferrio::schema::ExportOptions {
    let server0 = ferrio::schema::ServerInfo {
        name: "local".into(),
        host: "localhost:8090".into(),
        protocol: "http".into(),
        pathname: "/socket.io".into(),
        description: None,
    };
    ferrio::schema::ExportOptions {
        title: "zod-sockets shop".into(),
        version: "1.0.0".into(),
        description: Some("The contract of ferrio's zod-sockets test server.".into()),
        id: Some("urn:localhost:8090:socket.io".into()),
        servers: Vec::from([server0]),
        contact: None,
        license: None,
    }
}
/// The exporter of every namespace of this contract.
pub fn exporter() -> ferrio::schema::Exporter {
    let mut exporter = ferrio::schema::Exporter::new();
    exporter.add::<MainEvents>();
    exporter.add::<ShopEvents>();
    exporter
}
