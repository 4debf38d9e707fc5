//! Proxies (issue 13, point 1), against real proxy servers started on loopback by the support
//! (`support/proxy_servers.rs`: Debian's tinyproxy for HTTP `CONNECT`, microsocks for SOCKS5,
//! installed with apt-get when missing) and the Node peer:
//!
//! - every transport through each proxy, with credentials; the peer sees the client at the
//!   proxies' outgoing address (`127.0.0.3`) on every request, so nothing went around them;
//! - `https`/`wss` through a `CONNECT` tunnel (TLS to the server inside it), and `https://`
//!   proxies (TLS to the proxy: stunnel in front of tinyproxy), to plain and TLS servers, and
//!   one whose certificate is not trusted;
//! - the proxy from the environment (`HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, lower case), the
//!   builder winning over it, `no_proxy()` ignoring it;
//! - refused credentials: a clear error at once, then attempts only at the backoff's pace;
//! - a proxy that cuts its tunnels (killed), then comes back: the client reconnects;
//! - a proxy that answers garbage, or never answers: a clear error within the `timeout`.

#[path = "pki/mod.rs"]
mod pki;

use std::time::{Duration, Instant};

use ferrio::{Error, Manager, ManagerEvent, Socket};
use ferrio_suite::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const USER: &str = "ferrio";
const PASSWORD: &str = "s3cret-Pw_9";

/// Starts a proxy server, or says why not (one line) and returns `None`: the test then
/// returns, having tested nothing.
async fn http_proxy(auth: bool) -> Option<ProxyServer> {
    match ProxyServer::http(auth.then_some((USER, PASSWORD))).await {
        Ok(p) => Some(p),
        Err(e) => {
            proxy_servers::skip(&e);
            None
        }
    }
}

async fn socks_proxy(auth: bool) -> Option<ProxyServer> {
    match ProxyServer::socks5(auth.then_some((USER, PASSWORD))).await {
        Ok(p) => Some(p),
        Err(e) => {
            proxy_servers::skip(&e);
            None
        }
    }
}

fn with_auth(server: &ProxyServer) -> ferrio::Proxy {
    ferrio::Proxy::new(&server.url())
        .expect("proxy URL")
        .basic_auth(USER, PASSWORD)
}

/// The address the peer saw the socket's handshake from, and that of every request after it.
async fn seen_from(s: &Socket) -> Vec<String> {
    let mut seen = vec![server::handshake(s).await["address"]
        .as_str()
        .unwrap_or_default()
        .to_owned()];
    for r in server::request_log(s).await {
        seen.push(r["address"].as_str().unwrap_or_default().to_owned());
    }
    seen
}

fn through_proxy(seen: &[String]) -> bool {
    let proxy = ProxyServer::OUTGOING.to_string();
    !seen.is_empty() && seen.iter().all(|a| a.ends_with(&proxy))
}

/// Connects `/` over `t` through `proxy`, checks an ack, the settled transport, and that
/// every request the peer saw came from the proxy.
async fn round_trip(
    url: &str,
    t: Transports,
    proxy: ferrio::Proxy,
    extra: impl FnOnce(ferrio::ManagerBuilder) -> ferrio::ManagerBuilder,
) {
    let m = extra(builder(url, t).proxy(proxy.clone()))
        .build()
        .expect("manager");
    let (s, _up) = connect_watched(&m, "/").await;
    if t == Transports::PollingUpgrade {
        until(STEP, "the upgrade", || {
            matches!(m.transport(), Some(ferrio::TransportKind::Websocket))
        })
        .await;
    }
    let echoed: String = within(STEP, s.emit_with_ack("ack", "through the proxy"))
        .await
        .unwrap_or_else(|e| panic!("{t:?} via {proxy}: {e}"));
    assert_eq!(echoed, "through the proxy");
    assert_eq!(server::transport(&s).await, t.settled_transport(), "{t:?}");
    let seen = seen_from(&s).await;
    assert!(
        through_proxy(&seen),
        "{t:?} via {proxy}: the peer saw requests from {seen:?}"
    );
    s.disconnect();
    m.close();
}

async fn through_an_http_connect_proxy(t: Transports) {
    let Some(proxy) = http_proxy(true).await else {
        return;
    };
    let peer = shared_peer().await;
    round_trip(&peer.url(), t, with_auth(&proxy), |b| b).await;
}

async fn through_a_socks5_proxy(t: Transports) {
    let Some(proxy) = socks_proxy(true).await else {
        return;
    };
    let peer = shared_peer().await;
    // socks5h: the proxy resolves `localhost` itself.
    let url = format!("http://localhost:{}", peer.port());
    round_trip(&url, t, with_auth(&proxy), |b| b).await;
    // socks5: the name is resolved here, the proxy gets the address.
    let local_dns = ferrio::Proxy::new(&proxy.url_with_scheme("socks5"))
        .expect("proxy URL")
        .basic_auth(USER, PASSWORD);
    round_trip(&url, t, local_dns, |b| b).await;
}

/// `https`/`wss`: TLS to the server inside the proxy's tunnel (the proxy sees only bytes).
async fn tls_inside_the_tunnel(t: Transports) {
    let Some(proxy) = http_proxy(true).await else {
        return;
    };
    let pki = pki::pki(&["127.0.0.1", "localhost"]);
    let peer =
        NodePeer::start(PeerOptions::new().tls(pki.server_cert.clone(), pki.server_key.clone()))
            .await;
    let ca = pki.ca_pem.clone();
    round_trip(&peer.url(), t, with_auth(&proxy), move |b| {
        b.tls_root_certificate_pem(ca.as_bytes())
    })
    .await;
}

/// An `https://` proxy (TLS to the proxy, stunnel in front of tinyproxy), to a plain and to a
/// TLS server (TLS inside TLS); the proxy's certificate is checked with the manager's roots.
async fn through_an_https_proxy(t: Transports) {
    let pki = pki::pki(&["127.0.0.1", "localhost"]);
    let proxy = match ProxyServer::https(
        Some((USER, PASSWORD)),
        pki.server_cert.clone(),
        pki.server_key.clone(),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => {
            proxy_servers::skip(&e);
            return;
        }
    };
    let via = with_auth(&proxy);
    assert!(via.to_string().starts_with("https://"), "{via}");
    let ca = pki.ca_pem.clone();
    let peer = shared_peer().await;
    round_trip(&peer.url(), t, via.clone(), |b| {
        b.tls_root_certificate_pem(ca.as_bytes())
    })
    .await;
    let tls_peer =
        NodePeer::start(PeerOptions::new().tls(pki.server_cert.clone(), pki.server_key.clone()))
            .await;
    let ca = pki.ca_pem.clone();
    round_trip(&tls_peer.url(), t, via, move |b| {
        b.tls_root_certificate_pem(ca.as_bytes())
    })
    .await;
}

transport_matrix!(
    through_an_http_connect_proxy,
    through_a_socks5_proxy,
    tls_inside_the_tunnel,
    through_an_https_proxy
);

/// An `https://` proxy whose certificate the manager does not trust: a clear connect error
/// naming the proxy, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_proxy_with_an_untrusted_certificate_is_refused() {
    let pki = pki::pki(&["127.0.0.1"]);
    let proxy =
        match ProxyServer::https(None, pki.server_cert.clone(), pki.server_key.clone()).await {
            Ok(p) => p,
            Err(e) => {
                proxy_servers::skip(&e);
                return;
            }
        };
    let peer = shared_peer().await;
    let m = Manager::builder(peer.url())
        .proxy(ferrio::Proxy::new(&proxy.url()).expect("proxy URL"))
        .reconnection(false)
        .build()
        .expect("manager");
    let error = within(STEP, m.socket("/").connect())
        .await
        .expect_err("an untrusted proxy certificate");
    let text = error.to_string();
    assert!(
        text.contains(&proxy.url()) && text.to_lowercase().contains("certificate"),
        "{text}"
    );
    m.close();
}

/// The environment gives the proxy the way curl reads it; the builder's proxy and
/// `no_proxy()` win over it. This is the only test of the binary that reads the environment
/// (every other one sets its proxy on the builder, which then ignores the environment).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_gives_the_proxy_and_the_builder_wins() {
    let (Some(http), Some(socks)) = (http_proxy(false).await, socks_proxy(false).await) else {
        return;
    };
    let peer = shared_peer().await;
    const VARS: [&str; 8] = [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ];
    let saved: Vec<_> = VARS.iter().map(|v| (*v, std::env::var_os(v))).collect();
    let set = |pairs: &[(&str, &str)]| {
        for v in VARS {
            std::env::remove_var(v);
        }
        for (k, v) in pairs {
            std::env::set_var(k, v);
        }
    };
    // Which address the peer sees a new manager's client from, built under `pairs`.
    async fn seen_with(
        url: &str,
        configure: impl FnOnce(ferrio::ManagerBuilder) -> ferrio::ManagerBuilder,
    ) -> Vec<String> {
        let m = configure(builder(url, Transports::PollingUpgrade))
            .build()
            .expect("manager");
        let (s, _up) = connect_watched(&m, "/").await;
        let seen = seen_from(&s).await;
        s.disconnect();
        m.close();
        seen
    }
    let url = peer.url();

    set(&[("http_proxy", &http.url())]);
    let seen = seen_with(&url, |b| b).await;
    assert!(through_proxy(&seen), "http_proxy: seen from {seen:?}");

    set(&[("ALL_PROXY", &socks.url())]);
    let seen = seen_with(&url, |b| b).await;
    assert!(through_proxy(&seen), "ALL_PROXY: seen from {seen:?}");

    set(&[
        ("HTTP_PROXY", &http.url()),
        ("NO_PROXY", "example.com, 127.0.0.0/8"),
    ]);
    let seen = seen_with(&url, |b| b).await;
    assert!(!through_proxy(&seen), "NO_PROXY: seen from {seen:?}");

    // Only HTTPS_PROXY: an `http` URL is not concerned.
    set(&[("HTTPS_PROXY", &http.url())]);
    let seen = seen_with(&url, |b| b).await;
    assert!(
        !through_proxy(&seen),
        "HTTPS_PROXY for http: seen from {seen:?}"
    );

    set(&[("http_proxy", "http://127.0.0.1:1")]);
    let seen = seen_with(&url, |b| b.no_proxy()).await;
    assert!(!through_proxy(&seen), "no_proxy(): seen from {seen:?}");
    let direct = ferrio::Proxy::new(&socks.url()).expect("proxy URL");
    let seen = seen_with(&url, |b| b.proxy(direct)).await;
    assert!(
        through_proxy(&seen),
        "the builder's proxy: seen from {seen:?}"
    );

    set(&[("ALL_PROXY", "socks4://127.0.0.1:1")]);
    let refused = Manager::builder(&url).build();
    assert!(
        matches!(&refused, Err(Error::Config(m)) if m.contains("ALL_PROXY")),
        "{refused:?}"
    );

    for (k, v) in saved {
        match v {
            Some(v) => std::env::set_var(k, v),
            None => std::env::remove_var(k),
        }
    }
}

/// Wrong credentials: the first attempt fails with an error that says the proxy refused
/// them; with reconnection on, attempts follow the backoff (socket.io-client does the same
/// with any failed opening: a `connect_error` per attempt), never a storm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_a_clear_error_and_no_retry_storm() {
    let (Some(http), Some(socks)) = (http_proxy(true).await, socks_proxy(true).await) else {
        return;
    };
    let peer = shared_peer().await;
    for (server, wrong) in [
        (
            &http,
            ferrio::Proxy::new(&http.url())
                .expect("url")
                .basic_auth(USER, "wrong"),
        ),
        (&http, ferrio::Proxy::new(&http.url()).expect("url")),
        (
            &socks,
            ferrio::Proxy::new(&socks.url())
                .expect("url")
                .basic_auth(USER, "wrong"),
        ),
    ] {
        for t in [Transports::PollingOnly, Transports::WebsocketOnly] {
            let m = builder(&peer.url(), t)
                .proxy(wrong.clone())
                .reconnection_delay(Duration::from_millis(300))
                .reconnection_delay_max(Duration::from_millis(300))
                .randomization_factor(0.0)
                .build()
                .expect("manager");
            let mut events = m.events();
            let s = m.socket("/").build();
            let started = Instant::now();
            match within(STEP, s.connect()).await {
                Err(Error::Transport(message)) => assert!(
                    message.contains("credentials") || message.contains("user and password"),
                    "{server:?} {t:?}: {message}"
                ),
                other => panic!("{server:?} {t:?}: {other:?}"),
            }
            // Attempts at the backoff's pace: in 1.2 s, at most 1.2 / 0.3 = 4 of them.
            let window = Duration::from_millis(1200);
            let mut attempts = 0;
            let end = tokio::time::Instant::now() + window;
            while let Ok(Some(ev)) = tokio::time::timeout_at(end, events.recv()).await {
                if let ManagerEvent::ReconnectError(message) = ev {
                    assert!(
                        message.contains("credentials") || message.contains("user and password"),
                        "{message}"
                    );
                    attempts += 1;
                }
            }
            assert!(
                (1..=5).contains(&attempts),
                "{server:?} {t:?}: {attempts} attempts in {:?}",
                started.elapsed()
            );
            s.disconnect();
            m.close();
        }
    }
}

/// A proxy that dies cuts its tunnels: the client loses the connection, then reconnects
/// through the proxy once it is back on its port.
async fn a_cut_tunnel_reconnects(t: Transports) {
    for socks in [false, true] {
        let Some(mut proxy) = (if socks {
            socks_proxy(true).await
        } else {
            http_proxy(true).await
        }) else {
            return;
        };
        let peer = shared_peer().await;
        let m = builder(&peer.url(), t)
            .proxy(with_auth(&proxy))
            .reconnection_delay(Duration::from_millis(100))
            .reconnection_delay_max(Duration::from_millis(300))
            .build()
            .expect("manager");
        let (s, mut up) = connect_watched(&m, "/").await;
        if t == Transports::PollingUpgrade {
            until(STEP, "the upgrade", || {
                matches!(m.transport(), Some(ferrio::TransportKind::Websocket))
            })
            .await;
        }
        let mut down = disconnects(&s);
        let before = m.engine_id();
        proxy.stop().await;
        let reason = down.next(STEP).await;
        assert!(
            matches!(
                reason,
                ferrio::DisconnectReason::TransportClose | ferrio::DisconnectReason::TransportError
            ),
            "{t:?}: {reason:?}"
        );
        proxy.start_again().await.expect("the proxy restarts");
        up.next(Duration::from_secs(10)).await;
        assert_ne!(m.engine_id(), before, "a new session");
        let v: i64 = within(STEP, s.emit_with_ack("echo", 5))
            .await
            .expect("echo after the reconnection");
        assert_eq!(v, 5);
        assert!(
            through_proxy(&seen_from(&s).await),
            "{t:?}: reconnected around the proxy"
        );
        s.disconnect();
        m.close();
    }
}

transport_matrix!(a_cut_tunnel_reconnects);

/// A "proxy" that answers `answer` to whatever it is sent and closes (or answers nothing at
/// all, holding the connection, when `answer` is `None`).
async fn bad_proxy(answer: Option<&'static [u8]>) -> (String, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = l.accept().await {
            match answer {
                // Answers, then closes.
                Some(answer) => {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(answer).await;
                }
                None => held.push(s),
            }
        }
    });
    (url, task)
}

/// Garbage, an answer cut short, and silence: each a clear error within the manager's
/// `timeout`, no hang, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_answering_garbage_or_nothing_is_a_clear_error_in_time() {
    let peer = shared_peer().await;
    let timeout = Duration::from_secs(2);
    let cases: [(Option<&'static [u8]>, &str); 4] = [
        (Some(b"\x00\x01garbage\r\n\r\n"), "other than HTTP"),
        (Some(b"HTTP/1.1 200 OK\r\n"), "closed the connection"),
        (Some(b"HTTP/1.1 502 Bad Gateway\r\n\r\n"), "502"),
        (None, "no answer"),
    ];
    for (answer, expected) in cases {
        let (url, task) = bad_proxy(answer).await;
        for t in [Transports::PollingOnly, Transports::WebsocketOnly] {
            let m = builder(&peer.url(), t)
                .proxy(ferrio::Proxy::new(&url).expect("proxy URL"))
                .timeout(timeout)
                .reconnection(false)
                .build()
                .expect("manager");
            let started = Instant::now();
            let r = within(timeout + STEP, m.socket("/").connect()).await;
            match r {
                Err(Error::Transport(message)) => {
                    assert!(
                        message.contains(expected),
                        "{t:?}: {message:?}, not {expected:?}"
                    )
                }
                other => panic!("{t:?} ({expected}): {other:?}"),
            }
            assert!(started.elapsed() <= timeout + Duration::from_millis(500));
            m.close();
        }
        task.abort();
    }
}
