//! socket.io 2.x servers (Engine.IO protocol 3, Socket.IO protocol 4), against the official
//! Node `socket.io` 2.5.x server of `tests/peer-v2/`: the same API as with 4.x servers, over
//! websocket only (`ServerVersion::V2`: a websocket handshake cannot tell the versions apart),
//! polling only and polling with the upgrade (`ServerVersion::Auto`, the default: the polling
//! handshake tells).

use std::time::Duration;

use bytes::Bytes;
use ferrio::{
    DisconnectReason, Error, ManagerBuilder, ManagerEvent, ServerVersion, Socket, TransportKind,
};
use ferrio_suite::*;
use serde::Deserialize;
use serde_json::{json, Value};

/// A manager builder for the v2 peer at `url`: websocket-only says which server this is, the
/// polling configurations find out.
fn v2_builder(url: &str, t: Transports) -> ManagerBuilder {
    let b = builder(url, t);
    match t {
        Transports::WebsocketOnly => b.server_version(ServerVersion::V2),
        _ => b,
    }
}

async fn v2_connect(url: &str, nsp: &str, t: Transports) -> (ferrio::Manager, Socket) {
    let m = v2_builder(url, t).build().expect("manager");
    let s = within(STEP, m.socket(nsp).connect())
        .await
        .unwrap_or_else(|e| panic!("cannot connect {nsp} over {t:?}: {e}"));
    (m, s)
}

/// Waits until the connection settled on the transport `t` ends with.
async fn settled(m: &ferrio::Manager, t: Transports) {
    let want = match t {
        Transports::PollingOnly => TransportKind::Polling,
        _ => TransportKind::Websocket,
    };
    until(STEP, format!("the transport to settle on {want:?}"), || {
        m.transport() == Some(want)
    })
    .await;
}

#[derive(Debug, Deserialize)]
struct WhoAmI {
    id: String,
    nsp: String,
    query: Value,
}

transport_matrix!(
    connects_the_root_and_namespaces,
    emits_and_acks_both_ways,
    binary_with_several_nested_attachments,
    refusals_are_connect_errors,
    server_disconnect_and_reconnection,
    ping_timeout_when_the_server_stops_answering,
    a_stalled_network_ends_in_a_ping_timeout,
    malformed_packets_close_with_parse_error,
);

/// `/` is connected by the server itself; `/chat` by a CONNECT of its own; socket ids are the
/// server's (`nsp#engine id`), the auth reaches the server as the namespace's query, and the
/// heartbeat (the client pings in Engine.IO v3) keeps the connection past several intervals.
async fn connects_the_root_and_namespaces(t: Transports) {
    let peer = NodePeer::start(PeerOptions::v2().ping_interval(Duration::from_millis(200))).await;
    let m = v2_builder(&peer.url(), t)
        .query("fromManager", "1")
        .build()
        .expect("manager");
    let mut events = m.events();
    let root = within(STEP, m.socket("/").connect()).await.expect("/");
    let chat = within(
        STEP,
        m.socket("/chat")
            .auth(json!({"token": "a b&c", "n": 7}))
            .connect(),
    )
    .await
    .expect("/chat");
    settled(&m, t).await;
    let engine_id = m.engine_id().expect("an engine id");
    let me: WhoAmI = within(STEP, root.emit_with_ack("whoami", ()))
        .await
        .expect("whoami /");
    assert_eq!(me.id, engine_id, "the root socket's id is the engine id");
    assert_eq!(root.id().as_deref(), Some(engine_id.as_str()));
    assert_eq!(me.nsp, "/");
    let me: WhoAmI = within(STEP, chat.emit_with_ack("whoami", ()))
        .await
        .expect("whoami /chat");
    assert_eq!(me.id, format!("/chat#{engine_id}"));
    assert_eq!(chat.id().as_deref(), Some(me.id.as_str()));
    assert_eq!(me.query["token"], "a b&c", "auth as query: {}", me.query);
    assert_eq!(me.query["n"], "7");
    assert_eq!(me.query["fromManager"], "1");
    // The client's pings are answered: three intervals pass without a ping timeout.
    for _ in 0..3 {
        next_manager_event(&mut events, STEP, |e| matches!(e, ManagerEvent::Ping)).await;
    }
    let v: u32 = within(STEP, chat.emit_with_ack("echo", 5))
        .await
        .expect("echo after the pings");
    assert_eq!(v, 5);
    assert!(root.connected() && chat.connected());
    // Leaving `/` and coming back on the same connection takes an explicit CONNECT.
    root.disconnect();
    let root = within(STEP, m.socket("/").connect())
        .await
        .expect("/ again");
    let me: WhoAmI = within(STEP, root.emit_with_ack("whoami", ()))
        .await
        .expect("whoami / again");
    assert_eq!(me.id, engine_id);
    m.close();
}

async fn emits_and_acks_both_ways(t: Transports) {
    let peer = shared_peer_v2().await;
    let (m, s) = v2_connect(&peer.url(), "/", t).await;
    let mut back = events(&s, "echo-back");
    s.emit("echo", ("héllo 😀", 1, json!({"k": [true, null]})))
        .await
        .expect("emit");
    let e = back.next(STEP).await;
    let (a, b, c): (String, u32, Value) = e.args().expect("echo-back args");
    assert_eq!(
        (a.as_str(), b, c),
        ("héllo 😀", 1, json!({"k": [true, null]}))
    );
    // An ack with several values, over a namespace too.
    let (x, y): (String, Vec<u8>) = within(STEP, s.emit_with_ack("echo", ("x", vec![1, 2])))
        .await
        .expect("ack");
    assert_eq!((x.as_str(), y), ("x", vec![1, 2]));
    let chat = within(STEP, m.socket("/chat").connect())
        .await
        .expect("/chat");
    let n: i64 = within(STEP, chat.emit_with_ack("echo", -3))
        .await
        .expect("ack on /chat");
    assert_eq!(n, -3);
    // The server asks, the client acks.
    s.on("ask", |e| async move {
        let (q,): (String,) = e.args().expect("ask args");
        let _ = e.ack((format!("{q}!"), 42)).await;
    });
    let mut answered = events(&s, "answered");
    s.emit("askForAck", "why").await.expect("askForAck");
    let (text, n): (String, u32) = answered.next(STEP).await.args().expect("answered");
    assert_eq!((text.as_str(), n), ("why!", 42));
    settled(&m, t).await;
    m.close();
}

/// Three attachments, two nested, both ways: the server's `bin`, and the client's binary
/// arguments echoed back (several per packet, nested in objects and arrays).
async fn binary_with_several_nested_attachments(t: Transports) {
    let peer = shared_peer_v2().await;
    let (m, s) = v2_connect(&peer.url(), "/", t).await;
    #[derive(Debug, Deserialize, PartialEq)]
    struct Nested {
        b: Bytes,
        list: (String, Bytes),
    }
    #[derive(Debug, Deserialize, PartialEq)]
    struct Bin {
        a: Bytes,
        nested: Nested,
    }
    let mut bin = events(&s, "bin");
    s.emit("sendBinary", ()).await.expect("sendBinary");
    let e = bin.next(STEP).await;
    assert_eq!(e.attachments().len(), 3);
    let (got, tail): (Bin, String) = e.args().expect("bin args");
    assert_eq!(got.a, Bytes::from_static(&[1, 2, 3]));
    assert_eq!(got.nested.b, Bytes::from_static(&[4, 5]));
    assert_eq!(got.nested.list, ("x".into(), Bytes::from_static(&[6])));
    assert_eq!(tail, "tail");
    let big = Bytes::from((0..70_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    let sent = (
        Bytes::from_static(&[0, 255]),
        json!({"k": "v"}),
        vec![Bytes::from_static(b"\x00\x01\x02"), big.clone()],
    );
    let back: (Bytes, Value, Vec<Bytes>) = within(STEP, s.emit_with_ack("echo", sent.clone()))
        .await
        .expect("binary echo");
    assert_eq!(back, sent);
    // Once more after the upgrade settled, so both transports carried binary.
    settled(&m, t).await;
    let back: Bytes = within(STEP, s.emit_with_ack("echo", big.clone()))
        .await
        .expect("binary echo after settling");
    assert_eq!(back, big);
    m.close();
    // With `force_base64` (`b64=1`), the server writes binary as `b4<base64>` text, in
    // polling bodies and websocket messages alike.
    let m = v2_builder(&peer.url(), t)
        .force_base64(true)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect()).await.expect("/");
    settled(&m, t).await;
    let mut bin = events(&s, "bin");
    s.emit("sendBinary", ()).await.expect("sendBinary");
    let (got, _): (Bin, String) = bin.next(STEP).await.args().expect("bin as base64");
    assert_eq!(got.nested.list.1, Bytes::from_static(&[6]));
    let back: (Bytes, Value, Vec<Bytes>) = within(STEP, s.emit_with_ack("echo", sent.clone()))
        .await
        .expect("binary echo as base64");
    assert_eq!(back, sent);
    m.close();
}

async fn refusals_are_connect_errors(t: Transports) {
    let peer = shared_peer_v2().await;
    let m = v2_builder(&peer.url(), t).build().expect("manager");
    let _root = within(STEP, m.socket("/").connect()).await.expect("/");
    // A middleware's error message.
    let no = m.socket("/no").build();
    let mut errors = connect_errors(&no);
    match within(STEP, no.connect()).await {
        Err(Error::ConnectError(e)) => assert_eq!(e.message, "Auth failed (custom namespace)"),
        other => panic!("/no: {other:?}"),
    }
    assert_eq!(
        errors.next(STEP).await.message,
        "Auth failed (custom namespace)"
    );
    // Its `data`, an object.
    match within(STEP, m.socket("/data-error").connect()).await {
        Err(Error::ConnectError(e)) => {
            assert_eq!(
                e.data,
                Some(json!({"content": "Please retry later", "code": 42}))
            )
        }
        other => panic!("/data-error: {other:?}"),
    }
    // An unknown namespace.
    match within(STEP, m.socket("/nowhere").connect()).await {
        Err(Error::ConnectError(e)) => assert_eq!(e.message, "Invalid namespace"),
        other => panic!("/nowhere: {other:?}"),
    }
    // The auth reaches the middleware as query: refused without, accepted with.
    match within(
        STEP,
        m.socket("/auth").auth(json!({"token": "no"})).connect(),
    )
    .await
    {
        Err(Error::ConnectError(e)) => assert_eq!(e.message, "not authorized"),
        other => panic!("/auth refused: {other:?}"),
    }
    // The connection is still good.
    let v: u8 = within(STEP, _root.emit_with_ack("echo", 1))
        .await
        .expect("echo");
    assert_eq!(v, 1);
    m.close();
    let m = v2_builder(&peer.url(), t).build().expect("manager");
    let auth = within(
        STEP,
        m.socket("/auth").auth(json!({"token": "secret"})).connect(),
    )
    .await
    .expect("/auth with the token");
    let v: u8 = within(STEP, auth.emit_with_ack("echo", 2))
        .await
        .expect("echo");
    assert_eq!(v, 2);
    m.close();
    // The root namespace's middleware refusing: every socket of the connection hears it.
    let m = v2_builder(&peer.url(), t)
        .query("fail", "1")
        .reconnection(false)
        .build()
        .expect("manager");
    let chat = m.socket("/chat").build();
    let root = m.socket("/").build();
    let (a, b) = tokio::join!(within(STEP, root.connect()), within(STEP, chat.connect()));
    for (nsp, r) in [("/", a), ("/chat", b)] {
        match r {
            Err(Error::ConnectError(e)) => {
                assert_eq!(e.message, "Auth failed (main namespace)", "{nsp}")
            }
            other => panic!("{nsp} with the root refused: {other:?}"),
        }
    }
    // A root auth cannot be sent to a 2.x server: refused with a message that says so.
    let m = v2_builder(&peer.url(), t).build().expect("manager");
    match within(STEP, m.socket("/").auth(json!({"token": "x"})).connect()).await {
        Err(Error::ConnectError(e)) => assert!(e.message.contains("query"), "{}", e.message),
        other => panic!("root auth: {other:?}"),
    }
}

/// The server disconnects a namespace (`io server disconnect`: no reconnection), then closes
/// the connection (`transport close`: the manager reconnects, with its events, and the
/// sockets connect again).
async fn server_disconnect_and_reconnection(t: Transports) {
    let peer = shared_peer_v2().await;
    let m = v2_builder(&peer.url(), t)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(200))
        .build()
        .expect("manager");
    let mut manager_events = m.events();
    let root = m.socket("/").build();
    let mut root_connects = connects(&root);
    within(STEP, root.connect()).await.expect("/");
    root_connects.next(STEP).await;
    let chat = within(STEP, m.socket("/chat").connect())
        .await
        .expect("/chat");
    let mut chat_disconnects = disconnects(&chat);
    settled(&m, t).await;
    chat.emit("disconnectMe", ()).await.expect("disconnectMe");
    assert_eq!(
        chat_disconnects.next(STEP).await,
        DisconnectReason::IoServerDisconnect
    );
    assert!(!chat.active(), "a server disconnect does not reconnect");
    assert!(root.connected(), "the other namespace stays");
    let mut root_disconnects = disconnects(&root);
    let before = m.engine_id();
    root.emit("closeMe", ()).await.expect("closeMe");
    assert_eq!(
        root_disconnects.next(STEP).await,
        DisconnectReason::TransportClose
    );
    next_manager_event(&mut manager_events, STEP, |e| {
        matches!(e, ManagerEvent::ReconnectAttempt(1))
    })
    .await;
    next_manager_event(&mut manager_events, STEP, |e| {
        matches!(e, ManagerEvent::Reconnect(1))
    })
    .await;
    root_connects.next(STEP).await;
    assert_ne!(m.engine_id(), before, "a new session");
    let v: u8 = within(STEP, root.emit_with_ack("echo", 9))
        .await
        .expect("echo after the reconnection");
    assert_eq!(v, 9);
    m.close();
}

/// The heartbeat of the two ping-timeout tests: a ping every 300 ms ...
const PING_INTERVAL: Duration = Duration::from_millis(300);
/// ... and 400 ms to answer it.
const PING_TIMEOUT: Duration = Duration::from_millis(400);

/// A 2.x server with that heartbeat.
fn short_heartbeat() -> PeerOptions {
    PeerOptions::v2()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
}

/// A manager that reconnects within 100 ms of a lost connection.
fn reconnecting_fast(url: &str, t: Transports) -> ferrio::Manager {
    v2_builder(url, t)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build()
        .expect("manager")
}

/// The socket disconnects in `ping timeout`, at most one interval until the next ping plus
/// the timeout after the heartbeat stopped (and some slack).
async fn ends_in_a_ping_timeout(gone: &mut Inbox<DisconnectReason>) {
    let started = std::time::Instant::now();
    assert_eq!(gone.next(STEP).await, DisconnectReason::PingTimeout);
    assert!(
        started.elapsed() < PING_INTERVAL + PING_TIMEOUT + Duration::from_millis(1500),
        "the ping timeout took {:?}",
        started.elapsed()
    );
}

/// In Engine.IO v3 the client pings; a server that stops answering is given up on
/// `pingTimeout` after the unanswered ping (`ping timeout`), and the manager reconnects.
async fn ping_timeout_when_the_server_stops_answering(t: Transports) {
    let peer = NodePeer::start(short_heartbeat()).await;
    let m = reconnecting_fast(&peer.url(), t);
    let mut manager_events = m.events();
    let (s, mut connected) = connect_watched(&m, "/").await;
    settled(&m, t).await;
    let mut gone = disconnects(&s);
    s.emit("stopPonging", ()).await.expect("stopPonging");
    ends_in_a_ping_timeout(&mut gone).await;
    next_manager_event(&mut manager_events, STEP, |e| {
        matches!(e, ManagerEvent::Close(DisconnectReason::PingTimeout))
    })
    .await;
    connected.next(STEP).await;
    let v: u8 = within(STEP, s.emit_with_ack("echo", 3))
        .await
        .expect("echo after the reconnection");
    assert_eq!(v, 3);
    m.close();
}

/// Nothing gets through either way (a stalled proxy): the client's ping goes unanswered, the
/// connection ends in `ping timeout`, and once the network passes again it reconnects.
async fn a_stalled_network_ends_in_a_ping_timeout(t: Transports) {
    let peer = NodePeer::start(short_heartbeat()).await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = reconnecting_fast(&proxy.url(), t);
    let (s, mut connected) = connect_watched(&m, "/").await;
    settled(&m, t).await;
    let mut gone = disconnects(&s);
    proxy.set_mode(Mode::Stall);
    ends_in_a_ping_timeout(&mut gone).await;
    proxy.set_mode(Mode::Pass);
    connected.next(STEP).await;
    let v: u8 = within(STEP, s.emit_with_ack("echo", 5))
        .await
        .expect("echo after the stall");
    assert_eq!(v, 5);
    m.close();
}

/// A packet socket.io-parser would reject closes the connection with `parse error` (no
/// panic, no hang), and the manager reconnects.
async fn malformed_packets_close_with_parse_error(t: Transports) {
    let peer = shared_peer_v2().await;
    let m = v2_builder(&peer.url(), t)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build()
        .expect("manager");
    let (s, mut connected) = connect_watched(&m, "/").await;
    settled(&m, t).await;
    for garbage in [
        r#"2{"not":"an array"}"#,
        "9",
        r#"51-["x",{"_placeholder":true,"num":5}]"#,
    ] {
        let mut gone = disconnects(&s);
        s.emit("garbage", garbage).await.expect("garbage");
        if garbage.starts_with("51-") {
            // The attachment it announces never comes; the next text packet is the error.
            s.emit("echo", 1).await.expect("echo");
        }
        assert_eq!(
            gone.next(STEP).await,
            DisconnectReason::ParseError,
            "{garbage}"
        );
        connected.next(STEP).await;
    }
    let v: u8 = within(STEP, s.emit_with_ack("echo", 4))
        .await
        .expect("echo after the reconnections");
    assert_eq!(v, 4);
    m.close();
}

/// Engine.IO frames a socket.io 2 server would never send, over the websocket: an unknown
/// packet type is a `parse error`, a binary message whose type byte is not a message's, or
/// bad base64 in a `b4` text, a `transport error`; no panic, and the manager reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_engine_frames_over_the_websocket() {
    let panics = PanicCounter::start();
    let peer = shared_peer_v2().await;
    let m = v2_builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build()
        .expect("manager");
    let (s, mut connected) = connect_watched(&m, "/").await;
    let cases = [
        (json!("9"), DisconnectReason::ParseError),
        (json!([9, 1, 2]), DisconnectReason::TransportError),
        (json!([]), DisconnectReason::TransportError),
        (json!("b4!!"), DisconnectReason::TransportError),
        (json!("b3AQID"), DisconnectReason::TransportError),
    ];
    for (frame, reason) in cases {
        let mut gone = disconnects(&s);
        s.emit("rawFrame", frame.clone()).await.expect("rawFrame");
        assert_eq!(gone.next(STEP).await, reason, "{frame}");
        connected.next(STEP).await;
    }
    let v: u8 = within(STEP, s.emit_with_ack("echo", 8))
        .await
        .expect("echo after the reconnections");
    assert_eq!(v, 8);
    m.close();
    panics.assert_none();
}

/// `ServerVersion::V3OrLater` refuses a 2.x server clearly, by its polling framing or by its
/// answer to a CONNECT over the websocket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_or_later_refuses_a_2x_server() {
    let peer = shared_peer_v2().await;
    for t in [Transports::PollingOnly, Transports::WebsocketOnly] {
        let m = builder(&peer.url(), t)
            .server_version(ServerVersion::V3OrLater)
            .build()
            .expect("manager");
        match within(STEP, m.socket("/").connect()).await {
            Err(e @ Error::LegacyServer) => {
                assert!(e.to_string().contains("V3OrLater"), "{t:?}: {e}")
            }
            other => panic!("{t:?}: {other:?}"),
        }
    }
}

/// Under `Auto`, a websocket-only connection finds a 2.x server too: its first session gives
/// the server away (a CONNECT answer without sid) and a second one opens in the 2.x protocol
/// at once; the manager remembers, so a reconnection opens one session only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_finds_a_2x_server_over_the_websocket_too() {
    let peer = NodePeer::start(PeerOptions::v2()).await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build()
        .expect("manager");
    let mut manager_events = m.events();
    let root = m.socket("/").build();
    let mut root_connects = connects(&root);
    within(STEP, root.connect()).await.expect("/");
    let chat = within(
        STEP,
        m.socket("/chat").auth(json!({"token": "t"})).connect(),
    )
    .await
    .expect("/chat");
    root_connects.next(STEP).await;
    let me: WhoAmI = within(STEP, chat.emit_with_ack("whoami", ()))
        .await
        .expect("whoami");
    assert_eq!(me.query["token"], "t");
    assert_eq!(
        me.id,
        format!("/chat#{}", m.engine_id().expect("engine id"))
    );
    for _ in 0..2 {
        next_manager_event(&mut manager_events, STEP, |e| {
            matches!(e, ManagerEvent::Open)
        })
        .await;
    }
    assert_eq!(peer.state().await["connections"], 2, "two sessions");
    // A reconnection asks for the 2.x protocol directly: one session.
    root.emit("closeMe", ()).await.expect("closeMe");
    next_manager_event(&mut manager_events, STEP, |e| {
        matches!(e, ManagerEvent::Reconnect(_))
    })
    .await;
    root_connects.next(STEP).await;
    assert_eq!(peer.state().await["connections"], 3, "one more session");
    let v: u8 = within(STEP, root.emit_with_ack("echo", 6))
        .await
        .expect("echo after the reconnection");
    assert_eq!(v, 6);
    m.close();
}

/// `remember_upgrade`: after an upgrade found a 2.x server, a reconnection opens with the
/// websocket directly, in the 2.x protocol (the manager remembers the server's version).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_upgrade_reopens_in_the_2x_protocol() {
    let peer = NodePeer::start(PeerOptions::v2()).await;
    let m = builder(&peer.url(), Transports::PollingUpgrade)
        .remember_upgrade(true)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build()
        .expect("manager");
    let (s, mut connected) = connect_watched(&m, "/").await;
    settled(&m, Transports::PollingUpgrade).await;
    s.emit("closeMe", ()).await.expect("closeMe");
    connected.next(STEP).await;
    assert_eq!(m.transport(), Some(TransportKind::Websocket));
    assert_eq!(
        peer.state().await["connections"],
        2,
        "one session per connection"
    );
    let v: u8 = within(STEP, s.emit_with_ack("echo", 7))
        .await
        .expect("echo after the reconnection");
    assert_eq!(v, 7);
    m.close();
}

/// `ServerVersion::V2` against a 4.x server: a clear failure, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_against_a_4x_server_fails_clearly() {
    let peer = shared_peer().await;
    for t in [Transports::PollingOnly, Transports::WebsocketOnly] {
        let m = builder(&peer.url(), t)
            .server_version(ServerVersion::V2)
            .reconnection(false)
            .build()
            .expect("manager");
        match within(STEP, m.socket("/").connect()).await {
            // Over polling the HTTP 400 is seen as such; over the websocket engine.io 6
            // writes it after its `101`, a broken frame.
            Err(Error::Transport(message)) => assert!(
                message.contains("EIO=3")
                    && (t == Transports::WebsocketOnly || message.contains("HTTP 400")),
                "{t:?}: {message}"
            ),
            other => panic!("{t:?}: {other:?}"),
        }
    }
}

/// A named byte buffer; the bytes travel as a binary attachment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize, schemars::JsonSchema)]
pub struct Blob {
    name: String,
    #[schemars(with = "Vec<u8>")]
    data: Bytes,
}

/// The v2 peer's handlers, typed: the same declaration as for a 4.x server.
#[ferrio::socketio_events(namespace = "/chat")]
pub trait LegacyPeer {
    /// `echo`: the server acks with the same arguments.
    #[emit(name = "echo")]
    fn bounce(blob: Blob) -> Blob;
    /// `askForAck`: the server emits `ask` with the question, asking for an ack.
    #[emit(name = "askForAck")]
    fn ask_for_ack(question: String);
    /// The server's question; the listener's output is the ack.
    #[on]
    fn ask(question: String) -> String;
    /// What the server got as the ack of `ask`.
    #[on]
    fn answered(answer: String);
}

transport_matrix!(typed_sockets_are_the_same);

async fn typed_sockets_are_the_same(t: Transports) {
    let peer = shared_peer_v2().await;
    let m = v2_builder(&peer.url(), t).build().expect("manager");
    let typed = LegacyPeerSocket::builder(&m)
        .auth(json!({"token": "typed"}))
        .build();
    typed.on_ask(|question| async move { format!("{question}?!") });
    let answered = inbox::<String>("answered");
    let tx = answered.sender();
    typed.on_answered(move |answer| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(answer);
        }
    });
    within(STEP, typed.socket().connect())
        .await
        .expect("typed connect");
    let blob = Blob {
        name: "b".into(),
        data: Bytes::from_static(&[9, 8, 7]),
    };
    let back = within(STEP, typed.emit_bounce(blob.clone()))
        .await
        .expect("typed ack");
    assert_eq!(back, blob);
    within(STEP, typed.emit_ask_for_ack("why".into()))
        .await
        .expect("askForAck");
    let mut answered = answered;
    assert_eq!(answered.next(STEP).await, "why?!");
    let me: WhoAmI = within(STEP, typed.socket().emit_with_ack("whoami", ()))
        .await
        .expect("whoami");
    assert_eq!(me.query["token"], "typed");
    m.close();
}
