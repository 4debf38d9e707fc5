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
use super::listeners::{Dispatch, Listeners};
use crate::manager::Manager;
use crate::protocol::packet::Encoded;
use crate::protocol::Args;
use crate::{Error, Result};

/// Where the `auth` payload of a CONNECT comes from.
#[derive(Clone)]
pub(crate) enum Auth {
    None,
    Static(serde_json::Value),
    Fn(Arc<dyn Fn() -> serde_json::Value + Send + Sync>),
}

impl Auth {
    pub(crate) fn value(&self) -> Option<serde_json::Value> {
        match self {
            Auth::None => None,
            Auth::Static(value) => Some(value.clone()),
            Auth::Fn(f) => Some(f()),
        }
    }
}

/// A packet on its way out.
pub(crate) struct Outgoing {
    /// Emission order, to keep the buffer in order whatever path a packet took.
    pub(crate) seq: u64,
    pub(crate) packet: Encoded,
    pub(crate) volatile: bool,
    /// The ack id the packet carries, if it awaits one.
    pub(crate) ack: Option<u64>,
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

/// One namespace socket.
pub(crate) struct SocketShared {
    pub(crate) nsp: Arc<str>,
    pub(crate) manager: Manager,
    pub(crate) auth: Auth,
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) retries: u32,
    pub(crate) max_buffered: usize,
    /// Mirrors `Buffer::connected` for lock-free reads.
    connected: AtomicBool,
    /// Mirrors `Buffer::connected` for those who wait for it (emits with retries).
    link: watch::Sender<bool>,
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
        manager: Manager,
        auth: Auth,
        ack_timeout: Option<Duration>,
        retries: u32,
        max_buffered: usize,
    ) -> Self {
        let listeners = Arc::new(Listeners::default());
        SocketShared {
            nsp,
            manager,
            auth,
            ack_timeout,
            retries,
            max_buffered,
            connected: AtomicBool::new(false),
            link: watch::Sender::new(false),
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

    /// Sends a packet, or buffers it while the namespace is not connected. A volatile
    /// packet is dropped instead of buffered, and an ack it awaited fails at once.
    pub(crate) fn send_packet(
        self: &Arc<Self>,
        packet: Encoded,
        volatile: bool,
        ack: Option<u64>,
    ) -> Result<()> {
        let out = Outgoing {
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            packet,
            volatile,
            ack,
        };
        let mut buffer = lock(&self.buffer);
        if buffer.connected {
            drop(buffer);
            return self.manager.send_packet(self.clone(), out);
        }
        if volatile {
            drop(buffer);
            self.drop_volatile(&out);
            return Ok(());
        }
        if buffer.packets.len() >= self.max_buffered {
            return Err(Error::BufferFull(buffer.packets.len()));
        }
        buffer.packets.push_back(out);
        Ok(())
    }

    /// A volatile packet is not sent: its ack, if any, will never come.
    fn drop_volatile(&self, out: &Outgoing) {
        if let Some(id) = out.ack {
            if let Some(tx) = lock(&self.acks).remove(&id) {
                let _ = tx.send(Err(Error::Disconnected));
            }
        }
    }

    /// Puts back a packet that reached the connection task after the namespace went
    /// away, in emission order (a volatile one is dropped).
    pub(crate) fn rebuffer(&self, out: Outgoing) {
        if out.volatile {
            self.drop_volatile(&out);
            return;
        }
        let mut buffer = lock(&self.buffer);
        let at = buffer.packets.partition_point(|p| p.seq < out.seq);
        buffer.packets.insert(at, out);
    }

    /// Marks the namespace connected and takes the buffered packets, atomically with
    /// respect to emits.
    pub(crate) fn open_and_drain(&self) -> VecDeque<Outgoing> {
        let mut buffer = lock(&self.buffer);
        buffer.connected = true;
        self.connected.store(true, Ordering::Release);
        self.link.send_replace(true);
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
        left
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

    /// Marks the namespace not connected: emits buffer from now on.
    pub(crate) fn close_buffer(&self) {
        let mut buffer = lock(&self.buffer);
        buffer.connected = false;
        self.connected.store(false, Ordering::Release);
        self.link.send_replace(false);
    }

    /// Waits until the namespace is connected (as long as it takes: socket.io-client's
    /// queue of emits with retries waits the same way).
    pub(crate) async fn wait_connected(&self) {
        let _ = self.link.subscribe().wait_for(|connected| *connected).await;
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
        let buffered: Vec<u64> = lock(&self.buffer)
            .packets
            .iter()
            .filter_map(|p| p.ack)
            .collect();
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
            // No listener was ever registered: there is nobody to call.
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
