//! Feeds arbitrary bytes to every decoder a server's bytes reach: Engine.IO text packets,
//! long-polling bodies (v4 and v3), Socket.IO packets, msgpack packets, binary placeholders
//! and typed argument decoding.
//! Any panic, hang or runaway allocation is a finding.

#![no_main]

use bytes::Bytes;
use ferrio::protocol::{binary, engine, msgpack, packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = msgpack::decode(&Bytes::copy_from_slice(data)) {
        let _ = packet::decode(&decoded.text[1..]);
    }
    // Engine.IO v3 (socket.io 2) bodies and binary frames are bytes, in either framing.
    let bytes = Bytes::copy_from_slice(data);
    for segment in engine::decode_payload_v3(&bytes) {
        let _ = segment;
    }
    let _ = engine::decode_binary_v3(&bytes);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = engine::decode_text_v3(text);
    let _ = engine::decode_text(text);
    for segment in engine::decode_payload(text) {
        let _ = segment;
    }
    if let Ok(packet) = packet::decode(text) {
        let raw: Vec<&str> = match &packet.body {
            packet::Body::Event { args, .. } | packet::Body::Ack { args } => args.iter().collect(),
            _ => Vec::new(),
        };
        let attachments = vec![Bytes::from_static(b"\x00\x01"); packet.attachments.min(4)];
        for arg in &raw {
            let _ = binary::check_placeholders(arg, attachments.len());
            let _ = binary::from_json::<serde_json::Value>(arg, &attachments);
        }
        let _ = binary::from_args::<(String, u64, Option<Bytes>)>(&raw, &attachments);
    }
});
