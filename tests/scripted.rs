//! The scriptable server (`ScriptServer`, Engine.IO v4 with the polling -> websocket upgrade)
//! in hand-written scenarios: the server itself, a CONNECT reply without `sid`, and the
//! upgrade window of issue 10 (a poll that never returns, a burst in flight when `3probe`
//! arrives). Every wait has a deadline; a frozen client fails with a message, never hangs.

use std::time::Duration;

use ferrio::{DisconnectReason, Error, Manager, ManagerEvent, Socket, TransportKind};
use ferrio_suite::script::{Act, ConnectReply, ProbeReply, ScriptConfig, ScriptServer, Seen, When};
use ferrio_suite::*;

/// pingInterval + pingTimeout of the server (300 ms + 300 ms).
const HEARTBEAT: Duration = Duration::from_millis(600);

fn server() -> ScriptServer {
    ScriptServer::start(ScriptConfig::default())
}

/// The default transports (polling, then the upgrade), a quick reconnection.
fn manager(server: &ScriptServer) -> Manager {
    Manager::builder(server.url())
        .transports(&[TransportKind::Polling, TransportKind::Websocket])
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(200))
        .randomization_factor(0.0)
        .timeout(Duration::from_secs(3))
        .build()
        .expect("manager")
}

async fn echo(s: &Socket, v: i64) {
    let got: i64 = within_for(STEP, "an echo", s.emit_with_ack("echo", v))
        .await
        .expect("echo");
    assert_eq!(got, v);
}

/// The `n` values of the numbered events `s` (text) and `b` (binary) the socket receives.
fn numbered(s: &Socket) -> Inbox<u64> {
    let ib = inbox("numbered events");
    for name in ["s", "b"] {
        let tx = ib.sender();
        s.on(name, move |event| {
            let n = event
                .arg::<serde_json::Value>(0)
                .ok()
                .and_then(|v| v["n"].as_u64());
            let _ = tx.send(n.unwrap_or(u64::MAX));
            async {}
        });
    }
    ib
}

async fn upgraded(server: &ScriptServer) {
    let ok = server
        .wait_seen(STEP, |seen| {
            seen.iter().any(|s| matches!(s, Seen::Upgraded { .. }))
        })
        .await;
    assert!(ok, "no upgrade within {STEP:?}: {:?}", server.seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_upgrades_echoes_and_receives_in_order() {
    let panics = PanicCounter::start();
    let server = server();
    let m = manager(&server);
    let s = m.socket("/").build();
    let mut got = numbered(&s);
    within(STEP, s.connect()).await.expect("connect");
    upgraded(&server).await;
    echo(&s, 1).await;
    server.act([Act::Burst {
        n: 300,
        binary_every: 7,
    }]);
    let values = got.take(300, STEP).await;
    assert_eq!(values, (0..300).collect::<Vec<u64>>());
    assert_eq!(m.transport(), Some(TransportKind::Websocket));
    drop(s);
    m.close();
    drop(m);
    until(STEP, "the client's connections close", || {
        server.open_connections() == 0
    })
    .await;
    panics.assert_none();
}

/// A CONNECT reply without `sid` (`40`) is that socket's `connect_error`; the connection (and
/// the other namespaces on it) goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_reply_without_sid_is_a_connect_error() {
    let panics = PanicCounter::start();
    let server = server();
    let m = manager(&server);
    let first = within(STEP, m.socket("/other").connect())
        .await
        .expect("the first namespace connects");
    let mut down = disconnects(&first);
    server.set_connect(ConnectReply::NoSid);
    let s = m.socket("/").build();
    let mut errors = connect_errors(&s);
    match within(STEP, s.connect()).await {
        Err(Error::ConnectError(_)) => {}
        other => panic!("a CONNECT reply without sid gave {other:?}, not a connect_error"),
    }
    errors.next(STEP).await;
    down.assert_quiet(HEARTBEAT).await;
    assert!(first.connected(), "the other namespace was disconnected");
    let ended = server.seen();
    assert!(
        !ended.iter().any(|s| matches!(s, Seen::Ended { .. })),
        "the engine session ended: {ended:?}"
    );
    // the server behaves again: the same connection takes the namespace
    server.set_connect(ConnectReply::Accept);
    within(STEP, s.connect()).await.expect("connect");
    echo(&s, 2).await;
    echo(&first, 3).await;
    m.close();
    panics.assert_none();
}

/// Issue 10: the GET in flight when the server answers `3probe` never returns. The upgrade
/// must not wait for it forever: the missing pings end the connection in a ping timeout,
/// then the client reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_that_never_returns_during_the_upgrade_ends_in_a_ping_timeout_and_reconnects() {
    let panics = PanicCounter::start();
    let server = server();
    server.set_probe(ProbeReply::Delay(Duration::from_millis(300)));
    server.on(When::ProbeAnswer, [Act::StallGet(true)], 1);
    let m = manager(&server);
    let mut evs = m.events();
    let s = m.socket("/").build();
    let mut down = disconnects(&s);
    let mut up = connects(&s);
    within(STEP, s.connect()).await.expect("connect");
    up.next(STEP).await;
    let reason = within_for(
        HEARTBEAT * 2 + Duration::from_secs(2),
        "the disconnect after the stalled poll (is the upgrade frozen?)",
        down.next(STEP),
    )
    .await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    within_for(
        STEP,
        "the reconnection",
        next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))),
    )
    .await;
    up.next(STEP).await;
    echo(&s, 4).await;
    m.close();
    panics.assert_none();
}

/// Issue 10: a poll response of 1,000 events in flight when `3probe` arrives (more than the
/// polling transport's 256-packet queue) must neither freeze the upgrade nor lose or reorder
/// an event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_in_flight_when_the_probe_is_answered_arrives_whole_and_in_order() {
    let panics = PanicCounter::start();
    let server = server();
    server.set_probe(ProbeReply::Delay(Duration::from_millis(300)));
    server.on(
        When::ProbeAnswer,
        [Act::Burst {
            n: 1000,
            binary_every: 0,
        }],
        1,
    );
    let m = manager(&server);
    let s = m.socket("/").build();
    let mut got = numbered(&s);
    within(STEP, s.connect()).await.expect("connect");
    let values = got.take(1000, STEP).await;
    assert_eq!(values, (0..1000).collect::<Vec<u64>>());
    upgraded(&server).await;
    echo(&s, 5).await;
    m.close();
    panics.assert_none();
}

/// A proxy (or the server) answering a poll with HTTP 502: `transport error`, and the client
/// reconnects (a row of the README's close-reason table).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_502_on_a_poll_is_a_transport_error_and_reconnects() {
    let panics = PanicCounter::start();
    let server = server();
    let m = Manager::builder(server.url())
        .transports(&[TransportKind::Polling])
        .reconnection_delay(Duration::from_millis(50))
        .randomization_factor(0.0)
        .build()
        .expect("manager");
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    // The poll in flight comes back with an event; the next one gets the 502.
    server.act([
        Act::Fail502 { gets: 1, posts: 0 },
        Act::Burst {
            n: 1,
            binary_every: 0,
        },
    ]);
    assert_eq!(down.next(STEP).await, DisconnectReason::TransportError);
    assert!(s.active());
    up.next(STEP).await;
    echo(&s, 7).await;
    within(STEP, m.close()).await;
    panics.assert_none();
}

/// Events for a namespace whose CONNECT is not answered yet wait for the answer, at most
/// `max_buffered_packets` of them: one more closes the connection with `parse error`
/// (a row of the README's memory bounds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_before_the_connect_answer_are_bounded() {
    let panics = PanicCounter::start();
    let server = server();
    server.set_connect(ConnectReply::Silent);
    let m = Manager::builder(server.url())
        .transports(&[TransportKind::Websocket])
        .max_buffered_packets(5)
        .reconnection(false)
        .build()
        .expect("manager");
    let mut events = m.events();
    let s = m.socket("/").build();
    let connecting = tokio::spawn({
        let s = s.clone();
        async move { s.connect().await }
    });
    server
        .wait_seen(STEP, |seen| {
            seen.iter().any(|s| matches!(s, Seen::Connect { .. }))
        })
        .await;
    let event = Act::Text(r#"42["early",1]"#.into());
    server.act(std::iter::repeat_n(event.clone(), 5));
    // Five wait: the connection stays up.
    let quiet = tokio::time::timeout(Duration::from_millis(300), async {
        loop {
            if let Some(ManagerEvent::Close(reason)) = events.recv().await {
                return reason;
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "the connection closed with five: {quiet:?}");
    server.act([event]);
    let reason =
        next_manager_event(&mut events, STEP, |e| matches!(e, ManagerEvent::Close(_))).await;
    assert_eq!(reason, ManagerEvent::Close(DisconnectReason::ParseError));
    let outcome = within(STEP, connecting).await.expect("no panic");
    assert!(outcome.is_err(), "{outcome:?}");
    panics.assert_none();
}
