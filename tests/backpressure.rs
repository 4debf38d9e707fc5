//! Flow control on the way out: when the network does not take what the client emits, emits
//! wait instead of queueing without bound, and a write stuck on a stalled connection still
//! ends in a ping timeout.

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
