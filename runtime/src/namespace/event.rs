//! What listeners receive: incoming events with their arguments and ack, and the outgoing
//! events that `on_any_outgoing` listeners see.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::state::SocketShared;
use crate::protocol::{packet, Args};
use crate::{Error, Result};

/// An event received from the server (socket.io: the arguments of a `socket.on(name, ..)`
/// listener, with the ack callback as [`Event::ack`]).
///
/// The arguments stay JSON until asked for, and are then deserialized straight into the
/// requested type. Cloning is cheap: the frame is shared.
#[derive(Clone)]
pub struct Event {
    name: Name,
    args: Args,
    ack: Option<Arc<AckResponder>>,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<&str> = (0..self.args.len())
            .filter_map(|i| self.args.raw(i))
            .collect();
        f.debug_struct("Event")
            .field("name", &self.name())
            .field("args", &args)
            .field("attachments", &self.args.attachments().len())
            .field("wants_ack", &self.wants_ack())
            .finish()
    }
}

/// An event name: where it lies in the frame (no allocation), or its own text when it had
/// escapes or was a number.
#[derive(Clone)]
pub(crate) enum Name {
    Span((u32, u32)),
    Owned(Arc<str>),
}

impl Name {
    /// The name of an event read from `args`' frame.
    pub(crate) fn new(name: &str, args: &Args) -> Name {
        match args.span_of(name) {
            Some(span) => Name::Span(span),
            None => Name::Owned(name.into()),
        }
    }
}

impl Event {
    /// An event; `ack` is the socket, the ack id the server asked with, and the namespace
    /// session the request belongs to.
    pub(crate) fn new(name: Name, args: Args, ack: Option<(Arc<SocketShared>, u64, u64)>) -> Self {
        let ack = ack.map(|(socket, id, session)| {
            Arc::new(AckResponder {
                socket: Arc::downgrade(&socket),
                id,
                session,
                sent: AtomicBool::new(false),
            })
        });
        Event { name, args, ack }
    }

    /// The event name.
    pub fn name(&self) -> &str {
        match &self.name {
            Name::Span(span) => self.args.slice(*span),
            Name::Owned(name) => name,
        }
    }

    /// The number of arguments. With connection state recovery on, the server appends the
    /// offset as one more string argument (as the JavaScript client sees it too); typed
    /// decoding with [`Event::args`] ignores arguments past the ones it asks for.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Whether the event has no argument.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Deserializes the arguments: a tuple type takes one argument per element (extra
    /// arguments are ignored), any other type the first argument.
    ///
    /// ```no_run
    /// # async fn f(event: ferrio::Event) -> Result<(), ferrio::Error> {
    /// let (room, count): (String, u32) = event.args()?;
    /// let text: String = event.args()?;
    /// # Ok(()) }
    /// ```
    pub fn args<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(self.args.decode()?)
    }

    /// Deserializes argument `i` (a missing argument reads as `null`).
    pub fn arg<T: DeserializeOwned>(&self, i: usize) -> Result<T> {
        Ok(self.args.decode_one(i)?)
    }

    /// Every argument as a `serde_json::Value`; binary attachments come as arrays of bytes.
    pub fn values(&self) -> Result<Vec<serde_json::Value>> {
        (0..self.len()).map(|i| self.arg(i)).collect()
    }

    /// The binary attachments of the event, in order.
    pub fn attachments(&self) -> &[bytes::Bytes] {
        self.args.attachments()
    }

    /// The raw arguments.
    pub fn raw_args(&self) -> &Args {
        &self.args
    }

    /// Whether the server awaits an acknowledgement (it passed a callback).
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Acknowledges the event with `args` (one value or a tuple, like `emit`), as the
    /// socket.io callback `ack(...)` does. Only the first call sends; an event that wants
    /// no ack, or a second call, is an error. The answer goes to the session that asked or
    /// nowhere: after a disconnection it fails with [`Error::Disconnected`] (socket.io-client
    /// drops it likewise; a new session would not know its id).
    pub async fn ack(&self, args: impl Serialize) -> Result<()> {
        self.send_ack(&args)
    }

    /// [`Event::ack`] without the `async`: the ack is queued at once (the typed layer's
    /// responders call it from plain functions).
    pub(crate) fn send_ack<T: Serialize + ?Sized>(&self, args: &T) -> Result<()> {
        match &self.ack {
            Some(responder) => responder.send(args),
            None => Err(Error::NoAck),
        }
    }
}

/// Sends the acknowledgement of one received event, once.
pub(crate) struct AckResponder {
    /// Weak: an event kept (by a listener, a held event, a user) never keeps its socket.
    socket: Weak<SocketShared>,
    id: u64,
    session: u64,
    sent: AtomicBool,
}

impl AckResponder {
    pub(crate) fn send<T: Serialize + ?Sized>(&self, args: &T) -> Result<()> {
        if self.sent.swap(true, Ordering::AcqRel) {
            return Err(Error::AlreadyAcked);
        }
        let socket = self.socket.upgrade().ok_or(Error::Closed)?;
        let packet = packet::encode_ack(&socket.nsp, self.id, args)?;
        let mut out = socket.outgoing(packet, false, None, None);
        out.session = self.session;
        out.is_answer = true;
        socket.send_packet(out)
    }
}

/// An event the client emits, as `on_any_outgoing` listeners see it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingEvent {
    /// The event name.
    pub name: String,
    /// The arguments, as JSON values (binary attachments as arrays of bytes).
    pub args: Vec<serde_json::Value>,
}

/// A received payload that does not match the declared types: the event never reached its
/// typed listener, and the connection goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError {
    /// The event's wire name.
    pub event: String,
    /// What did not match (the serde error).
    pub error: String,
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event {:?} does not match its declared arguments: {}",
            self.event, self.error
        )
    }
}
