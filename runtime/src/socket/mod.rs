//! A namespace socket: socket.io's `Socket` (`manager.socket("/admin")`, `io(url)`), its
//! builder, and the weak handle listeners capture. Emitting with flags lives in `emitter`.

mod closing;
mod emitter;

pub use closing::Closing;
pub use emitter::Emitter;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::manager::Manager;
use crate::namespace::{handler, Auth, AuthFuture, Command, Dispatch, Slot, SocketShared};
pub use crate::namespace::{Event, ListenerId, OutgoingEvent};
use crate::typed::PayloadError;
use crate::{ConnectError, DisconnectReason, Error, Result};

/// Options of a socket before it is built (socket.io: the `SocketOptions` of
/// `manager.socket(nsp, opts)`).
#[must_use = "a SocketBuilder does nothing until `build()` or `connect()`"]
pub struct SocketBuilder {
    manager: Manager,
    nsp: String,
    auth: Auth,
    ack_timeout: Option<Duration>,
    retries: u32,
}

impl SocketBuilder {
    pub(crate) fn new(manager: Manager, nsp: &str) -> Self {
        let nsp = if nsp.starts_with('/') {
            nsp.to_owned()
        } else {
            format!("/{nsp}")
        };
        let ack_timeout = manager.options().ack_timeout;
        SocketBuilder {
            manager,
            nsp,
            auth: Auth::None,
            ack_timeout,
            retries: 0,
        }
    }

    /// The `auth` payload sent with the namespace CONNECT (socket.io: `auth`), readable
    /// by the server as `socket.handshake.auth`. It must serialize to a JSON object: any
    /// other value makes `connect()` fail with [`Error::Config`] (socket.io's server only
    /// reads objects).
    pub fn auth(mut self, auth: impl Serialize) -> Self {
        self.auth = match serde_json::to_value(auth) {
            Ok(value @ serde_json::Value::Object(_)) => Auth::Static(value),
            Ok(other) => Auth::Invalid(format!("auth must be a JSON object, got {other}")),
            Err(e) => Auth::Invalid(format!("auth does not serialize: {e}")),
        };
        self
    }

    /// An `auth` payload computed at every (re)connection (socket.io: `auth` as a
    /// function), for tokens that expire: an async closure, so it can fetch or refresh a
    /// token. It runs in a task of its own while the connection goes on (pings are
    /// answered meanwhile), at most half the manager's `timeout`; a value that is not a JSON
    /// object, a panic or the timeout give the socket a `connect_error` and stop it.
    ///
    /// ```no_run
    /// # async fn fresh_token() -> String { String::new() }
    /// # fn f(manager: &ferrio::Manager) {
    /// let socket = manager
    ///     .socket("/")
    ///     .auth_fn(|| async { serde_json::json!({ "token": fresh_token().await }) })
    ///     .build();
    /// # }
    /// ```
    pub fn auth_fn<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = serde_json::Value> + Send + 'static,
    {
        self.auth = Auth::Fn(Arc::new(move || -> AuthFuture { Box::pin(f()) }));
        self
    }

    /// The default ack timeout of `emit_with_ack` on this socket (socket.io:
    /// `ackTimeout`). Without one, an ack is awaited as long as the socket lives.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = Some(timeout);
        self
    }

    /// How many times an `emit_with_ack` is retried after its ack timed out (socket.io:
    /// `retries`); each try is a new request with a new ack id.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Builds the socket without connecting it (socket.io: `autoConnect: false`). Register
    /// listeners, then call [`Socket::connect`]. A manager has one socket per namespace:
    /// building a namespace again returns the socket built first, options unchanged.
    pub fn build(self) -> Socket {
        let shared = self.manager.socket_for(&self.nsp, || {
            SocketShared::new(
                self.nsp.as_str().into(),
                self.manager.link(),
                self.auth.clone(),
                self.ack_timeout,
                self.retries,
                self.manager.options().max_buffered,
            )
        });
        Socket {
            shared,
            manager: self.manager,
        }
    }

    /// Builds the socket and connects it: resolves when the server accepted the
    /// namespace.
    pub async fn connect(self) -> Result<Socket> {
        let socket = self.build();
        socket.connect().await?;
        Ok(socket)
    }
}

/// A socket in one namespace, multiplexed with the manager's other sockets over one
/// Engine.IO connection (socket.io: `Socket`). Cloning gives another handle to the same
/// socket.
///
/// A `Socket` keeps its manager's connection alive (see [`Manager`]); a listener that
/// needs the socket should capture a [`WeakSocket`] ([`Socket::downgrade`]), so that
/// dropping the handles still ends the connection.
///
/// ```no_run
/// # async fn f() -> Result<(), ferrio::Error> {
/// let socket = ferrio::io("http://127.0.0.1:3000/chat").await?;
/// socket.on("message", |event| async move {
///     if let Ok(text) = event.args::<String>() {
///         println!("got {text}");
///     }
/// });
/// socket.emit("hello", ("world", 42)).await?;
/// let reply: String = socket.timeout(std::time::Duration::from_secs(1)).emit_with_ack("ping", ()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Socket {
    shared: Arc<SocketShared>,
    manager: Manager,
}

/// A handle to a [`Socket`] that does not keep it (nor its connection) alive: what a
/// listener should capture to emit on its own socket. [`upgrade`](Self::upgrade) gives the
/// socket while any of its handles lives.
///
/// ```no_run
/// # async fn f(socket: ferrio::Socket) {
/// let weak = socket.downgrade();
/// socket.on("ping", move |_event| {
///     let weak = weak.clone();
///     async move {
///         if let Some(socket) = weak.upgrade() {
///             let _ = socket.emit("pong", ()).await;
///         }
///     }
/// });
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct WeakSocket {
    shared: std::sync::Weak<SocketShared>,
    manager: crate::manager::WeakManager,
}

impl WeakSocket {
    /// The socket, while a [`Socket`] or [`Manager`] handle of it lives.
    pub fn upgrade(&self) -> Option<Socket> {
        Some(Socket {
            shared: self.shared.upgrade()?,
            manager: self.manager.upgrade()?,
        })
    }
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("nsp", &self.shared.nsp)
            .field("id", &self.id())
            .field("connected", &self.connected())
            .finish()
    }
}

impl Socket {
    /// A handle that does not keep the socket alive (see [`WeakSocket`]).
    pub fn downgrade(&self) -> WeakSocket {
        WeakSocket {
            shared: Arc::downgrade(&self.shared),
            manager: self.manager.downgrade(),
        }
    }

    /// Connects the namespace (socket.io: `socket.connect()` / `socket.open()`), opening
    /// the manager's connection if needed. Resolves on the server's CONNECT reply;
    /// fails with [`Error::ConnectError`] when the server refuses (no retry then), or with
    /// the transport error when the connection cannot be opened (the manager then keeps
    /// reconnecting in the background if reconnection is on, and the `connect` listeners
    /// fire when it succeeds). Waits at most the manager's `timeout` (20 s by default) and
    /// then fails with [`Error::Timeout`]; the socket keeps trying, as socket.io does.
    pub async fn connect(&self) -> Result<()> {
        if let Auth::Invalid(message) = &self.shared.auth {
            return Err(Error::Config(message.clone()));
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.shared.state();
            if state.phase == crate::namespace::Phase::Connected {
                return Ok(());
            }
            state.waiters.push(tx);
        }
        self.manager
            .command(Command::Connect(self.shared.clone()))?;
        match tokio::time::timeout(self.manager.options().timeout, rx).await {
            Ok(outcome) => outcome.map_err(|_| Error::Closed)?,
            Err(_) => Err(Error::Timeout),
        }
    }

    /// Disconnects the namespace (socket.io: `socket.disconnect()` / `socket.close()`):
    /// sends DISCONNECT, the `disconnect` listeners get `io client disconnect`, and the
    /// socket does not reconnect. Buffered packets stay for a later `connect()`. When it was
    /// the last active socket, the manager closes its connection.
    ///
    /// The disconnection is made by the call; await the [`Closing`] it gives to know the
    /// DISCONNECT (and what was emitted before) is written.
    pub fn disconnect(&self) -> Closing {
        let (closing, written) = Closing::new(self.manager.options().timeout);
        // The state changes here, at once, so a `connect()` right after this call starts a
        // new connection instead of seeing the old one; the connection task sends the
        // DISCONNECT and tells the listeners.
        let (was, waiters) = self.shared.leave();
        let _ = self
            .manager
            .command(Command::Disconnect(self.shared.clone(), was, written));
        for waiter in waiters {
            let _ = waiter.send(Err(Error::Disconnected));
        }
        closing
    }

    /// The socket id in the namespace, given by the server (socket.io: `socket.id`);
    /// `None` while not connected.
    pub fn id(&self) -> Option<String> {
        self.shared.state().id.clone()
    }

    /// Whether the namespace is connected (socket.io: `socket.connected`).
    pub fn connected(&self) -> bool {
        self.shared.is_connected()
    }

    /// Whether the namespace is not connected (socket.io: `socket.disconnected`).
    pub fn disconnected(&self) -> bool {
        !self.connected()
    }

    /// Whether the socket is connected or will (re)connect by itself (socket.io:
    /// `socket.active`): false after a refusal, a server-side or client-side disconnect.
    pub fn active(&self) -> bool {
        self.shared.state().active
    }

    /// Resolves once the socket stops being active (see [`Socket::active`]) after it was
    /// (or before it ever stopped); for the typed streams, which end then.
    pub(crate) fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.shared.stopped()
    }

    /// Whether the last connection restored the previous session (socket.io:
    /// `socket.recovered`, connection state recovery).
    pub fn recovered(&self) -> bool {
        self.shared.state().recovered
    }

    /// The namespace (socket.io: `socket.nsp`).
    pub fn namespace(&self) -> &str {
        &self.shared.nsp
    }

    /// The manager the socket belongs to (socket.io: `socket.io`).
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// An emitter with the socket's defaults (ack timeout, retries), to set flags on
    /// before one emit; [`Socket::timeout`] and the others start from it.
    pub fn emitter(&self) -> Emitter<'_> {
        Emitter::new(self, self.shared.ack_timeout, self.shared.retries)
    }

    /// Emits an event (socket.io: `socket.emit(event, ...args)`). `args` is one value or a
    /// tuple: `("a", 1)` sends two arguments, `"a"` one, `()` none. Byte buffers
    /// (`bytes::Bytes`, `serde_bytes`) anywhere inside travel as binary attachments.
    /// Emitted before the namespace is connected, the event waits in the send buffer.
    pub async fn emit(&self, event: &str, args: impl Serialize) -> Result<()> {
        self.emitter().emit(event, args).await
    }

    /// Emits an event and awaits the server's ack (socket.io: `socket.emitWithAck`), under
    /// the socket's default ack timeout if it has one. `T` is decoded from the ack's
    /// arguments like [`Event::args`]: a tuple takes several, `()` ignores them.
    pub async fn emit_with_ack<T: DeserializeOwned>(
        &self,
        event: &str,
        args: impl Serialize,
    ) -> Result<T> {
        self.emitter().emit_with_ack(event, args).await
    }

    /// Emits a `message` event (socket.io: `socket.send(...)`).
    pub async fn send(&self, args: impl Serialize) -> Result<()> {
        self.emit("message", args).await
    }

    /// The next emit awaits its ack at most `timeout` (socket.io: `socket.timeout(ms)`).
    pub fn timeout(&self, timeout: Duration) -> Emitter<'_> {
        self.emitter().timeout(timeout)
    }

    /// The next emit is dropped rather than buffered when the socket is not connected
    /// (socket.io: `socket.volatile`).
    pub fn volatile(&self) -> Emitter<'_> {
        self.emitter().volatile()
    }

    /// Compression flag of the next emit (socket.io: `socket.compress(bool)`). Accepted for
    /// compatibility; ferrio negotiates no websocket compression, so it changes nothing.
    pub fn compress(&self, compress: bool) -> Emitter<'_> {
        self.emitter().compress(compress)
    }

    /// Listens to an event (socket.io: `socket.on(event, listener)`). The listener is an
    /// async closure; listeners of a socket run one at a time, in arrival order, outside
    /// the connection task (a slow one delays the socket's later events: see
    /// [`on_concurrent`](Self::on_concurrent)). Answer an ack request with [`Event::ack`].
    ///
    /// Register listeners before [`connect`](Self::connect) when you can. Registered
    /// after, a listener still gets the events of its name that arrived at most a second
    /// before with no listener at all (a server that emits in its `connection` handler
    /// races the code after `connect().await`); older ones are gone, as in socket.io.
    pub fn on<F, Fut>(&self, event: &str, listener: F) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_listener(Slot::Event(event), handler(listener), false, false)
    }

    /// Listens to an event with a listener that may be slow: each call runs in a task of
    /// its own, up to `max_in_flight` at once, so the socket's other listeners (and the
    /// later events) do not wait for it. Calls may then finish in any order; past
    /// `max_in_flight` running calls, the socket's listeners wait for one to finish (the
    /// bound holds). [`on`](Self::on) keeps the order and runs one call at a time.
    ///
    /// ```no_run
    /// # fn f(socket: &ferrio::Socket) {
    /// socket.on_concurrent("render", 8, |event| async move {
    ///     let page: String = event.args().unwrap_or_default();
    ///     let html = slow_render(page).await; // 1.5 s: other events go on meanwhile
    ///     let _ = event.ack(html).await;
    /// });
    /// # async fn slow_render(page: String) -> String { page }
    /// # }
    /// ```
    pub fn on_concurrent<F, Fut>(
        &self,
        event: &str,
        max_in_flight: usize,
        listener: F,
    ) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let permits = Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1)));
        let listener = Arc::new(listener);
        self.on(event, move |event| {
            let (permits, listener) = (permits.clone(), listener.clone());
            async move {
                // Waiting here holds the socket's listeners: the bound on calls in flight.
                let Ok(permit) = permits.acquire_owned().await else {
                    return;
                };
                tokio::spawn(async move {
                    listener(event).await;
                    drop(permit);
                });
            }
        })
    }

    /// Listens to the next occurrence of an event only (socket.io: `socket.once`).
    pub fn once<F, Fut>(&self, event: &str, listener: F) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_listener(Slot::Event(event), handler(listener), true, false)
    }

    /// Listens to an event, before the listeners already registered (socket.io:
    /// `socket.prependListener`).
    pub fn prepend<F, Fut>(&self, event: &str, listener: F) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_listener(Slot::Event(event), handler(listener), false, true)
    }

    /// Removes one listener of any kind (socket.io: `socket.off(event, listener)`).
    pub fn off(&self, id: ListenerId) {
        self.shared.listeners.remove(id);
    }

    /// Removes every listener of an event (socket.io: `socket.off(event)` /
    /// `removeAllListeners(event)`).
    pub fn off_event(&self, event: &str) {
        self.shared.listeners.remove_event(event);
    }

    /// How many listeners an event has (socket.io: `socket.listeners(event).length`).
    pub fn listener_count(&self, event: &str) -> usize {
        self.shared.listeners.count(event)
    }

    /// How many catch-all listeners there are (socket.io: `socket.listenersAny().length`).
    pub fn any_listener_count(&self) -> usize {
        self.shared.listeners.count_any(false)
    }

    /// How many outgoing catch-all listeners there are (socket.io:
    /// `socket.listenersAnyOutgoing().length`).
    pub fn any_outgoing_listener_count(&self) -> usize {
        self.shared.listeners.count_any(true)
    }

    /// Listens to every incoming event (socket.io: `socket.onAny`); catch-all listeners
    /// run before the event's own listeners.
    pub fn on_any<F, Fut>(&self, listener: F) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_listener(Slot::Any, handler(listener), false, false)
    }

    /// Like [`Socket::on_any`], first in line (socket.io: `socket.prependAny`).
    pub fn prepend_any<F, Fut>(&self, listener: F) -> ListenerId
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_event_listener(Slot::Any, handler(listener), false, true)
    }

    /// Removes one catch-all listener, or all of them with `None` (socket.io: `socket.offAny`).
    pub fn off_any(&self, id: Option<ListenerId>) {
        match id {
            Some(id) => self.shared.listeners.remove(id),
            None => self.shared.listeners.remove_any(),
        }
    }

    /// Listens to every event this socket emits (socket.io: `socket.onAnyOutgoing`).
    pub fn on_any_outgoing<F, Fut>(&self, listener: F) -> ListenerId
    where
        F: Fn(OutgoingEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shared.listeners.add_outgoing(handler(listener), false)
    }

    /// Like [`Socket::on_any_outgoing`], first in line (socket.io: `socket.prependAnyOutgoing`).
    pub fn prepend_any_outgoing<F, Fut>(&self, listener: F) -> ListenerId
    where
        F: Fn(OutgoingEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shared.listeners.add_outgoing(handler(listener), true)
    }

    /// Removes one outgoing catch-all listener, or all of them with `None` (socket.io:
    /// `socket.offAnyOutgoing`).
    pub fn off_any_outgoing(&self, id: Option<ListenerId>) {
        match id {
            Some(id) => self.shared.listeners.remove(id),
            None => self.shared.listeners.remove_any_outgoing(),
        }
    }

    /// Listens to the namespace connection (socket.io: `socket.on("connect")`), fired at
    /// every (re)connection.
    pub fn on_connect<F, Fut>(&self, listener: F) -> ListenerId
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shared
            .listeners
            .add_connect(handler(move |()| listener()))
    }

    /// Listens to connection failures (socket.io: `socket.on("connect_error")`): a refusal
    /// by the server's middleware, or a transport that could not open.
    pub fn on_connect_error<F, Fut>(&self, listener: F) -> ListenerId
    where
        F: Fn(ConnectError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shared.listeners.add_connect_error(handler(listener))
    }

    /// Listens to disconnections (socket.io: `socket.on("disconnect", reason)`).
    pub fn on_disconnect<F, Fut>(&self, listener: F) -> ListenerId
    where
        F: Fn(DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shared.listeners.add_disconnect(handler(listener))
    }
}

impl Socket {
    /// Registers an event listener; held events it now hears are offered to it first.
    fn add_event_listener(
        &self,
        slot: Slot<'_>,
        handler: crate::namespace::Handler<Event>,
        once: bool,
        prepend: bool,
    ) -> ListenerId {
        let (id, replay) = self
            .shared
            .listeners
            .add_event(slot, handler, once, prepend);
        if replay {
            self.shared.dispatch(Dispatch::Replay);
        }
        id
    }

    /// Listens to received payloads that did not match the types a typed socket declared
    /// (ferrio's own event, no socket.io counterpart): the event did not reach its typed
    /// listener, and the connection goes on.
    pub fn on_payload_error<F, Fut>(&self, listener: F) -> ListenerId
    where
        F: Fn(PayloadError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.shared.listeners.add_payload_error(handler(listener))
    }

    pub(crate) fn report_payload_error(&self, error: PayloadError) {
        self.shared.dispatch(Dispatch::PayloadError(error));
    }
}
