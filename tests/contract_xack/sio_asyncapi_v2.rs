//! The Socket.IO contract "sio-asyncapi chat" 1.0.0, imported by `ferrio-contract import` from the AsyncAPI 2 document `sio-asyncapi-0.3.0.yaml`; do not edit, import again.
//!
//! Perspective: the document describes the server, so what it sends (`send`, `subscribe`) are this client's `#[on]` events and what it receives (`receive`, `publish`) its `#[emit]` events (`--perspective client` reads it the other way).
use ferrio::schema::schemars::JsonSchema;
use serde::{Deserialize, Serialize};
/// Who joins which room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct JoinRequest {
    /// The room to join
    pub room: String,
    /// A name to show, if any
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
}
/// The answer to a join.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct JoinAck {
    /// Whether the join worked
    pub success: bool,
    /// Who is in the room
    pub members: Vec<String>,
    /// Why it did not work
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
/// Who leaves which room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct LeaveRequest {
    #[allow(missing_docs)]
    pub room: String,
}
/// A message in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct ChatMessage {
    #[allow(missing_docs)]
    pub room: String,
    #[allow(missing_docs)]
    pub text: String,
    /// How many liked it
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub votes: Option<i64>,
}
/// Specification is not provided
pub type NoSpec = serde_json::Value;
#[ferrio::socketio_events(namespace = "/")]
pub trait MainEvents {
    /// Join a room; the server acks with who is there.
    #[emit]
    fn join(payload: JoinRequest) -> JoinAck;
    /// Leave a room; no ack.
    #[emit]
    fn leave(payload: LeaveRequest);
    /// A message in a room the client joined.
    #[on]
    fn message(payload: ChatMessage);
}
/// What names the service when this contract is exported again (title, version, servers...
/// as the document had them).
pub fn export_options() -> ferrio::schema::ExportOptions {
    let server0 = ferrio::schema::ServerInfo {
        name: "local".into(),
        host: "localhost:5000".into(),
        protocol: "socketio".into(),
        pathname: "/socket.io/".into(),
        description: None,
    };
    ferrio::schema::ExportOptions {
        title: "sio-asyncapi chat".into(),
        version: "1.0.0".into(),
        description: Some(
            "A chat served by Flask-SocketIO and documented by sio-asyncapi.\n<br/> AsyncAPI currently does not support Socket.IO binding and Web Socket like syntax used for now.\nIn order to add support for Socket.IO ACK value, AsyncAPI is extended with with x-ack keyword.\nThis documentation should **NOT** be used for generating code due to these limitations.\n"
                .into(),
        ),
        id: None,
        servers: Vec::from([server0]),
        contact: None,
        license: None,
    }
}
/// The exporter of every namespace of this contract.
pub fn exporter() -> ferrio::schema::Exporter {
    let mut exporter = ferrio::schema::Exporter::new();
    exporter.add::<MainEvents>();
    exporter
}
