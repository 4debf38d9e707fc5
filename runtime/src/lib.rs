//! # ferrio
//!
//! A Socket.IO v4 client for tokio (Socket.IO protocol revision 5 over Engine.IO v4), with
//! the API of the official JavaScript client in Rust idioms, and events checked by the
//! compiler. Needs Rust 1.88+, a tokio runtime, and a socket.io 3 or 4 server.
//!
//! ## Typed events (start here)
//!
//! Declare what the client emits and listens to as a trait; the macro makes a typed socket
//! (and the contract for the server team: JSON Schema, AsyncAPI, TypeScript, see
//! [`schema`]). Register listeners, then connect:
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, schemars::JsonSchema)]
//! pub struct Message { pub user: String, pub text: String }
//!
//! /// The chat namespace.
//! #[ferrio::socketio_events(namespace = "/chat")]
//! pub trait ChatEvents {
//!     /// Join a room; the server acks with the number of members.
//!     #[emit] fn join(room: String) -> u32;
//!     /// A message for this client.
//!     #[on] fn message(msg: Message);
//! }
//!
//! # async fn f() -> Result<(), ferrio::Error> {
//! let manager = ferrio::Manager::new("http://127.0.0.1:3000")?;
//! let chat = ChatEventsSocket::builder(&manager).build();
//! chat.on_message(|msg| async move { println!("{}: {}", msg.user, msg.text) });
//! chat.socket().connect().await?;
//! let members = chat.emit_join("rust".into()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Untyped
//!
//! [`io`] and [`Socket`] are socket.io-client's `io()` and `Socket`: events by name,
//! arguments as any `Serialize` (a tuple is several arguments), received ones decoded on
//! demand.
//!
//! ```no_run
//! # async fn f() -> Result<(), ferrio::Error> {
//! let socket = ferrio::Io::new("http://127.0.0.1:3000").build()?;
//! socket.on("news", |event| async move {
//!     println!("news: {:?}", event.values());
//! });
//! socket.connect().await?;
//! socket.emit("hello", ("world", 42)).await?;
//! let echoed: String = socket.emit_with_ack("echo", "ping").await?;
//! socket.disconnect().await; // the DISCONNECT is on the wire
//! # Ok(()) }
//! ```
//!
//! ## Connection, reconnection, errors
//!
//! A [`Manager`] is one connection, shared by the sockets of every namespace; it reconnects
//! by itself with socket.io's backoff ([`ManagerBuilder::reconnection_delay`] and the
//! others), and [`Manager::events`] tells what it does. Listeners learn of disconnections
//! with their [`DisconnectReason`] ([`Socket::on_disconnect`]); every fallible call returns
//! an [`Error`]. The connection ends when its last [`Manager`] and [`Socket`] handle are
//! dropped; listeners that need their socket capture a [`WeakSocket`].
//!
//! ## Listeners and their order
//!
//! A socket's listeners run one at a time, in arrival order, on a task of the socket (never
//! on the connection's: a slow listener delays no pong). A slow listener can run its calls
//! side by side with [`Socket::on_concurrent`]; a typed one through its stream and a task:
//!
//! ```no_run
//! # #[ferrio::socketio_events(namespace = "/game")]
//! # trait GameEvents {
//! #     /// The server asks whether this player is ready.
//! #     #[on] fn ready_check(round: u32) -> bool;
//! # }
//! # async fn f(game: GameEventsSocket) {
//! let mut checks = game.ready_check_stream();
//! tokio::spawn(async move {
//!     while let Some((round, responder)) = checks.next().await {
//!         tokio::spawn(async move {
//!             let ready = round > 0; // something slow
//!             let _ = responder.respond(ready).await;
//!         });
//!     }
//! });
//! # }
//! ```
//!
//! What ferrio guarantees (no hang, delivery and order, bounded memory, close reasons) is
//! listed in the README's "Guarantees", each with its test.
//!
//! ## Cargo features
//!
//! `blocking`: [`blocking::Socket`], a blocking client over the async one, for programs
//! without an async runtime.
//!
//! `typed` (default): `#[socketio_events]`, the contract ([`EventContract`], `ferrio::schema`)
//! and JSON Schema for payload types. `default-features = false` (and a TLS provider, e.g.
//! `features = ["ring", "webpki-roots"]`) builds the untyped client alone.
//!
//! TLS (`https`/`wss`) is rustls; its choices are named as in reqwest and tokio-tungstenite:
//!
//! - the crypto provider: `ring` (default) or `aws-lc-rs` (which builds C code); a provider
//!   installed process-wide with `rustls::crypto::CryptoProvider::install_default` is used
//!   first, whatever the features;
//! - the roots servers are checked against: `webpki-roots` (default, Mozilla's, compiled in),
//!   `rustls-native-certs` (the OS store, read when a manager is built; with `webpki-roots`
//!   too, both), or `rustls-platform-verifier` (the platform's verifier, which replaces both).
//!
//! [`ManagerBuilder::tls_config`] replaces all of it with a configuration of your own.
//! Proxies (HTTP `CONNECT`, SOCKS5) need no feature: see [`Proxy`].

mod binary;
#[cfg(feature = "blocking")]
pub mod blocking;
mod engine;
mod error;
mod io;
mod manager;
mod namespace;
pub mod protocol;
mod reason;
mod socket;
pub mod typed;

pub use binary::Binary;
pub use engine::Proxy;
pub use error::{ConnectError, Error};
pub use io::{io, Io};
pub use manager::{Manager, ManagerBuilder, ManagerEvent, ManagerEvents, Parser, ServerVersion};
pub use reason::DisconnectReason;
pub use socket::{
    Closing, Emitter, Event, ListenerId, OutgoingEvent, Socket, SocketBuilder, WeakSocket,
};
pub use typed::{Acked, EventStream, PayloadError, Responder};

/// The event contract of typed sockets, and its exporters (the `ferrio-schema` crate).
#[cfg(feature = "typed")]
pub use ferrio_schema as schema;
#[cfg(feature = "typed")]
pub use ferrio_schema::EventContract;

/// Typed sockets from a trait: `#[socketio_events]` (see the `ferrio-macros` crate docs and
/// the README's "Typed events").
#[cfg(feature = "typed")]
pub use ferrio_macros::socketio_events;

/// What `#[socketio_events]` expansions name; not a public API.
///
/// Payload types are checked once, where they are declared: each argument and ack type of a
/// trait gets a *slot* (a private marker type of the expansion, one per distinct type)
/// implementing [`Payload`] with that type, and [`Sent`] and/or [`Received`], so a missing
/// `Serialize`, `Deserialize` or `JsonSchema` is one error at the type. The generated methods go through the slots ([`Outgoing`],
/// [`Incoming`] and the generic helpers below), so they never repeat the check.
///
/// [`Payload`]: __private::Payload
/// [`Sent`]: __private::Sent
/// [`Received`]: __private::Received
/// [`Outgoing`]: __private::Outgoing
/// [`Incoming`]: __private::Incoming
#[cfg(feature = "typed")]
#[doc(hidden)]
pub mod __private {
    pub use crate::typed::{
        on, on_with_ack, send_ack, stream, stream_with_ack, Builder as TypedBuilder, FromSocket,
        SendReply, Times,
    };
    pub use crate::{
        Acked, Emitter, Error, Event, EventStream, ListenerId, Manager, PayloadError, Responder,
        Result, Socket,
    };
    pub use crate::{Closing, ConnectError, DisconnectReason};
    pub use ferrio_schema::{AckDef, ArgDef, Contract, Direction, EventContract, EventDef};
    pub use schemars::{JsonSchema, Schema, SchemaGenerator};
    pub use serde::de::DeserializeOwned;
    pub use serde::Serialize;
    pub use std::boxed::Box;
    pub use std::clone::Clone;
    pub use std::convert::From;
    pub use std::default::Default;
    pub use std::fmt;
    pub use std::future::Future;
    pub use std::marker::{Copy, Send, Sync};
    pub use std::ops::Fn;
    pub use std::option::Option::{self, None, Some};
    pub use std::result::Result::Ok;
    pub use std::string::String;
    pub use std::time::Duration;
    pub use std::vec::Vec;
    pub use std::{concat, stringify, vec};

    /// A payload type of a contract, described by its schema. Implemented once per distinct
    /// type by the expansion's slot of that type, so a missing `JsonSchema` (or `Send`) is one
    /// error however often the type is used.
    pub trait Payload {
        /// The declared type.
        type Type: JsonSchema + Send + 'static;
    }

    /// A payload type the client sends: an argument of an `#[emit]` event, or the ack of an
    /// `#[on]` event (one impl per slot: one error for a missing `Serialize`).
    pub trait Sent {
        /// The declared type (the same as the slot's [`Payload::Type`]).
        type Type: Serialize + 'static;
    }

    /// A payload type the client receives: an argument of an `#[on]` event, or the ack of an
    /// `#[emit]` event (one impl per slot: one error for a missing `Deserialize`).
    pub trait Received {
        /// The declared type (the same as the slot's [`Payload::Type`]).
        type Type: DeserializeOwned + 'static;
    }

    /// A sent value of slot `S` (serializes as the value itself).
    pub struct Outgoing<S: Sent>(pub S::Type);

    impl<S: Sent> Serialize for Outgoing<S> {
        fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
            self.0.serialize(serializer)
        }
    }

    /// A received value of slot `S` (deserializes as the value itself).
    pub struct Incoming<S: Received>(pub S::Type);

    impl<'de, S: Received> serde::Deserialize<'de> for Incoming<S> {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            S::Type::deserialize(deserializer).map(Incoming)
        }
    }

    /// The schema of a payload type, from the generator (so it lands in the shared
    /// definitions).
    pub fn payload_schema<S: Payload>(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<S::Type>()
    }

    /// A received ack in Node's `callback(err, data)` convention (a declared
    /// `Result<T, E>`): a first argument other than `null` (or missing) is `Err`, else the
    /// second argument is `Ok` (ferrio's argument reader gives a missing one as `null`).
    /// Unlike JavaScript's `if (err)`, `false`, `0` and `""` are errors too when `E` reads
    /// them: the declared type decides, not truthiness.
    pub struct IncomingResult<T: Received, E: Received>(pub std::result::Result<T::Type, E::Type>);

    impl<'de, T: Received, E: Received> serde::Deserialize<'de> for IncomingResult<T, E> {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visit<T, E>(std::marker::PhantomData<(T, E)>);
            impl<'de, T: Received, E: Received> serde::de::Visitor<'de> for Visit<T, E> {
                type Value = IncomingResult<T, E>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("the ack arguments (err, data)")
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<Self::Value, A::Error> {
                    if let Some(Some(error)) = seq.next_element::<Option<Incoming<E>>>()? {
                        return Ok(IncomingResult(Err(error.0)));
                    }
                    let value = match seq.next_element::<Incoming<T>>()? {
                        Some(value) => value.0,
                        None => <T::Type as serde::Deserialize>::deserialize(
                            serde::de::value::UnitDeserializer::new(),
                        )?,
                    };
                    Ok(IncomingResult(Ok(value)))
                }
            }
            deserializer.deserialize_tuple(2, Visit(std::marker::PhantomData))
        }
    }

    /// A sent ack in Node's `callback(err, data)` convention: `Ok(data)` travels as
    /// `(null, data)`, `Err(err)` as `(err)`.
    pub struct OutgoingResult<T: Sent, E: Sent>(pub std::result::Result<T::Type, E::Type>);

    impl<T: Sent, E: Sent> Serialize for OutgoingResult<T, E> {
        fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
            use serde::ser::SerializeTuple;
            match &self.0 {
                Ok(value) => {
                    let mut tuple = serializer.serialize_tuple(2)?;
                    tuple.serialize_element(&())?;
                    tuple.serialize_element(value)?;
                    tuple.end()
                }
                Err(error) => {
                    let mut tuple = serializer.serialize_tuple(1)?;
                    tuple.serialize_element(error)?;
                    tuple.end()
                }
            }
        }
    }

    /// Implemented by [`Acked`] alone: a return type spelled `...::Acked` declares an empty
    /// ack, and must be ferrio's.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` is not `ferrio::Acked`",
        label = "a return type named `Acked` declares an empty ack and must be `ferrio::Acked`",
        note = "for an ack carrying a value of your own type, name that type differently"
    )]
    pub trait IsAcked {}

    impl IsAcked for Acked {}

    /// Fails to compile unless `T` is [`Acked`].
    pub fn assert_acked<T: IsAcked>() {}
}

/// The Socket.IO protocol revision ferrio speaks (socket.io: `io.protocol`).
pub const PROTOCOL: u32 = 5;

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
