//! A hostile server: just enough Engine.IO v4 over HTTP long-polling and websocket (written by
//! hand on a loopback TCP listener, so every byte is under the test's control) to get a client
//! connected, then it misbehaves on command.
//!
//! ```text
//! client ──► HostileServer (127.0.0.1:random)
//!              handshake (v4, or an Engine.IO v2/v3 one, see Opening)
//!              answers pongs, namespace CONNECTs, and acks every event that asks for one
//!              with the event's own arguments (so `emit_with_ack("echo", x)` returns x)
//!              pings every pingInterval ... until told otherwise (Act)
//! ```
//!
//! - [`HostileServer::act`] hands a list of [`Act`]s to every open session, carried out in
//!   order: raw Engine.IO packets, binary messages, raw bytes (half a websocket frame, a broken
//!   HTTP response), no more pings, a stall, a close, an abrupt drop.
//! - [`HostileServer::seen`] reports what the server saw ([`Seen`]): sessions opened, namespace
//!   CONNECTs, events, pings sent, pongs, and the client closing its side.
//! - [`HostileServer::set_opening`] changes how the next handshakes are answered
//!   ([`Opening`]), e.g. like an Engine.IO v3 server; [`HostileServer::set_handshake_fields`]
//!   changes fields of the v4 handshake; [`HostileServer::lose_events`] loses client events.
//!
//! The server never upgrades (its handshake offers no upgrade): a client reaches it over
//! polling only or over websocket only. Dropping the server (or [`HostileServer::stop`]) ends
//! every task and closes every connection.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::wait::{inbox, Inbox, Outbox};
use crate::wire::{Head, Reader};

/// How the server answers a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Engine.IO v4, as a socket.io 3/4 server: `0{"sid":..,"upgrades":[],"pingInterval":..,
    /// "pingTimeout":..,"maxPayload":..}`.
    V4,
    /// Engine.IO v2/v3 framing: the length-prefixed payload `96:0{"sid":..}2:40` of a
    /// socket.io 2 server, as the polling body, or as one websocket text frame.
    LengthPrefixed,
    /// A socket.io 2 server over websocket: an Engine.IO v3 open packet (no `maxPayload`), then
    /// the CONNECT of `/` that socket.io 2 sends unasked, with no data (`40`). Over polling,
    /// the same as [`Opening::LengthPrefixed`].
    SocketIoV2,
}

/// A transport, as the server sees a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// Websocket.
    Websocket,
}

/// What the server does to its open sessions, on command ([`HostileServer::act`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// An Engine.IO text packet, type digit included (`42["ev",1]`, `2`, `9garbage`), framed
    /// for the transport: one websocket text frame, or one segment of a polling body.
    Text(String),
    /// A binary Engine.IO message (an attachment): a binary websocket frame, or `b<base64>`.
    Binary(Vec<u8>),
    /// Bytes written as they are. Websocket: straight onto the TCP stream (half a frame, a
    /// frame with invalid UTF-8...). Polling: the whole response to the pending (or next) GET,
    /// after which the server neither reads nor writes that HTTP connection again.
    Raw(Vec<u8>),
    /// No more pings (the session otherwise goes on).
    StopPinging,
    /// No more bytes at all, pings included; the connection stays open.
    Stall,
    /// The server closes the session: a websocket close frame, or the close packet `1` in the
    /// next poll response; then the connection closes.
    Close,
    /// The TCP connection(s) of the session close at once, without any goodbye.
    Drop,
}

/// What the server saw ([`HostileServer::seen`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// A session opened (the handshake was answered).
    Opened {
        /// The Engine.IO session id.
        sid: String,
        /// Its transport.
        transport: Transport,
    },
    /// A namespace CONNECT, answered with a new socket id.
    Connect {
        /// The Engine.IO session id.
        sid: String,
        /// The namespace.
        nsp: String,
        /// The CONNECT's auth payload (`null` without one).
        auth: Value,
    },
    /// An event from the client.
    Event {
        /// The Engine.IO session id.
        sid: String,
        /// The namespace.
        nsp: String,
        /// The event name.
        name: String,
        /// Its arguments.
        args: Vec<Value>,
    },
    /// The server sent a ping.
    Ping {
        /// The Engine.IO session id.
        sid: String,
    },
    /// The client answered a ping.
    Pong {
        /// The Engine.IO session id.
        sid: String,
    },
    /// The client closed its side: the close packet `1`, a websocket close frame, the end of
    /// its websocket's TCP stream, or the end of the HTTP connection that carried an
    /// [`Act::Raw`] response.
    Closed {
        /// The Engine.IO session id.
        sid: String,
    },
}

impl Seen {
    /// The Engine.IO session this is about.
    pub fn sid(&self) -> &str {
        match self {
            Seen::Opened { sid, .. }
            | Seen::Connect { sid, .. }
            | Seen::Event { sid, .. }
            | Seen::Ping { sid }
            | Seen::Pong { sid }
            | Seen::Closed { sid } => sid,
        }
    }
}

/// One open session, as the acceptor knows it.
struct SessionHandle {
    acts: mpsc::UnboundedSender<Act>,
    /// Polling sessions: the state the GET/POST handlers share.
    polling: Option<Arc<PollSession>>,
}

struct Shared {
    ping_interval: Duration,
    ping_timeout: Duration,
    max_payload: u64,
    opening: Mutex<Opening>,
    /// Fields that replace (or add to) those of the v4 handshake.
    handshake_fields: Mutex<serde_json::Map<String, Value>>,
    sessions: Mutex<HashMap<String, SessionHandle>>,
    subscribers: Mutex<Vec<Outbox<Seen>>>,
    /// How many of the next client events are lost (neither reported nor acked).
    lose: AtomicUsize,
    tasks: Mutex<Vec<AbortHandle>>,
    next_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn spawn(self: &Arc<Self>, fut: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(fut).abort_handle();
        let mut tasks = lock(&self.tasks);
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    fn report(&self, seen: Seen) {
        lock(&self.subscribers).retain(|tx| tx.send(seen.clone()).is_ok());
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn remove(&self, sid: &str) {
        lock(&self.sessions).remove(sid);
    }

    /// The handshake packet(s) for a new session.
    fn opening_packets(&self, sid: &str) -> (Opening, Vec<String>) {
        let opening = *lock(&self.opening);
        let packets = match opening {
            Opening::V4 => {
                let mut handshake = json!({
                    "sid": sid,
                    "upgrades": [],
                    "pingInterval": self.ping_interval.as_millis() as u64,
                    "pingTimeout": self.ping_timeout.as_millis() as u64,
                    "maxPayload": self.max_payload,
                });
                if let Value::Object(fields) = &mut handshake {
                    for (k, v) in lock(&self.handshake_fields).iter() {
                        fields.insert(k.clone(), v.clone());
                    }
                }
                vec![format!("0{handshake}")]
            }
            Opening::LengthPrefixed | Opening::SocketIoV2 => vec![
                format!(
                    "0{}",
                    json!({"sid": sid, "upgrades": [], "pingInterval": 25000, "pingTimeout": 5000})
                ),
                "40".to_owned(),
            ],
        };
        (opening, packets)
    }
}

/// The hostile server; see the module docs. Dropping it stops it.
pub struct HostileServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HostileServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileServer")
            .field("addr", &self.addr)
            .field("sessions", &self.sessions())
            .finish()
    }
}

impl HostileServer {
    /// Starts a server on a free loopback port with a fast heartbeat (pingInterval 300 ms,
    /// pingTimeout 300 ms) and a v4 handshake.
    pub async fn start() -> HostileServer {
        Self::start_with(Duration::from_millis(300), Duration::from_millis(300)).await
    }

    /// Starts a server announcing this heartbeat in its handshakes.
    pub async fn start_with(ping_interval: Duration, ping_timeout: Duration) -> HostileServer {
        let listener = match TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(l) => l,
            Err(e) => panic!("the hostile server cannot bind a loopback port: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("the hostile server has no address: {e}"),
        };
        let shared = Arc::new(Shared {
            ping_interval,
            ping_timeout,
            max_payload: 1_000_000,
            opening: Mutex::new(Opening::V4),
            handshake_fields: Mutex::new(serde_json::Map::new()),
            sessions: Mutex::new(HashMap::new()),
            subscribers: Mutex::new(Vec::new()),
            lose: AtomicUsize::new(0),
            tasks: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        });
        let s = shared.clone();
        shared.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let s2 = s.clone();
                s.spawn(serve_connection(s2, stream));
            }
        });
        HostileServer { addr, shared }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How the next handshakes are answered (v4 until changed).
    pub fn set_opening(&self, opening: Opening) {
        *lock(&self.shared.opening) = opening;
    }

    /// Sets fields of the next v4 handshakes, replacing the server's own (`pingInterval`,
    /// `maxPayload`, `sid`...): e.g. `json!({"pingInterval": u64::MAX})`. `null` values stay
    /// as `null`; an empty object goes back to the server's own handshake.
    pub fn set_handshake_fields(&self, fields: Value) {
        *lock(&self.shared.handshake_fields) = match fields {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
    }

    /// Loses the next `n` events the client sends (any session): they are neither reported
    /// nor acknowledged, as if they never arrived.
    pub fn lose_events(&self, n: usize) {
        self.shared.lose.store(n, Ordering::SeqCst);
    }

    /// Hands `acts` to every open session; each session carries them out in order.
    pub fn act(&self, acts: impl IntoIterator<Item = Act>) {
        let acts: Vec<Act> = acts.into_iter().collect();
        for session in lock(&self.shared.sessions).values() {
            for act in &acts {
                let _ = session.acts.send(act.clone());
            }
        }
    }

    /// What the server sees from now on.
    pub fn seen(&self) -> Inbox<Seen> {
        let ib = inbox("hostile server");
        lock(&self.shared.subscribers).push(ib.sender());
        ib
    }

    /// How many sessions are open.
    pub fn sessions(&self) -> usize {
        lock(&self.shared.sessions).len()
    }

    /// Stops the server: the listener and every connection close.
    pub fn stop(self) {}
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        for task in lock(&self.shared.tasks).drain(..) {
            task.abort();
        }
        for (_, session) in lock(&self.shared.sessions).drain() {
            if let Some(p) = session.polling {
                p.update(|st| st.dropped = true);
            }
        }
        lock(&self.shared.subscribers).clear();
    }
}

// ----- panics -----------------------------------------------------------------------------

static WORKER_PANICS: AtomicUsize = AtomicUsize::new(0);
static PANIC_HOOK: Once = Once::new();

/// Counts the panics of tokio worker threads (where the client's tasks run; a test's own
/// body runs on the test thread) from its creation on: a client task that panics dies
/// silently, and this makes it fail the test. The count is process-wide, so a panic in a
/// concurrent test of the same binary counts too (it is a bug either way).
#[derive(Debug)]
pub struct PanicCounter {
    start: usize,
}

impl PanicCounter {
    /// Installs the counting hook (once per process; the previous hook still prints) and
    /// starts counting.
    pub fn start() -> PanicCounter {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if std::thread::current().name() == Some("tokio-runtime-worker") {
                    WORKER_PANICS.fetch_add(1, Ordering::SeqCst);
                }
                previous(info);
            }));
        });
        PanicCounter {
            start: WORKER_PANICS.load(Ordering::SeqCst),
        }
    }

    /// How many worker threads panicked since [`PanicCounter::start`].
    pub fn count(&self) -> usize {
        WORKER_PANICS.load(Ordering::SeqCst) - self.start
    }

    /// Fails the test if a worker thread panicked.
    #[track_caller]
    pub fn assert_none(&self) {
        let n = self.count();
        assert_eq!(
            n, 0,
            "{n} task(s) panicked on a tokio worker thread (see above)"
        );
    }
}

// ----- bytes on the wire ------------------------------------------------------------------

/// One unmasked (server-to-client) websocket frame with FIN set.
pub fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = ws_header(opcode, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// The header of an unmasked websocket frame with FIN set announcing `len` payload bytes (the
/// payload is not included: a header can announce more than is ever sent).
pub fn ws_header(opcode: u8, len: u64) -> Vec<u8> {
    let mut out = vec![0x80 | (opcode & 0x0f)];
    if len < 126 {
        out.push(len as u8);
    } else if len <= u64::from(u16::MAX) {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out
}

/// A websocket text frame.
pub fn ws_text(text: &str) -> Vec<u8> {
    ws_frame(0x1, text.as_bytes())
}

/// The head of an HTTP/1.1 response announcing `content_length` body bytes (the body is not
/// included).
pub fn http_head(status: u16, content_length: u64) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Whatever",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=UTF-8\r\n\
         Content-Length: {content_length}\r\nConnection: keep-alive\r\n\r\n"
    )
    .into_bytes()
}

/// A whole HTTP/1.1 response.
pub fn http_response(status: u16, body: &[u8]) -> Vec<u8> {
    let mut out = http_head(status, body.len() as u64);
    out.extend_from_slice(body);
    out
}

/// An Engine.IO v2/v3 payload: every packet prefixed by its length and a colon.
fn length_prefixed(packets: &[String]) -> String {
    packets
        .iter()
        .map(|p| format!("{}:{p}", p.chars().count()))
        .collect()
}

// ----- HTTP ---------------------------------------------------------------------------------

async fn serve_connection(shared: Arc<Shared>, stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = Reader::new(read);
    loop {
        let head = match reader.head().await {
            Ok(Some(head)) => head,
            _ => return,
        };
        if !head.path.starts_with("/socket.io/") {
            let _ = write.write_all(&http_response(404, b"not found")).await;
            continue;
        }
        let transport = head.query.get("transport").map(String::as_str);
        let sid = head.query.get("sid").cloned();
        match (transport, sid) {
            (Some("websocket"), None) => {
                serve_websocket(shared, head, reader, write).await;
                return;
            }
            (Some("polling"), None) if head.method == "GET" => {
                let body = polling_handshake(&shared);
                if write.write_all(&http_response(200, &body)).await.is_err() {
                    return;
                }
            }
            (Some("polling"), Some(sid)) => {
                let body = match reader.body(head.content_length()).await {
                    Ok(body) => body,
                    Err(_) => return,
                };
                let session = lock(&shared.sessions)
                    .get(&sid)
                    .and_then(|s| s.polling.clone());
                let Some(session) = session else {
                    let _ = write
                        .write_all(&http_response(
                            400,
                            br#"{"code":1,"message":"Session ID unknown"}"#,
                        ))
                        .await;
                    continue;
                };
                let keep = if head.method == "POST" {
                    session.post(&shared, &body, &mut write).await
                } else {
                    session.get(&shared, &mut reader, &mut write).await
                };
                if !keep {
                    return;
                }
            }
            _ => {
                let _ = write
                    .write_all(&http_response(
                        400,
                        br#"{"code":3,"message":"Bad request"}"#,
                    ))
                    .await;
            }
        }
    }
}

/// Answers a packet from the client; returns the reply packet, if any.
fn on_packet(shared: &Shared, sid: &str, text: &str) -> Option<String> {
    let kind = text.chars().next()?;
    match kind {
        '3' => shared.report(Seen::Pong {
            sid: sid.to_owned(),
        }),
        '2' => return Some(format!("3{}", &text[1..])),
        '1' => shared.report(Seen::Closed {
            sid: sid.to_owned(),
        }),
        '4' => return on_socketio(shared, sid, &text[1..]),
        _ => {}
    }
    None
}

/// Answers a Socket.IO packet: CONNECT gets a socket id, an event asking for an ack gets its
/// own arguments back.
fn on_socketio(shared: &Shared, sid: &str, packet: &str) -> Option<String> {
    let kind = packet.chars().next()?;
    let mut rest = &packet[1..];
    let mut nsp = "/";
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        nsp = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
    }
    let prefix = if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    };
    match kind {
        '0' => {
            let auth = serde_json::from_str(rest).unwrap_or(Value::Null);
            shared.report(Seen::Connect {
                sid: sid.to_owned(),
                nsp: nsp.to_owned(),
                auth,
            });
            let id = format!("socket-{}", shared.next_id());
            Some(format!("40{prefix}{}", json!({ "sid": id })))
        }
        '2' => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let ack: Option<u64> = rest[..digits].parse().ok();
            let array: Vec<Value> = serde_json::from_str(&rest[digits..]).ok()?;
            let mut array = array.into_iter();
            let name = array.next()?.as_str()?.to_owned();
            let args: Vec<Value> = array.collect();
            let lost = shared
                .lose
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if lost {
                return None;
            }
            shared.report(Seen::Event {
                sid: sid.to_owned(),
                nsp: nsp.to_owned(),
                name,
                args: args.clone(),
            });
            ack.map(|id| format!("43{prefix}{id}{}", Value::Array(args)))
        }
        _ => None,
    }
}

// ----- websocket ------------------------------------------------------------------------------

async fn serve_websocket(
    shared: Arc<Shared>,
    head: Head,
    mut reader: Reader,
    mut write: OwnedWriteHalf,
) {
    let Some(key) = head.headers.get("sec-websocket-key") else {
        let _ = write.write_all(&http_response(400, b"no key")).await;
        return;
    };
    let accept = derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if write.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let sid = format!("ws-{}", shared.next_id());
    let (opening, packets) = shared.opening_packets(&sid);
    let frames: Vec<String> = match opening {
        Opening::V4 | Opening::SocketIoV2 => packets,
        Opening::LengthPrefixed => vec![length_prefixed(&packets[..1])],
    };
    for text in &frames {
        if write.write_all(&ws_text(text)).await.is_err() {
            return;
        }
    }
    let (acts_tx, mut acts) = mpsc::unbounded_channel();
    lock(&shared.sessions).insert(
        sid.clone(),
        SessionHandle {
            acts: acts_tx,
            polling: None,
        },
    );
    shared.report(Seen::Opened {
        sid: sid.clone(),
        transport: Transport::Websocket,
    });

    // The reader answers what the client sends through the writer below, and ends when the
    // client closes its side.
    let (replies_tx, mut replies) = mpsc::unbounded_channel::<Vec<u8>>();
    let s = shared.clone();
    let rsid = sid.clone();
    let reading = tokio::spawn(async move {
        loop {
            match reader.message().await {
                Ok(Some((0x1, payload))) => {
                    let text = String::from_utf8_lossy(&payload);
                    if let Some(reply) = on_packet(&s, &rsid, &text) {
                        let _ = replies_tx.send(ws_text(&reply));
                    }
                    if text == "1" {
                        return;
                    }
                }
                Ok(Some((0x9, payload))) => {
                    let _ = replies_tx.send(ws_frame(0xA, &payload));
                }
                Ok(Some((0x8, _))) | Ok(None) | Err(_) => {
                    s.report(Seen::Closed { sid: rsid });
                    return;
                }
                Ok(Some(_)) => {}
            }
        }
    });
    let reading_abort = reading.abort_handle();

    let mut pinging = opening == Opening::V4;
    let mut stalled = false;
    let mut ticker = tokio::time::interval(shared.ping_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        let bytes = tokio::select! {
            _ = ticker.tick() => {
                if !pinging || stalled {
                    continue;
                }
                shared.report(Seen::Ping { sid: sid.clone() });
                ws_text("2")
            }
            reply = replies.recv() => match reply {
                Some(reply) if !stalled => reply,
                Some(_) => continue,
                None => break, // the client closed
            },
            act = acts.recv() => match act {
                Some(Act::Drop) | None => break,
                Some(_) if stalled => continue,
                Some(Act::Text(text)) => ws_text(&text),
                Some(Act::Binary(bytes)) => ws_frame(0x2, &bytes),
                Some(Act::Raw(bytes)) => bytes,
                Some(Act::StopPinging) => {
                    pinging = false;
                    continue;
                }
                Some(Act::Stall) => {
                    stalled = true;
                    continue;
                }
                Some(Act::Close) => {
                    let _ = write.write_all(&ws_frame(0x8, &1000u16.to_be_bytes())).await;
                    break;
                }
            },
        };
        if write.write_all(&bytes).await.is_err() {
            break;
        }
    }
    reading_abort.abort();
    shared.remove(&sid);
}

// ----- polling --------------------------------------------------------------------------------

/// What a polling session has for the client, and how it behaves.
#[derive(Default)]
struct PollState {
    queue: VecDeque<Act>,
    pinging: bool,
    stalled: bool,
    /// The close packet was queued: the session ends once it is delivered.
    closing: bool,
    /// The session is gone: every connection serving it closes.
    dropped: bool,
}

struct PollSession {
    sid: String,
    state: Mutex<PollState>,
    /// Bumped at every change of the state.
    changed: watch::Sender<u64>,
}

impl PollSession {
    fn update(&self, f: impl FnOnce(&mut PollState)) {
        f(&mut lock(&self.state));
        self.changed.send_modify(|v| *v += 1);
    }

    /// Waits until `ready` gives something, or the session is dropped (`None`).
    async fn wait<T>(&self, mut ready: impl FnMut(&mut PollState) -> Option<T>) -> Option<T> {
        let mut rx = self.changed.subscribe();
        loop {
            rx.borrow_and_update();
            {
                let mut st = lock(&self.state);
                if st.dropped {
                    return None;
                }
                if let Some(v) = ready(&mut st) {
                    return Some(v);
                }
            }
            if rx.changed().await.is_err() {
                return None;
            }
        }
    }

    /// A long-polling GET: answers with what is queued. Returns whether the HTTP connection
    /// goes on.
    async fn get(&self, shared: &Shared, reader: &mut Reader, write: &mut OwnedWriteHalf) -> bool {
        let taken = self
            .wait(|st| {
                if st.stalled || st.queue.is_empty() {
                    return None;
                }
                if matches!(st.queue.front(), Some(Act::Raw(_))) {
                    return st.queue.pop_front().map(|raw| vec![raw]);
                }
                let mut out = Vec::new();
                while let Some(item) = st.queue.front() {
                    if matches!(item, Act::Raw(_)) {
                        break;
                    }
                    out.extend(st.queue.pop_front());
                }
                Some(out)
            })
            .await;
        let Some(items) = taken else {
            return false;
        };
        if let [Act::Raw(raw)] = items.as_slice() {
            let _ = write.write_all(raw).await;
            // The connection is in an unknown state: hold it until the session goes, or
            // until the client closes it (which is reported: the client gave up on it).
            tokio::select! {
                _ = self.wait(|_| None::<()>) => {}
                () = reader.eof() => shared.report(Seen::Closed {
                    sid: self.sid.clone(),
                }),
            }
            return false;
        }
        let mut body = String::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                body.push('\x1e');
            }
            match item {
                Act::Text(text) => body.push_str(text),
                Act::Binary(bytes) => {
                    body.push('b');
                    body.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
                }
                _ => {}
            }
        }
        if write
            .write_all(&http_response(200, body.as_bytes()))
            .await
            .is_err()
        {
            return false;
        }
        let closing = lock(&self.state).closing;
        if closing {
            self.update(|st| st.dropped = true);
            shared.remove(&self.sid);
            return false;
        }
        true
    }

    /// A POST: every packet is answered through the queue.
    async fn post(&self, shared: &Shared, body: &[u8], write: &mut OwnedWriteHalf) -> bool {
        if self.wait(|st| (!st.stalled).then_some(())).await.is_none() {
            return false;
        }
        let text = String::from_utf8_lossy(body);
        for segment in text.split('\x1e') {
            if let Some(reply) = on_packet(shared, &self.sid, segment) {
                self.update(|st| st.queue.push_back(Act::Text(reply)));
            }
        }
        let ok = write.write_all(&http_response(200, b"ok")).await.is_ok();
        if text.split('\x1e').any(|segment| segment == "1") {
            // the client closed the session
            self.update(|st| st.dropped = true);
            shared.remove(&self.sid);
            return false;
        }
        ok
    }
}

/// Opens a polling session and returns the handshake body.
fn polling_handshake(shared: &Arc<Shared>) -> Vec<u8> {
    let sid = format!("poll-{}", shared.next_id());
    let (opening, packets) = shared.opening_packets(&sid);
    if opening != Opening::V4 {
        // A v2/v3 server's body; the client is expected to give up right there.
        return length_prefixed(&packets).into_bytes();
    }
    let session = Arc::new(PollSession {
        sid: sid.clone(),
        state: Mutex::new(PollState {
            pinging: true,
            ..PollState::default()
        }),
        changed: watch::channel(0).0,
    });
    let (acts_tx, mut acts) = mpsc::unbounded_channel();
    lock(&shared.sessions).insert(
        sid.clone(),
        SessionHandle {
            acts: acts_tx,
            polling: Some(session.clone()),
        },
    );
    shared.report(Seen::Opened {
        sid: sid.clone(),
        transport: Transport::Polling,
    });

    // Acts, in order.
    let s = shared.clone();
    let sess = session.clone();
    shared.spawn(async move {
        while let Some(act) = acts.recv().await {
            match act {
                Act::StopPinging => sess.update(|st| st.pinging = false),
                Act::Stall => sess.update(|st| st.stalled = true),
                Act::Close => sess.update(|st| {
                    st.queue.push_back(Act::Text("1".into()));
                    st.closing = true;
                }),
                Act::Drop => {
                    // What was queued before leaves first (unless the session stalls).
                    sess.wait(|st| (st.stalled || st.queue.is_empty()).then_some(()))
                        .await;
                    sess.update(|st| st.dropped = true);
                    s.remove(&sess.sid);
                    return;
                }
                other => sess.update(|st| st.queue.push_back(other)),
            }
        }
    });
    // Pings.
    let s = shared.clone();
    let sess = session;
    shared.spawn(async move {
        let mut ticker = tokio::time::interval(s.ping_interval);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let ping = {
                let st = lock(&sess.state);
                if st.dropped {
                    return;
                }
                st.pinging && !st.stalled && !st.closing
            };
            if ping {
                s.report(Seen::Ping {
                    sid: sess.sid.clone(),
                });
                sess.update(|st| st.queue.push_back(Act::Text("2".into())));
            }
        }
    });
    packets.concat().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_lengths() {
        assert_eq!(ws_header(0x1, 5), vec![0x81, 5]);
        assert_eq!(ws_header(0x2, 300), vec![0x82, 126, 1, 44]);
        assert_eq!(
            ws_header(0x1, 1 << 32),
            vec![0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0]
        );
        assert_eq!(
            length_prefixed(&["0{}".to_owned(), "40".to_owned()]),
            "3:0{}2:40"
        );
        // RFC 6455's example key
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn parses_socketio_packets() {
        let shared = Shared {
            ping_interval: Duration::from_secs(1),
            ping_timeout: Duration::from_secs(1),
            max_payload: 1,
            opening: Mutex::new(Opening::V4),
            handshake_fields: Mutex::new(serde_json::Map::new()),
            sessions: Mutex::new(HashMap::new()),
            subscribers: Mutex::new(Vec::new()),
            lose: AtomicUsize::new(0),
            tasks: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
        };
        assert_eq!(
            on_socketio(&shared, "s", r#"0/foo,{"token":1}"#).as_deref(),
            Some(r#"40/foo,{"sid":"socket-1"}"#)
        );
        assert_eq!(
            on_socketio(&shared, "s", r#"27["echo",1,"a"]"#).as_deref(),
            Some(r#"437[1,"a"]"#)
        );
        assert_eq!(on_socketio(&shared, "s", r#"2["hi"]"#), None);
        assert_eq!(on_packet(&shared, "s", "2"), Some("3".to_owned()));
    }
}
