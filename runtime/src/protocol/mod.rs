//! The wire formats, pure: no I/O, no async, no panics on any input.
//!
//! - [`engine`]: Engine.IO packets and long-polling bodies (revisions 4 and 3);
//! - [`packet`]: Socket.IO packets (protocol 5, and what protocol 4 differs in);
//! - [`json`]: the validating scanner that splits a packet's JSON array into its elements;
//! - [`binary`]: serde support for binary attachments and the "one value or a tuple"
//!   argument convention;
//! - [`msgpack`]: the packets of the msgpack parser, translated to and from the default
//!   parser's form;
//! - [`Args`]: the arguments of a received event or ack, owned and still JSON, decoded on demand.
//!
//! This module is public so that tools (fuzzers, proxies, tests) can use the codecs; the
//! client itself needs none of it directly.

pub mod binary;
pub mod engine;
pub mod json;
pub mod msgpack;
pub mod packet;

use bytes::Bytes;
use json::Spans;
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Why a frame could not be decoded (or a packet encoded).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An Engine.IO packet with no type.
    #[error("empty Engine.IO packet")]
    EmptyPacket,
    /// An Engine.IO packet type outside 0..=6.
    #[error("unknown Engine.IO packet type {0:?}")]
    UnknownEngineType(char),
    /// The server's open packet is not a valid handshake.
    #[error("invalid Engine.IO handshake: {0}")]
    BadHandshake(String),
    /// A `b<base64>` polling segment that is not base64.
    #[error("invalid base64 in a polling payload")]
    BadBase64,
    /// An Engine.IO revision 3 polling body or binary frame that does not follow its
    /// framing.
    #[error("invalid Engine.IO v3 payload: {0}")]
    BadPayload(&'static str),
    /// A Socket.IO packet type outside 0..=6.
    #[error("unknown Socket.IO packet type")]
    UnknownPacketType,
    /// A binary packet whose attachment count is missing or malformed.
    #[error("illegal attachment count")]
    BadAttachmentCount,
    /// A binary packet announcing more attachments than allowed.
    #[error("too many attachments: {count} (at most {max})")]
    TooManyAttachments {
        /// What the packet announced.
        count: usize,
        /// The configured cap.
        max: usize,
    },
    /// More events for a namespace whose CONNECT is not answered yet than the send buffer
    /// may hold (`max_buffered_packets`): they would wait without bound.
    #[error("too many events before the namespace was connected")]
    TooManyEarlyEvents,
    /// An ack id that is not a number, or an ACK without one.
    #[error("illegal ack id")]
    BadAckId,
    /// The data does not fit the packet type (CONNECT not an object, EVENT not an array...).
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// An event with a name the protocol reserves.
    #[error("reserved event name {0:?}")]
    ReservedEvent(String),
    /// A text packet arrived while the attachments of a binary packet were awaited.
    #[error("text packet received while reconstructing a binary packet")]
    TextWhileReconstructing,
    /// A binary frame arrived with no binary packet announcing it.
    #[error("binary frame received with no binary packet header")]
    UnexpectedBinary,
    /// A placeholder pointing outside the packet's attachments, or malformed.
    #[error(transparent)]
    Binary(#[from] binary::DecodeError),
    /// A frame larger than allowed.
    #[error("frame of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The frame's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Serialization produced invalid UTF-8 (cannot happen with serde_json).
    #[error("serialized data is not UTF-8")]
    InvalidUtf8,
    /// A payload could not be serialized.
    #[error("cannot serialize the payload: {0}")]
    Serialize(#[source] serde_json::Error),
    /// A packet of the msgpack parser that is not valid MessagePack or not a packet of
    /// that parser (wrong type, namespace, data or id), or a text message where that
    /// parser sends binary ones only.
    #[error("invalid msgpack packet: {0}")]
    MsgPack(String),
}

/// The arguments of a received event or ack: the frame's text, where each argument lies in
/// it, and the binary attachments. Nothing is deserialized until asked, and then straight
/// from the frame's text into the caller's type.
#[derive(Debug, Clone, Default)]
pub struct Args {
    text: Utf8Bytes,
    /// Where the packet's JSON data starts in `text`: the spans count from there.
    at: u32,
    /// Every element of the data's array; the arguments are those from `first` on.
    spans: Spans,
    first: u8,
    attachments: Vec<Bytes>,
}

impl Args {
    /// Keeps the arguments `raw` of a packet decoded from `text` (so `raw` points into it).
    pub fn new(text: Utf8Bytes, raw: packet::RawArgs<'_>) -> Self {
        let (data, spans, first) = raw.into_parts();
        let at = (data.as_ptr() as usize).wrapping_sub(text.as_str().as_ptr() as usize);
        let (at, spans, first) = match (u32::try_from(at), u8::try_from(first)) {
            (Ok(at), Ok(first)) if at as usize + data.len() <= text.len() => (at, spans, first),
            // Not a part of `text`: no argument can be found in it.
            _ => (0, Spans::default(), 0),
        };
        Args {
            text,
            at,
            spans,
            first,
            attachments: Vec::new(),
        }
    }

    /// Where `part` (a slice of the frame, like a borrowed event name) lies in the frame.
    pub fn span_of(&self, part: &str) -> Option<(u32, u32)> {
        let base = self.text.as_str().as_ptr() as usize;
        let start = (part.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(part.len())?;
        (end <= self.text.len()).then_some((start as u32, end as u32))
    }

    /// The frame's text at `span` (from [`Args::span_of`]).
    pub fn slice(&self, (start, end): (u32, u32)) -> &str {
        self.text
            .as_str()
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// Adds a binary attachment.
    pub fn push_attachment(&mut self, bytes: Bytes) {
        self.attachments.push(bytes);
    }

    /// The attachments received so far.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.spans
            .as_slice()
            .len()
            .saturating_sub(usize::from(self.first))
    }

    /// Whether there is no argument.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The JSON text of argument `i`.
    pub fn raw(&self, i: usize) -> Option<&str> {
        let &(start, end) = self.spans.as_slice().get(usize::from(self.first) + i)?;
        let (start, end) = (
            self.at as usize + start as usize,
            self.at as usize + end as usize,
        );
        self.text.as_str().get(start..end)
    }

    /// Calls `f` with the arguments' texts as a slice; on the stack for the usual few
    /// arguments, so decoding an event allocates nothing of its own.
    fn with_raws<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        const INLINE: usize = 8;
        if self.len() <= INLINE {
            let mut raws = [""; INLINE];
            for (i, raw) in raws.iter_mut().enumerate().take(self.len()) {
                *raw = self.raw(i).unwrap_or("null");
            }
            f(&raws[..self.len()])
        } else {
            let raws: Vec<&str> = (0..self.len())
                .map(|i| self.raw(i).unwrap_or("null"))
                .collect();
            f(&raws)
        }
    }

    /// Checks that every placeholder points at a received attachment.
    pub fn check_placeholders(&self) -> Result<(), binary::DecodeError> {
        (0..self.len())
            .filter_map(|i| self.raw(i))
            .try_for_each(|raw| binary::check_placeholders(raw, self.attachments.len()))
    }

    /// Deserializes the arguments: a tuple takes one argument per element, anything else
    /// the first argument (see [`binary::from_args`]).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, binary::DecodeError> {
        self.with_raws(|raws| binary::from_args(raws, &self.attachments))
    }

    /// Deserializes argument `i` alone.
    pub fn decode_one<T: DeserializeOwned>(&self, i: usize) -> Result<T, binary::DecodeError> {
        let raw = self.raw(i).unwrap_or("null");
        binary::from_json(raw, &self.attachments)
    }
}
