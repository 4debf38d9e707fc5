//! The chat contract: the one declaration of the `/chat` events shared by the chat example
//! (`examples/chat.rs`), the export command (`examples/export_schema.rs`), the drift check of
//! the committed export (`tests/contract_drift.rs`) and the round trip with a TypeScript
//! server typed by that export (`tests/ts_roundtrip.rs`).
//!
//! Each of them includes this file as a module:
//!
//! ```rust,ignore
//! #[path = "common/chat_contract.rs"]
//! mod chat_contract;
//! ```
//!
//! The payload types derive `JsonSchema` through the schemars that ferrio re-exports
//! (`#[schemars(crate = "ferrio::schema::schemars")]`), so a program needs no schemars
//! dependency of its own.

use bytes::Bytes;
use ferrio::schema::schemars::{JsonSchema, Schema, SchemaGenerator};
use ferrio::schema::{Contact, ExportOptions, Exporter, License, ServerInfo};
use ferrio::Acked;
use serde::{Deserialize, Serialize};

/// The auth of a client: its name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    /// The name the others see.
    pub name: String,
}

/// A message in a room.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct ChatMessage {
    /// The room.
    pub room: String,
    /// Who wrote it.
    pub user: String,
    /// What they wrote.
    pub text: String,
}

/// A room and who is in it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct RoomInfo {
    /// The room's name.
    pub name: String,
    /// Its members, sorted.
    pub members: Vec<String>,
}

/// A file shared in a room; its bytes travel as a binary attachment.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct SharedFile {
    /// The file's name.
    pub name: String,
    /// The content.
    #[schemars(schema_with = "binary")]
    pub data: Bytes,
}

/// The schema of bytes sent as an attachment.
fn binary(_: &mut SchemaGenerator) -> Schema {
    ferrio::schema::binary_schema()
}

/// The chat: what a client says and hears in the `/chat` namespace. Clients connect with
/// `{"name": ...}` as their auth.
#[ferrio::socketio_events(namespace = "/chat")]
pub trait ChatEvents {
    /// Tell a room you are typing; fire and forget.
    #[emit]
    fn typing(room: String);
    /// Join a room; the server acks with the room's info.
    #[emit]
    fn join(room: String) -> RoomInfo;
    /// Say something in a room; the server acks (without a value) once it is delivered.
    #[emit(name = "chat message")]
    fn say(room: String, text: String) -> Acked;
    /// Share a file in a room; the server acks with the number of bytes it got.
    #[emit]
    fn share(room: String, file: SharedFile) -> u64;
    /// Ask the other members of a room a question; the server acks with their answers.
    #[emit]
    fn ask(room: String, question: String) -> Vec<String>;
    /// Look a room up without joining it; the server answers Node-style:
    /// `callback(null, info)`, or `callback("no such room")` when nobody is in it.
    #[emit]
    fn lookup(room: String) -> Result<RoomInfo, String>;
    /// How busy the chat is: the server asks every client its `status` and acks with two
    /// values, the number of clients, then how many of them are busy.
    #[emit]
    fn stats() -> (u32, u32);
    /// A message in a room this client joined.
    #[on]
    fn message(msg: ChatMessage);
    /// Someone joined a room this client is in.
    #[on(name = "user joined")]
    fn user_joined(user: String, room: String);
    /// Someone is typing in a room this client is in (the same wire name as the `#[emit]`
    /// event: each direction has its own names).
    #[on(name = "typing")]
    fn someone_typing(user: String, room: String);
    /// A file shared in a room this client is in.
    #[on]
    fn file(from: String, file: SharedFile);
    /// The server relays a question; the listener's answer is the ack.
    #[on]
    fn question(from: String, question: String) -> String;
    /// The server asks how this client is; the listener acks with two values: whether it is
    /// busy, and a status line.
    #[on]
    fn status() -> (bool, String);
}

/// The exporter of the chat contract.
pub fn exporter() -> Exporter {
    Exporter::new().contract::<ChatEvents>()
}

/// What names the exported chat service: title, version, the local server of the examples,
/// contact and license (so the AsyncAPI validator has nothing to warn about).
pub fn export_options() -> ExportOptions {
    ExportOptions::new("ferrio chat example", "1.0.0")
        .description(
            "The /chat namespace of ferrio's chat example (examples/chat.rs): rooms, messages, \
             files and questions. Clients connect with {\"name\": ...} as their auth.",
        )
        .id("urn:ferrio:examples:chat")
        .server(
            ServerInfo::new("local", "localhost:3000", "ws")
                .description("A chat server on this machine."),
        )
        .contact(Contact {
            name: "ferrio maintainers".into(),
            url: "https://github.com/ferrio-rs/ferrio".into(),
            email: "maintainers@ferrio.invalid".into(),
        })
        .license(License {
            name: "MIT OR Apache-2.0".into(),
            url: Some("https://github.com/ferrio-rs/ferrio/blob/main/LICENSE-MIT".into()),
        })
}
