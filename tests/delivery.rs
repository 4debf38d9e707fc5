//! Nothing lost (issue 3): `retries` with an ack timeout give at-least-once, in-order delivery
//! while the server is killed and restarted; the send buffer keeps what is emitted while
//! disconnected (in order, volatile events dropped, bounded by `max_buffered_packets`); an ack
//! survives a disconnect while its packet is still buffered, and fails with
//! `Error::Disconnected` once sent; a listener that blocks for longer than the heartbeat, by
//! awaiting or by blocking its thread, costs neither a ping timeout nor the other namespaces'
//! events.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrio::{DisconnectReason, Error, Event, Manager, ManagerBuilder, ManagerEvent, Socket};
use ferrio_suite::hostile;
use ferrio_suite::*;
use serde_json::Value;

fn quick(url: &str) -> ManagerBuilder {
    builder(url, Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(100))
        .randomization_factor(0.0)
}

fn build(b: ManagerBuilder) -> Manager {
    b.build().expect("manager")
}

/// A `statsKey` of its own, so the server's counters survive reconnections (new socket ids).
fn stats_key(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{test}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The numbers the server recorded with `num` for this socket's stats key.
async fn nums(s: &Socket) -> Vec<i64> {
    let stats = server::stats(s).await;
    serde_json::from_value(stats["nums"].clone()).expect("nums")
}

// ---- at-least-once, in order, across restarts -------------------------------------------------

/// 10,000 numbered events over websocket, each awaited under an ack timeout with retries,
/// while the server is killed and restarted on the same port three times: the server (its
/// `EVENT` log, which outlives every incarnation) receives every number at least once, and the
/// first arrivals come in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_while_the_server_restarts_three_times() {
    nothing_lost(Transports::WebsocketOnly, 10_000, 3).await;
}

/// The same over long-polling (slower: 1,000 events).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_over_polling_while_the_server_restarts() {
    nothing_lost(Transports::PollingOnly, 1_000, 3).await;
}

/// The same with the upgrade: every restart starts over on polling, then upgrades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_through_upgrades_while_the_server_restarts() {
    nothing_lost(Transports::PollingUpgrade, 1_000, 3).await;
}

async fn nothing_lost(t: Transports, n: u32, restarts: u32) {
    let peer = NodePeer::start(PeerOptions::new().log_events(true)).await;
    let m = build(
        builder(&peer.url(), t)
            .reconnection_delay(Duration::from_millis(20))
            .reconnection_delay_max(Duration::from_millis(100))
            .randomization_factor(0.0)
            .ack_timeout(Duration::from_secs(2)),
    );
    let mut evs = m.events();
    let s = within(STEP, m.socket("/").retries(30).connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);

    // Kills and restarts the server when told, while the emits go on.
    let (restart_tx, mut restart_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let restarter = tokio::spawn(async move {
        let mut peer = peer;
        while restart_rx.recv().await.is_some() {
            peer.kill().await;
            peer.start_again().await;
        }
        peer
    });

    let started = std::time::Instant::now();
    for i in 0..n {
        if i > 0 && i % (n / (restarts + 1)) == 0 {
            restart_tx.send(()).expect("restarter");
        }
        let got: u32 = within_for(
            STEP * 4,
            format!("the ack of {i}"),
            s.emit_with_ack("num", i),
        )
        .await
        .unwrap_or_else(|e| panic!("emit {i} failed: {e}"));
        assert_eq!(got, i);
    }
    drop(restart_tx);
    let peer = within(STEP * 4, restarter).await.expect("restarter");
    let elapsed = started.elapsed();

    // as many disconnections and reconnections as restarts
    let reasons = down.take(restarts as usize, STEP).await;
    assert!(
        reasons.iter().all(|r| matches!(
            r,
            DisconnectReason::TransportClose | DisconnectReason::TransportError
        )),
        "{reasons:?}"
    );
    for _ in 0..restarts {
        next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
    }

    let last = f64::from(n - 1);
    let events = peer
        .wait_for_events(STEP, |evs| {
            evs.iter()
                .any(|e| e["event"] == "num" && e["args"][0].as_f64() == Some(last))
        })
        .await;
    let mut first_arrivals = Vec::with_capacity(n as usize);
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    for e in events.iter().filter(|e| e["event"] == "num") {
        let num = e["args"][0].as_u64().expect("a number") as u32;
        if seen.insert(num) {
            first_arrivals.push(num);
        } else {
            duplicates += 1;
        }
    }
    let missing: Vec<u32> = (0..n).filter(|i| !seen.contains(i)).take(10).collect();
    assert!(missing.is_empty(), "never received: {missing:?}...");
    let out_of_order = first_arrivals
        .windows(2)
        .find(|w| w[1] != w[0] + 1)
        .map(|w| (w[0], w[1]));
    assert_eq!(out_of_order, None, "first arrivals out of order");
    assert_eq!(first_arrivals.len(), n as usize);
    eprintln!(
        "{t:?}: {n} events across {restarts} restarts in {elapsed:?}, {duplicates} received twice"
    );
    s.disconnect();
    m.close();
    drop(peer);
}

/// The final failure of `retries` reports the timeout; each try was a new request with a new
/// ack id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_send_each_try_with_a_new_ack_id_and_end_with_the_timeout() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let r = within(
        STEP,
        s.emitter()
            .retries(2)
            .timeout(Duration::from_millis(100))
            .emit_with_ack::<Value>("noAck", "x"),
    )
    .await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    let raw = server::raw_log(&s).await;
    let tries: Vec<&String> = raw.iter().filter(|p| p.contains("\"noAck\"")).collect();
    assert_eq!(tries.len(), 3, "one request and two retries: {raw:?}");
    let ids: HashSet<String> = tries
        .iter()
        .map(|p| p[1..].chars().take_while(char::is_ascii_digit).collect())
        .collect();
    assert_eq!(ids.len(), 3, "every try has its own ack id: {tries:?}");
    assert!(ids.iter().all(|id| !id.is_empty()), "{tries:?}");
    s.disconnect();
    m.close();
}

/// socket.io-client's `retry.ts` "should preserve the order of the packets": with `retries`,
/// the reference client sends emits one at a time, in order (its `_queue`), so a lost try
/// delays the emits after it instead of letting them overtake it. Here the server loses the
/// first try of the first of two concurrent emits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_keep_the_order_of_concurrent_emits() {
    let server = HostileServer::start().await;
    let mut seen = server.seen();
    let m = build(
        Manager::builder(server.url())
            .transports(&[ferrio::TransportKind::Websocket])
            .ack_timeout(Duration::from_millis(300)),
    );
    let s = within(STEP, m.socket("/").retries(2).connect())
        .await
        .expect("connect");
    server.lose_events(1);
    let (a, b) = within(STEP, async {
        tokio::join!(
            s.emit_with_ack::<i64>("num", 1),
            s.emit_with_ack::<i64>("num", 2)
        )
    })
    .await;
    assert_eq!((a.expect("1"), b.expect("2")), (1, 2));
    let mut order = Vec::new();
    while order.len() < 2 {
        if let hostile::Seen::Event { name, args, .. } = seen.next(STEP).await {
            if name == "num" {
                order.push(args[0].as_i64().expect("n"));
            }
        }
    }
    assert_eq!(order, [1, 2], "the server got the emits out of order");
    s.disconnect();
    m.close();
}

// ---- the send buffer ------------------------------------------------------------------------

/// Emitted during the reconnection loop: buffered, and sent in order once reconnected, ahead of
/// what is emitted after; volatile emits are dropped (and a volatile emit with an ack fails at
/// once); an ack whose packet waited in the buffer resolves after the reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_while_disconnected_are_sent_in_order_after_the_reconnection() {
    let peer = shared_peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url()));
    let key = stats_key("buffered");
    let s = m.socket("/").auth(json!({ "statsKey": key })).build();
    let mut up = connects(&s);
    within(STEP, s.connect()).await.expect("connect");
    up.next(STEP).await;
    let mut down = disconnects(&s);
    proxy.set_mode(Mode::Cut);
    down.next(STEP).await;
    assert!(!s.connected() && s.active());

    for i in 0..50 {
        within(STEP, s.emit("num", i)).await.expect("buffered emit");
        within(STEP, s.volatile().emit("num", 1000 + i))
            .await
            .expect("a dropped volatile emit is not an error");
    }
    let r = within(STEP, s.volatile().emit_with_ack::<i64>("num", 2000)).await;
    assert!(matches!(r, Err(Error::Disconnected)), "{r:?}");
    let mut acked = Box::pin(s.emit_with_ack::<i64>("num", 50));
    assert!(poll_once(&mut acked).await.is_none());

    proxy.set_mode(Mode::Pass);
    up.next(STEP).await;
    within(STEP, s.emit("num", 51)).await.expect("emit");
    assert_eq!(within(STEP, acked).await.expect("the buffered ack"), 50);
    assert_eq!(nums(&s).await, (0..=51).collect::<Vec<i64>>());
    s.disconnect();
    m.close();
}

/// An ack pending at the disconnect fails with `Error::Disconnected` once its packet was sent;
/// one whose packet still waited in the send buffer (its namespace was still connecting)
/// survives the disconnect and resolves after the reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_acks_fail_at_the_disconnect_and_buffered_ones_survive() {
    let peer = shared_peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url()));
    let mut evs = m.events();
    let (root, mut root_up) = connect_watched(&m, "/").await;

    // sent: the server holds the answer for 10 s. Polled once here, so it is handed to the
    // connection before the echo below (a spawned task could run after it, and its packet
    // then wait in the buffer across the cut).
    let mut sent = Box::pin(root.emit_with_ack::<String>("ackLater", (10_000, "late")));
    assert!(poll_once(&mut sent).await.is_none());
    let v: i64 = within(STEP, root.emit_with_ack("echo", 1))
        .await
        .expect("echo"); // the server has ackLater by now (same connection, in order)
    assert_eq!(v, 1);

    // buffered: "/slow" lets sockets in after 800 ms, so this emit waits in the buffer
    let slow = m.socket("/slow").auth(json!({ "delay": 800 })).build();
    let s2 = slow.clone();
    let slow_connect = tokio::spawn(async move { s2.connect().await });
    let mut buffered = Box::pin(slow.emit_with_ack::<String>("echo", "kept"));
    assert!(poll_once(&mut buffered).await.is_none());

    proxy.cut_connections();
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Close(_))).await;
    let r = within(STEP, sent).await;
    assert!(matches!(r, Err(Error::Disconnected)), "the sent ack: {r:?}");
    assert!(
        poll_once(&mut buffered).await.is_none(),
        "the buffered ack must survive the disconnect"
    );

    root_up.next(STEP).await;
    assert_eq!(
        within(STEP, buffered).await.expect("the buffered ack"),
        "kept"
    );
    within(STEP, slow_connect)
        .await
        .expect("join")
        .expect("/slow connects after the reconnection");
    slow.disconnect();
    root.disconnect();
    m.close();
}

/// `max_buffered_packets` bounds the buffer: the next emit fails with `Error::BufferFull`
/// instead of growing it; what was buffered is delivered after the reconnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_refuses_more_with_buffer_full() {
    let peer = shared_peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = build(quick(&proxy.url()).max_buffered_packets(10));
    let key = stats_key("bounded");
    let s = m.socket("/").auth(json!({ "statsKey": key })).build();
    let mut up = connects(&s);
    within(STEP, s.connect()).await.expect("connect");
    up.next(STEP).await;
    let mut down = disconnects(&s);
    proxy.set_mode(Mode::Cut);
    down.next(STEP).await;

    for i in 0..10 {
        within(STEP, s.emit("num", i)).await.expect("room left");
    }
    let r = within(STEP, s.emit("num", 10)).await;
    assert!(matches!(r, Err(Error::BufferFull(10))), "{r:?}");
    let r = within(STEP, s.emit_with_ack::<i64>("num", 11)).await;
    assert!(matches!(r, Err(Error::BufferFull(10))), "{r:?}");
    assert!(
        Error::BufferFull(10).to_string().contains("buffer is full"),
        "a clear message"
    );
    within(STEP, s.volatile().emit("num", 12))
        .await
        .expect("volatile: dropped, not refused");

    proxy.set_mode(Mode::Pass);
    up.next(STEP).await;
    assert_eq!(nums(&s).await, (0..10).collect::<Vec<i64>>());
    // room again
    within(STEP, s.emit("num", 13)).await.expect("emit");
    assert_eq!(nums(&s).await.last(), Some(&13));
    s.disconnect();
    m.close();
}

// ---- listeners that take their time ----------------------------------------------------------

/// How a listener of `/foo` holds its socket's queue.
#[derive(Debug, Clone, Copy)]
enum Block {
    /// awaits a long sleep
    Await,
    /// blocks its worker thread with `std::thread::sleep` (a multi-thread runtime)
    Thread,
}

/// A listener busy for three times pingInterval + pingTimeout: pings are still answered (no
/// ping timeout, the manager reports pings meanwhile), and another namespace of the same
/// connection keeps receiving events and acks.
async fn a_blocked_listener_costs_no_ping_timeout(block: Block) {
    let (interval, timeout) = (Duration::from_millis(200), Duration::from_millis(200));
    let busy = (interval + timeout) * 3;
    let peer = NodePeer::start(
        PeerOptions::new()
            .ping_interval(interval)
            .ping_timeout(timeout),
    )
    .await;
    let m = build(quick(&peer.url()).reconnection(false));
    let mut evs = m.events();
    let nsp_foo = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    let bar = within(STEP, m.socket("/bar").connect())
        .await
        .expect("connect /bar");
    let mut foo_down = disconnects(&nsp_foo);
    let mut bar_down = disconnects(&bar);

    let started = inbox::<()>("the blocked listener started");
    let finished = inbox::<()>("the blocked listener finished");
    let done = Arc::new(AtomicBool::new(false));
    let (start_tx, done_tx, flag) = (started.sender(), finished.sender(), done.clone());
    let (mut started, mut finished) = (started, finished);
    nsp_foo.on("hi", move |_ev: Event| {
        let (start_tx, done_tx, flag) = (start_tx.clone(), done_tx.clone(), flag.clone());
        async move {
            let _ = start_tx.send(());
            match block {
                Block::Await => tokio::time::sleep(busy).await,
                Block::Thread => std::thread::sleep(busy),
            }
            flag.store(true, Ordering::SeqCst);
            let _ = done_tx.send(());
        }
    });
    within(STEP, nsp_foo.emit("hi", ())).await.expect("emit");
    started.next(STEP).await;

    // meanwhile: /bar gets events and acks, and the heartbeat goes on
    let mut back = events(&bar, "echo-back");
    for i in 0..3 {
        within(STEP, bar.emit("echo", i)).await.expect("emit");
        assert_eq!(back.next(STEP).await.arg::<i64>(0).expect("n"), i);
        let v: i64 = within(STEP, bar.emit_with_ack("echo", i))
            .await
            .expect("ack");
        assert_eq!(v, i);
        next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Ping)).await;
    }
    assert!(
        !done.load(Ordering::SeqCst),
        "{block:?}: the listener finished before the checks (they must run while it is busy)"
    );
    finished.next(STEP).await;

    foo_down.assert_quiet(Duration::from_millis(1)).await;
    bar_down.assert_quiet(Duration::from_millis(1)).await;
    assert!(nsp_foo.connected() && bar.connected());
    let v: i64 = within(STEP, nsp_foo.emit_with_ack("echo", 9))
        .await
        .expect("echo on /foo");
    assert_eq!(v, 9);
    nsp_foo.disconnect();
    bar.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_awaiting_longer_than_the_heartbeat_costs_no_ping_timeout() {
    a_blocked_listener_costs_no_ping_timeout(Block::Await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_blocking_its_thread_longer_than_the_heartbeat_costs_no_ping_timeout() {
    a_blocked_listener_costs_no_ping_timeout(Block::Thread).await;
}
