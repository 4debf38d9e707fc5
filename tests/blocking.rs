//! The blocking client (`ferrio::blocking`, feature `blocking`) from plain threads, against
//! the official Node server: connect, listeners, emit, emit with ack, a typed socket through
//! `block_on`, disconnect and close.

use std::sync::mpsc;
use std::time::Duration;

use ferrio::blocking::Socket;
use ferrio_suite::*;

#[ferrio::socketio_events(namespace = "/foo")]
trait Echo {
    /// `echo`: the server emits `echo-back` with the same argument.
    #[emit]
    fn echo(text: String);
}

/// A plain `#[test]`: no runtime of the test's own touches the client (the peer runs on one
/// of its own, as another process's would).
#[test]
fn the_blocking_client_from_a_plain_thread() {
    let support = tokio::runtime::Runtime::new().expect("a runtime for the peer");
    let mut peer = support.block_on(NodePeer::start(PeerOptions::new()));
    let socket = Socket::build(&peer.url_for("/foo")).expect("build");
    let (tx, rx) = mpsc::channel();
    socket.on("echo-back", move |event| {
        let _ = tx.send(event.arg::<String>(0).unwrap_or_default());
    });
    socket.connect().expect("connect");
    socket.emit("echo", "plain").expect("emit");
    assert_eq!(rx.recv_timeout(STEP).expect("echo-back"), "plain");
    let acked: String = socket
        .emit_with_ack("ack", "with an ack", Duration::from_secs(2))
        .expect("ack");
    assert_eq!(acked, "with an ack");
    let typed = EchoSocket::from_socket(socket.socket().clone());
    socket
        .block_on(typed.emit_echo("typed".into()))
        .expect("typed emit");
    assert_eq!(rx.recv_timeout(STEP).expect("echo-back"), "typed");
    socket.disconnect();
    assert!(!socket.socket().connected());
    socket.close();
    drop(socket);
    support.block_on(peer.stop());
}
