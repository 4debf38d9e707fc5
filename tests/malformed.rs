//! A server that sends a malformed packet (socket.io-client's "should close the engine upon
//! decoding exception"): a clear error, the connection closed with `parse error`, and a
//! reconnection on a fresh engine connection when reconnection is on.

use std::time::Duration;

use ferrio::{DisconnectReason, ManagerEvent};
use ferrio_suite::*;
use serde_json::Value;

transport_matrix!(garbage_closes_the_connection_with_parse_error);

async fn garbage_closes_the_connection_with_parse_error(t: Transports) {
    let peer = shared_peer().await;
    let m = builder(&peer.url(), t)
        .reconnection(false)
        .build()
        .expect("manager");
    let mut evs = m.events();
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    let mut any = any_events(&s);
    within(STEP, s.emit("garbage", ())).await.expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::ParseError);
    let ev = next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Close(_))).await;
    if let ManagerEvent::Close(reason) = ev {
        assert_eq!(reason.to_string(), "parse error");
    }
    assert!(!s.connected());
    assert!(
        m.engine_id().is_none(),
        "the engine connection is still open"
    );
    any.assert_quiet(Duration::from_millis(1)).await;
    m.close();
}

/// Everything socket.io-parser's decoder rejects, as raw Engine.IO messages from the server.
const MALFORMED: &[(&str, &str)] = &[
    ("an unknown packet type", r#""garbage""#),
    ("a packet type out of range", r#""9""#),
    ("truncated JSON", r#""2[\"event\"""#),
    ("EVENT data that is not an array", r#""2\"str\"""#),
    ("EVENT data that is an object", r#""2{\"a\":1}""#),
    ("an EVENT with a reserved name", r#""2[\"connect\"]""#),
    ("an EVENT with an empty array", r#""2[]""#),
    ("a CONNECT with non-object data", r#""0\"x\"""#),
    (
        "a binary frame when none is expected",
        r#"[{"$binary": "010203"}]"#,
    ),
    (
        "text while attachments are awaited",
        r#"["51-[\"a\",{\"_placeholder\":true,\"num\":0}]", "2[\"b\"]"]"#,
    ),
    (
        "a placeholder out of range",
        r#"["51-[\"a\",{\"_placeholder\":true,\"num\":5}]", {"$binary": "01"}]"#,
    ),
    ("a bad attachment count", r#""5x-[\"a\"]""#),
    ("an attachment count over the cap", r#""51000000-[\"a\"]""#),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_packet_is_a_parse_error() {
    let peer = shared_peer().await;
    let mut failures = Vec::new();
    for (what, raw) in MALFORMED {
        let raw: Value = serde_json::from_str(raw).expect("test vector");
        let m = builder(&peer.url(), Transports::WebsocketOnly)
            .reconnection(false)
            .build()
            .expect("manager");
        let s = within(STEP, m.socket("/").connect())
            .await
            .expect("connect");
        let mut down = disconnects(&s);
        within(STEP, s.emit("garbage", (raw,))).await.expect("emit");
        match down.try_next(STEP).await {
            Some(DisconnectReason::ParseError) => {}
            other => failures.push(format!("{what}: {other:?}")),
        }
        m.close();
    }
    assert!(
        failures.is_empty(),
        "not a `parse error`:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parse_error_reconnects_on_a_new_engine_connection() {
    let peer = shared_peer().await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(50))
        .build()
        .expect("manager");
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    let engine = m.engine_id().expect("engine id");
    within(STEP, s.emit("garbage", ())).await.expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::ParseError);
    assert!(
        s.active(),
        "a parse error must leave the socket trying to reconnect"
    );
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
    up.next(STEP).await;
    assert!(s.connected());
    assert_ne!(m.engine_id().as_deref(), Some(engine.as_str()));
    let v: i64 = within(STEP, s.emit_with_ack("echo", 1))
        .await
        .expect("echo after reconnect");
    assert_eq!(v, 1);
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_payload_for_a_listener_does_not_kill_the_connection() {
    // A well-formed event whose arguments do not fit the listener's type is the listener's
    // problem (an Err from Event::args), not a protocol error.
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let mut back = events(&s, "echo-back");
    within(STEP, s.emit("echo", "not a number"))
        .await
        .expect("emit");
    let ev = back.next(STEP).await;
    assert!(ev.arg::<u64>(0).is_err());
    assert!(ev.args::<(u64, u64)>().is_err());
    assert!(s.connected());
    let v: String = within(STEP, s.emit_with_ack("echo", "ok"))
        .await
        .expect("echo");
    assert_eq!(v, "ok");
    s.disconnect();
    m.close();
}
