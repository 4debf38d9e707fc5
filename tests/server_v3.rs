//! socket.io 3.x servers (issue 14, point 2): the official `socket.io` 3.1 server of
//! `tests/peer-v3/` (pinned by its lockfile) runs the peer's own `server.js`, and the shared
//! groups (`support/groups.rs`) run against it on the three transport modes. 3.x speaks the
//! same protocols as 4.x (Engine.IO v4, Socket.IO v5): the same client, no option, and the
//! same groups pass against 4.8 alongside (`socket_io_4::`).

use ferrio_suite::*;

async fn start() -> NodePeer {
    NodePeer::start(PeerOptions::new().modules(peer_v3_dir())).await
}

server_groups!(start => connect, namespaces, emit, acks, binary, reconnection, server_disconnect);

/// The server that answers is socket.io 3.x, speaking Engine.IO v4 (its handshake, read by
/// the peer's own request log: `EIO=4` on every request) and Socket.IO v5 (the CONNECT it
/// answered carries the socket id, a v5 shape).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_is_socket_io_3_on_the_v4_protocols() {
    let peer = start().await;
    let version = peer.state().await["socketIo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(version.starts_with("3.1."), "socket.io {version}");
    let (m, s) = connect(&peer.url(), "/", Transports::PollingUpgrade).await;
    assert!(s.id().is_some());
    let requests = server::request_log(&s).await;
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request["query"]["EIO"], "4", "{request}");
    }
    m.close();
}

/// The same groups against socket.io 4.8 (`tests/peer`), side by side: one client, one
/// behaviour, whichever of the two servers answers.
mod socket_io_4 {
    use super::*;

    async fn start() -> NodePeer {
        NodePeer::start(PeerOptions::new()).await
    }

    server_groups!(start => connect, namespaces, emit, acks, binary, reconnection, server_disconnect);
}
