//! The Engine.IO client: the handshake, the websocket and long-polling transports, the
//! upgrade from polling to websocket, and the heartbeat, in protocol revision 4 (socket.io
//! 3 and 4) and revision 3 (socket.io 2). A session speaks one [`Revision`], chosen by the
//! configured [`ServerVersion`] or, by default, read from the polling handshake; the
//! revisions differ in the framing (the transports and `protocol::engine`) and in who
//! pings (the heartbeat step of [`Engine::poll_next`]), nothing else.
//!
//! [`Engine`] is driven by one task (the manager's): [`Engine::next`] yields what arrived
//! and is cancel-safe, so the task can `select!` on it. Writes are queued with
//! [`Engine::queue_packet`] and leave while `next` is polled: reading, writing, the
//! heartbeat and the upgrade are states of one machine, and none waits for another.

mod connect;
mod cookies;
mod flow;
mod polling;
mod websocket;

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::{self, Utf8Bytes};

pub use connect::Proxy;
pub(crate) use connect::{proxy_from_env, tls_config, TlsOptions};
pub(crate) use cookies::CookieJar;
pub(crate) use flow::{weight, Flow, HIGH_WATER};
use polling::PollingTransport;
use websocket::WsTransport;

use crate::protocol::engine::{decode_text, EnginePacket, Frame, Handshake, Revision};
use crate::{DisconnectReason, ServerVersion, TransportKind};

/// Everything needed to open an Engine.IO session, fixed when the manager is built.
#[derive(Debug)]
pub(crate) struct EngineConfig {
    /// `http(s)://host:port/path/?query`: the endpoint without the Engine.IO parameters.
    pub(crate) base: url::Url,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) transports: Vec<TransportKind>,
    pub(crate) upgrade: bool,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) cookies: CookieJar,
    pub(crate) max_frame: usize,
    pub(crate) probe_timeout: Duration,
    /// Which requests carry a unique stamp against caches (socket.io: `timestampRequests`).
    pub(crate) timestamps: Timestamps,
    /// socket.io's `protocols`: the websocket subprotocols offered, as one header value.
    pub(crate) ws_protocols: Option<http::HeaderValue>,
    /// socket.io's `forceBase64`: binary goes as base64 text over the websocket too.
    pub(crate) force_base64: bool,
    /// socket.io's `localAddress`: the address connections are made from.
    pub(crate) local_address: Option<std::net::IpAddr>,
    /// The proxy connections go through (the builder's or the environment's), if any.
    pub(crate) proxy: Option<Proxy>,
    /// The TLS configuration for an `https://` proxy (the manager's TLS settings).
    pub(crate) proxy_tls: Option<Arc<rustls::ClientConfig>>,
    /// The deadline of one TCP connection attempt to one address.
    pub(crate) connect_timeout: Duration,
    /// socket.io's `rememberUpgrade`: after a websocket worked, open with it directly.
    pub(crate) remember_upgrade: bool,
    /// socket.io's `tryAllTransports`: when opening fails, try the next transport.
    pub(crate) try_all_transports: bool,
    /// Whether the last websocket of this manager worked and no transport failed since
    /// (socket.io: `priorWebsocketSuccess`, which is global to the process there).
    pub(crate) websocket_worked: AtomicBool,
    /// The server's version: which Engine.IO revision the handshake asks for.
    pub(crate) version: ServerVersion,
    /// Under [`ServerVersion::Auto`]: the last server found was a socket.io 2 one, so the
    /// next handshakes ask for `EIO=3` (a websocket handshake cannot find out by itself).
    pub(crate) seen_v2: AtomicBool,
    /// The most one polling POST carries: Engine.IO packets, and bytes (below the server's
    /// `maxPayload`). See `ManagerBuilder::polling_post_limit`.
    pub(crate) post_limit: (usize, usize),
}

/// socket.io's `timestampRequests` and `timestampParam`: a unique query parameter on each
/// request, so no cache between client and server answers one from an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timestamps {
    /// `None`: socket.io's default, polling requests are stamped and the websocket handshake
    /// is not; `Some(b)`: both or neither.
    pub(crate) requests: Option<bool>,
    pub(crate) param: String,
}

impl Default for Timestamps {
    fn default() -> Self {
        Timestamps {
            requests: None,
            param: "t".to_owned(),
        }
    }
}

impl Timestamps {
    fn stamps(&self, transport: TransportKind) -> bool {
        match (self.requests, transport) {
            (Some(all), _) => all,
            (None, TransportKind::Polling) => true,
            (None, TransportKind::Websocket) => false,
        }
    }
}

/// A value no earlier request had: the time in milliseconds and a random part, base 36 (as
/// socket.io-client's stamps look).
fn stamp() -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut out = Vec::with_capacity(16);
    let mut n = millis;
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    out.extend((0..4).map(|_| DIGITS[fastrand::usize(..36)]));
    String::from_utf8(out).unwrap_or_default()
}

impl EngineConfig {
    /// The URL of a request: the base plus `EIO`, the transport and the session id.
    pub(crate) fn url(
        &self,
        transport: TransportKind,
        sid: Option<&str>,
        revision: Revision,
    ) -> url::Url {
        let mut url = self.base.clone();
        if transport == TransportKind::Websocket {
            let scheme = if self.tls.is_some() { "wss" } else { "ws" };
            // Both schemes are special, so switching between them cannot fail.
            let _ = url.set_scheme(scheme);
        }
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("EIO", revision.as_query());
            query.append_pair("transport", transport.as_str());
            if let Some(sid) = sid {
                query.append_pair("sid", sid);
            }
            if self.force_base64 {
                query.append_pair("b64", "1");
            }
            if self.timestamps.stamps(transport) {
                query.append_pair(&self.timestamps.param, &stamp());
            }
        }
        url
    }

    /// The transports to open with, in order: the configured ones (only the first unless
    /// `try_all_transports`), websocket first when `remember_upgrade` applies.
    fn opening_order(&self) -> Vec<TransportKind> {
        let mut order = self.transports.clone();
        if order.is_empty() {
            order.push(TransportKind::Polling);
        }
        let remembered = self.remember_upgrade
            && self.websocket_worked.load(Ordering::Acquire)
            && order.contains(&TransportKind::Websocket);
        if remembered {
            order.retain(|t| *t != TransportKind::Websocket);
            order.insert(0, TransportKind::Websocket);
        }
        if !self.try_all_transports {
            order.truncate(1);
        }
        order
    }

    /// The revision a handshake asks for: 3 for a socket.io 2 server (set, or seen last
    /// under `Auto`), else 4 (a socket.io 2 server answers in revision 3 whatever is asked,
    /// which the polling handshake reads).
    pub(crate) fn asked_revision(&self) -> Revision {
        match self.version {
            ServerVersion::V2 => Revision::V3,
            ServerVersion::Auto if self.seen_v2.load(Ordering::Acquire) => Revision::V3,
            ServerVersion::Auto | ServerVersion::V3OrLater => Revision::V4,
        }
    }

    /// Under `Auto`, remembers which kind of server answered last (see `seen_v2`).
    pub(crate) fn saw_v2(&self, seen: bool) {
        if self.version == ServerVersion::Auto {
            self.seen_v2.store(seen, Ordering::Release);
        }
    }

    fn websocket_worked(&self, worked: bool) {
        self.websocket_worked.store(worked, Ordering::Release);
    }

    /// The `Host` header: the host, and the port unless it is the scheme's default.
    pub(crate) fn host_header(&self) -> String {
        // An IPv6 literal keeps its brackets (RFC 9110 §7.2: `[::1]:3000`).
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }
}

/// What a transport delivers: one Engine.IO packet.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A text packet, type digit included.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
}

/// Why a transport failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// The status, and the start of the body (socket.io says why there, e.g. `Session ID
    /// unknown`).
    #[error("the server answered HTTP {0}{why}", why = if .1.is_empty() { String::new() } else { format!(": {}", .1) })]
    Status(u16, String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("websocket: {0}")]
    Websocket(String),
    #[error("{0}")]
    Protocol(String),
    #[error("the server speaks socket.io 2.x (Engine.IO v3), which the manager is set not to speak to (ServerVersion::V3OrLater), or in a framing no socket.io 2 server uses over the websocket")]
    LegacyServer,
    #[error("the websocket upgrade probe failed: {0}")]
    Probe(String),
    #[error("transport closed")]
    Closed,
}

impl TransportError {
    fn from_ws(e: tungstenite::Error) -> Self {
        match e {
            tungstenite::Error::Io(e) => TransportError::Io(e),
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                TransportError::Closed
            }
            other => TransportError::Websocket(other.to_string()),
        }
    }
}

/// A frame waiting in the engine's queue. The last frame of a Socket.IO packet (its text,
/// or its last attachment) carries the packet's flow-control [`weight`](flow::weight), which
/// leaves the count when it is written; every other frame weighs 0.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) frame: Frame,
    pub(crate) weight: usize,
}

/// What a handshake failure adds when it asked for Engine.IO v3.
pub(crate) const V2_REFUSED: &str = " (the manager is set to socket.io 2.x, ServerVersion::V2, and asked for EIO=3, which socket.io 3 and 4 servers refuse)";

/// The handshake over one transport.
async fn open_transport(
    cfg: &Arc<EngineConfig>,
    kind: TransportKind,
) -> Result<(Handshake, Transport), TransportError> {
    match kind {
        TransportKind::Polling => {
            let (handshake, polling) = polling::handshake(cfg).await?;
            Ok((handshake, Transport::Polling(polling)))
        }
        TransportKind::Websocket => {
            // Over a websocket, a socket.io 2 server's open packet looks like any other: the
            // configured version says which revision this is (see `ServerVersion::Auto`).
            let revision = cfg.asked_revision();
            let mut ws = WsTransport::open(cfg, None, revision).await?;
            let handshake = match ws.recv().await {
                Some(Ok(Incoming::Text(text))) => match decode_text(&text) {
                    Ok(EnginePacket::Open(handshake)) => handshake,
                    _ if crate::protocol::engine::is_legacy_payload(text.as_bytes()) => {
                        return Err(TransportError::LegacyServer)
                    }
                    _ => {
                        return Err(TransportError::Handshake(format!(
                            "expected an open packet, got {:?}",
                            text.as_str()
                        )))
                    }
                },
                // A socket.io 3/4 server refusing `EIO=3` answers with an HTTP 400 written
                // after its `101` (engine.io 6), which reads as a broken websocket frame.
                Some(Err(e)) if revision == Revision::V3 => {
                    return Err(TransportError::Handshake(format!("{e}{V2_REFUSED}")))
                }
                Some(Err(e)) => return Err(e),
                _ => {
                    return Err(TransportError::Handshake(
                        "the websocket closed before the handshake".into(),
                    ))
                }
            };
            Ok((handshake, Transport::Websocket(Box::new(ws))))
        }
    }
}

/// The transport an [`Engine`] currently uses.
enum Transport {
    Websocket(Box<WsTransport>),
    Polling(PollingTransport),
}

impl Transport {
    fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, TransportError>>> {
        match self {
            Transport::Websocket(ws) => ws.poll_recv(cx),
            Transport::Polling(polling) => polling.poll_recv(cx),
        }
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        queue: &mut VecDeque<Queued>,
    ) -> Poll<Result<usize, TransportError>> {
        match self {
            Transport::Websocket(ws) => ws.poll_send(cx, queue),
            Transport::Polling(polling) => polling.poll_send(cx, queue),
        }
    }

    /// Whether a write is under way (a websocket flush, a POST).
    fn is_writing(&self) -> bool {
        match self {
            Transport::Websocket(ws) => ws.is_flushing(),
            Transport::Polling(polling) => polling.is_posting(),
        }
    }

    fn kind(&self) -> TransportKind {
        match self {
            Transport::Websocket(_) => TransportKind::Websocket,
            Transport::Polling(_) => TransportKind::Polling,
        }
    }

    fn revision(&self) -> Revision {
        match self {
            Transport::Websocket(ws) => ws.revision(),
            Transport::Polling(polling) => polling.revision(),
        }
    }
}

/// Where the upgrade from polling to websocket stands.
enum Upgrade {
    /// None under way (websocket already, not offered, or it failed).
    Idle,
    /// The websocket is opening and probing, in a task of its own (it shares nothing with
    /// the session until the switch).
    Probing(JoinHandle<Result<WsTransport, TransportError>>),
    /// The probe worked: polling is paused, the engine takes what the requests in flight
    /// bring, and writes wait; once polling is drained the engine switches.
    Pausing(Box<WsTransport>),
}

/// What [`Engine::next`] yields.
#[derive(Debug)]
pub(crate) enum EngineEvent {
    /// A text message: the whole Engine.IO packet (`4...`), for the Socket.IO decoder.
    Message(Utf8Bytes),
    /// A binary message: an attachment.
    Binary(Bytes),
    /// A heartbeat: the server pinged and the pong is queued (revision 4), or the client
    /// pinged (revision 3).
    Ping,
    /// The transport is now the websocket (the upgrade completed).
    Upgraded,
    /// The session is over.
    Closed(DisconnectReason),
}

/// An open Engine.IO session: one state machine, polled by the connection task through
/// [`Engine::next`], that reads, writes, watches the heartbeat and upgrades at once. No
/// step of it waits on another: a write the network does not take, an upgrade that pauses
/// polling or a poll that never returns never stop the reading or the ping deadline.
pub(crate) struct Engine {
    cfg: Arc<EngineConfig>,
    transport: Transport,
    handshake: Handshake,
    outbox: VecDeque<Queued>,
    upgrade: Upgrade,
    /// The session's revision: which side pings, how frames are written.
    revision: Revision,
    /// Whether the handshake was a polling one, whose framing tells the revision (a
    /// websocket handshake's does not).
    framed: bool,
    /// When the server is given up on: `pingInterval + pingTimeout` after the last ping
    /// (revision 4) or packet (revision 3), `pingTimeout` after a ping of the client's.
    ping_deadline: Pin<Box<Sleep>>,
    /// Revision 3 only: when the client sends its next ping (`None` while a pong is
    /// awaited).
    next_ping: Option<Pin<Box<Sleep>>>,
    flow: Arc<Flow>,
    /// Whether received packets are taken (off while listeners are too far behind).
    reading: bool,
    /// Frames queued since the start, to place [`Engine::when_written`] marks.
    queued_frames: u64,
    /// Told when the frames queued before them are written: (frames queued then, whom).
    marks: Vec<(u64, tokio::sync::oneshot::Sender<()>)>,
    /// The transport error that ended the session, for [`Engine::failure`].
    failure: Option<String>,
}

impl Engine {
    /// Opens a session with the first configured transport (or, with `try_all_transports`,
    /// the first that works), and starts the websocket probe when the server offers the
    /// upgrade.
    pub(crate) async fn open(
        cfg: Arc<EngineConfig>,
        flow: Arc<Flow>,
    ) -> Result<Engine, TransportError> {
        let order = cfg.opening_order();
        let mut failure = None;
        for kind in order {
            match open_transport(&cfg, kind).await {
                Ok((handshake, transport)) => {
                    if kind == TransportKind::Websocket {
                        cfg.websocket_worked(true);
                    }
                    return Ok(Engine::start(cfg, handshake, transport, flow));
                }
                Err(e) => {
                    cfg.websocket_worked(false);
                    // Asked for EIO=3 because the last server was a socket.io 2 one: the next
                    // attempt asks for 4 again (the server may have been replaced).
                    if cfg.asked_revision() == Revision::V3 {
                        cfg.saw_v2(false);
                    }
                    // Another transport cannot change the server's protocol.
                    if matches!(e, TransportError::LegacyServer) {
                        return Err(e);
                    }
                    tracing::debug!("opening with {} failed: {e}", kind.as_str());
                    failure = Some(e);
                }
            }
        }
        Err(failure.unwrap_or(TransportError::Closed))
    }

    fn start(
        cfg: Arc<EngineConfig>,
        handshake: Handshake,
        transport: Transport,
        flow: Arc<Flow>,
    ) -> Engine {
        let deadline = Instant::now() + handshake.ping_deadline();
        let revision = transport.revision();
        let framed = transport.kind() == TransportKind::Polling;
        // In revision 3 the client pings first, one `pingInterval` after the open.
        let next_ping = (revision == Revision::V3).then(|| {
            let at = Instant::now() + Duration::from_millis(handshake.ping_interval);
            Box::pin(tokio::time::sleep_until(at))
        });
        let mut engine = Engine {
            cfg,
            transport,
            handshake,
            outbox: VecDeque::new(),
            upgrade: Upgrade::Idle,
            revision,
            framed,
            ping_deadline: Box::pin(tokio::time::sleep_until(deadline)),
            next_ping,
            flow,
            reading: true,
            queued_frames: 0,
            marks: Vec::new(),
            failure: None,
        };
        engine.start_probe();
        engine
    }

    fn start_probe(&mut self) {
        let offered = self.handshake.upgrades.iter().any(|u| u == "websocket");
        let allowed = self.cfg.upgrade && self.cfg.transports.contains(&TransportKind::Websocket);
        if matches!(self.transport, Transport::Polling(_)) && offered && allowed {
            let cfg = self.cfg.clone();
            let sid = self.handshake.sid.clone();
            let revision = self.revision;
            self.upgrade = Upgrade::Probing(tokio::spawn(async move {
                let mut ws = WsTransport::open(&cfg, Some(&sid), revision).await?;
                ws.send_now(Frame::PROBE).await?;
                match tokio::time::timeout(cfg.probe_timeout, ws.recv()).await {
                    Ok(Some(Ok(Incoming::Text(text)))) if text.as_str() == "3probe" => Ok(ws),
                    Ok(other) => Err(TransportError::Probe(format!(
                        "unexpected answer {other:?}"
                    ))),
                    Err(_) => Err(TransportError::Probe("no answer in time".into())),
                }
            }));
        }
    }

    /// What failed, when a transport error ended the session (`Closed(TransportError)`).
    pub(crate) fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The server's handshake.
    pub(crate) fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The transport in use.
    pub(crate) fn transport(&self) -> TransportKind {
        self.transport.kind()
    }

    /// The session's Engine.IO revision: 3 means a socket.io 2 server, which speaks
    /// Socket.IO protocol 4.
    pub(crate) fn revision(&self) -> Revision {
        self.revision
    }

    /// Whether the revision was read from the handshake (a polling one), rather than taken
    /// from what was asked (a websocket one).
    pub(crate) fn revision_was_read(&self) -> bool {
        self.framed
    }

    /// Whether received packets are taken: off, `next` only writes, upgrades and watches
    /// the heartbeat (a server whose pings are not read ends in a ping timeout).
    pub(crate) fn set_reading(&mut self, reading: bool) {
        self.reading = reading;
    }

    /// Whether the transport would take a packet now: nothing queued, no write under way,
    /// no upgrade pausing the writes (socket.io: `transport.writable`).
    pub(crate) fn is_writable(&self) -> bool {
        self.outbox.is_empty()
            && !matches!(self.upgrade, Upgrade::Pausing(_))
            && !self.transport.is_writing()
    }

    /// The next event of the session, writing what is queued on the way. Cancel-safe.
    pub(crate) async fn next(&mut self) -> EngineEvent {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// The next event the transport already holds, for a caller that takes a burst right
    /// after a full turn ([`Engine::next`]): only the read, and the write of what the event
    /// queued (a pong). The heartbeat deadline, the upgrade and other writes are left to the
    /// next full turn, which the caller makes before it sleeps, at most a burst later.
    /// Polled with a no-op waker, so a read that finds nothing registers nothing: that
    /// full turn is what arms the wake-ups. `None` when nothing is buffered.
    pub(crate) fn next_buffered(&mut self) -> Option<EngineEvent> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if !self.reading || matches!(self.upgrade, Upgrade::Pausing(_)) {
            return match self.poll_next(&mut cx) {
                Poll::Ready(event) => Some(event),
                Poll::Pending => None,
            };
        }
        loop {
            let incoming = match self.transport.poll_recv(&mut cx) {
                Poll::Pending => return None,
                Poll::Ready(None) => {
                    return Some(EngineEvent::Closed(DisconnectReason::TransportClose))
                }
                Poll::Ready(Some(Err(e))) => return Some(self.failed(e)),
                Poll::Ready(Some(Ok(incoming))) => incoming,
            };
            if let Some(event) = self.on_incoming(incoming) {
                if !self.outbox.is_empty() {
                    let _ = self.poll_write(&mut cx);
                }
                return Some(event);
            }
        }
    }

    /// One turn of the state machine: the heartbeat, the upgrade, the writes, the reads.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<EngineEvent> {
        loop {
            if self.ping_deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(EngineEvent::Closed(DisconnectReason::PingTimeout));
            }
            if let Some(event) = self.poll_ping(cx) {
                return Poll::Ready(event);
            }
            if let Some(event) = self.poll_upgrade(cx) {
                return Poll::Ready(event);
            }
            if let Poll::Ready(Err(e)) = self.poll_write(cx) {
                return Poll::Ready(self.failed(e));
            }
            if !self.reading {
                return Poll::Pending;
            }
            let incoming = match self.transport.poll_recv(cx) {
                // Paused polling drained by this read: time to switch (next turn).
                Poll::Pending if self.ready_to_switch() => continue,
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    return Poll::Ready(EngineEvent::Closed(DisconnectReason::TransportClose))
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(self.failed(e)),
                Poll::Ready(Some(Ok(incoming))) => incoming,
            };
            if let Some(event) = self.on_incoming(incoming) {
                // A pong may want writing.
                let _ = self.poll_write(cx);
                return Poll::Ready(event);
            }
        }
    }

    /// Revision 3: the client's ping is due -> it is queued, and the server has
    /// `pingTimeout` to answer (engine.io-client 3's `setPing`).
    fn poll_ping(&mut self, cx: &mut Context<'_>) -> Option<EngineEvent> {
        let next = self.next_ping.as_mut()?;
        if next.as_mut().poll(cx).is_pending() {
            return None;
        }
        self.next_ping = None;
        self.queue(Frame::PING);
        let deadline = Instant::now() + Duration::from_millis(self.handshake.ping_timeout);
        self.ping_deadline.as_mut().reset(deadline);
        Some(EngineEvent::Ping)
    }

    /// Whether the upgrade waits for nothing more: polling paused and drained.
    fn ready_to_switch(&self) -> bool {
        matches!(self.upgrade, Upgrade::Pausing(_))
            && matches!(&self.transport, Transport::Polling(p) if p.is_drained())
    }

    /// Writes what the queue holds, unless an upgrade holds the writes back.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        if matches!(self.upgrade, Upgrade::Pausing(_)) {
            // Only the requests already in flight complete (see `poll_upgrade`).
            return Poll::Pending;
        }
        let written = ready!(self.transport.poll_send(cx, &mut self.outbox))?;
        self.flow.done(written);
        self.resolve_marks();
        Poll::Ready(Ok(()))
    }

    /// `tx` is told once everything queued so far has been written (or the session ends).
    pub(crate) fn when_written(&mut self, tx: crate::namespace::Written) {
        if let Some(tx) = tx {
            self.marks.push((self.queued_frames, tx));
        }
    }

    /// Tells the marks whose frames have all left the queue and been written.
    fn resolve_marks(&mut self) {
        if self.marks.is_empty() || self.transport.is_writing() {
            return;
        }
        let taken = self.queued_frames - self.outbox.len() as u64;
        self.marks.retain_mut(|(at, _)| *at > taken);
        // Dropping a sender tells its receiver as well as sending would.
    }

    /// Drives the upgrade: the probe's outcome, then the pause, then the switch.
    fn poll_upgrade(&mut self, cx: &mut Context<'_>) -> Option<EngineEvent> {
        if let Upgrade::Probing(probe) = &mut self.upgrade {
            let Poll::Ready(outcome) = Pin::new(probe).poll(cx) else {
                return None;
            };
            match outcome.unwrap_or_else(|e| Err(TransportError::Probe(e.to_string()))) {
                Ok(ws) => {
                    if let Transport::Polling(polling) = &mut self.transport {
                        polling.pause();
                    }
                    self.upgrade = Upgrade::Pausing(Box::new(ws));
                }
                Err(e) => {
                    tracing::debug!("websocket upgrade failed, staying on polling: {e}");
                    self.upgrade = Upgrade::Idle;
                    return None;
                }
            }
        }
        let Transport::Polling(polling) = &mut self.transport else {
            return None;
        };
        if !matches!(self.upgrade, Upgrade::Pausing(_)) {
            return None;
        }
        // The POST in flight completes (its packets are the server's before the switch).
        if let Poll::Ready(Err(e)) = polling.poll_send(cx, &mut VecDeque::new()) {
            return Some(self.failed(e));
        }
        if !polling.is_drained() {
            // The GET in flight and what it brought are taken by the reads.
            return None;
        }
        let Upgrade::Pausing(ws) = std::mem::replace(&mut self.upgrade, Upgrade::Idle) else {
            return None;
        };
        self.transport = Transport::Websocket(ws);
        self.queued_frames += 1;
        self.outbox.push_front(Queued {
            frame: Frame::UPGRADE,
            weight: 0,
        });
        self.cfg.websocket_worked(true);
        Some(EngineEvent::Upgraded)
    }

    /// A transport error ends the session.
    fn failed(&mut self, e: TransportError) -> EngineEvent {
        tracing::debug!("transport error: {e}");
        self.failure = Some(e.to_string());
        // socket.io: the next connection goes through the upgrade again.
        self.cfg.websocket_worked(false);
        EngineEvent::Closed(DisconnectReason::TransportError)
    }

    /// Handles one packet; gives the event it makes, if any.
    fn on_incoming(&mut self, incoming: Incoming) -> Option<EngineEvent> {
        if self.revision == Revision::V3 {
            // Any packet shows the server alive (engine.io-client 3's `heartbeat`), unless a
            // ping of the client's awaits its pong: then only the pong (or the deadline) ends
            // the wait.
            if self.next_ping.is_some() {
                let deadline = Instant::now() + self.handshake.ping_deadline();
                self.ping_deadline.as_mut().reset(deadline);
            }
        }
        let text = match incoming {
            Incoming::Binary(bytes) => return Some(EngineEvent::Binary(bytes)),
            Incoming::Text(text) => text,
        };
        match decode_text(&text) {
            Ok(EnginePacket::Message(_)) => Some(EngineEvent::Message(text)),
            Ok(EnginePacket::Pong(_)) if self.revision == Revision::V3 => {
                let deadline = Instant::now() + self.handshake.ping_deadline();
                self.ping_deadline.as_mut().reset(deadline);
                let at = Instant::now() + Duration::from_millis(self.handshake.ping_interval);
                self.next_ping = Some(Box::pin(tokio::time::sleep_until(at)));
                None
            }
            // A revision 3 server never pings (but for the probe, which has no place here).
            Ok(EnginePacket::Ping(_)) if self.revision == Revision::V3 => None,
            Ok(EnginePacket::Ping(_)) => {
                self.queue(Frame::PONG);
                let deadline = Instant::now() + self.handshake.ping_deadline();
                self.ping_deadline.as_mut().reset(deadline);
                Some(EngineEvent::Ping)
            }
            Ok(EnginePacket::Close) => Some(EngineEvent::Closed(DisconnectReason::TransportClose)),
            Ok(
                EnginePacket::Noop
                | EnginePacket::Pong(_)
                | EnginePacket::Upgrade
                | EnginePacket::Open(_),
            ) => None,
            Err(e) => {
                tracing::warn!("malformed Engine.IO packet: {e}");
                Some(EngineEvent::Closed(DisconnectReason::ParseError))
            }
        }
    }

    /// Queues the frames of one Socket.IO packet (its text, then its attachments); they
    /// leave as the transport takes them.
    pub(crate) fn queue_packet(&mut self, text: String, attachments: Vec<Bytes>, weight: usize) {
        let last = attachments.len();
        self.queued_frames += 1 + last as u64;
        self.outbox.push_back(Queued {
            frame: Frame::Text(text),
            weight: if last == 0 { weight } else { 0 },
        });
        for (i, attachment) in attachments.into_iter().enumerate() {
            self.outbox.push_back(Queued {
                frame: Frame::Binary(attachment),
                weight: if i + 1 == last { weight } else { 0 },
            });
        }
    }

    /// Queues a packet that is one binary message (the msgpack parser's).
    pub(crate) fn queue_binary_packet(&mut self, bytes: Bytes, weight: usize) {
        self.queued_frames += 1;
        self.outbox.push_back(Queued {
            frame: Frame::Binary(bytes),
            weight,
        });
    }

    /// Queues a frame that is not a counted packet (CONNECT, DISCONNECT).
    pub(crate) fn queue(&mut self, frame: Frame) {
        self.queued_frames += 1;
        self.outbox.push_back(Queued { frame, weight: 0 });
    }

    /// Ends the session: writes what is queued (a last DISCONNECT), then the close packet,
    /// and closes the transport, in at most a second in all. Meant to run in a task of its
    /// own: nothing waits for it.
    pub(crate) async fn close(mut self) {
        // An upgrade under way is abandoned: the session ends on the transport it has.
        if let Upgrade::Probing(probe) = std::mem::replace(&mut self.upgrade, Upgrade::Idle) {
            probe.abort();
        }
        if let Transport::Polling(polling) = &mut self.transport {
            polling.resume();
        }
        // What was queued goes first, in writes of its own (socket.io-client waits for the
        // drain too): a server reads a DISCONNECT and a close packet in the same polling body
        // as a transport close, since it handles the DISCONNECT a tick later.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            self.write_all().await;
            self.queue(Frame::CLOSE);
            self.write_all().await;
        })
        .await;
        if let Transport::Websocket(ws) = &mut self.transport {
            // The closing handshake, reading until the server's close frame: a socket closed
            // with unread data sends a reset, and a reset can make the server drop what it
            // had not read yet (the last events, the DISCONNECT).
            let _ = tokio::time::timeout(Duration::from_millis(500), async {
                ws.close().await;
                while let Some(Ok(_)) = ws.recv().await {}
            })
            .await;
        }
        // Whoever waited for the last writes: they are done (or never will be).
        self.marks.clear();
    }

    /// Writes the whole queue and waits until the transport has taken it (the websocket
    /// flushed, the last POST answered).
    async fn write_all(&mut self) {
        loop {
            let written =
                std::future::poll_fn(|cx| self.transport.poll_send(cx, &mut self.outbox)).await;
            match written {
                Ok(n) => self.flow.done(n),
                Err(_) => return,
            }
            if self.outbox.is_empty() && !self.transport.is_writing() {
                return;
            }
        }
    }

    /// Packets still queued will never leave: the flow control stops counting them.
    fn discard_queue(&mut self) {
        let weight = self.outbox.drain(..).map(|q| q.weight).sum();
        self.flow.done(weight);
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.discard_queue();
        if let Upgrade::Probing(probe) = &self.upgrade {
            probe.abort();
        }
    }
}
