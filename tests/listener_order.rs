//! Listeners registered after `connect()` returned lose nothing (issue 11, item 1): the Node
//! peer's `/emit-on-connect` namespace emits three `welcome` events in its `connection`
//! handler, so they race the client's registration. Both orders are run 200 times on each
//! transport, untyped and typed: listeners first (race-free by construction), and connect
//! first (held events are offered to a listener registered within `HOLD`).

use std::time::Duration;

use ferrio::{Manager, Socket};
use ferrio_suite::*;

const RUNS: usize = 200;
const NSP: &str = "/emit-on-connect";

#[ferrio::socketio_events(namespace = "/emit-on-connect")]
trait WelcomeEvents {
    /// The peer's three welcomes: a number, then more arguments the typed form ignores.
    #[on]
    fn welcome(n: u32);
}

/// When the listener is registered: before `connect()`, or after it returned.
#[derive(Debug, Clone, Copy)]
enum Order {
    ListenersFirst,
    ConnectFirst,
}

async fn untyped(url: &str, t: Transports, order: Order) -> Vec<u32> {
    let m = manager(url, t);
    let s: Socket = m.socket(NSP).build();
    let mut welcomes = match order {
        Order::ListenersFirst => {
            let inbox = events(&s, "welcome");
            within(STEP, s.connect()).await.expect("connect");
            inbox
        }
        Order::ConnectFirst => {
            within(STEP, s.connect()).await.expect("connect");
            events(&s, "welcome")
        }
    };
    let got = welcomes.take(3, STEP).await;
    m.close();
    got.iter()
        .map(|e| e.arg::<u32>(0).expect("a number first"))
        .collect()
}

async fn typed(url: &str, t: Transports, order: Order) -> Vec<u32> {
    let m: Manager = manager(url, t);
    let got = inbox::<u32>("typed welcome");
    let tx = got.sender();
    let listen = move |socket: &WelcomeEventsSocket| {
        let tx = tx.clone();
        socket.on_welcome(move |n| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(n);
            }
        });
    };
    let socket = match order {
        Order::ListenersFirst => {
            let socket = WelcomeEventsSocket::build(&m);
            listen(&socket);
            within(STEP, socket.socket().connect())
                .await
                .expect("connect");
            socket
        }
        Order::ConnectFirst => {
            let socket = within(STEP, WelcomeEventsSocket::connect(&m))
                .await
                .expect("connect");
            listen(&socket);
            socket
        }
    };
    let mut got = got;
    let numbers = got.take(3, STEP).await;
    drop(socket);
    m.close();
    numbers
}

async fn no_event_lost(t: Transports, order: Order, is_typed: bool) {
    let peer = shared_peer().await;
    for run in 0..RUNS {
        let got = if is_typed {
            typed(&peer.url(), t, order).await
        } else {
            untyped(&peer.url(), t, order).await
        };
        assert_eq!(
            got,
            [1, 2, 3],
            "{t:?} {order:?} typed={is_typed}: run {run}"
        );
    }
}

transport_matrix!(untyped_listeners_first_lose_nothing);
async fn untyped_listeners_first_lose_nothing(t: Transports) {
    no_event_lost(t, Order::ListenersFirst, false).await;
}

transport_matrix!(untyped_connect_first_loses_nothing);
async fn untyped_connect_first_loses_nothing(t: Transports) {
    no_event_lost(t, Order::ConnectFirst, false).await;
}

transport_matrix!(typed_listeners_first_lose_nothing);
async fn typed_listeners_first_lose_nothing(t: Transports) {
    no_event_lost(t, Order::ListenersFirst, true).await;
}

transport_matrix!(typed_connect_first_loses_nothing);
async fn typed_connect_first_loses_nothing(t: Transports) {
    no_event_lost(t, Order::ConnectFirst, true).await;
}

/// An event nobody listens to is not kept for later: a listener registered after the hold
/// window does not get it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_heard_by_nobody_expires() {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let s = within(STEP, m.socket(NSP).connect())
        .await
        .expect("connect");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut late = events(&s, "welcome");
    late.assert_quiet(Duration::from_millis(300)).await;
    m.close();
}
