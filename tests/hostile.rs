//! Hostile and broken servers (issue 3): a real server on loopback (the hand-written
//! `HostileServer` of the support, speaking just enough Engine.IO v4 over websocket and HTTP
//! long-polling) gets the client connected, then misbehaves: it stops pinging, stalls
//! mid-frame, closes mid-binary-event, sends garbage, an oversized frame, thousands of
//! attachments, or answers the handshake like an Engine.IO v2/v3 server.
//!
//! Every scenario must end with a clear error or disconnect reason, without a panic (counted
//! on the worker threads) or a hang (every wait has a deadline), and the client must be able
//! to connect again afterwards. Where memory could grow (an oversized frame, thousands of
//! attachments announced), the client must give up at the header: the server sends nothing
//! more and sees the client close, with a heartbeat too slow to close it instead.

use std::time::{Duration, Instant};

use ferrio::{
    DisconnectReason, Error, Manager, ManagerBuilder, ManagerEvent, ServerVersion, TransportKind,
};
use ferrio_suite::hostile::{
    http_head, http_response, ws_frame, ws_header, ws_text, Act, Opening, Seen,
};
use ferrio_suite::*;

/// The two transports the hostile server speaks (it offers no upgrade).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Websocket,
    Polling,
}

/// Expands each `async fn NAME(w: Wire)` into `NAME::websocket` and `NAME::polling`.
macro_rules! both_wires {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                super::$scenario(super::Wire::Websocket).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                super::$scenario(super::Wire::Polling).await
            }
        }
    )*};
}

both_wires!(
    connects_and_echoes,
    a_server_that_stops_pinging_gives_a_ping_timeout_then_reconnects,
    a_server_that_stalls_mid_frame_gives_a_ping_timeout_then_reconnects,
    a_close_mid_binary_event_delivers_nothing_and_reconnects_clean,
    garbage_ends_the_connection_with_a_clear_reason,
    an_oversized_frame_is_refused_at_its_header,
    thousands_of_attachments_are_refused_at_the_header,
    a_length_prefixed_handshake_is_a_legacy_server,
    a_legacy_server_is_not_retried_until_the_connect_timeout,
    odd_handshake_values_connect_or_fail_cleanly,
);

/// A manager for the hostile server over `w`, with a quick reconnection.
fn client(server: &HostileServer, w: Wire) -> ManagerBuilder {
    let kind = match w {
        Wire::Websocket => TransportKind::Websocket,
        Wire::Polling => TransportKind::Polling,
    };
    Manager::builder(server.url())
        .transports(&[kind])
        .reconnection_delay(Duration::from_millis(50))
        .reconnection_delay_max(Duration::from_millis(200))
        .randomization_factor(0.0)
}

fn build(b: ManagerBuilder) -> Manager {
    b.build().expect("manager")
}

/// The server's next `Connect` (a namespace CONNECT it answered).
async fn next_connect(seen: &mut Inbox<Seen>) -> Seen {
    seen.next_matching(STEP, |s| matches!(s, Seen::Connect { .. }))
        .await
}

async fn echo(s: &ferrio::Socket, v: i64) {
    let got: i64 = within_for(STEP, "an echo", s.emit_with_ack("echo", v))
        .await
        .expect("echo");
    assert_eq!(got, v);
}

/// A slow heartbeat: a client that waits for more data instead of giving up would hang past
/// every deadline instead of being rescued by a ping timeout.
async fn slow_heartbeat_server() -> HostileServer {
    HostileServer::start_with(Duration::from_secs(20), Duration::from_secs(20)).await
}

fn is_transport_failure(r: DisconnectReason) -> bool {
    matches!(
        r,
        DisconnectReason::TransportClose | DisconnectReason::TransportError
    )
}

// ---- the server works when it behaves -------------------------------------------------------

async fn connects_and_echoes(w: Wire) {
    let panics = PanicCounter::start();
    let server = HostileServer::start().await;
    let mut seen = server.seen();
    let m = build(client(&server, w));
    let s = within(STEP, m.socket("/").auth(json!({"token": "t"})).connect())
        .await
        .expect("connect");
    match next_connect(&mut seen).await {
        Seen::Connect { nsp, auth, .. } => {
            assert_eq!(nsp, "/");
            assert_eq!(auth, json!({"token": "t"}));
        }
        other => unreachable!("{other:?}"),
    }
    echo(&s, 1).await;
    // pings are answered
    seen.next_matching(STEP, |s| matches!(s, Seen::Pong { .. }))
        .await;
    // an event from the server
    let mut hi = events(&s, "hi");
    server.act([Act::Text(r#"42["hi",1,"two"]"#.into())]);
    let ev = hi.next(STEP).await;
    assert_eq!(ev.args::<(i64, String)>().expect("args"), (1, "two".into()));
    s.disconnect();
    m.close();
    panics.assert_none();
}

// ---- heartbeat --------------------------------------------------------------------------------

async fn a_server_that_stops_pinging_gives_a_ping_timeout_then_reconnects(w: Wire) {
    let panics = PanicCounter::start();
    let (interval, timeout) = (Duration::from_millis(300), Duration::from_millis(300));
    let server = HostileServer::start_with(interval, timeout).await;
    let m = build(client(&server, w));
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    let first = s.id();

    let stopped = Instant::now();
    server.act([Act::StopPinging]);
    let reason = down.next(STEP).await;
    let after = stopped.elapsed();
    assert_eq!(reason, DisconnectReason::PingTimeout);
    // The last ping came at most one interval before the order, and the client allows
    // pingInterval + pingTimeout after it: the timeout fires between `timeout` and
    // `interval + timeout` after the order (upper bound with a generous margin).
    assert!(
        after >= timeout.mul_f64(0.8),
        "a ping timeout {after:?} after the last ping was due"
    );
    assert!(
        after <= interval + timeout + Duration::from_millis(1500),
        "the ping timeout took {after:?} (pingInterval + pingTimeout = {:?})",
        interval + timeout
    );
    assert!(
        s.active(),
        "a ping timeout must leave the socket reconnecting"
    );
    next_manager_event(&mut evs, STEP, |e| {
        matches!(e, ManagerEvent::ReconnectAttempt(1))
    })
    .await;
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
    up.next(STEP).await;
    assert_ne!(s.id(), first);
    echo(&s, 2).await;
    s.disconnect();
    m.close();
    panics.assert_none();
}

async fn a_server_that_stalls_mid_frame_gives_a_ping_timeout_then_reconnects(w: Wire) {
    let panics = PanicCounter::start();
    let server = HostileServer::start().await;
    let m = build(client(&server, w));
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    let mut any = any_events(&s);

    let packet = format!(r#"42["big","{}"]"#, "x".repeat(200));
    let half = match w {
        // half a websocket frame
        Wire::Websocket => {
            let frame = ws_text(&packet);
            frame[..frame.len() / 2].to_vec()
        }
        // the head and half the body of the poll's response
        Wire::Polling => {
            let mut bytes = http_head(200, packet.len() as u64);
            bytes.extend_from_slice(&packet.as_bytes()[..packet.len() / 2]);
            bytes
        }
    };
    server.act([Act::Raw(half), Act::Stall]);
    assert_eq!(down.next(STEP).await, DisconnectReason::PingTimeout);
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
    up.next(STEP).await;
    echo(&s, 3).await;
    any.assert_quiet(Duration::from_millis(1)).await;
    s.disconnect();
    m.close();
    panics.assert_none();
}

// ---- a binary event cut short ---------------------------------------------------------------

async fn a_close_mid_binary_event_delivers_nothing_and_reconnects_clean(w: Wire) {
    let panics = PanicCounter::start();
    let server = HostileServer::start().await;
    let m = build(client(&server, w));
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut bin = events(&s, "bin");
    let header = r#"452-["bin",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;

    for ending in [Act::Drop, Act::Close] {
        let mut down = disconnects(&s);
        // the header announces two attachments; one comes, then the server goes
        server.act([
            Act::Text(header.into()),
            Act::Binary(vec![1, 2, 3]),
            ending.clone(),
        ]);
        let reason = down.next(STEP).await;
        assert!(is_transport_failure(reason), "{ending:?}: {reason:?}");
        next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
        up.next(STEP).await;
        assert!(
            bin.drain().is_empty(),
            "{ending:?}: an incomplete binary event was delivered"
        );
        // the half-received packet is gone: a new session decodes from a clean state
        server.act([
            Act::Text(header.into()),
            Act::Binary(vec![4]),
            Act::Binary(vec![5, 6]),
        ]);
        let ev = bin.next(STEP).await;
        let (a, b): (bytes::Bytes, bytes::Bytes) = ev.args().expect("two buffers");
        assert_eq!((&a[..], &b[..]), (&[4u8][..], &[5u8, 6][..]), "{ending:?}");
        echo(&s, 4).await;
    }
    s.disconnect();
    m.close();
    panics.assert_none();
}

// ---- garbage ----------------------------------------------------------------------------------

/// Garbage, and the disconnect reasons that describe it clearly.
fn garbage(w: Wire) -> Vec<(&'static str, Vec<Act>, &'static [DisconnectReason])> {
    use DisconnectReason::{ParseError, TransportClose, TransportError};
    let mut cases: Vec<(&'static str, Vec<Act>, &'static [DisconnectReason])> = vec![
        (
            "an unknown Engine.IO packet type",
            vec![Act::Text("9garbage".into())],
            &[ParseError],
        ),
        (
            "an unknown Socket.IO packet type",
            vec![Act::Text("4garbage".into())],
            &[ParseError],
        ),
        (
            "invalid JSON",
            vec![Act::Text(r#"42["event",{"a":"#.into())],
            &[ParseError],
        ),
        (
            "an event that is not an array",
            vec![Act::Text(r#"42{"event":1}"#.into())],
            &[ParseError],
        ),
        (
            "an ack without an id",
            vec![Act::Text(r#"43["x"]"#.into())],
            &[ParseError],
        ),
        (
            "an attachment nobody announced",
            vec![Act::Binary(vec![0xde, 0xad])],
            &[ParseError],
        ),
        (
            "an empty Engine.IO packet",
            vec![Act::Text(String::new())],
            &[ParseError],
        ),
    ];
    match w {
        Wire::Websocket => cases.extend([
            (
                "a text frame that is not UTF-8",
                vec![Act::Raw(ws_frame(0x1, &[b'4', b'2', 0xff, 0xfe, 0xfd]))],
                &[TransportError, ParseError][..],
            ),
            (
                "a frame with a reserved opcode",
                vec![Act::Raw(ws_frame(0x3, b"42[\"x\"]"))],
                &[TransportError, ParseError][..],
            ),
            (
                "a masked frame from the server",
                vec![Act::Raw(vec![0x81, 0x82, 1, 2, 3, 4, b'4' ^ 1, b'2' ^ 2])],
                &[TransportError, ParseError][..],
            ),
            (
                "a frame with its reserved bits set",
                vec![Act::Raw(vec![0xf1, 0x02, b'4', b'2'])],
                &[TransportError, ParseError][..],
            ),
        ]),
        Wire::Polling => cases.extend([
            (
                "a body that is not UTF-8",
                vec![Act::Raw(http_response(200, &[b'4', b'2', 0xff, 0xfe]))],
                &[TransportError, ParseError][..],
            ),
            (
                "a binary segment that is not base64",
                vec![Act::Text("b!!not base64!!".into())],
                &[TransportError, ParseError][..],
            ),
            (
                "an HTTP error status",
                vec![Act::Raw(http_response(500, b"oops"))],
                &[TransportError, TransportClose][..],
            ),
            (
                "bytes that are not HTTP",
                vec![Act::Raw(b"\x00\x01\x02 not http at all\r\n\r\n".to_vec())],
                &[TransportError, TransportClose][..],
            ),
        ]),
    }
    cases
}

async fn garbage_ends_the_connection_with_a_clear_reason(w: Wire) {
    let panics = PanicCounter::start();
    let server = HostileServer::start().await;
    let mut failures = Vec::new();
    for (what, acts, reasons) in garbage(w) {
        let m = build(client(&server, w).reconnection(false));
        let s = within(STEP, m.socket("/").connect())
            .await
            .expect("connect");
        let mut down = disconnects(&s);
        let mut any = any_events(&s);
        server.act(acts);
        match down.try_next(STEP).await {
            Some(r) if reasons.contains(&r) => {}
            other => failures.push(format!("{what}: {other:?}, expected one of {reasons:?}")),
        }
        assert!(!s.connected(), "{what}: still connected");
        assert!(any.drain().is_empty(), "{what}: garbage reached a listener");
        // the same client connects again
        within_for(STEP, format!("a new connection after {what}"), s.connect())
            .await
            .expect("connect again");
        echo(&s, 5).await;
        m.close();
    }
    assert!(
        failures.is_empty(),
        "unclear endings:\n{}",
        failures.join("\n")
    );
    panics.assert_none();
}

// ---- sizes that must not turn into memory ---------------------------------------------------

async fn an_oversized_frame_is_refused_at_its_header(w: Wire) {
    const MAX: usize = 64 * 1024;
    let panics = PanicCounter::start();
    let server = slow_heartbeat_server().await;
    let mut seen = server.seen();
    let m = build(client(&server, w).max_payload(MAX));
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut big = events(&s, "big");

    // a whole message over the limit
    let packet = format!(r#"42["big","{}"]"#, "x".repeat(4 * MAX));
    let whole = match w {
        Wire::Websocket => Act::Text(packet),
        Wire::Polling => Act::Raw(http_response(200, packet.as_bytes())),
    };
    // a header announcing a terabyte, and a few bytes of it: the client must refuse it at
    // once, without waiting for (or reserving room for) the rest
    let announced = 1u64 << 40;
    let mut header = match w {
        Wire::Websocket => ws_header(0x1, announced),
        Wire::Polling => http_head(200, announced),
    };
    header.extend_from_slice(b"42[\"big\",\"");
    if w == Wire::Polling {
        // the polling client reads the body up to its limit: give it more than that
        header.extend(std::iter::repeat_n(b'x', 3 * MAX));
    }

    for (what, act) in [
        ("a whole message", whole),
        ("a huge header", Act::Raw(header)),
    ] {
        let mut down = disconnects(&s);
        server.act([act]);
        let reason = down.next(STEP).await;
        assert!(
            is_transport_failure(reason) || reason == DisconnectReason::ParseError,
            "{what}: {reason:?}"
        );
        seen.next_matching(STEP, |s| matches!(s, Seen::Closed { .. }))
            .await;
        next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
        up.next(STEP).await;
        echo(&s, 6).await;
    }
    assert!(big.drain().is_empty(), "an oversized message was delivered");
    s.disconnect();
    m.close();
    panics.assert_none();
}

async fn thousands_of_attachments_are_refused_at_the_header(w: Wire) {
    let panics = PanicCounter::start();
    let server = slow_heartbeat_server().await;
    let mut seen = server.seen();
    let m = build(client(&server, w));
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut down = disconnects(&s);
    let mut flood = events(&s, "flood");
    let sid = match seen.next(STEP).await {
        Seen::Opened { sid, .. } => sid,
        other => panic!("expected the session first, got {other:?}"),
    };

    // 50,000 attachments announced; none is ever sent
    server.act([Act::Text(
        r#"4550000-["flood",{"_placeholder":true,"num":0}]"#.into(),
    )]);
    assert_eq!(down.next(STEP).await, DisconnectReason::ParseError);
    // the client closed the session on the header alone: nothing was waiting to be buffered
    seen.next_matching(
        STEP,
        |e| matches!(e, Seen::Closed { sid: closed } if *closed == sid),
    )
    .await;
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
    up.next(STEP).await;
    echo(&s, 7).await;

    // at the cap (10, socket.io's maxAttachments) a binary event still goes through
    let mut header = String::from(r#"4510-["flood""#);
    for i in 0..10 {
        header.push_str(&format!(r#",{{"_placeholder":true,"num":{i}}}"#));
    }
    header.push(']');
    let mut acts = vec![Act::Text(header)];
    acts.extend((0..10u8).map(|i| Act::Binary(vec![i])));
    server.act(acts);
    let ev = flood.next(STEP).await;
    assert_eq!(ev.attachments().len(), 10);
    assert!(s.connected());
    s.disconnect();
    m.close();
    panics.assert_none();
}

// ---- odd handshakes ---------------------------------------------------------------------------

/// Handshake values a server may well send (a zero `maxPayload`, a heartbeat of zero) or a
/// broken one could (a heartbeat of `u64::MAX` ms, negative numbers, wrong types): each either
/// connects or fails with an error, without a panic, and the same client connects again once
/// the handshake is sane.
async fn odd_handshake_values_connect_or_fail_cleanly(w: Wire) {
    let cases = [
        json!({"maxPayload": 0}),
        json!({"maxPayload": u64::MAX}),
        json!({"pingInterval": 0, "pingTimeout": 0}),
        json!({"pingInterval": u64::MAX, "pingTimeout": u64::MAX}),
        json!({"pingInterval": u64::MAX, "pingTimeout": 1}),
        json!({"pingInterval": -1}),
        json!({"pingTimeout": 1.5e300}),
        json!({"upgrades": "websocket"}),
        json!({"sid": null}),
        json!({"sid": ""}),
    ];
    let server = HostileServer::start().await;
    let mut failures = Vec::new();
    for fields in cases {
        let panics = PanicCounter::start();
        server.set_handshake_fields(fields.clone());
        let m = build(client(&server, w).reconnection(false));
        let s = m.socket("/").build();
        let mut down = disconnects(&s);
        let r = within_for(STEP, format!("a connect with {fields}"), s.connect()).await;
        if r.is_ok() {
            // connected: it works, or (a zero heartbeat) ends at once with a reason
            let echoed = tokio::time::timeout(STEP, s.emit_with_ack::<i64>("echo", 1)).await;
            if !matches!(echoed, Ok(Ok(1))) {
                let reason = down.next(STEP).await;
                assert!(!s.connected(), "{fields}: {echoed:?}, then {reason:?}");
            }
        }
        if panics.count() > 0 {
            failures.push(format!("{fields}: a task panicked (connect gave {r:?})"));
        }
        server.set_handshake_fields(json!({}));
        if r.is_err() {
            // the same client connects once the handshake is sane
            match within_for(STEP, format!("a connect after {fields}"), s.connect()).await {
                Ok(()) => echo(&s, 10).await,
                Err(e) => failures.push(format!("{fields}: no connection afterwards: {e}")),
            }
        }
        m.close();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The error `connect()` returns names its cause once: a broken handshake, a refused port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_name_their_cause_once() {
    let server = HostileServer::start().await;
    server.set_handshake_fields(json!({"pingInterval": -1}));
    let refused = {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr");
        drop(l);
        format!("http://{addr}")
    };
    for (what, url, w) in [
        (
            "a broken handshake over polling",
            server.url(),
            Wire::Polling,
        ),
        (
            "a broken handshake over websocket",
            server.url(),
            Wire::Websocket,
        ),
        ("a refused port", refused, Wire::Websocket),
    ] {
        let m = build(
            Manager::builder(&url)
                .transports(&[match w {
                    Wire::Websocket => TransportKind::Websocket,
                    Wire::Polling => TransportKind::Polling,
                }])
                .reconnection(false),
        );
        let e = within(STEP, m.socket("/").connect())
            .await
            .expect_err("a failed connect");
        let text = e.to_string();
        assert_eq!(text.matches("transport error").count(), 1, "{what}: {text}");
        m.close();
    }
}

// ---- servers of an older protocol -----------------------------------------------------------
//
// A socket.io 2 server is spoken to (tests/legacy_v2.rs, against the real one); these are the
// cases where the client must not: a manager set to `ServerVersion::V3OrLater`.

fn assert_legacy(r: &ferrio::Result<()>, what: &str) {
    match r {
        Err(e @ Error::LegacyServer) => {
            let message = e.to_string();
            assert!(
                message.contains("socket.io 2.x") && message.contains("ServerVersion::V3OrLater"),
                "{what}: an unclear message: {message}"
            );
        }
        other => panic!("{what}: expected Error::LegacyServer, got {other:?}"),
    }
}

async fn a_length_prefixed_handshake_is_a_legacy_server(w: Wire) {
    let panics = PanicCounter::start();
    let server = HostileServer::start().await;
    server.set_opening(Opening::LengthPrefixed);
    let m = build(
        client(&server, w)
            .server_version(ServerVersion::V3OrLater)
            .reconnection(false),
    );
    let mut evs = m.events();
    let s = m.socket("/").build();
    let mut errors = connect_errors(&s);
    let r = within(STEP, s.connect()).await;
    assert_legacy(&r, "a length-prefixed handshake");
    let error = errors.next(STEP).await;
    assert!(error.message.contains("socket.io 2.x"), "{error:?}");
    next_manager_event(
        &mut evs,
        STEP,
        |e| matches!(e, ManagerEvent::Error(m) if m.contains("socket.io 2.x")),
    )
    .await;
    assert!(!s.connected());
    assert!(!s.active());
    // the server is upgraded: the same client connects
    server.set_opening(Opening::V4);
    within(STEP, s.connect())
        .await
        .expect("connect to a v4 server");
    echo(&s, 8).await;
    m.close();
    panics.assert_none();
}

/// With reconnection on, `connect()` still reports the legacy server at once, rather than
/// after the manager's 20 s timeout.
async fn a_legacy_server_is_not_retried_until_the_connect_timeout(w: Wire) {
    let panics = PanicCounter::start();
    let server = HostileServer::start().await;
    server.set_opening(Opening::LengthPrefixed);
    let m = build(client(&server, w).server_version(ServerVersion::V3OrLater));
    let r = within(STEP, m.socket("/").connect()).await;
    assert_legacy(&r.map(|_| ()), "with reconnection on");
    m.close();
    panics.assert_none();
}

/// What a real socket.io 2 server sends over websocket: an Engine.IO v3 open packet, which
/// looks like a v4 one, then its unasked CONNECT of `/` without data (`40`). socket.io-client
/// reports "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client"
/// as a `connect_error`; ferrio, set to `ServerVersion::V3OrLater`, fails the connect with
/// `LegacyServer`, not a loop on parse errors (under `Auto` it opens a session in the 2.x
/// protocol instead: tests/legacy_v2.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socketio_v2_server_over_websocket_is_a_legacy_server() {
    let panics = PanicCounter::start();
    let server = HostileServer::start().await;
    server.set_opening(Opening::SocketIoV2);
    let m = build(
        client(&server, Wire::Websocket)
            .server_version(ServerVersion::V3OrLater)
            .reconnection(false),
    );
    let r = within(STEP, m.socket("/").connect()).await;
    assert_legacy(&r.map(|_| ()), "a socket.io 2 open over websocket");
    server.set_opening(Opening::V4);
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect to a v4 server");
    echo(&s, 9).await;
    m.close();
    panics.assert_none();
}

// ---- base64 text attachments over the websocket ---------------------------------------------

/// An attachment as `b<base64>` text over the websocket (what a server sends a client that
/// asked for base64 with `force_base64`; engine.io-parser reads it either way): delivered as
/// bytes. Invalid base64 there is a transport error, and the next connection is clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_text_attachments_over_the_websocket() {
    let panics = PanicCounter::start();
    let server = HostileServer::start().await;
    let m = build(client(&server, Wire::Websocket));
    let mut evs = m.events();
    let (s, mut up) = connect_watched(&m, "/").await;
    let mut bin = events(&s, "bin");
    let header = r#"451-["bin",{"_placeholder":true,"num":0}]"#;
    server.act([Act::Text(header.into()), Act::Text("bAQID".into())]);
    let ev = bin.next(STEP).await;
    assert_eq!(
        ev.arg::<bytes::Bytes>(0).expect("bytes"),
        bytes::Bytes::from_static(&[1, 2, 3])
    );

    let mut down = disconnects(&s);
    server.act([Act::Text(header.into()), Act::Text("b!not base64".into())]);
    let reason = down.next(STEP).await;
    assert!(is_transport_failure(reason), "{reason:?}");
    next_manager_event(&mut evs, STEP, |e| matches!(e, ManagerEvent::Reconnect(_))).await;
    up.next(STEP).await;
    assert!(bin.drain().is_empty(), "nothing from the broken packet");
    s.disconnect();
    m.close();
    panics.assert_none();
}
