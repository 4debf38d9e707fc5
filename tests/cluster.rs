//! A cluster as production runs one (issue 14 point 6): two official socket.io 4.8 nodes
//! sharing events through `@socket.io/redis-adapter` and a Redis server, behind HAProxy with
//! sticky sessions by cookie (`support/cluster.rs`). Polling through the load balancer (the
//! cookie kept by ferrio's jar), websocket, multiplexed namespaces on one node, broadcasts
//! and rooms across nodes received exactly once, a node killed and its clients moving to the
//! other with the reference's close reasons, the node returning, and without cookies
//! (`with_credentials(false)`) the polling failure reported as a `connect_error`.
//!
//! Without `redis-server` or `haproxy` (and no apt to install them) every test prints one
//! `SKIPPED` line; `FERRIO_REQUIRE_CLUSTER=1` makes that a failure.

use std::collections::HashMap;
use std::time::Duration;

use ferrio::{DisconnectReason, Error, Manager, Socket};
use ferrio_suite::cluster::{self, Cluster};
use ferrio_suite::*;
use serde::Deserialize;

/// What a node says of a socket (`whoami`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Whoami {
    node: String,
    nsp: String,
    engine_id: String,
    transport: String,
}

async fn cluster() -> Option<Cluster> {
    match Cluster::start().await {
        Ok(c) => Some(c),
        Err(e) => {
            cluster::skip(&e);
            None
        }
    }
}

async fn whoami(s: &Socket) -> Whoami {
    within(STEP, s.emit_with_ack("whoami", ()))
        .await
        .expect("whoami")
}

/// How many sockets the namespace of `s` has across the cluster, once it is `n` (the
/// adapter's subscriptions are ready on both nodes then).
async fn wait_for_count(s: &Socket, n: usize) {
    until_async(STEP, format!("the cluster sees {n} sockets"), || async {
        let count: Result<usize, _> = s.emit_with_ack("count", ()).await;
        count.ok() == Some(n)
    })
    .await;
}

/// A client through the load balancer, with short reconnection delays.
fn client(cluster: &Cluster, t: Transports) -> Manager {
    builder(&cluster.url(), t)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(500))
        .build()
        .expect("manager")
}

async fn connected(m: &Manager, nsp: &str) -> Socket {
    within(STEP, m.socket(nsp).connect())
        .await
        .unwrap_or_else(|e| panic!("connect {nsp} through the load balancer: {e}"))
}

/// Waits until the transport settled (the upgrade may still be under way after connecting).
async fn settled(m: &Manager, t: Transports) {
    let want = match t {
        Transports::PollingOnly => ferrio::TransportKind::Polling,
        _ => ferrio::TransportKind::Websocket,
    };
    until(STEP, format!("the transport is {want:?}"), || {
        m.transport() == Some(want)
    })
    .await;
}

transport_matrix!(
    one_session_stays_on_one_node,
    namespaces_share_the_session_on_one_node,
);

/// Every request of a session reaches the node that knows it: many acks, one node, one
/// engine id, the transport the configuration settles on.
async fn one_session_stays_on_one_node(t: Transports) {
    let Some(cluster) = cluster().await else {
        return;
    };
    let m = client(&cluster, t);
    let s = connected(&m, "/").await;
    settled(&m, t).await;
    let first = whoami(&s).await;
    assert_eq!(first.transport, t.settled_transport());
    assert_eq!(Some(first.engine_id.clone()), m.engine_id());
    for _ in 0..30 {
        assert_eq!(whoami(&s).await, first);
    }
    m.close();
}

async fn namespaces_share_the_session_on_one_node(t: Transports) {
    let Some(cluster) = cluster().await else {
        return;
    };
    let m = client(&cluster, t);
    let root = connected(&m, "/").await;
    let chat = connected(&m, "/chat").await;
    settled(&m, t).await;
    let (a, b) = (whoami(&root).await, whoami(&chat).await);
    assert_eq!((a.nsp.as_str(), b.nsp.as_str()), ("/", "/chat"));
    assert_eq!((a.node.clone(), a.engine_id.clone()), (b.node, b.engine_id));
    m.close();
}

/// Clients over the three transport modes until both nodes have two; gives them with their
/// node, and how many there are per node.
async fn spread(cluster: &Cluster) -> (Vec<(Manager, Socket, Whoami)>, HashMap<String, usize>) {
    let mut clients = Vec::new();
    let mut per_node: HashMap<String, usize> = HashMap::new();
    for t in Transports::ALL.iter().cycle().take(16) {
        if Cluster::NODES
            .iter()
            .all(|n| per_node.get(*n).copied().unwrap_or(0) >= 2)
        {
            break;
        }
        let m = client(cluster, *t);
        let s = connected(&m, "/").await;
        settled(&m, *t).await;
        let who = whoami(&s).await;
        *per_node.entry(who.node.clone()).or_default() += 1;
        clients.push((m, s, who));
    }
    for n in Cluster::NODES {
        assert!(
            per_node.get(n).copied().unwrap_or(0) >= 2,
            "round robin put no two clients on node {n}: {per_node:?}"
        );
    }
    (clients, per_node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_and_rooms_reach_every_node_exactly_once() {
    let Some(cluster) = cluster().await else {
        return;
    };
    let (clients, _) = spread(&cluster).await;
    let mut inboxes: Vec<_> = clients
        .iter()
        .map(|(_, s, _)| (events(s, "broadcast"), events(s, "room")))
        .collect();
    wait_for_count(&clients[0].1, clients.len()).await;

    // A broadcast from each node reaches every client once.
    for sender in Cluster::NODES {
        let (_, s, _) = clients
            .iter()
            .find(|(_, _, w)| w.node == sender)
            .expect("a client on the node");
        within(STEP, s.emit("broadcast", format!("from {sender}")))
            .await
            .expect("emit");
        for (broadcasts, _) in &mut inboxes {
            let ev = broadcasts.next(STEP).await;
            let (payload, node): (String, String) = ev.args().expect("payload and node");
            assert_eq!((payload, node.as_str()), (format!("from {sender}"), sender));
        }
    }
    for (broadcasts, _) in &mut inboxes {
        broadcasts.assert_quiet(Duration::from_millis(300)).await;
    }

    // A room with one member on each node, filled and addressed from different nodes.
    let on_a = clients
        .iter()
        .position(|c| c.2.node == "a")
        .expect("a client on a");
    let on_b = clients
        .iter()
        .position(|c| c.2.node == "b")
        .expect("a client on b");
    for i in [on_a, on_b] {
        let node: String = within(STEP, clients[i].1.emit_with_ack("join", "r1"))
            .await
            .expect("join");
        assert_eq!(node, clients[i].2.node);
    }
    let outsider = (0..clients.len())
        .find(|i| *i != on_a && *i != on_b && clients[*i].2.node == "a")
        .expect("another client on a");
    within(
        STEP,
        clients[outsider].1.emit("toRoom", ("r1", "hello room")),
    )
    .await
    .expect("emit");
    for i in [on_a, on_b] {
        let ev = inboxes[i].1.next(STEP).await;
        let (room, payload, node): (String, String, String) = ev.args().expect("room event");
        assert_eq!(
            (room.as_str(), payload.as_str(), node.as_str()),
            ("r1", "hello room", "a")
        );
    }
    for (_, rooms) in &mut inboxes {
        rooms.assert_quiet(Duration::from_millis(300)).await;
    }
    for (m, _, _) in clients {
        m.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_moves_its_clients_and_comes_back() {
    let Some(mut cluster) = cluster().await else {
        return;
    };
    let (clients, _) = spread(&cluster).await;
    let mut watched: Vec<_> = clients
        .iter()
        .map(|(m, s, w)| (m, s, w, disconnects(s), connects(s)))
        .collect();
    let transports: Vec<_> = clients
        .iter()
        .map(|(m, _, _)| m.transport().expect("a transport"))
        .collect();

    cluster.node("a").kill().await;

    for (i, (_, s, before, down, up)) in watched.iter_mut().enumerate() {
        if before.node == "a" {
            // socket.io-client's reasons for a server that vanished: the websocket closes
            // ("transport close"); the long poll in flight gets the load balancer's 502
            // ("transport error", socket.io's "xhr poll error").
            let reason = down.next(STEP).await;
            let expected = match transports[i] {
                ferrio::TransportKind::Websocket => DisconnectReason::TransportClose,
                ferrio::TransportKind::Polling => DisconnectReason::TransportError,
            };
            assert_eq!(reason, expected, "client {i} over {:?}", transports[i]);
            up.next(Duration::from_secs(10)).await;
            let now = whoami(s).await;
            assert_eq!(now.node, "b", "client {i} reconnected to {now:?}");
        }
    }
    for (i, (m, s, before, down, _)) in watched.iter_mut().enumerate() {
        if before.node == "b" {
            down.assert_quiet(Duration::from_millis(100)).await;
            assert_eq!(m.engine_id(), Some(before.engine_id.clone()), "client {i}");
            assert_eq!(whoami(s).await, **before);
        }
    }

    // The node returns: new clients land on it again, the moved ones stay where they are.
    cluster.node("a").start_again().await;
    let mut landed = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while landed.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new client landed on the returning node a"
        );
        let m = client(&cluster, Transports::PollingUpgrade);
        let s = connected(&m, "/").await;
        if whoami(&s).await.node == "a" {
            landed = Some((m, s));
        } else {
            m.close();
        }
    }
    for (i, (_, s, before, down, _)) in watched.iter_mut().enumerate() {
        if before.node == "a" {
            down.assert_quiet(Duration::from_millis(100)).await;
            assert_eq!(whoami(s).await.node, "b", "client {i} moved back");
        }
    }
    let (m, s) = landed.expect("a client on a");
    // The returning node is in the cluster again: its clients hear broadcasts from b.
    let mut heard = events(&s, "broadcast");
    let all = clients.len() + 1;
    wait_for_count(&s, all).await;
    let (_, from_b, _) = clients.iter().find(|c| c.2.node == "b").expect("on b");
    within(STEP, from_b.emit("broadcast", "welcome back"))
        .await
        .expect("emit");
    let (payload, node): (String, String) = heard.next(STEP).await.args().expect("broadcast");
    assert_eq!((payload.as_str(), node.as_str()), ("welcome back", "b"));
    m.close();
    for (m, _, _) in clients {
        m.close();
    }
}

/// Without cookies the load balancer sends the session's requests to both nodes; the one
/// that did not open it answers HTTP 400 "Session ID unknown". socket.io-client then emits
/// `connect_error` ("xhr post error"/"xhr poll error") at every attempt; ferrio reports it as
/// a `connect_error` and a failed `connect()` too, never a silent loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cookies_polling_fails_with_a_clear_connect_error() {
    let Some(cluster) = cluster().await else {
        return;
    };
    let m = builder(&cluster.url(), Transports::PollingOnly)
        .with_credentials(false)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(200))
        .build()
        .expect("manager");
    let s = m.socket("/").build();
    let mut errors = connect_errors(&s);
    match within(STEP, s.connect()).await {
        Err(Error::Transport(message)) => {
            assert!(
                message.contains("HTTP 400") && message.contains("Session ID unknown"),
                "{message}"
            );
        }
        other => panic!("expected the polling failure, got {other:?}"),
    }
    // One connect_error per attempt, each saying why.
    for _ in 0..3 {
        let e = errors.next(STEP).await;
        assert!(e.message.contains("Session ID unknown"), "{}", e.message);
    }
    assert!(!s.connected());
    m.close();

    // The same cluster over the websocket alone needs no stickiness: one connection.
    let m = builder(&cluster.url(), Transports::WebsocketOnly)
        .with_credentials(false)
        .build()
        .expect("manager");
    let s = connected(&m, "/").await;
    assert_eq!(whoami(&s).await.transport, "websocket");
    m.close();
}
