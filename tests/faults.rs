//! Real faults through the test support (issue 3's fault injection, the basic cases): a stalled
//! proxy gives a ping timeout, a cut proxy a transport close, `disconnectSockets()` an
//! `io server disconnect` without reconnection, and a server restarted on the same port is
//! reconnected to. Each test owns its server.

use std::time::Duration;

use ferrio::{DisconnectReason, ManagerEvent};
use ferrio_suite::*;

fn fast_heartbeat() -> PeerOptions {
    PeerOptions::new()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_network_gives_a_ping_timeout() {
    let peer = NodePeer::start(fast_heartbeat()).await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = builder(&proxy.url(), Transports::WebsocketOnly)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    proxy.set_mode(Mode::Stall);
    assert_eq!(down.next(STEP).await, DisconnectReason::PingTimeout);
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_network_gives_a_transport_close() {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let proxy = Proxy::start(peer.addr()).await;
    for t in [Transports::WebsocketOnly, Transports::PollingOnly] {
        let m = builder(&proxy.url(), t)
            .reconnection(false)
            .build()
            .expect("manager");
        let s = within(STEP, m.socket("/").connect())
            .await
            .expect("connect");
        let mut down = disconnects(&s);
        proxy.cut_connections();
        let reason = down.next(STEP).await;
        assert!(
            matches!(
                reason,
                DisconnectReason::TransportClose | DisconnectReason::TransportError
            ),
            "{t:?}: {reason:?}"
        );
        m.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_through_the_proxy_after_a_cut() {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = builder(&proxy.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build()
        .expect("manager");
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let first = s.id();
    proxy.set_mode(Mode::Cut);
    let attempt = next_manager_event(&mut evs, STEP, |e| {
        matches!(e, ManagerEvent::ReconnectAttempt(_))
    })
    .await;
    assert!(
        matches!(attempt, ManagerEvent::ReconnectAttempt(1)),
        "{attempt:?}"
    );
    proxy.set_mode(Mode::Pass);
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
    up.next(STEP).await;
    assert!(s.connected());
    assert_ne!(s.id(), first, "a reconnect without recovery gets a new id");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_sockets_gives_io_server_disconnect_and_no_reconnect() {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(10))
        .build()
        .expect("manager");
    let (root, mut root_up) = connect_watched(&m, "/").await;
    let nsp_foo = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    let mut root_down = disconnects(&root);
    let mut foo_down = disconnects(&nsp_foo);
    within(STEP, root.emit("disconnectAll", ()))
        .await
        .expect("emit");
    assert_eq!(
        root_down.next(STEP).await,
        DisconnectReason::IoServerDisconnect
    );
    assert_eq!(
        foo_down.next(STEP).await,
        DisconnectReason::IoServerDisconnect
    );
    root_up.assert_quiet(Duration::from_millis(200)).await;
    assert!(!root.active());
    assert!(!nsp_foo.active());
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_server_restarts_on_the_same_port() {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(200))
        .build()
        .expect("manager");
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    peer.kill().await;
    let reason = down.next(STEP).await;
    assert!(
        matches!(
            reason,
            DisconnectReason::TransportClose | DisconnectReason::TransportError
        ),
        "{reason:?}"
    );
    next_manager_event(&mut evs, STEP, |e| {
        matches!(e, ManagerEvent::ReconnectAttempt(_))
    })
    .await;
    peer.start_again().await;
    up.next(STEP).await;
    let v: i64 = within(STEP, s.emit_with_ack("echo", 1))
        .await
        .expect("echo after the restart");
    assert_eq!(v, 1);
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_the_session_after_a_cut() {
    let peer = NodePeer::start(PeerOptions::new().recovery(true)).await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = builder(&proxy.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(100))
        .build()
        .expect("manager");
    let (s, mut up) = connect_watched(&m, "/recovery").await;
    assert!(!s.recovered());
    let mut hi = events(&s, "hi");
    within(STEP, s.emit("hi", ())).await.expect("emit"); // an event gives the client an offset
    hi.next(STEP).await;
    let id = s.id().expect("id");
    let mut missed = events(&s, "missed");

    proxy.set_mode(Mode::Cut);
    // while the client is away, another client has the server emit to its room
    let (m2, other) = connect(&peer.url(), "/recovery", Transports::WebsocketOnly).await;
    // give the server the time to notice the close (it is immediate on a cut socket)
    for i in 0..3 {
        let _: bool = within(
            STEP,
            other.emit_with_ack(
                "emitTo",
                json!({"room": id, "event": "missed", "args": [i]}),
            ),
        )
        .await
        .expect("emitTo");
    }
    proxy.set_mode(Mode::Pass);
    up.next(STEP).await;
    assert!(s.recovered(), "the session was not recovered");
    assert_eq!(s.id().as_deref(), Some(id.as_str()));
    let got: Vec<i64> = missed
        .take(3, STEP)
        .await
        .iter()
        .map(|e| e.arg(0).expect("n"))
        .collect();
    assert_eq!(got, [0, 1, 2]);
    s.disconnect();
    other.disconnect();
    m.close();
    m2.close();
}
