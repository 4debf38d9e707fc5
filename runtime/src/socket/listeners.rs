//! The listeners of a socket, and the task that calls them.
//!
//! The connection task never runs user code: it hands every event to the socket's
//! dispatcher task, which calls the listeners one at a time, in arrival order (catch-all
//! listeners first, as socket.io does). A slow listener delays only the later events of
//! its own socket; pongs and other namespaces go on.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use futures_util::FutureExt as _;
use tokio::sync::mpsc;

use super::event::{Event, OutgoingEvent};
use crate::typed::PayloadError;
use crate::{ConnectError, DisconnectReason};

/// Identifies a registered listener, for [`Socket::off`](crate::Socket::off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Handler<A> = Arc<dyn Fn(A) -> BoxFuture + Send + Sync>;

/// Wraps an async closure as a stored handler.
pub(crate) fn handler<A, F, Fut>(f: F) -> Handler<A>
where
    F: Fn(A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |arg| Box::pin(f(arg)))
}

struct Entry<A> {
    id: ListenerId,
    once: bool,
    handler: Handler<A>,
}

/// One list of listeners for one kind of argument.
struct List<A>(Vec<Entry<A>>);

impl<A> Default for List<A> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<A> List<A> {
    fn add(&mut self, entry: Entry<A>, prepend: bool) {
        if prepend {
            self.0.insert(0, entry);
        } else {
            self.0.push(entry);
        }
    }

    /// The handlers to call now; `once` listeners leave the list.
    fn take_call_list(&mut self) -> Vec<Handler<A>> {
        let handlers = self.0.iter().map(|e| e.handler.clone()).collect();
        self.0.retain(|e| !e.once);
        handlers
    }

    fn remove(&mut self, id: ListenerId) -> bool {
        let before = self.0.len();
        self.0.retain(|e| e.id != id);
        before != self.0.len()
    }
}

#[derive(Default)]
struct Lists {
    events: Vec<(Arc<str>, List<Event>)>,
    any: List<Event>,
    any_outgoing: List<OutgoingEvent>,
    connect: List<()>,
    connect_error: List<ConnectError>,
    disconnect: List<DisconnectReason>,
    payload_error: List<PayloadError>,
}

/// Where a listener goes.
pub(crate) enum Slot<'a> {
    Event(&'a str),
    Any,
}

/// The listeners of one socket.
#[derive(Default)]
pub(crate) struct Listeners {
    lists: RwLock<Lists>,
    next_id: AtomicU64,
    /// Whether any `on_any_outgoing` listener exists, checked on every emit without a lock.
    has_outgoing: AtomicBool,
}

impl Listeners {
    fn next_id(&self) -> ListenerId {
        ListenerId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Lists> {
        self.lists.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add_event(
        &self,
        slot: Slot<'_>,
        handler: Handler<Event>,
        once: bool,
        prepend: bool,
    ) -> ListenerId {
        let id = self.next_id();
        let entry = Entry { id, once, handler };
        let mut lists = self.write();
        match slot {
            Slot::Any => lists.any.add(entry, prepend),
            Slot::Event(name) => match lists.events.iter_mut().find(|(n, _)| &**n == name) {
                Some((_, list)) => list.add(entry, prepend),
                None => {
                    let mut list = List::default();
                    list.add(entry, prepend);
                    lists.events.push((name.into(), list));
                }
            },
        }
        id
    }

    pub(crate) fn add_outgoing(
        &self,
        handler: Handler<OutgoingEvent>,
        prepend: bool,
    ) -> ListenerId {
        let id = self.next_id();
        let mut lists = self.write();
        lists.any_outgoing.add(
            Entry {
                id,
                once: false,
                handler,
            },
            prepend,
        );
        self.has_outgoing.store(true, Ordering::Release);
        id
    }

    pub(crate) fn add_connect(&self, handler: Handler<()>) -> ListenerId {
        let id = self.next_id();
        self.write().connect.add(
            Entry {
                id,
                once: false,
                handler,
            },
            false,
        );
        id
    }

    pub(crate) fn add_connect_error(&self, handler: Handler<ConnectError>) -> ListenerId {
        let id = self.next_id();
        self.write().connect_error.add(
            Entry {
                id,
                once: false,
                handler,
            },
            false,
        );
        id
    }

    pub(crate) fn add_disconnect(&self, handler: Handler<DisconnectReason>) -> ListenerId {
        let id = self.next_id();
        self.write().disconnect.add(
            Entry {
                id,
                once: false,
                handler,
            },
            false,
        );
        id
    }

    pub(crate) fn add_payload_error(&self, handler: Handler<PayloadError>) -> ListenerId {
        let id = self.next_id();
        self.write().payload_error.add(
            Entry {
                id,
                once: false,
                handler,
            },
            false,
        );
        id
    }

    /// Removes one listener, wherever it is.
    pub(crate) fn remove(&self, id: ListenerId) {
        let mut lists = self.write();
        let lists = &mut *lists;
        let _ = lists.events.iter_mut().any(|(_, list)| list.remove(id))
            || lists.any.remove(id)
            || lists.any_outgoing.remove(id)
            || lists.connect.remove(id)
            || lists.connect_error.remove(id)
            || lists.disconnect.remove(id)
            || lists.payload_error.remove(id);
        lists.events.retain(|(_, list)| !list.0.is_empty());
        self.has_outgoing
            .store(!lists.any_outgoing.0.is_empty(), Ordering::Release);
    }

    /// Removes every listener of one event.
    pub(crate) fn remove_event(&self, name: &str) {
        self.write().events.retain(|(n, _)| &**n != name);
    }

    /// Removes every catch-all listener.
    pub(crate) fn remove_any(&self) {
        self.write().any.0.clear();
    }

    /// Removes every outgoing catch-all listener.
    pub(crate) fn remove_any_outgoing(&self) {
        self.write().any_outgoing.0.clear();
        self.has_outgoing.store(false, Ordering::Release);
    }

    /// Whether emits must be shown to outgoing listeners.
    pub(crate) fn has_outgoing(&self) -> bool {
        self.has_outgoing.load(Ordering::Acquire)
    }

    /// How many listeners an event has (socket.io: `listeners(event).length`).
    pub(crate) fn count(&self, name: &str) -> usize {
        let lists = self.lists.read().unwrap_or_else(|e| e.into_inner());
        lists
            .events
            .iter()
            .find(|(n, _)| &**n == name)
            .map_or(0, |(_, l)| l.0.len())
    }
}

/// What the connection task hands to a socket's dispatcher.
pub(crate) enum Dispatch {
    Event(Event),
    Outgoing(OutgoingEvent),
    Connect,
    ConnectError(ConnectError),
    Disconnect(DisconnectReason),
    PayloadError(PayloadError),
    /// Runs in order with the listeners (used to resolve `connect()` after them).
    Run(Box<dyn FnOnce() + Send>),
}

/// Starts the dispatcher of a socket; it ends when the sender is dropped.
pub(crate) fn spawn_dispatcher(listeners: Arc<Listeners>) -> mpsc::UnboundedSender<Dispatch> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Dispatch>();
    tokio::spawn(async move {
        while let Some(item) = rx.recv().await {
            match item {
                Dispatch::Event(event) => {
                    let handlers = {
                        let mut lists = listeners.write();
                        let mut handlers = lists.any.take_call_list();
                        if let Some((_, list)) =
                            lists.events.iter_mut().find(|(n, _)| **n == *event.name())
                        {
                            handlers.extend(list.take_call_list());
                        }
                        handlers
                    };
                    call_all(handlers, event).await;
                }
                Dispatch::Outgoing(event) => {
                    let handlers = listeners.write().any_outgoing.take_call_list();
                    call_all(handlers, event).await;
                }
                Dispatch::Connect => {
                    let handlers = listeners.write().connect.take_call_list();
                    call_all(handlers, ()).await;
                }
                Dispatch::ConnectError(error) => {
                    let handlers = listeners.write().connect_error.take_call_list();
                    call_all(handlers, error).await;
                }
                Dispatch::Run(f) => f(),
                Dispatch::PayloadError(error) => {
                    let handlers = listeners.write().payload_error.take_call_list();
                    call_all(handlers, error).await;
                }
                Dispatch::Disconnect(reason) => {
                    let handlers = listeners.write().disconnect.take_call_list();
                    call_all(handlers, reason).await;
                }
            }
        }
    });
    tx
}

/// Calls each handler in turn; the argument is cloned for all but the last. A panicking
/// listener is reported and does not take the dispatcher (and later events) with it.
async fn call_all<A: Clone>(handlers: Vec<Handler<A>>, arg: A) {
    let Some((last, rest)) = handlers.split_last() else {
        return;
    };
    for handler in rest {
        call_one(handler, arg.clone()).await;
    }
    call_one(last, arg).await;
}

async fn call_one<A>(handler: &Handler<A>, arg: A) {
    let call = std::panic::AssertUnwindSafe(async { handler(arg).await });
    if call.catch_unwind().await.is_err() {
        tracing::error!("a socket listener panicked; the socket goes on");
    }
}
