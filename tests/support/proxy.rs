//! A loopback TCP proxy under the test's control, to inject network faults for real.
//!
//! ```text
//! client ──► Proxy (127.0.0.1:random) ──► upstream (the server)
//! ```
//!
//! - [`Mode::Pass`]: bytes flow both ways.
//! - [`Mode::Stall`]: no byte is forwarded either way, but every socket stays open (what a dead
//!   network path looks like: only a ping timeout notices). Bytes read while stalled are held
//!   and delivered, in order, when the mode goes back to `Pass`.
//! - [`Mode::Cut`]: every current connection is closed (both sides), and new connections are
//!   closed as soon as they are accepted, until the mode changes.
//! - [`Proxy::cut_connections`] closes the current connections and leaves the mode as it is, so
//!   with `Pass` the client can reconnect at once.
//! - [`Proxy::reset_connections`] does the same with a TCP reset (RST) towards the client
//!   instead of an orderly close (FIN): what a crashed middlebox or a NAT timeout looks like.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long the proxy may take to connect upstream before it gives up on a connection.
pub const UPSTREAM_CONNECT_DEADLINE: Duration = Duration::from_secs(5);

/// What the proxy does with bytes and connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward bytes both ways.
    Pass,
    /// Forward nothing, keep every socket open.
    Stall,
    /// Close every connection, current and new.
    Cut,
}

#[derive(Debug, Clone, Copy)]
struct State {
    mode: Mode,
    /// Connections accepted before the latest cut are closed.
    epoch: u64,
    /// The latest cut resets the client's side (RST) instead of closing it.
    reset: bool,
    /// The proxy was dropped.
    closed: bool,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicUsize,
    open: AtomicUsize,
}

/// A running proxy; dropping it closes the listener and every connection.
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    state: watch::Sender<State>,
    counters: Arc<Counters>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .field("upstream", &self.upstream)
            .field("mode", &self.mode())
            .finish()
    }
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port, in `Pass` mode.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = match TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(l) => l,
            Err(e) => panic!("the proxy cannot bind a loopback port: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("the proxy has no local address: {e}"),
        };
        let (state, _) = watch::channel(State {
            mode: Mode::Pass,
            epoch: 0,
            reset: false,
            closed: false,
        });
        let counters = Arc::new(Counters::default());
        let accept_task = tokio::spawn(accept_loop(
            listener,
            upstream,
            state.clone(),
            counters.clone(),
        ));
        Proxy {
            addr,
            upstream,
            state,
            counters,
            accept_task,
        }
    }

    /// The proxy's address (what the client connects to).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<proxy port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<proxy port><nsp>`
    pub fn url_for(&self, nsp: &str) -> String {
        format!("http://{}{}", self.addr, nsp)
    }

    /// The upstream address.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.state.borrow().mode
    }

    /// Sets the mode; `Cut` closes every current connection.
    pub fn set_mode(&self, mode: Mode) {
        self.state.send_modify(|s| {
            if mode == Mode::Cut {
                s.epoch += 1;
                s.reset = false;
            }
            s.mode = mode;
        });
    }

    /// Closes every current connection and keeps the mode.
    pub fn cut_connections(&self) {
        self.state.send_modify(|s| {
            s.epoch += 1;
            s.reset = false;
        });
    }

    /// Resets every current connection (RST to the client) and keeps the mode.
    pub fn reset_connections(&self) {
        self.state.send_modify(|s| {
            s.epoch += 1;
            s.reset = true;
        });
    }

    /// Connections accepted since the start.
    pub fn accepted(&self) -> usize {
        self.counters.accepted.load(Ordering::SeqCst)
    }

    /// Connections currently open (forwarding or stalled).
    pub fn open_connections(&self) -> usize {
        self.counters.open.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` connections were accepted in total, up to `deadline`.
    pub async fn wait_accepted(&self, n: usize, deadline: Duration) {
        let end = tokio::time::Instant::now() + deadline;
        while self.accepted() < n {
            if tokio::time::Instant::now() > end {
                panic!(
                    "the proxy accepted {} connections, not {n}, within {deadline:?}",
                    self.accepted()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until no connection is open any more, up to `deadline`.
    pub async fn wait_idle(&self, deadline: Duration) {
        let end = tokio::time::Instant::now() + deadline;
        while self.open_connections() > 0 {
            if tokio::time::Instant::now() > end {
                panic!(
                    "the proxy still has {} open connections after {deadline:?}",
                    self.open_connections()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.state.send_modify(|s| {
            s.closed = true;
            s.epoch += 1;
        });
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    state: watch::Sender<State>,
    counters: Arc<Counters>,
) {
    loop {
        let (client, _) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => {
                // e.g. too many open files: back off instead of spinning
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        let now = *state.borrow();
        if now.closed || now.mode == Mode::Cut {
            drop(client);
            continue;
        }
        let rx = state.subscribe();
        let counters = counters.clone();
        tokio::spawn(async move {
            counters.open.fetch_add(1, Ordering::SeqCst);
            handle(client, upstream, rx, now.epoch).await;
            counters.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Resolves when the connection of `epoch` must be closed.
async fn cut_signal(mut rx: watch::Receiver<State>, epoch: u64) {
    let _ = rx.wait_for(|s| s.closed || s.epoch != epoch).await;
}

async fn handle(client: TcpStream, upstream: SocketAddr, rx: watch::Receiver<State>, epoch: u64) {
    let connect = tokio::time::timeout(UPSTREAM_CONNECT_DEADLINE, TcpStream::connect(upstream));
    let server = tokio::select! {
        r = connect => match r {
            Ok(Ok(s)) => s,
            _ => return, // upstream down: close the client's connection
        },
        _ = cut_signal(rx.clone(), epoch) => return,
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = pump(&mut cr, &mut sw, rx.clone());
    let down = pump(&mut sr, &mut cw, rx.clone());
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = cut_signal(rx.clone(), epoch) => {}
    }
    if rx.borrow().reset {
        // SO_LINGER 0: closing sends RST instead of FIN; the write half must not shut down
        // (a FIN) on its drop first, so it is forgotten and the read half closes the socket.
        let _ = cw.as_ref().set_zero_linger();
        cw.forget();
        drop(cr);
    }
    // Dropping the halves closes both sockets.
}

/// Copies bytes from `r` to `w`, holding them while the proxy is stalled. Ends on EOF (after
/// shutting down `w`, so half-closes propagate) or on an error.
async fn pump(r: &mut OwnedReadHalf, w: &mut OwnedWriteHalf, mut rx: watch::Receiver<State>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if rx
            .wait_for(|s| s.mode != Mode::Stall || s.closed)
            .await
            .is_err()
        {
            return;
        }
        let n = match r.read(&mut buf).await {
            Ok(0) => {
                // a FIN is held like bytes while stalled
                if rx
                    .wait_for(|s| s.mode != Mode::Stall || s.closed)
                    .await
                    .is_ok()
                {
                    let _ = w.shutdown().await;
                }
                return;
            }
            Err(_) => return,
            Ok(n) => n,
        };
        if rx
            .wait_for(|s| s.mode != Mode::Stall || s.closed)
            .await
            .is_err()
        {
            return;
        }
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_secs(5);

    /// A TCP echo server on a loopback port.
    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn roundtrip(s: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
        s.write_all(msg).await.expect("write");
        let mut got = vec![0u8; msg.len()];
        tokio::time::timeout(D, s.read_exact(&mut got))
            .await
            .expect("echo in time")
            .expect("read");
        got
    }

    async fn expect_eof(s: &mut TcpStream) {
        let mut b = [0u8; 16];
        match tokio::time::timeout(D, s.read(&mut b))
            .await
            .expect("closed in time")
        {
            Ok(0) | Err(_) => {}
            Ok(n) => panic!("expected the connection to be closed, read {n} bytes"),
        }
    }

    #[tokio::test]
    async fn forwards_both_ways() {
        let proxy = Proxy::start(echo_server().await).await;
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"hello").await, b"hello");
        let big = vec![7u8; 200_000];
        assert_eq!(roundtrip(&mut s, &big).await, big);
        assert_eq!(proxy.accepted(), 1);
        assert_eq!(proxy.open_connections(), 1);
    }

    #[tokio::test]
    async fn stall_holds_bytes_and_keeps_sockets_open() {
        let proxy = Proxy::start(echo_server().await).await;
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"one").await, b"one");
        proxy.set_mode(Mode::Stall);
        s.write_all(b"two").await.expect("write while stalled");
        let mut b = [0u8; 3];
        // Nothing may come back while stalled (a bounded check of an absence).
        let r = tokio::time::timeout(Duration::from_millis(300), s.read(&mut b)).await;
        assert!(r.is_err(), "bytes went through a stalled proxy: {r:?}");
        assert_eq!(proxy.open_connections(), 1);
        proxy.set_mode(Mode::Pass);
        tokio::time::timeout(D, s.read_exact(&mut b))
            .await
            .expect("released in time")
            .expect("read");
        assert_eq!(&b, b"two");
    }

    #[tokio::test]
    async fn cut_closes_current_connections_and_refuses_new_ones() {
        let proxy = Proxy::start(echo_server().await).await;
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"x").await, b"x");
        proxy.set_mode(Mode::Cut);
        expect_eof(&mut s).await;
        proxy.wait_idle(D).await;
        // while cut, a new connection is closed at once
        let mut s2 = TcpStream::connect(proxy.addr())
            .await
            .expect("connect while cut");
        expect_eof(&mut s2).await;
        // back to pass: new connections work
        proxy.set_mode(Mode::Pass);
        let mut s3 = TcpStream::connect(proxy.addr())
            .await
            .expect("connect after cut");
        assert_eq!(roundtrip(&mut s3, b"back").await, b"back");
    }

    #[tokio::test]
    async fn cut_connections_keeps_accepting() {
        let proxy = Proxy::start(echo_server().await).await;
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"x").await, b"x");
        proxy.cut_connections();
        expect_eof(&mut s).await;
        assert_eq!(proxy.mode(), Mode::Pass);
        let mut s2 = TcpStream::connect(proxy.addr()).await.expect("reconnect");
        assert_eq!(roundtrip(&mut s2, b"y").await, b"y");
        assert_eq!(proxy.accepted(), 2);
    }

    #[tokio::test]
    async fn cut_while_stalled_closes() {
        let proxy = Proxy::start(echo_server().await).await;
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"x").await, b"x");
        proxy.set_mode(Mode::Stall);
        s.write_all(b"held").await.expect("write");
        proxy.set_mode(Mode::Cut);
        expect_eof(&mut s).await;
    }

    #[tokio::test]
    async fn upstream_down_closes_client() {
        // bind then drop a listener to get a port that refuses connections
        let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let dead = l.local_addr().expect("addr");
        drop(l);
        let proxy = Proxy::start(dead).await;
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        expect_eof(&mut s).await;
    }

    #[tokio::test]
    async fn drop_closes_everything() {
        let proxy = Proxy::start(echo_server().await).await;
        let addr = proxy.addr();
        let mut s = TcpStream::connect(addr).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"x").await, b"x");
        drop(proxy);
        expect_eof(&mut s).await;
    }
}
