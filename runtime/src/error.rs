//! The errors of ferrio.

use std::fmt;

/// What can go wrong with a connection, an emit or an ack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the namespace connection (socket.io: the `connect_error` event
    /// with the error its middleware passed to `next(err)`). The socket does not retry.
    #[error("the server refused the connection: {0}")]
    ConnectError(ConnectError),
    /// An ack did not come in time (socket.io: `socket.timeout(ms).emit(..)`'s
    /// "operation has timed out"), or the connection did not open in time.
    #[error("operation has timed out")]
    Timeout,
    /// The socket was disconnected while an ack was awaited, or before it could connect.
    #[error("the socket is disconnected")]
    Disconnected,
    /// The event name is reserved by the protocol and cannot be emitted.
    #[error("{0:?} is a reserved event name")]
    ReservedEvent(String),
    /// The send buffer of a disconnected socket is full.
    #[error("the send buffer is full ({0} packets waiting for the connection)")]
    BufferFull(usize),
    /// The arguments of an emit could not be serialized.
    #[error("cannot serialize the payload: {0}")]
    Serialize(#[source] serde_json::Error),
    /// Received arguments do not deserialize into the requested type.
    #[error("cannot decode the payload: {0}")]
    Decode(#[from] crate::protocol::binary::DecodeError),
    /// The transport failed (connection refused, TLS, HTTP status, websocket error).
    #[error("transport error: {0}")]
    Transport(String),
    /// The server sent something that is not Socket.IO.
    #[error("protocol error: {0}")]
    Protocol(#[from] crate::protocol::ProtocolError),
    /// The server speaks socket.io 2.x (Engine.IO v3) and the manager is set to socket.io
    /// 3 or later ([`ServerVersion::V3OrLater`](crate::ServerVersion::V3OrLater)), or it
    /// framed a websocket message as a polling body, which no socket.io server does. The
    /// default, [`ServerVersion::Auto`](crate::ServerVersion::Auto), speaks to 2.x servers.
    #[error("the server speaks socket.io 2.x (Engine.IO v3) and the manager is set to ServerVersion::V3OrLater (ServerVersion::Auto, the default, speaks to it), or it framed a websocket message as a polling body")]
    LegacyServer,
    /// The URL or an option is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The TLS configuration is invalid (for example a bad root certificate).
    #[error("TLS: {0}")]
    Tls(String),
    /// The manager is gone (every handle dropped, or it was closed).
    #[error("the manager is closed")]
    Closed,
    /// The server asked for no acknowledgement of this event.
    #[error("the server asked for no acknowledgement of this event")]
    NoAck,
    /// The ack was already sent for this event.
    #[error("this event was already acknowledged")]
    AlreadyAcked,
}

impl Error {
    /// The same error again, for every waiter of one failure. Variants that carry a
    /// non-clonable source keep its message.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::ConnectError(e) => Error::ConnectError(e.clone()),
            Error::Timeout => Error::Timeout,
            Error::Disconnected => Error::Disconnected,
            Error::ReservedEvent(name) => Error::ReservedEvent(name.clone()),
            Error::BufferFull(n) => Error::BufferFull(*n),
            Error::Transport(message) => Error::Transport(message.clone()),
            Error::LegacyServer => Error::LegacyServer,
            Error::Config(message) => Error::Config(message.clone()),
            Error::Tls(message) => Error::Tls(message.clone()),
            Error::Closed => Error::Closed,
            Error::NoAck => Error::NoAck,
            Error::AlreadyAcked => Error::AlreadyAcked,
            Error::Serialize(e) => Error::Transport(format!("cannot serialize the payload: {e}")),
            Error::Decode(e) => Error::Transport(format!("cannot decode the payload: {e}")),
            Error::Protocol(e) => Error::Transport(format!("protocol error: {e}")),
        }
    }
}

/// The server's refusal of a namespace connection: `next(new Error(message))` in a
/// socket.io middleware, with the error's `data` if it set one.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The error's message.
    pub message: String,
    /// The error's `data` property, if any.
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A connection failure with a message and no data.
    pub(crate) fn new(message: String) -> Self {
        ConnectError {
            message,
            data: None,
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<crate::engine::TransportError> for Error {
    fn from(e: crate::engine::TransportError) -> Self {
        match e {
            crate::engine::TransportError::LegacyServer => Error::LegacyServer,
            other => Error::Transport(other.to_string()),
        }
    }
}
