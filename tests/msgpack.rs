//! The msgpack parser (issue 14, point 3): `Parser::MsgPack` against the official Node
//! server configured with `socket.io-msgpack-parser` (pinned in `tests/peer`): the shared
//! groups (`support/groups.rs`) on the three transport modes, the wire shape (one binary
//! message per packet, no attachments), a typed socket unchanged, and malformed packets.

use std::time::Duration;

use bytes::Bytes;
use ferrio::{DisconnectReason, Manager, ManagerEvent, Parser};
use ferrio_suite::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

async fn start() -> NodePeer {
    NodePeer::start(PeerOptions::new().msgpack(true)).await
}

server_groups!(start => connect, namespaces, emit, acks, binary, reconnection, server_disconnect);

transport_matrix!(every_packet_is_one_binary_message);

/// The server received every packet as one binary message (its raw log shows `<binary N>`
/// for each, and one entry per packet: a packet with three buffers is one message, not a
/// text packet and three attachments); dates come as the default parser's ISO text.
async fn every_packet_is_one_binary_message(t: Transports) {
    let peer = start().await;
    assert_eq!(peer.state().await["parser"], "msgpack");
    let m = builder(&peer.url(), t)
        .parser(Parser::MsgPack)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let before = server::raw_log(&s).await;
    let three = (
        Bytes::from_static(&[1]),
        vec![Bytes::from_static(&[2]), Bytes::from_static(&[3])],
    );
    let d: Value = within(STEP, s.emit_with_ack("describe", three))
        .await
        .expect("describe");
    assert_eq!(
        d,
        json!([{"$binary": "01"}, [{"$binary": "02"}, {"$binary": "03"}]])
    );
    let after = server::raw_log(&s).await;
    assert_eq!(
        after.len(),
        before.len() + 2,
        "describe and rawLog, one message each: {after:?}"
    );
    assert!(
        after.iter().all(|packet| packet.starts_with("<binary ")),
        "{after:?}"
    );
    let date: String = within(STEP, s.emit_with_ack("getAckDate", ()))
        .await
        .expect("date");
    assert!(date.ends_with('Z') && date.len() == 24, "{date}");
    m.close();
}

/// A struct both ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Point {
    x: i32,
    y: i32,
    label: Option<String>,
}

/// A struct holding binary data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Blob {
    name: String,
    #[schemars(with = "Vec<u8>")]
    data: Bytes,
}

/// What `askForAck` is asked.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AskRequest {
    event: String,
    args: Vec<Value>,
}

/// What `askForAck` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AskResult {
    ok: bool,
    answer: Option<Vec<Value>>,
    error: Option<String>,
}

/// The peer's handlers, typed: the same declaration works with either parser.
#[ferrio::socketio_events(namespace = "/foo")]
pub trait Peer {
    /// `ack`: the server acks with the same arguments.
    #[emit(name = "ack")]
    fn bounce(point: Point) -> Point;
    /// `binary`: the server emits `binary-back` with the same arguments.
    #[emit]
    fn binary(blob: Blob);
    /// The server's `binary-back`.
    #[on(name = "binary-back")]
    fn binary_back(blob: Blob);
    /// `askForAck`: the server asks, then reports the answer.
    #[emit(name = "askForAck")]
    fn ask_for_ack(request: AskRequest) -> AskResult;
    /// The server asks; the listener's output is the ack.
    #[on]
    fn ask(question: String, n: u32) -> Point;
}

transport_matrix!(a_typed_socket_is_unchanged);

async fn a_typed_socket_is_unchanged(t: Transports) {
    let peer = start().await;
    let manager = builder(&peer.url(), t)
        .parser(Parser::MsgPack)
        .build()
        .expect("manager");
    let typed = within_for(STEP, "the typed connect", PeerSocket::connect(&manager))
        .await
        .expect("connect /foo");
    let point = Point {
        x: -3,
        y: 7,
        label: Some("ü".into()),
    };
    let back = within(STEP, typed.emit_bounce(point.clone()))
        .await
        .expect("bounce");
    assert_eq!(back, point);

    let mut blobs = inbox::<Blob>("binary-back");
    let tx = blobs.sender();
    typed.on_binary_back(move |blob| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(blob);
        }
    });
    let blob = Blob {
        name: "b".into(),
        data: Bytes::from_static(&[0, 255, 7]),
    };
    within(STEP, typed.emit_binary(blob.clone()))
        .await
        .expect("binary");
    assert_eq!(blobs.next(STEP).await, blob);

    typed.on_ask(|question, n| async move {
        Point {
            x: i32::try_from(n).unwrap_or(0),
            y: 0,
            label: Some(question),
        }
    });
    let result = within(
        STEP,
        typed.emit_ask_for_ack(AskRequest {
            event: "ask".into(),
            args: vec![json!("q"), json!(4)],
        }),
    )
    .await
    .expect("askForAck");
    assert_eq!(
        result.answer,
        Some(vec![json!({"x": 4, "y": 0, "label": "q"})])
    );
    manager.close();
}

/// Frames the msgpack parser refuses (or that the default decoder refuses once read), as
/// the server writes them: `{"$binary": hex}` is a binary message, a string a text one.
fn malformed() -> Vec<(&'static str, Value)> {
    let bin = |hex: String| json!({ "$binary": hex });
    let packet = |kind: &str, data: &str| format!("83a474797065{kind}a464617461{data}a36e7370a12f");
    vec![
        ("a text message", json!("2[\"a\"]")),
        ("the reserved byte 0xc1", bin("c1".into())),
        ("not a map", bin("93010203".into())),
        ("a binary packet type", bin(packet("05", "91a165"))),
        ("no namespace", bin("82a47479706502a46461746191a165".into())),
        ("EVENT data that is a map", bin(packet("02", "80"))),
        (
            "a truncated packet",
            bin("83a47479706502a46461746191a1".into()),
        ),
        (
            "a trailing byte",
            bin(format!("{}00", packet("02", "91a165"))),
        ),
        (
            "a reserved event name",
            bin(packet("02", "91a7636f6e6e656374")),
        ),
        ("an ACK without id", bin(packet("03", "90"))),
        (
            "more binary values than max_attachments",
            bin(packet("02", &format!("9ca162{}", "c40101".repeat(11)))),
        ),
        (
            "nesting deeper than 128",
            bin(packet("02", &format!("{}c0", "91".repeat(200)))),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_packet_is_a_parse_error() {
    let peer = start().await;
    let mut failures = Vec::new();
    for (what, raw) in malformed() {
        let m = builder(&peer.url(), Transports::WebsocketOnly)
            .parser(Parser::MsgPack)
            .reconnection(false)
            .build()
            .expect("manager");
        let s = within(STEP, m.socket("/").connect())
            .await
            .expect("connect");
        let mut down = disconnects(&s);
        let mut any = any_events(&s);
        within(STEP, s.emit("garbage", (raw,))).await.expect("emit");
        match down.try_next(STEP).await {
            Some(DisconnectReason::ParseError) => {}
            other => failures.push(format!("{what}: {other:?}")),
        }
        any.assert_quiet(Duration::from_millis(1)).await;
        m.close();
    }
    assert!(
        failures.is_empty(),
        "not a `parse error`:\n{}",
        failures.join("\n")
    );
}

/// Over polling too (the frame comes as `b<base64>` in a polling body), and the manager
/// reconnects on a new engine connection afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parse_error_over_polling_reconnects() {
    let peer = start().await;
    let m: Manager = builder(&peer.url(), Transports::PollingOnly)
        .parser(Parser::MsgPack)
        .reconnection_delay(Duration::from_millis(50))
        .build()
        .expect("manager");
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    let engine = m.engine_id().expect("engine id");
    within(STEP, s.emit("garbage", (json!({"$binary": "93010203"}),)))
        .await
        .expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::ParseError);
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
    up.next(STEP).await;
    assert_ne!(m.engine_id().as_deref(), Some(engine.as_str()));
    let v: i64 = within(STEP, s.emit_with_ack("echo", 1))
        .await
        .expect("echo after reconnect");
    assert_eq!(v, 1);
    m.close();
}

/// A client with the default parser against a msgpack server gets no connection to a
/// namespace: the server cannot read its CONNECT (socket.io drops the engine connection),
/// and `connect()` fails within its timeout instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parser_mismatch_fails_to_connect() {
    let peer = start().await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .timeout(Duration::from_millis(1500))
        .reconnection(false)
        .build()
        .expect("manager");
    let result = within(STEP, m.socket("/").connect()).await;
    assert!(result.is_err(), "connected with the wrong parser");
    m.close();
}

/// 10,000 emits, more than the 8,192 packets the flow control lets wait: each msgpack packet
/// counts as taken once written, so the emits never stall, and the server got them all, in
/// order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_emits_pass_the_flow_control() {
    let peer = start().await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .parser(Parser::MsgPack)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    within(Duration::from_secs(20), async {
        for i in 0..10_000u32 {
            s.emit("num", i).await.expect("emit");
        }
    })
    .await;
    let stats = server::stats(&s).await;
    let nums: Vec<u32> = serde_json::from_value(stats["nums"].clone()).expect("nums");
    assert_eq!(nums, (0..10_000).collect::<Vec<_>>());
    m.close();
}
