//! The Engine.IO v4 client: the handshake, the websocket and long-polling transports, the
//! upgrade from polling to websocket, and the heartbeat.
//!
//! [`Engine`] is driven by one task (the manager's): [`Engine::next`] yields what arrived
//! and is cancel-safe, so the task can `select!` on it; writes are queued with
//! [`Engine::queue`] and leave with [`Engine::flush`], once per batch.

mod connector;
mod cookies;
mod polling;
mod websocket;

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::{self, Utf8Bytes};

pub(crate) use connector::tls_config;
pub(crate) use cookies::CookieJar;
use polling::PollingTransport;
use websocket::WsTransport;

use crate::protocol::engine::{decode_text, EnginePacket, Frame, Handshake};
use crate::{DisconnectReason, TransportKind};

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
    /// socket.io's `rememberUpgrade`: after a websocket worked, open with it directly.
    pub(crate) remember_upgrade: bool,
    /// socket.io's `tryAllTransports`: when opening fails, try the next transport.
    pub(crate) try_all_transports: bool,
    /// Whether the last websocket of this manager worked and no transport failed since
    /// (socket.io: `priorWebsocketSuccess`, which is global to the process there).
    pub(crate) websocket_worked: AtomicBool,
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
    /// The URL of a request: the base plus `EIO=4`, the transport and the session id.
    pub(crate) fn url(&self, transport: TransportKind, sid: Option<&str>) -> url::Url {
        let mut url = self.base.clone();
        if transport == TransportKind::Websocket {
            let scheme = if self.tls.is_some() { "wss" } else { "ws" };
            // Both schemes are special, so switching between them cannot fail.
            let _ = url.set_scheme(scheme);
        }
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("EIO", "4");
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

    fn websocket_worked(&self, worked: bool) {
        self.websocket_worked.store(worked, Ordering::Release);
    }

    /// The `Host` header: the host, and the port unless it is the scheme's default.
    pub(crate) fn host_header(&self) -> String {
        match self.base.port() {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
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
    #[error("the server answered HTTP {0}")]
    Status(u16),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("websocket: {0}")]
    Websocket(String),
    #[error("{0}")]
    Protocol(String),
    #[error("the server speaks an older protocol (Engine.IO v2/v3, socket.io 2.x); ferrio needs a socket.io 3 or 4 server")]
    LegacyServer,
    #[error("the websocket upgrade probe failed: {0}")]
    Probe(String),
    #[error("transport closed")]
    Closed,
    #[error("no ping from the server in time")]
    PingTimeout,
}

impl TransportError {
    /// The socket.io disconnect reason this failure gives.
    pub(crate) fn reason(&self) -> DisconnectReason {
        match self {
            TransportError::PingTimeout => DisconnectReason::PingTimeout,
            _ => DisconnectReason::TransportError,
        }
    }
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
            let mut ws = WsTransport::open(cfg, None).await?;
            let handshake = match ws.recv().await {
                Some(Ok(Incoming::Text(text))) => match decode_text(&text) {
                    Ok(EnginePacket::Open(handshake)) => handshake,
                    _ if crate::protocol::engine::is_legacy_payload(&text) => {
                        return Err(TransportError::LegacyServer)
                    }
                    _ => {
                        return Err(TransportError::Handshake(format!(
                            "expected an open packet, got {:?}",
                            text.as_str()
                        )))
                    }
                },
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
    /// Only while an upgrade swaps the two.
    Swapping,
}

impl Transport {
    async fn recv(&mut self) -> Option<Result<Incoming, TransportError>> {
        match self {
            Transport::Websocket(ws) => ws.recv().await,
            Transport::Polling(polling) => polling.recv().await,
            Transport::Swapping => None,
        }
    }

    async fn send(&mut self, queue: &mut VecDeque<Frame>) -> Result<(), TransportError> {
        match self {
            Transport::Websocket(ws) => ws.send(queue).await,
            Transport::Polling(polling) => polling.send(queue),
            Transport::Swapping => Err(TransportError::Closed),
        }
    }

    fn kind(&self) -> Option<TransportKind> {
        match self {
            Transport::Websocket(_) => Some(TransportKind::Websocket),
            Transport::Polling(_) => Some(TransportKind::Polling),
            Transport::Swapping => None,
        }
    }
}

/// What [`Engine::next`] yields.
#[derive(Debug)]
pub(crate) enum EngineEvent {
    /// A text message: the whole Engine.IO packet (`4...`), for the Socket.IO decoder.
    Message(Utf8Bytes),
    /// A binary message: an attachment.
    Binary(Bytes),
    /// The server pinged; a pong is queued and wants a [`Engine::flush`].
    Ping,
    /// The websocket probe succeeded; [`Engine::upgrade`] completes the switch.
    UpgradeReady,
    /// The session is over.
    Closed(DisconnectReason),
}

/// An open Engine.IO session.
pub(crate) struct Engine {
    cfg: Arc<EngineConfig>,
    transport: Transport,
    handshake: Handshake,
    outbox: VecDeque<Frame>,
    /// Packets the polling transport delivered while pausing for the upgrade.
    replay: VecDeque<Result<Incoming, TransportError>>,
    probe: Option<JoinHandle<Result<WsTransport, TransportError>>>,
    probed: Option<WsTransport>,
    ping_deadline: Pin<Box<Sleep>>,
}

impl Engine {
    /// Opens a session with the first configured transport (or, with `try_all_transports`,
    /// the first that works), and starts the websocket probe when the server offers the
    /// upgrade.
    pub(crate) async fn open(cfg: Arc<EngineConfig>) -> Result<Engine, TransportError> {
        let order = cfg.opening_order();
        let mut failure = None;
        for kind in order {
            match open_transport(&cfg, kind).await {
                Ok((handshake, transport)) => {
                    if kind == TransportKind::Websocket {
                        cfg.websocket_worked(true);
                    }
                    return Ok(Engine::start(cfg, handshake, transport));
                }
                Err(e) => {
                    cfg.websocket_worked(false);
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

    fn start(cfg: Arc<EngineConfig>, handshake: Handshake, transport: Transport) -> Engine {
        let deadline = Instant::now() + handshake.ping_deadline();
        let mut engine = Engine {
            cfg,
            transport,
            handshake,
            outbox: VecDeque::new(),
            replay: VecDeque::new(),
            probe: None,
            probed: None,
            ping_deadline: Box::pin(tokio::time::sleep_until(deadline)),
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
            self.probe = Some(tokio::spawn(async move {
                let mut ws = WsTransport::open(&cfg, Some(&sid)).await?;
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

    /// The server's handshake.
    pub(crate) fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The transport in use.
    pub(crate) fn transport(&self) -> Option<TransportKind> {
        self.transport.kind()
    }

    /// The next event of the session. Cancel-safe.
    pub(crate) async fn next(&mut self) -> EngineEvent {
        loop {
            let item = match self.replay.pop_front() {
                Some(item) => Some(item),
                None => tokio::select! {
                    item = self.transport.recv() => item,
                    () = &mut self.ping_deadline => return EngineEvent::Closed(DisconnectReason::PingTimeout),
                    probe = wait_probe(&mut self.probe) => {
                        match probe {
                            Ok(ws) => {
                                self.probed = Some(ws);
                                return EngineEvent::UpgradeReady;
                            }
                            Err(e) => {
                                tracing::debug!("websocket upgrade failed, staying on polling: {e}");
                                continue;
                            }
                        }
                    }
                },
            };
            let incoming = match item {
                None => return EngineEvent::Closed(DisconnectReason::TransportClose),
                Some(Err(e)) => {
                    tracing::debug!("transport error: {e}");
                    // socket.io: the next connection goes through the upgrade again.
                    self.cfg.websocket_worked(false);
                    return EngineEvent::Closed(DisconnectReason::TransportError);
                }
                Some(Ok(incoming)) => incoming,
            };
            let text = match incoming {
                Incoming::Binary(bytes) => return EngineEvent::Binary(bytes),
                Incoming::Text(text) => text,
            };
            match decode_text(&text) {
                Ok(EnginePacket::Message(_)) => return EngineEvent::Message(text),
                Ok(EnginePacket::Ping(_)) => {
                    self.outbox.push_back(Frame::PONG);
                    let deadline = Instant::now() + self.handshake.ping_deadline();
                    self.ping_deadline.as_mut().reset(deadline);
                    return EngineEvent::Ping;
                }
                Ok(EnginePacket::Close) => {
                    return EngineEvent::Closed(DisconnectReason::TransportClose)
                }
                Ok(
                    EnginePacket::Noop
                    | EnginePacket::Pong(_)
                    | EnginePacket::Upgrade
                    | EnginePacket::Open(_),
                ) => {}
                Err(e) => {
                    tracing::warn!("malformed Engine.IO packet: {e}");
                    return EngineEvent::Closed(DisconnectReason::ParseError);
                }
            }
        }
    }

    /// Completes an upgrade after [`EngineEvent::UpgradeReady`]: pauses polling (the
    /// in-flight GET and POST complete, and what they brought is delivered first), sends
    /// the upgrade packet on the websocket and moves everything to it.
    pub(crate) async fn upgrade(&mut self) -> Result<(), TransportError> {
        let Some(mut ws) = self.probed.take() else {
            return Ok(());
        };
        if let Transport::Polling(polling) =
            std::mem::replace(&mut self.transport, Transport::Swapping)
        {
            self.replay.extend(polling.pause().await);
        }
        ws.send_now(Frame::UPGRADE).await?;
        self.transport = Transport::Websocket(Box::new(ws));
        self.cfg.websocket_worked(true);
        self.flush().await
    }

    /// Queues a frame; it leaves with the next [`Engine::flush`].
    pub(crate) fn queue(&mut self, frame: Frame) {
        self.outbox.push_back(frame);
    }

    /// Whether frames wait for a flush.
    pub(crate) fn has_queued(&self) -> bool {
        !self.outbox.is_empty()
    }

    /// Writes the queued frames. A write the network does not take fails once the server's
    /// ping is overdue: a stalled connection is a ping timeout, whether it was reading or
    /// writing.
    pub(crate) async fn flush(&mut self) -> Result<(), TransportError> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        tokio::select! {
            sent = self.transport.send(&mut self.outbox) => sent,
            () = &mut self.ping_deadline => Err(TransportError::PingTimeout),
        }
    }

    /// Ends the session: sends the close packet and closes the transport.
    pub(crate) async fn close(mut self) {
        self.outbox.push_back(Frame::CLOSE);
        let _ = tokio::time::timeout(Duration::from_secs(1), self.flush()).await;
        if let Some(probe) = self.probe.take() {
            probe.abort();
        }
        match std::mem::replace(&mut self.transport, Transport::Swapping) {
            Transport::Websocket(mut ws) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close()).await;
            }
            Transport::Polling(polling) => {
                // Let the POST carrying the close packet leave before stopping.
                let _ = tokio::time::timeout(Duration::from_secs(1), polling.pause()).await;
            }
            Transport::Swapping => {}
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(probe) = self.probe.take() {
            probe.abort();
        }
    }
}

async fn wait_probe(
    probe: &mut Option<JoinHandle<Result<WsTransport, TransportError>>>,
) -> Result<WsTransport, TransportError> {
    let Some(handle) = probe else {
        return std::future::pending().await;
    };
    let result = handle.await;
    *probe = None;
    result.unwrap_or_else(|e| Err(TransportError::Probe(e.to_string())))
}
