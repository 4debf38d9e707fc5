//! The manager: one Engine.IO connection shared by the sockets of every namespace
//! (socket.io: `Manager`), with reconnection.

mod backoff;
mod driver;
mod runner;

pub(crate) use backoff::Reconnection;

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::mpsc;

use crate::engine::{
    proxy_from_env, tls_config, CookieJar, EngineConfig, Flow, Proxy, Timestamps, TlsOptions,
};
use crate::namespace::{Command, Link, SocketShared};
use crate::socket::SocketBuilder;
use crate::{DisconnectReason, Error, Result, TransportKind};
use driver::Driver;
pub(crate) use runner::{Assist, Runner};

/// The options that shape the connection's behaviour.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) timeout: Duration,
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) max_buffered: usize,
    pub(crate) max_attachments: usize,
    /// Stop reading while a socket's listeners are this many events behind (off: `None`).
    pub(crate) max_queued_events: Option<usize>,
    pub(crate) parser: Parser,
}

/// How Socket.IO packets are written on the wire (socket.io: the `parser` option). The
/// server must use the same parser; the API, typed sockets included, is the same with both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parser {
    /// socket.io's default parser (`socket.io-parser`): a packet is JSON text, and each
    /// binary value a binary message of its own after it.
    #[default]
    Json,
    /// The official msgpack parser (`socket.io-msgpack-parser`, the server's
    /// `parser: require("socket.io-msgpack-parser")`): a packet is one MessagePack binary
    /// message (base64 in polling bodies), binary values inline. Received values reach the
    /// listeners as the default parser's JSON would carry them: a `Date` as its ISO text,
    /// `undefined` left out of objects, a non-finite number as `null`.
    MsgPack,
}

/// Which socket.io server the manager talks to (see
/// [`ManagerBuilder::server_version`]).
///
/// socket.io 3.x and 4.x servers speak Engine.IO revision 4 and Socket.IO protocol 5;
/// socket.io 2.x servers speak Engine.IO revision 3 and Socket.IO protocol 4, which differ
/// in the polling framing, the binary framing, the heartbeat (the client pings) and the
/// namespace handshake (the server connects `/` by itself; other namespaces take no auth
/// payload). The API and the typed sockets are the same for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ServerVersion {
    /// Read from the handshake (the default): the polling handshake of a socket.io 2
    /// server is framed with lengths, which no later server does, so a connection that
    /// opens with polling (the default [`transports`](ManagerBuilder::transports)) finds
    /// out at no cost and goes on in the 2.x protocol.
    ///
    /// A websocket handshake looks the same for every version, so a connection that opens
    /// with the websocket (websocket-only transports) asks for socket.io 3 or later first:
    /// a 2.x server gives itself away by its answer to the namespace CONNECT (no socket
    /// id), and the manager then opens a new session in the 2.x protocol at once (the
    /// first one ends; the server has seen a CONNECT of `/` it misread, and the
    /// application sees a second `ManagerEvent::Open`). The manager remembers it: its next
    /// handshakes ask for the 2.x protocol directly, until one fails. Set
    /// [`V2`](Self::V2) to skip that first session.
    #[default]
    Auto,
    /// socket.io 3.x or 4.x only: a 2.x server is [`Error::LegacyServer`].
    V3OrLater,
    /// socket.io 2.x (Engine.IO v3, Socket.IO protocol 4): handshakes ask for `EIO=3`, and
    /// a server that answers otherwise is an error. [`Auto`](Self::Auto) finds a 2.x
    /// server by itself; this saves a websocket-first connection its first session.
    ///
    /// With a 2.x server, a socket's auth travels as the query string of its namespace
    /// CONNECT (2.x has no auth payload): each field of the auth object becomes a parameter
    /// (strings as they are, other values as JSON), read by the server in
    /// `socket.handshake.query` (merged with the manager's [`query`](ManagerBuilder::query),
    /// which wins). The root namespace `/` is connected by the server during the handshake,
    /// before any CONNECT: its auth cannot be sent (give it with
    /// [`query`](ManagerBuilder::query) instead), and a non-empty one is refused with a
    /// `connect_error` saying so. Two more 2.x server behaviours show through: while `/` is
    /// not connected on a session (its socket disconnected, or refused), the server holds
    /// the CONNECTs of other namespaces until `/` connects again (their `connect()` waits,
    /// up to the manager's `timeout`); and events the server sends `/` before the
    /// application connects it go to nobody.
    V2,
}

/// An event of the manager's connection (socket.io: the events of `socket.io`, the
/// Manager).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// `open`: the Engine.IO connection opened.
    Open,
    /// `close`: the Engine.IO connection closed, with the reason.
    Close(DisconnectReason),
    /// `error`: the connection could not be opened.
    Error(String),
    /// `ping`: the server pinged (with a socket.io 2 server, where the client pings: a ping
    /// was sent, and the one before it was answered).
    Ping,
    /// `reconnect_attempt`: a reconnection attempt starts (attempts count from 1).
    ReconnectAttempt(u32),
    /// `reconnect`: reconnected after this many attempts.
    Reconnect(u32),
    /// `reconnect_error`: a reconnection attempt failed.
    ReconnectError(String),
    /// `reconnect_failed`: the last allowed attempt failed; no more attempts.
    ReconnectFailed,
    /// `upgrade`: the transport is now the websocket (socket.io: the engine's `upgrade`).
    Upgrade,
    /// This subscription fell behind by so many events, which it missed (ferrio's own: a
    /// subscription holds at most [`ManagerEvents::CAPACITY`] events not yet received).
    Lagged(u64),
}

/// A subscription to [`ManagerEvent`]s (see [`Manager::events`]). Also a
/// `futures::Stream`. It holds at most [`CAPACITY`](Self::CAPACITY) events not yet
/// received; past that, new events are counted instead of kept, and the next
/// [`recv`](Self::recv) reports them as [`ManagerEvent::Lagged`] (tokio's broadcast
/// `Lagged` policy): a subscriber that stops reading never grows memory.
#[derive(Debug)]
pub struct ManagerEvents {
    rx: mpsc::Receiver<ManagerEvent>,
    missed: Arc<AtomicU64>,
}

impl ManagerEvents {
    /// How many events a subscription holds before it counts them as missed.
    pub const CAPACITY: usize = 1024;

    /// The next event; `None` once the manager is gone.
    pub async fn recv(&mut self) -> Option<ManagerEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<ManagerEvent>> {
        let missed = self.missed.swap(0, Ordering::AcqRel);
        if missed > 0 {
            return Poll::Ready(Some(ManagerEvent::Lagged(missed)));
        }
        self.rx.poll_recv(cx)
    }
}

impl futures_util::Stream for ManagerEvents {
    type Item = ManagerEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ManagerEvent>> {
        self.poll_event(cx)
    }
}

/// The sending side of one subscription.
struct Subscriber {
    tx: mpsc::Sender<ManagerEvent>,
    missed: Arc<AtomicU64>,
}

/// What handles can observe of the connection task.
#[derive(Default)]
pub(crate) struct Observed {
    status: Mutex<Status>,
    subscribers: Mutex<Vec<Subscriber>>,
    /// The reconnection settings in force: the connection task reads them when it
    /// schedules an attempt, handles change them (socket.io: `manager.reconnection(v)`..).
    reconnection: Mutex<Reconnection>,
}

#[derive(Default, Clone)]
struct Status {
    engine_id: Option<String>,
    transport: Option<TransportKind>,
}

impl Observed {
    pub(crate) fn emit(&self, event: ManagerEvent) {
        let mut subscribers = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subscribers.retain(|s| match s.tx.try_send(event.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                s.missed.fetch_add(1, Ordering::AcqRel);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }

    pub(crate) fn set_status(&self, engine_id: Option<String>, transport: Option<TransportKind>) {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = Status {
            engine_id,
            transport,
        };
    }

    /// The reconnection settings in force.
    pub(crate) fn reconnection(&self) -> Reconnection {
        self.reconnection_mut().clone()
    }

    fn reconnection_mut(&self) -> std::sync::MutexGuard<'_, Reconnection> {
        self.reconnection.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

struct Inner {
    options: Options,
    engine: Arc<EngineConfig>,
    observed: Arc<Observed>,
    flow: Arc<Flow>,
    /// The one strong sender: when the last handle is dropped, the channel closes and the
    /// connection task ends the connection.
    commands: mpsc::UnboundedSender<Command>,
    /// The connection task, until it is started by the first command.
    driver: Mutex<Option<Driver>>,
    /// Whether `driver` was taken and spawned.
    started: AtomicBool,
    /// Where the spawned connection task's future lives (see [`Runner`]).
    runner: Arc<Runner>,
    sockets: Mutex<HashMap<String, Weak<SocketShared>>>,
}

/// The connection to one Socket.IO server, shared by the sockets of every namespace
/// (socket.io: `Manager`). Cheap to clone. Nothing connects until a socket does.
///
/// The connection lives as long as a handle does: when the last `Manager` clone and the
/// last [`Socket`](crate::Socket) of it are dropped, the connection task disconnects every
/// namespace, closes the session and ends. Listeners do not count, unless they capture a
/// `Manager` or a `Socket` themselves (capture a [`WeakSocket`](crate::WeakSocket) there).
///
/// ```no_run
/// # async fn f() -> Result<(), ferrio::Error> {
/// use std::time::Duration;
/// let manager = ferrio::Manager::builder("http://127.0.0.1:3000")
///     .reconnection_delay_max(Duration::from_secs(10))
///     .build()?;
/// let admin = manager.socket("/admin").auth(serde_json::json!({ "token": "abc" })).connect().await?;
/// let chat = manager.socket("/chat").connect().await?; // same connection
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("url", &self.inner.engine.base.as_str())
            .finish()
    }
}

/// A manager handle that does not keep the connection alive (see [`Manager`]).
#[derive(Clone, Debug)]
pub(crate) struct WeakManager {
    inner: Weak<Inner>,
}

impl WeakManager {
    pub(crate) fn upgrade(&self) -> Option<Manager> {
        self.inner.upgrade().map(|inner| Manager { inner })
    }
}

impl Manager {
    pub(crate) fn downgrade(&self) -> WeakManager {
        WeakManager {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Starts configuring a manager for a server URL (`http`, `https`, `ws` or `wss`)
    /// (socket.io: `new Manager(url, options)`).
    pub fn builder(url: impl AsRef<str>) -> ManagerBuilder {
        ManagerBuilder::new(url.as_ref())
    }

    /// A manager with the default options.
    pub fn new(url: impl AsRef<str>) -> Result<Manager> {
        Self::builder(url).build()
    }

    /// The socket of a namespace (socket.io: `manager.socket(nsp, opts)`): configure it,
    /// then `build()` or `connect()`.
    pub fn socket(&self, namespace: &str) -> SocketBuilder {
        SocketBuilder::new(self.clone(), namespace)
    }

    /// Subscribes to the manager's events from now on (socket.io: `manager.on(..)`). A
    /// subscriber that falls [`ManagerEvents::CAPACITY`] events behind misses the next ones
    /// and is told so ([`ManagerEvent::Lagged`]).
    pub fn events(&self) -> ManagerEvents {
        let (tx, rx) = mpsc::channel(ManagerEvents::CAPACITY);
        let missed = Arc::new(AtomicU64::new(0));
        self.inner
            .observed
            .subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Subscriber {
                tx,
                missed: missed.clone(),
            });
        ManagerEvents { rx, missed }
    }

    /// The Engine.IO session id while connected (socket.io: `manager.engine.id`).
    pub fn engine_id(&self) -> Option<String> {
        self.inner.observed.status().engine_id
    }

    /// The transport in use while connected (socket.io: `manager.engine.transport.name`).
    pub fn transport(&self) -> Option<TransportKind> {
        self.inner.observed.status().transport
    }

    /// Closes the connection (socket.io: `manager._close()` / `engine.close()`): every
    /// connected socket gets `forced close` and none reconnects until connected again.
    /// The close is made by the call; await the [`Closing`](crate::Closing) it gives to
    /// know the session's last writes (what was queued, the close packet) are done.
    pub fn close(&self) -> crate::Closing {
        let (closing, written) = crate::Closing::new(self.options().timeout);
        let _ = self.command(Command::Close(written));
        closing
    }

    /// Whether the connection reconnects by itself (socket.io: `manager.reconnection()`).
    pub fn reconnection(&self) -> bool {
        self.inner.observed.reconnection().enabled
    }

    /// Turns reconnection on or off while running (socket.io: `manager.reconnection(v)`).
    /// Turned off, a reconnection loop waiting for its next attempt stops at once (an
    /// attempt already under way finishes) and its sockets stop being active; turned on,
    /// it applies from the next time the connection drops.
    pub fn set_reconnection(&self, enabled: bool) {
        self.inner.observed.reconnection_mut().enabled = enabled;
        if !enabled {
            let _ = self.command(Command::StopReconnecting);
        }
    }

    /// How many attempts a reconnection loop makes before giving up, `None` for no limit
    /// (socket.io: `manager.reconnectionAttempts()`).
    pub fn reconnection_attempts(&self) -> Option<u32> {
        self.inner.observed.reconnection().attempts
    }

    /// Changes the attempt limit while running (socket.io:
    /// `manager.reconnectionAttempts(v)`); a running loop checks it before its next attempt.
    pub fn set_reconnection_attempts(&self, attempts: Option<u32>) {
        self.inner.observed.reconnection_mut().attempts = attempts;
    }

    /// The first reconnection delay (socket.io: `manager.reconnectionDelay()`).
    pub fn reconnection_delay(&self) -> Duration {
        self.inner.observed.reconnection().delay
    }

    /// Changes the first reconnection delay while running (socket.io:
    /// `manager.reconnectionDelay(v)`); applies from the next delay computed.
    pub fn set_reconnection_delay(&self, delay: Duration) {
        self.inner.observed.reconnection_mut().delay = delay;
    }

    /// The longest reconnection delay (socket.io: `manager.reconnectionDelayMax()`).
    pub fn reconnection_delay_max(&self) -> Duration {
        self.inner.observed.reconnection().delay_max
    }

    /// Changes the longest reconnection delay while running (socket.io:
    /// `manager.reconnectionDelayMax(v)`); applies from the next delay computed.
    pub fn set_reconnection_delay_max(&self, delay: Duration) {
        self.inner.observed.reconnection_mut().delay_max = delay;
    }

    /// The jitter of reconnection delays (socket.io: `manager.randomizationFactor()`).
    pub fn randomization_factor(&self) -> f64 {
        self.inner.observed.reconnection().randomization
    }

    /// Changes the jitter of reconnection delays, 0 to 1, while running (socket.io:
    /// `manager.randomizationFactor(v)`); applies from the next delay computed.
    pub fn set_randomization_factor(&self, factor: f64) {
        self.inner.observed.reconnection_mut().randomization = factor;
    }

    pub(crate) fn options(&self) -> &Options {
        &self.inner.options
    }

    /// Whether a socket of this namespace exists (a handle of it lives).
    pub(crate) fn has_socket(&self, nsp: &str) -> bool {
        let sockets = self.inner.sockets.lock().unwrap_or_else(|e| e.into_inner());
        sockets.get(nsp).is_some_and(|weak| weak.strong_count() > 0)
    }

    /// The socket of a namespace, created on first use.
    pub(crate) fn socket_for(
        &self,
        nsp: &str,
        create: impl FnOnce() -> SocketShared,
    ) -> Arc<SocketShared> {
        let mut sockets = self.inner.sockets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = sockets.get(nsp).and_then(Weak::upgrade) {
            return existing;
        }
        let socket = Arc::new(create());
        // Namespaces whose sockets are gone leave no entry behind.
        sockets.retain(|_, weak| weak.strong_count() > 0);
        sockets.insert(nsp.to_owned(), Arc::downgrade(&socket));
        socket
    }

    /// The link socket states keep to the connection task.
    pub(crate) fn link(&self) -> Link {
        Link::new(
            self.inner.commands.downgrade(),
            self.inner.flow.clone(),
            Arc::downgrade(&self.inner.runner),
        )
    }

    /// Hands a command to the connection task. A `Connect` starts the task on first use;
    /// any other command before that has nothing to act on (no connection exists yet), so
    /// it is dropped, which also makes `close()` and `disconnect()` safe to call from a
    /// thread outside any tokio runtime.
    pub(crate) fn command(&self, command: Command) -> Result<()> {
        // Every connect passes here: after the first, one atomic load and no lock.
        if !self.inner.started.load(Ordering::Acquire) {
            if !matches!(command, Command::Connect(_)) {
                return Ok(());
            }
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| Error::Config("ferrio connects from within a tokio runtime".into()))?;
            let mut driver = self.inner.driver.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(driver) = driver.take() {
                self.inner.runner.start(&runtime, driver.run());
            }
            self.inner.started.store(true, Ordering::Release);
        }
        self.inner.commands.send(command).map_err(|_| Error::Closed)
    }
}

/// Options of a [`Manager`] (socket.io: `ManagerOptions` and the Engine.IO options).
#[must_use = "a ManagerBuilder does nothing until `build()`"]
pub struct ManagerBuilder {
    url: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    transports: Vec<TransportKind>,
    upgrade: bool,
    extra_roots: Vec<CertificateDer<'static>>,
    tls: Option<Arc<rustls::ClientConfig>>,
    max_frame: usize,
    timestamps: Timestamps,
    /// The reconnection settings the manager starts with (then `Observed::reconnection`).
    reconnection: Reconnection,
    local_address: Option<std::net::IpAddr>,
    ws_protocols: Vec<String>,
    force_base64: bool,
    remember_upgrade: bool,
    try_all_transports: bool,
    options: Options,
    error: Option<Error>,
    /// The client certificate chain and key for mutual TLS.
    client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    proxy: ProxyChoice,
    connect_timeout: Option<Duration>,
    /// Whether the cookie jar stores and sends the server's cookies (`withCredentials`).
    with_credentials: bool,
    version: ServerVersion,
    /// The most Engine.IO packets and bytes one polling POST carries.
    post_limit: (usize, usize),
}

/// Which proxy the connections go through.
#[derive(Debug, Clone)]
enum ProxyChoice {
    /// The environment's (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`): the default.
    FromEnv,
    /// None: connections go directly to the server.
    Direct,
    /// This one (unless its `no_proxy` list names the server).
    Set(Proxy),
}

impl ManagerBuilder {
    fn new(url: &str) -> Self {
        ManagerBuilder {
            url: url.to_owned(),
            path: "/socket.io".to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            transports: vec![TransportKind::Polling, TransportKind::Websocket],
            upgrade: true,
            extra_roots: Vec::new(),
            tls: None,
            max_frame: 64 * 1024 * 1024,
            timestamps: Timestamps::default(),
            reconnection: Reconnection::default(),
            local_address: None,
            ws_protocols: Vec::new(),
            force_base64: false,
            remember_upgrade: false,
            try_all_transports: false,
            options: Options {
                timeout: Duration::from_secs(20),
                ack_timeout: None,
                max_buffered: 100_000,
                max_queued_events: Some(100_000),
                max_attachments: 10,
                parser: Parser::Json,
            },
            error: None,
            client_auth: None,
            proxy: ProxyChoice::FromEnv,
            connect_timeout: None,
            with_credentials: true,
            version: ServerVersion::Auto,
            post_limit: (usize::MAX, usize::MAX),
        }
    }

    /// Which socket.io server this is (default [`ServerVersion::Auto`]: found out from the
    /// handshake). socket.io 2.x servers are spoken to in their own protocol with the same
    /// API and typed sockets; [`ServerVersion::V2`] saves a websocket-first connection to
    /// one the session it takes to find out (see [`ServerVersion::Auto`]).
    pub fn server_version(mut self, version: ServerVersion) -> Self {
        self.version = version;
        self
    }

    /// The server's endpoint path (socket.io: `path`, default `/socket.io`; a trailing
    /// slash is added as socket.io's `addTrailingSlash` does).
    pub fn path(mut self, path: &str) -> Self {
        self.path = path.to_owned();
        self
    }

    /// Adds a query parameter to every request (socket.io: `query`), readable by the
    /// server as `socket.handshake.query`. Values are URL-encoded for you.
    pub fn query(mut self, key: &str, value: &str) -> Self {
        self.query.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds a header to every HTTP request and to the websocket handshake (socket.io:
    /// `extraHeaders`).
    pub fn extra_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Whether the manager keeps the cookies the server sets and sends them back (socket.io:
    /// `withCredentials`, default true). With `true`, every request (polling, the websocket
    /// handshake, the handshakes of reconnections) carries the cookies of earlier responses,
    /// which sticky sessions behind a load balancer need. With `false`, `Set-Cookie` headers
    /// are ignored and no request carries a cookie the server set; a `Cookie` header of the
    /// application's own ([`extra_header`](Self::extra_header)) is still sent as written.
    pub fn with_credentials(mut self, with_credentials: bool) -> Self {
        self.with_credentials = with_credentials;
        self
    }

    /// The transports to use, in order (socket.io: `transports`, default polling then
    /// websocket). The first opens the connection; websocket is reached by upgrade.
    pub fn transports(mut self, transports: &[TransportKind]) -> Self {
        self.transports = transports.to_vec();
        self
    }

    /// Whether binary travels as base64 text over the websocket too (socket.io:
    /// `forceBase64`, default false), for networks that mangle binary frames. Long-polling
    /// always carries binary as base64 text.
    pub fn force_base64(mut self, force: bool) -> Self {
        self.force_base64 = force;
        self
    }

    /// The websocket subprotocols to offer (socket.io: `protocols`); the server must pick
    /// one of them, or the websocket is refused. None by default.
    pub fn websocket_protocols(mut self, protocols: &[&str]) -> Self {
        self.ws_protocols = protocols.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// The local address connections are made from (socket.io: `localAddress`), for hosts
    /// with several; the server's address of the same family (IPv4 or IPv6) is used.
    pub fn local_address(mut self, address: std::net::IpAddr) -> Self {
        self.local_address = Some(address);
        self
    }

    /// Whether a reconnection opens with websocket right away when this manager's last
    /// websocket worked (socket.io: `rememberUpgrade`, default false). A transport error
    /// sends the next connection through polling and the upgrade again. socket.io remembers
    /// for the whole process; ferrio per manager.
    pub fn remember_upgrade(mut self, remember: bool) -> Self {
        self.remember_upgrade = remember;
        self
    }

    /// Whether opening the connection tries the next transport of
    /// [`transports`](Self::transports) when one fails (socket.io: `tryAllTransports`,
    /// default false: only the first is tried). For networks that block one of them.
    pub fn try_all_transports(mut self, try_all: bool) -> Self {
        self.try_all_transports = try_all;
        self
    }

    /// Whether every request carries a unique query parameter, so that no cache on the way
    /// answers it with an earlier response (socket.io: `timestampRequests`). By default, as
    /// in socket.io, polling requests do and the websocket handshake does not; `true` stamps
    /// both, `false` neither.
    pub fn timestamp_requests(mut self, stamp: bool) -> Self {
        self.timestamps.requests = Some(stamp);
        self
    }

    /// The name of that parameter (socket.io: `timestampParam`, default `t`).
    pub fn timestamp_param(mut self, name: &str) -> Self {
        self.timestamps.param = name.to_owned();
        self
    }

    /// Whether to upgrade from polling to websocket (socket.io: `upgrade`, default true).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.upgrade = upgrade;
        self
    }

    /// How long opening the connection may take (socket.io: `timeout`, default 20 s); also
    /// how long `connect()` waits. Acks have their own: [`ack_timeout`](Self::ack_timeout),
    /// or [`Socket::timeout`](crate::Socket::timeout) for one emit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// Whether to reconnect by itself (socket.io: `reconnection`, default true).
    pub fn reconnection(mut self, reconnection: bool) -> Self {
        self.reconnection.enabled = reconnection;
        self
    }

    /// How many reconnection attempts before giving up (socket.io:
    /// `reconnectionAttempts`, default unlimited).
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.reconnection.attempts = Some(attempts);
        self
    }

    /// The first reconnection delay (socket.io: `reconnectionDelay`, default 1 s).
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.reconnection.delay = delay;
        self
    }

    /// The longest reconnection delay (socket.io: `reconnectionDelayMax`, default 5 s).
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.reconnection.delay_max = delay;
        self
    }

    /// The jitter of reconnection delays, 0 to 1 (socket.io: `randomizationFactor`,
    /// default 0.5).
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.reconnection.randomization = factor;
        self
    }

    /// The default ack timeout of this manager's sockets (socket.io: `ackTimeout`). None by
    /// default: an `emit_with_ack` then waits as long as its socket lives (a disconnection
    /// fails it). Not to be confused with [`timeout`](Self::timeout), which bounds opening
    /// the connection.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.options.ack_timeout = Some(timeout);
        self
    }

    /// Bounds what a socket's listeners may fall behind: once `max` received events wait
    /// for them, the connection stops reading from the server until they are down to half
    /// (TCP then slows the server down); nothing is lost. Default 100 000 (socket.io has no
    /// bound; ferrio keeps one so that a stuck listener cannot grow memory without end).
    ///
    /// The reading stops for every namespace of the connection, pongs included: listeners
    /// stuck for longer than the server's heartbeat (`pingInterval + pingTimeout`) end in a
    /// `ping timeout`, and a listener that awaits an ack from the server while its socket is
    /// at the bound waits for a reply that cannot be read until then. Lower it when a flood
    /// must not grow memory and the listeners do not wait on the server.
    pub fn max_queued_events(mut self, max: usize) -> Self {
        self.options.max_queued_events = Some(max.max(1));
        self
    }

    /// How many packets a disconnected socket buffers before emits fail with
    /// [`Error::BufferFull`] (default 100 000; socket.io does not bound it).
    pub fn max_buffered_packets(mut self, max: usize) -> Self {
        self.options.max_buffered = max;
        self
    }

    /// How many binary attachments one received packet may announce (default 10, as the
    /// socket.io parser's `maxAttachments`).
    pub fn max_attachments(mut self, max: usize) -> Self {
        self.options.max_attachments = max;
        self
    }

    /// The parser packets are written with (default [`Parser::Json`]); the server must use
    /// the same one. With [`Parser::MsgPack`], `max_attachments` bounds the binary values
    /// of one received packet.
    pub fn parser(mut self, parser: Parser) -> Self {
        self.options.parser = parser;
        self
    }

    /// The largest websocket message or polling body accepted from the server, in bytes
    /// (default 64 MiB).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// The most one polling POST carries: `packets` Engine.IO packets (a binary attachment
    /// is one of its own) and `bytes` bytes of body (default: no limit but the server's
    /// `maxPayload`, like the official client; a single packet larger than `bytes` still
    /// goes, alone). Packets beyond it wait for the next POST, in order.
    ///
    /// For a **python-socketio** (python-engineio) server, set `polling_post_limit(16,
    /// 64 * 1024)`: python-engineio drops a whole POST with more than 16 packets (its
    /// `max_decode_packets`) and answers 200, so nothing tells the client; its aiohttp
    /// driver reads a body only as far as it arrived (on loopback, bodies over ~256 KiB
    /// came short), and the rest is lost. No sign in the handshake says which server it is,
    /// so ferrio cannot choose for you. Larger single payloads are safe with such a server
    /// only over the websocket. A `0` is taken as 1.
    pub fn polling_post_limit(mut self, packets: usize, bytes: usize) -> Self {
        self.post_limit = (packets, bytes);
        self
    }

    /// Trusts one more root certificate (PEM) for `https`/`wss`, besides the default roots
    /// (Mozilla's; see the crate's features for the OS store or the platform verifier)
    /// (socket.io in Node: `ca`).
    pub fn tls_root_certificate_pem(mut self, pem: &[u8]) -> Self {
        use rustls::pki_types::pem::PemObject;
        for cert in CertificateDer::pem_slice_iter(pem) {
            match cert {
                Ok(cert) => self.extra_roots.push(cert),
                Err(e) => self.error = Some(Error::Tls(format!("invalid PEM certificate: {e}"))),
            }
        }
        self
    }

    /// Uses this rustls configuration for `https`/`wss` as it is (client certificates,
    /// custom verification...).
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Sends the connections through this proxy (HTTP `CONNECT` or SOCKS5, see [`Proxy`]),
    /// the polling requests and the websocket alike, `http`/`ws` and `https`/`wss` (TLS to
    /// the server inside the tunnel). It replaces the environment's proxy.
    ///
    /// Without this call or [`no_proxy`](Self::no_proxy), the environment gives the proxy
    /// as curl and reqwest read it: `https_proxy`/`HTTPS_PROXY` for `https`/`wss` URLs,
    /// `http_proxy`/`HTTP_PROXY` for `http`/`ws`, else `all_proxy`/`ALL_PROXY` (lower case
    /// first; `http://`, `socks5://` or `socks5h://`), unless the server's host is in
    /// `no_proxy`/`NO_PROXY`. The environment is read by [`build`](Self::build); an
    /// unsupported proxy URL there is an [`Error::Config`] naming the variable.
    ///
    /// A proxy that refuses the credentials (HTTP 407, a SOCKS5 refusal) fails the attempt
    /// with an [`Error::Transport`] that says so; as socket.io-client does with any failed
    /// opening, the manager then reconnects with its backoff (each attempt a `connect_error`
    /// and a [`ManagerEvent::ReconnectError`]), never faster.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = ProxyChoice::Set(proxy);
        self
    }

    /// Connects directly to the server: no proxy, whatever the environment says (reqwest:
    /// `no_proxy()`); replaces an earlier [`proxy`](Self::proxy).
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// How long one TCP connection attempt to one address of the server (or of the proxy)
    /// may take before the next address is tried; default: the whole
    /// [`timeout`](Self::timeout). The addresses of a host are tried the happy-eyeballs way
    /// (RFC 8305): IPv6 and IPv4 interleaved, the next attempt starting 250 ms after the
    /// last if it has not answered yet.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Presents this client certificate to servers that ask for one (mutual TLS; socket.io
    /// in Node: `cert` and `key`): `cert_chain_pem` holds the certificate and its
    /// intermediates, `key_pem` its private key (PKCS#8, PKCS#1 or SEC1 PEM). Ignored when
    /// a whole [`tls_config`](Self::tls_config) is given.
    pub fn tls_client_auth_pem(mut self, cert_chain_pem: &[u8], key_pem: &[u8]) -> Self {
        use rustls::pki_types::pem::PemObject;
        let chain: std::result::Result<Vec<_>, _> =
            CertificateDer::pem_slice_iter(cert_chain_pem).collect();
        let chain = match chain {
            Ok(chain) if !chain.is_empty() => chain,
            Ok(_) => {
                self.error = Some(Error::Tls("no certificate in the client chain PEM".into()));
                return self;
            }
            Err(e) => {
                self.error = Some(Error::Tls(format!("invalid client certificate PEM: {e}")));
                return self;
            }
        };
        match PrivateKeyDer::from_pem_slice(key_pem) {
            Ok(key) => self.client_auth = Some((chain, key)),
            Err(e) => self.error = Some(Error::Tls(format!("invalid client key PEM: {e}"))),
        }
        self
    }

    /// Builds the manager. Nothing connects yet.
    pub fn build(self) -> Result<Manager> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let engine = Arc::new(self.engine_config()?);
        let observed = Arc::new(Observed {
            reconnection: Mutex::new(self.reconnection.clone()),
            ..Observed::default()
        });
        let flow = Arc::new(Flow::default());
        let (commands, rx) = mpsc::unbounded_channel();
        let driver = Driver::new(
            engine.clone(),
            self.options.clone(),
            observed.clone(),
            flow.clone(),
            rx,
        );
        Ok(Manager {
            inner: Arc::new(Inner {
                options: self.options,
                engine,
                observed,
                flow,
                commands,
                driver: Mutex::new(Some(driver)),
                started: AtomicBool::new(false),
                runner: Arc::default(),
                sockets: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// `Sec-WebSocket-Protocol`: the subprotocols, comma-separated.
    fn ws_protocols_header(&self) -> Result<Option<HeaderValue>> {
        if self.ws_protocols.is_empty() {
            return Ok(None);
        }
        let joined = self.ws_protocols.join(", ");
        HeaderValue::from_str(&joined)
            .map(Some)
            .map_err(|_| Error::Config(format!("invalid websocket subprotocols {joined:?}")))
    }

    fn engine_config(&self) -> Result<EngineConfig> {
        let mut base = url::Url::parse(&self.url)
            .map_err(|e| Error::Config(format!("invalid URL {:?}: {e}", self.url)))?;
        let secure = match base.scheme() {
            "http" | "ws" => false,
            "https" | "wss" => true,
            other => return Err(Error::Config(format!("unsupported URL scheme {other:?}"))),
        };
        let _ = base.set_scheme(if secure { "https" } else { "http" });
        let host = base
            .host_str()
            .ok_or_else(|| Error::Config(format!("no host in {:?}", self.url)))?
            .to_owned();
        let port = base
            .port_or_known_default()
            .unwrap_or(if secure { 443 } else { 80 });
        let mut path = self.path.clone();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        base.set_path(&path);
        base.set_fragment(None);
        if !self.query.is_empty() {
            let mut pairs = base.query_pairs_mut();
            for (key, value) in &self.query {
                pairs.append_pair(key, value);
            }
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::Config(format!("header {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Error::Config(format!("header value {value:?}: {e}")))?;
            headers.append(name, value);
        }
        if self.transports.is_empty() {
            return Err(Error::Config("no transport".into()));
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let proxy = match &self.proxy {
            ProxyChoice::Direct => None,
            ProxyChoice::Set(proxy) => proxy.applies_to(&host).then(|| proxy.clone()),
            ProxyChoice::FromEnv => proxy_from_env(secure, &host, |name| std::env::var(name).ok())?,
        };
        let tls = match (&self.tls, secure) {
            (_, false) => None,
            (Some(config), true) => Some(config.clone()),
            (None, true) => Some(tls_config(&TlsOptions {
                extra_roots: self.extra_roots.clone(),
                client_auth: self
                    .client_auth
                    .as_ref()
                    .map(|(chain, key)| (chain.clone(), key.clone_key())),
            })?),
        };
        // An `https://` proxy is checked with the same roots, but never gets the client
        // certificate meant for the server (nor a `tls_config` made for the server).
        let proxy_tls = match proxy.as_ref().is_some_and(|p| p.tls) {
            true => Some(tls_config(&TlsOptions {
                extra_roots: self.extra_roots.clone(),
                client_auth: None,
            })?),
            false => None,
        };
        Ok(EngineConfig {
            base,
            host,
            port,
            headers,
            transports: self.transports.clone(),
            upgrade: self.upgrade,
            tls,
            cookies: CookieJar::new(self.with_credentials),
            max_frame: self.max_frame,
            probe_timeout: self.options.timeout,
            timestamps: self.timestamps.clone(),
            local_address: self.local_address,
            proxy,
            proxy_tls,
            connect_timeout: self.connect_timeout.unwrap_or(self.options.timeout),
            force_base64: self.force_base64,
            ws_protocols: self.ws_protocols_header()?,
            remember_upgrade: self.remember_upgrade,
            try_all_transports: self.try_all_transports,
            websocket_worked: AtomicBool::new(false),
            version: self.version,
            seen_v2: AtomicBool::new(false),
            post_limit: self.post_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Internationalized host names are turned into their ASCII form (the workspace pins the
    /// unicode-rs back end of `idna`: see the comment on `url` in the root Cargo.toml).
    #[test]
    fn an_internationalized_host_is_sent_in_punycode() {
        let cfg = Manager::builder("http://bücher.example:3000/")
            .engine_config()
            .expect("a valid URL");
        assert_eq!(cfg.host, "xn--bcher-kva.example");
        assert_eq!(cfg.port, 3000);
    }

    /// A subscriber that stops reading holds at most `CAPACITY` events and learns how many
    /// it missed, in order: the events it holds first... no: the count first, then what it
    /// holds (the count is reported as soon as it is seen).
    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_what_it_missed() {
        let manager = Manager::new("http://127.0.0.1:9").expect("a valid URL");
        let mut events = manager.events();
        let extra = 76;
        for _ in 0..ManagerEvents::CAPACITY + extra {
            manager.inner.observed.emit(ManagerEvent::Ping);
        }
        assert_eq!(
            events.recv().await,
            Some(ManagerEvent::Lagged(extra as u64))
        );
        for _ in 0..ManagerEvents::CAPACITY {
            assert_eq!(events.recv().await, Some(ManagerEvent::Ping));
        }
        manager.inner.observed.emit(ManagerEvent::Open);
        assert_eq!(events.recv().await, Some(ManagerEvent::Open));
        drop(manager);
        assert_eq!(events.recv().await, None, "the manager is gone");
    }

    /// `close()` and `disconnect()` before any connection (and outside any runtime) have
    /// nothing to act on and do not panic.
    #[test]
    fn close_and_disconnect_outside_a_runtime_do_nothing() {
        let manager = Manager::new("http://127.0.0.1:9").expect("a valid URL");
        let socket = manager.socket("/").build();
        socket.disconnect();
        manager.close();
        assert!(!socket.active());
    }

    #[test]
    fn a_url_that_does_not_parse_is_a_config_error() {
        let error = Manager::builder("http://exa mple:3000/")
            .engine_config()
            .expect_err("a space in the host");
        assert!(matches!(error, Error::Config(_)), "{error:?}");
    }
}
