//! Connect errors (socket.io-client's `test/socket.ts` and `test/connection.ts`): a refused
//! port, an open timeout, a middleware that refuses with a message and data, an unknown
//! namespace, and a namespace whose CONNECT is never answered.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ferrio::{ConnectError, Error, ManagerEvent};
use ferrio_suite::*;
use tokio::net::TcpListener;

/// A loopback port nobody listens on.
async fn refused_port() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// A listener that accepts connections and never answers (an open timeout for every
/// transport). The connections stay open until the returned task is dropped/aborted.
async fn black_hole() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    (addr, task)
}

fn is_connect_error(e: &Error, message: &str) -> Option<ConnectError> {
    match e {
        Error::ConnectError(ce) if ce.message == message => Some(ce.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_fails_the_connect_without_reconnect_attempts() {
    let port = refused_port().await;
    for t in Transports::ALL {
        let m = builder(&format!("http://127.0.0.1:{port}"), t)
            .reconnection(false)
            .build()
            .expect("manager");
        let mut evs = m.events();
        let s = m.socket("/").build();
        let mut errors = connect_errors(&s);
        let r = within(STEP, s.connect()).await;
        match r {
            Err(Error::ConnectError(ce)) => panic!("a refused port is not a CONNECT_ERROR: {ce:?}"),
            Err(_) => {}
            Ok(()) => panic!("connected to a closed port over {t:?}"),
        }
        errors.next(STEP).await;
        next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Error(_))).await;
        // reconnection(false): no attempt at all
        let quiet = tokio::time::timeout(Duration::from_millis(200), async {
            loop {
                match evs.recv().await {
                    Some(ManagerEvent::ReconnectAttempt(n)) => return n,
                    Some(_) => continue,
                    None => std::future::pending::<()>().await,
                }
            }
        })
        .await;
        assert!(quiet.is_err(), "a reconnect attempt was made: {quiet:?}");
        assert!(!s.connected());
        assert!(!s.active());
        m.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_timeout_fails_with_timeout() {
    let (addr, hole) = black_hole().await;
    for t in Transports::ALL {
        let m = builder(&format!("http://{addr}"), t)
            .timeout(Duration::from_millis(200))
            .reconnection(false)
            .build()
            .expect("manager");
        let s = m.socket("/").build();
        let mut errors = connect_errors(&s);
        let start = Instant::now();
        let r = within(STEP, s.connect()).await;
        assert!(matches!(r, Err(Error::Timeout)), "{t:?}: {r:?}");
        assert!(
            start.elapsed() >= Duration::from_millis(200),
            "timed out early"
        );
        let ce = errors.next(STEP).await;
        assert_eq!(ce.message, "timeout", "{t:?}");
        m.close();
    }
    hole.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_timeout_against_a_slow_server() {
    // the real server, which answers every engine request after 1 s
    let peer =
        NodePeer::start(PeerOptions::new().allow_request_delay(Duration::from_secs(1))).await;
    for t in [Transports::PollingOnly, Transports::WebsocketOnly] {
        let m = builder(&peer.url(), t)
            .timeout(Duration::from_millis(100))
            .reconnection(false)
            .build()
            .expect("manager");
        let r = within(STEP, m.socket("/").connect()).await;
        assert!(matches!(r, Err(Error::Timeout)), "{t:?}: {r:?}");
        m.close();
    }
    // and a timeout long enough connects
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .timeout(Duration::from_secs(4))
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect with a long timeout");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_middleware_refusal_carries_message_and_data_and_is_not_retried() {
    let peer = shared_peer().await;
    for t in Transports::ALL {
        let m = builder(&peer.url(), t)
            .reconnection_delay(Duration::from_millis(10))
            .build()
            .expect("manager");
        let s = m.socket("/auth").auth(json!({"token": "wrong"})).build();
        let mut errors = connect_errors(&s);
        let mut up = connects(&s);
        let r = within(STEP, s.connect()).await;
        let err = r.expect_err("the middleware must refuse");
        let ce =
            is_connect_error(&err, "not authorized").unwrap_or_else(|| panic!("{t:?}: {err:?}"));
        assert_eq!(ce.data, Some(json!({"content": "Please retry later"})));
        let ev = errors.next(STEP).await;
        assert_eq!(ev, ce);
        // no retry after a CONNECT_ERROR
        errors.assert_quiet(Duration::from_millis(200)).await;
        up.assert_quiet(Duration::from_millis(1)).await;
        assert!(!s.connected());
        assert!(!s.active());
        assert!(s.id().is_none());
        m.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_token_passes_the_middleware() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::PollingUpgrade);
    let s = within(
        STEP,
        m.socket("/auth").auth(json!({"token": "secret"})).connect(),
    )
    .await
    .expect("connect");
    let hs = server::handshake(&s).await;
    assert_eq!(hs["auth"]["token"], "secret");
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_other_namespaces() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    // a custom namespace's middleware, no data
    let err = within(STEP, m.socket("/no").connect())
        .await
        .expect_err("refused");
    let ce = is_connect_error(&err, "Auth failed (custom namespace)")
        .unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(ce.data, None);
    // an unknown namespace
    let err = within(STEP, m.socket("/does-not-exist").connect())
        .await
        .expect_err("refused");
    assert!(
        is_connect_error(&err, "Invalid namespace").is_some(),
        "{err:?}"
    );
    // the refusals did not break the connection for others
    let s = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    s.disconnect();
    m.close();

    // the main namespace's middleware (reads the query)
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .query("fail", "true")
        .build()
        .expect("manager");
    let err = within(STEP, m.socket("/").connect())
        .await
        .expect_err("refused");
    assert!(
        is_connect_error(&err, "Auth failed (main namespace)").is_some(),
        "{err:?}"
    );
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_that_is_never_answered_fails() {
    // The /timeout middleware never calls next(); the server closes an engine connection that
    // joined no namespace after its connectTimeout. The client must not wait forever.
    let peer =
        NodePeer::start(PeerOptions::new().connect_timeout(Duration::from_millis(500))).await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = m.socket("/timeout").build();
    let r = within_for(
        STEP,
        "connect() after the server closed the connection",
        s.connect(),
    )
    .await;
    assert!(r.is_err(), "{r:?}");
    assert!(!s.active());
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_option_bounds_a_namespace_connect() {
    // ferrio's reading of api.md: connect() fails with Timeout when the CONNECT reply does not
    // come within the manager's `timeout` (socket.io-client itself only bounds the engine open).
    let peer = shared_peer().await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .timeout(Duration::from_millis(200))
        .reconnection(false)
        .build()
        .expect("manager");
    let r = within(STEP, m.socket("/timeout").connect()).await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_error_after_the_connection_does_not_fire_on_an_established_socket() {
    // socket.io-client: "doesn't fire a connect_error event when the connection is already
    // established"; closing the engine gives a disconnect, not a connect_error.
    let peer = shared_peer().await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .reconnection(false)
        .build()
        .expect("manager");
    let s = m.socket("/").build();
    let mut errors = connect_errors(&s);
    let mut down = disconnects(&s);
    within(STEP, s.connect()).await.expect("connect");
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    let reason = down.next(STEP).await;
    assert_eq!(reason, ferrio::DisconnectReason::TransportClose);
    errors.assert_quiet(Duration::from_millis(200)).await;
    m.close();
}
