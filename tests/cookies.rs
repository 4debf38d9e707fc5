//! Cookies against the official Node server with engine.io's `cookie` option (`io=<engine id>`,
//! set on the handshake response): a `Cookie` header the application sets with
//! `extra_header` is sent together with the server's cookie, not replaced by it, on every
//! request after the handshake (polling, the websocket upgrade) and on the handshake of a
//! reconnection.
//!
//! engine.io (6.6) sets that cookie only on a polling handshake: a websocket-only connection
//! gets none (its handshake response is written by `ws` before engine.io adds the cookie), so
//! over websocket only the user's cookie is there to check, on each handshake.
//!
//! With `with_credentials(false)` (socket.io: `withCredentials`) the server's cookie is never
//! sent back: every request after the polling handshake, and the handshake of a reconnection,
//! carries the user's cookie alone, or no `Cookie` header at all.

use std::time::Duration;

use ferrio::TransportKind;
use ferrio_suite::*;
use serde_json::Value;

transport_matrix!(the_users_cookie_and_the_servers_cookie_go_together);

/// The `Cookie` header the peer saw on a request, `""` when there was none.
fn cookie(request: &Value) -> &str {
    request["cookie"].as_str().unwrap_or_default()
}

/// Waits for the connection to settle on its final transport (the upgrade, if any).
async fn settled(m: &ferrio::Manager, t: Transports) {
    if t == Transports::PollingUpgrade {
        until(STEP, "the upgrade", || {
            matches!(m.transport(), Some(TransportKind::Websocket))
        })
        .await;
    }
}

/// Checks every request the peer logged for this socket's engine connection after its
/// handshake: each carries the user's cookie, then the server's, once each.
async fn every_request_carries_both(s: &ferrio::Socket, t: Transports, engine: &str) {
    let log = server::request_log(s).await;
    match t {
        // the websocket handshake is the connection's only HTTP request, and it is the
        // handshake itself (the log starts after it)
        Transports::WebsocketOnly => assert!(log.is_empty(), "{log:?}"),
        Transports::PollingOnly => assert!(!log.is_empty()),
        Transports::PollingUpgrade => assert!(
            log.iter().any(|r| r["transport"] == "websocket"),
            "no upgrade request in {log:?}"
        ),
    }
    let want = format!("auth=abc; io={engine}");
    for r in &log {
        assert_eq!(cookie(r), want, "{t:?}: {r}");
    }
}

async fn the_users_cookie_and_the_servers_cookie_go_together(t: Transports) {
    let peer = NodePeer::start(PeerOptions::new().cookie("io")).await;
    let m = builder(&peer.url(), t)
        .extra_header("Cookie", "auth=abc")
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(100))
        .randomization_factor(0.0)
        .build()
        .expect("manager");
    let (s, mut up) = connect_watched(&m, "/").await;
    settled(&m, t).await;
    for i in 0..5 {
        within(STEP, s.emit("num", i)).await.expect("emit");
    }
    let _ = server::stats(&s).await;
    let first = m.engine_id().expect("engine id");

    // the handshake: the jar is still empty, so the user's cookie alone
    let hs = server::handshake(&s).await;
    assert_eq!(cookie(&hs), "auth=abc", "{t:?}: {hs}");
    every_request_carries_both(&s, t, &first).await;

    // the server closes the engine; the reconnection's handshake carries the cookie the
    // server set on the first connection, and the requests after it the new one
    within(STEP, s.emit("closeEngine", ())).await.expect("emit");
    up.next(STEP).await;
    settled(&m, t).await;
    for i in 0..5 {
        within(STEP, s.emit("num", i)).await.expect("emit");
    }
    let _ = server::stats(&s).await;
    let second = m.engine_id().expect("engine id");
    assert_ne!(first, second, "{t:?}: a new engine connection");
    let hs = server::handshake(&s).await;
    let want = match t {
        Transports::WebsocketOnly => "auth=abc".to_owned(),
        _ => format!("auth=abc; io={first}"),
    };
    assert_eq!(cookie(&hs), want, "{t:?}: {hs}");
    every_request_carries_both(&s, t, &second).await;

    s.disconnect();
    m.close();
}

/// With `with_credentials(false)`, no request carries the server's cookie: not the polling
/// requests after the handshake, not the upgrade, not the handshake of a reconnection. The
/// user's own `Cookie` header (when set) is still sent, as written.
async fn without_credentials(t: Transports, user_cookie: Option<&str>) {
    let peer = NodePeer::start(PeerOptions::new().cookie("io")).await;
    let mut b = builder(&peer.url(), t)
        .with_credentials(false)
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(100))
        .randomization_factor(0.0);
    if let Some(c) = user_cookie {
        b = b.extra_header("Cookie", c);
    }
    let m = b.build().expect("manager");
    let want = user_cookie.unwrap_or_default();
    let (s, mut up) = connect_watched(&m, "/").await;
    for round in 0..2 {
        settled(&m, t).await;
        for i in 0..5 {
            within(STEP, s.emit("num", i)).await.expect("emit");
        }
        let _ = server::stats(&s).await;
        let hs = server::handshake(&s).await;
        assert_eq!(cookie(&hs), want, "{t:?} round {round}: {hs}");
        let log = server::request_log(&s).await;
        assert!(!log.is_empty(), "{t:?} round {round}: no request logged");
        if t == Transports::PollingUpgrade {
            assert!(
                log.iter().any(|r| r["transport"] == "websocket"),
                "no upgrade request in {log:?}"
            );
        }
        for r in &log {
            assert_eq!(cookie(r), want, "{t:?} round {round}: {r}");
            assert!(!cookie(r).contains("io="), "{t:?} round {round}: {r}");
        }
        if round == 0 {
            // the server closes the engine: the reconnection's handshake must not carry the
            // cookie the server set on the first connection either
            within(STEP, s.emit("closeEngine", ())).await.expect("emit");
            up.next(STEP).await;
        }
    }
    s.disconnect();
    m.close();
}

mod without_credentials_the_servers_cookie_is_never_sent {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polling() {
        without_credentials(Transports::PollingOnly, Some("auth=abc")).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polling_without_a_user_cookie() {
        without_credentials(Transports::PollingOnly, None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn upgrade() {
        without_credentials(Transports::PollingUpgrade, Some("auth=abc")).await;
    }
}
