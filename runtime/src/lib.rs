//! # ferrio
//!
//! A Socket.IO v4 client for tokio (Socket.IO protocol revision 5 over Engine.IO v4).
//!
//! ```no_run
//! # async fn f() -> Result<(), ferrio::Error> {
//! let socket = ferrio::io("http://127.0.0.1:3000").await?;
//! socket.on("news", |event| async move {
//!     println!("news: {:?}", event.values());
//! });
//! socket.emit("hello", ("world", 42)).await?;
//! let echoed: String = socket.emit_with_ack("echo", "ping").await?;
//! # Ok(()) }
//! ```
//!
//! The layers, bottom up: [`protocol`] (pure codecs), the Engine.IO client (transports,
//! upgrade, heartbeat), the [`Manager`] (one connection for every namespace, reconnection)
//! and the [`Socket`] (one namespace: emit, acks, listeners).

mod engine;
mod error;
mod manager;
pub mod protocol;
mod reason;
mod socket;
pub mod typed;

pub use error::{ConnectError, Error};
pub use manager::{Manager, ManagerBuilder, ManagerEvent, ManagerEvents};
pub use reason::DisconnectReason;
pub use socket::{Emitter, Event, ListenerId, OutgoingEvent, Socket, SocketBuilder};
pub use typed::{Acked, EventStream, PayloadError, Responder};

/// The event contract of typed sockets, and its exporters (the `ferrio-schema` crate).
pub use ferrio_schema as schema;
pub use ferrio_schema::EventContract;

/// What `#[socketio_events]` expansions name; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::typed::{on, on_with_ack, stream, stream_with_ack};
    pub use crate::{Acked, Error, EventStream, ListenerId, Manager, Responder, Result, Socket};
    pub use ferrio_schema::{AckDef, ArgDef, Contract, Direction, EventContract, EventDef};
    pub use schemars::{JsonSchema, SchemaGenerator};
    pub use serde::de::DeserializeOwned;
    pub use serde::Serialize;
    pub use std::boxed::Box;
    pub use std::future::Future;
    pub use std::marker::{Send, Sync};
    pub use std::string::String;
    pub use std::time::Duration;
    pub use std::vec::Vec;
    pub use std::{concat, stringify, vec};
}

/// The result type of ferrio.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An Engine.IO transport (socket.io: the `transports` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling (`polling`).
    Polling,
    /// WebSocket (`websocket`).
    Websocket,
}

impl TransportKind {
    /// The Engine.IO name of the transport.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::Websocket => "websocket",
        }
    }
}

/// Connects to a namespace in one call (socket.io: `io(url)`): the URL's path is the
/// namespace (`http://host:3000/admin` is `/admin`, no path is `/`), its query goes to the
/// server (`socket.handshake.query`). Each call makes a new [`Manager`]; to share one connection between namespaces,
/// use [`Manager::socket`].
pub async fn io(url: &str) -> Result<Socket> {
    let parsed =
        url::Url::parse(url).map_err(|e| Error::Config(format!("invalid URL {url:?}: {e}")))?;
    let namespace = match parsed.path() {
        "" => "/".to_owned(),
        path => path.to_owned(),
    };
    // The manager keeps the URL's query and replaces its path by the endpoint path.
    let manager = Manager::builder(url).build()?;
    manager.socket(&namespace).connect().await
}
