//! The connection task: the one owner of the Engine.IO session, the namespace states and
//! the reconnection loop. Handles talk to it through [`Command`]s; it hands events to the
//! sockets' dispatchers and never runs user code, so nothing a listener does can delay a
//! pong.
//!
//! The task is a loop around one `select!` that never awaits anything else: the
//! connection's state ([`Conn`]: closed, opening, waiting to reconnect, open) is polled as
//! one branch, the commands as another. Opening, reading, writing, the upgrade and the
//! heartbeat all make progress there, so every command (a `close()` above all) is served
//! whatever the network does, and every wait races the ping deadline. Closing a session
//! is the one slow step; it runs in a task of its own that nothing waits for.
//!
//! With a socket.io 2 server (an Engine.IO revision 3 session), the namespaces follow
//! Socket.IO protocol 4: the server connects `/` by itself right after the open, other
//! namespaces send `0/nsp?query,` (the auth as query string), and answers carry no socket id
//! (it is `nsp#engine id`, or the engine id for `/`, as the 2.x server makes it).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt as _;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::backoff::Backoff;
use super::{ManagerEvent, Observed, Options, Parser};
use crate::engine::{Engine, EngineConfig, EngineEvent, Flow};
use crate::namespace::{
    Auth, Command, Dispatch, Event, Name, Outgoing, Phase, SocketShared, Written,
};
use crate::protocol::engine::{Frame, Revision};
use crate::protocol::packet::{self, Body, ConnectErrorData, ConnectReply, PacketKind};
use crate::protocol::{msgpack, Args, ProtocolError};
use crate::{ConnectError, DisconnectReason, Error, ServerVersion};

/// At most this many events are taken per wake-up beyond the first (see
/// `take_ready_events`).
const READY_EVENTS_PER_WAKE: usize = 64;

/// The message socket.io-client gives a CONNECT answer without a session id (what a
/// socket.io 2 server sends).
const NO_SID: &str = "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but they are not compatible";

/// With a socket.io 2 server: where the root namespace's connection, which the server makes
/// by itself at the open, stands on the current session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    /// The session opened; the server's CONNECT for `/` has not come yet.
    Awaited,
    /// The server connected `/` (a socket of `/` wanting it is connected at once).
    Live,
    /// Refused, or disconnected since: a socket of `/` sends a CONNECT of its own.
    Gone,
}

/// The message of the `connect_error` for an auth given to the root namespace of a
/// socket.io 2 server, which connects it before any CONNECT could carry it.
const V2_ROOT_AUTH: &str = "a socket.io 2 server connects the root namespace during the handshake, so its auth cannot be sent: give it with ManagerBuilder::query";

/// A binary packet whose attachments are still arriving.
struct PendingBinary {
    socket: Option<Arc<SocketShared>>,
    kind: PacketKind,
    name: Name,
    id: Option<u64>,
    args: Args,
    expected: usize,
}

/// An attempt to open the connection, bounded by the manager's `timeout`.
type Opening = Pin<Box<dyn Future<Output = Result<Box<Engine>, Error>> + Send>>;

/// Where the connection stands.
enum Conn {
    /// No session, none wanted (no active socket, or reconnection gave up).
    Closed,
    /// An attempt to open is under way.
    Opening {
        attempt: Opening,
        is_reconnect: bool,
    },
    /// The reconnection loop waits for its next attempt.
    Waiting(Instant),
    /// The session is open (boxed: an idle connection task stays small).
    Open(Box<Engine>),
}

/// What the connection's state came to.
enum ConnStep {
    Event(EngineEvent),
    Opened(Result<Box<Engine>, Error>, bool),
    ReconnectDue,
}

/// What woke the task up.
enum Step {
    Commands,
    Stopped,
    Conn(ConnStep),
    /// The listeners of the socket the reading waited for caught up.
    Drained,
}

pub(crate) struct Driver {
    cfg: Arc<EngineConfig>,
    opts: Options,
    observed: Arc<Observed>,
    flow: Arc<Flow>,
    rx: mpsc::UnboundedReceiver<Command>,
    conn: Conn,
    /// The active sockets: connected, or wanting to be.
    sockets: Vec<Arc<SocketShared>>,
    backoff: Backoff,
    /// Whether a reconnection loop is running (socket.io: `_reconnecting`).
    reconnecting: bool,
    pending: Option<PendingBinary>,
    /// Counts the connections opened, so answers are matched to the connection that asked.
    generation: u64,
    /// The socket whose listeners are `max_queued_events` behind: nothing is read until
    /// they catch up.
    paused_on: Option<Arc<SocketShared>>,
    /// Whether the open session is with a socket.io 2 server (Socket.IO protocol 4).
    v2: bool,
    /// With a socket.io 2 server: the root namespace's connection.
    root: Root,
}

impl Driver {
    pub(crate) fn new(
        cfg: Arc<EngineConfig>,
        opts: Options,
        observed: Arc<Observed>,
        flow: Arc<Flow>,
        rx: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        Driver {
            cfg,
            opts,
            observed,
            flow,
            rx,
            conn: Conn::Closed,
            sockets: Vec::new(),
            backoff: Backoff::default(),
            reconnecting: false,
            pending: None,
            generation: 0,
            paused_on: None,
            v2: false,
            root: Root::Gone,
        }
    }

    pub(crate) async fn run(mut self) {
        // Grows with the largest batch seen, up to 256 commands: an idle connection keeps
        // none of that (a thousand idle managers would otherwise hold 24 KiB each).
        let mut batch = Vec::new();
        loop {
            let reading = self.paused_on.is_none();
            let step = tokio::select! {
                n = self.rx.recv_many(&mut batch, 256) => if n == 0 { Step::Stopped } else { Step::Commands },
                step = conn_step(&mut self.conn, reading) => Step::Conn(step),
                () = caught_up(self.paused_on.as_deref(), self.opts.max_queued_events) => Step::Drained,
            };
            match step {
                Step::Stopped => break,
                Step::Commands => {
                    for command in batch.drain(..) {
                        self.handle(command);
                    }
                }
                Step::Conn(ConnStep::Event(event)) => {
                    self.on_engine_event(event);
                    self.take_ready_events();
                }
                Step::Conn(ConnStep::Opened(result, is_reconnect)) => {
                    self.conn = Conn::Closed;
                    match result {
                        Ok(engine) => self.on_open(engine, is_reconnect),
                        Err(error) => self.on_open_error(&error, is_reconnect),
                    }
                }
                Step::Conn(ConnStep::ReconnectDue) => self.start_open(true),
                Step::Drained => self.paused_on = None,
            }
        }
        self.shut_down();
    }

    /// Every handle is gone: the namespaces disconnect (the server is told, as by
    /// `disconnect()`) and the session ends.
    fn shut_down(&mut self) {
        if let Conn::Open(engine) = &mut self.conn {
            for socket in &self.sockets {
                if socket.state().phase == Phase::Connected {
                    let text = packet::encode_disconnect(&socket.nsp);
                    engine.queue(control_frame(self.opts.parser, text));
                }
            }
        }
        self.end_session();
        self.conn = Conn::Closed;
        for socket in std::mem::take(&mut self.sockets) {
            let was = socket.state().phase;
            socket.retire();
            socket.end_session();
            socket.fail_sent_acks();
            if was == Phase::Connected {
                socket.dispatch(Dispatch::Disconnect(DisconnectReason::IoClientDisconnect));
            }
            socket.resolve_waiters(|| Err(Error::Closed));
        }
        self.flow.close();
    }

    /// Ends the open session, if any: its close runs in a task of its own.
    fn end_session(&mut self) -> bool {
        if let Conn::Open(engine) = std::mem::replace(&mut self.conn, Conn::Closed) {
            tokio::spawn(engine.close());
            return true;
        }
        false
    }

    // ----- commands -------------------------------------------------------------------

    fn handle(&mut self, command: Command) {
        match command {
            Command::Packet(packet) => {
                let (socket, out) = *packet;
                self.send(&socket, out);
            }
            Command::Connect(socket) => self.connect_socket(socket),
            Command::Disconnect(socket, was, written) => {
                self.disconnect_socket(&socket, was, written);
            }
            Command::Close(written) => self.close_manager(written),
            Command::StopReconnecting => self.on_reconnection_off(),
            Command::AuthReady(socket, generation, outcome) => {
                self.on_auth(&socket, generation, outcome);
            }
        }
    }

    /// A packet from a socket: queued on the session, dropped (volatile, when the
    /// transport is not writable) or put back in the socket's buffer (not connected).
    fn send(&mut self, socket: &Arc<SocketShared>, out: Outgoing) {
        let weight = out.weight();
        let Conn::Open(engine) = &mut self.conn else {
            self.flow.done(weight);
            socket.rebuffer(out);
            return;
        };
        // Handed over in a session that ended since (the connection dropped, the server
        // left, a new session began): as if it had come while disconnected. A session the
        // client itself leaves (`disconnect()`) still sends what was emitted before.
        if out.session != socket.session() {
            self.flow.done(weight);
            socket.rebuffer(out);
            return;
        }
        if out.volatile && !engine.is_writable() {
            // socket.io-client drops a volatile packet the transport cannot take now.
            self.flow.done(weight);
            socket.drop_volatile(&out);
            return;
        }
        if let Some(shown) = out.shown {
            socket.dispatch(Dispatch::Outgoing(shown));
        }
        match self.opts.parser {
            Parser::Json => engine.queue_packet(out.packet.text, out.packet.attachments, weight),
            Parser::MsgPack => match msgpack::encode(&out.packet.text, &out.packet.attachments) {
                Ok(bytes) => engine.queue_binary_packet(bytes.into(), weight),
                // Never for a packet ferrio wrote (its data is serde_json's).
                Err(e) => {
                    tracing::error!("packet dropped, the msgpack parser cannot write it: {e}");
                    self.flow.done(weight);
                }
            },
        }
    }

    fn connect_socket(&mut self, socket: Arc<SocketShared>) {
        let phase = {
            let mut state = socket.state();
            state.active = true;
            state.phase
        };
        socket.set_active(true);
        if phase == Phase::Connected {
            socket.resolve_waiters(|| Ok(()));
            return;
        }
        if !self.sockets.iter().any(|s| Arc::ptr_eq(s, &socket)) {
            self.sockets.push(socket.clone());
        }
        match self.conn {
            Conn::Open(_) => {
                if phase == Phase::Idle {
                    self.send_connect(&socket);
                }
            }
            // The attempt under way, or the next one of the reconnection loop, brings this
            // socket along (socket.io does not reset the loop for a new socket).
            Conn::Opening { .. } | Conn::Waiting(_) => socket.state().phase = Phase::Connecting,
            Conn::Closed => {
                socket.state().phase = Phase::Connecting;
                self.start_open(false);
            }
        }
    }

    /// Sends the namespace CONNECT; with an `auth_fn`, once it gave its value (it runs in a
    /// task of its own, under the manager's `timeout`: user code never runs here).
    fn send_connect(&mut self, socket: &Arc<SocketShared>) {
        let f = match &socket.auth {
            Auth::Fn(f) => f.clone(),
            Auth::Static(value) => return self.queue_connect(socket, Some(value.clone())),
            Auth::None | Auth::Invalid(_) => return self.queue_connect(socket, None),
        };
        socket.state().phase = Phase::Connecting;
        let (link, weak, generation) =
            (socket.link.clone(), Arc::downgrade(socket), self.generation);
        // Half the `timeout` that `connect()` waits: the failure reaches it before it gives up.
        let deadline = self.opts.timeout / 2;
        tokio::spawn(async move {
            let value = std::panic::AssertUnwindSafe(f()).catch_unwind();
            let outcome = match tokio::time::timeout(deadline, value).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(_)) => Err("the auth function panicked".to_owned()),
                Err(_) => Err(format!(
                    "the auth function gave no value within {deadline:?}"
                )),
            };
            if let Some(socket) = weak.upgrade() {
                link.command(Command::AuthReady(socket, generation, outcome));
            }
        });
    }

    /// An `auth_fn` gave its value: the CONNECT goes, if the socket still wants it on this
    /// connection; a failure refuses the socket like the server would.
    fn on_auth(
        &mut self,
        socket: &Arc<SocketShared>,
        generation: u64,
        outcome: std::result::Result<serde_json::Value, String>,
    ) {
        let wanted = generation == self.generation && matches!(self.conn, Conn::Open(_)) && {
            let state = socket.state();
            state.active && state.phase == Phase::Connecting
        };
        if !wanted {
            return;
        }
        match outcome {
            Ok(value @ serde_json::Value::Object(_)) => self.queue_connect(socket, Some(value)),
            Ok(other) => {
                let message = format!("auth must be a JSON object, got {other}");
                self.refuse(socket, ConnectError::new(message), false);
            }
            Err(message) => self.refuse(socket, ConnectError::new(message), false),
        }
    }

    /// The socket cannot connect (refused, or its auth failed): `connect_error`, it stops,
    /// its `connect()` fails (with `LegacyServer` for a socket.io 2 server), and the
    /// connection closes when no socket is left, as socket.io's manager does.
    fn refuse(&mut self, socket: &Arc<SocketShared>, error: ConnectError, legacy: bool) {
        socket.retire();
        socket.dispatch(Dispatch::ConnectError(error.clone()));
        socket.resolve_waiters(move || {
            Err(match legacy {
                true => Error::LegacyServer,
                false => Error::ConnectError(error.clone()),
            })
        });
        self.forget(socket);
    }

    /// Queues the namespace CONNECT, with the auth payload and, when the server recovers
    /// sessions, the private session id and the last offset.
    fn queue_connect(&mut self, socket: &Arc<SocketShared>, mut auth: Option<serde_json::Value>) {
        if self.v2 {
            return self.queue_connect_v2(socket, auth.as_ref());
        }
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
        if let Conn::Open(engine) = &mut self.conn {
            engine.queue(control_frame(self.opts.parser, text));
        }
    }

    /// Socket.IO protocol 4: the auth goes as the namespace's query string; the root
    /// namespace is connected by the server at the open, so a socket of `/` only waits for
    /// (or takes) that connection, unless it was left since.
    fn queue_connect_v2(&mut self, socket: &Arc<SocketShared>, auth: Option<&serde_json::Value>) {
        let query = packet::auth_query(auth);
        let root = &*socket.nsp == "/";
        if root && !query.is_empty() {
            return self.refuse(socket, ConnectError::new(V2_ROOT_AUTH.into()), false);
        }
        {
            let mut state = socket.state();
            state.phase = Phase::Connecting;
            SocketShared::connect_sent(&mut state, self.generation);
        }
        match (root, self.root) {
            // The server's own CONNECT for `/` answers this one.
            (true, Root::Awaited) => {}
            (true, Root::Live) => {
                let sid = self.v2_socket_id("/");
                self.on_connect(socket, sid, None);
            }
            _ => {
                if let Conn::Open(engine) = &mut self.conn {
                    engine.queue(Frame::Text(packet::encode_connect_v2(&socket.nsp, &query)));
                }
            }
        }
    }

    /// A socket's id on a socket.io 2 server: `nsp#<engine id>`, the engine id for `/`.
    fn v2_socket_id(&self, nsp: &str) -> String {
        let engine_id = match &self.conn {
            Conn::Open(engine) => engine.handshake().sid.as_str(),
            _ => "",
        };
        match nsp {
            "/" => engine_id.to_owned(),
            _ => format!("{nsp}#{engine_id}"),
        }
    }

    /// The client left a namespace (its state already changed, in `Socket::disconnect`).
    fn disconnect_socket(&mut self, socket: &Arc<SocketShared>, was: Phase, written: Written) {
        // Connecting on an open connection means the CONNECT is on its way: the server will
        // have the socket, so it is told to drop it too.
        let in_flight = {
            let state = socket.state();
            state.unanswered.0 == self.generation && state.unanswered.1 > 0
        };
        if was == Phase::Connected || (was == Phase::Connecting && in_flight) {
            if self.v2 && &*socket.nsp == "/" {
                self.root = Root::Gone;
            }
            if let Conn::Open(engine) = &mut self.conn {
                let text = packet::encode_disconnect(&socket.nsp);
                engine.queue(control_frame(self.opts.parser, text));
                engine.when_written(written);
            }
        }
        socket.fail_sent_acks();
        if was == Phase::Connected {
            socket.dispatch(Dispatch::Disconnect(DisconnectReason::IoClientDisconnect));
        }
        // A `connect()` may already have followed; its command comes next.
        if !socket.state().active {
            self.forget(socket);
        }
    }

    /// A socket is no longer active; the connection closes when it was the last one.
    fn forget(&mut self, socket: &Arc<SocketShared>) {
        self.sockets.retain(|s| !Arc::ptr_eq(s, socket));
        self.close_if_unused();
    }

    /// Closes the connection when no socket wants it any more (socket.io closes the
    /// manager when its last active socket goes): an attempt under way or a reconnection
    /// loop stops too.
    fn close_if_unused(&mut self) {
        if !self.sockets.is_empty() {
            return;
        }
        self.stop_reconnecting();
        // The last DISCONNECT goes out with the closing session.
        if self.end_session() {
            self.observed.set_status(None, None);
            self.observed
                .emit(ManagerEvent::Close(DisconnectReason::ForcedClose));
        }
        self.conn = Conn::Closed;
    }

    /// `Manager::close()`: the session ends (or the attempt under way is dropped), every
    /// socket stops, and nothing reconnects until a socket connects again.
    fn close_manager(&mut self, written: Written) {
        if let Conn::Open(engine) = &mut self.conn {
            engine.when_written(written);
        }
        self.stop_reconnecting();
        if self.end_session() {
            self.on_close(DisconnectReason::ForcedClose);
            return;
        }
        self.conn = Conn::Closed;
        for socket in std::mem::take(&mut self.sockets) {
            if socket.state().active {
                socket.retire();
                socket.end_session();
                socket.resolve_waiters(|| Err(Error::Disconnected));
            }
        }
    }

    fn stop_reconnecting(&mut self) {
        if matches!(self.conn, Conn::Waiting(_)) {
            self.conn = Conn::Closed;
        }
        self.reconnecting = false;
        self.backoff.reset();
    }

    // ----- opening and reconnecting ---------------------------------------------------

    /// Starts an attempt to open the connection; it runs as the connection's state, so
    /// commands are served meanwhile and a `close()` drops it.
    fn start_open(&mut self, is_reconnect: bool) {
        if is_reconnect {
            if self.sockets.is_empty() {
                self.stop_reconnecting();
                return;
            }
            self.observed
                .emit(ManagerEvent::ReconnectAttempt(self.backoff.attempts));
        }
        let timeout = self.opts.timeout;
        let opening = Engine::open(self.cfg.clone(), self.flow.clone());
        self.conn = Conn::Opening {
            attempt: Box::pin(async move {
                match tokio::time::timeout(timeout, opening).await {
                    Ok(Ok(engine)) => Ok(Box::new(engine)),
                    Ok(Err(e)) => Err(Error::from(e)),
                    Err(_) => Err(Error::Timeout),
                }
            }),
            is_reconnect,
        };
    }

    fn on_open(&mut self, engine: Box<Engine>, is_reconnect: bool) {
        if self.sockets.is_empty() {
            // Every socket left while the attempt ran.
            tokio::spawn(engine.close());
            self.stop_reconnecting();
            return;
        }
        self.generation += 1;
        self.v2 = engine.revision() == Revision::V3;
        self.root = Root::Awaited;
        self.observed.set_status(
            Some(engine.handshake().sid.clone()),
            Some(engine.transport()),
        );
        self.conn = Conn::Open(engine);
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
            socket.dispatch(Dispatch::ConnectError(ConnectError::new(message.clone())));
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
        if !matches!(self.conn, Conn::Waiting(_)) || self.observed.reconnection().enabled {
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
        self.conn = Conn::Waiting(Instant::now() + delay);
    }

    /// No more attempts: every socket stops being active.
    fn deactivate_all(&mut self) {
        for socket in self.sockets.drain(..) {
            socket.retire();
        }
    }

    // ----- the open connection --------------------------------------------------------

    /// Handles what the transport already holds (a burst the last read brought), without a
    /// trip through `select!` per event; bounded, so commands wait for at most that many
    /// events.
    fn take_ready_events(&mut self) {
        for _ in 0..READY_EVENTS_PER_WAKE {
            if self.paused_on.is_some() {
                return;
            }
            let Conn::Open(engine) = &mut self.conn else {
                return;
            };
            // The main loop's `select!` makes the full turn (and arms the wake-ups) next.
            let Some(event) = engine.next_buffered() else {
                return;
            };
            self.on_engine_event(event);
        }
    }

    fn on_engine_event(&mut self, event: EngineEvent) {
        match event {
            EngineEvent::Message(text) => {
                let read = match self.opts.parser {
                    Parser::Json => self.on_message(text),
                    Parser::MsgPack => Err(ProtocolError::MsgPack(
                        "a text message, where the msgpack parser sends binary ones only".into(),
                    )),
                };
                if let Err(e) = read {
                    tracing::warn!("closing the connection: {e}");
                    self.close(DisconnectReason::ParseError);
                }
            }
            EngineEvent::Binary(bytes) => {
                let read = match self.opts.parser {
                    Parser::Json => self.on_attachment(bytes),
                    Parser::MsgPack => self.on_msgpack(&bytes),
                };
                if let Err(e) = read {
                    tracing::warn!("closing the connection: {e}");
                    self.close(DisconnectReason::ParseError);
                }
            }
            EngineEvent::Ping => self.observed.emit(ManagerEvent::Ping),
            EngineEvent::Upgraded => {
                if let Conn::Open(engine) = &self.conn {
                    self.observed.set_status(
                        Some(engine.handshake().sid.clone()),
                        Some(engine.transport()),
                    );
                }
                self.observed.emit(ManagerEvent::Upgrade);
            }
            EngineEvent::Closed(reason) => {
                // The transport is gone already; the close packet has nowhere to go.
                let conn = std::mem::replace(&mut self.conn, Conn::Closed);
                if let Conn::Open(engine) = conn {
                    if let Some(failure) = engine.failure() {
                        self.on_failure_before_connect(failure);
                    }
                }
                self.on_close(reason);
            }
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
        if self.v2 {
            // Socket.IO protocol 4's namespace handshake (events and acks are as in 5).
            match packet.body {
                Body::Connect(_) => {
                    if packet.nsp == "/" {
                        self.root = Root::Live;
                    }
                    if let Some(socket) = socket {
                        let sid = self.v2_socket_id(packet.nsp);
                        self.on_connect(&socket, sid, None);
                    }
                    return Ok(());
                }
                // socket.io-client 2: an error of the root namespace is every socket's (the
                // server holds the other namespaces' CONNECTs until `/` is connected).
                Body::ConnectError(error) if packet.nsp == "/" => {
                    self.root = Root::Gone;
                    for socket in self.sockets.clone() {
                        self.on_connect_error(&socket, error.clone());
                    }
                    return Ok(());
                }
                Body::Disconnect if packet.nsp == "/" => self.root = Root::Gone,
                _ => {}
            }
        }
        let (name, raw) = match packet.body {
            Body::Connect(Some(ConnectReply {
                sid: Some(sid),
                pid,
            })) => {
                if let Some(socket) = socket {
                    self.on_connect(&socket, sid, pid);
                }
                return Ok(());
            }
            Body::Connect(reply) => {
                if let Some(socket) = socket {
                    // No data at all is what a socket.io 2 server sends.
                    self.on_connect_without_sid(&socket, reply.is_none());
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
        let args = Args::new(text.clone(), raw);
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

    /// A packet of the msgpack parser: read in the default parser's form (JSON text, then
    /// its binary values as attachments), so everything after is the same for both.
    fn on_msgpack(&mut self, frame: &bytes::Bytes) -> Result<(), ProtocolError> {
        let decoded = msgpack::decode(frame)?;
        self.on_message(Utf8Bytes::from(decoded.text))?;
        decoded
            .attachments
            .into_iter()
            .try_for_each(|attachment| self.on_attachment(attachment))
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
                // The session the request belongs to: the one this CONNECT answer opens
                // when it comes before it.
                let session = match state.phase {
                    Phase::Connected => socket.session(),
                    _ => socket.session() + 1,
                };
                let ack = pending.id.map(|id| (socket.clone(), id, session));
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
                    Phase::Connecting if state.received.len() < self.opts.max_buffered => {
                        state.received.push(event);
                    }
                    // More events for a namespace not accepted yet than a send buffer may
                    // hold: the server misbehaves, and the bound holds.
                    Phase::Connecting => return Err(ProtocolError::TooManyEarlyEvents),
                    // Not asked to connect: nobody to deliver to.
                    Phase::Idle => {}
                }
            }
        }
        Ok(())
    }

    fn on_connect(&mut self, socket: &Arc<SocketShared>, sid: String, pid: Option<String>) {
        {
            let mut state = socket.state();
            let last = SocketShared::connect_answered(&mut state, self.generation);
            if state.phase != Phase::Connecting || !last {
                return;
            }
            state.recovered = pid.is_some() && state.pid == pid;
            state.pid = pid;
            state.id = Some(sid);
            state.phase = Phase::Connected;
        }
        let buffered = socket.open_and_drain();
        let session = socket.session();
        for mut out in buffered {
            // Buffered packets were not counted by the flow control yet.
            self.flow.add(out.weight());
            out.session = session;
            self.send(socket, out);
        }
        let received = std::mem::take(&mut socket.state().received);
        for event in received {
            socket.dispatch(Dispatch::Event(event));
        }
        socket.dispatch(Dispatch::Connect);
        socket.resolve_waiters(|| Ok(()));
    }

    /// A CONNECT answer without a session id. Without any data it is a socket.io 2 server's
    /// (a websocket-first session cannot tell from its handshake): under
    /// `ServerVersion::Auto` a new session opens in its protocol at once, else `connect()`
    /// fails with `LegacyServer`. With data but no sid, that socket fails as
    /// socket.io-client reports it (`ConnectError`); the others go on.
    fn on_connect_without_sid(&mut self, socket: &Arc<SocketShared>, legacy: bool) {
        {
            let mut state = socket.state();
            let last = SocketShared::connect_answered(&mut state, self.generation);
            if state.phase != Phase::Connecting || !last {
                return;
            }
        }
        // Only when the handshake could not tell (a websocket one): a server whose polling
        // framing said revision 4 is no socket.io 2 server, and is not reopened (in a loop).
        let unread = matches!(&self.conn, Conn::Open(engine) if !engine.revision_was_read());
        if legacy && unread && self.cfg.version == ServerVersion::Auto {
            tracing::debug!("a socket.io 2 server: opening a session in its protocol");
            self.cfg.saw_v2(true);
            // No socket connected on this session (none can, without a sid): they all wait
            // for the new one, where their CONNECTs go again.
            self.end_session();
            self.pending = None;
            self.paused_on = None;
            self.observed.set_status(None, None);
            self.start_open(false);
            return;
        }
        self.refuse(socket, ConnectError::new(NO_SID.into()), legacy);
    }

    fn on_connect_error(&mut self, socket: &Arc<SocketShared>, error: ConnectErrorData) {
        {
            let mut state = socket.state();
            let last = SocketShared::connect_answered(&mut state, self.generation);
            if state.phase != Phase::Connecting || !last {
                return;
            }
        }
        let error = ConnectError {
            message: error.message,
            data: error.data,
        };
        self.refuse(socket, error, false);
    }

    fn on_server_disconnect(&mut self, socket: &Arc<SocketShared>) {
        socket.retire();
        socket.end_session();
        socket.fail_sent_acks();
        socket.dispatch(Dispatch::Disconnect(DisconnectReason::IoServerDisconnect));
        // Like socket.io, the manager closes once its last socket is gone.
        self.forget(socket);
    }

    /// Closes the connection from this side.
    fn close(&mut self, reason: DisconnectReason) {
        self.end_session();
        self.on_close(reason);
    }

    /// A transport error ended the session while sockets still waited for their CONNECT
    /// answer: each is told with a `connect_error` (and its `connect()` calls fail), as
    /// socket.io's engine `error` reaches the sockets not yet connected. Without it, a
    /// session that opens and then always fails (polling behind a load balancer without
    /// sticky sessions: `Session ID unknown`) would be a reconnection loop nobody hears of.
    fn on_failure_before_connect(&mut self, failure: &str) {
        let message = format!("transport error: {failure}");
        for socket in &self.sockets {
            let connecting = {
                let state = socket.state();
                state.active && state.phase == Phase::Connecting
            };
            if !connecting {
                continue;
            }
            socket.dispatch(Dispatch::ConnectError(ConnectError::new(message.clone())));
            let error = Error::Transport(message.clone());
            socket.resolve_waiters(move || Err(error.duplicate()));
        }
    }

    /// The connection is gone: sockets disconnect, and reconnect if they should.
    fn on_close(&mut self, reason: DisconnectReason) {
        self.conn = Conn::Closed;
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
            if !reconnect {
                socket.set_active(false);
            }
            socket.end_session();
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
}

/// A CONNECT or DISCONNECT (an Engine.IO message `4<packet>`) as `parser` writes it.
fn control_frame(parser: Parser, text: String) -> Frame {
    match parser {
        Parser::Json => Frame::Text(text),
        // Never fails for these packets: their data is a JSON object ferrio wrote.
        Parser::MsgPack => match msgpack::encode(&text, &[]) {
            Ok(bytes) => Frame::Binary(bytes.into()),
            Err(e) => {
                tracing::error!("the msgpack parser cannot write {text:?}: {e}");
                Frame::Text(text)
            }
        },
    }
}

/// Polls the connection's state: the attempt under way, the reconnection delay, or the
/// open session (with `reading` false, it writes and watches the heartbeat only).
async fn conn_step(conn: &mut Conn, reading: bool) -> ConnStep {
    match conn {
        Conn::Closed => std::future::pending().await,
        Conn::Opening {
            attempt,
            is_reconnect,
        } => {
            let result = attempt.await;
            ConnStep::Opened(result, *is_reconnect)
        }
        Conn::Waiting(at) => {
            tokio::time::sleep_until(*at).await;
            ConnStep::ReconnectDue
        }
        Conn::Open(engine) => {
            engine.set_reading(reading);
            ConnStep::Event(engine.next().await)
        }
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
