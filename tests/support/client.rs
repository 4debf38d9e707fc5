//! Helpers around the ferrio client: transport configurations, and inboxes fed by listeners.

use std::time::Duration;

use ferrio::{
    ConnectError, DisconnectReason, Event, Manager, ManagerBuilder, ManagerEvent, ManagerEvents,
    OutgoingEvent, Socket, TransportKind,
};

use crate::wait::{inbox, Inbox, STEP};

/// The three ways a client can reach the server; transport-sensitive scenarios run over each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transports {
    /// `transports: ["websocket"]`
    WebsocketOnly,
    /// `transports: ["polling"]`
    PollingOnly,
    /// The default: polling first, then the upgrade to websocket.
    PollingUpgrade,
}

impl Transports {
    /// Every configuration.
    pub const ALL: [Transports; 3] = [
        Transports::WebsocketOnly,
        Transports::PollingOnly,
        Transports::PollingUpgrade,
    ];

    /// Applies the configuration to a manager builder.
    pub fn apply(self, b: ManagerBuilder) -> ManagerBuilder {
        match self {
            Transports::WebsocketOnly => b.transports(&[TransportKind::Websocket]),
            Transports::PollingOnly => b.transports(&[TransportKind::Polling]),
            Transports::PollingUpgrade => b
                .transports(&[TransportKind::Polling, TransportKind::Websocket])
                .upgrade(true),
        }
    }

    /// The transport name the server reports once the connection settled (`"websocket"` or
    /// `"polling"`).
    pub fn settled_transport(self) -> &'static str {
        match self {
            Transports::PollingOnly => "polling",
            _ => "websocket",
        }
    }
}

/// `Manager::builder(url)` with the transport configuration applied.
pub fn builder(url: &str, t: Transports) -> ManagerBuilder {
    t.apply(Manager::builder(url))
}

/// A manager for `url` with the transport configuration (and otherwise socket.io's defaults).
pub fn manager(url: &str, t: Transports) -> Manager {
    match builder(url, t).build() {
        Ok(m) => m,
        Err(e) => panic!("cannot build a manager for {url}: {e}"),
    }
}

/// Connects namespace `nsp` through a new manager for `url`, failing the test if it does not
/// connect within [`STEP`].
pub async fn connect(url: &str, nsp: &str, t: Transports) -> (Manager, Socket) {
    let m = manager(url, t);
    let s = match tokio::time::timeout(STEP, m.socket(nsp).connect()).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => panic!("cannot connect {nsp} at {url} over {t:?}: {e}"),
        Err(_) => panic!("connecting {nsp} at {url} over {t:?} took longer than {STEP:?}"),
    };
    (m, s)
}

/// Every `event` the socket receives, from now on.
pub fn events(socket: &Socket, event: &str) -> Inbox<Event> {
    let ib = inbox(format!("event {event:?}"));
    let tx = ib.sender();
    socket.on(event, move |ev: Event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
        }
    });
    ib
}

/// Every event the socket receives (`onAny`), from now on.
pub fn any_events(socket: &Socket) -> Inbox<Event> {
    let ib = inbox("any event");
    let tx = ib.sender();
    socket.on_any(move |ev: Event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
        }
    });
    ib
}

/// Every event the socket sends (`onAnyOutgoing`), from now on.
pub fn outgoing_events(socket: &Socket) -> Inbox<OutgoingEvent> {
    let ib = inbox("outgoing event");
    let tx = ib.sender();
    socket.on_any_outgoing(move |ev: OutgoingEvent| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
        }
    });
    ib
}

/// Every `connect` of the socket, from now on.
pub fn connects(socket: &Socket) -> Inbox<()> {
    let ib = inbox("connect");
    let tx = ib.sender();
    socket.on_connect(move || {
        let tx = tx.clone();
        async move {
            let _ = tx.send(());
        }
    });
    ib
}

/// Every `disconnect` of the socket (with its reason), from now on.
pub fn disconnects(socket: &Socket) -> Inbox<DisconnectReason> {
    let ib = inbox("disconnect");
    let tx = ib.sender();
    socket.on_disconnect(move |reason: DisconnectReason| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(reason);
        }
    });
    ib
}

/// Every `connect_error` of the socket, from now on.
pub fn connect_errors(socket: &Socket) -> Inbox<ConnectError> {
    let ib = inbox("connect_error");
    let tx = ib.sender();
    socket.on_connect_error(move |err: ConnectError| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(err);
        }
    });
    ib
}

/// The next manager event that satisfies `pred`, failing the test after `deadline`.
pub async fn next_manager_event(
    events: &mut ManagerEvents,
    deadline: Duration,
    mut pred: impl FnMut(&ManagerEvent) -> bool,
) -> ManagerEvent {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        match tokio::time::timeout_at(end, events.recv()).await {
            Ok(Some(ev)) if pred(&ev) => return ev,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the manager's event stream ended"),
            Err(_) => panic!("deadline of {deadline:?} passed waiting for a manager event"),
        }
    }
}

/// Generates, for each scenario `async fn NAME(t: Transports)`, a module `NAME` with three
/// tests: `NAME::websocket`, `NAME::polling` and `NAME::upgrade`.
#[macro_export]
macro_rules! transport_matrix {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn websocket() {
                super::$scenario($crate::Transports::WebsocketOnly).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                super::$scenario($crate::Transports::PollingOnly).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn upgrade() {
                super::$scenario($crate::Transports::PollingUpgrade).await
            }
        }
    )*};
}

/// Acks from the peer's helper events, each under [`STEP`]: the server's view of `socket`.
pub mod server {
    use super::*;
    use serde_json::Value;

    async fn ask(socket: &Socket, event: &str, args: Value) -> Value {
        let r = match args {
            Value::Null => {
                tokio::time::timeout(STEP, socket.emit_with_ack::<Value>(event, ())).await
            }
            a => tokio::time::timeout(STEP, socket.emit_with_ack::<Value>(event, (a,))).await,
        };
        match r {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => panic!("the peer's `{event}` failed: {e}"),
            Err(_) => panic!("the peer's `{event}` did not ack within {STEP:?}"),
        }
    }

    /// `handshake`: {id, nsp, engineId, transport, recovered, query, auth, headers, cookie, ..}
    pub async fn handshake(socket: &Socket) -> Value {
        ask(socket, "handshake", Value::Null).await
    }

    /// `stats`: {key, events: {name: count}, received: [[name, args]..], nums: [..]}
    pub async fn stats(socket: &Socket) -> Value {
        ask(socket, "stats", Value::Null).await
    }

    /// `rawLog`: the raw Socket.IO packets the server received on this socket's engine
    /// connection.
    pub async fn raw_log(socket: &Socket) -> Vec<String> {
        let v = ask(socket, "rawLog", Value::Null).await;
        serde_json::from_value(v).unwrap_or_default()
    }

    /// `requestLog`: the HTTP requests of this socket's engine connection after the handshake.
    pub async fn request_log(socket: &Socket) -> Vec<Value> {
        let v = ask(socket, "requestLog", Value::Null).await;
        serde_json::from_value(v).unwrap_or_default()
    }

    /// `getTransport`: "polling" or "websocket", as the server sees it.
    pub async fn transport(socket: &Socket) -> String {
        let v = ask(socket, "getTransport", Value::Null).await;
        v.as_str().unwrap_or_default().to_string()
    }
}

/// Builds the socket of `nsp` on `m`, registers a `connect` inbox *before* connecting,
/// connects, and consumes that first `connect`: the inbox returned only sees later
/// (re)connections. (A listener registered after `connect()` returned could still be handed the
/// first `connect`, which is dispatched outside the connection task.)
pub async fn connect_watched(m: &Manager, nsp: &str) -> (Socket, Inbox<()>) {
    let s = m.socket(nsp).build();
    let mut up = connects(&s);
    match tokio::time::timeout(STEP, s.connect()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("cannot connect {nsp}: {e}"),
        Err(_) => panic!("connecting {nsp} took longer than {STEP:?}"),
    }
    up.next(STEP).await;
    (s, up)
}
