//! Connection state recovery (issue 3; socket.io-client's `test/connection-state-recovery.ts`),
//! against the Node server with `connectionStateRecovery` on: after a cut through the proxy the
//! server restores the session (same socket id, `recovered()`), the events it emitted while the
//! client was away arrive in order before the `connect` listener runs, and the offset the
//! server appends to every event does not disturb listeners that expect a fixed argument list.
//! No recovery after a server restart (a new process has no sessions), without an offset (the
//! client never received an event), or after the recovery window.

use std::time::Duration;

use ferrio::{DisconnectReason, Event, Manager, ManagerBuilder, Socket};
use ferrio_suite::*;

fn quick(url: &str, t: Transports) -> ManagerBuilder {
    builder(url, t)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .randomization_factor(0.0)
}

fn build(b: ManagerBuilder) -> Manager {
    b.build().expect("manager")
}

/// What the listeners of a socket saw, in the order they ran.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Missed(i64),
    Connect,
}

/// One inbox fed by both the `missed` and the `connect` listeners: the dispatch order.
fn missed_then_connect(s: &Socket) -> Inbox<Seen> {
    let ib = inbox("missed and connect");
    let tx = ib.sender();
    s.on("missed", move |ev: Event| {
        let tx = tx.clone();
        async move {
            // a listener that expects exactly one number: the trailing offset must not matter
            let (n,): (i64,) = ev.args().expect("(n,)");
            let _ = tx.send(Seen::Missed(n));
        }
    });
    let tx = ib.sender();
    s.on_connect(move || {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Seen::Connect);
        }
    });
    ib
}

/// Gives the socket an offset: the server's `hi` answer is an event (with the offset appended).
async fn receive_an_event(s: &Socket) {
    let mut hi = events(s, "hi");
    within(STEP, s.emit("hi", ())).await.expect("emit hi");
    hi.next(STEP).await;
}

/// Waits until the server noticed that the socket `id` is gone (its `disconnect` handler ran):
/// only then is its session kept for recovery. A server that misses a cut (a polling client
/// cut between two polls) notices it by its heartbeat, hence the fast one of [`peer`].
async fn server_noticed_the_disconnect(other: &Socket, id: &str) {
    server_noticed_disconnects(other, id, 1).await;
}

/// Waits until the server saw the socket `id` disconnect `count` times in all.
async fn server_noticed_disconnects(other: &Socket, id: &str, count: usize) {
    until_async(
        STEP,
        format!("the server noticed that {id} left"),
        || async {
            let reasons: Vec<String> = within(STEP, other.emit_with_ack("disconnectLog", id))
                .await
                .expect("disconnectLog");
            reasons.len() >= count
        },
    )
    .await;
}

/// A recovery-enabled server with a fast heartbeat.
async fn peer() -> NodePeer {
    NodePeer::start(
        PeerOptions::new()
            .recovery(true)
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(300)),
    )
    .await
}

/// Has the server emit `missed` with `0..n` to the socket id `room` (from another client).
async fn emit_missed(other: &Socket, room: &str, n: i64) {
    for i in 0..n {
        let _: bool = within(
            STEP,
            other.emit_with_ack(
                "emitTo",
                json!({"room": room, "event": "missed", "args": [i]}),
            ),
        )
        .await
        .expect("emitTo");
    }
}

transport_matrix!(missed_events_arrive_in_order_before_connect);

async fn missed_events_arrive_in_order_before_connect(t: Transports) {
    let peer = peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url(), t));
    let s = m.socket("/").build();
    let mut seen = missed_then_connect(&s);
    within(STEP, s.connect()).await.expect("connect");
    assert_eq!(seen.next(STEP).await, Seen::Connect);
    assert!(!s.recovered(), "a first connection recovers nothing");
    receive_an_event(&s).await;
    let id = s.id().expect("id");
    let mut down = disconnects(&s);

    proxy.set_mode(Mode::Cut);
    let reason = down.next(STEP).await;
    assert!(
        matches!(
            reason,
            DisconnectReason::TransportClose | DisconnectReason::TransportError
        ),
        "{reason:?}"
    );
    let (m2, other) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    server_noticed_the_disconnect(&other, &id).await;
    emit_missed(&other, &id, 5).await;
    proxy.set_mode(Mode::Pass);

    let order = seen.take(6, STEP).await;
    assert_eq!(
        order,
        [
            Seen::Missed(0),
            Seen::Missed(1),
            Seen::Missed(2),
            Seen::Missed(3),
            Seen::Missed(4),
            Seen::Connect
        ],
        "the missed events must come first, in order"
    );
    assert!(s.recovered(), "the session was not recovered");
    assert_eq!(
        s.id().as_deref(),
        Some(id.as_str()),
        "a recovered id is kept"
    );
    let hs = server::handshake(&s).await;
    assert_eq!(hs["recovered"], true);
    // and the events flow on, still with offsets
    emit_missed(&other, &id, 1).await;
    assert_eq!(seen.next(STEP).await, Seen::Missed(0));
    s.disconnect();
    other.disconnect();
    m.close();
    m2.close();
}

/// The trailing offset argument: the event has one more (string) argument than the server
/// emitted, and every fixed-arity decoding ignores it (the typed listeners rely on this).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offset_argument_does_not_disturb_fixed_argument_lists() {
    let peer = peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let mut back = events(&s, "echo-back");
    let (typed_tx, mut typed) = tokio::sync::mpsc::unbounded_channel();
    ferrio::typed::on::<(i64, String), _, _>(
        &s,
        "echo-back",
        ferrio::typed::Times::Every,
        move |args| {
            let tx = typed_tx.clone();
            async move {
                let _ = tx.send(args);
            }
        },
    );
    within(STEP, s.emit("echo", (7, "seven")))
        .await
        .expect("emit");
    let ev = back.next(STEP).await;
    assert_eq!(ev.len(), 3, "two arguments and the offset: {ev:?}");
    assert!(ev.arg::<String>(2).is_ok(), "the offset is a string");
    assert_eq!(
        ev.args::<(i64, String)>().expect("pair"),
        (7, "seven".into())
    );
    assert_eq!(ev.args::<i64>().expect("first"), 7);
    assert_eq!(
        within(STEP, typed.recv()).await,
        Some((7, "seven".to_owned()))
    );
    s.disconnect();
    m.close();
}

/// Each namespace recovers its own session in one reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_namespace_recovers_its_session() {
    let peer = peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url(), Transports::WebsocketOnly));
    let (root, mut root_up) = connect_watched(&m, "/").await;
    let (foo, mut foo_up) = connect_watched(&m, "/foo").await;
    receive_an_event(&root).await;
    receive_an_event(&foo).await;
    let (root_id, foo_id) = (root.id().expect("id"), foo.id().expect("id"));
    let mut root_missed = events(&root, "missed");
    let mut foo_missed = events(&foo, "missed");
    let mut down = disconnects(&foo);

    proxy.set_mode(Mode::Cut);
    down.next(STEP).await;
    let (m2, other) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    server_noticed_the_disconnect(&other, &root_id).await;
    emit_missed(&other, &root_id, 2).await;
    for i in 0..2 {
        let _: bool = within(
            STEP,
            other.emit_with_ack(
                "emitTo",
                json!({"nsp": "/foo", "room": foo_id, "event": "missed", "args": [10 + i]}),
            ),
        )
        .await
        .expect("emitTo /foo");
    }
    proxy.set_mode(Mode::Pass);
    root_up.next(STEP).await;
    foo_up.next(STEP).await;
    assert!(root.recovered() && foo.recovered());
    assert_eq!(root.id().as_deref(), Some(root_id.as_str()));
    assert_eq!(foo.id().as_deref(), Some(foo_id.as_str()));
    let root_got: Vec<i64> = root_missed
        .take(2, STEP)
        .await
        .iter()
        .map(|e| e.arg(0).expect("n"))
        .collect();
    let foo_got: Vec<i64> = foo_missed
        .take(2, STEP)
        .await
        .iter()
        .map(|e| e.arg(0).expect("n"))
        .collect();
    assert_eq!((root_got, foo_got), (vec![0, 1], vec![10, 11]));
    root.disconnect();
    foo.disconnect();
    other.disconnect();
    m.close();
    m2.close();
}

/// A missed binary event is restored with its attachment (and the offset after it), and a
/// recovered session recovers again at the next cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_missed_events_and_a_second_recovery() {
    #[derive(serde::Serialize)]
    struct EmitTo<'a> {
        room: &'a str,
        event: &'a str,
        args: (i64, bytes::Bytes),
    }
    let peer = peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url(), Transports::WebsocketOnly));
    let (s, mut up) = connect_watched(&m, "/").await;
    receive_an_event(&s).await;
    let id = s.id().expect("id");
    let mut missed = events(&s, "missed-bin");
    let mut down = disconnects(&s);
    let (m2, other) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;

    for round in 0..2i64 {
        proxy.set_mode(Mode::Cut);
        down.next(STEP).await;
        server_noticed_disconnects(&other, &id, round as usize + 1).await;
        let payload = bytes::Bytes::from(vec![round as u8, 0xff, 0x00]);
        let _: bool = within(
            STEP,
            other.emit_with_ack(
                "emitTo",
                EmitTo {
                    room: &id,
                    event: "missed-bin",
                    args: (round, payload.clone()),
                },
            ),
        )
        .await
        .expect("emitTo");
        proxy.set_mode(Mode::Pass);
        up.next(STEP).await;
        assert!(s.recovered(), "round {round}: not recovered");
        assert_eq!(s.id().as_deref(), Some(id.as_str()));
        let ev = missed.next(STEP).await;
        let (n, bytes): (i64, bytes::Bytes) = ev.args().expect("(n, bytes)");
        assert_eq!((n, bytes), (round, payload), "round {round}");
        assert_eq!(ev.len(), 3, "two arguments and the offset: {ev:?}");
    }
    s.disconnect();
    other.disconnect();
    m.close();
    m2.close();
}

/// A new server process has no session to restore: `recovered()` is false, the id is new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_recovered_after_a_server_restart() {
    let mut peer = NodePeer::start(PeerOptions::new().recovery(true)).await;
    let m = build(quick(&peer.url(), Transports::WebsocketOnly));
    let (s, mut up) = connect_watched(&m, "/").await;
    receive_an_event(&s).await;
    let id = s.id().expect("id");
    // recovered once through a cut of the engine connection (the same server)...
    let mut down = disconnects(&s);
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    down.next(STEP).await;
    up.next(STEP).await;
    assert!(s.recovered(), "the same server restores the session");
    assert_eq!(s.id().as_deref(), Some(id.as_str()));

    // ...but not by a new process on the same port
    peer.kill().await;
    down.next(STEP).await;
    peer.start_again().await;
    up.next(STEP * 2).await;
    assert!(
        !s.recovered(),
        "a restarted server cannot restore a session"
    );
    assert_ne!(s.id().as_deref(), Some(id.as_str()));
    let hs = server::handshake(&s).await;
    assert_eq!(hs["recovered"], false);
    s.disconnect();
    m.close();
}

/// Without a received event there is no offset, hence nothing to ask for: a new session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_recovered_without_an_offset() {
    let peer = peer().await;
    let m = build(quick(&peer.url(), Transports::WebsocketOnly));
    let (s, mut up) = connect_watched(&m, "/").await;
    let id = s.id().expect("id");
    let mut down = disconnects(&s);
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    down.next(STEP).await;
    up.next(STEP).await;
    assert!(!s.recovered());
    assert_ne!(s.id().as_deref(), Some(id.as_str()));
    s.disconnect();
    m.close();
}

/// Away longer than `maxDisconnectionDuration`: the session is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_recovered_after_the_recovery_window() {
    let window = Duration::from_millis(300);
    let peer = NodePeer::start(PeerOptions::new().recovery(true).recovery_duration(window)).await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url(), Transports::WebsocketOnly));
    let (s, mut up) = connect_watched(&m, "/").await;
    receive_an_event(&s).await;
    let id = s.id().expect("id");
    let mut down = disconnects(&s);
    proxy.set_mode(Mode::Cut);
    down.next(STEP).await;
    let (m2, other) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    server_noticed_the_disconnect(&other, &id).await;
    // stay away past the window (a sleep that creates the condition)
    tokio::time::sleep(window * 3).await;
    proxy.set_mode(Mode::Pass);
    up.next(STEP).await;
    assert!(!s.recovered());
    assert_ne!(s.id().as_deref(), Some(id.as_str()));
    s.disconnect();
    other.disconnect();
    m.close();
    m2.close();
}

/// socket.io-client buffers the missed events until the CONNECT answer is processed: their
/// listeners already see the socket connected, recovered, with its id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_event_listeners_see_the_recovered_socket() {
    let peer = peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url(), Transports::WebsocketOnly));
    let s = m.socket("/").build();
    let states = inbox("socket state inside the missed listener");
    let tx = states.sender();
    let me = s.clone();
    s.on("missed", move |_ev: Event| {
        let tx = tx.clone();
        let me = me.clone();
        async move {
            let _ = tx.send((me.connected(), me.recovered(), me.id()));
        }
    });
    let mut states = states;
    within(STEP, s.connect()).await.expect("connect");
    receive_an_event(&s).await;
    let id = s.id().expect("id");
    let mut down = disconnects(&s);
    proxy.set_mode(Mode::Cut);
    down.next(STEP).await;
    let (m2, other) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    server_noticed_the_disconnect(&other, &id).await;
    emit_missed(&other, &id, 2).await;
    proxy.set_mode(Mode::Pass);
    for _ in 0..2 {
        let (connected, recovered, seen_id) = states.next(STEP).await;
        assert!(
            connected && recovered,
            "connected {connected}, recovered {recovered}"
        );
        assert_eq!(seen_id.as_deref(), Some(id.as_str()));
    }
    s.disconnect();
    other.disconnect();
    m.close();
    m2.close();
}
