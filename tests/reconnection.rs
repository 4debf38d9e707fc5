//! Reconnection (issue 3), ported from socket.io-client's `test/connection.ts` ("should
//! reconnect by default", "should reconnect manually", "should attempt reconnects after a
//! failed reconnect", "reconnect delay should increase every time", "should not reconnect when
//! force closed", "should stop reconnecting when force closed", "should reconnect after
//! stopping reconnection", "should stop reconnecting on a socket and keep to reconnect on
//! another", "should fire reconnect_* events on manager", "should not try to reconnect and
//! should form a connection when connecting to correct port", "should still try to reconnect
//! twice after opening another socket asynchronously"), plus the rules of issue 3: the manager
//! events in the reference client's order, `auth` as a function evaluated at every connect, a
//! new socket id after a reconnection, `active()` while the client will reconnect.
//!
//! ("should not try to reconnect with incorrect port when reconnection disabled" is
//! `connect_errors.rs`'s `a_refused_port_fails_the_connect_without_reconnect_attempts`.) The
//! reference client's setters at run time (`manager.reconnection(v)`,
//! `reconnectionAttempts(v)`, ...) are `Manager::set_reconnection(..)` and its siblings.
//!
//! Faults are real: the server closes the engine connection (`closeEngine`), a loopback proxy
//! cuts the connections and refuses new ones, or nobody listens on the port.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrio::{DisconnectReason, Error, Manager, ManagerBuilder, ManagerEvent};
use ferrio_suite::*;
use serde_json::Value;
use tokio::net::TcpListener;

/// A loopback port nobody listens on.
async fn refused_port() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// A client of `url` over websocket with a quick, deterministic reconnection.
fn quick(url: &str) -> ManagerBuilder {
    builder(url, Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(100))
        .randomization_factor(0.0)
}

fn build(b: ManagerBuilder) -> Manager {
    b.build().expect("manager")
}

/// The manager's events (pings left out), each with the instant it was received, collected by
/// a task of its own so the timestamps do not wait for the test.
fn timed_events(m: &Manager) -> Inbox<(ManagerEvent, Instant)> {
    let ib = inbox("manager event");
    let tx = ib.sender();
    let mut evs = m.events();
    tokio::spawn(async move {
        while let Some(ev) = evs.recv().await {
            // Pings and upgrades come at times of their own; the sequences compared here are
            // the connection's life.
            let noise = matches!(ev, ManagerEvent::Ping | ManagerEvent::Upgrade);
            if !noise && tx.send((ev, Instant::now())).is_err() {
                return;
            }
        }
    });
    ib
}

/// A manager event as a short label (messages left out), to compare sequences.
fn label(ev: &ManagerEvent) -> String {
    match ev {
        ManagerEvent::Open => "open".into(),
        ManagerEvent::Close(r) => format!("close({r})"),
        ManagerEvent::Error(_) => "error".into(),
        ManagerEvent::Ping => "ping".into(),
        ManagerEvent::ReconnectAttempt(n) => format!("reconnect_attempt({n})"),
        ManagerEvent::Reconnect(n) => format!("reconnect({n})"),
        ManagerEvent::ReconnectError(_) => "reconnect_error".into(),
        ManagerEvent::ReconnectFailed => "reconnect_failed".into(),
        other => format!("{other:?}"),
    }
}

/// The next `n` manager events, as labels.
async fn labels(evs: &mut Inbox<(ManagerEvent, Instant)>, n: usize) -> Vec<String> {
    evs.take(n, STEP * 2)
        .await
        .iter()
        .map(|(e, _)| label(e))
        .collect()
}

/// The next manager event with this label.
async fn until_label(evs: &mut Inbox<(ManagerEvent, Instant)>, want: &str) -> Instant {
    let want = want.to_owned();
    evs.next_matching(STEP, move |(e, _)| label(e) == want)
        .await
        .1
}

/// Fails if a reconnection attempt starts within `window`.
async fn assert_no_attempt(evs: &mut Inbox<(ManagerEvent, Instant)>, window: Duration) {
    let end = tokio::time::Instant::now() + window;
    while let Ok(Some((ev, _))) = tokio::time::timeout_at(end, evs.try_next(window)).await {
        assert!(
            !matches!(ev, ManagerEvent::ReconnectAttempt(_)),
            "an unexpected reconnection attempt: {ev:?}"
        );
    }
}

// ---- reconnecting after the connection is lost ------------------------------------------------

transport_matrix!(reconnects_after_the_engine_closes);

/// "should reconnect by default": the server closes the engine connection; the client
/// reconnects, with a new socket id (no recovery), and the events flow again.
async fn reconnects_after_the_engine_closes(t: Transports) {
    let peer = shared_peer().await;
    let m = build(
        builder(&peer.url(), t)
            .reconnection_delay(Duration::from_millis(10))
            .randomization_factor(0.0),
    );
    let mut evs = timed_events(&m);
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    let first = s.id().expect("an id");
    // "should not try to reconnect and should form a connection when connecting to correct
    // port": connected, and no attempt so far
    assert_eq!(labels(&mut evs, 1).await, ["open"]);
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::TransportClose);
    assert!(
        s.active(),
        "a transport close must leave the socket reconnecting"
    );
    assert!(!s.connected());
    assert_eq!(
        labels(&mut evs, 4).await,
        [
            "close(transport close)",
            "reconnect_attempt(1)",
            "open",
            "reconnect(1)"
        ]
    );
    up.next(STEP).await;
    assert!(s.connected());
    let second = s.id().expect("an id after the reconnection");
    assert_ne!(
        first, second,
        "a reconnection without recovery gets a new id"
    );
    let id: String = within(STEP, s.emit_with_ack("getId", ()))
        .await
        .expect("getId");
    assert_eq!(id, second);
    s.disconnect();
    m.close();
}

/// "should reconnect manually", then "should reconnect automatically after reconnecting
/// manually": a client-side disconnect is not reconnected, `connect()` reconnects, and the
/// reconnection works again afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_manually_then_automatically() {
    let peer = shared_peer().await;
    let m = build(quick(&peer.url()));
    let mut evs = timed_events(&m);
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    s.disconnect();
    assert_eq!(down.next(STEP).await, DisconnectReason::IoClientDisconnect);
    assert!(!s.active());
    // the manager closes (no socket wants it) and does not reconnect
    until_label(&mut evs, "close(forced close)").await;
    assert_no_attempt(&mut evs, Duration::from_millis(200)).await;

    within(STEP, s.connect()).await.expect("connect again");
    up.next(STEP).await;
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::TransportClose);
    until_label(&mut evs, "reconnect(1)").await;
    up.next(STEP).await;
    let v: i64 = within(STEP, s.emit_with_ack("echo", 1))
        .await
        .expect("echo");
    assert_eq!(v, 1);
    s.disconnect();
    m.close();
}

/// `reconnection(false)`: a lost connection stays lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnection_off_does_not_reconnect_a_lost_connection() {
    let peer = shared_peer().await;
    let m = build(quick(&peer.url()).reconnection(false));
    let mut evs = timed_events(&m);
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::TransportClose);
    assert!(!s.active());
    assert_no_attempt(&mut evs, Duration::from_millis(300)).await;
    up.assert_quiet(Duration::from_millis(1)).await;
    m.close();
}

// ---- attempts ---------------------------------------------------------------------------------

/// "should fire reconnect_* events on manager" / "should try to reconnect twice and fail when
/// requested two attempts": attempts count from 1, `reconnect_failed` after the last one, and
/// the events come in socket.io-client's order: `error` for the failed open, then each attempt
/// `reconnect_attempt(n)`, `error`, and `reconnect_error`, except that the last failure emits
/// `reconnect_failed` before its `reconnect_error` (socket.io schedules, or gives up, before it
/// reports the error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_count_from_one_and_fail_after_the_limit() {
    let port = refused_port().await;
    let m = build(quick(&format!("http://127.0.0.1:{port}")).reconnection_attempts(3));
    let mut evs = timed_events(&m);
    let s = m.socket("/").build();
    let r = within(STEP, s.connect()).await;
    assert!(
        matches!(r, Err(Error::Transport(_))),
        "a refused port: {r:?}"
    );
    assert_eq!(
        labels(&mut evs, 11).await,
        [
            "error",
            "reconnect_attempt(1)",
            "error",
            "reconnect_error",
            "reconnect_attempt(2)",
            "error",
            "reconnect_error",
            "reconnect_attempt(3)",
            "error",
            "reconnect_failed",
            "reconnect_error",
        ]
    );
    assert!(!s.active(), "no more attempts: the socket is not active");
    assert!(!s.connected());
    assert_no_attempt(&mut evs, Duration::from_millis(300)).await;
    m.close();
}

/// The events of a reconnection that fails twice and then succeeds, in socket.io-client's
/// order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_events_come_in_the_reference_order() {
    let peer = shared_peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(
        quick(&proxy.url())
            .reconnection_delay(Duration::from_millis(100))
            .reconnection_delay_max(Duration::from_millis(400)),
    );
    let mut evs = timed_events(&m);
    let (s, mut up) = connect_watched(&m, "/").await;
    assert_eq!(labels(&mut evs, 1).await, ["open"]);
    proxy.set_mode(Mode::Cut);
    let mut got = labels(&mut evs, 7).await;
    // a cut connection closes or fails, depending on when the transport notices
    assert!(
        got[0] == "close(transport close)" || got[0] == "close(transport error)",
        "{got:?}"
    );
    got[0] = "close".into();
    assert_eq!(
        got,
        [
            "close",
            "reconnect_attempt(1)",
            "error",
            "reconnect_error",
            "reconnect_attempt(2)",
            "error",
            "reconnect_error",
        ]
    );
    // the third attempt is 400 ms away: the network comes back before it
    proxy.set_mode(Mode::Pass);
    assert_eq!(
        labels(&mut evs, 3).await,
        ["reconnect_attempt(3)", "open", "reconnect(3)"]
    );
    up.next(STEP).await;
    assert!(s.connected());
    s.disconnect();
    m.close();
}

/// "reconnect delay should increase every time", and the delays respect
/// `reconnectionDelayMax`: without jitter, 200, 400, 400, 400, 400 ms between a failure and the
/// next attempt (uncapped they would be 200, 400, 800, 1600, 3200). Lower bounds are checked
/// with a margin; upper bounds only generously (a loaded machine is slow, never fast).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delays_grow_and_respect_the_max() {
    let port = refused_port().await;
    let m = build(
        quick(&format!("http://127.0.0.1:{port}"))
            .reconnection_delay(Duration::from_millis(200))
            .reconnection_delay_max(Duration::from_millis(400))
            .reconnection_attempts(5),
    );
    let mut evs = timed_events(&m);
    let s = m.socket("/").build();
    let _ = within(STEP, s.connect()).await;
    let mut failed_at = until_label(&mut evs, "error").await;
    let mut delays = Vec::new();
    for n in 1..=5 {
        let attempt_at = until_label(&mut evs, &format!("reconnect_attempt({n})")).await;
        delays.push(attempt_at - failed_at);
        failed_at = until_label(&mut evs, "error").await;
    }
    until_label(&mut evs, "reconnect_failed").await;
    let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
    let nominal = [200u128, 400, 400, 400, 400];
    for (i, (&got, &want)) in ms.iter().zip(&nominal).enumerate() {
        assert!(
            got * 4 >= want * 3,
            "delay {} was {got} ms, expected about {want} ms (all: {ms:?})",
            i + 1
        );
        assert!(
            got <= want + 1000,
            "delay {} was {got} ms, more than the max allows (all: {ms:?})",
            i + 1
        );
    }
    m.close();
}

/// "should not reconnect when force closed": `disconnect()` after the failed open, before any
/// attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_attempt_after_disconnect_before_the_first_attempt() {
    let port = refused_port().await;
    let m = build(
        quick(&format!("http://127.0.0.1:{port}")).reconnection_delay(Duration::from_millis(100)),
    );
    let mut evs = timed_events(&m);
    let s = m.socket("/").build();
    let _ = within(STEP, s.connect()).await;
    until_label(&mut evs, "error").await;
    s.disconnect();
    assert_no_attempt(&mut evs, Duration::from_millis(400)).await;
    assert!(!s.active());
    m.close();
}

/// "should stop reconnecting when force closed": `disconnect()` during the loop stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_attempt_after_disconnect_during_the_loop() {
    let port = refused_port().await;
    let m = build(
        quick(&format!("http://127.0.0.1:{port}")).reconnection_delay(Duration::from_millis(50)),
    );
    let mut evs = timed_events(&m);
    let s = m.socket("/").build();
    let _ = within(STEP, s.connect()).await;
    until_label(&mut evs, "reconnect_attempt(1)").await;
    assert!(s.active());
    // the attempt may fail, or be abandoned, before the disconnect is handled
    s.disconnect();
    assert_no_attempt(&mut evs, Duration::from_millis(400)).await;
    assert!(!s.active());
    m.close();
}

/// `Manager::close()` (socket.io's `manager._close()`) during the loop stops it too: the
/// sockets get no more attempts and are no longer active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_manager_stops_the_loop() {
    let port = refused_port().await;
    let m = build(
        quick(&format!("http://127.0.0.1:{port}")).reconnection_delay(Duration::from_millis(50)),
    );
    let mut evs = timed_events(&m);
    let s = m.socket("/").build();
    let _ = within(STEP, s.connect()).await;
    until_label(&mut evs, "reconnect_attempt(1)").await;
    m.close();
    assert_no_attempt(&mut evs, Duration::from_millis(400)).await;
    assert!(!s.active());
}

/// "should reconnect after stopping reconnection": `disconnect()` then `connect()` during the
/// loop starts attempts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_after_stopping_the_loop_attempts_again() {
    let port = refused_port().await;
    let m = build(
        quick(&format!("http://127.0.0.1:{port}")).reconnection_delay(Duration::from_millis(50)),
    );
    let mut evs = timed_events(&m);
    let s = m.socket("/").build();
    let _ = within(STEP, s.connect()).await;
    until_label(&mut evs, "reconnect_attempt(1)").await;
    s.disconnect();
    let _ = within(STEP, s.connect()).await;
    assert!(s.active());
    until_label(&mut evs, "reconnect_attempt(1)").await;
    s.disconnect();
    m.close();
}

/// "should still try to reconnect twice after opening another socket asynchronously": a
/// socket that connects during the loop joins it and does not reset the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_socket_during_the_loop_does_not_reset_the_count() {
    let port = refused_port().await;
    let m = build(
        quick(&format!("http://127.0.0.1:{port}"))
            .reconnection_delay(Duration::from_millis(200))
            .reconnection_delay_max(Duration::from_millis(200))
            .reconnection_attempts(3),
    );
    let mut evs = timed_events(&m);
    let room1 = m.socket("/room1").build();
    let _ = within(STEP, room1.connect()).await;
    until_label(&mut evs, "reconnect_attempt(1)").await;
    until_label(&mut evs, "reconnect_error").await;
    // during the 200 ms before the second attempt
    let room2 = m.socket("/room2").build();
    let mut room2_errors = connect_errors(&room2);
    let r = within(STEP, room2.connect()).await;
    assert!(r.is_err(), "{r:?}");
    let rest: Vec<String> = labels(&mut evs, 7)
        .await
        .into_iter()
        .filter(|l| l.starts_with("reconnect"))
        .collect();
    assert_eq!(
        rest,
        [
            "reconnect_attempt(2)",
            "reconnect_error",
            "reconnect_attempt(3)",
            "reconnect_failed",
            "reconnect_error"
        ]
    );
    // the new socket took part in the attempts
    room2_errors.next(STEP).await;
    assert!(!room1.active() && !room2.active());
    m.close();
}

/// "should attempt reconnects after a failed reconnect": `connect()` after `reconnect_failed`
/// starts a new loop counted from 1, and connects once the server is reachable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_after_reconnect_failed_starts_a_new_loop() {
    let peer = shared_peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url()).reconnection_attempts(2));
    let mut evs = timed_events(&m);
    let (s, mut up) = connect_watched(&m, "/").await;
    proxy.set_mode(Mode::Cut);
    until_label(&mut evs, "reconnect_attempt(2)").await;
    until_label(&mut evs, "reconnect_failed").await;
    assert!(!s.active());

    // still unreachable: a new loop, counted from 1
    let r = within(STEP, s.connect()).await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(
        labels(&mut evs, 9).await,
        [
            "reconnect_error", // the end of the first loop
            "error",
            "reconnect_attempt(1)",
            "error",
            "reconnect_error",
            "reconnect_attempt(2)",
            "error",
            "reconnect_failed",
            "reconnect_error",
        ]
    );
    // reachable again
    proxy.set_mode(Mode::Pass);
    within(STEP, s.connect()).await.expect("connect");
    up.next(STEP).await;
    assert!(s.active() && s.connected());
    s.disconnect();
    m.close();
}

/// "should stop reconnecting on a socket and keep to reconnect on another".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_reconnecting_one_socket_and_keeps_the_other() {
    let peer = shared_peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url()).reconnection_delay(Duration::from_millis(100)));
    let mut evs = timed_events(&m);
    let (root, mut root_up) = connect_watched(&m, "/").await;
    let (asd, mut asd_up) = connect_watched(&m, "/asd").await;
    proxy.set_mode(Mode::Cut);
    until_label(&mut evs, "reconnect_attempt(1)").await;
    root.disconnect();
    until_label(&mut evs, "reconnect_error").await;
    proxy.set_mode(Mode::Pass);
    until_label(&mut evs, "reconnect(2)").await;
    asd_up.next(STEP).await;
    assert!(asd.connected());
    root_up.assert_quiet(Duration::from_millis(100)).await;
    assert!(!root.connected() && !root.active());
    let v: i64 = within(STEP, asd.emit_with_ack("echo", 2))
        .await
        .expect("echo");
    assert_eq!(v, 2);
    asd.disconnect();
    m.close();
}

// ---- what the socket says during the loop -----------------------------------------------------

/// `active()` is true while the client will still reconnect: connected, or disconnected by a
/// fault with attempts left; false once the attempts ran out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_while_it_will_still_reconnect() {
    let peer = shared_peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(
        quick(&proxy.url())
            .reconnection_delay(Duration::from_millis(100))
            .reconnection_attempts(2),
    );
    let mut evs = timed_events(&m);
    let (s, _up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    assert!(s.active() && s.connected());
    proxy.set_mode(Mode::Cut);
    down.next(STEP).await;
    assert!(s.active() && !s.connected());
    assert_eq!(s.id(), None);
    until_label(&mut evs, "reconnect_attempt(1)").await;
    assert!(s.active());
    until_label(&mut evs, "reconnect_failed").await;
    assert!(!s.active() && !s.connected());
    m.close();
}

/// `auth` as a function is evaluated at every (re)connection: fresh tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_fn_is_evaluated_at_every_connection() {
    let peer = shared_peer().await;
    let m = build(quick(&peer.url()));
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let s = m
        .socket("/")
        .auth_fn(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { json!({ "token": format!("token-{n}") }) }
        })
        .build();
    let mut up = connects(&s);
    within(STEP, s.connect()).await.expect("connect");
    up.next(STEP).await;
    let mut down = disconnects(&s);
    let mut tokens = Vec::new();
    for round in 0..3 {
        let hs: Value = server::handshake(&s).await;
        tokens.push(hs["auth"]["token"].as_str().unwrap_or_default().to_owned());
        if round < 2 {
            within(STEP, s.emit("closeEngine", ())).await.expect("emit");
            assert_eq!(down.next(STEP).await, DisconnectReason::TransportClose);
            up.next(STEP).await;
        }
    }
    assert_eq!(tokens, ["token-1", "token-2", "token-3"]);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    s.disconnect();
    m.close();
}

/// socket.io's `socket.disconnect(); socket.connect()`: both at once leave the socket
/// connected (the reference client's "should reconnect after stopping reconnection" does this
/// in one go).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_then_connect_at_once_leaves_the_socket_connected() {
    let peer = shared_peer().await;
    let m = build(quick(&peer.url()));
    let (s, _up) = connect_watched(&m, "/").await;
    for round in 0..20 {
        s.disconnect();
        let r = within(STEP, s.connect()).await;
        assert!(r.is_ok(), "round {round}: connect() gave {r:?}");
        let v: i64 = within(STEP, s.emit_with_ack("echo", round))
            .await
            .unwrap_or_else(|e| panic!("round {round}: echo failed: {e}"));
        assert_eq!(v, round);
        assert!(s.connected() && s.active(), "round {round}");
    }
    s.disconnect();
    m.close();
}

// ---- settings changed at run time ---------------------------------------------------------

/// The getters give what the builder set, then what the setters set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnection_settings_read_back_what_was_set() {
    let m = build(
        quick("http://127.0.0.1:9")
            .reconnection(false)
            .reconnection_attempts(4),
    );
    assert!(!m.reconnection());
    assert_eq!(m.reconnection_attempts(), Some(4));
    assert_eq!(m.reconnection_delay(), Duration::from_millis(20));
    assert_eq!(m.reconnection_delay_max(), Duration::from_millis(100));
    assert_eq!(m.randomization_factor(), 0.0);
    m.set_reconnection(true);
    m.set_reconnection_attempts(None);
    m.set_reconnection_delay(Duration::from_millis(7));
    m.set_reconnection_delay_max(Duration::from_millis(70));
    m.set_randomization_factor(0.25);
    assert!(m.reconnection());
    assert_eq!(m.reconnection_attempts(), None);
    assert_eq!(m.reconnection_delay(), Duration::from_millis(7));
    assert_eq!(m.reconnection_delay_max(), Duration::from_millis(70));
    assert_eq!(m.randomization_factor(), 0.25);
}

/// `manager.reconnection(false)` while the loop waits for its next attempt: no more
/// attempts, the sockets stop being active, and a `connect()` waiting for the loop fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnection_turned_off_during_the_loop_stops_it() {
    let port = refused_port().await;
    let m = build(
        quick(&format!("http://127.0.0.1:{port}"))
            .reconnection_delay(Duration::from_millis(300))
            .reconnection_delay_max(Duration::from_millis(300)),
    );
    let mut evs = timed_events(&m);
    let s = m.socket("/").build();
    let _ = within(STEP, s.connect()).await;
    until_label(&mut evs, "reconnect_error").await;
    // The loop now waits 300 ms for attempt 2; a second socket joins it.
    let other = m.socket("/other").build();
    let waiting = tokio::spawn({
        let other = other.clone();
        async move { other.connect().await }
    });
    until(STEP, "the second socket is waiting for the loop", || {
        other.active()
    })
    .await;
    m.set_reconnection(false);
    assert!(!m.reconnection());
    let outcome = within(STEP, waiting).await.expect("the connect task");
    assert!(
        matches!(outcome, Err(Error::Disconnected)),
        "the loop stopped: {outcome:?}"
    );
    assert_no_attempt(&mut evs, Duration::from_millis(600)).await;
    assert!(!s.active());
    assert!(!other.active());
    m.close();
}

/// Reconnection turned on after the manager was built without it: the next lost
/// connection is reconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnection_turned_on_at_run_time_reconnects_the_next_loss() {
    let peer = shared_peer().await;
    let m = build(quick(&peer.url()).reconnection(false));
    let mut evs = timed_events(&m);
    let (s, mut up) = connect_watched(&m, "/").await;
    m.set_reconnection(true);
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    until_label(&mut evs, "reconnect(1)").await;
    up.next(STEP).await;
    assert!(s.connected());
    s.disconnect();
    m.close();
}

/// The attempt limit changed while the loop runs is checked before the next attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_limit_set_during_the_loop_ends_it() {
    let port = refused_port().await;
    let m = build(quick(&format!("http://127.0.0.1:{port}")));
    let mut evs = timed_events(&m);
    let s = m.socket("/").build();
    let _ = within(STEP, s.connect()).await;
    until_label(&mut evs, "reconnect_attempt(1)").await;
    m.set_reconnection_attempts(Some(2));
    until_label(&mut evs, "reconnect_failed").await;
    assert_no_attempt(&mut evs, Duration::from_millis(300)).await;
    assert!(!s.active());
    m.close();
}

/// `auth_fn` is asynchronous and runs off the connection task: a token that takes longer
/// than the whole heartbeat to fetch costs no ping timeout, and the CONNECT carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_async_auth_fn_costs_no_ping_timeout() {
    let peer = NodePeer::start(
        PeerOptions::new()
            .ping_interval(Duration::from_millis(200))
            .ping_timeout(Duration::from_millis(200)),
    )
    .await;
    let m = build(quick(&peer.url()));
    let mut events = m.events();
    // The root namespace opens the connection; the slow one joins it.
    let root = within(STEP, m.socket("/").connect())
        .await
        .expect("connect /");
    let slow = m
        .socket("/foo")
        .auth_fn(|| async {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            json!({ "token": "fetched" })
        })
        .build();
    within(STEP, slow.connect()).await.expect("connect /foo");
    let hs: Value = server::handshake(&slow).await;
    assert_eq!(hs["auth"]["token"], "fetched");
    while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, events.recv()).await {
        assert!(
            !matches!(event, ManagerEvent::Close(_)),
            "the connection closed while the auth function ran: {event:?}"
        );
    }
    assert!(root.connected());
    within(STEP, m.close()).await;
}

/// An `auth_fn` that never gives a value, one that panics, and one that gives something
/// other than an object: the socket gets a `connect_error` (within the manager's `timeout`)
/// and stops; a static auth that is not an object fails `connect()` at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_auth_fn_is_a_connect_error() {
    let peer = shared_peer().await;
    let m = build(quick(&peer.url()).timeout(Duration::from_millis(500)));
    let never = m
        .socket("/foo")
        .auth_fn(std::future::pending::<Value>)
        .build();
    let mut errors = connect_errors(&never);
    let outcome = within(STEP, never.connect()).await;
    assert!(
        matches!(&outcome, Err(ferrio::Error::ConnectError(e)) if e.message.contains("no value within")),
        "{outcome:?}"
    );
    errors.next(STEP).await;
    assert!(!never.active());
    let panics = m
        .socket("/bar")
        .auth_fn(|| async { panic!("no token") })
        .build();
    let outcome = within(STEP, panics.connect()).await;
    assert!(
        matches!(&outcome, Err(ferrio::Error::ConnectError(e)) if e.message.contains("panicked")),
        "{outcome:?}"
    );
    let text = m
        .socket("/abc")
        .auth_fn(|| async { json!("s3cret") })
        .build();
    let outcome = within(STEP, text.connect()).await;
    assert!(
        matches!(&outcome, Err(ferrio::Error::ConnectError(e)) if e.message.contains("JSON object")),
        "{outcome:?}"
    );
    let m2 = build(quick(&peer.url()));
    let outcome = within(STEP, m2.socket("/").auth("s3cret").connect()).await;
    assert!(
        matches!(&outcome, Err(ferrio::Error::Config(message)) if message.contains("JSON object")),
        "{outcome:?}"
    );
    m.close();
}
