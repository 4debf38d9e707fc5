//! The listeners of a socket, and the task that calls them.
//!
//! The connection task never runs user code: it hands every event to the socket's
//! dispatcher task, which calls the listeners one at a time, in arrival order (catch-all
//! listeners first, as socket.io does). A slow listener delays only the later events of
//! its own socket; pongs and other namespaces go on.
//!
//! An event that finds no listener at all (none for its name, no catch-all) is held for
//! [`HOLD`], at most [`HOLD_MAX`] of them: a listener registered meanwhile gets the held
//! events of its name first, in order. So the order "connect, then register listeners"
//! loses nothing to the race with a server that emits on connection (in JavaScript the
//! event loop makes that order safe; here the connection runs on another task).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;

use super::event::{Event, OutgoingEvent};
use super::handoff;
use crate::typed::PayloadError;
use crate::{ConnectError, DisconnectReason};

/// How long an event that found no listener waits for one.
pub(crate) const HOLD: Duration = Duration::from_secs(1);
/// How many events wait for a listener at most; past that the oldest goes.
pub(crate) const HOLD_MAX: usize = 1024;

/// Identifies a registered listener, for [`Socket::off`](crate::Socket::off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
pub(crate) type Handler<A> = Arc<dyn Fn(A) -> BoxFuture + Send + Sync>;

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

impl<A> Clone for Entry<A> {
    fn clone(&self) -> Self {
        Entry {
            id: self.id,
            once: self.once,
            handler: self.handler.clone(),
        }
    }
}

/// The entries of one list at one moment: what a dispatch calls.
type Snapshot<A> = Arc<Vec<Entry<A>>>;

/// One list of listeners for one kind of argument. Copied on write: registering is rare,
/// dispatching is per event, and a dispatch only clones the `Arc` (no allocation, a read
/// lock held for a moment).
struct List<A> {
    entries: Snapshot<A>,
    has_once: bool,
}

impl<A> Default for List<A> {
    fn default() -> Self {
        List {
            entries: Arc::new(Vec::new()),
            has_once: false,
        }
    }
}

impl<A> List<A> {
    fn add(&mut self, entry: Entry<A>, prepend: bool) {
        self.has_once |= entry.once;
        let entries = Arc::make_mut(&mut self.entries);
        if prepend {
            entries.insert(0, entry);
        } else {
            entries.push(entry);
        }
    }

    fn remove(&mut self, id: ListenerId) -> bool {
        if !self.entries.iter().any(|e| e.id == id) {
            return false;
        }
        Arc::make_mut(&mut self.entries).retain(|e| e.id != id);
        self.has_once = self.entries.iter().any(|e| e.once);
        true
    }

    /// The entries to call now; `once` listeners leave the list as they are called.
    fn take_snapshot(&mut self) -> Snapshot<A> {
        let snapshot = self.entries.clone();
        if self.has_once {
            Arc::make_mut(&mut self.entries).retain(|e| !e.once);
            self.has_once = false;
        }
        snapshot
    }

    fn clear(&mut self) {
        *self = List::default();
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
    /// Whether any listener was ever registered.
    registered: AtomicBool,
    /// Changes with every registration and removal (the dispatcher's cache key).
    version: AtomicU64,
    /// Events that found no listener, with when they came (see [`HOLD`]).
    held: Mutex<VecDeque<(Instant, super::Event)>>,
    /// An event listener was registered while events were held: the dispatcher offers
    /// them again before anything else.
    replay: AtomicBool,
}

impl Listeners {
    fn next_id(&self) -> ListenerId {
        self.registered.store(true, Ordering::Release);
        ListenerId(self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Whether any listener was ever registered (then the socket needs its dispatcher).
    pub(crate) fn any_registered(&self) -> bool {
        self.registered.load(Ordering::Acquire)
    }

    /// The lists, to change them.
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Lists> {
        let lists = self.lock_lists();
        self.version.fetch_add(1, Ordering::AcqRel);
        lists
    }

    /// The lists, to take snapshots (which only take `once` listeners out).
    fn lock_lists(&self) -> std::sync::RwLockWriteGuard<'_, Lists> {
        self.lists.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an event listener; gives its id, and whether held events wait for the
    /// dispatcher to offer them again (then it must be woken with [`Dispatch::Replay`]).
    pub(crate) fn add_event(
        &self,
        slot: Slot<'_>,
        handler: Handler<Event>,
        once: bool,
        prepend: bool,
    ) -> (ListenerId, bool) {
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
        drop(lists);
        // After the listener is in (and the version moved): an event held before this check
        // is seen here; one held after it sees the new version (see `hold`).
        let replay = !self.lock_held().is_empty();
        if replay {
            self.replay.store(true, Ordering::Release);
        }
        (id, replay)
    }

    /// The version of the lists (it moves with every registration and removal).
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, VecDeque<(Instant, Event)>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps an event that found no listener, for [`HOLD`].
    /// `seen` is the version of the lists that had no listener for it; true when they
    /// changed since, so a listener registered meanwhile may not have seen this event held:
    /// the caller then offers the held events again.
    pub(crate) fn hold(&self, event: Event, seen: u64) -> bool {
        let now = Instant::now();
        let mut held = self.lock_held();
        expire(&mut held, now);
        if held.len() >= HOLD_MAX {
            held.pop_front();
        }
        held.push_back((now, event));
        let changed = self.version() != seen;
        if changed {
            self.replay.store(true, Ordering::Release);
        }
        changed
    }

    /// Forgets the held events (the socket is gone).
    pub(crate) fn clear_held(&self) {
        self.lock_held().clear();
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
        lists.events.retain(|(_, list)| !list.is_empty());
        self.has_outgoing
            .store(!lists.any_outgoing.is_empty(), Ordering::Release);
    }

    /// Removes every listener of one event.
    pub(crate) fn remove_event(&self, name: &str) {
        self.write().events.retain(|(n, _)| &**n != name);
    }

    /// Removes every catch-all listener.
    pub(crate) fn remove_any(&self) {
        self.write().any.clear();
    }

    /// Removes every outgoing catch-all listener.
    pub(crate) fn remove_any_outgoing(&self) {
        self.write().any_outgoing.clear();
        self.has_outgoing.store(false, Ordering::Release);
    }

    /// Whether emits must be shown to outgoing listeners.
    pub(crate) fn has_outgoing(&self) -> bool {
        self.has_outgoing.load(Ordering::Acquire)
    }

    /// How many catch-all listeners there are, for incoming or outgoing events.
    pub(crate) fn count_any(&self, outgoing: bool) -> usize {
        let lists = self.lists.read().unwrap_or_else(|e| e.into_inner());
        if outgoing {
            lists.any_outgoing.entries.len()
        } else {
            lists.any.entries.len()
        }
    }

    /// How many listeners an event has (socket.io: `listeners(event).length`).
    pub(crate) fn count(&self, name: &str) -> usize {
        let lists = self.lists.read().unwrap_or_else(|e| e.into_inner());
        lists
            .events
            .iter()
            .find(|(n, _)| &**n == name)
            .map_or(0, |(_, l)| l.entries.len())
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
    /// Wakes the dispatcher to offer held events to a listener registered since.
    Replay,
}

/// Drops the held events older than [`HOLD`].
fn expire(held: &mut VecDeque<(Instant, Event)>, now: Instant) {
    while held
        .front()
        .is_some_and(|(at, _)| now.duration_since(*at) > HOLD)
    {
        held.pop_front();
    }
}

impl Listeners {
    /// What one dispatch calls: a snapshot of the chosen lists (an `Arc` clone each), with
    /// their `once` listeners taken out. The lock is uncontended (registrations are rare)
    /// and held for a moment.
    fn snapshot<A, const N: usize>(
        &self,
        pick: impl FnOnce(&mut Lists) -> [Option<&mut List<A>>; N],
    ) -> [Option<Snapshot<A>>; N] {
        let mut lists = self.lock_lists();
        pick(&mut lists).map(|list| list.map(List::take_snapshot))
    }
}

/// Starts the dispatcher of a socket; it ends when the sender is dropped.
pub(crate) fn spawn_dispatcher(listeners: Arc<Listeners>) -> handoff::Sender<Dispatch> {
    let (tx, mut rx) = handoff::queue::<Dispatch>();
    tokio::spawn(async move {
        let mut batch = VecDeque::new();
        let mut cache = EventCache::default();
        while rx.recv_batch(&mut batch).await {
            let taken = batch.len();
            while let Some(item) = batch.pop_front() {
                dispatch_one(&listeners, &mut cache, item).await;
            }
            rx.done(taken);
            // Kept only within a batch: a listener removed while the socket is quiet is
            // dropped now (with what it holds), not when the next event comes.
            cache = EventCache::default();
        }
    });
    tx
}

async fn dispatch_one(listeners: &Listeners, cache: &mut EventCache, item: Dispatch) {
    // Held events are older than anything still queued: they go first. A plain load first:
    // the flag is almost never set, and a swap is a write to a shared cache line per event.
    if listeners.replay.load(Ordering::Acquire) && listeners.replay.swap(false, Ordering::AcqRel) {
        replay_held(listeners, cache).await;
    }
    match item {
        Dispatch::Event(event) => dispatch_event(listeners, cache, event).await,
        Dispatch::Replay => {}
        Dispatch::Outgoing(event) => {
            let lists = listeners.snapshot(|lists| [Some(&mut lists.any_outgoing)]);
            call_all(&lists, event).await;
        }
        Dispatch::Connect => {
            let lists = listeners.snapshot(|lists| [Some(&mut lists.connect)]);
            call_all(&lists, ()).await;
        }
        Dispatch::ConnectError(error) => {
            let lists = listeners.snapshot(|lists| [Some(&mut lists.connect_error)]);
            call_all(&lists, error).await;
        }
        Dispatch::PayloadError(error) => {
            let lists = listeners.snapshot(|lists| [Some(&mut lists.payload_error)]);
            call_all(&lists, error).await;
        }
        Dispatch::Disconnect(reason) => {
            let lists = listeners.snapshot(|lists| [Some(&mut lists.disconnect)]);
            call_all(&lists, reason).await;
        }
        Dispatch::Run(f) => f(),
    }
}

/// Calls the listeners of an event, or holds it when it has none.
async fn dispatch_event(listeners: &Listeners, cache: &mut EventCache, event: Event) {
    let lists = cache.lists_for(listeners, event.name());
    if lists.iter().flatten().all(|list| list.is_empty()) {
        if listeners.hold(event, cache.version) {
            // A listener came while this event was looked up: offer it now.
            listeners.replay.store(false, Ordering::Release);
            replay_held(listeners, cache).await;
        }
        return;
    }
    call_all(lists, event).await;
}

/// Offers the held events again, in order: those that now have a listener are delivered,
/// the others stay held (until they expire).
async fn replay_held(listeners: &Listeners, cache: &mut EventCache) {
    let held = {
        let mut held = listeners.lock_held();
        expire(&mut held, Instant::now());
        std::mem::take(&mut *held)
    };
    let mut still_held = VecDeque::new();
    for (at, event) in held {
        let lists = cache.lists_for(listeners, event.name());
        if lists.iter().flatten().all(|list| list.is_empty()) {
            still_held.push_back((at, event));
        } else {
            call_all(lists, event).await;
        }
    }
    if !still_held.is_empty() {
        // In front of what was held meanwhile (nothing: this task is the one that holds).
        let mut held = listeners.lock_held();
        still_held.append(&mut held);
        *held = still_held;
    }
}

/// The lists the last event called (catch-all, then its own), kept while no listener
/// changed: a burst of one event takes no lock per event, and the lists are lent to the
/// call rather than cloned (no reference count up and down per list and event). Lists with
/// `once` listeners are never kept (taking their snapshot changes them).
#[derive(Default)]
struct EventCache {
    version: u64,
    name: Option<Arc<str>>,
    lists: [Option<Snapshot<Event>>; 2],
}

impl EventCache {
    fn lists_for(&mut self, listeners: &Listeners, name: &str) -> &[Option<Snapshot<Event>>; 2] {
        let fresh = self.name.as_deref() == Some(name)
            && listeners.version.load(Ordering::Acquire) == self.version;
        if !fresh {
            let mut guard = listeners.lock_lists();
            let lists = &mut *guard;
            let own = lists.events.iter_mut().find(|(n, _)| **n == *name);
            let own_name = own.as_ref().map(|(n, _)| n.clone());
            let own = own.map(|(_, list)| list);
            let cacheable = !lists.any.has_once && own.as_ref().is_none_or(|l| !l.has_once);
            let taken = [Some(&mut lists.any), own].map(|list| list.map(List::take_snapshot));
            self.name = own_name.filter(|_| cacheable);
            // Read under the lock, after the `once` listeners were taken out.
            self.version = listeners.version.load(Ordering::Acquire);
            self.lists = taken;
        }
        &self.lists
    }
}

/// Calls each listener of the lists in turn; the argument is cloned for all but the last.
/// A panicking listener is reported and does not take the dispatcher (and later events)
/// with it.
async fn call_all<A: Clone>(lists: &[Option<Snapshot<A>>], arg: A) {
    let total: usize = lists.iter().flatten().map(|list| list.len()).sum();
    let mut called = 0;
    for list in lists.iter().flatten() {
        for entry in list.iter() {
            called += 1;
            if called == total {
                call_one(&entry.handler, arg).await;
                return;
            }
            call_one(&entry.handler, arg.clone()).await;
        }
    }
}

async fn call_one<A>(handler: &Handler<A>, arg: A) {
    let call = std::panic::AssertUnwindSafe(async { handler(arg).await });
    if call.catch_unwind().await.is_err() {
        tracing::error!("a socket listener panicked; the socket goes on");
    }
}
