//! python-socketio as the server (issue 14 point 4): its `AsyncServer` on the aiohttp driver
//! (`tests/peer-python/server.py`, packages pinned by `requirements.txt`), for the main groups
//! on websocket only, polling only and polling with the upgrade: connect and namespaces, a
//! refused namespace, emit, acks both ways, binary, reconnection, server disconnect; and
//! `polling_post_limit`, without which python-engineio loses whole POSTs.
//!
//! Every test needs the venv (`support/python_peer.rs` makes it); without Python it prints
//! one `SKIPPED` line (`FERRIO_REQUIRE_PYTHON_PEER=1` fails instead).

use std::time::Duration;

use bytes::Bytes;
use ferrio::{DisconnectReason, Error, Event, Manager, ManagerBuilder, TransportKind};
use ferrio_suite::groups::Room;
use ferrio_suite::python_peer::{self, PythonPeer};
use ferrio_suite::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What python-engineio accepts in one POST, and a body size its aiohttp driver reads whole:
/// the setting the README advises for python-socketio servers.
const PYTHON_POST_LIMIT: (usize, usize) = (16, 64 * 1024);

async fn peer(args: &[&str]) -> Option<PythonPeer> {
    match PythonPeer::start(args).await {
        Ok(peer) => Some(peer),
        Err(e) => {
            python_peer::skip(&e);
            None
        }
    }
}

/// A builder for the peer over `t`, with the advised POST limit.
fn python_builder(url: &str, t: Transports) -> ManagerBuilder {
    builder(url, t).polling_post_limit(PYTHON_POST_LIMIT.0, PYTHON_POST_LIMIT.1)
}

async fn connect_to(peer: &PythonPeer, nsp: &str, t: Transports) -> (Manager, ferrio::Socket) {
    let m = python_builder(&peer.url(), t).build().expect("manager");
    let s = within(STEP, m.socket(nsp).connect())
        .await
        .unwrap_or_else(|e| panic!("connect {nsp} over {t:?}: {e}"));
    (m, s)
}

/// Waits until the transport is the one `t` settles on (the upgrade may still be under way
/// right after connecting).
async fn settled(m: &Manager, t: Transports) {
    let want = match t {
        Transports::PollingOnly => TransportKind::Polling,
        _ => TransportKind::Websocket,
    };
    until(STEP, format!("the transport is {want:?}"), || {
        m.transport() == Some(want)
    })
    .await;
}

transport_matrix!(
    connects_namespaces_on_one_connection,
    refused_and_unknown_namespaces_are_connect_errors,
    emits_and_receives,
    acks_both_ways,
    binary_both_ways,
    reconnects_after_the_server_closes_or_restarts,
    server_disconnect_does_not_reconnect,
);

async fn connects_namespaces_on_one_connection(t: Transports) {
    let Some(peer) = peer(&[]).await else { return };
    let (m, root) = connect_to(&peer, "/", t).await;
    let foo_socket = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    settled(&m, t).await;
    assert!(root.connected() && foo_socket.connected());
    assert!(root.id().is_some() && foo_socket.id().is_some() && root.id() != foo_socket.id());
    // Each namespace has its own handlers and its own socket on the server.
    let mut root_echo = events(&root, "echo");
    let mut foo_echo = events(&foo_socket, "echo");
    within(STEP, root.emit("echo", "on root"))
        .await
        .expect("emit");
    within(STEP, foo_socket.emit("echo", "on foo"))
        .await
        .expect("emit");
    assert_eq!(
        root_echo.next(STEP).await.arg::<String>(0).ok().as_deref(),
        Some("on root")
    );
    assert_eq!(
        foo_echo.next(STEP).await.arg::<String>(0).ok().as_deref(),
        Some("on foo")
    );
    // One Engine.IO connection carries both: the server saw one CONNECT of each.
    let lines = peer.lines();
    assert_eq!(
        lines.iter().filter(|l| *l == "CONNECT /").count(),
        1,
        "{lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| *l == "CONNECT /foo").count(),
        1,
        "{lines:?}"
    );
    // Disconnecting one namespace keeps the other.
    foo_socket.disconnect();
    until(STEP, "/foo disconnected", || !foo_socket.connected()).await;
    let back: String = within(STEP, root.emit_with_ack("ack", "still here"))
        .await
        .expect("root still connected");
    assert_eq!(back, "still here");
    m.close();
}

async fn refused_and_unknown_namespaces_are_connect_errors(t: Transports) {
    let Some(peer) = peer(&[]).await else { return };
    let m = python_builder(&peer.url(), t).build().expect("manager");
    let no = m.socket("/no").build();
    let mut errors = connect_errors(&no);
    match within(STEP, no.connect()).await {
        Err(Error::ConnectError(e)) => {
            assert_eq!(e.message, "refused");
            assert_eq!(e.data, Some(json!({"reason": "no"})));
        }
        other => panic!("expected the server's refusal, got {other:?}"),
    }
    assert_eq!(errors.next(STEP).await.message, "refused");
    // A refused namespace is not retried.
    errors.assert_quiet(Duration::from_millis(500)).await;
    match within(STEP, m.socket("/unknown").connect()).await {
        Err(Error::ConnectError(e)) => assert!(!e.message.is_empty()),
        other => panic!("expected a connect error for /unknown, got {other:?}"),
    }
    m.close();
}

async fn emits_and_receives(t: Transports) {
    let Some(peer) = peer(&[]).await else { return };
    let (m, s) = connect_to(&peer, "/", t).await;
    let mut echo = events(&s, "echo");
    let room = Room::named("r-1 ü 🦀");
    within(STEP, s.emit("echo", room.clone()))
        .await
        .expect("emit");
    assert_eq!(echo.next(STEP).await.arg::<Room>(0).expect("room"), room);
    within(STEP, s.emit("echo", ("two", 2, false, Value::Null)))
        .await
        .expect("emit");
    let (a, b, c, d): (String, i64, bool, Option<String>) =
        echo.next(STEP).await.args().expect("four arguments");
    assert_eq!((a.as_str(), b, c, d), ("two", 2, false, None));
    settled(&m, t).await;
    // Order across the upgrade (when there is one) and in a burst.
    for i in 0..100 {
        within(STEP, s.emit("echo", i)).await.expect("emit");
    }
    let got: Vec<i64> = echo
        .take(100, STEP)
        .await
        .iter()
        .map(|e| e.arg::<i64>(0).expect("number"))
        .collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    m.close();
}

async fn acks_both_ways(t: Transports) {
    let Some(peer) = peer(&[]).await else { return };
    let (m, s) = connect_to(&peer, "/", t).await;
    let (a, b, c): (String, i64, bool) = within(STEP, s.emit_with_ack("ack", ("a", 1, true)))
        .await
        .expect("ack");
    assert_eq!((a.as_str(), b, c), ("a", 1, true));
    let n: Option<String> = within(STEP, s.emit_with_ack("ack", Value::Null))
        .await
        .expect("null ack");
    assert_eq!(n, None);
    // The server asks: the client's listener answers, and the server reports the answer.
    let mut asked = inbox::<bool>("question");
    let tx = asked.sender();
    s.on("question", move |ev: Event| {
        let tx = tx.clone();
        async move {
            let q: String = ev.arg(0).unwrap_or_default();
            let ok = ev.ack(("answer to", q, 42)).await.is_ok();
            let _ = tx.send(ev.wants_ack() && ok);
        }
    });
    let mut answers = events(&s, "ackAnswer");
    within(STEP, s.emit("askForAck", "question"))
        .await
        .expect("emit");
    assert!(
        asked.next(STEP).await,
        "the server's ack request was not answered"
    );
    let (x, y, z): (String, String, i64) = answers.next(STEP).await.args().expect("answer");
    assert_eq!((x.as_str(), y.as_str(), z), ("answer to", "question", 42));
    m.close();
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Nested {
    text: String,
    inner: Inner,
    list: (Bytes, String, Bytes),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    bytes: Bytes,
}

async fn binary_both_ways(t: Transports) {
    let Some(peer) = peer(&[]).await else { return };
    let (m, s) = connect_to(&peer, "/", t).await;
    let mut echo = events(&s, "echo");
    let nested = Nested {
        text: "nested".into(),
        inner: Inner {
            bytes: Bytes::from_static(&[1, 2, 3]),
        },
        list: (
            Bytes::from_static(&[4, 5]),
            "x".into(),
            Bytes::from_static(&[0, 255]),
        ),
    };
    // Several attachments, nested, in an event and back.
    let top = Bytes::from_static(b"\x00top\xff");
    within(STEP, s.emit("echo", (top.clone(), nested.clone(), "plain")))
        .await
        .expect("emit");
    let (b, n, p): (Bytes, Nested, String) = echo.next(STEP).await.args().expect("binary echo");
    assert_eq!((b, n, p.as_str()), (top.clone(), nested.clone(), "plain"));
    // In an ack.
    let (b, n): (Bytes, Nested) =
        within(STEP, s.emit_with_ack("ack", (top.clone(), nested.clone())))
            .await
            .expect("binary ack");
    assert_eq!((b, n), (top, nested));
    // A larger buffer.
    let big = Bytes::from((0..20_000u32).map(|i| i as u8).collect::<Vec<u8>>());
    within(STEP, s.emit("echo", big.clone()))
        .await
        .expect("emit");
    assert_eq!(echo.next(STEP).await.arg::<Bytes>(0).expect("big"), big);
    m.close();
}

async fn reconnects_after_the_server_closes_or_restarts(t: Transports) {
    let Some(mut peer) = peer(&[]).await else {
        return;
    };
    let m = python_builder(&peer.url(), t)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(500))
        .build()
        .expect("manager");
    let mut manager_events = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    settled(&m, t).await;
    // The server ends the Engine.IO session.
    within(STEP, s.emit("closeTransport", ()))
        .await
        .expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::TransportClose);
    up.next(STEP).await;
    next_manager_event(&mut manager_events, STEP, |e| {
        matches!(e, ferrio::ManagerEvent::Reconnect(_))
    })
    .await;
    let v: i64 = within(STEP, s.emit_with_ack("ack", 1))
        .await
        .expect("after reconnect");
    assert_eq!(v, 1);
    // The server goes away and comes back on the same port: socket.io-client's reasons are
    // `transport close` for the websocket, `transport error` for the cut long poll.
    peer.process().stop().await;
    let expected = match t {
        Transports::PollingOnly => DisconnectReason::TransportError,
        _ => DisconnectReason::TransportClose,
    };
    assert_eq!(down.next(STEP).await, expected);
    peer.process().start_again().await;
    up.next(Duration::from_secs(10)).await;
    let v: i64 = within(STEP, s.emit_with_ack("ack", 2))
        .await
        .expect("after restart");
    assert_eq!(v, 2);
    m.close();
}

async fn server_disconnect_does_not_reconnect(t: Transports) {
    let Some(peer) = peer(&[]).await else { return };
    let m = python_builder(&peer.url(), t)
        .reconnection_delay(Duration::from_millis(50))
        .build()
        .expect("manager");
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    within(STEP, s.emit("disconnectMe", ()))
        .await
        .expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::IoServerDisconnect);
    assert!(!s.connected());
    up.assert_quiet(Duration::from_millis(500)).await;
    // The socket connects again when asked.
    within(STEP, s.connect()).await.expect("connect again");
    let v: i64 = within(STEP, s.emit_with_ack("ack", 3)).await.expect("ack");
    assert_eq!(v, 3);
    m.close();
}

// ---- python-engineio's POST limits ----------------------------------------------------------

/// How `send_numbered` pads its events: every `every`-th event carries `len` bytes more.
#[derive(Clone, Copy)]
struct Padding {
    every: u32,
    len: usize,
}

/// Emits `n` numbered `seq` events, the first `before` of them before the socket connects
/// (they wait in the send buffer and leave at once, in as few POSTs as the limit allows),
/// padded by `pad`, and returns the numbers the server received, in order.
async fn send_numbered(
    peer: &PythonPeer,
    limit: Option<(usize, usize)>,
    n: u32,
    before: u32,
    pad: Padding,
) -> Vec<u32> {
    let mut b = builder(&peer.url(), Transports::PollingOnly);
    if let Some((packets, bytes)) = limit {
        b = b.polling_post_limit(packets, bytes);
    }
    let m = b.build().expect("manager");
    let s = m.socket("/").build();
    let padding = "p".repeat(pad.len);
    let emit = |i: u32| {
        let s = s.clone();
        let pad = if i % pad.every == pad.every - 1 {
            padding.clone()
        } else {
            String::new()
        };
        async move { within(STEP, s.emit("seq", (i, pad))).await.expect("emit") }
    };
    for i in 0..before {
        emit(i).await;
    }
    within(STEP, s.connect()).await.expect("connect");
    for i in before..n {
        emit(i).await;
    }
    // Acked after everything before it was handled (python-socketio handles one client's
    // packets in order), over polling only. The report may leave in the same POST as the
    // last events; where that POST is dropped (the test without the limit), the report is
    // lost with it, so it is retried: a later try leaves in a POST of its own.
    let report = s.timeout(Duration::from_secs(5)).retries(3);
    let got: Vec<u32> = within(
        Duration::from_secs(30),
        report.emit_with_ack("seqReport", ()),
    )
    .await
    .expect("report");
    m.close();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_events_over_polling_arrive_in_order_with_the_post_limit() {
    let Some(peer) = peer(&[]).await else { return };
    let pad = Padding {
        every: 50,
        len: 20_000,
    };
    let got = send_numbered(&peer, Some(PYTHON_POST_LIMIT), 1000, 300, pad).await;
    assert_eq!(got.len(), 1000, "lost {} events", 1000 - got.len());
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
}

/// Large events: 16 of 30 KB would make a 480 KB body, which the aiohttp driver reads short
/// (the rest of the body is lost); the byte limit sends two per POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_events_over_polling_arrive_whole_with_the_byte_limit() {
    let Some(peer) = peer(&[]).await else { return };
    let pad = Padding {
        every: 1,
        len: 30_000,
    };
    let got = send_numbered(&peer, Some(PYTHON_POST_LIMIT), 64, 64, pad).await;
    assert_eq!(got, (0..64).collect::<Vec<_>>());
}

/// Why the limit exists (and that the test above can fail): without it, the events buffered
/// before the connection leave in one POST of more than 16 packets, which python-engineio
/// drops whole while answering 200.
// This asserts a bug of the pinned python-engineio (tests/peer-python/requirements.txt): an
// upgrade that fixes it turns this test red for a good reason; then keep the limit's tests
// and drop this one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_limit_python_engineio_drops_a_long_post() {
    let Some(peer) = peer(&[]).await else { return };
    let pad = Padding { every: 50, len: 0 };
    let got = send_numbered(&peer, None, 300, 300, pad).await;
    assert!(
        got.len() < 300,
        "python-engineio kept a POST of 300 packets: {}",
        got.len()
    );
}
