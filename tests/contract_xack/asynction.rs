//! The Socket.IO contract "asynction echo" 1.0.0, imported by `ferrio-contract import` from the AsyncAPI 2 document `asynction.yaml`; do not edit, import again.
//!
//! Perspective: the document describes the server, so what it sends (`send`, `subscribe`) are this client's `#[on]` events and what it receives (`receive`, `publish`) its `#[emit]` events (`--perspective client` reads it the other way).
use ferrio::schema::schemars::JsonSchema;
use serde::{Deserialize, Serialize};
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub enum NoteTagsItem {
    #[allow(missing_docs)]
    #[serde(rename = "urgent")]
    Urgent,
    #[allow(missing_docs)]
    #[serde(rename = "later")]
    Later,
}
/// A note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct Note {
    #[allow(missing_docs)]
    pub body: String,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<NoteTagsItem>>,
}
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(crate = "ferrio::schema::schemars")]
pub struct EchoedPayload {
    #[allow(missing_docs)]
    pub text: String,
    #[allow(missing_docs)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}
/// Echoes, with and without acks.
#[ferrio::socketio_events(namespace = "/echo")]
pub trait EchoEvents {
    /// Echo a text; the ack is the same text.
    #[emit]
    fn echo(payload: String) -> String;
    /// Echo a text several times; the ack says how often.
    #[emit(name = "echo twice")]
    fn echo_twice(text: String, times: i32) -> i32;
    /// Fire and forget.
    #[emit]
    fn forget(payload: Note);
    /// Pushed after every echo.
    #[on]
    fn echoed(payload: EchoedPayload);
}
/// What names the service when this contract is exported again (title, version, servers...
/// as the document had them).
pub fn export_options() -> ferrio::schema::ExportOptions {
    ferrio::schema::ExportOptions {
        title: "asynction echo".into(),
        version: "1.0.0".into(),
        description: Some("An echo service in asynction's format.".into()),
        id: None,
        servers: Vec::from([]),
        contact: None,
        license: None,
    }
}
/// The exporter of every namespace of this contract.
pub fn exporter() -> ferrio::schema::Exporter {
    let mut exporter = ferrio::schema::Exporter::new();
    exporter.add::<EchoEvents>();
    exporter
}
