//! The table of close reasons (README, "Guarantees"): for each fault, the reason the
//! `disconnect` listeners get and whether the client reconnects, as socket.io-client reports
//! them. Rows covered by another suite name it in the README; the rest are here, each against
//! the official Node server, with real faults through the loopback proxy.

use std::time::Duration;

use ferrio::{DisconnectReason, Manager, ManagerEvent, Socket};
use ferrio_suite::*;

/// A quick reconnection, so rows that reconnect show it within a step.
fn client(url: &str, t: Transports) -> Manager {
    builder(url, t)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build()
        .expect("manager")
}

/// Connects and waits until the transport settled (websocket after an upgrade).
async fn connected(m: &Manager, t: Transports) -> (Socket, Inbox<()>) {
    let (s, up) = connect_watched(m, "/").await;
    let settled = t.settled_transport();
    until(STEP, format!("the transport is {settled}"), || {
        m.transport().map(|k| k.as_str()) == Some(settled)
    })
    .await;
    (s, up)
}

/// The reason of the next disconnection, and then (when it should) the reconnection.
async fn expect_row(
    s: &Socket,
    down: &mut Inbox<DisconnectReason>,
    up: &mut Inbox<()>,
    reason: DisconnectReason,
    reconnects: bool,
    row: &str,
) {
    let got = down.next(STEP).await;
    assert_eq!(got, reason, "{row}");
    assert_eq!(got.reconnects(), reconnects, "{row}: reconnects?");
    if reconnects {
        assert!(s.active(), "{row}: the socket stays active");
        within_for(Duration::from_secs(10), row.to_owned(), up.next(STEP)).await;
    } else {
        assert!(!s.active(), "{row}: the socket stopped");
    }
}

transport_matrix!(an_engine_close_packet_is_transport_close);

/// The server closes the Engine.IO session (its `1` packet): `transport close`, reconnects.
async fn an_engine_close_packet_is_transport_close(t: Transports) {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let m = client(&peer.url(), t);
    let (s, mut up) = connected(&m, t).await;
    let mut down = disconnects(&s);
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    let row = format!("{t:?}: engine close packet");
    expect_row(
        &s,
        &mut down,
        &mut up,
        DisconnectReason::TransportClose,
        true,
        &row,
    )
    .await;
    m.close();
}

/// The websocket ends with a close frame and no Engine.IO close packet (a proxy closing it
/// cleanly): `transport close`, reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_close_frame_is_transport_close() {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let t = Transports::WebsocketOnly;
    let m = client(&peer.url(), t);
    let (s, mut up) = connected(&m, t).await;
    let mut down = disconnects(&s);
    within(STEP, s.emit("closeWebsocket", ()))
        .await
        .expect("emit");
    let row = "websocket close frame";
    expect_row(
        &s,
        &mut down,
        &mut up,
        DisconnectReason::TransportClose,
        true,
        row,
    )
    .await;
    m.close();
}

transport_matrix!(a_connection_reset_is_transport_error);

/// The TCP connection is reset (RST): `transport error` on every transport, reconnects.
async fn a_connection_reset_is_transport_error(t: Transports) {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = client(&proxy.url(), t);
    let (s, mut up) = connected(&m, t).await;
    let mut down = disconnects(&s);
    proxy.reset_connections();
    let row = format!("{t:?}: connection reset");
    expect_row(
        &s,
        &mut down,
        &mut up,
        DisconnectReason::TransportError,
        true,
        &row,
    )
    .await;
    m.close();
}

transport_matrix!(a_cut_connection);

/// The network path closes the connection (FIN, no close frame): a websocket reports
/// `transport close` (as the browser's and Node's `ws` do, code 1006), polling a failed
/// request, `transport error`; both reconnect.
async fn a_cut_connection(t: Transports) {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = client(&proxy.url(), t);
    let (s, mut up) = connected(&m, t).await;
    let mut down = disconnects(&s);
    proxy.cut_connections();
    let reason = match t {
        Transports::PollingOnly => DisconnectReason::TransportError,
        _ => DisconnectReason::TransportClose,
    };
    let row = format!("{t:?}: connection cut");
    expect_row(&s, &mut down, &mut up, reason, true, &row).await;
    m.close();
}

transport_matrix!(a_stalled_connection_is_ping_timeout);

/// Nothing arrives any more (a dead path): `ping timeout` after the heartbeat, reconnects.
async fn a_stalled_connection_is_ping_timeout(t: Transports) {
    let peer = NodePeer::start(
        PeerOptions::new()
            .ping_interval(Duration::from_millis(200))
            .ping_timeout(Duration::from_millis(200)),
    )
    .await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = client(&proxy.url(), t);
    let (s, mut up) = connected(&m, t).await;
    let mut down = disconnects(&s);
    proxy.set_mode(Mode::Stall);
    let got = down.next(STEP).await;
    assert_eq!(got, DisconnectReason::PingTimeout, "{t:?}: stall");
    assert!(s.active(), "{t:?}: stall: the socket stays active");
    proxy.set_mode(Mode::Pass);
    proxy.cut_connections();
    within_for(Duration::from_secs(10), "the reconnection", up.next(STEP)).await;
    m.close();
}

/// `socket.disconnect()`: `io client disconnect`, no reconnection, the session closes (it
/// was the last socket).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_disconnect_is_io_client_disconnect() {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let t = Transports::WebsocketOnly;
    let m = client(&peer.url(), t);
    let mut events = m.events();
    let (s, mut up) = connected(&m, t).await;
    let mut down = disconnects(&s);
    s.disconnect();
    let row = "client disconnect";
    expect_row(
        &s,
        &mut down,
        &mut up,
        DisconnectReason::IoClientDisconnect,
        false,
        row,
    )
    .await;
    next_manager_event(&mut events, STEP, |e| {
        matches!(e, ManagerEvent::Close(DisconnectReason::ForcedClose))
    })
    .await;
    assert_eq!(m.engine_id(), None);
}

/// `manager.close()`: `forced close`, no reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_close_is_forced_close() {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let t = Transports::WebsocketOnly;
    let m = client(&peer.url(), t);
    let (s, mut up) = connected(&m, t).await;
    let mut down = disconnects(&s);
    m.close();
    let row = "manager close";
    expect_row(
        &s,
        &mut down,
        &mut up,
        DisconnectReason::ForcedClose,
        false,
        row,
    )
    .await;
    up.assert_quiet(Duration::from_millis(300)).await;
}

transport_matrix!(the_server_sees_a_client_namespace_disconnect);

/// `socket.disconnect()` of the last socket closes the session, but the DISCONNECT queued
/// before goes out first: the server's reason is `client namespace disconnect`, not
/// `transport close`.
async fn the_server_sees_a_client_namespace_disconnect(t: Transports) {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let key = format!("graceful-{t:?}");
    let m = builder(&peer.url(), t)
        .query("statsKey", &key)
        .build()
        .expect("manager");
    let (s, _up) = connected(&m, t).await;
    s.disconnect();
    let (_observer_manager, observer) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let reasons = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    until_async(STEP, "the server saw the socket leave", || {
        let (observer, key, reasons) = (observer.clone(), key.clone(), reasons.clone());
        async move {
            let got: Vec<String> = within(STEP, observer.emit_with_ack("disconnectLog", key))
                .await
                .expect("disconnectLog");
            let seen = !got.is_empty();
            *reasons.lock().expect("lock") = got;
            seen
        }
    })
    .await;
    let reasons = reasons.lock().expect("lock").clone();
    assert_eq!(reasons, ["client namespace disconnect"], "{t:?}");
}

transport_matrix!(awaiting_disconnect_writes_everything_before_the_program_ends);

/// A program that emits, awaits `disconnect()` and ends (its runtime dropped, every task of
/// the client with it) has delivered every event and its DISCONNECT: the server received all
/// the events and saw the reason `client namespace disconnect`.
async fn awaiting_disconnect_writes_everything_before_the_program_ends(t: Transports) {
    const N: i64 = 500;
    let peer = NodePeer::start(PeerOptions::new()).await;
    let key = format!("program-ends-{t:?}");
    let (url, program_key) = (peer.url(), key.clone());
    let program = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let m = builder(&url, t)
                .query("statsKey", &program_key)
                .build()
                .expect("manager");
            let s = within(STEP, m.socket("/").connect())
                .await
                .expect("connect");
            for i in 0..N {
                s.emit("num", i).await.expect("emit");
            }
            within(STEP, s.disconnect()).await;
        });
        // The runtime is dropped here, as when `main` returns.
    });
    within(STEP, tokio::task::spawn_blocking(move || program.join()))
        .await
        .expect("join")
        .expect("the program did not panic");
    let observer_manager = builder(&peer.url(), Transports::WebsocketOnly)
        .query("statsKey", &key)
        .build()
        .expect("manager");
    let observer = within(STEP, observer_manager.socket("/").connect())
        .await
        .expect("connect");
    // Delivered: the server's catch-all listener counted every event. (Its `num` handler
    // may skip the last ones: socket.io runs named handlers a tick later and drops those of
    // a socket that left in the meantime, with any client.)
    until_async(
        STEP,
        format!("{t:?}: the server counted {N} events"),
        || {
            let observer = observer.clone();
            async move { server::stats(&observer).await["events"]["num"] == N }
        },
    )
    .await;
    let reasons: Vec<String> = within(STEP, observer.emit_with_ack("disconnectLog", key))
        .await
        .expect("disconnectLog");
    assert_eq!(reasons, ["client namespace disconnect"], "{t:?}");
}
