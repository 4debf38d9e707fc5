//! What typed sockets are made of: [`EventStream`] and [`Responder`] (the stream form of a
//! typed event), [`Acked`] (an ack without value), [`PayloadError`] (a payload that did not
//! match), [`Builder`] and [`FromSocket`] (the generated `builder(&manager)`). The helpers
//! that `#[socketio_events]` expansions call are hidden from these docs: they are not an API.
//!
//! The typed layer adds no protocol of its own: a typed emit is an untyped emit of the
//! argument tuple, and a typed listener is an untyped listener that decodes first.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::sync::mpsc;

pub use crate::namespace::PayloadError;
use crate::{Event, ListenerId, Result, Socket, WeakSocket};

/// The reply of an event acknowledged without a value (socket.io: `callback()`).
///
/// Declared as the return type of an `#[emit]` or `#[on]` method, it means "the other side
/// acknowledges, with nothing". It reads any ack (arguments are ignored) and sends an ack
/// with no argument.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "typed", derive(schemars::JsonSchema))]
pub struct Acked;

impl Serialize for Acked {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for Acked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Acked)
    }
}

/// Decodes the declared arguments of `event`, or reports the mismatch and gives `None`.
fn decode_or_report<A: DeserializeOwned>(socket: &WeakSocket, event: &Event) -> Option<A> {
    match event.args::<A>() {
        Ok(args) => Some(args),
        Err(error) => {
            let error = PayloadError {
                event: event.name().to_owned(),
                error: error.to_string(),
            };
            tracing::warn!("{error}");
            if let Some(socket) = socket.upgrade() {
                socket.report_payload_error(error);
            }
            None
        }
    }
}

/// How a typed listener is registered: for every event, or for the next one only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Times {
    /// Every event (`on`).
    Every,
    /// The next event only (`once`).
    Once,
}

/// Registers an untyped listener as `times` says.
fn register<F, Fut>(socket: &Socket, event: &str, times: Times, listener: F) -> ListenerId
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match times {
        Times::Every => socket.on(event, listener),
        Times::Once => socket.once(event, listener),
    }
}

/// Registers a listener of an event without ack, decoding its arguments as `A` (a tuple of
/// the declared argument types) first.
#[doc(hidden)]
pub fn on<A, F, Fut>(socket: &Socket, event: &str, times: Times, listener: F) -> ListenerId
where
    A: DeserializeOwned + Send + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let this = socket.downgrade();
    register(socket, event, times, move |event| {
        // The listener is called here, not in the future below: its future is what the
        // dispatcher awaits either way, and no shared handle to the listener is needed.
        let call = decode_or_report::<A>(&this, &event).map(&listener);
        async move {
            if let Some(call) = call {
                call.await;
            }
        }
    })
}

/// How a typed ack is put on the wire: the declared reply type `R` turned into its argument
/// list and sent (generated per event: one value, several, empty, or `(err, data)`).
#[doc(hidden)]
pub type SendReply<R> = fn(&Event, R) -> Result<()>;

/// Registers a listener of an event the server wants acknowledged: the listener's output
/// `R` is sent back by `send`.
#[doc(hidden)]
pub fn on_with_ack<A, R, F, Fut>(
    socket: &Socket,
    event: &str,
    times: Times,
    listener: F,
    send: SendReply<R>,
) -> ListenerId
where
    A: DeserializeOwned + Send + 'static,
    R: Send + 'static,
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let this = socket.downgrade();
    let listener = std::sync::Arc::new(listener);
    register(socket, event, times, move |event| {
        let args = decode_or_report::<A>(&this, &event);
        let listener = listener.clone();
        async move {
            if let Some(args) = args {
                let reply = listener(args).await;
                if let Err(e) = send(&event, reply) {
                    tracing::warn!("cannot acknowledge {:?}: {e}", event.name());
                }
            }
        }
    })
}

/// How many events a typed stream holds that its reader has not taken yet. Past that, the
/// listener feeding it waits (the socket's other listeners with it), so nothing is lost and
/// the wait reaches the connection through the manager's `max_queued_events` when set.
pub const STREAM_CAPACITY: usize = 1024;

/// A stream of typed events (the `<event>_stream()` form of a typed socket).
///
/// - **Bounded, nothing lost**: it holds at most [`STREAM_CAPACITY`] events its reader has
///   not taken; past that, the listener feeding it waits (and the socket's other listeners
///   with it), so a reader that falls behind slows delivery down instead of growing memory
///   or dropping events. [`EventStream::backlog`] says how far behind the reader is.
/// - **Ends when the socket is done**: after the events already in it, it yields `None` once
///   the socket stops being [`active`](Socket::active) (a refused `connect()`, a client
///   [`Socket::disconnect`] or a server-side disconnect, the manager closed, the
///   reconnection off or given up) or is gone (every handle dropped). A disconnection that
///   reconnects by itself does not end it. A stream taken while the socket is stopped ends
///   at the socket's next stop after a new `connect()`; take a new stream after that.
/// - The listener behind it is removed when it is dropped.
pub struct EventStream<T> {
    rx: mpsc::Receiver<T>,
    /// Resolves when the socket stops; `None` once seen.
    stopped: Option<std::sync::Mutex<Pin<Box<dyn Future<Output = ()> + Send>>>>,
    end: Arc<StreamEnd>,
}

/// What ends a stream, shared by the stream and the lifecycle listener that sees the end
/// of a session in order with its events.
struct StreamEnd {
    socket: WeakSocket,
    /// The event listener and the lifecycle listeners.
    listeners: std::sync::OnceLock<[ListenerId; 3]>,
    /// Whether a namespace session is open as the listeners saw it (connect heard, its
    /// disconnect not yet): its events may still be on their way to the stream.
    in_session: AtomicBool,
}

impl StreamEnd {
    /// Removes the listeners: the stream yields what it holds, then `None`.
    fn end(&self) {
        if let (Some(socket), Some(ids)) = (self.socket.upgrade(), self.listeners.get()) {
            for id in ids {
                socket.off(*id);
            }
        }
    }
}

impl<T> EventStream<T> {
    /// The next event; `None` once the socket is done (see the type's docs).
    pub async fn next(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await
    }

    /// How many received events wait in the stream for the reader (at most
    /// [`STREAM_CAPACITY`]; at the cap, the socket's listeners wait for the reader).
    pub fn backlog(&self) -> usize {
        self.rx.len()
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(stopped) = &mut self.stopped {
            let stopped = stopped.get_mut().unwrap_or_else(|e| e.into_inner());
            if stopped.as_mut().poll(cx).is_ready() {
                self.stopped = None;
                // A stop at the end of a session is the lifecycle listener's to see, after the
                // session's events (the socket is then not active: it ends the stream); a stop
                // outside a session (a refusal, the reconnection given up, `disconnect()`
                // while reconnecting) has none left in flight.
                if !self.end.in_session.load(Ordering::Acquire) {
                    self.end.end();
                }
            }
        }
        self.rx.poll_recv(cx)
    }
}

impl<T> futures_util::Stream for EventStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_item(cx)
    }
}

impl<T> Drop for EventStream<T> {
    fn drop(&mut self) {
        self.end.end();
    }
}

/// The stream of `event` whose items `item` makes (`None`: left out). It ends (its listeners
/// removed) at the end of a session after which the socket is not active, as the lifecycle
/// listener sees it in order with the events, or when the socket stops outside a session.
fn stream_of<T, I>(socket: &Socket, event: &str, item: I) -> EventStream<T>
where
    T: Send + 'static,
    I: Fn(Event) -> Option<T> + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
    let listener = socket.on(event, move |event| {
        let item = item(event);
        let tx = tx.clone();
        async move {
            if let Some(item) = item {
                let _ = tx.send(item).await;
            }
        }
    });
    let end = Arc::new(StreamEnd {
        socket: socket.downgrade(),
        listeners: std::sync::OnceLock::new(),
        in_session: AtomicBool::new(socket.connected()),
    });
    let seen = Arc::downgrade(&end);
    let on_connect = socket.on_connect(move || {
        if let Some(end) = seen.upgrade() {
            end.in_session.store(true, Ordering::Release);
        }
        async {}
    });
    let seen = Arc::downgrade(&end);
    let on_disconnect = socket.on_disconnect(move |reason| {
        if let Some(end) = seen.upgrade() {
            end.in_session.store(false, Ordering::Release);
            let active = end.socket.upgrade().is_some_and(|s| s.active());
            if !reason.reconnects() || !active {
                end.end();
            }
        }
        async {}
    });
    let _ = end.listeners.set([listener, on_connect, on_disconnect]);
    EventStream {
        rx,
        stopped: Some(std::sync::Mutex::new(Box::pin(socket.stopped()))),
        end,
    }
}

/// A stream of an event without ack; each item is the decoded arguments, mapped by `map`
/// (generated code turns a 1-tuple into its value).
#[doc(hidden)]
pub fn stream<A, T>(socket: &Socket, event: &str, map: fn(A) -> T) -> EventStream<T>
where
    A: DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    let this = socket.downgrade();
    stream_of(socket, event, move |event| {
        decode_or_report::<A>(&this, &event).map(map)
    })
}

/// A stream of an event the server wants acknowledged: each item is the decoded arguments
/// and the [`Responder`] that sends the ack with `send`.
#[doc(hidden)]
pub fn stream_with_ack<A, T, R>(
    socket: &Socket,
    event: &str,
    map: fn(A) -> T,
    send: SendReply<R>,
) -> EventStream<(T, Responder<R>)>
where
    A: DeserializeOwned + Send + 'static,
    T: Send + 'static,
    R: 'static,
{
    let this = socket.downgrade();
    stream_of(socket, event, move |event| {
        decode_or_report::<A>(&this, &event).map(|args| {
            let responder = Responder {
                event: Some(event),
                send,
            };
            (map(args), responder)
        })
    })
}

/// Sends the ack of one received event with its declared type. Use it: the server waits
/// for the ack (a responder dropped unused logs a warning).
#[must_use = "the server waits for this ack: call `respond`"]
pub struct Responder<R> {
    event: Option<Event>,
    send: SendReply<R>,
}

impl<R> Responder<R> {
    /// Sends the ack (queued at once; it fails only when the socket is gone or the ack was
    /// already sent).
    pub async fn respond(mut self, reply: R) -> Result<()> {
        match self.event.take() {
            Some(event) => (self.send)(&event, reply),
            None => Err(crate::Error::AlreadyAcked),
        }
    }
}

impl<R> Drop for Responder<R> {
    fn drop(&mut self) {
        if let Some(event) = &self.event {
            tracing::warn!("the ack of event {:?} was never sent", event.name());
        }
    }
}

/// Sends `args` (spread as the ack's arguments) as the ack of `event`: what the generated
/// [`SendReply`] functions call.
#[doc(hidden)]
pub fn send_ack<T: Serialize + ?Sized>(event: &Event, args: &T) -> Result<()> {
    event.send_ack(args)
}

/// What a typed socket of `#[socketio_events]` is made from: an untyped socket in its
/// namespace. Implemented by every generated socket.
pub trait FromSocket: Sized {
    /// The namespace of the contract.
    const NAMESPACE: &'static str;

    /// The typed socket over `socket` (which should be in [`Self::NAMESPACE`]).
    fn from_socket(socket: Socket) -> Self;
}

/// Options of a typed socket before it is built (the generated `builder(&manager)`): the
/// same as [`SocketBuilder`](crate::SocketBuilder)'s, for the contract's namespace.
///
/// ```no_run
/// # #[ferrio::socketio_events(namespace = "/chat")]
/// # trait ChatEvents {
/// #     /// A message.
/// #     #[on]
/// #     fn message(text: String);
/// # }
/// # async fn f(manager: &ferrio::Manager) -> Result<(), ferrio::Error> {
/// let chat = ChatEventsSocket::builder(manager)
///     .auth_fn(|| async { serde_json::json!({ "token": "abc" }) })
///     .ack_timeout(std::time::Duration::from_secs(5))
///     .retries(2)
///     .build();
/// chat.on_message(|text| async move { println!("{text}") });
/// chat.socket().connect().await?;
/// # Ok(()) }
/// ```
#[must_use = "a typed Builder does nothing until `build()` or `connect()`"]
pub struct Builder<S> {
    inner: crate::SocketBuilder,
    socket: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for Builder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder").finish_non_exhaustive()
    }
}

impl<S: FromSocket> Builder<S> {
    /// Options for the socket of `S`'s namespace on `manager`.
    pub fn new(manager: &crate::Manager) -> Self {
        Builder {
            inner: manager.socket(S::NAMESPACE),
            socket: PhantomData,
        }
    }

    /// See [`SocketBuilder::auth`](crate::SocketBuilder::auth).
    pub fn auth(mut self, auth: impl Serialize) -> Self {
        self.inner = self.inner.auth(auth);
        self
    }

    /// See [`SocketBuilder::auth_fn`](crate::SocketBuilder::auth_fn).
    pub fn auth_fn<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = serde_json::Value> + Send + 'static,
    {
        self.inner = self.inner.auth_fn(f);
        self
    }

    /// See [`SocketBuilder::ack_timeout`](crate::SocketBuilder::ack_timeout).
    pub fn ack_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.inner = self.inner.ack_timeout(timeout);
        self
    }

    /// See [`SocketBuilder::retries`](crate::SocketBuilder::retries).
    pub fn retries(mut self, retries: u32) -> Self {
        self.inner = self.inner.retries(retries);
        self
    }

    /// The typed socket, not connected: register listeners, then `connect()`.
    pub fn build(self) -> S {
        S::from_socket(self.inner.build())
    }

    /// The typed socket, connected (see [`Socket::connect`]).
    pub async fn connect(self) -> Result<S> {
        let socket = self.inner.build();
        socket.connect().await?;
        Ok(S::from_socket(socket))
    }
}
