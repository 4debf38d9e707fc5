//! The example contracts, written exactly as `#[socketio_events]` will generate them: a chat
//! namespace mirroring DESIGN.md's `ChatEvents`, and an admin namespace to export alongside it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ferrio_schema::{
    AckDef, ArgDef, Contact, Contract, Direction, EventContract, EventDef, ExportOptions, Exporter,
    License, ServerInfo,
};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// A chat message as the server relays it.
#[derive(Serialize, Deserialize, JsonSchema)]
pub(crate) struct ChatMessage {
    /// Who wrote it.
    pub(crate) user: String,
    /// What they wrote.
    pub(crate) text: String,
    /// When the server received it, in milliseconds since the Unix epoch.
    pub(crate) sent_at: u64,
    /// How the author feels.
    pub(crate) mood: Mood,
    /// A file sent along, if any.
    pub(crate) attachment: Option<Attachment>,
}

/// How the author of a message feels.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mood {
    Happy,
    Neutral,
    Grumpy,
}

/// A file sent with a message.
#[derive(Serialize, Deserialize, JsonSchema)]
pub(crate) struct Attachment {
    /// Its media type.
    pub(crate) mime: String,
    /// Its bytes.
    pub(crate) data: Blob,
}

/// Bytes that travel as a Socket.IO binary attachment.
pub(crate) struct Blob(pub(crate) Vec<u8>);

impl JsonSchema for Blob {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Blob".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        ferrio_schema::binary_schema()
    }
}

impl Serialize for Blob {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Blob, D::Error> {
        Vec::<u8>::deserialize(deserializer).map(Blob)
    }
}

/// What a room looks like to someone joining it.
#[derive(Serialize, Deserialize, JsonSchema)]
pub(crate) struct RoomInfo {
    /// The room's name.
    pub(crate) name: String,
    /// The room's topic, if one is set.
    pub(crate) topic: Option<String>,
    /// Who is in the room.
    pub(crate) members: Vec<Member>,
    /// When the room was created, in seconds since the Unix epoch.
    pub(crate) created_at: i64,
}

/// A member of a room.
#[derive(Serialize, Deserialize, JsonSchema)]
pub(crate) struct Member {
    /// The member's account id.
    pub(crate) id: u64,
    /// The member's nickname.
    pub(crate) nick: String,
}

/// What became of a kick request.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KickOutcome {
    /// The user was disconnected.
    Kicked {
        /// When, in seconds since the Unix epoch.
        at: u64,
    },
    /// No such user is connected.
    NotFound,
    /// The kick was refused, with the reason.
    Denied(String),
}

/// Figures about the running service.
#[derive(Serialize, Deserialize, JsonSchema)]
pub(crate) struct Stats {
    /// Connected users per room.
    pub(crate) rooms: BTreeMap<String, u32>,
    /// Messages relayed since start.
    pub(crate) messages: u64,
    /// Bytes relayed since start.
    pub(crate) bytes: u128,
}

/// One entry of the moderation log.
#[derive(Serialize, Deserialize, JsonSchema)]
pub(crate) struct AuditEntry {
    /// Who acted.
    pub(crate) actor: String,
    /// What they did.
    pub(crate) action: AuditAction,
    /// Free-form labels.
    pub(crate) tags: Vec<String>,
    /// The first and last message id the action covers.
    pub(crate) span: (u32, u32),
}

/// A moderation action.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum AuditAction {
    /// A user was kicked.
    Kick {
        /// The user.
        user: String,
    },
    /// A user was banned.
    Ban {
        /// The user.
        user: String,
        /// Until when, in seconds since the Unix epoch; forever when absent.
        until: Option<i64>,
    },
}

/// An argument, as generated code writes one.
fn arg<T: JsonSchema>(generator: &mut SchemaGenerator, name: &str) -> ArgDef {
    ArgDef {
        name: name.into(),
        schema: generator.subschema_for::<T>(),
    }
}

/// The chat namespace.
pub(crate) struct ChatEvents;

impl EventContract for ChatEvents {
    fn describe(generator: &mut SchemaGenerator) -> Contract {
        Contract {
            name: "ChatEvents".into(),
            namespace: "/chat".into(),
            docs: "The chat namespace.".into(),
            events: vec![
                EventDef {
                    wire_name: "hello".into(),
                    rust_name: "hello".into(),
                    direction: Direction::Emit,
                    docs: "Say hello; fire and forget.".into(),
                    args: vec![arg::<String>(generator, "name")],
                    ack: AckDef::None,
                },
                EventDef {
                    wire_name: "join".into(),
                    rust_name: "join".into(),
                    direction: Direction::Emit,
                    docs: "Join a room; the server acks with the room's info.".into(),
                    args: vec![arg::<String>(generator, "room")],
                    ack: AckDef::Value(generator.subschema_for::<RoomInfo>()),
                },
                EventDef {
                    wire_name: "chat message".into(),
                    rust_name: "say".into(),
                    direction: Direction::Emit,
                    docs: "The wire name differs from the Rust name.".into(),
                    args: vec![
                        arg::<String>(generator, "room"),
                        arg::<String>(generator, "text"),
                    ],
                    ack: AckDef::Empty,
                },
                EventDef {
                    wire_name: "message".into(),
                    rust_name: "message".into(),
                    direction: Direction::On,
                    docs: "A message for this client.".into(),
                    args: vec![arg::<ChatMessage>(generator, "msg")],
                    ack: AckDef::None,
                },
                EventDef {
                    wire_name: "poll".into(),
                    rust_name: "poll".into(),
                    direction: Direction::On,
                    docs: "The server asks; the handler's return value is sent back as the ack."
                        .into(),
                    args: vec![arg::<String>(generator, "question")],
                    ack: AckDef::Value(generator.subschema_for::<u8>()),
                },
            ],
        }
    }
}

/// Moderation of the chat service, for staff clients.
pub(crate) struct AdminEvents;

impl EventContract for AdminEvents {
    fn describe(generator: &mut SchemaGenerator) -> Contract {
        Contract {
            name: "AdminEvents".into(),
            namespace: "/admin".into(),
            docs: "Moderation of the chat service, for staff clients.".into(),
            events: vec![
                EventDef {
                    wire_name: "kick".into(),
                    rust_name: "kick".into(),
                    direction: Direction::Emit,
                    docs: "Disconnect a user, with an optional reason.".into(),
                    args: vec![
                        arg::<String>(generator, "user"),
                        arg::<Option<String>>(generator, "reason"),
                    ],
                    ack: AckDef::Value(generator.subschema_for::<KickOutcome>()),
                },
                EventDef {
                    wire_name: "stats".into(),
                    rust_name: "stats".into(),
                    direction: Direction::Emit,
                    docs: "Ask for the service's figures.".into(),
                    args: vec![],
                    ack: AckDef::Value(generator.subschema_for::<Stats>()),
                },
                EventDef {
                    wire_name: "message".into(),
                    rust_name: "announce".into(),
                    direction: Direction::Emit,
                    docs: "Announce something to every room.".into(),
                    args: vec![arg::<String>(generator, "text")],
                    ack: AckDef::None,
                },
                EventDef {
                    wire_name: "message".into(),
                    rust_name: "message".into(),
                    direction: Direction::On,
                    docs: "A copy of every chat message.".into(),
                    args: vec![arg::<ChatMessage>(generator, "msg")],
                    ack: AckDef::None,
                },
                EventDef {
                    wire_name: "audit".into(),
                    rust_name: "audit".into(),
                    direction: Direction::On,
                    docs: "A moderation log entry; the client acks once it has stored it.".into(),
                    args: vec![arg::<AuditEntry>(generator, "entry")],
                    ack: AckDef::Empty,
                },
            ],
        }
    }
}

/// The chat namespace alone.
pub(crate) fn chat() -> Exporter {
    Exporter::new().contract::<ChatEvents>()
}

/// Both namespaces of the service.
pub(crate) fn service() -> Exporter {
    Exporter::new()
        .contract::<ChatEvents>()
        .contract::<AdminEvents>()
}

/// Options filled so that the AsyncAPI validator has nothing to warn about.
pub(crate) fn options() -> ExportOptions {
    ExportOptions::new("Chat service", "1.0.0")
        .description("The example chat service of the ferrio tests.")
        .id("urn:ferrio:example-chat")
        .server(
            ServerInfo::new("local", "localhost:3000", "ws")
                .description("A development server on this machine."),
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

/// One page of a listing: a generic type, used twice (schemars names the second `Page2`).
#[derive(Serialize, Deserialize, JsonSchema)]
pub(crate) struct Page<T> {
    /// The items on this page.
    pub(crate) items: Vec<T>,
    /// The next page's cursor, if there is one.
    pub(crate) next: Option<String>,
}

/// A type whose name clashes with TypeScript's global `Record`.
#[derive(Serialize, Deserialize, JsonSchema)]
pub(crate) struct Record {
    /// A label.
    pub(crate) name: String,
    /// Anything else, flattened next to `name`.
    #[serde(flatten)]
    pub(crate) extra: BTreeMap<String, String>,
    /// Counters per key, some unknown.
    pub(crate) counters: BTreeMap<String, Vec<Option<u64>>>,
}

/// The main namespace, with the awkward cases: no arguments, a wire name that is no
/// identifier, a raw-identifier argument, an untyped argument, generic and clashing types.
pub(crate) struct MainEvents;

impl EventContract for MainEvents {
    fn describe(generator: &mut SchemaGenerator) -> Contract {
        Contract {
            name: "MainEvents".into(),
            namespace: "/".into(),
            docs: "The main namespace.\n\nIts docs have two paragraphs, and a */ to escape.".into(),
            events: vec![
                EventDef {
                    wire_name: "ping".into(),
                    rust_name: "ping".into(),
                    direction: Direction::Emit,
                    docs: String::new(),
                    args: vec![],
                    ack: AckDef::Empty,
                },
                EventDef {
                    wire_name: "room:update/v2".into(),
                    rust_name: "update".into(),
                    direction: Direction::Emit,
                    docs: "A wire name with punctuation.".into(),
                    args: vec![
                        arg::<String>(generator, "type"),
                        arg::<serde_json::Value>(generator, "data"),
                        arg::<Record>(generator, "callback"),
                    ],
                    ack: AckDef::Value(generator.subschema_for::<Page<Member>>()),
                },
                EventDef {
                    wire_name: "tick".into(),
                    rust_name: "tick".into(),
                    direction: Direction::On,
                    docs: "Every second.".into(),
                    args: vec![
                        arg::<u64>(generator, "n"),
                        arg::<Option<u32>>(generator, "lag"),
                    ],
                    ack: AckDef::Value(generator.subschema_for::<i128>()),
                },
            ],
        }
    }
}

/// More events of the main namespace, in a second contract (exported as one namespace).
pub(crate) struct MoreMainEvents;

impl EventContract for MoreMainEvents {
    fn describe(generator: &mut SchemaGenerator) -> Contract {
        Contract {
            name: "MoreMainEvents".into(),
            namespace: "/".into(),
            docs: String::new(),
            events: vec![
                EventDef {
                    wire_name: "bye".into(),
                    rust_name: "bye".into(),
                    direction: Direction::On,
                    docs: "The server is going away.".into(),
                    args: vec![arg::<Page<Record>>(generator, "last")],
                    ack: AckDef::None,
                },
                EventDef {
                    wire_name: "roll".into(),
                    rust_name: "roll".into(),
                    direction: Direction::Emit,
                    docs: "An ack of several values: the roll, then its text.".into(),
                    args: vec![arg::<u8>(generator, "sides")],
                    ack: AckDef::Values(vec![
                        arg::<u8>(generator, "ack0"),
                        arg::<String>(generator, "ack1"),
                    ]),
                },
                EventDef {
                    wire_name: "lookup".into(),
                    rust_name: "lookup".into(),
                    direction: Direction::On,
                    docs: "Node's `callback(err, data)`.".into(),
                    args: vec![arg::<u32>(generator, "id")],
                    ack: AckDef::Result {
                        value: generator.subschema_for::<Member>(),
                        error: generator.subschema_for::<String>(),
                    },
                },
            ],
        }
    }
}

/// The awkward cases, in the main namespace.
pub(crate) fn edge() -> Exporter {
    Exporter::new()
        .contract::<MainEvents>()
        .contract::<MoreMainEvents>()
}
