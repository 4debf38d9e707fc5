//! The state of one namespace socket, shared by its handles, its dispatcher and the
//! connection task.
//!
//! The send buffer and the `connected` flag change together under one lock: an emit either
//! sees the socket connected and goes straight to the connection task, or lands in the
//! buffer, which the connection task drains, in order, when the namespace connects.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::handoff;
use super::link::Link;
use super::listeners::{Dispatch, Listeners};
use super::OutgoingEvent;
use crate::engine::HIGH_WATER;
use crate::protocol::packet::Encoded;
use crate::protocol::Args;
use crate::{Error, Result};

/// What an `auth_fn` gives: the payload, computed when a CONNECT is about to be sent.
pub(crate) type AuthFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = serde_json::Value> + Send>>;

/// Where the `auth` payload of a CONNECT comes from.
#[derive(Clone)]
pub(crate) enum Auth {
    None,
    Static(serde_json::Value),
    /// Evaluated at every CONNECT, in a task of its own (see the connection task).
    Fn(Arc<dyn Fn() -> AuthFuture + Send + Sync>),
    /// Given a value that is not a JSON object: `connect()` fails with this message.
    Invalid(String),
}

/// A packet on its way out.
pub(crate) struct Outgoing {
    /// Emission order, to keep the buffer in order whatever path a packet took.
    pub(crate) seq: u64,
    pub(crate) packet: Encoded,
    pub(crate) volatile: bool,
    /// The ack id the packet carries, if it awaits one.
    pub(crate) ack: Option<u64>,
    /// The namespace session (see [`SocketShared::session`]) the packet was handed over
    /// in. The connection task sends it only in that session: a packet that reaches it
    /// after a reconnection is treated as one that arrived while disconnected (its emitter
    /// may already have been told its ack failed).
    pub(crate) session: u64,
    /// An answer to the server's ack request: it means something only to the session that
    /// asked (`session`), so it is never buffered for another.
    pub(crate) is_answer: bool,
    /// What `on_any_outgoing` listeners see, shown when the packet is sent.
    pub(crate) shown: Option<OutgoingEvent>,
}

impl Outgoing {
    /// The packet's weight in the flow control (see [`crate::engine::weight`]): the same
    /// wherever it is counted, since the packet does not change.
    pub(crate) fn weight(&self) -> usize {
        let attachments: usize = self.packet.attachments.iter().map(|a| a.len()).sum();
        crate::engine::weight(self.packet.text.len() + attachments)
    }

    /// Whether the packet is dropped rather than kept for a later connection.
    fn is_ephemeral(&self) -> bool {
        self.volatile || self.is_answer
    }
}

/// Where a namespace connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not asked to connect, or disconnected by either side.
    Idle,
    /// Asked to connect; the CONNECT is sent or waits for the engine.
    Connecting,
    /// The server accepted the CONNECT.
    Connected,
}

/// What changes as the socket connects and disconnects.
pub(crate) struct State {
    pub(crate) phase: Phase,
    /// Whether the socket wants to be connected (socket.io: `active`).
    pub(crate) active: bool,
    pub(crate) id: Option<String>,
    pub(crate) pid: Option<String>,
    pub(crate) offset: Option<String>,
    pub(crate) recovered: bool,
    /// CONNECTs sent and not answered yet, on connection number `.0` of the manager: only
    /// the answer to the last one counts (a socket that left and came back while its first
    /// CONNECT was in flight).
    pub(crate) unanswered: (u64, u32),
    /// Events received before the CONNECT answer, delivered right after it.
    pub(crate) received: Vec<super::Event>,
    /// `connect()` calls waiting for the outcome.
    pub(crate) waiters: Vec<oneshot::Sender<Result<()>>>,
}

impl State {
    /// The socket stops: not connected, not active, no id; it connects again only when
    /// asked to.
    pub(crate) fn retire(&mut self) {
        self.phase = Phase::Idle;
        self.active = false;
        self.id = None;
    }
}

/// The send buffer: packets emitted while the namespace is not connected.
pub(crate) struct Buffer {
    pub(crate) connected: bool,
    pub(crate) packets: VecDeque<Outgoing>,
}

pub(crate) type AckSender = oneshot::Sender<Result<Args>>;

/// What waiters of a socket watch: connected, and stopped (it was active and will not
/// connect by itself any more; a socket never asked to connect is not stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LinkStatus {
    pub(crate) connected: bool,
    pub(crate) stopped: bool,
}

/// One namespace socket.
pub(crate) struct SocketShared {
    pub(crate) nsp: Arc<str>,
    pub(crate) link: Link,
    pub(crate) auth: Auth,
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) retries: u32,
    pub(crate) max_buffered: usize,
    /// Mirrors `Buffer::connected` for lock-free reads.
    connected: AtomicBool,
    /// Counts the namespace sessions: one more at every CONNECT answer.
    session: AtomicU64,
    /// Whether the namespace is connected, and whether it stopped, for those who wait on
    /// either (emits with retries).
    status: watch::Sender<LinkStatus>,
    /// Emits with retries take turns (socket.io-client's queue): one in flight at a time,
    /// in call order, so a lost try delays the emits after it instead of being overtaken.
    pub(crate) retry_turn: tokio::sync::Mutex<()>,
    buffer: Mutex<Buffer>,
    state: Mutex<State>,
    acks: Mutex<HashMap<u64, AckSender>>,
    next_ack: AtomicU64,
    next_seq: AtomicU64,
    /// The dispatcher task, started with the first thing it has to call (a socket that
    /// never gets a listener never has one: thousands of idle sockets stay small).
    dispatcher: OnceLock<handoff::Sender<Dispatch>>,
    pub(crate) listeners: Arc<Listeners>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl SocketShared {
    pub(crate) fn new(
        nsp: Arc<str>,
        link: Link,
        auth: Auth,
        ack_timeout: Option<Duration>,
        retries: u32,
        max_buffered: usize,
    ) -> Self {
        let listeners = Arc::new(Listeners::default());
        SocketShared {
            nsp,
            link,
            auth,
            ack_timeout,
            retries,
            max_buffered,
            connected: AtomicBool::new(false),
            session: AtomicU64::new(0),
            status: watch::Sender::new(LinkStatus::default()),
            retry_turn: tokio::sync::Mutex::new(()),
            buffer: Mutex::new(Buffer {
                connected: false,
                packets: VecDeque::new(),
            }),
            state: Mutex::new(State {
                phase: Phase::Idle,
                active: false,
                id: None,
                pid: None,
                offset: None,
                recovered: false,
                unanswered: (0, 0),
                received: Vec::new(),
                waiters: Vec::new(),
            }),
            acks: Mutex::new(HashMap::new()),
            next_ack: AtomicU64::new(0),
            next_seq: AtomicU64::new(0),
            dispatcher: OnceLock::new(),
            listeners,
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// The current namespace session (see [`Outgoing::session`]).
    pub(crate) fn session(&self) -> u64 {
        self.session.load(Ordering::Acquire)
    }

    /// Sends a packet, or buffers it while the namespace is not connected. A volatile
    /// packet is dropped instead of buffered (or when the connection is far behind), and an
    /// ack it awaited fails at once. An ack answer is sent only to the session it answers.
    pub(crate) fn send_packet(self: &Arc<Self>, mut out: Outgoing) -> Result<()> {
        let mut buffer = lock(&self.buffer);
        // The session changes under the buffer's lock (`open_and_drain`): read here, it is
        // the session this packet is handed over in.
        let session = self.session();
        let stale = out.is_answer && out.session != session;
        if buffer.connected && !stale {
            drop(buffer);
            out.session = session;
            if out.volatile && self.link.backlog() >= HIGH_WATER {
                self.drop_volatile(&out);
                return Ok(());
            }
            return self.link.send_packet(self.clone(), out);
        }
        if out.is_answer {
            // socket.io-client writes an ack out at once or not at all.
            return Err(Error::Disconnected);
        }
        if out.volatile {
            drop(buffer);
            self.drop_volatile(&out);
            return Ok(());
        }
        if let Some(id) = out.ack {
            // Its ack already failed (a disconnection while the emit waited for room): the
            // emitter was told it was not delivered, so it never is. Checked under the
            // buffer's lock, which `fail_sent_acks` holds too.
            if !lock(&self.acks).contains_key(&id) {
                return Ok(());
            }
        }
        if buffer.packets.len() >= self.max_buffered {
            return Err(Error::BufferFull(buffer.packets.len()));
        }
        buffer.packets.push_back(out);
        Ok(())
    }

    /// A packet for the send buffer, numbered in emission order.
    pub(crate) fn outgoing(
        &self,
        packet: Encoded,
        volatile: bool,
        ack: Option<u64>,
        shown: Option<OutgoingEvent>,
    ) -> Outgoing {
        Outgoing {
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            packet,
            volatile,
            ack,
            session: 0,
            is_answer: false,
            shown,
        }
    }

    /// Waits while the connection is far behind (see `Link::room`).
    pub(crate) async fn room(&self) {
        self.link.room().await;
    }

    /// A volatile packet is not sent: its ack, if any, will never come.
    pub(crate) fn drop_volatile(&self, out: &Outgoing) {
        if let Some(id) = out.ack {
            if let Some(tx) = lock(&self.acks).remove(&id) {
                let _ = tx.send(Err(Error::Disconnected));
            }
        }
    }

    /// Puts back a packet that reached the connection task after the namespace went
    /// away, in emission order. Dropped instead: a volatile packet, an ack answer (it
    /// answers a session that is gone), and a packet whose ack was already failed (its
    /// emitter was told it was not delivered, so it must not be delivered later).
    pub(crate) fn rebuffer(&self, out: Outgoing) {
        if out.is_ephemeral() {
            self.drop_volatile(&out);
            return;
        }
        if let Some(id) = out.ack {
            if !lock(&self.acks).contains_key(&id) {
                return;
            }
        }
        let mut buffer = lock(&self.buffer);
        let at = buffer.packets.partition_point(|p| p.seq < out.seq);
        buffer.packets.insert(at, out);
    }

    /// Marks the namespace connected and takes the buffered packets, atomically with
    /// respect to emits.
    pub(crate) fn open_and_drain(&self) -> VecDeque<Outgoing> {
        // Events held for a listener belong to the session that ended.
        self.listeners.clear_held();
        let mut buffer = lock(&self.buffer);
        self.session.fetch_add(1, Ordering::AcqRel);
        buffer.connected = true;
        self.connected.store(true, Ordering::Release);
        self.status.send_modify(|s| s.connected = true);
        std::mem::take(&mut buffer.packets)
    }

    /// The client leaves the namespace: not active, not connected, emits buffer from now
    /// on. Returns the phase it was in and the `connect()` calls that were waiting.
    pub(crate) fn leave(&self) -> (Phase, Vec<oneshot::Sender<Result<()>>>) {
        let left = {
            let mut state = self.state();
            let was = state.phase;
            state.retire();
            state.received.clear();
            (was, std::mem::take(&mut state.waiters))
        };
        self.close_buffer();
        self.set_active(false);
        left
    }

    /// The socket stops (see [`State::retire`]), and its waiters learn it.
    pub(crate) fn retire(&self) {
        self.state().retire();
        self.set_active(false);
    }

    /// Publishes whether the socket is active (it will connect by itself).
    pub(crate) fn set_active(&self, active: bool) {
        self.status.send_if_modified(|s| {
            let changed = s.stopped == active;
            s.stopped = !active;
            changed
        });
    }

    /// Counts a CONNECT sent on connection `generation`.
    pub(crate) fn connect_sent(state: &mut State, generation: u64) {
        if state.unanswered.0 != generation {
            state.unanswered = (generation, 0);
        }
        state.unanswered.1 += 1;
    }

    /// Counts an answer to a CONNECT on connection `generation`; true when it answers the
    /// last CONNECT sent.
    pub(crate) fn connect_answered(state: &mut State, generation: u64) -> bool {
        if state.unanswered.0 != generation || state.unanswered.1 == 0 {
            return false;
        }
        state.unanswered.1 -= 1;
        state.unanswered.1 == 0
    }

    /// The namespace session ended without the client asking (the connection dropped, the
    /// server disconnected the socket, the manager closed): not connected, and packets still
    /// on their way to the connection task belong to a session that is over.
    pub(crate) fn end_session(&self) {
        let buffer = lock(&self.buffer);
        self.session.fetch_add(1, Ordering::AcqRel);
        self.mark_disconnected(buffer);
    }

    /// Marks the namespace not connected: emits buffer from now on.
    pub(crate) fn close_buffer(&self) {
        self.mark_disconnected(lock(&self.buffer));
    }

    fn mark_disconnected(&self, mut buffer: MutexGuard<'_, Buffer>) {
        buffer.connected = false;
        self.connected.store(false, Ordering::Release);
        self.status.send_modify(|s| s.connected = false);
    }

    /// Waits until the socket, seen active (or not yet stopped) first, stops: it will not
    /// connect by itself any more (a refusal, `disconnect()`, the manager closed, the
    /// reconnection given up or off). Also resolves when the socket is gone.
    pub(crate) fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut status = self.status.subscribe();
        // Read now, not when first polled: a stop between now and then counts.
        let stopped_now = status.borrow_and_update().stopped;
        async move {
            if stopped_now && status.wait_for(|s| !s.stopped).await.is_err() {
                return;
            }
            let _ = status.wait_for(|s| s.stopped).await;
        }
    }

    /// Waits until the namespace is connected; fails with [`Error::Disconnected`] once the
    /// socket stopped (nothing will connect it).
    pub(crate) async fn wait_connected(&self) -> Result<()> {
        let mut status = self.status.subscribe();
        let outcome = status
            .wait_for(|s| s.connected || s.stopped)
            .await
            .map(|s| s.connected);
        match outcome {
            Ok(true) => Ok(()),
            _ => Err(Error::Disconnected),
        }
    }

    /// A fresh ack id; ids only grow, so they never collide while acks are outstanding.
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn register_ack(&self, id: u64, tx: AckSender) {
        lock(&self.acks).insert(id, tx);
    }

    /// Forgets an ack nobody awaits any more (timed out, or its emit dropped), and the
    /// packet carrying it if that still waits in the send buffer: socket.io does not send
    /// a request whose answer can no longer be received.
    pub(crate) fn forget_ack(&self, id: u64) {
        if lock(&self.acks).remove(&id).is_some() {
            let mut buffer = lock(&self.buffer);
            if !buffer.packets.is_empty() {
                buffer.packets.retain(|p| p.ack != Some(id));
            }
        }
    }

    /// Delivers an ack from the server; an unknown id (timed out, or never sent) is ignored.
    pub(crate) fn resolve_ack(&self, id: u64, args: Args) {
        if let Some(tx) = lock(&self.acks).remove(&id) {
            let _ = tx.send(Ok(args));
        }
    }

    /// Fails the pending acks at a disconnect, except those whose packet still waits in
    /// the send buffer: those will be sent after the reconnection.
    pub(crate) fn fail_sent_acks(&self) {
        // The buffer stays locked while the acks fail: an emit that buffers its packet now
        // either came first (its ack is spared) or sees its ack failed (see `send_packet`).
        let buffer = lock(&self.buffer);
        let buffered: Vec<u64> = buffer.packets.iter().filter_map(|p| p.ack).collect();
        let mut acks = lock(&self.acks);
        let failed: Vec<u64> = acks
            .keys()
            .filter(|id| !buffered.contains(id))
            .copied()
            .collect();
        for id in failed {
            if let Some(tx) = acks.remove(&id) {
                let _ = tx.send(Err(Error::Disconnected));
            }
        }
    }

    /// Hands something to the dispatcher (listeners); gives how many items its listeners
    /// have still to handle.
    pub(crate) fn dispatch(&self, item: Dispatch) -> usize {
        // Read before deciding that nobody listens (see `Listeners::hold`).
        let seen = self.listeners.version();
        if let Some(tx) = self.dispatcher.get() {
            return tx.send(item).unwrap_or(0);
        }
        match item {
            // Nothing is queued before it: running it now keeps the order.
            Dispatch::Run(f) => {
                f();
                0
            }
            item if self.listeners.any_registered() => {
                let tx = self
                    .dispatcher
                    .get_or_init(|| super::listeners::spawn_dispatcher(self.listeners.clone()));
                tx.send(item).unwrap_or(0)
            }
            // No listener was ever registered: an event waits for one (see `HOLD`).
            Dispatch::Event(event) => {
                if self.listeners.hold(event, seen) {
                    // A listener came in the meantime: its dispatcher offers the event.
                    self.dispatch(Dispatch::Replay);
                }
                0
            }
            _ => 0,
        }
    }

    /// Waits until the listeners have fewer than `mark` items still to handle.
    pub(crate) async fn dispatched_below(&self, mark: usize) {
        if let Some(tx) = self.dispatcher.get() {
            tx.wait_below(mark).await;
        }
    }

    /// Resolves the `connect()` calls waiting for the outcome, through the dispatcher:
    /// after the listeners of what was dispatched before (`connect`, `connect_error`) have
    /// run, so a listener registered once `connect()` returned never sees that connect.
    pub(crate) fn resolve_waiters(&self, outcome: impl Fn() -> Result<()> + Send + 'static) {
        let waiters = std::mem::take(&mut self.state().waiters);
        if waiters.is_empty() {
            return;
        }
        let _ = self.dispatch(Dispatch::Run(Box::new(move || {
            for waiter in waiters {
                let _ = waiter.send(outcome());
            }
        })));
    }
}
