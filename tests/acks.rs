//! Data and acks in both directions, ack timeouts, and acks at disconnect (socket.io-client's
//! `test/socket.ts` "timeout" and "acknowledgement upon disconnection" groups), against the
//! official Node server.

use std::time::{Duration, Instant};

use ferrio::{Error, Event};
use ferrio_suite::groups::Room;
use ferrio_suite::*;
use serde_json::Value;

// ---- both directions, over every transport configuration ----------------------------------

transport_matrix!(
    emit_with_ack_returns_the_servers_answer,
    answers_the_servers_ack_request,
    server_times_out_when_the_client_does_not_answer,
);

async fn emit_with_ack_returns_the_servers_answer(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let v: i64 = within(STEP, s.emit_with_ack("echo", 123))
        .await
        .expect("echo");
    assert_eq!(v, 123);
    // several ack arguments into a tuple
    let (a, b, c): (String, i64, bool) = within(STEP, s.emit_with_ack("ack", ("a", 1, true)))
        .await
        .expect("ack");
    assert_eq!((a.as_str(), b, c), ("a", 1, true));
    // false, null, and an empty ack
    let f: bool = within(STEP, s.emit_with_ack("ack", false))
        .await
        .expect("false");
    assert!(!f);
    let n: Option<String> = within(STEP, s.emit_with_ack("ack", Value::Null))
        .await
        .expect("null");
    assert_eq!(n, None);
    let () = within(STEP, s.emit_with_ack("ack", ()))
        .await
        .expect("empty ack");
    // a struct both ways
    let room = Room::named("r-1 ü");
    let back: Room = within(STEP, s.emit_with_ack("echo", room.clone()))
        .await
        .expect("struct");
    assert_eq!(back, room);
    // a date answers as a string
    let d: String = within(STEP, s.emit_with_ack("getAckDate", ()))
        .await
        .expect("date");
    assert!(d.ends_with('Z'), "{d}");
    s.disconnect();
    m.close();
}

async fn answers_the_servers_ack_request(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    // (question, n, wants_ack, first ack ok, second ack refused)
    let mut seen = inbox::<(String, i64, bool, bool, bool)>("ask");
    let tx = seen.sender();
    s.on("ask", move |ev: Event| {
        let tx = tx.clone();
        async move {
            let (q, n): (String, i64) = ev.args().unwrap_or_default();
            let first = ev.ack(("answer", 5, json!({"test": true}))).await.is_ok();
            let second_refused = ev.ack("again").await.is_err();
            let _ = tx.send((q, n, ev.wants_ack(), first, second_refused));
        }
    });
    let mut results = events(&s, "askResult");
    within(
        STEP,
        s.emit(
            "askForAck",
            json!({"timeout": 3000, "args": ["question", 7]}),
        ),
    )
    .await
    .expect("emit");
    let (q, n, wants, first, second_refused) = seen.next(STEP).await;
    assert_eq!((q.as_str(), n, wants), ("question", 7, true));
    assert!(first, "the ack failed");
    assert!(second_refused, "a second ack was accepted");
    let r: Value = results.next(STEP).await.arg(0).expect("result");
    assert_eq!(
        r,
        json!({"ok": true, "answer": ["answer", 5, {"test": true}]})
    );

    // without a server-side timeout
    let r: Value = within(
        STEP,
        s.emit_with_ack("askForAck", json!({"args": ["q", 1]})),
    )
    .await
    .expect("askForAck");
    assert_eq!(r["answer"], json!(["answer", 5, {"test": true}]));
    s.disconnect();
    m.close();
}

async fn server_times_out_when_the_client_does_not_answer(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let mut asked = events(&s, "ask"); // receives, never acks
    let r: Value = within(STEP, s.emit_with_ack("askForAck", json!({"timeout": 100})))
        .await
        .expect("askForAck");
    assert_eq!(r, json!({"ok": false, "error": "operation has timed out"}));
    assert!(asked.next(STEP).await.wants_ack());
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_without_ack_request_does_not_want_one() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let mut back = events(&s, "echo-back");
    within(STEP, s.emit("echo", ("a", 2))).await.expect("emit");
    let ev = back.next(STEP).await;
    assert!(!ev.wants_ack());
    assert_eq!(ev.values().expect("values"), vec![json!("a"), json!(2)]);
    assert_eq!(
        ev.args::<(String, u8)>().expect("args"),
        ("a".to_string(), 2)
    );
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acks_never_collide() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::PollingUpgrade).await;
    let futs = (0..100i64).map(|i| {
        let s = s.clone();
        async move {
            // half answered late, so ids are outstanding at the same time
            if i % 2 == 0 {
                s.emit_with_ack::<i64>("ack", i).await
            } else {
                s.emit_with_ack::<i64>("ackLater", (20, i)).await
            }
        }
    });
    let got = within(STEP, futures_util::future::join_all(futs)).await;
    for (i, r) in got.into_iter().enumerate() {
        assert_eq!(r.expect("ack"), i as i64);
    }
    s.disconnect();
    m.close();
}

// ---- ack timeouts -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_fires_when_the_server_does_not_ack() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    for event in ["noAck", "unknown"] {
        let start = Instant::now();
        let r = within(
            STEP,
            s.timeout(Duration::from_millis(100))
                .emit_with_ack::<Value>(event, ()),
        )
        .await;
        assert!(matches!(r, Err(Error::Timeout)), "{event}: {r:?}");
        assert!(
            start.elapsed() >= Duration::from_millis(100),
            "timed out early"
        );
    }
    assert!(s.connected(), "an ack timeout must not disconnect");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_in_time_resolves() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let v: i64 = within(
        STEP,
        s.timeout(Duration::from_secs(3)).emit_with_ack("echo", 42),
    )
    .await
    .expect("echo");
    assert_eq!(v, 42);
    s.disconnect();
    m.close();
}

/// A zero timeout fails; the late ack of a timed-out emit is dropped, never given to another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_ack_fires_once_and_its_late_answer_is_dropped() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    // (a zero timeout on an ack that cannot come in time: socket.io's `timeout(0)`)
    let r = within(
        STEP,
        s.timeout(Duration::ZERO)
            .emit_with_ack::<i64>("ackLater", (100, 42)),
    )
    .await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    let r = within(
        STEP,
        s.timeout(Duration::from_millis(50))
            .emit_with_ack::<String>("ackLater", (200, "late")),
    )
    .await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    // the late "late" arrives while this one waits, and must not resolve it
    let v: String = within(STEP, s.emit_with_ack("ackLater", (400, "fresh")))
        .await
        .expect("ackLater");
    assert_eq!(v, "fresh");
    assert!(s.connected());
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_ack_timeout_applies() {
    let peer = shared_peer().await;
    // manager-wide default
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .ack_timeout(Duration::from_millis(100))
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let r = within(STEP, s.emit_with_ack::<Value>("noAck", ())).await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    // an explicit timeout wins over the default
    let v: String = within(
        STEP,
        s.timeout(Duration::from_secs(3))
            .emit_with_ack("ackLater", (300, "ok")),
    )
    .await
    .expect("ack");
    assert_eq!(v, "ok");
    s.disconnect();
    // socket-level default
    let s2 = within(
        STEP,
        m.socket("/foo")
            .ack_timeout(Duration::from_millis(100))
            .connect(),
    )
    .await
    .expect("connect");
    let r = within(STEP, s2.emit_with_ack::<Value>("noAck", ())).await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    s2.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_while_not_connected_and_the_packet_is_not_sent_later() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let s = m.socket("/").build();
    let r = within(
        STEP,
        s.timeout(Duration::from_millis(50))
            .emit_with_ack::<Value>("echo", "stale"),
    )
    .await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    within(STEP, s.connect()).await.expect("connect");
    let stats = server::stats(&s).await;
    assert!(
        stats["events"].get("echo").is_none(),
        "a timed-out buffered packet was sent: {stats}"
    );
    s.disconnect();
    m.close();
}

// ---- acks at disconnect -------------------------------------------------------------------

/// Emits `noAck` with an ack, and makes sure the server got it (a later ack on the same socket
/// comes back only after it).
async fn pending_ack(
    s: &ferrio::Socket,
    timeout: Option<Duration>,
) -> tokio::task::JoinHandle<ferrio::Result<Value>> {
    let s2 = s.clone();
    let h = tokio::spawn(async move {
        match timeout {
            Some(d) => s2.timeout(d).emit_with_ack::<Value>("noAck", ()).await,
            None => s2.emit_with_ack::<Value>("noAck", ()).await,
        }
    });
    // wait until the server saw it
    until_async(STEP, "the server got noAck", || async {
        server::stats(s).await["events"].get("noAck").is_some()
    })
    .await;
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_acks_fail_with_disconnected_on_client_disconnect() {
    let peer = shared_peer().await;
    for timeout in [None, Some(Duration::from_secs(10))] {
        let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
        let h = pending_ack(&s, timeout).await;
        s.disconnect();
        let r = within(STEP, h).await.expect("join");
        assert!(
            matches!(r, Err(Error::Disconnected)),
            "timeout {timeout:?}: {r:?}"
        );
        m.close();
    }
    // with a default ack timeout
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .ack_timeout(Duration::from_secs(10))
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let h = pending_ack(&s, None).await;
    s.disconnect();
    let r = within(STEP, h).await.expect("join");
    assert!(matches!(r, Err(Error::Disconnected)), "{r:?}");
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_acks_fail_with_disconnected_on_server_disconnect_and_transport_close() {
    let peer = shared_peer().await;
    for fault in ["disconnectMe", "closeEngine"] {
        let m = builder(&peer.url(), Transports::WebsocketOnly)
            .reconnection(false)
            .build()
            .expect("manager");
        let s = within(STEP, m.socket("/").connect())
            .await
            .expect("connect");
        let mut down = disconnects(&s);
        let h = pending_ack(&s, Some(Duration::from_secs(10))).await;
        within(STEP, s.emit(fault, ())).await.expect("emit");
        down.next(STEP).await;
        let r = within(STEP, h).await.expect("join");
        assert!(matches!(r, Err(Error::Disconnected)), "{fault}: {r:?}");
        m.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_whose_packet_was_still_buffered_survives_the_disconnect() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let mut down = disconnects(&s);
    s.disconnect();
    down.next(STEP).await;
    // buffered while disconnected, sent after the next connect
    let mut ack = Box::pin(s.emit_with_ack::<String>("echo", "a"));
    assert!(poll_once(&mut ack).await.is_none());
    within(STEP, s.connect()).await.expect("connect again");
    assert_eq!(within(STEP, ack).await.expect("ack after reconnect"), "a");
    s.disconnect();
    m.close();
}
