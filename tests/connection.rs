//! Connect and multiplexing, and plain data (socket.io-client's `test/connection.ts`), against
//! the official Node server.

use std::time::Duration;

use ferrio::{DisconnectReason, Manager, ManagerEvent, TransportKind};
use ferrio_suite::*;
use serde_json::Value;

// ---- over every transport configuration ---------------------------------------------------

transport_matrix!(
    connects_and_exchanges_events,
    settles_on_the_expected_transport,
    namespaces_share_one_engine_connection,
    disconnecting_one_namespace_keeps_the_other,
    receives_utf8_multibyte_characters,
    receives_false_and_null,
    receives_dates_as_strings,
);

async fn connects_and_exchanges_events(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    assert!(s.connected());
    assert!(!s.disconnected());
    assert!(s.active());
    assert_eq!(s.namespace(), "/");
    let mut hi = events(&s, "hi");
    within(STEP, s.emit("hi", ())).await.expect("emit hi");
    let ev = hi.next(STEP).await;
    assert_eq!(ev.name(), "hi");
    assert_eq!(ev.len(), 0);
    s.disconnect();
    m.close();
}

async fn settles_on_the_expected_transport(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let want = match t {
        Transports::PollingOnly => TransportKind::Polling,
        _ => TransportKind::Websocket,
    };
    until(STEP, format!("the manager's transport is {want:?}"), || {
        matches!(
            (m.transport(), want),
            (Some(TransportKind::Polling), TransportKind::Polling)
                | (Some(TransportKind::Websocket), TransportKind::Websocket)
        )
    })
    .await;
    // the server agrees
    until_async(
        STEP,
        format!("the server reports {}", t.settled_transport()),
        || async { server::transport(&s).await == t.settled_transport() },
    )
    .await;
    // the first request says where the client started
    let hs = server::handshake(&s).await;
    let first = hs["query"]["transport"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match t {
        Transports::WebsocketOnly => assert_eq!(first, "websocket"),
        _ => assert_eq!(first, "polling"),
    }
    assert_eq!(hs["query"]["EIO"], "4");
    s.disconnect();
    m.close();
}

async fn namespaces_share_one_engine_connection(t: Transports) {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), t);
    let nsp_foo = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    let bar = within(STEP, m.socket("/bar").connect())
        .await
        .expect("connect /bar");
    let hs_foo = server::handshake(&nsp_foo).await;
    let hs_bar = server::handshake(&bar).await;
    assert_eq!(hs_foo["nsp"], "/foo");
    assert_eq!(hs_bar["nsp"], "/bar");
    assert_eq!(
        hs_foo["engineId"], hs_bar["engineId"],
        "two engine connections for one manager"
    );
    assert_eq!(m.engine_id().as_deref(), hs_foo["engineId"].as_str());
    assert_ne!(nsp_foo.id(), bar.id());
    // exactly one CONNECT per namespace went over the wire
    let log = server::raw_log(&nsp_foo).await;
    assert_eq!(
        log.iter().filter(|p| p.starts_with("0/foo,")).count(),
        1,
        "{log:?}"
    );
    assert_eq!(
        log.iter().filter(|p| p.starts_with("0/bar,")).count(),
        1,
        "{log:?}"
    );
    nsp_foo.disconnect();
    bar.disconnect();
    m.close();
}

async fn disconnecting_one_namespace_keeps_the_other(t: Transports) {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), t);
    let nsp_foo = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    let bar = within(STEP, m.socket("/bar").connect())
        .await
        .expect("connect /bar");
    let mut foo_down = disconnects(&nsp_foo);
    let mut bar_down = disconnects(&bar);
    let engine = m.engine_id();
    assert!(engine.is_some());

    nsp_foo.disconnect();
    assert_eq!(
        foo_down.next(STEP).await,
        DisconnectReason::IoClientDisconnect
    );
    assert!(!nsp_foo.connected());
    assert!(nsp_foo.id().is_none());

    // /bar still works, on the same engine connection
    let v: String = within(STEP, bar.emit_with_ack("echo", "still here"))
        .await
        .expect("echo on /bar");
    assert_eq!(v, "still here");
    assert!(bar.connected());
    assert_eq!(m.engine_id(), engine);
    bar_down.assert_quiet(Duration::from_millis(100)).await;
    let log = server::raw_log(&bar).await;
    assert!(
        log.iter().any(|p| p == "1/foo,"),
        "no DISCONNECT for /foo: {log:?}"
    );

    bar.disconnect();
    assert_eq!(
        bar_down.next(STEP).await,
        DisconnectReason::IoClientDisconnect
    );
    m.close();
}

async fn receives_utf8_multibyte_characters(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let mut utf8 = events(&s, "takeUtf8");
    within(STEP, s.emit("getUtf8", ())).await.expect("emit");
    let got: Vec<String> = utf8
        .take(5, STEP)
        .await
        .iter()
        .map(|e| e.arg::<String>(0).expect("a string"))
        .collect();
    assert_eq!(
        got,
        [
            "てすと",
            "Я Б Г Д Ж Й",
            "Ä ä Ü ü ß",
            "utf8 — string",
            "utf8 — string"
        ]
    );
    // and back, through an ack
    let back: String = within(STEP, s.emit_with_ack("echo", "てすと — Ä ß 🦀"))
        .await
        .expect("echo");
    assert_eq!(back, "てすと — Ä ß 🦀");
    s.disconnect();
    m.close();
}

async fn receives_false_and_null(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let mut f = events(&s, "false");
    let mut n = events(&s, "null");
    within(STEP, s.emit("false", ())).await.expect("emit");
    within(STEP, s.emit("null", ())).await.expect("emit");
    let ev = f.next(STEP).await;
    assert!(!ev.arg::<bool>(0).expect("a bool"));
    let ev = n.next(STEP).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev.arg::<Value>(0).expect("a value"), Value::Null);
    assert_eq!(ev.arg::<Option<u8>>(0).expect("an option"), None);
    s.disconnect();
    m.close();
}

async fn receives_dates_as_strings(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let date: String = within(STEP, s.emit_with_ack("getAckDate", json!({"test": true})))
        .await
        .expect("date ack");
    assert!(
        date.ends_with('Z') && date.contains('T'),
        "not an ISO date: {date}"
    );
    let mut take = events(&s, "takeDate");
    let mut take_obj = events(&s, "takeDateObj");
    within(STEP, s.emit("getDate", ())).await.expect("emit");
    within(STEP, s.emit("getDateObj", ())).await.expect("emit");
    assert!(take.next(STEP).await.arg::<String>(0).is_ok());
    let obj: Value = take_obj.next(STEP).await.arg(0).expect("an object");
    assert!(obj["date"].is_string(), "{obj}");
    s.disconnect();
    m.close();
}

// ---- transport-independent ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_shortcut_connects_the_namespace_of_the_url() {
    let peer = shared_peer().await;
    let s = within(STEP, ferrio::io(&peer.url_for("/foo")))
        .await
        .expect("io(/foo)");
    assert_eq!(s.namespace(), "/foo");
    assert!(s.connected());
    let id: String = within(STEP, s.emit_with_ack("getId", ()))
        .await
        .expect("getId");
    assert_eq!(s.id().as_deref(), Some(id.as_str()));
    s.disconnect();
    s.manager().close();

    let root = within(STEP, ferrio::io(&peer.url())).await.expect("io(/)");
    assert_eq!(root.namespace(), "/");
    root.disconnect();
    root.manager().close();
}

/// socket.io's manager cache: `io()` calls for the same server share a manager unless the
/// namespace is taken, `force_new` or `multiplex(false)`; a manager whose handles are gone
/// is not kept by the cache. (A peer of its own: the cache is process-wide.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_reuses_the_manager_of_the_same_server_as_socket_io_does() {
    let peer = NodePeer::start(PeerOptions::new()).await;
    let foo = within(STEP, ferrio::io(&peer.url_for("/foo")))
        .await
        .expect("io(/foo)");
    let bar = within(STEP, ferrio::io(&peer.url_for("/bar")))
        .await
        .expect("io(/bar)");
    assert!(foo.manager().engine_id().is_some());
    assert_eq!(
        foo.manager().engine_id(),
        bar.manager().engine_id(),
        "two namespaces of one server share the connection"
    );
    let foo_again = within(STEP, ferrio::io(&peer.url_for("/foo")))
        .await
        .expect("io(/foo) again");
    assert_ne!(
        foo.manager().engine_id(),
        foo_again.manager().engine_id(),
        "a namespace already in use gets a manager of its own"
    );
    let forced = within(
        STEP,
        ferrio::Io::new(&peer.url_for("/abc"))
            .force_new(true)
            .connect(),
    )
    .await
    .expect("force_new");
    assert_ne!(foo.manager().engine_id(), forced.manager().engine_id());
    let alone = within(
        STEP,
        ferrio::Io::new(&peer.url_for("/abc"))
            .multiplex(false)
            .connect(),
    )
    .await
    .expect("multiplex(false)");
    assert_ne!(foo.manager().engine_id(), alone.manager().engine_id());
    assert_ne!(forced.manager().engine_id(), alone.manager().engine_id());
    // Every handle of the first manager gone: the next call makes a new one.
    let first = foo.manager().engine_id();
    drop((foo, bar));
    let fresh = within(STEP, ferrio::io(&peer.url_for("/foo")))
        .await
        .expect("io(/foo) after the drop");
    assert_ne!(fresh.manager().engine_id(), first);
    for s in [foo_again, forced, alone, fresh] {
        within(STEP, s.manager().close()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_managers_make_two_engine_connections() {
    let peer = shared_peer().await;
    let (m1, s1) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let (m2, s2) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    assert!(m1.engine_id().is_some());
    assert_ne!(m1.engine_id(), m2.engine_id());
    assert_ne!(s1.id(), s2.id());
    s1.disconnect();
    s2.disconnect();
    m1.close();
    m2.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_a_manager_does_not_connect() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let s = m.socket("/").build();
    assert!(m.engine_id().is_none());
    assert!(m.transport().is_none());
    assert!(!s.connected());
    assert!(s.id().is_none());
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_a_namespace_after_the_connection_is_established() {
    let peer = shared_peer().await;
    let (m, root) = connect(&peer.url(), "/", Transports::PollingUpgrade).await;
    let engine = m.engine_id();
    let nsp_foo = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    assert_eq!(m.engine_id(), engine);
    let hs = server::handshake(&nsp_foo).await;
    assert_eq!(
        Some(hs["engineId"].as_str().unwrap_or_default()),
        engine.as_deref()
    );
    nsp_foo.disconnect();
    root.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_a_new_namespace_after_the_other_disconnected() {
    let peer = shared_peer().await;
    let (m, root) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let mut down = disconnects(&root);
    root.disconnect();
    assert_eq!(down.next(STEP).await, DisconnectReason::IoClientDisconnect);
    let nsp_foo = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo after / left");
    let id: String = within(STEP, nsp_foo.emit_with_ack("getId", ()))
        .await
        .expect("getId");
    assert_eq!(nsp_foo.id(), Some(id));
    nsp_foo.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_twice_sends_one_connect() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let s = m.socket("/").build();
    let (a, b) = within(STEP, async { tokio::join!(s.connect(), s.connect()) }).await;
    a.expect("first connect");
    b.expect("second connect");
    // and once more while connected
    within(STEP, s.connect())
        .await
        .expect("connect while connected");
    assert!(s.connected());
    let log = server::raw_log(&s).await;
    assert_eq!(
        log.iter().filter(|p| p.starts_with('0')).count(),
        1,
        "duplicate CONNECT: {log:?}"
    );
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_while_disconnecting_another_socket() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::PollingUpgrade);
    let nsp_foo = within(STEP, m.socket("/foo").connect())
        .await
        .expect("connect /foo");
    let asd = m.socket("/asd").build();
    nsp_foo.disconnect();
    within(STEP, asd.connect())
        .await
        .expect("connect /asd while /foo leaves");
    assert!(asd.connected());
    asd.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_reports_open_and_close() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let mut evs = m.events();
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Open)).await;
    s.disconnect();
    m.close();
    let ev = next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Close(_))).await;
    if let ManagerEvent::Close(reason) = ev {
        assert!(!reason.to_string().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_disconnect_then_connect_gets_a_new_session() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    let first = s.id().expect("an id");
    s.disconnect();
    assert_eq!(down.next(STEP).await, DisconnectReason::IoClientDisconnect);
    assert!(!s.active());
    within(STEP, s.connect()).await.expect("connect again");
    up.next(STEP).await;
    let second = s.id().expect("an id again");
    assert_ne!(first, second);
    let id: String = within(STEP, s.emit_with_ack("getId", ()))
        .await
        .expect("getId");
    assert_eq!(id, second);
    // one disconnect only
    down.assert_quiet(Duration::from_millis(100)).await;
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_built_manager_is_independent_of_its_url_path() {
    // Manager::builder takes the origin; a path in the URL does not change the engine path.
    let peer = shared_peer().await;
    let m: Manager = manager(&peer.url_for("/foo"), Transports::WebsocketOnly);
    let s = within(STEP, m.socket("/bar").connect())
        .await
        .expect("connect /bar");
    assert_eq!(s.namespace(), "/bar");
    s.disconnect();
    m.close();
}
