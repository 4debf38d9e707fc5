//! Why a socket or a connection closed, with socket.io's names.

use std::fmt;

/// Why a socket disconnected (socket.io: the `reason` of the `disconnect` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// `io server disconnect`: the server disconnected the socket (`socket.disconnect()`).
    /// No reconnection.
    IoServerDisconnect,
    /// `io client disconnect`: [`Socket::disconnect`](crate::Socket::disconnect) was called.
    /// No reconnection.
    IoClientDisconnect,
    /// `ping timeout`: the server did not ping within `pingInterval + pingTimeout`.
    PingTimeout,
    /// `transport close`: the connection was closed (the server stopped, the network cut).
    TransportClose,
    /// `transport error`: the connection failed (an I/O, HTTP or websocket error).
    TransportError,
    /// `parse error`: the server sent a packet that cannot be decoded.
    ParseError,
    /// `forced close`: the manager was closed by the client.
    ForcedClose,
}

impl DisconnectReason {
    /// The socket.io name of the reason, as the JavaScript client reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IoServerDisconnect => "io server disconnect",
            Self::IoClientDisconnect => "io client disconnect",
            Self::PingTimeout => "ping timeout",
            Self::TransportClose => "transport close",
            Self::TransportError => "transport error",
            Self::ParseError => "parse error",
            Self::ForcedClose => "forced close",
        }
    }

    /// Whether the client reconnects by itself after this reason (socket.io reconnects
    /// unless the server or the client chose to disconnect).
    pub fn reconnects(self) -> bool {
        !matches!(
            self,
            Self::IoServerDisconnect | Self::IoClientDisconnect | Self::ForcedClose
        )
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
