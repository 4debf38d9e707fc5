//! Micro-benchmarks of the codec hot paths (criterion): what every emitted and every
//! received event costs before any I/O.
//!
//! ```sh
//! cargo bench -p ferrio --bench codec                 # all
//! cargo bench -p ferrio --bench codec -- decode/      # one group
//! ```
//!
//! - `encode/*`: an outgoing EVENT as [`packet::encode_event`] writes it (the Engine.IO
//!   text frame `42[...]` plus attachments): JSON values (the untyped API), a struct as a
//!   typed emit passes it (a one-element tuple, the macro's argument list), an event with
//!   an ack id, a binary event (a `Bytes` field becomes an attachment), and an ACK.
//! - `decode/*`: [`packet::decode`] of a received frame (header, event name, one raw slice
//!   per argument), text and binary.
//! - `args/*`: [`Args::decode`] of the decoded arguments into the declared types (what a
//!   typed listener does), text and binary.
//! - `receive/*`: the whole per-event receive path of the connection task and a typed
//!   listener: decode, [`Args::new`], the placeholder check, the typed decode.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrio::protocol::packet::{self, Body};
use ferrio::protocol::Args;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The harness's payload: `{"i":i,"text":"hello world"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Item {
    i: u64,
    text: String,
}

/// A payload with a binary field (an attachment on the wire).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct File {
    name: String,
    data: Bytes,
}

/// A received event: `4` + `2["push",{"i":..,"text":"hello world"}]`.
const PUSH: &str = r#"42["push",{"i":123456,"text":"hello world"}]"#;
/// A received binary event: header and placeholder; the attachment follows as a frame.
const FILE: &str = r#"451-["file",{"name":"photo.png","data":{"_placeholder":true,"num":0}}]"#;
/// A received ack with the `stats` reply.
const STATS_ACK: &str = r#"4317[{"count":200000,"total":200000,"conns":1}]"#;

fn item() -> Item {
    Item {
        i: 123_456,
        text: "hello world".to_owned(),
    }
}

fn file() -> File {
    File {
        name: "photo.png".to_owned(),
        data: Bytes::from(vec![7u8; 1024]),
    }
}

/// The arguments of a frame, as the connection task builds them.
fn args_of(frame: &Utf8Bytes, attachments: &[Bytes]) -> Args {
    let text = frame.as_str().get(1..).unwrap_or_default();
    let mut args = match packet::decode(text).map(|p| p.body) {
        Ok(Body::Event { args, .. } | Body::Ack { args }) => Args::new(frame.clone(), args),
        _ => Args::default(),
    };
    for attachment in attachments {
        args.push_attachment(attachment.clone());
    }
    args
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(1));
    let value = serde_json::json!({"i": 123_456, "text": "hello world"});
    g.bench_function("event_json_value", |b| {
        b.iter(|| packet::encode_event("/", "count", black_box(&value), None))
    });
    let typed = (item(),);
    g.bench_function("event_typed_struct", |b| {
        b.iter(|| packet::encode_event("/", "count", black_box(&typed), None))
    });
    g.bench_function("event_typed_struct_with_ack_id", |b| {
        b.iter(|| packet::encode_event("/", "echo", black_box(&typed), Some(black_box(4711))))
    });
    g.bench_function("event_typed_struct_nsp", |b| {
        b.iter(|| packet::encode_event("/chat", "count", black_box(&typed), None))
    });
    let binary = (file(),);
    g.bench_function("event_binary_1k", |b| {
        b.iter(|| packet::encode_event("/", "file", black_box(&binary), None))
    });
    g.bench_function("ack_typed_struct", |b| {
        b.iter(|| packet::encode_ack("/", black_box(17), black_box(&typed)))
    });
    g.finish();
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("event_text", |b| {
        b.iter(|| packet::decode(black_box(&PUSH[1..])).map(|p| p.id))
    });
    g.bench_function("event_binary", |b| {
        b.iter(|| packet::decode(black_box(&FILE[1..])).map(|p| p.attachments))
    });
    g.bench_function("ack_text", |b| {
        b.iter(|| packet::decode(black_box(&STATS_ACK[1..])).map(|p| p.id))
    });
    g.finish();
}

fn args(c: &mut Criterion) {
    let mut g = c.benchmark_group("args");
    g.throughput(Throughput::Elements(1));
    let push = args_of(&Utf8Bytes::from_static(PUSH), &[]);
    g.bench_function("typed_struct", |b| {
        b.iter(|| black_box(&push).decode::<(Item,)>())
    });
    g.bench_function("json_value", |b| {
        b.iter(|| black_box(&push).decode::<serde_json::Value>())
    });
    let data = Bytes::from(vec![7u8; 1024]);
    let file = args_of(&Utf8Bytes::from_static(FILE), std::slice::from_ref(&data));
    g.bench_function("typed_binary_struct_1k", |b| {
        b.iter(|| black_box(&file).decode::<(File,)>())
    });
    g.bench_function("check_placeholders_text", |b| {
        b.iter(|| black_box(&push).check_placeholders())
    });
    g.finish();
}

fn receive(c: &mut Criterion) {
    let mut g = c.benchmark_group("receive");
    g.throughput(Throughput::Elements(1));
    let push = Utf8Bytes::from_static(PUSH);
    g.bench_function("event_typed_struct", |b| {
        b.iter(|| {
            let args = args_of(black_box(&push), &[]);
            let _ = args.check_placeholders();
            args.decode::<(Item,)>()
        })
    });
    let frame = Utf8Bytes::from_static(FILE);
    let data = Bytes::from(vec![7u8; 1024]);
    g.bench_function("event_typed_binary_1k", |b| {
        b.iter(|| {
            let args = args_of(black_box(&frame), std::slice::from_ref(&data));
            let _ = args.check_placeholders();
            args.decode::<(File,)>()
        })
    });
    g.finish();
}

criterion_group!(benches, encode, decode, args, receive);
criterion_main!(benches);
