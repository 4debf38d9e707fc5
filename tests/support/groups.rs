//! The main feature groups, written once and run against every server implementation
//! (`tests/server_v3.rs`, `tests/msgpack.rs`, `tests/socketioxide.rs`): connect, namespaces,
//! emit, acks both ways, binary, reconnection, server disconnect. A server only has to
//! serve the Node peer's handlers the groups use (`echo`, `ack`, `noAck`, `describe`,
//! `getBinary`, `askForAck`, `emitN`, `emitBinaryThenText`, `getId`, `getTransport`,
//! `disconnectMe`) in `/`, `/foo` and `/bar`, and refuse `/no` with
//! `Auth failed (custom namespace)`.
//!
//! Order is checked on what the server emits from one handler (`emitN`,
//! `emitBinaryThenText`): socketioxide runs each event's handler as a task of its own, so
//! the order in which echoes of separate events leave it is not the order they came in.
//!
//! [`server_groups!`](crate::server_groups) expands each group into one test per transport
//! mode, like [`transport_matrix!`](crate::transport_matrix).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use ferrio::{DisconnectReason, Error, Event, ManagerBuilder, ManagerEvent, Parser, Socket};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::client::{
    builder, connect_errors, connect_watched, disconnects, events, next_manager_event, Transports,
};
use crate::peer::NodePeer;
use crate::proxy::Proxy;
use crate::wait::{inbox, until_async, within, STEP};

/// Where a group finds its server, and how to talk to it.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The server's address (plain HTTP on loopback).
    pub addr: SocketAddr,
    /// The parser the server uses; every manager of the group uses the same.
    pub parser: Parser,
}

impl Target {
    /// `http://<addr>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A manager builder for `url` (the server's, or a proxy's in front of it) with the
    /// transport mode and the server's parser.
    pub fn builder(&self, url: &str, t: Transports) -> ManagerBuilder {
        builder(url, t).parser(self.parser)
    }

    /// Connects `nsp` through a new manager, failing the test if it does not connect within
    /// [`STEP`].
    pub async fn connect(&self, nsp: &str, t: Transports) -> (ferrio::Manager, Socket) {
        let m = match self.builder(&self.url(), t).build() {
            Ok(m) => m,
            Err(e) => panic!("cannot build a manager: {e}"),
        };
        match within(STEP, m.socket(nsp).connect()).await {
            Ok(s) => (m, s),
            Err(e) => panic!("cannot connect {nsp} over {t:?}: {e}"),
        }
    }
}

/// A running server the groups can be pointed at.
pub trait Served {
    /// Its address and parser.
    fn target(&self) -> Target;
}

impl Served for NodePeer {
    fn target(&self) -> Target {
        Target {
            addr: self.addr(),
            parser: match self.options().msgpack {
                true => Parser::MsgPack,
                false => Parser::Json,
            },
        }
    }
}

/// Generates, for each group of [`groups`](crate::groups), a module with the tests
/// `websocket`, `polling` and `upgrade`; each starts its own server with `$start()` (an
/// async fn returning a [`Served`]).
#[macro_export]
macro_rules! server_groups {
    ($start:ident => $($group:ident),* $(,)?) => {$(
        mod $group {
            use $crate::groups::Served as _;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                let server = super::$start().await;
                $crate::groups::$group(server.target(), $crate::Transports::WebsocketOnly).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                let server = super::$start().await;
                $crate::groups::$group(server.target(), $crate::Transports::PollingOnly).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn upgrade() {
                let server = super::$start().await;
                $crate::groups::$group(server.target(), $crate::Transports::PollingUpgrade).await
            }
        }
    )*};
}

async fn ask<T: serde::de::DeserializeOwned>(s: &Socket, event: &str) -> T {
    match within(STEP, s.emit_with_ack::<T>(event, ())).await {
        Ok(v) => v,
        Err(e) => panic!("`{event}` failed: {e}"),
    }
}

/// Connect: the socket id is the server's, the transport the one asked for (after the
/// upgrade, the websocket), a refused namespace is a `ConnectError` with the server's
/// message, and the socket connects again after `disconnect()`.
pub async fn connect(target: Target, t: Transports) {
    let (m, s) = target.connect("/", t).await;
    let id: String = ask(&s, "getId").await;
    assert_eq!(s.id().as_deref(), Some(id.as_str()));
    until_async(STEP, "the server sees the settled transport", || async {
        ask::<String>(&s, "getTransport").await == t.settled_transport()
    })
    .await;

    let refused = m.socket("/no").build();
    let mut errors = connect_errors(&refused);
    match within(STEP, refused.connect()).await {
        Err(Error::ConnectError(e)) => assert_eq!(e.message, "Auth failed (custom namespace)"),
        other => panic!("/no connected or failed otherwise: {other:?}"),
    }
    assert_eq!(
        errors.next(STEP).await.message,
        "Auth failed (custom namespace)"
    );
    // The refusal leaves the other socket alone.
    let echoed: String = within(STEP, s.emit_with_ack("echo", "still here"))
        .await
        .expect("echo");
    assert_eq!(echoed, "still here");

    s.disconnect();
    assert!(s.id().is_none());
    within(STEP, s.connect()).await.expect("connect again");
    let again: String = ask(&s, "getId").await;
    assert_ne!(again, id, "a new connection has a new id");
    m.close();
}

/// Namespaces: `/`, `/foo` and `/bar` on one manager each get their own events only;
/// leaving `/foo` keeps `/bar`.
pub async fn namespaces(target: Target, t: Transports) {
    let m = target.builder(&target.url(), t).build().expect("manager");
    let mut sockets = Vec::new();
    let mut backs = Vec::new();
    for nsp in ["/", "/foo", "/bar"] {
        let s = m.socket(nsp).build();
        backs.push(events(&s, "echo-back"));
        within(STEP, s.connect()).await.expect("connect");
        sockets.push(s);
    }
    for (i, s) in sockets.iter().enumerate() {
        within(STEP, s.emit("echo", s.namespace()))
            .await
            .expect("emit");
        let ev = backs[i].next(STEP).await;
        assert_eq!(ev.arg::<String>(0).ok().as_deref(), Some(s.namespace()));
    }
    for back in &mut backs {
        back.assert_quiet(Duration::from_millis(200)).await;
    }
    let mut gone = disconnects(&sockets[1]);
    sockets[1].disconnect();
    assert_eq!(gone.next(STEP).await, DisconnectReason::IoClientDisconnect);
    let v: String = within(STEP, sockets[2].emit_with_ack("echo", "bar"))
        .await
        .expect("/bar still acks");
    assert_eq!(v, "bar");
    let v: String = within(STEP, sockets[0].emit_with_ack("echo", "main"))
        .await
        .expect("/ still acks");
    assert_eq!(v, "main");
    m.close();
}

/// A struct the suites send and expect back unchanged (a string, numbers, a list, a `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    /// The room's name: the tests put non-ASCII text in it.
    pub name: String,
    /// A count.
    pub members: u32,
    /// A list.
    pub tags: Vec<String>,
    /// Always `None` here: a `null` on the wire.
    pub owner: Option<String>,
    /// A fraction that JSON carries exactly.
    pub ratio: f64,
}

impl Room {
    /// The room the suites use, named `name`.
    pub fn named(name: &str) -> Room {
        Room {
            name: name.into(),
            members: 3,
            tags: vec!["a".into(), "b".into()],
            owner: None,
            ratio: 0.25,
        }
    }
}

/// Emit: values of every JSON kind (and several arguments) reach the server and come back
/// unchanged, and 200 events come back in order.
pub async fn emit(target: Target, t: Transports) {
    let (m, s) = target.connect("/", t).await;
    let mut back = events(&s, "echo-back");
    let room = Room::named("r-1 ü てすと");
    let values = [
        json!("utf8 — string"),
        json!(-42),
        json!(u32::MAX),
        json!(1.5),
        json!(false),
        json!(null),
        json!([1, [2, [3, {"deep": true}]]]),
        serde_json::to_value(&room).expect("room"),
    ];
    for value in &values {
        within(STEP, s.emit("echo", value)).await.expect("emit");
        let ev = back.next(STEP).await;
        assert_eq!(ev.arg::<Value>(0).ok().as_ref(), Some(value));
    }
    within(STEP, s.emit("echo", room.clone()))
        .await
        .expect("emit");
    assert_eq!(back.next(STEP).await.arg::<Room>(0).ok(), Some(room));
    within(STEP, s.emit("echo", ("a", 2, true)))
        .await
        .expect("emit");
    let (a, n, b): (String, i64, bool) = back.next(STEP).await.args().expect("three args");
    assert_eq!((a.as_str(), n, b), ("a", 2, true));

    for i in 0..200u32 {
        within(STEP, s.emit("echo", i)).await.expect("emit");
    }
    let mut echoed = Vec::new();
    for _ in 0..200 {
        echoed.push(back.next(STEP).await.arg::<u32>(0).expect("a number"));
    }
    echoed.sort_unstable();
    assert_eq!(echoed, (0..200).collect::<Vec<_>>(), "every echo, once");

    let mut nums = events(&s, "num");
    let n: u32 = within(STEP, s.emit_with_ack("emitN", json!({"n": 200})))
        .await
        .expect("emitN");
    assert_eq!(n, 200);
    for i in 0..200u32 {
        assert_eq!(nums.next(STEP).await.arg::<u32>(0).ok(), Some(i), "order");
    }
    m.close();
}

/// Acks both ways: the server's answers (one value, several, none, a struct), a client ack
/// timeout, the client's answer to the server's request, and the server's timeout when the
/// client does not answer.
pub async fn acks(target: Target, t: Transports) {
    let (m, s) = target.connect("/", t).await;
    let v: i64 = within(STEP, s.emit_with_ack("echo", 123))
        .await
        .expect("echo");
    assert_eq!(v, 123);
    let (a, b, c): (String, i64, bool) = within(STEP, s.emit_with_ack("ack", ("a", 1, true)))
        .await
        .expect("ack");
    assert_eq!((a.as_str(), b, c), ("a", 1, true));
    let () = within(STEP, s.emit_with_ack("ack", ()))
        .await
        .expect("empty ack");
    let none: Option<String> = within(STEP, s.emit_with_ack("ack", Value::Null))
        .await
        .expect("null ack");
    assert_eq!(none, None);
    let timed_out = within(
        STEP,
        s.timeout(Duration::from_millis(200))
            .emit_with_ack::<Value>("noAck", ()),
    )
    .await;
    assert!(matches!(timed_out, Err(Error::Timeout)), "{timed_out:?}");

    // The server asks, the listener answers.
    let mut asked = inbox::<(String, i64, bool)>("ask");
    let tx = asked.sender();
    s.on("ask", move |ev: Event| {
        let tx = tx.clone();
        async move {
            let (q, n): (String, i64) = ev.args().unwrap_or_default();
            let acked = ev.ack(("answer", 5, json!({"test": true}))).await.is_ok();
            let _ = tx.send((q, n, acked));
        }
    });
    let r: Value = within(
        STEP,
        s.emit_with_ack(
            "askForAck",
            json!({"timeout": 3000, "args": ["question", 7]}),
        ),
    )
    .await
    .expect("askForAck");
    assert_eq!(asked.next(STEP).await, ("question".to_string(), 7, true));
    assert_eq!(
        r,
        json!({"ok": true, "answer": ["answer", 5, {"test": true}]})
    );

    // Nobody answers `silent`: the server's own timeout fires.
    let mut silent = events(&s, "silent");
    let r: Value = within(
        STEP,
        s.emit_with_ack("askForAck", json!({"timeout": 100, "event": "silent"})),
    )
    .await
    .expect("askForAck");
    assert_eq!(r["ok"], json!(false), "{r}");
    assert!(silent.next(STEP).await.wants_ack());
    m.close();
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    bytes: Bytes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Nested {
    text: String,
    inner: Inner,
    list: (Bytes, String, Bytes),
}

/// Binary: buffers reach the server as binary (the server shows them as
/// `{"$binary": hex}`, which a list of numbers would not be), several and nested, both ways
/// and through acks.
pub async fn binary(target: Target, t: Transports) {
    let (m, s) = target.connect("/", t).await;
    let d: Value = within(
        STEP,
        s.emit_with_ack("describe", Bytes::from_static(b"asdfasdf")),
    )
    .await
    .expect("describe");
    assert_eq!(d, json!([{"$binary": "6173646661736466"}]));
    let nested = Nested {
        text: "nested".into(),
        inner: Inner {
            bytes: Bytes::from_static(&[1, 2, 3]),
        },
        list: (Bytes::from_static(&[4, 5]), "x".into(), Bytes::new()),
    };
    let d: Value = within(
        STEP,
        s.emit_with_ack("describe", (Bytes::from_static(&[0xff]), nested.clone())),
    )
    .await
    .expect("describe");
    assert_eq!(
        d,
        json!([{"$binary": "ff"}, {
            "text": "nested",
            "inner": {"bytes": {"$binary": "010203"}},
            "list": [{"$binary": "0405"}, "x", {"$binary": ""}],
        }])
    );

    // Received: through an ack and as an event.
    let expected = (
        Bytes::from_static(b"asdfasdf"),
        nested.clone(),
        "plain".to_string(),
    );
    let got: (Bytes, Nested, String) = within(STEP, s.emit_with_ack("getBinary", ()))
        .await
        .expect("getBinary");
    assert_eq!(got, expected);
    let mut data = events(&s, "binary-data");
    within(STEP, s.emit("getBinary", ())).await.expect("emit");
    let got: (Bytes, Nested, String) = data.next(STEP).await.args().expect("args");
    assert_eq!(got, expected);

    // Round trips, binary and text mixed.
    let mut back = events(&s, "echo-back");
    for i in 0..20u8 {
        match i % 2 {
            0 => {
                within(
                    STEP,
                    s.emit("echo", (i, Bytes::from(vec![i; usize::from(i)]))),
                )
                .await
            }
            _ => within(STEP, s.emit("echo", (i, "text"))).await,
        }
        .expect("emit");
    }
    let mut seen = Vec::new();
    for _ in 0..20 {
        let ev = back.next(STEP).await;
        let i = ev.arg::<u8>(0).expect("a number");
        match i % 2 {
            0 => assert_eq!(
                ev.arg::<Bytes>(1).ok(),
                Some(Bytes::from(vec![i; usize::from(i)]))
            ),
            _ => assert_eq!(ev.arg::<String>(1).ok().as_deref(), Some("text")),
        }
        seen.push(i);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..20).collect::<Vec<_>>(), "every echo, once");

    // Binary and text events from the server keep their order.
    let mut seq = events(&s, "seq");
    within(STEP, s.emit("emitBinaryThenText", ()))
        .await
        .expect("emit");
    let first = seq.next(STEP).await;
    assert_eq!(first.arg::<u8>(0).ok(), Some(1));
    assert_eq!(first.arg::<Bytes>(1).ok(), Some(Bytes::from_static(&[1])));
    assert_eq!(
        seq.next(STEP).await.arg::<String>(1).ok().as_deref(),
        Some("text")
    );
    #[derive(Deserialize)]
    struct Third {
        b: Bytes,
    }
    let third: (u8, Third) = seq.next(STEP).await.args().expect("third");
    assert_eq!((third.0, third.1.b), (3, Bytes::from_static(&[3, 3])));
    assert_eq!(
        seq.next(STEP).await.arg::<String>(1).ok().as_deref(),
        Some("end")
    );
    m.close();
}

/// Reconnection: the connection is cut (a loopback proxy in front of the server drops every
/// TCP connection); the socket disconnects with a transport reason, the manager reconnects
/// (`reconnect_attempt`, `reconnect`), the socket connects again with a new id and works.
pub async fn reconnection(target: Target, t: Transports) {
    let proxy = Proxy::start(target.addr).await;
    let m = target
        .builder(&proxy.url(), t)
        .reconnection_delay(Duration::from_millis(100))
        .reconnection_delay_max(Duration::from_millis(200))
        .build()
        .expect("manager");
    let mut manager_events = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    let first: String = ask(&s, "getId").await;
    proxy.cut_connections();
    let reason = down.next(STEP).await;
    assert!(
        matches!(
            reason,
            DisconnectReason::TransportClose | DisconnectReason::TransportError
        ),
        "{reason:?}"
    );
    next_manager_event(&mut manager_events, STEP, |e| {
        matches!(e, ManagerEvent::ReconnectAttempt(1))
    })
    .await;
    next_manager_event(&mut manager_events, STEP, |e| {
        matches!(e, ManagerEvent::Reconnect(_))
    })
    .await;
    up.next(STEP).await;
    let second: String = ask(&s, "getId").await;
    assert_ne!(first, second);
    assert_eq!(s.id().as_deref(), Some(second.as_str()));
    let v: String = within(STEP, s.emit_with_ack("echo", "after"))
        .await
        .expect("echo");
    assert_eq!(v, "after");
    m.close();
}

/// Server disconnect: `io server disconnect`, no reconnection, and `connect()` works again.
pub async fn server_disconnect(target: Target, t: Transports) {
    let m = target
        .builder(&target.url(), t)
        .reconnection_delay(Duration::from_millis(100))
        .build()
        .expect("manager");
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    within(STEP, s.emit("disconnectMe", ()))
        .await
        .expect("emit");
    assert_eq!(down.next(STEP).await, DisconnectReason::IoServerDisconnect);
    assert!(
        !s.active(),
        "a socket the server disconnected stays disconnected"
    );
    up.assert_quiet(Duration::from_millis(500)).await;
    within(STEP, s.connect()).await.expect("connect again");
    up.next(STEP).await;
    let v: String = within(STEP, s.emit_with_ack("echo", "back"))
        .await
        .expect("echo");
    assert_eq!(v, "back");
    m.close();
}
