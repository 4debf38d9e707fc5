//! Transport behaviour against the official Node server: the polling -> websocket upgrade,
//! websocket-only and polling-only modes, heartbeat, volume and order, payload limits,
//! cookies, and the engine path.

use std::time::Duration;

use ferrio::{DisconnectReason, Error, ManagerEvent, TransportKind};
use ferrio_suite::*;
use serde_json::Value;

transport_matrix!(
    many_events_keep_their_order_both_ways,
    a_large_message_round_trips,
    heartbeat_keeps_the_connection_alive,
    a_server_that_stops_pinging_gives_a_ping_timeout,
    a_message_over_max_http_buffer_size_closes_the_connection,
);

async fn many_events_keep_their_order_both_ways(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    // client -> server, starting right away (so with the upgrade, across it)
    for i in 0..500 {
        within(STEP, s.emit("num", i)).await.expect("emit");
    }
    let stats = server::stats(&s).await;
    let nums: Vec<i64> = serde_json::from_value(stats["nums"].clone()).expect("nums");
    assert_eq!(nums, (0..500).collect::<Vec<_>>());
    // server -> client
    let mut num = events(&s, "num");
    within(STEP, s.emit("emitN", json!({"n": 1000})))
        .await
        .expect("emit");
    let got: Vec<i64> = num
        .take(1000, STEP)
        .await
        .iter()
        .map(|e| e.arg(0).expect("n"))
        .collect();
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    s.disconnect();
    m.close();
}

async fn a_large_message_round_trips(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let big = "ü".repeat(200_000); // 400 kB of UTF-8, under the 1 MB default limit
    let back: String = within(STEP, s.emit_with_ack("echo", big.as_str()))
        .await
        .expect("echo");
    assert_eq!(back, big);
    let mut large = events(&s, "large");
    within(STEP, s.emit("emitLarge", json!({"size": 900_000})))
        .await
        .expect("emit");
    let got: String = large.next(STEP).await.arg(0).expect("large");
    assert_eq!(got.len(), 900_000);
    s.disconnect();
    m.close();
}

async fn heartbeat_keeps_the_connection_alive(t: Transports) {
    let peer = NodePeer::start(
        PeerOptions::new()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(200)),
    )
    .await;
    let m = builder(&peer.url(), t)
        .reconnection(false)
        .build()
        .expect("manager");
    let mut evs = m.events();
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    for _ in 0..5 {
        next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Ping)).await;
    }
    // 5 pings later (> pingInterval + pingTimeout), the server still has us
    assert!(s.connected());
    let v: i64 = within(STEP, s.emit_with_ack("echo", 1))
        .await
        .expect("echo");
    assert_eq!(v, 1);
    down.assert_quiet(Duration::from_millis(1)).await;
    s.disconnect();
    m.close();
}

async fn a_server_that_stops_pinging_gives_a_ping_timeout(t: Transports) {
    let peer = NodePeer::start(
        PeerOptions::new()
            .ping_interval(Duration::from_millis(200))
            .ping_timeout(Duration::from_millis(200)),
    )
    .await;
    let m = builder(&peer.url(), t)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    let _: bool = within(STEP, s.emit_with_ack("stopPinging", ()))
        .await
        .expect("stopPinging");
    assert_eq!(down.next(STEP).await, DisconnectReason::PingTimeout);
    assert!(!s.connected());
    m.close();
}

async fn a_message_over_max_http_buffer_size_closes_the_connection(t: Transports) {
    let peer = NodePeer::start(PeerOptions::new().max_http_buffer_size(10_000)).await;
    let m = builder(&peer.url(), t)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    if t == Transports::PollingUpgrade {
        until(STEP, "the upgrade", || {
            matches!(m.transport(), Some(TransportKind::Websocket))
        })
        .await;
    }
    let mut down = disconnects(&s);
    let ack = tokio::spawn({
        let s = s.clone();
        async move { s.emit_with_ack::<String>("echo", "x".repeat(50_000)).await }
    });
    let reason = down.next(STEP).await;
    let expected = match t {
        Transports::PollingOnly => DisconnectReason::TransportError,
        _ => DisconnectReason::TransportClose,
    };
    assert_eq!(reason, expected);
    let r = within(STEP, ack).await.expect("join");
    assert!(matches!(r, Err(Error::Disconnected)), "{r:?}");
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_goes_from_polling_to_websocket() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::PollingUpgrade).await;
    until(STEP, "the upgrade", || {
        matches!(m.transport(), Some(TransportKind::Websocket))
    })
    .await;
    let v: i64 = within(STEP, s.emit_with_ack("echo", 9))
        .await
        .expect("echo after the upgrade");
    assert_eq!(v, 9);
    let log = server::request_log(&s).await;
    let transports: Vec<&str> = log.iter().filter_map(|r| r["transport"].as_str()).collect();
    assert!(transports.first() == Some(&"polling"), "{transports:?}");
    assert_eq!(
        transports.iter().filter(|t| **t == "websocket").count(),
        1,
        "{transports:?}"
    );
    assert_eq!(server::transport(&s).await, "websocket");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_only_never_upgrades_and_websocket_only_never_polls() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::PollingOnly).await;
    for i in 0..20 {
        within(STEP, s.emit("num", i)).await.expect("emit");
    }
    let _ = server::stats(&s).await;
    let log = server::request_log(&s).await;
    assert!(!log.is_empty());
    assert!(log.iter().all(|r| r["transport"] == "polling"), "{log:?}");
    assert!(matches!(m.transport(), Some(TransportKind::Polling)));
    s.disconnect();
    m.close();

    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let hs = server::handshake(&s).await;
    assert_eq!(hs["query"]["transport"], "websocket");
    assert!(server::request_log(&s)
        .await
        .iter()
        .all(|r| r["transport"] != "polling"));
    assert!(matches!(m.transport(), Some(TransportKind::Websocket)));
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_refused_by_the_server_stays_on_polling() {
    let peer = NodePeer::start(PeerOptions::new().allow_upgrades(false)).await;
    let (m, s) = connect(&peer.url(), "/", Transports::PollingUpgrade).await;
    for i in 0..10 {
        let v: i64 = within(STEP, s.emit_with_ack("echo", i))
            .await
            .expect("echo");
        assert_eq!(v, i);
    }
    assert!(matches!(m.transport(), Some(TransportKind::Polling)));
    assert_eq!(server::transport(&s).await, "polling");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_only_server_with_a_websocket_only_client() {
    let peer = NodePeer::start(PeerOptions::new().transports(&["websocket"])).await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let v: i64 = within(STEP, s.emit_with_ack("echo", 3))
        .await
        .expect("echo");
    assert_eq!(v, 3);
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_kept_across_requests() {
    // sticky sessions: the engine sets `io=<sid>`, the client sends it on every later request
    let peer = NodePeer::start(PeerOptions::new().cookie("io")).await;
    for t in [Transports::PollingOnly, Transports::PollingUpgrade] {
        let (m, s) = connect(&peer.url(), "/", t).await;
        if t == Transports::PollingUpgrade {
            until(STEP, "the upgrade", || {
                matches!(m.transport(), Some(TransportKind::Websocket))
            })
            .await;
        }
        for i in 0..5 {
            within(STEP, s.emit("num", i)).await.expect("emit");
        }
        let _ = server::stats(&s).await;
        let engine = m.engine_id().expect("engine id");
        let log = server::request_log(&s).await;
        assert!(!log.is_empty());
        for r in &log {
            let cookie = r["cookie"].as_str().unwrap_or_default();
            assert!(
                cookie.contains(&format!("io={engine}")),
                "{t:?}: a request without the cookie: {r}"
            );
        }
        s.disconnect();
        m.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_path_option() {
    let peer = NodePeer::start(PeerOptions::new().path("/custom/")).await;
    for t in Transports::ALL {
        let m = builder(&peer.url(), t)
            .path("/custom/")
            .build()
            .expect("manager");
        let s = within(STEP, m.socket("/").connect())
            .await
            .expect("connect on /custom/");
        let hs = server::handshake(&s).await;
        assert!(
            hs["url"]
                .as_str()
                .unwrap_or_default()
                .starts_with("/custom/"),
            "{hs}"
        );
        s.disconnect();
        m.close();
    }
    // the default path is not served there
    let m = builder(&peer.url(), Transports::PollingOnly)
        .reconnection(false)
        .build()
        .expect("manager");
    let r = within(STEP, m.socket("/").connect()).await;
    assert!(r.is_err(), "{r:?}");
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_listener_does_not_delay_pongs() {
    // a handler that blocks its socket's queue for longer than pingInterval + pingTimeout
    let peer = NodePeer::start(
        PeerOptions::new()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100)),
    )
    .await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let mut down = disconnects(&s);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    s.on("hi", move |_ev: ferrio::Event| {
        let tx = tx.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let _ = tx.send(());
        }
    });
    within(STEP, s.emit("hi", ())).await.expect("emit");
    within(STEP, rx.recv()).await;
    down.assert_quiet(Duration::from_millis(1)).await;
    assert!(s.connected());
    let v: Value = within(STEP, s.emit_with_ack("echo", "alive"))
        .await
        .expect("echo");
    assert_eq!(v, "alive");
    s.disconnect();
    m.close();
}

// ---- timestampRequests / timestampParam ---------------------------------------------------

/// The stamps of the requests the server logged for this socket's connection, by transport
/// (`None`: the request had no stamp).
async fn stamps(s: &ferrio::Socket, param: &str) -> Vec<(String, Option<String>)> {
    server::request_log(s)
        .await
        .iter()
        .map(|r| {
            let transport = r["transport"].as_str().unwrap_or_default().to_owned();
            let stamp = r["query"][param].as_str().map(str::to_owned);
            (transport, stamp)
        })
        .collect()
}

/// Connects over polling with the upgrade, sends a few events (more polling requests) and
/// waits for the websocket, then gives the logged stamps.
async fn stamps_of_a_session(
    url: &str,
    configure: impl FnOnce(ferrio::ManagerBuilder) -> ferrio::ManagerBuilder,
    param: &str,
) -> Vec<(String, Option<String>)> {
    let m = configure(builder(url, Transports::PollingUpgrade))
        .build()
        .expect("manager");
    let s = m.socket("/").build();
    within(STEP, s.connect()).await.expect("connect");
    for i in 0..3 {
        within(STEP, s.emit("num", i)).await.expect("emit");
    }
    until(STEP, "the upgrade", || {
        matches!(m.transport(), Some(TransportKind::Websocket))
    })
    .await;
    let log = stamps(&s, param).await;
    s.disconnect();
    m.close();
    log
}

/// socket.io's default: every polling request carries its own `t`, the websocket handshake
/// none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_requests_are_stamped_by_default_and_the_websocket_is_not() {
    let peer = shared_peer().await;
    let log = stamps_of_a_session(&peer.url(), |b| b, "t").await;
    let polling: Vec<&str> = log
        .iter()
        .filter(|(t, _)| t == "polling")
        .map(|(_, stamp)| stamp.as_deref().expect("a stamped polling request"))
        .collect();
    assert!(polling.len() >= 2, "{log:?}");
    let mut unique = polling.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), polling.len(), "each stamp is new: {log:?}");
    let websocket: Vec<_> = log.iter().filter(|(t, _)| t == "websocket").collect();
    assert_eq!(websocket.len(), 1, "{log:?}");
    assert_eq!(websocket[0].1, None, "{log:?}");
}

/// `timestamp_requests(true)` stamps the websocket handshake too, under `timestamp_param`;
/// `timestamp_requests(false)` stamps nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamp_requests_and_param_choose_what_is_stamped() {
    let peer = shared_peer().await;
    let all = stamps_of_a_session(
        &peer.url(),
        |b| b.timestamp_requests(true).timestamp_param("ts"),
        "ts",
    )
    .await;
    assert!(all.iter().any(|(t, _)| t == "websocket"), "{all:?}");
    assert!(all.iter().all(|(_, stamp)| stamp.is_some()), "{all:?}");
    let none = stamps_of_a_session(&peer.url(), |b| b.timestamp_requests(false), "t").await;
    assert!(none.len() >= 2, "{none:?}");
    assert!(none.iter().all(|(_, stamp)| stamp.is_none()), "{none:?}");
}

// ---- rememberUpgrade / tryAllTransports ---------------------------------------------------

/// socket.io's `rememberUpgrade`: once the upgrade worked, the reconnection opens with
/// websocket directly; without it, through polling and the upgrade again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_upgrade_reopens_with_websocket() {
    let peer = shared_peer().await;
    for (remember, first) in [(true, "websocket"), (false, "polling")] {
        let m = builder(&peer.url(), Transports::PollingUpgrade)
            .remember_upgrade(remember)
            .reconnection_delay(Duration::from_millis(20))
            .randomization_factor(0.0)
            .build()
            .expect("manager");
        let (s, mut up) = connect_watched(&m, "/").await;
        until(STEP, "the upgrade", || {
            matches!(m.transport(), Some(TransportKind::Websocket))
        })
        .await;
        let opened_with = |h: Value| h["query"]["transport"].as_str().map(str::to_owned);
        assert_eq!(
            opened_with(server::handshake(&s).await).as_deref(),
            Some("polling")
        );
        within(STEP, s.emit("closeEngine", ())).await.expect("emit");
        up.next(STEP).await;
        assert_eq!(
            opened_with(server::handshake(&s).await).as_deref(),
            Some(first),
            "remember_upgrade({remember})"
        );
        s.disconnect();
        m.close();
    }
}

/// socket.io's `tryAllTransports`: a websocket-only server refuses the polling handshake;
/// by default that fails the connection, with the option the client goes on to websocket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_all_transports_goes_on_to_the_next_one() {
    let peer = NodePeer::start(PeerOptions::new().transports(&["websocket"])).await;
    let m = builder(&peer.url(), Transports::PollingUpgrade)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = m.socket("/").build();
    let refused = within(STEP, s.connect()).await;
    assert!(
        matches!(refused, Err(Error::Transport(_))),
        "polling only is tried: {refused:?}"
    );
    m.close();

    let m = builder(&peer.url(), Transports::PollingUpgrade)
        .reconnection(false)
        .try_all_transports(true)
        .build()
        .expect("manager");
    let (s, _up) = connect_watched(&m, "/").await;
    assert_eq!(m.transport(), Some(TransportKind::Websocket));
    let v: i64 = within(STEP, s.emit_with_ack("echo", 5))
        .await
        .expect("echo");
    assert_eq!(v, 5);
    s.disconnect();
    m.close();
}

// ---- localAddress -------------------------------------------------------------------------

/// socket.io's `localAddress`: every connection (polling requests and the websocket of the
/// upgrade) leaves from the given address; the whole of 127/8 is loopback on Linux.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_leave_from_the_local_address() {
    let peer = shared_peer().await;
    let local: std::net::IpAddr = "127.0.0.2".parse().expect("an address");
    let m = builder(&peer.url(), Transports::PollingUpgrade)
        .local_address(local)
        .build()
        .expect("manager");
    let (s, _up) = connect_watched(&m, "/").await;
    until(STEP, "the upgrade", || {
        matches!(m.transport(), Some(TransportKind::Websocket))
    })
    .await;
    let address = server::handshake(&s).await["address"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(address.ends_with("127.0.0.2"), "seen from {address}");
    let v: i64 = within(STEP, s.emit_with_ack("echo", 8))
        .await
        .expect("echo over the websocket");
    assert_eq!(v, 8);
    let log = server::request_log(&s).await;
    assert!(
        log.iter().any(|r| r["transport"] == "websocket"),
        "the upgrade is logged: {log:?}"
    );
    for r in &log {
        let from = r["address"].as_str().unwrap_or_default();
        assert!(from.ends_with("127.0.0.2"), "a request from {from}: {r}");
    }
    s.disconnect();
    m.close();

    // An IPv6 local address cannot reach an IPv4-only host: a clear transport error.
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .local_address("::1".parse().expect("an address"))
        .reconnection(false)
        .build()
        .expect("manager");
    let refused = within(STEP, m.socket("/").build().connect()).await;
    assert!(
        matches!(&refused, Err(Error::Transport(m)) if m.contains("family")),
        "{refused:?}"
    );
    m.close();
}

// ---- protocols ----------------------------------------------------------------------------

/// socket.io's `protocols`: the websocket handshake offers the subprotocols (the Node
/// server's `ws` picks the first); one that cannot be a header value is a build error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_protocols_are_offered_in_the_handshake() {
    let peer = shared_peer().await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .websocket_protocols(&["chat-v2", "chat-v1"])
        .build()
        .expect("manager");
    let (s, _up) = connect_watched(&m, "/").await;
    let handshake = server::handshake(&s).await;
    assert_eq!(
        handshake["headers"]["sec-websocket-protocol"], "chat-v2, chat-v1",
        "{handshake}"
    );
    let v: i64 = within(STEP, s.emit_with_ack("echo", 2))
        .await
        .expect("echo");
    assert_eq!(v, 2);
    s.disconnect();
    m.close();

    let bad = builder(&peer.url(), Transports::WebsocketOnly)
        .websocket_protocols(&["a\nb"])
        .build();
    assert!(matches!(bad, Err(Error::Config(_))), "{bad:?}");
}
