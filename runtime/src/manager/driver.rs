//! The connection task: the one owner of the Engine.IO session, the namespace states and
//! the reconnection loop. Handles talk to it through [`Command`]s; it hands events to the
//! sockets' dispatchers and never runs user code, so nothing a listener does can delay a
//! pong.

use std::borrow::Cow;
use std::sync::Arc;

use futures_util::FutureExt as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::backoff::Backoff;
use super::{Command, ManagerEvent, Observed, Options};
use crate::engine::{Engine, EngineConfig, EngineEvent};
use crate::protocol::engine::Frame;
use crate::protocol::packet::{self, Body, ConnectErrorData, ConnectReply, PacketKind};
use crate::protocol::{Args, ProtocolError};
use crate::socket::shared::{Outgoing, Phase, SocketShared};
use crate::socket::{Dispatch, Event, Name};
use crate::{ConnectError, DisconnectReason, Error};

/// At most this many events are taken per wake-up beyond the first (see
/// `take_ready_events`).
const READY_EVENTS_PER_WAKE: usize = 64;

/// A binary packet whose attachments are still arriving.
struct PendingBinary {
    socket: Option<Arc<SocketShared>>,
    kind: PacketKind,
    name: Name,
    id: Option<u64>,
    args: Args,
    expected: usize,
}

/// What woke the task up.
enum Step {
    Commands,
    Stopped,
    Engine(EngineEvent),
    ReconnectDue,
    /// The listeners of the socket the reading waited for caught up.
    Drained,
}

pub(crate) struct Driver {
    cfg: Arc<EngineConfig>,
    opts: Options,
    observed: Arc<Observed>,
    rx: mpsc::UnboundedReceiver<Command>,
    engine: Option<Engine>,
    /// The active sockets: connected, or wanting to be.
    sockets: Vec<Arc<SocketShared>>,
    backoff: Backoff,
    /// When the next reconnection attempt is due, while the loop waits.
    reconnect_at: Option<Instant>,
    /// Whether a reconnection loop is running (socket.io: `_reconnecting`).
    reconnecting: bool,
    /// A socket asked to connect while no connection is open.
    open_requested: bool,
    pending: Option<PendingBinary>,
    /// Counts the connections opened, so answers are matched to the connection that asked.
    generation: u64,
    /// The socket whose listeners are `max_queued_events` behind: nothing is read until
    /// they catch up.
    paused_on: Option<Arc<SocketShared>>,
}

impl Driver {
    pub(crate) fn new(
        cfg: Arc<EngineConfig>,
        opts: Options,
        observed: Arc<Observed>,
        rx: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        Driver {
            cfg,
            opts,
            observed,
            rx,
            engine: None,
            sockets: Vec::new(),
            backoff: Backoff::default(),
            reconnect_at: None,
            reconnecting: false,
            open_requested: false,
            pending: None,
            generation: 0,
            paused_on: None,
        }
    }

    pub(crate) async fn run(mut self) {
        // Grows with the largest batch seen, up to 256 commands: an idle connection keeps
        // none of that (a thousand idle managers would otherwise hold 24 KiB each).
        let mut batch = Vec::new();
        loop {
            if self.open_requested && self.engine.is_none() && !self.reconnecting {
                self.open_requested = false;
                // Boxed: opening is rare and its future large; kept inline it would make
                // every idle connection task carry it.
                Box::pin(self.open(false)).await;
                self.flush().await;
                continue;
            }
            let step = tokio::select! {
                n = self.rx.recv_many(&mut batch, 256) => if n == 0 { Step::Stopped } else { Step::Commands },
                event = next_event(&mut self.engine), if self.paused_on.is_none() => Step::Engine(event),
                () = caught_up(self.paused_on.as_deref(), self.opts.max_queued_events) => Step::Drained,
                () = sleep_until(self.reconnect_at) => Step::ReconnectDue,
            };
            match step {
                Step::Stopped => break,
                Step::Commands => {
                    let packets = batch
                        .iter()
                        .filter(|c| matches!(c, Command::Packet(..)))
                        .count();
                    for command in batch.drain(..) {
                        self.handle(command).await;
                    }
                    self.observed.taken(packets);
                }
                Step::Engine(event) => {
                    self.on_engine_event(event).await;
                    self.take_ready_events().await;
                }
                Step::ReconnectDue => {
                    self.reconnect_at = None;
                    Box::pin(self.open(true)).await;
                }
                Step::Drained => self.paused_on = None,
            }
            self.flush().await;
        }
        if let Some(engine) = self.engine.take() {
            engine.close().await;
        }
    }

    // ----- commands -------------------------------------------------------------------

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Packet(packet) => {
                let (socket, out) = *packet;
                if socket.is_connected() && self.engine.is_some() {
                    self.queue_packet(out);
                } else {
                    socket.rebuffer(out);
                }
            }
            Command::Connect(socket) => self.connect_socket(socket),
            Command::Disconnect(socket, was) => self.disconnect_socket(&socket, was).await,
            Command::Close => self.close(DisconnectReason::ForcedClose).await,
            Command::StopReconnecting => self.on_reconnection_off(),
        }
    }

    fn connect_socket(&mut self, socket: Arc<SocketShared>) {
        let phase = {
            let mut state = socket.state();
            state.active = true;
            state.phase
        };
        if phase == Phase::Connected {
            socket.resolve_waiters(|| Ok(()));
            return;
        }
        if !self.sockets.iter().any(|s| Arc::ptr_eq(s, &socket)) {
            self.sockets.push(socket.clone());
        }
        if self.engine.is_some() {
            if phase == Phase::Idle {
                self.send_connect(&socket);
            }
        } else {
            socket.state().phase = Phase::Connecting;
            // During a reconnection loop the next attempt brings this socket along
            // (socket.io does not reset the loop for a new socket).
            if !self.reconnecting {
                self.open_requested = true;
            }
        }
    }

    /// Sends the namespace CONNECT, with the auth payload and, when the server recovers
    /// sessions, the private session id and the last offset.
    fn send_connect(&mut self, socket: &SocketShared) {
        let mut auth = socket.auth.value();
        let text = {
            let mut state = socket.state();
            state.phase = Phase::Connecting;
            SocketShared::connect_sent(&mut state, self.generation);
            if let Some(pid) = &state.pid {
                let mut object = match auth.take() {
                    Some(serde_json::Value::Object(map)) => map,
                    _ => serde_json::Map::new(),
                };
                object.insert("pid".into(), pid.clone().into());
                if let Some(offset) = &state.offset {
                    object.insert("offset".into(), offset.clone().into());
                }
                auth = Some(object.into());
            }
            packet::encode_connect(&socket.nsp, auth.as_ref())
        };
        if let Some(engine) = &mut self.engine {
            engine.queue(Frame::Text(text));
        }
    }

    /// The client left a namespace (its state already changed, in `Socket::disconnect`).
    async fn disconnect_socket(&mut self, socket: &Arc<SocketShared>, was: Phase) {
        // Connecting on an open connection means the CONNECT is on its way: the server will
        // have the socket, so it is told to drop it too.
        let in_flight = {
            let state = socket.state();
            state.unanswered.0 == self.generation && state.unanswered.1 > 0
        };
        if was == Phase::Connected || (was == Phase::Connecting && in_flight) {
            if let Some(engine) = &mut self.engine {
                engine.queue(Frame::Text(packet::encode_disconnect(&socket.nsp)));
            }
        }
        socket.fail_sent_acks();
        if was == Phase::Connected {
            socket.dispatch(Dispatch::Disconnect(DisconnectReason::IoClientDisconnect));
        }
        // A `connect()` may already have followed; its command comes next.
        if !socket.state().active {
            self.sockets.retain(|s| !Arc::ptr_eq(s, socket));
            self.close_if_unused();
        }
    }

    /// Closes the connection when no socket wants it any more (socket.io closes the
    /// manager when its last active socket goes).
    fn close_if_unused(&mut self) {
        if self.sockets.is_empty() {
            self.stop_reconnecting();
            self.open_requested = false;
            if let Some(engine) = self.engine.take() {
                // Closing flushes what is queued (a last DISCONNECT) and may wait for an
                // in-flight poll: off this task, which has nothing left to do with it.
                tokio::spawn(engine.close());
                self.observed.set_status(None, None);
                self.observed
                    .emit(ManagerEvent::Close(DisconnectReason::ForcedClose));
            }
        }
    }

    fn stop_reconnecting(&mut self) {
        self.reconnect_at = None;
        self.reconnecting = false;
        self.backoff.reset();
    }

    // ----- opening and reconnecting ---------------------------------------------------

    async fn open(&mut self, is_reconnect: bool) {
        if is_reconnect {
            if self.sockets.is_empty() {
                self.stop_reconnecting();
                return;
            }
            self.observed
                .emit(ManagerEvent::ReconnectAttempt(self.backoff.attempts));
        }
        // Commands are still served while the connection opens: a socket that disconnects,
        // or a manager that closes, must not wait for (or be reconnected by) this attempt.
        let opening = tokio::time::timeout(self.opts.timeout, Engine::open(self.cfg.clone()));
        tokio::pin!(opening);
        let result = loop {
            tokio::select! {
                result = &mut opening => break result,
                command = self.rx.recv() => {
                    let Some(command) = command else { return };
                    let packet = matches!(command, Command::Packet(..));
                    self.handle(command).await;
                    self.observed.taken(usize::from(packet));
                    if self.sockets.is_empty() {
                        return;
                    }
                }
            }
        };
        let result = match result {
            Ok(Ok(engine)) => Ok(engine),
            Ok(Err(e)) => Err(Error::from(e)),
            Err(_) => Err(Error::Timeout),
        };
        match result {
            Ok(engine) => self.on_open(engine, is_reconnect),
            Err(error) => self.on_open_error(&error, is_reconnect),
        }
    }

    fn on_open(&mut self, engine: Engine, is_reconnect: bool) {
        self.generation += 1;
        self.observed
            .set_status(Some(engine.handshake().sid.clone()), engine.transport());
        self.engine = Some(engine);
        self.observed.emit(ManagerEvent::Open);
        if is_reconnect {
            let attempts = self.backoff.attempts;
            self.stop_reconnecting();
            self.observed.emit(ManagerEvent::Reconnect(attempts));
        }
        for socket in self.sockets.clone() {
            self.send_connect(&socket);
        }
    }

    fn on_open_error(&mut self, error: &Error, is_reconnect: bool) {
        let message = error.to_string();
        tracing::debug!("connection failed: {message}");
        self.observed.emit(ManagerEvent::Error(message.clone()));
        // socket.io names an open timeout "timeout" in the connect_error it reports.
        let message = match error {
            Error::Timeout => "timeout".to_owned(),
            _ => message,
        };
        for socket in &self.sockets {
            // A socket that left while this attempt ran (its command is still queued) is
            // not told: a `connect()` it made since waits for the next attempt.
            if !socket.state().active {
                continue;
            }
            socket.dispatch(Dispatch::ConnectError(ConnectError {
                message: message.clone(),
                data: None,
            }));
            let error = error.duplicate();
            socket.resolve_waiters(move || Err(error.duplicate()));
        }
        if matches!(error, Error::LegacyServer) {
            // Another attempt cannot change the server's protocol.
            self.stop_reconnecting();
            self.deactivate_all();
            return;
        }
        if is_reconnect {
            self.reconnecting = false;
            self.schedule_reconnect();
            self.observed.emit(ManagerEvent::ReconnectError(message));
        } else if self.backoff.attempts == 0 {
            self.schedule_reconnect();
        }
    }

    /// Reconnection was turned off while running. A loop waiting for its next attempt
    /// stops, and its sockets with it (their `connect()` calls fail); an attempt under
    /// way finishes, and its failure then ends the loop (see `schedule_reconnect`).
    fn on_reconnection_off(&mut self) {
        if self.reconnect_at.is_none() || self.observed.reconnection().enabled {
            return;
        }
        self.stop_reconnecting();
        for socket in &self.sockets {
            socket.resolve_waiters(|| Err(Error::Disconnected));
        }
        self.deactivate_all();
    }

    /// Plans the next attempt, or gives up after the last one.
    fn schedule_reconnect(&mut self) {
        let settings = self.observed.reconnection();
        if self.reconnecting || !settings.enabled || self.sockets.is_empty() {
            if !settings.enabled {
                self.deactivate_all();
            }
            return;
        }
        if settings
            .attempts
            .is_some_and(|max| self.backoff.attempts >= max)
        {
            self.backoff.reset();
            self.observed.emit(ManagerEvent::ReconnectFailed);
            self.deactivate_all();
            return;
        }
        let delay = self.backoff.next_delay(&settings);
        tracing::debug!("reconnecting in {delay:?}");
        self.reconnecting = true;
        self.reconnect_at = Some(Instant::now() + delay);
    }

    /// No more attempts: every socket stops being active.
    fn deactivate_all(&mut self) {
        for socket in self.sockets.drain(..) {
            socket.state().retire();
        }
    }

    // ----- the open connection --------------------------------------------------------

    /// Handles what the transport already holds (a burst the last read brought), without a
    /// trip through `select!` per event; bounded, so commands and the flush of pongs wait
    /// for at most that many events.
    async fn take_ready_events(&mut self) {
        for _ in 0..READY_EVENTS_PER_WAKE {
            if self.paused_on.is_some() {
                return;
            }
            let Some(engine) = &mut self.engine else {
                return;
            };
            // `next()` is cancel-safe: a poll that finds nothing loses nothing.
            let Some(event) = engine.next().now_or_never() else {
                return;
            };
            self.on_engine_event(event).await;
        }
    }

    async fn on_engine_event(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::Message(text) => {
                if let Err(e) = self.on_message(text) {
                    tracing::warn!("closing the connection: {e}");
                    self.close(DisconnectReason::ParseError).await;
                }
            }
            EngineEvent::Binary(bytes) => {
                if let Err(e) = self.on_attachment(bytes) {
                    tracing::warn!("closing the connection: {e}");
                    self.close(DisconnectReason::ParseError).await;
                }
            }
            EngineEvent::Ping => self.observed.emit(ManagerEvent::Ping),
            EngineEvent::UpgradeReady => {
                let Some(engine) = &mut self.engine else {
                    return;
                };
                match engine.upgrade().await {
                    Ok(()) => self
                        .observed
                        .set_status(Some(engine.handshake().sid.clone()), engine.transport()),
                    Err(e) => {
                        tracing::debug!("upgrade failed: {e}");
                        self.close(e.reason()).await;
                    }
                }
            }
            EngineEvent::Closed(reason) => self.on_close(reason),
        }
    }

    fn socket(&self, nsp: &str) -> Option<Arc<SocketShared>> {
        self.sockets.iter().find(|s| &*s.nsp == nsp).cloned()
    }

    fn on_message(&mut self, text: Utf8Bytes) -> Result<(), ProtocolError> {
        if self.pending.is_some() {
            return Err(ProtocolError::TextWhileReconstructing);
        }
        // The frame is `4<packet>`; the engine checked the type digit.
        let packet = packet::decode(text.get(1..).unwrap_or_default())?;
        if packet.attachments > self.opts.max_attachments {
            return Err(ProtocolError::TooManyAttachments {
                count: packet.attachments,
                max: self.opts.max_attachments,
            });
        }
        let socket = self.socket(packet.nsp);
        let (name, raw) = match packet.body {
            Body::Connect(Some(reply)) => {
                if let Some(socket) = socket {
                    self.on_connect(&socket, reply);
                }
                return Ok(());
            }
            Body::Connect(None) => {
                if let Some(socket) = socket {
                    self.on_legacy_connect(&socket);
                }
                return Ok(());
            }
            Body::ConnectError(error) => {
                if let Some(socket) = socket {
                    self.on_connect_error(&socket, error);
                }
                return Ok(());
            }
            Body::Disconnect => {
                if let Some(socket) = socket {
                    self.on_server_disconnect(&socket);
                }
                return Ok(());
            }
            Body::Event { name, args } => (name, args),
            Body::Ack { args } => (Cow::Borrowed(""), args),
        };
        let args = Args::new(text.clone(), &raw);
        let name = Name::new(&name, &args);
        let pending = PendingBinary {
            socket,
            kind: packet.kind,
            name,
            id: packet.id,
            args,
            expected: packet.attachments,
        };
        if pending.kind.is_binary() && pending.expected > 0 {
            self.pending = Some(pending);
            Ok(())
        } else {
            self.deliver(pending)
        }
    }

    fn on_attachment(&mut self, bytes: bytes::Bytes) -> Result<(), ProtocolError> {
        let Some(pending) = &mut self.pending else {
            return Err(ProtocolError::UnexpectedBinary);
        };
        pending.args.push_attachment(bytes);
        if pending.args.attachments().len() < pending.expected {
            return Ok(());
        }
        match self.pending.take() {
            Some(pending) => self.deliver(pending),
            None => Ok(()),
        }
    }

    /// Hands a complete event to its socket's listeners, or an ack to its waiter.
    fn deliver(&mut self, pending: PendingBinary) -> Result<(), ProtocolError> {
        // Placeholders only mean something in binary packets (in a text packet they are
        // plain data, as for socket.io-parser).
        if pending.kind.is_binary() {
            pending.args.check_placeholders()?;
        }
        let Some(socket) = pending.socket else {
            return Ok(());
        };
        match pending.kind {
            PacketKind::Ack | PacketKind::BinaryAck => {
                if let Some(id) = pending.id {
                    socket.resolve_ack(id, pending.args);
                }
            }
            _ => {
                let mut state = socket.state();
                if pending.id.is_none() && state.pid.is_some() {
                    // With connection state recovery, the last string argument is the
                    // offset to resume from (socket.io-client reads it the same way).
                    let last =
                        (pending.args.len().checked_sub(1)).and_then(|i| pending.args.raw(i));
                    if let Some(offset) =
                        last.and_then(|raw| serde_json::from_str::<String>(raw).ok())
                    {
                        state.offset = Some(offset);
                    }
                }
                let ack = pending.id.map(|id| (socket.clone(), id));
                let event = Event::new(pending.name, pending.args, ack);
                // Events that arrive before the CONNECT answer (the ones a recovered session
                // missed) wait for it, as in socket.io-client: their listeners then see the
                // socket connected, with its id and `recovered()`.
                match state.phase {
                    Phase::Connected => {
                        drop(state);
                        let behind = socket.dispatch(Dispatch::Event(event));
                        if self.opts.max_queued_events.is_some_and(|max| behind >= max) {
                            self.paused_on = Some(socket.clone());
                        }
                    }
                    Phase::Connecting => state.received.push(event),
                    // Not asked to connect: nobody to deliver to.
                    Phase::Idle => {}
                }
            }
        }
        Ok(())
    }

    fn on_connect(&mut self, socket: &Arc<SocketShared>, reply: ConnectReply) {
        {
            let mut state = socket.state();
            let last = SocketShared::connect_answered(&mut state, self.generation);
            if state.phase != Phase::Connecting || !last {
                return;
            }
            state.recovered = reply.pid.is_some() && state.pid == reply.pid;
            state.pid = reply.pid;
            state.id = Some(reply.sid);
            state.phase = Phase::Connected;
        }
        for out in socket.open_and_drain() {
            self.queue_packet(out);
        }
        let received = std::mem::take(&mut socket.state().received);
        for event in received {
            socket.dispatch(Dispatch::Event(event));
        }
        socket.dispatch(Dispatch::Connect);
        socket.resolve_waiters(|| Ok(()));
    }

    /// A CONNECT without data: what a socket.io 2 server sends. The two protocols cannot
    /// talk; the socket fails as socket.io-client reports it.
    fn on_legacy_connect(&mut self, socket: &Arc<SocketShared>) {
        socket.state().retire();
        socket.dispatch(Dispatch::ConnectError(ConnectError {
            message: "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible".into(),
            data: None,
        }));
        socket.resolve_waiters(|| Err(Error::LegacyServer));
        self.sockets.retain(|s| !Arc::ptr_eq(s, socket));
    }

    fn on_connect_error(&mut self, socket: &Arc<SocketShared>, error: ConnectErrorData) {
        {
            let mut state = socket.state();
            let last = SocketShared::connect_answered(&mut state, self.generation);
            if state.phase != Phase::Connecting || !last {
                return;
            }
            state.retire();
        }
        let error = ConnectError {
            message: error.message,
            data: error.data,
        };
        socket.dispatch(Dispatch::ConnectError(error.clone()));
        socket.resolve_waiters(move || Err(Error::ConnectError(error.clone())));
        self.sockets.retain(|s| !Arc::ptr_eq(s, socket));
    }

    fn on_server_disconnect(&mut self, socket: &Arc<SocketShared>) {
        socket.state().retire();
        socket.close_buffer();
        socket.fail_sent_acks();
        socket.dispatch(Dispatch::Disconnect(DisconnectReason::IoServerDisconnect));
        self.sockets.retain(|s| !Arc::ptr_eq(s, socket));
        // Like socket.io, the manager closes once its last socket is gone.
        self.close_if_unused();
    }

    /// Closes the connection from this side.
    async fn close(&mut self, reason: DisconnectReason) {
        if let Some(engine) = self.engine.take() {
            engine.close().await;
        }
        self.on_close(reason);
    }

    /// The connection is gone: sockets disconnect, and reconnect if they should.
    fn on_close(&mut self, reason: DisconnectReason) {
        self.engine = None;
        self.pending = None;
        self.paused_on = None;
        self.observed.set_status(None, None);
        self.observed.emit(ManagerEvent::Close(reason));
        let reconnect = reason.reconnects() && self.observed.reconnection().enabled;
        for socket in &self.sockets {
            let was = {
                let mut state = socket.state();
                // It left (its command is still queued): nothing to tell it, and a
                // `connect()` it made since is for the next connection.
                if !state.active {
                    continue;
                }
                let was = state.phase;
                state.phase = if reconnect {
                    Phase::Connecting
                } else {
                    Phase::Idle
                };
                state.id = None;
                if !reconnect {
                    state.active = false;
                }
                was
            };
            socket.close_buffer();
            socket.fail_sent_acks();
            if was == Phase::Connected {
                socket.dispatch(Dispatch::Disconnect(reason));
            }
            if !reconnect {
                socket.resolve_waiters(|| Err(Error::Disconnected));
            }
        }
        if reconnect {
            self.schedule_reconnect();
        } else {
            self.sockets.clear();
            self.stop_reconnecting();
        }
    }

    fn queue_packet(&mut self, out: Outgoing) {
        let Some(engine) = &mut self.engine else {
            return;
        };
        engine.queue(Frame::Text(out.packet.text));
        for attachment in out.packet.attachments {
            engine.queue(Frame::Binary(attachment));
        }
    }

    async fn flush(&mut self) {
        let Some(engine) = &mut self.engine else {
            return;
        };
        if !engine.has_queued() {
            return;
        }
        if let Err(e) = engine.flush().await {
            tracing::debug!("write failed: {e}");
            self.close(e.reason()).await;
        }
    }
}

async fn next_event(engine: &mut Option<Engine>) -> EngineEvent {
    match engine {
        Some(engine) => engine.next().await,
        None => std::future::pending().await,
    }
}

/// Resolves once the listeners of the socket the reading waits for are down to half the
/// bound; never without one.
async fn caught_up(paused_on: Option<&SocketShared>, max: Option<usize>) {
    match (paused_on, max) {
        (Some(socket), Some(max)) => socket.dispatched_below(max.div_ceil(2)).await,
        _ => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
