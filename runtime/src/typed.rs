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

/// Registers a listener of an event the server wants acknowledged: the listener's output
/// `R` is sent back as the ack's one argument.
#[doc(hidden)]
pub fn on_with_ack<A, R, F, Fut>(
    socket: &Socket,
    event: &str,
    times: Times,
    listener: F,
) -> ListenerId
where
    A: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
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
                send_reply(&event, reply).await;
            }
        }
    })
}

/// Sends a typed ack: `Acked` as an empty ack, any other value as one argument.
async fn send_reply<R: Serialize + 'static>(event: &Event, reply: R) {
    let sent = if is_acked::<R>() {
        event.ack(()).await
    } else {
        event.ack((reply,)).await
    };
    if let Err(e) = sent {
        tracing::warn!("cannot acknowledge {:?}: {e}", event.name());
    }
}

/// Whether the declared reply is [`Acked`], which acks with no argument.
fn is_acked<R: 'static>() -> bool {
    std::any::TypeId::of::<R>() == std::any::TypeId::of::<Acked>()
}

/// How many events a typed stream holds that its reader has not taken yet. Past that, the
/// listener feeding it waits (the socket's other listeners with it), so nothing is lost and
/// the wait reaches the connection through the manager's `max_queued_events` when set.
pub const STREAM_CAPACITY: usize = 1024;

/// A stream of typed events (the `<event>_stream()` form of a typed socket). The listener
/// behind it is removed when the stream is dropped. It ends (`None`) once the socket is
/// gone: every handle dropped and the connection closed. It holds at most
/// [`STREAM_CAPACITY`] events; a reader that falls behind slows the socket's listeners
/// down instead of growing memory.
pub struct EventStream<T> {
    rx: mpsc::Receiver<T>,
    socket: WeakSocket,
    listener: ListenerId,
}

impl<T> EventStream<T> {
    /// The next event; `None` once the socket is gone.
    pub async fn next(&mut self) -> Option<T> {
        self.rx.recv().await
    }
}

impl<T> futures_util::Stream for EventStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }
}

impl<T> Drop for EventStream<T> {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.upgrade() {
            socket.off(self.listener);
        }
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
    let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
    let this = socket.downgrade();
    let listener = socket.on(event, move |event| {
        let item = decode_or_report::<A>(&this, &event).map(map);
        let tx = tx.clone();
        async move {
            if let Some(item) = item {
                let _ = tx.send(item).await;
            }
        }
    });
    EventStream {
        rx,
        socket: socket.downgrade(),
        listener,
    }
}

/// A stream of an event the server wants acknowledged: each item is the decoded arguments
/// and the [`Responder`] that sends the ack.
#[doc(hidden)]
pub fn stream_with_ack<A, T, R>(
    socket: &Socket,
    event: &str,
    map: fn(A) -> T,
) -> EventStream<(T, Responder<R>)>
where
    A: DeserializeOwned + Send + 'static,
    T: Send + 'static,
    R: Serialize + Send + 'static,
{
    let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
    let this = socket.downgrade();
    let listener = socket.on(event, move |event| {
        let item = decode_or_report::<A>(&this, &event).map(|args| {
            let responder = Responder {
                event: Some(event),
                reply: PhantomData,
            };
            (map(args), responder)
        });
        let tx = tx.clone();
        async move {
            if let Some(item) = item {
                let _ = tx.send(item).await;
            }
        }
    });
    EventStream {
        rx,
        socket: socket.downgrade(),
        listener,
    }
}

/// Sends the ack of one received event with its declared type. Use it: the server waits
/// for the ack (a responder dropped unused logs a warning).
#[must_use = "the server waits for this ack: call `respond`"]
pub struct Responder<R> {
    event: Option<Event>,
    reply: PhantomData<fn(R)>,
}

impl<R: Serialize + 'static> Responder<R> {
    /// Sends the ack.
    pub async fn respond(mut self, reply: R) -> Result<()> {
        match self.event.take() {
            Some(event) if is_acked::<R>() => event.ack(()).await,
            Some(event) => event.ack((reply,)).await,
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
