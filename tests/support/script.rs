//! A scriptable Engine.IO v4 / Socket.IO v5 server with the polling -> websocket upgrade,
//! written by hand on a loopback listener (every byte under the test's control) and run on a
//! runtime of its own, so the client's runtime holds only the client's tasks.
//!
//! ```text
//! client ──► ScriptServer (127.0.0.1:random, own 1-worker runtime)
//!              handshake over polling (offers `upgrades:["websocket"]`) or websocket
//!              upgrade: `2probe` -> `3probe` (ProbeReply), `5` switches the session to the
//!              websocket; a GET pending at the switch (or idle for 100 ms while probing)
//!              gets a noop `6`, as engine.io does
//!              CONNECT -> ConnectReply; events acked per AckReply (echoing the arguments)
//!              pings every pingInterval; optional server-side ping timeout
//! ```
//!
//! **Script language.** Behaviour is changed at any moment in three ways:
//! - [`ScriptServer::act`]: a list of [`Act`]s applied at once to every live session;
//! - [`ScriptServer::on`]: a hook, `(When, acts, times)`: the acts are applied to the session
//!   at that moment of its life ([`When::Connect`] right after a namespace CONNECT is
//!   accepted, [`When::Probe`] when `2probe` arrives, before the answer, [`When::Upgrade`] when
//!   `5` arrives), for the next `times` sessions that reach it;
//! - server-wide settings: [`ProbeReply`], [`ConnectReply`], [`AckReply`], accepting new
//!   sessions or not ([`ScriptServer::restart`]), slow reads, the server-side heartbeat.
//!   [`ScriptServer::heal`] goes back to a well-behaved server.
//!
//! Events the server sends are numbered per socket: `42["s",{"k":SOCKET_ID,"n":SEQ}]` (text)
//! or `451-["b",{"k":..,"n":..},{"_placeholder":true,"num":0}]` + one attachment (binary),
//! so a client can check order and gaps per socket. [`ScriptServer::seen`] is what the server
//! saw ([`Seen`]); [`ScriptServer::open_connections`] counts its open TCP connections.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::hostile::{http_head, http_response, ws_frame, ws_text};
use crate::wire::{Head, Reader};

/// What the server does to a session ([`ScriptServer::act`], [`ScriptServer::on`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// `n` events to every connected socket of the session, numbered per socket; when
    /// `binary_every > 0`, every `binary_every`-th is a binary event (one attachment).
    Burst {
        /// How many events per socket.
        n: usize,
        /// One in that many is binary (0: none).
        binary_every: usize,
    },
    /// GETs are (true) or are no longer (false) answered; the pending one included.
    StallGet(bool),
    /// POSTs are (true) or are no longer (false) read and answered.
    StallPost(bool),
    /// Nothing is (true) or is again (false) written on the session's websocket.
    StallWs(bool),
    /// The next poll response is a head and half its body, then nothing: a GET that never
    /// ends (until the session ends or the client closes the connection).
    HalfGet,
    /// The next `gets` GETs and `posts` POSTs of the session are answered HTTP 502 (a POST's
    /// packets are then lost).
    Fail502 {
        /// GETs.
        gets: u32,
        /// POSTs.
        posts: u32,
    },
    /// Pings are (true) or are no longer (false) sent.
    Pinging(bool),
    /// The Engine.IO close packet `1`, then the session ends once it is delivered.
    Close,
    /// Every TCP connection of the session ends now: after a websocket close frame
    /// (`close_frame`), or with a TCP reset (SO_LINGER 0) and no goodbye.
    Reset {
        /// Send a websocket close frame first.
        close_frame: bool,
    },
    /// A Socket.IO DISCONNECT (`41`) for every socket of the session.
    Kick,
    /// This Engine.IO text packet, as it is (e.g. `42["e",1]`), on every live session.
    Text(String),
}

/// A moment in a session's life, for hooks ([`ScriptServer::on`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Right after a namespace CONNECT is accepted (its reply is queued first).
    Connect,
    /// When `2probe` arrives on the probe websocket, before it is answered.
    Probe,
    /// Right before `3probe` is written (after a [`ProbeReply::Delay`], if any); when the
    /// hook has acts, the server lets 2 ms pass so that a poll response they fill leaves
    /// first.
    ProbeAnswer,
    /// When `5` arrives: the session has just switched to the websocket.
    Upgrade,
}

/// How `2probe` is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeReply {
    /// `3probe` at once.
    Answer,
    /// `3probe` after a delay.
    Delay(Duration),
    /// Never (the probe websocket stays open).
    Never,
}

/// How a namespace CONNECT is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectReply {
    /// `40{"sid":..}`.
    Accept,
    /// `44{"message":"refused by script"}`.
    Refuse,
    /// `40{}`: a payload without `sid`.
    NoSid,
    /// No answer at all: the namespace stays connecting.
    Silent,
}

/// How an event asking for an ack is answered (the ack echoes the event's arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckReply {
    /// At once.
    Now,
    /// After a delay (if the session still lives).
    Late(Duration),
    /// Twice.
    Twice,
    /// Never.
    Never,
    /// First an ack for an id the client never used, then the right one.
    Stray,
}

/// What the server saw ([`ScriptServer::seen`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// A session opened.
    Opened {
        /// Engine.IO session id.
        sid: String,
        /// `polling` or `websocket`.
        transport: &'static str,
    },
    /// `2probe` arrived.
    Probed {
        /// Engine.IO session id.
        sid: String,
    },
    /// `3probe` was written.
    ProbeAnswered {
        /// Engine.IO session id.
        sid: String,
    },
    /// A poll (GET) was answered with that many packets (a noop counts).
    Polled {
        /// Engine.IO session id.
        sid: String,
        /// Packets in the body.
        packets: usize,
    },
    /// The session switched to the websocket.
    Upgraded {
        /// Engine.IO session id.
        sid: String,
    },
    /// A namespace CONNECT and its socket id (`None` when not accepted with one).
    Connect {
        /// Engine.IO session id.
        sid: String,
        /// Namespace.
        nsp: String,
        /// The socket id given.
        sock: Option<String>,
    },
    /// A client event on a connected socket.
    Event {
        /// Engine.IO session id.
        sid: String,
        /// The socket id.
        sock: String,
        /// Event name.
        name: String,
        /// Its arguments.
        args: Vec<Value>,
    },
    /// The client sent the close packet.
    ClientClosed {
        /// Engine.IO session id.
        sid: String,
    },
    /// The session ended (for any reason).
    Ended {
        /// Engine.IO session id.
        sid: String,
        /// Why.
        why: &'static str,
    },
}

/// The heartbeat and what the handshake offers.
#[derive(Debug, Clone, Copy)]
pub struct ScriptConfig {
    /// `pingInterval`.
    pub ping_interval: Duration,
    /// `pingTimeout`.
    pub ping_timeout: Duration,
    /// Offer `upgrades:["websocket"]` in polling handshakes.
    pub upgrades: bool,
    /// End a session whose ping gets no pong within `pingTimeout` (as engine.io does).
    pub server_timeout: bool,
    /// Speak as a socket.io 2 server: Engine.IO v3 (length-prefixed polling bodies, `b4`
    /// base64, a type byte before websocket binary, the client pings and the server answers;
    /// `Act::Pinging(false)` then stops the answers, and `server_timeout` does nothing) and
    /// Socket.IO protocol 4 (`/` connected unasked after the open, CONNECT answers without
    /// data, `?query` in a CONNECT's namespace, refusals as a string).
    pub legacy: bool,
}

impl Default for ScriptConfig {
    fn default() -> Self {
        ScriptConfig {
            ping_interval: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(300),
            upgrades: true,
            server_timeout: false,
            legacy: false,
        }
    }
}

#[derive(Debug, Clone)]
enum Out {
    Text(String),
    Binary(Vec<u8>),
}

#[derive(Debug)]
struct Rule {
    when: When,
    acts: Vec<Act>,
    times: u32,
}

#[derive(Debug, Clone)]
struct Settings {
    probe: ProbeReply,
    connect: ConnectReply,
    /// Per namespace, over `connect`.
    connect_for: HashMap<String, ConnectReply>,
    ack: AckReply,
    accepting: bool,
    slow_read: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            probe: ProbeReply::Answer,
            connect: ConnectReply::Accept,
            connect_for: HashMap::new(),
            ack: AckReply::Now,
            accepting: true,
            slow_read: None,
        }
    }
}

#[derive(Default)]
struct SessState {
    queue: VecDeque<Out>,
    /// The session runs over the websocket (opened there, or upgraded).
    websocket: bool,
    probing: bool,
    pinging: bool,
    stall_get: bool,
    stall_post: bool,
    stall_ws: bool,
    half_get: bool,
    fail_get: u32,
    fail_post: u32,
    closing: bool,
    ended: bool,
    close_frame: bool,
    /// (namespace, socket id) of the connected sockets.
    sockets: Vec<(String, String)>,
    seq: HashMap<String, u64>,
    ping_sent: Option<Instant>,
    pong_seen: bool,
}

struct Session {
    sid: String,
    st: Mutex<SessState>,
    changed: watch::Sender<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session {
    fn update<R>(&self, f: impl FnOnce(&mut SessState) -> R) -> R {
        let r = f(&mut lock(&self.st));
        self.changed.send_modify(|v| *v += 1);
        r
    }

    /// Waits until `ready` gives something.
    async fn wait<T>(&self, mut ready: impl FnMut(&mut SessState) -> Option<T>) -> T {
        let mut rx = self.changed.subscribe();
        loop {
            rx.borrow_and_update();
            if let Some(v) = ready(&mut lock(&self.st)) {
                return v;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    async fn ended(&self) {
        self.wait(|st| st.ended.then_some(())).await
    }
}

struct Shared {
    cfg: ScriptConfig,
    settings: Mutex<Settings>,
    hooks: Mutex<Vec<Rule>>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    seen: Mutex<Vec<Seen>>,
    seen_changed: watch::Sender<u64>,
    open: AtomicUsize,
    next_id: AtomicU64,
    epoch: watch::Sender<u64>,
}

impl Shared {
    fn report(&self, seen: Seen) {
        lock(&self.seen).push(seen);
        self.seen_changed.send_modify(|v| *v += 1);
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    fn session(&self, sid: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(sid).cloned()
    }

    /// Ends a session: every connection serving it closes.
    fn end(&self, sess: &Session, why: &'static str, close_frame: bool) {
        let first = sess.update(|st| {
            let first = !st.ended;
            st.ended = true;
            st.close_frame = close_frame;
            first
        });
        lock(&self.sessions).remove(&sess.sid);
        if first {
            self.report(Seen::Ended {
                sid: sess.sid.clone(),
                why,
            });
        }
    }

    /// The hooks for `when`, used up by one.
    fn hooks(&self, when: When) -> Vec<Act> {
        let mut out = Vec::new();
        for rule in lock(&self.hooks).iter_mut() {
            if rule.when == when && rule.times > 0 {
                rule.times -= 1;
                out.extend(rule.acts.iter().cloned());
            }
        }
        out
    }

    fn fire(&self, sess: &Session, when: When) {
        for act in self.hooks(when) {
            self.apply(sess, &act);
        }
    }

    fn apply(&self, sess: &Session, act: &Act) {
        match act {
            Act::Burst { n, binary_every } => sess.update(|st| {
                let sockets = st.sockets.clone();
                for (nsp, sock) in &sockets {
                    let prefix = nsp_prefix(nsp);
                    for _ in 0..*n {
                        let seq = st.seq.entry(sock.clone()).or_insert(0);
                        let n = *seq;
                        *seq += 1;
                        let tag = json!({"k": sock, "n": n});
                        if *binary_every > 0 && n % *binary_every as u64 == 0 {
                            st.queue.push_back(Out::Text(format!(
                                r#"451-{prefix}["b",{tag},{{"_placeholder":true,"num":0}}]"#
                            )));
                            st.queue.push_back(Out::Binary(n.to_be_bytes().to_vec()));
                        } else {
                            st.queue
                                .push_back(Out::Text(format!(r#"42{prefix}["s",{tag}]"#)));
                        }
                    }
                }
            }),
            Act::StallGet(b) => sess.update(|st| st.stall_get = *b),
            Act::StallPost(b) => sess.update(|st| st.stall_post = *b),
            Act::StallWs(b) => sess.update(|st| st.stall_ws = *b),
            Act::HalfGet => sess.update(|st| st.half_get = true),
            Act::Fail502 { gets, posts } => sess.update(|st| {
                st.fail_get += gets;
                st.fail_post += posts;
            }),
            Act::Pinging(b) => sess.update(|st| st.pinging = *b),
            Act::Close => sess.update(|st| {
                st.queue.push_back(Out::Text("1".into()));
                st.closing = true;
            }),
            Act::Reset { close_frame } => self.end(sess, "reset", *close_frame),
            Act::Text(text) => sess.update(|st| st.queue.push_back(Out::Text(text.clone()))),
            Act::Kick => sess.update(|st| {
                for (nsp, _) in std::mem::take(&mut st.sockets) {
                    st.queue
                        .push_back(Out::Text(format!("41{}", nsp_prefix(&nsp))));
                }
            }),
        }
    }

    fn new_session(self: &Arc<Self>, websocket: bool) -> Arc<Session> {
        let sid = format!("{}{}", if websocket { "w" } else { "p" }, self.next_id());
        let sess = Arc::new(Session {
            sid: sid.clone(),
            st: Mutex::new(SessState {
                websocket,
                pinging: true,
                ..SessState::default()
            }),
            changed: watch::channel(0).0,
        });
        lock(&self.sessions).insert(sid.clone(), sess.clone());
        self.report(Seen::Opened {
            sid,
            transport: if websocket { "websocket" } else { "polling" },
        });
        if self.cfg.legacy {
            // socket.io 2 connects `/` by itself; the client pings.
            self.on_socketio(&sess, "0");
            return sess;
        }
        // pings, and the server-side heartbeat
        let s = self.clone();
        let p = sess.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(s.cfg.ping_interval);
            ticker.tick().await;
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = p.ended() => return,
                }
                let timed_out = p.update(|st| {
                    if let (Some(at), false) = (st.ping_sent, st.pong_seen) {
                        if s.cfg.server_timeout && at.elapsed() >= s.cfg.ping_timeout {
                            return true;
                        }
                    }
                    if st.pinging && !st.closing {
                        st.queue.push_back(Out::Text("2".into()));
                        if st.ping_sent.is_none() || st.pong_seen {
                            st.ping_sent = Some(Instant::now());
                            st.pong_seen = false;
                        }
                    }
                    false
                });
                if timed_out {
                    s.end(&p, "server ping timeout", false);
                    return;
                }
            }
        });
        sess
    }

    fn handshake(&self, sid: &str, upgrades: bool) -> String {
        let upgrades: Vec<&str> = if upgrades { vec!["websocket"] } else { vec![] };
        let mut open = json!({
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": self.cfg.ping_interval.as_millis() as u64,
            "pingTimeout": self.cfg.ping_timeout.as_millis() as u64,
        });
        // Engine.IO v3 has no `maxPayload`.
        if !self.cfg.legacy {
            open["maxPayload"] = json!(1_000_000);
        }
        format!("0{open}")
    }

    /// A packet from the client; replies go to the session's queue.
    fn on_packet(self: &Arc<Self>, sess: &Arc<Session>, text: &str) {
        match text.as_bytes().first() {
            Some(b'2') => sess.update(|st| {
                // A socket.io 2 server that stopped "pinging" stops answering instead.
                if st.pinging || !self.cfg.legacy {
                    st.queue.push_back(Out::Text(format!("3{}", &text[1..])));
                }
            }),
            Some(b'3') => sess.update(|st| st.pong_seen = true),
            Some(b'1') => {
                self.report(Seen::ClientClosed {
                    sid: sess.sid.clone(),
                });
                self.end(sess, "client close packet", false);
            }
            Some(b'4') => self.on_socketio(sess, &text[1..]),
            _ => {}
        }
    }

    fn on_socketio(self: &Arc<Self>, sess: &Arc<Session>, packet: &str) {
        let Some(kind) = packet.chars().next() else {
            return;
        };
        let mut rest = &packet[1..];
        let mut nsp = "/";
        if rest.starts_with('/') {
            let end = rest.find(',').unwrap_or(rest.len());
            nsp = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or("");
        }
        // Protocol 4: a CONNECT's query rides in the namespace.
        let nsp = nsp.split('?').next().unwrap_or(nsp);
        let prefix = nsp_prefix(nsp);
        match kind {
            '0' => {
                let reply = {
                    let settings = lock(&self.settings);
                    settings
                        .connect_for
                        .get(nsp)
                        .copied()
                        .unwrap_or(settings.connect)
                };
                // socket.io 2 names a socket after the engine session, as the client does.
                let sock = (reply == ConnectReply::Accept).then(|| match (self.cfg.legacy, nsp) {
                    (true, "/") => sess.sid.clone(),
                    (true, _) => format!("{nsp}#{}", sess.sid),
                    (false, _) => format!("S{}", self.next_id()),
                });
                self.report(Seen::Connect {
                    sid: sess.sid.clone(),
                    nsp: nsp.to_owned(),
                    sock: sock.clone(),
                });
                if reply == ConnectReply::Silent {
                    return;
                }
                sess.update(|st| {
                    let text = match (&sock, reply) {
                        // Protocol 4: an answer without data, a refusal as a string.
                        (Some(sock), _) if self.cfg.legacy => {
                            st.sockets.retain(|(n, _)| n != nsp);
                            st.sockets.push((nsp.to_owned(), sock.clone()));
                            format!("40{prefix}")
                        }
                        (None, _) if self.cfg.legacy => {
                            format!(r#"44{prefix}"refused by script""#)
                        }
                        (Some(sock), _) => {
                            st.sockets.retain(|(n, _)| n != nsp);
                            st.sockets.push((nsp.to_owned(), sock.clone()));
                            format!("40{prefix}{}", json!({ "sid": sock }))
                        }
                        (None, ConnectReply::NoSid) => format!("40{prefix}{{}}"),
                        (None, _) => format!(r#"44{prefix}{{"message":"refused by script"}}"#),
                    };
                    st.queue.push_back(Out::Text(text));
                });
                if sock.is_some() {
                    self.fire(sess, When::Connect);
                }
            }
            '1' => sess.update(|st| st.sockets.retain(|(n, _)| n != nsp)),
            '2' => {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                let ack: Option<u64> = rest[..digits].parse().ok();
                let Ok(array) = serde_json::from_str::<Vec<Value>>(&rest[digits..]) else {
                    return;
                };
                let mut array = array.into_iter();
                let Some(name) = array.next().and_then(|v| v.as_str().map(str::to_owned)) else {
                    return;
                };
                let args: Vec<Value> = array.collect();
                let sock = lock(&sess.st)
                    .sockets
                    .iter()
                    .find(|(n, _)| n == nsp)
                    .map(|(_, s)| s.clone());
                let Some(sock) = sock else {
                    return; // not connected in that namespace: ignored
                };
                self.report(Seen::Event {
                    sid: sess.sid.clone(),
                    sock,
                    name,
                    args: args.clone(),
                });
                let Some(id) = ack else {
                    return;
                };
                let reply = format!("43{prefix}{id}{}", Value::Array(args));
                match self.settings().ack {
                    AckReply::Now => sess.update(|st| st.queue.push_back(Out::Text(reply))),
                    AckReply::Twice => sess.update(|st| {
                        st.queue.push_back(Out::Text(reply.clone()));
                        st.queue.push_back(Out::Text(reply));
                    }),
                    AckReply::Stray => sess.update(|st| {
                        st.queue.push_back(Out::Text(format!(
                            "43{prefix}{}[\"stray\"]",
                            id + 1_000_000
                        )));
                        st.queue.push_back(Out::Text(reply));
                    }),
                    AckReply::Never => {}
                    AckReply::Late(d) => {
                        let sess = sess.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(d).await;
                            sess.update(|st| {
                                if !st.ended {
                                    st.queue.push_back(Out::Text(reply));
                                }
                            });
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

fn nsp_prefix(nsp: &str) -> String {
    if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    }
}

/// The scriptable server; see the module docs. Dropping it stops it (its runtime with it).
pub struct ScriptServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    rt: Option<Runtime>,
}

impl std::fmt::Debug for ScriptServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ScriptServer {
    /// Starts a server on a free loopback port, on a runtime of its own (one worker). Callable
    /// from sync or async code.
    pub fn start(cfg: ScriptConfig) -> ScriptServer {
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| panic!("the script server cannot bind a loopback port: {e}"));
        let addr = std_listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the script server has no address: {e}"));
        std_listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("nonblocking: {e}"));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("script-server")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("the script server's runtime: {e}"));
        let shared = Arc::new(Shared {
            cfg,
            settings: Mutex::new(Settings::default()),
            hooks: Mutex::new(Vec::new()),
            sessions: Mutex::new(HashMap::new()),
            seen: Mutex::new(Vec::new()),
            seen_changed: watch::channel(0).0,
            open: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            epoch: watch::channel(0).0,
        });
        let s = shared.clone();
        rt.spawn(async move {
            let Ok(listener) = TcpListener::from_std(std_listener) else {
                return;
            };
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                s.open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(s.clone(), stream));
            }
        });
        ScriptServer {
            addr,
            shared,
            rt: Some(rt),
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Applies `acts` to every live session, in order.
    pub fn act(&self, acts: impl IntoIterator<Item = Act>) {
        let sessions: Vec<Arc<Session>> = lock(&self.shared.sessions).values().cloned().collect();
        for act in acts {
            for sess in &sessions {
                self.shared.apply(sess, &act);
            }
        }
    }

    /// Applies `acts` to the next `times` sessions reaching `when`.
    pub fn on(&self, when: When, acts: impl IntoIterator<Item = Act>, times: u32) {
        lock(&self.shared.hooks).push(Rule {
            when,
            acts: acts.into_iter().collect(),
            times,
        });
    }

    /// How `2probe` is answered from now on.
    pub fn set_probe(&self, reply: ProbeReply) {
        lock(&self.shared.settings).probe = reply;
    }

    /// How namespace CONNECTs are answered from now on (every namespace: the per-namespace
    /// replies are forgotten).
    pub fn set_connect(&self, reply: ConnectReply) {
        let mut settings = lock(&self.shared.settings);
        settings.connect = reply;
        settings.connect_for.clear();
    }

    /// How CONNECTs to `nsp` are answered from now on.
    pub fn set_connect_for(&self, nsp: &str, reply: ConnectReply) {
        lock(&self.shared.settings)
            .connect_for
            .insert(nsp.to_owned(), reply);
    }

    /// How acks are answered from now on.
    pub fn set_ack(&self, reply: AckReply) {
        lock(&self.shared.settings).ack = reply;
    }

    /// Reads at most 256 bytes per `delay` on every connection (`None`: full speed).
    pub fn set_slow_read(&self, delay: Option<Duration>) {
        lock(&self.shared.settings).slow_read = delay;
    }

    /// Whether new sessions are accepted (handshakes get HTTP 502 otherwise).
    pub fn set_accepting(&self, accepting: bool) {
        lock(&self.shared.settings).accepting = accepting;
    }

    /// A restart: every connection closes at once (no goodbye), every session is forgotten,
    /// and new sessions are accepted or not.
    pub fn restart(&self, accept_new: bool) {
        self.set_accepting(accept_new);
        let sessions: Vec<Arc<Session>> = lock(&self.shared.sessions)
            .drain()
            .map(|(_, s)| s)
            .collect();
        for sess in sessions {
            self.shared.end(&sess, "restart", false);
        }
        self.shared.epoch.send_modify(|v| *v += 1);
    }

    /// Back to a well-behaved server for what comes next: hooks cleared, settings to their
    /// defaults (new sessions accepted, probes answered, CONNECTs accepted, acks at once, full
    /// speed reads). Live sessions lose what only the server could end (stalled POSTs,
    /// pending 502s) and ping again, but keep what a client must detect by itself (a stalled
    /// GET or websocket, a half response): a client on such a session has to give up on it
    /// (ping timeout) and reconnect.
    pub fn heal(&self) {
        lock(&self.shared.hooks).clear();
        *lock(&self.shared.settings) = Settings::default();
        for sess in lock(&self.shared.sessions).values() {
            sess.update(|st| {
                st.stall_post = false;
                st.fail_get = 0;
                st.fail_post = 0;
                st.pinging = true;
            });
        }
    }

    /// Everything the server saw so far.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    /// Waits (up to `deadline`) until `pred` holds for what the server saw; returns whether it
    /// did.
    pub async fn wait_seen(
        &self,
        deadline: Duration,
        mut pred: impl FnMut(&[Seen]) -> bool,
    ) -> bool {
        let mut rx = self.shared.seen_changed.subscribe();
        let end = tokio::time::Instant::now() + deadline;
        loop {
            rx.borrow_and_update();
            if pred(&lock(&self.shared.seen)) {
                return true;
            }
            if tokio::time::timeout_at(end, rx.changed()).await.is_err() {
                return false;
            }
        }
    }

    /// How many events the server numbered for socket `sock` so far.
    pub fn sent(&self, sock: &str) -> u64 {
        lock(&self.shared.sessions)
            .values()
            .find_map(|s| lock(&s.st).seq.get(sock).copied())
            .unwrap_or(0)
    }

    /// Open TCP connections (any state).
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Live sessions.
    pub fn sessions(&self) -> usize {
        lock(&self.shared.sessions).len()
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

// ----- connections --------------------------------------------------------------------------

struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    let _open = OpenGuard(shared.clone());
    let (read, mut write) = stream.into_split();
    let settings = shared.clone();
    let mut reader = Reader::with_slow_read(read, move || lock(&settings.settings).slow_read);
    let mut epoch = shared.epoch.subscribe();
    epoch.borrow_and_update();
    let reset = tokio::select! {
        _ = epoch.changed() => true,
        reset = serve_requests(&shared, &mut reader, &mut write) => reset,
    };
    if reset {
        let _ = write.as_ref().set_zero_linger();
    }
}

/// Serves HTTP requests until the connection ends; true when it ends with a reset.
async fn serve_requests(
    shared: &Arc<Shared>,
    reader: &mut Reader,
    write: &mut OwnedWriteHalf,
) -> bool {
    loop {
        let head = match reader.head().await {
            Ok(Some(head)) => head,
            _ => return false,
        };
        if !head.path.starts_with("/socket.io/") {
            if write
                .write_all(&http_response(404, b"not found"))
                .await
                .is_err()
            {
                return false;
            }
            continue;
        }
        let transport = head.query.get("transport").map(String::as_str);
        let sid = head.query.get("sid").cloned();
        let accepting = shared.settings().accepting;
        match (transport, sid) {
            (Some("websocket"), sid) => {
                return serve_websocket(shared, head, sid, reader, write).await
            }
            (Some("polling"), None) if head.method == "GET" => {
                let response = if accepting {
                    let sess = shared.new_session(false);
                    let open = shared.handshake(&sess.sid, shared.cfg.upgrades);
                    let body = match shared.cfg.legacy {
                        true => legacy_body(&[Out::Text(open)]),
                        false => open,
                    };
                    http_response(200, body.as_bytes())
                } else {
                    http_response(502, b"Bad Gateway")
                };
                if write.write_all(&response).await.is_err() {
                    return false;
                }
            }
            (Some("polling"), Some(sid)) => {
                let len = head
                    .headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let Ok(body) = reader.body(len).await else {
                    return false;
                };
                let session = shared.session(&sid);
                let Some(sess) = session.filter(|s| !lock(&s.st).ended) else {
                    let unknown =
                        http_response(400, br#"{"code":1,"message":"Session ID unknown"}"#);
                    if write.write_all(&unknown).await.is_err() {
                        return false;
                    }
                    continue;
                };
                let go_on = if head.method == "POST" {
                    poll_post(shared, &sess, &body, reader, write).await
                } else {
                    poll_get(shared, &sess, reader, write).await
                };
                match go_on {
                    Next::KeepAlive => {}
                    Next::Close => return false,
                    Next::Reset => return true,
                }
            }
            _ => {
                if write
                    .write_all(&http_response(
                        400,
                        br#"{"code":3,"message":"Bad request"}"#,
                    ))
                    .await
                    .is_err()
                {
                    return false;
                }
            }
        }
    }
}

enum Next {
    KeepAlive,
    Close,
    Reset,
}

/// What a waiting GET does next.
enum GetStep {
    Body(Vec<Out>, bool),
    Noop,
    Ended,
}

fn polling_body(items: &[Out], legacy: bool) -> String {
    if legacy {
        return legacy_body(items);
    }
    let mut body = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push('\x1e');
        }
        match item {
            Out::Text(text) => body.push_str(text),
            Out::Binary(bytes) => {
                body.push('b');
                body.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
            }
        }
    }
    body
}

/// An Engine.IO v3 text body: `<length>:<packet>`, the length in UTF-16 code units (as
/// engine.io-parser 2 measures JavaScript strings), binary as `b4<base64>`.
fn legacy_body(items: &[Out]) -> String {
    let mut body = String::new();
    for item in items {
        let packet = match item {
            Out::Text(text) => text.clone(),
            Out::Binary(bytes) => format!(
                "b4{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            ),
        };
        body.push_str(&format!("{}:{packet}", packet.encode_utf16().count()));
    }
    body
}

/// The packets of an Engine.IO v3 text body (what `legacy_body` writes); stops at the first
/// malformed one.
fn legacy_packets(body: &str) -> Vec<String> {
    let mut packets = Vec::new();
    let mut rest = body;
    while let Some((len, tail)) = rest.split_once(':') {
        let Ok(units) = len.parse::<usize>() else {
            break;
        };
        let mut counted = 0;
        let end = tail
            .char_indices()
            .find(|(_, c)| {
                let done = counted >= units;
                counted += c.len_utf16();
                done
            })
            .map_or(tail.len(), |(i, _)| i);
        packets.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    packets
}

async fn poll_get(
    shared: &Arc<Shared>,
    sess: &Arc<Session>,
    reader: &mut Reader,
    write: &mut OwnedWriteHalf,
) -> Next {
    let failing = sess.update(|st| {
        if st.fail_get > 0 {
            st.fail_get -= 1;
            true
        } else {
            false
        }
    });
    if failing {
        return match write.write_all(&http_response(502, b"Bad Gateway")).await {
            Ok(()) => Next::KeepAlive,
            Err(_) => Next::Close,
        };
    }
    if lock(&sess.st).websocket {
        return match write
            .write_all(&http_response(
                400,
                br#"{"code":3,"message":"Bad request"}"#,
            ))
            .await
        {
            Ok(()) => Next::KeepAlive,
            Err(_) => Next::Close,
        };
    }
    let step = loop {
        let waited = tokio::select! {
            step = sess.wait(|st| {
                if st.ended {
                    return Some(GetStep::Ended);
                }
                if st.stall_get {
                    return None;
                }
                if st.websocket {
                    return Some(GetStep::Noop);
                }
                if st.queue.is_empty() {
                    return None;
                }
                let half = std::mem::take(&mut st.half_get);
                Some(GetStep::Body(st.queue.drain(..).collect(), half))
            }) => Some(step),
            () = reader.eof() => return Next::Close,
            () = tokio::time::sleep(Duration::from_millis(100)) => None,
        };
        match waited {
            Some(step) => break step,
            // engine.io: while upgrading, an idle pending GET gets a noop every 100 ms
            None => {
                let st = lock(&sess.st);
                if st.probing && !st.stall_get && st.queue.is_empty() && !st.ended {
                    break GetStep::Noop;
                }
            }
        }
    };
    let (items, half) = match step {
        GetStep::Ended => return Next::Reset,
        GetStep::Noop => (vec![Out::Text("6".into())], false),
        GetStep::Body(items, half) => (items, half),
    };
    let body = polling_body(&items, shared.cfg.legacy);
    shared.report(Seen::Polled {
        sid: sess.sid.clone(),
        packets: items.len(),
    });
    if half {
        let mut bytes = http_head(200, body.len() as u64);
        bytes.extend_from_slice(&body.as_bytes()[..body.len() / 2]);
        let _ = write.write_all(&bytes).await;
        tokio::select! {
            () = sess.ended() => return Next::Reset,
            () = reader.eof() => return Next::Close,
        }
    }
    let response = http_response(200, body.as_bytes());
    tokio::select! {
        r = write.write_all(&response) => if r.is_err() { return Next::Close },
        () = sess.ended() => return Next::Reset,
    }
    let closing = items.iter().any(|i| matches!(i, Out::Text(t) if t == "1"));
    if closing {
        shared.end(sess, "close packet delivered", false);
        return Next::Close;
    }
    Next::KeepAlive
}

async fn poll_post(
    shared: &Arc<Shared>,
    sess: &Arc<Session>,
    body: &[u8],
    reader: &mut Reader,
    write: &mut OwnedWriteHalf,
) -> Next {
    let failing = sess.update(|st| {
        if st.fail_post > 0 {
            st.fail_post -= 1;
            true
        } else {
            false
        }
    });
    if failing {
        return match write.write_all(&http_response(502, b"Bad Gateway")).await {
            Ok(()) => Next::KeepAlive,
            Err(_) => Next::Close,
        };
    }
    tokio::select! {
        ended = sess.wait(|st| (st.ended || !st.stall_post).then_some(st.ended)) => if ended { return Next::Reset },
        () = reader.eof() => return Next::Close,
    }
    let text = String::from_utf8_lossy(body);
    if shared.cfg.legacy {
        for packet in legacy_packets(&text) {
            shared.on_packet(sess, &packet);
        }
    } else {
        for segment in text.split('\x1e') {
            shared.on_packet(sess, segment);
        }
    }
    match write.write_all(&http_response(200, b"ok")).await {
        Ok(()) if !lock(&sess.st).ended => Next::KeepAlive,
        _ => Next::Close,
    }
}

async fn serve_websocket(
    shared: &Arc<Shared>,
    head: Head,
    sid: Option<String>,
    reader: &mut Reader,
    write: &mut OwnedWriteHalf,
) -> bool {
    let Some(key) = head.headers.get("sec-websocket-key") else {
        let _ = write.write_all(&http_response(400, b"no key")).await;
        return false;
    };
    // the session: a new one, or the polling session to upgrade
    let sess = match &sid {
        None if shared.settings().accepting => None,
        None => {
            let _ = write.write_all(&http_response(502, b"Bad Gateway")).await;
            return false;
        }
        Some(sid) => match shared.session(sid) {
            Some(sess) if !lock(&sess.st).websocket && !lock(&sess.st).ended => Some(sess),
            _ => {
                let _ = write
                    .write_all(&http_response(
                        400,
                        br#"{"code":1,"message":"Session ID unknown"}"#,
                    ))
                    .await;
                return false;
            }
        },
    };
    let accept = derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if write.write_all(response.as_bytes()).await.is_err() {
        return false;
    }
    let sess = match sess {
        None => {
            let sess = shared.new_session(true);
            let open = shared.handshake(&sess.sid, false);
            if write.write_all(&ws_text(&open)).await.is_err() {
                shared.end(&sess, "websocket closed", false);
                return false;
            }
            sess
        }
        Some(sess) => {
            match probe(shared, &sess, reader, write).await {
                Some(true) => {}
                Some(false) => {
                    sess.update(|st| st.probing = false);
                    return false;
                }
                None => return true,
            }
            sess
        }
    };
    websocket_session(shared, &sess, reader, write).await
}

/// The probe: `2probe` -> `3probe`, then `5`. Some(true): upgraded; Some(false): the probe
/// connection ended; None: the session ended (reset).
async fn probe(
    shared: &Arc<Shared>,
    sess: &Arc<Session>,
    reader: &mut Reader,
    write: &mut OwnedWriteHalf,
) -> Option<bool> {
    let mut answered = false;
    let mut answer_at: Option<tokio::time::Instant> = None;
    loop {
        let frame = tokio::select! {
            frame = reader.frame() => frame,
            () = sess.ended() => return None,
            () = async {
                match answer_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                answer_at = None;
                answered = true;
                if !answer_probe(shared, sess, write).await {
                    return Some(false);
                }
                continue;
            }
        };
        let payload = match frame {
            Ok(Some((0x1, payload))) => payload,
            Ok(Some((0x9, payload))) => {
                let _ = write.write_all(&ws_frame(0xA, &payload)).await;
                continue;
            }
            Ok(Some((0x8, _))) | Ok(None) | Err(_) => return Some(false),
            Ok(Some(_)) => continue,
        };
        match payload.as_slice() {
            b"2probe" if !answered && answer_at.is_none() => {
                shared.report(Seen::Probed {
                    sid: sess.sid.clone(),
                });
                shared.fire(sess, When::Probe);
                sess.update(|st| st.probing = true);
                match shared.settings().probe {
                    ProbeReply::Answer => {
                        answered = true;
                        if !answer_probe(shared, sess, write).await {
                            return Some(false);
                        }
                    }
                    ProbeReply::Delay(d) => answer_at = Some(tokio::time::Instant::now() + d),
                    ProbeReply::Never => {}
                }
            }
            b"5" if answered => {
                sess.update(|st| {
                    st.websocket = true;
                    st.probing = false;
                });
                shared.report(Seen::Upgraded {
                    sid: sess.sid.clone(),
                });
                shared.fire(sess, When::Upgrade);
                return Some(true);
            }
            _ => {}
        }
    }
}

/// Fires the `ProbeAnswer` hooks, then writes `3probe`; false when the write failed.
async fn answer_probe(
    shared: &Arc<Shared>,
    sess: &Arc<Session>,
    write: &mut OwnedWriteHalf,
) -> bool {
    let acts = shared.hooks(When::ProbeAnswer);
    if !acts.is_empty() {
        for act in &acts {
            shared.apply(sess, act);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ok = write.write_all(&ws_text("3probe")).await.is_ok();
    if ok {
        shared.report(Seen::ProbeAnswered {
            sid: sess.sid.clone(),
        });
    }
    ok
}

/// The session over its websocket; true when it ends with a reset.
async fn websocket_session(
    shared: &Arc<Shared>,
    sess: &Arc<Session>,
    reader: &mut Reader,
    write: &mut OwnedWriteHalf,
) -> bool {
    enum Step {
        Frame(io::Result<Option<(u8, Vec<u8>)>>),
        Send(Vec<Out>),
        Ended(bool),
    }
    loop {
        let step = tokio::select! {
            frame = reader.frame() => Step::Frame(frame),
            step = sess.wait(|st| {
                if st.ended {
                    return Some(Step::Ended(st.close_frame));
                }
                if st.stall_ws || st.queue.is_empty() {
                    return None;
                }
                Some(Step::Send(st.queue.drain(..).collect()))
            }) => step,
        };
        match step {
            Step::Frame(Ok(Some((0x1, payload)))) => {
                shared.on_packet(sess, &String::from_utf8_lossy(&payload));
            }
            Step::Frame(Ok(Some((0x9, payload)))) => {
                let _ = write.write_all(&ws_frame(0xA, &payload)).await;
            }
            Step::Frame(Ok(Some((0x8, _)))) | Step::Frame(Ok(None)) | Step::Frame(Err(_)) => {
                shared.end(sess, "websocket closed by the client", false);
                return false;
            }
            Step::Frame(Ok(Some(_))) => {}
            Step::Ended(close_frame) => {
                if close_frame {
                    let _ = write
                        .write_all(&ws_frame(0x8, &1000u16.to_be_bytes()))
                        .await;
                    return false;
                }
                return true;
            }
            Step::Send(items) => {
                let mut bytes = Vec::new();
                let mut closing = false;
                for item in &items {
                    match item {
                        Out::Text(text) => {
                            closing |= text == "1";
                            bytes.extend_from_slice(&ws_text(text));
                        }
                        // Engine.IO v3: the packet type byte (a message) first.
                        Out::Binary(b) if shared.cfg.legacy => {
                            bytes.extend_from_slice(&ws_frame(0x2, &[&[4], &b[..]].concat()))
                        }
                        Out::Binary(b) => bytes.extend_from_slice(&ws_frame(0x2, b)),
                    }
                }
                tokio::select! {
                    r = write.write_all(&bytes) => if r.is_err() {
                        shared.end(sess, "websocket write failed", false);
                        return false;
                    },
                    () = sess.ended() => return !lock(&sess.st).close_frame,
                }
                if closing {
                    let _ = write
                        .write_all(&ws_frame(0x8, &1000u16.to_be_bytes()))
                        .await;
                    shared.end(sess, "close packet delivered", false);
                    return false;
                }
            }
        }
    }
}
