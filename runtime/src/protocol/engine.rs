//! Engine.IO protocol v4 packets: the frame layer under Socket.IO.
//!
//! A text packet is one type digit followed by its data (`4hello`, `2`, `0{"sid":..}`); a
//! binary message travels as a binary websocket frame with no type byte. Over HTTP
//! long-polling, several packets share one body, separated by the record separator `\x1e`,
//! binary messages written as `b<base64>`.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;

use super::ProtocolError;

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
/// bodies are length-prefixed (`96:0{"sid":..`) instead of separated by `\x1e`.
pub fn is_legacy_payload(body: &str) -> bool {
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && body.as_bytes().get(digits) == Some(&b':')
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
        assert!(is_legacy_payload("96:0{\"sid\":\"abc\"}2:40"));
        assert!(!is_legacy_payload("0{\"sid\":\"abc\"}"));
    }
}
