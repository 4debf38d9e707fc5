//! Socket.IO protocol v5 packets: `<type>[<attachments>-][<nsp>,][<id>][<json>]`.
//!
//! Protocol 4 (socket.io 2) has the same shape; it differs in the namespace handshake only:
//! a CONNECT carries no data (the client's auth travels as the namespace's query string,
//! [`encode_connect_v2`]; the server's answer has no socket id), and the ERROR packet
//! (type 4) carries any JSON value, usually a string.
//!
//! Decoding borrows the frame: the header is read in place and the JSON data is scanned once
//! (validated, and split into the event name and one raw slice per argument, by
//! [`json`]), which the caller deserializes into its own types later (each
//! event's JSON is parsed once, never through a `Value` tree).
//! Encoding writes the header and serializes the arguments straight into one buffer.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::Write as _;

use bytes::Bytes;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::binary;
use super::json::{self, Span, Spans};
use super::ProtocolError;

/// The event names the protocol reserves; neither side may emit them.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Tells whether `name` is one of [`RESERVED_EVENTS`].
pub fn is_reserved(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}

/// The type digit of a Socket.IO packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// `0`: connect to a namespace (client), or its acceptance (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event.
    Event,
    /// `3`: an acknowledgement.
    Ack,
    /// `4`: the server refused the namespace connection.
    ConnectError,
    /// `5`: an event followed by binary attachments.
    BinaryEvent,
    /// `6`: an acknowledgement followed by binary attachments.
    BinaryAck,
}

impl PacketKind {
    fn from_digit(c: u8) -> Option<Self> {
        Some(match c {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// Whether binary attachments follow this packet.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// A decoded Socket.IO packet, borrowing the text frame it was read from.
#[derive(Debug)]
pub struct Packet<'a> {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace, `/` when the packet omits it.
    pub nsp: &'a str,
    /// The acknowledgement id, if any.
    pub id: Option<u64>,
    /// How many binary attachments follow (binary packets only).
    pub attachments: usize,
    /// The validated data.
    pub body: Body<'a>,
}

/// The data of a packet, validated against its type as the reference decoder does.
#[derive(Debug)]
pub enum Body<'a> {
    /// CONNECT from the server: `{"sid": .., "pid": ..}`; `None` when it carries no data,
    /// as a socket.io 2 server's unasked `40` does.
    Connect(Option<ConnectReply>),
    /// DISCONNECT: no data.
    Disconnect,
    /// EVENT / BINARY_EVENT: the name and one raw JSON slice per argument.
    Event {
        /// The event name (a numeric name is given as its decimal text); borrowed from the
        /// frame unless it had escapes.
        name: Cow<'a, str>,
        /// The arguments, each still JSON text.
        args: RawArgs<'a>,
    },
    /// ACK / BINARY_ACK: one raw JSON slice per argument.
    Ack {
        /// The arguments, each still JSON text.
        args: RawArgs<'a>,
    },
    /// CONNECT_ERROR: the server's refusal.
    ConnectError(ConnectErrorData),
}

/// The arguments of an event or ack, as they lie in the frame: one JSON text per argument,
/// each validated but not parsed.
#[derive(Debug, Clone)]
pub struct RawArgs<'a> {
    /// The packet's JSON data, which the spans point into.
    data: &'a str,
    /// Every element of the data's array: the event name first for an event.
    spans: Spans,
    /// How many elements come before the arguments (1 for an event's name, 0 for an ack).
    first: usize,
}

impl<'a> RawArgs<'a> {
    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.spans.as_slice().len().saturating_sub(self.first)
    }

    /// Whether there is no argument.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The JSON text of argument `i`.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let &(start, end) = self.spans.as_slice().get(self.first.checked_add(i)?)?;
        self.data.get(start as usize..end as usize)
    }

    /// The JSON text of each argument, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or("null"))
    }

    /// The text the spans point into, the spans, and how many of them come before the
    /// arguments.
    pub(crate) fn into_parts(self) -> (&'a str, Spans, usize) {
        (self.data, self.spans, self.first)
    }
}

/// The server's answer to a namespace CONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectReply {
    /// The socket id in this namespace; socket.io-client refuses an answer without one
    /// (the socket gets a `connect_error`), so a missing `sid` is not a parse error.
    #[serde(default)]
    pub sid: Option<String>,
    /// The private session id, present when the server has connection state recovery on.
    #[serde(default)]
    pub pid: Option<String>,
}

/// The server's refusal of a namespace CONNECT: `{"message": .., "data": ..}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConnectErrorData {
    /// The error message of the server's middleware.
    pub message: String,
    /// The error's `data`, if the middleware attached some.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// Decodes one text frame (the data of an Engine.IO message) into a packet.
pub fn decode(text: &str) -> Result<Packet<'_>, ProtocolError> {
    let Header {
        kind,
        attachments,
        nsp,
        id,
        data,
    } = split(text)?;
    let body = decode_body(kind, data)?;
    if matches!(kind, PacketKind::Ack | PacketKind::BinaryAck) && id.is_none() {
        return Err(ProtocolError::BadAckId);
    }
    Ok(Packet {
        kind,
        nsp,
        id,
        attachments,
        body,
    })
}

/// The header of a text packet, and its data still unread.
pub(crate) struct Header<'a> {
    pub(crate) kind: PacketKind,
    pub(crate) attachments: usize,
    pub(crate) nsp: &'a str,
    pub(crate) id: Option<u64>,
    pub(crate) data: &'a str,
}

/// Reads the header `<type>[<attachments>-][<nsp>,][<id>]` of a text packet.
pub(crate) fn split(text: &str) -> Result<Header<'_>, ProtocolError> {
    let bytes = text.as_bytes();
    let kind = bytes
        .first()
        .and_then(|&c| PacketKind::from_digit(c))
        .ok_or(ProtocolError::UnknownPacketType)?;
    let mut i = 1;

    let mut attachments = 0;
    if kind.is_binary() {
        let digits = count_digits(&bytes[i..]);
        if digits == 0 || digits > 6 || bytes.get(i + digits) != Some(&b'-') {
            return Err(ProtocolError::BadAttachmentCount);
        }
        attachments = text[i..i + digits]
            .parse()
            .map_err(|_| ProtocolError::BadAttachmentCount)?;
        i += digits + 1;
    }

    let mut nsp = "/";
    if bytes.get(i) == Some(&b'/') {
        let end = text[i..].find(',').map_or(text.len(), |at| i + at);
        nsp = &text[i..end];
        i = (end + 1).min(text.len());
    }

    let mut id = None;
    let digits = count_digits(&bytes[i..]);
    if digits > 0 {
        id = Some(
            text[i..i + digits]
                .parse()
                .map_err(|_| ProtocolError::BadAckId)?,
        );
        i += digits;
    }

    Ok(Header {
        kind,
        attachments,
        nsp,
        id,
        data: &text[i..],
    })
}

fn count_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|c| c.is_ascii_digit()).count()
}

fn decode_body(kind: PacketKind, data: &str) -> Result<Body<'_>, ProtocolError> {
    let invalid = |why: &str| ProtocolError::InvalidPayload(format!("{kind:?}: {why}"));
    match kind {
        PacketKind::Connect if data.is_empty() => Ok(Body::Connect(None)),
        // socket.io-parser accepts an object only (serde would take `[]` for a struct whose
        // fields all have defaults).
        PacketKind::Connect if !data.trim_start().starts_with('{') => {
            Err(invalid("CONNECT data is not an object"))
        }
        PacketKind::Connect => serde_json::from_str(data)
            .map(|reply| Body::Connect(Some(reply)))
            .map_err(|e| invalid(&e.to_string())),
        PacketKind::Disconnect if data.is_empty() => Ok(Body::Disconnect),
        PacketKind::Disconnect => Err(invalid("a DISCONNECT packet carries no data")),
        PacketKind::ConnectError => {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Wire {
                Object(ConnectErrorData),
                Message(String),
                // Protocol 4: a middleware's `err.data`, any object.
                Other(serde_json::Map<String, serde_json::Value>),
            }
            match serde_json::from_str(data).map_err(|e| invalid(&e.to_string()))? {
                Wire::Object(error) => Ok(Body::ConnectError(error)),
                Wire::Message(message) => Ok(Body::ConnectError(ConnectErrorData {
                    message,
                    data: None,
                })),
                Wire::Other(object) => {
                    let data = serde_json::Value::Object(object);
                    Ok(Body::ConnectError(ConnectErrorData {
                        message: data.to_string(),
                        data: Some(data),
                    }))
                }
            }
        }
        PacketKind::Event | PacketKind::BinaryEvent => {
            let spans = json::array_elements(data).map_err(|e| invalid(&e.to_string()))?;
            let Some(&name) = spans.as_slice().first() else {
                return Err(invalid("an EVENT needs a name"));
            };
            let name = event_name(data, name).ok_or_else(|| invalid("invalid event name"))?;
            if is_reserved(&name) {
                return Err(ProtocolError::ReservedEvent(name.into_owned()));
            }
            let args = RawArgs {
                data,
                spans,
                first: 1,
            };
            Ok(Body::Event { name, args })
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let spans = json::array_elements(data).map_err(|e| invalid(&e.to_string()))?;
            let args = RawArgs {
                data,
                spans,
                first: 0,
            };
            Ok(Body::Ack { args })
        }
    }
}

/// The event name at `span` of `data` (scanned already): a string, borrowed when it has no
/// escape, or a number as the reference parser also accepts, as its decimal text.
fn event_name(data: &str, (start, end): Span) -> Option<Cow<'_, str>> {
    let literal = data.get(start as usize..end as usize)?;
    match literal.as_bytes().first()? {
        b'"' if !json::has_escape(literal) => literal.get(1..literal.len() - 1).map(Cow::Borrowed),
        b'"' | b'-' | b'0'..=b'9' => serde_json::from_str::<EventName<'_>>(literal)
            .ok()
            .map(|name| name.0),
        _ => None,
    }
}

/// An event name: a string, or a number as the reference parser also accepts.
struct EventName<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for EventName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = EventName<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an event name (a string or a number)")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(EventName(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(EventName(Cow::Owned(v.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(EventName(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(EventName(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(EventName(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_any(NameVisitor)
    }
}

/// Writes `4<type>[<nsp>,][<id>]`: the Engine.IO message type, then the Socket.IO header.
fn write_head(out: &mut Vec<u8>, kind: u8, nsp: &str, id: Option<u64>) {
    out.push(b'4');
    out.push(kind);
    if nsp != "/" {
        out.extend_from_slice(nsp.as_bytes());
        out.push(b',');
    }
    if let Some(id) = id {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{id}");
    }
}

/// An encoded outgoing EVENT or ACK: the text frame and the binary attachments that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The Engine.IO text packet: `4`, then the Socket.IO packet.
    pub text: String,
    /// Where the JSON data starts in `text` (the header is before it).
    data_at: usize,
    /// The attachments, sent as binary frames right after the text.
    pub attachments: Vec<Bytes>,
}

impl Encoded {
    /// The same packet under another ack id, so that a retry is a new request. Only the
    /// header is written again; the serialized data is copied as it is.
    pub fn with_ack_id(&self, nsp: &str, id: u64) -> Encoded {
        with_scratch(|out| {
            write_head(out, b'2', nsp, Some(id));
            let data_at = out.len();
            out.extend_from_slice(self.text.as_bytes().get(self.data_at..).unwrap_or_default());
            finish(out, data_at, self.attachments.clone())
        })
    }
}

thread_local! {
    /// Where this thread writes packets before each gets a buffer of its exact size.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The largest scratch buffer a thread keeps between packets.
const SCRATCH_KEEP: usize = 64 * 1024;

/// Runs `write` on this thread's scratch buffer (empty; a re-entrant call, from a payload's
/// `Serialize` that encodes a packet itself, gets a fresh one).
///
/// Why a scratch buffer: the packet's text becomes `Bytes` on its way to the transport, and
/// `bytes` takes a buffer of exactly its length as it is but gives one with spare capacity a
/// second allocation (its shared header); and a packet is not known in size before it is
/// serialized. So it is written here, then copied once into a buffer of its size.
fn with_scratch<R>(write: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut scratch = SCRATCH.take();
    scratch.clear();
    let result = write(&mut scratch);
    if scratch.capacity() <= SCRATCH_KEEP {
        SCRATCH.set(scratch);
    }
    result
}

/// Makes the packet written in `out` (`4<type>` first, its JSON data from `data_at`): in a
/// buffer of its exact size, as a binary packet `5<n>-`/`6<n>-` when serialization produced
/// attachments.
fn finish(out: &[u8], data_at: usize, attachments: Vec<Bytes>) -> Encoded {
    let (head, rest) = out.split_at(2.min(out.len()));
    let count = match attachments.len() {
        0 => String::new(),
        n => format!("{n}-"),
    };
    let mut text = Vec::with_capacity(out.len() + count.len());
    text.extend_from_slice(head);
    if !attachments.is_empty() {
        // `2` becomes `5`, `3` becomes `6`.
        if let Some(kind) = text.get_mut(1) {
            *kind += 3;
        }
        text.extend_from_slice(count.as_bytes());
    }
    text.extend_from_slice(rest);
    Encoded {
        // The header is ASCII and the data came from serde_json: always UTF-8.
        text: String::from_utf8(text).unwrap_or_default(),
        data_at: data_at + count.len(),
        attachments,
    }
}

/// Encodes an EVENT (or BINARY_EVENT) `[event, ...args]`, with an ack id when one is awaited.
/// `args` is one value or a tuple of values, as [`binary::write_args`] spreads them.
pub fn encode_event<T: Serialize + ?Sized>(
    nsp: &str,
    event: &str,
    args: &T,
    id: Option<u64>,
) -> Result<Encoded, ProtocolError> {
    with_scratch(|out| {
        write_head(out, b'2', nsp, id);
        let data_at = out.len();
        out.push(b'[');
        binary::write_str(out, event);
        let mut attachments = Vec::new();
        binary::write_args(out, args, true, &mut attachments).map_err(ProtocolError::Serialize)?;
        out.push(b']');
        Ok(finish(out, data_at, attachments))
    })
}

/// Encodes an ACK (or BINARY_ACK) answering the server's request `id`.
pub fn encode_ack<T: Serialize + ?Sized>(
    nsp: &str,
    id: u64,
    args: &T,
) -> Result<Encoded, ProtocolError> {
    with_scratch(|out| {
        write_head(out, b'3', nsp, Some(id));
        let data_at = out.len();
        out.push(b'[');
        let mut attachments = Vec::new();
        binary::write_args(out, args, false, &mut attachments).map_err(ProtocolError::Serialize)?;
        out.push(b']');
        Ok(finish(out, data_at, attachments))
    })
}

/// Encodes a CONNECT (as an Engine.IO message) for a namespace, with the `auth` payload
/// (a JSON object) if any.
pub fn encode_connect(nsp: &str, auth: Option<&serde_json::Value>) -> String {
    let mut out = Vec::with_capacity(32);
    write_head(&mut out, b'0', nsp, None);
    if let Some(auth) = auth {
        // Writing a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut out, auth);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The query string a socket.io 2 server reads the auth from: each field of the auth object
/// as a parameter, strings as they are and other values as JSON; empty without auth.
pub fn auth_query(auth: Option<&serde_json::Value>) -> String {
    let Some(serde_json::Value::Object(fields)) = auth else {
        return String::new();
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in fields {
        match value {
            serde_json::Value::String(text) => query.append_pair(key, text),
            other => query.append_pair(key, &other.to_string()),
        };
    }
    query.finish()
}

/// Encodes a protocol 4 CONNECT (as an Engine.IO message): `40` for `/`, `40/nsp,` or, with
/// a query string, `40/nsp?query,` (socket.io-client 2 writes the query into the namespace;
/// the server reads it back from there).
pub fn encode_connect_v2(nsp: &str, query: &str) -> String {
    match (nsp, query) {
        ("/", "") => "40".to_owned(),
        (_, "") => format!("40{nsp},"),
        _ => format!("40{nsp}?{query},"),
    }
}

/// Encodes a DISCONNECT (as an Engine.IO message) for a namespace.
pub fn encode_disconnect(nsp: &str) -> String {
    let mut out = Vec::with_capacity(16);
    write_head(&mut out, b'1', nsp, None);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(args: &RawArgs<'_>) -> Vec<String> {
        args.iter().map(str::to_owned).collect()
    }

    #[test]
    fn decodes_the_reference_vectors() {
        // The examples of the Socket.IO v5 protocol description.
        let Ok(p) = decode(r#"0{"sid":"oSO0OpakMV_3jnilAAAA"}"#) else {
            panic!()
        };
        assert_eq!((p.kind, p.nsp, p.id), (PacketKind::Connect, "/", None));
        assert!(
            matches!(p.body, Body::Connect(Some(ConnectReply { sid: Some(ref sid), pid: None })) if sid == "oSO0OpakMV_3jnilAAAA")
        );

        let Ok(p) = decode(r#"0/admin,{"sid":"x","pid":"y"}"#) else {
            panic!()
        };
        assert_eq!(p.nsp, "/admin");
        assert!(
            matches!(p.body, Body::Connect(Some(ConnectReply { pid: Some(ref pid), .. })) if pid == "y")
        );

        let Ok(p) = decode(r#"4{"message":"Not authorized","data":{"a":1}}"#) else {
            panic!()
        };
        assert!(
            matches!(p.body, Body::ConnectError(ConnectErrorData { ref message, data: Some(_) }) if message == "Not authorized")
        );
        let Ok(p) = decode(r#"4/admin,"legacy message""#) else {
            panic!()
        };
        assert!(
            matches!(p.body, Body::ConnectError(ConnectErrorData { ref message, data: None }) if message == "legacy message")
        );

        let Ok(p) = decode("1/admin,") else { panic!() };
        assert_eq!((p.kind, p.nsp), (PacketKind::Disconnect, "/admin"));

        let Ok(p) = decode(r#"2["foo"]"#) else {
            panic!()
        };
        assert!(
            matches!(p.body, Body::Event { ref name, ref args } if name == "foo" && args.is_empty())
        );

        let Ok(p) = decode(r#"2/admin,12["bar",{"a":[1,2]},"x"]"#) else {
            panic!()
        };
        assert_eq!((p.nsp, p.id), ("/admin", Some(12)));
        let Body::Event { name, args } = p.body else {
            panic!()
        };
        assert_eq!(name, "bar");
        assert_eq!(raw(&args), [r#"{"a":[1,2]}"#, r#""x""#]);

        let Ok(p) = decode(r#"3/admin,13["bar"]"#) else {
            panic!()
        };
        assert_eq!(p.id, Some(13));
        assert!(matches!(p.body, Body::Ack { ref args } if raw(args) == [r#""bar""#]));

        let Ok(p) = decode(r#"51-["baz",{"_placeholder":true,"num":0}]"#) else {
            panic!()
        };
        assert_eq!((p.kind, p.attachments), (PacketKind::BinaryEvent, 1));

        let Ok(p) = decode(r#"61-/admin,15[{"_placeholder":true,"num":0}]"#) else {
            panic!()
        };
        assert_eq!(
            (p.kind, p.nsp, p.id, p.attachments),
            (PacketKind::BinaryAck, "/admin", Some(15), 1)
        );

        let Ok(p) = decode(r#"2[42,"numeric name"]"#) else {
            panic!()
        };
        assert!(matches!(p.body, Body::Event { ref name, .. } if name == "42"));
    }

    #[test]
    fn rejects_what_the_reference_decoder_rejects() {
        let cases = [
            ("", "empty"),
            ("7", "unknown type"),
            ("x", "unknown type"),
            ("5[\"a\"]", "binary with no count"),
            ("5a-[\"a\"]", "bad count"),
            ("51[\"a\"]", "count without dash"),
            ("0[]", "CONNECT data not an object"),
            ("0\"text\"", "CONNECT data a string"),
            ("1{}", "DISCONNECT with data"),
            ("2{}", "EVENT data an object"),
            ("2[]", "EVENT without a name"),
            ("2[null]", "EVENT with a null name"),
            ("2[{}]", "EVENT with an object name"),
            ("2[\"connect\"]", "reserved name"),
            ("2[\"disconnecting\",1]", "reserved name"),
            ("2[\"removeListener\"]", "reserved name"),
            ("2[\"a\"", "unterminated JSON"),
            ("2[\"a\"]x", "trailing garbage"),
            ("3[1]", "ACK without id"),
            ("3/nsp,1{}", "ACK data an object"),
            ("4[]", "CONNECT_ERROR data an array"),
            ("299999999999999999999999[\"a\"]", "id overflow"),
        ];
        for (input, why) in cases {
            assert!(decode(input).is_err(), "{why}: {input:?} was accepted");
        }
    }

    #[test]
    fn encodes_events_acks_and_connects() {
        let Ok(e) = encode_event("/", "hello", &("world", 42), None) else {
            panic!()
        };
        assert_eq!(e.text, r#"42["hello","world",42]"#);
        let Ok(e) = encode_event("/admin", "hello", &(), Some(7)) else {
            panic!()
        };
        assert_eq!(e.text, r#"42/admin,7["hello"]"#);
        assert_eq!(
            e.with_ack_id("/admin", 123).text,
            r#"42/admin,123["hello"]"#
        );
        let Ok(e) = encode_ack("/", 5, &"ok") else {
            panic!()
        };
        assert_eq!(e.text, r#"435["ok"]"#);
        let Ok(e) = encode_ack("/", 5, &()) else {
            panic!()
        };
        assert_eq!(e.text, "435[]");
        assert_eq!(encode_connect("/", None), "40");
        assert_eq!(
            encode_connect("/admin", Some(&serde_json::json!({"token":"a"}))),
            r#"40/admin,{"token":"a"}"#
        );
        assert_eq!(encode_disconnect("/admin"), "41/admin,");
        assert_eq!(encode_disconnect("/"), "41");
    }

    #[test]
    fn protocol_4_connects_and_errors() {
        assert_eq!(encode_connect_v2("/", ""), "40");
        assert_eq!(encode_connect_v2("/chat", ""), "40/chat,");
        let auth = serde_json::json!({"token": "a b&c,d", "n": 7, "ok": true});
        let query = auth_query(Some(&auth));
        assert_eq!(query, "n=7&ok=true&token=a+b%26c%2Cd");
        assert_eq!(
            encode_connect_v2("/chat", &query),
            "40/chat?n=7&ok=true&token=a+b%26c%2Cd,"
        );
        assert_eq!(auth_query(None), "");
        // The server's answers: no data; errors as a string or any object.
        let Ok(p) = decode("0/chat,") else { panic!() };
        assert!(matches!(p.body, Body::Connect(None)) && p.nsp == "/chat");
        let Ok(p) = decode(r#"4/chat,"Invalid namespace""#) else {
            panic!()
        };
        assert!(
            matches!(p.body, Body::ConnectError(ConnectErrorData { ref message, data: None }) if message == "Invalid namespace")
        );
        let Ok(p) = decode(r#"4{"content":"later","code":42}"#) else {
            panic!()
        };
        let Body::ConnectError(error) = p.body else {
            panic!()
        };
        assert_eq!(
            error.data,
            Some(serde_json::json!({"content": "later", "code": 42}))
        );
        assert!(error.message.contains("later"));
    }

    #[test]
    fn binary_payloads_become_binary_packets() {
        let data = bytes::Bytes::from_static(&[1, 2, 3]);
        let Ok(e) = encode_event("/admin", "file", &("name", data.clone()), Some(3)) else {
            panic!()
        };
        assert_eq!(
            e.text,
            r#"451-/admin,3["file","name",{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(e.attachments, std::slice::from_ref(&data));
        let retried = e.with_ack_id("/admin", 40);
        assert_eq!(
            retried.text,
            r#"451-/admin,40["file","name",{"_placeholder":true,"num":0}]"#
        );
        let Ok(a) = encode_ack("/", 9, &(data.clone(), data.clone())) else {
            panic!()
        };
        assert_eq!(
            a.text,
            r#"462-9[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        );
    }
}
