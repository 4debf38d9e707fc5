//! The Socket.IO contract "ferrio chat example" 1.0.0, imported by `ferrio-contract import` from the AsyncAPI 3 document `asyncapi.json`; do not edit, import again.
//!
//! Perspective: the document describes the server, so what it sends (`send`, `subscribe`) are this client's `#[on]` events and what it receives (`receive`, `publish`) its `#[emit]` events (`--perspective client` reads it the other way).
use ferrio::schema::schemars::JsonSchema;
use serde::{Deserialize, Serialize};
/// A room and who is in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct RoomInfo {
    /// The room's name.
    pub name: String,
    /// Its members, sorted.
    pub members: Vec<String>,
}
/// A file shared in a room; its bytes travel as a binary attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct SharedFile {
    /// The file's name.
    pub name: String,
    /// The content.
    pub data: Binary,
}
/// A message in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct ChatMessage {
    /// The room.
    pub room: String,
    /// Who wrote it.
    pub user: String,
    /// What they wrote.
    pub text: String,
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
/// The chat: what a client says and hears in the `/chat` namespace. Clients connect with
/// `{"name": ...}` as their auth.
#[ferrio::socketio_events(namespace = "/chat")]
pub trait ChatEvents {
    /// Ask the other members of a room a question; the server acks with their answers.
    #[emit]
    fn ask(room: String, question: String) -> Vec<String>;
    /// Say something in a room; the server acks (without a value) once it is delivered.
    #[emit(name = "chat message")]
    fn say(room: String, text: String) -> ferrio::Acked;
    /// Join a room; the server acks with the room's info.
    #[emit]
    fn join(room: String) -> RoomInfo;
    /// Look a room up without joining it; the server answers Node-style:
    /// `callback(null, info)`, or `callback("no such room")` when nobody is in it.
    #[emit]
    fn lookup(room: String) -> Result<RoomInfo, String>;
    /// Share a file in a room; the server acks with the number of bytes it got.
    #[emit]
    fn share(room: String, file: SharedFile) -> u64;
    /// How busy the chat is: the server asks every client its `status` and acks with two
    /// values, the number of clients, then how many of them are busy.
    #[emit]
    fn stats() -> (u32, u32);
    /// Tell a room you are typing; fire and forget.
    #[emit]
    fn typing(room: String);
    /// A file shared in a room this client is in.
    #[on]
    fn file(from: String, file: SharedFile);
    /// A message in a room this client joined.
    #[on]
    fn message(msg: ChatMessage);
    /// The server relays a question; the listener's answer is the ack.
    #[on]
    fn question(from: String, question: String) -> String;
    /// The server asks how this client is; the listener acks with two values: whether it is
    /// busy, and a status line.
    #[on]
    fn status() -> (bool, String);
    /// Someone is typing in a room this client is in (the same wire name as the `#[emit]`
    /// event: each direction has its own names).
    #[on(name = "typing")]
    fn someone_typing(user: String, room: String);
    /// Someone joined a room this client is in.
    #[on(name = "user joined")]
    fn user_joined(user: String, room: String);
}
/// What names the service when this contract is exported again (title, version, servers...
/// as the document had them).
pub fn export_options() -> ferrio::schema::ExportOptions {
    let server0 = ferrio::schema::ServerInfo {
        name: "local".into(),
        host: "localhost:3000".into(),
        protocol: "ws".into(),
        pathname: "/socket.io/".into(),
        description: Some("A chat server on this machine.".into()),
    };
    ferrio::schema::ExportOptions {
        title: "ferrio chat example".into(),
        version: "1.0.0".into(),
        description: Some(
            "The /chat namespace of ferrio's chat example (examples/chat.rs): rooms, messages, files and questions. Clients connect with {\"name\": ...} as their auth."
                .into(),
        ),
        id: Some("urn:ferrio:examples:chat".into()),
        servers: Vec::from([server0]),
        contact: Some(ferrio::schema::Contact {
            name: "ferrio maintainers".into(),
            url: "https://github.com/ferrio-rs/ferrio".into(),
            email: "maintainers@ferrio.invalid".into(),
        }),
        license: Some(ferrio::schema::License {
            name: "MIT OR Apache-2.0".into(),
            url: Some("https://github.com/ferrio-rs/ferrio/blob/main/LICENSE-MIT".into()),
        }),
    }
}
/// The exporter of every namespace of this contract.
pub fn exporter() -> ferrio::schema::Exporter {
    let mut exporter = ferrio::schema::Exporter::new();
    exporter.add::<ChatEvents>();
    exporter
}
