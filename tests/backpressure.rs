//! Flow control on the way out: when the network does not take what the client emits, emits
//! wait instead of queueing without bound, and a write stuck on a stalled connection still
//! ends in a ping timeout. On the way in, with `max_queued_events`: listeners that fall that
//! far behind stop the reading, and nothing is lost.

use std::time::Duration;

use ferrio::DisconnectReason;
use ferrio_suite::*;

/// Emits 1 KiB events until one does not complete within `patience`: how many went out.
async fn emit_until_blocked(s: &ferrio::Socket, patience: Duration, cap: u64) -> u64 {
    let payload = "x".repeat(1024);
    let mut sent = 0u64;
    while sent < cap {
        match tokio::time::timeout(patience, s.emit("num", (sent, &payload))).await {
            Ok(result) => {
                result.expect("emit");
                sent += 1;
            }
            Err(_) => break,
        }
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_wait_while_the_network_does_not_take_them() {
    let peer = shared_peer().await;
    let proxy = Proxy::start(peer.addr()).await;
    let m = builder(&proxy.url(), Transports::WebsocketOnly)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    proxy.set_mode(Mode::Stall);

    // 1 KiB events: the kernel buffers take a few MiB, the connection task's queue a bounded
    // number more; then emits must wait (500,000 would be 500 MiB).
    let sent = emit_until_blocked(&s, Duration::from_secs(1), 500_000).await;
    assert!(
        sent < 100_000,
        "{sent} emits went through a stalled network without waiting"
    );

    // The network comes back: the waiting emits go on, and the connection works.
    proxy.set_mode(Mode::Pass);
    within(STEP, s.emit("num", ("after", 0)))
        .await
        .expect("emit after the stall");
    let echoed: String = within(
        Duration::from_secs(20),
        s.emit_with_ack("ack", "still here"),
    )
    .await
    .expect("ack after the stall");
    assert_eq!(echoed, "still here");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_stuck_on_a_stalled_network_ends_in_a_ping_timeout() {
    let peer = NodePeer::start(
        PeerOptions::new()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(300)),
    )
    .await;
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
    // Fill the network so the connection task is stuck writing, not reading.
    let emitter = {
        let s = s.clone();
        tokio::spawn(async move { emit_until_blocked(&s, Duration::from_secs(3), 200_000).await })
    };
    let reason = down.next(STEP).await;
    assert_eq!(reason, DisconnectReason::PingTimeout);
    emitter.abort();
    m.close();
}

/// A manager whose `/` socket's `num` listener waits for a permit per event, and a `/foo`
/// socket on the same connection: the server floods `/` with 1,000 events, then sends one to
/// `/foo` (behind the flood on the wire). Gives whether `/foo`'s event arrived while `/`'s
/// listener was stuck, then lets the listener go and checks that `/` got every event, in
/// order.
async fn other_arrives_while_the_listener_is_stuck(bound: Option<usize>) -> bool {
    let peer = shared_peer().await;
    let mut b = builder(&peer.url(), Transports::WebsocketOnly);
    if let Some(max) = bound {
        b = b.max_queued_events(max);
    }
    let m = b.build().expect("manager");
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let slow = m.socket("/").build();
    {
        let (gate, got) = (gate.clone(), got.clone());
        slow.on("num", move |ev: ferrio::Event| {
            let (gate, got) = (gate.clone(), got.clone());
            async move {
                if let Ok(permit) = gate.acquire().await {
                    permit.forget();
                }
                got.lock().expect("lock").push(ev.arg(0).unwrap_or(-1));
            }
        });
    }
    within(STEP, slow.connect()).await.expect("connect /");
    let other = m.socket("/foo").build();
    let mut other_events = events(&other, "num");
    within(STEP, other.connect()).await.expect("connect /foo");

    within(STEP, slow.emit("emitN", json!({"n": 1000})))
        .await
        .expect("emit");
    // No ack asked: with the bound, the ack would be behind the flood too, unread until the
    // listener goes on (the case `max_queued_events` warns about).
    within(STEP, other.emit("emitN", json!({"n": 1})))
        .await
        .expect("emit");
    let arrived = other_events
        .try_next(Duration::from_millis(500))
        .await
        .is_some();
    gate.add_permits(1000);
    until(STEP, "all of / handled", || {
        got.lock().map(|g| g.len() == 1000).unwrap_or(false)
    })
    .await;
    assert_eq!(
        *got.lock().expect("lock"),
        (0..1000).collect::<Vec<i64>>(),
        "every event, in order"
    );
    if !arrived {
        other_events.next(STEP).await;
    }
    slow.disconnect();
    other.disconnect();
    m.close();
    arrived
}

/// With the bound, a socket whose listener is stuck stops the reading: `/foo`'s event, behind
/// the flood on the wire, waits; once the listener goes on, everything arrives, in order.
/// Without it (socket.io's behaviour) `/foo` is served while `/` falls behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_at_max_queued_events_stop_the_reading_and_lose_nothing() {
    assert!(
        !other_arrives_while_the_listener_is_stuck(Some(100)).await,
        "with the bound, the reading stops behind the 100th waiting event"
    );
    assert!(
        other_arrives_while_the_listener_is_stuck(None).await,
        "without it, the reading goes on"
    );
}
