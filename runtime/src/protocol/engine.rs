//! Engine.IO packets: the frame layer under Socket.IO, in protocol revision 4 (socket.io 3
//! and 4) and revision 3 (socket.io 2).
//!
//! A text packet is one type digit followed by its data (`4hello`, `2`, `0{"sid":..}`) in
//! both. Revision 4: a binary message travels as a binary websocket frame with no type
//! byte; over HTTP long-polling, several packets share one body, separated by the record
//! separator `\x1e`, binary messages written as `b<base64>`. Revision 3 (see
//! [`decode_payload_v3`]): a binary websocket frame starts with the type byte (`4`), a
//! base64 message is `b4<base64>`, and a polling body is length-prefixed, as text
//! (`<length>:<packet>` repeated, the length in UTF-16 code units as JavaScript counts a
//! string) or, when the server sends binary, in a binary framing of its own.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;

use super::ProtocolError;

/// The Engine.IO protocol revision a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// Revision 3: socket.io 2.x servers (engine.io 3.x). The client sends the pings.
    V3,
    /// Revision 4: socket.io 3.x and 4.x servers. The server sends the pings.
    V4,
}

impl Revision {
    /// The value of the `EIO` query parameter.
    pub fn as_query(self) -> &'static str {
        match self {
            Revision::V3 => "3",
            Revision::V4 => "4",
        }
    }
}

/// The separator between packets of one long-polling body.
pub const RECORD_SEPARATOR: char = '\x1e';

/// One Engine.IO packet received as text, borrowing the frame it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnginePacket<'a> {
    /// `0`: the server's handshake.
    Open(Handshake),
    /// `1`: the server closes the session.
    Close,
    /// `2`: a heartbeat from the server (or `2probe` during an upgrade, data `probe`).
    Ping(&'a str),
    /// `3`: an answer to a ping (`3probe` answers the client's upgrade probe).
    Pong(&'a str),
    /// `4`: a text message, carrying one Socket.IO packet.
    Message(&'a str),
    /// `5`: the transport upgrade is complete.
    Upgrade,
    /// `6`: nothing; used by the server to end a pending poll during an upgrade.
    Noop,
}

/// One segment of a long-polling body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollingSegment<'a> {
    /// A text packet, still undecoded (decode it with [`decode_text`]).
    Text(&'a str),
    /// A binary message (`b<base64>` on the wire).
    Binary(Bytes),
}

/// The server's handshake: the Engine.IO session and its heartbeat settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The Engine.IO session id (`sid`).
    pub sid: String,
    /// The transports the session may upgrade to (`upgrades`).
    #[serde(default)]
    pub upgrades: Vec<String>,
    /// How often the server pings, in milliseconds (`pingInterval`).
    pub ping_interval: u64,
    /// How long the server waits for a pong, in milliseconds (`pingTimeout`).
    pub ping_timeout: u64,
    /// The largest polling body the server accepts, in bytes (`maxPayload`).
    #[serde(default = "default_max_payload")]
    pub max_payload: u64,
}

fn default_max_payload() -> u64 {
    1_000_000
}

impl Handshake {
    /// How long the client waits for the next ping before it gives up on the server:
    /// `pingInterval + pingTimeout`.
    pub fn ping_deadline(&self) -> Duration {
        Duration::from_millis(self.ping_interval.saturating_add(self.ping_timeout))
    }
}

/// Decodes one text packet (a websocket text frame, or one segment of a polling body).
pub fn decode_text(frame: &str) -> Result<EnginePacket<'_>, ProtocolError> {
    let mut chars = frame.char_indices();
    let Some((_, kind)) = chars.next() else {
        return Err(ProtocolError::EmptyPacket);
    };
    let data = &frame[kind.len_utf8()..];
    Ok(match kind {
        '0' => {
            let handshake: Handshake = serde_json::from_str(data)
                .map_err(|e| ProtocolError::BadHandshake(e.to_string()))?;
            EnginePacket::Open(handshake)
        }
        '1' => EnginePacket::Close,
        '2' => EnginePacket::Ping(data),
        '3' => EnginePacket::Pong(data),
        '4' => EnginePacket::Message(data),
        '5' => EnginePacket::Upgrade,
        '6' => EnginePacket::Noop,
        other => return Err(ProtocolError::UnknownEngineType(other)),
    })
}

/// Decodes a binary message written as text, `b<base64>` given without its `b`: how binary
/// travels in polling bodies, and over a websocket when base64 was asked for.
pub fn decode_base64_message(base64: &str) -> Result<Bytes, ProtocolError> {
    base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map(Bytes::from)
        .map_err(|_| ProtocolError::BadBase64)
}

/// Appends a binary message as text, `b<base64>` (see [`decode_base64_message`]).
pub fn encode_base64_message(bytes: &[u8], out: &mut String) {
    out.push('b');
    base64::engine::general_purpose::STANDARD.encode_string(bytes, out);
}

/// Splits a long-polling body into its packets, decoding the base64 of binary ones. Each
/// segment is handled lazily, so a malformed one surfaces as an `Err` item without hiding
/// the ones before it.
pub fn decode_payload(
    body: &str,
) -> impl Iterator<Item = Result<PollingSegment<'_>, ProtocolError>> {
    body.split(RECORD_SEPARATOR).map(|segment| {
        if let Some(b64) = segment.strip_prefix('b') {
            decode_base64_message(b64).map(PollingSegment::Binary)
        } else {
            Ok(PollingSegment::Text(segment))
        }
    })
}

/// Tells whether a handshake body comes from an Engine.IO v2/v3 server, whose polling
/// bodies are length-prefixed (`96:0{"sid":..`, or the binary framing starting with a 0 or
/// 1 byte) instead of separated by `\x1e`. A revision 4 body starts with a packet type
/// digit followed by something else than digits and `:`.
pub fn is_legacy_payload(body: &[u8]) -> bool {
    if matches!(body.first(), Some(0 | 1)) {
        return true;
    }
    let digits = body.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && body.get(digits) == Some(&b':')
}

/// Decodes a revision 3 message written as text, `b<type><base64>` given without its `b`:
/// only a message (type `4`) can carry binary.
fn decode_base64_v3(packet: &str) -> Result<Bytes, ProtocolError> {
    match packet.strip_prefix('4') {
        Some(base64) => decode_base64_message(base64),
        None => Err(ProtocolError::BadPayload(
            "a binary packet that is not a message",
        )),
    }
}

/// Decodes a revision 3 text frame: a text packet, or `b4<base64>` binary.
pub fn decode_text_v3(frame: &str) -> Result<PollingSegment<'_>, ProtocolError> {
    match frame.strip_prefix('b') {
        Some(packet) => decode_base64_v3(packet).map(PollingSegment::Binary),
        None => Ok(PollingSegment::Text(frame)),
    }
}

/// Decodes a revision 3 binary websocket frame: the type byte (a message, `4`), then the
/// bytes.
pub fn decode_binary_v3(frame: &Bytes) -> Result<Bytes, ProtocolError> {
    match frame.first() {
        Some(4) => Ok(frame.slice(1..)),
        _ => Err(ProtocolError::BadPayload(
            "a binary frame that is not a message",
        )),
    }
}

/// Splits a revision 3 long-polling body into its packets, in either of its framings:
///
/// - text, `<length>:<packet>` repeated, the length counting UTF-16 code units (engine.io
///   3 measures JavaScript strings), binary packets as `b4<base64>`; empty packets (`0:`,
///   an empty poll) are skipped;
/// - binary (what engine.io 3 sends a client that did not ask for base64 when a packet is
///   binary): per packet a `0` (text) or `1` (binary) byte, the length's decimal digits as
///   bytes 0 to 9, a 255 byte, then the packet: a text packet as UTF-8, a binary one as its
///   type byte and the bytes.
///
/// As with [`decode_payload`], a malformed packet surfaces as an `Err` item after the ones
/// before it, and ends the list.
pub fn decode_payload_v3(
    body: &Bytes,
) -> impl Iterator<Item = Result<PollingSegment<'_>, ProtocolError>> {
    let binary = matches!(body.first(), Some(0 | 1));
    // A text body is UTF-8 as a whole (the HTTP body of a JavaScript string).
    let (text, mut not_utf8) = match binary {
        true => ("", None),
        false => match std::str::from_utf8(body) {
            Ok(text) => (text, None),
            Err(_) => (
                "",
                Some(ProtocolError::BadPayload(
                    "a polling body that is not UTF-8",
                )),
            ),
        },
    };
    let mut failed = not_utf8.is_some();
    let mut at = 0;
    std::iter::from_fn(move || loop {
        if let Some(e) = not_utf8.take() {
            return Some(Err(e));
        }
        if failed || at >= body.len() {
            return None;
        }
        let next = if binary {
            next_binary_v3(body, &mut at)
        } else {
            next_text_v3(text, &mut at)
        };
        match next {
            Ok(None) => continue,
            Ok(Some(segment)) => return Some(Ok(segment)),
            Err(e) => {
                failed = true;
                return Some(Err(e));
            }
        }
    })
}

/// The largest length prefix accepted (10 digits: engine.io's bodies are far smaller).
const MAX_LENGTH_DIGITS: usize = 10;

/// One `<length>:<packet>` of a text body from `at`; `None` for an empty packet.
fn next_text_v3<'a>(
    body: &'a str,
    at: &mut usize,
) -> Result<Option<PollingSegment<'a>>, ProtocolError> {
    let rest = &body[*at..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > MAX_LENGTH_DIGITS || rest.as_bytes().get(digits) != Some(&b':') {
        return Err(ProtocolError::BadPayload("a packet without its length"));
    }
    let units: usize = rest[..digits]
        .parse()
        .map_err(|_| ProtocolError::BadPayload("a packet without its length"))?;
    let tail = &rest[digits + 1..];
    // The byte length of the first `units` UTF-16 code units.
    let mut counted = 0;
    let mut end = tail.len();
    for (i, c) in tail.char_indices() {
        if counted >= units {
            end = i;
            break;
        }
        counted += c.len_utf16();
    }
    if counted < units {
        return Err(ProtocolError::BadPayload("a packet longer than the body"));
    }
    if counted > units {
        return Err(ProtocolError::BadPayload("a length inside a character"));
    }
    *at += digits + 1 + end;
    if end == 0 {
        return Ok(None);
    }
    decode_text_v3(&tail[..end]).map(Some)
}

/// One packet of a binary body from `at`.
fn next_binary_v3<'a>(
    body: &'a Bytes,
    at: &mut usize,
) -> Result<Option<PollingSegment<'a>>, ProtocolError> {
    let rest = &body[*at..];
    let is_text = match rest.first() {
        Some(0) => true,
        Some(1) => false,
        _ => return Err(ProtocolError::BadPayload("a binary packet of unknown kind")),
    };
    let digits = rest[1..].iter().take_while(|&&b| b <= 9).count();
    if digits == 0 || digits > MAX_LENGTH_DIGITS || rest.get(1 + digits) != Some(&255) {
        return Err(ProtocolError::BadPayload(
            "a binary packet without its length",
        ));
    }
    let len = rest[1..1 + digits]
        .iter()
        .fold(0usize, |n, &d| n * 10 + usize::from(d));
    let start = *at + digits + 2;
    let end = start
        .checked_add(len)
        .filter(|&end| end <= body.len())
        .ok_or(ProtocolError::BadPayload("a packet longer than the body"))?;
    *at = end;
    if len == 0 {
        return Ok(None);
    }
    if is_text {
        let text = std::str::from_utf8(&body[start..end])
            .map_err(|_| ProtocolError::BadPayload("a text packet that is not UTF-8"))?;
        return decode_text_v3(text).map(Some);
    }
    decode_binary_v3(&body.slice(start..end))
        .map(PollingSegment::Binary)
        .map(Some)
}

/// Appends `frames` to a revision 3 long-polling body as text: `<length>:<packet>` each,
/// binary as `b4<base64>`.
pub fn encode_payload_v3<'a>(body: &mut String, frames: impl IntoIterator<Item = &'a Frame>) {
    use std::fmt::Write as _;
    for frame in frames {
        match frame {
            Frame::Text(text) => {
                let _ = write!(body, "{}:{text}", text.encode_utf16().count());
            }
            Frame::Control(text) => {
                let _ = write!(body, "{}:{text}", text.len());
            }
            Frame::Binary(bytes) => {
                let _ = write!(body, "{}:b4", 2 + bytes.len().div_ceil(3) * 4);
                base64::engine::general_purpose::STANDARD.encode_string(bytes, body);
            }
        }
    }
}

/// An outgoing Engine.IO packet, owned so it can wait in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text packet, written whole: `4` and the Socket.IO packet for a message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// A control packet: `2probe`, `3`, `5`, `1`...
    Control(&'static str),
}

impl Frame {
    /// The pong that answers a ping.
    pub const PONG: Frame = Frame::Control("3");
    /// The client's ping (revision 3, where the client pings).
    pub const PING: Frame = Frame::Control("2");
    /// The client's close packet.
    pub const CLOSE: Frame = Frame::Control("1");
    /// The upgrade probe sent on the new websocket.
    pub const PROBE: Frame = Frame::Control("2probe");
    /// The packet that completes an upgrade.
    pub const UPGRADE: Frame = Frame::Control("5");

    /// The size this frame adds to a polling body, for `maxPayload` batching.
    pub fn polling_len(&self) -> usize {
        match self {
            Frame::Text(text) => text.len(),
            Frame::Binary(bytes) => 1 + bytes.len().div_ceil(3) * 4,
            Frame::Control(text) => text.len(),
        }
    }
}

/// Appends `frames` to a long-polling body, separated by `\x1e`.
pub fn encode_payload<'a>(body: &mut String, frames: impl IntoIterator<Item = &'a Frame>) {
    for frame in frames {
        if !body.is_empty() {
            body.push(RECORD_SEPARATOR);
        }
        match frame {
            Frame::Text(text) => body.push_str(text),
            Frame::Binary(bytes) => encode_base64_message(bytes, body),
            Frame::Control(text) => body.push_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_reference_packets() {
        assert_eq!(decode_text("2").ok(), Some(EnginePacket::Ping("")));
        assert_eq!(
            decode_text("2probe").ok(),
            Some(EnginePacket::Ping("probe"))
        );
        assert_eq!(
            decode_text("3probe").ok(),
            Some(EnginePacket::Pong("probe"))
        );
        assert_eq!(
            decode_text("4hello").ok(),
            Some(EnginePacket::Message("hello"))
        );
        assert_eq!(decode_text("4€").ok(), Some(EnginePacket::Message("€")));
        assert_eq!(decode_text("5").ok(), Some(EnginePacket::Upgrade));
        assert_eq!(decode_text("6").ok(), Some(EnginePacket::Noop));
        assert_eq!(decode_text("1").ok(), Some(EnginePacket::Close));
        let open = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#;
        let Ok(EnginePacket::Open(handshake)) = decode_text(open) else {
            panic!("handshake not decoded");
        };
        assert_eq!(handshake.sid, "lv_VI97HAXpY6yYWAAAC");
        assert_eq!(handshake.upgrades, ["websocket"]);
        assert_eq!(handshake.ping_deadline(), Duration::from_millis(30_000));
    }

    #[test]
    fn rejects_malformed_packets() {
        assert!(matches!(decode_text(""), Err(ProtocolError::EmptyPacket)));
        assert!(matches!(
            decode_text("9"),
            Err(ProtocolError::UnknownEngineType('9'))
        ));
        assert!(matches!(
            decode_text("é"),
            Err(ProtocolError::UnknownEngineType('é'))
        ));
        assert!(matches!(
            decode_text("0{"),
            Err(ProtocolError::BadHandshake(_))
        ));
        assert!(matches!(
            decode_text("0{\"sid\":1}"),
            Err(ProtocolError::BadHandshake(_))
        ));
    }

    #[test]
    fn polling_payload_round_trip() {
        // The reference vector of the Engine.IO v4 protocol: a text and a binary packet.
        let body = "4hello\x1ebAQIDBA==";
        let segments: Vec<_> = decode_payload(body)
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        assert_eq!(
            segments,
            vec![
                PollingSegment::Text("4hello"),
                PollingSegment::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            ]
        );
        let mut encoded = String::new();
        let frames = [
            Frame::Text("4hello".into()),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])),
        ];
        encode_payload(&mut encoded, &frames);
        assert_eq!(encoded, body);
        assert_eq!(
            frames.iter().map(Frame::polling_len).sum::<usize>() + 1,
            body.len()
        );
        assert!(decode_payload("bnot base64!").any(|s| s.is_err()));
    }

    #[test]
    fn detects_legacy_servers() {
        assert!(is_legacy_payload(b"96:0{\"sid\":\"abc\"}2:40"));
        assert!(is_legacy_payload(&[0, 2, 255, b'4', b'a']));
        assert!(!is_legacy_payload(b"0{\"sid\":\"abc\"}"));
        assert!(!is_legacy_payload(b""));
    }

    fn v3(body: &[u8]) -> Vec<Result<PollingSegment<'static>, String>> {
        let body = Bytes::copy_from_slice(body);
        let out: Vec<_> = decode_payload_v3(&body)
            .map(|s| match s {
                Ok(PollingSegment::Text(t)) => Ok(PollingSegment::Text(t.to_owned().leak())),
                Ok(PollingSegment::Binary(b)) => Ok(PollingSegment::Binary(b)),
                Err(e) => Err(e.to_string()),
            })
            .collect();
        out
    }

    #[test]
    fn v3_text_payloads_count_utf16_code_units() {
        // engine.io-parser 2's own example, an empty poll, and characters outside ASCII:
        // `€` is one UTF-16 unit (three bytes), `😀` two (four bytes).
        assert_eq!(
            v3(b"11:hello world2:hi"),
            [
                Ok(PollingSegment::Text("hello world")),
                Ok(PollingSegment::Text("hi"))
            ]
        );
        assert!(v3(b"0:").is_empty());
        assert_eq!(
            v3("2:4\u{20ac}3:4\u{1F600}6:b4AQID".as_bytes()),
            [
                Ok(PollingSegment::Text("4\u{20ac}")),
                Ok(PollingSegment::Text("4\u{1F600}")),
                Ok(PollingSegment::Binary(Bytes::from_static(&[1, 2, 3]))),
            ]
        );
        // Malformed: each ends the list with an error after the packets before it.
        for bad in [
            &b"2:40x"[..],
            b"5:abc",
            b":40",
            b"2x40",
            b"99999999999:4",
            b"6:b3AQID",
            b"3:b4!",
            b"\xff",
        ] {
            let out = v3(bad);
            assert!(
                out.last().is_some_and(Result::is_err),
                "{:?} gave {out:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // A length that ends inside a surrogate pair.
        assert!(v3("2:4\u{1F600}".as_bytes())[0].is_err());
        assert_eq!(v3(b"2:402:4")[0], Ok(PollingSegment::Text("40")));
    }

    proptest::proptest! {
        /// Any bytes: no panic, and the segments before an error are whole packets.
        #[test]
        fn prop_v3_bodies_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let body = Bytes::from(body);
            let mut failed = false;
            for segment in decode_payload_v3(&body) {
                proptest::prop_assert!(!failed, "a segment after an error");
                failed = segment.is_err();
            }
        }

        /// What the client writes, the v3 decoder reads back.
        #[test]
        fn prop_v3_text_round_trip(texts in proptest::collection::vec("4\\PC{0,12}", 1..5), binary in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20)) {
            let mut frames: Vec<Frame> = texts.iter().cloned().map(Frame::Text).collect();
            frames.push(Frame::Binary(Bytes::from(binary.clone())));
            let mut body = String::new();
            encode_payload_v3(&mut body, &frames);
            let body = Bytes::from(body);
            let segments: Vec<_> = decode_payload_v3(&body).collect::<Result<_, _>>().expect("decodes");
            let mut want: Vec<PollingSegment<'_>> = texts.iter().map(|t| PollingSegment::Text(t)).collect();
            want.push(PollingSegment::Binary(Bytes::from(binary)));
            proptest::prop_assert_eq!(segments, want);
        }
    }

    #[test]
    fn v3_binary_payloads() {
        // `40` as text, then a binary message of three bytes, then `6` (noop) as text.
        let body = [
            &[0, 2, 255][..],
            b"40",
            &[1, 4, 255, 4, 1, 2, 3],
            &[0, 1, 255, b'6'],
        ]
        .concat();
        assert_eq!(
            v3(&body),
            [
                Ok(PollingSegment::Text("40")),
                Ok(PollingSegment::Binary(Bytes::from_static(&[1, 2, 3]))),
                Ok(PollingSegment::Text("6")),
            ]
        );
        for bad in [
            &[0, 9, 255, b'4'][..],
            &[2, 1, 255, b'4'],
            &[0, 1, 1],
            &[1, 2, 255, 3, 1],
            &[0, 2, 255, 0xff, 0xfe],
        ] {
            assert!(v3(bad).last().is_some_and(Result::is_err), "{bad:?}");
        }
    }

    #[test]
    fn v3_encoding_round_trips() {
        let frames = [
            Frame::Text("42[\"\u{20ac}\u{1F600}\"]".into()),
            Frame::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Frame::PING,
        ];
        let mut body = String::new();
        encode_payload_v3(&mut body, &frames);
        assert_eq!(body, "9:42[\"\u{20ac}\u{1F600}\"]10:b4AQIDBA==1:2");
        assert_eq!(
            v3(body.as_bytes()),
            [
                Ok(PollingSegment::Text("42[\"\u{20ac}\u{1F600}\"]")),
                Ok(PollingSegment::Binary(Bytes::from_static(&[1, 2, 3, 4]))),
                Ok(PollingSegment::Text("2")),
            ]
        );
        assert_eq!(
            decode_binary_v3(&Bytes::from_static(&[4, 9])).ok(),
            Some(Bytes::from_static(&[9]))
        );
        assert!(decode_binary_v3(&Bytes::from_static(&[3, 9])).is_err());
        assert!(decode_binary_v3(&Bytes::new()).is_err());
    }
}
