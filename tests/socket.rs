//! The namespace socket (socket.io-client's `test/socket.ts`): identity, emitting, volatile,
//! listeners, onAny and onAnyOutgoing, against the official Node server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrio::{DisconnectReason, Error, Event, OutgoingEvent};
use ferrio_suite::*;
use serde_json::Value;

// ---- identity -----------------------------------------------------------------------------

transport_matrix!(
    id_is_the_servers_socket_id,
    receives_events_emitted_on_connect
);

async fn id_is_the_servers_socket_id(t: Transports) {
    let peer = shared_peer().await;
    for nsp in ["/", "/foo"] {
        let (m, s) = connect(&peer.url(), nsp, t).await;
        let id: String = within(STEP, s.emit_with_ack("getId", ()))
            .await
            .expect("getId");
        assert!(!id.is_empty());
        assert_eq!(s.id().as_deref(), Some(id.as_str()), "{nsp}");
        let engine = m.engine_id().expect("an engine id while open");
        assert_ne!(
            id, engine,
            "the socket id must not be the engine id ({nsp})"
        );
        s.disconnect();
        m.close();
    }
}

/// Events the server emits right after the CONNECT reply are delivered, after `connect`, in
/// order (binary included).
async fn receives_events_emitted_on_connect(t: Transports) {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), t);
    let s = m.socket("/emit-on-connect").build();
    let (tx, mut order) = {
        let ib = inbox::<String>("lifecycle order");
        (ib.sender(), ib)
    };
    let tx2 = tx.clone();
    s.on_connect(move || {
        let tx = tx2.clone();
        async move {
            let _ = tx.send("connect".to_string());
        }
    });
    s.on("welcome", move |ev: Event| {
        let tx = tx.clone();
        async move {
            let n: u32 = ev.arg(0).unwrap_or(0);
            let _ = tx.send(format!("welcome {n}/{}", ev.len()));
        }
    });
    within(STEP, s.connect()).await.expect("connect");
    let got = order.take(4, STEP).await;
    assert_eq!(
        got,
        ["connect", "welcome 1/1", "welcome 2/2", "welcome 3/2"]
    );
    s.disconnect();
    m.close();
}

/// A listener that panics stops neither the socket nor itself: a panic, in the closure or in
/// its future after a pause, drops that call only; the next event reaches the same listener,
/// and the other listeners get every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_listener_gets_the_next_events() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let s = m.socket("/emit-on-connect").build();
    let (survivor, other) = (
        inbox::<u32>("the panicking listener"),
        inbox::<u32>("another"),
    );
    let tx = survivor.sender();
    s.on("welcome", move |event: Event| {
        let n = event.arg::<u32>(0).unwrap_or(0);
        assert!(n != 1, "the closure panics at the first welcome");
        let tx = tx.clone();
        async move {
            tokio::task::yield_now().await;
            assert!(n != 2, "the future panics at the second, after a pause");
            let _ = tx.send(n);
        }
    });
    let tx = other.sender();
    s.on("welcome", move |event: Event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(event.arg::<u32>(0).unwrap_or(0));
        }
    });
    within(STEP, s.connect()).await.expect("connect");
    let (mut survivor, mut other) = (survivor, other);
    assert_eq!(other.take(3, STEP).await, [1, 2, 3]);
    assert_eq!(survivor.take(1, STEP).await, [3]);
    // And again on the next session's welcomes.
    s.disconnect();
    within(STEP, s.connect()).await.expect("reconnect");
    assert_eq!(other.take(3, STEP).await, [1, 2, 3]);
    assert_eq!(survivor.take(1, STEP).await, [3]);
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_is_cleared_on_disconnect() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    assert!(s.id().is_some());
    let mut down = disconnects(&s);
    s.disconnect();
    assert_eq!(down.next(STEP).await, DisconnectReason::IoClientDisconnect);
    assert!(s.id().is_none());
    assert!(!s.connected());
    assert!(s.disconnected());
    assert!(!s.active());
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_disconnect_gives_io_server_disconnect_and_no_reconnect() {
    let peer = shared_peer().await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection_delay(Duration::from_millis(10))
        .build()
        .expect("manager");
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    within(STEP, s.emit("disconnectMe", ()))
        .await
        .expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::IoServerDisconnect);
    assert!(s.id().is_none());
    assert!(!s.active());
    up.assert_quiet(Duration::from_millis(200)).await;
    assert!(!s.connected());
    m.close();
}

// ---- emitting -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_event_names_are_refused() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        match within(STEP, s.emit(name, "goodbye")).await {
            Err(Error::ReservedEvent(n)) => assert_eq!(n, name),
            other => panic!("emit({name:?}) gave {other:?}, not ReservedEvent"),
        }
        match within(STEP, s.emit_with_ack::<Value>(name, ())).await {
            Err(Error::ReservedEvent(_)) => {}
            other => panic!("emit_with_ack({name:?}) gave {other:?}, not ReservedEvent"),
        }
        match within(STEP, s.volatile().emit(name, ())).await {
            Err(Error::ReservedEvent(_)) => {}
            other => panic!("volatile().emit({name:?}) gave {other:?}, not ReservedEvent"),
        }
    }
    // nothing of it reached the server, and the connection survived
    let stats = server::stats(&s).await;
    for name in ["connect", "disconnect", "disconnecting", "newListener"] {
        assert!(
            stats["events"].get(name).is_none(),
            "{name} was sent: {stats}"
        );
    }
    assert!(s.connected());
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_emitted_before_connect_are_sent_in_order() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::PollingUpgrade);
    let s = m.socket("/").build();
    within_for(
        STEP,
        "an emit before connect (it must be buffered, not wait)",
        s.emit("num", 1),
    )
    .await
    .expect("buffered emit");
    let mut second = Box::pin(s.emit_with_ack::<i64>("num", 2));
    assert!(
        poll_once(&mut second).await.is_none(),
        "an ack arrived before the socket connected"
    );
    within(STEP, s.emit("num", 3)).await.expect("buffered emit");
    within(STEP, s.connect()).await.expect("connect");
    assert_eq!(
        within(STEP, second).await.expect("ack of a buffered emit"),
        2
    );
    let stats = server::stats(&s).await;
    assert_eq!(stats["nums"], json!([1, 2, 3]), "{stats}");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emit_spreads_tuples_and_keeps_single_values_whole() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let d: Value = within(
        STEP,
        s.emit_with_ack("describe", ("a", 1, true, Value::Null)),
    )
    .await
    .expect("describe");
    assert_eq!(d, json!(["a", 1, true, null]));
    let d: Value = within(STEP, s.emit_with_ack("describe", vec![1, 2, 3]))
        .await
        .expect("describe");
    assert_eq!(d, json!([[1, 2, 3]]), "a Vec is one argument");
    let d: Value = within(STEP, s.emit_with_ack("describe", json!({"k": "v"})))
        .await
        .expect("describe");
    assert_eq!(d, json!([{"k": "v"}]));
    let d: Value = within(STEP, s.emit_with_ack("describe", ()))
        .await
        .expect("describe");
    assert_eq!(d, json!([]));
    // send() is emit("message", ..)
    within(STEP, s.send("hello")).await.expect("send");
    let stats = server::stats(&s).await;
    assert_eq!(stats["events"]["message"], 1, "{stats}");
    // compress(false) still delivers
    within(STEP, s.compress(false).emit("num", 7))
        .await
        .expect("emit uncompressed");
    let stats = server::stats(&s).await;
    assert_eq!(stats["nums"], json!([7]));
    s.disconnect();
    m.close();
}

// ---- volatile -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_is_dropped_when_not_connected() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let s = m.socket("/").build();
    match within(STEP, s.volatile().emit("num", 1)).await {
        Ok(()) | Err(Error::Disconnected) => {}
        Err(e) => panic!("volatile emit while disconnected: {e}"),
    }
    // an ack for a dropped packet must not hang
    let r = within_for(
        STEP,
        "the ack of a dropped volatile emit",
        s.volatile().emit_with_ack::<String>("getId", ()),
    )
    .await;
    assert!(r.is_err(), "a dropped volatile packet was acked: {r:?}");
    within(STEP, s.emit("num", 2)).await.expect("buffered emit");
    within(STEP, s.connect()).await.expect("connect");
    let stats = server::stats(&s).await;
    assert_eq!(
        stats["nums"],
        json!([2]),
        "the volatile packet was sent: {stats}"
    );
    assert!(stats["events"].get("getId").is_none(), "{stats}");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_is_sent_when_connected() {
    let peer = shared_peer().await;
    for t in Transports::ALL {
        let (m, s) = connect(&peer.url(), "/", t).await;
        // A volatile packet is dropped while the transport is busy (a POST in flight, the
        // upgrade's pause), as socket.io-client does: try a few times, each after a plain
        // round trip, so a try is not made in the same busy moment as the last.
        let mut got = None;
        for _ in 0..20 {
            within(STEP, s.emit_with_ack::<String>("getId", ()))
                .await
                .expect("a plain round trip");
            if let Ok(id) = s
                .volatile()
                .timeout(Duration::from_millis(250))
                .emit_with_ack::<String>("getId", ())
                .await
            {
                got = Some(id);
                break;
            }
        }
        assert_eq!(got, s.id(), "no volatile packet got through over {t:?}");
        s.disconnect();
        m.close();
    }
}

// ---- listeners ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_once_prepend_and_off() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let calls = Arc::new(Mutex::new(Vec::<String>::new()));
    let rec = |tag: &'static str| {
        let calls = calls.clone();
        move |ev: Event| {
            let calls = calls.clone();
            async move {
                let n: i64 = ev.arg(0).unwrap_or(-1);
                calls.lock().expect("lock").push(format!("{tag}{n}"));
            }
        }
    };
    let mut done = events(&s, "tick"); // registered first: sees every tick
    let on_id = s.on("tick", rec("on"));
    s.once("tick", rec("once"));
    s.prepend("tick", rec("pre"));
    within(STEP, s.emit("emitN", json!({"n": 2, "event": "tick"})))
        .await
        .expect("emit");
    done.take(2, STEP).await;
    // handlers of one socket run one at a time, in order; the inbox listener ran last for tick 1
    until(STEP, "every listener ran", || {
        calls.lock().map(|c| c.len() >= 5).unwrap_or(false)
    })
    .await;
    assert_eq!(
        *calls.lock().expect("lock"),
        ["pre0", "on0", "once0", "pre1", "on1"]
    );

    calls.lock().expect("lock").clear();
    s.off(on_id);
    within(STEP, s.emit("emitN", json!({"n": 1, "event": "tick"})))
        .await
        .expect("emit");
    done.next(STEP).await;
    until(STEP, "the prepended listener ran", || {
        calls.lock().map(|c| !c.is_empty()).unwrap_or(false)
    })
    .await;
    assert_eq!(*calls.lock().expect("lock"), ["pre0"]);

    calls.lock().expect("lock").clear();
    s.off_event("tick");
    let mut other = events(&s, "tick"); // a listener added after off_event still works
    within(STEP, s.emit("emitN", json!({"n": 1, "event": "tick"})))
        .await
        .expect("emit");
    other.next(STEP).await;
    done.assert_quiet(Duration::from_millis(100)).await;
    assert!(calls.lock().expect("lock").is_empty());
    s.disconnect();
    m.close();
}

/// socket.io's emitter calls the listeners registered when an event arrives: a change a
/// listener makes applies from the next event on, also inside one burst (which ferrio's
/// dispatcher takes as one batch and whose listener lists it keeps between events).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_changed_by_a_listener_apply_from_the_next_event_of_a_burst() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let calls = Arc::new(Mutex::new(Vec::<(&'static str, i64)>::new()));
    let record = |calls: &Arc<Mutex<Vec<(&'static str, i64)>>>, tag, n| {
        calls.lock().expect("lock").push((tag, n));
    };
    let mut all = any_events(&s); // registered first: sees every tick
    {
        let (calls, socket) = (calls.clone(), s.clone());
        s.on("tick", move |ev: Event| {
            let (calls, socket) = (calls.clone(), socket.clone());
            async move {
                let n: i64 = ev.arg(0).unwrap_or(-1);
                record(&calls, "a", n);
                if n == 50 {
                    let calls = calls.clone();
                    socket.on("tick", move |ev: Event| {
                        let calls = calls.clone();
                        async move { record(&calls, "b", ev.arg(0).unwrap_or(-1)) }
                    });
                }
                if n == 120 {
                    let calls = calls.clone();
                    socket.once("tick", move |ev: Event| {
                        let calls = calls.clone();
                        async move { record(&calls, "c", ev.arg(0).unwrap_or(-1)) }
                    });
                }
                if n == 150 {
                    socket.off_event("tick");
                }
            }
        });
    }
    within(STEP, s.emit("emitN", json!({"n": 200, "event": "tick"})))
        .await
        .expect("emit");
    all.take(200, STEP).await;
    // The catch-all runs first: the last tick's own listeners may still be running.
    until(STEP, "tick 150's listeners ran", || {
        calls
            .lock()
            .map(|c| c.contains(&("b", 150)))
            .unwrap_or(false)
    })
    .await;
    let calls = calls.lock().expect("lock").clone();
    let of = |tag| {
        calls
            .iter()
            .filter(|(t, _)| *t == tag)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("a"), (0..=150).collect::<Vec<_>>());
    assert_eq!(of("b"), (51..=150).collect::<Vec<_>>());
    assert_eq!(of("c"), [121]);
    assert_eq!(calls.len(), 151 + 100 + 1, "nothing after off_event");
    s.disconnect();
    m.close();
}

/// `off` drops the listener, and what it holds, without waiting for another event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_listener_is_dropped_while_the_socket_is_quiet() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
    let id = s.on("tick", move |ev: Event| {
        let _ = tx.send(ev.arg(0).unwrap_or(-1));
        std::future::ready(())
    });
    within(STEP, s.emit("emitN", json!({"n": 3, "event": "tick"})))
        .await
        .expect("emit");
    for i in 0..3 {
        assert_eq!(within(STEP, rx.recv()).await, Some(i));
    }
    s.off(id);
    // The channel closes once the listener (its only sender) is gone.
    assert_eq!(within(STEP, rx.recv()).await, None);
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_any_gets_name_and_arguments() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let s = m.socket("/abc").build();
    let mut any = any_events(&s);
    within(STEP, s.connect()).await.expect("connect");
    let ev = any.next(STEP).await;
    assert_eq!(ev.name(), "handshake");
    let hs: Value = ev.arg(0).expect("an object");
    assert!(hs.is_object(), "{hs}");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepend_any_and_off_any() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let calls = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let rec = |tag: &'static str| {
        let calls = calls.clone();
        move |_ev: Event| {
            let calls = calls.clone();
            async move {
                calls.lock().expect("lock").push(tag);
            }
        }
    };
    let mut last = inbox::<()>("last any listener");
    let tx = last.sender();
    let removed = s.on_any(rec("removed"));
    s.off_any(Some(removed));
    s.on_any(move |_ev: Event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(());
        }
    });
    s.prepend_any(rec("second"));
    s.prepend_any(rec("first"));
    assert_eq!(
        s.any_listener_count(),
        3,
        "socket.io: listenersAny().length"
    );
    within(STEP, s.emit("hi", ())).await.expect("emit");
    last.next(STEP).await;
    assert_eq!(*calls.lock().expect("lock"), ["first", "second"]);

    // off_any(None) removes them all
    s.off_any(None);
    assert_eq!(s.any_listener_count(), 0);
    let mut hi = events(&s, "hi");
    within(STEP, s.emit("hi", ())).await.expect("emit");
    hi.next(STEP).await;
    last.assert_quiet(Duration::from_millis(100)).await;
    assert_eq!(calls.lock().expect("lock").len(), 2);
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_any_outgoing_sees_every_emit() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let mut out = outgoing_events(&s);
    within(STEP, s.emit("my-event", "123")).await.expect("emit");
    let ev: OutgoingEvent = out.next(STEP).await;
    assert_eq!(ev.name, "my-event");
    assert_eq!(ev.args, vec![json!("123")]);

    // binary arguments too
    within(
        STEP,
        s.emit("my-event", bytes::Bytes::from_static(&[1, 2, 3])),
    )
    .await
    .expect("emit");
    let ev = out.next(STEP).await;
    assert_eq!(ev.name, "my-event");
    assert_eq!(ev.args.len(), 1);

    // and acked emits
    let _: Value = within(STEP, s.emit_with_ack("echo", ("x", 2)))
        .await
        .expect("echo");
    let ev = out.next(STEP).await;
    assert_eq!(ev.name, "echo");
    assert_eq!(ev.args, vec![json!("x"), json!(2)]);
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepend_any_outgoing_and_off_any_outgoing() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let calls = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let rec = |tag: &'static str| {
        let calls = calls.clone();
        move |_ev: OutgoingEvent| {
            let calls = calls.clone();
            async move {
                calls.lock().expect("lock").push(tag);
            }
        }
    };
    let removed = s.on_any_outgoing(rec("removed"));
    s.off_any_outgoing(Some(removed));
    let mut last = outgoing_events(&s);
    s.prepend_any_outgoing(rec("second"));
    s.prepend_any_outgoing(rec("first"));
    assert_eq!(s.any_outgoing_listener_count(), 3, "the inbox and two");
    assert_eq!(s.any_listener_count(), 0, "incoming ones are counted apart");
    within(STEP, s.emit("my-event", "123")).await.expect("emit");
    last.next(STEP).await;
    assert_eq!(*calls.lock().expect("lock"), ["first", "second"]);
    s.off_any_outgoing(None);
    assert_eq!(s.any_outgoing_listener_count(), 0);
    within(STEP, s.emit("my-event", "456")).await.expect("emit");
    let _: String = within(STEP, s.emit_with_ack("getId", ()))
        .await
        .expect("getId");
    last.assert_quiet(Duration::from_millis(100)).await;
    assert_eq!(calls.lock().expect("lock").len(), 2);
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_does_not_block_other_sockets() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let nsp_foo = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    let bar = within(STEP, m.socket("/bar").connect())
        .await
        .expect("connect /bar");
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    nsp_foo.on("hi", move |_ev: Event| {
        let mut rx = release_rx.clone();
        async move {
            let _ = rx.wait_for(|r| *r).await;
        }
    });
    within(STEP, nsp_foo.emit("hi", ())).await.expect("emit");
    // /foo's handler is stuck; /bar still gets its events and acks
    let mut hi = events(&bar, "hi");
    within(STEP, bar.emit("hi", ())).await.expect("emit");
    hi.next(STEP).await;
    let v: i64 = within(STEP, bar.emit_with_ack("echo", 5))
        .await
        .expect("echo");
    assert_eq!(v, 5);
    let _ = release_tx.send(true);
    nsp_foo.disconnect();
    bar.disconnect();
    m.close();
}

/// `on_concurrent`: a slow listener does not hold the socket's other listeners, runs its
/// calls side by side, and never more than `max_in_flight` at once (issue 11, item 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_listener_runs_side_by_side_within_its_bound() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const SLOW: Duration = Duration::from_millis(300);
    let peer = shared_peer().await;
    for limit in [8usize, 2] {
        let m = manager(&peer.url(), Transports::WebsocketOnly);
        let s = m.socket("/").build();
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let finished = Arc::new(AtomicUsize::new(0));
        let done = inbox::<i64>("slow nums");
        let tx = done.sender();
        let (r, p, f) = (running.clone(), peak.clone(), finished.clone());
        s.on_concurrent("num", limit, move |event| {
            let (tx, r, p, f) = (tx.clone(), r.clone(), p.clone(), f.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(SLOW).await;
                r.fetch_sub(1, Ordering::SeqCst);
                f.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(event.arg::<i64>(0).unwrap_or(-1));
            }
        });
        let mut hi = events(&s, "hi");
        within(STEP, s.connect()).await.expect("connect");
        let started = std::time::Instant::now();
        let _: Value = within(STEP, s.emit_with_ack("emitN", json!({ "n": 8 })))
            .await
            .expect("emitN");
        within(STEP, s.emit("hi", ())).await.expect("hi");
        hi.next(STEP).await;
        if limit == 8 {
            // With `on`, `hi` would come after the eight slow calls.
            let before_hi = finished.load(Ordering::SeqCst);
            assert_eq!(before_hi, 0, "`hi` waited for {before_hi} slow calls");
        }
        let mut done = done;
        let mut nums = done.take(8, STEP).await;
        nums.sort_unstable();
        assert_eq!(nums, (0..8).collect::<Vec<_>>(), "limit {limit}");
        // Side by side, never more than the bound: every slot was used, none more.
        assert_eq!(
            peak.load(Ordering::SeqCst),
            limit,
            "limit {limit}: calls at once"
        );
        // With `limit` slots, 8 calls of SLOW take at least 8 / limit rounds.
        let rounds = 8 / limit as u32;
        let elapsed = started.elapsed();
        assert!(
            elapsed >= SLOW * rounds,
            "limit {limit}: 8 calls of {SLOW:?} took only {elapsed:?}"
        );
        within(STEP, m.close()).await;
    }
}
