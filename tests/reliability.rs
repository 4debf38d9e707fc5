//! Regression tests of issue 10 (an external check of the client's reliability): one test
//! per item, each named after the behaviour the client must have (as socket.io-client 4.x
//! behaves), against the official Node server (`tests/peer/`). Every wait has a deadline, so
//! a client that hangs fails the test instead of blocking it.
//!
//! The server's own view (open Engine.IO sessions, handshakes, requests) comes from the
//! peer's `GET /peer-state` ([`NodePeer::state`]), which goes through no engine and no client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrio::{DisconnectReason, Error, Event, Manager, ManagerEvent, OutgoingEvent, TransportKind};
use ferrio_suite::*;
use serde_json::Value;

/// Fails the test unless the server's open Engine.IO sessions reach `n` within `deadline`.
#[track_caller]
fn sessions_reach(
    peer: &NodePeer,
    n: u64,
    deadline: Duration,
) -> impl std::future::Future<Output = ()> + '_ {
    until_async(
        deadline,
        format!("the server has {n} Engine.IO sessions open"),
        move || async move { peer.clients_count().await == n },
    )
}

/// Whether the server's open Engine.IO sessions reach `n` within `deadline`.
async fn sessions_reached(peer: &NodePeer, n: u64, deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if peer.clients_count().await == n {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the server's state (`GET /peer-state`) satisfies `pred`, up to `deadline`:
/// `Err(last state)` when it does not.
async fn state_reaches(
    peer: &NodePeer,
    deadline: Duration,
    mut pred: impl FnMut(&Value) -> bool,
) -> Result<Value, Value> {
    let end = Instant::now() + deadline;
    loop {
        let st = peer.state().await;
        if pred(&st) {
            return Ok(st);
        }
        if Instant::now() >= end {
            return Err(st);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Samples `read` every `every` during `window` (a bounded observation of something that
/// must not change): the first sample that differs from `expected`, if any.
async fn first_change<T: PartialEq + Clone, F: std::future::Future<Output = T>>(
    window: Duration,
    every: Duration,
    expected: T,
    mut read: impl FnMut() -> F,
) -> Option<T> {
    let end = Instant::now() + window;
    while Instant::now() < end {
        let v = read().await;
        if v != expected {
            return Some(v);
        }
        tokio::time::sleep(every).await;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// the measuring instrument

/// Not an item of issue 10: the control of the instrument the items rely on. The peer's
/// `GET /peer-state` counts the handshakes and the open sessions: one connection is one
/// handshake and one session, and `manager.close()` brings the sessions back to 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_counts_handshakes_and_open_sessions() {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    let st = peer.state().await;
    assert_eq!(
        (st["clients"].as_u64(), st["handshakes"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(st["pid"].as_u64(), peer.pid().map(u64::from));
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .build()
        .expect("manager");
    let _s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let st = peer.state().await;
    assert_eq!(
        (st["clients"].as_u64(), st["handshakes"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(st["handshakeTransports"], json!(["websocket"]));
    m.close();
    sessions_reach(&peer, 0, STEP).await;
    peer.stop().await;
}

// ---------------------------------------------------------------------------------------------
// item 1: the upgrade freeze

/// Issue 10, item 1 (upgrade freeze): with the default transports (polling, then the upgrade
/// to websocket), 10 clients at once each get a burst of 2,000 events that the server emits
/// as soon as the namespace connects (while the upgrade happens): every client gets all of
/// them, in order, and an acked round trip works afterwards. Before the fix, 10-35 % of such
/// clients froze (no more events, no ack).
///
/// Three rounds of 10 clients (a healthy round takes well under a second; a frozen client
/// never moves again), each under a 10 s deadline: about 30 s in all at worst.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_during_the_upgrade_reaches_every_client_in_order() {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    let mut outcome = Ok(());
    for round in 0..3 {
        outcome = burst_round(&peer.url(), round).await;
        if outcome.is_err() {
            break;
        }
    }
    peer.stop().await;
    if let Err(report) = outcome {
        panic!("{report}");
    }
}

/// One round of item 1: 10 clients at once; `Err` with each client's progress when one did
/// not get through within 10 s.
async fn burst_round(url: &str, round: usize) -> Result<(), String> {
    const CLIENTS: usize = 10;
    const N: usize = 2000;
    const ROUND: Duration = Duration::from_secs(10);
    // per client: events received, and the stage reached (0 connecting, 1 connected, 2 every
    // event received, 3 the round trip after them worked)
    let progress: Arc<Vec<(AtomicUsize, AtomicUsize)>> = Arc::new(
        (0..CLIENTS)
            .map(|_| (AtomicUsize::new(0), AtomicUsize::new(0)))
            .collect(),
    );
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let url = url.to_string();
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            let m = Manager::builder(&url)
                .reconnection(false)
                .build()
                .map_err(|e| format!("client {c}: manager: {e}"))?;
            // the listener is registered before connecting: no event can be missed
            let s = m.socket("/burst").auth(json!({ "n": N })).build();
            let got = inbox::<i64>(format!("burst of client {c}"));
            let tx = got.sender();
            let counted = progress.clone();
            s.on("burst", move |ev: Event| {
                let tx = tx.clone();
                let seq = ev
                    .arg::<Value>(0)
                    .ok()
                    .and_then(|v| v["seq"].as_i64())
                    .unwrap_or(-1);
                counted[c].0.fetch_add(1, Ordering::SeqCst);
                async move {
                    let _ = tx.send(seq);
                }
            });
            s.connect()
                .await
                .map_err(|e| format!("client {c}: connect: {e}"))?;
            progress[c].1.store(1, Ordering::SeqCst);
            let mut got = got;
            let mut seqs = Vec::with_capacity(N);
            while seqs.len() < N {
                match got.try_next(Duration::from_secs(60)).await {
                    Some(seq) => seqs.push(seq),
                    None => return Err(format!("client {c}: the inbox closed")),
                }
            }
            let expected: Vec<i64> = (0..N as i64).collect();
            if seqs != expected {
                let first_bad = seqs
                    .iter()
                    .zip(&expected)
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                return Err(format!(
                    "client {c}: events out of order from index {first_bad}: {:?}",
                    &seqs[first_bad..(first_bad + 5).min(N)]
                ));
            }
            progress[c].1.store(2, Ordering::SeqCst);
            let echoed: String = s
                .emit_with_ack("echo", "after the burst")
                .await
                .map_err(|e| format!("client {c}: echo: {e}"))?;
            if echoed != "after the burst" {
                return Err(format!("client {c}: echo answered {echoed:?}"));
            }
            progress[c].1.store(3, Ordering::SeqCst);
            s.disconnect();
            m.close();
            Ok::<(), String>(())
        }));
    }
    let all = futures_util::future::join_all(tasks);
    let outcome = tokio::time::timeout(ROUND, all).await;
    let report = || {
        progress
            .iter()
            .enumerate()
            .map(|(c, (n, stage))| {
                let stage = match stage.load(Ordering::SeqCst) {
                    0 => "connect() never resolved",
                    1 => "connected",
                    2 => "connected, the echo never acked",
                    _ => "connected, echo ok",
                };
                format!(
                    "client {c}: {}/{N} events, {stage}",
                    n.load(Ordering::SeqCst)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    match outcome {
        Err(_) => {
            let frozen = progress
                .iter()
                .filter(|(_, stage)| stage.load(Ordering::SeqCst) < 3)
                .count();
            Err(format!(
                "round {round}: deadline of {ROUND:?} passed: {frozen} of {CLIENTS} clients froze\n{}",
                report()
            ))
        }
        Ok(results) => {
            let errors: Vec<String> = results
                .into_iter()
                .filter_map(|r| match r {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(e) => Some(format!("a client task panicked: {e}")),
                })
                .collect();
            if errors.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "round {round}: {}\n{}",
                    errors.join("\n"),
                    report()
                ))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// item 2: close() must not reopen

/// Issue 10, item 2 (close() must not reopen): socket A's `connect()` is under way while the
/// server delays the handshake, socket B (another namespace) calls `connect()` too, then
/// `manager.close()` (no reconnection). Afterwards no Engine.IO session may stay open on the
/// server, and no new handshake may be made: the server's open sessions reach 0 and stay 0
/// for a bounded window, and the only handshake it ever saw is A's first one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_connecting_opens_nothing_afterwards() {
    // A session the aborted handshake may still leave on the server dies by ping timeout
    // (1 s + 1 s): the count must reach 0 even then.
    let mut peer = NodePeer::start(
        PeerOptions::new()
            .allow_request_delay(Duration::from_millis(1000))
            .ping_interval(Duration::from_millis(1000))
            .ping_timeout(Duration::from_millis(1000)),
    )
    .await;
    let m = Manager::builder(peer.url())
        .reconnection(false)
        .build()
        .expect("manager");
    let a = m.socket("/").build();
    let b = m.socket("/foo").build();

    let mut connect_a = Box::pin(a.connect());
    assert!(poll_once(&mut connect_a).await.is_none());
    until_async(STEP, "the server saw A's handshake", || async {
        peer.state().await["handshakes"].as_u64() >= Some(1)
    })
    .await;
    let mut connect_b = Box::pin(b.connect());
    assert!(poll_once(&mut connect_b).await.is_none());
    m.close();

    // The connects end (however), and neither socket is connected.
    let ra = within_for(Duration::from_secs(25), "A's connect to end", connect_a).await;
    let rb = within_for(Duration::from_secs(25), "B's connect to end", connect_b).await;
    assert!(
        ra.is_err() && rb.is_err(),
        "a connect succeeded after close(): A {ra:?}, B {rb:?}"
    );

    // Every handshake the server holds is let through (1 s), and whatever session that left
    // is gone (a fixed client closes it, or it dies by ping timeout).
    if let Err(st) = state_reaches(&peer, Duration::from_secs(10), |st| {
        st["clients"] == 0 && st["released"] == st["handshakes"]
    })
    .await
    {
        peer.stop().await;
        panic!(
            "10 s after close(), sessions are still open on the server (or handshakes held): {st}"
        );
    }
    let handshakes = peer.state().await["handshakes"].as_u64().unwrap_or(0);
    let reopened = first_change(
        Duration::from_secs(4),
        Duration::from_millis(100),
        (0u64, handshakes),
        || async {
            let st = peer.state().await;
            (
                st["clients"].as_u64().unwrap_or(u64::MAX),
                st["handshakes"].as_u64().unwrap_or(u64::MAX),
            )
        },
    )
    .await;
    let st = peer.state().await;
    peer.stop().await;
    assert!(
        reopened.is_none(),
        "after close() the client opened the connection again: (open sessions, handshakes) went from (0, {handshakes}) to {reopened:?}; server state {st}"
    );
    assert_eq!(
        handshakes, 1,
        "close() while connecting: the server saw {handshakes} handshakes, not just A's first one ({st})"
    );
    assert!(!a.connected() && !b.connected());
}

// ---------------------------------------------------------------------------------------------
// item 3: back-pressure over polling

/// A peer with a long heartbeat (a stall must not end in a ping timeout during the test),
/// a proxy in front of it, and a socket connected through the proxy over `t`.
async fn behind_a_proxy(t: Transports) -> (NodePeer, Proxy, Manager, ferrio::Socket) {
    let peer = NodePeer::start(
        PeerOptions::new()
            .ping_interval(Duration::from_secs(60))
            .ping_timeout(Duration::from_secs(60)),
    )
    .await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = builder(&proxy.url(), t)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    (peer, proxy, m, s)
}

/// Connects over `t` through a proxy that then stalls, emits `total` events `(i, payload)`
/// one after another from a task, and waits for the number of completed `emit().await`s to
/// settle (two samples a second apart equal, within 15 s; no event says that an emit waits,
/// so the count is sampled): `Ok(settled count)`, or `Err(count at the end)` when it never
/// settled. Everything is stopped before it returns.
async fn stalled_emits_until_they_wait(
    t: Transports,
    total: u64,
    payload: String,
) -> Result<u64, u64> {
    let (mut peer, proxy, m, s) = behind_a_proxy(t).await;
    proxy.set_mode(Mode::Stall);
    let done = Arc::new(AtomicU64::new(0));
    let emitter = {
        let (s, done) = (s.clone(), done.clone());
        tokio::spawn(async move {
            for i in 0..total {
                if s.emit("num", (i, &payload)).await.is_err() {
                    break;
                }
                done.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let end = Instant::now() + Duration::from_secs(15);
    let mut last = done.load(Ordering::SeqCst);
    let settled = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = done.load(Ordering::SeqCst);
        if now == last || now >= total || Instant::now() >= end {
            break (now == last && now < total).then_some(now);
        }
        last = now;
    };
    let at_end = done.load(Ordering::SeqCst);
    emitter.abort();
    m.close();
    drop(proxy);
    peer.stop().await;
    settled.ok_or(at_end)
}

/// Issue 10, item 3 (polling back-pressure): polling only, through a proxy that stalls once
/// connected; a task emits 100,000 events of 1 KiB one after another. As over websocket
/// (which waits at ~8,192 queued packets), emits must start waiting: within a few seconds the
/// number of completed `emit().await`s stops growing, well below 100,000 (under 20,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_emits_wait_while_the_network_does_not_take_them() {
    const TOTAL: u64 = 100_000;
    let settled =
        stalled_emits_until_they_wait(Transports::PollingOnly, TOTAL, "x".repeat(1024)).await;
    match settled {
        Err(at_end) => panic!(
            "emits never waited over a stalled polling connection: {at_end} of {TOTAL} completed (still growing or all done)"
        ),
        Ok(n) => assert!(
            n < 20_000,
            "emits waited only after {n} of {TOTAL} went into a stalled polling connection"
        ),
    }
}

/// The flow control bounds bytes too, not only packets: over a stalled websocket, emits of
/// 64 KiB each (every one its own frame buffer) wait once about 64 MiB are queued, i.e.
/// after ~910 of them (8,192 / 9: such a packet weighs 9), plus what the sockets' kernel
/// buffers took. Counting packets alone let 8,192 of them (512 MiB) wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_emits_wait_once_their_bytes_reach_the_bound() {
    const TOTAL: u64 = 20_000;
    let settled =
        stalled_emits_until_they_wait(Transports::WebsocketOnly, TOTAL, "x".repeat(64 * 1024))
            .await;
    match settled {
        Err(at_end) => panic!(
            "emits of 64 KiB never waited over a stalled websocket: {at_end} of {TOTAL} completed"
        ),
        Ok(n) => assert!(
            n < 2_000,
            "emits of 64 KiB waited only after {n} ({} MiB) went into a stalled websocket",
            n * 64 / 1024
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// item 4: a refused last namespace closes the session

/// Issue 10, item 4 (refused last namespace): the manager's only socket is refused by a
/// namespace middleware (`connect_error`); then, as in socket.io-client (`Manager._destroy`),
/// the Engine.IO session closes: the server's open sessions go back to 0,
/// `manager.engine_id()` becomes `None`, a `ManagerEvent::Close` arrives, and no more
/// polling requests reach the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_last_namespace_closes_the_session() {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    let m = builder(&peer.url(), Transports::PollingOnly)
        .build()
        .expect("manager");
    let mut manager_events = m.events();
    let s = m.socket("/no").build();
    let mut refusals = connect_errors(&s);
    let r = within(STEP, s.connect()).await;
    assert!(r.is_err(), "/no accepted the socket: {r:?}");
    refusals.next(STEP).await;

    let mut failures = Vec::new();
    let closed = tokio::time::timeout(STEP, async {
        loop {
            match manager_events.recv().await {
                Some(ManagerEvent::Close(reason)) => return Some(reason),
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await;
    if !matches!(closed, Ok(Some(_))) {
        failures.push(format!(
            "no ManagerEvent::Close within {STEP:?} ({closed:?})"
        ));
    }
    if !sessions_reached(&peer, 0, STEP).await {
        failures.push(format!(
            "the server still has {} Engine.IO sessions open",
            peer.clients_count().await
        ));
    }
    let end = Instant::now() + Duration::from_secs(2);
    while m.engine_id().is_some() && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(id) = m.engine_id() {
        failures.push(format!("manager.engine_id() is still {id:?}"));
    }
    let requests = peer.state().await["requests"].as_u64().unwrap_or(0);
    if let Some(more) = first_change(
        Duration::from_secs(2),
        Duration::from_millis(100),
        requests,
        || async { peer.state().await["requests"].as_u64().unwrap_or(0) },
    )
    .await
    {
        failures.push(format!(
            "the client kept polling: {requests} engine requests, then {more}"
        ));
    }
    m.close();
    peer.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// item 5: dropping every handle ends the connection

/// The contract of the typed variants of item 5: `/foo`'s `echo` / `echo-back`.
#[ferrio::socketio_events(namespace = "/foo")]
pub trait Echo {
    /// `echo`: the server emits `echo-back` with the same argument.
    #[emit]
    fn echo(text: String);
    /// The server's `echo-back`.
    #[on(name = "echo-back")]
    fn echo_back(text: String);
}

/// What the test keeps or registers before dropping the socket and the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    Nothing,
    UntypedListener,
    TypedListener,
    TypedStream,
}

/// Connects `/foo`, does `before`, drops every handle of the test (socket, typed socket,
/// manager), and checks that the server sees the session end (and, with a stream kept, that
/// the stream ends).
async fn dropping_every_handle_ends_the_connection(before: Before) {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    // The runtime's tasks before the client exists: its connection task, dispatchers, HTTP
    // connections and closing session must all be gone again at the end.
    let tasks = tokio::runtime::Handle::current().metrics();
    let baseline = tasks.num_alive_tasks();
    let m = Manager::new(peer.url()).expect("manager");
    let mut stream = None;
    match before {
        Before::Nothing | Before::UntypedListener => {
            let s = within(STEP, m.socket("/foo").connect())
                .await
                .expect("connect");
            if before == Before::UntypedListener {
                let echoed = events(&s, "echo-back");
                within(STEP, s.emit("echo", "one")).await.expect("emit");
                let mut echoed = echoed;
                echoed.next(STEP).await;
            }
            drop(s);
        }
        Before::TypedListener | Before::TypedStream => {
            let typed = within(STEP, EchoSocket::connect(&m))
                .await
                .expect("connect");
            let got = inbox::<String>("typed echo-back");
            let tx = got.sender();
            typed.on_echo_back(move |text| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(text);
                }
            });
            if before == Before::TypedStream {
                stream = Some(typed.echo_back_stream());
            }
            within(STEP, typed.emit_echo("one".into()))
                .await
                .expect("emit");
            let mut got = got;
            assert_eq!(got.next(STEP).await, "one");
            if let Some(st) = &mut stream {
                assert_eq!(within(STEP, st.next()).await.as_deref(), Some("one"));
            }
            drop(typed);
        }
    }
    sessions_reach(&peer, 1, STEP).await;
    drop(m);

    let mut failures = Vec::new();
    if let Some(mut st) = stream {
        match tokio::time::timeout(STEP, st.next()).await {
            Ok(None) => {}
            Ok(Some(item)) => failures.push(format!("the stream yielded {item:?}, not None")),
            Err(_) => failures.push(format!(
                "the stream did not end within {STEP:?} after the socket and the manager were dropped"
            )),
        }
    }
    if !sessions_reached(&peer, 0, STEP).await {
        failures.push(format!(
            "{} Engine.IO session(s) still open on the server {STEP:?} after every handle was dropped",
            peer.clients_count().await
        ));
    }
    let tasks_ended = tokio::time::timeout(STEP, async {
        while tasks.num_alive_tasks() > baseline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    if tasks_ended.is_err() {
        failures.push(format!(
            "{} tasks alive {STEP:?} after every handle was dropped, {baseline} before the client",
            tasks.num_alive_tasks()
        ));
    }
    peer.stop().await;
    assert!(failures.is_empty(), "{before:?}: {}", failures.join("\n"));
}

/// Issue 10, item 5a (dropping every handle ends the connection): connect, drop the socket
/// and the manager: the server sees the session end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_handle_ends_the_connection_plain() {
    dropping_every_handle_ends_the_connection(Before::Nothing).await;
}

/// Issue 10, item 5b: the same after registering an untyped listener (`socket.on`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_handle_ends_the_connection_after_an_untyped_listener() {
    dropping_every_handle_ends_the_connection(Before::UntypedListener).await;
}

/// Issue 10, item 5c: the same after registering a typed listener (`#[socketio_events]`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_handle_ends_the_connection_after_a_typed_listener() {
    dropping_every_handle_ends_the_connection(Before::TypedListener).await;
}

/// Issue 10, item 5d: a typed `_stream()` kept by the test while the socket and the manager
/// are dropped: the connection ends and the stream ends (yields `None`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_every_handle_ends_a_kept_typed_stream() {
    dropping_every_handle_ends_the_connection(Before::TypedStream).await;
}

// ---------------------------------------------------------------------------------------------
// item 6: a user Cookie header survives server cookies

/// Issue 10, item 6 (user `Cookie` header): with `extra_header("Cookie", "auth=abc")` and a
/// server that sets a sticky cookie, every request the server sees (the handshake, the polls
/// and posts after it, the websocket upgrade) carries `auth=abc` as well as the server's
/// cookie (after the handshake).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_cookie_header_survives_server_cookies() {
    let mut peer = NodePeer::start(PeerOptions::new().cookie("io")).await;
    let m = Manager::builder(peer.url())
        .extra_header("Cookie", "auth=abc")
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    until(STEP, "the upgrade to websocket", || {
        m.transport() == Some(TransportKind::Websocket)
    })
    .await;
    let hs = server::handshake(&s).await;
    let log = server::request_log(&s).await;
    m.close();
    peer.stop().await;

    let mut failures = Vec::new();
    let handshake_cookie = hs["cookie"].as_str().unwrap_or("");
    if !handshake_cookie.contains("auth=abc") {
        failures.push(format!("handshake: cookie {handshake_cookie:?}"));
    }
    assert!(
        log.iter().any(|r| r["transport"] == "websocket"),
        "no websocket request in the log: {log:?}"
    );
    for r in &log {
        let cookie = r["cookie"].as_str().unwrap_or("");
        let cookies: Vec<&str> = cookie.split(';').map(str::trim).collect();
        if !cookies.contains(&"auth=abc") || !cookies.iter().any(|c| c.starts_with("io=")) {
            failures.push(format!(
                "{} {}: cookie {cookie:?}",
                r["method"], r["transport"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "requests without both `auth=abc` and the server's `io` cookie:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// item 7: acks with retries resolve when the socket will not connect again

/// Issue 10, item 7a: `timeout(..).retries(n).emit_with_ack(..)` on a socket whose manager
/// was closed resolves with an error within about (n+1) x timeout (it never resolved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_with_retries_resolves_on_a_closed_manager() {
    let peer = shared_peer().await;
    let m = Manager::new(peer.url()).expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    m.close();
    assert_eq!(down.next(STEP).await, DisconnectReason::ForcedClose);

    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let r = within_for(
        Duration::from_secs(5),
        "timeout(300ms).retries(2).emit_with_ack on a closed manager to resolve",
        s.timeout(timeout)
            .retries(2)
            .emit_with_ack::<Value>("ack", 1),
    )
    .await;
    assert!(r.is_err(), "an ack on a closed manager succeeded: {r:?}");
    assert!(
        started.elapsed() < 3 * timeout + Duration::from_secs(2),
        "resolved only after {:?}",
        started.elapsed()
    );
}

/// Issue 10, item 7b: the same on a socket that will not reconnect (`reconnection(false)`,
/// the server killed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_with_retries_resolves_when_the_socket_will_not_reconnect() {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    peer.kill().await;
    let reason = down.next(STEP).await;
    assert!(reason.reconnects(), "{reason:?}");

    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let r = within_for(
        Duration::from_secs(5),
        "timeout(300ms).retries(2).emit_with_ack on a socket that will not reconnect to resolve",
        s.timeout(timeout)
            .retries(2)
            .emit_with_ack::<Value>("ack", 1),
    )
    .await;
    assert!(r.is_err(), "an ack without a server succeeded: {r:?}");
    assert!(
        started.elapsed() < 3 * timeout + Duration::from_secs(2),
        "resolved only after {:?}",
        started.elapsed()
    );
    m.close();
}

// ---------------------------------------------------------------------------------------------
// item 9: the close reason when the connection ends without a goodbye

/// The disconnect reason of a socket connected over `t` when the server is SIGKILLed.
async fn reason_when_the_server_is_killed(t: Transports) -> DisconnectReason {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    let m = builder(&peer.url(), t)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    peer.kill().await;
    let reason = down.next(Duration::from_secs(10)).await;
    m.close();
    reason
}

/// Issue 10, item 9a: a websocket that ends without a close frame (the server SIGKILLed) is
/// `transport close`, as socket.io-client reports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_ending_without_a_close_frame_is_transport_close() {
    assert_eq!(
        reason_when_the_server_is_killed(Transports::WebsocketOnly).await,
        DisconnectReason::TransportClose
    );
}

/// Issue 10, item 9b: over polling only, the same kill fails a request: `transport error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_over_polling_is_transport_error() {
    assert_eq!(
        reason_when_the_server_is_killed(Transports::PollingOnly).await,
        DisconnectReason::TransportError
    );
}

/// Issue 10, item 9c: with `remember_upgrade(true)`, after a websocket worked, a websocket
/// that ends without a close frame does not make the client forget it: the reconnection (to
/// the server restarted on the same port) opens with websocket directly. The first attempt
/// comes after the restart: an attempt that fails to open forgets the websocket, as
/// engine.io-client's `priorWebsocketSuccess` does on any transport error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_upgrade_survives_a_websocket_ending_without_a_close_frame() {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    let m = Manager::builder(peer.url())
        .remember_upgrade(true)
        .reconnection_delay(Duration::from_secs(3))
        .randomization_factor(0.0)
        .build()
        .expect("manager");
    let (s, mut up) = connect_watched(&m, "/").await;
    until(STEP, "the upgrade to websocket", || {
        m.transport() == Some(TransportKind::Websocket)
    })
    .await;
    let mut down = disconnects(&s);
    let before = peer.state().await["handshakes"].as_u64().unwrap_or(0);
    assert_eq!(before, 1);
    peer.kill().await;
    let reason = down.next(STEP).await;
    peer.start_again().await;
    within_for(Duration::from_secs(15), "the reconnection", up.next(STEP)).await;
    let hs = server::handshake(&s).await;
    let log = server::request_log(&s).await;
    let st = peer.state().await;
    m.close();
    peer.stop().await;
    let url = hs["url"].as_str().unwrap_or("");
    assert!(
        url.contains("transport=websocket"),
        "after the websocket ended with {reason:?}, the reconnection opened with {url:?} (requests after it: {:?}; server state {st})",
        log.iter()
            .map(|r| format!("{} {}", r["method"], r["transport"]))
            .collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------------
// item 11: no ack fails while its packet is still delivered

/// Issue 10, item 11a: many concurrent `emit_with_ack` (no retries), each with a unique id,
/// while the server is killed and restarted on the same port (five times, emits flooding at
/// each kill): an emit whose ack failed with `Error::Disconnected` must not have been
/// delivered to a server started after that failure (the caller was told it failed;
/// delivering it anyway makes a retry a duplicate). Over each transport configuration
/// (`::websocket`, `::polling`, `::upgrade`).
async fn an_ack_that_failed_disconnected_was_not_delivered_later(t: Transports) {
    const CYCLES: usize = 5;
    let mut peer = NodePeer::start(PeerOptions::new().log_events(true)).await;
    let m = builder(&peer.url(), t)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(300))
        .build()
        .expect("manager");
    let (s, mut up) = connect_watched(&m, "/").await;
    if t == Transports::PollingUpgrade {
        until(STEP, "the upgrade to websocket", || {
            m.transport() == Some(TransportKind::Websocket)
        })
        .await;
    }

    // The server incarnations, in order (their pids), and the index of the latest one.
    let mut pids = vec![peer.pid().expect("the server's pid")];
    let incarnation = Arc::new(AtomicUsize::new(0));
    // outcome per id: "ok", "disconnected", or another error's text; with the incarnation
    // that was the latest when it resolved
    let outcomes: Arc<Mutex<HashMap<u64, (String, usize)>>> = Arc::default();
    let next_id = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // While `flood` is on, emits go out as fast as they can be made (so that, when the
    // connection drops, many are still on their way to the connection task); otherwise at a
    // calm pace.
    let flood = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let producer = {
        let (s, outcomes, next_id, stop, flood, incarnation) = (
            s.clone(),
            outcomes.clone(),
            next_id.clone(),
            stop.clone(),
            flood.clone(),
            incarnation.clone(),
        );
        tokio::spawn(async move {
            let mut emits = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let flooding = flood.load(Ordering::SeqCst);
                for _ in 0..if flooding { 100 } else { 20 } {
                    let id = next_id.fetch_add(1, Ordering::SeqCst);
                    let (s, outcomes, incarnation) =
                        (s.clone(), outcomes.clone(), incarnation.clone());
                    emits.push(tokio::spawn(async move {
                        let r = s
                            .timeout(Duration::from_secs(20))
                            .emit_with_ack::<Value>("ack", json!({ "id": id }))
                            .await;
                        let outcome = match r {
                            Ok(_) => "ok".to_string(),
                            Err(Error::Disconnected) => "disconnected".to_string(),
                            Err(e) => e.to_string(),
                        };
                        let at = incarnation.load(Ordering::SeqCst);
                        outcomes.lock().expect("lock").insert(id, (outcome, at));
                    }));
                }
                if flooding {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            emits
        })
    };
    for cycle in 0..CYCLES {
        flood.store(true, Ordering::SeqCst);
        let target = next_id.load(Ordering::SeqCst) + 2000;
        until(
            STEP,
            format!("2,000 more emits under way (cycle {cycle})"),
            || next_id.load(Ordering::SeqCst) >= target,
        )
        .await;
        peer.kill().await;
        until(STEP, "the socket saw the connection drop", || {
            !s.connected()
        })
        .await;
        flood.store(false, Ordering::SeqCst);
        peer.start_again().await;
        pids.push(peer.pid().expect("the restarted server's pid"));
        incarnation.fetch_add(1, Ordering::SeqCst);
        within_for(Duration::from_secs(15), "the reconnection", up.next(STEP)).await;
    }
    let after = next_id.load(Ordering::SeqCst) + 500;
    until(STEP, "500 more emits after the last reconnection", || {
        next_id.load(Ordering::SeqCst) >= after
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let emits = within(STEP, producer).await.expect("the producer");
    within_for(
        Duration::from_secs(40),
        "every emit to resolve",
        futures_util::future::join_all(emits),
    )
    .await;
    // everything sent before this went out first
    within(
        STEP,
        s.timeout(STEP)
            .emit_with_ack::<Value>("ack", json!({ "id": "last" })),
    )
    .await
    .expect("a round trip after the restarts");
    let last_pid = *pids.last().expect("a pid");
    let events = peer
        .wait_for_events(STEP, |evs| {
            evs.iter()
                .any(|e| e["args"][0]["id"] == "last" && e["pid"] == last_pid)
        })
        .await;
    m.close();
    peer.stop().await;

    // id -> the incarnations that got it
    let mut delivered: HashMap<u64, Vec<usize>> = HashMap::new();
    for e in events.iter().filter(|e| e["event"] == "ack") {
        let (Some(id), Some(at)) = (
            e["args"][0]["id"].as_u64(),
            pids.iter().position(|p| e["pid"] == *p),
        ) else {
            continue;
        };
        delivered.entry(id).or_default().push(at);
    }
    let outcomes = outcomes.lock().expect("lock").clone();
    let count = |what: &str| outcomes.values().filter(|(o, _)| o == what).count();
    // failed with Disconnected while incarnation `at` was the latest, yet a later one got it
    let mut failed_but_delivered: Vec<(u64, usize, Vec<usize>)> = outcomes
        .iter()
        .filter(|(_, (o, _))| o == "disconnected")
        .filter_map(|(id, (_, at))| {
            let got = delivered.get(id)?;
            got.iter().any(|i| i > at).then(|| (*id, *at, got.clone()))
        })
        .collect();
    failed_but_delivered.sort_unstable();
    let others: Vec<&String> = outcomes
        .values()
        .map(|(o, _)| o)
        .filter(|o| *o != "ok" && *o != "disconnected")
        .collect();
    eprintln!(
        "{t:?}: {} emits over {CYCLES} kill/restarts: {} ok, {} disconnected, {} other errors ({:?})",
        outcomes.len(),
        count("ok"),
        count("disconnected"),
        others.len(),
        others.iter().take(3).collect::<Vec<_>>(),
    );
    assert!(
        failed_but_delivered.is_empty(),
        "{} emits failed with Error::Disconnected, yet a server started after that failure got them; (id, server when it failed, servers that got it): {:?}",
        failed_but_delivered.len(),
        &failed_but_delivered[..failed_but_delivered.len().min(10)]
    );
}

transport_matrix!(an_ack_that_failed_disconnected_was_not_delivered_later);

/// Issue 10, item 11b: the server asks for an ack, the connection drops before the client's
/// listener answers (it answers after the reconnection): the answer belongs to the old
/// session and must not be sent to the new one (the restarted server's raw packet log shows
/// no ACK packet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_answered_after_a_reconnection_is_not_sent_to_the_new_session() {
    let mut peer = NodePeer::start(PeerOptions::new()).await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(300))
        .build()
        .expect("manager");
    let mut manager_events = m.events();
    let s = m.socket("/").build();
    let gate = Arc::new(tokio::sync::Notify::new());
    let asked = inbox::<()>("ask");
    let answered = inbox::<String>("answer sent");
    {
        let (gate, asked, answered) = (gate.clone(), asked.sender(), answered.sender());
        s.on("ask", move |ev: Event| {
            let (gate, asked, answered) = (gate.clone(), asked.clone(), answered.clone());
            async move {
                let _ = asked.send(());
                // answers only once the test says so (after the reconnection)
                gate.notified().await;
                let r = ev.ack("late answer").await;
                let _ = answered.send(format!("{r:?}"));
            }
        });
    }
    within(STEP, s.connect()).await.expect("connect");
    within(
        STEP,
        s.emit("askForAck", json!({ "event": "ask", "args": [1] })),
    )
    .await
    .expect("emit askForAck");
    let mut asked = asked;
    asked.next(STEP).await;

    peer.kill().await;
    peer.start_again().await;
    // The listener is busy (listeners of a socket run one at a time): the manager's events
    // and the socket's state tell the reconnection.
    next_manager_event(&mut manager_events, Duration::from_secs(15), |e| {
        matches!(e, ManagerEvent::Reconnect(_))
    })
    .await;
    until(
        Duration::from_secs(10),
        "the socket connected again",
        || s.connected(),
    )
    .await;
    gate.notify_one();
    let mut answered = answered;
    let sent = answered.next(STEP).await;
    // anything the answer put on the wire is ahead of this round trip
    let echoed: String = within(STEP, s.timeout(STEP).emit_with_ack("ack", "after"))
        .await
        .expect("a round trip after the reconnection");
    assert_eq!(echoed, "after");
    let raw = server::raw_log(&s).await;
    m.close();
    peer.stop().await;
    let acks: Vec<&String> = raw
        .iter()
        .filter(|p| p.starts_with('3') || p.starts_with('6'))
        .collect();
    assert!(
        acks.is_empty(),
        "the answer to the old session's request reached the new session: {acks:?} (ack() gave {sent}; raw log {raw:?})"
    );
}

// ---------------------------------------------------------------------------------------------
// item 12: no panic outside a runtime

/// Runs `f` on a plain thread (no tokio runtime): the panic message, if it panicked. Fails
/// the test if `f` does not return within [`STEP`] (a blocking call is a hang too).
async fn on_plain_thread(f: impl FnOnce() + Send + 'static) -> Option<String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r.err().map(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string())
        }));
    });
    within_for(STEP, "the call on a plain thread to return", rx)
        .await
        .unwrap_or_else(|_| Some("the thread ended without an answer".to_string()))
}

/// Issue 10, item 12 (no panic outside a runtime): `Socket::disconnect()` and
/// `Manager::close()` called from a plain `std::thread` do not panic and still take effect;
/// also on a manager whose connection never started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_and_close_work_outside_a_runtime() {
    let peer = shared_peer().await;
    let mut failures = Vec::new();

    // a connected socket's disconnect()
    let m = Manager::new(peer.url()).expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    let s2 = s.clone();
    if let Some(p) = on_plain_thread(move || {
        s2.disconnect();
    })
    .await
    {
        failures.push(format!("Socket::disconnect() panicked: {p}"));
    } else {
        match down.try_next(STEP).await {
            Some(DisconnectReason::IoClientDisconnect) => {}
            other => failures.push(format!("Socket::disconnect(): disconnect event {other:?}")),
        }
    }
    m.close();

    // a connected manager's close()
    let m = Manager::new(peer.url()).expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    let m2 = m.clone();
    if let Some(p) = on_plain_thread(move || {
        m2.close();
    })
    .await
    {
        failures.push(format!("Manager::close() panicked: {p}"));
    } else {
        match down.try_next(STEP).await {
            Some(DisconnectReason::ForcedClose) => {}
            other => failures.push(format!("Manager::close(): disconnect event {other:?}")),
        }
    }

    // a socket that never connected (its manager's connection never started)
    let m = Manager::new(peer.url()).expect("manager");
    let s = m.socket("/").build();
    if let Some(p) = on_plain_thread(move || {
        s.disconnect();
    })
    .await
    {
        failures.push(format!(
            "Socket::disconnect() of a socket that never connected panicked: {p}"
        ));
    }
    // a manager whose connection never started (another one: the first may be poisoned)
    let m = Manager::new(peer.url()).expect("manager");
    let m2 = m.clone();
    if let Some(p) = on_plain_thread(move || {
        m2.close();
    })
    .await
    {
        failures.push(format!(
            "Manager::close() of a manager that never connected panicked: {p}"
        ));
    }
    // ... and it is still usable from the runtime afterwards
    match tokio::time::timeout(STEP, m.socket("/").connect()).await {
        Ok(Ok(s)) => {
            s.disconnect();
        }
        other => failures.push(format!(
            "connecting after close() from a plain thread: {other:?}"
        )),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// item 13: volatile while not writable

/// Issue 10, item 13a (volatile while not writable): over websocket through a proxy that
/// stalls once connected, 100,000 `socket.volatile().emit(..)` calls of 1 KiB all return
/// within a few seconds (volatile packets are dropped when the transport cannot take them; they never
/// wait), and `on_any_outgoing` fired exactly for the packets that were sent (the ones the
/// server gets once the network comes back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_emits_never_wait_while_the_transport_is_not_writable() {
    const TOTAL: u64 = 100_000;
    let (mut peer, proxy, m, s) = behind_a_proxy(Transports::WebsocketOnly).await;
    let fired = Arc::new(AtomicU64::new(0));
    {
        let fired = fired.clone();
        s.on_any_outgoing(move |ev: OutgoingEvent| {
            if ev.name == "vol" {
                fired.fetch_add(1, Ordering::SeqCst);
            }
            async {}
        });
    }
    proxy.set_mode(Mode::Stall);
    let returned = Arc::new(AtomicU64::new(0));
    // 1 KiB each: 100 MiB in all, far more than the socket buffers take while stalled
    let all = {
        let (s, returned) = (s.clone(), returned.clone());
        async move {
            let payload = "x".repeat(1024);
            for i in 0..TOTAL {
                s.volatile()
                    .emit("vol", (i, &payload))
                    .await
                    .expect("volatile emit");
                returned.fetch_add(1, Ordering::SeqCst);
            }
        }
    };
    let started = Instant::now();
    let finished = tokio::time::timeout(Duration::from_secs(15), all).await;
    let n = returned.load(Ordering::SeqCst);
    if finished.is_err() {
        m.close();
        drop(proxy);
        peer.stop().await;
        panic!(
            "deadline of 15s passed: only {n} of {TOTAL} volatile emits returned over a stalled websocket"
        );
    }
    eprintln!("{TOTAL} volatile emits returned in {:?}", started.elapsed());
    proxy.set_mode(Mode::Pass);
    let echoed: String = within(
        Duration::from_secs(30),
        s.timeout(Duration::from_secs(30))
            .emit_with_ack("ack", "after"),
    )
    .await
    .expect("a round trip after the stall");
    assert_eq!(echoed, "after");
    let received = server::stats(&s).await["events"]["vol"]
        .as_u64()
        .unwrap_or(0);
    // the outgoing listeners run on their own task: let them catch up with the server's count
    let _ = tokio::time::timeout(STEP, async {
        while fired.load(Ordering::SeqCst) < received {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    m.close();
    drop(proxy);
    peer.stop().await;
    let fired = fired.load(Ordering::SeqCst);
    assert!(
        received < TOTAL,
        "all {TOTAL} volatile packets went through a stalled network"
    );
    assert_eq!(
        fired, received,
        "on_any_outgoing fired {fired} times for `vol`, the server got {received} (of {TOTAL} emitted)"
    );
}

/// Issue 10, item 13b: `on_any_outgoing` does not fire for a volatile packet that is dropped
/// (here: emitted while the socket is not connected), as socket.io-client notifies the
/// outgoing listeners only for a packet it sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_any_outgoing_does_not_fire_for_a_dropped_volatile_packet() {
    let peer = shared_peer().await;
    let m = Manager::new(peer.url()).expect("manager");
    let s = m.socket("/").build();
    let mut outgoing = outgoing_events(&s);
    within(STEP, s.volatile().emit("vol", 1))
        .await
        .expect("volatile emit");
    within(STEP, s.connect()).await.expect("connect");
    // A plain emit as the control: a volatile one may be dropped too, right after the
    // connection, while the transport is still writing (socket.io-client drops it then).
    within(STEP, s.emit("sent", 2)).await.expect("emit");
    let first = outgoing.next(STEP).await;
    m.close();
    assert_eq!(
        first.name, "sent",
        "on_any_outgoing fired for the volatile packet dropped before the connection"
    );
}

// ---------------------------------------------------------------------------------------------
// item 8: the Host header over IPv6

/// Issue 10, item 8 (IPv6 Host header): connected to `http://[::1]:PORT`, the server receives
/// `Host: [::1]:PORT` (brackets kept) on every request. Skipped, with a printed line, where
/// the IPv6 loopback is unavailable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_header_of_an_ipv6_address_has_brackets() {
    if let Err(e) = std::net::TcpListener::bind("[::1]:0") {
        println!("SKIPPED the_host_header_of_an_ipv6_address_has_brackets: the IPv6 loopback ::1 is unavailable here ({e})");
        return;
    }
    let ip: std::net::IpAddr = "::1".parse().expect("::1");
    let mut peer = NodePeer::start(PeerOptions::new().host(ip)).await;
    let port = peer.port();
    let url = format!("http://[::1]:{port}");
    assert_eq!(peer.url(), url);
    let m = Manager::new(&url).expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect over IPv6");
    until(STEP, "the upgrade to websocket", || {
        m.transport() == Some(TransportKind::Websocket)
    })
    .await;
    let hs = server::handshake(&s).await;
    let log = server::request_log(&s).await;
    m.close();
    peer.stop().await;
    let want = format!("[::1]:{port}");
    let mut hosts = vec![hs["headers"]["host"].clone()];
    hosts.extend(log.iter().map(|r| r["headers"]["host"].clone()));
    assert!(
        hosts.iter().all(|h| h == want.as_str()),
        "Host headers {hosts:?}, want {want:?} on every request"
    );
}
